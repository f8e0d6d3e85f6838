"""Listwise losses of rankers, and the expected exposure of rankings.

Every function takes padded scores of shape ``(n_lists, max_len)`` and the
per-row ``grades``, ``mask`` and ``weight`` of the same shape (the layout of
:func:`skalign.utils.pack_groups`), and returns a scalar. Rows may come in any
order within a list; padding (``mask`` False) is ignored. A row's ``weight``
is a multiplicity: it must be positive on real rows. No scikit-learn, no
skorch.
"""

import functools

import numpy as np
import torch
import torch.nn.functional as F

from ._reduction import fused_allowed, record_normaliser, weighted_mean
from .pairwise import (
    _BlockedPairLoss,
    _dense_fits,
    _sort_by_grade,
    bradley_terry_loss,
    grade_ordered_pairs,
    pair_row_weights,
    score_differences,
)

__all__ = [
    "circulant_offsets",
    "expected_exposure",
    "exposure_disparity_penalty",
    "lipo_lambda_loss",
    "listnet_loss",
    "plackett_luce_choices",
    "plackett_luce_loss",
    "plackett_luce_sorted_loss",
    "position_weights",
    "ranknet_loss",
]

# Padded scores are put this far below the lowest real score of their list:
# exp(-1e4) is exactly 0 in float32 and float64, so padding adds nothing to a
# sum of exponentials, yet stays finite, which keeps the gradients of
# logcumsumexp / logaddexp finite (with -inf they would be exp(-inf + inf)).
_PAD_GAP = 1e4
# A finite stand-in for log(0) in dynamic programmes, for the same reason.
_LOG_ZERO = -1e30
# Products of a list's suffix sums inside these bounds are taken whole (their
# log is the sum of the logs to rounding); others are summed log by log.
_PRODUCT_BOUNDS = {
    dtype: (torch.finfo(dtype).tiny ** 0.75, torch.finfo(dtype).max ** 0.75)
    for dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64)
}
# Lists up to this length get their expected exposure exactly (2**L subsets).
EXACT_EXPOSURE_MAX_LEN = 8


def _pad_below(values, mask):
    """``values`` with padded entries replaced by finite, negligible values."""
    low = values.detach().masked_fill(~mask, torch.inf).amin(-1, keepdim=True)
    low = torch.where(torch.isfinite(low), low, torch.zeros_like(low))
    return torch.where(mask, values, low - _PAD_GAP), low - _PAD_GAP


def _reverse_logcumsumexp(x, exact=None):
    """``out[..., p] = log sum_{q >= p} exp(x[..., q])``.

    A cumulative sum of ``exp(x - max)`` along each row: several times faster
    than ``torch.logcumsumexp`` on CPU. Where a suffix that must be exact
    (``exact``, a bool tensor like ``x``; default everywhere) lies so far
    below its row's maximum that the sum underflows, the row is recomputed
    with ``torch.logcumsumexp``. Elsewhere (suffixes of padding only) the sum
    is floored at the smallest normal number, keeping log's gradient finite.
    """
    shape = x.shape
    x = x.reshape(-1, shape[-1])
    tiny = torch.finfo(x.dtype).tiny
    shift = x.detach().amax(-1, keepdim=True)
    total = torch.cumsum(torch.exp(x - shift).flip(-1), -1).flip(-1) + tiny
    small = total < tiny**0.5
    if exact is not None:
        small = small & exact.reshape(small.shape)
    underflow = small.any(-1)
    out = shift + torch.log(total)
    if underflow.any():
        rows = underflow.nonzero().squeeze(-1)
        exact_rows = torch.logcumsumexp(x[rows].flip(-1), -1).flip(-1)
        out = out.index_put((rows,), exact_rows)
    return out.reshape(shape)


def _breslow_constants(mask, weight, start, choice, dtype):
    """What :class:`_BreslowPlackettLuce` needs of the lists besides their
    scores, computed once per fit (cached on ``choice``, as
    :func:`~skalign._loss.pairwise._pairs` caches on the grades): the log
    weights (``None`` when every weight is 1 and nothing is padded), the
    choice weights, their sums at block starts, their total, and each list's
    last real position."""
    key = (mask._version, weight._version, start._version, choice._version, dtype)
    cached = getattr(choice, "_skalign_breslow", None)
    if (
        cached is not None
        and cached[0] is mask
        and cached[1] is weight
        and cached[2] is start
        and cached[3] == key
    ):
        return cached[4]
    full = bool(mask.all())
    masked = torch.where(mask, weight.to(dtype), 0.0)
    log_weight = None
    if not (full and bool((masked == 1).all())):
        log_weight = torch.log(torch.where(mask, masked, 1.0))
    chosen = torch.where(choice, masked, 0.0)
    positions = torch.arange(mask.shape[1], device=mask.device)
    if bool((start == positions).all()):
        at_start = chosen
    else:
        at_start = torch.zeros_like(chosen).scatter_add_(1, start, chosen)
    total = chosen.sum().clamp_min(torch.finfo(dtype).tiny)
    last = (mask.sum(1, keepdim=True) - 1).clamp_min(0)
    # Untied, unweighted full lists: the first ``k`` positions are choices
    # of weight 1 (all but the certain last, or the top ``k``), the rest
    # none. Their log-suffix sums then add up per list as the log of a
    # product (``unit_prefix = k``; ``None`` otherwise).
    unit_prefix = None
    if full and at_start.numel():
        k = int(at_start[0].sum())
        if bool((at_start[:, :k] == 1).all()) and bool((at_start[:, k:] == 0).all()):
            unit_prefix = k
    result = (full, log_weight, chosen, at_start, total, last, unit_prefix)
    if not choice.requires_grad:
        choice._skalign_breslow = (mask, weight, start, key, result)
    return result


