"""A study's design, as data: what raters rate (a scale and metrics with their definitions and worked examples per
scale point), the instructions they read first, optional practice items (not counted) and attention-check items
(with the answer expected), and the settings of the pre-registered analysis. metrics.yaml ships the paper's three
metrics with instructions and examples; a user's own file has the same shape (every section but `scale` and
`metrics` optional). Anything wrong in it is one ConfigError naming the field.

Instructions, examples and practice feedback are Markdown: `markdown_tree` turns them into a tree of a few safe
elements that the rating page builds with textContent (raw HTML in the Markdown is shown as text, never parsed).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError

_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass(frozen=True)
class Metric:
    key: str
    name: str
    definition: str
    examples: dict[int, str] = field(default_factory=dict)  # scale point -> Markdown: a worked example


@dataclass(frozen=True)
class Scale:
    """Integer points min..max; digits only, so that every point has its own key on the rating page."""

    min: int
    max: int
    labels: dict[int, str] = field(default_factory=dict)

    @property
    def points(self) -> list[int]:
        return list(range(self.min, self.max + 1))


@dataclass(frozen=True)
class MetricSet:
    scale: Scale
    metrics: list[Metric]

    def keys(self) -> list[str]:
        return [m.key for m in self.metrics]

    def as_data(self) -> dict[str, Any]:
        return {"scale": {"min": self.scale.min, "max": self.scale.max,
                          "labels": {str(k): v for k, v in self.scale.labels.items()}},
                "metrics": [{**asdict(m), "examples": {str(k): v for k, v in m.examples.items()}}
                            for m in self.metrics]}


@dataclass(frozen=True)
class ExtraItem:
    """A practice item (expected answer and feedback optional, shown after the rater answers; never counted) or an
    attention-check item (expected answer required; looks like any other question; reported per rater)."""

    question: str
    expected: dict[str, int] = field(default_factory=dict)  # metric key -> the expected rating
    feedback: str = ""  # Markdown (practice only)


ANALYSIS_FIELDS = {"resamples", "permutations", "confidence", "weights", "seed", "min_overlap", "outlier_margin",
                   "check_pass_rate"}


@dataclass(frozen=True)
class StudyDesign:
    """Everything a study's owner decides before the first rating; frozen into the study at creation."""

    metrics: MetricSet
    instructions: str = ""  # Markdown, shown before the first question and on demand
    practice: list[ExtraItem] = field(default_factory=list)
    checks: list[ExtraItem] = field(default_factory=list)
    analysis: dict[str, Any] = field(default_factory=dict)  # settings of the analysis plan (see plan.py)

    def as_data(self) -> dict[str, Any]:
        return {**self.metrics.as_data(), "instructions": self.instructions,
                "practice": [asdict(p) for p in self.practice],
                "checks": [{"question": c.question, "expected": c.expected} for c in self.checks],
                "analysis": dict(self.analysis)}


