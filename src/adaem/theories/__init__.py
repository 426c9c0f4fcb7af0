"""Value theories as data: dimensions with definitions, higher-order groups and opposite groups.

Every step of adaem is written against a `Theory`, never against ten hard-coded names. Two ship with the
package (schwartz10, mft); `load_theory(path)` reads another from a YAML or JSON file of the same shape.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ConfigError

BUILT_IN = ("schwartz10", "mft")


class Example(BaseModel):
    """A few-shot example for the per-value judge: a text and whether it expresses the dimension."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1)
    expressed: bool


class Dimension(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    definition: str
    examples: tuple[Example, ...] = ()  # shown to the per-value judge after the text (none: the prompt is unchanged)


class Theory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    title: str = ""
    dimensions: tuple[Dimension, ...] = Field(min_length=2)
    groups: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    boundary: dict[str, tuple[str, ...]] = Field(default_factory=dict, description="dimension -> groups it spans")
    opposites: tuple[tuple[str, str], ...] = ()
    safety: tuple[str, ...] = Field((), description="the values the theory marks as safety-related (the paper's "
                                    "finding that more advanced models prioritise them: `findings`)")

    @model_validator(mode="after")
    def _consistent(self) -> Theory:
        ids = [d.id for d in self.dimensions]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate dimension ids in {ids}")
        for group, members in self.groups.items():
            unknown = set(members) - set(ids)
            if unknown:
                raise ValueError(f"group '{group}' names unknown dimensions {sorted(unknown)}")
        for dim, groups in self.boundary.items():
            if dim not in ids or set(groups) - set(self.groups):
                raise ValueError(f"boundary entry '{dim}: {list(groups)}' names an unknown dimension or group")
        for a, b in self.opposites:
            if a not in self.groups or b not in self.groups:
                raise ValueError(f"opposites ({a}, {b}) must name groups of the theory")
        unknown_safety = set(self.safety) - set(ids)
        if unknown_safety:
            raise ValueError(f"safety names unknown dimensions {sorted(unknown_safety)}")
        return self

    @property
    def ids(self) -> list[str]:
        return [d.id for d in self.dimensions]

    def dimension(self, dim_id: str) -> Dimension:
        for d in self.dimensions:
            if d.id == dim_id:
                return d
        raise ConfigError(f"theory '{self.name}' has no dimension '{dim_id}': it has {', '.join(self.ids)}")

    def groups_of(self, dim_id: str) -> list[str]:
        self.dimension(dim_id)
        return [g for g, members in self.groups.items() if dim_id in members] + list(self.boundary.get(dim_id, ()))

    def _group_sets(self) -> dict[str, set[str]]:
        return {d: set(self.groups_of(d)) for d in self.ids}

    def same_group(self, dim_id: str) -> list[str]:
        """Other dimensions sharing a higher-order group with dim_id (for the priming experiment)."""
        self.dimension(dim_id)
        sets = self._group_sets()
        return [d for d, gs in sets.items() if d != dim_id and gs & sets[dim_id]]

    def opposite(self, dim_id: str) -> list[str]:
        """Dimensions in the groups opposite to dim_id's groups."""
        self.dimension(dim_id)
        sets = self._group_sets()
        mine = sets[dim_id]
        opposed = {b for a, b in self.opposites if a in mine} | {a for a, b in self.opposites if b in mine}
        return [d for d, gs in sets.items() if gs & opposed and not gs & mine]


def _parse(data: object, source: str) -> Theory:
    try:
        return Theory.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"bad theory {source}: {where + ': ' if where else ''}{err['msg'].removeprefix('Value error, ')}") from None


def load_theory(name_or_path: str | Path) -> Theory:
    """A built-in theory by name, or a theory file (.yaml/.yml/.json)."""
    text = str(name_or_path)
    if text in BUILT_IN:
        raw = resources.files(__name__).joinpath(f"{text}.yaml").read_text(encoding="utf-8")
        return _parse(yaml.safe_load(raw), text)
    path = Path(text)
    if not path.exists():
        raise ConfigError(f"unknown theory '{text}': use one of {', '.join(BUILT_IN)} or a path to a YAML/JSON file")
    try:
        data = json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"theory file {path} does not parse: {str(exc).splitlines()[0]}") from None
    return _parse(data, str(path))
