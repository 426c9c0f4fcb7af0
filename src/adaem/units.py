"""The one resumable unit loop of the jobs that answer units (evaluate, compare, prime):
what is not done yet runs, at most `workers` at a time; each finished unit is one appended line; a unit whose
model calls failed for good is recorded as a failure (retried on --resume); before each unit starts, `stop`
may say why no more should (a cost cap), and the units not started stay undone for --resume."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .batching import export_round, import_outputs, run_batches, wait_open_batches
from .calibration import check_calibration
from .errors import BudgetReached, ModelCallError
from .models import ModelPool
from .models.batch import BatchCollector, Deferred
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
    deferred: list[Unit] = field(default_factory=list)  # batch mode: units waiting for a batch's results


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
            except Deferred:  # its next call went into a batch: it runs again when the results are in
                result.deferred.append(unit)
                continue
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
    result.left = len(queue) + len(result.deferred)
    return result


def spent(store: RunStore, pool: ModelPool) -> float:
    """USD recorded by this run, every session (prices from the config; 0 without them)."""
    return store.previous_usage()["cost"] + pool.ledger.total().cost


def unit_workers(pool: ModelPool, models: list[str]) -> int:
    """Units in flight: enough to keep every model's connections busy (a unit waits on one model at a time)."""
    return 2 * max((pool.get(m).concurrency for m in models), default=2)


async def run_phase(store: RunStore, pool: ModelPool, units: list[Unit], *, label: str, models: list[str],
                    max_cost: float | None, embeddings: bool, theory: str | None = None,
                    cap_field: str = "evaluation.max_cost") -> UnitsResult:
    """Run a job's units that are not in its streams yet, with a progress bar over all of them, the models (and
    the sentence-embedding model, if the units need it) checked first, and a cost cap (`max_cost`, USD over every
    session) that stops starting units and queued calls alike, so what is left resumes."""
    if embeddings:
        from .embeddings import check_installed

        check_installed()  # a broken install: one line saying what to install, before any call is paid for
    if theory is not None:  # a judge calibration file that does not fit: said before any call too
        check_calibration(store.config, theory)
    done = {stream: store.done_keys(stream) for stream in {u.stream for u in units}}
    todo = [u for u in units if u.key not in done[u.stream]]
    offline = store.config.batch.mode == "export"  # exported models may have no server at all (vLLM run_batch)
    await pool.preflight([m for m in dict.fromkeys(models) if not (offline and pool.get(m).provider.batch_files)])

    def stop() -> str | None:
        if max_cost is not None and (cost := spent(store, pool)) >= max_cost:
            return f"cost cap reached (${cost:.4f} ≥ ${max_cost}): raise {cap_field} and --resume"
        return None

    pool.spend_gate = stop  # calls queued behind the limits stop too, not only units not yet started

    def budget() -> float | None:
        """USD the cap leaves (batch rounds and exports are cut to it before they are sent); None: no cap."""
        return None if max_cost is None else max_cost - spent(store, pool)

    pool.budget, pool.cap_hint = budget, f"raise {cap_field} and --resume"  # live calls reserve their cost
    settings = store.config.batch
    collector = None if settings.mode == "off" else BatchCollector(settings.mode)
    pool.collector = collector
    try:
        with progress_bar(pool.ledger, in_flight=pool.in_flight) as progress:
            if settings.import_dir is not None:
                imported = import_outputs(pool, settings.import_dir, collector)
                found = ", ".join(f"{name} {ok} answered, {bad} failed" + (f" ({'; '.join(why)})" if why else "")
                                  for name, (ok, bad, why) in imported.items())
                progress.console.print(f"batch outputs read from {settings.import_dir}: {found or 'none found'}",
                                       highlight=False, markup=False)
            paused = None
            if collector is not None:  # a killed run's batches first: re-attached, not paid for again
                paused = await wait_open_batches(store, pool, collector, progress)
            task = progress.add_task(label, total=len(units), completed=len(units) - len(todo))

            def advanced() -> None:
                progress.advance(task)
                store.save_usage(pool.ledger)

            failed: list[dict[str, Any]] = []
            if paused:
                result = UnitsResult(stopped=paused, left=len(todo))
            while not paused:
                result = await run_units(store, todo, workers=unit_workers(pool, models), on_done=advanced, stop=stop)
                failed += result.failures
                if collector is None or not result.deferred or result.stopped:
                    break
                if settings.mode == "export":  # this round's requests out to files: the run stops here
                    assert settings.export_dir is not None
                    result.stopped = export_round(pool, collector, settings.export_dir, budget, cap_field)
                    break
                paused = await run_batches(store, pool, collector, progress, budget=budget, cap_field=cap_field)
                if paused:  # a cost cap, a queue that will not take the batch, an outage: --resume goes on
                    result.stopped = paused
                    break
                todo = result.deferred  # their batched calls are cached now; they go on to their next step
            result.failures = failed
    finally:
        pool.collector = None
        pool.budget = None
        store.save_usage(pool.ledger)
        if replicas := pool.replica_rows():
            store.put(f"replicas/{store.session}", replicas)
        if facts := pool.endpoint_facts():
            store.put("endpoint_facts", facts)
    return result
