"""The informativeness objective: known values and properties of each component."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from adaem.objective import (
    Weights,
    binary_entropy,
    coherence_likelihood,
    coherence_similarity,
    disentanglement,
    distinguishability,
    generalized_js,
    informativeness,
    js,
    opinion_difference,
    value_conformity,
)

probs = st.floats(0, 1, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(arrays(float, st.tuples(st.integers(2, 6), st.integers(1, 10)), elements=probs))
def test_gjs_is_non_negative_and_bounded_per_dimension(p):
    k, d = p.shape
    value = generalized_js(p)
    assert value >= 0
    assert value <= d * min(math.log(k), math.log(2)) + 1e-9


@settings(max_examples=100, deadline=None)
@given(arrays(float, st.integers(1, 10), elements=probs), st.integers(2, 6))
def test_gjs_is_zero_when_all_models_agree(row, k):
    assert generalized_js(np.tile(row, (k, 1))) == pytest.approx(0.0, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(arrays(float, st.integers(1, 8), elements=probs), arrays(float, st.integers(1, 8), elements=probs))
def test_k2_equals_the_js_divergence(p, q):
    n = min(len(p), len(q))
    p, q = np.clip(p[:n], 1e-6, 1 - 1e-6), np.clip(q[:n], 1e-6, 1 - 1e-6)
    m = (p + q) / 2

    def kl(a, b):
        return a * np.log(a / b) + (1 - a) * np.log((1 - a) / (1 - b))

    direct = float(np.sum(0.5 * kl(p, m) + 0.5 * kl(q, m)))
    assert generalized_js(np.stack([p, q])) == pytest.approx(direct, abs=1e-9)
    assert js(p, q) == pytest.approx(js(q, p))


def test_known_values():
    assert generalized_js(np.array([[1.0], [0.0]])) == pytest.approx(math.log(2), abs=1e-4)
    assert binary_entropy(np.array([0.5]))[0] == pytest.approx(math.log(2))
    assert disentanglement(np.array([1.0, 0.0]), np.array([[1.0, 0.0], [1.0, 0.0]])) == pytest.approx(0, abs=1e-6)
    assert disentanglement(np.array([1.0]), np.array([[0.0], [0.0]])) == pytest.approx(math.log(2), abs=1e-4)


def test_opinion_difference():
    same = [np.array([[1.0, 0.0]]), np.array([[1.0, 0.0]])]
    opposite = [np.array([[1.0, 0.0]]), np.array([[-1.0, 0.0]])]
    orthogonal = [np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])]
    assert opinion_difference(same) == pytest.approx(0.0)
    assert opinion_difference(opposite) == pytest.approx(2.0)
    assert opinion_difference(orthogonal) == pytest.approx(1.0)
    assert opinion_difference([np.zeros((0, 2)), np.array([[1.0, 0.0]])]) is None


def test_value_conformity_rewards_opinions_that_express_values():
    """Issue 23.1: Eq. 2's value conformity is how clearly the opinions express values (max_v p per point, averaged
    over points, then models), not how much a model's points agree: value-free points score lowest."""
    nothing = [np.array([[0.02, 0.05, 0.01], [0.03, 0.01, 0.04]])]
    each_a_value = [np.array([[0.95, 0.02, 0.01], [0.03, 0.9, 0.02]])]
    assert value_conformity(nothing) < 0.1 < 0.9 < value_conformity(each_a_value)
    # the retired reading (mean pairwise Jaccard of the points' value sets) gave the value-free answer 1.0
    assert value_conformity(nothing) < value_conformity(each_a_value)
    # binary labels: the share of points that express at least one value
    assert value_conformity([np.array([[1, 0, 0], [0, 0, 0], [0, 1, 1]])]) == pytest.approx(2 / 3)
    # averaged over points, then models; a single point counts
    assert value_conformity([np.array([[1, 0]]), np.array([[0, 0], [1, 0]])]) == pytest.approx((1 + 0.5) / 2)
    # unlabelled values are left out of a point's max; a point with no label at all is left out
    assert value_conformity([np.array([[np.nan, 0.8], [np.nan, np.nan]])]) == pytest.approx(0.8)
    assert value_conformity([np.array([[np.nan, np.nan]])]) is None
    assert value_conformity([]) is None


