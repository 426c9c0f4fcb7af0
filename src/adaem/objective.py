"""Informativeness S(x) of a question under a pool of models (SPEC §5): pure functions over arrays.

A model's value vector is d independent Bernoulli probabilities (a model may express several values), so
every divergence here is per dimension with binary entropy, in nats. Probabilities are clipped away from 0
and 1 so every term is finite.

    S = w_d · GJS(p_1..p_K)                      distinguishability: the models express different values
      + w_e · (1/K) Σ_i JS(p̂ ‖ p_i)              disentanglement: answers show more than the question's values
      + w_o · (1 − mean cross-model similarity)  opinion difference: the models say different things
      + w_c · mean within-model Jaccard          value conformity: each model's own points agree on values
      + w_h · mean point–question similarity     semantic coherence: the opinions are about the question

Missing is never a number. A label the judge could not give is NaN: it is masked out of that value's
terms (a dimension's GJS is taken over the models that have a label there; a JS term over the dimensions
both sides have), and a divergence over the measured dimensions is scaled to all d of them (d × their mean),
so a judge failure neither lowers nor raises a question's S on average. A component that cannot be measured
at all (conformity without per-point labels, disentanglement without the question's own labels, coherence
without embeddings or likelihoods) is None and does not enter S.

The disentanglement term is added, as in the paper's objective (its approximate formula subtracts it; the
objective wins, SPEC §5 Decision). The paper's conformity formula is garbled; what is computed here is the
mean pairwise Jaccard similarity of the value sets (label ≥ threshold) of one model's key points, over the
dimensions both points have, averaged over the models with at least two points.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

EPS = 1e-6
COMPONENTS = ("distinguishability", "disentanglement", "opinion_difference", "conformity", "coherence")


def binary_entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return -(p * np.log(p) + (1 - p) * np.log(1 - p))


def _gjs_per_dimension(p: np.ndarray) -> np.ndarray:
    """H(mean) − mean H per column over its non-NaN rows (uniform α); NaN for a column with < 2 rows."""
    here = ~np.isnan(p)
    count = here.sum(axis=0)
    q = np.clip(np.where(here, p, 0.0), EPS, 1 - EPS)
    with np.errstate(invalid="ignore", divide="ignore"):
        mixture = np.where(here, q, 0.0).sum(axis=0) / count
        own = np.where(here, binary_entropy(q), 0.0).sum(axis=0) / count
        terms = binary_entropy(np.nan_to_num(mixture, nan=0.5)) - own
    return np.where(count >= 2, np.maximum(terms, 0.0), np.nan)  # clip float error below zero


def _scaled_sum(terms: np.ndarray) -> float | None:
    """Σ over dimensions, the unmeasured ones (NaN) taken at the measured ones' mean: d × mean."""
    measured = terms[~np.isnan(terms)]
    return None if measured.size == 0 else float(terms.size * measured.mean())


def generalized_js(vectors: np.ndarray, weights: np.ndarray | None = None) -> float:
    """GJS_α(p_1..p_K) = Σ_dims [H(Σ α_i p_i) − Σ α_i H(p_i)] for a complete K × d array of Bernoulli
    probabilities. ≥ 0, 0 when all rows agree, at most min(log K, log 2) per dimension; α uniform by default."""
    p = np.clip(np.asarray(vectors, dtype=float), EPS, 1 - EPS)
    if p.ndim != 2 or p.shape[0] < 2:
        raise ValueError(f"need a K × d array with K ≥ 2 models, got shape {p.shape}")
    alpha = np.full(p.shape[0], 1 / p.shape[0]) if weights is None else np.asarray(weights, float) / np.sum(weights)
    mixture = alpha @ p
    value = float(np.sum(binary_entropy(mixture) - alpha @ binary_entropy(p)))
    return max(value, 0.0)


def distinguishability(vectors: np.ndarray) -> float | None:
    """GJS of the models' vectors (K × d, NaN = no label), each dimension over the models labelled there."""
    p = np.asarray(vectors, dtype=float)
    if p.ndim != 2 or p.shape[0] < 2:
        raise ValueError(f"need a K × d array with K ≥ 2 models, got shape {p.shape}")
    return _scaled_sum(_gjs_per_dimension(p))


