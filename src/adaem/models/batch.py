"""Batch mode: a phase's calls go through the providers' batch APIs (or out to files), their results into the call
cache, and the run goes on exactly as with live calls.

How it works without changing any job's logic: while a collector is set on the pool, a cache miss on a model that
batches is *collected* instead of made, and raises Deferred; the unit that asked stops there and stays undone.
When a round of units has run, the collected requests are submitted as batches (ids saved in the run state before
waiting), polled, and their results written to the call cache; the next round runs the undone units again, whose
calls now hit the cache up to the next step they take (opinions first, then the judge's calls, then re-asks).
A killed run re-attaches to its saved batches instead of paying again; requests a batch reports failed or expired
are made live in the next round, with the pipeline's usual retries. This module is the collector the pipeline
uses; the rounds themselves (submitting within quotas and the cost cap, waiting, export and import) run a level
up, in `adaem/batching.py`, since they need the pool and the run store.

`export` writes each round's requests of OpenAI-compatible models as OpenAI batch JSONL (one file per model) and
stops; `import` reads the matching output files (OpenAI's format, which vLLM's offline `run_batch` writes) into
the cache. Together they run a whole phase on any engine. An output line that is an error becomes that call's
failure (with the server's message), never a request exported again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .providers.base import BatchResults, Provider
from .types import ChatMessage, GenerateConfig

STATE_KEY = "batches"  # run-state list of every batch submitted: {id, model, requests, state, created}
MANIFEST = "manifest.json"


class Deferred(Exception):  # noqa: N818 - not an error: the call waits for a batch
    """A call collected for a batch instead of made; the unit that asked runs again once results are cached."""


@dataclass
class Request:
    messages: list[ChatMessage]
    config: GenerateConfig  # the one sample's settings (its seed included)
    role: str


@dataclass
class BatchCollector:
    """The calls a round of units asked for, per model, by cache key digest (the batch line's custom id)."""

    mode: str  # "api" or "export"
    pending: dict[str, dict[str, Request]] = field(default_factory=dict)
    live: set[str] = field(default_factory=set)  # digests a batch did not answer: made live from now on
    live_models: set[str] = field(default_factory=set)  # models whose batch API refused a whole batch
    roles: dict[str, str] = field(default_factory=dict)  # digest -> the role that asked (for the ledger)
    submitted: set[str] = field(default_factory=set)  # digests sent in a batch this session: never sent twice
    failed: dict[str, str] = field(default_factory=dict)  # digests an imported output answered with an error

    def takes(self, provider: Provider, digest: str) -> bool:
        if digest in self.live or digest in self.submitted or provider.name in self.live_models:
            return False
        return provider.batch if self.mode == "api" else provider.batch_files

    def add(self, model: str, digest: str, messages: list[ChatMessage], config: GenerateConfig, role: str) -> None:
        self.pending.setdefault(model, {})[digest] = Request(messages, config, role)
        self.roles[digest] = role

    def count(self) -> int:
        return sum(len(r) for r in self.pending.values())


def file_stem(model: str) -> str:
    """A model name as a file name: `vllm/Qwen/Qwen2.5-7B` -> `vllm__Qwen__Qwen2.5-7B`."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", model.replace("/", "__"))


def go_live(collector: BatchCollector, model: str, why: str) -> None:
    from rich.markup import escape

    from ..progress import console

    collector.live_models.add(model)
    console.print(f"[yellow]{escape(model)}: {escape(why[:300])}; its calls run live[/yellow]")
__all__ = ["MANIFEST", "STATE_KEY", "BatchCollector", "BatchResults", "Deferred", "Request", "file_stem", "go_live"]
