"""A toy family: the smallest complete estimator on skalign's engine.

``docs/developers/adding_an_estimator.rst`` walks through this file, and
``tests/engine/test_contract.py`` checks the engine's contract through it,
apart from every real family. It is weighted least squares, ``mean_i w_i
(s(x_i) - y_i)² / 2`` plus the engine's L2 penalty, so its answers are known
in closed form.
"""

import numpy as np
import torch
from sklearn.base import RegressorMixin, _fit_context

from skalign._engine import Formulation, Problem, TorchEstimator
from skalign.utils._groups import check_grades, check_sample_weight
from skalign.utils._units import row_units


def squared_error(scores, target, mask, weight):
    """Pure torch loss: weighted mean of ``(s - y)² / 2`` over the units."""
    weight = torch.where(mask, weight, 0.0)
    return 0.5 * (weight * (scores - target) ** 2).sum() / weight.sum()


class ToyRegressor(RegressorMixin, TorchEstimator):
    """Least squares on a scorer (a linear model by default).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(8.0).reshape(4, 2)
    >>> ToyRegressor().fit(X, X @ [1.0, 2.0] + 3).predict(X[:1]).round(4)
    array([5.])
    """

    def __init__(
        self,
        *,
        scorer=None,
        alpha=0.0,
        optimizer="auto",
        lr=None,
        max_epochs=100,
        batch_size="auto",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="cpu",
        dtype="float32",
        callbacks=None,
        warm_start=False,
        verbose=0,
        random_state=None,
    ):
        self.scorer = scorer
        self.alpha = alpha
        self.optimizer = optimizer
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.dtype = dtype
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.verbose = verbose
        self.random_state = random_state

    # The two hooks every family writes: its objective and its problem.
    def _formulation(self):
        # Convex in a linear scorer's weights: full-batch L-BFGS by default.
        return Formulation(losses=(squared_error,), convex=True)

    def _problem(self, X, y, *, constants, sample_weight):
        target = check_grades(y)
        weight = check_sample_weight(sample_weight, X.shape[0])
        return Problem(row_units(X, weight, target=target), self._formulation())

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, sample_weight=None):
        """Fit the scorer by least squares. Returns ``self``."""
        return self._fit(X, y, sample_weight=sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, *, sample_weight=None):
        """One more epoch on ``(X, y)``. Returns ``self``."""
        return self._fit(X, y, epochs=1, incremental=True, sample_weight=sample_weight)

    def predict(self, X):
        """The scorer's output for each row."""
        return self._raw_scores(X)


def least_squares(X, y, weight=None, alpha=0.0):
    """Closed-form reference: intercept unpenalised, ``alpha`` on the slopes
    of the mean loss (the engine's convention)."""
    weight = np.ones(len(y)) if weight is None else np.asarray(weight, float)
    design = np.column_stack([X, np.ones(len(y))])
    gram = design.T @ (weight[:, None] * design) / weight.sum()
    gram[:-1, :-1] += alpha * np.eye(X.shape[1])
    return np.linalg.solve(gram, design.T @ (weight * y) / weight.sum())
