"""PreferenceRewardRegressor: reference agreement, sklearn integration, API."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from numpy.testing import assert_allclose
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skalign.exceptions import MissingGroupsWarning
from skalign.metrics import pairwise_accuracy
from skalign.nn import LinearScorer, MLPScorer
from skalign.preference import PreferenceRewardRegressor
from skalign.utils import comparisons_to_long


def _difference_problem(X, y):
    """Winner-minus-loser rows of pair data, balanced by flipping half."""
    first_wins = y[0::2] > y[1::2]
    diff = np.where(first_wins[:, None], X[0::2] - X[1::2], X[1::2] - X[0::2])
    flip = np.arange(diff.shape[0]) % 2 == 1
    diff[flip] *= -1
    return diff, (~flip).astype(int)


def _exact_bt(**params):
    return PreferenceRewardRegressor(
        scorer=LinearScorer(fit_intercept=False),
        dtype="float64",
        tol=1e-10,
        max_epochs=500,
        **params,
    )


def _coef(model):
    return model.scorer_.linear.weight.detach().numpy().ravel()


def test_bradley_terry_equals_logistic_regression_on_differences(pair_data):
    X, y, groups, _ = pair_data
    model = _exact_bt().fit(X, y, groups=groups)
    diff, target = _difference_problem(X, y)
    reference = LogisticRegression(
        C=np.inf, fit_intercept=False, tol=1e-12, max_iter=10_000
    ).fit(diff, target)
    assert model.converged_
    assert_allclose(_coef(model), reference.coef_.ravel(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("alpha", [1e-3, 1e-1])
def test_l2_alpha_matches_logistic_regression_C(pair_data, alpha):
    X, y, groups, _ = pair_data
    n_pairs = X.shape[0] // 2
    model = _exact_bt(alpha=alpha).fit(X, y, groups=groups)
    diff, target = _difference_problem(X, y)
    reference = LogisticRegression(
        C=1.0 / (alpha * n_pairs), fit_intercept=False, tol=1e-12, max_iter=10_000
    ).fit(diff, target)
    assert_allclose(_coef(model), reference.coef_.ravel(), rtol=1e-4, atol=1e-6)


def test_float32_default_is_close_to_the_exact_fit(pair_data):
    X, y, groups, _ = pair_data
    exact = _coef(_exact_bt().fit(X, y, groups=groups))
    default = PreferenceRewardRegressor(scorer=LinearScorer(fit_intercept=False))
    assert_allclose(_coef(default.fit(X, y, groups=groups)), exact, rtol=1e-3)


def test_learns_the_planted_direction(pair_data):
    X, y, groups, coef = pair_data
    model = PreferenceRewardRegressor(random_state=0).fit(X, y, groups=groups)
    learned = _coef(model)
    cosine = learned @ coef / np.linalg.norm(learned) / np.linalg.norm(coef)
    assert cosine > 0.95
    oracle = pairwise_accuracy(y, X @ coef, groups=groups)
    assert model.score(X, y, groups=groups) >= oracle - 0.02


def test_predict_pair_proba_is_sigmoid_of_reward_difference(pair_data):
    X, y, groups, _ = pair_data
    model = PreferenceRewardRegressor().fit(X, y, groups=groups)
    proba = model.predict_pair_proba(X[0::2], X[1::2])
    rewards = model.predict(X)
    assert_allclose(proba, expit(rewards[0::2] - rewards[1::2]))
    assert_allclose(
        model.predict_pair_proba(X[1::2], X[0::2]), 1 - proba, rtol=1e-6, atol=1e-6
    )
    with pytest.raises(ValueError, match="same number of rows"):
        model.predict_pair_proba(X[:3], X[:4])


def test_score_is_pairwise_accuracy(pair_data):
    X, y, groups, _ = pair_data
    model = PreferenceRewardRegressor().fit(X, y, groups=groups)
    expected = pairwise_accuracy(y, model.predict(X), groups=groups)
    assert model.score(X, y, groups=groups) == expected


def test_groups_none_is_one_global_ranking():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    y = X @ np.array([2.0, 0.0, -1.0])
    model = PreferenceRewardRegressor().fit(X, y)
    assert model.score(X, y) > 0.95


def test_pipeline_with_standard_scaler(pair_data):
    X, y, groups, _ = pair_data
    X = X * np.array([1.0, 100.0, 0.01, 5.0]) + 3.0
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(
            StandardScaler(),
            PreferenceRewardRegressor()
            .set_fit_request(groups=True)
            .set_score_request(groups=True),
        )
        pipe.fit(X, y, groups=groups)
        assert pipe.score(X, y, groups=groups) > 0.75


_SKLEARN_VERSION = tuple(int(p) for p in sklearn.__version__.split(".")[:2])


def test_grid_search_with_group_kfold_and_metadata_routing(pair_data):
    X, y, groups, _ = pair_data
    with sklearn.config_context(enable_metadata_routing=True):
        estimator = (
            PreferenceRewardRegressor(
                scorer=MLPScorer(hidden_units=(4,)),
                max_epochs=30,
                lr=1e-2,
                random_state=0,
            )
            .set_fit_request(groups=True)
            .set_score_request(groups=True)
        )
        pipe = make_pipeline(StandardScaler(), estimator)
        search = GridSearchCV(
            pipe,
            {
                "preferencerewardregressor__scorer__hidden_units": [(4,), (8, 8)],
                "preferencerewardregressor__alpha": [0.0, 1e-2],
            },
            cv=GroupKFold(n_splits=3),
        )
        with (
            pytest.warns(sklearn.exceptions.ConvergenceWarning),
            warnings.catch_warnings(),
        ):
            if _SKLEARN_VERSION < (1, 7):
                # scikit-learn 1.6's Pipeline.score does not route groups to
                # the last step: the folds are scored as one ranking, which
                # MissingGroupsWarning rightly reports.
                warnings.simplefilter("ignore", MissingGroupsWarning)
            search.fit(X, y, groups=groups)
    assert search.best_score_ > 0.7
    assert set(search.cv_results_["param_preferencerewardregressor__alpha"]) == {
        0.0,
        1e-2,
    }
    best = search.best_estimator_[-1]
    assert best.scorer_.hidden_units == best.scorer.hidden_units


def test_cross_val_score_splits_by_group(pair_data):
    X, y, groups, _ = pair_data
    with sklearn.config_context(enable_metadata_routing=True):
        estimator = (
            PreferenceRewardRegressor()
            .set_fit_request(groups=True)
            .set_score_request(groups=True)
        )
        scores = cross_val_score(
            estimator, X, y, cv=GroupKFold(3), params={"groups": groups}
        )
    assert scores.shape == (3,) and np.all(scores > 0.7)


def test_featureless_item_strengths_from_sparse_one_hot():
    rng = np.random.default_rng(0)
    n_items = 20
    strength = np.linspace(-2, 2, n_items)
    pairs = rng.integers(0, n_items, size=(3000, 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    first_wins = rng.random(len(pairs)) < expit(
        strength[pairs[:, 0]] - strength[pairs[:, 1]]
    )
    comparisons = np.where(first_wins[:, None], pairs, pairs[:, ::-1])
    X, y, groups = comparisons_to_long(sp.identity(n_items, format="csr"), comparisons)
    assert sp.issparse(X)
    sparse_model = _exact_bt(alpha=1e-4).fit(X, y, groups=groups)
    dense_model = _exact_bt(alpha=1e-4).fit(X.toarray(), y, groups=groups)
    assert_allclose(_coef(sparse_model), _coef(dense_model), rtol=1e-6, atol=1e-8)
    items = sparse_model.predict(sp.identity(n_items, format="csr"))
    assert np.corrcoef(items, strength)[0, 1] > 0.97


def test_mini_batch_adam_matches_lbfgs(pair_data):
    X, y, groups, _ = pair_data
    lbfgs = _coef(PreferenceRewardRegressor().fit(X, y, groups=groups))
    adam = PreferenceRewardRegressor(
        optimizer="adam", batch_size=32, lr=1e-2, max_epochs=200, random_state=0
    ).fit(X, y, groups=groups)
    assert_allclose(_coef(adam), lbfgs, atol=0.1)


def test_longer_groups_use_all_grade_ordered_pairs():
    """A group of three graded rows equals its three pairs as separate groups."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(90, 3))
    y = np.tile([2.0, 1.0, 0.0], 30) + 0.0
    groups = np.repeat(np.arange(30), 3)
    trip = _exact_bt().fit(X, y, groups=groups)
    take = np.array([[0, 1], [0, 2], [1, 2]])
    rows = (np.arange(30)[:, None, None] * 3 + take[None]).reshape(-1)
    X_pairs = X[rows]
    y_pairs = y[rows]
    groups_pairs = np.repeat(np.arange(90), 2)
    pairs = _exact_bt().fit(X_pairs, y_pairs, groups=groups_pairs)
    assert_allclose(_coef(trip), _coef(pairs), rtol=1e-6)


