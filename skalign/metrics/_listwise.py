"""Listwise metrics on grouped scores: NDCG, exposure disparity, and scorers
that route ``groups`` in scikit-learn's model selection tools."""

import numbers
import warnings
from functools import partial

import numpy as np
import torch
from sklearn.metrics._scorer import _cached_call, _Scorer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.metadata_routing import _raise_for_params
from sklearn.utils.validation import check_array, check_consistent_length

from .._loss.listwise import EXACT_EXPOSURE_MAX_LEN, expected_exposure
from ..exceptions import SkalignWarning
from ..utils._groups import (
    check_grades,
    check_groups,
    check_sample_weight,
    pack_groups,
)
from ..utils._sampling import gumbel_rankings, rank_within_groups
from ..utils._validation import accepts_tensors

__all__ = ["exposure_disparity", "grouped_ndcg_score", "make_grouped_scorer"]


def _check_scores(y_score, name="y_score"):
    y_score = check_array(y_score, ensure_2d=False, dtype=np.float64, input_name=name)
    if y_score.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional; got shape {y_score.shape}.")
    return y_score


def _check_sensitive_features(sensitive_features, n_samples):
    """Validate per-row sensitive features; return group codes per row.

    One column (1-D array or single-column DataFrame) or several (2-D), in
    which case every distinct combination is a group (intersectional groups,
    as fairlearn does with several sensitive features).
    """
    if sensitive_features is None:
        raise ValueError(
            "sensitive_features is required: give the sensitive group of each row."
        )
    values = np.asarray(sensitive_features, dtype=object)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise ValueError(
            "sensitive_features must be 1- or 2-dimensional; got an array of "
            f"shape {values.shape}."
        )
    if values.shape[0] != n_samples:
        raise ValueError(
            f"sensitive_features has {values.shape[0]} rows but there are "
            f"{n_samples} samples; give the sensitive group of every row."
        )
    missing = np.array(
        [v is None or (isinstance(v, float) and v != v) for v in values.ravel()]
    )
    if missing.any():
        raise ValueError(
            "sensitive_features contains missing values (None or NaN); every "
            "row needs a sensitive group."
        )
    columns = []
    for column in values.T:
        try:
            columns.append(np.unique(column, return_inverse=True)[1].ravel())
        except TypeError as exc:
            raise TypeError(
                "sensitive_features columns must hold values of one comparable "
                "type (all numbers or all strings)."
            ) from exc
    return np.unique(np.column_stack(columns), axis=0, return_inverse=True)[1].ravel()


@validate_params(
    {
        "y_true": ["array-like"],
        "y_score": ["array-like"],
        "groups": ["array-like", None],
        "k": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "sample_weight": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
@accepts_tensors
def grouped_ndcg_score(y_true, y_score, *, groups=None, k=None, sample_weight=None):
    """Mean normalised discounted cumulative gain over groups.

    Within each group, ``DCG@k = sum_{r <= k} y_(r) / log2(1 + r)`` with rows
    in decreasing order of ``y_score``, divided by the DCG of the ideal order
    (Järvelin & Kekäläinen, 2002). Gains are the grades ``y_true`` as given,
    as in :func:`sklearn.metrics.ndcg_score` (pass ``2 ** y - 1`` for
    exponential gains); rows with tied scores share the mean gain of their
    positions. A group whose grades are all zero scores 0, as in scikit-learn.
    Each group's NDCG equals ``sklearn.metrics.ndcg_score`` on that group;
    the groups are averaged with equal weights, or with ``sample_weight``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Non-negative grades (gains), higher is better.
    y_score : array-like of shape (n_samples,)
        Predicted scores.
    groups : array-like of shape (n_samples,), default=None
        Group id per row; ``None`` ranks all rows as one group.
    k : int, default=None
        Only the top ``k`` positions of each group count; ``None`` (or a ``k``
        longer than a group) uses the whole group.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative row weights. A group weighs the mean weight of its rows
        (a query's weight, as ``sklearn.metrics.ndcg_score``'s
        ``sample_weight``, written on each of its rows); ``None`` weighs
        every group equally.

    Returns
    -------
    ndcg : float
        In [0, 1].

    Examples
    --------
    >>> from skalign.metrics import grouped_ndcg_score
    >>> y = [3, 2, 0, 1, 0]
    >>> scores = [0.9, 0.2, 0.5, 0.1, 0.3]
    >>> round(grouped_ndcg_score(y, scores, groups=[0, 0, 0, 1, 1]), 4)
    0.7847
    """
    y_true = check_grades(y_true, name="y_true")
    y_score = _check_scores(y_score)
    check_consistent_length(y_true, y_score)
    if np.any(y_true < 0):
        raise ValueError(
            "y_true must be non-negative: NDCG uses the grades as gains. Shift "
            "the grades of each group (only their order matters to a ranker) "
            "or use skalign.metrics.pairwise_accuracy."
        )
    codes, uniques = check_groups(groups, y_true.shape[0])
    n_groups = uniques.shape[0]
    starts = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=n_groups))])
    position = np.arange(y_true.shape[0])

    def discounts(sorted_codes):
        rank = position - starts[sorted_codes] + 1
        discount = 1.0 / np.log2(1.0 + rank)
        if k is not None:
            discount[rank > k] = 0.0
        return discount

    ideal = np.lexsort((-y_true, codes))
    idcg = np.bincount(
        codes[ideal], y_true[ideal] * discounts(codes[ideal]), minlength=n_groups
    )
    order = np.lexsort((-y_score, codes))
    sorted_codes, sorted_scores = codes[order], y_score[order]
    # Runs of equal scores within a group share their mean gain.
    new_run = np.ones(order.shape[0], dtype=bool)
    new_run[1:] = (sorted_codes[1:] != sorted_codes[:-1]) | (
        sorted_scores[1:] != sorted_scores[:-1]
    )
    run = np.cumsum(new_run) - 1
    run_size = np.bincount(run)
    run_gain = np.bincount(run, y_true[order]) / run_size
    run_discount = np.bincount(run, discounts(sorted_codes))
    dcg = np.bincount(
        sorted_codes[new_run], run_gain * run_discount, minlength=n_groups
    )
    ndcg = np.divide(dcg, idcg, out=np.zeros(n_groups), where=idcg > 0)
    if sample_weight is None:
        return float(ndcg.mean())
    weight = check_sample_weight(sample_weight, y_true.shape[0])
    group_weight = np.bincount(codes, weight, minlength=n_groups) / np.bincount(
        codes, minlength=n_groups
    )
    if not group_weight.sum() > 0:
        raise ValueError("sample_weight is zero on every row; nothing to score.")
    return float(np.average(ndcg, weights=group_weight))


