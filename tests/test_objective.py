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
    disentanglement,
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
    assert opinion_difference([np.zeros((0, 2)), np.array([[1.0, 0.0]])]) == 0.0


def test_value_conformity():
    coherent = [np.array([[1, 0, 1], [1, 0, 1]]), np.array([[0, 1, 0]])]
    mixed = [np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]])]
    assert value_conformity(coherent) == 1.0
    assert value_conformity(mixed) == 0.0
    assert value_conformity([np.array([[1, 1, 0], [1, 0, 0]])]) == pytest.approx(0.5)


def test_informativeness_is_the_weighted_sum_of_its_components():
    vectors = np.array([[0.9, 0.1], [0.1, 0.9]])
    result = informativeness(vectors, np.array([0.5, 0.5]), [np.eye(2)[:1], np.eye(2)[1:]],
                             [np.array([[1, 0]]), np.array([[0, 1]])], Weights(2.0, 0.5, 1.0, 0.0))
    expected = 2.0 * result.distinguishability + 0.5 * result.disentanglement + result.opinion_difference
    assert result.score == pytest.approx(expected)
    assert set(result.as_record()) == {"score", "distinguishability", "disentanglement", "opinion_difference",
                                       "conformity"}


def test_fewer_than_two_models_is_an_error():
    with pytest.raises(ValueError, match="K ≥ 2"):
        generalized_js(np.array([[0.5, 0.5]]))
