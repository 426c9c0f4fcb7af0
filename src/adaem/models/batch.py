"""Batch mode: a phase's calls go through the providers' batch APIs (or out to files), their results into the call
cache, and the run goes on exactly as with live calls.

How it works without changing any job's logic: while a collector is set on the pool, a cache miss on a model that
batches is *collected* instead of made, and raises Deferred; the unit that asked stops there and stays undone.
When a round of units has run, the collected requests are submitted as batches (ids saved in the run state before
waiting), polled, and their results written to the call cache; the next round runs the undone units again, whose
calls now hit the cache up to the next step they take (opinions first, then the judge's calls, then re-asks).
A killed run re-attaches to its saved batches instead of paying again; requests a batch reports failed or expired
are made live in the next round, with the pipeline's usual retries. Submitting, quotas and waiting are in
batch_schedule.py.

`export` writes each round's requests of OpenAI-compatible models as OpenAI batch JSONL (one file per model) and
stops; `import` reads the matching output files (OpenAI's format, which vLLM's offline `run_batch` writes) into
the cache. Together they run a whole phase on any engine. An output line that is an error becomes that call's
failure (with the server's message), never a request exported again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from .batch_quota import request_cost
from .providers.base import BatchResults, Provider
from .types import ChatMessage, GenerateConfig

if TYPE_CHECKING:
    from .pool import ModelPool

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


def store_results(pool: ModelPool, model: str, results: BatchResults, roles: dict[str, str],
                  price_factor: float) -> int:
    """Completions into the call cache (and the ledger, at the batch price); returns how many."""
    assert pool.cache is not None
    for digest, completion in results.completions.items():
        pool.cache.put(digest, model, completion.choice, completion.usage, completion.raw)
        pool.ledger.record_call(model, roles.get(digest, "batch"), completion.usage, 0.0, price_factor=price_factor,
                                batched=True)
    return len(results.completions)


# -- files: export and import ---------------------------------------------------------------------------------
def affordable(pool: ModelPool, model: str, requests: list[tuple[str, Request]], left: float | None, *,
               price_factor: float) -> tuple[list[tuple[str, Request]], float]:
    """The leading requests whose summed cost at most (batch_quota.request_cost) fits in `left` USD (all of them
    when there is no cap), and what they cost."""
    config = pool.config
    provider = pool.get(model).provider
    reasoning = config.endpoint(model.partition("/")[0]).reasoning.expected if provider.reasoning else 0
    taken: list[tuple[str, Request]] = []
    total = 0.0
    for digest, r in requests:
        cost = request_cost(config, model, r.messages, r.config, price_factor=price_factor, reasoning_tokens=reasoning)
        if left is not None and total + cost > left:
            break
        taken.append((digest, r))
        total += cost
    return taken, total


def export_requests(pool: ModelPool, collector: BatchCollector, directory: Path,
                    budget: Callable[[], float | None] | None = None) -> tuple[dict[str, int], int]:
    """Each model's collected requests as `<model>.input.jsonl` (OpenAI batch lines) plus a manifest naming the
    model of each file; returns requests per file written, and how many the cost cap held back (`budget`: USD
    left to spend, None without a cap)."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest_path = directory / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    written: dict[str, int] = {}
    left = budget() if budget is not None else None
    held = 0
    for model, requests in collector.pending.items():
        provider = pool.get(model).provider
        taken, cost = affordable(pool, model, list(requests.items()), left, price_factor=1.0)
        held += len(requests) - len(taken)
        if left is not None:
            left -= cost
        if not taken:
            continue
        stem = file_stem(model)
        path = directory / f"{stem}.input.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for digest, r in taken:
                fh.write(json.dumps(provider.batch_line(digest, r.messages, r.config), ensure_ascii=False) + "\n")
        manifest[stem] = model
        written[path.name] = len(taken)
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    return written, held


def export_round(pool: ModelPool, collector: BatchCollector, directory: Path,
                 budget: Callable[[], float | None] | None = None, cap_field: str = "evaluation.max_cost") -> str:
    """Write a round's requests (as many as the cost cap allows) and say what to do next (why the run stopped)."""
    files, held = export_requests(pool, collector, directory, budget)
    listed = ", ".join(f"{name}: {count}" for name, count in files.items())
    served = "; ".join(f"{name.removesuffix('.input.jsonl')}: --served-model-name "
                       f"{pool.get(_model_of(directory, name)).provider.model}" for name in files)
    capped = (f"; {held} more wait for a higher cost cap (raise {cap_field} and --resume)" if held else "")
    if not files:
        return f"cost cap reached: none of this round's {held} requests fits; raise {cap_field} and --resume"
    return (f"{sum(files.values())} requests written to {directory} ({listed}){capped}: answer them (vLLM: python "
            f"-m vllm.entrypoints.openai.run_batch -i <model>.input.jsonl -o <model>.output.jsonl --model <weights> "
            f"--served-model-name <the name in the lines>; here {served}) and --resume with --batch-import "
            f"{directory} --batch-export {directory}")


def _model_of(directory: Path, file_name: str) -> str:
    manifest = json.loads((directory / MANIFEST).read_text())
    return str(manifest[file_name.removesuffix(".input.jsonl")])


def import_outputs(pool: ModelPool, directory: Path,
                   collector: BatchCollector | None = None) -> dict[str, tuple[int, int, list[str]]]:
    """Read every `<model>.output.jsonl` in `directory` into the call cache; returns (answered, failed, a few of the
    failures' messages) per file. The custom ids are the calls' cache keys, so an answer lands exactly where the
    live call would have put it. A line that is an error is that call's failure: in export mode the call fails
    with the server's message (no engine to ask live, and exporting it again would loop for ever); in api mode it
    is made live, with the pipeline's retries."""
    manifest_path = directory / MANIFEST
    if not directory.is_dir():
        raise ConfigError(f"batch.import_dir: {directory} is not a directory")
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    counts: dict[str, tuple[int, int, list[str]]] = {}
    for path in sorted(directory.glob("*.output.jsonl")):
        stem = path.name.removesuffix(".output.jsonl")
        model = manifest.get(stem)
        if model is None:
            raise ConfigError(f"batch.import_dir: {path.name} matches no exported model in {manifest_path} "
                              f"(known: {', '.join(sorted(manifest)) or 'none'})")
        provider = pool.get(model).provider
        results = BatchResults()
        provider.read_batch_output(path.read_bytes(), results)
        fresh = {d: c for d, c in results.completions.items() if pool.cache is None or pool.cache.get(d) is None}
        store_results(pool, model, BatchResults(completions=fresh), {}, price_factor=1.0)
        if collector is not None:
            for digest, message in results.errors.items():
                if collector.mode == "export":
                    collector.failed[digest] = message
                else:
                    collector.live.add(digest)
        examples = list(dict.fromkeys(results.errors.values()))[:3]
        counts[path.name] = (len(results.completions), len(results.errors), examples)
    return counts


# -- batch API helpers (the scheduling is in batch_schedule.py) ------------------------------------------------
def go_live(collector: BatchCollector, model: str, why: str) -> None:
    from rich.markup import escape

    from ..progress import console

    collector.live_models.add(model)
    console.print(f"[yellow]{escape(model)}: {escape(why[:300])}; its calls run live[/yellow]")
