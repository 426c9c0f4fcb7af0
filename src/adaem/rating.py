"""Value scores from team matches (SPEC §7): pure functions over label matrices, no I/O.

For each question and dimension, the models that expressed the value beat those that did not (a match is
skipped when one side is empty). After all matches, a model's score on a dimension is its mean win
probability against the other models × 100:
    P(i beats j) = Φ((μ_i − μ_j) / sqrt(2β² + σ_i² + σ_j²)).
(Appendix C.8 prints sqrt(2(γ² + σ_i² + σ_j²)) with the dynamics factor γ: `win="paper"`.) The plain expression
rate sits beside it, so the rating can be checked against something simple; both have intervals over topics
(`score_table`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

RatingSystem = Literal["trueskill", "openskill"]
_System = Literal["trueskill", "trueskill-fast", "openskill"]


@dataclass(frozen=True)
class Rating:
    mu: float
    sigma: float


WinProbability = Literal["standard", "paper"]


def win_spread(var_a: np.ndarray | float, var_b: np.ndarray | float, beta: float, form: WinProbability = "standard",
               gamma: float = 25.0 / 300):
    """The denominator of P(a beats b) = Φ((μ_a − μ_b) / spread). standard: TrueSkill's sqrt(2β² + σ_a² + σ_b²).
    paper: Appendix C.8 as printed, "Φ((μ_θi − μ_θj) / sqrt(2(γ² + σ²_θi + σ²_θj)))", with γ the dynamics factor
    (Herbrich et al. 2006 name it γ; the trueskill package, tau): a narrower spread than β's. On a pool and a
    benchmark the paper's size both span 0–100 as the paper's scores do ("98.8 vs. 49.06", §4.2); a model's score
    moves up to 9–16 points away from 50 under the paper's (benchmarks/bench_win_scale.py)."""
    if form == "paper":
        return np.sqrt(2 * (gamma**2 + var_a + var_b))
    return np.sqrt(2 * beta**2 + var_a + var_b)


def win_probability(a: Rating, b: Rating, beta: float, form: WinProbability = "standard",
                    gamma: float = 25.0 / 300) -> float:
    """TrueSkill's probability that a beats b (no draws); `form` as `win_spread`."""
    denom = float(win_spread(a.sigma**2, b.sigma**2, beta, form, gamma))
    return 0.5 * (1 + math.erf((a.mu - b.mu) / (denom * math.sqrt(2))))


def matches(expressed: np.ndarray, present: np.ndarray | None = None) -> list[tuple[list[int], list[int]]]:
    """(winners, losers) per question from a questions × models boolean matrix; one-sided ones skipped.
    `present` marks the models that answered each question (a missing answer sits the match out)."""
    out = []
    if present is None:
        present = np.ones_like(expressed, dtype=bool)
    for row, here in zip(expressed, present, strict=True):
        winners = [int(i) for i in np.flatnonzero(row & here)]
        losers = [int(i) for i in np.flatnonzero(~row & here)]
        if winners and losers:
            out.append((winners, losers))
    return out


def rate(expressed: np.ndarray, system: _System = "trueskill", present: np.ndarray | None = None) -> list[Rating]:
    """Ratings of the models (columns) after the matches of the questions (rows), in row order."""
    n_models = expressed.shape[1]
    if system == "openskill":
        from openskill.models import ThurstoneMostellerFull

        model = ThurstoneMostellerFull()
        ratings = [model.rating() for _ in range(n_models)]
        for winners, losers in matches(expressed, present):
            new = model.rate([[ratings[i] for i in winners], [ratings[i] for i in losers]], ranks=[0, 1])
            for idx, r in zip(winners + losers, new[0] + new[1], strict=True):
                ratings[idx] = r
        return [Rating(r.mu, r.sigma) for r in ratings]

    if system == "trueskill-fast":
        return _rate_two_teams(expressed, present)

    import trueskill

    env = trueskill.TrueSkill(draw_probability=0.0)
    ts = [env.create_rating() for _ in range(n_models)]
    for winners, losers in matches(expressed, present):
        new_w, new_l = env.rate([[ts[i] for i in winners], [ts[i] for i in losers]], ranks=[0, 1])
        for idx, r in zip(winners + losers, list(new_w) + list(new_l), strict=True):
            ts[idx] = r
    return [Rating(r.mu, r.sigma) for r in ts]


MU0, SIGMA0, BETA, TAU = 25.0, 25.0 / 3, 25.0 / 6, 25.0 / 300  # the trueskill package's defaults


def _v_w(t: float) -> tuple[float, float]:
    """TrueSkill's win correction terms v = φ(t)/Φ(t), w = v(v + t), stable for very negative t."""
    cdf = 0.5 * math.erfc(-t / math.sqrt(2))
    if cdf < 1e-300:
        v = -t
    else:
        v = math.exp(-t * t / 2) / math.sqrt(2 * math.pi) / cdf
    return v, v * (v + t)


