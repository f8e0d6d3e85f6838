"""Pairwise losses of preference reward models.

Pairwise losses take padded scores of shape ``(n_groups, max_len)`` (or
``(n_groups, max_len, n_components)`` for embeddings) and the per-row
``grades``, ``mask`` and ``weight`` of shape ``(n_groups, max_len)``, and
return a scalar: the pair-weighted mean over every pair of rows of a group.
No scikit-learn, no skorch.
"""

import torch
import torch.nn.functional as F

from ._reduction import fused_allowed, record_normaliser, weighted_mean

__all__ = [
    "binary_feedback_loss",
    "bradley_terry_loss",
    "davidson_log_proba",
    "davidson_loss",
    "general_preference_accuracy",
    "general_preference_logits",
    "general_preference_loss",
    "general_preference_win_rate",
    "grade_ordered_pairs",
    "margin_loss",
    "mixture_prior_penalty",
    "mixture_rewards",
    "pluralistic_loss",
    "prototype_rewards",
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

    The pairs depend on the targets alone, which stay constant while a model
    trains: they are computed once per ``(grades, mask, weight)`` tensors
    and kept on ``grades`` (recomputed if any of the three is modified in
    place), so a full-batch fit orders its pairs once, not at every
    evaluation.
    """
    return _pairs(grades, mask, weight)[:5]


def pair_row_weights(weight, mask):
    """Row weights whose products are the pair weights ``w_i w_j / w̄`` of
    :func:`grade_ordered_pairs`: each row's weight over the square root of
    its group's mean weight ``w̄`` (rows of positive weight)."""
    row_weight = torch.where(mask, weight, 0.0)
    count = (row_weight > 0).sum(1, keepdim=True)
    mean = row_weight.sum(1, keepdim=True) / count.clamp_min(1)
    mean = mean.clamp_min(torch.finfo(mean.dtype).tiny)
    return weight / mean.sqrt()


def _pairs(grades, mask, weight):
    """:func:`grade_ordered_pairs` plus the weight of the ordered (untied)
    pairs, cached on ``grades``."""
    differentiable = grades.requires_grad or weight.requires_grad
    versions = (grades._version, mask._version, weight._version)
    cached = getattr(grades, "_skalign_pairs", None)
    if (
        cached is not None
        and not differentiable
        and cached[0] is mask
        and cached[1] is weight
        and cached[2] == versions
    ):
        return cached[3]
    max_len = grades.shape[1]
    if max_len == 2:
        # Pair units (the common case): slices, much cheaper than gathers.
        i, j = slice(0, 1), slice(1, 2)
    else:
        i, j = torch.triu_indices(max_len, max_len, offset=1, device=grades.device)
    gap = grades[:, i] - grades[:, j]
    valid = mask[:, i] & mask[:, j]
    row_weight = pair_row_weights(weight, mask)
    pair_weight = torch.where(valid, row_weight[:, i] * row_weight[:, j], 0.0)
    sign = torch.sign(gap)
    result = (i, j, sign, gap.abs(), pair_weight, pair_weight * sign.abs())
    if not differentiable:
        grades._skalign_pairs = (mask, weight, versions, result)
    return result


# The pair losses of padded groups hold (n_groups, L (L - 1) / 2) tensors
# for groups of padded length L, up to _DENSE_PAIRS entries. Beyond that
# they are summed exactly over blocks of rows, _PAIR_BLOCK pair entries at a
# time, with the gradient accumulated on the way: memory O(n_groups L +
# _PAIR_BLOCK) instead of O(n_groups L²), and the same value and gradient.
_DENSE_PAIRS = 1 << 22
_PAIR_BLOCK = 1 << 20


def _dense_fits(mask):
    n_groups, max_len = mask.shape
    return n_groups * (max_len * (max_len - 1) // 2) <= _DENSE_PAIRS


def _sort_by_grade(grades, mask, *tensors):
    """Sort each group by decreasing grade (stable), padding last."""
    key = torch.where(mask, grades, -torch.inf)
    order = torch.argsort(key, dim=1, descending=True, stable=True)
    return [t.gather(1, order) for t in (grades, mask, *tensors)]


def _blocked_pair_sums(scores, grades, mask, weight, factor=None, rows=()):
    """Numerator, normaliser and numerator's gradient, exactly, in row blocks.

    Groups are sorted by decreasing grade, padding last, so the grade-ordered
    pairs of a block of rows are the later positions of lower grade. Never
    more than about ``_PAIR_BLOCK`` pairs at once. ``factor(rows_i,
    rows_j)`` multiplies each pair's term (not the normaliser); it receives
    the per-row tensors ``rows`` at the pairs' first and second rows.
    """
    weight = pair_row_weights(weight, mask)
    length = mask.sum(1)
    grad = torch.zeros_like(scores)
    numerator = scores.new_zeros(())
    normaliser = scores.new_zeros(())
    start = 0
    while True:
        active = torch.nonzero(length > start).squeeze(1)
        if not active.numel():
            break
        end = int(length[active].max())
        height = max(1, _PAIR_BLOCK // (active.numel() * (end - start)))
        block = slice(start, min(start + height, end))
        columns = slice(start, end)
        # Rows of the block against the later columns: (active, rows, columns).
        first = [t[active, block][:, :, None] for t in (scores, grades, mask, weight)]
        second = [t[active, columns][:, None] for t in (scores, grades, mask, weight)]
        (s_i, g_i, m_i, w_i), (s_j, g_j, m_j, w_j) = first, second
        pair_weight = torch.where((g_i > g_j) & m_i & m_j, w_i * w_j, 0.0)
        normaliser += pair_weight.sum()
        if factor is not None:
            pair_weight = pair_weight * factor(
                [r[active, block][:, :, None] for r in rows],
                [r[active, columns][:, None] for r in rows],
            )
        margin = s_i - s_j
        numerator += (F.softplus(-margin) * pair_weight).sum()
        # d softplus(-m) / dm = -sigmoid(-m): pushes s_i up, s_j down.
        slope = torch.sigmoid(-margin) * pair_weight
        grad[active, block] -= slope.sum(2)
        grad[active, columns] += slope.sum(1)
        start = block.stop
    return numerator, normaliser, grad


class _BlockedPairLoss(torch.autograd.Function):
    """Exact pair sums of long groups (:func:`_blocked_pair_sums`), whose
    backward reuses the gradient accumulated block by block in forward (no
    graph of the blocks is kept). Returns the numerator and the normaliser."""

    @staticmethod
    def forward(ctx, scores, grades, mask, weight, factor, *rows):
        numerator, normaliser, grad = _blocked_pair_sums(
            scores.detach(), grades, mask, weight, factor, rows
        )
        ctx.save_for_backward(grad)
        ctx.n_inputs = 5 + len(rows)
        ctx.mark_non_differentiable(normaliser)
        return numerator, normaliser

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_numerator, grad_normaliser):
        (grad,) = ctx.saved_tensors
        return (grad * grad_numerator, *[None] * (ctx.n_inputs - 1))


class _FirstMinusSecond(torch.autograd.Function):
    """``scores[:, :1] - scores[:, 1:2]``, with a backward that writes the
    gradient once instead of scattering each slice into a zero-filled copy
    of ``scores`` (which, for a million pair units, costs more than the
    rest of the loss)."""

    @staticmethod
    def forward(ctx, scores):
        return scores[:, :1] - scores[:, 1:2]

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        out = grad.new_empty((grad.shape[0], 2, *grad.shape[2:]))
        out[:, :1] = grad
        torch.neg(grad, out=out[:, 1:2])
        return out


def score_differences(scores, i, j):
    """``scores[:, i] - scores[:, j]`` for the pair positions ``i, j`` of
    :func:`grade_ordered_pairs` (for two-row units, a cheaper backward)."""
    if isinstance(i, slice) and scores.shape[1] == 2 and fused_allowed():
        return _FirstMinusSecond.apply(scores)
    return scores[:, i] - scores[:, j]


def _ordered(scores, grades, mask, weight):
    """Margins ``s_w - s_l`` of the grade-ordered pairs and their weights."""
    i, j, sign, gap, _, ordered_weight = _pairs(grades, mask, weight)
    margin = sign * score_differences(scores, i, j)
    return margin, gap, ordered_weight


class _TwoRowBradleyTerry(torch.autograd.Function):
    """Bradley–Terry's weighted mean on two-row units in one pass:
    ``Σ w softplus(-sign (s_1 - s_2)) / Σ w`` and its gradient, computed in
    place, so that a million pairs allocate three score-sized tensors per
    evaluation instead of a dozen (on CPU, fresh allocations and their page
    faults cost more than the arithmetic). ``sign`` and ``weight`` are
    constants (``(n, 1)``)."""

    @staticmethod
    def forward(ctx, scores, sign, weight):
        # In the promoted precision, as the unfused expression would be (a
        # float32 model's pair weights and signs are float64).
        dtype = torch.promote_types(scores.dtype, weight.dtype)
        ctx.scores_dtype = scores.dtype
        sign, weight = sign.to(dtype), weight.to(dtype)
        total = weight.sum().clamp_min(torch.finfo(dtype).tiny)
        record_normaliser(total)
        negative_margin = torch.sub(scores[:, 1:2], scores[:, :1]).to(dtype)
        negative_margin.mul_(sign)
        value = torch.dot(F.softplus(negative_margin).view(-1), weight.view(-1))
        # d value / d s_1 = -w sign σ(-margin) / Σ w, and its opposite for s_2.
        factor = negative_margin.sigmoid_().mul_(weight).mul_(sign).div_(total)
        ctx.save_for_backward(factor)
        return value / total

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        (factor,) = ctx.saved_tensors
        # Each column written through a strided ``out=`` view: a broadcast
        # product of (n, 1) and (1, 2) iterates an inner loop of length 2,
        # about twice as slow.
        grad = grad.to(factor.dtype)
        out = factor.new_empty((factor.shape[0], 2), dtype=ctx.scores_dtype)
        torch.mul(factor, grad.neg(), out=out[:, :1])
        torch.mul(factor, grad, out=out[:, 1:])
        return out, None, None


def bradley_terry_loss(scores, grades, mask, weight):
    """Bradley–Terry: mean of ``-log σ(s_w - s_l)`` over grade-ordered pairs.

    Every pair of rows of a group with grade ``w`` above grade ``l``
    (Bradley & Terry, 1952); tied pairs are ignored. Computed as
    ``softplus(-(s_w - s_l))``, finite for any finite score difference.
    """
    i, _, sign, _, _, pair_weight = _pairs(grades, mask, weight)
    fused = fused_allowed() and not pair_weight.requires_grad
    if isinstance(i, slice) and scores.ndim == 2 and fused:
        return _TwoRowBradleyTerry.apply(scores, sign, pair_weight)
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
    the total pair weight, so grades 0/1 give plain Bradley–Terry. Groups too
    long for dense pair tensors (whole groups, as the objectives that also fit
    single rows train on) are summed exactly in blocks of rows.
    """
    if not _dense_fits(mask):
        weight = torch.where(mask, weight, torch.zeros_like(weight))
        grades, mask, scores, weight = _sort_by_grade(grades, mask, scores, weight)
        numerator, normaliser = _BlockedPairLoss.apply(
            scores, grades, mask, weight, _grade_gap, grades
        )
        return numerator / normaliser.clamp_min(torch.finfo(normaliser.dtype).tiny)
    margin, gap, pair_weight = _ordered(scores, grades, mask, weight)
    return weighted_mean(F.softplus(-margin), pair_weight * gap, normaliser=pair_weight)


def _grade_gap(rows_i, rows_j):
    (grades_i,), (grades_j,) = rows_i, rows_j
    return grades_i - grades_j


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
    diff = score_differences(scores, i, j)
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
    diff = score_differences(scores, i, j)
    log_win, log_tie, log_loss = davidson_log_proba(diff, log_nu)
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


# Pair logits computed at once by the win rate and accuracy, at most.
_WIN_RATE_BLOCK = 1 << 20


def _logit_blocks(embeddings, temperature):
    """``(block, logits)`` over blocks of rows of padded groups: the logits of
    the block's rows against every position of their group, about
    ``_WIN_RATE_BLOCK`` at a time, so memory is ``O(max_len × block)``."""
    n_groups, max_len = embeddings.shape[:2]
    rows = max(1, _WIN_RATE_BLOCK // max(n_groups * max_len, 1))
    for start in range(0, max_len, rows):
        block = slice(start, start + rows)
        # Elementwise, not a matrix product: a product's rounding depends on
        # where a row falls in the kernel's tiles, and large embeddings of
        # separable data would make the results depend on the row order.
        yield (
            block,
            general_preference_logits(
                embeddings[:, block, None], embeddings[:, None, :], temperature
            ),
        )


def general_preference_win_rate(embeddings, mask, temperature=1.0):
    """Mean ``P(i ≻ j)`` of each row over the other real rows of its group.

    ``embeddings`` of shape ``(n_groups, max_len, 2k)``; returns ``(n_groups,
    max_len)``, 0.5 for a row alone in its group. Computed over blocks of
    rows, about ``2**20`` pairs at a time: memory ``O(max_len × block)``
    rather than ``O(max_len²)`` for one long group.
    """
    positions = torch.arange(mask.shape[1], device=mask.device)
    # Written in place: small results kept from block to block would pin the
    # freed blocks in the heap, and the process would grow by a block a step.
    rate = embeddings.new_empty(mask.shape)
    for block, logits in _logit_blocks(embeddings, temperature):
        others = mask[:, block, None] & mask[:, None, :]
        others &= positions[block, None] != positions[None, :]
        wins = (torch.sigmoid(logits) * others).sum(-1)
        count = others.sum(-1)
        rate[:, block] = torch.where(count > 0, wins / count.clamp_min(1), 0.5)
    return rate


def general_preference_accuracy(embeddings, grades, mask, weight, temperature=1.0):
    """Weighted fraction of grade-ordered pairs with a positive logit.

    Over every pair of rows of a group with ``grades_w > grades_l``, weighted
    by ``weight_w weight_l / w̄`` (see :func:`grade_ordered_pairs`): 1 when
    ``⟨R v_w, v_l⟩ > 0``, 1/2 when it is 0.
    In blocks of rows, as :func:`general_preference_win_rate`. Returns the
    numerator and the total pair weight (a step function: no gradient).
    """
    weight = pair_row_weights(weight, mask)
    correct = total = 0.0
    for block, logits in _logit_blocks(embeddings, temperature):
        ordered = grades[:, block, None] > grades[:, None, :]
        ordered &= mask[:, block, None] & mask[:, None, :]
        pair_weight = torch.where(
            ordered, weight[:, block, None] * weight[:, None, :], 0.0
        )
        agree = (logits > 0).to(logits.dtype) + 0.5 * (logits == 0).to(logits.dtype)
        correct += float((pair_weight * agree).sum())
        total += float(pair_weight.sum())
    return correct, total


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


def prototype_rewards(embeddings, prototypes, *, distance=True):
    """Reward of each row under each prototype ideal point.

    PAL's ideal-point models (Chen et al., 2024, "PAL: Pluralistic Alignment
    Framework for Learning from Heterogeneous Preferences"): with the item
    embedding ``f(x)`` and prototypes ``p_k``, PAL-A (``distance=True``)
    scores ``-‖f(x) - p_k‖²`` (closer to the ideal point is better), PAL-B
    ``⟨f(x), p_k⟩``.

    Parameters
    ----------
    embeddings : tensor of shape (..., n_components)
    prototypes : tensor of shape (n_prototypes, n_components)
    distance : bool, default=True

    Returns
    -------
    tensor of shape (..., n_prototypes)
    """
    if distance:
        # A difference, not the expansion ‖f‖² - 2⟨f, p⟩ + ‖p‖², which
        # cancels catastrophically far from the origin.
        return -(embeddings[..., None, :] - prototypes).square().sum(-1)
    return embeddings @ prototypes.T


def mixture_rewards(scores, mixture_logits, users=None):
    """``Σ_k w_k s_k`` with ``w = softmax(mixture_logits)``.

    A user's reward in PAL: the mixture weights ``w`` (on the simplex) of
    the user's ideal point ``a = Σ_k w_k p_k`` applied to the prototype
    rewards of :func:`prototype_rewards`. For PAL-B it is ``⟨f(x), a⟩``
    exactly; for PAL-A it is ``-‖f(x) - a‖²`` plus a constant of the user,
    ``‖a‖² - Σ_k w_k ‖p_k‖²``, which no comparison of that user sees.

    Parameters
    ----------
    scores : tensor of shape (..., n_prototypes)
    mixture_logits : tensor
        Broadcastable to ``scores``; with ``users``, one row per user,
        shape ``(n_users, n_prototypes)``.
    users : integer tensor of shape ``scores.shape[:-1]``, default=None
        The row of ``mixture_logits`` of each score (its user). The softmax
        is taken once per user, then gathered.

    Returns
    -------
    tensor of shape (...)
    """
    weights = torch.softmax(mixture_logits, dim=-1)
    if users is not None:
        # index_select, not indexing: its backward is an index_add, where an
        # indexing backward sorts the indices at every evaluation.
        weights = weights.index_select(0, users.reshape(-1))
        weights = weights.view(*users.shape, -1)
    return (weights * scores).sum(-1)


def pluralistic_loss(
    scores, grades, mask, weight, *, users, mixture_logits, pair_loss=None
):
    """A pair loss on each user's own rewards (PAL, Chen et al., 2024).

    ``scores`` holds the prototype rewards of every position, shape
    ``(n_units, unit_len, n_prototypes)``; ``users`` (integer, ``(n_units,
    unit_len)``) indexes the rows of ``mixture_logits`` (``(n_users,
    n_prototypes)``). Each position's reward is its user's mixture of the
    prototype rewards (:func:`mixture_rewards`), and ``pair_loss`` (default
    :func:`bradley_terry_loss`: ``-log σ(r_u(w) - r_u(l))``) is applied to
    those rewards with the grades, mask and weights unchanged.
    """
    rewards = mixture_rewards(scores, mixture_logits, users)
    return (pair_loss or bradley_terry_loss)(rewards, grades, mask, weight)


def mixture_prior_penalty(mixture_logits, users, share, weight, mask):
    """``Σ_u KL(π ‖ w_u)`` over the users, as a weighted mean over units.

    ``w_u = softmax(mixture_logits[u])`` and ``π`` the users' mean weights:
    minus the log-density of a Dirichlet prior with concentration ``1 + π``
    on each user's weights, up to a constant. It is finite only inside the
    simplex, which keeps every user's weights off its faces. Each unit
    carries its user's ``users`` code and ``share``, one over the user's
    total unit weight, so that over all units the weighted sum is
    ``Σ_u KL(π ‖ w_u)`` divided by the total unit weight (the normaliser of
    the pair losses), and a mini-batch estimates it without bias.
    """
    log_weights = torch.log_softmax(mixture_logits, dim=-1)
    prior = log_weights.exp().mean(0)
    kl = (prior * (torch.log(prior) - log_weights)).sum(-1)
    unit_weight = torch.where(mask[:, 0], weight[:, 0], 0.0)
    user_kl = kl.index_select(0, users[:, 0].contiguous())
    return weighted_mean(user_kl * share[:, 0], unit_weight)
