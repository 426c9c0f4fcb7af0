"""The multi-armed bandit over seed topics (SPEC §6): pure functions and a small record type.

Every arm starts with one scored pull, its seed question scored by the scorers (P2) like every later reward
(SPEC Decision: one scale for an arm's mean), so UCB is informative from the first step instead of pulling
1,500 arms round-robin. A pull whose candidates were all rejected is a visit (C + 1) without a reward: the
mean moves only with rewards, so a generator's format failures do not mark a topic as uninformative.
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
    mean: float = 0.0
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


def ucb_score(mean: float, pulls: int, total_pulls: int, c: float) -> float:
    """Q_i + c·sqrt(2 ln t / C_i); an unpulled arm scores +inf."""
    if pulls == 0:
        return math.inf
    return mean + c * math.sqrt(2 * math.log(max(total_pulls, 1)) / pulls)


def ucb_select(arms: list[Arm], c: float, exclude: set[int] | None = None,
               in_flight: dict[int, int] | None = None) -> int:
    """Index of the arm with the highest UCB score (ties: the lowest index, so runs are reproducible).

    `in_flight` (arm index → pulls started but not finished) counts as visits, "virtual visits": an arm's
    exploration bonus shrinks as soon as a pull of it starts, its mean only when the reward arrives. So pulls
    running at once spread over arms instead of all taking the current maximum; with none in flight this is
    plain UCB."""
    in_flight = in_flight or {}
    total = sum(a.pulls for a in arms) + sum(in_flight.values())
    best, best_score = -1, -math.inf
    for i, arm in enumerate(arms):
        if exclude and i in exclude:
            continue
        score = ucb_score(arm.mean, arm.pulls + in_flight.get(i, 0), total, c)
        if score > best_score:
            best, best_score = i, score
    if best < 0:
        raise ValueError("no arm left to select")
    return best
