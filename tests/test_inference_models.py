"""Likelihood statistics of the calibrators, the fair models at fairness
strength 0 and PRESTO at ``alpha=0``, against statsmodels (``Logit``,
``MNLogit``; to 1e-4) and independent numpy / scipy fits; and the reasons
given where there are none.

No published standard errors exist for these fits (Platt, beta and
temperature calibration, PRESTO): the references are the GLMs they are.
"""

import numpy as np
import pytest
from scipy import optimize, stats
from scipy.special import expit, log_expit, log_softmax, softmax

from skalign.calibration import BetaCalibrator, PlattCalibrator, TemperatureScaling
from skalign.fairness import DependencePenalty, FairClassifier, FairRegressor
from skalign.inference import likelihood_ratio_test
from skalign.ordinal import PrestoClassifier, ProportionalOddsClassifier

sm = pytest.importorskip("statsmodels.api")
pytest.importorskip("pandas")


def _se(model):
    return np.sqrt(np.diag(model.covariance_))


def _assert_matches_logit(model, reference, order=None):
    """Estimates (1e-5), standard errors (1e-4), the cluster-by-row sandwich
    (HC1, 1e-4) and the log-likelihood and information criteria (1e-8) of
    ``model`` equal those of the statsmodels fit ``reference``, its
    parameters taken in ``order``."""
    order = np.arange(len(reference.params)) if order is None else order
    params = np.asarray(reference.params).ravel(order="F")[order]
    bse = np.asarray(reference.bse).ravel(order="F")[order]
    # The fit stops within about tol ** 1.5 = 1e-6 of the optimum (in units
    # of unit curvature, see skalign._solver) at the default tol=1e-4, from
    # a start that random_state=None draws afresh each time: 2.5e-7 apart
    # between two fits of one multiclass problem.
    np.testing.assert_allclose(model.parameters_, params, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_se(model), bse, rtol=1e-4)
    np.testing.assert_allclose(model.log_likelihood_, reference.llf, rtol=1e-8)
    np.testing.assert_allclose(model.aic_, reference.aic, rtol=1e-8)
    np.testing.assert_allclose(model.bic_, reference.bic, rtol=1e-8)
    assert model.n_params_ == len(params) and model.nobs_ == reference.nobs


def _binary_scores(seed, n=800):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n) * 3
    y = (rng.uniform(size=n) < expit(0.4 * z + 0.3)).astype(int)
    return z, y


# -------------------------------------------------------------- calibrators
def test_platt_is_the_logistic_regression_on_the_score():
    z, y = _binary_scores(0)
    model = PlattCalibrator(input="logits", smooth_targets=False).fit(z, y)
    reference = sm.Logit(y, sm.add_constant(z)).fit(disp=0, tol=1e-12)
    # skalign: a (slope), c (intercept); statsmodels: const, slope.
    _assert_matches_logit(model, reference, order=[1, 0])
    assert list(model.summary().index) == ["a", "c"]
    np.testing.assert_allclose(model.parameters_, [model.coef_[0], model.intercept_[0]])
    # The sandwich clusters by row, with statsmodels' small-sample factor.
    robust = sm.Logit(y, sm.add_constant(z)).fit(
        disp=0, tol=1e-12, cov_type="cluster", cov_kwds={"groups": np.arange(z.size)}
    )
    np.testing.assert_allclose(
        np.sqrt(np.diag(model.robust_covariance_)), robust.bse[[1, 0]], rtol=1e-4
    )


def test_platt_without_a_likelihood_says_why():
    z, y = _binary_scores(1)
    smoothed = PlattCalibrator(input="logits").fit(z, y)
    assert not hasattr(smoothed, "log_likelihood_")
    with pytest.raises(ValueError, match="smooth_targets=False"):
        smoothed.summary()
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(300, 3))
    labels = rng.integers(0, 3, 300)
    multiclass = PlattCalibrator(smooth_targets=False).fit(logits, labels)
    with pytest.raises(ValueError, match="one-vs-rest"):
        multiclass.confidence_intervals()