class _BreslowPlackettLuce(torch.autograd.Function):
    """Plackett–Luce with Breslow ties on grade-sorted padded lists, value and
    gradient in one pass (what :func:`plackett_luce_sorted_loss` computes
    through autograd, at a fraction of the elementwise passes).

    With ``x`` the strengths (score plus log weight), ``T_p = Σ_{q ≥ p}
    exp(x_q - m)`` the suffix sums relative to the list's first strength
    ``m``, ``c`` the choice weights and ``a_s`` their sum over the positions
    whose block starts at ``s``, the loss is ``(Σ_s a_s (m + log T_s) -
    Σ_p c_p x_p) / Σ c`` and its gradient ``(exp(x_q - m) Σ_{s ≤ q} a_s /
    T_s - c_q) / Σ c``. A list whose suffix sums overflow or underflow is
    redone in log space
    (``torch.logcumsumexp``), as the unfused loss does. ``weight`` must not
    require a gradient.
    """

    @staticmethod
    def forward(ctx, scores, mask, weight, start, choice):
        dtype = torch.promote_types(scores.dtype, weight.dtype)
        ctx.scores_dtype = scores.dtype
        tiny = torch.finfo(dtype).tiny
        full, log_weight, chosen, at_start, total, last, unit_prefix = (
            _breslow_constants(mask, weight, start, choice, dtype)
        )
        record_normaliser(total)
        x = scores.detach().to(dtype)
        if log_weight is not None:
            x = x + log_weight
        if not full:
            x, _ = _pad_below(x, mask)
        # Relative to each list's first (top-graded) strength: a sum of
        # positive terms keeps its relative precision at any shift, so the
        # shift only has to keep exp in range, and the lists where it does
        # not (an overflowing first suffix, or an underflowing last one: the
        # suffix sums never increase along a list) are redone exactly.
        shift = x[:, :1]
        e = torch.sub(x, shift).exp_()
        suffix = e.flip(1).cumsum_(1).flip(1).add_(tiny)
        underflow = suffix.gather(1, last).squeeze(1) < tiny**0.5
        underflow |= ~torch.isfinite(suffix[:, 0])
        k = unit_prefix
        if k is not None:
            # Σ_{p < k} log T_p per list as the log of the product (one log
            # per list, not per position), where the product stays well
            # inside the range of the type; elsewhere the sum of the logs.
            product = suffix[:, :k].prod(1)
            log_rows = torch.log(product)
            bounds = _PRODUCT_BOUNDS[dtype]
            odd = ~((product > bounds[0]) & (product < bounds[1]))
            if bool(odd.any()):
                log_rows[odd] = torch.log(suffix[odd, :k]).sum(1)
            log_rows.add_(shift.view(-1), alpha=k)
            # The suffix sums are not needed past this point: the gradient's
            # terms at_start / T take their place.
            grad = suffix.reciprocal_()
            grad[:, k:] = 0.0
        else:
            log_suffix = torch.log(suffix).add_(shift)
            grad = torch.div(at_start, suffix)
        grad = grad.cumsum_(1).mul_(e).sub_(chosen)
        if bool(underflow.any()):
            rows = underflow.nonzero().squeeze(1)
            xr = x[rows]
            exact = torch.logcumsumexp(xr.flip(1), 1).flip(1)
            if k is not None:
                log_rows[rows] = exact[:, :k].sum(1)
            else:
                log_suffix[rows] = exact
            reach = torch.logcumsumexp(torch.log(at_start[rows]) - exact, 1)
            grad[rows] = torch.exp(xr + reach) - chosen[rows]
        if k is not None:
            value = log_rows.sum()
        else:
            value = torch.dot(at_start.view(-1), log_suffix.view(-1))
        value = (value - torch.dot(chosen.view(-1), x.view(-1))) / total
        ctx.save_for_backward(grad.div_(total))
        return value

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_value):
        (grad,) = ctx.saved_tensors
        return (grad * grad_value).to(ctx.scores_dtype), None, None, None, None


