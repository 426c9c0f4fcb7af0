"""`adaem generate` against remote models: a loopback OpenAI-compatible server with fixed latency.

The stub server (`tests/stub_server.py`, its own process) answers every step plausibly (`sim*` models: verdicts,
opinions, questions) after `--latency` seconds, like a hosted API. The pool is the issue's: 3 explorers,
4 scorers, 1 generator, a judge (per-value: 10 calls per text), width 1, depth 1, 64 connections per model.
For each `parallel_pulls` it prints the wall time of the pulls (the seed arms are scored first and not
counted), accepted questions per minute, requests in flight (mean and peak over the whole pool, and the
judge's mean, whose calls dominate), and calls per question.

    .venv/bin/python benchmarks/bench_generate_remote.py [--latency 0.5] [--parallel 1,8,32,default] [--pulls-per-slot 2]

`--legacy` runs `adaem.generation.job.generate` whole with no parallel settings (for a checkout before pulls in
flight existed): questions per minute over the whole run, seed scoring included.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_model_layer import start_server  # noqa: E402

from adaem.config import RunConfig  # noqa: E402


def config(url: str, arms: int, budget: int, parallel: int | None, judge_connections: int = 64) -> RunConfig:
    generation = {"arms": arms, "budget": budget, "width": 1, "depth": 1}
    if parallel is not None:
        generation["parallel_pulls"] = parallel
    return RunConfig.model_validate({
        "roles": {"explorers": [f"stub/sim-{x}" for x in "abc"], "scorers": [f"stub/sim-{x}" for x in "abcd"],
                  "generators": ["stub/sim-g"], "judge": "stub/sim-j"},
        "endpoints": {"stub": {"base_url": url}},
        "limits": {"max_concurrency": 64, "max_retries": 2},
        "model_limits": {"stub/sim-j": {"max_concurrency": judge_connections, "max_retries": 2}},
        "generation": generation,
    })


async def pulls_phase(cfg: RunConfig, out: Path) -> dict[str, float]:
    """Score the seed arms, then time the pulls alone while sampling the requests in flight every 20 ms."""
    from adaem.generation.search import Search
    from adaem.generation.seeds import load_seeds
    from adaem.models import ModelPool
    from adaem.store import RunStore
    from adaem.theories import load_theory

    store = RunStore.create(out, cfg, "generate")
    pool = ModelPool(cfg, cache=store.cache)
    search = Search(store, pool, load_theory(cfg.evaluation.theory), load_seeds())
    arms = await search.init_arms([])
    search.load_questions()
    search.save_state(arms, 0, [], {}, 0)
    calls_before = pool.ledger.total().calls
    judge_before = sum(int(r["calls"]) for r in pool.ledger.rows() if r["model"] == cfg.roles.judge)  # type: ignore[call-overload]
    samples: list[int] = []
    judge: list[int] = []
    stop = asyncio.Event()

    async def sample() -> None:
        judge_model = pool.get(cfg.roles.judge)
        while not stop.is_set():
            samples.append(pool.in_flight())
            judge.append(judge_model.in_flight)
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    start = time.perf_counter()
    result = await search.run()
    seconds = time.perf_counter() - start
    stop.set()
    await sampler
    await pool.aclose()
    store.close()
    questions = len(search.benchmark)
    calls = pool.ledger.total().calls - calls_before
    judge_calls = sum(int(r["calls"]) for r in pool.ledger.rows()  # type: ignore[call-overload]
                      if r["model"] == cfg.roles.judge) - judge_before
    return {"pulls": result["pulls"], "questions": questions, "seconds": seconds,
            "per_minute": questions / seconds * 60, "mean_in_flight": sum(samples) / max(len(samples), 1),
            "peak_in_flight": max(samples, default=0), "judge_in_flight": sum(judge) / max(len(judge), 1),
            "calls_per_question": calls / max(questions, 1), "judge_calls_per_s": judge_calls / seconds,
            "calls_per_s": calls / seconds}


def legacy(cfg: RunConfig, out: Path) -> dict[str, float]:
    from adaem.generation.job import generate

    start = time.perf_counter()
    result = generate(cfg, out)
    seconds = time.perf_counter() - start
    questions = len(result.questions)
    return {"pulls": result.summary["pulls"], "questions": questions, "seconds": seconds,
            "per_minute": questions / seconds * 60, "mean_in_flight": float("nan"), "peak_in_flight": float("nan"),
            "judge_in_flight": float("nan"), "calls_per_question": result.summary["calls_per_question"] or 0}


def default_parallel(url: str, judge_connections: int) -> int:
    """The pulls in flight `generate` picks when `generation.parallel_pulls` is unset, for this pool."""
    from adaem.generation.search import parallelism
    from adaem.models import ModelPool

    cfg = config(url, arms=4, budget=4, parallel=None, judge_connections=judge_connections)
    return parallelism(cfg, ModelPool(cfg))[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--parallel", default="1,8,32", help="pulls in flight to try, comma-separated; `default` "
                        "is what generate picks when generation.parallel_pulls is unset")
    parser.add_argument("--pulls-per-slot", type=int, default=2, help="budget = this × parallel_pulls (at least 4)")
    parser.add_argument("--judge-connections", type=int, default=64, help="the judge's concurrency limit")
    parser.add_argument("--legacy", action="store_true", help="whole generate() runs, no parallel settings")
    parser.add_argument("--server-url", help="a stub server already running (e.g. this checkout's, for a client "
                        "from an older checkout: PYTHONPATH=old/src ... --legacy --server-url URL)")
    args = parser.parse_args()
    proc, url = (None, args.server_url) if args.server_url else start_server(args.latency)
    try:
        print(f"server latency {args.latency} s; 3 explorers, 4 scorers, 1 generator, judge per-value; width 1, "
              f"depth 1; 64 connections per model")
        print(f"{'pulls in flight':>15} {'pulls':>6} {'questions':>9} {'seconds':>8} {'questions/min':>13} "
              f"{'in flight (mean / peak)':>23} {'judge in flight':>15} {'calls/question':>14}")
        for token in args.parallel.split(","):
            parallel = None if token == "default" else int(token)  # default: what generate picks by itself
            resolved = parallel or default_parallel(url, args.judge_connections)
            budget = max(4, args.pulls_per_slot * resolved)
            with tempfile.TemporaryDirectory() as tmp:
                cfg = config(url, arms=max(4, min(budget, 64)), budget=budget,
                             parallel=None if args.legacy else parallel, judge_connections=args.judge_connections)
                r = legacy(cfg, Path(tmp) / "run") if args.legacy else asyncio.run(pulls_phase(cfg, Path(tmp) / "run"))
            label = "legacy" if args.legacy else token if parallel else f"default ({resolved})"
            print(f"{label:>15} {r['pulls']:>6} {r['questions']:>9} {r['seconds']:>8.1f} {r['per_minute']:>13.1f} "
                  f"{r['mean_in_flight']:>13.1f} / {r['peak_in_flight']:>7} {r['judge_in_flight']:>15.1f} "
                  f"{r['calls_per_question']:>14.1f}")
            if not args.legacy:
                limit = args.judge_connections / args.latency
                print(f"{'':>15} judge {r['judge_calls_per_s']:.1f} calls/s of the {limit:.0f} its limit allows "
                      f"({r['judge_calls_per_s'] / limit:.2f}); all models {r['calls_per_s']:.1f} calls/s")
    finally:
        if proc is not None:
            proc.kill()


if __name__ == "__main__":
    main()
