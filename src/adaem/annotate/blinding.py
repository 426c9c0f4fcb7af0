"""Each rater's order of questions, blind against the rater (pure: a secret and ids in, an order out).

What a rater can see is the text of their questions, their random ids and the order. The order must say nothing
of a question's set or its pair partner, so:

- every order is drawn from a random generator seeded by HMAC-SHA256 of the study's secret (256 random bits made
  at creation, stored in the study, never sent to a page) and the rater's name: knowing adaem's code, a seed or
  one's own name does not let anyone replay it;
- the two questions of a pair enter in a random orientation and the whole list is shuffled, so no structure
  (such as baseline, generated, baseline, ...) is there to survive the shuffle;
- the two questions of a pair are at least `gap` questions apart (never adjacent): a uniform shuffle is repaired
  by random swaps that never treat the two sets differently, so the order stays exchangeable between the two
  questions of every pair, which is what keeps the set unpredictable from the position.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Sequence


def order_rng(secret: str, label: str) -> random.Random:
    """The random generator of one order: secret and label through HMAC-SHA256 (a label never reveals the secret)."""
    return random.Random(hmac.new(secret.encode(), label.encode(), hashlib.sha256).digest())


def feasible_gap(pairs: int, gap: int) -> int:
    """The largest gap ≤ `gap` an order of `pairs` pairs can keep: with k pairs at most k − 1 questions fit between
    the two of every pair."""
    return max(0, min(gap, pairs - 1))


def spaced_order(pairs: Sequence[tuple[str, str]], gap: int, rng: random.Random) -> list[str]:
    """The ids of `pairs` in a random order with at least `gap` other questions between the two of each pair (a gap
    the pairs cannot keep is lowered to `feasible_gap`)."""
    k = len(pairs)
    gap = feasible_gap(k, gap)
    oriented = [(a, b) if rng.random() < 0.5 else (b, a) for a, b in pairs]
    partner = {a: b for a, b in oriented} | {b: a for a, b in oriented}
    need = gap + 1  # positions apart
    for _ in range(5):
        order = [x for pair in oriented for x in pair]
        rng.shuffle(order)
        if _repair(order, partner, need, rng, tries=200 * len(order)):
            return order
    # a gap close to the number of pairs: every pair's second question k places after its first, pairs shuffled
    firsts = list(oriented)
    rng.shuffle(firsts)
    return [a for a, _ in firsts] + [b for _, b in firsts]


def _repair(order: list[str], partner: dict[str, str], need: int, rng: random.Random, tries: int) -> bool:
    """Swap questions too close to their partner with random others until every pair is `need` places apart."""
    pos = {x: i for i, x in enumerate(order)}
    n = len(order)

    def close(x: str) -> bool:
        return abs(pos[x] - pos[partner[x]]) < need

    bad = {min(x, partner[x]) for x in order if close(x)}
    for _ in range(tries):
        if not bad:
            return True
        x = rng.choice(sorted(bad))
        if rng.random() < 0.5:
            x = partner[x]  # move either question of the pair: the two are treated alike
        q = rng.randrange(n)
        y = order[q]
        if y in (x, partner[x]):
            continue
        p = pos[x]
        order[p], order[q] = y, x
        pos[x], pos[y] = q, p
        if close(x) or close(y):  # the swap must not bring either closer than allowed: undo it
            order[p], order[q] = x, y
            pos[x], pos[y] = p, q
            continue
        bad.discard(min(x, partner[x]))
        # y's pair was fine or is now fine; recheck both pairs of the two positions touched
        for z in (x, y):
            key = min(z, partner[z])
            if close(z):
                bad.add(key)
            else:
                bad.discard(key)
    return not bad


def spread_in(order: list[str], extras: Sequence[str], rng: random.Random) -> list[str]:
    """`order` with `extras` (attention checks) inserted at random places, one in each of len(extras) equal stretches,
    so that they are spread out but their places cannot be predicted. Inserting only widens gaps between pairs."""
    if not extras:
        return list(order)
    extras = list(extras)
    rng.shuffle(extras)
    n, c = len(order), len(extras)
    cuts = [round(i * n / c) for i in range(c + 1)]
    slots = sorted(rng.randint(cuts[i], cuts[i + 1]) for i in range(c))
    out: list[str] = []
    last = 0
    for slot, extra in zip(slots, extras, strict=True):
        out += order[last:slot]
        out.append(extra)
        last = slot
    return out + order[last:]


def min_pair_gap(order: Sequence[str], pairs: Sequence[tuple[str, str]]) -> int | None:
    """The fewest questions between the two of any pair in `order` (None when no pair is complete in it)."""
    pos = {x: i for i, x in enumerate(order)}
    gaps = [abs(pos[a] - pos[b]) - 1 for a, b in pairs if a in pos and b in pos]
    return min(gaps) if gaps else None
