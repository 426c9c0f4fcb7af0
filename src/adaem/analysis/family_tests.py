"""Tests over models that respect families (SPEC §9): models of one family share data and recipes, so they are not
independent draws, and a contrast between groups of models (reasoning vs chat, newer vs older, larger vs
smaller) is tested by permuting the covariate *within* families, or with families as the units, never over all
models as if each were its own draw. The interval inverts the same permutation test. Pure numpy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..resampling import permutation_p, permute_within
from .claims import Metadata, meta_value

# -- family-respecting model-level tests -------------------------------------------------------------------------


@dataclass
class FamilyTest:
    """A permutation test of "outcome y depends on covariate x" over models that respects families."""

    design: str  # the units and how labels were permuted, in words
    estimate: np.ndarray  # per outcome: Σ c·y / Σ c² (c = x centred in its stratum): a difference or a slope
    p: np.ndarray  # two-sided permutation p per outcome
    ci_lo: np.ndarray  # test-inversion interval at the level asked (NaN: unbounded at this design)
    ci_hi: np.ndarray
    smallest: float  # the smallest p this design can give
    arrangements: int  # distinct arrangements of the labels
    exact: bool
    cannot: str | None  # why the design cannot separate x from the family (None when it can)
    p_models: np.ndarray | None = None  # the permutation's p, when p also asks the topics (`replicates`)
    p_topics: np.ndarray | None = None  # the estimate against 0, SE by a jackknife over topics


def families_of(models: list[str], meta: Metadata | None, key: str) -> np.ndarray:
    """Each model's family; a model without one is a family of its own (it may be related to none)."""
    return np.array([f"{k}={v}" if (v := meta_value(meta, m, key)) is not None else f"model={m}"
                     for m, k in zip(models, [key] * len(models), strict=True)], dtype=object)


def _statistic_rows(x: np.ndarray, strata: np.ndarray, permutations: int, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray, bool, int]:
    """(c: x centred in its stratum, rows of c permuted inside the strata, exact, arrangements)."""
    rows, exact, count = permute_within(x, strata, permutations, rng)
    means = {s: x[strata == s].mean() for s in dict.fromkeys(strata.tolist())}
    centre = np.array([means[s] for s in strata.tolist()])
    return x - centre, rows - centre, exact, count


def _invert(y: np.ndarray, x: np.ndarray, c: np.ndarray, null_c: np.ndarray, exact: bool, level: float
            ) -> tuple[np.ndarray, np.ndarray]:
    """The interval {δ: the permutation test of y − δ·x does not reject at 1 − level}: valid under the shift
    model (each unit's outcome moves by δ per unit of x, the rest exchangeable inside strata)."""
    s2 = float(c @ c)
    a_obs, a_null = c @ y, null_c @ y  # outcomes; permutations × outcomes
    b_null = null_c @ x  # permutations
    est = a_obs / s2
    scale = np.nanstd(a_null, axis=0) / s2
    lo, hi = np.full(len(est), np.nan), np.full(len(est), np.nan)
    alpha = 1 - level
    for k in range(len(est)):
        if not np.isfinite(est[k]) or not scale[k] > 0:
            continue
        grid = est[k] + scale[k] * np.linspace(-8, 8, 641)
        obs = np.abs(a_obs[k] - grid * s2)
        null = np.abs(a_null[:, k, None] - b_null[:, None] * grid)
        hits = (null >= obs - 1e-12).sum(axis=0)
        p = hits / len(null_c) if exact else (1 + hits) / (1 + len(null_c))
        keep = np.flatnonzero(p > alpha)
        if len(keep) and keep[0] > 0 and keep[-1] < len(grid) - 1:
            lo[k] = (grid[keep[0] - 1] + grid[keep[0]]) / 2
            hi[k] = (grid[keep[-1]] + grid[keep[-1] + 1]) / 2
    return lo, hi


def _jackknife_p(estimate: np.ndarray, replicates: np.ndarray) -> np.ndarray:
    """Two-sided t p of each estimate against 0, its SE from delete-one-group jackknife replicates (G × ...)."""
    from scipy.stats import t

    g = len(replicates)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt((g - 1) / g * np.sum((replicates - replicates.mean(axis=0)) ** 2, axis=0))
        p = 2 * t.sf(np.abs(estimate) / se, g - 1)
    return np.where(se > 0, p, np.where(estimate == 0, 1.0, 0.0))


