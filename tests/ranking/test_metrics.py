"""Listwise metrics: NDCG against scikit-learn, exposure disparity, scorers."""

import numpy as np
import pytest
import sklearn
import torch
from numpy.testing import assert_allclose
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression
from sklearn.metrics import ndcg_score
from sklearn.model_selection import GroupKFold, cross_validate

from skalign._loss.listwise import _exact_exposure
from skalign.exceptions import SkalignWarning
from skalign.metrics import (
    exposure_disparity,
    grouped_ndcg_score,
    make_grouped_scorer,
    pairwise_accuracy,
)

from ._brute_force import brute_force_exposure


@pytest.mark.parametrize("k", [None, 1, 3, 10])
def test_grouped_ndcg_equals_sklearn_per_group(k):
    rng = np.random.default_rng(0)
    n_groups, length = 30, 6
    y = rng.integers(0, 4, size=(n_groups, length)).astype(float)
    y[0] = 0.0  # an all-irrelevant group scores 0, as in scikit-learn
    # Rounded scores: ties, whose gains scikit-learn averages.
    scores = np.round(rng.normal(size=(n_groups, length)), 1)
    expected = ndcg_score(y, scores, k=k)
    # Long format, rows of a group scattered.
    groups = np.repeat(np.arange(n_groups), length)
    perm = rng.permutation(groups.size)
    result = grouped_ndcg_score(
        y.ravel()[perm], scores.ravel()[perm], groups=groups[perm], k=k
    )
    assert result == pytest.approx(expected, rel=1e-12)


def test_grouped_ndcg_of_unequal_groups_is_the_mean_over_groups():
    y = np.array([3.0, 2.0, 0.0, 1.0, 0.0, 2.0, 2.0, 0.0, 1.0])
    scores = np.array([0.1, 0.5, 0.2, 0.3, 0.9, 0.0, 1.0, 2.0, 0.5])
    groups = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    per_group = [
        ndcg_score([y[groups == g]], [scores[groups == g]], k=2) for g in range(3)
    ]
    assert grouped_ndcg_score(y, scores, groups=groups, k=2) == pytest.approx(
        np.mean(per_group)
    )
    assert grouped_ndcg_score(y, y, groups=groups) == 1.0
    assert grouped_ndcg_score(y, scores) == pytest.approx(ndcg_score([y], [scores]))


def test_exposure_disparity_deterministic_golden_value():
    scores = np.array([3.0, 2.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    sensitive = np.array(["a", "b", "a", "b", "a", "b", "b"])
    groups = np.array([0, 0, 0, 0, 1, 1, 1])
    v = 1 / np.log2(1 + np.arange(1, 5))
    gap0 = (v[0] + v[2]) / 2 - (v[1] + v[3]) / 2
    # List 1: two rows tied at the top share (v1 + v2) / 2.
    shared = (v[0] + v[1]) / 2
    gap1 = shared - (shared + v[2]) / 2
    expected = np.sqrt((gap0**2 + gap1**2) / 2)
    result = exposure_disparity(
        scores, sensitive, groups=groups, policy="deterministic"
    )
    assert result == pytest.approx(expected, rel=1e-12)


def test_exposure_disparity_plackett_luce_exact_and_sampled():
    rng = np.random.default_rng(1)
    scores = rng.normal(size=5) * 2
    sensitive = np.array([0, 1, 0, 1, 1])
    exposure = brute_force_exposure(scores)
    expected = abs(exposure[[0, 2]].mean() - exposure[[1, 3, 4]].mean())
    assert exposure_disparity(scores, sensitive) == pytest.approx(expected, rel=1e-10)
    # Nine rows: estimated by sampling; compare with the exact computation.
    scores = rng.normal(size=9)
    sensitive = np.array([0, 1] * 4 + [0])
    exact = _exact_exposure(
        torch.as_tensor(scores[None]), torch.ones(1, 9, dtype=torch.bool)
    ).numpy()[0]
    expected = abs(exact[sensitive == 0].mean() - exact[sensitive == 1].mean())
    sampled = exposure_disparity(scores, sensitive, n_samples=50_000, random_state=0)
    assert sampled == pytest.approx(expected, abs=0.005)


def test_exposure_disparity_with_intersectional_groups():
    scores = np.array([2.0, 1.0, 0.0, -1.0])
    two_columns = np.array([["f", 1], ["f", 2], ["m", 1], ["f", 1]], dtype=object)
    combined = np.array([0, 1, 2, 0])
    assert exposure_disparity(scores, two_columns) == pytest.approx(
        exposure_disparity(scores, combined)
    )
    assert exposure_disparity(np.zeros(4), two_columns) == pytest.approx(0.0)


def _regression_lists():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(90, 2))
    y = np.clip(np.round(X @ [1.0, 0.5] + 1.5), 0, None)
    groups = np.repeat(np.arange(30), 3)
    return X, y, groups


def test_grouped_scorer_takes_groups():
    X, y, groups = _regression_lists()
    model = LinearRegression().fit(X, y)
    scorer = make_grouped_scorer(grouped_ndcg_score, k=2)
    expected = grouped_ndcg_score(y, model.predict(X), groups=groups, k=2)
    assert scorer(model, X, y, groups=groups) == expected
    negated = make_grouped_scorer(pairwise_accuracy, greater_is_better=False)
    assert negated(model, X, y, groups=groups) == -pairwise_accuracy(
        y, model.predict(X), groups=groups
    )
    with pytest.warns(SkalignWarning, match="called without groups"):
        assert scorer(model, X, y) == grouped_ndcg_score(y, model.predict(X), k=2)
    with pytest.raises(TypeError, match="groups cannot be fixed"):
        make_grouped_scorer(grouped_ndcg_score, groups=groups)
    with pytest.raises(TypeError, match="score_func must be callable"):
        make_grouped_scorer("ndcg")


def test_grouped_scorer_in_cross_validate_with_metadata_routing():
    X, y, groups = _regression_lists()
    scorer = make_grouped_scorer(grouped_ndcg_score)
    with sklearn.config_context(enable_metadata_routing=True):
        result = cross_validate(
            DummyRegressor(),
            X,
            y,
            cv=GroupKFold(n_splits=3),
            scoring={"ndcg": scorer},
            params={"groups": groups},
        )
    folds = GroupKFold(n_splits=3).split(X, y, groups)
    expected = [
        grouped_ndcg_score(y[test], np.zeros(test.size), groups=groups[test])
        for _, test in folds
    ]
    assert_allclose(result["test_ndcg"], expected)
