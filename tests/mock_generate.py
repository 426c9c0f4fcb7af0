"""A generate run on scripted mock models, as a script (the kill/resume test runs it in a subprocess).

    python tests/mock_generate.py OUT_DIR [--resume] [--budget N] [--explorers a,b,...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from adaem.config import RunConfig
from adaem.generation.job import generate
from adaem.models.providers.mock import register_mock

TOPICS = ["cars", "guns", "meat", "zoos", "loans", "exams", "prisons", "drones", "taxes", "borders"]


def generator(messages, config):
    """Facts as text; questions as JSON, different for every prompt and seed (so none is a near-duplicate)."""
    prompt = messages[-1].content
    h = int(hashlib.sha256(f"{prompt}|{config.seed}".encode()).hexdigest(), 16)
    if config.json_schema is None:
        return "Suggestion: mention a specific country." if "Suggest" in prompt else f"A law of {h % 97} in Kenya."
    a, b = TOPICS[h % 10], TOPICS[(h // 10) % 10]
    return json.dumps({"question": f"Should city {h % 1000} ban {a} near {b} before {1900 + h % 300}?",
                       "country": "Kenya"})


def config(args) -> RunConfig:
    return RunConfig.model_validate({
        "roles": {"explorers": args.explorers.split(","), "generators": ["mock/gen"], "judge": "mock/j"},
        "generation": {"arms": 3, "budget": args.budget, "width": 2, "depth": 1, "tau": args.tau,
                       "parallel_pulls": getattr(args, "parallel", None)},
        "evaluation": {"unit": "opinion"},
    })


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--budget", type=int, default=4)
    parser.add_argument("--tau", type=float, default=-100.0)
    parser.add_argument("--explorers", default="mock/a,mock/b")
    parser.add_argument("--parallel", type=int, default=None, help="generation.parallel_pulls (default: auto)")
    args = parser.parse_args()
    register_mock("gen", generator)
    result = generate(config(args), args.out, resume=args.resume)
    print(json.dumps({"questions": len(result.questions), "pulls": result.summary["pulls"]}))


if __name__ == "__main__":
    main()
