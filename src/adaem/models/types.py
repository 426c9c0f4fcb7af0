"""The records every provider speaks: messages in, a ModelOutput out.

Kept free of provider imports so the core (measure, generate, evaluate) can depend on it alone.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import AdaemError, BudgetReached, ConfigError, ModelCallError, OutputParseError, TransientError

__all__ = [
    "AdaemError", "BudgetReached", "CallKey", "ChatMessage", "Choice", "ConfigError", "GenerateConfig", "ModelCallError",
    "ModelOutput", "OutputParseError", "TokenLogprob", "TransientError", "Usage", "as_messages",
]

Role = Literal["system", "user", "assistant"]


class ChatMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Role
    content: str


def as_messages(prompt: str | list[ChatMessage] | list[dict[str, str]]) -> list[ChatMessage]:
    """Accept a bare string, dicts or ChatMessages, as inspect_ai's generate() does."""
    if isinstance(prompt, str):
        return [ChatMessage(role="user", content=prompt)]
    return [m if isinstance(m, ChatMessage) else ChatMessage(**m) for m in prompt]


class GenerateConfig(BaseModel):
    """Sampling settings of one call. Everything here is part of the cache key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature: float = Field(1.0, ge=0.0, le=2.0)
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    max_tokens: int = Field(256, ge=1)
    seed: int | None = None
    num_samples: int = Field(1, ge=1, description="independent samples; each is cached by its index")
    logprobs: bool = False
    top_logprobs: int = Field(0, ge=0, le=20)
    json_schema: dict[str, Any] | None = Field(
        None, description="constrain the answer to this JSON schema (grammar or response_format)"
    )
    stop: tuple[str, ...] = ()

    def for_sample(self, index: int) -> GenerateConfig:
        """One sample's settings. Sample 0 keeps the seed; sample i > 0 gets a seed hashed from (seed, i), not
        seed + i: with seed + i, a run at seed 1 would take as its first answer the second answer of a run at
        seed 0 (a parse retry), and two "independent" runs would share answers."""
        seed = self.seed if self.seed is None or index == 0 else sample_seed(self.seed, index)
        return self.model_copy(update={"num_samples": 1, "seed": seed})


def sample_seed(seed: int, index: int) -> int:
    """A 31-bit seed for sample `index` of a call seeded `seed` (fits llama.cpp's and OpenAI's seed fields)."""
    digest = hashlib.sha256(f"adaem-sample:{seed}:{index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


class TokenLogprob(BaseModel):
    token: str
    logprob: float
    top: dict[str, float] = Field(default_factory=dict)


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0  # every generated token billed, hidden reasoning included
    reasoning_tokens: int = 0  # of the output tokens, those a reasoning model spent before its answer


class Choice(BaseModel):
    text: str
    finish_reason: str | None = None
    logprobs: list[TokenLogprob] | None = None

    def parse_json(self) -> Any:
        """The text parsed as JSON; raises OutputParseError when it is not."""
        try:
            return json.loads(self.text)
        except json.JSONDecodeError as exc:
            raise OutputParseError(f"answer is not valid JSON ({exc.msg}): {self.text[:120]!r}") from exc


class ModelOutput(BaseModel):
    """One call's result. `choices` holds num_samples entries; `raw` keeps what the provider sent."""

    model: str
    choices: list[Choice]
    usage: Usage = Field(default_factory=Usage)
    cached: bool = False
    raw: list[Any] = Field(default_factory=list)

    @property
    def text(self) -> str:
        return self.choices[0].text


class CallKey(BaseModel):
    """Everything that makes two calls the same call: the cache key (never holds an API key)."""

    provider: str
    base_url: str | None
    model: str
    messages: list[ChatMessage]
    config: GenerateConfig
    sample_index: int
    variant: str | None = None  # provider settings that change the answer (reasoning effort, thinking off)

    def digest(self) -> str:
        payload = self.model_dump(mode="json")
        if payload["variant"] is None:  # keys made before variants existed stay valid
            del payload["variant"]
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()
