"""Demographic-parity metrics: how much predictions depend on protected attributes.

All three are zero when the predictions do not depend on the protected
attributes and take the attributes in fairlearn's ``sensitive_features``
format (array or DataFrame of mixed categorical and continuous columns,
validated by :func:`skalign.fairness.encode_sensitive_features`). For
group-wise disaggregation of other metrics and for demographic-parity and
equalised-odds differences of binary decisions, use fairlearn's
``MetricFrame``, ``demographic_parity_difference`` and
``equalized_odds_difference``.
"""

import numbers
import warnings

import numpy as np
import torch
from scipy.signal import fftconvolve
from sklearn import config_context
from sklearn.metrics import make_scorer
from sklearn.utils.validation import check_array

from .._loss.dependence import blockwise_dcov_stats, fast_distance_covariance
from ..utils._encoding import encode_sensitive_features
from ..utils._penalty import strata
from ..utils._validation import accepts_tensors

__all__ = [
    "best_under_fairness_bound",
    "conditional_distance_correlation",
    "distance_correlation",
    "fairness_score",
    "group_js_divergence",
    "make_fairness_scorer",
    "unfairness_ratio",
]

# Grid points per bandwidth of the binned KDE, and bounds on the grid size.
_POINTS_PER_BANDWIDTH = 4
_GRID_MIN, _GRID_MAX = 256, 16384
_KERNEL_REACH = 4.0


def _check_predictions(y_pred, allow_labels=False):
    """``y_pred`` as a 2-D float array ``(n, k)``, or as label codes."""
    array = np.asarray(y_pred)
    if allow_labels and array.ndim == 1 and array.dtype.kind in "biuOUS":
        if array.dtype.kind == "O" and any(v is None or v != v for v in array):
            raise ValueError("y_pred contains missing values.")
        _, codes = np.unique(array, return_inverse=True)
        return None, codes.ravel()
    array = check_array(
        array,
        ensure_2d=False,
        dtype=np.float64,
        input_name="y_pred",
        ensure_min_samples=2,
    )
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"y_pred must be 1-D or 2-D; got shape {array.shape}.")
    return array, None


def _groups(sensitive_features, n, categorical_features, continuous_bins):
    encoded = encode_sensitive_features(
        sensitive_features, n_samples=n, categorical_features=categorical_features
    )
    return encoded.groups(continuous_bins)


def _group_weights(groups, n_groups, group_weights):
    counts = np.bincount(groups, minlength=n_groups).astype(np.float64)
    if group_weights == "proportional":
        return counts / counts.sum()
    if group_weights == "uniform":
        return np.full(n_groups, 1.0 / n_groups)
    raise ValueError(
        f"group_weights must be 'proportional' or 'uniform'; got {group_weights!r}."
    )


def _bandwidth(values, bandwidth):
    if isinstance(bandwidth, numbers.Real) and not isinstance(bandwidth, bool):
        if not bandwidth > 0:
            raise ValueError(f"bandwidth must be positive; got {bandwidth!r}.")
        return float(bandwidth)
    n = values.shape[0]
    spread = values.std()
    if bandwidth == "scott":
        return 1.06 * spread * n ** (-0.2)
    if bandwidth == "silverman":
        q75, q25 = np.percentile(values, [75, 25])
        robust = (q75 - q25) / 1.34
        return 0.9 * (min(spread, robust) if robust > 0 else spread) * n ** (-0.2)
    raise ValueError(
        "bandwidth must be 'silverman', 'scott' or a positive float; got "
        f"{bandwidth!r}."
    )


