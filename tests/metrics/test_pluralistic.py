"""per_user_pairwise_accuracy and ranking_accuracy."""

import numpy as np
import pytest

from skalign.metrics import (
    pairwise_accuracy,
    per_user_pairwise_accuracy,
    ranking_accuracy,
)


def _data(seed=0, n_groups=40):
    rng = np.random.default_rng(seed)
    size = rng.integers(2, 5, size=n_groups)
    groups = np.repeat(np.arange(n_groups), size)
    y = rng.integers(0, 3, size=groups.size).astype(float)
    scores = y + rng.normal(size=groups.size)
    users = np.repeat(rng.integers(0, 5, size=n_groups), size)
    weight = np.repeat(rng.integers(1, 4, size=n_groups), size).astype(float)
    return y, scores, groups, users, weight


def test_per_user_accuracy_is_pairwise_accuracy_of_each_user():
    y, scores, groups, users, weight = _data()
    scores[:4] = scores[0]  # score ties count 1/2
    ids, accuracy = per_user_pairwise_accuracy(
        y, scores, groups=groups, users=users, sample_weight=weight
    )
    np.testing.assert_array_equal(ids, np.unique(users))
    for user, value in zip(ids, accuracy):
        rows = users == user
        expected = pairwise_accuracy(
            y[rows], scores[rows], groups=groups[rows], sample_weight=weight[rows]
        )
        assert value == pytest.approx(expected, rel=1e-12)


def test_per_user_accuracy_is_nan_without_pairs_and_checks_users():
    y = np.array([1.0, 0.0, 1.0, 1.0])
    scores = np.array([2.0, 1.0, 0.0, 3.0])
    groups = np.array([0, 0, 1, 1])
    _, accuracy = per_user_pairwise_accuracy(
        y, scores, groups=groups, users=["a", "a", "b", "b"]
    )
    assert accuracy[0] == 1.0 and np.isnan(accuracy[1])
    with pytest.raises(ValueError, match="made by one user"):
        per_user_pairwise_accuracy(y, scores, groups=groups, users=[0, 1, 1, 1])
    with pytest.raises(ValueError, match="users has 3 entries"):
        per_user_pairwise_accuracy(y, scores, groups=groups, users=[0, 0, 1])


def test_ranking_accuracy_counts_score_ties_as_wrong():
    y, scores, groups, _, weight = _data(1)
    assert ranking_accuracy(y, scores, groups=groups) == pytest.approx(
        pairwise_accuracy(y, scores, groups=groups)
    )
    constant = np.zeros_like(scores)
    assert ranking_accuracy(y, constant, groups=groups) == 0.0
    assert pairwise_accuracy(y, constant, groups=groups) == 0.5
    weighted = ranking_accuracy(y, scores, groups=groups, sample_weight=weight)
    assert weighted == pytest.approx(
        pairwise_accuracy(y, scores, groups=groups, sample_weight=weight)
    )


def test_ranking_accuracy_of_the_implied_policy():
    # Reference log-likelihoods that favour the rejected response by 1 nat:
    # the KL-regularised optimal policy ranks the preferred one first only
    # where the reward gap exceeds beta.
    y = np.array([1.0, 0.0] * 3)
    groups = np.repeat(np.arange(3), 2)
    reward = np.array([3.0, 0.0, 1.0, 0.0, 0.5, 0.0])
    reference = np.array([-2.0, -1.0] * 3)
    for beta, expected in [(1.0, 1 / 3), (0.1, 1.0), (10.0, 0.0)]:
        value = ranking_accuracy(
            y, reward, groups=groups, reference_log_proba=reference, beta=beta
        )
        assert value == pytest.approx(expected)
    with pytest.raises(ValueError, match="beta"):
        ranking_accuracy(
            y, reward, groups=groups, reference_log_proba=reference, beta=0
        )
    with pytest.raises(ValueError, match="reference_log_proba"):
        ranking_accuracy(y, reward, groups=groups, reference_log_proba=reference[:3])
