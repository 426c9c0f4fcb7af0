"""Labels as the findings read them: a tidy frame of (model, question, value, expressed) rows, and the dense
questions × models × values cube every analysis works on, with each question's attributes (category, region,
topic). Pure data handling, no statistics.

A question's `topic` is the seed topic (the bandit arm) it was generated from: `generate` writes it into
benchmark.jsonl, `evaluate` carries it into every answer record, and the analyses resample topics rather than
questions (`resampling.clusters_of`). A benchmark without topics (a questionnaire, a CSV of questions) has none,
and the analyses then fall back to questions and say so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..resampling import Clusters, clusters_of

ATTRIBUTES = ("category", "region", "topic")


@dataclass(frozen=True)
class LabelCube:
    """Labels as a dense questions × models × values array (NaN = no label) and each question's attributes."""

    models: list[str]
    questions: list[str]
    values: list[str]
    x: np.ndarray  # questions × models × values, in [0, 1] or NaN
    attrs: pd.DataFrame  # index: question ids in cube order; columns: the ATTRIBUTES the labels had

    def attribute(self, column: str) -> np.ndarray:
        """Each question's `column` (object array, None where unknown); ConfigError if no question has one."""
        if column not in self.attrs.columns or self.attrs[column].isna().all():
            raise ConfigError(f"the labels carry no question {column!r}: pass a `{column}` column")
        return self.attrs[column].astype(object).where(self.attrs[column].notna(), None).to_numpy()

    def clusters(self) -> Clusters:
        """The resampling unit of these questions: their topics, or the questions themselves without topics."""
        has = "topic" in self.attrs.columns and self.attrs["topic"].notna().any()
        return clusters_of(self.attribute("topic") if has else None, len(self.questions))

    def subset(self, rows: np.ndarray) -> LabelCube:
        """The cube of some questions (a boolean mask or indices), attributes kept."""
        index = np.arange(len(self.questions))[rows]
        return LabelCube(self.models, [self.questions[i] for i in index], self.values, self.x[index],
                         self.attrs.iloc[index])


Labels: TypeAlias = pd.DataFrame | LabelCube


def tidy_labels(records: Iterable[Mapping[str, Any]], *, threshold: float | None = None) -> pd.DataFrame:
    """Answer records (outputs/answers.jsonl) -> the tidy frame: one row per labelled (model, question, value).

    A record without a vector (a parse failure) and a value the judge could not label give no row. `region` is
    the question's `region`, else its `country`; `topic` the seed topic the question came from (None when the
    benchmark has none: the column is then left out). With `threshold`, a soft label becomes 1 when ≥ threshold (what `evaluate` scores);
    without, soft labels stay probabilities and rates are expected rates."""
    rows = []
    records = list(records)
    topics = any(r.get("topic") is not None for r in records)
    for r in records:
        vector = r.get("vector")
        if not vector or r.get("model") is None or r.get("question_id") is None:
            continue
        region = r.get("region") or r.get("country")
        for value, p in vector.items():
            if p is None:
                continue
            label = float(p >= threshold) if threshold is not None else float(p)
            rows.append((r["model"], r["question_id"], value, label, r.get("category"), region, r.get("topic")))
    frame = pd.DataFrame(rows, columns=["model", "question_id", "value", "expressed", *ATTRIBUTES])
    return frame if topics else frame.drop(columns="topic")


def label_cube(labels: pd.DataFrame, *, models: Sequence[str] | None = None,
               values: Sequence[str] | None = None) -> LabelCube:
    """The tidy frame as a dense cube. Models and values in the order given, else of first appearance;
    questions in order of first appearance. A repeated (model, question, value) is a ConfigError."""
    need = {"model", "question_id", "value", "expressed"}
    if not need <= set(labels.columns):
        raise ConfigError(f"labels need the columns {sorted(need)}; missing {sorted(need - set(labels.columns))}")
    models = list(models) if models is not None else list(pd.unique(labels["model"]))
    values = list(values) if values is not None else list(pd.unique(labels["value"]))
    questions = list(pd.unique(labels["question_id"]))
    qi = pd.Categorical(labels["question_id"], categories=questions).codes
    mi = pd.Categorical(labels["model"], categories=models).codes
    vi = pd.Categorical(labels["value"], categories=values).codes
    keep = (mi >= 0) & (vi >= 0)
    expressed = labels["expressed"].to_numpy(float)
    if np.any((expressed < 0) | (expressed > 1)):
        raise ConfigError("labels: `expressed` must be 0/1 or a probability in [0, 1]")
    flat = (qi[keep].astype(np.int64) * len(models) + mi[keep]) * len(values) + vi[keep]
    if len(flat) and np.bincount(flat, minlength=len(questions) * len(models) * len(values)).max() > 1:
        raise ConfigError("labels: a (model, question_id, value) appears more than once")
    x = np.full(len(questions) * len(models) * len(values), np.nan)
    x[flat] = expressed[keep]
    present = [c for c in ATTRIBUTES if c in labels.columns]
    if present:
        attrs = labels.groupby(qi, sort=True)[present].first()
        attrs.index = pd.Index(questions, name="question_id")
    else:
        attrs = pd.DataFrame(index=pd.Index(questions, name="question_id"))
    return LabelCube(models, questions, values, x.reshape(len(questions), len(models), len(values)), attrs)


def as_cube(labels: Labels) -> LabelCube:
    return labels if isinstance(labels, LabelCube) else label_cube(labels)


__all__ = ["ATTRIBUTES", "LabelCube", "Labels", "as_cube", "label_cube", "tidy_labels"]
