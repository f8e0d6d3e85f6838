"""PrestoClassifier: limits, exactness (KKT), crossing curves, path and CV."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from statsmodels.miscmodels.ordinal_model import OrderedModel

from skalign.exceptions import ConvergenceWarning
from skalign.ordinal import (
    PrestoClassifier,
    PrestoClassifierCV,
    ProportionalOddsClassifier,
    presto_path,
)

from .conftest import make_ordinal


def _exact(**params):
    return PrestoClassifier(tol=1e-10, max_iter=20_000, **params)


def _nonparallel_nll(X, y, thresholds, coef, weight=None):
    """Mean negative log-likelihood of cumulative logits, plain numpy."""
    eta = thresholds[None, :] - X @ coef.T
    cdf = np.hstack([np.zeros((len(y), 1)), expit(eta), np.ones((len(y), 1))])
    proba = cdf[np.arange(len(y)), y + 1] - cdf[np.arange(len(y)), y]
    return -np.average(np.log(proba), weights=weight)


def test_large_penalty_on_differences_is_proportional_odds(ordinal_data):
    X, y = ordinal_data
    model = _exact(alpha=1e6, alpha_first=0.0).fit(X, y)
    result = OrderedModel(y, X, distr="logit").fit(
        method="bfgs", disp=False, gtol=1e-9, maxiter=2000
    )
    cuts = result.model.transform_threshold_params(result.params)[1:-1]
    assert model.converged_
    assert_array_equal(np.diff(model.coef_, axis=0), 0.0)
    for row in model.coef_:
        assert_allclose(row, result.params[:3], atol=1e-5)
    assert_allclose(model.thresholds_, cuts, atol=1e-5)
    po = ProportionalOddsClassifier(dtype="float64", tol=1e-10, max_epochs=500)
    assert_allclose(model.predict_proba(X), po.fit(X, y).predict_proba(X), atol=1e-6)


def test_zero_penalty_is_separate_cumulative_logits_in_a_saturated_design():
    # With one categorical feature, the unpenalised non-parallel model fits
    # every group's cumulative frequencies, exactly as K - 1 separate binary
    # logistic regressions of 1{y <= k} do.
    rng = np.random.default_rng(0)
    level = rng.integers(0, 4, size=2000)
    X = np.eye(4)[level][:, 1:]
    latent = np.array([0.0, 1.0, -1.0, 0.5])[level] + rng.logistic(size=2000)
    y = np.digitize(latent, [-1.5, 0.0, 1.0])
    model = _exact(alpha=0.0).fit(X, y)
    for k in range(3):
        binary = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000)
        binary.fit(X, (y <= k).astype(int))
        # sklearn: P(y <= k) = σ(b + w·x); here σ(θ_k - β_k·x).
        assert_allclose(model.coef_[k], -binary.coef_.ravel(), atol=1e-5)
        assert_allclose(model.thresholds_[k], binary.intercept_[0], atol=1e-5)


def test_zero_penalty_is_the_nonparallel_maximum_likelihood(ordinal_data):
    X, y = ordinal_data
    model = _exact(alpha=0.0).fit(X, y)
    n_thresholds, n_features = model.coef_.shape

    def objective(params):
        return _nonparallel_nll(
            X, y, params[:n_thresholds], params[n_thresholds:].reshape(3, n_features)
        )

    start = np.concatenate([[-1.0, 0.0, 1.0], np.zeros(n_thresholds * n_features)])
    reference = minimize(objective, start, method="BFGS", options={"gtol": 1e-10})
    assert_allclose(model.thresholds_, reference.x[:n_thresholds], atol=1e-5)
    assert_allclose(model.coef_.ravel(), reference.x[n_thresholds:], atol=1e-5)
    # Not the proportional odds fit: the slopes differ between thresholds.
    assert np.abs(np.diff(model.coef_, axis=0)).max() > 1e-2


@pytest.mark.parametrize("alpha, alpha_first", [(0.02, None), (0.05, 0.0)])
def test_solution_satisfies_the_lasso_optimality_conditions(
    ordinal_data, alpha, alpha_first
):
    X, y = ordinal_data
    model = _exact(alpha=alpha, alpha_first=alpha_first).fit(X, y)
    theta = torch.tensor(model.thresholds_, requires_grad=True)
    beta = torch.tensor(model.coef_)
    delta = torch.cat([beta[:1], torch.diff(beta, dim=0)]).requires_grad_(True)
    eta = theta - torch.tensor(X) @ torch.cumsum(delta, 0).T
    cdf = torch.cat(
        [torch.zeros(len(y), 1), torch.sigmoid(eta), torch.ones(len(y), 1)], 1
    )
    rows = torch.arange(len(y))
    codes = torch.tensor(y)
    nll = -torch.log(cdf[rows, codes + 1] - cdf[rows, codes]).mean()
    grad_theta, grad_delta = torch.autograd.grad(nll, (theta, delta))
    strength = np.full(3, alpha)
    strength[0] = alpha if alpha_first is None else alpha_first
    grad_delta, delta = grad_delta.numpy(), delta.detach().numpy()
    assert_allclose(grad_theta.numpy(), 0.0, atol=1e-8)
    zero = delta == 0
    # Subgradient conditions of Σ_k λ_k ‖δ_k‖₁.
    assert np.all(np.abs(grad_delta[zero]) <= (strength[:, None] * zero)[zero] + 1e-8)
    assert_allclose(
        grad_delta[~zero],
        -(strength[:, None] * np.sign(delta))[~zero],
        atol=1e-8,
    )
    assert zero.sum() > 0 and (~zero).sum() > 0


def test_penalty_fuses_the_weights_of_a_proportional_odds_truth():
    X, y = make_ordinal(n=3000, coef=(1.0, -0.5, 0.0, 0.0), seed=1)
    model = PrestoClassifier(alpha=0.01).fit(X, y)
    differences = np.diff(model.coef_, axis=0)
    assert np.count_nonzero(differences) <= 2
    assert np.abs(model.coef_[:, 2:]).max() < 0.05


def test_presto_borrows_strength_for_a_rare_class():
    # The rare top class differs from proportional odds in one of ten
    # features; PRESTO estimates its probability better than proportional
    # odds (biased), separate cumulative logits and a one-vs-rest logistic
    # regression (both noisy).
    rng = np.random.default_rng(0)
    n, n_test, n_features = 1000, 20_000, 10
    X = rng.normal(size=(n + n_test, n_features))
    coef = np.zeros(n_features)
    coef[:3] = [1.0, -1.0, 0.5]
    shifted = coef.copy()
    shifted[3] = 1.5
    u = rng.logistic(size=n + n_test)
    y = np.digitize(X @ coef + u, [-1.0, 0.5, 2.0])
    y = np.where((y == 3) & (X @ shifted + u > 4.5), 4, y)
    train, test = slice(0, n), slice(n, None)
    truth = (y[test] == 4).astype(float)
    rare = {
        "presto": PrestoClassifierCV(cv=3, alphas=8),
        "separate": PrestoClassifier(alpha=0.0, max_iter=5000),
        "proportional odds": ProportionalOddsClassifier(dtype="float64"),
    }
    brier = {
        name: np.mean(
            (model.fit(X[train], y[train]).predict_proba(X[test])[:, -1] - truth) ** 2
        )
        for name, model in rare.items()
    }
    one_vs_rest = LogisticRegression().fit(X[train], y[train] == 4)
    brier["one-vs-rest"] = np.mean(
        (one_vs_rest.predict_proba(X[test])[:, 1] - truth) ** 2
    )
    assert np.mean(y == 4) < 0.06
    assert brier["presto"] == min(brier.values()), brier


def test_crossing_curves_are_rearranged():
    model = PrestoClassifier(alpha=0.0)
    model.classes_ = np.array([0, 1, 2])
    model.thresholds_ = np.array([0.0, 1.0])
    model.coef_ = np.array([[1.0], [-1.0]])
    model.n_features_in_ = 1
    X = np.array([[-2.0], [0.0], [0.5], [2.0]])
    eta = model.thresholds_ - X @ model.coef_.T
    cdf = np.sort(expit(eta), axis=1)
    expected = np.diff(np.hstack([np.zeros((4, 1)), cdf, np.ones((4, 1))]), axis=1)
    proba = model.predict_proba(X)
    assert_allclose(proba, expected, atol=1e-12)
    assert np.all(proba >= 0)
    assert_allclose(proba.sum(axis=1), 1.0)
    # At x = -2 the curves cross (eta = [2, -1]): plain differences would
    # give the middle class a negative probability.
    assert np.diff(expit(eta[0])) < 0
    assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])


def test_training_keeps_every_observed_class_possible():
    # Separate weights with little data can cross; the fit never gives a
    # training row's own class zero probability.
    X, y = make_ordinal(n=60, coef=(2.0, -1.0), cuts=(-1.0, 0.0, 1.0), seed=4)
    model = PrestoClassifier(alpha=0.0, max_iter=3000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    eta = model.thresholds_ - X @ model.coef_.T
    padded = np.hstack([np.full((60, 1), -np.inf), eta, np.full((60, 1), np.inf)])
    rows = np.arange(60)
    assert np.all(padded[rows, y + 1] > padded[rows, y])
    assert np.isfinite(model.score(X, y)) and model.predict_proba(X).min() >= 0


def test_sparse_input_equals_dense(ordinal_data):
    X, y = ordinal_data
    X = np.where(np.abs(X) > 0.8, X, 0.0)
    dense = _exact(alpha=0.01).fit(X, y)
    sparse = _exact(alpha=0.01).fit(sp.csr_matrix(X), y)
    assert_allclose(sparse.coef_, dense.coef_, atol=1e-8)
    assert_allclose(sparse.predict_proba(sp.csc_matrix(X)), dense.predict_proba(X))


def test_integer_sample_weight_equals_repeating_rows(ordinal_data):
    X, y = ordinal_data
    weight = np.random.default_rng(0).integers(0, 4, size=len(y))
    weighted = _exact(alpha=0.01).fit(X, y, sample_weight=weight)
    repeated = _exact(alpha=0.01).fit(np.repeat(X, weight, 0), np.repeat(y, weight))
    assert_allclose(weighted.coef_, repeated.coef_, atol=1e-7)
    assert_allclose(weighted.thresholds_, repeated.thresholds_, atol=1e-7)


def test_float32_is_close_to_float64(ordinal_data):
    X, y = ordinal_data
    exact = _exact(alpha=0.01).fit(X, y)
    single = PrestoClassifier(alpha=0.01, dtype="float32", tol=1e-4).fit(X, y)
    assert_allclose(single.coef_, exact.coef_, atol=1e-3)


def test_path_starts_empty_and_matches_single_fits(ordinal_data):
    X, y = ordinal_data
    alphas, coefs, thresholds = presto_path(X, y, alphas=6, tol=1e-10)
    assert np.all(np.diff(alphas) < 0)
    assert_array_equal(coefs[0], 0.0)
    assert np.count_nonzero(coefs[1]) > 0
    norms = np.abs(coefs).sum(axis=(1, 2))
    assert np.all(np.diff(norms) >= -1e-8)
    single = _exact(alpha=alphas[3]).fit(X, y)
    assert_allclose(coefs[3], single.coef_, atol=1e-6)
    assert_allclose(thresholds[3], single.thresholds_, atol=1e-6)


def test_path_with_given_alphas_and_fixed_first_penalty(ordinal_data):
    X, y = ordinal_data
    alphas, coefs, _ = presto_path(X, y, alphas=[0.001, 1.0], alpha_first=0.0)
    assert_array_equal(alphas, [1.0, 0.001])
    assert_array_equal(np.diff(coefs[0], axis=0), 0.0)
    assert np.abs(coefs[0][0]).min() > 0.1
    _, grid_coefs, _ = presto_path(X, y, alphas=4, alpha_first=0.0, tol=1e-10)
    assert np.abs(np.diff(grid_coefs[0], axis=0)).max() < 1e-8
    assert np.count_nonzero(np.diff(grid_coefs[1], axis=0)) > 0


def test_cross_validation_chooses_among_the_candidates(ordinal_data):
    X, y = ordinal_data
    model = PrestoClassifierCV(alphas=5, cv=3).fit(X, y)
    assert model.scores_.shape == (3, 5)
    assert model.alpha_ == model.alphas_[np.argmax(model.scores_.mean(axis=0))]
    refit = PrestoClassifier(alpha=model.alpha_).fit(X, y)
    assert_allclose(model.coef_, refit.coef_, atol=1e-5)
    assert model.score(X, y) == pytest.approx(
        refit.set_params(scoring="neg_log_loss").score(X, y)
    )
    accuracy = PrestoClassifierCV(
        alphas=[0.1, 0.01],
        cv=3,
        scoring=lambda est, X, y: -np.mean(est.predict(X) != y),
    ).fit(X, y)
    assert accuracy.alpha_ in (0.1, 0.01)


def test_cross_validation_stops_where_a_fit_does_not_converge():
    X, y = make_ordinal(n=60, coef=(4.0, -4.0), seed=2)
    model = PrestoClassifierCV(alphas=[1.0, 1e-6, 1e-7], cv=2, max_iter=100)
    with pytest.warns(ConvergenceWarning, match="alpha=1e-06, where the search"):
        model.fit(X, y)
    assert np.all(np.isfinite(model.scores_[:, :2]))
    assert np.all(np.isnan(model.scores_[:, 2]))


def test_cross_validation_stops_when_the_score_stops_improving():
    # Random labels: weaker penalties only overfit.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = rng.integers(0, 3, size=200)
    model = PrestoClassifierCV(alphas=10, cv=3, n_alphas_no_change=2).fit(X, y)
    searched = ~np.isnan(model.scores_[0])
    assert searched.sum() < 10
    assert model.alpha_ in model.alphas_[searched]
    full = PrestoClassifierCV(alphas=10, cv=3, n_alphas_no_change=None).fit(X, y)
    assert np.all(np.isfinite(full.scores_))
    assert_allclose(full.scores_[:, searched], model.scores_[:, searched])


def test_warm_start_continues_from_the_previous_solution(ordinal_data):
    X, y = ordinal_data
    model = PrestoClassifier(alpha=0.02, warm_start=True, tol=1e-8).fit(X, y)
    first = model.n_iter_
    model.set_params(alpha=0.019).fit(X, y)
    # n_iter_ counts the iterations of every call the warm start continues.
    assert model.n_iter_ == len(model.history_)
    assert model.n_iter_ - first < first
    cold = PrestoClassifier(alpha=0.019, tol=1e-8).fit(X, y)
    assert_allclose(model.coef_, cold.coef_, atol=1e-6)


def test_not_converging_warns(ordinal_data):
    X, y = ordinal_data
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        PrestoClassifier(max_iter=2, tol=1e-12).fit(X, y)


def test_fista_is_a_solver_of_the_engine(ordinal_data):
    """FISTA is PRESTO's own solver inside the engine, not a bypass: the fit
    keeps a net, a history of the penalised objective, ``objective_`` at the
    returned weights, pickles, and a failed refit changes nothing."""
    X, y = ordinal_data
    model = PrestoClassifier(alpha=0.02, alpha_first=0.01).fit(X, y)
    assert model.converged_ and model.n_iter_ == len(model.history_)
    assert model.history_[-1]["train_loss"] == model.objective_
    proba = model.predict_proba(X)
    codes = np.searchsorted(model.classes_, y)
    nll = -np.log(proba[np.arange(len(y)), codes]).mean()
    differences = np.diff(model.coef_, axis=0)
    penalty = 0.01 * np.abs(model.coef_[0]).sum() + 0.02 * np.abs(differences).sum()
    assert_allclose(model.objective_, nll + penalty, rtol=1e-10)
    module = model.net_.module_
    assert_allclose(module.thresholds.detach().numpy(), model.thresholds_)
    copy = pickle.loads(pickle.dumps(model))
    assert_allclose(copy.predict_proba(X), proba)
    with pytest.raises(ValueError):
        model.fit(X, np.full(len(y), np.nan))
    assert_allclose(model.predict_proba(X), proba)


def test_warm_start_needs_the_same_features_and_classes(ordinal_data):
    X, y = ordinal_data
    model = PrestoClassifier(alpha=0.02, warm_start=True).fit(X, y)
    coef = model.coef_.copy()
    with pytest.raises(ValueError, match="features"):
        model.fit(X[:, :-1], y)
    with pytest.raises(ValueError, match="classes of the previous fit"):
        model.fit(X, np.where(y == y.max(), y.max() + 1, y))
    assert_array_equal(model.coef_, coef)
