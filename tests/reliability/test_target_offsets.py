"""Grades and targets far from zero (issue 14, defect 1, for every
estimator with graded or continuous targets, at its default settings).

Orderings and ties come from the grades as given (float64 or integer), and
regression targets are centred in float64 before the model (float32 by
default) sees them: a fit on ``y + c`` predicts ``c`` more than a fit on
``y``, with no loss of precision, up to offsets of 1e12.
"""

import warnings

import numpy as np
import pytest

from skalign.nn import LinearScorer

from .. import _registry as registry
from ._fitting import fit_data

NAMES = [
    name
    for name in registry.names()
    if registry.entry(name).kind in ("grouped", "continuous", "fair")
]
#: Only the order of the grades matters to these (their predictions are
#: scores); the others predict the target itself.
_SHIFT_INVARIANT_KINDS = ("grouped",)


# HL-Gauss's default MLP is trained by Adam until its loss stalls, from a
# non-convex start: the round-off of the offset targets themselves (at 1e12
# their spacing is 1e-4) moves the epoch where it stops, and so its
# predictions by ~1e-2. The precision checked here is that of the target
# centring, the same code for every scorer: checked on the convex fit.
_CONVEX = {"HLGaussRegressor": dict(scorer=LinearScorer())}


def _default(name):
    estimator = registry.entry(name).estimator(**_CONVEX.get(name, {}))
    if "random_state" in estimator.get_params():
        estimator.set_params(random_state=0)
    return estimator


def _fit_predict(name, y, X, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        return _default(name).fit(X, y, **kwargs).predict(X)


@pytest.mark.parametrize("offset", [1e8, 1e12])
@pytest.mark.parametrize("name", NAMES)
def test_an_offset_target_gives_the_offset_model(name, offset):
    X, y, kwargs = fit_data(name, n=80)
    plain = _fit_predict(name, y, X, kwargs)
    shifted = _fit_predict(name, y + offset, X, kwargs)
    if registry.entry(name).kind in _SHIFT_INVARIANT_KINDS:
        # Scores are defined up to a constant (Adam may move an unused bias
        # by round-off); only their differences are compared.
        plain, shifted = plain - plain.mean(), shifted - shifted.mean()
    else:
        shifted = shifted - offset
    spread = np.ptp(plain)
    assert spread > 0
    np.testing.assert_allclose(shifted, plain, rtol=0, atol=1e-4 * spread)


@pytest.mark.parametrize("name", [n for n in NAMES if "Fair" in n])
@pytest.mark.parametrize("scale", [1e-6, 1e6, 1e12])
def test_a_scaled_target_gives_the_scaled_model(name, scale):
    X, y, kwargs = fit_data(name, n=80)
    plain = _fit_predict(name, y, X, kwargs)
    scaled = _fit_predict(name, y * scale, X, kwargs) / scale
    np.testing.assert_allclose(scaled, plain, rtol=1e-4, atol=1e-4 * np.ptp(plain))


def test_a_mini_batch_fit_refuses_targets_it_cannot_reach():
    from skalign.fairness import FairRegressor
    from skalign.nn import MLPScorer

    X, y, kwargs = fit_data("FairRegressor", n=80)
    model = FairRegressor(scorer=MLPScorer(hidden_units=(4,)), random_state=0)
    with pytest.raises(ValueError, match="Standardise y"):
        model.fit(X, y * 1e12, **kwargs)
