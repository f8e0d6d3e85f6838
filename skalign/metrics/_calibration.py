"""Calibration metrics: binned and smooth ECE, Brier score, NLL, a report.

This module is also the one place that validates predicted probabilities and
the labels that go with them; the calibrators of :mod:`skalign.calibration`
use the same functions, so a bad probability matrix gets the same error
whether it is scored or calibrated.

Every binned statistic is computed with ``np.bincount`` over flat bin ids
(one id space for all classes), never with a Python loop over bins.
"""

import numbers

import numpy as np
from scipy.optimize import brentq
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import _check_sample_weight, check_array

from ..utils._validation import accepts_tensors

__all__ = [
    "brier_score",
    "calibration_report",
    "expected_calibration_error",
    "negative_log_likelihood",
    "smooth_ece",
]

# Row sums of a probability matrix may be off by this much (float32 softmax
# outputs of a few hundred classes are).
PROBA_SUM_ATOL = 1e-5
# Probabilities are clipped to [EPS, 1 - EPS] before taking logs (as
# scikit-learn's log_loss and betacal do), so that 0 and 1 stay finite.
EPS = np.finfo(np.float64).eps
# Grid cells of the smooth ECE's kernel smoothing on [0, 1].
_SMOOTH_GRID = 4096


# ---------------------------------------------------------------- validation
def looks_like_probabilities(values):
    """Whether every entry is in [0, 1] and, for 2-D ``values`` with more than
    one column, every row sums to one."""
    if values.size == 0 or values.min() < 0 or values.max() > 1:
        return False
    if values.ndim == 2 and values.shape[1] > 1:
        return bool(np.all(np.abs(values.sum(axis=1) - 1.0) <= PROBA_SUM_ATOL))
    return True


def check_probabilities(proba, *, name="y_prob"):
    """Validate probabilities: finite, in [0, 1], rows of 2-D input sum to 1.

    Returns a float64 array of the same shape (1-D or 2-D).
    """
    proba = check_array(
        proba, ensure_2d=False, dtype=np.float64, input_name=name, copy=False
    )
    if proba.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D or 2-D; got shape {proba.shape}.")
    if proba.min() < 0 or proba.max() > 1:
        raise ValueError(
            f"{name} must hold probabilities in [0, 1]; got values in "
            f"[{proba.min():.6g}, {proba.max():.6g}]. Pass logits as logits "
            "(input='logits' for a calibrator)."
        )
    if proba.ndim == 2 and proba.shape[1] > 1:
        worst = float(np.max(np.abs(proba.sum(axis=1) - 1.0)))
        if worst > PROBA_SUM_ATOL:
            raise ValueError(
                f"The rows of {name} must sum to 1 (one probability per class); "
                f"a row sum is off by {worst:.3g}."
            )
    return proba


def encode_labels(y_true, n_columns, labels=None, *, name="y_true"):
    """Integer codes of ``y_true`` in ``[0, n_columns)`` (columns of y_prob).

    ``labels`` names the class of each column. Without it, the sorted distinct
    values of ``y_true`` are the columns when there are ``n_columns`` of them;
    otherwise integer labels in ``[0, n_columns)`` index the columns directly
    (a class may be absent from a small evaluation set).
    """
    y = np.asarray(y_true)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional; got shape {y.shape}.")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise ValueError(f"{name} contains NaN or infinity.")
    if y.dtype.kind in "fc" and type_of_target(y) == "continuous":
        raise ValueError(
            f"{name} must hold class labels; got continuous values (Unknown "
            "label type: continuous)."
        )
    if (
        labels is None
        and y.dtype.kind in "iub"
        and y.size
        and y.min() >= 0
        and y.max() < n_columns
    ):
        # Integer labels in [0, n_columns) are the columns under both rules
        # below: no sort or search needed.
        return y.astype(np.int64)
    if labels is not None:
        labels = np.asarray(labels)
        if labels.ndim != 1 or labels.shape[0] != n_columns:
            raise ValueError(
                f"labels must name the class of each of the {n_columns} "
                f"probability columns; got {labels.shape[0]} labels."
            )
        if np.unique(labels).shape[0] != labels.shape[0]:
            raise ValueError("labels must not contain duplicates.")
    else:
        uniques = np.unique(y)
        if uniques.shape[0] == n_columns:
            labels = uniques
        elif y.dtype.kind in "iub" or (
            y.dtype.kind == "f" and np.all(y == np.round(y))
        ):
            labels = np.arange(n_columns)
        else:
            raise ValueError(
                f"{name} has {uniques.shape[0]} distinct labels but the "
                f"probabilities have {n_columns} columns; pass labels= to name "
                "the class of each column."
            )
    order = np.argsort(labels, kind="stable")
    position = np.searchsorted(labels[order], y)
    position = np.clip(position, 0, labels.shape[0] - 1)
    codes = order[position]
    unknown = labels[codes] != y
    if np.any(unknown):
        raise ValueError(
            f"{name} contains labels {np.unique(y[unknown]).tolist()[:5]} that "
            f"are not among the classes {labels.tolist()[:10]} of the "
            "probability columns."
        )
    return codes.astype(np.int64)


