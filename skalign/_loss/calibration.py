"""Log losses of probabilistic predictions, and the losses of calibration maps.

Every loss takes the scores of row units, shaped ``(n, 1)`` for a single
logit or ``(n, 1, k)`` for ``k`` outputs, and the per-row ``target``,
``mask`` and ``weight`` of shape ``(n, 1)`` (``target`` may carry a trailing
class axis); it returns the ``weight``-averaged loss over the rows where
``mask`` holds. The log losses are also the data losses of the fair
classifiers. No scikit-learn, no skorch.
"""

import torch
import torch.nn.functional as F

from ._reduction import weighted_mean

__all__ = [
    "PenaltyColumnLoss",
    "binary_nll",
    "h_calibration_loss",
    "multinomial_nll",
    "odir_penalty",
    "one_vs_rest_nll",
]


def multinomial_nll(scores, target, mask, weight):
    """Mean negative log-likelihood of a softmax over the last axis.

    ``-log softmax(s)_y`` computed with ``log_softmax`` (a logsumexp), finite
    for any finite scores. ``target`` holds class codes (integers, or floats
    with integer values).
    """
    log_proba = scores.log_softmax(dim=-1)
    picked = log_proba.gather(-1, target.long().unsqueeze(-1)).squeeze(-1)
    return weighted_mean(-picked, weight, mask)


def binary_nll(scores, target, mask, weight):
    """Mean binary cross-entropy of ``σ(s)`` against (possibly soft) targets.

    ``t softplus(-s) + (1 - t) softplus(s)``, finite for any finite ``s``.
    """
    loss = F.binary_cross_entropy_with_logits(scores, target, reduction="none")
    return weighted_mean(loss, weight, mask)


def one_vs_rest_nll(scores, target, mask, weight):
    """Sum over classes of the binary cross-entropy of each class's logit.

    The ``k`` one-vs-rest problems of a multiclass Platt or beta calibration,
    solved jointly: ``target`` has shape ``(n, 1, k)`` (0/1 or smoothed).
    """
    loss = F.binary_cross_entropy_with_logits(scores, target, reduction="none")
    return weighted_mean(loss.sum(dim=-1), weight, mask)


def odir_penalty(matrix, bias, reg_lambda, reg_mu):
    """Off-diagonal and intercept regularisation (ODIR) of a linear map.

    ``λ / (k (k - 1)) Σ_{i≠j} W_ij² + μ / k Σ_j b_j²`` (Kull et al., 2019,
    "Beyond temperature scaling: obtaining well-calibrated multiclass
    probabilities with Dirichlet calibration", NeurIPS): the diagonal, which
    only rescales each class, is left free.
    """
    k = matrix.shape[0]
    off_diagonal = matrix - torch.diag_embed(torch.diagonal(matrix))
    value = matrix.new_zeros(())
    if reg_lambda and k > 1:
        value = value + reg_lambda * (off_diagonal**2).sum() / (k * (k - 1))
    if reg_mu:
        value = value + reg_mu * (bias**2).sum() / k
    return value


class PenaltyColumnLoss:
    """Wrap ``loss`` for a map whose last output column carries its penalty.

    The engine's loss sees only scores and targets, so a calibration map with
    a regulariser other than plain L2 (ODIR) returns the penalty, repeated on
    every row, as one extra column; the wrapped loss is ``loss`` of the other
    columns plus that value. A class rather than a closure, so that fitted
    estimators pickle.
    """

    def __init__(self, loss):
        self.loss = loss

    def __call__(self, scores, **targets):
        rest = scores[..., :-1]
        if rest.shape[-1] == 1:
            # A single binary logit: the shape the binary losses expect.
            rest = rest.squeeze(-1)
        return self.loss(rest, **targets) + scores[..., -1].reshape(-1)[0]


def _window_means(values, weight, half_width):
    """Weighted means of ``values`` over the windows ``[i - h, i + h]``.

    Cumulative sums make this ``O(n)`` for any width; windows are clipped at
    the ends (no zero padding, which would pull the edge means to zero).
    """
    n = values.shape[0]
    dtype = values.dtype
    # float64 running sums: differences of long float32 cumsums lose digits.
    values, weight = values.double(), weight.double()
    zero = values.new_zeros(1)
    num = torch.cat([zero, torch.cumsum(weight * values, 0)])
    den = torch.cat([zero, torch.cumsum(weight, 0)])
    index = torch.arange(n, device=values.device)
    high = (index + half_width + 1).clamp(max=n)
    low = (index - half_width).clamp(min=0)
    total = den[high] - den[low]
    means = (num[high] - num[low]) / total.clamp_min(torch.finfo(total.dtype).tiny)
    return means.to(dtype)


def h_calibration_loss(scores, target, mask, weight, *, window, epsilon):
    """The h-calibration objective on the canonical (class-wise) events.

    Every predicted probability ``p_ik = softmax(s_i)_k`` with its event
    indicator ``[y_i = k]`` is one pair; the pairs are sorted by probability,
    the gap ``p - y`` is averaged over a moving window of ``window`` pairs,
    and the loss is the mean excess of ``|gap|`` over ``epsilon``:
    ``mean_j relu(|MA_w(p - y)_j| - ε)`` (Huang et al., 2025, "h-calibration:
    rethinking classifier recalibration with probabilistic error-bounded
    objective"). The sort order is piecewise constant, so gradients flow
    through the sorted probabilities. Pairs carry their row's weight (zero
    where ``mask`` is False).
    """
    proba = scores.softmax(dim=-1).reshape(-1)
    k = scores.shape[-1]
    events = F.one_hot(target.reshape(-1), k).to(proba.dtype).reshape(-1)
    row_weight = torch.where(mask, weight, 0.0)
    pair_weight = row_weight.reshape(-1, 1).expand(-1, k).reshape(-1)
    order = torch.argsort(proba.detach())
    proba, events, pair_weight = proba[order], events[order], pair_weight[order]
    gap = _window_means(proba - events, pair_weight, window // 2)
    return weighted_mean(F.relu(gap.abs() - epsilon), pair_weight)
