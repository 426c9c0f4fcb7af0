"""Inter-rater agreement on an ordinal scale (pure: numpy in, numbers out).

Ratings are a matrix of items × raters holding integer categories, NaN where a rater did not rate an item.

- `cohen_kappa`: Cohen's κ of two raters over the items both rated, weighted (quadratic or linear) for ordinal
  scales: disagreement between 1 and 3 counts more than between 1 and 2. `pairwise_kappa` gives it for every two
  raters, `shared_items` the items behind each; a pair sharing fewer than `min_overlap` items gets NaN ("too few
  shared items"), never 0. `mean_pairwise_kappa` averages over the pairs that share enough.
- `fleiss_kappa`: Fleiss' κ (1971), nominal, for any number of raters. Missing ratings are left out: only items
  with at least two ratings count, each item's agreement is over the raters who rated it (so items may have
  different numbers of raters), each item weighs the same, and category shares are pooled over all ratings.
- `krippendorff_alpha`: Krippendorff's α from the coincidence matrix (Krippendorff 2011), nominal, ordinal or
  interval. Missing ratings are left out by its definition: only pairable values (items with ≥ 2 ratings) enter,
  each item's pairs weighted 1 / (its ratings − 1).
- `rater_agreement`: raters whose agreement with the others is well below the others' agreement among
  themselves, checked against the noise of a bootstrap over items (a warning, not a test); only pairs sharing
  `min_overlap` items count, and a rater needs two such partners to be judged at all.

Every statistic is NaN when it is undefined (no pairable ratings, too few shared items, or no variation at all).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np

Weights = Literal["quadratic", "linear", "none"]
Level = Literal["nominal", "ordinal", "interval"]


def _codes(matrix: np.ndarray, categories: list[int]) -> np.ndarray:
    """Category indices 0..k-1 (-1 where missing); ValueError for a value outside the categories."""
    m = np.asarray(matrix, float)
    codes = np.full(m.shape, -1, dtype=np.int64)
    here = ~np.isnan(m)
    lookup = {c: i for i, c in enumerate(categories)}
    for value in np.unique(m[here]):
        if value not in lookup:
            raise ValueError(f"rating {value:g} is not one of the categories {categories}")
        codes[here & (m == value)] = lookup[value]
    return codes


def kappa_weights(k: int, weights: Weights) -> np.ndarray:
    """Disagreement weights w[i, j] of a k-point scale: 0 on the diagonal, 1 at the far corners."""
    i, j = np.indices((k, k))
    if weights == "none":
        return (i != j).astype(float)
    d = np.abs(i - j) / max(k - 1, 1)
    return d**2 if weights == "quadratic" else d


def _kappa_from_confusion(confusion: np.ndarray, w: np.ndarray) -> float:
    n = confusion.sum()
    if n == 0:
        return float("nan")
    expected = np.outer(confusion.sum(1), confusion.sum(0)) / n
    denominator = float((w * expected).sum())
    return float("nan") if denominator <= 0 else 1.0 - float((w * confusion).sum()) / denominator


def cohen_kappa(a: np.ndarray, b: np.ndarray, categories: list[int], weights: Weights = "quadratic") -> float:
    """Cohen's κ of two raters over the items both rated: 1 − Σ w·observed / Σ w·expected, expected from the
    product of the two raters' own marginals."""
    codes = _codes(np.column_stack([a, b]), categories)
    both = (codes >= 0).all(axis=1)
    k = len(categories)
    confusion = np.bincount(codes[both, 0] * k + codes[both, 1], minlength=k * k).reshape(k, k).astype(float)
    return _kappa_from_confusion(confusion, kappa_weights(k, weights))


def shared_items(matrix: np.ndarray) -> np.ndarray:
    """raters × raters: how many items both raters rated (the diagonal: how many each rated)."""
    here = (~np.isnan(np.asarray(matrix, float))).astype(np.int64)
    return here.T @ here


