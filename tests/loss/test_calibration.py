"""Log losses and the losses of calibration maps."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from scipy.special import expit, log_softmax

from skalign._loss.calibration import (
    PenaltyColumnLoss,
    _window_means,
    binary_nll,
    h_calibration_loss,
    multinomial_nll,
    odir_penalty,
    one_vs_rest_nll,
)


def _rows(n, k=None, seed=0):
    rng = np.random.default_rng(seed)
    shape = (n, 1) if k is None else (n, 1, k)
    scores = torch.tensor(
        rng.normal(size=shape), dtype=torch.float64, requires_grad=True
    )
    weight = torch.tensor(rng.uniform(0.5, 2, size=(n, 1)), dtype=torch.float64)
    mask = torch.ones(n, 1, dtype=torch.bool)
    return scores, weight, mask, rng


def test_multinomial_nll_golden_and_gradient():
    scores, weight, mask, rng = _rows(20, 3)
    target = torch.tensor(rng.integers(0, 3, size=(20, 1)))
    value = multinomial_nll(scores, target, mask, weight)
    log_p = log_softmax(scores.detach().numpy()[:, 0], axis=1)
    w = weight.numpy()[:, 0]
    expected = -(w * log_p[np.arange(20), target.numpy()[:, 0]]).sum() / w.sum()
    assert_allclose(value.item(), expected)
    assert torch.autograd.gradcheck(
        lambda s: multinomial_nll(s, target, mask, weight), (scores,)
    )


def test_binary_losses_golden_and_gradient():
    scores, weight, mask, rng = _rows(15)
    target = torch.tensor(rng.uniform(size=(15, 1)))
    value = binary_nll(scores, target, mask, weight)
    s, t, w = scores.detach().numpy(), target.numpy(), weight.numpy()
    expected = (
        w * -(t * np.log(expit(s)) + (1 - t) * np.log(expit(-s)))
    ).sum() / w.sum()
    assert_allclose(value.item(), expected)
    assert torch.autograd.gradcheck(
        lambda x: binary_nll(x, target, mask, weight), (scores,)
    )
    scores3, _, _, _ = _rows(15, 3, seed=1)
    target3 = torch.tensor(rng.uniform(size=(15, 1, 3)))
    per_class = sum(
        binary_nll(scores3[..., k], target3[..., k], mask, weight) for k in range(3)
    )
    assert_allclose(
        one_vs_rest_nll(scores3, target3, mask, weight).item(), per_class.item()
    )


def test_extreme_logits_stay_finite():
    scores = torch.tensor([[[1e4, -1e4]], [[-1e4, 1e4]]], dtype=torch.float64)
    target = torch.tensor([[1], [1]])
    mask = torch.ones(2, 1, dtype=torch.bool)
    weight = torch.ones(2, 1, dtype=torch.float64)
    assert_allclose(multinomial_nll(scores, target, mask, weight).item(), 1e4)


def test_odir_penalty_golden():
    W = torch.tensor([[2.0, 1.0, 0.0], [3.0, 5.0, -1.0], [0.0, 2.0, 7.0]])
    b = torch.tensor([1.0, -2.0, 2.0])
    # Off-diagonal squares 1 + 9 + 1 + 4 = 15 over k (k - 1) = 6; bias 9 / 3.
    assert_allclose(odir_penalty(W, b, 0.5, 2.0).item(), 0.5 * 15 / 6 + 2.0 * 9 / 3)
    assert odir_penalty(W, b, 0.0, 0.0).item() == 0.0


def test_penalty_column_is_added_once():
    scores, weight, mask, rng = _rows(10, 3)
    target = torch.tensor(rng.integers(0, 3, size=(10, 1)))
    with_column = torch.cat(
        [scores, torch.full((10, 1, 1), 0.25, dtype=torch.float64)], -1
    )
    value = PenaltyColumnLoss(multinomial_nll)(
        with_column, target=target, mask=mask, weight=weight
    )
    assert_allclose(
        value.item(), multinomial_nll(scores, target, mask, weight).item() + 0.25
    )


def test_window_means_are_clipped_moving_averages():
    rng = np.random.default_rng(0)
    values, weight = rng.normal(size=50), rng.uniform(0.1, 1, size=50)
    got = _window_means(torch.tensor(values), torch.tensor(weight), 3).numpy()
    for i in (0, 2, 25, 49):
        lo, hi = max(0, i - 3), min(50, i + 4)
        assert_allclose(got[i], np.average(values[lo:hi], weights=weight[lo:hi]))


def test_h_calibration_loss_by_hand_and_gradient():
    # Two rows, two classes: pairs (p, y) = (.2, 0), (.8, 1), (.6, 0), (.4, 1)
    # sorted by p: .2/0, .4/1, .6/0, .8/1, gaps .2, -.6, .6, -.2. With
    # window 2 (half-width 1) the means are -.2, .0667, -.0667, .2.
    logit = np.log(0.8 / 0.2)
    scores = torch.tensor(
        [[[0.0, logit]], [[np.log(0.6 / 0.4), 0.0]]], dtype=torch.float64
    )
    target = torch.tensor([[1], [1]])
    mask = torch.ones(2, 1, dtype=torch.bool)
    weight = torch.ones(2, 1, dtype=torch.float64)
    value = h_calibration_loss(scores, target, mask, weight, window=2, epsilon=0.0)
    assert_allclose(value.item(), np.mean([0.2, 0.2 / 3, 0.2 / 3, 0.2]))
    assert_allclose(
        h_calibration_loss(scores, target, mask, weight, window=2, epsilon=0.1).item(),
        np.mean([0.1, 0.0, 0.0, 0.1]),
    )
    rng = np.random.default_rng(0)
    s = torch.tensor(
        rng.normal(size=(30, 1, 3)), dtype=torch.float64, requires_grad=True
    )
    t = torch.tensor(rng.integers(0, 3, size=(30, 1)))
    w = torch.ones(30, 1, dtype=torch.float64)
    m = torch.ones(30, 1, dtype=torch.bool)
    assert torch.autograd.gradcheck(
        lambda x: h_calibration_loss(x, t, m, w, window=7, epsilon=0.01), (s,)
    )


@pytest.mark.parametrize("loss", [multinomial_nll, one_vs_rest_nll])
def test_zero_weight_rows_do_not_count(loss):
    scores, weight, mask, rng = _rows(12, 3)
    target = (
        torch.tensor(rng.integers(0, 3, size=(12, 1)))
        if loss is multinomial_nll
        else torch.tensor(rng.uniform(size=(12, 1, 3)))
    )
    weight[6:] = 0.0
    full = loss(scores, target, mask, weight)
    half = loss(scores[:6], target[:6], mask[:6], weight[:6])
    assert_allclose(full.item(), half.item())
