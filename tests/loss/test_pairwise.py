"""Pairwise losses: gradients, golden values, invariants."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from skalign._loss.pairwise import bradley_terry_loss, grade_ordered_pairs


def _group(scores, grades):
    scores = torch.as_tensor(scores, dtype=torch.float64)[None]
    grades = torch.as_tensor(grades, dtype=torch.float64)[None]
    mask = torch.ones_like(grades, dtype=torch.bool)
    return scores, grades, mask, torch.ones_like(grades)


def test_golden_value_two_items():
    loss = bradley_terry_loss(*_group([2.0, 0.5], [1.0, 0.0]))
    assert math.isclose(loss.item(), math.log1p(math.exp(-1.5)), rel_tol=1e-12)


def test_golden_value_three_items_with_a_tie():
    # Grades 2, 1, 1: pairs (0,1) and (0,2); the tie (1,2) is ignored.
    loss = bradley_terry_loss(*_group([1.0, 0.0, 3.0], [2.0, 1.0, 1.0]))
    expected = (math.log1p(math.exp(-1.0)) + math.log1p(math.exp(2.0))) / 2
    assert math.isclose(loss.item(), expected, rel_tol=1e-12)


def test_padding_is_ignored():
    scores, grades, mask, weight = _group([1.0, 0.0, 99.0], [1.0, 0.0, 5.0])
    mask[0, 2] = False
    weight[0, 2] = 0.0
    padded = bradley_terry_loss(scores, grades, mask, weight)
    plain = bradley_terry_loss(*_group([1.0, 0.0], [1.0, 0.0]))
    assert torch.allclose(padded, plain)


def test_pair_weight_is_the_product_of_row_weights_over_the_group_weight():
    # The group weighs the mean row weight 11/6; a pair w_i w_j / (11/6).
    _, grades, mask, _ = _group([0.3, 0.1, -0.2], [3.0, 2.0, 1.0])
    weight = torch.tensor([[2.0, 3.0, 0.5]], dtype=torch.float64)
    *_, pair_weight = grade_ordered_pairs(grades, mask, weight)
    expected = torch.tensor([[6.0, 1.0, 1.5]]).double() * 6 / 11
    assert torch.allclose(pair_weight, expected)


def test_a_weight_on_every_row_of_a_group_weighs_its_pairs_once():
    _, grades, mask, _ = _group([0.3, 0.1, -0.2], [3.0, 2.0, 1.0])
    *_, pair_weight = grade_ordered_pairs(grades, mask, torch.full((1, 3), 7.0))
    assert torch.allclose(pair_weight, torch.full((1, 3), 7.0))


def test_zero_weight_rows_and_padding_do_not_change_the_group_weight():
    _, grades, mask, _ = _group([0.0] * 4, [3.0, 2.0, 1.0, 0.0])
    weight = torch.tensor([[2.0, 4.0, 0.0, 5.0]], dtype=torch.float64)
    *_, kept = grade_ordered_pairs(grades, mask, weight)
    mask[0, 3] = False
    *_, padded = grade_ordered_pairs(grades, mask, weight)
    # Rows 0 and 1 (and row 3 unless padded): mean 11/3, or 3 when padded.
    assert torch.allclose(kept[0, 0], torch.tensor(8.0 * 3 / 11).double())
    assert torch.allclose(padded[0, 0], torch.tensor(8.0 / 3).double())
    assert padded[0, 2] == 0 and padded[0, 1] == 0


def test_a_unit_of_two_equal_weights_weighs_that_weight():
    # How pair units of longer groups carry the weight their group gives.
    _, grades, mask, _ = _group([0.0, 0.0], [1.0, 0.0])
    for p in (0.0, 0.25, 9.0):
        *_, pair_weight = grade_ordered_pairs(grades, mask, torch.full((1, 2), p))
        assert pair_weight.item() == p


def test_gradcheck_float64():
    torch.manual_seed(0)
    scores = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    grades = torch.randint(0, 3, (5, 4)).double()
    mask = torch.rand(5, 4) > 0.2
    weight = torch.rand(5, 4, dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda s: bradley_terry_loss(s, grades, mask, weight), (scores,)
    )


_scores = arrays("float64", (4, 5), elements=st.floats(-50, 50))
_grades = arrays("float64", (4, 5), elements=st.sampled_from([0.0, 1.0, 2.0]))


@settings(max_examples=50, deadline=None)
@given(_scores, _grades, st.floats(-100, 100))
def test_shifting_a_group_changes_nothing(scores, grades, shift):
    scores, grades = torch.as_tensor(scores), torch.as_tensor(grades)
    mask = torch.ones_like(grades, dtype=torch.bool)
    weight = torch.ones_like(grades)
    if not (grades[:, :, None] != grades[:, None, :]).any():
        return
    base = bradley_terry_loss(scores, grades, mask, weight)
    shifted = bradley_terry_loss(scores + shift, grades, mask, weight)
    assert torch.allclose(base, shifted, rtol=1e-9, atol=1e-9)


@settings(max_examples=50, deadline=None)
@given(_scores, _grades, st.permutations(range(5)))
def test_permuting_rows_within_groups_changes_nothing(scores, grades, perm):
    scores, grades = torch.as_tensor(scores), torch.as_tensor(grades)
    mask = torch.ones_like(grades, dtype=torch.bool)
    weight = torch.ones_like(grades)
    perm = torch.as_tensor(perm)
    base = bradley_terry_loss(scores, grades, mask, weight)
    permuted = bradley_terry_loss(scores[:, perm], grades[:, perm], mask, weight)
    assert torch.allclose(base, permuted, rtol=1e-9, atol=1e-12)
    assert torch.isfinite(base) and base >= 0


def test_pair_orderings_are_computed_once_per_targets():
    # A full-batch fit passes the same target tensors at every evaluation:
    # the pairs are ordered once (issue 13), and again only if a target
    # changes in place.
    grades = torch.tensor([[2.0, 1.0], [1.0, 1.0], [0.0, 3.0]], dtype=torch.float64)
    mask = torch.ones(3, 2, dtype=torch.bool)
    weight = torch.ones(3, 2, dtype=torch.float64)
    first = grade_ordered_pairs(grades, mask, weight)
    assert grade_ordered_pairs(grades, mask, weight)[2] is first[2]
    weight[0, 0] = 3.0  # in place: the cached pairs are stale
    again = grade_ordered_pairs(grades, mask, weight)
    assert again[2] is not first[2]
    # w_i w_j / w̄ = 3 · 1 / 2
    assert float(again[4][0, 0]) == pytest.approx(1.5)
    other = torch.ones(3, 2, dtype=torch.float64)
    assert float(grade_ordered_pairs(grades, mask, other)[4][0, 0]) == 1.0
    # Weights that require a gradient get one, and are never cached.
    weight = torch.ones(3, 2, dtype=torch.float64, requires_grad=True)
    scores = torch.zeros(3, 2, dtype=torch.float64)
    bradley_terry_loss(scores, grades, mask, weight).backward()
    assert weight.grad is not None
