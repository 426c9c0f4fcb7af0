"""A study's pre-registered analysis plan: what `annotate results` will compute, fixed when the study is made.

The plan is written into the study at creation with its SHA-256 (printed then, so it can be published before the
first rating) and never changed. `annotate results` and the report compute exactly the plan; a setting given on
the command line that differs from it is a deviation the results name.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from ..errors import ConfigError

WEIGHTS = ("quadratic", "linear", "none")


@dataclass(frozen=True)
class AnalysisPlan:
    resamples: int = 2000  # bootstrap resamples of question pairs for every CI
    permutations: int = 10_000  # random sign vectors of the paired test (exact up to 12 pairs)
    confidence: float = 0.95
    weights: str = "quadratic"  # Cohen's κ weights
    seed: int = 0  # of the bootstrap and the permutations
    min_overlap: int = 10  # questions two raters must share before their κ is computed
    outlier_margin: float = 0.1  # κ gap behind an outlier warning
    check_pass_rate: float | None = None  # raters passing fewer of the attention checks are left out (None: report)

    def as_data(self) -> dict[str, Any]:
        return asdict(self)

    def canonical(self) -> str:
        return json.dumps(self.as_data(), sort_keys=True, separators=(",", ":"))

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical().encode()).hexdigest()

    def describe(self, metrics: list[str], checks: int, practice: int) -> list[str]:
        """The plan in words: what will be computed, in the order `annotate results` prints it."""
        level = f"{self.confidence:.0%}"
        lines = [
            f"Primary outcome, per metric ({', '.join(metrics)}): each question's score is the mean of its raters' "
            f"ratings; each set's mean over its questions with a {level} t interval (questions − 1 df); the relative "
            "gain (generated − baseline) / baseline with a t interval on the log of the ratio, each question pair a "
            "unit.",
            f"Test, per metric: two-sided sign-flip permutation test of the mean within-pair difference "
            f"({self.permutations} random sign vectors, exact up to 12 pairs); p-values also Holm-adjusted over the "
            f"{len(metrics)} metrics.",
            f"Agreement: Cohen's κ ({self.weights} weights) for every two raters over the questions both rated, "
            f"reported only when they share at least {self.min_overlap} questions (else 'too few shared items'), "
            "averaged over those rater pairs; Fleiss' κ and Krippendorff's α (ordinal) over the questions with at "
            "least two ratings, missing ratings left out.",
            f"Outlier raters: flagged when their mean κ with the others is at least {self.outlier_margin} below the "
            "others' mean κ among themselves and a one-sided 95% bootstrap bound of the gap is above 0; only raters "
            f"sharing at least {self.min_overlap} questions with two or more others can be flagged.",
        ]
        if checks:
            rule = (f"raters passing fewer than {self.check_pass_rate:.0%} of the checks they answered are left out of "
                    "every figure" if self.check_pass_rate is not None else "reported per rater; nobody is left out")
            lines.append(f"Attention checks ({checks}): a check is passed when every expected rating is given; {rule}.")
        if practice:
            lines.append(f"Practice items ({practice}) are never counted.")
        return lines


def make_plan(settings: dict[str, Any], where: str = "analysis") -> AnalysisPlan:
    """A plan from a design's `analysis` section (and command-line overrides); ConfigError naming a bad setting."""
    known = {f.name for f in fields(AnalysisPlan)}
    unknown = set(settings) - known
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
    plan = AnalysisPlan(**{k: v for k, v in settings.items() if v is not None or k == "check_pass_rate"})
    check_plan(plan, where)
    return plan


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_plan(plan: AnalysisPlan, where: str = "analysis") -> None:
    if not _whole(plan.resamples) or not 0 <= plan.resamples <= 1_000_000:
        raise ConfigError(f"{where}.resamples: a whole number from 0 to 1,000,000, got {plan.resamples!r}")
    if not _whole(plan.permutations) or not 100 <= plan.permutations <= 10_000_000:
        raise ConfigError(f"{where}.permutations: a whole number from 100 to 10,000,000, got {plan.permutations!r}")
    if isinstance(plan.confidence, bool) or not isinstance(plan.confidence, int | float) \
            or not 0.5 <= plan.confidence < 1:
        raise ConfigError(f"{where}.confidence: a number from 0.5 to below 1, got {plan.confidence!r}")
    if plan.weights not in WEIGHTS:
        raise ConfigError(f"{where}.weights: use {', '.join(WEIGHTS)}; got {plan.weights!r}")
    if not _whole(plan.seed):
        raise ConfigError(f"{where}.seed: a whole number, got {plan.seed!r}")
    if not _whole(plan.min_overlap) or plan.min_overlap < 2:
        raise ConfigError(f"{where}.min_overlap: at least 2 shared questions (κ over one is undefined), got "
                          f"{plan.min_overlap!r}")
    if isinstance(plan.outlier_margin, bool) or not isinstance(plan.outlier_margin, int | float) \
            or not 0 <= plan.outlier_margin <= 2:
        raise ConfigError(f"{where}.outlier_margin: a number from 0 to 2, got {plan.outlier_margin!r}")
    rate = plan.check_pass_rate
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1):
        raise ConfigError(f"{where}.check_pass_rate: a share from 0 to 1 (or null: report only), got {rate!r}")


def plan_from_json(text: str, where: str) -> AnalysisPlan:
    return make_plan(json.loads(text), where)


def deviations(plan: AnalysisPlan, given: dict[str, Any]) -> list[str]:
    """Each setting given (not None) that differs from the plan, in words."""
    out = []
    for key, value in given.items():
        if value is not None and value != getattr(plan, key):
            out.append(f"{key} {value} (the plan: {getattr(plan, key)})")
    return out
