"""DependencePenalty: one penalty object, accepted by every estimator that
takes a fairness penalty, with the deprecated parameters mapped onto it.

One parametrised module over all of them: ``CASES`` lists each estimator
with data on which its predictions depend on a protected attribute.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold

from skalign.datasets import make_preferences
from skalign.fairness import (
    DependencePenalty,
    FairClassifier,
    FairRegressor,
    fairness_path,
)
from skalign.metrics import (
    best_under_fairness_bound,
    conditional_distance_correlation,
    distance_correlation,
    make_fairness_scorer,
)
from skalign.preference import PreferenceRewardRegressor
from skalign.ranking import PlackettLuceRanker


def _rows(seed=0, n=400):
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, size=n)
    X = np.column_stack([rng.normal(size=n), group + rng.normal(size=n)])
    return rng, group, X


def _regression():
    rng, group, X = _rows()
    y = X[:, 0] + 2 * group + 0.3 * rng.normal(size=len(group))
    return X, y, {}, group


def _classification():
    rng, group, X = _rows(1)
    y = (X[:, 0] + X[:, 1] + rng.logistic(size=len(group)) > 1).astype(int)
    return X, y, {}, group


def _preferences(group_size):
    X, y, groups, coef = make_preferences(
        n_groups=100, group_size=group_size, n_features=3, random_state=0
    )
    rng = np.random.default_rng(0)
    driver = int(np.argmax(np.abs(coef)))
    group = (np.sign(coef[driver]) * X[:, driver] + rng.normal(size=len(y)) > 0) * 1
    return X, y, {"groups": groups}, group


CASES = {
    "FairRegressor": (FairRegressor, _regression, {}),
    "FairClassifier": (FairClassifier, _classification, {}),
    "PreferenceRewardRegressor": (
        PreferenceRewardRegressor,
        lambda: _preferences(2),
        {"optimizer": "lbfgs"},
    ),
    "PlackettLuceRanker": (
        PlackettLuceRanker,
        lambda: _preferences(4),
        {"optimizer": "lbfgs"},
    ),
}


def _output(model, X):
    if isinstance(model, FairClassifier):
        return model.predict_proba(X)[:, 1]
    return model.predict(X)


def _fit(name, penalty, **params):
    Estimator, data, settings = CASES[name]
    X, y, metadata, group = data()
    model = Estimator(
        fairness_penalty=penalty, dtype="float64", random_state=0, **settings, **params
    )
    return model.fit(X, y, sensitive_features=group, **metadata), X, group


@pytest.mark.parametrize("name", CASES)
def test_penalty_object_is_accepted_and_lowers_dependence(name):
    plain, X, group = _fit(name, None)
    fair, _, _ = _fit(name, DependencePenalty(strength=10.0))
    before = distance_correlation(_output(plain, X), group)
    after = distance_correlation(_output(fair, X), group)
    assert after < 0.5 * before
    # A nested parameter: searches and fairness_path tune it.
    params = fair.get_params()
    assert params["fairness_penalty__strength"] == 10.0
    copy = clone(fair).set_params(fairness_penalty__strength=2.0)
    assert copy.fairness_penalty.strength == 2.0
    assert fair.fairness_penalty.strength == 10.0


@pytest.mark.parametrize("name", CASES)
def test_strength_zero_is_the_unpenalised_model_exactly(name):
    plain, X, _ = _fit(name, None)
    zero, _, _ = _fit(name, DependencePenalty(strength=0.0))
    assert_array_equal(_output(zero, X), _output(plain, X))


def _old_parameters(name):
    if name.startswith("Fair"):
        return {"penalty": "ccdcov", "fairness_strength": 3.0, "jdcov_c": 2.0}
    return {"fairness_penalty": "ccdcov", "fairness_strength": 3.0}


@pytest.mark.parametrize("name", CASES)
def test_deprecated_parameters_warn_and_build_the_raw_penalty(name):
    Estimator, data, settings = CASES[name]
    X, y, metadata, group = data()
    old = Estimator(
        **_old_parameters(name), dtype="float64", random_state=0, **settings
    )
    with pytest.warns(FutureWarning, match="deprecated since 0.3"):
        old.fit(X, y, sensitive_features=group, **metadata)
    new = Estimator(
        fairness_penalty=DependencePenalty(
            "ccdcov", 3.0, normalize=False, c=2.0 if name.startswith("Fair") else 1.0
        ),
        dtype="float64",
        random_state=0,
        **settings,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        new.fit(X, y, sensitive_features=group, **metadata)
    assert_allclose(_output(old, X), _output(new, X), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", CASES)
def test_old_and_new_parameters_together_are_an_error(name):
    Estimator, data, _settings = CASES[name]
    X, y, metadata, group = data()
    model = Estimator(fairness_penalty=DependencePenalty(), fairness_strength=2.0)
    with pytest.raises(ValueError, match="set everything on the DependencePenalty"):
        model.fit(X, y, sensitive_features=group, **metadata)


@pytest.mark.parametrize("name", CASES)
def test_invalid_penalty_parameters_name_the_parameter(name):
    Estimator, data, _settings = CASES[name]
    X, y, metadata, group = data()
    model = Estimator(fairness_penalty=DependencePenalty(kind="hsic"))
    with pytest.raises(ValueError, match="'kind' parameter of DependencePenalty"):
        model.fit(X, y, sensitive_features=group, **metadata)
    model = Estimator(fairness_penalty="not a penalty")
    with pytest.raises(ValueError, match="fairness_penalty"):
        model.fit(X, y, sensitive_features=group, **metadata)


@pytest.mark.parametrize("name", ["PreferenceRewardRegressor", "PlackettLuceRanker"])
def test_u_statistic_needs_row_units(name):
    with pytest.raises(ValueError, match="statistic='u'"):
        _fit(name, DependencePenalty(statistic="u"))


def test_normalised_strength_is_scale_free():
    # Scaling y scales the fitted predictions by the same factor only when
    # the penalty does not depend on the scale of the predictions.
    X, y, _, group = _regression()
    for normalize, same in ((True, True), (False, False)):
        penalty = DependencePenalty(strength=1.0, normalize=normalize)
        fits = [
            FairRegressor(fairness_penalty=penalty, dtype="float64", tol=1e-10)
            .fit(X, scale * y, sensitive_features=group)
            .predict(X)
            / scale
            for scale in (1.0, 1000.0)
        ]
        assert np.allclose(fits[0], fits[1], rtol=1e-4, atol=1e-4) is same


def test_large_data_on_the_fast_path_is_fitted_by_lbfgs():
    # Above 4096 rows: one categorical attribute has the exact O(n log n)
    # path, so optimizer="auto" keeps full-batch L-BFGS (at 4200 rows Adam
    # was 31x slower at equal parity and accuracy, issue 16).
    rng = np.random.default_rng(0)
    n = 5000
    group = rng.integers(0, 3, size=n)
    X = np.column_stack([rng.normal(size=n), group + rng.normal(size=n)])
    y = (X.sum(axis=1) + rng.logistic(size=n) > 1).astype(int)
    model = FairClassifier(fairness_penalty=DependencePenalty(strength=3.0))
    model.fit(X, y, sensitive_features=group)
    assert type(model.net_.optimizer_).__name__ == "FullBatchLBFGS"


def _disagreeing(seed=0, n=2000):
    """Base rates differ by group, and one feature is a pure group proxy."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, size=n)
    y = (rng.random(n) < 0.25 + 0.5 * group).astype(int)
    X = np.column_stack([y + rng.normal(size=n), group + 0.5 * rng.normal(size=n)])
    return X, y, group


