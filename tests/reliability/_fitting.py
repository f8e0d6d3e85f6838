"""Fit data and fitted instances for the reliability suite.

Each estimator is fitted on the data of its kind in the registry
(``tests/_registry.py``): rankers and reward models take ``groups``, fairness
estimators ``sensitive_features``, calibrators take scores as ``X``, ordinal
estimators ordered labels.
"""

import warnings

import numpy as np

from skalign.exceptions import ConvergenceWarning

from .. import _registry as registry

N_ROWS = 40
N_FEATURES = 3


def fit_data(name, n=N_ROWS, seed=0):
    """``(X, y, fit_kwargs)`` of estimator ``name``: ``n`` rows, signal in
    the first feature, every class present."""
    kind = registry.entry(name).kind
    rng = np.random.default_rng(seed)
    if kind == "scores":
        y = np.arange(n) % 2
        X = (2.0 * y - 1.0 + rng.normal(size=n))[:, None]
        return X, y, {}
    X = rng.normal(size=(n, N_FEATURES))
    signal = X[:, 0] + 0.5 * rng.normal(size=n)
    if kind == "rewards":
        return X, None, {}
    if kind == "grouped":
        groups = np.arange(n) // 4
        return X, np.round(signal, 1), {"groups": groups}
    if kind in ("continuous", "fair"):
        y = signal
    elif kind == "binary":
        y = (np.argsort(np.argsort(signal)) >= n // 2).astype(int)
    else:
        # Three classes by rank, so every class is present at any seed.
        y = np.argsort(np.argsort(signal)) * 3 // n
    kwargs = {}
    if kind.startswith("fair"):
        kwargs["sensitive_features"] = np.where(np.arange(n) % 2 == 0, "a", "b")
    return X, y, kwargs


def fitted(name, **params):
    """A fitted instance with its fit data: ``(estimator, X, y, kwargs)``."""
    X, y, kwargs = fit_data(name)
    with warnings.catch_warnings():
        # A few epochs on tiny data: not converging is expected.
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        model = registry.make(name, **params)
        model = model.fit(X, **kwargs) if y is None else model.fit(X, y, **kwargs)
    return model, X, y, kwargs


def outputs(estimator, X):
    """Every prediction the estimator offers on ``X``, as a dict of arrays."""
    out = {}
    for method in ("predict", "predict_proba", "decision_function", "transform"):
        if hasattr(estimator, method):
            out[method] = np.asarray(getattr(estimator, method)(X))
    return out
