"""Synthetic labels with adaem's own data shapes, for measuring its tests and intervals by simulation (the
validity suite: `benchmarks/bench_validity.py`, fast versions in `tests/test_validity.py`).

Why these shapes: a generated benchmark's questions come in topics (the seed arm a question was generated
from, ~8 per topic at the paper's size), a topic's category is set per topic, a question's region mostly
follows its topic, and models come in families. Each of those makes answers correlated in a way that a test
treating questions (or models) as independent gets wrong. The generator plants each on the logit scale:

    logit P(model m expresses value v on question q) = μ[m, v]                      the model's profile
        + u[topic(q), v]        topic_sd        shared by every model (what makes a topic "about" a value)
        + e[q, v]               question_sd     the question's own pull, shared by every model
        + w[topic(q), m, v]     interaction_sd  the model's own reaction to the topic (clusters contrasts)
        + f[topic(q), family(m), v]   family_topic_sd     a family's shared reaction to the topic
        + g[q, family(m), v]          family_question_sd  and to the question (members alike on these questions
                                                          without alike profiles: issue 36)
        + planted effects (by category, region, language)

Topics hold `per_topic` questions, or a uniform 3–10 (`sizes`) as generated benchmarks do after the gates.

and 0/1 labels are drawn from it, a share `missing` left out at random (the judge gave no label). A model's
true expression rate is E[σ(μ + s·Z)] over that question-level randomness (s² = the three variances summed),
computed by Gauss–Hermite quadrature, so every interval's coverage is of a known number.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Shape:
    """The design of a simulated benchmark (defaults: 4 categories × 40 topics × 8 questions, as in issue 24)."""

    topics: int = 40
    per_topic: int = 8
    categories: int = 4
    values: int = 10
    topic_sd: float = 0.8
    question_sd: float = 0.5
    interaction_sd: float = 0.5
    missing: float = 0.05
    regions: int = 3
    region_share: float = 0.6  # share of questions about some region (the rest: none)
    home_share: float = 0.75  # of those, the share about their topic's home region
    sizes: tuple[int, int] | None = None  # topics of a uniform lo..hi questions (None: per_topic each)
    family_topic_sd: float = 0.0
    family_question_sd: float = 0.0

    @property
    def questions(self) -> int:
        """The number of questions (the expected number when topic sizes vary)."""
        return self.topics * (self.per_topic if self.sizes is None else (self.sizes[0] + self.sizes[1]) // 2)

    @property
    def sd(self) -> float:
        """The standard deviation of the question-level logit noise around a model's profile."""
        return float(np.sqrt(self.topic_sd**2 + self.question_sd**2 + self.interaction_sd**2
                             + self.family_topic_sd**2 + self.family_question_sd**2))

    def with_icc(self, icc: float) -> Shape:
        """The topic effect that makes `icc` the latent intra-topic correlation of a model's answers: topic variance
        over all the logit variance, the logistic's π²/3 included."""
        rest = self.sd**2 - self.topic_sd**2 + np.pi**2 / 3
        return replace(self, topic_sd=float(np.sqrt(icc * rest / (1 - icc))))

    def topic_of_questions(self, rng: np.random.Generator) -> np.ndarray:
        """Each question's topic (0..topics − 1, in order)."""
        if self.sizes is None:
            return np.repeat(np.arange(self.topics), self.per_topic)
        return np.repeat(np.arange(self.topics), rng.integers(self.sizes[0], self.sizes[1] + 1, self.topics))

    def without_topics(self) -> Shape:
        """The same benchmark with independent questions (one per topic): what a test over questions assumes."""
        return replace(self, topics=self.questions, per_topic=1, topic_sd=0.0, interaction_sd=0.0,
                       question_sd=self.sd)


_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(60)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def expected_rate(logit: np.ndarray, sd: float) -> np.ndarray:
    """E[σ(logit + sd·Z)], Z standard normal, elementwise (60-point Gauss–Hermite: exact to ~1e-12 here)."""
    z = np.asarray(logit, float)[..., None] + sd * _NODES
    return (1 / (1 + np.exp(-z))) @ _WEIGHTS


