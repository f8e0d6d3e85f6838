"""Saving and loading every fitted estimator: pickle, joblib, skops, a GPU
model loaded on a CPU-only machine, and models saved by other versions."""

import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
import skops.io as sio
import torch

import skalign
from skalign._engine import TorchEstimator
from skalign.exceptions import DeviceWarning, InconsistentVersionWarning

from .. import _registry as registry
from ._fitting import fit_data, fitted, outputs

TORCH_NAMES = [
    name
    for name in registry.names()
    if issubclass(registry.entry(name).estimator, TorchEstimator)
]


def _qualname(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def trusted_types(name):
    """The skops types to trust for a registry instance: its own class, plus
    the default calibrator inside a CalibratedEstimator and the class of a
    fairness penalty (a parameter that is an object adds its type)."""
    types = [_qualname(registry.entry(name).estimator)]
    if name == "CalibratedEstimator":
        types.append(_qualname(registry.entry("TemperatureScaling").estimator))
    penalty = registry.make(name).get_params().get("fairness_penalty")
    if penalty is not None:
        types.append(_qualname(type(penalty)))
    return sorted(types)


@pytest.fixture(scope="module", params=registry.names())
def fitted_model(request):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        return (request.param, *fitted(request.param))


def _assert_same_outputs(a, b, X):
    out_a, out_b = outputs(a, X), outputs(b, X)
    assert out_a.keys() == out_b.keys()
    for method, values in out_a.items():
        np.testing.assert_array_equal(out_b[method], values, err_msg=method)


def test_pickle_round_trip(fitted_model):
    _, model, X, _, _ = fitted_model
    loaded = pickle.loads(pickle.dumps(model))
    _assert_same_outputs(model, loaded, X)
    assert model.__getstate__()["_skalign_version"] == skalign.__version__


def test_joblib_round_trip(fitted_model, tmp_path):
    name, model, X, _, _ = fitted_model
    joblib.dump(model, tmp_path / "model.joblib")
    _assert_same_outputs(model, joblib.load(tmp_path / "model.joblib"), X)
    # Memory-mapped arrays are read-only: the loaded model must not alias them.
    mapped = joblib.load(tmp_path / "model.joblib", mmap_mode="r")
    _assert_same_outputs(model, mapped, X)
    if hasattr(mapped, "partial_fit") and hasattr(mapped, "net_"):
        X_fit, y, kwargs = fit_data(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=Warning)
            mapped.partial_fit(X_fit, y, **kwargs)


def test_skops_round_trip_with_the_documented_trusted_types(fitted_model, tmp_path):
    name, model, X, _, _ = fitted_model
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    assert sorted(sio.get_untrusted_types(file=path)) == trusted_types(name)
    loaded = sio.load(path, trusted=trusted_types(name))
    _assert_same_outputs(model, loaded, X)


def test_skops_refuses_untrusted_types(tmp_path):
    model = fitted("PreferenceRewardRegressor")[0]
    sio.dump(model, tmp_path / "model.skops")
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.load(tmp_path / "model.skops")


class _TensorSpy(pickle.Pickler):
    """Records every tensor pickled: a tensor in a saved model would keep the
    device it was trained on."""

    def __init__(self, file):
        super().__init__(file)
        self.tensors = []

    def reducer_override(self, obj):
        if isinstance(obj, torch.Tensor):
            self.tensors.append(obj)
        return NotImplemented


@pytest.mark.parametrize("name", TORCH_NAMES)
def test_a_saved_model_holds_no_tensor(name):
    model = fitted(name)[0]
    spy = _TensorSpy(io.BytesIO())
    spy.dump(model)
    assert spy.tensors == []


@pytest.mark.parametrize("name", TORCH_NAMES)
def test_a_gpu_model_loads_on_a_cpu_only_machine(name, monkeypatch):
    # No GPU here: save a CPU model whose net says it lives on cuda (all a
    # saved model keeps of its device), then load with CUDA unavailable.
    # TemperatureScaling's default Newton solver does not use torch.
    params = {"solver": "lbfgs"} if name == "TemperatureScaling" else {}
    model, X, _, _ = fitted(name, **params)
    state = model.__getstate__()
    state["net_"] = {**state["net_"], "device": "cuda:0"}
    data = pickle.dumps(state)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loaded = type(model).__new__(type(model))
    with pytest.warns(DeviceWarning, match="trained on cuda:0.*loaded on the CPU"):
        loaded.__setstate__(pickle.loads(data))
    assert torch.device(loaded.net_.device).type == "cpu"
    _assert_same_outputs(model, loaded, X)


def test_a_model_saved_by_another_version_warns():
    model, X, _, _ = fitted("ProportionalOddsClassifier")
    state = model.__getstate__()
    state["_skalign_version"] = "0.0.1"
    loaded = type(model).__new__(type(model))
    with pytest.warns(InconsistentVersionWarning, match="saved by skalign 0.0.1"):
        loaded.__setstate__(state)
    _assert_same_outputs(model, loaded, X)


@pytest.mark.parametrize(
    "name, key",
    [
        ("PreferenceRewardRegressor", "n_iter_"),
        ("PrestoClassifier", "thresholds_"),
        ("IsotonicCalibrator", "input_"),
        ("RewardTransformer", "n_features_in_"),
    ],
)
def test_a_state_in_an_unreadable_format_fails_naming_the_versions(name, key):
    model = fitted(name)[0]
    state = model.__getstate__()
    state["_skalign_version"] = "0.0.1"
    del state[key]
    loaded = type(model).__new__(type(model))
    with pytest.raises(ValueError, match=rf"saved by skalign 0.0.1.*{key}"):
        loaded.__setstate__(state)


def test_a_net_state_in_an_unreadable_format_fails():
    model = fitted("GeneralPreferenceModel")[0]
    state = model.__getstate__()
    del state["net_"]["optimizer"]
    with pytest.raises(ValueError, match=r"skalign .*cannot read.*'optimizer'"):
        type(model).__new__(type(model)).__setstate__(state)


@pytest.mark.parametrize("name", ["PlackettLuceRanker", "FairClassifier"])
def test_a_loaded_model_trains_on(name):
    model, X, y, kwargs = fitted(name)
    loaded = pickle.loads(pickle.dumps(model))
    n_epochs = len(loaded.history_)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        loaded.set_params(warm_start=True, max_epochs=2).fit(X, y, **kwargs)
    assert len(loaded.history_) > n_epochs
    assert np.isfinite(loaded.predict(X)).all()


def test_the_persistence_guide_runs(tmp_path, monkeypatch):
    # The code blocks of docs/user_guide/persistence.rst, in order.
    import pathlib
    import re

    guide = pathlib.Path(__file__).parents[2] / "docs/user_guide/persistence.rst"
    if not guide.exists():
        pytest.skip("documentation sources are not installed")
    blocks = re.findall(
        r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", guide.read_text()
    )
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        for block in blocks:
            exec("\n".join(line[4:] for line in block.splitlines()), namespace)
