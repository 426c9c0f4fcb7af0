"""Batch rounds: a phase's collected calls (models/batch.py) submitted through batch APIs within each vendor's queue
limit and the run's cost cap, waited for through outages, their results into the call cache; or written out to
batch files and read back (export / import). Runs beside the unit loop (units.py), since it needs the pool and the
run store.

- **Queue limits** (models/batch_quota.py): a model's requests are cut into chunks of at most `batch.max_requests`
  requests and its enqueued-token limit; a chunk is submitted only while the model's open batches leave room for it,
  so the next goes out as an earlier one completes. A batch the vendor still refuses with `token_limit_exceeded`
  (another job of the organisation filled the queue, or the limit is lower than configured) is put back and
  submitted again when room frees, the limit lowered to the one its message names; it never silently moves to live
  calls. Six refusals in a row with none of this run's batches open pause the run.
- **Cost cap**: before a chunk is submitted its cost at most (input counted high, whole token cap as output, the
  batch price) is checked against what the cap leaves after the spending recorded and the batches still open; the
  round is cut there and the rest waits for `--resume` with a higher cap.
- **Outages**: status checks and submissions that fail with transient errors are retried every poll for
  `batch.poll_outage` seconds; past that the run pauses, its batch ids saved, and `--resume` re-attaches.

Every batch is a record in the run state (`batches`) saved before any wait: {id, model, requests, tokens, cost,
state: open | read | failed | requeued, ...}.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, ModelCallError, TransientError
from .models.batch import MANIFEST, STATE_KEY, BatchCollector, BatchResults, Request, file_stem, go_live
from .models.batch_quota import limit_from_message, queue_limit, request_cost, request_tokens

if TYPE_CHECKING:
    from rich.progress import Progress

    from .models.pool import ModelPool
    from .store import RunStore

# -- results, export, import -----------------------------------------------------------------------------
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


# -- scheduling ----------------------------------------------------------------------------------------------
QUOTA_REFUSED = "token_limit_exceeded"
MAX_QUOTA_REFUSALS = 6  # in a row, with none of this run's batches of the model open: the queue is someone else's

Chunk = list[tuple[str, Request]]


def chunks(requests: Chunk, max_requests: int, max_tokens: int | None) -> list[Chunk]:
    """Consecutive chunks of at most `max_requests` requests and `max_tokens` input tokens (a request larger than
    the limit alone is a chunk of its own)."""
    out: list[Chunk] = []
    current: Chunk = []
    tokens = 0
    for item in requests:
        size = request_tokens(item[1].messages)
        if current and (len(current) >= max_requests or (max_tokens is not None and tokens + size > max_tokens)):
            out.append(current)
            current, tokens = [], 0
        current.append(item)
        tokens += size
    if current:
        out.append(current)
    return out


def _roles(chunk: Chunk) -> dict[str, int]:
    out: dict[str, int] = {}
    for _, r in chunk:
        out[r.role] = out.get(r.role, 0) + 1
    return out


class Scheduler:
    """One round's submissions and the waiting for every open batch of the run."""

    def __init__(self, store: RunStore, pool: ModelPool, collector: BatchCollector, progress: Progress | None,
                 budget: Callable[[], float | None] | None, cap_field: str):
        self.store, self.pool, self.collector, self.progress = store, pool, collector, progress
        self.budget, self.cap_field = budget, cap_field
        self.settings = store.config.batch
        self.records: list[dict[str, Any]] = store.get(STATE_KEY, [])
        self.pending: dict[str, deque[Chunk]] = {}
        self.inflight: dict[str, Chunk] = {}  # batch id -> its requests (this session's batches)
        self.limits: dict[str, int | None] = {}
        self.refusals: dict[str, int] = {}
        self.retry_at: dict[str, float] = {}
        self.outage_since: float | None = None
        self.paused: str | None = None
        self.tasks: dict[str, Any] = {}

    # -- what is open and what it holds
    def open_records(self, model: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.records if r["state"] == "open" and (model is None or r["model"] == model)]

    def enqueued(self, model: str) -> int:
        return sum(int(r.get("tokens") or 0) for r in self.open_records(model))

    def committed(self) -> float:
        """USD of the open batches, not in the ledger until their results are read."""
        return sum(float(r.get("cost") or 0.0) for r in self.open_records())

    def limit(self, model: str) -> int | None:
        if model not in self.limits:
            self.limits[model] = queue_limit(self.store.config, model)
        return self.limits[model]

    def save(self) -> None:
        self.store.put(STATE_KEY, self.records)

    # -- submitting
    def queue(self) -> None:
        for model, requests in list(self.collector.pending.items()):
            self.pending.setdefault(model, deque()).extend(
                chunks(list(requests.items()), self.settings.max_requests, self.limit(model)))
        self.collector.pending.clear()

    async def submit_ready(self) -> None:
        for model in list(self.pending):
            queue = self.pending[model]
            while queue and not self.paused and time.monotonic() >= self.retry_at.get(model, 0.0):
                chunk = queue[0]
                tokens = sum(request_tokens(r.messages) for _, r in chunk)
                limit = self.limit(model)
                if limit is not None and self.enqueued(model) + tokens > limit:
                    if self.enqueued(model) > 0:
                        break  # room frees as this run's open batches of the model complete
                    if len(chunk) > 1:  # alone over a lowered limit: halve it
                        half = len(chunk) // 2
                        queue.popleft()
                        queue.extendleft([chunk[half:], chunk[:half]])
                        continue
                    self.paused = (f"{model}: one request of {tokens} input tokens is over the batch queue limit of "
                                   f"{limit}: raise batch.max_enqueued_tokens['{model}'] if your tier allows more")
                    return
                provider = self.pool.get(model).provider
                left = None
                if self.budget is not None and (cap := self.budget()) is not None:
                    left = cap - self.committed()
                taken, cost = affordable(self.pool, model, chunk, left, price_factor=provider.batch_discount)
                if not taken:
                    held = sum(len(c) for c in queue)
                    self.paused = (f"cost cap reached: {held} requests of {model} not submitted (the batch would "
                                   f"exceed what the cap leaves); raise {self.cap_field} and --resume")
                    return
                if len(taken) < len(chunk):  # the cap cuts the round here: the rest is held
                    queue[0] = taken
                    tokens = sum(request_tokens(r.messages) for _, r in taken)
                    held = len(chunk) - len(taken) + sum(len(c) for c in list(queue)[1:])
                    self.paused = (f"cost cap reached: {held} requests of {model} held back; raise {self.cap_field} "
                                   f"and --resume")
                lines = [provider.batch_line(digest, r.messages, r.config) for digest, r in taken]
                try:
                    batch_id = await provider.submit_batch(lines)
                except TransientError as exc:
                    self.outage(f"submitting a batch of {model}: {exc}")
                    if self.paused and self.paused.startswith("cost cap"):
                        queue[0] = chunk  # nothing was sent: the cut did not happen
                        self.paused = None
                    return
                except ModelCallError as exc:  # no batch API after all, or it refuses: these calls go live
                    go_live(self.collector, model, f"batch submission failed: {exc}")
                    del self.pending[model]
                    break
                self.outage_since = None
                self.records.append({"id": batch_id, "model": model, "requests": len(taken), "tokens": tokens,
                                     "cost": cost, "state": "open", "created": time.time(), "roles": _roles(taken)})
                self.save()  # before waiting: a killed run re-attaches instead of paying again
                self.inflight[batch_id] = taken
                self.collector.submitted.update(d for d, _ in taken)
                queue.popleft()
                if self.paused:
                    return
            if model in self.pending and not self.pending[model]:
                del self.pending[model]

    # -- waiting
    def outage(self, what: str) -> None:
        now = time.monotonic()
        if self.outage_since is None:
            self.outage_since = now
        elif now - self.outage_since > self.settings.poll_outage:
            self.paused = (f"the batch API has been unreachable for {now - self.outage_since:.0f}s (last: {what[:200]}); "
                           f"its batches are saved: --resume re-attaches to them")

    def requeue(self, record: dict[str, Any], detail: str) -> None:
        """A batch refused for the queue limit: its requests go back at the front, sent again when room frees."""
        model = record["model"]
        record["state"] = "requeued"
        learned = limit_from_message(detail)
        current = self.limit(model)
        if learned is not None and (current is None or learned < current):
            self.limits[model] = learned
        chunk = self.inflight.pop(record["id"], None)
        if chunk is None:  # a previous session's batch: its units ask for these calls again next round
            return
        self.collector.submitted.difference_update(d for d, _ in chunk)
        self.pending.setdefault(model, deque()).appendleft(chunk)
        if self.open_records(model):
            return  # room frees as those complete
        self.refusals[model] = self.refusals.get(model, 0) + 1
        if self.refusals[model] >= MAX_QUOTA_REFUSALS:
            self.paused = (f"{model}: the batch queue refused {self.refusals[model]} batches in a row although none "
                           f"of this run's were open ({detail[:200]}): other jobs may fill it; --resume later, or "
                           f"lower batch.max_enqueued_tokens['{model}']")
        else:
            self.retry_at[model] = time.monotonic() + self.settings.poll_seconds * 2 ** self.refusals[model]

    async def poll_once(self) -> None:
        for record in self.open_records():
            provider = self.pool.get(record["model"]).provider
            try:
                status = await provider.batch_status(record["id"])
            except TransientError as exc:
                self.outage(str(exc))
                continue
            except ModelCallError as exc:
                status = None
                record["state"], record["detail"] = "failed", str(exc)[:300]
                go_live(self.collector, record["model"], f"batch {record['id']} cannot be read ({exc})")
            else:
                self.outage_since = None
            self.show(record, status)
            if status is None or status.state == "running":
                if status is None:
                    self.finish(record)
                continue
            if status.state == "failed":
                if status.code == QUOTA_REFUSED:
                    self.requeue(record, status.detail)
                else:
                    record["state"], record["detail"] = "failed", status.detail
                    go_live(self.collector, record["model"], f"batch {record['id']} failed ({status.detail})")
            else:
                try:
                    results = await provider.batch_results(record["id"])
                except TransientError as exc:
                    self.outage(str(exc))
                    continue
                self.outage_since = None
                record["answered"] = store_results(self.pool, record["model"], results, self.collector.roles,
                                                   provider.batch_discount)
                record["failed"] = len(results.errors)
                record["state"] = "read"
                self.collector.live.update(results.errors)
                self.inflight.pop(record["id"], None)
                self.refusals.pop(record["model"], None)
            self.finish(record)

    def finish(self, record: dict[str, Any]) -> None:
        record["ended"] = time.time()
        self.save()
        self.store.save_usage(self.pool.ledger)

    def show(self, record: dict[str, Any], status: Any) -> None:
        if self.progress is None:
            return
        task = self.tasks.get(record["id"])
        if task is None:
            task = self.tasks[record["id"]] = self.progress.add_task(
                f"batch {record['model']} {record['id'][:18]}", total=record["requests"])
        if status is not None:
            self.progress.update(task, completed=status.done, total=status.total or record["requests"],
                                 description=f"batch {record['model']} ({status.detail or status.state})")

    async def run(self) -> str | None:
        self.queue()
        while True:
            await self.submit_ready()
            if self.paused and not self.paused.startswith("cost cap"):
                break
            if not self.open_records() and (not self.pending or self.paused):
                break
            await self.poll_once()
            if self.paused and not self.paused.startswith("cost cap"):
                break
            if self.open_records() or self.pending:
                await asyncio.sleep(self.settings.poll_seconds)
        self.save()
        return self.paused


async def run_batches(store: RunStore, pool: ModelPool, collector: BatchCollector, progress: Progress | None, *,
                      budget: Callable[[], float | None] | None = None,
                      cap_field: str = "evaluation.max_cost") -> str | None:
    """Submit what the collector holds as the queue limits and the cost cap allow, and wait for every open batch of
    the run; returns why the run must pause (None: every request was answered, made live, or is a failure)."""
    return await Scheduler(store, pool, collector, progress, budget, cap_field).run()


async def wait_open_batches(store: RunStore, pool: ModelPool, collector: BatchCollector,
                            progress: Progress | None) -> str | None:
    """Re-attach to the batches a killed run left open and wait for them (nothing new is submitted)."""
    return await Scheduler(store, pool, collector, progress, None, "").run()