def test_separation_removes_conditional_dependence_where_independence_does_not():
    X, y, group = _disagreeing()

    def fit(penalty):
        model = FairClassifier(fairness_penalty=penalty, dtype="float64")
        proba = model.fit(X, y, sensitive_features=group).predict_proba(X)[:, 1]
        return (
            distance_correlation(proba, group),
            conditional_distance_correlation(y, proba, group),
        )

    plain = fit(None)
    independence = fit(DependencePenalty(strength=10.0))
    separation = fit(DependencePenalty(strength=10.0, criterion="separation"))
    # Separation: little dependence given the class, though the predictions
    # still depend on the group through the class itself.
    assert separation[1] < 0.25 * plain[1]
    assert separation[0] > 5 * independence[0]
    # Independence: little dependence overall, but within the classes the
    # predictions still depend on the group.
    assert independence[0] < 0.25 * plain[0]
    assert independence[1] > 4 * separation[1]


def test_separation_for_a_continuous_target_uses_quantile_strata():
    X, y, group = _disagreeing(1)
    target = X[:, 0] + 2 * group + np.random.default_rng(1).normal(size=len(y))
    models = {
        criterion: FairRegressor(
            fairness_penalty=DependencePenalty(strength=10.0, criterion=criterion)
        ).fit(X, target, sensitive_features=group)
        for criterion in ("independence", "separation")
    }
    assert len(models["separation"]._fitted_constants["penalty"]["edges"]) == 4
    plain = FairRegressor().fit(X, target).predict(X)
    cond = {
        k: conditional_distance_correlation(target, m.predict(X), group)
        for k, m in models.items()
    }
    # Making the predictions independent of the group moves the dependence
    # into the strata of the target; separation leaves them as they were.
    assert cond["independence"] > 3 * conditional_distance_correlation(
        target, plain, group
    )
    assert (
        cond["separation"]
        <= conditional_distance_correlation(target, plain, group) + 0.02
    )