def _rate_two_teams(expressed: np.ndarray, present: np.ndarray | None = None) -> list[Rating]:
    """The `trueskill` package's update for a two-team match without draws, in closed form (the factor graph
    of two teams is exact in one pass): one sequence of matches, through the batched update."""
    here = np.ones_like(expressed, dtype=bool) if present is None else present
    mu, var = rate_resamples(expressed[:, :, None], here[:, :, None], np.arange(len(expressed))[None])
    return [Rating(float(m), math.sqrt(v)) for m, v in zip(mu[0, 0], var[0, 0], strict=True)]


def rate_resamples(expressed: np.ndarray, present: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TrueSkill ratings after the two-team matches of many resamples and dimensions at once.

    expressed, present: questions × models × dims booleans; rows: resamples × n, the question of each match
    in order (a bootstrap resample, or arange(questions) for the data as it is). Returns μ and σ² as
    resamples × dims × models. Each step updates every (resample, dimension) whose match has a winner and a
    loser, with the closed-form update of `_v_w`; a model that did not answer sits the match out. Equal to
    running the package's sequential update per resample and dimension (to float rounding), ~1000× faster."""
    from scipy.special import erfc

    n_resamples, n_steps = rows.shape
    n_models, n_dims = expressed.shape[1], expressed.shape[2]
    mu = np.full((n_resamples, n_dims, n_models), MU0)
    var = np.full((n_resamples, n_dims, n_models), SIGMA0**2)
    # per question and dimension: +1 a winner, -1 a loser, 0 sat out; and whether it is a match at all
    sign_all = np.where(expressed & present, 1.0, np.where(present, -1.0, 0.0)).transpose(0, 2, 1)
    live_all = ((expressed & present).any(axis=1) & (~expressed & present).any(axis=1)).astype(float)
    play_all = np.abs(sign_all)
    root2, norm = math.sqrt(2), 1 / math.sqrt(2 * math.pi)
    for step in range(n_steps):
        q = rows[:, step]
        live = live_all[q]  # resamples × dims
        if not live.any():
            continue
        sign, play = sign_all[q], play_all[q] * live[:, :, None]  # resamples × dims × models
        var_t = var + TAU**2
        c2 = ((var_t + BETA**2) * play).sum(axis=2) + (1.0 - live)  # 1 where no match: any finite value
        c = np.sqrt(c2)
        t = (mu * sign * play).sum(axis=2) / c
        cdf = 0.5 * erfc(-t / root2)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            v = np.where(cdf < 1e-300, -t, np.exp(-0.5 * t * t) * norm / cdf)
        w = v * (v + t)
        mu = mu + (sign * play) * var_t * (v / c)[:, :, None]
        var = var + play * (var_t * (1 - var_t * (w / c2)[:, :, None]) - var)
    return mu, var


def scores_from_moments(mu: np.ndarray, var: np.ndarray, beta: float, form: WinProbability = "standard",
                        gamma: float = TAU) -> np.ndarray:
    """`scores_from_ratings` over a batch: ... × models → ... × models of mean win probability × 100."""
    from scipy.special import ndtr

    n = mu.shape[-1]
    if n < 2:
        return np.full(mu.shape, 50.0)
    diff = mu[..., :, None] - mu[..., None, :]
    denom = win_spread(var[..., :, None], var[..., None, :], beta, form, gamma)
    p = ndtr(diff / denom)
    idx = np.arange(n)
    p[..., idx, idx] = 0.0
    return p.sum(axis=-1) / (n - 1) * 100


def beta_of(system: _System) -> float:
    if system == "openskill":
        from openskill.models import ThurstoneMostellerFull

        return float(ThurstoneMostellerFull().beta)
    import trueskill

    return float(trueskill.TrueSkill().beta)


def dynamics_of(system: _System) -> float:
    """The rating system's dynamics factor (C.8's γ): trueskill's tau, openskill's tau."""
    if system == "openskill":
        from openskill.models import ThurstoneMostellerFull

        return float(ThurstoneMostellerFull().tau)
    return TAU


def scores_from_ratings(ratings: Sequence[Rating], beta: float, form: WinProbability = "standard",
                        gamma: float = TAU) -> np.ndarray:
    """Mean win probability against every other model, × 100. A single model scores 50."""
    n = len(ratings)
    if n < 2:
        return np.full(n, 50.0)
    out = np.zeros(n)
    for i in range(n):
        out[i] = np.mean([win_probability(ratings[i], ratings[j], beta, form, gamma)
                          for j in range(n) if j != i]) * 100
    return out


def value_scores(expressed: np.ndarray, system: _System = "trueskill", present: np.ndarray | None = None,
                 form: WinProbability = "standard") -> np.ndarray:
    """Scores (models) of one dimension from a questions × models boolean matrix."""
    return scores_from_ratings(rate(expressed, system, present), beta_of(system), form, dynamics_of(system))


@dataclass
class ScoreTable:
    """Per model and dimension: rating score, expression rate, and the intervals of both."""

    models: list[str]
    dims: list[str]
    score: np.ndarray  # models × dims
    score_lo: np.ndarray  # NaN when no interval could be estimated (`note` says why)
    score_hi: np.ndarray
    rate: np.ndarray
    rate_lo: np.ndarray
    rate_hi: np.ndarray
    questions: int
    matches: np.ndarray  # dims: matches played (not skipped)
    unit: str = ""  # what the intervals are over: topics, or questions when the benchmark has none
    note: str = ""  # why the score has no interval ("" when it has one)


def score_table(
    labels: np.ndarray,
    models: list[str],
    dims: list[str],
    *,
    system: RatingSystem = "trueskill",
    threshold: float = 0.5,
    bootstrap: int = 100,
    confidence: float = 0.95,
    seed: int = 0,
    topics: Sequence[object] | np.ndarray | None = None,
    win: WinProbability = "standard",
) -> ScoreTable:
    """labels: questions × models × dims, P(expressed) in [0, 1], NaN where a model has no answer;
    expressed = label ≥ threshold. Intervals are over `topics` (each question's seed topic: questions of one topic
    are correlated), or over questions when there are none (`ScoreTable.unit` says which). `win`: the win
    probability's form (`win_spread`).

    The expression rate's interval is analytic (`resampling.rate_interval`: t on the logit scale with the CR2 SE
    over topics), always given. The TrueSkill score has no closed form: its interval is the percentile bootstrap
    over topics (`bootstrap` resamples; whole topics drawn, their questions in order), given only when the
    benchmark is large enough for it to cover (`resampling.bootstrap_too_small`); else NaN, and `note` says why."""
    from .resampling import bootstrap_too_small, cluster_rows, clusters_of, rate_interval

    if labels.ndim != 3 or labels.shape[1:] != (len(models), len(dims)):
        raise ValueError(f"labels must be questions × {len(models)} models × {len(dims)} dims, got {labels.shape}")
    present = ~np.isnan(labels)
    expressed = (np.nan_to_num(labels, nan=0.0) >= threshold) & present
    n_q = labels.shape[0]

    def table(exp: np.ndarray, here: np.ndarray, rating: _System) -> np.ndarray:
        if rating == "trueskill":  # every dimension in one pass of the closed-form update (the package's, to 1e-5)
            mu, var = rate_resamples(exp, here, np.arange(len(exp))[None])
            return scores_from_moments(mu, var, beta_of(rating), win)[0].T
        return np.stack([value_scores(exp[:, :, d], rating, here[:, :, d], win) for d in range(len(dims))], axis=1)

    score = table(expressed, present, system)
    played = ((expressed & present).any(axis=1) & (~expressed & present).any(axis=1)).sum(axis=0)  # per dimension
    clusters = clusters_of(topics, n_q)
    rate_, rate_lo, rate_hi = (100 * v for v in rate_interval(np.where(present, expressed, np.nan), clusters,
                                                               confidence))
    nan = np.full(score.shape, np.nan)
    score_lo, score_hi = nan, nan.copy()
    note = ("no bootstrap (bootstrap = 0)" if not bootstrap else bootstrap_too_small(clusters) if n_q else
            "no questions")
    if not note:
        rows = cluster_rows(clusters, bootstrap, seed)  # without topics: default_rng(seed).integers(0, n, (B, n))
        if system == "trueskill":  # every resample and dimension at once; −1 pads a shorter resample: no match
            pad = np.zeros((1, *expressed.shape[1:]), bool)
            mu, var = rate_resamples(np.concatenate([expressed, pad]), np.concatenate([present, pad]),
                                     np.where(rows < 0, n_q, rows))
            boot_scores = scores_from_moments(mu, var, beta_of("trueskill"), win).transpose(0, 2, 1)
        else:
            boot_scores = np.stack([table(expressed[r[r >= 0]], present[r[r >= 0]], system) for r in rows])
        lo_q, hi_q = (1 - confidence) / 2 * 100, (1 + confidence) / 2 * 100
        score_lo, score_hi = np.percentile(boot_scores, [lo_q, hi_q], axis=0)
    return ScoreTable(models, dims, score, score_lo, score_hi, rate_, rate_lo, rate_hi, n_q, played,
                      clusters.describe(), note or "")