@dataclass
class Sample:
    """One simulated benchmark's labels and the attributes of its questions."""

    x: np.ndarray  # questions × models × values: 0/1, NaN = no label
    topic: np.ndarray  # questions: topic ids ("t0", ...)
    category: np.ndarray  # questions: category (set per topic)
    region: np.ndarray  # questions: region name or None
    models: list[str]
    values: list[str]

    def cube(self) -> Any:
        """As the LabelCube the findings take (topic, category and region as question attributes)."""
        import pandas as pd

        from .cube import LabelCube

        qids = [f"q{k}" for k in range(len(self.x))]
        attrs = pd.DataFrame({"category": self.category, "region": self.region, "topic": self.topic},
                             index=pd.Index(qids, name="question_id"))
        return LabelCube(list(self.models), qids, list(self.values), self.x, attrs)


def model_profiles(rng: np.random.Generator, families: list[int], values: int, *, family_sd: float = 0.5,
                   model_sd: float = 0.3, low: float = 0.2, high: float = 0.6) -> np.ndarray:
    """models × values logit means: a base rate per value (from `low` to `high`), a family effect per (family,
    value) shared by its members, and each model's own offset."""
    base = np.log(np.linspace(low, high, values) / (1 - np.linspace(low, high, values)))
    fam = rng.normal(0, family_sd, (max(families) + 1, values))
    return base + fam[np.asarray(families)] + rng.normal(0, model_sd, (len(families), values))


def _logits(shape: Shape, mu: np.ndarray, rng: np.random.Generator, families: list[int] | None
            ) -> tuple[np.ndarray, np.ndarray]:
    """(question-level logits: questions × models × values, each question's topic)."""
    n_m, n_v = mu.shape
    t = shape.topics
    topic = shape.topic_of_questions(rng)
    n = len(topic)
    logit = (mu[None] + rng.normal(0, shape.topic_sd, (t, 1, n_v))[topic]
             + rng.normal(0, shape.question_sd, (n, 1, n_v))
             + rng.normal(0, shape.interaction_sd, (t, n_m, n_v))[topic])
    if shape.family_topic_sd or shape.family_question_sd:
        fam = np.asarray(families if families is not None else range(n_m))
        n_f = int(fam.max()) + 1
        logit += rng.normal(0, shape.family_topic_sd, (t, n_f, n_v))[topic][:, fam]
        logit += rng.normal(0, shape.family_question_sd, (n, n_f, n_v))[:, fam]
    return logit, topic


def draw(shape: Shape, mu: np.ndarray, rng: np.random.Generator, *, category_effect: np.ndarray | None = None,
         region_effect: np.ndarray | None = None, families: list[int] | None = None) -> Sample:
    """One benchmark's labels for models with logit profiles `mu` (models × values). category_effect:
    categories × models × values added to the logit of a category's questions; region_effect: regions × models ×
    values, added on the questions about that region; `families` (each model's) for the shape's family × topic
    and family × question effects (default: every model its own family)."""
    logit, topic = _logits(shape, mu, rng, families)
    t, n = shape.topics, len(topic)
    n_m, n_v = mu.shape
    cats = rng.permutation(np.arange(t) % shape.categories)[topic]  # balanced categories, set per topic
    if category_effect is not None:
        logit += category_effect[cats]
    home = rng.integers(0, shape.regions, t)[topic]
    about = rng.random(n) < shape.region_share
    region_i = np.where(rng.random(n) < shape.home_share, home, rng.integers(0, shape.regions, n))
    region_i = np.where(about, region_i, -1)
    if region_effect is not None:
        logit += np.where((region_i >= 0)[:, None, None], region_effect[np.maximum(region_i, 0)], 0.0)
    x = (rng.random(logit.shape) < 1 / (1 + np.exp(-logit))).astype(float)
    x[rng.random(x.shape) < shape.missing] = np.nan
    names = np.array([f"r{i}" for i in range(shape.regions)], dtype=object)
    region = np.array([names[r] if r >= 0 else None for r in region_i], dtype=object)
    return Sample(x, np.array([f"t{i}" for i in topic], dtype=object), np.array([f"c{c}" for c in cats], dtype=object),
                  region, [f"m{i}" for i in range(n_m)], [f"v{j}" for j in range(n_v)])