def _tie_blocks(grades, mask):
    """Block structure of grade-sorted lists: runs of equal grades.

    Returns the positions, the start position of each position's block, the
    block size at each position (0 on padding) and the list lengths.
    """
    n_lists, max_len = grades.shape
    positions = torch.arange(max_len, device=grades.device).expand(n_lists, -1)
    new = torch.ones_like(mask)
    new[:, 1:] = grades[:, 1:] != grades[:, :-1]
    # Each padded position is its own block, so padding never joins a run.
    new = new | ~mask
    start = torch.where(new, positions, 0).cummax(1).values
    size = torch.zeros(grades.shape, dtype=grades.dtype, device=grades.device)
    size = size.scatter_add(1, start, mask.to(grades.dtype)).gather(1, start)
    return positions, start, size, mask.sum(1, keepdim=True)


def _block_sum(values, start):
    """Sum of ``values`` over each block, read at every position of the block."""
    total = torch.zeros_like(values).scatter_add(1, start, values)
    return total.gather(1, start)


def _block_logsumexp(values, start):
    """Log-sum-exp of ``values`` over each block, at every position."""
    shift = (
        torch.zeros_like(values)
        .scatter_reduce(1, start, values.detach(), "amax", include_self=False)
        .gather(1, start)
    )
    total = _block_sum(torch.exp(values - shift), start)
    return shift + torch.log(total)


def _log_elementary_symmetric(values, mask, orders):
    """``log e_k(exp(values / k))`` over every suffix of each list.

    ``e_k`` is the elementary symmetric polynomial of order ``k``: the sum,
    over all ``k``-subsets ``S`` of the suffix, of ``exp(mean(values[S]))``.
    Computed by the recurrence ``e_m(suffix_p) = e_m(suffix_{p+1}) +
    x_p e_{m-1}(suffix_{p+1})`` in log space, one vectorised step per
    position (every term positive, so no cancellation).

    Returns a tensor of shape ``(n_lists, max_len, len(orders))``.
    """
    n_lists, max_len = values.shape
    k = torch.as_tensor(orders, dtype=values.dtype, device=values.device)
    top = int(max(orders))
    state = torch.full(
        (n_lists, len(orders), top + 1),
        _LOG_ZERO,
        dtype=values.dtype,
        device=values.device,
    )
    state[:, :, 0] = 0.0
    take = torch.as_tensor(orders, device=values.device).view(1, -1, 1)
    out = [None] * max_len
    for p in range(max_len - 1, -1, -1):
        x = (values[:, p, None] / k)[..., None]
        grown = torch.logaddexp(state[..., 1:], x + state[..., :-1])
        grown = torch.cat([state[..., :1], grown], -1)
        state = torch.where(mask[:, p, None, None], grown, state)
        out[p] = state.gather(2, take.expand(n_lists, -1, 1)).squeeze(-1)
    return torch.stack(out, 1)


def plackett_luce_loss(
    scores,
    grades,
    mask,
    weight=None,
    *,
    top_k=None,
    ties="breslow",
    log_tie_weights=None,
    tie_orders=(),
):
    """Plackett–Luce negative log-likelihood of graded lists, mean per choice.

    A list sorted by decreasing grade is read as successive choices: the
    first item is chosen from all items with probability ``exp(s_1) / sum_j
    exp(s_j)``, the second from the rest, and so on (Plackett, 1975; Luce,
    1959). The denominators are a reverse ``logcumsumexp`` over the padded
    positions. A row of weight ``w`` counts as ``w`` copies of the item: its
    strength ``exp(s)`` is multiplied by ``w`` (in numerators and
    denominators) and its choice term by ``w``; the result is divided by the
    total weight of the choices. With ``ties="breslow"``, an integer weight
    gives the gradient of the list with the row repeated ``w`` times (the
    loss differs by a constant); multiplying all weights by a constant
    changes nothing.

    Parameters
    ----------
    scores : tensor of shape (n_lists, max_len)
    grades, mask, weight : tensors of shape (n_lists, max_len)
        Higher grades are chosen first; equal grades are ties.
    top_k : int, default=None
        Only choices starting in the first ``top_k`` positions count; every
        item stays in the denominators (partial top-k rankings). ``None``
        counts every choice.
    ties : {"breslow", "efron", "davidson_luce"}, default="breslow"
        How a block ``T`` of tied items is chosen from the remaining set
        ``R``. ``"breslow"``: each tied item as if chosen first from ``R``.
        ``"efron"``: the ``r``-th tied item from ``R`` less ``r / |T|`` of the
        tie's strength (Efron, 1977). For both, a last block (``T = R``) has
        probability 1 whatever its order, and adds nothing.
        ``"davidson_luce"``: the tie is an event of probability ``δ_|T|
        g(T) / sum_k δ_k sum_{S ⊆ R, |S| = k} g(S)``, ``g(S)`` the geometric
        mean of the strengths in ``S`` (Firth, Kosmidis & Turner, 2019).
    log_tie_weights : tensor of shape (len(tie_orders),), default=None
        ``log δ_k`` for ``ties="davidson_luce"`` (``δ_1 = 1``).
    tie_orders : sequence of int, default=()
        The tie orders ``k >= 2`` that have a parameter; ties of any other
        order have probability zero.

    Returns
    -------
    loss : scalar tensor
    """
    if weight is None:
        weight = torch.ones_like(scores)
    grades, mask, scores, weight = _sort_by_grade(grades, mask, scores, weight)
    start, size, choice = plackett_luce_choices(grades, mask, top_k=top_k, ties=ties)
    return plackett_luce_sorted_loss(
        scores,
        mask,
        weight,
        start,
        size,
        choice,
        ties=ties,
        log_tie_weights=log_tie_weights,
        tie_orders=tie_orders,
    )


