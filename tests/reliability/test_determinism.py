"""Same data and ``random_state``: identical predictions, across fits and
after a pickle round trip, for every estimator."""

import pickle
import warnings

import numpy as np
import pytest

from skalign.exceptions import ConvergenceWarning

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


@pytest.mark.parametrize("name", registry.names())
def test_fits_in_threads_reproduce_sequential_fits(name):
    # Each fit owns its generators (splits, shuffles) and seeds the global
    # one only under a lock: four threads with fixed seeds give what four
    # sequential fits give. Adam on mini-batches shuffles, so it is forced
    # where the estimator takes an optimizer.
    from concurrent.futures import ThreadPoolExecutor

    entry = registry.entry(name)
    params = {}
    if entry.accepts("optimizer"):
        params.update(optimizer="adam", batch_size=8)
    seeds = [0, 1, 2, 3]

    def fit(seed):
        if entry.accepts("random_state"):
            return fitted(name, random_state=seed, **params)
        return fitted(name, **params)

    sequential = [fit(seed) for seed in seeds]
    # Warning filters are process-wide: set once, outside the threads.
    with warnings.catch_warnings(), ThreadPoolExecutor(max_workers=4) as pool:
        warnings.simplefilter("ignore", ConvergenceWarning)
        threaded = list(pool.map(fit, seeds))
    for (a, X, _, _), (b, _, _, _) in zip(sequential, threaded):
        _assert_identical(a, b, X)
