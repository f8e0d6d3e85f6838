"""The engine's contract, checked through the toy family alone.

What every family gets from :class:`skalign._engine.TorchEstimator` by
writing two hooks (see ``toy_family.py``): the exact optimum at defaults on
unscaled data, honest convergence, weights, continuation, transactions,
persistence and scikit-learn's conventions.
"""

import dataclasses
import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.utils.estimator_checks import check_estimator

from skalign.exceptions import ConvergenceWarning
from skalign.nn import MLPScorer

from .toy_family import ToyRegressor, least_squares


def _data(seed=0, n=300):
    rng = np.random.default_rng(seed)
    # Raw, unscaled columns: a dollar amount, a rate and an indicator.
    X = np.column_stack(
        [
            rng.uniform(1e3, 5e4, n),
            rng.uniform(0, 1e-3, n),
            rng.integers(0, 2, n),
        ]
    )
    y = X @ [2e-4, 3e3, -1.5] + 7 + rng.normal(size=n)
    return X, y


def _coef(model):
    linear = model.scorer_.linear
    return np.r_[linear.weight.detach().double().numpy().ravel(), linear.bias.item()]


def test_defaults_reach_the_closed_form_optimum_on_unscaled_data():
    X, y = _data()
    model = ToyRegressor().fit(X, y)
    assert model.converged_
    np.testing.assert_allclose(_coef(model), least_squares(X, y), rtol=1e-5)


def test_alpha_and_sample_weight_follow_the_documented_objective():
    X, y = _data(seed=1)
    weight = np.random.default_rng(1).integers(0, 4, len(y)).astype(float)
    model = ToyRegressor(alpha=1e-3).fit(X / X.std(0), y, sample_weight=weight)
    expected = least_squares(X / X.std(0), y, weight, alpha=1e-3)
    np.testing.assert_allclose(_coef(model), expected, rtol=1e-5, atol=1e-6)


def test_objective_and_history_are_the_objective_at_the_returned_weights():
    X, y = _data()
    model = ToyRegressor().fit(X, y)
    residual = model.predict(X) - y
    assert model.objective_ == pytest.approx(0.5 * np.mean(residual**2), rel=1e-5)
    assert model.history_[-1, "train_loss"] == pytest.approx(model.objective_)


def test_partial_fit_and_warm_start_continue_from_the_fitted_weights():
    X, y = _data()
    model = ToyRegressor(max_epochs=1, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    model.partial_fit(X, y)
    assert len(model.history_) == 2
    model.set_params(warm_start=True, tol=1e-4, max_epochs=50).fit(X, y)
    np.testing.assert_allclose(_coef(model), least_squares(X, y), rtol=1e-5)


def test_a_failed_call_leaves_the_estimator_as_it_was():
    X, y = _data()
    model = ToyRegressor().fit(X, y)
    state = pickle.dumps(model)
    with pytest.raises(ValueError):
        model.fit(X[:, :2], np.full(len(y), np.nan))
    assert pickle.dumps(model) == state
    sgd = ToyRegressor(optimizer="sgd", lr=1e30, max_epochs=3, batch_size=None)
    with pytest.raises(FloatingPointError):
        sgd.fit(X, y)
    assert not hasattr(sgd, "net_")


def test_a_pickled_model_predicts_the_same_and_trains_on():
    X, y = _data()
    model = ToyRegressor(scorer=MLPScorer(hidden_units=(4,)), max_epochs=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X / X.std(0), y)
        restored = pickle.loads(pickle.dumps(model))
        np.testing.assert_array_equal(
            restored.predict(X / X.std(0)), model.predict(X / X.std(0))
        )
        restored.partial_fit(X / X.std(0), y)


def test_fit_does_not_change_torch_global_state():
    X, y = _data()
    threads = torch.get_num_threads()
    torch.manual_seed(0)
    expected = torch.rand(2)
    torch.manual_seed(0)
    ToyRegressor(random_state=0).fit(X, y)
    assert torch.equal(torch.rand(2), expected)
    assert torch.get_num_threads() == threads


def test_the_toy_family_passes_scikit_learns_checks():
    # A small ridge penalty: the checks' data have more features than rows,
    # where unpenalised least squares has no unique solution.
    # tol=1e-9: the sample-weight checks compare two fits to 1e-7.
    check_estimator(clone(ToyRegressor(dtype="float64", alpha=1e-2, tol=1e-9)))


def _normal_equations(module, X, targets, *, max_iter, tol, record):
    """A formulation's own solver: weighted least squares in closed form,
    written to the linear scorer, with its objective recorded."""
    y, weight = targets["target"][:, 0], targets["weight"][:, 0]
    design = torch.cat([X, torch.ones_like(X[:, :1])], 1)
    gram = design.T @ (weight[:, None] * design)
    solution = torch.linalg.solve(gram, design.T @ (weight * y))
    with torch.no_grad():
        module.linear.weight.copy_(solution[:-1][None, :])
        module.linear.bias.copy_(solution[-1:])
        residual = design @ solution - y
    record(0.5 * float((weight * residual**2).sum() / weight.sum()))
    return True


class _OwnSolverToy(ToyRegressor):
    """The toy family with a solver of its own (``Formulation.solve``)."""

    def _formulation(self):
        return dataclasses.replace(super()._formulation(), solve=_normal_equations)


def test_a_formulations_own_solver_runs_inside_the_engine():
    """``Formulation.solve`` replaces the optimiser only: the fit gets the
    engine's validation, history, objective, persistence and transactions."""
    X, y = _data()
    model = _OwnSolverToy(dtype="float64").fit(X, y)
    np.testing.assert_allclose(_coef(model), least_squares(X, y), rtol=1e-8)
    assert model.converged_ and model.n_iter_ == len(model.history_) == 1
    residual = model.predict(X) - y
    np.testing.assert_allclose(model.objective_, 0.5 * np.mean(residual**2), rtol=1e-8)
    assert model.history_[-1]["train_loss"] == model.objective_
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.predict(X), model.predict(X))
    before = model.predict(X)
    with pytest.raises(ValueError):
        model.fit(X[:, :2], np.full(len(y), np.nan))
    np.testing.assert_array_equal(model.predict(X), before)


def test_a_solver_reaching_a_non_finite_objective_raises_and_changes_nothing():
    def diverging(module, X, targets, *, max_iter, tol, record):
        with torch.no_grad():
            module.linear.weight.fill_(float("inf"))
        record(float("inf"))
        return False

    class Diverging(ToyRegressor):
        def _formulation(self):
            return dataclasses.replace(super()._formulation(), solve=diverging)

    X, y = _data()
    model = Diverging()
    with pytest.raises(FloatingPointError):
        model.fit(X, y)
    assert not hasattr(model, "net_")