def plackett_luce_choices(grades, mask, *, top_k=None, ties="breslow"):
    """Tie blocks and choices of lists sorted by decreasing grade.

    Returns, at every position, the start of its block of equal grades (int64)
    and the block's size (``grades.dtype``, 0 on padding), and the boolean
    ``choice``: for ``"breslow"`` and ``"efron"`` every position of a block
    that is a choice, for ``"davidson_luce"`` the first position of such a
    block. A block is a choice when it starts in the first ``top_k``
    positions, except a last block of Breslow/Efron (certain) and a last
    single item (certain under every model).
    """
    positions, start, size, length = _tie_blocks(grades, mask)
    choice = mask if top_k is None else mask & (start < top_k)
    last = start + size >= length
    if ties == "davidson_luce":
        # A last tie is an event (the items tie rather than being ordered).
        return start, size, choice & (positions == start) & (~last | (size > 1))
    if ties not in ("breslow", "efron"):
        raise ValueError(f"Unknown ties={ties!r}.")
    return start, size, choice & ~last


def plackett_luce_sorted_loss(
    scores,
    mask,
    weight,
    start,
    size,
    choice,
    *,
    ties,
    log_tie_weights=None,
    tie_orders=(),
):
    """The loss of :func:`plackett_luce_loss` on grade-sorted lists whose
    blocks and choices come from :func:`plackett_luce_choices` (which a
    training loop computes once, since they depend on the grades only)."""
    fused = fused_allowed() and not weight.requires_grad
    if ties == "breslow" and fused and scores.ndim == 2:
        return _BreslowPlackettLuce.apply(scores, mask, weight, start, choice)
    weight = torch.where(mask, weight, torch.zeros_like(weight))
    log_w = torch.log(torch.where(mask, weight, torch.ones_like(weight)))
    strength, pad = _pad_below(scores + log_w, mask)
    if ties == "breslow":
        # Every tied item is chosen from the whole remaining set.
        suffix = _reverse_logcumsumexp(strength, mask)
        return weighted_mean(suffix.gather(1, start) - strength, weight, choice)
    # Suffix sums, with one padded column so that the set after a block can
    # be read at index start + size, even after the last block.
    suffix = _reverse_logcumsumexp(
        torch.cat([strength, pad], 1),
        torch.cat([mask, torch.zeros_like(mask[:, :1])], 1),
    )
    if ties == "davidson_luce":
        return _davidson_luce(
            strength,
            suffix,
            mask,
            weight,
            start,
            size,
            choice,
            log_tie_weights,
            tie_orders,
        )
    rest = suffix.gather(1, (start + size).long())
    positions = torch.arange(scores.shape[1], device=scores.device)
    fraction = (positions - start).to(size.dtype) / size.clamp_min(1)
    tied = _block_logsumexp(strength, start)
    denominator = torch.logaddexp(rest, torch.log1p(-fraction) + tied)
    mean_weight = _block_sum(weight, start) / size.clamp_min(1)
    terms = mean_weight * denominator - weight * strength
    return weighted_mean(terms, mask=choice, normaliser=weight)


