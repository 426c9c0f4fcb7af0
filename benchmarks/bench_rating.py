"""Scoring at the paper's size: `rating.score_table` on 12,310 questions × 16 models × 10 values with 200
bootstrap resamples (the AdAEM Bench evaluated on 16 LLMs), and smaller sizes for the trend.

    .venv/bin/python benchmarks/bench_rating.py [--questions 12310] [--models 16] [--values 10] [--bootstrap 200]

Labels are random (each model expresses each value with its own rate, 5% missing), which is the worst case for
the matches: almost every (question, value) is a match.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from adaem.rating import score_table


def labels(questions: int, models: int, values: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rates = rng.uniform(0.2, 0.8, (1, models, values))
    out = (rng.random((questions, models, values)) < rates).astype(float)
    out[rng.random(out.shape) < 0.05] = np.nan
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=12_310)
    parser.add_argument("--models", type=int, default=16)
    parser.add_argument("--values", type=int, default=10)
    parser.add_argument("--bootstrap", type=int, default=200)
    args = parser.parse_args()
    print(f"{'questions':>9} {'models':>6} {'values':>6} {'resamples':>9} {'seconds':>8}")
    sizes = sorted({1_000, args.questions})
    for n in sizes:
        data = labels(n, args.models, args.values)
        models = [f"m{i}" for i in range(args.models)]
        dims = [f"v{i}" for i in range(args.values)]
        start = time.perf_counter()
        score_table(data, models, dims, bootstrap=args.bootstrap)
        seconds = time.perf_counter() - start
        print(f"{n:>9} {args.models:>6} {args.values:>6} {args.bootstrap:>9} {seconds:>8.1f}")


if __name__ == "__main__":
    main()
