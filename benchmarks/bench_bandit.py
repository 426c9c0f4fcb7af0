"""The bandit alone, simulated: does UCB with pulls in flight keep sequential UCB's sample efficiency, and which
exploration horizon is better, ln(pulls so far) (UCB1, adaem's default) or ln(budget) (the paper's Algorithm 1)?

No LLM: each arm has a true mean informativeness, a pull's reward is that mean plus noise, and every arm starts
with one scored pull (its seed question), as in `adaem generate` (`arm_init: seed-pull`), or, as Algorithm 2
prints (`arm_init: unpulled-first`, the paper preset), at C = 0, Q = 0, every unpulled arm pulled once before UCB. The spreads are the ones measured on real runs
(README, "Benchmarks"): S varies by about 0.3 between questions of one topic (the noise of a pull), and topics'
means by about 0.15. Policies, at equal budgets, with adaem's own `ucb_select` and `Arm`:
sequential UCB; UCB with 8 and 32 pulls in flight (virtual visits; a pull's reward arrives when it finishes,
pulls finishing in random order); random arm choice. Prints the cumulative regret (Σ best mean − chosen arm's
mean) and the mean true informativeness of the pulled arms, with 95% CIs over repetitions.

    .venv/bin/python benchmarks/bench_bandit.py [--arms 300] [--budget 1500] [--reps 20] [--c 1.0]
"""

from __future__ import annotations

import argparse
import random

import numpy as np

from adaem.analysis.compare import bootstrap_mean_ci
from adaem.generation.bandit import Arm, ucb_select


def simulate(means: np.ndarray, budget: int, in_flight: int, policy: str, c: float, noise: float,
             rng: random.Random, horizon: str = "pulls", init: str = "seed-pull") -> tuple[float, float]:
    """(cumulative regret, mean true value of the pulled arms) of one run."""
    arms = [Arm(str(i), "x") for i in range(len(means))]
    if init == "seed-pull":
        for arm, mu in zip(arms, means, strict=True):  # the seed question's scored pull
            arm.update(rng.gauss(mu, noise))
    best = float(means.max())
    running: list[int] = []  # arm index of each pull in flight
    regret = chosen = 0.0
    started = 0
    while started < budget or running:
        while started < budget and len(running) < in_flight:
            if policy == "random":
                i = rng.randrange(len(arms))
            else:
                visits: dict[int, int] = {}
                for j in running:
                    visits[j] = visits.get(j, 0) + 1
                i = ucb_select(arms, c, in_flight=visits, budget=budget if horizon == "budget" else None)
            running.append(i)
            regret += best - means[i]
            chosen += means[i]
            started += 1
        done = running.pop(rng.randrange(len(running)))  # pulls finish in any order
        arms[done].update(rng.gauss(means[done], noise))
    return regret, chosen / budget


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--arms", type=int, default=300)
    parser.add_argument("--budget", type=int, default=1500)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--c", type=float, default=1.0, help="UCB exploration constant (generation.exploration)")
    parser.add_argument("--spread", type=float, default=0.15, help="sd of the arms' true means")
    parser.add_argument("--noise", type=float, default=0.3, help="sd of one pull's reward around its arm's mean")
    args = parser.parse_args()
    policies = [("sequential UCB", "ucb", 1, "pulls", "seed-pull"), ("UCB, 8 in flight", "ucb", 8, "pulls", "seed-pull"),
                ("UCB, 32 in flight", "ucb", 32, "pulls", "seed-pull"),
                ("Algorithm 1 (ln B)", "ucb", 1, "budget", "seed-pull"),
                ("Algorithm 2 (C=0, ln B)", "ucb", 1, "budget", "unpulled-first"),
                ("Algorithm 2, 8 in flight", "ucb", 8, "budget", "unpulled-first"),
                ("Algorithm 2, 32 in flight", "ucb", 32, "budget", "unpulled-first"),
                ("random arms", "random", 1, "pulls", "seed-pull")]
    results: dict[str, list[tuple[float, float]]] = {name: [] for name, *_ in policies}
    for rep in range(args.reps):
        means = np.random.default_rng(rep).normal(1.0, args.spread, args.arms)
        for name, policy, flight, horizon, init in policies:
            results[name].append(simulate(means, args.budget, flight, policy, args.c, args.noise,
                                          random.Random(f"{rep}-{name}"), horizon, init))
    print(f"{args.arms} arms (true means sd {args.spread}), reward noise sd {args.noise}, budget {args.budget} pulls, "
          f"c = {args.c}, {args.reps} repetitions")
    print(f"{'policy':<26} {'regret [95% CI]':>26} {'mean true S of pulls':>22}")
    for name, *_ in policies:
        regret = np.array([r for r, _ in results[name]])
        value = np.array([v for _, v in results[name]])
        lo, hi = bootstrap_mean_ci(regret)
        print(f"{name:<26} {f'{regret.mean():.1f} [{lo:.1f}, {hi:.1f}]':>26} {value.mean():>22.4f}")


if __name__ == "__main__":
    main()
