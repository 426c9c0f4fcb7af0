"""The one resumable unit loop of the jobs that answer units (evaluate, compare, prime):
what is not done yet runs, at most `workers` at a time; each finished unit is one appended line; a unit whose
model calls failed for good is recorded as a failure (retried on --resume); before each unit starts, `stop`
may say why no more should (a cost cap), and the units not started stay undone for --resume."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .calibration import check_calibration
from .errors import BudgetReached, ModelCallError
from .models import ModelPool
from .progress import progress_bar
from .store import RunStore


@dataclass
class Unit:
    stream: str  # the outputs/<stream>.jsonl its record goes to
    key: str
    run: Callable[[], Awaitable[dict[str, Any]]]


@dataclass
class UnitsResult:
    failures: list[dict[str, Any]] = field(default_factory=list)
    stopped: str | None = None  # why units were left unstarted
    left: int = 0


async def run_units(store: RunStore, units: list[Unit], *, workers: int, on_done: Callable[[], None],
                    stop: Callable[[], str | None] = lambda: None) -> UnitsResult:
    result = UnitsResult()
    queue = list(reversed(units))

    async def worker() -> None:
        while queue:
            why = stop()
            if why:
                result.stopped = result.stopped or why
                return
            unit = queue.pop()
            try:
                store.append(unit.stream, await unit.run())
            except BudgetReached as exc:  # the cap struck mid-unit: undone, not failed
                result.stopped = result.stopped or str(exc)
                queue.append(unit)
                return
            except ModelCallError as exc:  # not done: a resume retries it (finished calls come from the cache)
                failure = {"key": unit.key, "stream": unit.stream, "error": str(exc)}
                result.failures.append(failure)
                store.append("failures", failure)
            on_done()

    tasks = [asyncio.ensure_future(worker()) for _ in range(max(1, min(workers, len(units))))]
    try:
        await asyncio.gather(*tasks)
    except BaseException:  # one unit raised what is not a unit's failure (a bad config): stop the others first,
        for task in tasks:  # so none is left calling models on a pool about to close
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    result.left = len(queue)
    return result


def spent(store: RunStore, pool: ModelPool) -> float:
    """USD recorded by this run, every session (prices from the config; 0 without them)."""
    return store.previous_usage()["cost"] + pool.ledger.total().cost


def unit_workers(pool: ModelPool, models: list[str]) -> int:
    """Units in flight: enough to keep every model's connections busy (a unit waits on one model at a time)."""
    return 2 * max(pool.get(m).limits.max_concurrency or pool.get(m).provider.default_concurrency for m in models)


async def run_phase(store: RunStore, pool: ModelPool, units: list[Unit], *, label: str, models: list[str],
                    max_cost: float | None, embeddings: bool, theory: str | None = None,
                    cap_field: str = "evaluation.max_cost") -> UnitsResult:
    """Run a job's units that are not in its streams yet, with a progress bar over all of them, the models (and
    the sentence-embedding model, if the units need it) checked first, and a cost cap (`max_cost`, USD over every
    session) that stops starting units and queued calls alike, so what is left resumes."""
    if embeddings:
        from .embeddings import model_dir

        model_dir()  # not installed: one line saying what to install, before any call is paid for
    if theory is not None:  # a judge calibration file that does not fit: said before any call too
        check_calibration(store.config, theory)
    done = {stream: store.done_keys(stream) for stream in {u.stream for u in units}}
    todo = [u for u in units if u.key not in done[u.stream]]
    await pool.preflight(list(dict.fromkeys(models)))

    def stop() -> str | None:
        if max_cost is not None and (cost := spent(store, pool)) >= max_cost:
            return f"cost cap reached (${cost:.4f} ≥ ${max_cost}): raise {cap_field} and --resume"
        return None

    pool.spend_gate = stop  # calls queued behind the limits stop too, not only units not yet started
    with progress_bar(pool.ledger, in_flight=pool.in_flight) as progress:
        task = progress.add_task(label, total=len(units), completed=len(units) - len(todo))

        def advanced() -> None:
            progress.advance(task)
            store.save_usage(pool.ledger)

        result = await run_units(store, todo, workers=unit_workers(pool, models), on_done=advanced, stop=stop)
    store.save_usage(pool.ledger)
    return result