def family_test(y: np.ndarray, x: np.ndarray, families: np.ndarray, *, alpha: float = 0.05,
                permutations: int = 10_000, seed: int = 0, what: str = "the groups",
                replicates: np.ndarray | None = None) -> FamilyTest:
    """Does outcome y (units × outcomes) depend on covariate x (a 0/1 group or a number) across models?

    Under the null the covariate is exchangeable among models of one family (within design) or among families
    (between design). Within: only families holding more than one value of x count, x is permuted inside each;
    the estimate is the fixed-effects slope Σ c·y / Σ c² (c = x minus its family mean): for groups, a weighted
    mean of within-family differences. Between: families are the units (their mean x and mean y), x permuted
    over them. The within design is used when it can reach p ≤ alpha, else the between design when that can,
    else the one that gets closer. When no family mixes values of x and the families are too few, the design
    cannot separate x from the family: `cannot` says so. The interval inverts the same test.

    `replicates` (G × units × outcomes: y with each group of topics left out, `jackknife_groups`) makes the claim
    hold over questions too (SPEC §9): p is then the larger of the permutation's p and a t p of the same estimate
    against 0 with its SE from the jackknife over topics (an intersection–union test). The permutation holds the
    questions fixed, so a kind of model that reacts alike to these particular topics would read as a difference;
    the jackknife sees that noise. The interval still inverts the permutation test (on these questions)."""
    y = np.asarray(y, float)
    x = np.asarray(x, float)
    rng = np.random.default_rng(seed)
    fam = np.asarray(families, dtype=object)
    names = list(dict.fromkeys(fam.tolist()))
    mixed = [f for f in names if len(set(x[fam == f].tolist())) > 1]
    candidates: list[tuple[str, Callable[[np.ndarray], np.ndarray], np.ndarray, np.ndarray]] = []
    if mixed:
        keep = np.isin(fam, mixed)
        n_fam = len(mixed)
        candidates.append((f"labels permuted within the {n_fam} famil{'y' if n_fam == 1 else 'ies'} that hold "
                           f"several {what} ({int(keep.sum())} models)", lambda v: v[..., keep, :], x[keep],
                           fam[keep]))
    if len(names) >= 2:
        fx = np.array([x[fam == f].mean() for f in names])
        singletons = all(str(f).startswith("model=") for f in names)
        unit = f"{len(names)} models as units" if singletons else f"{len(names)} families as units"
        candidates.append((unit, lambda v: np.stack([np.nanmean(v[..., fam == f, :], axis=-2) for f in names],
                                                    axis=-2), fx, np.zeros(len(names))))
    tried: list[FamilyTest] = []
    for design, units, xx, strata in candidates:
        if len(set(xx.tolist())) < 2:
            continue
        yy = units(y)
        c, null_c, exact, count = _statistic_rows(xx, strata, permutations, rng)
        s2 = float(c @ c)
        complete = np.isfinite(yy).all(axis=0)
        est = np.where(complete, (c @ np.nan_to_num(yy)) / s2, np.nan)
        null = null_c @ np.nan_to_num(yy) / s2
        p = permutation_p(est, null, exact)
        smallest = float(permutation_p(np.array([c @ xx / s2]), (null_c @ xx / s2)[:, None], exact)[0])
        lo, hi = _invert(np.nan_to_num(yy), xx, c, null_c, exact, 1 - alpha)
        result = FamilyTest(design, est, p, np.where(complete, lo, np.nan), np.where(complete, hi, np.nan),
                            smallest, count, exact, None)
        if replicates is not None and len(replicates) >= 3:
            reps = np.einsum("u,guo->go", c, np.nan_to_num(units(np.asarray(replicates, float)))) / s2
            result.p_models, result.p_topics = p, _jackknife_p(np.nan_to_num(est), reps)
            result.p = np.where(np.isfinite(p), np.maximum(p, result.p_topics), np.nan)
        if smallest <= alpha:
            return result
        tried.append(result)
    nan = np.full(y.shape[1], np.nan)
    best = min(tried, key=lambda r: r.smallest) if tried else FamilyTest("none", nan, nan, nan, nan, 1.0, 1, True, None)
    if not mixed:
        best.cannot = (f"{what} cannot be told apart from the families: no family holds more than one, and "
                       f"{len(names)} families as units allow no p ≤ {alpha}")
    return best


__all__ = ["FamilyTest", "families_of", "family_test"]
