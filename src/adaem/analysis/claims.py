"""How a finding is said: its p-values, the correction that decides which pass, and the sentence.

Every findings result (`findings_models`, `findings_questions`) lists the tests it made (`pvalues()`: one p-value
per test, NaN when not testable) and states its claim from adjusted p-values (`conclude(p_adj, alpha, how)`). A
result made alone adjusts over its own tests (Holm for a few values, Benjamini–Hochberg for many cells); a
findings report adjusts once over every test it holds (`adjust_report`), so the report's claims, not each
analysis's, keep the stated error rate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from ..resampling import CORRECTION_NAMES, Correction, adjust_pvalues

Metadata = Mapping[str, Mapping[str, Any]]


class Concludes(Protocol):
    claim: str | None
    not_shown: str | None

    def pvalues(self) -> np.ndarray: ...

    def conclude(self, p_adj: np.ndarray, alpha: float, how: str) -> None: ...


def fmt_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def plural(word: str) -> str:
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


def meta_value(meta: Metadata | None, model: str, key: str) -> Any:
    """A model's fact, None when unknown (missing, None or NaN)."""
    value = (meta or {}).get(model, {}).get(key)
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def conclude_alone(result: Concludes, alpha: float, correction: Correction) -> None:
    """A result made on its own: adjusted over its own tests."""
    p = result.pvalues()
    tested = int(np.isfinite(p).sum())
    result.conclude(adjust_pvalues(p, correction), alpha, f"{CORRECTION_NAMES[correction]} over its {tested} tests")


def adjust_report(results: Sequence[Concludes], alpha: float, correction: Correction = "bh") -> dict[str, Any]:
    """One correction over every test of a findings report, each result's claim then restated from it.

    Benjamini–Hochberg by default: a report holds hundreds of tests (values × cells × regions), a family-wise
    correction over all of them would leave almost nothing detectable, and the question a reader asks of a
    report is how many of its claims are false: BH keeps that share at most `alpha` in expectation. Returns what
    the report says of it (method, number of tests)."""
    pieces = [np.atleast_1d(np.asarray(r.pvalues(), float)) for r in results]
    flat = np.concatenate(pieces) if pieces else np.zeros(0)
    adjusted = adjust_pvalues(flat, correction)
    tested = int(np.isfinite(flat).sum())
    how = f"{CORRECTION_NAMES[correction]} over all {tested} tests of this report"
    start = 0
    for r, piece in zip(results, pieces, strict=True):
        r.conclude(adjusted[start:start + len(piece)], alpha, how)
        start += len(piece)
    return {"correction": CORRECTION_NAMES[correction], "tests": tested, "alpha": alpha,
            "controls": "false discovery rate" if correction == "bh" else "family-wise error rate"}


__all__ = ["Concludes", "Metadata", "adjust_report", "conclude_alone", "fmt_p", "meta_value", "plural"]
