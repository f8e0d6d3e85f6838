"""Pairwise losses of preference reward models.

Pairwise losses take padded scores of shape ``(n_groups, max_len)`` (or
``(n_groups, max_len, n_components)`` for embeddings) and the per-row
``grades``, ``mask`` and ``weight`` of shape ``(n_groups, max_len)``, and
return a scalar: the pair-weighted mean over every pair of rows of a group.
No scikit-learn, no skorch.
"""

import torch
import torch.nn.functional as F

from ._reduction import weighted_mean

__all__ = [
    "binary_feedback_loss",
    "bradley_terry_loss",
    "davidson_log_proba",
    "davidson_loss",
    "general_preference_logits",
    "general_preference_loss",
    "grade_ordered_pairs",
    "margin_loss",
    "rao_kupper_log_proba",
    "rao_kupper_loss",
    "regression_loss",
    "scaled_bradley_terry_loss",
]


def grade_ordered_pairs(grades, mask, weight):
    """Pairs ``(i, j)``, ``i < j``, of rows of a group, with their weights.

    Returns the positions ``i`` and ``j`` (index tensors of length
    ``max_len * (max_len - 1) / 2``, or slices when ``max_len == 2``),
    ``sign = sign(grades_i - grades_j)``
    (0 for a tie), the grade gap ``|grades_i - grades_j|``, and the pair
    weight (zero when either row is padding), all of shape
    ``(n_groups, n_position_pairs)`` except the indices.

    A group weighs the mean weight ``w̄`` of its rows of positive weight, and
    within it rows count in proportion to their weights, so a pair weighs
    ``w̄ (w_i / w̄) (w_j / w̄) = w_i w_j / w̄``. A weight ``c`` on every row of
    a group weighs each of its pairs ``c``, as the group repeated ``c``
    times would; within one group an integer weight ``k`` is the row repeated
    ``k`` times, up to a factor common to all its pairs. A unit of two rows
    of equal weight ``p`` weighs ``p``: how a pair of a longer group carries
    the weight its group gives it.
    """
    max_len = grades.shape[1]
    if max_len == 2:
        # Pair units (the common case): slices, much cheaper than gathers.
        i, j = slice(0, 1), slice(1, 2)
    else:
        i, j = torch.triu_indices(max_len, max_len, offset=1, device=grades.device)
    gap = grades[:, i] - grades[:, j]
    valid = mask[:, i] & mask[:, j]
    row_weight = torch.where(mask, weight, 0.0)
    count = (row_weight > 0).sum(1, keepdim=True)
    mean = row_weight.sum(1, keepdim=True) / count.clamp_min(1)
    mean = mean.clamp_min(torch.finfo(mean.dtype).tiny)
    pair_weight = torch.where(valid, weight[:, i] * weight[:, j] / mean, 0.0)
    return i, j, torch.sign(gap), gap.abs(), pair_weight


def _ordered(scores, grades, mask, weight):
    """Margins ``s_w - s_l`` of the grade-ordered pairs and their weights."""
    i, j, sign, gap, pair_weight = grade_ordered_pairs(grades, mask, weight)
    margin = sign * (scores[:, i] - scores[:, j])
    return margin, gap, pair_weight * sign.abs()


def bradley_terry_loss(scores, grades, mask, weight):
    """Bradley–Terry: mean of ``-log σ(s_w - s_l)`` over grade-ordered pairs.

    Every pair of rows of a group with grade ``w`` above grade ``l``
    (Bradley & Terry, 1952); tied pairs are ignored. Computed as
    ``softplus(-(s_w - s_l))``, finite for any finite score difference.
    """
    margin, _, pair_weight = _ordered(scores, grades, mask, weight)
    return weighted_mean(F.softplus(-margin), pair_weight)


def margin_loss(scores, grades, mask, weight, *, margin_scale=1.0):
    """Bradley–Terry with a margin: ``-log σ(s_w - s_l - m)``.

    ``m = margin_scale * (grade_w - grade_l)``: a stronger preference must be
    won by a wider reward gap (as in Llama 2's reward model).
    """
    margin, gap, pair_weight = _ordered(scores, grades, mask, weight)
    return weighted_mean(F.softplus(-(margin - margin_scale * gap)), pair_weight)


def scaled_bradley_terry_loss(scores, grades, mask, weight):
    """Scaled Bradley–Terry: ``-m · log σ(s_w - s_l)`` with ``m`` the grade gap.

    HelpSteer2-Preference (Wang et al., 2024): each pair counts in proportion
    to its preference strength, with no margin constraint. The normaliser is
    the total pair weight, so grades 0/1 give plain Bradley–Terry.
    """
    margin, gap, pair_weight = _ordered(scores, grades, mask, weight)
    return weighted_mean(F.softplus(-margin), pair_weight * gap, normaliser=pair_weight)


