"""Reasoning models: which models reason, and the answer of one with its reasoning taken out.

Vendors return hidden reasoning in four shapes, and none of it may be parsed as the answer:
- a field beside `content`: `reasoning_content` (DeepSeek, DashScope, Zhipu, Fireworks, SGLang, llama.cpp server,
  older vLLM) or `reasoning` (current vLLM, OpenRouter, Groq's `parsed` format, Ollama);
- `<think>…</think>` at the start of `content` (Groq's `raw` format, engines without a reasoning parser; DeepSeek-R1's
  first release opens with no `<think>` and only closes one);
- a list of content chunks with `thinking` chunks (Mistral's Magistral);
- nothing at all: OpenAI's o-series and gpt-5, Gemini, only report the count in
  `usage.completion_tokens_details.reasoning_tokens`.
"""

from __future__ import annotations

import re
from typing import Any

_THINK_OPEN = re.compile(r"^\s*<(think|thinking|reasoning)>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</(think|thinking|reasoning)>", re.IGNORECASE)
CHARS_PER_TOKEN = 4  # for reasoning text whose tokens the server does not count


def is_reasoning(model: str, patterns: list[str], declared: str | None) -> bool:
    """Whether a model reasons: as `model_info` declares (`reasoning` or `chat`), else by the endpoint's documented
    name patterns (whole name, any case)."""
    if declared in ("reasoning", "chat"):
        return declared == "reasoning"
    return any(re.fullmatch(p, model, re.IGNORECASE) for p in patterns)


def split_think(text: str) -> tuple[str, str]:
    """(answer, reasoning) of a text that may carry its reasoning inline: a leading `<think>…</think>` block, or
    reasoning closed by `</think>` without an opening tag. A block never closed is all reasoning (the cap cut it)."""
    opened = _THINK_OPEN.match(text)
    closes = list(_THINK_CLOSE.finditer(text))
    if not opened and not closes:
        return text, ""
    if not closes:
        return "", text[opened.end():] if opened else text
    last = closes[-1]
    start = opened.end() if opened else 0
    return text[last.end():].lstrip(), text[start:last.start()]


def _chunk_text(chunk: Any) -> tuple[str, str]:
    """(answer, reasoning) text of one Mistral-style content chunk."""
    if not isinstance(chunk, dict):
        return str(chunk or ""), ""
    if chunk.get("type") == "thinking":
        inner = chunk.get("thinking")
        parts = inner if isinstance(inner, list) else [inner]
        return "", "".join(p.get("text", "") if isinstance(p, dict) else str(p or "") for p in parts)
    return str(chunk.get("text") or ""), ""


def message_answer(message: dict[str, Any]) -> tuple[str | None, str]:
    """(answer text or None when the message has no content, reasoning text) of a chat-completion message."""
    content = message.get("content")
    reasoning = "".join(str(message.get(k) or "") for k in ("reasoning_content", "reasoning")
                        if isinstance(message.get(k), str))
    if isinstance(content, list):  # Mistral: text and thinking chunks
        pieces = [_chunk_text(c) for c in content]
        content = "".join(a for a, _ in pieces)
        reasoning += "".join(r for _, r in pieces)
    if content is None:
        return None, reasoning
    answer, inline = split_think(str(content))
    return answer, reasoning + inline


def reasoning_tokens(usage: dict[str, Any], reasoning_text: str) -> int:
    """Reasoning tokens of a call: the server's count (`completion_tokens_details.reasoning_tokens`), else the
    reasoning text's length at four characters a token."""
    details = usage.get("completion_tokens_details") or usage.get("output_tokens_details") or {}
    counted = details.get("reasoning_tokens") if isinstance(details, dict) else None
    if isinstance(counted, int) and counted > 0:
        return counted
    return -(-len(reasoning_text) // CHARS_PER_TOKEN) if reasoning_text else 0