def _davidson_luce(
    strength,
    suffix,
    mask,
    weight,
    start,
    size,
    choice,
    log_tie_weights,
    tie_orders,
):
    """Davidson–Luce NLL: one event per choice block (``choice`` marks block
    starts); the denominator sums ``δ_k e_k`` over sizes ``k``."""
    orders = [int(k) for k in tie_orders]
    if orders:
        log_delta = log_tie_weights.reshape(-1)
        log_esp = _log_elementary_symmetric(strength, mask, orders)
        denominator = torch.logsumexp(
            torch.cat([suffix[:, :-1, None], log_esp + log_delta], -1), -1
        )
        # log δ of each block's size: 0 for single items, _LOG_ZERO for
        # orders without a parameter (index 0 stands for any of those).
        table = torch.full(
            (max(orders) + 1,),
            _LOG_ZERO,
            dtype=strength.dtype,
            device=strength.device,
        )
        table[1] = 0.0
        table = table.index_put(
            (torch.as_tensor(orders, device=strength.device),), log_delta
        )
        index = torch.where(size <= max(orders), size.long(), 0)
        log_delta_block = table[index]
    else:
        denominator = suffix[:, :-1]
        log_delta_block = torch.where(
            size > 1, torch.full_like(size, _LOG_ZERO), torch.zeros_like(size)
        )
    block_size = size.clamp_min(1)
    mean_strength = _block_sum(torch.where(mask, strength, 0.0), start) / block_size
    mean_weight = _block_sum(weight, start) / block_size
    return weighted_mean(
        denominator - log_delta_block - mean_strength, mean_weight, choice
    )


def _list_weight(weight, mask):
    weight = torch.where(mask, weight, torch.zeros_like(weight))
    return weight.sum(1) / mask.sum(1).clamp_min(1)


def listnet_loss(scores, grades, mask, weight=None):
    """ListNet top-one cross-entropy (Cao et al., 2007).

    ``-sum_i P_y(i) log P_s(i)`` with ``P_y = softmax(grades)`` and ``P_s =
    softmax(scores)`` within each list; row weights are multiplicities in
    both softmaxes, and lists are averaged with their mean row weight.
    """
    if weight is None:
        weight = torch.ones_like(scores)
    log_w = torch.log(torch.where(mask, weight, torch.ones_like(weight)))
    target = torch.log_softmax(_pad_below(grades + log_w, mask)[0], 1)
    predicted = torch.log_softmax(_pad_below(scores + log_w, mask)[0], 1)
    cross_entropy = -(torch.exp(target) * predicted).sum(1)
    return weighted_mean(cross_entropy, _list_weight(weight, mask))


def ranknet_loss(scores, grades, mask, weight=None, *, pair_sample=None):
    """RankNet loss (Burges et al., 2005): the Bradley–Terry negative
    log-likelihood ``log(1 + exp(-(s_i - s_j)))`` over grade-ordered pairs,
    averaged with the pair weights ``w_i w_j / w̄`` of
    :func:`~skalign._loss.pairwise.grade_ordered_pairs`.

    See :func:`skalign.preference.bradley_terry_loss`. Lists too long for
    dense pair tensors are summed exactly in blocks of rows (memory
    ``O(L × block)``, not ``O(L²)``). ``pair_sample``, an integer tensor of
    shape ``(n_lists, 2)``, replaces the pairs of some lists by an unbiased
    sample: per list, the number of offsets (0 keeps every pair) and their
    start, see :func:`circulant_offsets`.
    """
    if weight is None:
        weight = torch.ones_like(scores)
    if pair_sample is None and _dense_fits(mask):
        return bradley_terry_loss(scores, grades, mask, weight)
    return _long_list_pair_loss(scores, grades, mask, weight, None, pair_sample)


def _discounts(scores, mask):
    """``1 / log(1 + τ)`` for the 1-based rank ``τ`` of each row within its
    list under ``scores`` (no grad). Rows with equal scores share the mean
    discount of the positions they occupy, the expectation over the orders
    of the tie: identical rows weigh the same whatever their row order."""
    key = torch.where(mask, scores.detach(), -torch.inf)
    order = torch.argsort(key, dim=1, descending=True, stable=True)
    ranked = key.gather(1, order)
    position = torch.arange(1, key.shape[1] + 1, dtype=scores.dtype, device=key.device)
    discount = (1.0 / torch.log1p(position)).expand_as(ranked)
    # Runs of equal sorted scores, numbered across the whole batch.
    new_run = torch.ones_like(ranked, dtype=torch.bool)
    new_run[:, 1:] = ranked[:, 1:] != ranked[:, :-1]
    run = new_run.reshape(-1).cumsum(0) - 1
    n_runs = int(run[-1]) + 1 if run.numel() else 0
    total = discount.new_zeros(n_runs).index_add_(0, run, discount.reshape(-1))
    count = discount.new_zeros(n_runs).index_add_(0, run, torch.ones_like(total[run]))
    shared = (total / count)[run].view_as(ranked)
    return torch.empty_like(shared).scatter_(1, order, shared)


