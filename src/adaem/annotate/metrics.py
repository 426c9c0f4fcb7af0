"""What raters rate: a scale and metrics with their definitions, as data (metrics.yaml: the paper's three).

A user's own file has the same shape; anything wrong in it is one ConfigError naming the field.
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
                "metrics": [asdict(m) for m in self.metrics]}


def _text(value: Any, where: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: give a non-empty text")
    if len(value) > limit:
        raise ConfigError(f"{where}: at most {limit} characters, got {len(value)}")
    return value.strip()


def parse_metrics(data: Any, where: str = "metrics") -> MetricSet:
    """A MetricSet from parsed YAML/JSON; ConfigError naming the first bad field."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping with 'scale' and 'metrics'")
    unknown = set(data) - {"scale", "metrics"}
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))} (known: scale, metrics)")
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
        if not isinstance(m, dict) or set(m) - {"key", "name", "definition"}:
            raise ConfigError(f"{at}: expected key, name and definition")
        key = m.get("key")
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise ConfigError(f"{at}.key: lower-case letters, digits and _, starting with a letter; got {key!r}")
        if key in {x.key for x in metrics}:
            raise ConfigError(f"{at}.key: '{key}' appears twice")
        metrics.append(Metric(key, _text(m.get("name"), f"{at}.name", 60), _text(m.get("definition"), f"{at}.definition", 400)))
    return MetricSet(Scale(lo, hi, labels), metrics)


def default_metrics_text() -> str:
    return resources.files(__package__).joinpath("metrics.yaml").read_text(encoding="utf-8")


def load_metrics(path: Path | str | None = None) -> tuple[MetricSet, str]:
    """The metrics of a file (the paper's three when None) and the file's text, kept whole in the study."""
    if path is None:
        text = default_metrics_text()
        where = "metrics.yaml (the paper's)"
    else:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"--metrics {path}: no such file")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"--metrics {path}: not UTF-8 text") from None
        where = str(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{where}:{line} not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    return parse_metrics(data, where), text
