"""Cronbach's α and intraclass correlations (Shrout & Fleiss 1979), in numpy and scipy: pure functions over a
subjects × raters (or items) matrix, with F-distribution confidence intervals. Tested against the published
worked example and against pingouin's values on the same data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError


def _matrix(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise ConfigError(f"{what} needs at least 2 subjects and 2 raters/items, got shape {x.shape}")
    if np.isnan(x).any():
        raise ConfigError(f"{what} needs a complete matrix (no missing values)")
    return x


def cronbach_alpha(items: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """α of a subjects × items matrix, k/(k−1) · (1 − Σ var(item) / var(total)), with the F-based confidence
    interval of Feldt (1965): 1 − (1 − α) · F_{±}(n − 1, (n − 1)(k − 1))."""
    from scipy.stats import f

    x = _matrix(items, "Cronbach's α")
    n, k = x.shape
    total = x.sum(axis=1).var(ddof=1)
    alpha = k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / total) if total > 0 else float("nan")
    df1, df2 = n - 1, (n - 1) * (k - 1)
    tail = (1 - confidence) / 2
    lo = 1 - (1 - alpha) * f.isf(tail, df1, df2)
    hi = 1 - (1 - alpha) * f.isf(1 - tail, df1, df2)
    return float(alpha), float(lo), float(hi)


@dataclass(frozen=True)
class ICC:
    """Shrout & Fleiss's intraclass correlations of n targets rated by k raters."""

    icc1: float  # one-way random: share of a single rating's variance that is the target's
    icc1k: float  # the same for the mean of the k ratings
    icc2: float  # two-way random, absolute agreement, single rating: ICC(2,1) = ICC(A,1)
    icc3: float  # two-way mixed, consistency, single rating: ICC(3,1) = ICC(C,1)
    icc1_lo: float
    icc1_hi: float
    targets: int
    raters: int


def icc(ratings: np.ndarray, confidence: float = 0.95) -> ICC:
    """ICCs of a targets × raters matrix from its two-way ANOVA mean squares; the confidence interval of ICC(1)
    from the F distribution of MSR / MSW."""
    from scipy.stats import f

    x = _matrix(ratings, "an ICC")
    n, k = x.shape
    grand = x.mean()
    ss_rows = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((x.mean(axis=0) - grand) ** 2).sum()
    ss_total = ((x - grand) ** 2).sum()
    ss_err = ss_total - ss_rows - ss_cols
    msr = ss_rows / (n - 1)
    msc = ss_cols / (k - 1)
    mse = ss_err / ((n - 1) * (k - 1))
    msw = (ss_cols + ss_err) / (n * (k - 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        icc1 = (msr - msw) / (msr + (k - 1) * msw)
        icc1k = (msr - msw) / msr
        icc2 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
        icc3 = (msr - mse) / (msr + (k - 1) * mse)
        f1 = msr / msw
        tail = (1 - confidence) / 2
        f_lo = f1 / f.ppf(1 - tail, n - 1, n * (k - 1))
        f_hi = f1 * f.ppf(1 - tail, n * (k - 1), n - 1)
        lo = (f_lo - 1) / (f_lo + k - 1)
        hi = (f_hi - 1) / (f_hi + k - 1)
    return ICC(float(icc1), float(icc1k), float(icc2), float(icc3), float(lo), float(hi), n, k)
