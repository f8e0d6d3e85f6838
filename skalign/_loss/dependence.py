"""Distance-covariance dependence measures, and the objectives they penalise.

These are the fairness penalties of :mod:`skalign.fairness`: each measures how
much a prediction depends on protected attributes, is zero (in the population)
exactly when they are independent, and sees non-linear dependence as well as
linear. Every function takes torch tensors (or array-likes, converted to
float64), works on any device and in float32 or float64, and is differentiable
in its inputs. No scikit-learn, no skorch.

The general path builds ``n x n`` distance matrices, so a mini-batch of ``B``
rows costs ``O(B^2)`` memory and time. A univariate prediction against one
continuous or categorical attribute can instead take exact ``O(n log n)``
algorithms, which is what whole data sets need; :func:`dependence_penalty`
chooses automatically:

- :func:`fast_distance_covariance`: two univariate samples (Huo & Székely,
  2016; Chaudhuri & Hu, 2019), vectorised as a bottom-up merge sort with one
  sort per level. It is built from sorts, gathers and cumulative sums of the
  data, so it is also differentiable.
- :func:`categorical_distance_covariance`: a univariate sample and a
  categorical attribute, from sorted prefix sums.
- :func:`blockwise_dcov_stats`: ``dCov²(x, y)``, ``dVar²(x)`` and ``dVar²(y)``
  for multivariate samples in ``O(n²)`` time but ``O(n · block)`` memory, for
  evaluation (no gradient).

:func:`penalised_loss` and :func:`unit_dependence_penalty` are the training
objectives: a data loss plus ``strength`` times the penalty, for row units and
for pair or list units.

References
----------
Székely, Rizzo & Bakirov (2007), "Measuring and testing dependence by
correlation of distances", Ann. Statist. 35(6).
Székely & Rizzo (2014), "Partial distance correlation with methods for
dissimilarities", Ann. Statist. 42(6) (U-centring).
Chakraborty & Zhang (2019), "Distance metrics for measuring joint dependence
with application to causal inference", JASA 114(528) (JdCov).
Huo & Székely (2016), "Fast computing for distance covariance",
Technometrics 58(4).
Chaudhuri & Hu (2019), "A fast algorithm for computing distance
correlation", Comput. Stat. Data Anal. 135.
"""

import contextlib
import math
import threading

import numpy as np
import torch

from ._reduction import fused_allowed, weighted_mean
from .calibration import binary_nll, multinomial_nll
from .pairwise import regression_loss

__all__ = [
    "DATA_LOSSES",
    "KINDS",
    "PREDICTIONS",
    "absolute_error",
    "blockwise_dcov_stats",
    "categorical_distance_covariance",
    "concatenated_distance_covariance",
    "dependence_penalty",
    "distance_covariance",
    "fast_distance_covariance",
    "half_poisson_deviance",
    "half_squared_error",
    "joint_distance_covariance",
    "penalised_loss",
    "pooled_rows",
    "unit_dependence_penalty",
]

KINDS = ("dcov", "jdcov", "ccdcov")
_STATISTICS = ("v", "u")
_METHODS = ("auto", "naive", "fast")
# From about these many rows on, the O(n log n) paths are faster than the
# distance matrices, forward and backward, on a CPU (see
# benchmarks/bench_fairness.py): the categorical one is a single sort.
_FAST_MIN_ROWS = 1024
_CATEGORICAL_MIN_ROWS = 512
# Rows per block of blockwise_dcov_stats.
_BLOCK = 2048


def _as_matrix(x, name, like=None, check_values=True):
    """``x`` as a floating ``(n, d)`` tensor (a 1-D input is one column).

    ``check_values=False`` skips the check for NaN and infinity, which reads
    the values (a host-device synchronisation on a GPU).
    """
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(np.asarray(x, dtype=np.float64))
        if like is not None:
            x = x.to(device=like.device, dtype=like.dtype)
    if not torch.is_floating_point(x):
        x = x.to(like.dtype if like is not None else torch.get_default_dtype())
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(
            f"{name} must be 1-D (n,) or 2-D (n, d); got shape {tuple(x.shape)}."
        )
    if check_values and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return x


def _check_pair(a, b, names=("a", "b"), check_values=True):
    a = _as_matrix(a, names[0], check_values=check_values)
    b = _as_matrix(b, names[1], like=a, check_values=check_values)
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same number of rows; "
            f"got {a.shape[0]} and {b.shape[0]}."
        )
    return a, b


def _check_statistic(statistic, n, weight):
    if statistic not in _STATISTICS:
        raise ValueError(f"statistic must be 'v' or 'u'; got {statistic!r}.")
    if statistic == "u":
        if n < 4:
            raise ValueError(
                f"the U-statistic needs at least 4 rows (it divides by n - 3); got {n}."
            )
        if weight is not None:
            raise ValueError(
                "weight is only supported with statistic='v': the U-statistic "
                "has no weighted form that equals repeating rows."
            )
    elif n < 1:
        raise ValueError("distance covariance needs at least one row; got 0.")


def _normalised_weight(weight, n, like, check_values=True):
    """Weights summing to one, or ``None`` for equal weights."""
    if weight is None:
        return None
    weight = torch.as_tensor(weight, dtype=like.dtype, device=like.device)
    if weight.shape != (n,):
        raise ValueError(
            f"weight must have shape ({n},), one per row; got {tuple(weight.shape)}."
        )
    if check_values and (bool((weight < 0).any()) or not bool(weight.sum() > 0)):
        raise ValueError("weight must be non-negative with a positive sum.")
    return _normalise(weight)


def _normalise(weight):
    """``weight / Σ weight``; all zeros stay zeros."""
    total = weight.sum()
    return weight / total.clamp_min(torch.finfo(total.dtype).tiny)


def _distances(x, y=None):
    """Euclidean distances ``|x_i - y_j|`` between the rows of ``x`` and ``y``
    (default ``x``)."""
    if y is None:
        y = x
    if x.shape[1] == 1:
        # |.| has subgradient 0 at ties, so constant inputs give zero gradient.
        return (x - y.T).abs()
    # Not the matrix-product formula: it loses the small distances to
    # cancellation. cdist's backward is zero where a distance is zero.
    return torch.cdist(x, y, compute_mode="donot_use_mm_for_euclid_dist")


def _double_centre(d, weight):
    """``d_ij - d_i. - d_.j + d_..`` with (weighted) means: the V-statistic."""
    if weight is None:
        rows = d.mean(dim=1)
        grand = rows.mean()
    else:
        rows = d @ weight
        grand = rows @ weight
    return d - rows[:, None] - rows[None, :] + grand


def _u_centre(d):
    """U-centring (Székely & Rizzo, 2014): zero diagonal, rows summing to zero."""
    n = d.shape[0]
    rows = d.sum(dim=1)
    grand = rows.sum()
    centred = (
        d
        - rows[:, None] / (n - 2)
        - rows[None, :] / (n - 2)
        + grand / ((n - 1) * (n - 2))
    )
    diagonal = torch.eye(n, dtype=torch.bool, device=d.device)
    return centred.masked_fill(diagonal, 0.0)