def test_ties_and_uninformative_groups_are_ignored(pair_data):
    X, y, groups, _ = pair_data
    base = _exact_bt().fit(X, y, groups=groups)
    rng = np.random.default_rng(0)
    X_extra = rng.normal(size=(30, X.shape[1]))
    y_extra = np.r_[np.full(20, 0.5), np.zeros(10)]
    groups_extra = np.r_[np.repeat(np.arange(10), 2) + 1000, np.arange(10) + 2000]
    padded = _exact_bt().fit(
        np.vstack([X, X_extra]), np.r_[y, y_extra], groups=np.r_[groups, groups_extra]
    )
    assert_allclose(_coef(padded), _coef(base), rtol=1e-7)


def test_string_group_ids_and_non_contiguous_rows(pair_data):
    X, y, groups, _ = pair_data
    base = _exact_bt().fit(X, y, groups=groups)
    perm = np.random.default_rng(0).permutation(len(y))
    named = np.array([f"prompt-{g}" for g in groups])
    shuffled = _exact_bt().fit(X[perm], y[perm], groups=named[perm])
    assert_allclose(_coef(shuffled), _coef(base), rtol=1e-7)


def test_integer_sample_weight_equals_repeating_rows_within_a_group(pair_data):
    X, y, _, _ = pair_data
    X, y = X[:80], y[:80]
    one_group = np.zeros(len(y))
    weight = np.random.default_rng(0).integers(0, 3, size=len(y))
    weighted = _exact_bt().fit(X, y, groups=one_group, sample_weight=weight)
    rows = np.repeat(np.arange(len(y)), weight)
    repeated = _exact_bt().fit(X[rows], y[rows], groups=one_group[rows])
    assert_allclose(_coef(weighted), _coef(repeated), rtol=1e-6)


def test_a_count_on_both_rows_of_a_pair_equals_repeating_the_pair(pair_data):
    X, y, groups, _ = pair_data
    n_pairs = groups.max() + 1
    count = np.random.default_rng(0).integers(0, 4, size=n_pairs)
    weighted = _exact_bt().fit(X, y, groups=groups, sample_weight=count[groups])
    copies = np.repeat(np.arange(n_pairs), count)
    rows = np.arange(len(y)).reshape(n_pairs, 2)[copies].ravel()
    repeated = _exact_bt().fit(
        X[rows], y[rows], groups=np.repeat(np.arange(copies.size), 2)
    )
    assert_allclose(_coef(weighted), _coef(repeated), rtol=1e-6)
