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
from .judge import label_text
from .measure import Answer, embed, measure_answer
from .models import GenerateConfig, ModelPool
from .objective import Informativeness, Weights, informativeness
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

    @property
    def score(self) -> float:
        return self.informativeness.score if self.informativeness else float("-inf")

    def as_record(self) -> dict[str, Any]:
        return {"models": self.models, "score": None if self.informativeness is None else self.score,
                "components": None if self.informativeness is None else self.informativeness.as_record(),
                "answers": self.answers, "question_vector": self.question_vector, "problem": self.problem,
                "labels_missing": self.labels_missing, "coherence_method": self.coherence_method}


def draw_seed(seed: int | None, draw: int) -> int | None:
    """The sampling seed of the `draw`-th independent set of answers. Draw 0 is the configured seed (so earlier
    runs' caches still answer); later draws need a seed of their own even when none is configured, or the cache,
    keyed on the sampling settings, would hand back draw 0's answers."""
    return seed if draw == 0 else (seed or 0) + 1_000_003 * draw


def value_array(values: Mapping[str, float | None], dims: list[str]) -> np.ndarray:
    """A value vector as floats, NaN where the judge gave no label."""
    return np.array([np.nan if values.get(d) is None else values[d] for d in dims], dtype=float)


async def score_question(pool: ModelPool, config: RunConfig, theory: Theory, encoder: Any, text: str,
                         models: list[str], *, role: str = "explorer", draw: int = 0, language: str = "en") -> Scored:
    """Informativeness S of one question under a pool (SPEC §5): every model's opinion, the judge's labels,
    S with its components. Fewer than two usable answers: no score, with the reason. `draw` > 0 asks for a
    fresh, independent set of answers (another sampling seed), to measure how much of S is the question's.
    Which components are measured: distinguishability and opinion difference always; disentanglement when
    the judge could label the question; conformity with evaluation.unit=opinion; coherence by embedding
    always, by likelihood where the respondents' backends give log-probabilities. In another `language` than
    English the answers are asked in it, and the embedding components (opinion difference, coherence by
    similarity) are unmeasured: the embedding model reads English only."""
    ev, gen = config.evaluation, config.generation
    judge = pool.get(config.roles.judge)
    sampling = GenerateConfig(temperature=config.sampling.temperature, top_p=config.sampling.top_p,
                              seed=draw_seed(config.sampling.seed, draw))
    likelihood = gen.coherence == "likelihood"

    async def one(name: str) -> Answer | str:
        try:
            return await measure_answer(pool.get(name), judge, theory, text, ev, sampling=sampling, role=role,
                                        encoder=encoder, logprobs=likelihood, language=language)
        except OutputParseError as exc:
            return f"{name}: {exc}"

    async def question_labels() -> dict[str, float] | None:
        try:
            return (await label_text(judge, theory, text, ev.protocol, calibration=ev.calibration,
                                     threshold=ev.threshold)).values
        except OutputParseError:  # the question's own values unknown: disentanglement is not measured
            return None

    results, question_values = await asyncio.gather(asyncio.gather(*(one(m) for m in models)), question_labels())
    dims = theory.ids
    usable = {m: a for m, a in zip(models, results, strict=True) if isinstance(a, Answer)}
    answers = {m: ({"stance": a.opinion.stance, "points": [asdict(p) for p in a.opinion.points],
                    "vector": a.vector, "attempts": a.opinion.attempts,
                    **({"mean_logprob": a.opinion.mean_logprob} if likelihood else {})}
                   if isinstance(a, Answer) else {"parse_failure": a})
               for m, a in zip(models, results, strict=True)}
    missing = sum(a.missing for a in usable.values())
    missing += len(dims) if question_values is None else sum(d not in question_values for d in dims)
    scored = Scored(text, models, None, answers, question_values, labels_missing=missing,
                    coherence_method=gen.coherence)
    if len(usable) < 2:
        scored.problem = f"only {len(usable)} of {len(models)} models gave a usable answer"
        return scored
    vectors = np.array([value_array(a.vector, dims) for a in usable.values()])
    qvec = None if question_values is None else value_array(question_values, dims)
    points = [[p.text for p in a.opinion.points] for a in usable.values()]
    embeddings: list[np.ndarray] | None = None
    question_embedding = None
    if language == "en":
        encoded = await embed(encoder, [text, *(t for group in points for t in group)])
        bounds = np.cumsum([1, *(len(g) for g in points)])
        embeddings = [encoded[bounds[i]:bounds[i + 1]] for i in range(len(points))]
        question_embedding = encoded[0]
    point_vectors = None
    if ev.unit == "opinion":
        point_vectors = [np.array([value_array(lab.values, dims) for lab in a.point_labels]) for a in usable.values()]
    scored.informativeness = informativeness(
        vectors, qvec, embeddings, point_vectors=point_vectors, question_embedding=question_embedding,
        likelihoods=[a.opinion.mean_logprob for a in usable.values()] if likelihood else None,
        weights=Weights(**gen.weights), threshold=ev.threshold)
    return scored


__all__ = ["Scored", "draw_seed", "score_question", "value_array"]