def js(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen–Shannon divergence of two complete Bernoulli vectors, summed over dimensions."""
    return generalized_js(np.stack([p, q]))


def disentanglement(question_vector: np.ndarray | None, vectors: np.ndarray) -> float | None:
    """(1/K) Σ_i JS(p̂ ‖ p_i): how far the answers' values are from the question's own. Each JS is over the
    dimensions both have; None when the question's own values are unknown."""
    if question_vector is None:
        return None
    qv = np.asarray(question_vector, dtype=float)
    per_model = [_scaled_sum(_gjs_per_dimension(np.stack([qv, v]))) for v in np.asarray(vectors, dtype=float)]
    measured = [x for x in per_model if x is not None]
    return float(np.mean(measured)) if measured else None


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return a @ b.T


def opinion_difference(embeddings: list[np.ndarray]) -> float | None:
    """1 − mean cosine similarity between opinions of different models.

    embeddings: one (n_i × dim) array of opinion embeddings per model. In [0, 2]; 0 when all say the same;
    None when fewer than two models have opinions."""
    sims = []
    for i in range(len(embeddings)):
        for j in range(i + 1, len(embeddings)):
            if len(embeddings[i]) and len(embeddings[j]):
                sims.append(float(np.mean(_cosine(embeddings[i], embeddings[j]))))
    if not sims:
        return None
    return 1.0 - float(np.mean(sims))


def value_conformity(point_vectors: list[np.ndarray], threshold: float = 0.5) -> float | None:
    """Mean over models of the mean pairwise Jaccard similarity of their points' value sets, each pair over
    the dimensions both points have. In [0, 1]; two points with no value at all agree (1.0). None when no
    model has two labelled points (nothing to compare: not measured)."""
    per_model = []
    for points in point_vectors:
        p = np.asarray(points, dtype=float)
        scores = []
        for i in range(len(p)):
            for j in range(i + 1, len(p)):
                both = ~np.isnan(p[i]) & ~np.isnan(p[j])
                if not both.any():
                    continue
                a, b = p[i][both] >= threshold, p[j][both] >= threshold
                union = np.sum(a | b)
                scores.append(1.0 if union == 0 else float(np.sum(a & b) / union))
        if scores:
            per_model.append(float(np.mean(scores)))
    return float(np.mean(per_model)) if per_model else None


def coherence_similarity(question_embedding: np.ndarray, embeddings: list[np.ndarray]) -> float | None:
    """Mean over models of the mean cosine similarity of each of its opinion points to the question."""
    q = np.asarray(question_embedding, dtype=float).reshape(1, -1)
    per_model = [float(np.mean(_cosine(np.asarray(e, float), q))) for e in embeddings if len(e)]
    return float(np.mean(per_model)) if per_model else None


def coherence_likelihood(mean_logprobs: list[float | None]) -> float | None:
    """Mean over models of the per-token likelihood of its opinion given the question, exp(mean log p(y|x))
    (the geometric-mean token probability, in (0, 1]); models without log-probabilities are left out."""
    measured = [float(np.exp(x)) for x in mean_logprobs if x is not None and np.isfinite(x)]
    return float(np.mean(measured)) if measured else None


@dataclass(frozen=True)
class Weights:
    distinguishability: float = 1.0
    disentanglement: float = 1.0
    opinion_difference: float = 1.0
    conformity: float = 1.0
    coherence: float = 1.0


@dataclass(frozen=True)
class Informativeness:
    """S and the components behind it, stored with every scored question. None: not measured."""

    score: float
    distinguishability: float | None
    disentanglement: float | None
    opinion_difference: float | None
    conformity: float | None
    coherence: float | None = None

    def as_record(self) -> dict[str, float | None]:
        return asdict(self)


def informativeness(
    vectors: np.ndarray,
    question_vector: np.ndarray | None,
    embeddings: list[np.ndarray] | None,
    *,
    point_vectors: list[np.ndarray] | None = None,
    question_embedding: np.ndarray | None = None,
    likelihoods: list[float | None] | None = None,
    weights: Weights = Weights(),
    threshold: float = 0.5,
) -> Informativeness:
    """S(x) from the K models' answer vectors (K × d, NaN = no label), the question's own vector (d, NaN = no
    label; None = unknown), each model's opinion embeddings and, where measured, each model's per-point value
    vectors (conformity), the question's embedding (coherence by similarity) or each model's mean token
    log-probability of its opinion (coherence by likelihood, which wins when given). No embeddings (answers in a
    language the embedding model does not read): opinion difference and coherence by similarity are unmeasured."""
    if likelihoods is not None:
        coherence = coherence_likelihood(likelihoods)
    elif question_embedding is not None and embeddings is not None:
        coherence = coherence_similarity(question_embedding, embeddings)
    else:
        coherence = None
    parts = {
        "distinguishability": distinguishability(vectors),
        "disentanglement": disentanglement(question_vector, vectors),
        "opinion_difference": None if embeddings is None else opinion_difference(embeddings),
        "conformity": None if point_vectors is None else value_conformity(point_vectors, threshold),
        "coherence": coherence,
    }
    score = sum(getattr(weights, name) * value for name, value in parts.items() if value is not None)
    return Informativeness(score=float(score), **parts)
