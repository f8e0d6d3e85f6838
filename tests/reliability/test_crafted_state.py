"""Loading a crafted saved state (issue 14, defect 5).

A saved fitted state is checked before anything is built from it: its types
against each other, then the stored arrays' shapes against the model that
the stored parameters and constants describe (built on torch's meta device,
which allocates nothing). Loading never calls a stored object. Every torch
estimator of the registry is covered.
"""

import copy
import pickle
import warnings

import numpy as np
import pytest
import skops.io as sio

from skalign._engine import TorchEstimator

from .. import _registry as registry
from ._fitting import fitted
from .test_persistence import TORCH_NAMES, trusted_types

_INCONSISTENT = "saved state is inconsistent"


@pytest.fixture(scope="module", params=TORCH_NAMES)
def saved(request):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        model = _torch_part(fitted(request.param)[0])
        if not hasattr(model, "net_"):
            # TemperatureScaling's default Newton solver keeps no net.
            model = _torch_part(fitted(request.param, solver="lbfgs")[0])
    return type(model), model.__getstate__()


def _torch_part(model):
    """The engine estimator inside a meta-estimator (its calibrator)."""
    if isinstance(model, TorchEstimator):
        return model
    return model.calibrator_


def _load(cls, state):
    estimator = cls.__new__(cls)
    estimator.__setstate__(state)
    return estimator


@pytest.fixture
def nothing_built(monkeypatch):
    """Fail the test if a net is built while loading."""

    def refuse(*args, **kwargs):
        raise AssertionError("a net was built from a crafted state")

    monkeypatch.setattr(TorchEstimator, "_build_net", refuse)


def test_an_untouched_state_loads(saved):
    cls, state = saved
    assert isinstance(_load(cls, copy.deepcopy(state)), cls)


def test_a_huge_n_features_in_allocates_nothing(saved):
    # Before the fix, the net was built for 10**9 features (8 GB) first. A
    # scorer sized by the features now fails before anything is built; a
    # calibration map (sized by the classes) loads as saved.
    cls, state = saved
    state = copy.deepcopy(state)
    state["n_features_in_"] = 10**9
    stored = sum(np.size(v) for v in state["net_"]["module"].values())
    try:
        model = _load(cls, state)
    except ValueError as exc:
        assert _INCONSISTENT in str(exc)
    else:
        built = sum(p.numel() for p in model.net_.module_.state_dict().values())
        assert built == stored


@pytest.mark.parametrize("value", [0, -3, 2.5, "3", True])
def test_a_malformed_n_features_in_fails(saved, value, nothing_built):
    cls, state = saved
    state = copy.deepcopy(state)
    state["n_features_in_"] = value
    with pytest.raises(ValueError, match="n_features_in_"):
        _load(cls, state)


def test_a_stored_callable_is_never_called(saved, nothing_built):
    cls, state = saved
    calls = []

    def optimizer(*args, **kwargs):
        calls.append(args)
        raise AssertionError("the stored optimizer was called")

    state = copy.deepcopy(state)
    state["optimizer"] = optimizer
    with pytest.raises(ValueError, match="optimizer"):
        _load(cls, state)
    assert calls == []


def test_an_object_in_the_constants_fails(saved, nothing_built):
    cls, state = saved
    state = copy.deepcopy(state)
    state["_fitted_constants"] = {**state["_fitted_constants"], "x": object()}
    with pytest.raises(ValueError, match="_fitted_constants"):
        _load(cls, state)


def test_an_unknown_constant_fails_with_a_clear_error(saved, nothing_built):
    cls, state = saved
    state = copy.deepcopy(state)
    state["_fitted_constants"] = {**state["_fitted_constants"], "unknown": 1}
    with pytest.raises(ValueError, match=_INCONSISTENT):
        _load(cls, state)


def test_object_arrays_in_the_weights_fail(saved, nothing_built):
    cls, state = saved
    state = copy.deepcopy(state)
    name = next(iter(state["net_"]["module"]))
    state["net_"]["module"][name] = np.array([object()])
    with pytest.raises(ValueError, match="numeric arrays"):
        _load(cls, state)


def test_a_weight_of_another_shape_fails(saved, nothing_built):
    cls, state = saved
    state = copy.deepcopy(state)
    name, value = next(iter(state["net_"]["module"].items()))
    state["net_"]["module"][name] = np.zeros((*np.shape(value), 2))
    with pytest.raises(ValueError, match="shapes"):
        _load(cls, state)


def test_a_crafted_pickle_fails_the_same_way(saved):
    cls, state = saved
    model = _load(cls, copy.deepcopy(state))
    model.__dict__["_fitted_constants"] = {"unknown": 1}
    with pytest.raises(ValueError, match=_INCONSISTENT):
        pickle.loads(pickle.dumps(model))


@pytest.mark.parametrize("name", ["PreferenceRewardRegressor", "PlackettLuceRanker"])
def test_a_crafted_skops_file_trusting_only_skalign_fails(name, tmp_path):
    # The audit's case: a small .skops file with only skalign's class
    # trusted made loading allocate what the file said.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        model = fitted(name)[0]
    model.n_features_in_ = 10**9
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    with pytest.raises(ValueError, match=_INCONSISTENT):
        sio.load(path, trusted=trusted_types(name))


def test_a_skalign_class_stored_as_the_optimizer_is_not_called(tmp_path):
    # A class skalign's users trust is still not an optimiser.
    name = "PreferenceRewardRegressor"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        model = fitted(name)[0]
    model.optimizer = registry.entry(name).estimator
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    with pytest.raises(ValueError, match="optimizer"):
        sio.load(path, trusted=trusted_types(name))
