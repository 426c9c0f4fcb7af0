"""How many expressed labels the merge rule changes (issue 23.2): the paper's OR of binary labels (each key point's
P(yes) thresholded, then OR-ed) against the soft noisy-OR thresholded after merging, on an evaluate run with
`evaluation.unit: opinion` (every key point labelled on its own). Reads the run's answers; with `--calibration`,
applies a judge calibration to the recorded P(yes) first (run the evaluation with `evaluation.calibration: none`).

    .venv/bin/python benchmarks/bench_merge.py RUN [--calibration FILE] [--threshold 0.5]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from adaem.calibration import read_calibration
from adaem.judge import merge_or
from adaem.store import read_jsonl


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run", type=Path)
    parser.add_argument("--calibration", type=Path)
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args()
    cal = read_calibration(str(args.calibration)) if args.calibration else None
    answers = [r for r in read_jsonl(args.run / "outputs" / "answers.jsonl") if r.get("point_labels")]
    if not answers or len(answers[0]["point_labels"]) < 2:
        raise SystemExit(f"{args.run}: no answers with per-point labels (run evaluate with evaluation.unit=opinion)")
    dims = list(answers[0]["point_labels"][0]["values"])
    both = changed = expressed_or = expressed_noisy = 0
    for r in answers:
        points = [p["values"] for p in r["point_labels"]]
        if cal is not None:
            points = [cal.apply(p, args.threshold) for p in points]
        hard = merge_or(points, dims, args.threshold, "or")
        soft = merge_or(points, dims, args.threshold, "noisy-or")
        for d in dims:
            if hard[d] is None or soft[d] is None:
                continue
            a, b = hard[d] >= args.threshold, soft[d] >= args.threshold
            both += 1
            changed += a != b
            expressed_or += a
            expressed_noisy += b
    print(f"{len(answers)} answers × {len(dims)} values = {both} labels"
          + (f" (calibration {args.calibration.name})" if cal else " (raw P(yes))"))
    print(f"expressed: noisy-OR then threshold {expressed_noisy} ({expressed_noisy / both:.1%}); threshold then OR "
          f"(the paper's) {expressed_or} ({expressed_or / both:.1%}); labels that change {changed} "
          f"({changed / both:.1%})")


if __name__ == "__main__":
    main()
