"""Which accepted questions form the benchmark (§3.2: "After expansion, high-score (S) questions form a value
assessment benchmark"): the top fraction by P2 score, or those at or above a minimum, over the run or per arm.

Pure: records in, records out. Every accepted question stays in the run's outputs/benchmark.jsonl with its scores;
the selected ones are written to benchmark.jsonl, each saying how it was selected, and `adaem select` re-selects
from a finished run without any model call."""

from __future__ import annotations

import math
from typing import Any

from ..config import Selection


def select_questions(questions: list[dict[str, Any]], rule: Selection) -> list[dict[str, Any]]:
    """The questions `rule` keeps, in their original order. Top fraction: ceil(fraction × n) per group, at least
    one, best P2 score first (ties: the earlier question); minimum: every question whose P2 score reaches it."""
    groups: dict[str, list[int]] = {}
    for i, q in enumerate(questions):
        groups.setdefault(str(q.get("topic")) if rule.per == "arm" else "", []).append(i)
    keep: set[int] = set()
    for members in groups.values():
        if rule.min_score is not None:
            keep |= {i for i in members if questions[i]["p2_score"] is not None
                     and questions[i]["p2_score"] >= rule.min_score}
            continue
        assert rule.top is not None
        ranked = sorted(members, key=lambda i: (-(questions[i]["p2_score"] if questions[i]["p2_score"] is not None
                                                  else -math.inf), i))
        keep |= set(ranked[: max(1, math.ceil(rule.top * len(members)))])
    return [q for i, q in enumerate(questions) if i in keep]


def selection_note(rule: Selection, accepted: int, selected: int) -> str:
    """How a benchmark was selected, as each of its rows says it."""
    return f"{rule.describe()}: {selected} of {accepted} accepted questions"


__all__ = ["select_questions", "selection_note"]