def draw_languages(shape: Shape, mu: np.ndarray, rng: np.random.Generator, *, shift: np.ndarray | None = None,
                   untranslated: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Answers in two languages to the same questions: (en, other, topics), each questions × models × values.
    The question-level effects are the same in both languages (a question and its translation pull alike); the
    answers are drawn independently; `shift` (models × values, logit) moves the second language. A share
    `untranslated` of the questions has no translation (NaN in the second language: a flagged translation)."""
    logit, topic = _logits(shape, mu, rng, None)
    other = logit + (shift if shift is not None else 0.0)
    en = (rng.random(logit.shape) < 1 / (1 + np.exp(-logit))).astype(float)
    xx = (rng.random(other.shape) < 1 / (1 + np.exp(-other))).astype(float)
    for arr in (en, xx):
        arr[rng.random(arr.shape) < shape.missing] = np.nan
    xx[rng.random(len(topic)) < untranslated] = np.nan
    return en, xx, np.array([f"t{i}" for i in topic], dtype=object)


def clustered_scores(rng: np.random.Generator, topics: int, per_topic: int | tuple[int, int], *, mean: float = 0.0,
                     topic_sd: float = 1.0, question_sd: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """Per-question scores (informativeness S, say) of a topic-clustered set: (scores, topics). per_topic: a
    number, or (lo, hi) for topics of a uniform lo..hi questions."""
    sizes = (np.full(topics, per_topic) if isinstance(per_topic, int)
             else rng.integers(per_topic[0], per_topic[1] + 1, topics))
    topic = np.repeat(np.arange(topics), sizes)
    s = mean + rng.normal(0, topic_sd, topics)[topic] + rng.normal(0, question_sd, len(topic))
    return s, np.array([f"t{i}" for i in topic], dtype=object)


def retest_scores(rng: np.random.Generator, topics: int, sizes: tuple[int, int], draws: int, *, icc: float = 0.5,
                  topic_share: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """S of each question on `draws` independent sets of answers (questions × draws) and each question's topic:
    the question's own S (variance `icc`, a share `topic_share` of it the topic's) plus each draw's noise
    (variance 1 − icc), so the true ICC(1) of one draw is `icc`. sizes (1, 1): independent questions."""
    size = rng.integers(sizes[0], sizes[1] + 1, topics)
    topic = np.repeat(np.arange(topics), size)
    own = (rng.normal(0, np.sqrt(icc * topic_share), topics)[topic]
           + rng.normal(0, np.sqrt(icc * (1 - topic_share)), len(topic)))
    x = own[:, None] + rng.normal(0, np.sqrt(1 - icc), (len(topic), draws))
    return x, np.array([f"t{i}" for i in topic], dtype=object)


def judged_texts(rng: np.random.Generator, texts: int, values: int = 10, *, calibrated: bool = False
                 ) -> tuple[np.ndarray, np.ndarray]:
    """A labelled set and a judge's P(yes): (gold texts × values booleans, prob). Most texts express one value
    (5% none, 15% two), as the shipped sets do; the judge is noisy (logit sd 1.2) and more lenient on some
    values than others, so its per-value precision and recall differ. `calibrated`: the gold labels are drawn
    from the judge's P(yes) instead (a perfectly calibrated judge: population ECE 0)."""
    if calibrated:
        prob = 1 / (1 + np.exp(-rng.normal(-1.5, 1.5, (texts, values))))
        return rng.random((texts, values)) < prob, prob
    k = rng.choice([0, 1, 2], texts, p=[0.05, 0.8, 0.15])
    order = np.argsort(rng.random((texts, values)), axis=1)
    gold = np.zeros((texts, values), bool)
    for j in range(2):
        rows = np.flatnonzero(k > j)
        gold[rows, order[rows, j]] = True
    z = np.where(gold, 1.0, -1.5) + np.linspace(-0.8, 0.8, values) + rng.normal(0, 1.2, (texts, values))
    return gold, 1 / (1 + np.exp(-z))


def rated_pairs(rng: np.random.Generator, pairs: int, *, raters: int = 3, shift: float = 0.0, pair_share: float = 0.5,
                noise: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    """A human study: per pair of questions (a baseline and a generated one matched by topic), each question's mean
    rating on a 1–3 scale over `raters` raters: (baseline, generated). The pair shares a share `pair_share` of
    the questions' latent quality (matched topics); `shift` moves the generated questions."""
    shared = rng.normal(0, 0.8, pairs)
    latent = [np.sqrt(pair_share) * shared + np.sqrt(1 - pair_share) * rng.normal(0, 0.8, pairs) + d
              for d in (0.0, shift)]
    return tuple(np.clip(np.round(2 + lat[:, None] + rng.normal(0, noise, (pairs, raters))), 1, 3).mean(axis=1)
                 for lat in latent)


__all__ = ["Sample", "Shape", "clustered_scores", "draw", "draw_languages", "expected_rate", "judged_texts",
           "model_profiles", "rated_pairs", "retest_scores"]
