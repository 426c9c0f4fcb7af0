"""Informativeness S(x) of a question under a pool of models (SPEC §5): pure functions over arrays.

A model's value vector is d independent Bernoulli probabilities (a model may express several values), so
every divergence here is per dimension with binary entropy, summed over dimensions, in nats. Probabilities
are clipped away from 0 and 1 so every term is finite.

    S = w_d · GJS(p_1..p_K)                      distinguishability: the models express different values
      + w_e · (1/K) Σ_i JS(p̂ ‖ p_i)              disentanglement: answers show more than the question's values
      + w_o · (1 − mean cross-model similarity)  opinion difference: the models say different things
      + w_c · mean within-model Jaccard          value conformity: each model's own points agree on values

The disentanglement term is added, as in the paper's objective (its approximate formula subtracts it; the
objective wins, SPEC §5 Decision). The paper's conformity formula is garbled; what is computed here is the
mean pairwise Jaccard similarity of the value sets (label ≥ threshold) of one model's key points, averaged
over models (1.0 for a model with a single point or no values at all in any point).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

EPS = 1e-6


def binary_entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return -(p * np.log(p) + (1 - p) * np.log(1 - p))


def generalized_js(vectors: np.ndarray, weights: np.ndarray | None = None) -> float:
    """GJS_α(p_1..p_K) = Σ_dims [H(Σ α_i p_i) − Σ α_i H(p_i)] for a K × d array of Bernoulli probabilities.

    ≥ 0, 0 when all rows agree, at most min(log K, log 2) per dimension; α uniform by default."""
    p = np.clip(np.asarray(vectors, dtype=float), EPS, 1 - EPS)
    if p.ndim != 2 or p.shape[0] < 2:
        raise ValueError(f"need a K × d array with K ≥ 2 models, got shape {p.shape}")
    alpha = np.full(p.shape[0], 1 / p.shape[0]) if weights is None else np.asarray(weights, float) / np.sum(weights)
    mixture = alpha @ p
    value = float(np.sum(binary_entropy(mixture) - alpha @ binary_entropy(p)))
    return max(value, 0.0)  # clip float error below zero


def js(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen–Shannon divergence of two Bernoulli vectors, summed over dimensions."""
    return generalized_js(np.stack([p, q]))


def disentanglement(question_vector: np.ndarray, vectors: np.ndarray) -> float:
    """(1/K) Σ_i JS(p̂ ‖ p_i): how far the answers' values are from the question's own."""
    return float(np.mean([js(question_vector, v) for v in vectors]))


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return a @ b.T


def opinion_difference(embeddings: list[np.ndarray]) -> float:
    """1 − mean cosine similarity between opinions of different models.

    embeddings: one (n_i × dim) array of opinion embeddings per model. In [0, 2]; 0 when all say the same."""
    sims = []
    for i in range(len(embeddings)):
        for j in range(i + 1, len(embeddings)):
            if len(embeddings[i]) and len(embeddings[j]):
                sims.append(float(np.mean(_cosine(embeddings[i], embeddings[j]))))
    if not sims:
        return 0.0
    return 1.0 - float(np.mean(sims))


def value_conformity(point_vectors: list[np.ndarray], threshold: float = 0.5) -> float:
    """Mean over models of the mean pairwise Jaccard similarity of their points' value sets. In [0, 1]."""
    per_model = []
    for points in point_vectors:
        sets = np.asarray(points) >= threshold
        if len(sets) < 2:
            per_model.append(1.0)
            continue
        scores = []
        for i in range(len(sets)):
            for j in range(i + 1, len(sets)):
                union = np.sum(sets[i] | sets[j])
                scores.append(1.0 if union == 0 else float(np.sum(sets[i] & sets[j]) / union))
        per_model.append(float(np.mean(scores)))
    return float(np.mean(per_model)) if per_model else 1.0


@dataclass(frozen=True)
class Weights:
    distinguishability: float = 1.0
    disentanglement: float = 1.0
    opinion_difference: float = 1.0
    conformity: float = 1.0


@dataclass(frozen=True)
class Informativeness:
    """S and the components behind it, stored with every scored question."""

    score: float
    distinguishability: float
    disentanglement: float
    opinion_difference: float
    conformity: float

    def as_record(self) -> dict[str, float]:
        return asdict(self)


def informativeness(
    vectors: np.ndarray,
    question_vector: np.ndarray,
    embeddings: list[np.ndarray],
    point_vectors: list[np.ndarray],
    weights: Weights = Weights(),
    threshold: float = 0.5,
) -> Informativeness:
    """S(x) from the K models' answer vectors (K × d), the question's own vector (d), each model's opinion
    embeddings and each model's per-point value vectors."""
    parts = {
        "distinguishability": generalized_js(vectors),
        "disentanglement": disentanglement(np.asarray(question_vector, float), np.asarray(vectors, float)),
        "opinion_difference": opinion_difference(embeddings),
        "conformity": value_conformity(point_vectors, threshold),
    }
    score = sum(getattr(weights, name) * value for name, value in parts.items())
    return Informativeness(score=score, **parts)