def _binned_kde(values, groups, n_groups, bandwidth):
    """Each group's Gaussian KDE on one common grid, as probabilities per point.

    Linear binning of every value onto its two nearest grid points (one
    ``bincount`` for all groups), then one FFT convolution with the sampled
    kernel along the grid: ``O(n + n_groups · m log m)``, no loop over groups.
    """
    h = _bandwidth(values, bandwidth)
    lo = values.min() - _KERNEL_REACH * h
    hi = values.max() + _KERNEL_REACH * h
    m = int(
        np.clip(
            np.ceil((hi - lo) / h * _POINTS_PER_BANDWIDTH) + 1, _GRID_MIN, _GRID_MAX
        )
    )
    step = (hi - lo) / (m - 1)
    position = (values - lo) / step
    left = np.clip(np.floor(position).astype(np.int64), 0, m - 2)
    frac = position - left
    index = groups * m + left
    size = n_groups * m
    counts = np.bincount(index, weights=1.0 - frac, minlength=size) + np.bincount(
        index + 1, weights=frac, minlength=size
    )
    reach = int(np.ceil(_KERNEL_REACH * h / step))
    offsets = np.arange(-reach, reach + 1) * step
    kernel = np.exp(-0.5 * (offsets / h) ** 2)
    density = fftconvolve(
        counts.reshape(n_groups, m), kernel[None, :], mode="same", axes=1
    )
    density = np.clip(density, 0.0, None)
    return density / density.sum(axis=1, keepdims=True)


def _js_divergence(distributions, weights, base):
    """``Σ_g π_g KL(P_g || Σ_h π_h P_h)``, the generalised JS divergence."""
    mixture = weights @ distributions
    ratio = np.divide(
        distributions,
        mixture[None, :],
        out=np.ones_like(distributions),
        where=distributions > 0,
    )
    return float(weights @ (distributions * np.log(ratio)).sum(axis=1) / np.log(base))


@accepts_tensors
def group_js_divergence(
    y_pred,
    sensitive_features,
    *,
    categorical_features="auto",
    continuous_bins=4,
    group_weights="proportional",
    bandwidth="silverman",
    base=2.0,
):
    """Jensen–Shannon divergence between the groups' prediction distributions.

    The generalised JS divergence (Lin, 1991) of the distributions ``P_g`` of
    the predictions within each intersectional group ``g``:
    ``JS = Σ_g π_g KL(P_g || M)`` with the mixture ``M = Σ_g π_g P_g``.
    With the groups' shares as ``π`` (the default) it is the mutual
    information between prediction and group, in bits for ``base=2``; it is
    zero exactly when every group has the same prediction distribution
    (demographic parity), and for two equal-sized groups it lies in
    ``[0, 1]``.

    Continuous predictions (float ``y_pred``) are compared through Gaussian
    kernel density estimates with one common bandwidth, evaluated on a fine
    grid; labels (integer, boolean or string ``y_pred``) through their
    frequencies, exactly.

    Parameters
    ----------
    y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Predictions, probabilities or labels. For 2-D ``y_pred`` (e.g. class
        probabilities), the mean of the columns' divergences.
    sensitive_features : array-like or DataFrame of shape (n_samples,) or \
            (n_samples, n_attributes)
        Protected attributes; a group is a combination of the levels of the
        categorical attributes and the quantile bins of the continuous ones.
    categorical_features : "auto", "all" or array-like, default="auto"
        Which attributes are categorical, as in
        :func:`~skalign.fairness.encode_sensitive_features`.
    continuous_bins : int, default=4
        Quantile bins of each continuous attribute.
    group_weights : {"proportional", "uniform"}, default="proportional"
        ``π``: the groups' shares of the rows, or equal weights (every group
        counts the same however small, at the price of noisier estimates).
    bandwidth : "silverman", "scott" or float, default="silverman"
        Kernel bandwidth, by a rule of thumb on the pooled predictions or
        given in the units of ``y_pred``.
    base : float, default=2.0
        Base of the logarithm (2 gives bits).

    Returns
    -------
    divergence : float
        Non-negative; 0 for constant predictions.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.metrics import group_js_divergence
    >>> rng = np.random.default_rng(0)
    >>> group = np.repeat(["a", "b"], 500)
    >>> same = rng.normal(size=1000)
    >>> shifted = same + 3 * (group == "b")
    >>> round(group_js_divergence(same, group), 3)  # sampling noise only
    0.007
    >>> round(group_js_divergence(shifted, group), 2)
    0.72
    >>> group_js_divergence([1, 1, 0, 0], ["a", "a", "b", "b"])
    1.0
    """
    values, labels = _check_predictions(y_pred, allow_labels=True)
    n = (values if labels is None else labels).shape[0]
    groups, _ = _groups(sensitive_features, n, categorical_features, continuous_bins)
    return _group_js_divergence(values, labels, groups, group_weights, bandwidth, base)