def _centre(d, statistic, weight):
    return _u_centre(d) if statistic == "u" else _double_centre(d, weight)


def _inner(a_centred, d_b, statistic, weight):
    """Centred inner product; centring one factor is enough (its rows sum to 0)."""
    n = d_b.shape[0]
    if statistic == "u":
        return (a_centred * d_b).sum() / (n * (n - 3))
    if weight is None:
        return (a_centred * d_b).mean()
    return weight @ (a_centred * d_b) @ weight


def distance_covariance(a, b, statistic="v", *, weight=None, method="auto"):
    """Squared distance covariance dCov²(a, b) between two samples.

    The V-statistic is ``(1/n²) Σ_ij A_ij B_ij`` with ``A``, ``B`` the doubly
    centred Euclidean distance matrices of the rows of ``a`` and ``b``
    (Székely, Rizzo & Bakirov, 2007); it is non-negative and zero when the
    samples are independent in the limit. The U-statistic
    ``Σ_{i≠j} Ã_ij B̃_ij / (n(n-3))`` uses U-centred matrices and is unbiased
    (Székely & Rizzo, 2014); it can be negative and needs ``n >= 4``.

    Parameters
    ----------
    a : tensor or array-like of shape (n,) or (n, p)
    b : tensor or array-like of shape (n,) or (n, q)
    statistic : {"v", "u"}, default="v"
        V-statistic (biased, ``>= 0``) or U-statistic (unbiased).
    weight : tensor of shape (n,), default=None
        Non-negative row weights for the V-statistic: the distance covariance
        of the weighted empirical distribution, so an integer weight ``k``
        equals repeating the row ``k`` times.
    method : {"auto", "naive", "fast"}, default="auto"
        ``"naive"`` builds the ``n x n`` distance matrices (``O(n²)`` memory,
        any dimension). ``"fast"`` is the exact ``O(n log n)`` algorithm for
        univariate ``a`` and ``b`` (Huo & Székely, 2016), also differentiable.
        ``"auto"`` takes ``"fast"`` for two univariate samples of at least
        1024 rows and ``"naive"`` otherwise.

    Returns
    -------
    dcov : tensor of shape ()
        Differentiable in ``a`` and ``b``.

    Examples
    --------
    >>> import torch
    >>> from skalign.fairness import distance_covariance
    >>> x = torch.linspace(-1, 1, 50, dtype=torch.float64)
    >>> round(float(distance_covariance(x, x**2)), 4)
    0.0237
    >>> round(float(distance_covariance(x, torch.ones(50))), 4)
    0.0
    """
    a, b = _check_pair(a, b)
    n = a.shape[0]
    _check_statistic(statistic, n, weight)
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}; got {method!r}.")
    univariate = a.shape[1] == 1 and b.shape[1] == 1
    if method == "fast" and not univariate:
        raise ValueError(
            "method='fast' needs univariate a and b (one column each); got "
            f"{a.shape[1]} and {b.shape[1]} columns. Use method='naive'."
        )
    weight = _normalised_weight(weight, n, a)
    if method == "fast" or (method == "auto" and univariate and n >= _FAST_MIN_ROWS):
        return fast_distance_covariance(a[:, 0], b[:, 0], statistic, weight=weight)
    return _inner(
        _centre(_distances(a), statistic, weight), _distances(b), statistic, weight
    )


def _dcov(a, b, statistic, weight, centred_a=None):
    """dCov² of validated ``(n, p)``, ``(n, q)`` tensors, by the faster path.

    ``centred_a``, when given, is the centred distance matrix of ``a``,
    shared between calls.
    """
    if a.shape[1] == 1 and b.shape[1] == 1 and a.shape[0] >= _FAST_MIN_ROWS:
        return fast_distance_covariance(a[:, 0], b[:, 0], statistic, weight=weight)
    if centred_a is None:
        centred_a = _centre(_distances(a), statistic, weight)
    return _inner(centred_a, _distances(b), statistic, weight)


def joint_distance_covariance(pred, *attributes, c=1.0, statistic="u", weight=None):
    """Joint distance covariance JdCov² of a prediction and attributes.

    JdCov² (Chakraborty & Zhang, 2019) measures the joint dependence of
    ``d`` variables and is zero in the population exactly when they are
    mutually independent:
    ``JdCov²(X_1, ..., X_d; c) = E[Π_i (U_i(X_i, X_i') + c)] - c^d`` with
    ``U_i(x, x') = E|x - X_i'| + E|X_i - x'| - |x - x'| - E|X_i - X_i'|``.
    The U-statistic estimator is
    ``Σ_{k,l} Π_i (Ũ_i(k, l) + c) / (n(n-3)) - c^d n / (n-3)``, where
    ``Ũ_i`` is minus the U-centred distance matrix of variable ``i`` (zero on
    the diagonal); the V-statistic is
    ``(1/n²) Σ_{k,l} Π_i (Û_i(k, l) + c) - c^d`` with minus the doubly centred
    matrices. Expanding the product, JdCov² is ``c^{d-2}`` times the sum of
    the pairwise dCov² plus ``c^{d-3}`` times third-order terms, and so on:
    a larger ``c`` weighs pairwise dependence more, a smaller one higher-order
    (intersectional) dependence.

    Each of ``pred`` and ``attributes`` is one variable, possibly
    multivariate (a one-hot encoded categorical is one variable). The
    dependence among the attributes themselves is part of JdCov² but does not
    depend on ``pred``, so it adds a constant (no gradient) to a penalty.

    Parameters
    ----------
    pred : tensor or array-like of shape (n,) or (n, k)
    *attributes : tensors or array-likes of shape (n,) or (n, d_i)
        At least one.
    c : float, default=1.0
        The positive constant of JdCov² (the same scale as the distances;
        attributes are best standardised).
    statistic : {"u", "v"}, default="u"
        The unbiased U-statistic of the paper, or the V-statistic (which
        supports ``weight``).
    weight : tensor of shape (n,), default=None
        Row weights (V-statistic only), as in :func:`distance_covariance`.

    Returns
    -------
    jdcov : tensor of shape ()

    Examples
    --------
    >>> import torch
    >>> from skalign.fairness import joint_distance_covariance
    >>> g = torch.Generator().manual_seed(0)
    >>> s1, s2 = torch.randn(2, 300, dtype=torch.float64, generator=g)
    >>> pred = s1 * s2  # pairwise independent of s1 and s2, but not jointly
    >>> bool(joint_distance_covariance(pred, s1, s2) > 0.05)
    True
    """
    if not attributes:
        raise ValueError("joint_distance_covariance needs at least one attribute.")
    if not c > 0:
        raise ValueError(f"c must be positive; got {c!r}.")
    pred = _as_matrix(pred, "pred")
    variables = [pred] + [
        _check_pair(pred, v, ("pred", f"attributes[{i}]"))[1]
        for i, v in enumerate(attributes)
    ]
    n = pred.shape[0]
    _check_statistic(statistic, n, weight)
    return _jdcov(variables, c, statistic, _normalised_weight(weight, n, pred))


