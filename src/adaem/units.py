"""The one resumable unit loop of the jobs that answer units (evaluate; compare and prime to follow):
what is not done yet runs, at most `workers` at a time; each finished unit is one appended line; a unit whose
model calls failed for good is recorded as a failure (retried on --resume); before each unit starts, `stop`
may say why no more should (a cost cap), and the units not started stay undone for --resume."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import BudgetReached, ModelCallError
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

    await asyncio.gather(*(worker() for _ in range(max(1, min(workers, len(units))))))
    result.left = len(queue)
    return result
