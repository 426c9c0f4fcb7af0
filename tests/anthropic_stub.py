"""A loopback fake of Anthropic's Messages and Message Batches APIs (aiohttp.web), for tests and benchmarks.

Checks `x-api-key` (when the server has a key) and `anthropic-version` on every request (401 otherwise, with a
message that repeats the key it was sent, to prove the client scrubs it), and refuses request fields the real
API refuses (unknown fields such as seed or logprobs, temperature together with top_p). Behaviour is chosen by
the requested model name:

    sim*          plausible answers to every step of adaem (mock.simulated), as text or as the forced
                  `answer` tool call
    overloaded-N  the first N requests of each distinct prompt get 529 overloaded_error
    ratelimit-N   the first N requests of each distinct prompt get 429 with retry-after: 1
    nosampling*   400 "`temperature` is deprecated for this model." to any body with a temperature
    missing       404 not_found_error
    anything else a fixed text ("stub answer to: ..."), or the smallest instance of the tool's schema

Message batches: create stores the requests (`batches_created` counts them), get says in_progress until
`batch_delay` seconds have passed and ended after, results streams JSONL (in reverse order: clients must key
on custom_id). Failures on demand: with `error_every=N` every request whose custom_id hashes to 0 mod N is
errored; with `expire_first` the first batch created ends with only its first half succeeded, the rest expired.

Run it alone: python tests/anthropic_stub.py --port 8766 [--api-key K] [--batch-delay 2] [--error-every 5]
(without --api-key any key is accepted and no header is required, so conftest.serving() can poll /v1/models).

It lives with the tests and benchmarks, not in the installed package.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import time
from collections import Counter
from typing import Any

from aiohttp import web

API_VERSION = "2023-06-01"
_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_FIELDS = {"model", "messages", "max_tokens", "system", "temperature", "top_p", "top_k", "stop_sequences", "tools",
           "tool_choice", "metadata", "stream", "thinking", "service_tier"}


def _error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"type": "error", "error": {"type": kind, "message": message}}, status=status,
                             headers=headers)


class AnthropicStub:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, api_key: str | None = "stub-key",
                 batch_delay: float = 0.0, error_every: int = 0, expire_first: bool = False, latency: float = 0.0):
        self.host = host
        self.port = port
        self.api_key = api_key
        self.batch_delay = batch_delay
        self.error_every = error_every
        self.expire_first = expire_first
        self.latency = latency
        self.requests = 0
        self.batches_created = 0
        self.seen: Counter[str] = Counter()
        self.bodies: list[dict[str, Any]] = []  # every /v1/messages body received, for tests to inspect
        self.batches: dict[str, dict[str, Any]] = {}
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    async def start(self) -> AnthropicStub:
        app = web.Application(middlewares=[self._auth], client_max_size=256 * 1024 * 1024)
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/messages/batches", self._create_batch)
        app.router.add_get("/v1/messages/batches/{id}", self._get_batch)
        app.router.add_get("/v1/messages/batches/{id}/results", self._results)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests += 1
        if self.api_key is not None:
            key = request.headers.get("x-api-key")
            if key != self.api_key:
                return _error(401, "authentication_error", f"invalid x-api-key: {key}")
            if request.headers.get("anthropic-version") != API_VERSION:
                return _error(400, "invalid_request_error", "anthropic-version: header is required")
        return await handler(request)

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"data": [{"type": "model", "id": "claude-stub", "display_name": "Stub"}],
                                  "has_more": False, "first_id": "claude-stub", "last_id": "claude-stub"})

    # --- messages

    @staticmethod
    def _invalid(body: Any) -> str | None:
        """Why the real API would answer 400 to these params (None when it would not)."""
        if not isinstance(body, dict):
            return "body: expected an object"
        extra = sorted(set(body) - _FIELDS)
        if extra:
            return f"{extra[0]}: Extra inputs are not permitted"
        if not body.get("model") or not isinstance(body.get("max_tokens"), int) or not body.get("messages"):
            return "model, max_tokens and messages are required"
        if "temperature" in body and "top_p" in body:
            return "`temperature` and `top_p` cannot both be specified for this model. Please use only one."
        if any(m.get("role") not in ("user", "assistant") for m in body["messages"]):
            return "messages: roles must be user or assistant (the system prompt goes in `system`)"
        return None

    async def _messages(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.bodies.append(body)
        problem = self._invalid(body)
        if problem:
            return _error(400, "invalid_request_error", problem)
        model = str(body["model"])
        prompt_key = model + json.dumps([body.get("system"), body["messages"]], sort_keys=True)
        self.seen[prompt_key] += 1
        attempt = self.seen[prompt_key]
        if self.latency:
            await asyncio.sleep(self.latency)
        if model.startswith("overloaded-") and attempt <= int(model.split("-")[1]):
            return _error(529, "overloaded_error", "Overloaded")
        if model.startswith("ratelimit-") and attempt <= int(model.split("-")[1]):
            return _error(429, "rate_limit_error", "rate limited", headers={"retry-after": "1"})
        if model == "missing":
            return _error(404, "not_found_error", f"model: {model}")
        if model.startswith("nosampling") and "temperature" in body:
            return _error(400, "invalid_request_error", "`temperature` is deprecated for this model.")
        return web.json_response(self.message(body))

    @staticmethod
    def message(params: dict[str, Any]) -> dict[str, Any]:
        """The Message the fake model answers to these params."""
        from adaem.models.providers.mock import schema_instance, simulated
        from adaem.models.types import ChatMessage

        model = str(params.get("model"))
        turns = [ChatMessage(role=m["role"], content=str(m["content"])) for m in params.get("messages") or []]
        if params.get("system"):
            turns.insert(0, ChatMessage(role="system", content=str(params["system"])))
        forced = (params.get("tool_choice") or {}).get("name")
        tool = next((t for t in params.get("tools") or [] if t.get("name") == forced), None)
        schema = tool.get("input_schema") if tool else None
        if model.startswith("sim"):
            text = simulated(model, turns, schema, None)
        elif schema is not None:
            text = json.dumps(schema_instance(schema))
        else:
            text = f"stub answer to: {turns[-1].content[:60] if turns else ''}"
        if tool is not None:
            content: list[dict[str, Any]] = [{"type": "tool_use", "id": "toolu_stub", "name": tool["name"],
                                              "input": json.loads(text)}]
            stop = "tool_use"
        else:
            content = [{"type": "text", "text": text}]
            stop = "end_turn"
        prompt = sum(len(t.content.split()) for t in turns)
        return {"id": "msg_stub", "type": "message", "role": "assistant", "model": model, "content": content,
                "stop_reason": stop, "stop_sequence": None,
                "usage": {"input_tokens": prompt, "output_tokens": len(text.split())}}

    # --- message batches

    def _batch_object(self, batch_id: str) -> dict[str, Any]:
        batch = self.batches[batch_id]
        ended = time.monotonic() - batch["created"] >= self.batch_delay
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if ended:
            for outcome in batch["outcomes"].values():
                counts[outcome] += 1
        else:
            counts["processing"] = len(batch["requests"])
        return {"id": batch_id, "type": "message_batch", "processing_status": "ended" if ended else "in_progress",
                "request_counts": counts, "created_at": batch["created_at"], "ended_at": None,
                "expires_at": batch["expires_at"], "archived_at": None, "cancel_initiated_at": None,
                "results_url": f"{self.base_url}/messages/batches/{batch_id}/results" if ended else None}

    def fails(self, custom_id: str) -> bool:
        """Whether the request with this custom_id is made to error (error_every)."""
        digest = int(hashlib.sha256(custom_id.encode()).hexdigest(), 16)
        return bool(self.error_every) and digest % self.error_every == 0

    def _outcome(self, index: int, total: int, custom_id: str, params: dict[str, Any]) -> str:
        if self.expire_first and self.batches_created == 1 and index >= total // 2:
            return "expired"
        if self.fails(custom_id):
            return "errored"
        return "errored" if self._invalid(params) else "succeeded"

    async def _create_batch(self, request: web.Request) -> web.Response:
        body = await request.json()
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            return _error(400, "invalid_request_error", "requests: at least one request is required")
        ids = [r.get("custom_id") for r in requests]
        bad = next((i for i in ids if not isinstance(i, str) or not _CUSTOM_ID.match(i)), None)
        if bad is not None or len(set(ids)) != len(ids):
            return _error(400, "invalid_request_error", f"requests: custom_id {bad!r} invalid or repeated")
        self.batches_created += 1
        batch_id = f"msgbatch_stub{self.batches_created:04d}"
        self.batches[batch_id] = {
            "requests": requests, "created": time.monotonic(),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400)),
            "outcomes": {r["custom_id"]: self._outcome(i, len(requests), r["custom_id"], r.get("params"))
                         for i, r in enumerate(requests)},
        }
        return web.json_response(self._batch_object(batch_id))

    async def _get_batch(self, request: web.Request) -> web.Response:
        batch_id = request.match_info["id"]
        if batch_id not in self.batches:
            return _error(404, "not_found_error", f"no message batch {batch_id}")
        return web.json_response(self._batch_object(batch_id))

    async def _results(self, request: web.Request) -> web.Response:
        batch_id = request.match_info["id"]
        if batch_id not in self.batches:
            return _error(404, "not_found_error", f"no message batch {batch_id}")
        if self._batch_object(batch_id)["processing_status"] != "ended":
            return _error(400, "invalid_request_error", "batch is still in progress; results are not ready")
        batch = self.batches[batch_id]
        lines = []
        for r in reversed(batch["requests"]):
            outcome = batch["outcomes"][r["custom_id"]]
            result: dict[str, Any] = {"type": outcome}
            if outcome == "succeeded":
                result["message"] = self.message(r["params"])
            elif outcome == "errored":
                why = self._invalid(r.get("params")) or "stub failure for this request"
                result["error"] = {"type": "error", "error": {"type": "invalid_request_error", "message": why}}
            lines.append(json.dumps({"custom_id": r["custom_id"], "result": result}))
        return web.Response(body=("\n".join(lines) + "\n").encode(), content_type="application/x-jsonl")


async def _serve(args: argparse.Namespace) -> None:
    server = await AnthropicStub(port=args.port, api_key=args.api_key, batch_delay=args.batch_delay,
                                 error_every=args.error_every, expire_first=args.expire_first,
                                 latency=args.latency).start()
    print(f"stub Anthropic API at {server.base_url}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--api-key", default=None, help="require this x-api-key (default: accept any request)")
    parser.add_argument("--batch-delay", type=float, default=0.0, help="seconds a batch stays in_progress")
    parser.add_argument("--error-every", type=int, default=0, help="error requests whose custom_id hash is 0 mod N")
    parser.add_argument("--expire-first", action="store_true", help="the first batch expires half its requests")
    parser.add_argument("--latency", type=float, default=0.0)
    asyncio.run(_serve(parser.parse_args()))
