"""Listwise losses: brute-force golden values, gradients, invariants."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose

from skalign._loss.listwise import (
    expected_exposure,
    exposure_disparity_penalty,
    lipo_lambda_loss,
    listnet_loss,
    plackett_luce_loss,
    ranknet_loss,
)
from skalign._loss.pairwise import bradley_terry_loss

from ..ranking._brute_force import brute_force_exposure, brute_force_nll

TIES = ["breslow", "efron", "davidson_luce"]


def _lists(scores, grades, weight=None):
    scores = torch.as_tensor(np.atleast_2d(scores), dtype=torch.float64)
    grades = torch.as_tensor(np.atleast_2d(grades), dtype=torch.float64)
    mask = torch.ones_like(grades, dtype=torch.bool)
    weight = (
        torch.ones_like(grades)
        if weight is None
        else torch.as_tensor(np.atleast_2d(weight), dtype=torch.float64)
    )
    return scores, grades, mask, weight


@pytest.mark.parametrize("ties", TIES)
@pytest.mark.parametrize(
    "grades", [[4, 3, 2, 1, 0], [2, 2, 1, 0, 0], [3, 1, 1, 1, 0], [1, 0, 0, 0, 0]]
)
@pytest.mark.parametrize("top_k", [None, 1, 2])
def test_golden_values_against_brute_force(ties, grades, top_k):
    rng = np.random.default_rng(sum(grades))
    scores = rng.normal(size=5)
    grades = np.array(grades, dtype=float)
    # Shuffle the rows: the loss sorts each list by grade itself.
    perm = rng.permutation(5)
    scores, grades = scores[perm], grades[perm]
    delta = {2: 0.3, 3: 0.05, 4: 0.01}
    expected, n_terms = brute_force_nll(scores, grades, ties, delta, top_k)
    kwargs = {}
    if ties == "davidson_luce":
        kwargs = dict(
            tie_orders=(2, 3, 4),
            log_tie_weights=torch.log(
                torch.tensor([0.3, 0.05, 0.01], dtype=torch.float64)
            ),
        )
    loss = plackett_luce_loss(*_lists(scores, grades), top_k=top_k, ties=ties, **kwargs)
    if n_terms == 0:
        assert loss.item() == 0.0
    else:
        assert math.isclose(loss.item(), expected / n_terms, rel_tol=1e-12)


def test_unmodelled_tie_order_has_probability_zero():
    scores, grades, mask, weight = _lists([0.1, 0.2, -0.3], [1, 1, 0])
    loss = plackett_luce_loss(
        scores, grades, mask, weight, ties="davidson_luce", tie_orders=()
    )
    assert loss.item() > 1e20


@settings(max_examples=30, deadline=None)
@given(
    arrays("float64", (5, 2), elements=st.floats(-30, 30)),
    arrays("float64", (5, 2), elements=st.sampled_from([0.0, 1.0, 2.0])),
    st.floats(0.1, 10.0),
)
def test_two_item_lists_are_bradley_terry(scores, grades, weight):
    # Any common weight: both losses are invariant to it.
    scores, grades, mask, weight = _lists(scores, grades, np.full((5, 2), weight))
    grades[:, 1] = grades[:, 0] - 1.0  # one winner per pair
    bt = bradley_terry_loss(scores, grades, mask, weight)
    for ties in TIES:
        pl = plackett_luce_loss(scores, grades, mask, weight, ties=ties)
        assert torch.allclose(pl, bt, rtol=1e-10)
    assert torch.allclose(ranknet_loss(scores, grades, mask, weight), bt)


def test_padding_is_ignored():
    rng = np.random.default_rng(1)
    scores, grades, mask, weight = _lists(rng.normal(size=6), [3, 2, 2, 1, 9, 9])
    mask[0, 4:] = False
    plain = _lists(scores[0, :4].numpy(), [3, 2, 2, 1])
    for ties in TIES:
        kwargs = {"tie_orders": (2,)} if ties == "davidson_luce" else {}
        if kwargs:
            kwargs["log_tie_weights"] = torch.zeros(1, dtype=torch.float64)
        assert torch.allclose(
            plackett_luce_loss(scores, grades, mask, weight, ties=ties, **kwargs),
            plackett_luce_loss(*plain, ties=ties, **kwargs),
            rtol=1e-12,
        )
    for loss in (lipo_lambda_loss, listnet_loss, ranknet_loss):
        assert torch.allclose(loss(scores, grades, mask, weight), loss(*plain))


def test_integer_weight_is_a_repeated_row_with_breslow_ties():
    rng = np.random.default_rng(2)
    scores = torch.tensor(rng.normal(size=5), requires_grad=True)
    grades = np.array([3.0, 2.0, 2.0, 1.0, 0.0])
    counts = np.array([1, 3, 1, 2, 1])
    _, g, m, w = _lists(scores.detach().numpy(), grades, counts)
    weighted = plackett_luce_loss(scores[None], g, m, w)
    copies = torch.repeat_interleave(scores, torch.as_tensor(counts))
    _, g, m, w = _lists(copies.detach().numpy(), np.repeat(grades, counts))
    repeated = plackett_luce_loss(copies[None], g, m, w)
    # The weighted loss is that of "one of the w copies is chosen": it differs
    # from the repeated list's by a constant; the gradients agree.
    (g_weighted,) = torch.autograd.grad(weighted, scores)
    (g_repeated,) = torch.autograd.grad(repeated, scores)
    assert torch.allclose(g_weighted, g_repeated, rtol=1e-12)


def test_lipo_lambda_golden_value():
    # Scores put item 1 (grade 0) first: ranks are 2, 1, 3.
    scores, grades, mask, weight = _lists([1.0, 2.0, 0.0], [2.0, 0.0, 1.0])
    gain = {0: 2.0**0, 1: 2.0**-2, 2: 2.0**-1}  # 2^(grade - top)
    rank = {0: 2, 1: 1, 2: 3}
    terms, pairs = 0.0, [(0, 1), (0, 2), (2, 1)]
    for hi, lo in pairs:
        delta = abs(gain[hi] - gain[lo]) * abs(
            1 / math.log1p(rank[hi]) - 1 / math.log1p(rank[lo])
        )
        s = scores[0].tolist()
        terms += delta * math.log1p(math.exp(-(s[hi] - s[lo])))
    loss = lipo_lambda_loss(scores, grades, mask, weight)
    assert math.isclose(loss.item(), terms / len(pairs), rel_tol=1e-12)


def test_listnet_golden_value():
    scores, grades, mask, weight = _lists([0.5, -1.0, 2.0], [2.0, 0.0, 1.0])
    target = torch.softmax(grades[0], 0)
    expected = -(target * torch.log_softmax(scores[0], 0)).sum()
    assert torch.allclose(listnet_loss(scores, grades, mask, weight), expected)


@pytest.mark.parametrize(
    "loss",
    [
        lambda *a: plackett_luce_loss(*a, ties="breslow"),
        lambda *a: plackett_luce_loss(*a, ties="efron", top_k=2),
        lipo_lambda_loss,
        listnet_loss,
        ranknet_loss,
    ],
    ids=["breslow", "efron_top2", "lipo", "listnet", "ranknet"],
)
def test_gradcheck_float64(loss):
    torch.manual_seed(0)
    scores = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    grades = torch.randint(0, 3, (4, 5)).double()
    mask = torch.rand(4, 5) > 0.2
    mask[:, :2] = True
    weight = torch.rand(4, 5, dtype=torch.float64) + 0.5
    assert torch.autograd.gradcheck(lambda s: loss(s, grades, mask, weight), (scores,))


def test_gradcheck_davidson_luce_with_tie_weights():
    torch.manual_seed(1)
    scores = torch.randn(3, 6, dtype=torch.float64, requires_grad=True)
    grades = torch.tensor([[2, 2, 1, 1, 1, 0], [3, 2, 2, 0, 0, 0], [1, 1, 0, 0, 9, 9]])
    mask = torch.ones(3, 6, dtype=torch.bool)
    mask[2, 4:] = False
    log_delta = torch.tensor([-1.0, -2.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda s, d: plackett_luce_loss(
            s,
            grades.double(),
            mask,
            None,
            ties="davidson_luce",
            tie_orders=(2, 3),
            log_tie_weights=d,
        ),
        (scores, log_delta),
    )


def test_extreme_values_stay_finite():
    scores, grades, mask, weight = _lists(
        [[1e4, -1e4, 0.0, 3e3], [1e-9, 0.0, -1e-9, 5.0]],
        [[1e9, 0.0, -1e9, 1e9], [1.0, 1.0, 0.0, 0.0]],
    )
    scores.requires_grad_(True)
    losses = [
        plackett_luce_loss(scores, grades, mask, weight, ties=ties) for ties in TIES[:2]
    ] + [
        plackett_luce_loss(
            scores,
            grades,
            mask,
            weight,
            ties="davidson_luce",
            tie_orders=(2,),
            log_tie_weights=torch.zeros(1, dtype=torch.float64),
        ),
        lipo_lambda_loss(scores, grades, mask, weight),
        listnet_loss(scores, grades, mask, weight),
        ranknet_loss(scores, grades, mask, weight),
    ]
    for loss in losses:
        (grad,) = torch.autograd.grad(loss, scores)
        assert torch.isfinite(loss) and torch.isfinite(grad).all()


_scores = arrays("float64", (3, 6), elements=st.floats(-30, 30))
_grades = arrays("float64", (3, 6), elements=st.sampled_from([0.0, 1.0, 2.0, 3.0]))


def _all_losses(scores, grades, top_k=None):
    mask = torch.ones_like(grades, dtype=torch.bool)
    out = [
        plackett_luce_loss(scores, grades, mask, ties=ties, top_k=top_k)
        for ties in ("breslow", "efron")
    ]
    out.append(
        plackett_luce_loss(
            scores,
            grades,
            mask,
            ties="davidson_luce",
            top_k=top_k,
            tie_orders=(2, 3, 4, 5, 6),
            log_tie_weights=torch.linspace(-1, -3, 5, dtype=torch.float64),
        )
    )
    if top_k is None:
        out += [
            loss(scores, grades, mask)
            for loss in (lipo_lambda_loss, listnet_loss, ranknet_loss)
        ]
    return torch.stack(out)


@settings(max_examples=30, deadline=None)
@given(_scores, _grades, st.floats(-100, 100))
def test_shifting_a_list_changes_nothing(scores, grades, shift):
    scores, grades = torch.as_tensor(scores), torch.as_tensor(grades)
    # Distinct scores: LiPO's ranks break score ties by position, and a shift
    # can round two nearly equal scores to a tie.
    scores = scores + torch.arange(6) * 1e-3
    base = _all_losses(scores, grades)
    shifted = _all_losses(scores + shift, grades)
    assert torch.allclose(base, shifted, rtol=1e-9, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(_scores, _grades, st.permutations(range(6)))
def test_permuting_rows_within_lists_changes_nothing(scores, grades, perm):
    scores, grades = torch.as_tensor(scores), torch.as_tensor(grades)
    # Distinct scores: LiPO's ranks break score ties by position.
    scores = scores + torch.arange(6) * 1e-3
    perm = torch.as_tensor(perm)
    base = _all_losses(scores, grades)
    permuted = _all_losses(scores[:, perm], grades[:, perm])
    assert torch.allclose(base, permuted, rtol=1e-9, atol=1e-12)
    assert torch.isfinite(base).all()


@settings(max_examples=30, deadline=None)
@given(_scores, arrays("float64", (3, 6), elements=st.floats(-5, 5)))
def test_top_k_of_length_minus_one_is_the_full_ranking(scores, grades):
    scores, grades = torch.as_tensor(scores), torch.as_tensor(grades)
    assert torch.allclose(
        _all_losses(scores, grades, top_k=5), _all_losses(scores, grades)[:3]
    )


def test_exact_exposure_matches_enumeration_of_permutations():
    rng = np.random.default_rng(3)
    scores = rng.normal(size=(2, 5)) * 2
    mask = torch.ones(2, 5, dtype=torch.bool)
    mask[1, 3:] = False
    exposure = expected_exposure(torch.as_tensor(scores), mask).numpy()
    assert np.allclose(exposure[0], brute_force_exposure(scores[0]), rtol=1e-12)
    assert np.allclose(exposure[1, :3], brute_force_exposure(scores[1, :3]))
    assert np.all(exposure[1, 3:] == 0)


def test_sampled_exposure_estimates_the_exact_one_and_its_gradient():
    torch.manual_seed(0)
    scores = torch.randn(3, 9, dtype=torch.float64, requires_grad=True)
    mask = torch.ones(3, 9, dtype=torch.bool)
    codes = torch.tensor([[0, 1] * 4 + [0]] * 3)
    # 9 positions: sampled; the same lists padded to 8 real items: exact.
    mask[:, 8] = False
    exact = expected_exposure(scores[:, :8], mask[:, :8])
    sampled = expected_exposure(scores, mask, n_samples=20_000)
    assert torch.allclose(sampled[:, :8], exact, atol=0.01)
    exact_penalty = exposure_disparity_penalty(exact, codes[:, :8], mask[:, :8])
    sampled_penalty = exposure_disparity_penalty(sampled, codes, mask)
    (g_exact,) = torch.autograd.grad(exact_penalty, scores)
    (g_sampled,) = torch.autograd.grad(sampled_penalty, scores)
    cosine = torch.nn.functional.cosine_similarity(
        g_exact[:, :8].ravel(), g_sampled[:, :8].ravel(), dim=0
    )
    assert cosine > 0.9


def test_exposure_disparity_penalty_golden_value():
    exposure = torch.tensor([[1.0, 0.6, 0.5, 0.4], [1.0, 0.6, 0.5, 0.0]])
    codes = torch.tensor([[0, 1, 2, 2], [0, 0, 0, 0]])
    mask = torch.tensor([[True] * 4, [True, True, True, False]])
    # List 0: means 1.0, 0.6, 0.45 -> squared gaps 0.16, 0.3025, 0.0225.
    # List 1 has one group only and is left out.
    expected = (0.16 + 0.3025 + 0.0225) / 3
    penalty = exposure_disparity_penalty(exposure, codes, mask)
    assert math.isclose(penalty.item(), expected, rel_tol=1e-6)


def _lipo_reference(scores, grades, weight):
    """LiPO-λ from the paper's formula, list by list, in numpy: gains
    ``G = 2^ψ - 1``, ``D(τ) = log(1 + τ)``, pair weight ``w_i w_j / w̄``."""
    numerator = normaliser = 0.0
    for s, g, w in zip(scores, grades, weight):
        rank = np.empty(len(s))
        rank[np.argsort(-s, kind="stable")] = np.arange(1, len(s) + 1)
        gain, discount = 2.0**g - 1, 1 / np.log1p(rank)
        mean_w = w.mean()
        for i in range(len(s)):
            for j in range(len(s)):
                if g[i] > g[j]:
                    pair = w[i] * w[j] / mean_w
                    delta = abs(gain[i] - gain[j]) * abs(discount[i] - discount[j])
                    numerator += pair * delta * np.log1p(np.exp(-(s[i] - s[j])))
                    normaliser += pair
    return numerator / normaliser


def test_lipo_lambda_uses_the_papers_gain_across_lists():
    """G = 2^ψ - 1 (Liu et al., 2024): a list graded up to 4 weighs more
    than one graded up to 1, in the paper's ratio, whatever else is in the
    batch; the loss is the paper's times the common factor 2^-top_grade."""
    rng = np.random.default_rng(0)
    grades = np.array([[1.0, 0, 0, 1], [4.0, 2, 0, 1]])
    scores = rng.normal(size=grades.shape)
    weight = np.array([[1.0, 2, 1, 1], [1.0, 1, 3, 1]])
    as_tensors = [torch.tensor(v) for v in (scores, grades)]
    mask = torch.ones(grades.shape, dtype=torch.bool)
    for top in (4.0, 7.0):
        loss = lipo_lambda_loss(*as_tensors, mask, torch.tensor(weight), top_grade=top)
        expected = _lipo_reference(scores, grades, weight)
        assert_allclose(float(loss) * 2.0**top, expected, rtol=1e-12)
    # Without top_grade, the batch's largest grade (4) is the common factor.
    default = lipo_lambda_loss(*as_tensors, mask, torch.tensor(weight))
    assert_allclose(float(default) * 2.0**4, expected, rtol=1e-12)
