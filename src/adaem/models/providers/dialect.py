"""The request body of one OpenAI-compatible chat call, in the dialect its endpoint declares.

Vendors that call themselves OpenAI-compatible differ in field names (Mistral's `random_seed`, OpenAI's
`max_completion_tokens`), in what they take at all (Groq and Mistral refuse `logprobs`; Mistral answers HTTP 422 to
any field it does not define) and in how their reasoning models must be called (OpenAI's o-series refuse
`temperature` other than 1, `top_p`, `logprobs`, and spend their hidden reasoning out of the same token cap as the
answer). The endpoint's declaration (config.Endpoint) says which; the body carries only what it allows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..reasoning import is_reasoning
from ..types import ChatMessage, GenerateConfig

if TYPE_CHECKING:
    from ...config import Endpoint


@dataclass(frozen=True)
class Dialect:
    seed_field: str | None = "seed"
    max_tokens_field: str = "max_tokens"
    sampling_fields: tuple[str, ...] = ("temperature", "top_p")
    max_temperature: float = 2.0
    stop: bool = True
    logprobs: bool = True
    max_top_logprobs: int = 20
    structured_output: str = "json_schema"
    extra_body: dict[str, Any] = field(default_factory=dict)
    reasoning: bool = False  # this model reasons (hidden tokens out of the cap, no log-probabilities)
    drops: frozenset[str] = frozenset()  # fields a reasoning model refuses
    allowance: int = 0  # tokens added to the cap of a reasoning model's call
    effort: str | None = None  # reasoning_effort sent to a reasoning model
    disable: dict[str, Any] | None = None  # fields that switch a hybrid model's reasoning off (declared chat)

    @classmethod
    def of(cls, endpoint: Endpoint, model: str, declared: str | None = None) -> Dialect:
        """The dialect of one model on an endpoint; `declared` is model_info's kind (reasoning / chat / None)."""
        spec = endpoint.reasoning
        reasoning = is_reasoning(model, spec.models, declared)
        return cls(
            seed_field=endpoint.seed_field, max_tokens_field=endpoint.max_tokens_field,
            sampling_fields=tuple(endpoint.sampling_fields), max_temperature=endpoint.max_temperature,
            stop=endpoint.stop, logprobs=endpoint.logprobs is not False and not reasoning,
            max_top_logprobs=endpoint.max_top_logprobs, structured_output=endpoint.structured_output,
            extra_body=dict(endpoint.extra_body), reasoning=reasoning,
            drops=frozenset(spec.drops) if reasoning else frozenset(), allowance=spec.allowance if reasoning else 0,
            effort=spec.effort if reasoning else None,
            # only a model that would reason by its name is a hybrid to switch off (another one gets no such field)
            disable=spec.disable if declared == "chat" and spec.disable and spec.matches(model) else None,
        )

    @property
    def variant(self) -> str | None:
        """What of this dialect changes the answers beyond the call's own settings (part of the cache key)."""
        parts = ([f"reasoning_effort={self.effort}"] if self.effort else []) + (
            [f"disable={sorted(self.disable.items())}"] if self.disable else [])
        return ";".join(parts) or None

    def body(self, model: str, messages: list[ChatMessage], config: GenerateConfig) -> dict[str, Any]:
        body: dict[str, Any] = {"model": model, "messages": [m.model_dump() for m in messages]}
        if "temperature" in self.sampling_fields and "temperature" not in self.drops:
            body["temperature"] = min(config.temperature, self.max_temperature)
        if "top_p" in self.sampling_fields and "top_p" not in self.drops:
            body["top_p"] = config.top_p
        body[self.max_tokens_field] = config.max_tokens + self.allowance
        if config.seed is not None and self.seed_field and "seed" not in self.drops:
            body[self.seed_field] = config.seed
        if config.stop and self.stop and "stop" not in self.drops:
            body["stop"] = list(config.stop)
        if config.logprobs and self.logprobs:  # a server without them may refuse the field (Groq: HTTP 400)
            body["logprobs"] = True
            if config.top_logprobs and self.max_top_logprobs:
                body["top_logprobs"] = min(config.top_logprobs, self.max_top_logprobs)
        if config.json_schema is not None and self.structured_output != "none":
            if self.structured_output == "json_object":  # llama.cpp's server honours this form, not json_schema
                body["response_format"] = {"type": "json_object", "schema": config.json_schema}
            else:
                strict = config.json_schema.get("additionalProperties") is False
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "answer", "schema": config.json_schema, "strict": strict},
                }
        if self.effort:
            body["reasoning_effort"] = self.effort
        if self.disable:
            body.update(self.disable)
        body.update(self.extra_body)
        return body
