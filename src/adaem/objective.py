"""Informativeness S(x) of a question under a pool of models (SPEC §5): pure functions over arrays.

A model's value vector is d independent Bernoulli probabilities (a model may express several values), so
every divergence here is per dimension with binary entropy, in nats. Probabilities are clipped away from 0
and 1 so every term is finite.

    S = w_d · GJS(p_1..p_K)                      distinguishability: the models express different values
      + w_e · (1/K) Σ_i JS(p̂ ‖ p_i)              disentanglement: answers show more than the question's values
      + w_o · (1 − mean cross-model similarity)  opinion difference: the models say different things
      + w_c · mean over points of max_v p(v|o)   value conformity: the opinions clearly express values
      + w_h · mean point–question similarity     semantic coherence: the opinions are about the question

That is Eq. 1 with Eq. 2's terms (the default, `generation.objective: eq1`). `c3_informativeness` is the authors'
approximate score of Appendix C.3 (`generation.objective: c3`), for reproducing their numbers.

Missing is never a number. A label the judge could not give is NaN: it is masked out of that value's
terms (a dimension's GJS is taken over the models that have a label there; a JS term over the dimensions
both sides have), and a divergence over the measured dimensions is scaled to all d of them (d × their mean),
so a judge failure neither lowers nor raises a question's S on average. A component that cannot be measured
at all (conformity without per-point labels, disentanglement without the question's own labels, coherence
without embeddings or likelihoods) is None and does not enter S.

The disentanglement term is added, as in the paper's objective (its approximate formula subtracts it; the
objective wins, SPEC §5 Decision). Value conformity is Eq. 2's log p_i(v|y): the opinions should be "closely
connected to these potential values, rather than value-irrelevant" (§3.2). Per opinion point, how clearly it
expresses the value it expresses most, max_v P(v | point); averaged over a model's points, then over models.
In [0, 1]: 0 when no point expresses any value, 1 when every point clearly expresses one. With binary labels it
is the share of points that express at least one value. The probability, not its log: one value-free point
(p → 0) would otherwise pull S towards −∞.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = 1e-6
COMPONENTS = ("distinguishability", "disentanglement", "opinion_difference", "conformity", "coherence")
C3_COMPONENTS = ("value_conformity", "value_diversity", "opinion_diversity", "disentanglement")


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


def value_conformity(point_vectors: list[np.ndarray]) -> float | None:
    """Mean over models of the mean over their points of max_v P(v | point): how clearly the opinions express
    values (Eq. 2's value conformity). In [0, 1]; a value-free point scores 0, a point that surely expresses a
    value 1. Unlabelled values (NaN) are left out of a point's max; a point with no label at all is left out;
    None when no model has a labelled point (not measured)."""
    per_model = []
    for points in point_vectors:
        p = np.asarray(points, dtype=float)
        if p.ndim != 2 or p.size == 0:
            continue
        labelled = ~np.isnan(p).all(axis=1)
        if labelled.any():
            per_model.append(float(np.nanmax(p[labelled], axis=1).mean()))
    return float(np.mean(per_model)) if per_model else None


def joint_log_conformity(vectors: np.ndarray) -> float | None:
    """Appendix I's exact value conformity, log p_i(v|y) = log Π_j p(v_j | y), with p(v_j | y) the judge's P(yes)
    for value j ("the joint value probability", I.2), per model, averaged over models. Each P(yes) is clipped at
    1e-6 (log ≥ −13.8 per value) so a value the answer does not express keeps the term finite; a value the judge
    could not label is left out and the sum taken as d × the mean over the labelled ones. ≤ 0; it is highest for an
    answer that expresses every value, which is why it is not adaem's default (README, "S, term by term")."""
    per_model = []
    for v in np.asarray(vectors, dtype=float):
        logs = np.where(np.isnan(v), np.nan, np.log(np.clip(v, EPS, 1.0)))
        total = _scaled_sum(logs)
        if total is not None:
            per_model.append(total)
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
    """S and the components behind it, stored with every scored question. None: not measured. `form` says which
    objective computed it (eq1: Eq. 1 with Eq. 2's terms; c3: Appendix C.3's approximate score), `merge` how the
    opinions' labels were merged into the value vectors it used."""

    score: float
    components: dict[str, float | None]
    form: str = "eq1"
    merge: str = "noisy-or"

    def __getattr__(self, name: str) -> float | None:
        components = self.__dict__.get("components") or {}
        if name in components:
            return components[name]
        raise AttributeError(name)

    def as_record(self) -> dict[str, float | None]:
        """S and its components (numbers; `form` and `merge` are recorded beside them by the caller)."""
        return {"score": self.score, **self.components}


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
    conformity: str = "max-point",
) -> Informativeness:
    """S(x) from the K models' answer vectors (K × d, NaN = no label), the question's own vector (d, NaN = no
    label; None = unknown), each model's opinion embeddings and, where measured, each model's per-point value
    vectors (conformity), the question's embedding (coherence by similarity) or each model's mean token
    log-probability of its opinion (coherence by likelihood, which wins when given). No embeddings (answers in a
    language the embedding model does not read): opinion difference and coherence by similarity are unmeasured.
    `conformity`: max-point (adaem's reading of Eq. 2, from the per-point vectors) or joint-log (Appendix I's exact
    log Π_j p(v_j | y), from the answers' vectors)."""
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
        "conformity": joint_log_conformity(vectors) if conformity == "joint-log"
        else None if point_vectors is None else value_conformity(point_vectors),
        "coherence": coherence,
    }
    score = sum(getattr(weights, name) * value for name, value in parts.items() if value is not None)
    return Informativeness(score=float(score), components=parts)