def regression_loss(scores, grades, mask, weight):
    """Squared error on the grades: weighted mean of ``(s - grade)²`` over rows."""
    return weighted_mean((scores - grades) ** 2, weight, mask)


def rao_kupper_loss(scores, grades, mask, weight, *, log_theta):
    """Rao–Kupper (1967) likelihood with ties; ``log_theta = log θ >= 0``.

    ``P(i ≻ j) = σ(s_i - s_j - log θ)`` and
    ``P(i ~ j) = 1 - P(i ≻ j) - P(j ≻ i)``. Ordered pairs contribute
    ``-log P(w ≻ l)``, tied pairs ``-log P(i ~ j)``.
    """
    i, j, sign, _, pair_weight = grade_ordered_pairs(grades, mask, weight)
    diff = scores[:, i] - scores[:, j]
    log_win, log_tie, log_loss = rao_kupper_log_proba(diff, log_theta)
    nll = torch.where(sign > 0, -log_win, torch.where(sign < 0, -log_loss, -log_tie))
    return weighted_mean(nll, pair_weight)


def rao_kupper_log_proba(diff, log_theta):
    """``log P(i ≻ j)``, ``log P(i ~ j)``, ``log P(j ≻ i)`` under Rao–Kupper.

    ``P(i ~ j) = (θ² - 1) π_i π_j / ((π_i + θ π_j)(π_j + θ π_i))``, written in
    logs as ``log(expm1(2 log θ)) + log P(i ≻ j) + log P(j ≻ i)`` so it stays
    finite for any score difference.
    """
    log_win = F.logsigmoid(diff - log_theta)
    log_loss = F.logsigmoid(-diff - log_theta)
    log_tie = _log_expm1(2 * log_theta) + log_win + log_loss
    return log_win, log_tie, log_loss


def _log_expm1(x):
    """``log(exp(x) - 1)`` for ``x > 0``, stable at both ends."""
    return torch.where(x > 20, x, torch.log(torch.expm1(x.clamp_max(20))))


def davidson_log_proba(diff, log_nu):
    """``log P(i ≻ j)``, ``log P(i ~ j)``, ``log P(j ≻ i)`` under Davidson.

    Davidson (1970): with ``π = exp(s)``,
    ``P(i ≻ j) = π_i / (π_i + π_j + ν √(π_i π_j))`` and
    ``P(i ~ j) = ν √(π_i π_j) / (...)``. Depends on ``s_i - s_j`` only:
    the terms are ``d/2``, ``log ν`` and ``-d/2`` over their logsumexp.
    """
    half = diff / 2
    terms = torch.stack([half, log_nu.expand_as(half), -half])
    return tuple(terms - torch.logsumexp(terms, dim=0))


def davidson_loss(scores, grades, mask, weight, *, log_nu):
    """Davidson (1970) likelihood with ties; ``log_nu = log ν``."""
    i, j, sign, _, pair_weight = grade_ordered_pairs(grades, mask, weight)
    log_win, log_tie, log_loss = davidson_log_proba(scores[:, i] - scores[:, j], log_nu)
    nll = torch.where(sign > 0, -log_win, torch.where(sign < 0, -log_loss, -log_tie))
    return weighted_mean(nll, pair_weight)


def general_preference_logits(v_a, v_b, temperature=1.0):
    """``⟨R v_a, v_b⟩ / τ`` with ``R`` block-diagonal ``[[0, -1], [1, 0]]``.

    ``v`` has ``2k`` components, read as ``k`` planes ``(v_1, v_2)``; the
    logit is ``Σ_planes (a_1 b_2 - a_2 b_1) / τ``, skew-symmetric, so
    ``P(a ≻ b) = 1 - P(b ≻ a)`` and cycles can be represented (Zhang et al.,
    2024, General Preference Models).
    """
    a = v_a.unflatten(-1, (-1, 2))
    b = v_b.unflatten(-1, (-1, 2))
    # Sign convention: with k = 1 and v = (r, 1) this is r_a - r_b.
    return (a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]).sum(-1) / temperature


def general_preference_loss(embeddings, grades, mask, weight, *, temperature=1.0):
    """General Preference Model NLL: ``-log σ(⟨R v_w, v_l⟩ / τ)`` over pairs."""
    i, j, sign, _, pair_weight = grade_ordered_pairs(grades, mask, weight)
    logits = general_preference_logits(embeddings[:, i], embeddings[:, j], temperature)
    return weighted_mean(F.softplus(-sign * logits), pair_weight * sign.abs())


def binary_feedback_loss(scores, label, mask, weight, *, shift):
    """Binary Classifier Optimization loss (Jung et al., 2024).

    Thumbs-up rows (``label = 1``) contribute ``-log σ(s - δ)``, thumbs-down
    rows ``-log σ(-(s - δ))``, with ``δ`` the reward shift.
    """
    sign = 2.0 * label - 1.0
    return weighted_mean(F.softplus(-sign * (scores - shift)), weight, mask)
