"""Encoding of protected attributes for distance-based dependence measures.

The one place that validates ``sensitive_features`` (fairlearn's name for
them) and turns a DataFrame or array of mixed categorical and continuous
columns into numbers whose Euclidean distances mean something: categoricals
one-hot encoded, continuous attributes standardised. Estimators, metrics and
any other model that wants the fairness penalty call
:func:`encode_sensitive_features`.
"""

import numbers
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ._validation import from_torch

__all__ = ["EncodedSensitiveFeatures", "encode_sensitive_features"]

_SQRT2 = np.sqrt(2.0)


@dataclass(frozen=True)
class EncodedSensitiveFeatures:
    """Protected attributes as numbers, one block of columns per attribute.

    Attributes
    ----------
    values : ndarray of shape (n_samples, n_columns)
        The encoded attributes, attribute after attribute.
    sizes : tuple of int
        Columns of each attribute (splits ``values``; sums to ``n_columns``).
    names : tuple of str
        Name of each attribute.
    categorical : tuple of bool
        Whether each attribute was encoded as categorical.
    categories : tuple
        The sorted levels of each categorical attribute, ``None`` for a
        continuous one.
    codes : ndarray of shape (n_samples, n_attributes)
        Level index of each row for categorical attributes, ``-1`` for
        continuous ones.
    """

    values: np.ndarray
    sizes: tuple
    names: tuple
    categorical: tuple
    categories: tuple
    codes: np.ndarray

    def groups(self, continuous_bins=4):
        """Intersectional group of each row.

        Categorical attributes contribute their level; continuous ones are
        cut at their empirical quantiles into ``continuous_bins`` bins (fewer
        where values tie). A group is a combination of levels and bins that
        occurs in the data.

        Parameters
        ----------
        continuous_bins : int, default=4
            Quantile bins of each continuous attribute.

        Returns
        -------
        groups : ndarray of shape (n_samples,), dtype int64
            Codes in ``[0, n_groups)``.
        n_groups : int
        """
        if not isinstance(continuous_bins, numbers.Integral) or continuous_bins < 2:
            raise ValueError(
                f"continuous_bins must be an integer >= 2; got {continuous_bins!r}."
            )
        codes = self.codes.copy()
        starts = np.cumsum((0, *self.sizes[:-1]))
        for j, is_categorical in enumerate(self.categorical):
            if not is_categorical:
                column = self.values[:, starts[j]]
                inner = np.linspace(0, 1, continuous_bins + 1)[1:-1]
                edges = np.unique(np.quantile(column, inner))
                codes[:, j] = np.searchsorted(edges, column, side="right")
        _, groups = np.unique(codes, axis=0, return_inverse=True)
        groups = groups.ravel().astype(np.int64)
        return groups, int(groups.max()) + 1


def _columns(sensitive_features, input_name):
    """``(name, values, is_missing, dtype_is_categorical)`` for each column."""
    sensitive_features = from_torch(sensitive_features, input_name)
    if sp.issparse(sensitive_features):
        raise TypeError(
            f"{input_name} must be dense (an array or a DataFrame); got a sparse "
            "matrix."
        )
    if hasattr(sensitive_features, "columns") and hasattr(sensitive_features, "iloc"):
        out = []
        for name in sensitive_features.columns:
            column = sensitive_features[name]
            out.append(
                (
                    str(name),
                    column.to_numpy(),
                    column.isna().to_numpy(),
                    _categorical_dtype(column.dtype),
                )
            )
        return out
    if hasattr(sensitive_features, "iloc"):  # a Series
        name = sensitive_features.name
        return [
            (
                "sensitive_feature_0" if name is None else str(name),
                sensitive_features.to_numpy(),
                sensitive_features.isna().to_numpy(),
                _categorical_dtype(sensitive_features.dtype),
            )
        ]
    array = np.asarray(sensitive_features)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(
            f"{input_name} must be 1-D (one attribute) or 2-D (one column per "
            f"attribute); got an array of shape {array.shape}."
        )
    return [
        (
            f"sensitive_feature_{j}",
            array[:, j],
            _missing(array[:, j]),
            _categorical_dtype(array.dtype),
        )
        for j in range(array.shape[1])
    ]