# -- Appendix C.3: the authors' approximate score -------------------------------------------------------------
def _label_set(vector: np.ndarray, threshold: float) -> set[int]:
    return {i for i, p in enumerate(np.asarray(vector, dtype=float)) if not np.isnan(p) and p >= threshold}


def c3_value_conformity(point_vectors: list[np.ndarray], threshold: float = 0.5) -> float | None:
    """R_VC = |v¹ ∪ … ∪ v^L| / max(1, |v¹ ∩ … ∩ v^L|) over one model's opinions' label sets, averaged over models.
    The appendix prints min(1, |∩|) in the denominator, which would divide by zero whenever the opinions share no
    value; max(1, ·) is the reading that keeps it defined. In [0, d]."""
    per_model = []
    for points in point_vectors:
        sets = [_label_set(p, threshold) for p in np.asarray(points, dtype=float) if not np.isnan(p).all()]
        if sets:
            per_model.append(len(set.union(*sets)) / max(1, len(set.intersection(*sets))))
    return float(np.mean(per_model)) if per_model else None


def c3_value_diversity(vectors: np.ndarray, threshold: float = 0.5) -> float | None:
    """R_VD as Appendix C.3 prints it: "R_VD(V) = Σ_{v_i ∈ V} Σ_{v_j ∈ V, i ≠ j} D_jaccard(v_i, v_j)", a sum over
    ordered pairs of models, so it grows as K(K − 1) (12 pairs for 4 models, 72 for the paper's 9 scorers), which
    is what puts the authors' S on Table 13's 3.07–9.31. D_jaccard is read as the Jaccard distance
    1 − |v_i ∩ v_j| / max(1, |v_i ∪ v_j|): the printed fraction is garbled, and a distance is what "we hope to
    maximize the differences in the value dimensions" asks. In [0, K(K − 1)]."""
    sets = [_label_set(v, threshold) for v in np.asarray(vectors, dtype=float)]
    ordered = [1 - len(a & b) / max(1, len(a | b)) for i, a in enumerate(sets) for j, b in enumerate(sets) if i != j]
    return float(np.sum(ordered)) if ordered else None


def c3_disentanglement(question_vector: np.ndarray | None, vectors: np.ndarray, threshold: float = 0.5) -> float | None:
    """R_Dis = |v_opinion − v_question|: the L1 distance (number of values on which they differ) between each
    model's answer labels and the question's own, over the values both have, averaged over models. None when the
    question's values are unknown."""
    if question_vector is None:
        return None
    q = np.asarray(question_vector, dtype=float)
    per_model = []
    for v in np.asarray(vectors, dtype=float):
        both = ~np.isnan(q) & ~np.isnan(v)
        if both.any():
            per_model.append(float(np.sum((q[both] >= threshold) != (v[both] >= threshold))))
    return float(np.mean(per_model)) if per_model else None


