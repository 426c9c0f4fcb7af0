"""What real vendors refuse, as their documentation says, for the loopback fakes (stub_server.py's `dialect`).

Each rule cites its source (stored copies checked 2026-12-06):
- Mistral: the chat-completion request fields of Mistral's OpenAPI spec as generated into mistralai/client-python
  (HEAD 05629d2, 2026-06-30, docs/models/chatcompletionrequest.md); any other field is refused with HTTP 422 and a
  pydantic `extra_forbidden` detail (the shape reported in mistralai/platform-docs-public#7, mistral-go#2, eca#231).
- OpenAI: the fields of openai-python's CompletionCreateParams (HEAD e43b422, 2026-08-21); an unknown field is
  refused with "Unrecognized request argument supplied"; o-series and gpt-5 (not *-chat*) refuse `max_tokens` ("not
  compatible with o-series models"), `temperature`/`top_p` other than 1 ("Only the default (1) value is supported",
  code unsupported_value, as users report it), `logprobs`/`top_logprobs`, and `stop` ("Not supported with latest
  reasoning models o3 and o4-mini"); reasoning tokens come out of `max_completion_tokens` ("including visible output
  tokens and reasoning tokens") and are reported in usage.completion_tokens_details.reasoning_tokens.
- DeepSeek: thinking mode (api-docs.deepseek.com guides/thinking_mode and reasoning_model): on by default, off with
  {"thinking": {"type": "disabled"}}; `reasoning_content` beside `content`; `max_tokens` counts the reasoning;
  temperature / top_p accepted without effect; logprobs / top_logprobs refused.
- OpenAI's batch queue: a batch over the enqueued-token limit fails with code token_limit_exceeded and the message
  quoted in openai/openai-python#2084.
"""

from __future__ import annotations

import re
from typing import Any

REASONING_TOKENS = 64  # hidden tokens a fake reasoning model spends before its answer

MISTRAL_FIELDS = {
    "model", "temperature", "top_p", "max_tokens", "stream", "stop", "random_seed", "metadata", "messages",
    "response_format", "tools", "tool_choice", "presence_penalty", "frequency_penalty", "n", "prediction",
    "parallel_tool_calls", "reasoning_effort", "prompt_mode", "guardrails", "prompt_cache_key", "safe_prompt",
}
OPENAI_FIELDS = {
    "messages", "model", "audio", "frequency_penalty", "function_call", "functions", "logit_bias", "logprobs",
    "max_completion_tokens", "max_tokens", "metadata", "modalities", "n", "parallel_tool_calls", "prediction",
    "presence_penalty", "prompt_cache_key", "reasoning_effort", "response_format", "safety_identifier", "seed",
    "service_tier", "stop", "store", "stream", "stream_options", "temperature", "tool_choice", "tools",
    "top_logprobs", "top_p", "user", "verbosity", "web_search_options",
}
OPENAI_REASONING = re.compile(r"(o[1-9](-.*)?|gpt-5(?!.*chat).*)")


def _mistral_422(fields: list[str], request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    detail = [{"type": "extra_forbidden", "loc": ["body", f], "msg": "Extra inputs are not permitted",
               "input": request[f]} for f in fields]
    return 422, {"object": "error", "message": {"detail": detail}, "type": "invalid_request_error", "param": None,
                 "code": None}


def _openai_400(message: str, param: str, code: str) -> tuple[int, dict[str, Any]]:
    return 400, {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}


def reasons(dialect: str | None, request: dict[str, Any]) -> bool:
    """Whether the fake model of this request reasons before answering."""
    model = str(request.get("model", ""))
    if dialect == "openai":
        return bool(OPENAI_REASONING.fullmatch(model))
    if dialect == "deepseek":
        return (request.get("thinking") or {}).get("type") != "disabled"
    return False


def validate(dialect: str | None, request: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    """The vendor's refusal of a request, or None when it takes it."""
    if dialect == "mistral":
        extra = [f for f in request if f not in MISTRAL_FIELDS]
        return _mistral_422(extra, request) if extra else None
    if dialect == "openai":
        for field in request:
            if field not in OPENAI_FIELDS:
                return _openai_400(f"Unrecognized request argument supplied: {field}", field, "unknown_parameter")
        if not reasons(dialect, request):
            return None
        if "max_tokens" in request:
            return _openai_400("Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                               "'max_completion_tokens' instead.", "max_tokens", "unsupported_parameter")
        for field in ("temperature", "top_p"):
            if field in request and request[field] != 1:
                return _openai_400(f"Unsupported value: '{field}' does not support {request[field]} with this model. "
                                   "Only the default (1) value is supported.", field, "unsupported_value")
        for field in ("logprobs", "top_logprobs", "stop"):
            if field in request:
                return _openai_400(f"Unsupported parameter: '{field}' is not supported with this model.", field,
                                   "unsupported_parameter")
        return None
    if dialect == "deepseek" and reasons(dialect, request):
        for field in ("logprobs", "top_logprobs"):
            if request.get(field):
                return 400, {"error": {"message": f"{field} is not supported in thinking mode",
                                       "type": "invalid_request_error", "param": None, "code": "invalid_request_error"}}
    return None


def enqueued_tokens(lines: list[dict[str, Any]]) -> int:
    """Prompt tokens a batch holds in the queue: four characters a token, as English text runs."""
    return sum(sum(len(str(m.get("content", ""))) for m in (line.get("body") or {}).get("messages") or []) // 4 + 1
               for line in lines)


def quota_message(model: str, limit: int) -> str:
    return (f"Enqueued token limit reached for {model} in organization org-stub. Limit: {limit:,} enqueued tokens. "
            "Please try again once some in_progress batches have been completed.")
