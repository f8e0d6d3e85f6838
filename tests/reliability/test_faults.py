"""Training faults: interrupts, resuming, skorch checkpoints, divergence."""

import warnings

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback, Checkpoint

from skalign.exceptions import ConvergenceWarning

from .. import _registry as registry
from ._fitting import fit_data, outputs

# Estimators trained by the engine that take skorch callbacks.
CALLBACK_NAMES = [n for n in registry.names() if registry.entry(n).accepts("callbacks")]
LR_NAMES = [n for n in registry.names() if registry.entry(n).accepts("lr")]


class _Interrupt(Callback):
    """Raises KeyboardInterrupt at the end of epoch ``epoch`` (or at batch
    ``batch`` of the epoch after it) and records the weights it saw."""

    def __init__(self, epoch, batch=None):
        self.epoch = epoch
        self.batch = batch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            self.weights_ = {
                k: v.detach().clone() for k, v in net.module_.state_dict().items()
            }
            if self.batch is None:
                raise KeyboardInterrupt

    def on_batch_end(self, net, **kwargs):
        done = len(net.history[-1]["batches"])
        if self.batch is not None and len(net.history) == self.epoch + 1:
            if done == self.batch:
                raise KeyboardInterrupt


def _fit(name, callbacks, **params):
    X, y, kwargs = fit_data(name)
    model = registry.make(
        name, max_epochs=10, optimizer="adam", callbacks=callbacks, **params
    )
    with pytest.warns(ConvergenceWarning, match="interrupted.*after 3 completed"):
        model.fit(X, y, **kwargs)
    return model, X, y, kwargs


def _assert_weights(model, weights):
    state = model.net_.module_.state_dict()
    assert state.keys() == weights.keys()
    for key, value in weights.items():
        torch.testing.assert_close(state[key], value, rtol=0, atol=0)


@pytest.mark.parametrize("name", CALLBACK_NAMES)
def test_keyboard_interrupt_keeps_the_last_epoch_and_resumes(name):
    interrupt = _Interrupt(epoch=3)
    model, X, y, kwargs = _fit(name, [interrupt])
    assert len(model.history_) == model.n_iter_ == 3
    _assert_weights(model, interrupt.weights_)
    assert np.isfinite(model.predict(X)).all()
    # Resume: warm_start continues from epoch 3 (the interrupt is spent).
    interrupt.epoch = -1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        model.set_params(warm_start=True, max_epochs=2).fit(X, y, **kwargs)
    assert len(model.history_) == 5


@pytest.mark.parametrize("name", ["PlackettLuceRanker", "FairRegressor"])
def test_an_interrupt_inside_an_epoch_rolls_back_to_the_last_complete_one(name):
    interrupt = _Interrupt(epoch=3, batch=2)
    model = _fit(name, [interrupt], batch_size=8)[0]
    assert len(model.history_) == 3
    assert "train_loss" in model.history_[-1]
    _assert_weights(model, interrupt.weights_)


@pytest.mark.parametrize(
    "name",
    [n for n in CALLBACK_NAMES if hasattr(registry.entry(n).estimator, "partial_fit")],
)
def test_partial_fit_resumes_after_an_interrupt(name):
    interrupt = _Interrupt(epoch=3)
    model, X, y, kwargs = _fit(name, [interrupt])
    interrupt.epoch = -1
    model.partial_fit(X, y, **kwargs)
    assert len(model.history_) == 4


@pytest.mark.parametrize("name", CALLBACK_NAMES)
def test_skorch_checkpoint_restores_the_predictions(name, tmp_path):
    X, y, kwargs = fit_data(name)
    checkpoint = Checkpoint(monitor=None, dirname=str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        model = registry.make(
            name, max_epochs=3, optimizer="adam", callbacks=[checkpoint]
        )
        model.fit(X, y, **kwargs)
        fresh = registry.make(name, max_epochs=1, optimizer="adam").fit(X, y, **kwargs)
    trained = outputs(model, X)
    assert any(not np.array_equal(v, trained[k]) for k, v in outputs(fresh, X).items())
    fresh.net_.load_params(checkpoint=checkpoint)
    for method, values in outputs(fresh, X).items():
        np.testing.assert_array_equal(values, trained[method], err_msg=method)


@pytest.mark.parametrize("name", LR_NAMES)
def test_a_diverging_loss_names_the_learning_rate(name):
    X, y, kwargs = fit_data(name)
    model = registry.make(
        name, optimizer="sgd", lr=1e37, dtype="float32", max_epochs=10
    )
    with pytest.raises(FloatingPointError, match=r"diverged.*lower lr \(currently"):
        model.fit(100 * X, y, **kwargs)
    assert not hasattr(model, "net_")


def test_a_loss_that_overflows_before_any_update_names_the_dtype():
    X, y, kwargs = fit_data("FairRegressor")
    # Adam trains in float32; full-batch L-BFGS would solve in float64, where
    # squared errors of 1e60 are fine.
    # A user's module (which may have no bias) sees the targets as given;
    # skalign's scorers get them centred, and refused by name when a
    # mini-batch optimiser cannot reach them (tests/reliability/
    # test_target_offsets.py).
    scorer = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 1), torch.nn.Flatten(0))
    model = registry.make(
        "FairRegressor", dtype="float32", optimizer="adam", scorer=scorer
    )
    with pytest.raises(ValueError, match=r"before the first update.*float64"):
        model.fit(X, y * 1e30, **kwargs)