def _lambda_factors(scores, grades, mask, top_grade=None):
    """LiPO-λ's per-row gain and discount ``1 / log(1 + τ)``:
    ``Δ_ij = |G_i - G_j| |1 / D(τ_i) - 1 / D(τ_j)|`` (no gradient).

    The gain is ``G = 2^ψ - 1`` times ``2^-top_grade``, one factor common to
    every list (``top_grade``, by default the largest grade of the batch):
    the ``-1`` cancels in ``G_i - G_j``, the lists keep the weights the
    paper gives them relative to each other, and no grade overflows."""
    with torch.no_grad():
        if top_grade is None:
            top_grade = torch.where(mask, grades, -torch.inf).amax()
        gain = torch.exp2(torch.where(mask, grades - top_grade, -torch.inf))
        discount = _discounts(scores, mask)
    return gain, discount


def _lambda_delta(factors_i, factors_j):
    (gain_i, discount_i), (gain_j, discount_j) = factors_i, factors_j
    return (gain_i - gain_j).abs() * (discount_i - discount_j).abs()


def lipo_lambda_loss(
    scores, grades, mask, weight=None, *, pair_sample=None, top_grade=None
):
    """LiPO-λ loss (Liu et al., 2024), a LambdaLoss (Wang et al., 2018).

    ``sum_{ψ_i > ψ_j} Δ_ij log(1 + exp(-(s_i - s_j)))`` with ``Δ_ij = |G_i -
    G_j| |1 / D(τ_i) - 1 / D(τ_j)|``, the paper's gain ``G = 2^ψ - 1``,
    ``D(τ) = log(1 + τ)``, and ``τ`` the rank under the current scores (not
    differentiated; tied scores share the mean discount of their
    positions). Every gain is multiplied by ``2^-top_grade``, a factor
    common to all lists that keeps any grade finite (the ``-1`` cancels in
    ``G_i - G_j``); ``top_grade`` defaults to the batch's largest grade,
    and an estimator passes its training data's, so that every mini-batch
    has the same scale. Averaged with the pair weights ``w_i w_j / w̄`` of
    :func:`~skalign._loss.pairwise.grade_ordered_pairs`. Long lists and
    ``pair_sample`` as in :func:`ranknet_loss`.
    """
    if weight is None:
        weight = torch.ones_like(scores)
    factors = _lambda_factors(scores, grades, mask, top_grade)
    if pair_sample is not None or not _dense_fits(mask):
        return _long_list_pair_loss(scores, grades, mask, weight, factors, pair_sample)
    i, j, sign, _, pair_weight = grade_ordered_pairs(grades, mask, weight)
    pair_weight = pair_weight * sign.abs()
    delta = _lambda_delta(
        [f[:, i] for f in factors],
        [f[:, j] for f in factors],
    )
    margin = sign * score_differences(scores, i, j)
    return weighted_mean(
        F.softplus(-margin), pair_weight * delta, normaliser=pair_weight
    )


