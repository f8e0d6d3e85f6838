"""The one reduction of the loss layer."""

import math

import torch

from skalign._loss._reduction import weighted_mean


def test_weighted_mean_golden_values():
    values = torch.tensor([1.0, 2.0, 4.0], dtype=torch.float64)
    weight = torch.tensor([1.0, 1.0, 2.0], dtype=torch.float64)
    assert math.isclose(weighted_mean(values).item(), 7 / 3)
    assert math.isclose(weighted_mean(values, weight).item(), 11 / 4)
    normaliser = torch.tensor([2.0, 2.0, 1.0], dtype=torch.float64)
    got = weighted_mean(values, weight, normaliser=normaliser)
    assert math.isclose(got.item(), 11 / 5)


def test_masked_entries_count_nowhere_whatever_their_value():
    values = torch.tensor([1.0, 3.0, torch.inf, torch.nan], dtype=torch.float64)
    values.requires_grad_()
    weight = torch.tensor([1.0, 3.0, 5.0, 7.0], dtype=torch.float64)
    mask = torch.tensor([True, True, False, False])
    value = weighted_mean(values, weight, mask)
    assert math.isclose(value.item(), 10 / 4)
    (grad,) = torch.autograd.grad(value, values)
    assert torch.equal(grad, torch.tensor([0.25, 0.75, 0.0, 0.0]).double())


def test_empty_total_gives_zero():
    values = torch.ones(3, dtype=torch.float64)
    assert weighted_mean(values, torch.zeros(3, dtype=torch.float64)).item() == 0.0
    assert weighted_mean(values, mask=torch.zeros(3, dtype=torch.bool)).item() == 0.0