def _deterministic_exposure(y_score, codes):
    """Exposure ``1 / log2(1 + rank)`` of the ranking by ``y_score``; tied
    scores share the mean exposure of their positions."""
    ranks = rank_within_groups(y_score, codes)
    exposure = 1.0 / np.log2(1.0 + ranks)
    run = np.unique(np.column_stack([codes, y_score]), axis=0, return_inverse=True)[1]
    run = run.ravel()
    return (np.bincount(run, exposure) / np.bincount(run))[run]


def _plackett_luce_exposure(y_score, codes, n_samples, random_state):
    """Expected exposure under Plackett–Luce: exact for short lists, else by
    Gumbel-max sampling."""
    packed = pack_groups(np.zeros_like(y_score), codes, drop_uninformative=False)
    if packed.max_len > EXACT_EXPOSURE_MAX_LEN:
        ranks = gumbel_rankings(
            y_score, codes, n_samples, check_random_state(random_state)
        )
        return (1.0 / np.log2(1.0 + ranks)).mean(0)
    with torch.no_grad():
        exposure = expected_exposure(
            torch.from_numpy(packed.take(y_score)), torch.from_numpy(packed.mask)
        ).numpy()
    out = np.empty_like(y_score)
    out[packed.index[packed.mask]] = exposure[packed.mask]
    return out


