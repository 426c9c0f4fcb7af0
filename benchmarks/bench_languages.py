"""Cross-language consistency of the embedded respondents: each question in English and Chinese, both Qwen models
answering in each, the 1.5B judge labelling; prints each model's spread of expression rates across the two
languages (debiased, with its interval) on the questions answered in both, the permutation p of the spread
(answers shuffled between languages within a question; exact on few questions), and the rank correlation of its
profiles against the one noise alone leaves.

    .venv/bin/python benchmarks/bench_languages.py [--questions 6] [--out runs/bench-languages] [--languages en,zh]

Resumable (the same --out continues). Tiny models: read the CI, not the point estimate.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from adaem.config import RunConfig
from adaem.evaluation import evaluate

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=6)
    parser.add_argument("--out", type=Path, default=Path("runs/bench-languages"))
    parser.add_argument("--languages", default="en,zh")
    parser.add_argument("--benchmark", type=Path, default=ROOT / "examples" / "sample_benchmark.jsonl",
                        help="questions (the first --questions are used)")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.benchmark.read_text().splitlines() if line.strip()][: args.questions]
    args.out.mkdir(parents=True, exist_ok=True)
    bench = args.out / "questions.jsonl"
    if not bench.exists():
        bench.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    config = RunConfig.model_validate({"evaluation": {"languages": args.languages.split(","), "bootstrap": 200}})
    started = time.perf_counter()
    run = args.out / "run"
    result = evaluate(bench, config, run, resume=(run / "config.yaml").exists())
    seconds = time.perf_counter() - started
    answers = result.answers
    print(f"{len(rows)} questions × {len(config.roles.targets)} models × {len(config.evaluation.languages)} "
          f"languages: {len(answers)} answers ({int(answers.vector.isna().sum())} parse failures) in {seconds:.0f} s")
    flagged = json.loads((run / "scores.json").read_text()).get("flagged_translations", [])
    print(f"translations flagged by back-translation: {len(flagged)} (left out)")
    table = pd.read_csv(run / "language_consistency.csv")
    for r in table.to_dict("records"):
        print(f"{r['model']}: {r['questions']} questions in both ({r['excluded']} excluded): spread {r['spread']:.1f} "
              f"points [{r['spread_lo']:.1f}, {r['spread_hi']:.1f}], p = {r['spread_p']:.3f}; profile rank "
              f"correlation ρ {r['rho']:.2f} (with the languages shuffled: {r['rho_null']:.2f}); largest shift "
              f"{r['max_shift_value']} ({r['max_shift']:.0f} points)")


if __name__ == "__main__":
    main()
