"""What a batch may hold: the vendors' enqueued-token limits, a request's tokens and cost before it is sent.

OpenAI caps the input tokens a model's batches may hold enqueued at once, per usage tier; a batch over the cap is
accepted and then fails as a whole with `token_limit_exceeded` ("Enqueued token limit reached for gpt-4o-mini in
organization org-…. Limit: 2,000,000 enqueued tokens. Please try again once some in_progress batches have been
completed."). The documented figures below are the defaults; `batch.max_enqueued_tokens` overrides them per model,
and a limit read from a refusal's message lowers them for the rest of the run.

Sources (stored copies, checked 2026-12-06): OpenAI's Batch API FAQ (help.openai.com/en/articles/9197833: "each usage
tier has an associated batch rate limit ... the maximum number of input tokens you have enqueued at one time");
the per-model limits pages as quoted on community.openai.com (t/1028595, 2024: tier 1 gpt-4o 90,000, gpt-4o-mini
2,000,000; t/1269349, 2025-05: gpt-4o-mini tiers 1-5 2M / 20M / 40M / 1B / 15B) and OpenAI's gpt-5 rate-limit
announcement of 2025-09 (simonwillison.net/2025/Sep/12: gpt-5 tier 1 1.5M, tier 2 3M; gpt-5-mini tier 1 5M).
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from .types import ChatMessage, GenerateConfig

if TYPE_CHECKING:
    from ..config import RunConfig

# model name prefix -> {usage tier: input tokens enqueued at most}
OPENAI_QUEUE_LIMITS: dict[str, dict[int, int]] = {
    "gpt-4o-mini": {1: 2_000_000, 2: 20_000_000, 3: 40_000_000, 4: 1_000_000_000, 5: 15_000_000_000},
    "gpt-4o": {1: 90_000},
    "gpt-5-mini": {1: 5_000_000},
    "gpt-5": {1: 1_500_000, 2: 3_000_000},
    "o1-mini": {1: 2_000_000},
    "o1-preview": {1: 90_000},
    "gpt-4-turbo": {1: 90_000},
    "gpt-4": {1: 100_000},
    "gpt-3.5-turbo": {1: 2_000_000},
}
OPENAI_FALLBACK = 90_000  # an OpenAI model without a documented figure: the smallest tier-1 one of a chat model
_LIMIT_IN_MESSAGE = re.compile(r"Limit:\s*([\d,]+)\s*enqueued tokens", re.IGNORECASE)
BYTES_PER_TOKEN = 3  # conservative: English runs ~4 characters a token, Chinese ~1 character (3 UTF-8 bytes)
TOKENS_PER_MESSAGE = 4


def queue_limit(config: RunConfig, model: str) -> int | None:
    """The input tokens a model's batches may hold enqueued at once; None: no documented limit."""
    if model in config.batch.max_enqueued_tokens:
        return config.batch.max_enqueued_tokens[model]
    provider, _, name = model.partition("/")
    if provider != "openai":
        return None
    for prefix in sorted(OPENAI_QUEUE_LIMITS, key=len, reverse=True):
        if name == prefix or name.startswith(prefix + "-"):
            tiers = OPENAI_QUEUE_LIMITS[prefix]
            return tiers[max(t for t in tiers if t <= config.batch.tier)]
    return OPENAI_FALLBACK


def limit_from_message(message: str) -> int | None:
    """The limit an enqueued-token refusal names ("Limit: 2,000,000 enqueued tokens"), if it names one."""
    found = _LIMIT_IN_MESSAGE.search(message or "")
    return int(found.group(1).replace(",", "")) if found else None


def request_tokens(messages: list[ChatMessage]) -> int:
    """Input tokens of a request, counted high on purpose (a batch over the queue limit fails as a whole)."""
    return 3 + sum(TOKENS_PER_MESSAGE + math.ceil(len(m.content.encode()) / BYTES_PER_TOKEN) for m in messages)


def request_cost(config: RunConfig, model: str, messages: list[ChatMessage], call: GenerateConfig,
                 *, price_factor: float, reasoning_tokens: int = 0) -> float:
    """USD a request costs at most: its input tokens counted high, its whole token cap as output (plus the tokens a
    reasoning model is expected to reason), at the model's price and the route's price factor."""
    price = config.prices.get(model)
    if price is None:
        return 0.0
    out = call.max_tokens + reasoning_tokens
    return (request_tokens(messages) * price.input + out * price.output) / 1e6 * price_factor
