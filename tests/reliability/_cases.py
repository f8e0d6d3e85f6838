"""The bad-input case matrix: every estimator × every kind of bad input.

:func:`case_data` builds the input of a case for an estimator (or returns the
reason it does not apply) and :func:`expected` says what must happen: an
error of a given type whose message names the argument, or ``"ok"`` (a fit
whose outputs and parameters are finite). ``python -m
tests.reliability._cases`` prints the matrix with the observed outcomes.
"""

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from .. import _registry as registry
from ._fitting import fit_data, outputs

CASES = (
    "nan_X",
    "inf_X",
    "nan_y",
    "empty",
    "X_1d",
    "n_features_at_predict",
    "object_numbers",
    "strings",
    "pandas_categorical",
    "sparse",
    "float16",
    "int",
    "sample_weight_length",
    "sample_weight_nan",
    "groups_length",
    "groups_nan",
    "single_row_groups",
    "some_single_row_groups",
    "all_tied_groups",
    "some_tied_groups",
    "sensitive_length",
    "sensitive_nan",
    "extreme_1e4",
    "extreme_1e30",
    "extreme_1e30_float32",
    "grades_offset_1e12",
    "grades_scale_1e12",
    "sample_weight_overflow",
    "torch_tensor",
    "scores_scale_1e15",
)

_NUMERIC = r"(X|scores) must be numeric"


class NotApplicable(Exception):
    """The case does not apply to the estimator (the message says why)."""


def _fit_keywords(name):
    import inspect

    return set(inspect.signature(registry.entry(name).estimator.fit).parameters)


def case_data(name, case):
    """``(X, y, fit_kwargs, params)`` of ``case`` for estimator ``name``.

    Raises :class:`NotApplicable` when the case cannot apply.
    """
    X, y, kwargs = fit_data(name)
    kind = registry.entry(name).kind
    keywords = _fit_keywords(name)
    n = X.shape[0]
    params = {}

    def with_kwargs(**extra):
        return X, y, {**kwargs, **extra}, params

    if case in ("nan_X", "inf_X"):
        X = X.copy()
        X[3, 0] = np.nan if case == "nan_X" else np.inf
        return X, y, kwargs, params
    if case == "nan_y":
        if y is None:
            raise NotApplicable("unsupervised (no y)")
        y = np.asarray(y, dtype=float).copy()
        y[2] = np.nan
        return X, y, kwargs, params
    if case == "empty":
        return (
            X[:0],
            None if y is None else y[:0],
            {key: value[:0] for key, value in kwargs.items()},
            params,
        )
    if case == "X_1d":
        return X[:, 0], y, kwargs, params
    if case == "n_features_at_predict":
        return X, y, kwargs, params
    if case == "object_numbers":
        return X.astype(object), y, kwargs, params
    if case == "strings":
        return np.where(X > 0, "high", "low"), y, kwargs, params
    if case == "pandas_categorical":
        frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
        frame["f0"] = pd.Categorical(np.where(X[:, 0] > 0, "high", "low"))
        return frame, y, kwargs, params
    if case == "sparse":
        return sp.csr_matrix(X), y, kwargs, params
    if case == "torch_tensor":
        # X, y and the numeric fit keywords as tensors (one requiring grad).
        def tensor(value):
            if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
                return torch.from_numpy(value.copy())
            return value

        return (
            torch.tensor(X, requires_grad=True),
            tensor(y),
            {key: tensor(value) for key, value in kwargs.items()},
            params,
        )
    if case == "float16":
        return X.astype(np.float16), y, kwargs, params
    if case == "int":
        return np.round(3 * X).astype(np.int64), y, kwargs, params
    if case.startswith("sample_weight"):
        if "sample_weight" not in keywords:
            raise NotApplicable("fit takes no sample_weight")
        if case == "sample_weight_length":
            return with_kwargs(sample_weight=np.ones(n - 1))
        if case == "sample_weight_overflow":
            return with_kwargs(sample_weight=np.full(n, 1e308))
        weight = np.ones(n)
        weight[1] = np.nan
        return with_kwargs(sample_weight=weight)
    if case.startswith("groups") or case.endswith("groups"):
        if kind != "grouped":
            raise NotApplicable("no groups in its objective")
        groups = kwargs["groups"]
        if case == "groups_length":
            return with_kwargs(groups=groups[:-1])
        if case == "groups_nan":
            groups = groups.astype(float)
            groups[0] = np.nan
            return with_kwargs(groups=groups)
        if case == "single_row_groups":
            return with_kwargs(groups=np.arange(n))
        if case == "some_single_row_groups":
            # The last group split into single rows: ignored, the rest fits.
            groups = groups.copy()
            groups[-4:] = -np.arange(1, 5)
            return with_kwargs(groups=groups)
        tied = np.asarray(y, dtype=float).copy()
        rows = slice(None) if case == "all_tied_groups" else slice(0, 4)
        tied[rows] = groups[rows]
        return X, tied, kwargs, params
    if case.startswith("sensitive"):
        if "sensitive_features" not in kwargs:
            raise NotApplicable("no sensitive_features in its objective")
        sensitive = kwargs["sensitive_features"]
        if case == "sensitive_length":
            return with_kwargs(sensitive_features=sensitive[:-1])
        sensitive = sensitive.astype(object)
        sensitive[0] = None
        return with_kwargs(sensitive_features=sensitive)
    if case == "scores_scale_1e15":
        if kind != "scores":
            raise NotApplicable("takes no scores")
        return X * 1e15, y, kwargs, params
    if case.startswith("grades_"):
        if kind not in ("grouped", "continuous", "fair"):
            raise NotApplicable("no grades or regression targets")
        if case == "grades_offset_1e12":
            return X, y + 1e12, kwargs, params
        return X, y * 1e12, kwargs, params
    if case.startswith("extreme"):
        magnitude = 1e4 if case == "extreme_1e4" else 1e30
        if case.endswith("float32"):
            if not registry.entry(name).accepts("dtype"):
                raise NotApplicable("fits in float64 only")
            params = {"dtype": "float32"}
        if kind in ("grouped", "continuous", "fair"):
            # Grades and regression targets of that magnitude.
            return X, y * magnitude, kwargs, params
        # Logits (calibrators), rewards or features of that magnitude.
        return X * magnitude, y, kwargs, params
    raise KeyError(case)


