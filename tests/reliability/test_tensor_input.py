"""Torch tensors as input (issue 14, defect 9), for every estimator of the
registry and the public metrics.

scikit-learn's estimators take tensors through ``np.asarray``; skalign
converts them once at the entry of every public method: a CPU tensor is
shared, not copied, a tensor requiring a gradient is detached, ``bfloat16``
becomes float32. The fit and every prediction must equal those of the same
data as numpy arrays.
"""

import inspect
import warnings

import numpy as np
import pytest
import torch

import skalign.metrics as metrics

from .. import _registry as registry
from ._fitting import fit_data, outputs


def _as_tensor(value):
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return torch.from_numpy(value.copy())
    return value


def _fit(name, X, y, kwargs):
    model = registry.make(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        return model.fit(X, **kwargs) if y is None else model.fit(X, y, **kwargs)


@pytest.mark.parametrize("name", registry.names())
def test_tensors_fit_and_predict_as_arrays(name):
    X, y, kwargs = fit_data(name)
    plain = _fit(name, X, y, kwargs)
    tensors = _fit(
        name,
        torch.from_numpy(X.copy()),
        _as_tensor(y),
        {key: _as_tensor(value) for key, value in kwargs.items()},
    )
    expected = outputs(plain, X)
    for method, values in outputs(tensors, torch.from_numpy(X.copy())).items():
        np.testing.assert_allclose(values, expected[method], err_msg=method)


@pytest.mark.parametrize("name", registry.names())
def test_tensors_requiring_a_gradient_are_detached(name):
    X, y, kwargs = fit_data(name)
    X_t = torch.tensor(X, requires_grad=True)
    model = _fit(name, X_t, y, kwargs)
    for values in outputs(model, X_t).values():
        assert np.all(np.isfinite(values[values == values]))


def test_a_cpu_tensor_is_not_copied():
    from skalign.utils._validation import from_torch

    tensor = torch.arange(6.0).reshape(3, 2)
    array = from_torch(tensor)
    assert np.shares_memory(array, tensor.numpy())


def test_non_contiguous_and_float32_tensors():
    name = "PreferenceRewardRegressor"
    X, y, kwargs = fit_data(name)
    wide = torch.from_numpy(np.hstack([X, X]).copy())[:, ::2]  # a strided view
    assert not wide.is_contiguous()
    # Columns 0, 2, 4 of [X | X] are X's columns 0, 2, 1.
    swapped = X[:, [0, 2, 1]]
    plain = _fit(name, swapped, y, kwargs)
    np.testing.assert_allclose(
        _fit(name, wide, y, kwargs).predict(swapped), plain.predict(swapped), rtol=1e-6
    )
    single = _fit(name, torch.from_numpy(X.astype(np.float32)), y, kwargs)
    assert np.all(np.isfinite(single.predict(X)))


def test_bfloat16_becomes_float32_and_sparse_tensors_are_refused():
    name = "PreferenceRewardRegressor"
    X, y, kwargs = fit_data(name)
    model = _fit(name, torch.from_numpy(X).to(torch.bfloat16), y, kwargs)
    assert np.all(np.isfinite(model.predict(X)))
    with pytest.raises(TypeError, match="layout"):
        _fit(name, torch.from_numpy(X).to_sparse(), y, kwargs)


@pytest.mark.parametrize(
    "function",
    [
        metrics.pairwise_accuracy,
        metrics.grouped_ndcg_score,
        metrics.preference_log_loss,
    ],
)
def test_grouped_metrics_take_tensors(function):
    rng = np.random.default_rng(0)
    y = np.round(rng.uniform(0, 3, size=40), 1)
    scores = y + rng.normal(size=40)
    groups = np.arange(40) // 4
    params = inspect.signature(function).parameters
    kwargs = {"groups": groups} if "groups" in params else {}
    expected = function(y, scores, **kwargs)
    got = function(
        torch.from_numpy(y),
        torch.tensor(scores, requires_grad=True),
        **{k: torch.from_numpy(v) for k, v in kwargs.items()},
    )
    assert got == pytest.approx(expected)
