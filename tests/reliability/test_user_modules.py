"""Saving an estimator whose ``scorer`` is the user's own torch module
(issue 14, defect 6): pickle, joblib and skops, unfitted and fitted.

skops cannot store tensors, so a user module is saved as plain data (its
class, attributes, parameters and buffers as arrays, children); loading it
with skops trusts only the module classes, as the persistence guide says.
"""

import pickle
import warnings

import numpy as np
import pytest
import skops.io as sio
import torch

from skalign.preference import PreferenceRewardRegressor
from skalign.ranking import PlackettLuceRanker


class ScaledMLP(torch.nn.Module):
    """A user module with a child, a buffer and a plain attribute."""

    def __init__(self, n_features, width=4):
        super().__init__()
        self.width = width
        self.body = torch.nn.Sequential(
            torch.nn.Linear(n_features, width), torch.nn.Tanh()
        )
        self.head = torch.nn.Linear(width, 1)
        self.register_buffer("scale", torch.tensor(2.0))

    def forward(self, X):
        return self.scale * self.head(self.body(X))[:, 0]


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.round(X[:, 0] + 0.3 * rng.normal(size=60), 1)
    return X, y, np.arange(60) // 4


def _sequential():
    return torch.nn.Sequential(
        torch.nn.Linear(3, 4),
        torch.nn.ReLU(),
        torch.nn.Linear(4, 1),
        torch.nn.Flatten(0),
    )


MODELS = [
    pytest.param(lambda: PreferenceRewardRegressor(scorer=_sequential()), id="seq"),
    pytest.param(lambda: PlackettLuceRanker(scorer=ScaledMLP(3)), id="custom"),
]


def _fit(model):
    X, y, groups = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        return model.set_params(max_epochs=3, random_state=0).fit(X, y, groups=groups)


def _skops_round_trip(model, tmp_path):
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    untrusted = sio.get_untrusted_types(file=path)
    # Only the estimator and the module classes: no torch tensor or storage.
    assert all(
        name.startswith(("skalign.", "torch.nn.modules.", __name__))
        for name in untrusted
    ), untrusted
    return sio.load(path, trusted=untrusted)


@pytest.mark.parametrize("make", MODELS)
def test_an_unfitted_estimator_with_a_user_module_saves_with_skops(make, tmp_path):
    model = make()
    loaded = _skops_round_trip(model, tmp_path)
    original, restored = model.scorer, loaded.scorer
    assert type(restored) is type(original)
    for (k1, v1), (k2, v2) in zip(
        original.state_dict().items(), restored.state_dict().items()
    ):
        assert k1 == k2
        torch.testing.assert_close(v1, v2)
    # The restored module trains like the original.
    X = _data()[0]
    np.testing.assert_allclose(
        _fit(loaded).predict(X), _fit(make()).predict(X), rtol=1e-6
    )


@pytest.mark.parametrize("make", MODELS)
@pytest.mark.parametrize("fmt", ["skops", "pickle"])
def test_a_fitted_estimator_with_a_user_module_round_trips(make, fmt, tmp_path):
    model = _fit(make())
    if fmt == "skops":
        loaded = _skops_round_trip(model, tmp_path)
    else:
        loaded = pickle.loads(pickle.dumps(model))
    X, y, groups = _data()
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    # It trains on: the loaded scorer parameter is the fitted objective's.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        loaded.partial_fit(X, y, groups=groups)
    assert np.all(np.isfinite(loaded.predict(X)))


def test_a_scorer_tree_naming_a_non_module_class_fails_clearly(tmp_path):
    state = PreferenceRewardRegressor(scorer=_sequential()).__getstate__()
    state["scorer"]["class"] = dict
    model = PreferenceRewardRegressor.__new__(PreferenceRewardRegressor)
    with pytest.raises(ValueError, match="not a torch module class"):
        model.__setstate__(state)
