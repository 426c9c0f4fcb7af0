"""Speed of the findings analyses at the paper's scale: 16 models, ~12,000 questions, 10 values, 200 bootstrap
resamples, 10,000 permutations (the defaults), 9 categories, 30 regions (half the questions have none).

Synthetic 0/1 labels (a question effect shared by the models, family and kind effects); times each step once,
after one warm-up call on small data (imports).

    .venv/bin/python benchmarks/bench_findings.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from adaem.analysis import findings as f
from adaem.analysis import findings_plots as plots

MODELS, QUESTIONS, VALUES, RESAMPLES = 16, 12_000, 10, 200
CATEGORIES = [f"category {k}" for k in range(9)]
REGIONS = [f"region {k}" for k in range(30)]


def metadata() -> dict[str, dict[str, object]]:
    return {f"m{i}": {"family": "ABCD"[i // 4], "kind": "reasoning" if i % 4 in (1, 2) else "chat",
                      "size_b": [1.5, 7, 32, 72][i % 4], "vendor": "ABCD"[i // 4]} for i in range(MODELS)}


def tidy(seed: int = 0, questions: int = QUESTIONS) -> pd.DataFrame:
    """The tidy frame the analyses take: one row per (model, question, value), as `tidy_labels` gives."""
    rng = np.random.default_rng(seed)
    base = np.log(np.linspace(0.15, 0.6, VALUES) / (1 - np.linspace(0.15, 0.6, VALUES)))
    logit = base + rng.normal(0, 0.8, (questions, 1, VALUES)) + rng.normal(0, 0.3, (1, MODELS, VALUES))
    logit += np.repeat(rng.normal(0, 0.5, (4, VALUES)), 4, axis=0)  # families
    x = (rng.random(logit.shape) < 1 / (1 + np.exp(-logit))).astype(float)
    category = rng.choice(CATEGORIES, questions)
    region = rng.choice(np.array([*REGIONS, None], dtype=object), questions,
                        p=[0.5 / len(REGIONS)] * len(REGIONS) + [0.5])
    q, m, v = np.indices(x.shape).reshape(3, -1)
    return pd.DataFrame({"model": np.array([f"m{i}" for i in range(MODELS)])[m],
                         "question_id": np.array([f"q{k}" for k in range(questions)])[q],
                         "value": np.array([f"v{k}" for k in range(VALUES)])[v], "expressed": x.ravel(),
                         "category": category[q], "region": region[q]})


def timed(label: str, fn, rows: list[tuple[str, float]]):
    started = time.perf_counter()
    out = fn()
    rows.append((label, time.perf_counter() - started))
    return out


def main() -> None:
    meta = metadata()
    small = f.label_cube(tidy(1, 300))  # warm-up: imports, first calls
    f.profile_similarity(small, meta, permutations=100, resamples=10)
    f.category_profiles(small, resamples=10)
    rows: list[tuple[str, float]] = []
    frame = timed("build the tidy frame (synthetic, not part of the analyses)", tidy, [])
    cube = timed(f"label_cube: {len(frame):,} rows -> {QUESTIONS:,} × {MODELS} × {VALUES}",
                 lambda: f.label_cube(frame), rows)
    sim = timed("1. profile_similarity (10,000 permutations)", lambda: f.profile_similarity(cube, meta), rows)
    group = timed("2. group_difference kind, unit=model (C(16, 8) = 12,870 splits > 10,000: Monte Carlo)",
                  lambda: f.group_difference(cube, meta, "kind"), rows)
    timed("2. group_difference kind, unit=question", lambda: f.group_difference(cube, meta, "kind", unit="question"),
          rows)
    timed("3. size_trend (4 families × 10 values)", lambda: f.size_trend(cube, meta), rows)
    cats = timed("4. category_profiles (9 categories, 16 × 10 cells)", lambda: f.category_profiles(cube), rows)
    region = timed("5. region_divergence m0 vs m4, contrast=zero (30 regions)",
                   lambda: f.region_divergence(cube, "m0", "m4"), rows)
    timed("5. region_divergence m0 vs m4, contrast=elsewhere",
          lambda: f.region_divergence(cube, "m0", "m4", contrast="elsewhere"), rows)
    scores = pd.DataFrame({"pull": np.repeat(np.arange(1, 1501), 3), "score": np.random.default_rng(0).normal(7, 1, 4500)})
    curve = timed("6. informativeness_curve (1,500 pulls × 3 questions)",
                  lambda: f.informativeness_curve(scores, {"SVS": 6.07}), rows)
    analyses = sum(t for label, t in rows[1:])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        timed("pictures: the five PNGs", lambda: [
            plots.similarity_heatmap(sim, out / "s.png"), plots.group_forest(group, out / "g.png"),
            plots.category_small_multiples(cats, out / "c.png"), plots.region_divergence_bars(region, out / "r.png"),
            plots.informativeness_plot(curve, out / "i.png")], rows)
    print(f"{MODELS} models × {QUESTIONS:,} questions × {VALUES} values, {RESAMPLES} bootstrap resamples\n")
    print("| step | seconds |")
    print("|---|---|")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.2f} |")
    print(f"| **all six analyses (without label_cube and pictures)** | **{analyses:.2f}** |")


if __name__ == "__main__":
    main()
