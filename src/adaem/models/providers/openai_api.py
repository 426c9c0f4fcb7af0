"""`openai/<model>` and every OpenAI-compatible endpoint (vLLM, SGLang, Ollama, llama.cpp server, hosted APIs).

Speaks the chat-completions REST API with aiohttp directly. The official SDK cost ~2 ms of CPU per call in
request transformation alone, which capped a 2-core machine at about half the ideal rate at concurrency 64
(benchmarks/bench_model_layer.py); the raw client gives the pipeline full control of retries too.
Errors are sorted into transient (the pipeline retries) and final (reported), and any API key is scrubbed
from messages. The body follows the endpoint's declared dialect (dialect.py: which fields the vendor takes, how its
reasoning models are called); an answer's reasoning is taken out before anyone parses it (reasoning.py).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from ..reasoning import message_answer, reasoning_tokens
from ..types import ChatMessage, Choice, GenerateConfig, ModelCallError, TokenLogprob, TransientError, Usage
from .base import BatchResults, BatchStatus, Completion
from .dialect import Dialect
from .http import HTTPProvider, error_detail, retry_after_seconds

OFFICIAL_BASE_URL = "https://api.openai.com/v1"
_JSON = {"Content-Type": "application/json"}


@dataclass
class Replica:
    """One server behind a replicated endpoint, with what routing needs: its calls outstanding, and a cool-down
    after it refused connections or kept failing."""

    url: str
    outstanding: int = 0
    calls: int = 0  # answered
    errors: int = 0  # attempts that failed here (each retried, possibly elsewhere)
    failures: int = 0  # consecutive
    down_until: float = 0.0  # time.monotonic() before which it gets no calls

    def row(self) -> dict[str, Any]:
        return {"url": self.url, "calls": self.calls, "errors": self.errors}


class ReplicaRouter:
    """Least-outstanding routing over replicas, at most `limit` calls in flight on each, replicas that fail set
    aside for a cool-down that doubles while they keep failing. With one replica it only counts."""

    FAILURES_BEFORE_COOLDOWN = 3  # 5xx answers or timeouts in a row; a refused connection sets one aside at once

    def __init__(self, urls: list[str], limit: int, cooldown: float):
        self.replicas = [Replica(u) for u in urls]
        self.limit = limit
        self.cooldown = cooldown
        self._conditions: dict[int, asyncio.Condition] = {}

    def _condition(self) -> asyncio.Condition:
        loop = id(asyncio.get_running_loop())
        cond = self._conditions.get(loop)
        if cond is None:
            self._conditions = {loop: (cond := asyncio.Condition())}
        return cond

    @asynccontextmanager
    async def use(self) -> AsyncIterator[Replica]:
        if len(self.replicas) == 1:
            only = self.replicas[0]
            yield only
            return
        cond = self._condition()
        async with cond:
            while True:
                now = time.monotonic()
                up = [r for r in self.replicas if r.down_until <= now]
                free = [r for r in up if r.outstanding < self.limit]
                if free:
                    replica = min(free, key=lambda r: (r.outstanding, r.calls))
                    break
                if up:  # all busy: a call ending frees a slot
                    await cond.wait()
                else:  # all cooling down: the first back gets tried again
                    back = min(r.down_until for r in self.replicas)
                    try:
                        await asyncio.wait_for(cond.wait(), timeout=max(0.01, back - now))
                    except TimeoutError:
                        pass
            replica.outstanding += 1
        try:
            yield replica
        finally:
            async with cond:
                replica.outstanding -= 1
                cond.notify()

    def succeeded(self, replica: Replica) -> None:
        replica.calls += 1
        replica.failures = 0

    def failed(self, replica: Replica, *, unreachable: bool) -> None:
        replica.errors += 1
        replica.failures += 1
        if len(self.replicas) > 1 and (unreachable or replica.failures >= self.FAILURES_BEFORE_COOLDOWN):
            steps = replica.failures - (1 if unreachable else self.FAILURES_BEFORE_COOLDOWN)
            replica.down_until = time.monotonic() + min(self.cooldown * 2 ** max(0, steps), 16 * self.cooldown)


class OpenAIProvider(HTTPProvider):
    default_concurrency = 16
    batch_files = True

    def __init__(
        self,
        provider: str,
        model: str,
        *,
        base_url: str | list[str] | None,
        api_key: str | None,
        key_env: str,
        dialect: Dialect | None = None,
        batch: bool = False,
        batch_discount: float = 0.5,
        replica_limit: int | None = None,
        replica_cooldown: float = 10.0,
        timeout: float | None = None,
        probe_logprobs: bool = False,
    ):
        urls = [base_url] if isinstance(base_url, str) else list(base_url or [])
        self.provider = provider
        self.model = model
        self.base_url = urls[0] if urls else None  # names the endpoint in the call cache, whatever replica answers
        self._key = api_key
        self._key_env = key_env
        self.dialect = dialect or Dialect()
        self.logprobs = self.dialect.logprobs
        self.probe_logprobs = probe_logprobs  # an endpoint you named: ask once whether it returns log-probabilities
        self._facts: dict[str, Any] = {}  # what that probe found, recorded with the run
        self.reasoning = self.dialect.reasoning
        self.variant = self.dialect.variant
        self.batch = batch
        self.batch_discount = batch_discount
        self.replicas = max(1, len(urls))
        self.router = ReplicaRouter([u.rstrip("/") for u in urls] or [OFFICIAL_BASE_URL],
                                    replica_limit or self.default_concurrency, replica_cooldown)
        # The attempt's timeout is enforced here, inside the replica's slot, so a replica that accepts connections and
        # never answers is counted as failing (and set aside) instead of the pipeline cancelling the call unseen.
        self.timeout = timeout
        self.applies_timeout = timeout is None
        self._url = self.router.replicas[0].url
        self._headers: dict[str, str] = {}  # JSON bodies say their type per request: a file upload is multipart
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"

    @property
    def where(self) -> str:
        return self.base_url or "the OpenAI API"

    def replica_rows(self) -> list[dict[str, Any]]:
        """Calls and errors per replica, for the run's record of how work spread."""
        return [r.row() for r in self.router.replicas] if self.replicas > 1 else []

    def request_body(self, messages: list[ChatMessage], config: GenerateConfig) -> dict[str, Any]:
        """The chat-completions body of one call, with only the fields the endpoint's dialect takes."""
        return self.dialect.body(self.model, messages, config)

    async def complete(self, messages: list[ChatMessage], config: GenerateConfig) -> Completion:
        body = json.dumps(self.request_body(messages, config)).encode()
        async with self.router.use() as replica:
            where = replica.url if self.replicas > 1 else None
            try:
                async with asyncio.timeout(self.timeout):
                    status, data, headers = await self._http("POST", f"{replica.url}/chat/completions", data=body,
                                                             headers=_JSON, where=where)
            except TimeoutError:
                self.router.failed(replica, unreachable=False)
                raise TransientError(f"{self.name}: no answer within {self.timeout:g}s"
                                     + (f" from {where}" if where else "")) from None
            except TransientError as exc:
                self.router.failed(replica, unreachable=exc.status is None)
                raise
            if status != 200:
                error = self._status_error(status, data, headers)
                if status >= 500:
                    self.router.failed(replica, unreachable=False)
                raise error
            try:
                completion = self._completion(self._json(data))
            except TransientError:
                self.router.failed(replica, unreachable=False)
                raise
            self.router.succeeded(replica)
            return completion

    def _json(self, data: bytes) -> Any:
        try:
            return json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise TransientError(f"{self.name}: malformed (non-JSON) response from {self.where}: "
                                 f"{self._scrub(data[:120])}") from None

    # -- batch API (OpenAI's /files + /batches; vLLM's run_batch reads and writes the same lines) ---------------
    def batch_line(self, custom_id: str, messages: list[ChatMessage], config: GenerateConfig) -> dict[str, Any]:
        return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
                "body": self.request_body(messages, config)}

    async def _api(self, method: str, path: str, **kwargs: Any) -> Any:
        """A batch-management request to the first replica; any answer but 200 is an error naming the route."""
        status, data, headers = await self._http(method, f"{self._url}{path}", **kwargs)
        if status != 200:
            error = self._status_error(status, data, headers)
            if status == 404:
                error = ModelCallError(f"{self.name}: {self.where} has no {path.split('/')[1]} route (HTTP 404): it "
                                       f"has no batch API; set endpoints.{self.provider}.batch: false", status=404)
            raise error
        return data if method == "GET" and "/content" in path else self._json(data)

    async def submit_batch(self, lines: list[dict[str, Any]]) -> str:
        form = aiohttp.FormData()
        form.add_field("purpose", "batch")
        payload = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
        form.add_field("file", payload, filename="adaem-batch.jsonl", content_type="application/jsonl")
        uploaded = await self._api("POST", "/files", data=form)
        batch = await self._api("POST", "/batches", headers=_JSON, data=json.dumps(
            {"input_file_id": uploaded["id"], "endpoint": "/v1/chat/completions", "completion_window": "24h",
             "metadata": {"created_by": "adaem"}}).encode())
        return str(batch["id"])

    async def batch_status(self, batch_id: str) -> BatchStatus:
        batch = await self._api("GET", f"/batches/{batch_id}")
        counts = batch.get("request_counts") or {}
        total = int(counts.get("total") or 0)
        done = int(counts.get("completed") or 0) + int(counts.get("failed") or 0)
        status = str(batch.get("status"))
        if status == "failed":
            errors = ((batch.get("errors") or {}).get("data") or [{}])
            first = errors[0] if isinstance(errors[0], dict) else {}
            return BatchStatus("failed", done, total, self._scrub(first.get("message") or status),
                               code=str(first.get("code") or ""))
        state = "ended" if status in ("completed", "expired", "cancelled") else "running"
        return BatchStatus(state, done, total, status)

    async def batch_results(self, batch_id: str) -> BatchResults:
        batch = await self._api("GET", f"/batches/{batch_id}")
        results = BatchResults()
        for file_id in (batch.get("output_file_id"), batch.get("error_file_id")):
            if file_id:
                data = await self._api("GET", f"/files/{file_id}/content")
                self.read_batch_output(data, results)
        return results

    def read_batch_output(self, data: bytes, results: BatchResults) -> None:
        """Add the lines of a batch output (or error) file to `results`: OpenAI's format, which vLLM's run_batch
        also writes. A torn last line is skipped (its request is simply not answered). A failed line keeps the
        server's own message, however deep it sits (vLLM nests its ErrorResponse: {"error": {"error": {...}}})."""
        for raw in data.splitlines():
            try:
                line = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            custom_id = line.get("custom_id") if isinstance(line, dict) else None
            if not custom_id:
                continue
            response = line.get("response") or {}
            body = response.get("body")
            status = response.get("status_code")
            if status == 200 and isinstance(body, dict) and not line.get("error"):
                try:
                    results.completions[custom_id] = self._completion(body)
                except ModelCallError as exc:
                    results.errors[custom_id] = str(exc)
                continue
            detail = error_detail(line.get("error")) or error_detail(body)
            what = f"HTTP {status}" if status else "error"
            results.errors[custom_id] = self._scrub(f"{what}: {detail}" if detail else what)[:300]

    def _completion(self, payload: dict[str, Any]) -> Completion:
        """A Completion from a chat-completion body: the answer with any reasoning taken out (the raw body keeps
        it), the reasoning's tokens in the usage. A reasoning model that spent the whole cap on its reasoning has
        no answer: that is a final error naming the setting to raise, not an empty answer to parse."""
        choices = payload.get("choices") if isinstance(payload, dict) else None
        if not choices:
            raise TransientError(f"{self.name}: response from {self.where} holds no choices")
        first = choices[0]
        message = first.get("message") or {}
        text, reasoning = message_answer(message)
        if text is None:
            text = str(message.get("refusal") or "")
        usage_data = payload.get("usage") or {}
        thought = reasoning_tokens(usage_data, reasoning)
        finish = first.get("finish_reason")
        if not text.strip() and finish == "length" and (thought or self.reasoning):
            raise ModelCallError(
                f"{self.name}: the reasoning used the whole token cap ({thought} reasoning tokens) and left no "
                f"answer: raise endpoints.{self.provider}.reasoning.allowance (now {self.dialect.allowance})")
        logprobs = None
        content = (first.get("logprobs") or {}).get("content")
        if content and not self.reasoning:  # a reasoning model's first tokens are its reasoning's, not the verdict's
            logprobs = [
                TokenLogprob(
                    token=item["token"],
                    logprob=item["logprob"],
                    top={t["token"]: t["logprob"] for t in (item.get("top_logprobs") or [])},
                )
                for item in content
            ]
        usage = Usage(input_tokens=usage_data.get("prompt_tokens") or 0,
                      output_tokens=usage_data.get("completion_tokens") or 0, reasoning_tokens=thought)
        return Completion(Choice(text=text, finish_reason=finish, logprobs=logprobs), usage, payload)

    @property
    def facts(self) -> dict[str, Any]:
        return self._facts

    async def _probe_logprobs(self) -> None:
        """One one-token call asking for log-probabilities: a server that returns them keeps getting asked (judge
        labels are then P(yes) and calibrations apply); one that refuses the field or ignores it is not asked
        again, so no call fails on it and labels come from the answer text. The answer is recorded (`facts`)."""
        from dataclasses import replace

        body = self.request_body([ChatMessage(role="user", content="Answer Yes or No: is water wet?")],
                                 GenerateConfig(temperature=0.0, max_tokens=1, logprobs=True, top_logprobs=2))
        try:
            async with asyncio.timeout(30), self.router.use() as replica:
                status, data, _ = await self._http("POST", f"{replica.url}/chat/completions",
                                                   data=json.dumps(body).encode(), headers=_JSON)
        except (TransientError, ModelCallError, TimeoutError) as exc:  # unanswered: keep asking, as before
            self._facts = {"logprobs": None, "probe": f"no answer ({str(exc)[:80]})"}
            return
        returned = False
        if status == 200:
            try:
                first = (json.loads(data).get("choices") or [{}])[0]
                returned = bool((first.get("logprobs") or {}).get("content"))
            except (ValueError, AttributeError):
                returned = False
        self._facts = {"logprobs": returned, "probe": f"HTTP {status}" + ("" if returned else
                      ": no log-probabilities; judge labels are read from the answer text (0/1)")}
        if not returned:
            self.dialect = replace(self.dialect, logprobs=False)
            self.logprobs = False

    def _status_error(self, status: int, data: bytes, headers: Any) -> ModelCallError:
        try:
            detail = error_detail(json.loads(data)) or data[:200].decode("utf-8", "replace")
        except (ValueError, UnicodeDecodeError):
            detail = data[:200].decode("utf-8", "replace")
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
        if status in (400, 422):  # a field the server does not take: say which, and where it is declared
            hint = f"the request follows endpoints.{self.provider}'s declared fields; see the README's presets"
            lowered = detail.lower()
            if not self.reasoning and any(f in lowered for f in ("top_p", "temperature", "max_tokens", "logprobs",
                                                                   "reasoning")):
                hint = (f"if {self.model} is a reasoning model, declare it: model_info: {{{self.name}: {{kind: "
                        f"reasoning}}}} (reasoning models get no temperature, top_p or logprobs); else {hint}")
            return ModelCallError(f"{self.name}: HTTP {status} from {self.where}: {detail} ({hint})", status=status)
        return ModelCallError(f"{self.name}: HTTP {status} from {self.where}: {detail}", status=status)

    async def preflight(self, timeout: float = 15.0) -> None:
        """Fail fast on an unreachable URL or a refused key, before a long run starts.

        Lists models (free on every API that has the route); any other answer than 401/403 is fine."""
        reached = False
        problem: BaseException | None = None
        for replica in self.router.replicas:  # a replicated endpoint needs one live replica to start
            try:
                async with self._session().get(f"{replica.url}/models",
                                               timeout=aiohttp.ClientTimeout(total=timeout)) as response:
                    data = await response.read()
                    if response.status in (401, 403):
                        raise self._status_error(response.status, data, response.headers)
                reached = True
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                problem = exc
                self.router.failed(replica, unreachable=True)
        if reached and self.probe_logprobs:
            await self._probe_logprobs()
        if not reached:
            raise ModelCallError(
                f"{self.name}: cannot reach {self.where} ({self._scrub(problem) or type(problem).__name__}): is the "
                f"server running and the base URL right? Set endpoints.{self.provider}.base_url or "
                f"${self.provider.upper().replace('-', '_')}_BASE_URL"
            ) from None
