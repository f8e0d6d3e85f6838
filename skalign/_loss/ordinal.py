"""Losses of ordinal and distributional predictors.

Cumulative-logit models (proportional odds, PRESTO) describe an ordered label
through ``K - 1`` cumulative logits ``eta_k = logit P(y <= k | x)``; the
probability of class ``k`` is the interval ``σ(eta_k) - σ(eta_{k-1})`` with
``eta_0 = -inf`` and ``eta_K = +inf``. HL-Gauss regression is a cross-entropy
over bins against a Gaussian-smoothed target. No scikit-learn, no skorch.
"""

import torch
import torch.nn.functional as F

from ._reduction import weighted_mean

__all__ = [
    "class_log_proba",
    "cumulative_logit_loss",
    "hl_gauss_loss",
    "hl_gauss_target",
    "log_interval_proba",
]


def _log1mexp(d):
    """``log(1 - exp(-d))`` for ``d >= 0``; ``-inf`` at 0, 0 at ``+inf``.

    ``log(-expm1(-d))`` is accurate to a few ulps near zero, where the value
    is large; for large ``d`` the value is ``-exp(-d)``, below the round-off
    of the log-sigmoid terms it is added to, so one branch suffices.
    """
    return torch.log(-torch.expm1(-d))


def log_interval_proba(lower, upper):
    """``log(σ(upper) - σ(lower))``, computed without cancellation.

    Uses ``σ(b) - σ(a) = σ(b) σ(-a) (1 - exp(-(b - a)))``, so the result is
    accurate when both logits are large (e.g. ``σ(31) - σ(30)``). ``lower``
    may be ``-inf`` and ``upper`` ``+inf`` (the first and last classes). Where
    ``upper <= lower`` (crossing cumulative curves) the probability is taken
    as zero, giving ``-inf``.

    Parameters
    ----------
    lower, upper : tensor
        Cumulative logits of the interval's lower and upper ends; broadcast
        together.

    Returns
    -------
    tensor
        The log-probability of the interval.
    """
    gap = (upper - lower).clamp_min(0.0)
    return F.logsigmoid(upper) + F.logsigmoid(-lower) + _log1mexp(gap)


def _pad_cumulative(eta):
    """``(..., K - 1)`` cumulative logits -> ``(..., K + 1)`` with ``∓inf`` ends."""
    shape = (*eta.shape[:-1], 1)
    inf = torch.full(shape, torch.inf, dtype=eta.dtype, device=eta.device)
    return torch.cat([-inf, eta, inf], dim=-1)


def class_log_proba(eta):
    """Log-probability of every class from non-decreasing cumulative logits.

    Parameters
    ----------
    eta : tensor of shape (..., K - 1)
        Cumulative logits ``logit P(y <= k)``, non-decreasing along the last
        axis.

    Returns
    -------
    tensor of shape (..., K)
        ``log P(y = k)``.
    """
    padded = _pad_cumulative(eta)
    return log_interval_proba(padded[..., :-1], padded[..., 1:])


def cumulative_logit_loss(scores, label, mask, weight):
    """Weighted mean negative log-likelihood of a cumulative-logit model.

    ``-sum_i w_i log(σ(eta_{i, y_i}) - σ(eta_{i, y_i - 1})) / sum_i w_i``
    (McCullagh, 1980, "Regression models for ordinal data"), computed with
    :func:`log_interval_proba`.

    Parameters
    ----------
    scores : tensor of shape (n_units, unit_len, K - 1)
        Cumulative logits ``eta_k = logit P(y <= k)`` of each row.
    label : int tensor of shape (n_units, unit_len)
        Class index of each row, in ``[0, K)``.
    mask : bool tensor of shape (n_units, unit_len)
        ``True`` on real rows.
    weight : tensor of shape (n_units, unit_len)
        Row weights.

    Returns
    -------
    tensor
        A scalar.
    """
    padded = _pad_cumulative(scores)
    index = label.unsqueeze(-1)
    lower = padded.gather(-1, index).squeeze(-1)
    upper = padded.gather(-1, index + 1).squeeze(-1)
    return weighted_mean(-log_interval_proba(lower, upper), weight, mask)


def hl_gauss_target(y, bin_edges, sigma):
    """HL-Gauss target histogram: a Gaussian around ``y`` integrated over bins.

    ``p_i(y) = [Φ((z_i - y) / σ) - Φ((z_{i-1} - y) / σ)] / [Φ((z_n - y) / σ)
    - Φ((z_0 - y) / σ)]`` for bin edges ``z_0 < ... < z_n`` (Farebrother et
    al., 2024, "Stop Regressing: Training Value Functions via
    Classification for Scalable Deep RL"), normalised over the range.

    Parameters
    ----------
    y : tensor of shape (...)
        Targets, inside ``[bin_edges[0], bin_edges[-1]]``.
    bin_edges : tensor of shape (n_bins + 1,)
        Increasing bin edges.
    sigma : float
        Standard deviation of the smoothing Gaussian.

    Returns
    -------
    tensor of shape (..., n_bins)
        Non-negative, summing to one over the last axis.
    """
    cdf = torch.special.ndtr((bin_edges - y.unsqueeze(-1)) / sigma)
    mass = cdf[..., 1:] - cdf[..., :-1]
    return mass / (cdf[..., -1:] - cdf[..., :1])


def hl_gauss_loss(scores, y, mask, weight, *, sigma, low=0.0, high=1.0):
    """Weighted mean cross-entropy of bin logits against HL-Gauss targets.

    ``-sum_i w_i sum_j p_j(y_i) log softmax(s_i)_j / sum_i w_i`` with the
    target histogram ``p(y)`` of :func:`hl_gauss_target` over ``n_bins``
    equal bins of ``[low, high]`` (Farebrother et al., 2024).

    Parameters
    ----------
    scores : tensor of shape (n_units, unit_len, n_bins)
        Bin logits.
    y : tensor of shape (n_units, unit_len)
        Targets inside ``[low, high]``.
    mask : bool tensor of shape (n_units, unit_len)
    weight : tensor of shape (n_units, unit_len)
    sigma : float
        Standard deviation of the smoothing Gaussian, in units of ``y``.
    low, high : float, default=0.0, 1.0
        The value range covered by the bins.

    Returns
    -------
    tensor
        A scalar.
    """
    edges = torch.linspace(
        low, high, scores.shape[-1] + 1, dtype=scores.dtype, device=scores.device
    )
    target = hl_gauss_target(y.to(scores.dtype), edges, sigma)
    cross_entropy = -(target * torch.log_softmax(scores, dim=-1)).sum(-1)
    return weighted_mean(cross_entropy, weight, mask)