def test_conditional_distance_correlation_is_distance_correlation_in_one_stratum():
    rng = np.random.default_rng(0)
    s = rng.integers(0, 3, size=300)
    pred = s + rng.normal(size=300)
    assert conditional_distance_correlation(
        np.zeros(300, dtype=int), pred, s
    ) == pytest.approx(distance_correlation(pred, s))
    # Within each class the prediction is pure noise: near zero.
    y = rng.integers(0, 2, size=300)
    value = conditional_distance_correlation(y, y + 0.01 * rng.normal(size=300), s)
    assert 0 <= value < 0.2
    with pytest.raises(ValueError, match="y_true must be 1-D"):
        conditional_distance_correlation(np.zeros(5), pred, s)


def test_search_picks_the_most_accurate_model_under_a_fairness_bound():
    X, y, _, group = _regression()
    sensitive = pd.Series(group, name="group")
    grid = {"fairness_penalty__strength": [0.0, 0.3, 3.0, 30.0]}
    with sklearn.config_context(enable_metadata_routing=True):
        model = FairRegressor(fairness_penalty=DependencePenalty()).set_fit_request(
            sensitive_features=True
        )
        search = GridSearchCV(
            model,
            grid,
            cv=KFold(3, shuffle=True, random_state=0),
            scoring={"r2": "r2", "dcor": make_fairness_scorer()},
            refit=best_under_fairness_bound("r2", "dcor", 0.2),
        ).fit(X, y, sensitive_features=sensitive)
    dcor = -search.cv_results_["mean_test_dcor"]
    r2 = search.cv_results_["mean_test_r2"]
    allowed = dcor <= 0.2
    assert allowed.any() and not allowed.all()
    assert search.best_index_ == np.flatnonzero(allowed)[np.argmax(r2[allowed])]
    # The fairness scores are those of each fold's held-out rows.
    assert dcor[0] > dcor[-1]


def test_refit_warns_when_no_candidate_meets_the_bound():
    results = {
        "mean_test_r2": np.array([0.9, 0.5]),
        "mean_test_dcor": -np.array([0.5, 0.3]),
    }
    with pytest.warns(UserWarning, match="fairest"):
        assert best_under_fairness_bound("r2", "dcor", 0.1)(results) == 1
    with pytest.raises(ValueError, match="no scorer named 'acc'"):
        best_under_fairness_bound("acc", "dcor", 0.1)(results)


def test_fairness_scorer_reads_targets_for_separation():
    X, y, group = _disagreeing()
    model = FairClassifier().fit(X, y)
    scorer = make_fairness_scorer(
        "conditional_distance_correlation", response_method="predict_proba"
    )
    expected = conditional_distance_correlation(y, model.predict_proba(X)[:, 1], group)
    with sklearn.config_context(enable_metadata_routing=True):
        score = scorer(model, X, y, sensitive_features=group)
    assert score == pytest.approx(-expected)
    with pytest.raises(ValueError, match="metric must be one of"):
        make_fairness_scorer("accuracy")


def test_fairness_path_defaults_cover_the_front():
    X, y, _, group = _regression()
    path = fairness_path(FairRegressor(), X, y, sensitive_features=group, cv=3)
    assert path.strengths[0] == 0 and path.strengths[-1] == 1000
    dcor = path.fairness["distance_correlation"]
    # From the unpenalised model to near independence.
    assert dcor[-1] < 0.3 * dcor[0]
