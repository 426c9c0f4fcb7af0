"""`openai/<model>` and every OpenAI-compatible endpoint (vLLM, SGLang, Ollama, llama.cpp server, hosted APIs).

Speaks the chat-completions REST API with aiohttp directly. The official SDK cost ~2 ms of CPU per call in
request transformation alone, which capped a 2-core machine at about half the ideal rate at concurrency 64
(benchmarks/bench_model_layer.py); the raw client gives the pipeline full control of retries too.
Errors are sorted into transient (the pipeline retries) and final (reported), and any API key is scrubbed
from messages.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import re
import time
from typing import Any

import aiohttp

from ..types import ChatMessage, Choice, GenerateConfig, ModelCallError, TokenLogprob, TransientError, Usage
from .base import Completion, Provider

OFFICIAL_BASE_URL = "https://api.openai.com/v1"
_KEY_PATTERN = re.compile(r"\b(sk|key|api)[-_][A-Za-z0-9_\-*]{6,}")


def redact(text: str, secret: str | None) -> str:
    """Remove a key (and anything shaped like one) from text shown to a user or stored."""
    if secret and len(secret) >= 4:
        text = text.replace(secret, "***")
    return _KEY_PATTERN.sub("***", text)


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds from a Retry-After (or retry-after-ms) header: a number or an HTTP date."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return None if parsed is None else max(0.0, parsed.timestamp() - time.time())


class OpenAIProvider(Provider):
    default_concurrency = 16

    def __init__(
        self,
        provider: str,
        model: str,
        *,
        base_url: str | None,
        api_key: str | None,
        key_env: str,
        structured_output: str = "json_schema",
    ):
        self.provider = provider
        self.model = model
        self.base_url = base_url
        self._url = (base_url or OFFICIAL_BASE_URL).rstrip("/")
        self._key = api_key
        self._key_env = key_env
        self._structured = structured_output
        self._official = base_url is None
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._sessions: dict[int, aiohttp.ClientSession] = {}

    @property
    def where(self) -> str:
        return self.base_url or "the OpenAI API"

    def _session(self) -> aiohttp.ClientSession:
        """One connection pool per event loop (aiohttp sessions are bound to their loop)."""
        loop = asyncio.get_running_loop()
        session = self._sessions.get(id(loop))
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
            session = aiohttp.ClientSession(
                connector=connector,
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=30),
            )
            self._sessions[id(loop)] = session
        return session

    def request_body(self, messages: list[ChatMessage], config: GenerateConfig) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [m.model_dump() for m in messages],
            "temperature": config.temperature,
            "top_p": config.top_p,
        }
        body["max_completion_tokens" if self._official else "max_tokens"] = config.max_tokens
        if config.seed is not None:
            body["seed"] = config.seed
        if config.stop:
            body["stop"] = list(config.stop)
        if config.logprobs:
            body["logprobs"] = True
            if config.top_logprobs:
                body["top_logprobs"] = config.top_logprobs
        if config.json_schema is not None and self._structured != "none":
            if self._structured == "json_object":  # llama.cpp's server honours this form, not json_schema
                body["response_format"] = {"type": "json_object", "schema": config.json_schema}
            else:
                strict = config.json_schema.get("additionalProperties") is False
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "answer", "schema": config.json_schema, "strict": strict},
                }
        return body

    async def complete(self, messages: list[ChatMessage], config: GenerateConfig) -> Completion:
        body = self.request_body(messages, config)
        try:
            async with self._session().post(f"{self._url}/chat/completions", data=json.dumps(body).encode()) as response:
                data = await response.read()
                status = response.status
                headers = response.headers
        except aiohttp.ClientPayloadError as exc:
            raise TransientError(f"{self.name}: truncated response from {self.where} ({type(exc).__name__})") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise TransientError(f"{self.name}: cannot reach {self.where} ({self._scrub(exc)})") from None
        if status != 200:
            raise self._status_error(status, data, headers)
        try:
            payload = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise TransientError(f"{self.name}: malformed (non-JSON) response from {self.where}: "
                                 f"{self._scrub(data[:120])}") from None
        return self._completion(payload)

    def _scrub(self, value: object) -> str:
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        if isinstance(value, BaseException):
            value = f"{type(value).__name__}: {value}"
        return redact(str(value), self._key)

    def _completion(self, payload: dict[str, Any]) -> Completion:
        choices = payload.get("choices") if isinstance(payload, dict) else None
        if not choices:
            raise TransientError(f"{self.name}: response from {self.where} holds no choices")
        first = choices[0]
        message = first.get("message") or {}
        text = message.get("content")
        if text is None:
            text = str(message.get("refusal") or "")
        logprobs = None
        content = (first.get("logprobs") or {}).get("content")
        if content:
            logprobs = [
                TokenLogprob(
                    token=item["token"],
                    logprob=item["logprob"],
                    top={t["token"]: t["logprob"] for t in (item.get("top_logprobs") or [])},
                )
                for item in content
            ]
        usage_data = payload.get("usage") or {}
        usage = Usage(input_tokens=usage_data.get("prompt_tokens") or 0,
                      output_tokens=usage_data.get("completion_tokens") or 0)
        return Completion(Choice(text=text, finish_reason=first.get("finish_reason"), logprobs=logprobs), usage, payload)

    def _status_error(self, status: int, data: bytes, headers: Any) -> ModelCallError:
        try:
            error = json.loads(data).get("error")
            detail = error.get("message") if isinstance(error, dict) else str(error)
        except (ValueError, AttributeError):
            detail = data[:200]
        detail = self._scrub(detail)[:300]
        if status in (408, 409, 425, 429) or status >= 500:
            return TransientError(f"{self.name}: HTTP {status} from {self.where}: {detail}",
                                  retry_after=retry_after_seconds(headers), status=status)
        if status in (401, 403):
            return ModelCallError(
                f"{self.name}: {self.where} refused the API key (HTTP {status}): set a valid key in ${self._key_env}",
                status=status,
            )
        if status == 404:
            return ModelCallError(f"{self.name}: HTTP 404 from {self.where}: is '{self.model}' served there? {detail}",
                                  status=status)
        return ModelCallError(f"{self.name}: HTTP {status} from {self.where}: {detail}", status=status)

    async def preflight(self, timeout: float = 15.0) -> None:
        """Fail fast on an unreachable URL or a refused key, before a long run starts.

        Lists models (free on every API that has the route); any other answer than 401/403 is fine."""
        try:
            async with self._session().get(f"{self._url}/models",
                                           timeout=aiohttp.ClientTimeout(total=timeout)) as response:
                data = await response.read()
                if response.status in (401, 403):
                    raise self._status_error(response.status, data, response.headers)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise ModelCallError(
                f"{self.name}: cannot reach {self.where} ({self._scrub(exc) or type(exc).__name__}): is the server "
                f"running and the base URL right? Set endpoints.{self.provider}.base_url or "
                f"${self.provider.upper().replace('-', '_')}_BASE_URL"
            ) from None

    async def aclose(self) -> None:
        for session in self._sessions.values():
            if not session.closed:
                try:
                    await session.close()
                except RuntimeError:  # its loop is gone; nothing left to release
                    pass
        self._sessions.clear()
