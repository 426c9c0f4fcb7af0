"""Running a job: its event loop, its model pool, and how its session ends in the run's state.

Kept apart from `store` (which only stores) so that storage does not depend on the model layer."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from .models.pool import ModelPool
from .store import RunStore

T = TypeVar("T")
P = ParamSpec("P")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, also where an event loop is already running (Jupyter):
    there it runs on a fresh loop in a worker thread, since asyncio.run() cannot nest."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="adaem-run") as worker:
        return worker.submit(asyncio.run, coro).result()


async def run_job_async(store: RunStore, work: Callable[[ModelPool], Awaitable[T]], failed: Callable[[T], bool]) -> T:
    """Run a job's async work over a pool on the store's cache; record how the session ended, close the store."""
    pool = ModelPool(store.config, cache=store.cache)
    try:
        try:
            result = await work(pool)
        finally:
            await pool.aclose()
    except BaseException:
        store.finish("interrupted")
        store.close()
        raise
    store.finish("finished with failures" if failed(result) else "finished")
    store.close()
    return result


def run_job(store: RunStore, work: Callable[[ModelPool], Awaitable[T]], failed: Callable[[T], bool]) -> T:
    return run_sync(run_job_async(store, work, failed))


def sync_twin(function: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """The blocking twin of an async public function (same signature and docstring), usable from scripts and
    from inside a running loop (Jupyter) alike: `evaluate = sync_twin(evaluate_async)`."""

    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return run_sync(function(*args, **kwargs))

    run.__name__ = run.__qualname__ = function.__name__.removesuffix("_async")
    return run
