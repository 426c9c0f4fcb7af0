"""Prompt templates live in this folder as text files, one per step; `$name` marks a slot.

Two sets: adaem's own templates (this folder) and the paper's as printed (`paper/`, Listings 3–8 and C.11's priming
message), which `prompts: paper` selects. A step the paper gives no prompt for keeps adaem's template. A call's
cache key is its rendered text, so a template that did not change keeps its cache.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from string import Template
from typing import Literal

PromptSet = Literal["adaem", "paper"]


@cache
def template(name: str) -> Template:
    return Template(resources.files(__name__).joinpath(f"{name}.txt").read_text(encoding="utf-8"))


def render(template_name: str, /, **slots: object) -> str:
    """Fill a template; a missing slot is a KeyError naming it (a bug, not user input)."""
    return template(template_name).substitute({k: str(v) for k, v in slots.items()})


@cache
def has_template(name: str) -> bool:
    return resources.files(__name__).joinpath(f"{name}.txt").is_file()


def in_set(template_name: str, prompt_set: PromptSet) -> str:
    """The template a prompt set uses for a step: the paper's version where it prints one, else adaem's."""
    if prompt_set == "paper" and has_template(f"paper/{template_name}"):
        return f"paper/{template_name}"
    return template_name


def localized(template_name: str, language: str) -> str | None:
    """The name of `template_name`'s version in `language` (`opinion.zh`), or None when adaem ships none (the
    English template is then used, and an opinion prompt asks for the answer in the language)."""
    if language == "en":
        return template_name
    name = f"{template_name}.{language}"
    return name if has_template(name) else None