def pairwise_kappa(matrix: np.ndarray, categories: list[int], weights: Weights = "quadratic",
                   item_weights: np.ndarray | None = None, min_overlap: int = 1) -> np.ndarray:
    """raters × raters of Cohen's κ (NaN on the diagonal and for pairs sharing fewer than `min_overlap` items).
    `item_weights` (items, or resamples × items) counts each item that many times: a bootstrap resample without
    copying (which pairs share enough is decided on the items themselves, not per resample)."""
    enough = shared_items(matrix) >= max(min_overlap, 1)
    codes = _codes(matrix, categories)
    n_items, n_raters = codes.shape
    k = len(categories)
    w = kappa_weights(k, weights)
    counts = np.ones(n_items) if item_weights is None else np.asarray(item_weights, float)
    stacked = counts.reshape(len(counts) if counts.ndim == 2 else 1, n_items)
    out = np.full((len(stacked), n_raters, n_raters), np.nan)
    for r in range(n_raters):
        for s in range(r + 1, n_raters):
            both = (codes[:, r] >= 0) & (codes[:, s] >= 0)
            if not both.any() or not enough[r, s]:
                continue
            cell = codes[both, r] * k + codes[both, s]
            for b, row in enumerate(stacked):
                confusion = np.bincount(cell, weights=row[both], minlength=k * k).reshape(k, k)
                out[b, r, s] = out[b, s, r] = _kappa_from_confusion(confusion, w)
    return out[0] if item_weights is None or np.ndim(item_weights) == 1 else out


def mean_pairwise_kappa(matrix: np.ndarray, categories: list[int], weights: Weights = "quadratic",
                        min_overlap: int = 1) -> tuple[float, int]:
    """Cohen's κ averaged over every pair of raters sharing at least `min_overlap` items; (mean, pairs averaged)."""
    pairs = pairwise_kappa(matrix, categories, weights, min_overlap=min_overlap)
    upper = pairs[np.triu_indices_from(pairs, 1)]
    finite = upper[np.isfinite(upper)]
    return (float(finite.mean()) if len(finite) else float("nan")), len(finite)


def category_counts(matrix: np.ndarray, categories: list[int]) -> np.ndarray:
    """items × categories: how many raters put each item in each category."""
    codes = _codes(matrix, categories)
    k = len(categories)
    rows = np.repeat(np.arange(codes.shape[0]), codes.shape[1])
    flat = codes.ravel()
    keep = flat >= 0
    return np.bincount(rows[keep] * k + flat[keep], minlength=codes.shape[0] * k).reshape(-1, k).astype(float)


def fleiss_kappa(matrix: np.ndarray, categories: list[int]) -> float:
    """Fleiss' κ over the items with at least two ratings: (P̄ − P̄e) / (1 − P̄e)."""
    x = category_counts(matrix, categories)
    n = x.sum(1)
    x, n = x[n >= 2], n[n >= 2]
    if len(x) == 0:
        return float("nan")
    p_items = ((x**2).sum(1) - n) / (n * (n - 1))
    shares = x.sum(0) / n.sum()
    expected = float((shares**2).sum())
    return float("nan") if expected >= 1 else (float(p_items.mean()) - expected) / (1 - expected)


def coincidences(matrix: np.ndarray, categories: list[int]) -> np.ndarray:
    """Krippendorff's coincidence matrix: o[c, k] = Σ_units (pairs of values c, k in the unit) / (m_u − 1), over
    units with at least two values."""
    x = category_counts(matrix, categories)
    m = x.sum(1)
    x, m = x[m >= 2], m[m >= 2]
    scaled = x / (m - 1)[:, None]
    return scaled.T @ x - np.diag(scaled.sum(0))


def alpha_distances(totals: np.ndarray, categories: list[int], level: Level) -> np.ndarray:
    """δ²(c, k) of Krippendorff's metrics; the ordinal one ranks categories by how many values lie between."""
    k = len(categories)
    i, j = np.indices((k, k))
    if level == "nominal":
        return (i != j).astype(float)
    if level == "interval":
        v = np.asarray(categories, float)
        return (v[i] - v[j]) ** 2
    cumulative = np.concatenate([[0.0], np.cumsum(totals)])
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    between = cumulative[hi + 1] - cumulative[lo]
    return (between - (totals[i] + totals[j]) / 2) ** 2


def krippendorff_alpha(matrix: np.ndarray, categories: list[int], level: Level = "ordinal") -> float:
    """α = 1 − D_o / D_e = 1 − (n − 1) Σ o·δ² / Σ n_c n_k δ² over the pairable values."""
    o = coincidences(matrix, categories)
    totals = o.sum(1)
    n = totals.sum()
    if n < 2:
        return float("nan")
    delta = alpha_distances(totals, categories, level)
    expected = float((np.outer(totals, totals) * delta).sum())
    return float("nan") if expected <= 0 else 1.0 - (n - 1) * float((o * delta).sum()) / expected