def circulant_offsets(count, start, length, draw):
    """Offset ``δ`` of draw ``draw`` of a list's systematic pair sample.

    A list of ``length`` rows sampled with ``count`` offsets pairs each row
    ``p`` with row ``(p + δ) mod length`` for each offset ``δ = 1 + (start +
    floor(draw (length - 1) / count)) mod (length - 1)``, ``draw < count``.
    With ``start`` uniform on ``[0, length - 1)`` every offset is uniform on
    ``[1, length)``, so each unordered pair of rows is drawn ``2 count /
    (length - 1)`` times on average: weighting every sampled pair by
    ``(length - 1) / (2 count)`` keeps any sum over pairs unbiased. Every row
    is in exactly ``2 count`` sampled pairs, and the offsets are evenly
    spread (a systematic sample). Works on numpy arrays and integer tensors
    alike (broadcasting).
    """
    return 1 + (start + draw * (length - 1) // count) % (length - 1)


def _sampled_pairs(length, count, start, max_len, dtype):
    """Positions of the sampled pairs of lists, for :func:`circulant_offsets`.

    ``length``, ``count`` and ``start`` are integer tensors of shape
    ``(n_lists,)``. Returns the partner ``q`` of each position ``p`` for each
    draw, shape ``(n_lists, max_len, max(count))``, whether the pair is
    real (``p < length`` and the draw is one of the list's ``count``), and
    the weight ``(length - 1) / (2 count)`` of each list's pairs, in
    ``dtype``.
    """
    n_draws = int(count.max()) if count.numel() else 0
    draw = torch.arange(n_draws, device=length.device)
    length = length[:, None].clamp_min(2)
    delta = circulant_offsets(count[:, None].clamp_min(1), start[:, None], length, draw)
    position = torch.arange(max_len, device=length.device)[None, :, None]
    partner = (position + delta[:, None, :]) % length[:, :, None]
    real = (position < length[:, :, None]) & (draw < count[:, None])[:, None, :]
    scale = (length[:, 0] - 1).to(dtype) / (2 * count.clamp_min(1)).to(dtype)
    return partner, real, scale


def _sampled_pair_sums(scores, grades, mask, weight, factors, pair_sample):
    """Numerator and normaliser of the pair loss over the sampled pairs."""
    weight = pair_row_weights(weight, mask)
    n_lists, max_len = scores.shape
    length = mask.sum(1)
    partner, real, scale = _sampled_pairs(
        length, pair_sample[:, 0], pair_sample[:, 1], max_len, scores.dtype
    )
    flat = partner.reshape(n_lists, -1)

    def at_partner(values):
        return values.gather(1, flat).view(partner.shape)

    def at_self(values):
        return values[:, :, None]

    sign = torch.sign(at_self(grades) - at_partner(grades))
    pair_weight = (
        torch.where(real, at_self(weight) * at_partner(weight) * sign.abs(), 0.0)
        * scale[:, None, None]
    )
    margin = sign * (at_self(scores) - at_partner(scores))
    terms = F.softplus(-margin) * pair_weight
    if factors is not None:
        terms = terms * _lambda_delta(
            [at_self(f) for f in factors], [at_partner(f) for f in factors]
        )
    return terms.sum(), pair_weight.sum()


def _long_list_pair_loss(scores, grades, mask, weight, factors, pair_sample):
    """The pair loss of lists too long for dense pair tensors, or with some
    lists' pairs sampled: lists with ``pair_sample[:, 0] > 0`` use their
    sampled pairs, the others every pair, summed in row blocks."""
    weight = torch.where(mask, weight, torch.zeros_like(weight))
    factors = () if factors is None else tuple(factors)
    grades, mask, scores, weight, *factors = _sort_by_grade(
        grades, mask, scores, weight, *factors
    )
    sampled = torch.zeros_like(mask[:, 0])
    if pair_sample is not None:
        sampled = pair_sample[:, 0] > 0
    numerator = normaliser = scores.new_zeros(())
    for lists, is_sampled in ((~sampled, False), (sampled, True)):
        if not lists.any():
            continue
        lists = torch.nonzero(lists).squeeze(1)
        width = max(int(mask[lists].sum(1).max()), 1)
        part = [t[lists, :width] for t in (scores, grades, mask, weight, *factors)]
        if is_sampled:
            num, den = _sampled_pair_sums(
                *part[:4], tuple(part[4:]) or None, pair_sample[lists]
            )
        else:
            factor = _lambda_delta if factors else None
            num, den = _BlockedPairLoss.apply(*part[:4], factor, *part[4:])
        numerator = numerator + num
        normaliser = normaliser + den
    return numerator / normaliser.clamp_min(torch.finfo(normaliser.dtype).tiny)


def position_weights(ranks):
    """Exposure of a 1-based rank: ``1 / log2(1 + rank)``."""
    return 1.0 / torch.log2(1.0 + ranks)


@functools.cache
def _subset_tables(max_len):
    """Subsets of ``range(max_len)`` by size, for the exact exposure.

    For each size ``k``: the members (bool, ``(C_k, max_len)``) and, for each
    subset, the positions in the size ``k - 1`` table of the subset less one
    member, with that member (``(C_k, k)`` each).
    """
    masks = np.arange(1 << max_len)
    member = (masks[:, None] >> np.arange(max_len)) & 1
    size = member.sum(1)
    where_in_size = np.zeros(1 << max_len, dtype=np.int64)
    by_size = []
    for k in range(max_len + 1):
        subsets = masks[size == k]
        where_in_size[subsets] = np.arange(subsets.size)
        items = np.nonzero(member[subsets])[1].reshape(subsets.size, k)
        previous = where_in_size[subsets[:, None] ^ (1 << items)] if k else items
        by_size.append(
            (
                torch.from_numpy(member[subsets].astype(bool)),
                torch.from_numpy(previous),
                torch.from_numpy(items),
            )
        )
    return by_size


def _exact_exposure(scores, mask):
    """Expected exposure of each position under Plackett–Luce, exactly.

    ``P(S)``, the probability that the set ``S`` fills the first ``|S|``
    ranks, follows ``P(S) = sum_{j in S} P(S - j) p(j | S - j)`` with ``p(j
    | A) = exp(s_j) / sum_{i not in A} exp(s_i)``; the exposure of ``i`` is
    ``sum_{S not containing i} P(S) p(i | S) v(|S| + 1)``. Vectorised over
    lists, one step per subset size: ``O(2^L L)`` per list.
    """
    strength, _ = _pad_below(scores, mask)
    n_lists, max_len = strength.shape
    device, dtype = strength.device, strength.dtype
    exposure = torch.zeros_like(strength)
    # Subsets of the previous size: log P(S) and log sum_{i not in S} exp(s_i).
    log_prob = rest = strength.new_zeros(n_lists, 1)
    for k, (member, previous, items) in enumerate(_subset_tables(max_len)):
        member, previous, items = (t.to(device) for t in (member, previous, items))
        if k:
            step = log_prob[:, previous] + strength[:, items] - rest[:, previous]
            log_prob = torch.logsumexp(step, -1)
        if k == max_len:
            break
        rest = torch.logsumexp(torch.where(member, _LOG_ZERO, strength[:, None, :]), -1)
        chosen = log_prob[:, :, None] + strength[:, None, :] - rest[:, :, None]
        chosen = torch.where(member, _LOG_ZERO, chosen)
        weight = position_weights(torch.tensor(k + 1.0, dtype=dtype, device=device))
        exposure = exposure + weight * torch.exp(chosen).sum(1)
    return exposure


def _sampled_exposure(scores, mask, n_samples):
    """Expected exposure by Gumbel-max sampling, with a score-function gradient.

    ``n_samples`` rankings per list are drawn exactly from Plackett–Luce by
    sorting ``s + Gumbel`` (Yellott, 1977). The value is the Monte Carlo mean
    exposure; its gradient is the REINFORCE estimate ``mean (v - b) ∇ log
    P(π)`` with a leave-one-out baseline ``b`` (Williams, 1992; as in Singh &
    Joachims, 2019), so that the penalty can be trained through.
    """
    strength, _ = _pad_below(scores, mask)
    uniform = torch.rand(
        (n_samples, *strength.shape), dtype=strength.dtype, device=strength.device
    )
    tiny = torch.finfo(strength.dtype).tiny
    gumbel = -torch.log(-torch.log(uniform.clamp(tiny, 1.0 - 1e-7)))
    perturbed = torch.where(mask, strength.detach() + gumbel, -torch.inf)
    order = torch.argsort(perturbed, dim=-1, descending=True)
    ranks = torch.argsort(order, dim=-1).to(strength.dtype) + 1
    value = torch.where(mask, position_weights(ranks), 0.0)
    ordered = strength.expand_as(perturbed).gather(-1, order)
    # Padding sorts last; only the real positions' suffixes matter.
    real = mask.expand_as(perturbed).gather(-1, order)
    log_prob = ordered - _reverse_logcumsumexp(ordered, real)
    log_prob = torch.where(real, log_prob, 0.0).sum(-1)
    baseline = (value.sum(0, keepdim=True) - value) / max(n_samples - 1, 1)
    surrogate = (value - baseline) * (log_prob - log_prob.detach())[..., None]
    return value.mean(0) + surrogate.mean(0)


def expected_exposure(scores, mask, *, n_samples=32):
    """Expected exposure of each row under the Plackett–Luce policy.

    The exposure of rank ``r`` is ``1 / log2(1 + r)`` (Singh & Joachims,
    2018); rankings are drawn from Plackett–Luce with log-strengths
    ``scores``. Exact for lists of at most 8 positions (padded length),
    estimated from ``n_samples`` Gumbel-max samples with a REINFORCE
    gradient otherwise (torch's global generator draws them).

    Returns
    -------
    exposure : tensor of shape (n_lists, max_len), zero on padding
    """
    if scores.shape[1] <= EXACT_EXPOSURE_MAX_LEN:
        exposure = _exact_exposure(scores, mask)
    else:
        exposure = _sampled_exposure(scores, mask, n_samples)
    return torch.where(mask, exposure, torch.zeros_like(exposure))


def exposure_disparity_penalty(exposure, sensitive, mask):
    """Mean over lists of the squared gaps in group-mean exposure.

    Within each list, ``e_a`` is the mean exposure of the rows of sensitive
    group ``a``; the list's disparity is the mean of ``(e_a - e_b)^2`` over
    the pairs of groups present. Lists with a single group present are left
    out.

    Parameters
    ----------
    exposure : tensor of shape (n_lists, max_len)
    sensitive : integer tensor of shape (n_lists, max_len)
        Group codes numbered from 0 within each list (any value on padding).
    mask : bool tensor of shape (n_lists, max_len)
    """
    codes = torch.where(mask, sensitive, torch.zeros_like(sensitive)).long()
    real = mask.to(exposure.dtype)
    sums = torch.zeros_like(exposure).scatter_add(1, codes, exposure * real)
    counts = torch.zeros_like(exposure).scatter_add(1, codes, real)
    present = counts > 0
    means = sums / counts.clamp_min(1)
    n_present = present.sum(1).to(exposure.dtype)
    centre = (means * present).sum(1, keepdim=True) / n_present.clamp_min(1)[:, None]
    spread = ((means - centre) ** 2 * present).sum(1)
    # sum_{a<b} (e_a - e_b)^2 = p * sum_a (e_a - mean)^2 over p pairs choose 2.
    n_pairs = n_present * (n_present - 1) / 2
    disparity = n_present * spread / n_pairs.clamp_min(1)
    return weighted_mean(disparity, mask=n_present >= 2)