def _categorical_dtype(dtype):
    """Strings, booleans and categories are categorical by their dtype.

    Object columns are decided by their content (see :func:`_as_float`).
    """
    if getattr(dtype, "name", None) in ("category", "boolean", "string"):
        return True
    try:
        return np.dtype(dtype).kind in "bUS"
    except TypeError:
        return True


def _missing(values):
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind == "O":
        return np.frompyfunc(
            lambda v: v is None or (isinstance(v, float) and v != v), 1, 1
        )(values).astype(bool)
    return np.zeros(values.shape[0], dtype=bool)


def _as_float(values):
    """Float64 values, or ``None`` where they are not all numbers."""
    if values.dtype.kind in "iuf":
        return values.astype(np.float64)
    if values.dtype.kind != "O" or any(
        isinstance(v, (str, bytes, bool, np.bool_)) for v in values
    ):
        return None
    try:
        return values.astype(np.float64)
    except (TypeError, ValueError):
        return None


def _resolve_categorical(categorical_features, names, input_name):
    """Indices of the numeric columns the user declares categorical."""
    if isinstance(categorical_features, str):
        if categorical_features == "auto":
            return set()
        if categorical_features == "all":
            return set(range(len(names)))
        raise ValueError(
            "categorical_features must be 'auto', 'all', or a list of column "
            f"names, indices or a boolean mask; got {categorical_features!r}."
        )
    declared = np.asarray(categorical_features)
    if declared.dtype.kind == "b":
        if declared.shape != (len(names),):
            raise ValueError(
                f"a boolean categorical_features must have one entry per column "
                f"of {input_name} ({len(names)}); got shape {declared.shape}."
            )
        return set(np.flatnonzero(declared).tolist())
    out = set()
    for item in declared.ravel().tolist():
        if isinstance(item, str):
            if item not in names:
                raise ValueError(
                    f"categorical_features names {item!r}, which is not a column of "
                    f"{input_name} (columns: {list(names)})."
                )
            out.add(names.index(item))
        elif isinstance(item, numbers.Integral) and -len(names) <= item < len(names):
            out.add(item % len(names))
        else:
            raise ValueError(
                f"categorical_features entry {item!r} is neither a column name nor "
                f"a column index of {input_name} ({len(names)} columns)."
            )
    return out