def _probability_columns(y_true, y_prob, labels, name="y_prob", *, stack=True):
    """Validated ``(proba, codes)``. 1-D binary probabilities become two
    columns unless ``stack=False`` (then they stay 1-D)."""
    proba = check_probabilities(y_prob, name=name)
    if proba.ndim == 2 and proba.shape[1] == 1:
        proba = proba.reshape(-1)
    codes = encode_labels(y_true, 2 if proba.ndim == 1 else proba.shape[1], labels)
    if codes.shape[0] != proba.shape[0]:
        raise ValueError(
            f"y_true has {codes.shape[0]} entries but {name} has {proba.shape[0]} rows."
        )
    if proba.shape[0] == 0:
        raise ValueError(f"{name} is empty; at least one prediction is needed.")
    if proba.ndim == 1 and stack:
        proba = np.column_stack([1.0 - proba, proba])
    return proba, codes


def _forecasts(y_true, y_prob, kind, labels):
    """Forecast/outcome pairs that a calibration error is computed on.

    Returns ``forecast`` and ``outcome`` of shape ``(n_groups, n_samples)``:
    one row for binary 1-D input (the positive class) and for ``top_label``,
    one row per class for ``classwise`` and ``marginal``.
    """
    proba, codes = _probability_columns(y_true, y_prob, labels, stack=False)
    if proba.ndim == 1:
        return proba[None, :], (codes == 1)[None, :].astype(np.float64)
    n = proba.shape[0]
    if kind == "top_label":
        top = proba.argmax(axis=1)
        return (
            proba[np.arange(n), top][None, :],
            (top == codes)[None, :].astype(np.float64),
        )
    onehot = np.zeros_like(proba)
    onehot[np.arange(n), codes] = 1.0
    return proba.T, onehot.T


# ------------------------------------------------------------------- binning
def bin_edges(forecast, n_bins, strategy):
    """Inner bin edges of every row of forecasts.

    Bins are right-closed, ``(e_{j-1}, e_j]``, the first one also holding 0.
    ``"uniform"`` bins split [0, 1] into ``n_bins`` equal widths.
    ``"quantile"`` bins hold (nearly) equal numbers of forecasts: the sorted
    forecasts of a row are cut into ``n_bins`` consecutive chunks whose sizes
    differ by at most one (the first ones larger), and each edge is the
    midpoint between the last forecast of a chunk and the first of the next
    (Kumar et al., 2019); tied forecasts share a bin, leaving the bin between
    equal edges empty.

    Parameters
    ----------
    forecast : ndarray of shape (n_rows, n)
    n_bins : int
    strategy : {"uniform", "quantile"}

    Returns
    -------
    edges : ndarray of shape (n_rows, n_bins - 1)
        ``n_bins`` is ``min(n_bins, n)`` for quantile bins.
    """
    n_rows, n = forecast.shape
    if strategy == "uniform":
        inner = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
        return np.broadcast_to(inner, (n_rows, n_bins - 1))
    n_bins = min(n_bins, n)
    size, extra = divmod(n, n_bins)
    sizes = np.full(n_bins, size) + (np.arange(n_bins) < extra)
    starts = np.cumsum(sizes)[:-1]
    # Only the order statistics next to the cuts are needed: a partition,
    # not a full sort.
    around = np.unique(np.concatenate([starts - 1, starts]))
    if around.size:
        ordered = np.partition(forecast, around, axis=1)
        return 0.5 * (ordered[:, starts - 1] + ordered[:, starts])
    return np.empty((n_rows, 0))


