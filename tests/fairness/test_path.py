"""fairness_path: per-strength cross-validated metrics and the knee."""

import matplotlib
import numpy as np
import pandas as pd
import pytest
import sklearn
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.metrics import mean_poisson_deviance
from sklearn.model_selection import KFold, ShuffleSplit, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skalign.fairness import (
    DependencePenalty,
    FairClassifier,
    FairnessPath,
    FairRegressor,
    fairness_path,
)
from skalign.fairness._path import _knee
from skalign.metrics import distance_correlation

matplotlib.use("Agg")


def _data(n=240, seed=0):
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b"], size=n)
    age = rng.uniform(20, 60, size=n)
    X = np.column_stack([rng.normal(size=n), (group == "b") + rng.normal(size=n)])
    y = X[:, 0] + 1.5 * (group == "b") + 0.5 * rng.normal(size=n)
    return X, y, pd.DataFrame({"group": group, "age": age})


def test_regression_path():
    X, y, sensitive = _data()
    path = fairness_path(
        FairRegressor(optimizer="lbfgs", random_state=0),
        X,
        y,
        sensitive_features=sensitive,
        strengths=[10.0, 0.0, 1.0],
        cv=3,
    )
    assert isinstance(path, FairnessPath)
    assert_array_equal(path.strengths, [0.0, 1.0, 10.0])
    assert path.loss_name == "mean_squared_error"
    assert path.loss.shape == path.score.shape == (3, 3)
    assert set(path.fairness) == {
        "js_divergence",
        "unfairness_ratio",
        "distance_correlation",
    }
    assert path.predictions.shape == (3, len(y))
    assert path.fairness["unfairness_ratio"][-1] < path.fairness["unfairness_ratio"][0]
    assert path.loss[-1].mean() > path.loss[0].mean()
    assert path.knee_strength in path.strengths
    # The pooled predictions are the out-of-fold ones.
    train, test = next(KFold(n_splits=3).split(X))
    model = FairRegressor(
        optimizer="lbfgs",
        random_state=0,
        fairness_penalty=DependencePenalty(strength=1.0),
    )
    model.fit(X[train], y[train], sensitive_features=sensitive.iloc[train])
    assert_allclose(path.predictions[1, test], model.predict(X[test]))
    assert path.fairness["distance_correlation"][1] == pytest.approx(
        distance_correlation(path.predictions[1], sensitive)
    )
    frame = path.to_frame()
    assert list(frame.index) == [0.0, 1.0, 10.0]
    assert_allclose(frame["loss"], path.loss.mean(axis=1))
    axes = path.plot()
    assert len(axes) == 2
    matplotlib.pyplot.close("all")


def test_binary_classifier_path_reports_fairlearn_metrics():
    X, y, sensitive = _data()
    target = (y > np.median(y)).astype(int)
    cv = StratifiedKFold(n_splits=2, shuffle=True, random_state=0)
    estimator = FairClassifier(optimizer="lbfgs", random_state=0)
    path = fairness_path(
        estimator,
        X,
        target,
        sensitive_features=sensitive[["group"]],
        strengths=[0.0, 5.0],
        cv=cv,
    )
    assert path.loss_name == "log_loss"
    # Refit every fold by hand and ask fairlearn about the pooled labels.
    pred = np.empty(len(target), dtype=int)
    for fold, (train, test) in enumerate(cv.split(X, target)):
        model = FairClassifier(
            optimizer="lbfgs",
            random_state=0,
            fairness_penalty=DependencePenalty(strength=5.0),
        )
        model.fit(X[train], target[train], sensitive_features=sensitive["group"][train])
        pred[test] = model.predict(X[test])
        assert path.score[1, fold] == pytest.approx(model.score(X[test], target[test]))
    group = sensitive["group"]
    assert path.fairness["demographic_parity_difference"][1] == pytest.approx(
        demographic_parity_difference(target, pred, sensitive_features=group)
    )
    assert path.fairness["equalized_odds_difference"][1] == pytest.approx(
        equalized_odds_difference(target, pred, sensitive_features=group)
    )


def test_multiclass_path_and_pipeline():
    X, y, sensitive = _data(n=180)
    target = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    with sklearn.config_context(enable_metadata_routing=True):
        model = FairClassifier(
            optimizer="lbfgs", fairness_penalty=DependencePenalty()
        ).set_fit_request(sensitive_features=True)
        path = fairness_path(
            make_pipeline(StandardScaler(), model),
            X,
            target,
            sensitive_features=sensitive["group"],
            strengths=[0.0, 1.0],
            cv=2,
            param_name="fairclassifier__fairness_penalty__strength",
        )
    assert "demographic_parity_difference" not in path.fairness
    assert path.predictions.shape == (2, len(y), 3)
    assert np.all(np.isfinite(path.fairness["js_divergence"]))


def test_poisson_path_slices_exposure():
    rng = np.random.default_rng(1)
    X, _, sensitive = _data(n=200)
    exposure = rng.uniform(0.5, 2.0, size=200)
    counts = rng.poisson(exposure * np.exp(0.3 * X[:, 0]))
    cv = KFold(n_splits=2)
    path = fairness_path(
        FairRegressor("poisson", optimizer="lbfgs"),
        X,
        counts,
        sensitive_features=sensitive,
        strengths=[0.0],
        cv=cv,
        params={"exposure": exposure},
    )
    assert path.loss_name == "mean_poisson_deviance"
    train, test = next(cv.split(X))
    model = FairRegressor("poisson", optimizer="lbfgs").fit(
        X[train], counts[train], exposure=exposure[train]
    )
    expected = mean_poisson_deviance(
        counts[test] / exposure[test],
        model.predict(X[test]),
        sample_weight=exposure[test],
    )
    assert path.loss[0, 0] == pytest.approx(expected)


def test_knee_of_an_l_shaped_curve():
    unfairness = np.array([1.0, 0.5, 0.2, 0.1, 0.05])
    loss = np.array([1.0, 1.01, 1.03, 1.5, 3.0])
    assert _knee(unfairness, loss) == 2
    assert _knee(np.ones(4), loss[:4]) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(strengths=[-1.0]), "non-negative"),
        (dict(strengths=[]), "non-empty"),
        (dict(strengths=[0.0], param_name="lam"), "no parameter 'lam'"),
        (dict(strengths=[0.0], knee_metric="accuracy"), "knee_metric"),
        (dict(strengths=[0.0], cv=ShuffleSplit(2, random_state=0)), "partition"),
    ],
)
def test_bad_input(kwargs, message):
    X, y, sensitive = _data(n=40)
    with pytest.raises(ValueError, match=message):
        fairness_path(FairRegressor(), X, y, sensitive_features=sensitive, **kwargs)
