"""Validation gaps the audit found (issue 14, defect 8) beyond devices and
learning rates (see tests/test_convergence.py)."""

import inspect
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from skalign._engine import TorchEstimator
from skalign.calibration import CalibratedEstimator
from skalign.preference import BinaryFeedbackRewardRegressor

from .. import _registry as registry
from ._fitting import fit_data

WEIGHTED = [
    name
    for name in registry.names()
    if "sample_weight"
    in inspect.signature(registry.entry(name).estimator.fit).parameters
]


@pytest.mark.parametrize("name", WEIGHTED)
def test_overflowing_sample_weight_is_named(name):
    # It was reported as "X or y are too large for dtype='float32'".
    X, y, kwargs = fit_data(name)
    weight = np.full(X.shape[0], 1e308)
    model = registry.make(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        with pytest.raises(ValueError, match="sample_weight"):
            if y is None:
                model.fit(X, sample_weight=weight, **kwargs)
            else:
                model.fit(X, y, sample_weight=weight, **kwargs)


@pytest.mark.parametrize(
    "name",
    [n for n in WEIGHTED if issubclass(registry.entry(n).estimator, TorchEstimator)],
)
def test_large_but_finite_sample_weight_is_only_relative(name):
    # Weights near float32's limit: the fit is the fit of relative weights.
    X, y, kwargs = fit_data(name)
    if y is None or registry.entry(name).kind == "scores":
        pytest.skip("weights of these are counts (smoothing), not only relative")
    weight = np.linspace(1.0, 2.0, X.shape[0])
    fits = []
    for scale in (1.0, 1e37):
        model = registry.make(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=Warning)
            model.fit(X, y, sample_weight=weight * scale, **kwargs)
        fits.append(np.asarray(model.predict(X), dtype=float))
    np.testing.assert_allclose(fits[1], fits[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "groups, match",
    [
        (np.arange(39), "groups has 39 entries"),
        (np.where(np.arange(40) % 2, np.nan, 1.0), "groups contains NaN"),
        (np.array([1, "a"] * 20, dtype=object), "groups must hold ids"),
    ],
)
def test_binary_feedback_validates_groups_without_density_ratio(groups, match):
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    with pytest.raises((ValueError, TypeError), match=match):
        BinaryFeedbackRewardRegressor(max_epochs=2).fit(X, y, groups=groups)


def test_calibrated_estimator_keeps_the_feature_names():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    y = (X["a"] > 0).astype(int)
    model = CalibratedEstimator(LogisticRegression()).fit(X, y)
    np.testing.assert_array_equal(model.feature_names_in_, ["a", "b", "c"])
    model.fit(X.to_numpy(), y)
    assert not hasattr(model, "feature_names_in_")
