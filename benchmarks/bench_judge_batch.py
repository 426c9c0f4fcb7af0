"""Embedded judge speed: a text's per-value calls one at a time vs as one llama.cpp batch (issue 38).

Labels the first `--texts` texts of the shipped judge-check set (per-value protocol, no cache, after one warm-up
text) and prints the judge calls per second; `--save FILE` keeps every P(yes), and `--compare A B` prints how two
saved runs differ (max |ΔP|, labels flipped at 0.5). Works against any checkout (`PYTHONPATH=old/src`): a
checkout without `local.batch_prompts` runs its own one-at-a-time judge, so before and after can be interleaved
on the same machine:

    PYTHONPATH=/old/src .venv/bin/python benchmarks/bench_judge_batch.py --save before.json
    .venv/bin/python benchmarks/bench_judge_batch.py --batch-prompts 1 --save sequential.json
    .venv/bin/python benchmarks/bench_judge_batch.py --save batched.json
    .venv/bin/python benchmarks/bench_judge_batch.py --compare sequential.json batched.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path

from adaem.analysis.judge_check import shipped_labels
from adaem.config import LocalSettings, RunConfig
from adaem.judge import label_per_value
from adaem.models import ModelPool
from adaem.theories import load_theory


async def run(args: argparse.Namespace) -> dict:
    theory = load_theory(args.theory)
    path = shipped_labels(theory.name)
    assert path is not None
    texts = [json.loads(line)["text"] for line in path.read_text().splitlines()][: args.texts]
    local = {"batch_prompts": args.batch_prompts} if args.batch_prompts and "batch_prompts" in LocalSettings.model_fields else {}
    pool = ModelPool(RunConfig.model_validate({"local": local}))
    judge = pool.get(args.judge)
    await label_per_value(judge, theory, "A warm-up text about nothing in particular.", prompt=args.prompt)
    started = time.perf_counter()
    values = [(await label_per_value(judge, theory, t, prompt=args.prompt)).values for t in texts]
    seconds = time.perf_counter() - started
    await pool.aclose()
    calls = len(texts) * len(theory.ids)
    mode = f"batch_prompts={args.batch_prompts}" if local else ("default" if "batch_prompts" in LocalSettings.model_fields
                                                                  else "one at a time (checkout without batching)")
    print(f"{args.judge} {theory.name} {args.prompt}, {mode}: {len(texts)} texts, {calls} calls in {seconds:.1f} s = "
          f"{calls / seconds:.2f} calls/s (load average {os.getloadavg()[0]:.1f})")
    return {"calls": calls, "seconds": seconds, "values": values, "mode": mode}


def compare(a: str, b: str) -> None:
    x, y = (json.loads(Path(p).read_text()) for p in (a, b))
    pairs = [(u[k], v[k]) for u, v in zip(x["values"], y["values"], strict=True) for k in u]
    diffs = [abs(p - q) for p, q in pairs]
    flips = sum((p >= 0.5) != (q >= 0.5) for p, q in pairs)
    print(f"{a} vs {b}: {len(pairs)} P(yes), max |Δ| {max(diffs):.2e}, mean |Δ| {sum(diffs) / len(diffs):.2e}, "
          f"labels flipped at 0.5: {flips}; speed {x['calls'] / x['seconds']:.2f} vs {y['calls'] / y['seconds']:.2f} "
          f"calls/s ({y['seconds'] and x['seconds'] / y['seconds']:.2f}×)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--judge", default="local/qwen2.5-coder-1.5b")
    parser.add_argument("--theory", default="schwartz10")
    parser.add_argument("--prompt", default="one-definition", choices=["one-definition", "all-definitions"])
    parser.add_argument("--texts", type=int, default=10)
    parser.add_argument("--batch-prompts", type=int, default=0, help="local.batch_prompts (0: the default)")
    parser.add_argument("--save")
    parser.add_argument("--compare", nargs=2)
    args = parser.parse_args()
    if args.compare:
        compare(*args.compare)
    else:
        result = asyncio.run(run(args))
        if args.save:
            Path(args.save).write_text(json.dumps(result))
