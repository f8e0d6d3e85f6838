"""Same data and ``random_state``: identical predictions, across fits and
after a pickle round trip, for every estimator."""

import pickle

import numpy as np
import pytest

from .. import _registry as registry
from ._fitting import fitted, outputs


def _assert_identical(a, b, X):
    out_a, out_b = outputs(a, X), outputs(b, X)
    assert out_a.keys() == out_b.keys()
    for method, values in out_a.items():
        np.testing.assert_array_equal(out_b[method], values, err_msg=method)


@pytest.mark.parametrize("name", registry.names())
def test_same_random_state_same_predictions(name):
    params = {}
    if registry.entry(name).accepts("random_state"):
        params["random_state"] = 7
    first, X, _, _ = fitted(name, **params)
    second, _, _, _ = fitted(name, **params)
    _assert_identical(first, second, X)
    _assert_identical(first, pickle.loads(pickle.dumps(second)), X)


@pytest.mark.parametrize("name", ["GeneralPreferenceModel", "HLGaussRegressor"])
def test_random_state_decides_the_initial_weights(name):
    # An MLP starts from random weights: another seed, another model.
    from skalign.nn import MLPScorer

    a = fitted(name, scorer=MLPScorer(hidden_units=(4,)), random_state=0)
    b = fitted(name, scorer=MLPScorer(hidden_units=(4,)), random_state=1)
    assert not np.array_equal(a[0].predict(a[1]), b[0].predict(a[1]))
