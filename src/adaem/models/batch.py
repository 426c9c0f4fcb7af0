"""Batch mode: a phase's calls go through the providers' batch APIs (or out to files), their results into the call
cache, and the run goes on exactly as with live calls.

How it works without changing any job's logic: while a collector is set on the pool, a cache miss on a model that
batches is *collected* instead of made, and raises Deferred; the unit that asked stops there and stays undone.
When a round of units has run, the collected requests are submitted as batches (ids saved in the run state before
waiting), polled, and their results written to the call cache; the next round runs the undone units again, whose
calls now hit the cache up to the next step they take (opinions first, then the judge's calls, then re-asks).
A killed run re-attaches to its saved batches instead of paying again; requests a batch reports failed or expired
are made live in the next round, with the pipeline's usual retries.

`export` writes each round's requests of OpenAI-compatible models as OpenAI batch JSONL (one file per model) and
stops; `import` reads the matching output files (OpenAI's format, which vLLM's offline `run_batch` writes) into
the cache. Together they run a whole phase on any engine.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, ModelCallError, TransientError
from .providers.base import BatchResults, Provider
from .types import ChatMessage, GenerateConfig

if TYPE_CHECKING:
    from rich.progress import Progress

    from ..store import RunStore
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
def export_requests(pool: ModelPool, collector: BatchCollector, directory: Path) -> dict[str, int]:
    """Each model's collected requests as `<model>.input.jsonl` (OpenAI batch lines) plus a manifest naming the
    model of each file; returns requests per file written."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest_path = directory / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    written: dict[str, int] = {}
    for model, requests in collector.pending.items():
        provider = pool.get(model).provider
        stem = file_stem(model)
        path = directory / f"{stem}.input.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for digest, r in requests.items():
                fh.write(json.dumps(provider.batch_line(digest, r.messages, r.config), ensure_ascii=False) + "\n")
        manifest[stem] = model
        written[path.name] = len(requests)
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    return written


def export_round(pool: ModelPool, collector: BatchCollector, directory: Path) -> str:
    """Write a round's requests and say what to do next (why the run stopped)."""
    files = export_requests(pool, collector, directory)
    listed = ", ".join(f"{name}: {count}" for name, count in files.items())
    return (f"{collector.count()} requests written to {directory} ({listed}): answer them (e.g. vLLM's run_batch, "
            f"into <model>.output.jsonl beside each input) and --resume with --batch-import {directory} "
            f"--batch-export {directory}")


def import_outputs(pool: ModelPool, directory: Path) -> dict[str, tuple[int, int]]:
    """Read every `<model>.output.jsonl` in `directory` into the call cache; returns (answered, failed) per file.
    The custom ids are the calls' cache keys, so an answer lands exactly where the live call would have put it."""
    manifest_path = directory / MANIFEST
    if not directory.is_dir():
        raise ConfigError(f"batch.import_dir: {directory} is not a directory")
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    counts: dict[str, tuple[int, int]] = {}
    for path in sorted(directory.glob("*.output.jsonl")):
        stem = path.name.removesuffix(".output.jsonl")
        model = manifest.get(stem)
        if model is None:
            raise ConfigError(f"batch.import_dir: {path.name} matches no exported model in {manifest_path} "
                              f"(known: {', '.join(sorted(manifest)) or 'none'})")
        provider = pool.get(model).provider
        results = BatchResults()
        provider.read_batch_output(path.read_bytes(), results)
        store_results(pool, model, results, {}, price_factor=1.0)
        counts[path.name] = (len(results.completions), len(results.errors))
    return counts


# -- batch APIs ----------------------------------------------------------------------------------------------
def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


async def run_batches(store: RunStore, pool: ModelPool, collector: BatchCollector, progress: Progress | None) -> None:
    """Submit what the collector holds (ids saved before any wait), then wait for every open batch of the run."""
    records: list[dict[str, Any]] = store.get(STATE_KEY, [])
    for model, requests in list(collector.pending.items()):
        provider = pool.get(model).provider
        for chunk in _chunks(list(requests.items()), store.config.batch.max_requests):
            lines = [provider.batch_line(digest, r.messages, r.config) for digest, r in chunk]
            try:
                batch_id = await _retrying(partial(provider.submit_batch, lines))
            except ModelCallError as exc:  # no batch API after all, or it refuses: these calls go live
                _go_live(collector, model, f"batch submission failed: {exc}")
                break
            records.append({"id": batch_id, "model": model, "requests": len(chunk), "state": "open",
                            "created": time.time(), "roles": _roles(chunk)})
            store.put(STATE_KEY, records)  # before waiting: a killed run re-attaches instead of paying again
        collector.submitted.update(requests)
    collector.pending.clear()
    await wait_open_batches(store, pool, collector, progress)


def _roles(chunk: list[tuple[str, Request]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for _, r in chunk:
        out[r.role] = out.get(r.role, 0) + 1
    return out


def _go_live(collector: BatchCollector, model: str, why: str) -> None:
    from ..progress import console

    collector.live_models.add(model)
    console.print(f"[yellow]{model}: {why[:300]}; its calls run live[/yellow]")


async def _retrying(call: Any, attempts: int = 6) -> Any:
    """A batch-management request with a few backoff retries for outages (the pipeline's retries are per call)."""
    for attempt in range(attempts):
        try:
            return await call()
        except TransientError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(min(30.0, 2.0 ** attempt))
    raise AssertionError("unreachable")


async def wait_open_batches(store: RunStore, pool: ModelPool, collector: BatchCollector,
                            progress: Progress | None) -> None:
    """Poll every batch of the run not yet read, read each as it ends, and record it; requests that failed or
    expired are made live by the next round."""
    records: list[dict[str, Any]] = store.get(STATE_KEY, [])
    open_ = [r for r in records if r["state"] == "open"]
    if not open_:
        return
    tasks = {r["id"]: progress.add_task(f"batch {r['model']} {r['id'][:18]}", total=r["requests"])
             if progress is not None else None for r in open_}
    poll = store.config.batch.poll_seconds
    while open_:
        for record in list(open_):
            provider = pool.get(record["model"]).provider
            status = await _retrying(partial(provider.batch_status, record["id"]))
            task = tasks[record["id"]]
            if progress is not None and task is not None:
                progress.update(task, completed=status.done, total=status.total or record["requests"],
                                description=f"batch {record['model']} ({status.detail or status.state})")
            if status.state == "running":
                continue
            if status.state == "failed":
                record["state"] = "failed"
                record["detail"] = status.detail
                _go_live(collector, record["model"], f"batch {record['id']} failed ({status.detail})")
            else:
                results = await _retrying(partial(provider.batch_results, record["id"]))
                record["answered"] = store_results(pool, record["model"], results, collector.roles,
                                                   provider.batch_discount)
                record["failed"] = len(results.errors)
                record["state"] = "read"
                collector.live.update(results.errors)
            record["ended"] = time.time()
            store.put(STATE_KEY, records)
            store.save_usage(pool.ledger)
            open_.remove(record)
        if open_:
            await asyncio.sleep(poll)
