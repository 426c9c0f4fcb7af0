"""The statistics of `adaem annotate results`, simulated: do they say what they claim at the paper's size?

No people: a simulated study has N pairs (a baseline and a generated question), each question a latent quality
(normal, sd 0.8) and each of R raters a leniency (normal, sd 0.3) and their own noise; a rating is the rounded sum
clipped to 1..3, as on the paper's 3-point scale. With adaem's own functions, prints

1. agreement of independent random raters (κ, Fleiss' κ, α should centre on 0), and of raters sharing the latent
   quality (all three should agree with each other);
2. the paired sign-flip test's type-I error under the null (no difference between the sets) and its power when the
   generated questions are better by a latent shift;
3. coverage of the 95% bootstrap CIs of each set's mean and of the relative gain;
4. the outlier-rater warning: false alarms with R equal raters, detection of one random rater and of one rater
   twice as noisy as the rest;
4b. the same with raters who share only part of the questions (each question to 3 of the R raters) and a sixth
   rater who rated a few questions only (too few shared items: never to be flagged);
5. the time `annotate_results` takes on a study of the paper's size (300 pairs × 5 raters × 3 metrics), and
   `create_study` with its blind orders;
6. blinding: over many small studies, how often a guess from what a rater's page shows (replaying the old seeded
   shuffle, position parity, id order, position half) names a question's set (chance: 0.5).

    .venv/bin/python benchmarks/bench_annotate.py [--pairs 300] [--raters 5] [--studies 500]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from adaem.annotate.agreement import fleiss_kappa, krippendorff_alpha, mean_pairwise_kappa, rater_agreement
from adaem.annotate.comparison import compare_sets, item_means, sign_flip_p

POINTS = [1, 2, 3]


def ratings(rng: np.random.Generator, n: int, leniency: np.ndarray, noise: np.ndarray, shift: float = 0.0) -> np.ndarray:
    latent = rng.normal(shift, 0.8, n)
    return np.clip(np.round(2 + latent[:, None] + leniency + rng.normal(0, 1, (n, len(noise))) * noise), 1, 3)


def interval(x: np.ndarray) -> str:
    lo, hi = np.percentile(x, [2.5, 97.5])
    return f"{np.mean(x):+.3f} (95% of studies in [{lo:+.3f}, {hi:+.3f}])"


def binomial_ci(k: int, n: int) -> str:
    """A proportion with its Wilson 95% interval."""
    p, z = k / n, 1.96
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"{p:.3f} [{centre - half:.3f}, {centre + half:.3f}] ({k}/{n})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--raters", type=int, default=5)
    parser.add_argument("--studies", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    n, r, studies = args.pairs, args.raters, args.studies
    print(f"simulated studies: {n} pairs, {r} raters, ratings 1-3; {studies} studies per line unless said\n")

    # 1. agreement
    chance = np.array([[mean_pairwise_kappa(m, POINTS)[0], fleiss_kappa(m, POINTS), krippendorff_alpha(m, POINTS)]
                       for m in (rng.integers(1, 4, (2 * n, r)).astype(float) for _ in range(200))])
    print("1. agreement of independent random raters (200 studies):")
    for name, col in zip(("Cohen's κ (quadratic, mean pairwise)", "Fleiss' κ", "Krippendorff's α (ordinal)"),
                         chance.T, strict=True):
        print(f"   {name}: {interval(col)}")
    shared = np.array([[mean_pairwise_kappa(m, POINTS)[0], fleiss_kappa(m, POINTS), krippendorff_alpha(m, POINTS)]
                       for m in (ratings(rng, 2 * n, rng.normal(0, 0.3, r), np.full(r, 0.5)) for _ in range(200))])
    print("   raters sharing the latent quality (noise sd 0.5): κ " + interval(shared[:, 0]) + "; Fleiss "
          + interval(shared[:, 1]) + "; α " + interval(shared[:, 2]))

    # 2. the paired test
    def study_p(shift: float) -> tuple[float, np.ndarray, np.ndarray]:
        leniency, noise = rng.normal(0, 0.3, r), np.full(r, 0.6)
        base = item_means(ratings(rng, n, leniency, noise))
        gen = item_means(ratings(rng, n, leniency, noise, shift))
        return sign_flip_p(gen - base, permutations=2000, seed=int(rng.integers(1 << 30))), base, gen

    t = time.perf_counter()
    null_p = np.array([study_p(0.0)[0] for _ in range(studies)])
    print(f"\n2. paired sign-flip test (2,000 sign vectors), {time.perf_counter() - t:.1f} s:")
    for alpha in (0.01, 0.05, 0.10):
        print(f"   type-I error at α = {alpha:.2f}: {binomial_ci(int((null_p <= alpha).sum()), studies)}")
    for shift in (0.1, 0.2):
        power = np.array([study_p(shift)[0] for _ in range(200)])
        print(f"   power at a latent shift of {shift} (200 studies): {binomial_ci(int((power <= 0.05).sum()), 200)}")

    # 3. bootstrap coverage
    big = item_means(ratings(np.random.default_rng(99), 400_000, np.zeros(r), np.full(r, 0.6)))
    truth = big.mean()
    cover_b = cover_g = cover_gain = 0
    k = min(studies, 300)
    for i in range(k):
        leniency = np.zeros(r)
        base = item_means(ratings(rng, n, leniency, np.full(r, 0.6)))
        gen = item_means(ratings(rng, n, leniency, np.full(r, 0.6)))
        c = compare_sets(base, gen, resamples=1000, permutations=100, seed=i)
        cover_b += c.baseline_ci[0] <= truth <= c.baseline_ci[1]
        cover_g += c.generated_ci[0] <= truth <= c.generated_ci[1]
        cover_gain += c.gain_ci[0] <= 0 <= c.gain_ci[1]
    print(f"\n3. 95% bootstrap CIs (1,000 resamples of pairs, {k} studies; raters without leniency, so the item means'"
          " population mean is known):")
    print(f"   baseline mean: {binomial_ci(cover_b, k)}; generated mean: {binomial_ci(cover_g, k)}; "
          f"gain (true 0): {binomial_ci(cover_gain, k)}")

    # 4. outlier raters
    def flagged(kind: str) -> np.ndarray:
        noise = np.full(r, 0.5)
        if kind == "noisy":
            noise[2] = 1.0
        mats = [ratings(rng, 2 * n, rng.normal(0, 0.3, r), noise) for _ in range(3)]
        if kind == "random":
            for m in mats:
                m[:, 2] = rng.integers(1, 4, 2 * n)
        return rater_agreement(mats, POINTS, resamples=200, seed=int(rng.integers(1 << 30))).flagged

    k = min(studies, 100)
    equal = [flagged("equal") for _ in range(k)]
    rand = [flagged("random") for _ in range(k)]
    noisy = [flagged("noisy") for _ in range(k)]
    print(f"\n4. outlier-rater warning ({k} studies each, 3 metrics):")
    print(f"   {r} equal raters, any flagged (false alarm): {binomial_ci(sum(bool(f.any()) for f in equal), k)}")
    print(f"   one random rater, flagged: {binomial_ci(sum(bool(f[2]) for f in rand), k)}; another flagged too: "
          f"{binomial_ci(sum(bool(np.delete(f, 2).any()) for f in rand), k)}")
    print(f"   one rater twice as noisy, flagged: {binomial_ci(sum(bool(f[2]) for f in noisy), k)}")

    def partial(kind: str) -> np.ndarray:
        """R raters, each question rated by 3 of them in rotation, and one more rater with 5 ratings."""
        mats = []
        for _ in range(3):
            m = ratings(rng, 2 * n, rng.normal(0, 0.3, r), np.full(r, 0.5))
            keep = np.zeros_like(m, bool)
            for q in range(len(m)):
                keep[q, [(q + j) % r for j in range(3)]] = True
            m[~keep] = np.nan
            extra = np.full(len(m), np.nan)
            few = rng.choice(len(m), 5, replace=False)
            extra[few] = rng.integers(1, 4, 5) if kind == "random" else np.nanmean(m[few], 1).round()
            mats.append(np.column_stack([m, extra]))
        return rater_agreement(mats, POINTS, resamples=200, seed=int(rng.integers(1 << 30)), min_overlap=10).flagged

    equal = [partial("equal") for _ in range(k)]
    rand = [partial("random") for _ in range(k)]
    print(f"\n4b. outlier-rater warning, each question rated by 3 of {r} raters, a sixth rater with 5 ratings "
          f"(min overlap 10; {k} studies each):")
    print(f"   any of the {r} flagged (false alarm): {binomial_ci(sum(bool(f[:r].any()) for f in equal), k)}; the "
          f"sixth (5 random ratings) flagged: {binomial_ci(sum(bool(f[r]) for f in rand), k)}")

    # 5. time of the whole results on a study of the paper's size
    from adaem.annotate.ratings_csv import import_csv
    from adaem.annotate.results import annotate_results
    from adaem.annotate.study import create_study

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in ("gen", "base"):
            (root / f"{name}.jsonl").write_text("".join(json.dumps({"question": f"{name} question {i}?",
                                                                    "topic": f"t{i}"}) + "\n" for i in range(n)))
        t = time.perf_counter()
        study, _ = create_study(root / "gen.jsonl", root / "study", baseline=root / "base.jsonl", pairs=n, raters=r)
        created = time.perf_counter() - t
        rows = ["rater,item_id,metric,value"]
        for it in study.items():
            for rater in study.raters():
                for m in study.metrics.keys():
                    rows.append(f"{rater.name},{it['id']},{m},{int(rng.integers(1, 4))}")
        (root / "r.csv").write_text("\n".join(rows) + "\n")
        t = time.perf_counter()
        import_csv(study, root / "r.csv")
        imported = time.perf_counter() - t
        t = time.perf_counter()
        annotate_results(study)
        print(f"\n5. a study of {n} pairs × {r} raters × 3 metrics ({len(rows) - 1} ratings): create_study {created:.2f} s, "
              f"import {imported:.1f} s, annotate_results {time.perf_counter() - t:.1f} s (the plan: 2,000 bootstrap "
              "resamples, 10,000 sign vectors)")
        study.close()

    # 6. blinding
    import random

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in ("gen", "base"):
            (root / f"{name}.jsonl").write_text("".join(json.dumps({"question": f"{name} question {i}?",
                                                                    "topic": f"t{i}"}) + "\n" for i in range(10)))
        hits: dict[str, list[int]] = {}
        k = min(studies, 300)
        for i in range(k):
            study, _ = create_study(root / "gen.jsonl", root / f"s{i}", baseline=root / "base.jsonl", pairs=10,
                                    raters=2, min_gap=3)
            with study:
                truth = {it["id"]: int(it["set_name"] == "generated") for it in study.items()}
                ids = [it["id"] for it in study.rater_items(study.raters()[0].id)]
            replay = list(range(len(ids)))
            random.Random("0:0").shuffle(replay)
            ranked = sorted(ids)
            guesses = {"replayed old shuffle": [replay[p] % 2 for p in range(len(ids))],
                       "odd position": [p % 2 for p in range(len(ids))],
                       "id order": [int(ranked.index(x) >= len(ids) // 2) for x in ids],
                       "first half": [int(p < len(ids) // 2) for p in range(len(ids))]}
            for name, guess in guesses.items():
                got = hits.setdefault(name, [0, 0])
                got[0] += sum(g == truth[x] for g, x in zip(guess, ids, strict=True))
                got[1] += len(ids)
        print(f"\n6. blinding ({k} studies of 10 pairs, rater-1's order): share of questions whose set each guess names")
        for name, (h, total) in hits.items():
            print(f"   {name}: {binomial_ci(h, total)}")


if __name__ == "__main__":
    main()
