"""The one road every LLM call takes: cache → concurrency limit → retries with backoff → accounting.

`Model.generate()` is the only generate() the rest of adaem calls, whatever the provider.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence

from ..config import Limits
from .accounting import Ledger
from .batch import BatchCollector, Deferred
from .cache import CallCache
from .providers.base import Completion, Provider
from .types import (
    BudgetReached,
    CallKey,
    ChatMessage,
    GenerateConfig,
    ModelCallError,
    ModelOutput,
    TransientError,
    Usage,
    as_messages,
)


def backoff_delay(attempt: int, base: float, cap: float, rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
    return rand() * min(cap, base * (2**attempt))


class LoopSemaphore:
    """A semaphore per event loop, so a pool survives several asyncio.run() calls (tests, notebooks)."""

    def __init__(self, value: int):
        self.value = value
        self._by_loop: dict[int, asyncio.Semaphore] = {}

    def get(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        sem = self._by_loop.get(id(loop))
        if sem is None:
            self._by_loop = {id(loop): (sem := asyncio.Semaphore(self.value))}
        return sem


class Model:
    """A provider behind the shared pipeline. Cheap to hold; one per model name in a pool."""

    def __init__(
        self,
        provider: Provider,
        *,
        limits: Limits,
        cache: CallCache | None,
        ledger: Ledger,
        cpu_slots: LoopSemaphore | None = None,
        on_event: Callable[[str], None] | None = None,
        spend_gate: Callable[[], str | None] | None = None,
        collector: Callable[[], BatchCollector | None] | None = None,
        reserve: Callable[[list[ChatMessage], GenerateConfig], float] | None = None,
        release: Callable[[float], None] | None = None,
    ):
        self.provider = provider
        self.limits = limits
        self.cache = cache
        self.ledger = ledger
        self._slots = LoopSemaphore(self.concurrency)
        self._cpu_slots = cpu_slots if provider.shares_cpu else None
        self._session = LoopSemaphore(1)
        self._on_event = on_event
        self._spend_gate = spend_gate
        self._collector = collector
        self._reserve = reserve
        self._release = release
        self.in_flight = 0
        self.peak_in_flight = 0

    @property
    def name(self) -> str:
        return self.provider.name

    @property
    def concurrency(self) -> int:
        """Calls in flight at most. The limit is per replica: the provider routes each to one with a free slot."""
        return (self.limits.max_concurrency or self.provider.default_concurrency) * self.provider.replicas

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        """Hold the model for a run of calls that share a long prompt prefix (a judge asking about one text value
        by value). A model that keeps its previous prompt's KV state then evaluates only each call's new tokens;
        interleaved with another text's calls it would evaluate every prompt whole (measured: ~3 s instead of
        well under 1 s per call of the embedded 1.5B judge). Other models: no effect, calls stay concurrent."""
        if not self.provider.reuses_prefix:
            yield
            return
        async with self._session.get():
            yield

    def key(self, messages: list[ChatMessage], config: GenerateConfig, index: int) -> CallKey:
        return CallKey(
            provider=self.provider.provider,
            base_url=self.provider.base_url,
            model=self.provider.model,
            messages=messages,
            config=config.for_sample(index),
            sample_index=index,
            variant=self.provider.variant,
        )

    async def generate(
        self,
        prompt: str | list[ChatMessage] | list[dict[str, str]],
        config: GenerateConfig | None = None,
        *,
        role: str = "default",
    ) -> ModelOutput:
        """All num_samples samples of one prompt; each sample is cached, limited and retried on its own.

        Raises ModelCallError when a sample fails for good; the samples that did finish stay cached."""
        config = config or GenerateConfig()
        messages = as_messages(prompt)
        results = await asyncio.gather(
            *(self._sample(messages, config, i, role) for i in range(config.num_samples)), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        done: list[tuple[Completion, bool]] = results  # type: ignore[assignment]
        usage = Usage(
            input_tokens=sum(c.usage.input_tokens for c, _ in done),
            output_tokens=sum(c.usage.output_tokens for c, _ in done),
            reasoning_tokens=sum(c.usage.reasoning_tokens for c, _ in done),
        )
        return ModelOutput(
            model=self.name,
            choices=[c.choice for c, _ in done],
            usage=usage,
            cached=all(hit for _, hit in done),
            raw=[c.raw for c, _ in done],
        )

    async def generate_many(
        self,
        prompts: Sequence[str | list[ChatMessage] | list[dict[str, str]]],
        config: GenerateConfig | None = None,
        *,
        role: str = "default",
    ) -> list[ModelOutput]:
        """generate() of each prompt under one config, made together: the same calls, each cached, counted and
        retried as its own. A provider that evaluates prompts together (`batches_prompts`: the embedded models,
        which take a judge's verdicts on one text as one llama.cpp batch) gets the cache misses in one request; one
        that reuses its prompt prefix gets them one after another, in order; any other gets them all at once.

        Raises the first ModelCallError once every call has ended; the calls that did finish stay cached."""
        config = config or GenerateConfig()
        if not self.provider.batches_prompts or self.provider.batch or config.num_samples != 1:
            if self.provider.reuses_prefix:
                return [await self.generate(p, config, role=role) for p in prompts]
            return list(await asyncio.gather(*(self.generate(p, config, role=role) for p in prompts)))
        messages = [as_messages(p) for p in prompts]
        keys = [self.key(m, config, 0) for m in messages]
        done: list[tuple[Completion, bool] | BaseException | None] = [None] * len(messages)
        for i, key in enumerate(keys):
            stored = self.cache.get(key.digest()) if self.cache is not None else None
            if stored is not None:
                self.ledger.record_hit(self.name, role)
                self._event("hit")
                done[i] = (Completion(*stored), True)
        misses = [i for i, d in enumerate(done) if d is None]
        if misses:
            answers = await self._call_many([(messages[i], keys[i].config) for i in misses], role)
            for i, answer in zip(misses, answers, strict=True):
                if isinstance(answer, TransientError):  # retried on its own, as generate() would
                    self.ledger.record_retry(self.name, role)
                    self._event("retry")
                    try:
                        answer = await self._call_with_retries(messages[i], keys[i].config, role)
                    except ModelCallError as exc:
                        answer = exc
                if isinstance(answer, BaseException):
                    done[i] = answer
                    continue
                if self.cache is not None:
                    self.cache.put(keys[i].digest(), self.name, answer.choice, answer.usage, answer.raw)
                done[i] = (answer, False)
        outputs: list[ModelOutput] = []
        for d in done:
            if isinstance(d, BaseException):
                raise d
            assert d is not None
            completion, was_cached = d
            outputs.append(ModelOutput(model=self.name, choices=[completion.choice], usage=completion.usage,
                                       cached=was_cached, raw=[completion.raw]))
        return outputs

    async def _call_many(self, calls: list[tuple[list[ChatMessage], GenerateConfig]],
                         role: str) -> list[Completion | ModelCallError]:
        """One provider request for several calls (under one concurrency and CPU slot), each call counted as a
        call of its own, with an equal share of the request's time. A call that failed gives its error in its place
        (recorded as an error unless transient: the caller retries those)."""
        cpu = self._cpu_slots.get() if self._cpu_slots is not None else None
        held = 0.0
        async with self._slots.get():
            why = self._spend_gate() if self._spend_gate is not None else None
            if why:
                raise BudgetReached(why)
            try:
                for messages, config in calls:
                    held += self._reserve(messages, config) if self._reserve is not None else 0.0
            except BudgetReached:
                if held and self._release is not None:
                    self._release(held)
                raise
            if cpu is not None:
                await cpu.acquire()
            self.in_flight += len(calls)
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            started = time.perf_counter()
            try:
                timeout = self.limits.timeout * len(calls) if self.provider.applies_timeout and self.limits.timeout else None
                try:
                    async with asyncio.timeout(timeout):
                        answers = await self.provider.complete_many(calls)
                except TimeoutError:
                    if timeout is None:
                        raise
                    answers = [TransientError(f"{self.name}: no answer within {timeout:g}s")] * len(calls)
            finally:
                self.in_flight -= len(calls)
                if cpu is not None:
                    cpu.release()
                if held and self._release is not None:
                    self._release(held)
        seconds = (time.perf_counter() - started) / max(len(calls), 1)
        for answer in answers:
            if isinstance(answer, TransientError):
                continue
            if isinstance(answer, ModelCallError):
                self.ledger.record_error(self.name, role)
                self._event("error")
                continue
            self.ledger.record_call(self.name, role, answer.usage, seconds)
            self._event("call")
        return answers

    async def _sample(self, messages: list[ChatMessage], config: GenerateConfig, index: int, role: str):
        key = self.key(messages, config, index)
        digest = key.digest()
        if self.cache is not None:
            hit = self.cache.get(digest)
            if hit is not None:
                self.ledger.record_hit(self.name, role)
                self._event("hit")
                return Completion(*hit), True
            collector = self._collector() if self._collector is not None else None
            if collector is not None:
                failed = collector.failed.get(digest)
                if failed is not None:  # its batch answered with an error: that is this call's failure
                    self.ledger.record_error(self.name, role)
                    self._event("error")
                    raise ModelCallError(f"{self.name}: the batch answered this call with an error: {failed}")
                if collector.takes(self.provider, digest):
                    why = self._spend_gate() if self._spend_gate is not None else None
                    if why:  # the cap holds for collected calls too, not only for calls made live
                        raise BudgetReached(why)
                    collector.add(self.name, digest, messages, key.config, role)
                    raise Deferred(self.name)
        completion = await self._call_with_retries(messages, key.config, role)
        if self.cache is not None:
            self.cache.put(digest, self.name, completion.choice, completion.usage, completion.raw)
        return completion, False

    async def _call_with_retries(self, messages: list[ChatMessage], config: GenerateConfig, role: str) -> Completion:
        attempt = 0
        while True:
            try:
                return await self._call_once(messages, config, role)
            except BudgetReached:
                raise
            except TransientError as exc:
                if attempt >= self.limits.max_retries:
                    self.ledger.record_error(self.name, role)
                    self._event("error")
                    tries = "1 attempt" if attempt == 0 else f"{attempt + 1} attempts"
                    raise ModelCallError(f"{exc} (gave up after {tries})", retryable=True, status=exc.status) from None
                delay = backoff_delay(attempt, self.limits.backoff_base, self.limits.backoff_max)
                if exc.retry_after is not None:
                    delay = max(delay, exc.retry_after)
                self.ledger.record_retry(self.name, role)
                self._event("retry")
                attempt += 1
                await asyncio.sleep(delay)
            except ModelCallError:
                self.ledger.record_error(self.name, role)
                self._event("error")
                raise

    async def _call_once(self, messages: list[ChatMessage], config: GenerateConfig, role: str) -> Completion:
        cpu = self._cpu_slots.get() if self._cpu_slots is not None else None
        async with self._slots.get():
            why = self._spend_gate() if self._spend_gate is not None else None
            if why:  # checked when the call would go out, so calls queued behind the limit stop too
                raise BudgetReached(why)
            held = self._reserve(messages, config) if self._reserve is not None else 0.0
            if cpu is not None:
                await cpu.acquire()
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            started = time.perf_counter()
            try:
                timeout = self.limits.timeout if self.provider.applies_timeout else None
                try:
                    async with asyncio.timeout(timeout):  # unlike wait_for, no extra task per call
                        completion = await self.provider.complete(messages, config)
                except TimeoutError:
                    if timeout is None:
                        raise
                    raise TransientError(f"{self.name}: no answer within {timeout:g}s") from None
            finally:
                self.in_flight -= 1
                if cpu is not None:
                    cpu.release()
                if held and self._release is not None:  # paid (recorded below) or failed: no longer at stake
                    self._release(held)
        self.ledger.record_call(self.name, role, completion.usage, time.perf_counter() - started)
        self._event("call")
        return completion

    def _event(self, kind: str) -> None:
        if self._on_event is not None:
            self._on_event(kind)