def _group_js_divergence(values, labels, groups, group_weights, bandwidth, base):
    """:func:`group_js_divergence` from validated predictions and group codes."""
    # Codes of groups absent here (e.g. from a cross-validation fold) drop out.
    _, groups = np.unique(groups, return_inverse=True)
    groups = groups.ravel()
    n_groups = int(groups.max()) + 1
    weights = _group_weights(groups, n_groups, group_weights)
    if labels is not None:
        n_labels = int(labels.max()) + 1
        counts = np.bincount(groups * n_labels + labels, minlength=n_groups * n_labels)
        counts = counts.reshape(n_groups, n_labels).astype(np.float64)
        return _js_divergence(counts / counts.sum(axis=1, keepdims=True), weights, base)
    divergences = [
        0.0
        if np.ptp(column) == 0
        else _js_divergence(
            _binned_kde(column, groups, n_groups, bandwidth), weights, base
        )
        for column in values.T
    ]
    return float(np.mean(divergences))


@accepts_tensors
def unfairness_ratio(
    y_pred, sensitive_features, *, categorical_features="auto", continuous_bins=4
):
    """Share of the prediction variance explained by the protected groups.

    ``Var(E[ŷ | S]) / Var(ŷ)``, the between-group variance of the predictions
    over their total variance (the correlation ratio η² of ``ŷ`` on the
    intersectional groups of ``S``). It is 0 when every group has the same
    mean prediction and 1 when the prediction is a function of the group.
    For 2-D ``y_pred`` the variances are summed over the columns (traces of
    the covariance matrices).

    Parameters
    ----------
    y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Predictions or probabilities.
    sensitive_features : array-like or DataFrame of shape (n_samples,) or \
            (n_samples, n_attributes)
        Protected attributes; groups as in :func:`group_js_divergence`.
    categorical_features : "auto", "all" or array-like, default="auto"
    continuous_bins : int, default=4
        Quantile bins of each continuous attribute.

    Returns
    -------
    ratio : float
        In ``[0, 1]``; 0 for constant predictions.

    Examples
    --------
    >>> from skalign.metrics import unfairness_ratio
    >>> unfairness_ratio([1.0, 2.0, 3.0, 4.0], ["a", "a", "b", "b"])
    0.8
    """
    values, _ = _check_predictions(y_pred)
    groups, n_groups = _groups(
        sensitive_features, values.shape[0], categorical_features, continuous_bins
    )
    return _unfairness_ratio(values, groups, n_groups)


def _unfairness_ratio(values, groups, n_groups):
    """:func:`unfairness_ratio` of ``(n, k)`` predictions and group codes."""
    centred = values - values.mean(axis=0)
    total = float((centred**2).sum())
    if total == 0:
        return 0.0
    counts = np.bincount(groups, minlength=n_groups)
    sums = np.stack(
        [np.bincount(groups, weights=c, minlength=n_groups) for c in centred.T], axis=1
    )
    present = counts > 0
    between = float(((sums[present] ** 2).sum(axis=1) / counts[present]).sum())
    return min(between / total, 1.0)