def c3_informativeness(vectors: np.ndarray, question_vector: np.ndarray | None, embeddings: list[np.ndarray] | None,
                       point_vectors: list[np.ndarray] | None, threshold: float = 0.5) -> Informativeness:
    """Appendix C.3's approximate score, S = R_VC + R_VD + R_OD − ½ R_Dis, from binary label sets (labels ≥
    threshold) and the opinions' embeddings (R_OD is `opinion_difference`, all-MiniLM-L6-v2 cosine where the
    authors used BERTScore). Offered to reproduce the authors' numbers; note that it subtracts the disentanglement
    that Eq. 1 adds (SPEC §5). A term that cannot be measured is None and left out."""
    parts = {
        "value_conformity": None if point_vectors is None else c3_value_conformity(point_vectors, threshold),
        "value_diversity": c3_value_diversity(vectors, threshold),
        "opinion_diversity": None if embeddings is None else opinion_difference(embeddings),
        "disentanglement": c3_disentanglement(question_vector, vectors, threshold),
    }
    sign = {"disentanglement": -0.5}
    score = sum(sign.get(name, 1.0) * value for name, value in parts.items() if value is not None)
    return Informativeness(score=float(score), components=parts, form="c3", merge="or")


# -- the E-step: which of a model's N sampled answers to keep (Eq. 2, Appendix D) ----------------------------
@dataclass(frozen=True)
class Candidate:
    """One sampled answer of one model, as Eq. 2 sees it: its value vector (d, NaN = no label), its points' labels
    (n × d, with `unit: opinion`; else None) and its points' embeddings (n × dim; None when not measured)."""

    vector: np.ndarray
    points: np.ndarray | None = None
    embeddings: np.ndarray | None = None


def _bernoulli_kl(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    p, q = np.clip(p, EPS, 1 - EPS), np.clip(q, EPS, 1 - EPS)
    return p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))


def opinion_score(candidate: Candidate, others: list[Candidate], question_embedding: np.ndarray | None,
                  weights: Weights = Weights()) -> float:
    """Eq. 2 for one model's answer y given the other models' kept answers, black-box (§3.2): value conformity
    (how clearly its points express values), value difference (Σ_v KL(p_i ‖ p_M), p_M the mixture of every
    model's vector: −log p_M(v|y) made a divergence), semantic coherence (mean cosine of its points to the
    question) and semantic difference (1 − mean cosine of its points to the other models' points), each weighted
    like its counterpart in S (conformity, distinguishability, coherence, opinion difference). Unmeasured terms
    add nothing."""
    points = candidate.points if candidate.points is not None else np.asarray(candidate.vector, float)[None, :]
    terms: list[tuple[float, float | None]] = [(weights.conformity, value_conformity([points]))]
    stack = np.array([np.asarray(c.vector, float) for c in [candidate, *others]])
    mixture = np.nanmean(stack, axis=0) if len(stack) > 1 else None
    if mixture is not None:
        own = np.asarray(candidate.vector, float)
        both = ~np.isnan(own) & ~np.isnan(mixture)
        kl = np.where(both, _bernoulli_kl(np.nan_to_num(own), np.nan_to_num(mixture)), np.nan)
        terms.append((weights.distinguishability, _scaled_sum(kl)))
    if candidate.embeddings is not None and len(candidate.embeddings):
        if question_embedding is not None:
            terms.append((weights.coherence, coherence_similarity(question_embedding, [candidate.embeddings])))
        rest = [c.embeddings for c in others if c.embeddings is not None and len(c.embeddings)]
        if rest:
            terms.append((weights.opinion_difference, opinion_difference([candidate.embeddings, np.vstack(rest)])))
    return float(sum(w * v for w, v in terms if v is not None))


def select_opinions(candidates: list[list[Candidate]], question_embedding: np.ndarray | None,
                    weights: Weights = Weights(), rounds: int = 3) -> tuple[list[int], list[list[float]]]:
    """The E-step with N samples per model (Appendix D: per model, the sample with the highest Eq. 2 score given
    the others): coordinate ascent from every model's first sample, each model in turn taking its best sample
    given the others' current choice, until no choice changes (at most `rounds` sweeps; ties keep the earlier
    sample, so one sample per model is the paper's N = 1 exactly). Returns (kept index per model, every sample's
    score at the final sweep)."""
    kept = [0] * len(candidates)
    scores: list[list[float]] = [[0.0] * len(c) for c in candidates]
    for _ in range(rounds):
        changed = False
        for i, samples in enumerate(candidates):
            others = [candidates[j][kept[j]] for j in range(len(candidates)) if j != i]
            scores[i] = [opinion_score(c, others, question_embedding, weights) for c in samples]
            best = int(np.argmax(scores[i]))
            if scores[i][best] > scores[i][kept[i]]:
                kept[i], changed = best, True
        if not changed:
            break
    return kept, scores
