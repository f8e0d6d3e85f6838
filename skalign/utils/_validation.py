"""Checks that run before scikit-learn's ``validate_data``, so that bad
feature input fails with a message naming the argument and the problem."""

import functools
import inspect

import numpy as np
import scipy.sparse as sp
import torch

__all__ = [
    "accepts_tensors",
    "check_features",
    "column_moments",
    "from_torch",
    "resolve_device",
]


def from_torch(value, name="X"):
    """A torch tensor as a numpy array (anything else is returned as is).

    scikit-learn's estimators take torch tensors through ``np.asarray``;
    skalign does the same, once, at the entry of every public method. A CPU
    tensor is shared, not copied; a tensor on another device is copied to
    the CPU; a tensor that requires a gradient is detached; ``bfloat16`` and
    the float8 types, which numpy cannot represent, become ``float32``.

    Examples
    --------
    >>> import torch
    >>> from skalign.utils._validation import from_torch
    >>> from_torch(torch.ones(2, requires_grad=True))
    array([1., 1.], dtype=float32)
    """
    if not isinstance(value, torch.Tensor):
        return value
    if value.layout != torch.strided:
        raise TypeError(
            f"{name} is a sparse torch tensor (layout {value.layout}); pass "
            f"{name}.to_dense(), or a scipy.sparse matrix for sparse data."
        )
    tensor = value.detach()
    if tensor.dtype not in _NUMPY_DTYPES:
        if not tensor.is_floating_point():
            raise TypeError(
                f"{name} is a torch tensor of dtype {tensor.dtype}, which has no "
                "numpy equivalent; convert it, e.g. with .float()."
            )
        # bfloat16 and the float8 types: float32 holds their values exactly.
        tensor = tensor.to(torch.float32)
    return tensor.cpu().numpy()


def accepts_tensors(function):
    """Decorate a public function so that every torch tensor argument goes
    through :func:`from_torch` (named after its parameter)."""
    signature = inspect.signature(function)

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        for name, value in bound.arguments.items():
            if type(value) is dict:  # not a dict subclass (scipy's dok matrix)
                # e.g. calibration_report's {model name: probabilities}
                value = {k: from_torch(v, f"{name}[{k!r}]") for k, v in value.items()}
            bound.arguments[name] = from_torch(value, name)
        return function(*bound.args, **bound.kwargs)

    return wrapper


_NUMPY_DTYPES = {
    torch.bool,
    torch.uint8,
    torch.int8,
    torch.int16,
    torch.int32,
    torch.int64,
    torch.float16,
    torch.float32,
    torch.float64,
    torch.complex64,
    torch.complex128,
    *(
        getattr(torch, name)
        for name in ("uint16", "uint32", "uint64")
        if hasattr(torch, name)
    ),
}


