import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adaem.generation.bandit import Arm, ucb_score, ucb_select


def test_update_is_the_running_mean():
    arm = Arm("payday loans", "economics & business")
    for reward in (1.0, 3.0, 5.0):
        arm.update(reward)
    assert arm.pulls == 3 and arm.mean == pytest.approx(3.0)


@given(st.lists(st.floats(-100, 100), min_size=1, max_size=50))
def test_running_mean_matches_the_mean(rewards):
    arm = Arm("t", "c")
    for r in rewards:
        arm.update(r)
    assert arm.mean == pytest.approx(sum(rewards) / len(rewards), abs=1e-6)


def test_ucb_formula_and_unpulled_arms():
    assert ucb_score(2.0, 4, 100, 1.0) == pytest.approx(2.0 + math.sqrt(2 * math.log(100) / 4))
    assert ucb_score(0.0, 0, 10, 1.0) == math.inf


def test_select_exploits_with_c_zero_and_explores_with_large_c():
    arms = [Arm("a", "x", pulls=50, mean=5.0), Arm("b", "x", pulls=1, mean=4.0)]
    assert ucb_select(arms, c=0.0) == 0
    assert ucb_select(arms, c=10.0) == 1  # rarely pulled arm's bonus dominates
    assert ucb_select(arms, c=0.0, exclude={0}) == 1
    with pytest.raises(ValueError):
        ucb_select(arms, c=1.0, exclude={0, 1})


def test_ties_go_to_the_first_arm():
    arms = [Arm("a", "x", pulls=1, mean=1.0), Arm("b", "x", pulls=1, mean=1.0)]
    assert ucb_select(arms, c=1.0) == 0


def test_a_pull_without_reward_counts_as_a_visit_but_keeps_the_mean():
    """Every candidate rejected (the generator's format failures): C + 1, Q unchanged, not pulled toward 0."""
    arm = Arm("t", "c")
    arm.update(2.0)
    arm.update(None)
    assert arm.pulls == 2 and arm.mean == pytest.approx(2.0)
    arm.update(4.0)
    assert arm.pulls == 3 and arm.mean == pytest.approx(3.0)  # the mean of the two rewards
    fresh = Arm("u", "c")
    fresh.update(None)
    fresh.update(5.0)
    assert fresh.mean == pytest.approx(5.0)


def test_arms_saved_before_rewards_were_counted_apart_load_as_all_rewarded():
    arm = Arm(**{"topic": "t", "category": "c", "pulls": 3, "mean": 2.0, "questions": []})
    assert arm.rewarded == 3
    arm.update(6.0)
    assert arm.mean == pytest.approx(3.0)


def test_virtual_visits_spread_concurrent_selections_over_arms():
    """Issue 13: pulls started at once do not all take the current maximum."""
    arms = [Arm(f"t{i}", "c", pulls=4, mean=m) for i, m in enumerate([1.0, 0.9, 0.8, 0.2])]
    in_flight: dict[int, int] = {}
    picked = []
    for _ in range(3):
        i = ucb_select(arms, c=0.5, in_flight=in_flight)
        picked.append(i)
        in_flight[i] = in_flight.get(i, 0) + 1
    assert picked[0] == 0 and len(set(picked)) >= 2 and 3 not in picked  # spread, yet not to the worst arm
    assert [ucb_select(arms, c=0.5) for _ in range(3)] == [0, 0, 0]  # without virtual visits: all the same
    # an arm never pulled is first, and only once while its pull is in flight
    arms.append(Arm("new", "c"))
    assert ucb_select(arms, 0.5) == 4 and ucb_select(arms, 0.5, in_flight={4: 1}) != 4
