"""Metrics for ordered labels (ratings, grades, severity levels)."""

import numpy as np
from sklearn.utils._param_validation import validate_params
from sklearn.utils.validation import check_array, check_consistent_length

from ..utils._groups import check_sample_weight
from ..utils._validation import accepts_tensors

__all__ = ["ordinal_mae", "ranked_probability_score"]


def _sorted_labels(values, name):
    """Distinct labels in increasing order; a clear error when unorderable."""
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional; got shape {values.shape}.")
    try:
        return np.unique(values)
    except TypeError as exc:
        kinds = sorted({type(v).__name__ for v in values.tolist()})
        raise ValueError(
            f"{name} labels cannot be ordered: they mix types {kinds} that do "
            "not compare with each other. Use labels of one type (numbers, or "
            "strings), or an ordered pandas.Categorical."
        ) from exc


def _ranks(values, labels, name):
    """Position of each value in the ordered ``labels``; unknown -> error."""
    values = np.asarray(values)
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    try:
        position = np.searchsorted(sorted_labels, values)
    except TypeError as exc:
        raise ValueError(
            f"{name} holds labels that do not compare with labels={labels!r}."
        ) from exc
    position = np.minimum(position, len(labels) - 1)
    unknown = sorted_labels[position] != values
    if np.any(unknown):
        raise ValueError(
            f"{name} contains labels not in labels: {np.unique(values[unknown])!r}."
        )
    return order[position]


def _check_labels(labels, default, name):
    if labels is None:
        return _sorted_labels(default, name)
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] < 2:
        raise ValueError(
            f"labels must be a 1-D list of at least two ordered labels; got {labels!r}."
        )
    if _sorted_labels(labels, "labels").shape[0] != labels.shape[0]:
        raise ValueError(f"labels must not repeat a label; got {labels!r}.")
    return labels


@validate_params(
    {
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "labels": [None, "array-like"],
        "sample_weight": [None, "array-like"],
    },
    prefer_skip_nested_validation=True,
)
@accepts_tensors
def ordinal_mae(y_true, y_pred, *, labels=None, sample_weight=None):
    """Mean absolute error between the ranks of true and predicted labels.

    ``sum_i w_i |r(y_i) - r(ŷ_i)| / sum_i w_i``, where ``r`` is a label's
    position in the ordered ``labels``. Unlike the mean absolute error of the
    labels themselves it ignores their spacing, so it applies to any ordered
    labels (numeric codes, strings given in order): 0 is perfect, and each
    category of distance costs one.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    labels : array-like of shape (n_classes,), default=None
        Every label, in increasing order. ``None`` sorts the labels seen in
        ``y_true`` and ``y_pred``.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative row weights.

    Returns
    -------
    mae : float
        Mean distance in categories, in ``[0, n_classes - 1]``.

    Examples
    --------
    >>> from skalign.metrics import ordinal_mae
    >>> ordinal_mae(["low", "mid", "high"], ["low", "high", "low"],
    ...             labels=["low", "mid", "high"])
    1.0
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    check_consistent_length(y_true, y_pred)
    if y_true.shape[0] == 0:
        raise ValueError("y_true is empty; ordinal_mae needs at least one sample.")
    labels = _check_labels(
        labels, np.concatenate([y_true.ravel(), y_pred.ravel()]), "y_true and y_pred"
    )
    gap = np.abs(_ranks(y_true, labels, "y_true") - _ranks(y_pred, labels, "y_pred"))
    weight = check_sample_weight(sample_weight, y_true.shape[0])
    return float(np.average(gap, weights=weight))


@validate_params(
    {
        "y_true": ["array-like"],
        "y_proba": ["array-like"],
        "labels": [None, "array-like"],
        "sample_weight": [None, "array-like"],
    },
    prefer_skip_nested_validation=True,
)
@accepts_tensors
def ranked_probability_score(y_true, y_proba, *, labels=None, sample_weight=None):
    """Ranked probability score of predicted class probabilities (lower is better).

    ``RPS_i = sum_{k < K} (F_ik - 1{y_i <= k})^2 / (K - 1)`` with ``F_ik`` the
    predicted cumulative probability of the first ``k`` classes (Epstein,
    1969, "A scoring system for probability forecasts of ranked categories").
    It is a proper scoring rule that, unlike the log loss, charges more for
    probability placed far from the observed class. Averaged with
    ``sample_weight``; in ``[0, 1]``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_proba : array-like of shape (n_samples, n_classes)
        Predicted probabilities, columns in the order of ``labels`` (as
        ``predict_proba`` returns them for ``classes_``).
    labels : array-like of shape (n_classes,), default=None
        The labels of the columns, in increasing order. ``None`` sorts the
        labels of ``y_true``, which must then cover every column.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative row weights.

    Returns
    -------
    score : float

    Examples
    --------
    >>> from skalign.metrics import ranked_probability_score
    >>> ranked_probability_score(
    ...     [0, 2], [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]], labels=[0, 1, 2]
    ... )
    0.3125
    """
    y_true = np.asarray(y_true)
    y_proba = check_array(y_proba, dtype=np.float64, input_name="y_proba")
    check_consistent_length(y_true, y_proba)
    labels = _check_labels(labels, y_true, "y_true")
    if y_proba.shape[1] != labels.shape[0]:
        raise ValueError(
            f"y_proba has {y_proba.shape[1]} columns but there are "
            f"{labels.shape[0]} labels; pass labels= with one label per column."
        )
    if np.any(y_proba < 0) or not np.allclose(y_proba.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError(
            "y_proba must hold probabilities: non-negative rows that sum to one."
        )
    rank = _ranks(y_true, labels, "y_true")
    cumulative = np.cumsum(y_proba, axis=1)[:, :-1]
    observed = rank[:, None] <= np.arange(labels.shape[0] - 1)
    per_row = ((cumulative - observed) ** 2).mean(axis=1)
    weight = check_sample_weight(sample_weight, y_true.shape[0])
    return float(np.average(per_row, weights=weight))