def check_features(X, *, input_name="X", allow_1d=False):
    """Reject 1-D and non-numeric feature input with a message naming it.

    scikit-learn's own messages for these cases (``could not convert string
    to float: 'a'``, ``Expected 2D array``) do not say which argument is at
    fault; everything else (NaN, infinity, shapes, sparse formats) is left to
    ``validate_data``.

    Parameters
    ----------
    X : array-like, DataFrame or sparse matrix
        The input to check.
    input_name : str, default="X"
        The argument's name, used in the messages.
    allow_1d : bool, default=False
        Whether a 1-D input is valid (e.g. a binary calibrator's scores).

    Returns
    -------
    X : the input, a torch tensor converted by :func:`from_torch`.

    Raises
    ------
    ValueError
        If ``X`` is 1-D (unless allowed) or holds values that are not numbers
        (strings, categories); a DataFrame's offending columns are named.
    TypeError
        If ``X`` holds objects that are neither numbers nor strings.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.utils._validation import check_features
    >>> check_features(np.array([["a", "b"]]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: X must be numeric, but it holds non-numeric values of dtype <U1 (...
    """
    X = from_torch(X, input_name)
    if X is None or sp.issparse(X):
        return X
    dtypes = getattr(X, "dtypes", None)
    if dtypes is not None and hasattr(dtypes, "items"):
        # A DataFrame: only columns of a non-numeric kind (object, string,
        # category) need a conversion attempt.
        bad = [
            str(column)
            for column, dtype in dtypes.items()
            if getattr(dtype, "kind", "O") not in "biuf" and not _converts(X[column])
        ]
        if bad:
            raise ValueError(
                f"{input_name} must be numeric, but its column(s) {bad} hold "
                "non-numeric values (strings or categories). Encode them first, "
                "e.g. with sklearn.preprocessing.OneHotEncoder in a "
                "ColumnTransformer."
            )
        return X
    array = X if hasattr(X, "dtype") and hasattr(X, "ndim") else np.asarray(X)
    if array.ndim == 1 and not allow_1d:
        raise ValueError(
            f"{input_name} must be 2-dimensional (n_samples, n_features); got a "
            f"1-D array of shape {array.shape}. Reshape your data with "
            f"{input_name}.reshape(-1, 1) for a single feature, or "
            f"{input_name}.reshape(1, -1) for a single sample."
        )
    if array.dtype.kind in "OUSV":
        try:
            np.asarray(array, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            # The same type as numpy's error (TypeError for objects that are
            # neither numbers nor strings), with numpy's reason appended.
            raise type(exc)(
                f"{input_name} must be numeric, but it holds non-numeric values "
                f"of dtype {array.dtype} ({exc}). Encode them first, e.g. with "
                "sklearn.preprocessing.OneHotEncoder."
            ) from exc
    return X


def _converts(values):
    try:
        np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return True


def resolve_device(device):
    """The ``torch.device`` a ``device`` parameter names, or a clear error.

    ``"auto"`` is CUDA when available, else the CPU. Only CPU and CUDA
    devices are supported: ``"meta"``, ``"mps"`` and names torch does not
    know are refused before anything is allocated.
    """
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a device torch knows; use 'cpu', "
            "'cuda', 'cuda:<index>' or 'auto'."
        ) from exc
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(
            f"device={device!r} is not supported: skalign trains on 'cpu' or "
            "'cuda' ('auto' picks CUDA when available)."
        )
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available "
                "(torch.cuda.is_available() is False); use device='cpu' or "
                "device='auto'."
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} names GPU {resolved.index}, but only "
                f"{torch.cuda.device_count()} are visible."
            )
    return resolved


def column_moments(X, weight=None):
    """Weighted mean and standard deviation (1 where zero) of each column of
    ``X``, dense or scipy sparse, in float64: the input scaling of a
    standardising scorer (:meth:`skalign.nn.MLPScorer.set_input_scaling`).
    ``weight`` (one per row, default equal) counts rows as multiplicities."""
    n_rows = X.shape[0]
    weight = np.ones(n_rows) if weight is None else np.asarray(weight, np.float64)
    total = weight.sum()
    if not total > 0:
        weight, total = np.ones(n_rows), float(n_rows)
    weight = weight / total
    if sp.issparse(X):
        # Not centred (that would densify X): sparse columns are mostly
        # zero, so their mean square does not dwarf their variance.
        mean = np.asarray(X.T @ weight).ravel()
        square = np.asarray(X.multiply(X).T @ weight).ravel()
        variance = np.maximum(square - mean**2, 0.0)
    else:
        if not (X.flags.c_contiguous or X.flags.f_contiguous):
            # A strided view (e.g. of a tensor) is summed in the order of a
            # copy, so that the moments do not depend on the memory layout.
            X = np.ascontiguousarray(X)
        # Two passes: a column far from zero (an offset of 5e4 on a spread
        # of 1) keeps its variance exact.
        mean = weight @ X
        variance = weight @ np.square(X - mean, dtype=np.float64)
    scale = np.sqrt(variance)
    return mean, np.where(scale > 0, scale, 1.0)