def bin_ids(forecast, edges):
    """Bin of every forecast, as flat ids ``row * n_bins + bin``.

    One ``searchsorted`` per row (per class), never a loop over bins.
    """
    n_bins = edges.shape[1] + 1
    if edges.strides[0] == 0:
        # Uniform bins, shared by every row: the bin is ceil(n_bins f) - 1,
        # then moved by one where rounding put f on the wrong side of an
        # edge, so that the edges are exactly those of np.linspace.
        full = np.concatenate([[-np.inf], edges[0], [np.inf]])
        ids = np.ceil(forecast * n_bins).astype(np.int64) - 1
        np.clip(ids, 0, n_bins - 1, out=ids)
        ids -= forecast <= full[ids]
        ids += forecast > full[ids + 1]
    else:
        ids = np.stack(
            [np.searchsorted(e, f, side="left") for e, f in zip(edges, forecast)]
        )
    return ids + n_bins * np.arange(forecast.shape[0])[:, None]


def binned_statistics(forecast, outcome, n_bins, strategy):
    """Count, mean forecast and mean outcome of every bin of every row.

    Returns three arrays of shape ``(n_rows, n_bins)``; the means are NaN in
    empty bins.
    """
    edges = bin_edges(forecast, n_bins, strategy)
    n_bins = edges.shape[1] + 1
    ids = bin_ids(forecast, edges)
    size = forecast.shape[0] * n_bins
    flat = ids.ravel()
    count = np.bincount(flat, minlength=size).astype(np.float64)
    sum_f = np.bincount(flat, weights=forecast.ravel(), minlength=size)
    sum_o = np.bincount(flat, weights=outcome.ravel(), minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_f, mean_o = sum_f / count, sum_o / count
    shape = (forecast.shape[0], n_bins)
    return count.reshape(shape), mean_f.reshape(shape), mean_o.reshape(shape)


# ------------------------------------------------------------------- metrics
@validate_params(
    {
        "y_true": ["array-like"],
        "y_prob": ["array-like"],
        "n_bins": [Interval(numbers.Integral, 1, None, closed="left")],
        "strategy": [StrOptions({"uniform", "quantile"})],
        "norm": [StrOptions({"l1", "l2", "max"})],
        "kind": [StrOptions({"top_label", "classwise", "marginal"})],
        "debias": ["boolean"],
        "labels": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
@accepts_tensors
def expected_calibration_error(
    y_true,
    y_prob,
    *,
    n_bins=15,
    strategy="uniform",
    norm="l1",
    kind="top_label",
    debias=False,
    labels=None,
):
    """Binned expected calibration error (ECE) of predicted probabilities.

    Forecasts are grouped into bins; in bin :math:`b` holding :math:`n_b` of
    the :math:`n` forecasts, the gap is the mean forecast minus the mean
    outcome. ``norm="l1"`` gives :math:`\\sum_b \\frac{n_b}{n}|gap_b|` (Naeini
    et al., 2015; Guo et al., 2017), ``"l2"`` the square root of
    :math:`\\sum_b \\frac{n_b}{n} gap_b^2`, ``"max"`` the largest
    :math:`|gap_b|` over non-empty bins (MCE).

    With ``debias=True`` (``norm="l2"`` only), each bin's squared gap is
    reduced by its expected sampling noise
    :math:`\\bar o_b (1 - \\bar o_b) / (n_b - 1)`, bins with fewer than two
    forecasts contribute nothing, and the sum is clipped at zero before the
    square root: the debiased estimator of Kumar, Liang and Ma (2019),
    "Verified uncertainty calibration", which has a much smaller bias for
    well-calibrated models.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
        Predicted probabilities: of the positive class when 1-D (binary), one
        column per class when 2-D (rows sum to 1).
    n_bins : int, default=15
        Number of bins.
    strategy : {"uniform", "quantile"}, default="uniform"
        Equal-width bins on [0, 1], or bins holding (nearly) equal numbers of
        forecasts (see Notes).
    norm : {"l1", "l2", "max"}, default="l1"
        How bin gaps are aggregated.
    kind : {"top_label", "classwise", "marginal"}, default="top_label"
        For 2-D ``y_prob``: ``"top_label"`` scores the confidence (largest
        probability) against whether the top class is right; ``"classwise"``
        averages the per-class errors (Kull et al., 2019); ``"marginal"``
        takes :math:`(\\frac{1}{K}\\sum_k ECE_k^p)^{1/p}` over classes (Kumar
        et al., 2019; the largest for ``norm="max"``). The three coincide for
        ``norm="l1"`` except ``"top_label"``. For 1-D ``y_prob`` the
        positive-class probability is scored and ``kind`` is ignored.
    debias : bool, default=False
        Debiased estimator of the L2 error (``norm="l2"`` only).
    labels : array-like of shape (n_classes,), default=None
        Class of each column of ``y_prob``; by default the sorted distinct
        values of ``y_true`` (or ``0..n_classes-1`` for integer labels when
        some class is absent).

    Returns
    -------
    ece : float

    Notes
    -----
    Bins are right-closed, ``(e_{j-1}, e_j]``. Quantile bins cut the sorted
    forecasts into ``n_bins`` chunks whose sizes differ by at most one and
    put each edge midway between neighbouring chunks; with ``norm="l2"``,
    ``kind="marginal"`` and ``debias=True`` this is the estimator of the
    ``uncertainty-calibration`` package. Uniform bins with ``norm="l1"``
    agree with ``netcal.metrics.ECE``.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.metrics import expected_calibration_error
    >>> y_true = np.array([0, 1, 1, 0, 1, 1])
    >>> y_prob = np.array([0.1, 0.9, 0.8, 0.3, 0.6, 0.7])
    >>> round(expected_calibration_error(y_true, y_prob, n_bins=5), 4)
    0.2333
    """
    if debias and norm != "l2":
        raise ValueError(
            f"debias=True is the debiased L2 estimator; use norm='l2' (got "
            f"norm={norm!r})."
        )
    forecast, outcome = _forecasts(y_true, y_prob, kind, labels)
    count, mean_f, mean_o = binned_statistics(forecast, outcome, n_bins, strategy)
    n = forecast.shape[1]
    filled = count > 0
    gap = np.where(filled, mean_f - mean_o, 0.0)
    if norm == "max":
        per_group = np.where(filled, np.abs(gap), 0.0).max(axis=1)
        return float(per_group.max() if kind == "marginal" else per_group.mean())
    power = 1 if norm == "l1" else 2
    terms = np.abs(gap) ** power
    if debias:
        noise = np.where(
            count >= 2, mean_o * (1.0 - mean_o) / np.maximum(count - 1.0, 1.0), 0.0
        )
        terms = np.where(count >= 2, terms - noise, 0.0)
    per_group = (count / n * terms).sum(axis=1)
    if debias:
        per_group = np.maximum(per_group, 0.0)
    if kind == "marginal":
        return float(per_group.mean() ** (1.0 / power))
    return float((per_group ** (1.0 / power)).mean())


def _smooth_residual(forecast, residual, sigma):
    """Kernel-smoothed residual density on a regular grid of [0, 1].

    The kernel is the reflected Gaussian of Błasiok and Nakkiran: a forecast
    ``f`` spreads its residual as the density of ``f + sigma * Z`` folded back
    into [0, 1] at both ends. Folding is exactly a circular convolution of the
    mirrored signal (period 2), done by FFT.
    """
    g = _SMOOTH_GRID
    position = forecast * g - 0.5
    left = np.floor(position)
    frac = position - left
    left = left.astype(np.int64)
    # Linear deposit on cell centres; mass beyond the first or last centre
    # folds back onto it, as the reflected kernel does.
    mass = np.bincount(
        np.clip(left, 0, g - 1), weights=residual * (1.0 - frac), minlength=g
    ) + np.bincount(np.clip(left + 1, 0, g - 1), weights=residual * frac, minlength=g)
    signal = np.concatenate([mass, mass[::-1]])
    offset = np.arange(2 * g)
    distance = np.minimum(offset, 2 * g - offset) / g
    images = np.arange(-int(np.ceil(4 * sigma)) - 1, int(np.ceil(4 * sigma)) + 2)
    kernel = np.exp(-0.5 * ((distance[:, None] + 2.0 * images) / sigma) ** 2).sum(1)
    kernel *= g / kernel.sum()
    smoothed = np.fft.irfft(np.fft.rfft(signal) * np.fft.rfft(kernel), n=2 * g)
    return smoothed[:g] / forecast.shape[0]


@validate_params(
    {
        "y_true": ["array-like"],
        "y_prob": ["array-like"],
        "bandwidth": [
            StrOptions({"auto"}),
            Interval(numbers.Real, 0, None, closed="neither"),
        ],
        "return_bandwidth": ["boolean"],
        "labels": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
@accepts_tensors
def smooth_ece(
    y_true, y_prob, *, bandwidth="auto", return_bandwidth=False, labels=None
):
    """Smooth ECE: the kernel-smoothed calibration error of Błasiok & Nakkiran.

    With residuals :math:`r_i = o_i - f_i` and a reflected Gaussian kernel
    :math:`K_\\sigma` on [0, 1],

    .. math::

        \\mathrm{smECE}_\\sigma = \\int_0^1 \\Bigl|\\frac{1}{n}\\sum_i
        K_\\sigma(t, f_i)\\, r_i\\Bigr|\\, dt ,

    and with ``bandwidth="auto"`` the bandwidth is the fixed point
    :math:`\\sigma^* = \\mathrm{smECE}_{\\sigma^*}`, which exists and is unique
    because the smoothed error does not increase with :math:`\\sigma`
    (Błasiok and Nakkiran, 2024, "Smooth ECE: principled reliability diagrams
    via kernel smoothing", ICLR). Unlike the binned ECE it has no bin edges to
    choose and is continuous in the forecasts. The integral is evaluated on a
    grid of 4096 cells by FFT, so it takes ``O(n + grid log grid)`` per
    bandwidth.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
        Probabilities of the positive class (1-D) or of every class (2-D, in
        which case the top-label confidence is scored against correctness).
    bandwidth : "auto" or float, default="auto"
        Kernel width :math:`\\sigma`; ``"auto"`` is the fixed point.
    return_bandwidth : bool, default=False
        Also return the bandwidth used.
    labels : array-like of shape (n_classes,), default=None
        Class of each column of ``y_prob`` (see
        :func:`expected_calibration_error`).

    Returns
    -------
    smece : float
    bandwidth : float
        Only when ``return_bandwidth=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.metrics import smooth_ece
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=20_000)
    >>> y = rng.uniform(size=20_000) < p
    >>> round(smooth_ece(y, p), 2), round(smooth_ece(y, p ** 3), 2)
    (0.01, 0.25)
    """
    forecast, outcome = _forecasts(y_true, y_prob, "top_label", labels)
    forecast, residual = forecast[0], outcome[0] - forecast[0]

    def error(sigma):
        return float(np.abs(_smooth_residual(forecast, residual, sigma)).mean())

    if bandwidth == "auto":
        low, high = 0.5 / _SMOOTH_GRID, 1.0
        if error(low) <= low:
            # Better calibrated than the grid can resolve.
            sigma = low
        else:
            sigma = brentq(lambda s: error(s) - s, low, high, xtol=1e-7)
    else:
        sigma = float(bandwidth)
    value = error(sigma)
    return (value, sigma) if return_bandwidth else value


@validate_params(
    {
        "y_true": ["array-like"],
        "y_prob": ["array-like"],
        "sample_weight": ["array-like", None],
        "labels": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
@accepts_tensors
def brier_score(y_true, y_prob, *, sample_weight=None, labels=None):
    """Multiclass Brier score (half the squared error to the one-hot label).

    :math:`\\frac{1}{2n}\\sum_i \\sum_k (p_{ik} - [y_i = k])^2` (Brier,
    1950, halved so that a binary problem scores the same given 1-D or two
    columns: then it is :math:`\\frac{1}{n}\\sum_i (p_i - y_i)^2`). It equals
    scikit-learn's ``brier_score_loss`` with ``scale_by_half=True``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
    sample_weight : array-like of shape (n_samples,), default=None
    labels : array-like of shape (n_classes,), default=None
        Class of each column of ``y_prob``.

    Returns
    -------
    score : float
        In [0, 1]; lower is better.

    Examples
    --------
    >>> from skalign.metrics import brier_score
    >>> y_prob = [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8]]
    >>> round(brier_score([0, 1, 2], y_prob), 4)
    0.0433
    """
    proba, codes = _probability_columns(y_true, y_prob, labels)
    weight = _check_sample_weight(sample_weight, proba, dtype=np.float64)
    onehot = np.zeros_like(proba)
    onehot[np.arange(proba.shape[0]), codes] = 1.0
    per_row = 0.5 * ((proba - onehot) ** 2).sum(axis=1)
    return float(np.average(per_row, weights=weight))


@validate_params(
    {
        "y_true": ["array-like"],
        "y_prob": ["array-like"],
        "sample_weight": ["array-like", None],
        "labels": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
@accepts_tensors
def negative_log_likelihood(y_true, y_prob, *, sample_weight=None, labels=None):
    """Mean negative log-likelihood (log loss) of the true labels.

    :math:`-\\frac{1}{n}\\sum_i \\log p_{i, y_i}`, probabilities clipped to
    ``[eps, 1 - eps]`` (``eps`` the float64 machine epsilon) as in
    scikit-learn's ``log_loss``, which it equals.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
    sample_weight : array-like of shape (n_samples,), default=None
    labels : array-like of shape (n_classes,), default=None
        Class of each column of ``y_prob``.

    Returns
    -------
    nll : float
        Lower is better.

    Examples
    --------
    >>> from skalign.metrics import negative_log_likelihood
    >>> round(negative_log_likelihood([1, 0], [0.9, 0.2]), 4)
    0.1643
    """
    proba, codes = _probability_columns(y_true, y_prob, labels)
    weight = _check_sample_weight(sample_weight, proba, dtype=np.float64)
    picked = np.clip(proba[np.arange(proba.shape[0]), codes], EPS, 1.0 - EPS)
    return float(np.average(-np.log(picked), weights=weight))


_REPORT_COLUMNS = {
    "accuracy": "accuracy",
    "ece": "ECE",
    "classwise_ece": "cw-ECE",
    "debiased_l2_ece": "dL2-ECE",
    "smooth_ece": "smECE",
    "brier": "Brier",
    "nll": "NLL",
}


@accepts_tensors
def calibration_report(
    y_true, y_prob, *, n_bins=15, labels=None, digits=4, output_dict=False
):
    """Calibration and accuracy metrics of one or more models, side by side.

    Columns: accuracy, top-label ECE (uniform bins), classwise ECE, the
    debiased L2 ECE (quantile bins, marginal), smooth ECE, Brier score and
    negative log-likelihood; one row per model.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_prob : array-like or dict of str -> array-like
        Predicted probabilities (see :func:`expected_calibration_error`), or
        a mapping from model name to its probabilities.
    n_bins : int, default=15
        Bins of the binned ECEs.
    labels : array-like of shape (n_classes,), default=None
        Class of each column of the probabilities.
    digits : int, default=4
        Digits printed after the decimal point.
    output_dict : bool, default=False
        Return ``{model: {metric: value}}`` instead of a text table.

    Returns
    -------
    report : str or dict

    Examples
    --------
    >>> from skalign.metrics import calibration_report
    >>> y = [0, 1, 1, 0]
    >>> print(calibration_report(y, {"model": [0.2, 0.7, 0.9, 0.4]}, n_bins=2))
          accuracy      ECE   cw-ECE  dL2-ECE    smECE    Brier      NLL
    model   1.0000   0.2500   0.2500   0.2550   0.1778   0.0750   0.2990
    """
    models = y_prob if isinstance(y_prob, dict) else {"model": y_prob}
    rows = {}
    for name, proba in models.items():
        columns, codes = _probability_columns(y_true, proba, labels)
        rows[str(name)] = {
            "accuracy": float(np.mean(columns.argmax(axis=1) == codes)),
            "ece": expected_calibration_error(
                y_true, proba, n_bins=n_bins, labels=labels
            ),
            "classwise_ece": expected_calibration_error(
                y_true, columns, n_bins=n_bins, kind="classwise", labels=labels
            ),
            "debiased_l2_ece": expected_calibration_error(
                y_true,
                proba,
                n_bins=n_bins,
                strategy="quantile",
                norm="l2",
                kind="marginal",
                debias=True,
                labels=labels,
            ),
            "smooth_ece": smooth_ece(y_true, proba, labels=labels),
            "brier": brier_score(y_true, proba, labels=labels),
            "nll": negative_log_likelihood(y_true, proba, labels=labels),
        }
    if output_dict:
        return rows
    width = max(len(name) for name in rows)
    cell = max(digits + 4, max(len(h) for h in _REPORT_COLUMNS.values()))
    lines = [" " * width + "".join(f" {h:>{cell}}" for h in _REPORT_COLUMNS.values())]
    for name, values in rows.items():
        lines.append(
            f"{name:<{width}}"
            + "".join(f" {values[key]:>{cell}.{digits}f}" for key in _REPORT_COLUMNS)
        )
    return "\n".join(lines)