def _beta_data(seed, a, b, c, n=3000):
    rng = np.random.default_rng(seed)
    s = rng.uniform(0.01, 0.99, size=n)
    y = rng.uniform(size=n) < expit(a * np.log(s) - b * np.log1p(-s) + c)
    return s, y.astype(int)


def test_beta_calibration_is_a_logistic_regression_on_log_scores():
    s, y = _beta_data(2, a=1.3, b=0.8, c=-0.4)
    model = BetaCalibrator().fit(s, y)
    design = sm.add_constant(np.column_stack([np.log(s), -np.log1p(-s)]))
    reference = sm.Logit(y, design).fit(disp=0, tol=1e-12)
    _assert_matches_logit(model, reference, order=[1, 2, 0])
    assert list(model.parameter_names_) == ["a", "b", "c"]
    tied = BetaCalibrator(parameters="am").fit(s, y)
    design = sm.add_constant(np.log(s) - np.log1p(-s))
    _assert_matches_logit(tied, sm.Logit(y, design).fit(disp=0, tol=1e-12), [1, 0])
    assert list(tied.parameter_names_) == ["a", "c"]


def test_beta_coefficient_held_at_zero_is_no_parameter():
    """With a < 0 the map is refitted with a = 0: a is left out, and the
    statistics are those of the logistic regression on -ln(1 - s) alone."""
    s, y = _beta_data(3, a=-0.5, b=1.5, c=0.0)
    model = BetaCalibrator().fit(s, y)
    assert model.coef_[0, 0] == 0.0
    assert list(model.parameter_names_) == ["b", "c"] and model.n_params_ == 2
    design = sm.add_constant(-np.log1p(-s))
    _assert_matches_logit(model, sm.Logit(y, design).fit(disp=0, tol=1e-12), [1, 0])


def test_beta_bootstrap_keeps_the_resamples_that_hold_a_at_zero():
    """Near the boundary, some refits hold a at zero: they count as a = 0
    (the constrained estimator's value), not as missing."""
    s, y = _beta_data(5, a=0.1, b=1.5, c=0.0, n=300)
    model = BetaCalibrator().fit(s, y)
    assert model.parameters_[0] > 0
    draws = model.bootstrap_parameters(s, y, n_resamples=100, random_state=0)
    assert list(draws.columns) == ["a", "b", "c"]
    assert 0 < (draws["a"] == 0).sum() < 50 and (draws["a"] >= 0).all()


def test_multiclass_beta_has_no_statistics():
    rng = np.random.default_rng(4)
    proba = softmax(rng.normal(size=(300, 3)), axis=1)
    model = BetaCalibrator().fit(proba, rng.integers(0, 3, 300))
    with pytest.raises(ValueError, match="one-vs-rest"):
        model.summary()


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_binary_temperature_is_a_logit_without_constant(solver):
    z, y = _binary_scores(5)
    model = TemperatureScaling(solver=solver).fit(z, y)
    reference = sm.Logit(y, z[:, None]).fit(disp=0, tol=1e-12)
    _assert_matches_logit(model, reference)
    assert list(model.parameter_names_) == ["inverse_temperature"]
    np.testing.assert_allclose(model.parameters_[0], 1 / model.temperature_)


def _softmax_temperature(z, y):
    """The maximum-likelihood inverse temperature of a softmax, in numpy:
    the root of the score Σ (E_p z - z_y), increasing in β; its standard
    error from the information Σ Var_p z."""
    rows = np.arange(len(y))

    def moments(beta):
        p = softmax(beta * z, axis=1)
        mean = (p * z).sum(1)
        return mean, (p * z**2).sum(1) - mean**2

    beta = optimize.brentq(
        lambda b: (moments(b)[0] - z[rows, y]).sum(), 1e-3, 1e3, xtol=1e-15
    )
    information = moments(beta)[1].sum()
    log_likelihood = log_softmax(beta * z, axis=1)[rows, y].sum()
    return beta, 1 / np.sqrt(information), log_likelihood


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_multiclass_temperature_matches_a_numpy_newton(solver):
    rng = np.random.default_rng(6)
    z = rng.normal(size=(1500, 4)) * 3
    y = (rng.uniform(size=(1500, 1)) > softmax(z / 2.5, axis=1).cumsum(1)).sum(1)
    model = TemperatureScaling(solver=solver).fit(z, y)
    beta, se, log_likelihood = _softmax_temperature(z, y)
    np.testing.assert_allclose(model.parameters_, [beta], rtol=1e-5)
    np.testing.assert_allclose(_se(model), [se], rtol=1e-4)
    np.testing.assert_allclose(model.log_likelihood_, log_likelihood, rtol=1e-8)
    assert model.n_params_ == 1


