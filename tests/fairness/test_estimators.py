"""FairRegressor and FairClassifier: references, the penalty's effect, API."""

import pickle

import numpy as np
import pandas as pd
import pytest
import sklearn
import torch
from fairlearn.metrics import MetricFrame, demographic_parity_difference, selection_rate
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import (
    LogisticRegression,
    PoissonRegressor,
    QuantileRegressor,
    Ridge,
)
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skalign._solver import FullBatchLBFGS
from skalign.exceptions import ConvergenceWarning
from skalign.fairness import (
    FairClassifier,
    FairRegressor,
    dependence_penalty,
    encode_sensitive_features,
)
from skalign.metrics import group_js_divergence
from skalign.nn import LinearScorer, MLPScorer

EXACT = dict(dtype="float64", tol=1e-10, max_epochs=300)

# The parameters before DependencePenalty: deprecated, and tested here until
# they are removed (tests/fairness/test_penalty.py tests the object).
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def _planted(n=400, seed=0):
    """A target that depends on a protected group directly and via a proxy."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, size=n)
    age = rng.uniform(20, 60, size=n)
    X = np.column_stack(
        [
            rng.normal(size=n),
            group + rng.normal(size=n),
            (age - 40) / 10 + rng.normal(size=n),
        ]
    )
    y = X[:, 0] + 1.5 * group + 0.05 * (age - 40) + 0.5 * rng.normal(size=n)
    sensitive = pd.DataFrame({"group": np.where(group == 1, "b", "a"), "age": age})
    return X, y, sensitive


def _coef(model):
    return model.scorer_.linear.weight.detach().numpy().ravel()


# ------------------------------------------------------------ references
@pytest.mark.parametrize("alpha", [0.0, 0.1])
def test_squared_error_is_ridge(alpha):
    X, y, _ = _planted()
    model = FairRegressor(alpha=alpha, **EXACT).fit(X, y)
    reference = Ridge(alpha=alpha * len(y)).fit(X, y)
    assert_allclose(_coef(model), reference.coef_, rtol=1e-5, atol=1e-7)
    assert_allclose(model.predict(X), reference.predict(X), rtol=1e-5, atol=1e-6)


def test_poisson_is_poisson_regressor_and_exposure_is_an_offset():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    exposure = rng.uniform(0.2, 3.0, size=300)
    counts = rng.poisson(exposure * np.exp(X @ [0.3, -0.2, 0.1]))
    model = FairRegressor("poisson", alpha=0.01, **EXACT).fit(
        X, counts, exposure=exposure
    )
    reference = PoissonRegressor(alpha=0.01, tol=1e-10, max_iter=1000).fit(
        X, counts / exposure, sample_weight=exposure
    )
    assert_allclose(_coef(model), reference.coef_, rtol=1e-5, atol=1e-7)
    assert_allclose(model.predict(X), reference.predict(X), rtol=1e-5)
    # The offset form of the same likelihood: log E[count] = log(exposure) + Xb.
    mu = exposure * model.predict(X)
    score = X.T @ (counts - mu) / exposure.sum() - 0.01 * _coef(model)
    assert_allclose(score, 0.0, atol=1e-6)


def test_absolute_error_reaches_the_median_regression_optimum():
    X, y, _ = _planted(n=200)
    model = FairRegressor(
        "absolute_error",
        optimizer="adam",
        lr=0.05,
        batch_size=None,
        max_epochs=1500,
        n_iter_no_change=100,
        tol=1e-7,
        dtype="float64",
        random_state=0,
    ).fit(X, y)
    reference = QuantileRegressor(quantile=0.5, alpha=0.0).fit(X, y)
    ours = np.mean(np.abs(y - model.predict(X)))
    best = np.mean(np.abs(y - reference.predict(X)))
    assert ours <= best + 1e-3


@pytest.mark.parametrize("n_classes", [2, 3])
def test_log_loss_is_logistic_regression(n_classes):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 3))
    logits = X @ rng.normal(size=(3, n_classes))
    y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    alpha = 0.01
    model = FairClassifier(alpha=alpha, **EXACT).fit(X, y)
    reference = LogisticRegression(C=1 / (alpha * len(y)), tol=1e-10, max_iter=1000)
    reference.fit(X, y)
    assert_allclose(model.predict_proba(X), reference.predict_proba(X), atol=1e-5)
    assert_array_equal(model.predict(X), reference.predict(X))
    assert_allclose(
        model.predict_log_proba(X), np.log(model.predict_proba(X)), atol=1e-10
    )


def test_classifier_string_labels_and_decision_function():
    X, y, sensitive = _planted()
    labels = np.where(y > np.median(y), "high", "low")
    clf = FairClassifier(fairness_strength=1.0, optimizer="lbfgs", random_state=0)
    clf.fit(X, labels, sensitive_features=sensitive)
    assert_array_equal(clf.classes_, ["high", "low"])
    assert set(clf.predict(X)) <= {"high", "low"}
    assert clf.decision_function(X).shape == (len(y),)
    assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)


# ----------------------------------------------- zero strength is unpenalised
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "settings",
    [
        dict(),
        dict(scorer=MLPScorer(hidden_units=(8,)), batch_size=64, max_epochs=5),
    ],
    ids=["lbfgs", "mlp-adam-minibatch"],
)
@pytest.mark.parametrize("Estimator", [FairRegressor, FairClassifier])
def test_zero_strength_reproduces_the_unpenalised_model(Estimator, settings):
    X, y, sensitive = _planted()
    if Estimator is FairClassifier:
        y = (y > np.median(y)).astype(int)
    plain = Estimator(random_state=3, **settings).fit(X, y)
    zero = Estimator(fairness_strength=0.0, penalty="jdcov", random_state=3, **settings)
    zero.fit(X, y, sensitive_features=sensitive)
    method = "predict_proba" if Estimator is FairClassifier else "predict"
    assert_array_equal(getattr(zero, method)(X), getattr(plain, method)(X))
    assert zero.sensitive_attributes_ == ("group", "age")
    assert plain.sensitive_attributes_ == ()


# --------------------------------------------------- the penalty does its job
def _whole_data_penalty(pred, sensitive, kind="dcov"):
    encoded = encode_sensitive_features(sensitive)
    return float(
        dependence_penalty(
            torch.tensor(pred),
            torch.tensor(encoded.values),
            kind=kind,
            sizes=encoded.sizes,
        )
    )


def test_raising_strength_lowers_penalty_and_js_divergence_on_average():
    strengths = [0.0, 0.3, 1.0, 3.0, 10.0]
    penalties, divergences = [], []
    for seed in range(3):
        X, y, sensitive = _planted(n=300, seed=seed)
        row_p, row_js = [], []
        for lam in strengths:
            model = FairRegressor(
                fairness_strength=lam,
                optimizer="lbfgs",
                dtype="float64",
                random_state=seed,
            ).fit(X, y, sensitive_features=sensitive)
            pred = model.predict(X)
            row_p.append(_whole_data_penalty(pred, sensitive))
            row_js.append(group_js_divergence(pred, sensitive))
        penalties.append(row_p)
        divergences.append(row_js)
    mean_p, mean_js = np.mean(penalties, axis=0), np.mean(divergences, axis=0)
    assert np.all(np.diff(mean_p) < 0)
    assert np.all(np.diff(mean_js) < 0)
    assert mean_js[-1] < 0.6 * mean_js[0]


@pytest.mark.parametrize("penalty", ["dcov", "ccdcov", "jdcov"])
def test_every_penalty_removes_a_continuous_attribute(penalty):
    X, y, sensitive = _planted(n=300)
    plain = FairRegressor().fit(X, y).predict(X)
    fair = FairRegressor(
        penalty=penalty, fairness_strength=10.0, optimizer="lbfgs", random_state=0
    ).fit(X, y, sensitive_features=sensitive[["age"]])
    corr = lambda p: abs(np.corrcoef(p, sensitive["age"])[0, 1])  # noqa: E731
    assert corr(fair.predict(X)) < corr(plain) / 3


def test_joint_penalties_catch_intersectional_dependence():
    # The feature is the XOR of two attributes: independent of each of them
    # (so the sum of marginal dCov² barely sees it) but a function of both.
    rng = np.random.default_rng(4)
    n = 300
    s = rng.integers(0, 2, size=(n, 2))
    xor = (s[:, 0] ^ s[:, 1]) + 0.3 * rng.normal(size=n)
    X = np.column_stack([xor, rng.normal(size=n)])
    y = X[:, 0] + X[:, 1] + 0.3 * rng.normal(size=n)
    weight = {}
    for penalty in ("dcov", "ccdcov", "jdcov"):
        model = FairRegressor(
            penalty=penalty, fairness_strength=10.0, optimizer="lbfgs", random_state=0
        ).fit(X, y, sensitive_features=s.astype(str))
        weight[penalty] = abs(_coef(model)[0])
    assert weight["ccdcov"] < weight["dcov"] / 2
    assert weight["jdcov"] < weight["dcov"] / 2


def test_multiclass_penalty_on_probabilities():
    X, y, sensitive = _planted()
    y3 = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    gap = []
    for lam in (0.0, 20.0):
        clf = FairClassifier(
            fairness_strength=lam, optimizer="lbfgs", random_state=0
        ).fit(X, y3, sensitive_features=sensitive[["group"]])
        proba = clf.predict_proba(X)
        groups = sensitive["group"].to_numpy()
        gap.append(
            np.abs(proba[groups == "a"].mean(0) - proba[groups == "b"].mean(0)).sum()
        )
    assert gap[1] < gap[0] / 2


def test_fairlearn_demographic_parity_on_our_predictions():
    # The numbers quoted in the user guide: about 0.12 without the penalty
    # and below 0.05 with fairness_strength=20.
    X, y, sensitive = _planted(n=1000, seed=5)
    target = (y > np.median(y)).astype(int)
    group = sensitive["group"]
    values = {}
    for lam in (0.0, 20.0):
        clf = FairClassifier(fairness_strength=lam, optimizer="lbfgs", random_state=0)
        pred = clf.fit(X, target, sensitive_features=group).predict(X)
        dpd = demographic_parity_difference(target, pred, sensitive_features=group)
        rates = MetricFrame(
            metrics=selection_rate, y_true=target, y_pred=pred, sensitive_features=group
        ).by_group
        by_hand = abs(pred[group == "a"].mean() - pred[group == "b"].mean())
        assert dpd == pytest.approx(by_hand, abs=1e-12)
        assert dpd == pytest.approx(rates.max() - rates.min(), abs=1e-12)
        values[lam] = dpd
    assert values[0.0] == pytest.approx(0.12, abs=0.02)
    assert values[20.0] < 0.05


def test_u_statistic_and_mini_batches():
    X, y, sensitive = _planted(n=301)
    model = FairRegressor(
        fairness_strength=3.0,
        statistic="u",
        batch_size=100,
        max_epochs=20,
        lr=0.05,
        random_state=0,
    )
    with pytest.warns(sklearn.exceptions.ConvergenceWarning):
        model.fit(X, y, sensitive_features=sensitive)  # last batch has one row
    assert np.all(np.isfinite(model.predict(X)))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_penalised_loss_honours_sample_weight_as_repetition():
    X, y, sensitive = _planted(n=120)
    counts = np.random.default_rng(6).integers(0, 3, size=120)
    rows = np.repeat(np.arange(120), counts)
    settings = dict(fairness_strength=2.0, penalty="jdcov", dtype="float64", tol=1e-7)
    model = FairRegressor(**settings)
    model.fit(X, y, sensitive_features=sensitive, sample_weight=counts)
    loss = model._formulation(**model._fitted_constants).losses[0]
    encoded = encode_sensitive_features(sensitive).values
    scores = torch.tensor(model.predict(X))

    def objective(index, weight):
        return float(
            loss(
                scores[index, None],
                target=torch.tensor(y[index, None]),
                weight=torch.tensor(weight[:, None]),
                mask=torch.ones(len(index), 1, dtype=torch.bool),
                attributes=torch.tensor(encoded[index, None]),
                attribute_weight=torch.tensor(weight[:, None]),
            )
        )

    weighted = objective(np.arange(120), counts.astype(float))
    repeated = objective(rows, np.ones(len(rows)))
    assert weighted == pytest.approx(repeated, abs=1e-12)
    # And the fit itself, up to where the non-smooth objective lets L-BFGS stop.
    refit = FairRegressor(**settings)
    refit.fit(X[rows], y[rows], sensitive_features=sensitive.iloc[rows])
    assert_allclose(refit.predict(X), model.predict(X), atol=5e-3)


def test_classifier_weights_equal_repetition():
    X, y, _ = _planted(n=120)
    target = (y + np.random.default_rng(7).normal(size=120) > 0.5).astype(int)
    counts = np.random.default_rng(7).integers(0, 3, size=120)
    rows = np.repeat(np.arange(120), counts)
    weighted = FairClassifier(**EXACT).fit(X, target, sample_weight=counts)
    repeated = FairClassifier(**EXACT).fit(X[rows], target[rows])
    assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), atol=1e-8)


# ------------------------------------------------------- scikit-learn plumbing
def test_pipeline_and_grid_search_with_metadata_routing():
    X, y, sensitive = _planted(n=200)
    groups = np.arange(200) % 4
    with sklearn.config_context(enable_metadata_routing=True):
        model = FairRegressor(optimizer="lbfgs", random_state=0).set_fit_request(
            sensitive_features=True
        )
        search = GridSearchCV(
            make_pipeline(StandardScaler(), model),
            {"fairregressor__fairness_strength": [0.0, 1.0]},
            cv=GroupKFold(n_splits=2),
        )
        search.fit(X, y, sensitive_features=sensitive, groups=groups)
    assert search.best_estimator_[-1].sensitive_attributes_ == ("group", "age")
    assert search.predict(X).shape == (200,)


def test_pickle_round_trip():
    X, y, sensitive = _planted(n=100)
    model = FairRegressor(fairness_strength=1.0, penalty="jdcov", max_epochs=3)
    model.set_params(random_state=0, optimizer="adam")
    with pytest.warns(sklearn.exceptions.ConvergenceWarning):
        model.fit(X, y, sensitive_features=sensitive)
    clone = pickle.loads(pickle.dumps(model))
    assert_array_equal(clone.predict(X), model.predict(X))


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("Estimator", [FairRegressor, FairClassifier])
def test_strength_without_sensitive_features_is_an_error(Estimator):
    X, y, _ = _planted(n=50)
    with pytest.raises(ValueError, match="pass sensitive_features"):
        Estimator(fairness_strength=1.0).fit(X, (y > 0).astype(int))


@pytest.mark.parametrize(
    ("sensitive", "message"),
    [
        (pd.Series([np.nan] + ["a", "b"] * 24 + ["a"], name="race"), "'race'.*missing"),
        (np.array(["a", "b"] * 20), "40 rows but X has 50"),
        (np.array(["a"] * 50), "single group"),
        (np.full(50, 3.0), "constant"),
    ],
)
@pytest.mark.parametrize("strength", [0.0, 1.0])
def test_bad_sensitive_features(sensitive, message, strength):
    X, y, _ = _planted(n=50)
    with pytest.raises(ValueError, match=message):
        FairRegressor(fairness_strength=strength).fit(
            X, y, sensitive_features=sensitive
        )


def test_string_sensitive_column_is_one_hot_encoded():
    X, y, _ = _planted(n=100)
    race = np.array(["w", "b", "a", "h"] * 25)
    model = FairRegressor(fairness_strength=1.0, optimizer="lbfgs", random_state=0)
    model.fit(X, y, sensitive_features=race)
    assert model.sensitive_attributes_ == ("sensitive_feature_0",)
    assert model._fitted_constants["penalty"]["sizes"] == (4,)


@pytest.mark.parametrize(
    ("loss", "kwargs", "message"),
    [
        ("poisson", dict(y=-1.0), "non-negative"),
        ("poisson", dict(y=0.0), "positive count"),
        ("poisson", dict(exposure=0.0), "exposure must be positive"),
        ("squared_error", dict(exposure=1.0), "only used with loss='poisson'"),
    ],
)
def test_bad_regression_input(loss, kwargs, message):
    X = np.random.default_rng(0).normal(size=(20, 2))
    y = np.full(20, kwargs.get("y", 1.0))
    exposure = np.full(20, kwargs["exposure"]) if "exposure" in kwargs else None
    with pytest.raises(ValueError, match=message):
        FairRegressor(loss).fit(X, y, exposure=exposure)


def test_single_class_is_an_error():
    with pytest.raises(ValueError, match="at least 2 classes"):
        FairClassifier().fit(np.ones((5, 2)), np.zeros(5))


def test_predict_needs_no_sensitive_features_and_checks_features():
    X, y, sensitive = _planted(n=80)
    model = FairRegressor(fairness_strength=1.0, optimizer="lbfgs")
    model.fit(X, y, sensitive_features=sensitive)
    assert model.predict(X[:5]).shape == (5,)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :2])


def test_linear_scorer_without_intercept():
    X, y, _ = _planted(n=80)
    model = FairRegressor(scorer=LinearScorer(fit_intercept=False), **EXACT).fit(X, y)
    reference = Ridge(alpha=0.0, fit_intercept=False).fit(X, y)
    assert_allclose(_coef(model), reference.coef_, rtol=1e-5)


def _objective(model, X, y, sensitive):
    """The fitted model's penalised training objective (without L2)."""
    encoded = encode_sensitive_features(sensitive).values
    classifier = isinstance(model, FairClassifier)
    scores = model.decision_function(X) if classifier else model.predict(X)
    return float(
        model._formulation(**model._fitted_constants).losses[0](
            torch.tensor(scores)[:, None],
            target=torch.tensor(y, dtype=torch.float64)[:, None],
            weight=torch.ones(len(y), 1, dtype=torch.float64),
            mask=torch.ones(len(y), 1, dtype=torch.bool),
            attributes=torch.tensor(encoded)[:, None],
            attribute_weight=torch.ones(len(y), 1, dtype=torch.float64),
        )
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_lbfgs_does_not_stop_at_the_constant_model():
    # At a zero-initialised scorer the penalty has no gradient; L-BFGS starts
    # from the unpenalised fit instead and reaches Adam's optimum.
    X, y, sensitive = _planted(n=300)
    target = (y > np.median(y)).astype(int)
    settings = dict(fairness_strength=30.0, dtype="float64", random_state=0)
    lbfgs = FairClassifier(optimizer="lbfgs", tol=1e-8, **settings)
    lbfgs.fit(X, target, sensitive_features=sensitive)
    adam = FairClassifier(
        optimizer="adam",
        lr=0.01,
        batch_size=None,
        max_epochs=1500,
        tol=1e-9,
        n_iter_no_change=50,
        **settings,
    ).fit(X, target, sensitive_features=sensitive)
    assert np.ptp(lbfgs.predict_proba(X)[:, 1]) > 0.1
    assert _objective(lbfgs, X, target, sensitive) <= (
        _objective(adam, X, target, sensitive) + 1e-4
    )


def test_auto_optimizer_fits_a_penalised_linear_model_well():
    # Targets far from zero: a few hundred Adam steps from a zero-initialised
    # scorer would not even reach the mean; "auto" must not do that.
    rng = np.random.default_rng(0)
    n = 600
    group = rng.integers(0, 2, size=n)
    X = np.column_stack([rng.normal(size=n) + group, rng.normal(size=n)])
    y = 50.0 + 3.0 * X[:, 0] + X[:, 1] + rng.normal(size=n)
    auto = FairRegressor(fairness_strength=1.0, random_state=0).fit(
        X, y, sensitive_features=group
    )
    assert isinstance(auto.net_.optimizer_, FullBatchLBFGS)
    lbfgs = FairRegressor(fairness_strength=1.0, optimizer="lbfgs", random_state=0)
    lbfgs.fit(X, y, sensitive_features=group)
    assert_allclose(auto.predict(X), lbfgs.predict(X))
    # Above 4096 rows, a penalty with the exact O(n log n) path (one
    # categorical attribute) is still fitted by full-batch L-BFGS ...
    big = np.tile(np.arange(n), 8)
    large = FairRegressor(fairness_strength=1.0, random_state=0)
    large.fit(X[big], y[big], sensitive_features=group[big])
    assert isinstance(large.net_.optimizer_, FullBatchLBFGS)
    # ... while one that needs n x n distance matrices (JdCov of two
    # attributes) is Adam on mini-batches, started from the unpenalised fit:
    # still an accurate model.
    both = np.column_stack([group, rng.normal(size=n)])[big]
    adam = FairRegressor(
        penalty="jdcov", fairness_strength=1.0, random_state=0, max_epochs=3
    )
    with pytest.warns(ConvergenceWarning):
        adam.fit(X[big], y[big], sensitive_features=both)
    assert isinstance(adam.net_.optimizer_, torch.optim.Adam)
    assert adam.score(X, y) > 0.8 * lbfgs.score(X, y)