@validate_params(
    {
        "y_score": ["array-like"],
        "sensitive_features": ["array-like"],
        "groups": ["array-like", None],
        "policy": [StrOptions({"plackett_luce", "deterministic"})],
        "n_samples": [Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
@accepts_tensors
def exposure_disparity(
    y_score,
    sensitive_features,
    *,
    groups=None,
    policy="plackett_luce",
    n_samples=1000,
    random_state=None,
):
    """Gap in expected exposure between sensitive groups within rankings.

    A row at rank ``r`` of its list gets exposure ``1 / log2(1 + r)`` (the
    NDCG position weight; Singh & Joachims, 2018). Within each list, ``e_a``
    is the mean exposure of the rows of sensitive group ``a``; the list's
    disparity is the mean of ``(e_a - e_b)^2`` over the pairs of groups
    present, and the result is the square root of its mean over the lists
    where at least two groups are present: for two groups, the root mean
    square gap in mean exposure. 0 is parity.

    Parameters
    ----------
    y_score : array-like of shape (n_samples,)
        Scores of the rows (log-strengths for ``policy="plackett_luce"``).
    sensitive_features : array-like of shape (n_samples,) or (n_samples, n_columns)
        Sensitive group of each row; several columns form intersectional
        groups.
    groups : array-like of shape (n_samples,), default=None
        List id of each row; ``None`` is one list.
    policy : {"plackett_luce", "deterministic"}, default="plackett_luce"
        ``"plackett_luce"``: expected exposure when rankings are drawn from
        Plackett–Luce with log-strengths ``y_score`` (exact for lists of at
        most 8 rows, else the mean over ``n_samples`` Gumbel-max samples).
        ``"deterministic"``: the ranking by decreasing ``y_score``, tied rows
        sharing the mean exposure of their positions.
    n_samples : int, default=1000
        Rankings sampled per list for long lists under ``"plackett_luce"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the sampling.

    Returns
    -------
    disparity : float
        Non-negative, in units of exposure.

    Examples
    --------
    >>> from skalign.metrics import exposure_disparity
    >>> scores = [2.0, 1.0, 0.0, -1.0]
    >>> group = ["a", "a", "b", "b"]
    >>> round(exposure_disparity(scores, group, policy="deterministic"), 4)
    0.3501
    >>> round(exposure_disparity([0.0] * 4, group), 4)
    0.0
    """
    y_score = _check_scores(y_score)
    codes, _ = check_groups(groups, y_score.shape[0])
    sensitive = _check_sensitive_features(sensitive_features, y_score.shape[0])
    if policy == "deterministic":
        exposure = _deterministic_exposure(y_score, codes)
    else:
        exposure = _plackett_luce_exposure(y_score, codes, n_samples, random_state)
    n_lists, width = codes.max() + 1, sensitive.max() + 1
    cell = codes * width + sensitive
    counts = np.bincount(cell, minlength=n_lists * width).reshape(n_lists, width)
    sums = np.bincount(cell, exposure, minlength=n_lists * width).reshape(
        n_lists, width
    )
    present = counts > 0
    means = np.divide(sums, counts, out=np.zeros_like(sums), where=present)
    n_present = present.sum(1)
    valid = n_present >= 2
    if not valid.any():
        raise ValueError(
            "No list holds rows of two different sensitive groups, so exposure "
            "cannot be compared; check sensitive_features and groups."
        )
    means, present, n_present = means[valid], present[valid], n_present[valid]
    centre = (means * present).sum(1) / n_present
    spread = (((means - centre[:, None]) ** 2) * present).sum(1)
    disparity = n_present * spread / (n_present * (n_present - 1) / 2)
    return float(np.sqrt(disparity.mean()))


class _GroupedScorer(_Scorer):
    """A scorer (as from :func:`sklearn.metrics.make_scorer`) that requests
    ``groups`` from metadata routing without ``set_score_request``."""

    __metadata_request__score = {"groups": True}

    def __call__(self, estimator, X, y_true, *, groups=None, **kwargs):
        # Unlike make_scorer's scorers, take groups directly even when
        # metadata routing is off.
        _raise_for_params(kwargs, self, None)
        return self._score(
            partial(_cached_call, None), estimator, X, y_true, groups=groups, **kwargs
        )

    def _score(self, method_caller, estimator, X, y_true, **kwargs):
        if kwargs.get("groups") is None:
            warnings.warn(
                f"{self!r} was called without groups, so all rows are scored as "
                "one ranking. In GridSearchCV or cross_validate, enable metadata "
                "routing (sklearn.set_config(enable_metadata_routing=True)) and "
                "pass groups=... to fit.",
                SkalignWarning,
                stacklevel=3,
            )
        return super()._score(method_caller, estimator, X, y_true, **kwargs)


def make_grouped_scorer(
    score_func, *, greater_is_better=True, response_method="predict", **kwargs
):
    """A scorer of grouped predictions for scikit-learn's model selection.

    Like :func:`sklearn.metrics.make_scorer`, but the scorer requests
    ``groups`` from scikit-learn's metadata routing, so that in
    :class:`~sklearn.model_selection.GridSearchCV` or
    :func:`~sklearn.model_selection.cross_validate` with
    ``sklearn.set_config(enable_metadata_routing=True)``, the ``groups``
    passed to ``fit`` reach ``score_func`` for each test fold. Called as
    ``scorer(estimator, X, y, groups=groups)``; without ``groups`` it warns
    and scores all rows as one ranking.

    Parameters
    ----------
    score_func : callable
        ``score_func(y_true, y_pred, *, groups, **kwargs)``, e.g.
        :func:`grouped_ndcg_score` or
        :func:`~skalign.metrics.pairwise_accuracy`.
    greater_is_better : bool, default=True
        Whether higher ``score_func`` values are better; if not, the scorer
        returns the negated value.
    response_method : str, default="predict"
        The estimator method that gives ``y_pred``.
    **kwargs
        Fixed keyword arguments of ``score_func``, e.g. ``k=10``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y, groups=None)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyRegressor
    >>> from skalign.metrics import grouped_ndcg_score, make_grouped_scorer
    >>> ndcg_at_2 = make_grouped_scorer(grouped_ndcg_score, k=2)
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> y = np.array([0.0, 1.0, 0.0, 1.0])
    >>> model = DummyRegressor().fit(X, y)
    >>> round(ndcg_at_2(model, X, y, groups=[0, 0, 1, 1]), 4)
    0.8155
    """
    if not callable(score_func):
        raise TypeError(f"score_func must be callable; got {score_func!r}.")
    if "groups" in kwargs:
        raise TypeError(
            "groups cannot be fixed in make_grouped_scorer; it is passed when "
            "the scorer is called (or routed by scikit-learn)."
        )
    sign = 1 if greater_is_better else -1
    return _GroupedScorer(score_func, sign, kwargs, response_method)
