"""Calibrators: reference agreement, invariants, input handling, bad input."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, log_softmax, logsumexp, softmax
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import make_classification
from sklearn.frozen import FrozenEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from skalign.calibration import (
    BetaCalibrator,
    DirichletCalibrator,
    HCalibrator,
    HistogramBinningCalibrator,
    IsotonicCalibrator,
    MatrixScaling,
    PlattCalibrator,
    TemperatureScaling,
    VectorScaling,
)
from skalign.calibration._base import log_complement
from skalign.metrics import expected_calibration_error
from skalign.testing import logits_and_labels

ALL = [
    TemperatureScaling,
    VectorScaling,
    MatrixScaling,
    DirichletCalibrator,
    PlattCalibrator,
    BetaCalibrator,
    HistogramBinningCalibrator,
    IsotonicCalibrator,
    HCalibrator,
]
ORDER_PRESERVING = [TemperatureScaling, HCalibrator]
EXACT = dict(dtype="float64", tol=1e-10, max_epochs=500)


def _exact(Calibrator, **params):
    accepted = Calibrator().get_params()
    return Calibrator(**{k: v for k, v in EXACT.items() if k in accepted}, **params)


@pytest.fixture(scope="module")
def overconfident():
    """A logistic regression on 3 classes with its logits inflated 2.5x."""
    X, y = make_classification(
        3000, n_features=10, n_informative=6, n_classes=3, random_state=0
    )
    clf = LogisticRegression(C=100.0).fit(X[:1000], y[:1000])
    return clf, X[1000:], y[1000:], 2.5


def _sample_labels(proba, rng):
    return (rng.uniform(size=(proba.shape[0], 1)) > proba.cumsum(axis=1)).sum(axis=1)


# -------------------------------------------------------- reference agreement
@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_temperature_equals_scikit_learn_multiclass(overconfident, solver):
    clf, X, y, scale = overconfident
    reference = CalibratedClassifierCV(FrozenEstimator(clf), method="temperature")
    reference.fit(X, y)
    beta = reference.calibrated_classifiers_[0].calibrators[0].beta_
    ts = _exact(TemperatureScaling, solver=solver).fit(clf.decision_function(X), y)
    assert_allclose(ts.temperature_, 1.0 / beta, rtol=1e-4)
    inflated = _exact(TemperatureScaling, solver=solver)
    inflated.fit(scale * clf.decision_function(X), y)
    assert_allclose(inflated.temperature_, scale / beta, rtol=1e-4)
    assert_allclose(
        ts.predict_proba(clf.decision_function(X)),
        reference.predict_proba(X),
        atol=1e-5,
    )


def test_temperature_equals_scikit_learn_binary():
    X, y = make_classification(1500, n_features=6, random_state=1)
    clf = LogisticRegression(C=100.0).fit(X[:500], y[:500])
    reference = CalibratedClassifierCV(FrozenEstimator(clf), method="temperature").fit(
        X[500:], y[500:]
    )
    beta = reference.calibrated_classifiers_[0].calibrators[0].beta_
    z = clf.decision_function(X[500:])
    # scikit-learn turns a binary decision value z into the logits (-z, z),
    # so its σ(2 β z) is our σ(z / T) with T = 1 / (2 β).
    ts = _exact(TemperatureScaling).fit(z, y[500:])
    assert_allclose(ts.temperature_, 1.0 / (2.0 * beta), rtol=1e-4)
    assert_allclose(ts.predict_proba(z), reference.predict_proba(X[500:]), atol=1e-6)
    from_proba = _exact(TemperatureScaling).fit(clf.predict_proba(X[500:]), y[500:])
    assert from_proba.input_ == "probabilities"
    assert_allclose(from_proba.temperature_, ts.temperature_, rtol=1e-6)


def test_platt_equals_scikit_learn_sigmoid():
    X, y = make_classification(1500, n_features=6, random_state=2)
    clf = LogisticRegression(C=100.0).fit(X[:500], y[:500])
    reference = CalibratedClassifierCV(FrozenEstimator(clf), method="sigmoid")
    reference.fit(X[500:], y[500:])
    platt = _exact(PlattCalibrator).fit(clf.decision_function(X[500:]), y[500:])
    sigmoid = reference.calibrated_classifiers_[0].calibrators[0]
    # scikit-learn's map is σ(-(a s + b)).
    assert_allclose(platt.coef_[0], -sigmoid.a_, rtol=1e-4)
    assert_allclose(platt.intercept_[0], -sigmoid.b_, rtol=1e-4, atol=1e-6)


def test_beta_equals_betacal():
    betacal = pytest.importorskip("betacal")
    rng = np.random.default_rng(0)
    s = rng.uniform(0.01, 0.99, size=2000)
    # Too extreme near 1 only: beta calibration's use case.
    y = (rng.uniform(size=2000) < s**2 / (s**2 + (1 - s) ** 0.7)).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = betacal.BetaCalibration("abm").fit(s, y)
    ours = _exact(BetaCalibrator).fit(s, y)
    a, b, _ = reference.calibrator_.map_
    assert_allclose(ours.coef_[0], [a, b], rtol=1e-3)
    # betacal's LogisticRegression stops at scikit-learn's default tol=1e-4.
    intercept = reference.calibrator_.lr_.intercept_[0]
    assert_allclose(ours.intercept_[0], intercept, rtol=5e-3)
    assert_allclose(ours.predict_proba(s)[:, 1], reference.predict(s), atol=5e-4)


def test_beta_refits_with_a_negative_coefficient_held_at_zero():
    betacal = pytest.importorskip("betacal")
    rng = np.random.default_rng(1)
    s = rng.uniform(0.001, 0.999, size=3000)
    # Likely events at tiny scores: the unconstrained fit has a < 0.
    truth = np.where(s < 0.1, 0.6, 0.1 + 0.8 * s)
    y = (rng.uniform(size=3000) < truth).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = betacal.BetaCalibration("abm").fit(s, y)
    ours = _exact(BetaCalibrator).fit(s, y)
    assert ours.coef_[0, 0] == 0.0 and ours.coef_[0, 1] > 0
    assert_allclose(ours.coef_[0], reference.calibrator_.map_[:2], rtol=5e-3)
    assert_allclose(ours.predict_proba(s)[:, 1], reference.predict(s), atol=5e-4)
    # Decreasing truth: both coefficients end at zero, a constant map.
    y = (rng.uniform(size=3000) < 0.3 + 0.4 * (1 - s) ** 4).astype(int)
    constant = _exact(BetaCalibrator).fit(s, y)
    assert_array_equal(constant.coef_, [[0.0, 0.0]])
    assert_allclose(constant.predict_proba(s)[:, 1], y.mean(), rtol=1e-6)


def test_isotonic_equals_scikit_learn_isotonic_regression():
    rng = np.random.default_rng(0)
    z = rng.normal(size=500)
    y = (rng.uniform(size=500) < expit(2 * z)).astype(int)
    ours = IsotonicCalibrator(input="logits").fit(z, y)
    reference = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(z, y)
    grid = np.linspace(-4, 4, 50)
    assert_allclose(ours.predict_proba(grid)[:, 1], reference.predict(grid))


def test_histogram_binning_is_the_bin_frequency():
    s = np.array([0.05, 0.1, 0.15, 0.55, 0.6, 0.65, 0.7])
    y = np.array([0, 0, 1, 1, 1, 0, 1])
    hb = HistogramBinningCalibrator(n_bins=2).fit(s, y)
    assert_allclose(hb.bin_values_, [[1 / 3, 3 / 4]])
    assert_allclose(hb.predict_proba([0.2, 0.9])[:, 1], [1 / 3, 3 / 4])
    empty = HistogramBinningCalibrator(n_bins=4).fit(s, y)
    # (0.25, 0.5] received nothing and keeps its midpoint.
    assert_allclose(empty.predict_proba([0.4])[:, 1], [0.375])
    weighted = HistogramBinningCalibrator(n_bins=2).fit(
        s, y, sample_weight=[1, 1, 2, 1, 1, 1, 1]
    )
    assert_allclose(weighted.bin_values_[0, 0], 0.5)


# ------------------------------------------------------------ what they fix
def test_every_calibrator_reduces_the_calibration_error(overconfident):
    clf, X, y, scale = overconfident
    logits = scale * clf.decision_function(X)
    fit, test = slice(0, 1000), slice(1000, None)
    before = expected_calibration_error(y[test], softmax(logits[test], axis=1))
    for Calibrator in ALL:
        calibrator = Calibrator().fit(logits[fit], y[fit])
        after = expected_calibration_error(
            y[test], calibrator.predict_proba(logits[test])
        )
        assert after < 0.6 * before, Calibrator.__name__


def test_labels_drawn_from_the_probabilities_give_temperature_one():
    rng = np.random.default_rng(0)
    logits = 3.0 * rng.normal(size=(50_000, 5))
    y = _sample_labels(softmax(logits, axis=1), rng)
    ts = TemperatureScaling().fit(logits, y)
    # The standard error of T here is below 0.01; 50,000 rows also take the
    # subsampled warm start of the Newton solver.
    assert abs(ts.temperature_ - 1.0) < 0.03
    weighted = TemperatureScaling().fit(logits, y, sample_weight=np.full(50_000, 3.0))
    assert_allclose(weighted.temperature_, ts.temperature_, rtol=1e-5)


def test_perfectly_separated_calibration_set_stops_cold():
    logits = np.array([[5.0, 0.0], [0.0, 5.0], [4.0, 1.0], [1.0, 4.0]])
    ts = TemperatureScaling().fit(logits, [0, 1, 0, 1])
    assert ts.converged_ and ts.temperature_ < 0.2
    assert_allclose(ts.predict_proba(logits).max(axis=1), 1.0, atol=1e-9)


def test_odir_shrinks_the_off_diagonal():
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(4), size=400)
    y = _sample_labels(proba, rng)
    free = _exact(DirichletCalibrator).fit(proba, y)
    strong = _exact(DirichletCalibrator, reg_lambda=100.0).fit(proba, y)
    off = ~np.eye(4, dtype=bool)
    assert np.abs(strong.coef_[off]).max() < 0.1 * np.abs(free.coef_[off]).max()
    assert np.abs(strong.intercept_).max() < np.abs(free.intercept_).max()
    # The diagonal is not penalised.
    assert np.all(np.diag(strong.coef_) > 0.5)


def test_matrix_scaling_without_penalty_is_multinomial_logistic_regression():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(600, 3))
    y = (
        logits @ np.array([[2, 0, 1], [0, 1, 0], [0, 0, 3]]) + rng.gumbel(size=(600, 3))
    ).argmax(1)
    ms = _exact(MatrixScaling).fit(logits, y)
    reference = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(logits, y)
    assert_allclose(
        ms.predict_proba(logits), reference.predict_proba(logits), atol=1e-5
    )


def test_vector_scaling_binary_is_platt_without_smoothing():
    rng = np.random.default_rng(0)
    z = 3 * rng.normal(size=800)
    y = (rng.uniform(size=800) < expit(z / 3)).astype(int)
    vs = _exact(VectorScaling, input="logits").fit(z, y)
    platt = _exact(PlattCalibrator, input="logits", smooth_targets=False).fit(z, y)
    assert_allclose(vs.predict_proba(z), platt.predict_proba(z), atol=1e-7)
    assert_allclose(vs.coef_, [1 / 3], rtol=0.15)


# ----------------------------------------------------------------- properties
@settings(max_examples=25, deadline=None)
@given(
    data=logits_and_labels(n_samples=60, n_classes=(2, 5)),
    index=st.integers(0, len(ALL) - 1),
)
def test_outputs_lie_on_the_simplex(data, index):
    logits, y = data
    k = np.unique(y).size
    calibrator = ALL[index](max_epochs=20) if index < 6 or index == 8 else ALL[index]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        calibrator.fit(logits, y)
    proba = calibrator.predict_proba(logits)
    assert proba.shape == (60, k)
    assert np.all(np.isfinite(proba)) and np.all(proba >= 0) and np.all(proba <= 1)
    assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert_allclose(np.exp(calibrator.predict_log_proba(logits)), proba, atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    k=st.integers(2, 6),
    scale=st.floats(0.1, 30.0),
    which=st.sampled_from(ORDER_PRESERVING),
)
def test_order_preserving_maps_keep_the_argmax(seed, k, scale, which):
    rng = np.random.default_rng(seed)
    logits = scale * rng.normal(size=(80, k))
    y = _sample_labels(softmax(logits / scale, axis=1), rng)
    if np.unique(y).size < k:
        y[:k] = np.arange(k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        calibrator = which(max_epochs=20).fit(logits, y)
    assert_array_equal(calibrator.predict(logits), logits.argmax(axis=1))
    if which is HCalibrator:
        assert np.all(calibrator.slopes_ > 0)


# ------------------------------------------------------------ input handling
def test_binary_score_layouts_agree():
    rng = np.random.default_rng(0)
    z = 2 * rng.normal(size=300)
    y = (rng.uniform(size=300) < expit(z / 2)).astype(int)
    p = expit(z)
    one_d = _exact(TemperatureScaling).fit(z, y)
    column = _exact(TemperatureScaling).fit(z[:, None], y)
    two_logits = _exact(TemperatureScaling).fit(np.column_stack([-z / 2, z / 2]), y)
    proba = _exact(TemperatureScaling).fit(np.column_stack([1 - p, p]), y)
    assert proba.input_ == "probabilities" and one_d.input_ == "logits"
    for other in (column, two_logits, proba):
        assert_allclose(other.temperature_, one_d.temperature_, rtol=1e-5)


def test_probabilities_and_their_logits_give_the_same_temperature(overconfident):
    clf, X, y, _ = overconfident
    logits = clf.decision_function(X)
    from_logits = _exact(TemperatureScaling).fit(logits, y)
    from_proba = _exact(TemperatureScaling).fit(softmax(logits, axis=1), y)
    assert from_proba.input_ == "probabilities"
    assert_allclose(from_proba.temperature_, from_logits.temperature_, rtol=1e-6)


def test_transform_is_predict_proba_and_log_on_request():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(50, 3))
    y = np.arange(50) % 3
    ts = TemperatureScaling().fit(logits, y)
    assert_allclose(ts.transform(logits), ts.predict_proba(logits))
    assert_allclose(ts.transform(logits, log=True), ts.predict_log_proba(logits))
    assert_allclose(ts.fit_transform(logits, y), ts.predict_proba(logits))


def test_string_labels_and_extreme_logits():
    rng = np.random.default_rng(0)
    logits = 1e4 * rng.normal(size=(200, 3))
    y = np.array(["cat", "dog", "eel"])[logits.argmax(axis=1)]
    for Calibrator in (TemperatureScaling, DirichletCalibrator, HCalibrator):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            calibrator = Calibrator(max_epochs=10).fit(logits, y)
        proba = calibrator.predict_proba(logits)
        assert np.all(np.isfinite(proba))
        assert set(calibrator.predict(logits)) <= {"cat", "dog", "eel"}


@pytest.mark.parametrize(
    "calibrator",
    [
        TemperatureScaling(),
        VectorScaling(),
        MatrixScaling(reg_lambda=0.1),
        PlattCalibrator(),
    ],
    ids=lambda c: type(c).__name__,
)
def test_linear_maps_of_multiclass_logits_do_not_depend_on_their_scale(calibrator):
    # The map is fitted on logits divided by their root mean square, and the
    # ODIR penalty applies to the coefficients of these standardised logits.
    rng = np.random.default_rng(0)
    logits = 2 * rng.normal(size=(300, 3))
    y = _sample_labels(softmax(logits, axis=1), rng)
    calibrator = clone(calibrator).set_params(dtype="float64", tol=1e-10)
    reference = clone(calibrator).fit(logits, y).predict_proba(logits)
    for scale in (1e-6, 1e30):
        scaled = clone(calibrator).fit(scale * logits, y)
        assert_allclose(scaled.predict_proba(scale * logits), reference, atol=1e-9)


@pytest.mark.parametrize(
    "Calibrator", [BetaCalibrator, DirichletCalibrator, HCalibrator]
)
def test_log_probability_maps_of_huge_multiclass_logits(Calibrator):
    rng = np.random.default_rng(0)
    logits = 1e30 * rng.normal(size=(300, 3))
    y = _sample_labels(softmax(logits / 1e30, axis=1), rng)
    proba = _exact(Calibrator).fit(logits, y).predict_proba(logits)
    assert np.all(np.isfinite(proba)) and proba.min() > 0
    # Calibrated, not one-hot: about a third of the rows are labelled with
    # another class than their largest logit.
    assert proba.max() < 1.0 - 1e-3


def test_log_complement_of_probabilities_that_round_to_one():
    log_p = log_softmax(
        np.array(
            [[1e4, 0.0, -1e4], [0.0, 0.0, 0.0], [1e30, 1e30, 0.0], [-3.0, 2.0, 1.0]]
        ),
        axis=1,
    )
    expected = [[logsumexp(np.delete(row, k)) for k in range(3)] for row in log_p]
    assert_allclose(log_complement(log_p), expected, rtol=1e-12)


def test_readout_for_scores_that_are_not_one_per_class():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(300, 5))
    y = (features[:, :3] + rng.gumbel(size=(300, 3))).argmax(axis=1)
    ts = TemperatureScaling().fit(features, y)
    assert isinstance(ts.readout_, LogisticRegression)
    assert ts.predict_proba(features).shape == (300, 3)
    assert TemperatureScaling().fit(features[:, :3], y).readout_ is None


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize("Calibrator", ALL)
def test_bad_input_gives_clear_errors(Calibrator):
    y = np.array([0, 1, 2, 0, 1, 2])
    proba = np.full((6, 3), 1 / 3)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Calibrator(input="probabilities").fit(proba * 4, y)
    with pytest.raises(ValueError, match="sum to 1"):
        Calibrator(input="probabilities").fit(proba * 0.9, y)
    with pytest.raises(ValueError, match="NaN"):
        Calibrator().fit(np.where(np.eye(6, 3) > 0, np.nan, proba), y)
    with pytest.raises(ValueError, match="one class"):
        Calibrator().fit(proba, np.zeros(6))
    with pytest.raises(ValueError, match="Unknown label type"):
        Calibrator().fit(proba, np.linspace(0, 1, 6))
    with pytest.raises(ValueError, match="one column per class"):
        Calibrator(input="logits").fit(proba[:, :2], y)
    with pytest.raises(ValueError, match="binary"):
        Calibrator().fit(proba[:, 0], y)
    good = softmax(np.random.default_rng(0).normal(size=(6, 3)), axis=1)
    fitted = Calibrator().fit(good, y)
    assert fitted.input_ == "probabilities"
    with pytest.raises(ValueError, match="features"):
        fitted.predict_proba(proba[:, :2])
    with pytest.raises(ValueError, match="sum to 1"):
        fitted.predict_proba(proba * 0.5)


def test_unfitted_and_cloned():
    from sklearn.exceptions import NotFittedError

    for Calibrator in ALL:
        with pytest.raises(NotFittedError):
            Calibrator().predict_proba(np.ones((2, 3)))
        calibrator = Calibrator()
        assert clone(calibrator).get_params() == calibrator.get_params()


@pytest.mark.parametrize(
    "calibrator",
    [
        DirichletCalibrator(reg_lambda=1e-2),
        MatrixScaling(reg_lambda=1e-2, reg_mu=1e-3),
        HCalibrator(),
        TemperatureScaling(solver="lbfgs"),
        BetaCalibrator(),
    ],
    ids=lambda c: type(c).__name__,
)
def test_fitted_calibrators_pickle(calibrator):
    import pickle

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(90, 3))
    y = np.arange(90) % 3
    calibrator.fit(logits, y)
    restored = pickle.loads(pickle.dumps(calibrator))
    assert_allclose(restored.predict_proba(logits), calibrator.predict_proba(logits))


def test_temperature_newton_is_a_solver_of_the_engine(overconfident):
    """Newton's method is TemperatureScaling's solver inside the engine, not a
    bypass: the fit keeps the net, a history of the objective at each
    step's temperature, ``objective_``, and the same solution as L-BFGS."""
    clf, X, y, _ = overconfident
    z = clf.decision_function(X)
    newton = _exact(TemperatureScaling).fit(z, y)
    lbfgs = _exact(TemperatureScaling, solver="lbfgs").fit(z, y)
    assert newton.converged_ and newton.n_iter_ == len(newton.history_)
    losses = [entry["train_loss"] for entry in newton.history_]
    assert np.all(np.diff(losses) <= 1e-12)
    assert losses[-1] == newton.objective_
    log_p = newton.predict_log_proba(z)
    assert_allclose(newton.objective_, -log_p[np.arange(len(y)), y].mean(), rtol=1e-8)
    assert_allclose(newton.objective_, lbfgs.objective_, rtol=1e-9)
    assert_allclose(newton.temperature_, lbfgs.temperature_, rtol=1e-5)
    assert newton.calibration_map_.temperature.item() == pytest.approx(
        newton.temperature_ / newton.feature_scale_
    )


@pytest.mark.parametrize("Calibrator", ALL)
def test_calibrators_transform_to_pandas_with_class_names(Calibrator):
    """Every calibrator's transform has named columns (``proba_<class>``),
    so ``set_output(transform="pandas")`` gives a DataFrame."""
    rng = np.random.default_rng(0)
    binary = Calibrator in (PlattCalibrator, BetaCalibrator, IsotonicCalibrator)
    y = rng.choice(["no", "yes"] if binary else ["a", "b", "c"], size=300)
    scores = rng.random(300) if binary else rng.normal(size=(300, 3))
    model = Calibrator().set_output(transform="pandas").fit(scores, y)
    frame = model.transform(scores[:5])
    expected = [f"proba_{label}" for label in model.classes_]
    assert list(frame.columns) == expected
    assert list(model.get_feature_names_out()) == expected
    np.testing.assert_allclose(frame.to_numpy(), model.predict_proba(scores[:5]))
    np.testing.assert_allclose(
        model.transform(scores[:5], log=True).to_numpy(),
        model.predict_log_proba(scores[:5]),
    )
