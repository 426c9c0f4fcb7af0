"""Judge protocols on the same judge and answers: calls per (question, model) and agreement with per-value.

Each respondent answers a fixed set of questions once (cached); the judge then labels every answer with
  - per-value  (the paper's protocol: one yes/no call per value, P(yes) from log-probabilities),
  - per-value/reworded (the same protocol with a reworded question: how stable per-value is against itself,
    i.e. the ceiling any other protocol can be expected to reach),
  - joint/answer  (one schema-constrained call for the whole answer; soft P(true) per value where the backend
    gives log-probabilities, as the embedded models do),
  - joint/hard (the same call without log-probabilities: 0/1 labels),
  - joint/opinion (one call per key point, OR-merged).
Agreement is the share of (question, model, value) labels equal to per-value's at the 0.5 threshold; also the
agreement after moving a protocol's threshold so its positive rate equals per-value's (optimistic: the
threshold is fitted on the same data), Spearman's ρ of the soft labels against per-value's, and for joint the
positive rate by position in the shuffled list (positional bias).

    .venv/bin/python benchmarks/bench_judge.py [--questions 4] [--judge local/qwen2.5-coder-1.5b]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import numpy as np

from adaem.config import RunConfig
from adaem.judge import Labels, label_joint, label_text, merge_or, p_yes
from adaem.measure import elicit_opinion
from adaem.models import CallCache, GenerateConfig, ModelPool
from adaem.smoke import smoke_questions
from adaem.theories import load_theory

REWORDED = ('Here is a short text:\n"{text}"\n\nConsider the value {name}, meaning: {definition}\n'
            "Is this value present in the text? Reply Yes or No.")


async def per_value_reworded(judge, theory, text: str) -> Labels:
    values = {}
    for dim in theory.dimensions:
        messages = [{"role": "user", "content": REWORDED.format(text=text, name=dim.name, definition=dim.definition)}]
        out = await judge.generate(messages, GenerateConfig(temperature=0.0, max_tokens=3, seed=0, logprobs=True,
                                                            top_logprobs=10), role="judge")
        values[dim.id] = p_yes(out.choices[0].logprobs, out.text) or 0.0
    return Labels(values, calls=len(theory.dimensions), protocol="per-value")


async def main(args: argparse.Namespace) -> None:
    theory = load_theory(args.theory)
    config = RunConfig.model_validate({"roles": {"explorers": args.models.split(","), "judge": args.judge}})
    pool = ModelPool(config, cache=CallCache(Path(args.cache)))
    judge = pool.get(args.judge)
    questions = smoke_questions(args.questions)
    labels: dict[str, list[dict[str, float]]] = {"per-value": [], "per-value/reworded": [], "joint/answer": [],
                                                 "joint/hard": [], "joint/opinion": []}
    calls = {k: 0 for k in labels}
    seconds = {k: 0.0 for k in labels}
    position_hits = np.zeros(len(theory.ids))
    position_seen = np.zeros(len(theory.ids))
    for q in questions:
        for name in config.roles.explorers:
            opinion = await elicit_opinion(pool.get(name), q, sampling=GenerateConfig(seed=0))
            whole = " ".join(f"({i + 1}) {p.text}" for i, p in enumerate(opinion.points))
            for protocol, texts in (("per-value", [whole]), ("per-value/reworded", [whole]), ("joint/answer", [whole]),
                                    ("joint/hard", [whole]), ("joint/opinion", [p.text for p in opinion.points])):
                started = time.perf_counter()
                if protocol == "per-value/reworded":
                    done = [await per_value_reworded(judge, theory, t) for t in texts]
                elif protocol == "joint/hard":
                    done = [await label_joint(judge, theory, t, logprobs=False) for t in texts]
                else:
                    done = [await label_text(judge, theory, t, protocol.split("/")[0]) for t in texts]  # type: ignore[arg-type]
                seconds[protocol] += time.perf_counter() - started
                calls[protocol] += sum(d.calls for d in done)
                labels[protocol].append(merge_or([d.values for d in done], theory.ids))
                for d in done if protocol == "joint/answer" else []:
                    for pos, dim in enumerate(d.order):
                        position_seen[pos] += 1
                        position_hits[pos] += d.values[dim] >= 0.5
    await pool.aclose()
    pairs = len(questions) * len(config.roles.explorers)
    ref = np.array([[v[d] >= 0.5 for d in theory.ids] for v in labels["per-value"]])
    print(f"judge {args.judge}, {len(questions)} questions × {len(config.roles.explorers)} respondents = {pairs} answers, "
          f"theory {theory.name}")
    from scipy.stats import spearmanr

    ref_soft = np.array([[v[d] for d in theory.ids] for v in labels["per-value"]])
    print(f"{'protocol':<19} {'calls/(q,m)':>11} {'s/(q,m)':>8} {'positive':>9} {'agreement':>10} "
          f"{'calibrated':>11} {'spearman':>9}")
    for protocol, vectors in labels.items():
        soft_p = np.array([[v[d] for d in theory.ids] for v in vectors])
        got = soft_p >= 0.5
        cut = np.quantile(soft_p, 1 - ref.mean()) if 0 < ref.mean() < 1 else 0.5
        calibrated = ((soft_p >= cut) == ref).mean()
        rho = spearmanr(soft_p.ravel(), ref_soft.ravel()).statistic
        print(f"{protocol:<19} {calls[protocol] / pairs:>11.1f} {seconds[protocol] / pairs:>8.1f} "
              f"{got.mean():>9.2f} {(got == ref).mean():>10.3f} {calibrated:>11.3f} {rho:>9.3f}")
    soft = np.array([[v[d] for d in theory.ids] for v in labels["per-value"]])
    print(f"per-value P(yes): mean {soft.mean():.2f}, min {soft.min():.2f}, max {soft.max():.2f}")
    with np.errstate(invalid="ignore"):
        print("joint positive rate by shown position:", np.round(position_hits / position_seen, 2).tolist())


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=4)
    parser.add_argument("--models", default="local/smollm2-135m,local/qwen2.5-coder-0.5b")
    parser.add_argument("--judge", default="local/qwen2.5-coder-1.5b")
    parser.add_argument("--theory", default="schwartz10")
    parser.add_argument("--cache", default="runs/bench_judge-cache.sqlite")
    asyncio.run(main(parser.parse_args()))