def test_profile_intervals_of_rescaled_calibration_parameters():
    """The slope a (fitted on standardised scores) and the inverse
    temperature (fitted as a log-temperature) are profiled through the
    parameter they are functions of: at the ends, the profile deviance
    (computed here with scipy) is the chi-squared quantile."""
    z, y = _binary_scores(7, n=300)
    quantile = stats.chi2.ppf(0.95, 1)

    def log_likelihood(a, c):
        return log_expit(np.where(y == 1, 1, -1) * (a * z + c)).sum()

    platt = PlattCalibrator(input="logits", smooth_targets=False).fit(z, y)
    intervals = platt.confidence_intervals(kind="profile", X=z, y=y)
    for a in intervals.loc["a"]:
        best = optimize.minimize_scalar(lambda c, a=a: -log_likelihood(a, c))
        deviance = 2 * (platt.log_likelihood_ + best.fun)
        np.testing.assert_allclose(deviance, quantile, rtol=1e-5)
    for solver in ("newton", "lbfgs"):
        model = TemperatureScaling(solver=solver).fit(z, y)
        ends = model.confidence_intervals(kind="profile", X=z, y=y).to_numpy()[0]
        deviance = [2 * (model.log_likelihood_ - log_likelihood(b, 0)) for b in ends]
        np.testing.assert_allclose(deviance, quantile, rtol=1e-5)
        assert ends[0] < model.parameters_[0] < ends[1]


def test_bootstrap_intervals_of_a_calibrator():
    z, y = _binary_scores(8, n=400)
    model = TemperatureScaling().fit(z, y)
    intervals = model.confidence_intervals(
        kind="bootstrap", X=z, y=y, n_resamples=200, random_state=0
    ).to_numpy()[0]
    wald = model.confidence_intervals().to_numpy()[0]
    np.testing.assert_allclose(intervals, wald, rtol=0.1)


