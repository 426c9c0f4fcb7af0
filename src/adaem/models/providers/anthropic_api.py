"""`anthropic/<model>`: Claude through Anthropic's Messages API and its Message Batches API.

Raw aiohttp like the OpenAI provider (one session per event loop, no SDK), with the same sorting of errors into
transient (the pipeline retries: 429, 5xx, 529 overloaded, dropped connections) and final ones, and the API key
scrubbed from every message. A structured answer (config.json_schema) is asked for as a call of one forced tool,
`answer`, whose input schema is the JSON schema; the answer text is that tool call's input as JSON.

complete() and the batch API build the same request body (request_body) and read a Message the same way
(_completion): a batch result is exactly what complete() would have returned for that call.

API reference: https://docs.anthropic.com/en/api/messages, https://docs.anthropic.com/en/api/creating-message-batches
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from ..types import ChatMessage, Choice, GenerateConfig, ModelCallError, TransientError, Usage
from .base import BatchResults, BatchStatus, Completion
from .http import HTTPProvider, retry_after_seconds

OFFICIAL_BASE_URL = "https://api.anthropic.com/v1"
API_VERSION = "2023-06-01"
ANSWER_TOOL = "answer"
CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # what the Message Batches API accepts as a request's custom_id
# Claude Opus 4.7 and later refuse any sampling parameter: HTTP 400 "`temperature` is deprecated for this model."
_TEMPERATURE_REFUSED = re.compile(r"temperature\W*\s+(is\s+)?(deprecated|not\s+supported)", re.IGNORECASE)
# stop_reason in the OpenAI vocabulary the rest of adaem knows (finish_reason)
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "stop", "pause_turn": "stop",
           "max_tokens": "length", "refusal": "content_filter"}
_BATCH_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=300)


class AnthropicProvider(HTTPProvider):
    provider = "anthropic"
    default_concurrency = 16
    logprobs = False  # the Messages API returns no token log-probabilities
    batch = True
    batch_discount = 0.5  # Message Batches cost half the standard price
    schema_opinions = False  # keeps a free-text answer format

    def __init__(self, model: str, *, base_url: str | None, api_key: str | None, key_env: str):
        self.model = model
        self.base_url = base_url
        self._url = (base_url or OFFICIAL_BASE_URL).rstrip("/")
        self._key = api_key
        self._key_env = key_env
        self._headers = {"Content-Type": "application/json", "anthropic-version": API_VERSION}
        if api_key:
            self._headers["x-api-key"] = api_key
        self._results_urls: dict[str, str] = {}
        # Set once the API has refused `temperature` for this model (Claude Opus 4.7 and later): later bodies omit
        # it, and the model samples at its own setting whatever config.temperature says.
        self.temperature_refused = False

    @property
    def where(self) -> str:
        return self.base_url or "the Anthropic API"

    # --- one request body, one response reader: shared by complete() and the batch API

    def request_body(self, messages: list[ChatMessage], config: GenerateConfig) -> dict[str, Any]:
        """The Messages API body of one call (also a batch request's `params`)."""
        system = "\n\n".join(m.content for m in messages if m.role == "system")
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": config.max_tokens,
            "messages": [{"role": m.role, "content": m.content} for m in messages if m.role != "system"],
        }
        if system:
            body["system"] = system
        # temperature only, never top_p too: Claude Sonnet 4.5, Haiku 4.5 and Opus 4.1 answer HTTP 400 to a body
        # with both. Anthropic's temperature range is 0..1 (OpenAI's is 0..2), so higher values are sent as 1.
        # No seed: the Messages API has none, so repeated calls at one seed are not reproducible (the cache is).
        if not self.temperature_refused:
            body["temperature"] = min(config.temperature, 1.0)
        if config.stop:
            body["stop_sequences"] = list(config.stop)
        if config.json_schema is not None:
            # The answer is the input of one forced tool call. Tool input schemas must be objects; every adaem
            # schema is one.
            body["tools"] = [{"name": ANSWER_TOOL, "description": "Give the answer in this structure.",
                              "input_schema": config.json_schema}]
            body["tool_choice"] = {"type": "tool", "name": ANSWER_TOOL}
        return body

    def _completion(self, payload: Any) -> Completion:
        """A Completion from a Message (a complete() response or a succeeded batch result)."""
        content = payload.get("content") if isinstance(payload, dict) else None
        if not isinstance(content, list):
            raise TransientError(f"{self.name}: response from {self.where} holds no message content")
        tool = next((b for b in content if isinstance(b, dict) and b.get("type") == "tool_use"
                     and b.get("name") == ANSWER_TOOL), None)
        if tool is not None:
            text = json.dumps(tool.get("input"), ensure_ascii=False)
        else:
            text = "".join(str(b.get("text") or "") for b in content if isinstance(b, dict) and b.get("type") == "text")
        stop = payload.get("stop_reason")
        usage_data = payload.get("usage") or {}
        # prompt-cache reads and writes are prompt tokens too (adaem sets no cache_control; they are 0 then)
        prompt = sum(int(usage_data.get(k) or 0)
                     for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
        usage = Usage(input_tokens=prompt, output_tokens=int(usage_data.get("output_tokens") or 0))
        return Completion(Choice(text=text, finish_reason=_FINISH.get(stop, stop)), usage, payload)

    # --- HTTP

    async def _send(self, method: str, url: str, body: Any = None,
                    timeout: aiohttp.ClientTimeout | None = None) -> tuple[int, bytes, Any]:
        """One request; connection faults become TransientError (nothing holding the key)."""
        return await self._http(method, url, data=None if body is None else json.dumps(body).encode(), timeout=timeout)

    def _json(self, status: int, data: bytes, headers: Any) -> Any:
        """The JSON of a 200 answer; an error sorted into transient or final otherwise."""
        if status != 200:
            raise self._status_error(status, data, headers)
        try:
            return json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise TransientError(f"{self.name}: malformed (non-JSON) response from {self.where}: "
                                 f"{self._scrub(data[:120])}") from None

    @staticmethod
    def _error_detail(error: Any) -> tuple[str, str]:
        """(type, message) of an error object: {"type": "error", "error": {"type", "message"}} or its inner part."""
        if isinstance(error, dict) and isinstance(error.get("error"), dict):
            error = error["error"]
        if isinstance(error, dict):
            return str(error.get("type") or ""), str(error.get("message") or "")
        return "", str(error or "")

    def _status_error(self, status: int, data: bytes, headers: Any) -> ModelCallError:
        try:
            payload = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            payload = None
        if isinstance(payload, dict):
            kind, detail = self._error_detail(payload)
            inner = payload.get("error")
            details = inner.get("details") if isinstance(inner, dict) else None
            code = str(details.get("error_code") or "") if isinstance(details, dict) else ""
        else:
            kind, detail, code = "", self._scrub(data[:200]), ""
        detail = self._scrub(detail)[:300]
        what = f"HTTP {status}{f' {kind}' if kind else ''} from {self.where}"
        if status == 429 and code == "enforced_spend_limit_reached":  # a monthly cap: waiting minutes cannot help
            return ModelCallError(f"{self.name}: {what}: {detail}", status=status)
        if status in (408, 409, 425, 429) or status >= 500:  # 529: overloaded_error, Anthropic-wide load
            return TransientError(f"{self.name}: {what}: {detail}", retry_after=retry_after_seconds(headers),
                                  status=status)
        if status in (401, 403):
            return ModelCallError(
                f"{self.name}: {self.where} refused the API key (HTTP {status}): set a valid key in ${self._key_env}",
                status=status,
            )
        if status == 404:
            return ModelCallError(f"{self.name}: {what}: is '{self.model}' a model name there? {detail}", status=status)
        return ModelCallError(f"{self.name}: {what}: {detail}", status=status)

    def _refuses_temperature(self, status: int, data: bytes, body: dict[str, Any]) -> bool:
        """Whether a 400 says this model takes no `temperature` (then it is left out from now on)."""
        if status != 400 or "temperature" not in body:
            return False
        try:
            _, detail = self._error_detail(json.loads(data))
        except (ValueError, UnicodeDecodeError):
            return False
        if not _TEMPERATURE_REFUSED.search(detail):
            return False
        self.temperature_refused = True
        return True

    # --- one call

    async def complete(self, messages: list[ChatMessage], config: GenerateConfig) -> Completion:
        body = self.request_body(messages, config)
        status, data, headers = await self._send("POST", f"{self._url}/messages", body)
        if self._refuses_temperature(status, data, body):
            body = self.request_body(messages, config)  # the same call without temperature (not a fault retry)
            status, data, headers = await self._send("POST", f"{self._url}/messages", body)
        return self._completion(self._json(status, data, headers))

    async def preflight(self, timeout: float = 15.0) -> None:
        """Fail fast on an unreachable URL or a refused key, before a long run starts (lists models: free)."""
        try:
            async with self._session().get(f"{self._url}/models",
                                           timeout=aiohttp.ClientTimeout(total=timeout)) as response:
                data = await response.read()
                if response.status in (401, 403):
                    raise self._status_error(response.status, data, response.headers)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise ModelCallError(
                f"{self.name}: cannot reach {self.where} ({self._scrub(exc) or type(exc).__name__}): is the URL "
                f"right? Set endpoints.{self.provider}.base_url or ${self.provider.upper()}_BASE_URL"
            ) from None

    # --- Message Batches

    def batch_line(self, custom_id: str, messages: list[ChatMessage], config: GenerateConfig) -> dict[str, Any]:
        if not CUSTOM_ID.match(custom_id):
            raise ValueError(f"custom_id {custom_id!r} is not 1-64 characters of [a-zA-Z0-9_-]")
        return {"custom_id": custom_id, "params": self.request_body(messages, config)}

    async def submit_batch(self, lines: list[dict[str, Any]]) -> str:
        """POST the requests as one Message Batch (the API takes up to 100,000 requests / 256 MB per batch)."""
        status, data, headers = await self._send("POST", f"{self._url}/messages/batches", {"requests": lines},
                                                 timeout=_BATCH_TIMEOUT)
        payload = self._json(status, data, headers)
        batch_id = payload.get("id") if isinstance(payload, dict) else None
        if not batch_id:
            raise TransientError(f"{self.name}: batch creation at {self.where} returned no id")
        return str(batch_id)

    async def batch_status(self, batch_id: str) -> BatchStatus:
        status, data, headers = await self._send("GET", f"{self._url}/messages/batches/{batch_id}",
                                                 timeout=_BATCH_TIMEOUT)
        if status == 404:
            return BatchStatus(state="failed", detail=f"no batch {batch_id} at {self.where}")
        payload = self._json(status, data, headers)
        counts = {k: int(v or 0) for k, v in (payload.get("request_counts") or {}).items()}
        total = sum(counts.values())
        processing = payload.get("processing_status")
        detail = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
        if payload.get("results_url"):
            self._results_urls[batch_id] = str(payload["results_url"])
        if processing == "ended":
            if payload.get("archived_at"):  # results are kept 29 days
                return BatchStatus(state="failed", done=total, total=total, detail=f"results archived; {detail}")
            return BatchStatus(state="ended", done=total - counts.get("processing", 0), total=total, detail=detail)
        return BatchStatus(state="running", done=total - counts.get("processing", 0), total=total,
                           detail=f"{processing}: {detail}")

    def _results_url(self, batch_id: str) -> str:
        """The batch's results_url when it is on the API's own host (the key goes with it), else the usual path."""
        url = self._results_urls.get(batch_id)
        own = urlsplit(self._url)
        if url and urlsplit(url)[:2] == own[:2]:
            return url
        return f"{self._url}/messages/batches/{batch_id}/results"

    async def batch_results(self, batch_id: str) -> BatchResults:
        if batch_id not in self._results_urls:  # another process submitted it: ask where its results are
            await self.batch_status(batch_id)
        status, data, headers = await self._send("GET", self._results_url(batch_id), timeout=_BATCH_TIMEOUT)
        if status != 200:
            raise self._status_error(status, data, headers)
        out = BatchResults()
        for raw_line in data.splitlines():
            if not raw_line.strip():
                continue
            try:
                line = json.loads(raw_line)
                custom_id = str(line["custom_id"])
                result = line.get("result") or {}
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # a line without its custom_id cannot be matched to a call; the call stays unanswered
            kind = result.get("type")
            if kind == "succeeded":
                try:
                    out.completions[custom_id] = self._completion(result.get("message"))
                except ModelCallError as exc:
                    out.errors[custom_id] = str(exc)
            elif kind == "errored":
                err_type, message = self._error_detail(result.get("error"))
                if _TEMPERATURE_REFUSED.search(message):  # resubmitted or direct calls leave it out
                    self.temperature_refused = True
                out.errors[custom_id] = self._scrub(f"errored: {err_type or 'error'}: {message}")[:300]
            elif kind == "expired":
                out.errors[custom_id] = "expired: the batch reached its 24-hour limit before this request ran"
            else:
                out.errors[custom_id] = str(kind or "no result")
        return out