def encode_sensitive_features(
    sensitive_features,
    *,
    n_samples=None,
    categorical_features="auto",
    scale_continuous=True,
    input_name="sensitive_features",
):
    """Validate protected attributes and encode them for the dCov penalties.

    Each column of ``sensitive_features`` is one protected attribute:

    - **categorical** attributes are one-hot encoded, so two rows are at
      distance ``√2`` when their levels differ and ``0`` otherwise; a
      two-level attribute is stored as the single column ``√2·[level 2]``,
      which has the same distances;
    - **continuous** attributes (such as age) are standardised to zero mean
      and unit variance (unless ``scale_continuous=False``), so that no
      attribute dominates the distances by its units.

    Parameters
    ----------
    sensitive_features : array-like or DataFrame of shape (n_samples,) or \
            (n_samples, n_attributes)
        Protected attributes, as in fairlearn: a Series or 1-D array is one
        attribute, a DataFrame or 2-D array one attribute per column.
    n_samples : int, default=None
        Expected number of rows (that of ``X``), checked when given.
    categorical_features : "auto", "all" or array-like, default="auto"
        Which columns are categorical. Columns of strings, booleans or pandas
        categories always are; numeric columns are continuous unless listed
        here (by name, index or boolean mask), as integer-coded categories
        must be. ``"all"`` makes every column categorical.
    scale_continuous : bool, default=True
        Standardise continuous attributes.
    input_name : str, default="sensitive_features"
        The argument name used in error messages.

    Returns
    -------
    encoded : EncodedSensitiveFeatures
        ``encoded.values`` (the ``(n_samples, n_columns)`` float64 matrix),
        ``encoded.sizes`` (columns per attribute, the ``sizes`` of
        :func:`~skalign.fairness.dependence_penalty`), ``encoded.names``,
        ``encoded.categorical``, ``encoded.categories`` and
        ``encoded.codes``; ``encoded.groups()`` gives intersectional groups.

    Raises
    ------
    ValueError
        Missing values (NaN or None), infinite values, a length other than
        ``n_samples``, or a constant attribute (a single group, which carries
        no information about dependence).

    Examples
    --------
    >>> import pandas as pd
    >>> from skalign.fairness import encode_sensitive_features
    >>> s = pd.DataFrame({"race": ["a", "b", "c", "a"], "age": [20, 30, 40, 50]})
    >>> encoded = encode_sensitive_features(s)
    >>> encoded.sizes, encoded.names, encoded.categorical
    ((3, 1), ('race', 'age'), (True, False))
    >>> encoded.values[:, :3]
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 1.],
           [1., 0., 0.]])
    """
    columns = _columns(sensitive_features, input_name)
    names = [name for name, *_ in columns]
    if not columns:
        raise ValueError(f"{input_name} has no columns; give at least one attribute.")
    n_rows = columns[0][1].shape[0]
    if n_samples is not None and n_rows != n_samples:
        raise ValueError(
            f"{input_name} has {n_rows} rows but X has {n_samples}; give one row "
            "of protected attributes per sample."
        )
    if n_rows == 0:
        raise ValueError(f"{input_name} is empty.")
    declared = _resolve_categorical(categorical_features, names, input_name)
    blocks, sizes, categorical, categories, codes = [], [], [], [], []
    for j, (name, values, missing, dtype_categorical) in enumerate(columns):
        label = f"column {name!r} of {input_name}"
        if missing.any():
            raise ValueError(
                f"{label} has {int(missing.sum())} missing values (NaN or None); "
                "protected attributes must be known for every row. Drop or "
                "impute those rows first."
            )
        as_float = None if dtype_categorical else _as_float(values)
        is_categorical = as_float is None or j in declared
        if is_categorical:
            try:
                levels, level_codes = np.unique(values, return_inverse=True)
            except TypeError as exc:
                raise TypeError(
                    f"{label} mixes values of types that cannot be compared; "
                    "use one type (e.g. all strings) per column."
                ) from exc
            level_codes = level_codes.ravel()
            if levels.shape[0] < 2:
                raise ValueError(
                    f"{label} has a single group ({levels[0]!r}): a constant "
                    "attribute carries no information about dependence. Remove it."
                )
            if levels.shape[0] == 2:
                block = (_SQRT2 * level_codes)[:, None]
            else:
                block = np.eye(levels.shape[0])[level_codes]
            categories.append(levels)
            codes.append(level_codes)
        else:
            if not np.all(np.isfinite(as_float)):
                raise ValueError(f"{label} contains infinite values.")
            scale = as_float.std()
            if scale == 0:
                raise ValueError(
                    f"{label} is constant: a constant attribute carries no "
                    "information about dependence. Remove it."
                )
            block = (
                ((as_float - as_float.mean()) / scale) if scale_continuous else as_float
            )[:, None]
            categories.append(None)
            codes.append(np.full(n_rows, -1))
        blocks.append(block)
        sizes.append(block.shape[1])
        categorical.append(bool(is_categorical))
    return EncodedSensitiveFeatures(
        values=np.ascontiguousarray(np.hstack(blocks), dtype=np.float64),
        sizes=tuple(sizes),
        names=tuple(names),
        categorical=tuple(categorical),
        categories=tuple(categories),
        codes=np.column_stack(codes).astype(np.int64),
    )