def expected(name, case):
    """``"ok"`` or ``(error type, message pattern)`` for ``case``."""
    kind = registry.entry(name).kind
    wraps = name == "CalibratedEstimator"
    if case in ("nan_X", "inf_X"):
        return ValueError, r"Input X contains (NaN|infinity)"
    if case == "nan_y":
        return ValueError, r"Input y contains NaN"
    if case == "empty":
        return ValueError, (
            r"0 sample|at least 2 samples in X|sensitive_features is empty"
        )
    if case == "X_1d":
        if kind == "scores":
            return "ok"  # documented: the positive class's binary scores
        return ValueError, r"X must be 2-dimensional|Expected 2D array"
    if case == "n_features_at_predict":
        return ValueError, r"X has \d+ features, but \w+ is expecting \d+"
    if case in ("strings", "pandas_categorical"):
        if wraps:
            # Features go to the wrapped estimator, which may encode them.
            return ValueError, r"could not convert string to float"
        return ValueError, _NUMERIC + (r".*\['f0'\]" if "pandas" in case else "")
    if case == "sparse":
        if registry.entry(name).estimator().__sklearn_tags__().input_tags.sparse:
            return "ok"
        if wraps:
            return "ok"  # the default LogisticRegression takes sparse X
        return TypeError, r"Sparse data was passed for X, but dense data"
    if case == "sample_weight_length":
        return ValueError, r"sample_weight\.shape == \(\d+,\), expected"
    if case == "sample_weight_nan":
        return ValueError, r"Input sample_weight contains NaN"
    if case == "sample_weight_overflow":
        return ValueError, r"sample_weight sums to inf"
    if case == "groups_length":
        return ValueError, r"groups has \d+ entries but X has \d+ rows"
    if case == "groups_nan":
        return ValueError, r"groups contains NaN"
    if case in ("single_row_groups", "all_tied_groups"):
        return ValueError, r"No group has two rows with different grades"
    if case == "sensitive_length":
        return ValueError, r"sensitive_features has \d+ rows but X has \d+"
    if case == "sensitive_nan":
        return ValueError, r"sensitive_features has 1 missing values"
    return "ok"


def outcome(name, case):
    """The observed outcome of ``case``: ``"ok"``, ``"n/a: ..."`` or the
    raised exception (returned, not raised)."""
    try:
        X, y, kwargs, params = case_data(name, case)
    except NotApplicable as exc:
        return f"n/a: {exc}"
    estimator = registry.make(name, **params)
    try:
        if y is None:
            estimator.fit(X, **kwargs)
        else:
            estimator.fit(X, y, **kwargs)
        X_good = fit_data(name)[0]
        if case == "n_features_at_predict":
            outputs(estimator, np.hstack([X_good, X_good]))
        else:
            outputs(estimator, X_good)
    except (ValueError, TypeError) as exc:
        return exc
    return estimator


def _label(result):
    if isinstance(result, str):
        return "n/a"
    if isinstance(result, Exception):
        return {ValueError: "VE", TypeError: "TE"}.get(type(result), "ERR")
    return "ok"


def print_matrix():
    """Print the estimator × case table of observed outcomes."""
    import warnings

    warnings.simplefilter("ignore")
    short = [c.replace("sample_weight", "sw").replace("_groups", "_grp") for c in CASES]
    print("estimator | " + " | ".join(short))
    print("--- | " + " | ".join("---" for _ in CASES))
    for name in registry.names():
        cells = [_label(outcome(name, case)) for case in CASES]
        print(f"{name} | " + " | ".join(cells))


if __name__ == "__main__":
    print_matrix()
