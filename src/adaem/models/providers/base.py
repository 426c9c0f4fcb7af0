from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from ..types import ChatMessage, Choice, GenerateConfig, Usage


@dataclass
class Completion:
    """One sample from a provider, with its raw response kept for the record."""

    choice: Choice
    usage: Usage = field(default_factory=Usage)
    raw: Any = None


class Provider(ABC):
    """A backend that can produce one sample. Never retries, caches or limits itself."""

    provider: str
    model: str
    base_url: str | None = None
    default_concurrency: int = 16
    shares_cpu: bool = False  # in-process models compete for the same cores
    applies_timeout: bool = True  # in-process calls cannot be abandoned mid-way
    reuses_prefix: bool = False  # keeps the previous prompt's KV state: consecutive calls sharing a prefix are cheap
    schema_opinions: bool = False  # cannot keep a free-text format: opinions are asked for under a JSON schema

    @abstractmethod
    async def complete(self, messages: list[ChatMessage], config: GenerateConfig) -> Completion:
        """Produce one sample (config.num_samples is always 1 here)."""

    def preflight(self) -> Awaitable[None] | None:
        """Check the model can be used before work starts (weights present, URL reachable, key accepted); raise
        ConfigError or ModelCallError naming the problem. May be a coroutine."""
        return None

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections or weights."""

    @property
    def name(self) -> str:
        return f"{self.provider}/{self.model}"