def _text(value: Any, where: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: give a non-empty text")
    if len(value) > limit:
        raise ConfigError(f"{where}: at most {limit} characters, got {len(value)}")
    return value.strip()


DESIGN_FIELDS = ("scale", "metrics", "instructions", "practice", "checks", "analysis")


def parse_metrics(data: Any, where: str = "metrics") -> MetricSet:
    """The scale and metrics of a design (parsed YAML/JSON); ConfigError naming the first bad field."""
    return parse_design(data, where).metrics


def parse_design(data: Any, where: str = "design") -> StudyDesign:
    """A StudyDesign from parsed YAML/JSON; ConfigError naming the first bad field."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping with 'scale' and 'metrics'")
    unknown = set(data) - set(DESIGN_FIELDS)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))} (known: "
                          f"{', '.join(DESIGN_FIELDS)})")
    scale = data.get("scale")
    if not isinstance(scale, dict):
        raise ConfigError(f"{where}: scale: expected a mapping with min and max")
    lo, hi = scale.get("min"), scale.get("max")
    if not (isinstance(lo, int) and isinstance(hi, int)) or isinstance(lo, bool) or isinstance(hi, bool):
        raise ConfigError(f"{where}: scale.min and scale.max must be whole numbers, got {lo!r} and {hi!r}")
    if not 0 <= lo < hi <= 9:
        raise ConfigError(f"{where}: scale must run within 0..9 with min < max (one key per point), got {lo}..{hi}")
    labels_in = scale.get("labels") or {}
    if not isinstance(labels_in, dict):
        raise ConfigError(f"{where}: scale.labels: expected a mapping point -> label")
    labels: dict[int, str] = {}
    for k, v in labels_in.items():
        try:
            point = int(k)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: scale.labels: {k!r} is not a point of the scale") from None
        if not lo <= point <= hi:
            raise ConfigError(f"{where}: scale.labels: {point} is outside {lo}..{hi}")
        labels[point] = _text(v, f"{where}: scale.labels.{point}", 40)
    items = data.get("metrics")
    if not isinstance(items, list) or not 1 <= len(items) <= 8:
        raise ConfigError(f"{where}: metrics: give a list of 1 to 8 metrics")
    metrics: list[Metric] = []
    for i, m in enumerate(items):
        at = f"{where}: metrics[{i}]"
        if not isinstance(m, dict) or set(m) - {"key", "name", "definition", "examples"}:
            raise ConfigError(f"{at}: expected key, name, definition and optional examples")
        key = m.get("key")
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise ConfigError(f"{at}.key: lower-case letters, digits and _, starting with a letter; got {key!r}")
        if key in {x.key for x in metrics}:
            raise ConfigError(f"{at}.key: '{key}' appears twice")
        examples = _points(m.get("examples") or {}, f"{at}.examples", lo, hi,
                           lambda v, w: _text(v, w, 2000))
        metrics.append(Metric(key, _text(m.get("name"), f"{at}.name", 60),
                              _text(m.get("definition"), f"{at}.definition", 400), examples))
    metric_set = MetricSet(Scale(lo, hi, labels), metrics)
    instructions = data.get("instructions") or ""
    if instructions:
        instructions = _text(instructions, f"{where}: instructions", 20_000)
    practice = _extra_items(data.get("practice"), f"{where}: practice", metric_set, need_expected=False)
    checks = _extra_items(data.get("checks"), f"{where}: checks", metric_set, need_expected=True)
    analysis = data.get("analysis") or {}
    if not isinstance(analysis, dict):
        raise ConfigError(f"{where}: analysis: expected a mapping of settings ({', '.join(sorted(ANALYSIS_FIELDS))})")
    bad = set(analysis) - ANALYSIS_FIELDS
    if bad:
        raise ConfigError(f"{where}: analysis: unknown setting(s) {', '.join(sorted(map(str, bad)))} (known: "
                          f"{', '.join(sorted(ANALYSIS_FIELDS))})")
    return StudyDesign(metric_set, instructions, practice, checks, dict(analysis))


def _points(raw: Any, where: str, lo: int, hi: int, value: Any) -> dict[int, Any]:
    """{point: value} of a mapping keyed by scale points, each value checked by `value(v, where)`."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping point -> text")
    out: dict[int, Any] = {}
    for k, v in raw.items():
        try:
            point = int(k)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: {k!r} is not a point of the scale") from None
        if not lo <= point <= hi:
            raise ConfigError(f"{where}: {point} is outside {lo}..{hi}")
        out[point] = value(v, f"{where}.{point}")
    return dict(sorted(out.items()))


def _extra_items(raw: Any, where: str, metrics: MetricSet, need_expected: bool) -> list[ExtraItem]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > 20:
        raise ConfigError(f"{where}: give a list of at most 20 items")
    out = []
    scale = metrics.scale
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        allowed = {"question", "expected", "feedback"} if not need_expected else {"question", "expected"}
        if not isinstance(item, dict) or set(item) - allowed:
            raise ConfigError(f"{at}: give {' and '.join(sorted(allowed))} (nothing else)")
        expected_in = item.get("expected") or {}
        if not isinstance(expected_in, dict):
            raise ConfigError(f"{at}.expected: expected a mapping metric key -> rating")
        expected: dict[str, int] = {}
        for key, value in expected_in.items():
            if key not in metrics.keys():
                raise ConfigError(f"{at}.expected: unknown metric {key!r} (metrics: {', '.join(metrics.keys())})")
            if isinstance(value, bool) or not isinstance(value, int) or not scale.min <= value <= scale.max:
                raise ConfigError(f"{at}.expected.{key}: a whole number from {scale.min} to {scale.max}, got {value!r}")
            expected[key] = value
        if need_expected and not expected:
            raise ConfigError(f"{at}.expected: an attention check needs the expected rating of at least one metric")
        feedback = item.get("feedback") or ""
        out.append(ExtraItem(_text(item.get("question"), f"{at}.question", 1000), expected,
                             _text(feedback, f"{at}.feedback", 4000) if feedback else ""))
    texts = [norm for norm in (" ".join(x.question.casefold().split()) for x in out)]
    if len(set(texts)) != len(texts):
        raise ConfigError(f"{where}: a question appears twice")
    return out


def default_metrics_text() -> str:
    return resources.files(__package__).joinpath("metrics.yaml").read_text(encoding="utf-8")


def load_metrics(path: Path | str | None = None) -> tuple[MetricSet, str]:
    """The metrics of a design file (the paper's three when None) and the file's text."""
    design, text = load_design(path)
    return design.metrics, text


def load_design(path: Path | str | None = None) -> tuple[StudyDesign, str]:
    """The design of a file (the paper's when None) and the file's text, kept whole in the study."""
    if path is None:
        text = default_metrics_text()
        where = "metrics.yaml (the paper's)"
    else:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"--design {path}: no such file")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"--design {path}: not UTF-8 text") from None
        where = str(path)
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml's when it is there
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{where}:{line} not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    return parse_design(data, where), text