@accepts_tensors
def distance_correlation(
    y_pred, sensitive_features, *, categorical_features="auto", scale_continuous=True
):
    """Distance correlation between predictions and protected attributes.

    ``dCor(ŷ, S) = dCov(ŷ, S) / sqrt(dVar(ŷ) dVar(S))`` (Székely, Rizzo &
    Bakirov, 2007), with the V-statistics and ``S`` all protected attributes
    encoded and concatenated as in
    :func:`~skalign.fairness.encode_sensitive_features`. It lies in
    ``[0, 1]``, is zero in the population exactly when ``ŷ`` is independent
    of ``S`` (jointly) and sees non-linear dependence too. Univariate
    predictions against one encoded column use the exact ``O(n log n)``
    algorithm; otherwise the computation takes ``O(n²)`` time in blocks of
    rows (``O(n)`` memory per row of a block).

    Parameters
    ----------
    y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
    sensitive_features : array-like or DataFrame of shape (n_samples,) or \
            (n_samples, n_attributes)
    categorical_features : "auto", "all" or array-like, default="auto"
    scale_continuous : bool, default=True
        Standardise each continuous attribute column first, so that columns
        in different units count alike. With several continuous columns
        this changes the value (distance correlation is invariant to scaling
        ``S`` as a whole, not column by column); ``False`` gives exactly
        ``dcor.distance_correlation`` and R's ``energy::dcor`` on the
        encoded attributes. A single column gives the same value either way.

    Returns
    -------
    dcor : float
        The distance correlation (not squared); 0 for constant predictions.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.metrics import distance_correlation
    >>> age = np.linspace(20, 60, 200)
    >>> round(distance_correlation((age - 40) ** 2, age), 3)
    0.491
    """
    values, _ = _check_predictions(y_pred)
    encoded = encode_sensitive_features(
        sensitive_features,
        n_samples=values.shape[0],
        categorical_features=categorical_features,
        scale_continuous=scale_continuous,
    ).values
    return _distance_correlation(values, encoded)


def _dcov_stats(values, encoded):
    """``dCov²(x, s)``, ``dVar²(x)``, ``dVar²(s)`` of ``(n, k)`` predictions
    and ``(n, d)`` encoded attributes (V-statistics)."""
    x, s = torch.from_numpy(values), torch.from_numpy(encoded)
    if x.shape[1] == 1 and s.shape[1] == 1:
        x, s = x[:, 0], s[:, 0]
        return tuple(
            float(fast_distance_covariance(a, b)) for a, b in ((x, s), (x, x), (s, s))
        )
    return blockwise_dcov_stats(x, s)


def _distance_correlation(values, encoded):
    """dCor of ``(n, k)`` predictions and ``(n, d)`` encoded attributes."""
    dcov, dvar_x, dvar_s = _dcov_stats(values, encoded)
    denominator = dvar_x * dvar_s
    if denominator <= 0:
        return 0.0
    return float(np.sqrt(max(dcov, 0.0) / np.sqrt(denominator)))