def _jdcov(variables, c, statistic, weight):
    """JdCov² of validated ``(n, d_i)`` variables (``weight`` normalised)."""
    n, d = variables[0].shape[0], len(variables)
    product = None
    for v in variables:
        term = c - _centre(_distances(v), statistic, weight)
        product = term if product is None else product * term
    if statistic == "u":
        # The diagonal of each Ũ_i is zero, so it contributes c^d per row.
        return product.sum() / (n * (n - 3)) - c**d * n / (n - 3)
    if weight is None:
        return product.mean() - c**d
    return weight @ product @ weight - c**d


def concatenated_distance_covariance(pred, attributes, statistic="v", *, weight=None):
    """CCdCov: dCov² between a prediction and all attributes, concatenated.

    ``dCov²(ŷ, [S_1, ..., S_p])``, the distance covariance with the
    column-concatenation of the protected attributes, which is zero in the
    population exactly when the prediction is independent of the attributes
    *jointly* — so dependence on an intersection of groups counts too. With
    a single attribute it is :func:`distance_covariance`.

    Parameters
    ----------
    pred : tensor or array-like of shape (n,) or (n, k)
    attributes : tensor of shape (n, d) or sequence of tensors (n,) / (n, d_i)
        The encoded attributes; a sequence is concatenated column-wise.
    statistic : {"v", "u"}, default="v"
    weight : tensor of shape (n,), default=None
        Row weights (V-statistic only).

    Returns
    -------
    ccdcov : tensor of shape ()

    Examples
    --------
    >>> import torch
    >>> from skalign.fairness import concatenated_distance_covariance
    >>> s = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    >>> pred = torch.tensor([0.1, 0.9, 0.2, 0.8])
    >>> round(float(concatenated_distance_covariance(pred, s)), 4)
    0.2298
    """
    pred = _as_matrix(pred, "pred")
    if isinstance(attributes, (list, tuple)):
        if not attributes:
            raise ValueError("attributes must not be empty.")
        attributes = torch.cat(
            [
                _as_matrix(v, f"attributes[{i}]", like=pred)
                for i, v in enumerate(attributes)
            ],
            dim=1,
        )
    return distance_covariance(
        pred, attributes, statistic, weight=weight, method="naive"
    )


