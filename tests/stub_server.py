"""A loopback OpenAI-compatible stub server, for fault tests and the model-layer benchmark.

Plain asyncio (no framework) so the server costs little CPU next to the client it measures. Behaviour is
chosen by the requested model name, so one server covers every case:

    ok            answers at once (after --latency seconds)
    ratelimit-N   the first N requests of each distinct prompt get 429 with Retry-After: 1
    error-N       the first N requests of each distinct prompt get 500
    slow          sleeps 30 s before answering (past any sensible timeout)
    truncated     announces a longer body than it sends, then closes the connection
    garbage       200 with a body that is not JSON
    echo-auth     401 whose message repeats the Authorization header (to prove keys are scrubbed)
    sim*          plausible answers to every step of adaem (verdicts, opinions, questions), different per
                  model name (`sim-a`, `sim-b`, ...): a whole `adaem generate` can run against the server;
                  with `simulate` every model name not listed here answers so (the docs' examples name real
                  vendors' models and run against this server: tests/docs_examples.py)

It also fakes OpenAI's batch API (/v1/files, /v1/batches): a batch completes `batch_delay` seconds after it is
created, answering each line as the chat route would; `batch_fail_every` N fails the requests whose custom id
(a hex digest) is divisible by N; `batch_expire_first` makes the first batch expire with half its requests done;
`queue_limit` N enforces OpenAI's enqueued-token limit (a batch that would take the prompt tokens of the batches in
progress past N fails as a whole with `token_limit_exceeded` and OpenAI's message); `down` makes the files and
batches routes answer 503 (an outage). GET /v1/stub/stats reports batches created and chat requests served (to
prove nothing was paid twice).

`dialect` makes the server validate requests as a vendor documents it (vendor_rules.py): "mistral" answers 422
to any field Mistral's API does not define (`seed`, `logprobs`, `max_completion_tokens`), "openai" answers 400 to
an unrecognised field and, for reasoning models (o-series, gpt-5), to `max_tokens`, `temperature` or `top_p`
other than 1, `logprobs` and `stop`, and spends REASONING_TOKENS hidden tokens out of `max_completion_tokens`
(empty answer, finish_reason length, when the cap is smaller); "deepseek" thinks unless `thinking` is disabled
(reasoning_content, tokens out of `max_tokens`) and answers 400 to logprobs while thinking. Whatever the dialect,
a model named `think-*` answers with a `<think>` block before its answer (Groq's raw format, an engine without a
reasoning parser) and one named `*-r1*` with vLLM's `reasoning` field. `hang` makes every chat request wait
until it is cleared (a replica that accepts connections and never answers).

Run it alone: python tests/stub_server.py --port 8765 --latency 0.1

It lives with the tests and benchmarks, not in the installed package.
"""

from __future__ import annotations

import argparse
import asyncio
import email.parser
import json
import time
from collections import Counter
from typing import Any

from vendor_rules import REASONING_TOKENS, enqueued_tokens, quota_message, validate


class StubServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, latency: float = 0.0, *, batch_delay: float = 0.0,
                 batch_fail_every: int = 0, batch_expire_first: bool = False, dialect: str | None = None,
                 queue_limit: int | None = None, simulate: bool = False):
        self.host = host
        self.simulate = simulate
        self.port = port
        self.latency = latency
        self.requests = 0
        self.chat_requests = 0
        self.seen: Counter[str] = Counter()
        self.batch_delay = batch_delay
        self.batch_fail_every = batch_fail_every
        self.batch_expire_first = batch_expire_first
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.dialect = dialect
        self.queue_limit = queue_limit
        self.peak_enqueued = 0  # the most prompt tokens batches in progress held at once
        self.refused = 0  # batches failed for the enqueued-token limit
        self.down = False  # the batch routes answer 503
        self.hang = False  # chat requests wait while this is set
        self.bodies: list[dict[str, Any]] = []  # every chat request body, in order
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    async def start(self) -> StubServer:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self.hang = False
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def kill(self) -> None:
        """Die as a crashed replica does: stop listening and drop every open connection, mid-request or not."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if not await self._respond(method, path, headers, body, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            self._writers.discard(writer)
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - closing a dead socket
                pass

    async def _respond(self, method: str, path: str, headers: dict[str, str], body: bytes,
                       writer: asyncio.StreamWriter) -> bool:
        self.requests += 1
        if method == "GET" and path.rstrip("/").endswith("/models"):
            self._write(writer, 200, {"object": "list", "data": [{"id": "ok", "object": "model"}]})
            await writer.drain()
            return True
        if "/files" in path or "/batches" in path or "/stub/" in path:
            if self.down and "/stub/" not in path:
                self._write(writer, 503, {"error": {"message": "The server is overloaded or not ready yet.",
                                                    "type": "server_error"}})
                await writer.drain()
                return True
            status, payload = self._batch_api(method, path, headers, body)
            if isinstance(payload, bytes):
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/jsonl\r\n"
                             + f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
            else:
                self._write(writer, status, payload)
            await writer.drain()
            return True
        self.chat_requests += 1
        request = json.loads(body or b"{}")
        self.bodies.append(request)
        model = str(request.get("model", "ok"))
        while self.hang:
            await asyncio.sleep(0.02)
        prompt_key = model + json.dumps(request.get("messages"), sort_keys=True)
        self.seen[prompt_key] += 1
        attempt = self.seen[prompt_key]
        if self.latency:
            await asyncio.sleep(self.latency)
        if model.startswith("ratelimit-") and attempt <= int(model.split("-")[1]):
            self._write(writer, 429, {"error": {"message": "rate limited", "type": "rate_limit"}},
                        extra={"Retry-After": "1"})
        elif model.startswith("error-") and attempt <= int(model.split("-")[1]):
            self._write(writer, 500, {"error": {"message": "internal error", "type": "server_error"}})
        elif model == "slow":
            await asyncio.sleep(30)
            self._write(writer, 200, self._completion(request))
        elif model == "truncated":
            payload = json.dumps(self._completion(request)).encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         + f"Content-Length: {len(payload) + 100}\r\n\r\n".encode() + payload[: len(payload) // 2])
            await writer.drain()
            return False
        elif model == "garbage":
            payload = b"<html>upstream proxy error</html>"
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         + f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
        elif model == "echo-auth":
            self._write(writer, 401, {"error": {"message": f"Incorrect API key provided: {headers.get('authorization')}",
                                                "type": "invalid_request_error"}})
        else:
            status, payload = self.answer(request)
            self._write(writer, status, payload)
        await writer.drain()
        return True

    def answer(self, request: dict) -> tuple[int, dict]:
        """(status, body) of a chat request under the server's dialect: its validation error, or the completion."""
        refused = validate(self.dialect, request)
        if refused is not None:
            return refused
        return 200, self._completion(request, self.dialect, self.simulate)

    # -- the batch API ---------------------------------------------------------------------------------------
    def _batch_api(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        parts = path.split("?")[0].rstrip("/").split("/")  # ['', 'v1', 'files', ...]
        if parts[2:] == ["stub", "stats"]:
            return 200, {"batches_created": len(self.batches), "chat_requests": self.chat_requests}
        if method == "POST" and parts[2:] == ["files"]:
            message = email.parser.BytesParser().parsebytes(
                f"Content-Type: {headers.get('content-type')}\r\n\r\n".encode() + body)
            content = next(part.get_payload(decode=True) for part in message.get_payload()
                           if part.get_param("name", header="content-disposition") == "file")
            file_id = f"file-{len(self.files) + 1}"
            self.files[file_id] = content
            return 200, {"id": file_id, "object": "file", "purpose": "batch", "bytes": len(content)}
        if method == "GET" and len(parts) == 5 and parts[2] == "files" and parts[4] == "content":
            return (200, self.files[parts[3]]) if parts[3] in self.files else (404, {"error": {"message": "no file"}})
        if method == "POST" and parts[2:] == ["batches"]:
            request = json.loads(body)
            if request.get("input_file_id") not in self.files:
                return 404, {"error": {"message": "no such input file"}}
            batch_id = f"batch_{len(self.batches) + 1}"
            lines = [json.loads(line) for line in self.files[request["input_file_id"]].splitlines() if line.strip()]
            batch = {"id": batch_id, "lines": lines, "created": time.monotonic(),
                     "expire": self.batch_expire_first and not self.batches, "done": None,
                     "tokens": enqueued_tokens(lines)}
            if self.queue_limit is not None:
                for other in self.batches.values():  # those due are done: they free the queue
                    if other["done"] is None and time.monotonic() - other["created"] >= self.batch_delay:
                        self._finish(other)
                model = str((lines[0].get("body") or {}).get("model", "")) if lines else ""
                batch["model"] = model
                held = sum(b["tokens"] for b in self.batches.values()  # OpenAI's queue limit is per model
                           if b["done"] is None and not b.get("refused") and b.get("model") == model)
                if held + batch["tokens"] > self.queue_limit:
                    batch["refused"] = quota_message(model, self.queue_limit)
                    self.refused += 1
                else:
                    self.peak_enqueued = max(self.peak_enqueued, held + batch["tokens"])
            self.batches[batch_id] = batch
            return 200, self._batch_object(batch_id)
        if method == "GET" and len(parts) == 4 and parts[2] == "batches":
            if parts[3] not in self.batches:
                return 404, {"error": {"message": "no such batch"}}
            return 200, self._batch_object(parts[3])
        return 404, {"error": {"message": f"no route {method} {path}"}}

    def _batch_object(self, batch_id: str) -> dict[str, Any]:
        batch = self.batches[batch_id]
        total = len(batch["lines"])
        if batch.get("refused"):  # OpenAI accepts the batch, then fails it as a whole in validation
            return {"id": batch_id, "object": "batch", "status": "failed", "output_file_id": None,
                    "error_file_id": None, "request_counts": {"total": 0, "completed": 0, "failed": 0},
                    "errors": {"object": "list", "data": [{"code": "token_limit_exceeded", "line": None, "param": None,
                                                           "message": batch["refused"]}]}}
        if batch["done"] is None and time.monotonic() - batch["created"] >= self.batch_delay:
            self._finish(batch)
        if batch["done"] is None:
            return {"id": batch_id, "object": "batch", "status": "in_progress",
                    "request_counts": {"total": total, "completed": 0, "failed": 0}}
        ok, failed, status = batch["done"]
        return {"id": batch_id, "object": "batch", "status": status, "output_file_id": batch.get("output"),
                "error_file_id": batch.get("errors"), "request_counts": {"total": total, "completed": ok,
                                                                         "failed": failed}}

    def _finish(self, batch: dict[str, Any]) -> None:
        out, errors = [], []
        for i, line in enumerate(batch["lines"]):
            cid = line["custom_id"]
            if batch["expire"] and i >= len(batch["lines"]) // 2:
                errors.append({"id": f"req_{i}", "custom_id": cid, "response": None,
                               "error": {"code": "batch_expired", "message": "This request could not be executed "
                                         "before the completion window expired."}})
            elif self.batch_fail_every and int(cid, 16) % self.batch_fail_every == 0:
                errors.append({"id": f"req_{i}", "custom_id": cid, "error": None, "response": {
                    "status_code": 500, "request_id": f"r{i}",
                    "body": {"error": {"message": "internal error", "type": "server_error"}}}})
            else:
                status, payload = self.answer(line["body"])
                row = {"id": f"req_{i}", "custom_id": cid, "error": None, "response": {
                    "status_code": status, "request_id": f"r{i}", "body": payload}}
                (out if status == 200 else errors).append(row)
        for name, rows in (("output", out), ("errors", errors)):
            if rows:
                file_id = f"file-{len(self.files) + 1}"
                self.files[file_id] = "".join(json.dumps(r) + "\n" for r in rows).encode()
                batch[name] = file_id
        batch["done"] = (len(out), len(errors), "expired" if batch["expire"] else "completed")

    @staticmethod
    def _completion(request: dict, dialect: str | None = None, simulate: bool = False) -> dict:
        from vendor_rules import reasons

        messages = request.get("messages") or [{"content": ""}]
        last = str(messages[-1].get("content", ""))
        model = str(request.get("model", "ok"))
        if "sim" in model or simulate:
            from adaem.models.providers.mock import simulated
            from adaem.models.types import ChatMessage

            format_ = request.get("response_format") or {}
            schema = (format_.get("json_schema") or {}).get("schema") or format_.get("schema")
            chat = [ChatMessage(role=m.get("role", "user"), content=str(m.get("content", ""))) for m in messages]
            sim = model.removeprefix("think-")
            text = simulated(sim, chat, schema, request.get("seed", request.get("random_seed")))
        else:
            text = json.dumps({"stance": "yes"}) if request.get("response_format") else f"stub answer to: {last[:60]}"
        message: dict[str, Any] = {"role": "assistant", "content": text}
        finish = "stop"
        thought = "Let me weigh the question step by step before I answer. " * 8
        reasoning = 0
        if reasons(dialect, request):  # hidden reasoning out of the same cap as the answer
            cap = int(request.get("max_completion_tokens") or request.get("max_tokens") or 10**9)
            reasoning = min(REASONING_TOKENS, cap)
            if dialect == "deepseek":
                message["reasoning_content"] = thought
            if cap <= REASONING_TOKENS:
                message["content"], finish = "", "length"
        elif model.startswith("think-"):
            message["content"] = f"<think>\n{thought}\n</think>\n\n{text}"
        elif "-r1" in model:
            message["reasoning"] = thought
        answer_tokens = len(str(message["content"]).split())
        usage: dict[str, Any] = {"prompt_tokens": len(last.split()), "completion_tokens": answer_tokens + reasoning,
                                 "total_tokens": len(last.split()) + answer_tokens + reasoning}
        if reasoning:
            usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
        return {
            "id": "chatcmpl-stub",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", "ok"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": usage,
        }

    @staticmethod
    def _write(writer: asyncio.StreamWriter, status: int, payload: dict, extra: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 422: "Unprocessable Entity",
                  429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}[status]
        head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        for k, v in (extra or {}).items():
            head += f"{k}: {v}\r\n"
        writer.write(head.encode() + b"\r\n" + data)


async def _serve(port: int, latency: float, **batch: Any) -> None:
    server = await StubServer(port=port, latency=latency, **batch).start()
    print(f"stub OpenAI-compatible server at {server.base_url} (latency {latency}s)", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--batch-delay", type=float, default=0.0)
    parser.add_argument("--batch-fail-every", type=int, default=0)
    parser.add_argument("--batch-expire-first", action="store_true")
    parser.add_argument("--dialect", choices=["mistral", "openai", "deepseek"])
    parser.add_argument("--queue-limit", type=int)
    parser.add_argument("--simulate", action="store_true", help="every model answers as a sim* model")
    args = parser.parse_args()
    asyncio.run(_serve(args.port, args.latency, batch_delay=args.batch_delay, batch_fail_every=args.batch_fail_every,
                       batch_expire_first=args.batch_expire_first, dialect=args.dialect, queue_limit=args.queue_limit,
                       simulate=args.simulate))
