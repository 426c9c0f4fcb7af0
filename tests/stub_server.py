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
                  model name (`sim-a`, `sim-b`, ...): a whole `adaem generate` can run against the server

Run it alone: python tests/stub_server.py --port 8765 --latency 0.1

It lives with the tests and benchmarks, not in the installed package.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter


class StubServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, latency: float = 0.0):
        self.host = host
        self.port = port
        self.latency = latency
        self.requests = 0
        self.seen: Counter[str] = Counter()
        self._server: asyncio.base_events.Server | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    async def start(self) -> StubServer:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
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
        request = json.loads(body or b"{}")
        model = str(request.get("model", "ok"))
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
            self._write(writer, 200, self._completion(request))
        await writer.drain()
        return True

    @staticmethod
    def _completion(request: dict) -> dict:
        messages = request.get("messages") or [{"content": ""}]
        last = str(messages[-1].get("content", ""))
        model = str(request.get("model", "ok"))
        if model.startswith("sim"):
            from adaem.models.providers.mock import simulated
            from adaem.models.types import ChatMessage

            format_ = request.get("response_format") or {}
            schema = (format_.get("json_schema") or {}).get("schema") or format_.get("schema")
            chat = [ChatMessage(role=m.get("role", "user"), content=str(m.get("content", ""))) for m in messages]
            text = simulated(model, chat, schema, request.get("seed"))
        else:
            text = json.dumps({"stance": "yes"}) if request.get("response_format") else f"stub answer to: {last[:60]}"
        return {
            "id": "chatcmpl-stub",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", "ok"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": len(last.split()), "completion_tokens": len(text.split()),
                      "total_tokens": len(last.split()) + len(text.split())},
        }

    @staticmethod
    def _write(writer: asyncio.StreamWriter, status: int, payload: dict, extra: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        reason = {200: "OK", 401: "Unauthorized", 429: "Too Many Requests", 500: "Internal Server Error"}[status]
        head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        for k, v in (extra or {}).items():
            head += f"{k}: {v}\r\n"
        writer.write(head.encode() + b"\r\n" + data)


async def _serve(port: int, latency: float) -> None:
    server = await StubServer(port=port, latency=latency).start()
    print(f"stub OpenAI-compatible server at {server.base_url} (latency {latency}s)", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    asyncio.run(_serve(args.port, args.latency))