def dependence_penalty(
    pred,
    attributes,
    *,
    kind="dcov",
    sizes=None,
    categorical=None,
    statistic="v",
    c=1.0,
    weight=None,
):
    """The fairness penalty of a (mini-)batch: how much ``pred`` depends on attributes.

    This is the function every skalign estimator adds, times the strength
    of its :class:`~skalign.fairness.DependencePenalty`, to its loss;
    other models can call it on their own predictions. It checks shapes
    and options but never reads the values (no host-device
    synchronisation), so it is safe inside a training loop on a GPU.
    ``attributes`` are protected attributes encoded (and validated, once)
    by :func:`~skalign.fairness.encode_sensitive_features`:
    ``sizes`` splits its columns into the attributes, e.g. ``(3, 1)`` for a
    three-level categorical (one-hot) followed by a continuous attribute.

    - ``"dcov"``: ``Σ_j dCov²(pred, S_j)``, one distance covariance per
      attribute (marginal demographic parity; with one attribute, plain
      dCov²).
    - ``"ccdcov"``: ``dCov²(pred, [S_1, ..., S_p])``, see
      :func:`concatenated_distance_covariance` (joint, intersectional).
    - ``"jdcov"``: ``JdCov²(pred, S_1, ..., S_p; c)``, see
      :func:`joint_distance_covariance` (joint, with a tunable weight of
      higher-order terms).

    For a univariate ``pred``, a dCov² with one attribute is computed without
    ``n x n`` matrices where that is faster: in ``O(n log n)`` for a
    categorical attribute (from 512 rows on) or a continuous one (from 1024
    rows on). Everything else builds the distance matrices (``O(n²)``
    memory).

    Parameters
    ----------
    pred : tensor of shape (n,) or (n, k)
        Predictions (regression outputs, probabilities).
    attributes : tensor of shape (n, d)
        Encoded attributes.
    kind : {"dcov", "ccdcov", "jdcov"}, default="dcov"
    sizes : sequence of int, default=None
        Columns of each attribute, summing to ``d``; ``None`` is one
        attribute of ``d`` columns.
    categorical : sequence of bool, default=None
        Which attributes are categorical, encoded as
        :func:`~skalign.fairness.encode_sensitive_features` does (one-hot
        columns, or one two-valued column for two levels): they can take
        the exact ``O(n log n)`` path. ``None``: none.
    statistic : {"v", "u"}, default="v"
    c : float, default=1.0
        JdCov²'s constant (``kind="jdcov"`` only).
    weight : tensor of shape (n,), default=None
        Non-negative row weights (V-statistic only; not checked). A batch
        whose weights are all zero has penalty ``-c^d`` for JdCov² and 0
        otherwise, with no gradient.

    Returns
    -------
    penalty : tensor of shape ()

    Examples
    --------
    >>> import torch
    >>> from skalign.fairness import dependence_penalty
    >>> g = torch.Generator().manual_seed(0)
    >>> s = torch.randn(200, 2, dtype=torch.float64, generator=g)
    >>> pred = s[:, 0] + 0.1 * torch.randn(200, dtype=torch.float64, generator=g)
    >>> fair = torch.randn(200, dtype=torch.float64, generator=g)
    >>> bool(dependence_penalty(pred, s, kind="dcov", sizes=(1, 1))
    ...      > 10 * dependence_penalty(fair, s, kind="dcov", sizes=(1, 1)))
    True
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}.")
    pred, attributes = _check_pair(
        pred, attributes, ("pred", "attributes"), check_values=False
    )
    if sizes is None:
        sizes = (attributes.shape[1],)
    sizes = tuple(int(s) for s in sizes)
    if any(s < 1 for s in sizes) or sum(sizes) != attributes.shape[1]:
        raise ValueError(
            f"sizes must be positive and sum to the {attributes.shape[1]} columns "
            f"of attributes; got {sizes}."
        )
    categorical = (False,) * len(sizes) if categorical is None else tuple(categorical)
    if len(categorical) != len(sizes):
        raise ValueError(
            f"categorical must have one entry per attribute ({len(sizes)}); got "
            f"{len(categorical)}."
        )
    if kind == "jdcov" and not c > 0:
        raise ValueError(f"c must be positive; got {c!r}.")
    n = pred.shape[0]
    _check_statistic(statistic, n, weight)
    weight = _normalised_weight(weight, n, pred, check_values=False)
    return _penalty(pred, attributes, kind, sizes, categorical, statistic, c, weight)


def _penalty(pred, attributes, kind, sizes, categorical, statistic, c, weight):
    """:func:`dependence_penalty` on validated inputs, without host syncs.

    ``pred`` and ``attributes`` are ``(n, k)`` and ``(n, d)`` tensors and
    ``weight`` is ``None`` or sums to one; this is what a training loop
    calls on every mini-batch.
    """
    parts = torch.split(attributes, sizes, dim=1)
    if kind == "jdcov":
        return _jdcov([pred, *parts], c, statistic, weight)
    if kind == "ccdcov":
        if len(parts) == 1:
            return _attribute_dcov(pred, attributes, categorical[0], statistic, weight)
        return _dcov(pred, attributes, statistic, weight)
    paths = [_fast_path(pred, part, is_cat) for part, is_cat in zip(parts, categorical)]
    # One centred prediction matrix serves every attribute on the naive path.
    centred = (
        _centre(_distances(pred), statistic, weight)
        if sum(path is None for path in paths) > 1
        else None
    )
    return sum(
        _attribute_dcov(pred, part, is_cat, statistic, weight, centred)
        for part, is_cat in zip(parts, categorical)
    )


def _fast_path(pred, part, is_categorical):
    """``"categorical"``, ``"univariate"`` or ``None`` (distance matrices)."""
    if pred.shape[1] != 1:
        return None
    if is_categorical and pred.shape[0] >= _CATEGORICAL_MIN_ROWS:
        return "categorical"
    if part.shape[1] == 1 and pred.shape[0] >= _FAST_MIN_ROWS:
        return "univariate"
    return None


def _levels(part):
    """The level of each row of an encoded categorical attribute, and the
    distance between rows of different levels."""
    if part.shape[1] == 1:
        # Two levels, stored as one two-valued column.
        low, high = part.min(), part.max()
        return (part[:, 0] > low).long(), high - low
    return part.argmax(dim=1), part.max() * math.sqrt(2.0)


def _attribute_dcov(pred, part, is_categorical, statistic, weight, centred=None):
    """dCov² of the prediction and one encoded attribute, by the fastest path."""
    path = _fast_path(pred, part, is_categorical)
    if path == "categorical":
        codes, scale = _levels(part)
        return categorical_distance_covariance(
            pred[:, 0], codes, scale, statistic, weight=weight
        )
    return _dcov(pred, part, statistic, weight, centred)


def _categorical_distance_variance(part, weight):
    """The V-statistic ``dVar²(s)`` of an encoded categorical attribute in
    ``O(n)``.

    Rows are ``c`` apart between levels and 0 within one. With level shares
    ``p_k`` (the weights, summing to one) and ``Q = Σ_k p_k²``, the doubly
    centred distance between levels ``k`` and ``l`` is ``c (p_k + p_l -
    [k = l] - Q)``, so with ``u_k = p_k - Q / 2``,
    ``dVar² = c² (2 Σ p u² + 2 (Σ p u)² - 2 Σ p² (2 p - Q) + Q)``.
    """
    codes, scale = _levels(part)
    n = part.shape[0]
    w = part.new_full((n,), 1.0 / n) if weight is None else weight
    # n bounds the number of levels: no look at the codes' values.
    p = torch.zeros(n, dtype=w.dtype, device=w.device).index_add_(0, codes, w)
    q = (p * p).sum()
    u = p - q / 2
    pu = (p * u).sum()
    total = 2 * (p * u * u).sum() + 2 * pu * pu - 2 * (p * p * (2 * p - q)).sum() + q
    return scale * scale * total


def _weighted_row_sums(xs, ws, order):
    """``a_i = Σ_j w_j |x_i - x_j|`` from ``x`` sorted (``xs = x[order]``)."""
    w_below = torch.cumsum(ws, 0) - ws
    wx_below = torch.cumsum(ws * xs, 0) - ws * xs
    w_above = ws.sum() - w_below - ws
    wx_above = (ws * xs).sum() - wx_below - ws * xs
    sums = xs * w_below - wx_below + wx_above - xs * w_above
    return torch.empty_like(sums).scatter_(0, order, sums)


def _dominance_sums(rank, channels):
    """``Σ_{i < j, y_i < y_j} channels[:, i]`` for every position ``j``.

    ``rank`` holds distinct ranks of ``y`` and ``channels`` has shape
    ``(n_channels, n)``; positions are in the order that defines ``i < j``.
    A bottom-up merge sort by rank: at each level, blocks of ``2h``
    positions hold two halves each sorted by rank; a right element finds how
    many left elements rank below it (a batched binary search), collects the
    prefix sum of their channels, and the halves are merged by scattering
    each element to its rank in the union. Every step is local to a block
    and vectorised over the blocks of a level; the data are padded to a
    power of two so that blocks are whole.
    """
    n_channels, n = channels.shape
    device = rank.device
    size = 1 << max(n - 1, 1).bit_length()
    # Padding rows get the largest ranks and zero channels: they never count.
    # Each key carries its rank (ordering) and its original position.
    key = torch.cat([rank, torch.arange(n, size, device=device)]) * size
    key += torch.arange(size, device=device)
    # Channels, then the sums collected so far, merged together level by level.
    state = torch.cat(
        [
            torch.nn.functional.pad(channels, (0, size - n)),
            channels.new_zeros(n_channels, size),
        ]
    )
    half = 1
    while half < size:
        n_blocks = size // (2 * half)
        pairs = key.view(n_blocks, 2, half)
        n_left_below = torch.searchsorted(
            pairs[:, 0].contiguous(), pairs[:, 1].contiguous()
        )
        parts = state.view(2 * n_channels, n_blocks, 2, half)
        prefix = torch.nn.functional.pad(
            torch.cumsum(parts[:n_channels, :, 0], 2), (1, 0)
        )
        parts[n_channels:, :, 1] += torch.gather(
            prefix, 2, n_left_below.expand(n_channels, -1, -1)
        )
        # The i-th left element is preceded in the merge by the right
        # elements with at most i left elements below them.
        n_right_below = torch.zeros(
            n_blocks, half + 1, dtype=torch.long, device=device
        ).scatter_add_(1, n_left_below, torch.ones_like(n_left_below))
        n_right_below = torch.cumsum(n_right_below[:, :half], 1)
        offset = torch.arange(half, device=device)
        target = (
            torch.stack([offset + n_right_below, offset + n_left_below], dim=1)
            + (torch.arange(n_blocks, device=device) * 2 * half)[:, None, None]
        )
        target = target.view(size)
        key = torch.empty_like(key).scatter_(0, target, key)
        state = torch.empty_like(state).scatter_(
            1, target.expand(2 * n_channels, -1), state
        )
        half *= 2
    origin = (key % size).expand(n_channels, -1)
    out = channels.new_empty(n_channels, size).scatter_(1, origin, state[n_channels:])
    return out[:, :n]


def _dcov_sums(x, y, w):
    """``Σ_ij w_i w_j a_ij b_ij`` and the weighted row sums of ``a`` and ``b``.

    With ``x`` sorted, ``Σ_ij w_i w_j |x_i - x_j| |y_i - y_j|`` is
    ``2 Σ_{i<j} w_i w_j (x_j - x_i) |y_j - y_i|``; writing
    ``|y_j - y_i| = (y_j - y_i) (2·[y_i < y_j] - 1)`` leaves one dominance
    sum of the channels ``w·(1, x, y, xy)`` and a closed-form all-pairs sum.
    Ties in ``y`` may be ranked either way: their terms carry
    ``y_j - y_i = 0``.
    """
    n = x.shape[0]
    x_order, y_order = torch.argsort(x), torch.argsort(y)
    y_rank = torch.empty_like(y_order)
    y_rank[y_order] = torch.arange(n, device=y.device)
    xs, ys, ws = x[x_order], y[x_order], w[x_order]
    channels = torch.stack([ws, ws * xs, ws * ys, ws * xs * ys])
    n_below, x_below, y_below, xy_below = _dominance_sums(y_rank[x_order], channels)
    below = (ws * (xs * ys * n_below - xs * y_below - ys * x_below + xy_below)).sum()
    w_total = ws.sum()
    all_pairs = w_total * (ws * xs * ys).sum() - (ws * xs).sum() * (ws * ys).sum()
    cross = 2.0 * (2.0 * below - all_pairs)
    a = _weighted_row_sums(xs, ws, x_order)
    b = _weighted_row_sums(y[y_order], w[y_order], y_order)
    return cross, a, b


def fast_distance_covariance(x, y, statistic="v", *, weight=None):
    """Exact squared distance covariance of univariate samples in O(n log n).

    Parameters
    ----------
    x, y : tensor of shape (n,)
    statistic : {"v", "u"}, default="v"
    weight : tensor of shape (n,), default=None
        Non-negative row weights summing to one (V-statistic only).

    Returns
    -------
    dcov : tensor of shape ()
        Equal to the ``O(n²)`` definition up to round-off.
    """
    n = x.shape[0]
    if statistic == "u":
        return _u_statistic(*_dcov_sums(x, y, torch.ones_like(x)))
    w = torch.full_like(x, 1.0 / n) if weight is None else weight
    return _v_statistic(*_dcov_sums(x, y, w), w)


def _u_statistic(cross, a, b):
    """The U-statistic dCov² from ``Σ_ij |x_i - x_j| |y_i - y_j|`` and the
    row sums ``a``, ``b`` of the two distance matrices."""
    n = a.shape[0]
    return (
        cross - 2.0 * (a * b).sum() / (n - 2) + a.sum() * b.sum() / ((n - 1) * (n - 2))
    ) / (n * (n - 3))


def _v_statistic(cross, a, b, w):
    """The V-statistic dCov² from the ``w``-weighted sums (``w`` sums to one)."""
    return cross - 2.0 * (w * a * b).sum() + (w * a).sum() * (w * b).sum()


def _segment_row_sums(x, w, codes, n_groups, x_order):
    """``Σ_{j : g_j = g_i} w_j |x_i - x_j|``: row sums within each group.

    A stable sort of the groups along ``x_order`` (the order of ``x``) puts
    each group's rows together in increasing ``x``; prefix sums restarted at
    every group do the rest.
    """
    _, by_group = torch.sort(codes[x_order], stable=True)
    order = x_order[by_group]
    xs, ws, gs = x[order], w[order], codes[order]
    group_w = torch.zeros(n_groups, dtype=x.dtype, device=x.device)
    group_w = group_w.index_add(0, codes, w)
    group_wx = torch.zeros_like(group_w).index_add(0, codes, w * x)
    # Exclusive prefix sums within groups: global prefix minus the group's
    # start (groups are contiguous after the sort).
    counts = torch.bincount(codes, minlength=n_groups)
    start = (torch.cumsum(counts, 0) - counts)[gs]
    w_before = torch.cumsum(ws, 0) - ws
    wx_before = torch.cumsum(ws * xs, 0) - ws * xs
    w_below = w_before - w_before[start]
    wx_below = wx_before - wx_before[start]
    w_above = group_w[gs] - w_below - ws
    wx_above = group_wx[gs] - wx_below - ws * xs
    sums = xs * w_below - wx_below + wx_above - xs * w_above
    return torch.empty_like(sums).scatter_(0, order, sums), group_w


def categorical_distance_covariance(x, codes, scale, statistic="v", *, weight=None):
    """Exact dCov² of univariate ``x`` and a categorical attribute, O(n log n).

    For a one-hot encoded attribute, ``|s_i - s_j|`` is ``scale`` (√2)
    between different levels and 0 within one, so
    ``Σ_ij w_i w_j |x_i - x_j| |s_i - s_j|`` is ``scale`` times the sum over
    all pairs minus the sum within groups; both come from sorted prefix sums
    and the row sums of the attribute's distances are
    ``scale · (W - W_{g_i})``.

    Parameters
    ----------
    x : tensor of shape (n,)
    codes : int64 tensor of shape (n,)
        Level of each row, in ``[0, n_levels)``.
    scale : float or tensor of shape ()
        Distance between rows of different levels.
    statistic : {"v", "u"}, default="v"
    weight : tensor of shape (n,), default=None
        Non-negative row weights summing to one (V-statistic only).

    Returns
    -------
    dcov : tensor of shape ()
    """
    n = x.shape[0]
    w = torch.ones_like(x) if statistic == "u" or weight is None else weight
    order = torch.argsort(x)
    a = _weighted_row_sums(x[order], w[order], order)
    # n bounds the number of levels, and needs no look at the codes' values.
    within, group_w = _segment_row_sums(x, w, codes, n, order)
    b = scale * (w.sum() - group_w[codes])
    cross = scale * ((w * a).sum() - (w * within).sum())
    if statistic == "u":
        return _u_statistic(cross, a, b)
    if weight is None:
        return (cross - 2.0 * (a * b).sum() / n + a.sum() * b.sum() / n**2) / n**2
    return _v_statistic(cross, a, b, w)


#: The most levels a categorical attribute may have for
#: :class:`_NormalisedCategoricalDcov` (it keeps two prefix sums per level).
_FUSED_MAX_LEVELS = 32


def _order_sums(values):
    """``Σ_{j before i} v_j - Σ_{j after i} v_j`` along the first axis."""
    below = np.cumsum(values, 0) - values
    return 2 * below + values - values.sum(0)


def _categorical_dcor_and_gradient(x, weight, levels):
    """``Σ_k dCov²(x / dVar(x), s_k)`` and its gradient in ``x`` (NumPy,
    float64); see :class:`_NormalisedCategoricalDcov`."""
    n = x.shape[0]
    order = np.argsort(x)
    xs, ws = x[order], weight[order]
    wx = ws * xs
    total_w, total_s = ws.sum(), wx.sum()
    r = _order_sums(ws)
    # a_i = Σ_j w_j |x_i - x_j|, and dVar²(x) from it.
    a = xs * r - _order_sums(wx)
    wa = ws * a
    big_a = wa.sum()
    dvar = 2 * (wx @ xs - total_s * total_s) - 2 * (wa @ a) + big_a * big_a
    # d dVar² / dx: directly, and through a with coefficients w (2A - 4a).
    v = ws * (2 * big_a - 4 * a)
    dvar_grad = 4 * ws * (xs - total_s) + v * r + ws * _order_sums(v)
    dcov, dcov_grad = 0.0, np.zeros(n)
    rows = np.arange(n)
    for codes, distance, n_levels in levels:
        gs = codes[order]
        # Weights and weighted values per level (columns), in sorted order.
        both = np.zeros((n, 2 * n_levels))
        both[rows, gs] = ws
        both[rows, n_levels + gs] = wx
        below = np.cumsum(both, 0) - both
        level = both.sum(0)
        own_w, own_s = level[gs], level[n_levels + gs]
        r_within = 2 * below[rows, gs] + ws - own_w
        within = xs * r_within - (2 * below[rows, n_levels + gs] + wx - own_s)
        b = distance * (total_w - own_w)
        big_b = ws @ b
        cross = distance * (big_a - ws @ within)
        dcov += cross - 2 * (wa @ b) + big_a * big_b
        u = ws * (distance - 2 * b + big_b)
        dcov_grad += u * r + ws * _order_sums(u) - 2 * distance * ws * r_within
    floor = np.finfo(np.float64).eps * (1.0 + np.abs(x).max())
    std = math.sqrt(max(dvar, 0.0) + floor * floor)
    value = dcov / std
    # d (D / σ) = dD / σ - D dσ / σ², with dσ = d dVar² / (2σ) where dVar² > 0.
    grad = dcov_grad / std
    if dvar > 0:
        grad -= (value / (2 * std * std)) * dvar_grad
    out = np.empty(n)
    out[order] = grad
    return value, out


class _NormalisedCategoricalDcov(torch.autograd.Function):
    """``Σ_k dCov²(x / dVar(x), s_k)`` (V-statistics, weights ``w`` summing
    to one) of a univariate prediction ``x`` on the CPU and categorical
    attributes ``s_k``, and its gradient, from one sort of ``x`` and prefix
    sums, in float64.

    The value is that of ``categorical_distance_covariance(x / dVar(x), ...)``
    summed over the attributes, where ``dVar(x)`` is :func:`_distance_std`
    (with its floor); the gradient is what autograd gives for that
    expression along the same order of ``x``, in closed form. With
    ``r_i = Σ_j w_j sgn(x_i - x_j)`` and the row sums ``a_i = Σ_j w_j |x_i -
    x_j|``, ``Σ_i u_i ∂a_i/∂x_k = u_k r_k + w_k (Σ_{i<k} u_i - Σ_{i>k}
    u_i)`` in sorted order; the within-level sums are the same with
    level-restricted prefix sums. A full-batch fit on a few thousand rows
    pays per evaluation for the number of array operations, not their
    size: about forty NumPy operations here against a hundred small torch
    operations with autograd. ``levels`` holds ``(codes, distance,
    n_levels)`` per attribute (NumPy codes, a float distance).
    """

    @staticmethod
    def forward(ctx, x, weight, levels):
        value, grad = _categorical_dcor_and_gradient(
            x.detach().double().numpy(), weight.double().numpy(), levels
        )
        ctx.save_for_backward(torch.from_numpy(grad).to(x.dtype))
        return x.new_tensor(value)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_output):
        (grad,) = ctx.saved_tensors
        return grad * grad_output, None, None


def _fused_levels(pred, attributes, scales, weight, options, cache, key):
    """The ``levels`` argument of :class:`_NormalisedCategoricalDcov` for
    the attributes divided by ``scales`` where the penalty of ``pred`` is
    its case, else ``None``. Kept in ``cache``: a full-batch fit divides
    and encodes its attributes once."""
    kind, sizes = options["kind"], options["sizes"]
    if not (
        fused_allowed()
        and pred.device.type == "cpu"
        and options["statistic"] == "v"
        and weight is not None
        and not weight.requires_grad
        and not attributes.requires_grad
        and pred.shape[1] == 1
        and pred.shape[0] >= _CATEGORICAL_MIN_ROWS
        and all(options["categorical"])
        and (kind == "dcov" or (kind == "ccdcov" and len(sizes) == 1))
        and max(sizes) <= _FUSED_MAX_LEVELS
    ):
        return None
    levels = None if cache is None else cache.get(("levels", key))
    if levels is None:
        levels = []
        for part in torch.split(attributes / scales, sizes, dim=1):
            codes, distance = _levels(part)
            levels.append((codes.cpu().numpy(), float(distance), max(2, part.shape[1])))
        if cache is not None:
            cache[("levels", key)] = levels
    return levels


@torch.no_grad()
def blockwise_dcov_stats(x, y, block=_BLOCK):
    """V-statistics ``dCov²(x, y)``, ``dVar²(x)``, ``dVar²(y)`` in row blocks.

    Parameters
    ----------
    x : tensor of shape (n, p)
    y : tensor of shape (n, q)
    block : int
        Rows per block; memory is ``O(block · n)``.

    Returns
    -------
    dcov, dvar_x, dvar_y : float
    """
    n = x.shape[0]
    starts = range(0, n, block)
    row_x = torch.cat([_distances(x[s : s + block], x).mean(dim=1) for s in starts])
    row_y = torch.cat([_distances(y[s : s + block], y).mean(dim=1) for s in starts])
    grand_x, grand_y = row_x.mean(), row_y.mean()
    sums = torch.zeros(3, dtype=x.dtype, device=x.device)
    for s in starts:
        rows = slice(s, s + block)
        a = _distances(x[rows], x) - row_x[rows, None] - row_x[None, :] + grand_x
        b = _distances(y[rows], y) - row_y[rows, None] - row_y[None, :] + grand_y
        sums += torch.stack([(a * b).sum(), (a * a).sum(), (b * b).sum()])
    dcov, dvar_x, dvar_y = (sums / n**2).tolist()
    return dcov, dvar_x, dvar_y


def half_squared_error(scores, target, mask, weight):
    """``Σ w (y - s)² / (2 Σ w)``: half of
    :func:`~skalign._loss.pairwise.regression_loss`."""
    return 0.5 * regression_loss(scores, target, mask, weight)


def half_poisson_deviance(scores, target, mask, weight):
    """Half the Poisson deviance with log link, ``μ = exp(s)``.

    ``Σ w (exp(s) - y s + y log y - y) / Σ w``; the constant ``y log y - y``
    makes it zero at a perfect fit (McCullagh & Nelder, 1989).
    """
    constant = torch.xlogy(target, target) - target
    return weighted_mean(torch.exp(scores) - target * scores + constant, weight, mask)


def absolute_error(scores, target, mask, weight):
    """``Σ w |y - s| / Σ w`` (median regression)."""
    return weighted_mean((target - scores).abs(), weight, mask)


def _identity(scores):
    return scores[:, 0]


def _exp(scores):
    return torch.exp(scores[:, 0])


def _sigmoid(scores):
    return torch.sigmoid(scores[:, 0])


def _softmax(scores):
    return torch.softmax(scores[:, 0], dim=-1)


#: The data losses of :func:`penalised_loss`, each
#: ``loss(scores, target, mask, weight)``; the log losses take logits.
DATA_LOSSES = {
    "squared_error": half_squared_error,
    "poisson": half_poisson_deviance,
    "absolute_error": absolute_error,
    "binary_log_loss": binary_nll,
    "multinomial_log_loss": multinomial_nll,
}

# What the penalty sees: the prediction on the scale of ``predict`` (the
# mean for Poisson) or of ``predict_proba``.
PREDICTIONS = {
    "squared_error": _identity,
    "poisson": _exp,
    "absolute_error": _identity,
    "binary_log_loss": _sigmoid,
    "multinomial_log_loss": _softmax,
}


def penalised_loss(scores, *, target, weight, mask, loss, penalty=None, **targets):
    """Data loss plus the dependence penalty of the batch's predictions.

    ``L(s, y) + penalty(ŷ(s), ...)`` where ``ŷ`` is the prediction on the
    scale of ``predict`` or ``predict_proba`` (``PREDICTIONS[loss]``) and
    ``penalty`` is :func:`unit_dependence_penalty` with the penalty's
    configuration bound (``None``: the data loss alone, the penalty not
    evaluated).

    Parameters
    ----------
    scores : tensor of shape (n, 1) or (n, 1, n_classes)
    target, weight, mask : tensors of shape (n, 1)
        Targets, row weights of the data loss, and the engine's mask (every
        row is real for row-wise objectives).
    loss : str
        A key of ``DATA_LOSSES``.
    penalty : callable, default=None
        ``penalty(pred, attributes, weight, mask, strata=...)``.
    **targets
        ``attributes`` (n, 1, n_columns), ``attribute_weight`` (n, 1) and,
        for separation, ``strata`` (n, 1): the penalty's per-row targets.
    """
    unknown = set(targets) - {"attributes", "attribute_weight", "strata"}
    if unknown:
        raise TypeError(f"penalised_loss got unknown targets {sorted(unknown)}.")
    value = DATA_LOSSES[loss](scores, target, mask, weight)
    if penalty is not None:
        pred = PREDICTIONS[loss](scores)
        if pred.ndim == 1:
            pred = pred[:, None]
        value = value + penalty(
            pred[:, None],
            targets["attributes"],
            targets["attribute_weight"],
            mask,
            strata=targets.get("strata"),
        )
    return value


def _first_occurrence(row, mask):
    """``True`` at the first real position of each distinct row id.

    A stable sort of the ids, so no host-device synchronisation and no
    data-dependent shapes.
    """
    flat = torch.where(mask, row, torch.full_like(row, -1)).reshape(-1)
    order = torch.argsort(flat, stable=True)
    ordered = flat[order]
    first = torch.ones_like(ordered, dtype=torch.bool)
    first[1:] = ordered[1:] != ordered[:-1]
    return torch.empty_like(first).scatter_(0, order, first).view(row.shape) & mask


def _univariate_distance_variance(x, weight):
    """The V-statistic ``dVar²(x) = dCov²(x, x)`` of a univariate sample in
    ``O(n log n)``, from one sort and prefix sums.

    With weights ``w`` summing to one and ``a_i = Σ_j w_j |x_i - x_j|``,
    ``dVar² = Σ_ij w_i w_j (x_i - x_j)² - 2 Σ_i w_i a_i² + (Σ_i w_i a_i)²``
    (the doubly centred distances squared, expanded), and
    ``a_i = x_i (W_≤ - W_>) - (S_≤ - S_>)`` from the cumulative weights
    ``W`` and weighted sums ``S`` of the sorted sample.
    """
    x = x[:, 0]
    n = x.shape[0]
    w = x.new_full((n,), 1.0 / n) if weight is None else weight
    order = torch.argsort(x.detach())
    xs, ws = x[order], w[order]
    below_w, below_s = torch.cumsum(ws, 0), torch.cumsum(ws * xs, 0)
    total_w, total_s = below_w[-1], below_s[-1]
    a = xs * (2 * below_w - total_w) - (2 * below_s - total_s)
    mean = total_s
    squares = 2 * ((ws * xs * xs).sum() - mean * mean)
    return squares - 2 * (ws * a * a).sum() + (ws * a).sum() ** 2


def _distance_std(x, statistic, weight, categorical=False):
    """``dVar(x) = sqrt(dCov²(x, x))`` of a batch, kept away from zero."""
    if categorical and statistic == "v":
        dvar = _categorical_distance_variance(x, weight).clamp_min(0.0)
    elif x.shape[1] == 1 and statistic == "v":
        dvar = _univariate_distance_variance(x, weight).clamp_min(0.0)
    else:
        dvar = _attribute_dcov(x, x, False, statistic, weight).clamp_min(0.0)
    # A floor relative to the values: constant predictions (a zero-initialised
    # scorer) give a finite value and gradient rather than 0 / 0.
    floor = torch.finfo(x.dtype).eps * (1.0 + x.detach().abs().max())
    return (dvar + floor**2).sqrt()


def _column_scales(attributes, sizes, kind, statistic, weight, categorical):
    """The distance standard deviation of each attribute, per column: the
    divisor of a normalised penalty (constants, without gradient). A
    categorical attribute's in ``O(n)`` (see
    :func:`_categorical_distance_variance`), not from ``n x n`` distances."""
    with torch.no_grad():
        parts = torch.split(attributes, sizes, dim=1)
        if kind == "ccdcov" and len(parts) > 1:
            scale = _distance_std(attributes, statistic, weight)
            return scale.expand(attributes.shape[1])
        return torch.cat(
            [
                _distance_std(part, statistic, weight, is_categorical).expand(
                    part.shape[1]
                )
                for part, is_categorical in zip(parts, categorical)
            ]
        )


def _scaled_penalty(
    pred,
    attributes,
    weight,
    *,
    kind,
    sizes,
    categorical,
    statistic,
    c,
    normalize,
    cache=None,
    key=None,
):
    """The penalty of ``(n, k)`` predictions; with ``normalize`` every
    variable is first divided by its distance standard deviation on the
    batch, which makes ``"dcov"`` a sum of squared distance correlations,
    ``"ccdcov"`` the squared distance correlation with the concatenated
    attributes, and ``"jdcov"`` the scale-invariant JdCov² of Chakraborty &
    Zhang (2019). The attributes' divisors are constants of the batch:
    ``cache`` (a dict kept with the batch's attribute tensor) holds them
    under ``key`` so that a full-batch fit computes them once."""
    if normalize:
        scales = None if cache is None else cache.get(key)
        if scales is None:
            scales = _column_scales(
                attributes, sizes, kind, statistic, weight, categorical
            )
            if cache is not None:
                cache[key] = scales
        options = dict(
            kind=kind, sizes=sizes, categorical=categorical, statistic=statistic
        )
        levels = _fused_levels(pred, attributes, scales, weight, options, cache, key)
        if levels is not None:
            return _NormalisedCategoricalDcov.apply(pred[:, 0], weight, levels)
        attributes = attributes / scales
        pred = pred / _distance_std(pred, statistic, weight)
    return _penalty(pred, attributes, kind, sizes, categorical, statistic, c, weight)


def _scale_cache(attributes, normalize):
    """The dict of constants kept with ``attributes`` (``None`` when there
    is nothing to keep)."""
    if not normalize:
        return None
    cache = getattr(attributes, "_skalign_scales", None)
    if cache is None:
        cache = {}
        attributes._skalign_scales = cache
    return cache


_pool = threading.local()


@contextlib.contextmanager
def pooled_rows(pool):
    """Evaluate :func:`unit_dependence_penalty` on pooled rows, in this thread.

    Inside the block the penalty is a function of ``pool(pred, attributes,
    weight, mask, row, strata)``'s rows instead of the batch's own: the
    rows of every process of a data-parallel fit, the batch's in their
    place (so that its gradient flows through this batch's predictions
    only). The block yields a list that receives every value the penalty
    takes inside it, so that the caller can count it once.
    """
    previous = getattr(_pool, "state", None)
    _pool.state = (pool, values := [])
    try:
        yield values
    finally:
        _pool.state = previous


def unit_dependence_penalty(
    pred,
    attributes,
    weight,
    mask,
    row=None,
    strata=None,
    *,
    strength,
    kind,
    sizes,
    categorical,
    c=1.0,
    statistic="v",
    normalize=False,
    scale=1.0,
    n_strata=0,
):
    """``strength`` times the dependence penalty of the rows of a batch of units.

    The one penalty term of every skalign estimator that takes a
    :class:`~skalign.fairness.DependencePenalty`. Training units are rows
    (regression, classification), pairs or lists of rows; a row may fill
    several positions (a response compared with several others): the
    penalty ``λ · P(ŷ, S)`` is the weighted V-statistic of
    :func:`~skalign.fairness.dependence_penalty` over the *distinct* rows of
    the batch, each counted once with its own weight (repeated positions and
    padding get weight zero), so it measures the dependence between a row's
    prediction and its protected attributes whatever the row's number of
    comparisons.

    With ``normalize``, each variable is divided by its distance standard
    deviation on the batch (a scale-free penalty: squared distance
    correlations) and the result is multiplied by ``scale`` (the loss of
    the best constant prediction, so that ``strength`` weighs dependence
    against the fraction of that loss). With ``n_strata > 0`` the penalty is
    *conditional* on the target (separation, equalised odds): the
    stratum-weighted mean ``Σ_b p_b P_b`` of the penalty within each
    stratum ``b`` of ``strata``, which is zero exactly when the prediction
    is independent of the attributes within every stratum (the conditional
    distance covariance of Wang et al., 2015, with the target discrete or
    discretised).

    Parameters
    ----------
    pred : tensor of shape (n_units, unit_len) or (n_units, unit_len, k)
        Predictions (rewards, scores, probabilities) at each position.
    attributes : tensor of shape (n_units, unit_len, n_columns)
        Encoded protected attributes of the row at each position.
    weight : tensor of shape (n_units, unit_len)
        Row weight at each position (the row's ``sample_weight``).
    mask : bool tensor of shape (n_units, unit_len)
        ``True`` on real positions.
    row : int tensor of shape (n_units, unit_len), default=None
        Row id at each position; ``None`` when no row fills two positions.
    strata : int tensor of shape (n_units, unit_len), default=None
        Stratum of the row at each position (separation only).
    strength : float
        ``λ``.
    kind, sizes, categorical, c, statistic
        As in :func:`~skalign.fairness.dependence_penalty`; the U-statistic
        ignores the weights and needs four rows (a smaller batch adds 0).
    normalize : bool, default=False
    scale : float, default=1.0
        Multiplies the penalty when ``normalize``.
    n_strata : int, default=0
        Number of strata; 0 for the unconditional penalty (independence).
    """
    state = getattr(_pool, "state", None)
    if state is not None:
        pool, values = state
        pred, attributes, weight, mask, row, strata = pool(
            pred, attributes, weight, mask, row, strata
        )
    value = _rows_penalty(
        pred,
        attributes,
        weight,
        mask,
        row,
        strata,
        strength=strength,
        kind=kind,
        sizes=sizes,
        categorical=categorical,
        c=c,
        statistic=statistic,
        normalize=normalize,
        scale=scale,
        n_strata=n_strata,
    )
    if state is not None:
        values.append(value)
    return value


def _rows_penalty(
    pred,
    attributes,
    weight,
    mask,
    row,
    strata,
    *,
    strength,
    kind,
    sizes,
    categorical,
    c,
    statistic,
    normalize,
    scale,
    n_strata,
):
    k = pred.shape[-1] if pred.ndim == 3 else 1
    cache = _scale_cache(attributes, normalize)
    pred = pred.reshape(-1, k)
    attributes = attributes.reshape(-1, attributes.shape[-1])
    weight = torch.where(mask, weight, torch.zeros_like(weight))
    if row is not None:
        weight = weight * _first_occurrence(row, mask)
    weight = weight.reshape(-1)
    options = dict(
        kind=kind,
        sizes=sizes,
        categorical=categorical,
        statistic=statistic,
        c=c,
        normalize=normalize,
    )
    factor = strength * (scale if normalize else 1.0)
    if statistic == "u":
        if pred.shape[0] < 4:
            return pred.new_zeros(())
        if n_strata:
            raise ValueError("the U-statistic has no conditional (stratified) form")
        return factor * _scaled_penalty(
            pred, attributes, None, cache=cache, key="u", **options
        )
    if not n_strata:
        return factor * _scaled_penalty(
            pred, attributes, _normalise(weight), cache=cache, key="v", **options
        )
    strata = strata.reshape(-1)
    total = weight.sum().clamp_min(torch.finfo(weight.dtype).tiny)
    value = pred.new_zeros(())
    for b in range(n_strata):
        within = torch.where(strata == b, weight, torch.zeros_like(weight))
        share = within.sum() / total
        # A stratum absent from the batch has share 0; it is evaluated with
        # all rows' weights so that its (unused) value stays finite.
        within = torch.where(share > 0, within, weight)
        value = value + share * _scaled_penalty(
            pred, attributes, _normalise(within), cache=cache, key=b, **options
        )
    return factor * value