@accepts_tensors
def conditional_distance_correlation(
    y_true,
    y_pred,
    sensitive_features,
    *,
    n_bins=5,
    categorical_features="auto",
    scale_continuous=True,
):
    """Distance correlation of predictions and attributes *given the target*.

    The separation (equalised-odds) counterpart of
    :func:`distance_correlation`: the rows are split into strata of
    ``y_true`` (its classes when it holds labels or integers, else its
    distinct values when there are at most ``n_bins``, else ``n_bins``
    quantile bins) and

    ``cdCor² = Σ_b p_b dCov²_b(ŷ, S) / sqrt(Σ_b p_b dVar²_b(ŷ) · Σ_b p_b dVar²_b(S))``

    with ``p_b`` the share of rows in stratum ``b`` and the V-statistics
    within each stratum. By the Cauchy–Schwarz inequality it lies in
    ``[0, 1]``; it is zero exactly when every stratum's distance covariance
    is, i.e. (in the population) when the predictions are independent of
    the attributes given the target: the conditional distance covariance
    of Wang et al. (2015), "Conditional distance correlation", JASA
    110(512), with a uniform kernel on the strata. This is what
    ``DependencePenalty(criterion="separation")`` penalises.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Targets or class labels.
    y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
    sensitive_features : array-like or DataFrame of shape (n_samples,) or \
            (n_samples, n_attributes)
    n_bins : int, default=5
        Quantile strata of a continuous ``y_true``.
    categorical_features : "auto", "all" or array-like, default="auto"
    scale_continuous : bool, default=True
        As in :func:`distance_correlation`.

    Returns
    -------
    cdcor : float
        The conditional distance correlation (not squared); 0 when the
        predictions are constant within every stratum.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.metrics import (
    ...     conditional_distance_correlation, distance_correlation)
    >>> rng = np.random.default_rng(0)
    >>> group = rng.integers(0, 2, size=2000)
    >>> y = (rng.random(2000) < 0.3 + 0.4 * group).astype(int)
    >>> y_pred = y + 0.1 * rng.normal(size=2000)   # depends on group through y
    >>> round(distance_correlation(y_pred, group), 2)
    0.4
    >>> round(conditional_distance_correlation(y, y_pred, group), 2)
    0.04
    """
    values, _ = _check_predictions(y_pred)
    n = values.shape[0]
    if not (isinstance(n_bins, numbers.Integral) and n_bins >= 1):
        raise ValueError(f"n_bins must be a positive integer; got {n_bins!r}.")
    target = np.asarray(y_true)
    if target.ndim != 1 or target.shape[0] != n:
        raise ValueError(
            f"y_true must be 1-D with one value per row of y_pred ({n}); got "
            f"shape {target.shape}."
        )
    discrete = target.dtype.kind in "biuOUS"
    if discrete:
        _, codes = np.unique(target, return_inverse=True)
    else:
        target = check_array(
            target, ensure_2d=False, dtype=np.float64, input_name="y_true"
        )
        codes, _, _ = strata(target, n_bins, False)
    encoded = encode_sensitive_features(
        sensitive_features,
        n_samples=n,
        categorical_features=categorical_features,
        scale_continuous=scale_continuous,
    ).values
    totals = np.zeros(3)
    for b in np.unique(codes):
        rows = codes.ravel() == b
        if rows.sum() < 2:
            continue
        totals += rows.mean() * np.asarray(_dcov_stats(values[rows], encoded[rows]))
    dcov, dvar_x, dvar_s = totals
    if dvar_x * dvar_s <= 0:
        return 0.0
    return float(np.sqrt(max(dcov, 0.0) / np.sqrt(dvar_x * dvar_s)))


_FAIRNESS_SCORES = {
    "distance_correlation": (distance_correlation, False),
    "conditional_distance_correlation": (conditional_distance_correlation, True),
    "unfairness_ratio": (unfairness_ratio, False),
    "group_js_divergence": (group_js_divergence, False),
}


def fairness_score(y_true, y_pred, *, sensitive_features, metric, **kwargs):
    """``metric`` (a name of :func:`make_fairness_scorer`) of a prediction."""
    function, needs_target = _FAIRNESS_SCORES[metric]
    if needs_target:
        return function(y_true, y_pred, sensitive_features, **kwargs)
    return function(y_pred, sensitive_features, **kwargs)


