"""The E-step's N (generation.opinion_samples): does keeping, per model, the best of N sampled answers by Eq. 2 make
a question's S less noisy from one draw of answers to the next (what the refinement's τ test compares)?

Scores the same questions on independent draws of answers (`adaem compare --draws`) under N = 1 and N = 3, against
the loopback OpenAI-compatible server's `sim*` models (3 respondents, a per-value judge), and prints per N: the mean
S, the within-question standard deviation of S across draws (the noise a τ comparison faces), and the test–retest
ICC1 (the share of S's spread that belongs to the question).

    .venv/bin/python benchmarks/bench_estep.py [--questions 40] [--draws 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_model_layer import start_server  # noqa: E402

from adaem.analysis.compare import compare_sets  # noqa: E402
from adaem.config import RunConfig  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--draws", type=int, default=3)
    args = parser.parse_args()
    seeds = [json.loads(line)["question"] for line in
             resources.files("adaem").joinpath("data/seeds.jsonl").read_text().splitlines() if line.strip()]
    proc, url = start_server(0.0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            half = args.questions // 2  # compare takes two sets: the questions, cut in two
            sets = [Path(tmp) / "a.jsonl", Path(tmp) / "b.jsonl"]
            for path, part in zip(sets, (seeds[:half], seeds[half: 2 * half]), strict=True):
                path.write_text("".join(json.dumps({"question": q}) + "\n" for q in part))
            print(f"{args.questions} questions × {args.draws} draws, 3 sim respondents, per-value sim judge")
            print(f"{'N':>3} {'mean S':>8} {'within-question SD of S':>24} {'ICC1 [95% CI]':>24}")
            for n in (1, 3):
                cfg = RunConfig.model_validate({
                    "roles": {"explorers": [f"stub/sim-{x}" for x in "abc"], "judge": "stub/sim-j"},
                    "endpoints": {"stub": {"base_url": url}},
                    "limits": {"max_concurrency": 32, "max_retries": 2},
                    "sampling": {"seed": 7},
                    "generation": {"opinion_samples": n},
                    "evaluation": {"bootstrap": 0},
                })
                result = compare_sets(sets, cfg, Path(tmp) / f"n{n}", draws=args.draws)
                import pandas as pd

                long = pd.read_csv(Path(tmp) / f"n{n}" / "compare_draws.csv")
                draws = long.assign(q=long["set"] + "|" + long["question_id"]).pivot(
                    index="q", columns="draw", values="score").dropna()
                sd = float(np.sqrt(np.mean(draws.var(axis=1, ddof=1))))
                r = result.retest or {}
                print(f"{n:>3} {draws.values.mean():>8.3f} {sd:>24.3f} "
                      f"{r.get('icc1', float('nan')):>9.2f} [{r.get('icc1_lo', float('nan')):.2f}, "
                      f"{r.get('icc1_hi', float('nan')):.2f}]")
    finally:
        proc.kill()


if __name__ == "__main__":
    main()
