"""Replicated endpoints: calls/s with 1 vs 3 replicas of a fixed-latency loopback server, at the same
per-replica concurrency limit (`limits.max_concurrency`), through the whole pipeline (cache, limits, retries,
accounting, least-outstanding routing). Each replica is a stub server in its own process. The ideal ratio is 3.

    .venv/bin/python benchmarks/bench_replicas.py [--latency 0.5] [--concurrency 8] [--calls-per-slot 8]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bench_model_layer import start_server

from adaem.config import Endpoint, Limits, RunConfig
from adaem.models import CallCache, GenerateConfig, ModelPool


async def rate(urls: list[str], concurrency: int, calls: int, cache: Path) -> tuple[float, list[int]]:
    """(calls/s, calls answered per replica)."""
    config = RunConfig(endpoints={"stub": Endpoint(base_url=urls)},
                       model_limits={"stub/ok": Limits(max_concurrency=concurrency, max_retries=2)})
    pool = ModelPool(config, cache=CallCache(cache))
    model = pool.get("stub/ok")
    started = time.perf_counter()
    await asyncio.gather(*(model.generate(f"{len(urls)} replicas, question {i}", GenerateConfig(max_tokens=8))
                           for i in range(calls)))
    elapsed = time.perf_counter() - started
    spread = [r["calls"] for r in model.provider.replica_rows()] or [calls]
    await pool.aclose()
    return calls / elapsed, spread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=8, help="per replica")
    parser.add_argument("--calls-per-slot", type=int, default=8)
    args = parser.parse_args()
    servers = [start_server(args.latency) for _ in range(3)]
    urls = [url for _, url in servers]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            results = {}
            for n in (1, 3):
                calls = args.calls_per_slot * args.concurrency * n
                results[n] = asyncio.run(rate(urls[:n], args.concurrency, calls, Path(tmp) / f"{n}.sqlite"))
                ideal = n * args.concurrency / args.latency
                print(f"{n} replica(s) × concurrency {args.concurrency}, latency {args.latency}s: {calls} calls, "
                      f"{results[n][0]:.1f} calls/s (ideal {ideal:.1f}), per replica {results[n][1]}")
            print(f"speed-up 3 vs 1 replica: {results[3][0] / results[1][0]:.2f}x (ideal 3.00x)")
    finally:
        for proc, _ in servers:
            proc.kill()


if __name__ == "__main__":
    main()
