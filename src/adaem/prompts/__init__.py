"""Prompt templates live in this folder as text files, one per step; `$name` marks a slot."""

from __future__ import annotations

from functools import cache
from importlib import resources
from string import Template


@cache
def template(name: str) -> Template:
    return Template(resources.files(__name__).joinpath(f"{name}.txt").read_text(encoding="utf-8"))


def render(template_name: str, /, **slots: object) -> str:
    """Fill a template; a missing slot is a KeyError naming it (a bug, not user input)."""
    return template(template_name).substitute({k: str(v) for k, v in slots.items()})


@cache
def has_template(name: str) -> bool:
    return resources.files(__name__).joinpath(f"{name}.txt").is_file()


def localized(template_name: str, language: str) -> str | None:
    """The name of `template_name`'s version in `language` (`opinion.zh`), or None when adaem ships none (the
    English template is then used, and an opinion prompt asks for the answer in the language)."""
    if language == "en":
        return template_name
    name = f"{template_name}.{language}"
    return name if has_template(name) else None