# ------------------------------------------------------------------ fairness
def _classification(seed, n=600, n_classes=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    if n_classes == 2:
        y = (rng.uniform(size=n) < expit(X @ [1.0, -0.5, 0.2] + 0.3)).astype(int)
    else:
        logits = np.column_stack([np.zeros(n), X @ [1, 0, 0.5], X @ [0, 1, -0.5]])
        y = (rng.uniform(size=(n, 1)) > softmax(logits, 1).cumsum(1)).sum(1)
    return X, y, rng.integers(0, 2, n)


@pytest.mark.parametrize("penalty", [None, DependencePenalty(strength=0.0)])
def test_fair_classifier_at_strength_zero_is_logit(penalty):
    X, y, group = _classification(9)
    model = FairClassifier(fairness_penalty=penalty, random_state=0).fit(
        X, y, sensitive_features=group
    )
    reference = sm.Logit(y, sm.add_constant(X)).fit(disp=0, tol=1e-12)
    _assert_matches_logit(model, reference, order=[1, 2, 3, 0])
    assert list(model.parameter_names_) == ["x0", "x1", "x2", "intercept"]


def test_multiclass_fair_classifier_reports_mnlogit_contrasts():
    X, y, _ = _classification(10, n_classes=3)
    # A fixed start: from rare random ones (seed 205 of 300) the fit stops
    # with estimates 7e-6 from the optimum, over the check's 1e-6.
    model = FairClassifier(random_state=0).fit(X, y)
    reference = sm.MNLogit(y, sm.add_constant(X)).fit(
        disp=0, tol=1e-12, method="newton"
    )
    # statsmodels: (const, x0, x1, x2) per class 1, 2, columns of params.
    _assert_matches_logit(model, reference, order=[1, 2, 3, 0, 5, 6, 7, 4])
    assert list(model.parameter_names_[:4]) == [
        "x0[1]",
        "x1[1]",
        "x2[1]",
        "intercept[1]",
    ]


@pytest.mark.parametrize(
    "model, reason",
    [
        (FairClassifier(fairness_penalty=DependencePenalty(strength=2.0)), "penalty"),
        (FairClassifier(alpha=0.01), "alpha=0"),
        (FairRegressor(fairness_penalty=DependencePenalty(strength=2.0)), "penalty"),
        pytest.param(
            FairRegressor(loss="absolute_error"),
            "not a likelihood",
            # Adam on the non-smooth loss stops at max_epochs here.
            marks=pytest.mark.filterwarnings(
                "ignore::skalign.exceptions.ConvergenceWarning"
            ),
        ),
        (FairRegressor(loss="poisson"), "Poisson"),
    ],
)
def test_fair_models_without_a_likelihood_say_why(model, reason):
    X, y, group = _classification(11)
    if isinstance(model, FairRegressor):
        y = (
            np.exp(X[:, 0] / 2).round()
            if model.loss == "poisson"
            else X @ [1, 2, 3] + np.sin(7 * X[:, 0])
        )
    model.fit(X, y, sensitive_features=group)
    assert not hasattr(model, "log_likelihood_")
    with pytest.raises(ValueError, match=reason):
        model.summary()


@pytest.mark.parametrize("weighted", [False, True])
def test_least_squares_fair_regressor_is_ols(weighted):
    """At strength 0, FairRegressor's least squares carries the statistics
    of statsmodels' OLS (WLS with frequency weights): estimates, standard
    errors (from RSS / (n - k)), the HC1 sandwich and the log-likelihood
    (at RSS / n); AIC and BIC count the variance as a parameter, as R's
    logLik.lm does (statsmodels' do not: 2 and log n less). The intercept
    is on the scale of y, offset included."""
    rng = np.random.default_rng(12)
    n = 400
    X = rng.normal(size=(n, 3)) * [1.0, 50.0, 0.01]
    y = 1e4 + X @ [1.0, -0.02, 30.0] + rng.standard_t(5, size=n)
    weight = rng.integers(1, 4, n).astype(float) if weighted else None
    model = FairRegressor(random_state=0).fit(X, y, sample_weight=weight)
    design = sm.add_constant(X)
    if weighted:
        reference = sm.WLS(y, design, weights=weight).fit()
        # Frequency weights: the rows repeated.
        repeated = np.repeat(np.arange(n), weight.astype(int))
        reference_llf = sm.OLS(y[repeated], design[repeated]).fit().llf
        n_obs = weight.sum()
        # statsmodels' WLS scales by the residual degrees of freedom of n rows,
        # the repeated rows by sum(weight) - k.
        repeated_fit = sm.OLS(y[repeated], design[repeated]).fit()
        bse = repeated_fit.bse
    else:
        reference = sm.OLS(y, design).fit()
        reference_llf = reference.llf
        n_obs = n
        bse = reference.bse
    order = [1, 2, 3, 0]
    np.testing.assert_allclose(
        model.parameters_, np.asarray(reference.params)[order], rtol=1e-6
    )
    np.testing.assert_allclose(_se(model), np.asarray(bse)[order], rtol=1e-4)
    np.testing.assert_allclose(model.log_likelihood_, reference_llf, rtol=1e-9)
    assert model.n_params_ == 5
    np.testing.assert_allclose(model.aic_, 2 * 5 - 2 * reference_llf, rtol=1e-9)
    assert list(model.parameter_names_) == ["x0", "x1", "x2", "intercept"]
    np.testing.assert_allclose(
        model.predict(np.zeros((1, 3))), model.parameters_[-1], rtol=1e-9
    )
    if not weighted:
        hc1 = sm.OLS(y, design).fit(cov_type="HC1")
        np.testing.assert_allclose(
            np.sqrt(np.diag(model.robust_covariance_)),
            np.asarray(hc1.bse)[order],
            rtol=1e-4,
        )
        assert np.isclose(model.bic_, 5 * np.log(n_obs) - 2 * reference_llf)
    with pytest.raises(ValueError, match="kind='wald'"):
        model.confidence_intervals(kind="profile", X=X, y=y)


# -------------------------------------------------------------------- PRESTO
def _ordinal(seed, n=500):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = np.digitize(X @ [1.0, -0.7] + rng.logistic(size=n), [-1.0, 0.5, 2.0])
    return X, y


def _non_parallel_nll(params, X, y, n_classes):
    """The non-parallel cumulative logit likelihood, in numpy:
    ``P(y <= k) = σ(θ_k - x · β_k)``."""
    thresholds = params[: n_classes - 1]
    weights = params[n_classes - 1 :].reshape(n_classes - 1, X.shape[1])
    cumulative = expit(thresholds - X @ weights.T)
    cumulative = np.column_stack([np.zeros(len(y)), cumulative, np.ones(len(y))])
    rows = np.arange(len(y))
    proba = cumulative[rows, y + 1] - cumulative[rows, y]
    return -np.log(proba).sum() if np.all(proba > 0) else np.inf


def test_presto_at_alpha_zero_is_the_non_parallel_likelihood():
    X, y = _ordinal(12)
    model = PrestoClassifier(alpha=0).fit(X, y)
    start = np.concatenate([[-1.0, 0.5, 2.0], np.tile([1.0, -0.7], 3)])
    reference = optimize.minimize(
        _non_parallel_nll,
        start,
        args=(X, y, 4),
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 40_000, "maxfev": 40_000},
    )
    reference = optimize.minimize(
        _non_parallel_nll,
        reference.x,
        args=(X, y, 4),
        method="BFGS",
        options={"gtol": 1e-8},
    )
    np.testing.assert_allclose(model.log_likelihood_, -reference.fun, rtol=1e-9)
    # Reported: the weights per threshold, then the thresholds.
    estimates = np.concatenate([reference.x[3:], reference.x[:3]])
    np.testing.assert_allclose(model.parameters_, estimates, rtol=1e-4, atol=1e-6)
    assert list(model.parameter_names_[:2]) == ["x0[0|1]", "x1[0|1]"]
    assert list(model.parameter_names_[-3:]) == ["0|1", "1|2", "2|3"]
    # Standard errors against a central-difference Hessian of the numpy one.
    h = 1e-4
    x = reference.x
    hessian = np.empty((x.size, x.size))
    for i in range(x.size):
        for j in range(x.size):
            e_i, e_j = np.eye(x.size)[i] * h, np.eye(x.size)[j] * h
            hessian[i, j] = (
                _non_parallel_nll(x + e_i + e_j, X, y, 4)
                - _non_parallel_nll(x + e_i - e_j, X, y, 4)
                - _non_parallel_nll(x - e_i + e_j, X, y, 4)
                + _non_parallel_nll(x - e_i - e_j, X, y, 4)
            ) / (4 * h * h)
    se = np.sqrt(np.diag(np.linalg.inv(hessian)))
    np.testing.assert_allclose(_se(model), np.concatenate([se[3:], se[:3]]), rtol=1e-3)
    # Proportional odds is nested: 2 features x 2 extra thresholds.
    parallel = ProportionalOddsClassifier(dtype="float64").fit(X, y)
    assert likelihood_ratio_test(parallel, model).df == 4


@pytest.mark.parametrize("params", [{"alpha": 0.01}, {"alpha": 0, "alpha_first": 0.1}])
def test_presto_with_an_active_penalty_says_why(params):
    X, y = _ordinal(13, n=200)
    model = PrestoClassifier(**params).fit(X, y)
    assert not hasattr(model, "log_likelihood_")
    with pytest.raises(ValueError, match="alpha=0"):
        model.summary()