def make_fairness_scorer(
    metric="distance_correlation", *, response_method="predict", **kwargs
):
    """A scorer of a fairness metric that receives ``sensitive_features``.

    The scorer requests ``sensitive_features`` through scikit-learn's
    metadata routing, so that with ``sklearn.set_config(
    enable_metadata_routing=True)`` a search passes each fold's protected
    attributes to it (and, with ``set_fit_request``, to the estimator's
    ``fit``); combined with other scorers in a dict and with
    :func:`best_under_fairness_bound` as ``refit``, ``GridSearchCV`` picks
    the most accurate model whose held-out dependence stays under a bound.
    The metrics are lower-is-better, so the scorer returns their negative
    (``greater_is_better=False``): ``cv_results_`` holds ``-metric``.
    scikit-learn passes extra arguments to a scorer only with metadata
    routing enabled, also when it is called directly.

    Parameters
    ----------
    metric : {"distance_correlation", "conditional_distance_correlation", \
            "unfairness_ratio", "group_js_divergence"}, \
            default="distance_correlation"
        :func:`distance_correlation`, :func:`conditional_distance_correlation`
        (separation: also reads the fold's targets),
        :func:`unfairness_ratio` or :func:`group_js_divergence`.
    response_method : str or tuple of str, default="predict"
        The estimator's method whose output is scored, e.g.
        ``"predict_proba"`` for a classifier's probabilities (the positive
        class's for two classes).
    **kwargs
        Further arguments of the metric (``categorical_features``,
        ``n_bins``, ...).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y, sensitive_features=...)``.

    See Also
    --------
    best_under_fairness_bound : The ``refit`` of a search under a bound.

    Examples
    --------
    >>> import numpy as np
    >>> import sklearn
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.model_selection import cross_validate
    >>> from skalign.metrics import make_fairness_scorer
    >>> rng = np.random.default_rng(0)
    >>> group = rng.integers(0, 2, size=200)
    >>> X = np.column_stack([rng.normal(size=200), group + rng.normal(size=200)])
    >>> y = X[:, 0] + X[:, 1]
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     scores = cross_validate(
    ...         Ridge(), X, y, cv=2, params={"sensitive_features": group},
    ...         scoring={"r2": "r2", "dcor": make_fairness_scorer()})
    >>> bool(np.all(scores["test_dcor"] < 0))
    True
    """
    if metric not in _FAIRNESS_SCORES:
        raise ValueError(
            f"metric must be one of {sorted(_FAIRNESS_SCORES)}; got {metric!r}."
        )
    scorer = make_scorer(
        fairness_score,
        response_method=response_method,
        greater_is_better=False,
        metric=metric,
        **kwargs,
    )
    # The request is stored on the scorer whatever the configuration when it
    # is used; searches route only with metadata routing enabled.
    with config_context(enable_metadata_routing=True):
        return scorer.set_score_request(sensitive_features=True)


def best_under_fairness_bound(score, fairness, bound):
    """A ``refit`` callable: the best ``score`` with ``fairness`` within ``bound``.

    For a multi-metric search (``GridSearchCV(scoring={score: ...,
    fairness: make_fairness_scorer(...)}, refit=...)``): among the
    candidates whose mean held-out fairness metric is at most ``bound``,
    the index of the one with the highest mean ``score``. When no
    candidate meets the bound it warns and returns the fairest candidate.

    Parameters
    ----------
    score : str
        The name of the accuracy scorer in ``scoring`` (higher is better).
    fairness : str
        The name of a scorer of :func:`make_fairness_scorer` (stored
        negated by scikit-learn).
    bound : float
        The largest acceptable mean value of the fairness metric.

    Returns
    -------
    refit : callable
        ``refit(cv_results) -> int``.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.metrics import best_under_fairness_bound
    >>> cv_results = {"mean_test_r2": np.array([0.9, 0.8, 0.6]),
    ...               "mean_test_dcor": -np.array([0.4, 0.15, 0.05])}
    >>> best_under_fairness_bound("r2", "dcor", 0.2)(cv_results)
    1
    """
    if not (isinstance(bound, numbers.Real) and np.isfinite(bound)):
        raise ValueError(f"bound must be a finite number; got {bound!r}.")

    def refit(cv_results):
        for name in (score, fairness):
            if f"mean_test_{name}" not in cv_results:
                raise ValueError(
                    f"The search has no scorer named {name!r}; pass scoring= "
                    f"a dict with the keys {score!r} and {fairness!r}."
                )
        dependence = -np.asarray(cv_results[f"mean_test_{fairness}"], dtype=float)
        accuracy = np.asarray(cv_results[f"mean_test_{score}"], dtype=float)
        allowed = dependence <= bound
        if not allowed.any():
            warnings.warn(
                f"No candidate has mean {fairness} <= {bound}; the fairest "
                f"({np.nanmin(dependence):.4g}) is refitted.",
                UserWarning,
                stacklevel=2,
            )
            return int(np.nanargmin(dependence))
        return int(np.nanargmax(np.where(allowed, accuracy, -np.inf)))

    return refit
