from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from ..types import ChatMessage, Choice, GenerateConfig, ModelCallError, Usage


@dataclass
class Completion:
    """One sample from a provider, with its raw response kept for the record."""

    choice: Choice
    usage: Usage = field(default_factory=Usage)
    raw: Any = None


@dataclass
class BatchStatus:
    """Where a submitted batch stands. `state`: running (poll again), ended (results can be read: completed,
    expired or cancelled with partial output), failed (the batch as a whole was refused; nothing to read)."""

    state: str
    done: int = 0  # requests finished so far (succeeded or failed)
    total: int = 0
    detail: str = ""
    code: str = ""  # the vendor's error code of a failed batch (OpenAI: token_limit_exceeded when over the queue)


@dataclass
class BatchResults:
    """What an ended batch gave: a Completion per custom id that succeeded, an error text per one that did not."""

    completions: dict[str, Completion] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


class Provider(ABC):
    """A backend that can produce one sample. Never retries, caches or limits itself."""

    provider: str
    model: str
    base_url: str | None = None
    default_concurrency: int = 16
    shares_cpu: bool = False  # in-process models compete for the same cores
    applies_timeout: bool = True  # the pipeline bounds each attempt (False: in-process calls cannot be abandoned mid-way, or the provider bounds them itself)
    reuses_prefix: bool = False  # keeps the previous prompt's KV state: consecutive calls sharing a prefix are cheap
    batches_prompts: bool = False  # complete_many evaluates several prompts together (cheaper than one at a time)
    schema_opinions: bool = False  # cannot keep a free-text format: opinions are asked for under a JSON schema
    logprobs: bool = True  # returns token log-probabilities (else the judge reads its labels from the text)
    batch: bool = False  # has a batch API (submit_batch / batch_status / batch_results work)
    batch_discount: float = 0.5  # price factor of a call made through the batch API
    batch_files: bool = False  # its requests can be written as OpenAI batch files (export / import)
    replicas: int = 1  # independent servers behind the name: the concurrency limit applies to each
    reasoning: bool = False  # hidden reasoning before the answer: spends tokens, gives no usable log-probabilities
    variant: str | None = None  # provider settings that change the answers (part of the cache key)

    @abstractmethod
    async def complete(self, messages: list[ChatMessage], config: GenerateConfig) -> Completion:
        """Produce one sample (config.num_samples is always 1 here)."""

    async def complete_many(self, calls: list[tuple[list[ChatMessage], GenerateConfig]]) -> list[Completion | ModelCallError]:
        """One sample of each call, in order; a call that fails gives its error in its place. Default: one call
        after another (a provider with `batches_prompts` evaluates them together)."""
        out: list[Completion | ModelCallError] = []
        for messages, config in calls:
            try:
                out.append(await self.complete(messages, config))
            except ModelCallError as exc:
                out.append(exc)
        return out

    def preflight(self) -> Awaitable[None] | None:
        """Check the model can be used before work starts (weights present, URL reachable, key accepted); raise
        ConfigError or ModelCallError naming the problem. May be a coroutine."""
        return None

    def batch_line(self, custom_id: str, messages: list[ChatMessage], config: GenerateConfig) -> dict[str, Any]:
        """One request of a batch input file in this provider's format (OpenAI's batch JSONL line, Anthropic's
        Message Batches request). `custom_id` is the call's cache key digest (64 hex characters)."""
        raise NotImplementedError(f"{self.name} has no batch format")

    async def submit_batch(self, lines: list[dict[str, Any]]) -> str:
        """Submit batch_line() requests as one batch; returns the provider's batch id."""
        raise NotImplementedError(f"{self.name} has no batch API")

    async def batch_status(self, batch_id: str) -> BatchStatus:
        raise NotImplementedError(f"{self.name} has no batch API")

    async def batch_results(self, batch_id: str) -> BatchResults:
        """The results of an ended batch, by custom id."""
        raise NotImplementedError(f"{self.name} has no batch API")

    def replica_rows(self) -> list[dict[str, Any]]:
        """Calls and errors per replica, when the name stands for several servers."""
        return []

    @property
    def facts(self) -> dict[str, Any]:
        """What the provider learnt about its server by asking (an OpenAI-compatible endpoint you named: whether it
        returns log-probabilities); empty when it asked nothing."""
        return {}

    def read_batch_output(self, data: bytes, results: BatchResults) -> None:
        """Add the lines of a batch output file (this provider's format) to `results`."""
        raise NotImplementedError(f"{self.name} has no batch format")

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections or weights."""

    @property
    def name(self) -> str:
        return f"{self.provider}/{self.model}"
