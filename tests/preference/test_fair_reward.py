"""PreferenceRewardRegressor with the distance-covariance fairness penalty.

The use case: rewards learned from preferences over responses should not
depend on protected attributes of the person behind a response (its author,
the candidate of a profile), even when the graders' preferences do.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
import sklearn
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skalign._loss.dependence import unit_dependence_penalty
from skalign.datasets import make_preferences
from skalign.fairness import dependence_penalty, encode_sensitive_features
from skalign.metrics import distance_correlation, group_js_divergence
from skalign.nn import MLPScorer
from skalign.preference import PreferenceRewardRegressor

# The parameters before DependencePenalty: deprecated, and tested here until
# they are removed (tests/fairness/test_penalty.py tests the object).
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def _planted(n_groups=150, group_size=3, seed=0):
    """Preferences whose grades follow a feature that tracks the authors'
    group (and, more weakly, their age)."""
    X, y, groups, coef = make_preferences(
        n_groups=n_groups, group_size=group_size, n_features=4, random_state=seed
    )
    rng = np.random.default_rng(seed)
    order = np.argsort(-np.abs(coef))
    driver, second = order[0], order[1]
    group = np.sign(coef[driver]) * X[:, driver] + rng.normal(size=len(y)) > 0
    age = 40 + 8 * np.sign(coef[second]) * X[:, second] + 6 * rng.normal(size=len(y))
    sensitive = pd.DataFrame({"group": np.where(group, "b", "a"), "age": age})
    return X, y, groups, sensitive


def _fit(X, y, groups, sensitive, **params):
    params = {"optimizer": "lbfgs", "dtype": "float64", "random_state": 0, **params}
    return PreferenceRewardRegressor(**params).fit(
        X, y, groups=groups, sensitive_features=sensitive
    )


# ---------------------------------------------- off is exactly the plain model
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "settings",
    [
        dict(),
        dict(scorer=MLPScorer(hidden_units=(8,)), batch_size=64, max_epochs=5),
    ],
    ids=["lbfgs", "mlp-adam-minibatch"],
)
def test_penalty_off_reproduces_the_unpenalised_model(settings):
    X, y, groups, sensitive = _planted()
    plain = PreferenceRewardRegressor(random_state=3, **settings)
    expected = plain.fit(X, y, groups=groups).predict(X)
    for off in (
        dict(fairness_penalty="jdcov", fairness_strength=0.0),
        dict(fairness_penalty=None, fairness_strength=5.0),
    ):
        model = PreferenceRewardRegressor(random_state=3, **off, **settings)
        model.fit(X, y, groups=groups, sensitive_features=sensitive)
        assert_array_equal(model.predict(X), expected)
        assert model.sensitive_attributes_ == ("group", "age")
    assert plain.sensitive_attributes_ == ()


# ------------------------------------------------- the penalty does its job
def test_raising_strength_lowers_dependence_on_average():
    strengths = [0.0, 0.3, 1.0, 3.0, 10.0]
    dcor, js, accuracy = [], [], []
    for seed in range(3):
        X, y, groups, sensitive = _planted(seed=seed)
        attribute = sensitive[["group"]]
        row_dcor, row_js, row_accuracy = [], [], []
        for lam in strengths:
            model = _fit(
                X,
                y,
                groups,
                attribute,
                fairness_penalty="dcov",
                fairness_strength=lam,
                random_state=seed,
            )
            rewards = model.predict(X)
            row_dcor.append(distance_correlation(rewards, attribute))
            row_js.append(group_js_divergence(rewards, attribute))
            row_accuracy.append(model.score(X, y, groups=groups))
        dcor.append(row_dcor)
        js.append(row_js)
        accuracy.append(row_accuracy)
    mean_dcor, mean_js = np.mean(dcor, axis=0), np.mean(js, axis=0)
    assert np.all(np.diff(mean_dcor) < 0)
    assert np.all(np.diff(mean_js) < 0)
    assert mean_dcor[-1] < 0.3 * mean_dcor[0]
    # The rewards still rank the responses better than chance.
    assert np.mean(accuracy, axis=0)[-1] > 0.6


@pytest.mark.parametrize("penalty", ["dcov", "ccdcov", "jdcov"])
def test_categorical_and_continuous_attributes_together(penalty):
    X, y, groups, sensitive = _planted(seed=1)
    plain = _fit(X, y, groups, sensitive)
    fair = _fit(
        X, y, groups, sensitive, fairness_penalty=penalty, fairness_strength=10.0
    )
    assert fair.sensitive_attributes_ == ("group", "age")
    for attribute in (["group"], ["age"], ["group", "age"]):
        before = distance_correlation(plain.predict(X), sensitive[attribute])
        after = distance_correlation(fair.predict(X), sensitive[attribute])
        assert after < 0.5 * before, attribute


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_adam_mini_batches_and_other_objectives_lower_dependence():
    X, y, groups, sensitive = _planted(seed=2)
    attribute = sensitive[["group"]]
    for params in (
        dict(optimizer="adam", lr=0.05, batch_size=32, max_epochs=40),
        dict(objective="regression"),
        dict(objective="regression_then_scaled", reward_centering=0.1),
        dict(ties="rao_kupper", optimizer="adam", lr=0.05, max_epochs=40),
    ):
        grades = np.round(y / 2) if "ties" in params else y
        plain = _fit(X, grades, groups, attribute, **params)
        fair = _fit(
            X,
            grades,
            groups,
            attribute,
            fairness_penalty="dcov",
            fairness_strength=10.0,
            **params,
        )
        before = distance_correlation(plain.predict(X), attribute)
        after = distance_correlation(fair.predict(X), attribute)
        assert after < 0.5 * before, params
    # The tie parameter, inside the penalised loss, was trained (from θ = 2).
    assert abs(fair.tie_parameter_ - 2.0) > 1e-3


# --------------------------------------------------- one term per unique row
# One epoch is enough to build the penalty this test inspects, not to converge.
@pytest.mark.filterwarnings("ignore::skalign.exceptions.ConvergenceWarning")
def test_penalty_counts_each_row_once_whatever_its_number_of_pairs():
    X, y, groups, sensitive = _planted(n_groups=40, group_size=2)
    # Groups of 2 and 5 rows: rows of the long groups fill 4 pair positions.
    long = np.arange(len(y)) >= 40
    groups = np.where(long, 100 + np.arange(len(y)) // 5, groups)
    y = np.where(long, np.arange(len(y)) % 5, y)
    weight = np.random.default_rng(0).integers(1, 4, size=len(y)).astype(float)
    model = _fit(
        X,
        y,
        groups,
        sensitive,
        fairness_penalty="ccdcov",
        fairness_strength=2.0,
        max_epochs=1,
    )
    units = model._problem(
        X,
        y,
        constants=None,
        groups=groups,
        sample_weight=weight,
        sensitive_features=sensitive,
    ).units
    targets = {**units.targets, "index": units.index}
    index = targets["index"]
    assert np.bincount(index.ravel()).max() == 4
    rewards = torch.tensor(model.predict(X))
    tensors = {k: torch.as_tensor(v) for k, v in targets.items()}
    penalty = model.net_.criterion_.loss.penalty
    value = penalty(
        rewards[tensors["index"]],
        tensors["attributes"],
        tensors["attribute_weight"],
        tensors["mask"],
        row=tensors["row"],
    )
    encoded = encode_sensitive_features(sensitive)
    rows = np.unique(index)
    expected = 2.0 * dependence_penalty(
        rewards[rows],
        torch.tensor(encoded.values[rows]),
        kind="ccdcov",
        sizes=encoded.sizes,
        weight=torch.tensor(weight[rows]),
    )
    assert float(value) == pytest.approx(float(expected), rel=1e-12)
    # Not the penalty over positions, which overweights the long groups' rows.
    per_position = 2.0 * dependence_penalty(
        rewards[index.ravel()],
        torch.tensor(encoded.values[index.ravel()]),
        kind="ccdcov",
        sizes=encoded.sizes,
        weight=torch.tensor(weight[index.ravel()]),
    )
    assert abs(float(per_position) - float(expected)) > 1e-3 * float(expected)


@pytest.mark.parametrize("kind", ["dcov", "jdcov"])
def test_unit_penalty_weights_are_repetitions_and_gradients_are_exact(kind):
    rng = np.random.default_rng(1)
    n_rows = 12
    index = torch.as_tensor(rng.integers(0, n_rows, size=(20, 2)))
    mask = torch.ones(20, 2, dtype=torch.bool)
    attributes = torch.as_tensor(rng.normal(size=(n_rows, 2)))
    weight = torch.as_tensor(rng.integers(1, 4, size=n_rows).astype(float))
    config = dict(strength=1.5, kind=kind, sizes=(1, 1), categorical=(False,) * 2)
    config["c"] = 0.7
    rows = torch.unique(index)
    repeated = rows.repeat_interleave(weight[rows].long())

    def by_units(scores):
        return unit_dependence_penalty(
            scores[index], attributes[index], weight[index], mask, row=index, **config
        )

    scores = torch.as_tensor(rng.normal(size=n_rows))
    expected = unit_dependence_penalty(
        scores[repeated, None],
        attributes[repeated, None],
        torch.ones(len(repeated), 1, dtype=torch.float64),
        torch.ones(len(repeated), 1, dtype=torch.bool),
        **config,
    )
    assert float(by_units(scores)) == pytest.approx(float(expected), rel=1e-12)
    torch.autograd.gradcheck(by_units, (scores.clone().requires_grad_(),))


# ------------------------------------------------------ scikit-learn plumbing
def test_pipeline_and_grid_search_with_group_kfold_and_routing():
    X, y, groups, sensitive = _planted(n_groups=90)
    with sklearn.config_context(enable_metadata_routing=True):
        model = (
            PreferenceRewardRegressor(
                fairness_penalty="dcov", optimizer="lbfgs", random_state=0
            )
            .set_fit_request(groups=True, sensitive_features=True)
            .set_score_request(groups=True)
        )
        search = GridSearchCV(
            make_pipeline(StandardScaler(), model),
            {"preferencerewardregressor__fairness_strength": [0.0, 3.0]},
            cv=GroupKFold(n_splits=3),
        )
        search.fit(X, y, groups=groups, sensitive_features=sensitive)
    assert search.best_estimator_[-1].sensitive_attributes_ == ("group", "age")
    assert search.cv_results_["mean_test_score"].shape == (2,)
    assert search.predict(X).shape == (len(y),)


def test_pickle_round_trip_of_a_penalised_model():
    X, y, groups, sensitive = _planted(n_groups=50)
    model = _fit(
        X,
        y,
        groups,
        sensitive,
        fairness_penalty="jdcov",
        fairness_strength=1.0,
        reward_centering=0.1,
    )
    restored = pickle.loads(pickle.dumps(model))
    assert_array_equal(restored.predict(X), model.predict(X))
    assert restored.sensitive_attributes_ == ("group", "age")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_partial_fit_with_the_penalty():
    X, y, groups, sensitive = _planted(n_groups=60)
    model = PreferenceRewardRegressor(
        fairness_penalty="dcov", optimizer="adam", lr=0.05, random_state=0
    )
    for _ in range(3):
        model.partial_fit(X, y, groups=groups, sensitive_features=sensitive)
    assert np.all(np.isfinite(model.predict(X)))
    with pytest.raises(ValueError, match="differs from the one the model"):
        model.partial_fit(X, y, groups=groups, sensitive_features=sensitive[["age"]])


# --------------------------------------------------------------- bad input
def test_missing_sensitive_features_with_positive_strength():
    X, y, groups, _ = _planted(n_groups=20)
    model = PreferenceRewardRegressor(fairness_penalty="dcov", fairness_strength=1.0)
    with pytest.raises(ValueError, match=r"rewards.*pass sensitive_features"):
        model.fit(X, y, groups=groups)
    # Without strength, or without the penalty, none are needed.
    model.set_params(fairness_strength=0.0, max_epochs=2).fit(X, y, groups=groups)
    PreferenceRewardRegressor(max_epochs=2).fit(X, y, groups=groups)


@pytest.mark.parametrize(
    ("sensitive", "message"),
    [
        (
            pd.Series([np.nan] + ["a", "b"] * 29 + ["a"], name="author"),
            "'author'.*1 missing",
        ),
        (np.array(["a", "b"] * 20), "40 rows but X has 60"),
        (np.r_[np.inf, np.arange(59.0)], "infinite"),
        (np.array(["a"] * 60), "single group"),
    ],
    ids=["nan", "length", "inf", "constant"],
)
@pytest.mark.parametrize("penalty", [None, "dcov"])
def test_bad_sensitive_features(sensitive, message, penalty):
    X, y, groups, _ = _planted(n_groups=20)
    model = PreferenceRewardRegressor(fairness_penalty=penalty, max_epochs=2)
    with pytest.raises(ValueError, match=message):
        model.fit(X, y, groups=groups, sensitive_features=sensitive)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (dict(fairness_penalty="l2"), "fairness_penalty"),
        (dict(fairness_penalty="dcov", fairness_strength=-1.0), "fairness_strength"),
        (dict(fairness_penalty="jdcov", jdcov_c=0.0), "jdcov_c"),
        (dict(fairness_penalty="dcov", categorical_features=["race"]), "race"),
    ],
)
def test_bad_penalty_parameters(params, message):
    X, y, groups, sensitive = _planted(n_groups=20)
    with pytest.raises(ValueError, match=message):
        PreferenceRewardRegressor(**params).fit(
            X, y, groups=groups, sensitive_features=sensitive
        )


def test_predict_needs_no_sensitive_features():
    X, y, groups, sensitive = _planted(n_groups=30)
    model = _fit(X, y, groups, sensitive, fairness_penalty="dcov")
    assert model.predict(X[:5]).shape == (5,)
    assert_allclose(model.transform(X[:5])[:, 0], model.predict(X[:5]))
