"""Scoring one question under a pool (SPEC §5): every model's opinion, the judge's labels, S with its components.

Used by the search loop of `adaem generate` (P1 and P2 scores) and by `adaem compare` (S of question sets)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .config import RunConfig
from .errors import OutputParseError
from .judge import label_text, merge_or
from .measure import Answer, embed, measure_answer
from .models import GenerateConfig, ModelPool
from .objective import Candidate, Informativeness, Weights, c3_informativeness, informativeness, select_opinions
from .theories import Theory


@dataclass
class Scored:
    """A question scored under a pool: S with its components and the answers behind it."""

    text: str
    models: list[str]
    informativeness: Informativeness | None
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    question_vector: dict[str, float] | None = None  # None: the judge could not label the question at all
    problem: str | None = None
    labels_missing: int = 0  # values the judge could not label, answers and question together (masked out of S)
    coherence_method: str = "embedding"
    conformity_method: str = "max-point"  # eq1's value conformity reading (generation.conformity)

    @property
    def score(self) -> float:
        return self.informativeness.score if self.informativeness else float("-inf")

    def as_record(self) -> dict[str, Any]:
        return {"models": self.models, "score": None if self.informativeness is None else self.score,
                "components": None if self.informativeness is None else self.informativeness.as_record(),
                "objective": None if self.informativeness is None else self.informativeness.form,
                "merge": None if self.informativeness is None else self.informativeness.merge,
                "answers": self.answers, "question_vector": self.question_vector, "problem": self.problem,
                "labels_missing": self.labels_missing, "coherence_method": self.coherence_method,
                **({"conformity_method": self.conformity_method} if self.conformity_method != "max-point" else {})}


def draw_seed(seed: int | None, draw: int) -> int | None:
    """The sampling seed of the `draw`-th independent set of answers. Draw 0 is the configured seed (so earlier
    runs' caches still answer); later draws need a seed of their own even when none is configured, or the cache,
    keyed on the sampling settings, would hand back draw 0's answers."""
    return seed if draw == 0 else (seed or 0) + 1_000_003 * draw


def value_array(values: Mapping[str, float | None], dims: list[str]) -> np.ndarray:
    """A value vector as floats, NaN where the judge gave no label."""
    return np.array([np.nan if values.get(d) is None else values[d] for d in dims], dtype=float)


def sample_seed(seed: int | None, draw: int, sample: int) -> int | None:
    """The sampling seed of the `sample`-th of the E-step's N answers in draw `draw`: sample 0 is the draw's own
    seed (so N = 1 asks exactly what it always did), later samples seeds of their own."""
    base = draw_seed(seed, draw)
    return base if sample == 0 else (base or 0) + 7_919 * sample


def _answer_record(a: Answer, likelihood: bool) -> dict[str, Any]:
    return {"stance": a.opinion.stance, "points": [asdict(p) for p in a.opinion.points], "vector": a.vector,
            "soft_vector": a.soft_vector, "attempts": a.opinion.attempts,
            **({"mean_logprob": a.opinion.mean_logprob} if likelihood else {})}


async def score_question(pool: ModelPool, config: RunConfig, theory: Theory, encoder: Any, text: str,
                         models: list[str], *, role: str = "explorer", draw: int = 0, language: str = "en") -> Scored:
    """Informativeness S of one question under a pool (SPEC §5): every model's opinion, the judge's labels,
    S with its components. Fewer than two usable answers: no score, with the reason. `draw` > 0 asks for a
    fresh, independent set of answers (another sampling seed), to measure how much of S is the question's.
    With generation.opinion_samples N > 1 each model answers N times and the E-step keeps, per model, the answer
    with the highest Eq. 2 score given the others' (`objective.select_opinions`); every sample is recorded.
    Which components are measured: distinguishability and opinion difference always; disentanglement when
    the judge could label the question; conformity with evaluation.unit=opinion; coherence by embedding
    always, by likelihood where the respondents' backends give log-probabilities. In another `language` than
    English the answers are asked in it, and the embedding components (opinion difference, coherence by
    similarity) are unmeasured: the embedding model reads English only. S's value vectors are the soft
    noisy-OR of the opinions' labels (a probability, which S needs; recorded as `merge`); generation.objective
    c3 takes binary label sets instead."""
    ev, gen = config.evaluation, config.generation
    judge = pool.get(config.roles.judge)
    likelihood = gen.coherence == "likelihood"
    english = language == "en"

    async def one(name: str, sample: int) -> Answer | str:
        sampling = GenerateConfig(temperature=config.sampling.temperature, top_p=config.sampling.top_p,
                                  seed=sample_seed(config.sampling.seed, draw, sample))
        try:
            return await measure_answer(pool.get(name), judge, theory, text, ev, sampling=sampling, role=role,
                                        encoder=encoder, logprobs=likelihood, language=language,
                                        prompts=config.prompts)
        except OutputParseError as exc:
            return f"{name}: {exc}"

    async def samples(name: str) -> list[Answer | str]:
        return list(await asyncio.gather(*(one(name, k) for k in range(gen.opinion_samples))))

    async def question_labels() -> dict[str, float] | None:
        try:
            return (await label_text(judge, theory, text, ev.protocol, calibration=ev.calibration,
                                     threshold=ev.threshold, prompt=ev.judge_prompt)).values
        except OutputParseError:  # the question's own values unknown: disentanglement is not measured
            return None

    drawn, question_values = await asyncio.gather(asyncio.gather(*(samples(m) for m in models)), question_labels())
    dims = theory.ids
    usable_samples = {m: [a for a in group if isinstance(a, Answer)] for m, group in zip(models, drawn, strict=True)}
    usable_samples = {m: group for m, group in usable_samples.items() if group}
    question_embedding = None
    point_embeddings: dict[tuple[str, int], np.ndarray] = {}
    if english and usable_samples:
        texts = [text, *(p.text for group in usable_samples.values() for a in group for p in a.opinion.points)]
        encoded = await embed(encoder, texts)
        question_embedding, at = encoded[0], 1
        for m, group in usable_samples.items():
            for k, a in enumerate(group):
                point_embeddings[(m, k)] = encoded[at:at + len(a.opinion.points)]
                at += len(a.opinion.points)
    kept_index = {m: 0 for m in usable_samples}
    e_step: dict[str, list[float]] = {}
    if gen.opinion_samples > 1 and len(usable_samples) >= 2:
        names = list(usable_samples)
        candidates = [[Candidate(value_array(a.soft_vector, dims),
                                 np.array([value_array(lab.values, dims) for lab in a.point_labels])
                                 if ev.unit == "opinion" else None, point_embeddings.get((m, k)))
                       for k, a in enumerate(usable_samples[m])] for m in names]
        chosen, scores = select_opinions(candidates, question_embedding, Weights(**gen.weights))
        kept_index = dict(zip(names, chosen, strict=True))
        e_step = dict(zip(names, scores, strict=True))
    usable = {m: usable_samples[m][kept_index[m]] for m in models if m in usable_samples}
    answers: dict[str, dict[str, Any]] = {}
    for m, asked in zip(models, drawn, strict=True):
        if m not in usable:
            answers[m] = {"parse_failure": next(a for a in asked if isinstance(a, str))}
            continue
        answers[m] = _answer_record(usable[m], likelihood)
        if gen.opinion_samples > 1:
            answers[m]["samples"] = [_answer_record(a, likelihood) if isinstance(a, Answer) else {"parse_failure": a}
                                     for a in asked]
            answers[m]["kept_sample"] = asked.index(usable[m])
            if m in e_step:
                answers[m]["e_step_scores"] = e_step[m]
    missing = sum(a.missing for a in usable.values())
    missing += len(dims) if question_values is None else sum(d not in question_values for d in dims)
    scored = Scored(text, models, None, answers, question_values, labels_missing=missing,
                    coherence_method=gen.coherence, conformity_method=gen.conformity)
    if len(usable) < 2:
        scored.problem = f"only {len(usable)} of {len(models)} models gave a usable answer"
        return scored
    qvec = None if question_values is None else value_array(question_values, dims)
    embeddings = [point_embeddings[(m, kept_index[m])] for m in usable] if english else None
    point_vectors = None
    if ev.unit == "opinion":
        point_vectors = [np.array([value_array(lab.values, dims) for lab in a.point_labels]) for a in usable.values()]
    if gen.objective == "c3":
        binary = np.array([value_array(a.vector if ev.merge == "or" else
                                       merge_or([lab.values for lab in a.point_labels], dims, ev.threshold, "or"),
                                       dims) for a in usable.values()])
        scored.informativeness = c3_informativeness(binary, qvec, embeddings, point_vectors, ev.threshold)
        return scored
    vectors = np.array([value_array(a.soft_vector, dims) for a in usable.values()])
    scored.informativeness = informativeness(
        vectors, qvec, embeddings, point_vectors=point_vectors, question_embedding=question_embedding,
        likelihoods=[a.opinion.mean_logprob for a in usable.values()] if likelihood else None,
        weights=Weights(**gen.weights), threshold=ev.threshold, conformity=gen.conformity)
    return scored


__all__ = ["Scored", "draw_seed", "sample_seed", "score_question", "value_array"]