@dataclass
class RaterAgreement:
    """Per rater: mean κ with every other rater they share enough items with, the others' mean κ among themselves,
    how many such partners and how many items that rests on, and whether the gap is an outlier (gap ≥ `margin`,
    its bootstrap lower bound above 0, and at least two partners)."""

    with_others: np.ndarray
    among_others: np.ndarray
    gap_lo: np.ndarray
    flagged: np.ndarray
    partners: np.ndarray  # raters each shares at least min_overlap items with (on every metric: the fewest)
    shared: np.ndarray  # items each rated that a partner also rated (any metric)


def _leave_one_out(pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(…, raters, raters) pairwise κ → (…, raters) mean with the others, and mean among the others."""
    finite = np.isfinite(pairs)
    values = np.where(finite, pairs, 0.0)
    row_sum, row_n = values.sum(-1), finite.sum(-1)
    total, total_n = values.sum((-1, -2)) / 2, finite.sum((-1, -2)) / 2
    with_others = np.divide(row_sum, row_n, out=np.full(row_sum.shape, np.nan), where=row_n > 0)
    rest_n = total_n[..., None] - row_n
    among = np.divide(total[..., None] - row_sum, rest_n, out=np.full(row_sum.shape, np.nan), where=rest_n > 0)
    return with_others, among


def rater_agreement(matrices: list[np.ndarray], categories: list[int], weights: Weights = "quadratic", *,
                    margin: float = 0.1, resamples: int = 200, seed: int = 0, min_overlap: int = 2) -> RaterAgreement:
    """Each rater's agreement with the rest, averaged over the metrics (`matrices`, items × raters each, the same
    raters), over rater pairs sharing at least `min_overlap` items only. Flagged: at least two such partners, mean
    κ with them at least `margin` below the others' mean κ among themselves, and the one-sided 95% bootstrap bound
    (over items) of that gap above 0, so a gap that is only noise is not flagged."""
    n_raters = matrices[0].shape[1]
    overlap = [shared_items(m) >= min_overlap for m in matrices]
    enough = np.logical_and.reduce(overlap) & ~np.eye(n_raters, dtype=bool)
    partners = enough.sum(1)
    shared = np.zeros(n_raters, dtype=np.int64)
    for j in range(n_raters):
        rated_here = np.zeros(len(matrices[0]), bool)
        for m in matrices:
            mine = ~np.isnan(m[:, j])
            others = (~np.isnan(m[:, enough[j]])).any(1) if enough[j].any() else np.zeros(len(m), bool)
            rated_here |= mine & others
        shared[j] = int(rated_here.sum())
    if n_raters < 3:  # with two raters there is no "rest" to compare against
        nan = np.full(n_raters, np.nan)
        return RaterAgreement(nan, nan, nan, np.zeros(n_raters, bool), partners, shared)
    rng = np.random.default_rng(seed)
    point_with, point_among, boot_gaps = [], [], []
    for m in matrices:
        pair_k = pairwise_kappa(m, categories, weights, min_overlap=min_overlap)
        pair_k[~enough] = np.nan
        with_others, among = _leave_one_out(pair_k)
        point_with.append(with_others)
        point_among.append(among)
        draws = rng.integers(0, len(m), (resamples, len(m)))
        counts = np.stack([np.bincount(d, minlength=len(m)) for d in draws]).astype(float)
        boot_k = pairwise_kappa(m, categories, weights, item_weights=counts, min_overlap=min_overlap)
        boot_k[:, ~enough] = np.nan
        b_with, b_among = _leave_one_out(boot_k)
        boot_gaps.append(b_among - b_with)
    with warnings.catch_warnings():  # a rater with no partner has NaN everywhere: not an error
        warnings.simplefilter("ignore", RuntimeWarning)
        with_others = np.nanmean(np.stack(point_with), axis=0)
        among = np.nanmean(np.stack(point_among), axis=0)
        gap_lo = np.nanpercentile(np.nanmean(np.stack(boot_gaps), axis=0), 5, axis=0)
    flagged = np.nan_to_num(among - with_others) >= margin
    flagged &= np.nan_to_num(gap_lo) > 0
    flagged &= partners >= 2
    return RaterAgreement(with_others, among, gap_lo, flagged, partners, shared)
