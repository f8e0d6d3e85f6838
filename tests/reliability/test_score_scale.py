"""Calibration does not depend on the size of the scores.

Every calibrator of binary scores in the registry is fitted on the same
scores multiplied by ``1e-6`` up to ``1e30``, in float32 and in float64 where
it has a ``dtype``: its probabilities must be finite and, but for the step
functions below, keep the order of the scores (the AUC of the calibrated
probabilities is the AUC of the raw scores), and the maps linear in the
logits (temperature, vector, matrix and Platt scaling) must give the same
probabilities at every scale. Logits of ``±1e4`` must be calibrated to the
rate of positives observed at each.
"""

import functools

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from .. import _registry as registry

SCALES = (1e-6, 1.0, 1e4, 1e10, 1e15, 1e30)
NAMES = registry.names(kind="scores")

# σ(a c z + b) fitted on c z is σ(a z + b) fitted on z: the same probabilities
# at every scale c > 0, to the precision of the fit.
SCALE_EQUIVARIANT = (
    "MatrixScaling",
    "PlattCalibrator",
    "TemperatureScaling",
    "VectorScaling",
)
# Strictly increasing maps keep every pair of rows in order, so the AUC stays
# that of the scores. These two do not promise that:
STEP_FUNCTION = {
    "IsotonicCalibrator": (
        "a non-decreasing step function of the scores: it ties neighbouring "
        "scores (which moves the AUC) but depends on their order alone, so it "
        "must be non-decreasing and the same at every scale"
    ),
}
NOT_MONOTONE = {
    "HistogramBinningCalibrator": (
        "the positive rate in fixed bins of the probability sigmoid(z): not "
        "monotone (each bin is estimated on its own) nor free of the scale "
        "(scores of 1e-6 all fall in the bin around 1/2, scores from 1e4 on "
        "in the two end bins); only valid probabilities are promised"
    ),
}


def _scores():
    """Binary log-odds with no ties; their AUC is 0.96."""
    rng = np.random.default_rng(0)
    y = np.arange(200) % 2
    z = (2.0 * y - 1.0) + 0.9 * rng.normal(size=200)
    return z, y


Z, Y = _scores()
RAW_AUC = roc_auc_score(Y, Z)


def _dtypes(name):
    return ("float32", "float64") if registry.entry(name).accepts("dtype") else (None,)


def _make(name, dtype):
    params = {"input": "logits"}
    if dtype is not None:
        params["dtype"] = dtype
    return registry.make(name, "exact", **params)


@functools.cache
def _positive_proba(name, dtype, scale):
    model = _make(name, dtype).fit(scale * Z, Y)
    return model.predict_proba(scale * Z)[:, 1]


CASES = [
    pytest.param(name, dtype, id=f"{name}-{dtype}" if dtype else name)
    for name in NAMES
    for dtype in _dtypes(name)
]


def test_the_scores_are_informative():
    assert 0.95 < RAW_AUC < 0.97
    assert np.unique(Z).size == Z.size


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("name, dtype", CASES)
def test_probabilities_are_finite_and_keep_the_order(name, dtype, scale):
    p = _positive_proba(name, dtype, scale)
    assert np.all(np.isfinite(p)) and np.all((p >= 0) & (p <= 1))
    if name in NOT_MONOTONE:
        return
    order = np.argsort(Z)
    assert np.all(np.diff(p[order]) >= 0), "a higher score got a lower probability"
    if name not in STEP_FUNCTION:
        assert roc_auc_score(Y, p) == pytest.approx(RAW_AUC, abs=1e-12)


@pytest.mark.parametrize(
    "name, dtype",
    [c for c in CASES if c.values[0] in (*SCALE_EQUIVARIANT, *STEP_FUNCTION)],
)
def test_probabilities_are_the_same_at_every_scale(name, dtype):
    reference = _positive_proba(name, dtype, 1.0)
    # A float32 map holds its parameters to about 1e-7 relative.
    atol = 1e-6 if dtype == "float32" else 1e-9
    for scale in SCALES:
        np.testing.assert_allclose(
            _positive_proba(name, dtype, scale),
            reference,
            rtol=0,
            atol=atol,
            err_msg=f"scores times {scale:g}",
        )


@pytest.mark.parametrize("name, dtype", CASES)
def test_extreme_logits_are_calibrated_to_the_observed_rate(name, dtype):
    # 1300 rows at +1e4 of which 1100 are positive (a rate of 0.846), and
    # 1300 at -1e4 of which 200 are; in a random order, as HCalibrator's
    # windows over tied probabilities follow the row order.
    z = np.repeat([1e4, -1e4], 1300)
    y = np.zeros(2600, dtype=int)
    y[:1100] = 1
    y[1300:1500] = 1
    order = np.random.default_rng(0).permutation(2600)
    model = _make(name, dtype).fit(z[order], y[order])
    p = model.predict_proba(np.array([1e4, -1e4]))[:, 1]
    np.testing.assert_allclose(p, [1100 / 1300, 200 / 1300], atol=0.01)
