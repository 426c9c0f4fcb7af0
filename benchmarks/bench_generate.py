"""Does the search find more informative questions than the seeds, at equal model calls?

Runs `adaem generate` three times on the same arms with the same budget of model calls (each variant pays
for scoring its seed arms, so the budgets are equal): (b) UCB + refinement, (c) random arm selection +
refinement, (d) UCB without refinement; (a) is the seed questions' own P2 scores (seeded sampling makes them
the same in every variant). Prints the mean P2 informativeness of each, the ratio
to the seeds, and calls and tokens per accepted question.

    .venv/bin/python benchmarks/bench_generate.py [--calls 900] [--arms 4] [--variants b,c,d] [--out DIR]
                                                  [--retest N]

Means come with 95% bootstrap CIs and Welch's p against the seeds: S varies a lot from question to question
(sd ≈ 0.3 on the embedded pool), so a handful of questions per variant cannot show a 15% difference.

The P2 scores a run records are the answers its search saw (the embedded pool explores and scores with the same
models), so a refined question's score is the draw that won. `--retest N` scores the seeds and every variant's
questions again on N fresh, independent draws of answers (another sampling seed, `adaem compare --draws`): held-out
means, and the test–retest ICC that says how much of one draw's S belongs to the question at all.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from adaem.analysis.compare import bootstrap_mean_ci, compare_means
from adaem.config import RunConfig
from adaem.generation.job import generate


def variant_dir(out: Path, name: str) -> Path:
    """Where a variant runs: "(b) UCB + refine" → OUT/b."""
    return out / name.split(")")[0].strip("(")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=900, help="model calls per variant (seed scoring included)")
    parser.add_argument("--arms", type=int, default=4)
    parser.add_argument("--out", type=Path, default=Path("runs/bench-generate"))
    parser.add_argument("--config", type=Path, default=None, help="a run config (default: the embedded pool)")
    parser.add_argument("--variants", default="b,c,d", help="which of b, c, d to run")
    parser.add_argument("--retest", type=int, default=0, help="score every question again on N fresh draws")
    args = parser.parse_args()
    from adaem.config import load_config

    base = load_config(args.config) if args.config else RunConfig()
    args.out.mkdir(parents=True, exist_ok=True)
    variants = {
        "(b) UCB + refine": {"arm_selection": "ucb"},
        "(c) random arms + refine": {"arm_selection": "random"},
        "(d) UCB, no refinement": {"arm_selection": "ucb", "depth": 0},
    }
    wanted = set(args.variants.split(","))
    variants = {k: v for k, v in variants.items() if k[1] in wanted}
    rows = []
    seeds: list[float] = []
    for name, change in variants.items():
        generation = base.generation.model_copy(update={"arms": args.arms, "budget": 10_000, "max_calls": args.calls,
                                                        **change})
        config = base.model_copy(update={"generation": generation})
        run = variant_dir(args.out, name)
        result = generate(config, run, resume=(run / "state.sqlite").exists())
        scores = [q["p2_score"] for q in result.questions]
        seeds = [x["score"] for x in map(json.loads, (run / "outputs" / "seed_scores.jsonl").read_text().splitlines())
                 if x["score"] is not None]
        s = result.summary
        rows.append((name, scores, s["pulls"], s["calls_per_question"], s["tokens_per_question"], s["rejected"]))
    seeds_mean = float(np.mean(seeds))
    lo, hi = bootstrap_mean_ci(np.array(seeds))
    print(f"{'variant':<28} {'questions':>9} {'mean P2 S [95% CI]':>22} {'× seeds':>8} {'Welch p':>8} {'pulls':>6} "
          f"{'calls/q':>8} {'tokens/q':>9}  rejected")
    print(f"{'(a) seed questions':<28} {len(seeds):>9} {f'{seeds_mean:.3f} [{lo:.2f}, {hi:.2f}]':>22} {1.0:>8.2f}")
    for name, scores, pulls, cpq, tpq, rejected in rows:
        mean = float(np.mean(scores)) if scores else float("nan")
        lo, hi = bootstrap_mean_ci(np.array(scores))
        p = compare_means(np.array(seeds), np.array(scores))["welch_p"] if len(scores) > 1 else float("nan")
        print(f"{name:<28} {len(scores):>9} {f'{mean:.3f} [{lo:.2f}, {hi:.2f}]':>22} {mean / seeds_mean:>8.2f} "
              f"{p:>8.3f} {pulls:>6} {(cpq or float('nan')):>8.1f} {(tpq or float('nan')):>9.0f}  {rejected}")
    print(f"model calls per variant capped at {args.calls}, seed scoring included")
    if args.retest:
        retest(base, args, [name for name, *_ in rows])


def retest(base: RunConfig, args: argparse.Namespace, names: list[str]) -> None:
    """Held-out scores: the seeds and each variant's questions on fresh draws (draws 1..N of the base seed)."""
    from adaem.analysis.compare import compare_sets
    from adaem.scoring import draw_seed

    files = []
    first = variant_dir(args.out, names[0])
    seeds = [{"id": f"seed:{x['key']}", "question": x["question"]}
             for x in map(json.loads, (first / "outputs" / "seed_scores.jsonl").read_text().splitlines())]
    (args.out / "a-seeds.jsonl").write_text("".join(json.dumps(x) + "\n" for x in seeds))
    files.append(args.out / "a-seeds.jsonl")
    names = [n for n in names if (variant_dir(args.out, n) / "benchmark.jsonl").read_text().strip()]
    files += [variant_dir(args.out, n) / "benchmark.jsonl" for n in names]
    if not names:
        print("\nheld-out: no variant accepted a question, nothing to retest")
        return
    sampling = base.sampling.model_copy(update={"seed": draw_seed(base.sampling.seed, 1)})
    config = base.model_copy(update={"sampling": sampling})
    out = args.out / "retest"
    result = compare_sets(files, config, out, resume=(out / "state.sqlite").exists(), draws=args.retest)
    print(f"\nheld-out: every question scored again on {args.retest} fresh draw(s) of answers")
    print(f"{'set':<28} {'questions':>9} {'held-out S [95% CI]':>22} {'× seeds':>8} {'Welch p':>8}")
    seeds_mean = float(result.summary.iloc[0]["mean"])
    for (_, row), label in zip(result.summary.iterrows(), ["(a) seed questions", *names], strict=True):
        p = row.get(f"vs_{result.summary.iloc[0]['set']}_welch_p", float("nan"))
        mean = float(row["mean"])
        print(f"{label:<28} {row['scored']:>9} {f'{mean:.3f} [{row.ci_lo:.2f}, {row.ci_hi:.2f}]':>22} "
              f"{mean / seeds_mean:>8.2f} {p:>8.3f}")
    if result.retest:
        r = result.retest
        print(f"test–retest ICC1 {r['icc1']:.2f} [{r['icc1_lo']:.2f}, {r['icc1_hi']:.2f}] over {r['questions']} "
              f"questions × {r['draws']} draws (ICC1k {r['icc1k']:.2f})")


if __name__ == "__main__":
    main()
