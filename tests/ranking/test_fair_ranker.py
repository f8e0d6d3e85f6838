"""PlackettLuceRanker with the distance-covariance fairness penalty."""

import pickle

import numpy as np
import pandas as pd
import pytest
import sklearn
import torch
from numpy.testing import assert_array_equal
from sklearn.model_selection import GridSearchCV, GroupKFold

from skalign.datasets import make_rankings
from skalign.fairness import dependence_penalty, encode_sensitive_features
from skalign.metrics import (
    distance_correlation,
    exposure_disparity,
    group_js_divergence,
)
from skalign.nn import MLPScorer
from skalign.ranking import PlackettLuceRanker
from skalign.utils._groups import pack_groups

# The parameters before DependencePenalty: deprecated, and tested here until
# they are removed (tests/fairness/test_penalty.py tests the object).
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def _planted(n_groups=60, list_size=5, seed=0):
    """Lists ranked by utilities that track the candidates' group and age."""
    X, y, groups, coef = make_rankings(
        n_groups=n_groups, list_size=list_size, n_features=4, random_state=seed
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
    return PlackettLuceRanker(**params).fit(
        X, y, groups=groups, sensitive_features=sensitive
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "settings",
    [
        dict(),
        dict(scorer=MLPScorer(hidden_units=(8,)), batch_size=16, max_epochs=5),
    ],
    ids=["lbfgs", "mlp-adam-minibatch"],
)
def test_penalty_off_reproduces_the_unpenalised_model(settings):
    X, y, groups, sensitive = _planted()
    plain = PlackettLuceRanker(random_state=3, **settings)
    expected = plain.fit(X, y, groups=groups).predict(X)
    for off in (
        dict(fairness_penalty="jdcov", fairness_strength=0.0),
        dict(fairness_penalty=None, fairness_strength=5.0),
    ):
        model = PlackettLuceRanker(random_state=3, **off, **settings)
        model.fit(X, y, groups=groups, sensitive_features=sensitive[["group"]])
        assert_array_equal(model.predict(X), expected)


def test_raising_strength_lowers_dependence_on_average():
    strengths = [0.0, 0.3, 1.0, 3.0, 10.0]
    dcor, js = [], []
    for seed in range(3):
        X, y, groups, sensitive = _planted(seed=seed)
        attribute = sensitive[["group"]]
        row_dcor, row_js = [], []
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
            scores = model.predict(X)
            row_dcor.append(distance_correlation(scores, attribute))
            row_js.append(group_js_divergence(scores, attribute))
        dcor.append(row_dcor)
        js.append(row_js)
    mean_dcor, mean_js = np.mean(dcor, axis=0), np.mean(js, axis=0)
    assert np.all(np.diff(mean_dcor) < 0)
    assert np.all(np.diff(mean_js) < 0)
    assert mean_dcor[-1] < 0.3 * mean_dcor[0]


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


def test_penalty_is_over_the_rows_of_every_list_once():
    X, y, groups, sensitive = _planted(n_groups=30)
    # Uneven lists (one long one, some shortened): padding must not count.
    groups = groups.copy()
    groups[::7] = -1
    weight = np.random.default_rng(0).integers(1, 4, size=len(y)).astype(float)
    model = _fit(
        X, y, groups, sensitive, fairness_penalty="dcov", fairness_strength=2.0
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
    mask = targets["mask"]
    assert not mask.all()
    packed = pack_groups(y, groups)
    index = np.where(packed.mask, packed.index, 0)
    assert_array_equal(packed.mask, mask)
    encoded = encode_sensitive_features(sensitive)
    assert_array_equal(targets["attributes"][mask], encoded.values[index[mask]])
    scores = torch.tensor(model.predict(X))
    tensors = {k: torch.as_tensor(v) for k, v in targets.items()}
    value = model.net_.criterion_.loss.fairness(
        scores[index], tensors["attributes"], tensors["weight"], tensors["mask"]
    )
    rows = index[mask]
    expected = 2.0 * dependence_penalty(
        scores[rows],
        torch.tensor(encoded.values[rows]),
        kind="dcov",
        sizes=encoded.sizes,
        categorical=encoded.categorical,
        weight=torch.tensor(weight[rows]),
    )
    assert float(value) == pytest.approx(float(expected), rel=1e-10)


def test_davidson_luce_ties_start_from_the_unpenalised_fit():
    X, y, groups, sensitive = _planted(seed=2)
    y = np.round(y / 2)
    attribute = sensitive[["group"]]
    plain = _fit(X, y, groups, attribute, ties="davidson_luce")
    fair = _fit(
        X,
        y,
        groups,
        attribute,
        ties="davidson_luce",
        fairness_penalty="dcov",
        fairness_strength=10.0,
    )
    assert fair.tie_weights_.shape == plain.tie_weights_.shape
    before = distance_correlation(plain.predict(X), attribute)
    assert distance_correlation(fair.predict(X), attribute) < 0.5 * before


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_exposure_and_dependence_penalties_together():
    X, y, groups, sensitive = _planted(n_groups=40, list_size=4)
    group = sensitive["group"].to_numpy()
    params = dict(optimizer="adam", lr=0.05, max_epochs=40)
    fits = {
        name: _fit(X, y, groups, group, **params, **penalties)
        for name, penalties in {
            "plain": {},
            "exposure": dict(exposure_penalty=20.0),
            "both": dict(
                exposure_penalty=20.0, fairness_penalty="dcov", fairness_strength=10.0
            ),
        }.items()
    }
    disparity = {
        name: exposure_disparity(model.predict(X), group, groups=groups)
        for name, model in fits.items()
    }
    dcor = {
        name: distance_correlation(model.predict(X), group)
        for name, model in fits.items()
    }
    assert disparity["both"] < 0.5 * disparity["plain"]
    assert dcor["both"] < 0.5 * dcor["exposure"]


def test_grid_search_with_group_kfold_and_routing():
    X, y, groups, sensitive = _planted(n_groups=45)
    with sklearn.config_context(enable_metadata_routing=True):
        model = (
            PlackettLuceRanker(fairness_penalty="dcov", optimizer="lbfgs")
            .set_fit_request(groups=True, sensitive_features=True)
            .set_score_request(groups=True)
        )
        search = GridSearchCV(
            model, {"fairness_strength": [0.0, 3.0]}, cv=GroupKFold(n_splits=3)
        )
        search.fit(X, y, groups=groups, sensitive_features=sensitive)
    assert search.best_estimator_.sensitive_attributes_ == ("group", "age")


def test_pickle_round_trip_of_a_penalised_model():
    X, y, groups, sensitive = _planted(n_groups=30)
    model = _fit(
        X, y, groups, sensitive, fairness_penalty="jdcov", fairness_strength=1.0
    )
    restored = pickle.loads(pickle.dumps(model))
    assert_array_equal(restored.predict(X), model.predict(X))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_warm_start_needs_the_same_penalty():
    X, y, groups, sensitive = _planted(n_groups=30)
    model = PlackettLuceRanker(
        fairness_penalty="dcov", optimizer="adam", max_epochs=2, warm_start=True
    )
    model.fit(X, y, groups=groups, sensitive_features=sensitive)
    model.fit(X, y, groups=groups, sensitive_features=sensitive)
    model.set_params(fairness_strength=3.0)
    with pytest.raises(ValueError, match="differs from the one the model"):
        model.fit(X, y, groups=groups, sensitive_features=sensitive)


# --------------------------------------------------------------- bad input
@pytest.mark.parametrize("exposure_penalty", [0.0, 1.0])
def test_missing_sensitive_features(exposure_penalty):
    X, y, groups, _ = _planted(n_groups=20)
    model = PlackettLuceRanker(
        fairness_penalty="dcov", exposure_penalty=exposure_penalty
    )
    with pytest.raises(ValueError, match="sensitive_features"):
        model.fit(X, y, groups=groups)


@pytest.mark.parametrize(
    ("sensitive", "message"),
    [
        (
            pd.Series([np.nan] + ["a", "b"] * 49 + ["a"], name="candidate"),
            "'candidate'.*1 missing",
        ),
        (np.array(["a", "b"] * 20), "40 rows but X has 100"),
        (np.r_[np.inf, np.arange(99.0)], "infinite"),
        (np.full(100, 3.0), "constant"),
    ],
    ids=["nan", "length", "inf", "constant"],
)
def test_bad_sensitive_features(sensitive, message):
    X, y, groups, _ = _planted(n_groups=20)
    model = PlackettLuceRanker(fairness_penalty="ccdcov", max_epochs=2)
    with pytest.raises(ValueError, match=message):
        model.fit(X, y, groups=groups, sensitive_features=sensitive)
