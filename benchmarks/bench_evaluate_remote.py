"""`adaem evaluate` against remote models: a loopback OpenAI-compatible server with fixed latency.

The issue-27 workload: 1,000 questions × 3 targets (`stub/sim-a..c`), the per-value judge (`stub/sim-j`, 10 calls
per key point with `unit: opinion`, or per answer with `unit: answer`), 64 connections per model, opinion rules on
(every answer's question and points are embedded). Prints the wall time, calls/s, the judge-bound ideal (the
judge's calls × latency / its connections) and how close the run came to it, and the sentence-embedding work
(texts embedded, and the embedding model's own throughput on this machine).

    .venv/bin/python benchmarks/bench_evaluate_remote.py [--questions 1000] [--latency 0.1] [--rules on|off]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_model_layer import start_server  # noqa: E402

import adaem  # noqa: E402
from adaem.config import RunConfig  # noqa: E402

PLACES = ["in Ohio", "in Kenya", "in Japan", "in Brazil", "for students", "for retirees", "in rural India",
          "in the EU", "for small firms", "in Norway"]


def questions(n: int) -> list[str]:
    seeds = [json.loads(line)["question"].rstrip("?") for line in
             resources.files("adaem").joinpath("data/seeds.jsonl").read_text().splitlines() if line.strip()]
    out = [f"{seeds[i % len(seeds)]} {PLACES[i // len(seeds) % len(PLACES)]}?" for i in range(n)]
    return list(dict.fromkeys(out))


def embedding_throughput(texts: list[str]) -> float:
    """Texts/s of the embedding model alone on these texts (a fresh encoder: nothing remembered)."""
    from adaem import embeddings

    encoder = type(embeddings.default_encoder())()
    start = time.perf_counter()
    encoder.encode(texts)
    return len(texts) / (time.perf_counter() - start)


def usage(run: Path) -> tuple[int, int]:
    """(all calls, the judge's calls) the run sent, from its state database."""
    import sqlite3

    with sqlite3.connect(run / "state.sqlite") as db:
        rows = [(model, json.loads(tally)["calls"]) for model, tally in db.execute("SELECT model, tally FROM usage")]
    return sum(c for _, c in rows), sum(c for m, c in rows if m == "stub/sim-j")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rules", choices=["on", "off"], default="on")
    parser.add_argument("--unit", choices=["answer", "opinion"], default="answer")
    args = parser.parse_args()
    qs = questions(args.questions)
    proc, url = start_server(args.latency)
    try:
        cfg = RunConfig.model_validate({
            "roles": {"targets": [f"stub/sim-{x}" for x in "abc"], "judge": "stub/sim-j"},
            "endpoints": {"stub": {"base_url": url}},
            "limits": {"max_concurrency": args.connections, "max_retries": 2},
            "evaluation": {"protocol": "per-value", "unit": args.unit,
                           "opinion_rules": {"enabled": args.rules == "on"}},
        })
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            result = adaem.evaluate(qs, config=cfg, out=Path(tmp) / "run")
            seconds = time.perf_counter() - start
            calls, judge_calls = usage(Path(tmp) / "run")
        answers = result.answers
        ideal = judge_calls * args.latency / args.connections
        print(f"{len(qs)} questions × 3 targets, per-value judge ({args.unit}), latency {args.latency} s, "
              f"{args.connections} connections per model, opinion rules {args.rules}")
        print(f"answers {len(answers)}; calls {calls} ({judge_calls} judge); {seconds:.1f} s; "
              f"{calls / seconds:.0f} calls/s; judge-bound ideal {ideal:.1f} s; ratio {ideal / seconds:.2f}")
        if args.rules == "on":
            points = [p["point"] for pts in answers["points"].dropna() for p in pts]
            texts = list(dict.fromkeys([*qs, *points]))
            print(f"distinct texts embedded {len(texts)}; embedding model alone "
                  f"{embedding_throughput(texts[:2000]):.0f} texts/s on this machine")
    finally:
        proc.kill()


if __name__ == "__main__":
    main()
