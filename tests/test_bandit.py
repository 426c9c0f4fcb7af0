import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adaem.generate.bandit import Arm, ucb_score, ucb_select


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
