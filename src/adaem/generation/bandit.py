"""The multi-armed bandit over seed topics (SPEC §6): pure functions and a small record type.

Every arm starts with one scored pull, its seed question scored by the scorers (P2) like every later reward
(SPEC Decision: one scale for an arm's mean), so UCB is informative from the first step instead of pulling
1,500 arms round-robin. A pull whose candidates were all rejected is a visit (C + 1) without a reward: the
mean moves only with rewards, so a generator's format failures do not mark a topic as uninformative.

An arm no reward has reached yet (its seed could not be scored and every pull was rejected) has no mean of its
own: UCB takes the mean of the arms that have one (what an unknown topic is expected to give), never a 0 that no
reward produced; its visits still shrink its bonus, so a topic whose questions are always rejected falls behind.

The bonus is c·sqrt(2 ln n / C_i) with n the pulls so far (UCB1, the default) or the budget B (Algorithm 1 of the
paper, `generation.ucb_horizon: budget`); `benchmarks/bench_bandit.py` measures both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Arm:
    """One seed topic: its pull count C, mean reward Q over the `rewarded` pulls that gave a reward, and the ids
    of its questions."""

    topic: str
    category: str
    pulls: int = 0
    mean: float = 0.0  # meaningful only once `rewarded` > 0
    questions: list[str] = field(default_factory=list)
    rewarded: int | None = None  # None in state saved before rewards were counted apart: every pull had one

    def __post_init__(self) -> None:
        if self.rewarded is None:
            self.rewarded = self.pulls

    def update(self, reward: float | None) -> None:
        """C += 1; with a reward, Q += (reward − Q) / (rewards so far). No reward (every candidate rejected, or
        a seed no scorer could answer) leaves Q where it was."""
        self.pulls += 1
        if reward is not None:
            self.rewarded = (self.rewarded or 0) + 1
            self.mean += (reward - self.mean) / self.rewarded


def ucb_score(mean: float, pulls: int, horizon: int, c: float) -> float:
    """Q_i + c·sqrt(2 ln n / C_i), n the horizon (pulls so far, or the budget); an unpulled arm scores +inf."""
    if pulls == 0:
        return math.inf
    return mean + c * math.sqrt(2 * math.log(max(horizon, 1)) / pulls)


def prior_mean(arms: list[Arm]) -> float:
    """What an arm without any reward is taken to hold: the mean of the rewarded arms' means (0 when none is)."""
    means = [a.mean for a in arms if a.rewarded]
    return sum(means) / len(means) if means else 0.0


def ucb_select(arms: list[Arm], c: float, exclude: set[int] | None = None,
               in_flight: dict[int, int] | None = None, budget: int | None = None) -> int:
    """Index of the arm with the highest UCB score (ties: the lowest index, so runs are reproducible).

    `in_flight` (arm index → pulls started but not finished) counts as visits, "virtual visits": an arm's
    exploration bonus shrinks as soon as a pull of it starts, its mean only when the reward arrives. So pulls
    running at once spread over arms instead of all taking the current maximum; with none in flight this is
    plain UCB. `budget`: the bonus's horizon is the budget B (the paper's Algorithm 1) instead of the pulls so
    far. An arm without a reward is scored at `prior_mean`; one that has never been pulled and has a pull in
    flight waits for it (nothing is known of it yet: a second pull would only duplicate the first)."""
    in_flight = in_flight or {}
    total = sum(a.pulls for a in arms) + sum(in_flight.values())
    prior = prior_mean(arms)
    best, best_score = -1, -math.inf
    for i, arm in enumerate(arms):
        if exclude and i in exclude:
            continue
        waiting = arm.pulls == 0 and in_flight.get(i, 0) > 0
        score = -math.inf if waiting else ucb_score(arm.mean if arm.rewarded else prior,
                                                    arm.pulls + in_flight.get(i, 0),
                                                    total if budget is None else budget, c)
        if best < 0 or score > best_score:
            best, best_score = i, score
    if best < 0:
        raise ValueError("no arm left to select")
    return best
