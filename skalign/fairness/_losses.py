"""Pure torch losses of the fairness-regularised estimators.

Every data loss takes scores of shape ``(n, 1)`` (or ``(n, 1, n_classes)``),
targets and row weights of shape ``(n, 1)``, and returns the weighted mean.
:func:`penalised_loss` adds ``fairness_strength`` times the dependence penalty
of the predictions on the encoded protected attributes. No scikit-learn, no
skorch.
"""

import torch
import torch.nn.functional as F

from ._dcov import _penalty

__all__ = [
    "DATA_LOSSES",
    "PREDICTIONS",
    "penalised_loss",
    "unit_dependence_penalty",
]


def _weighted_mean(values, weight):
    total = weight.sum()
    return (weight * values).sum() / total.clamp_min(torch.finfo(total.dtype).tiny)


def half_squared_error(scores, target, weight):
    """``Σ w (y - s)² / (2 Σ w)``."""
    return 0.5 * _weighted_mean((target - scores) ** 2, weight)


def half_poisson_deviance(scores, target, weight):
    """Half the Poisson deviance with log link, ``μ = exp(s)``.

    ``Σ w (exp(s) - y s + y log y - y) / Σ w``; the constant ``y log y - y``
    makes it zero at a perfect fit (McCullagh & Nelder, 1989).
    """
    constant = torch.xlogy(target, target) - target
    return _weighted_mean(torch.exp(scores) - target * scores + constant, weight)


def absolute_error(scores, target, weight):
    """``Σ w |y - s| / Σ w`` (median regression)."""
    return _weighted_mean((target - scores).abs(), weight)


def binary_log_loss(scores, target, weight):
    """Logistic loss ``softplus(s) - y s`` on logits, finite for any logit."""
    return _weighted_mean(
        F.binary_cross_entropy_with_logits(scores, target, reduction="none"), weight
    )


def multinomial_log_loss(scores, target, weight):
    """Softmax cross-entropy ``logsumexp(s) - s_y`` on ``(n, 1, K)`` logits."""
    chosen = torch.gather(scores, -1, target.long()[..., None])[..., 0]
    return _weighted_mean(torch.logsumexp(scores, dim=-1) - chosen, weight)


def _identity(scores):
    return scores[:, 0]


def _exp(scores):
    return torch.exp(scores[:, 0])


def _sigmoid(scores):
    return torch.sigmoid(scores[:, 0])


def _softmax(scores):
    return torch.softmax(scores[:, 0], dim=-1)


DATA_LOSSES = {
    "squared_error": half_squared_error,
    "poisson": half_poisson_deviance,
    "absolute_error": absolute_error,
    "binary_log_loss": binary_log_loss,
    "multinomial_log_loss": multinomial_log_loss,
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


def penalised_loss(
    scores,
    *,
    target,
    weight,
    mask,
    sensitive=None,
    penalty_weight=None,
    loss,
    strength,
    kind,
    sizes,
    categorical,
    statistic,
    c,
):
    """Data loss plus ``strength`` times the dependence penalty of the batch.

    ``L(s, y) + λ · P(ŷ(s), S)``, with ``P`` one of the dCov-type penalties of
    :func:`~skalign.fairness.dependence_penalty` (Székely et al., 2007;
    Chakraborty & Zhang, 2019) computed on the mini-batch. With
    ``strength == 0`` the penalty is not evaluated at all, so the fit is the
    unpenalised one.

    Parameters
    ----------
    scores : tensor of shape (n, 1) or (n, 1, n_classes)
    target, weight, mask : tensors of shape (n, 1)
        Targets, row weights of the data loss, and the engine's mask (every
        row is real for row-wise objectives).
    sensitive : tensor of shape (n, 1, n_columns), default=None
        Encoded protected attributes.
    penalty_weight : tensor of shape (n, 1), default=None
        Row weights of the penalty (``None``: equal).
    loss : str
        A key of ``DATA_LOSSES``.
    strength : float
        ``λ``.
    kind, sizes, categorical, statistic, c
        As in :func:`~skalign.fairness.dependence_penalty`.
    """
    value = DATA_LOSSES[loss](scores, target, weight)
    # The U-statistic needs four rows; a smaller last mini-batch adds nothing.
    if strength and (statistic == "v" or scores.shape[0] >= 4):
        pred = PREDICTIONS[loss](scores)
        if pred.ndim == 1:
            pred = pred[:, None]
        w = None
        if penalty_weight is not None and statistic == "v":
            w = penalty_weight[:, 0]
            w = w / w.sum().clamp_min(torch.finfo(w.dtype).tiny)
        value = value + strength * _penalty(
            pred, sensitive[:, 0], kind, sizes, categorical, statistic, c, w
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


def unit_dependence_penalty(
    scores,
    attributes,
    weight,
    mask,
    row=None,
    *,
    strength,
    kind,
    sizes,
    categorical,
    c,
):
    """``strength`` times the dependence penalty of the rows of a batch of units.

    For objectives whose training units are pairs or lists of rows, a row
    may fill several positions (a response compared with several others):
    the penalty ``λ · P(s, S)`` is the weighted V-statistic of
    :func:`~skalign.fairness.dependence_penalty` over the *distinct* rows
    of the batch, each counted once with its own weight (repeated positions
    and padding get weight zero), so it measures the dependence between a
    row's score and its protected attributes whatever the row's number of
    comparisons.

    Parameters
    ----------
    scores : tensor of shape (n_units, unit_len)
    attributes : tensor of shape (n_units, unit_len, n_columns)
        Encoded protected attributes of the row at each position.
    weight : tensor of shape (n_units, unit_len)
        Row weight at each position (the row's ``sample_weight``).
    mask : bool tensor of shape (n_units, unit_len)
        ``True`` on real positions.
    row : int tensor of shape (n_units, unit_len), default=None
        Row id at each position; ``None`` when no row fills two positions.
    strength : float
        ``λ``.
    kind, sizes, categorical, c
        As in :func:`~skalign.fairness.dependence_penalty`.
    """
    weight = torch.where(mask, weight, torch.zeros_like(weight))
    if row is not None:
        weight = weight * _first_occurrence(row, mask)
    weight = weight.reshape(-1)
    weight = weight / weight.sum().clamp_min(torch.finfo(weight.dtype).tiny)
    return strength * _penalty(
        scores.reshape(-1, 1),
        attributes.reshape(-1, attributes.shape[-1]),
        kind,
        sizes,
        categorical,
        "v",
        c,
        weight,
    )