def test_coherence():
    q = np.array([1.0, 0.0])
    assert coherence_similarity(q, [np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 0.0]])]) == pytest.approx(0.75)
    assert coherence_similarity(q, [np.zeros((0, 2))]) is None
    assert coherence_likelihood([math.log(0.5), None, math.log(0.25)]) == pytest.approx(0.375)
    assert coherence_likelihood([None]) is None


def test_informativeness_is_the_weighted_sum_of_its_components():
    vectors = np.array([[0.9, 0.1], [0.1, 0.9]])
    result = informativeness(vectors, np.array([0.5, 0.5]), [np.eye(2)[:1], np.eye(2)[1:]],
                             point_vectors=[np.array([[1, 0], [1, 0]]), np.array([[0, 1]])],
                             question_embedding=np.array([1.0, 0.0]), weights=Weights(2.0, 0.5, 1.0, 0.0, 3.0))
    expected = (2.0 * result.distinguishability + 0.5 * result.disentanglement + result.opinion_difference
                + 3.0 * result.coherence)
    assert result.score == pytest.approx(expected)
    assert result.coherence == pytest.approx(0.5) and result.conformity == 1.0
    assert set(result.as_record()) == {"score", "distinguishability", "disentanglement", "opinion_difference",
                                       "conformity", "coherence"}


def test_a_component_that_was_not_measured_is_none_and_stays_out_of_s():
    """unit=answer gives no per-point labels: conformity is None, never 1.0 (issue 12, item 2)."""
    vectors = np.array([[0.9, 0.1], [0.1, 0.9]])
    result = informativeness(vectors, None, [np.eye(2)[:1], np.eye(2)[1:]])
    assert result.conformity is None and result.disentanglement is None and result.coherence is None
    assert result.score == pytest.approx(result.distinguishability + result.opinion_difference)


def test_a_missing_label_is_masked_not_counted_as_zero_or_half():
    """A value the judge could not label is left out of that value's terms (issue 12, item 5)."""
    complete = np.array([[0.9, 0.1, 0.9], [0.1, 0.9, 0.9]])
    # the third value is missing for model 2: its GJS term is over model 1 alone (no term), the other two
    # terms stand, scaled to three dimensions
    holed = complete.copy()
    holed[1, 2] = np.nan
    two = generalized_js(complete[:, :2])
    assert distinguishability(holed) == pytest.approx(3 * two / 2)
    # not the same as a 0 there, which would add a large divergence
    zeroed = complete.copy()
    zeroed[1, 2] = 0.0
    assert distinguishability(zeroed) > distinguishability(holed) + 0.1
    # a question label the judge failed on: disentanglement over the values both sides have, not against 0.5
    q = np.array([0.9, 0.1, np.nan])
    agree = np.array([[0.9, 0.1, 0.0], [0.9, 0.1, 1.0]])
    assert disentanglement(q, agree) == pytest.approx(0.0, abs=1e-9)
    assert disentanglement(np.array([0.9, 0.1, 0.5]), agree) > 0.2  # what counting it as 0.5 did
    # every model missing a value: that dimension has no term
    assert distinguishability(np.array([[np.nan, 0.5], [np.nan, 0.5]])) == pytest.approx(0.0, abs=1e-9)
    assert distinguishability(np.full((2, 2), np.nan)) is None


def test_masked_gjs_equals_gjs_on_complete_vectors():
    p = np.random.default_rng(0).uniform(size=(4, 10))
    assert distinguishability(p) == pytest.approx(generalized_js(p))


def test_fewer_than_two_models_is_an_error():
    with pytest.raises(ValueError, match="K ≥ 2"):
        generalized_js(np.array([[0.5, 0.5]]))
