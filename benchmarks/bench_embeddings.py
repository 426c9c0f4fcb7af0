"""Sentence embeddings on 2 cores: all-MiniLM-L6-v2 (int8 ONNX, onnxruntime, 1 and 2 threads) vs llama.cpp
embeddings of a packaged GGUF.

Prints sentences/s for 200 short questions and for 600 opinion-length points (a fresh encoder each time:
nothing remembered), and how well each separates paraphrases from unrelated pairs (mean cosine of 8 paraphrase
pairs minus mean cosine of the 8 mismatched pairs).

    .venv/bin/python benchmarks/bench_embeddings.py [--no-llama]
"""

from __future__ import annotations

import sys
import time

import numpy as np

from adaem.embeddings import MiniLM
from adaem.models import embedded

PAIRS = [
    ("Should payday loans be banned?", "Should short-term high-interest loans be prohibited?"),
    ("Should voting be compulsory?", "Should citizens be legally required to vote?"),
    ("Should zoos be abolished?", "Should we close all zoos?"),
    ("Should homework be banned in primary schools?", "Should young pupils get no homework?"),
    ("Should governments tax sugary drinks?", "Should soda be subject to a sugar tax?"),
    ("Should the death penalty be abolished?", "Should capital punishment end?"),
    ("Should university education be free?", "Should college tuition be paid by the state?"),
    ("Should social media verify real names?", "Should platforms require users' legal identities?"),
]
POINTS = [f"Banning payday loans in region {i} would protect {['students', 'families', 'workers'][i % 3]} from debt "
          f"traps, though some would lose access to emergency credit they rely on." for i in range(600)]
QUESTIONS = [f"Should the government of region {i} ban payday loans for students under {18 + i % 7}?" for i in range(200)]


def separation(vectors: np.ndarray) -> float:
    a, b = vectors[0::2], vectors[1::2]
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    matched = np.mean(np.sum(a * b, axis=1))
    mismatched = np.mean(np.sum(a * np.roll(b, 1, axis=0), axis=1))
    return float(matched - mismatched)


def rate(encoder: MiniLM, texts: list[str]) -> float:
    started = time.perf_counter()
    encoder.encode(texts)
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    flat = [s for pair in PAIRS for s in pair]
    print(f"{'encoder':<34} {'load s':>7} {'questions/s':>11} {'points/s':>9} {'separation':>11}")
    for threads in (1, 2):
        started = time.perf_counter()
        minilm = MiniLM(threads=threads)
        load = time.perf_counter() - started
        minilm.encode(QUESTIONS[:8])
        questions, points = rate(MiniLM(threads=threads), QUESTIONS), rate(MiniLM(threads=threads), POINTS)
        print(f"{f'all-MiniLM-L6-v2 (int8, {threads} thread)':<34} {load:>7.2f} {questions:>11.1f} {points:>9.1f} "
              f"{separation(minilm.encode(flat)):>11.3f}")
    if "--no-llama" in sys.argv:
        return

    from llama_cpp import Llama

    for name in ("smollm2-135m", "qwen2.5-coder-0.5b"):
        started = time.perf_counter()
        llm = Llama(model_path=str(embedded.weights_path(name)), embedding=True, n_ctx=512, verbose=False,
                    pooling_type=1)  # mean pooling
        load = time.perf_counter() - started
        started = time.perf_counter()
        for q in QUESTIONS[:50]:
            llm.embed(q)
        per_s = 50 / (time.perf_counter() - started)
        vectors = np.array([llm.embed(s) for s in flat])
        print(f"{'llama.cpp ' + name + ' (mean)':<34} {load:>7.2f} {per_s:>11.1f} {'':>9} {separation(vectors):>11.3f}")
        llm.close()


if __name__ == "__main__":
    main()
