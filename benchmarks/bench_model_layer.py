"""Model-layer throughput against a loopback OpenAI-compatible stub server.

For a fixed server latency (default 0.1 s) and for zero latency, sends distinct prompts through the whole
pipeline (cache lookup + write, concurrency limit, retries, accounting) at concurrency 1, 16 and 64, and
prints calls/s over the whole batch and sustained (middle 80% of completions), and the sustained ratio to the
ideal concurrency / latency. A last row sends the same requests over bare asyncio streams: the floor that the
server and Python allow on this machine. The server runs in its own process.

    .venv/bin/python benchmarks/bench_model_layer.py [--latency 0.1] [--calls-per-slot 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from adaem.config import Endpoint, Limits, RunConfig
from adaem.models import CallCache, GenerateConfig, ModelPool


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = Path(__file__).resolve().parents[1] / "tests" / "stub_server.py"
    proc = subprocess.Popen([sys.executable, str(server), "--port", str(port), "--latency", str(latency)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/models", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("stub server did not start")


async def measure(url: str, concurrency: int, calls: int, cache_dir: Path, tag: str) -> tuple[float, float]:
    """(calls/s over the whole batch, sustained calls/s over its middle 80% of completions).

    The batch is submitted at once, as a job would: the cache keys and lookups of every queued call run
    before the first responses are read (~60 µs a call), a one-off that the whole-batch figure includes and
    the sustained figure leaves out."""
    config = RunConfig(
        endpoints={"stub": Endpoint(base_url=url)},
        model_limits={"stub/ok": Limits(max_concurrency=concurrency, max_retries=2)},
    )
    pool = ModelPool(config, cache=CallCache(cache_dir / f"{tag}.sqlite"))
    model = pool.get("stub/ok")
    await asyncio.gather(*(model.generate(f"warm-up {i}", GenerateConfig(max_tokens=8)) for i in range(concurrency)))
    done: list[float] = []

    async def call(i: int) -> None:
        await model.generate(f"{tag} question {i}", GenerateConfig(max_tokens=8))
        done.append(time.perf_counter())

    started = time.perf_counter()
    await asyncio.gather(*(call(i) for i in range(calls)))
    elapsed = time.perf_counter() - started
    await pool.aclose()
    lo, hi = int(calls * 0.1), int(calls * 0.9)
    return calls / elapsed, (hi - lo) / (done[hi] - done[lo])


async def raw_client_rate(url: str, concurrency: int, per_connection: int) -> float:
    """The same requests over plain asyncio streams, one keep-alive connection per slot: the floor that the
    server and Python's event loop allow, to tell pipeline and HTTP-client overhead apart."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    body = json.dumps({"model": "ok", "messages": [{"role": "user", "content": "q"}]}).encode()
    request = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body)) + body

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        for _ in range(per_connection):
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length"))
            await reader.readexactly(length)
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return concurrency * per_connection / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--calls-per-slot", type=int, default=32)
    args = parser.parse_args()
    print(f"{'latency':>8} {'concurrency':>11} {'calls':>6} {'calls/s':>9} {'sustained':>9} {'ideal':>7} "
          f"{'ratio':>6} {'ms/call':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for latency in (args.latency, 0.0):
            proc, url = start_server(latency)
            try:
                for concurrency in (1, 16, 64):
                    calls = max(64, concurrency * args.calls_per_slot) if latency else 2000
                    rate, sustained = asyncio.run(measure(url, concurrency, calls, Path(tmp), f"l{latency}c{concurrency}"))
                    ideal = concurrency / latency if latency else float("nan")
                    print(f"{latency:>8.3f} {concurrency:>11} {calls:>6} {rate:>9.1f} {sustained:>9.1f} {ideal:>7.0f} "
                          f"{sustained / ideal:>6.3f} {1000 / sustained:>8.2f}", flush=True)
                if latency:
                    rate = asyncio.run(raw_client_rate(url, 64, args.calls_per_slot))
                    print(f"{latency:>8.3f} {64:>11} {64 * args.calls_per_slot:>6} {rate:>9.1f} {'':>9} {64 / latency:>7.0f} "
                          f"{rate * latency / 64:>6.3f} {1000 / rate:>8.2f}  <- raw asyncio client, no pipeline",
                          flush=True)
            finally:
                proc.kill()
    print("ratio = sustained calls/s ÷ (concurrency / latency); ms/call at latency 0 is the whole client+server "
          "overhead per call")


if __name__ == "__main__":
    main()
