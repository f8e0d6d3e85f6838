"""Ordinal losses: gradients, golden values, invariants, extreme inputs."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.special import expit
from scipy.stats import norm

from skalign._loss.ordinal import (
    class_log_proba,
    cumulative_logit_loss,
    hl_gauss_loss,
    hl_gauss_target,
    log_interval_proba,
)


def _double(*arrays):
    return [torch.tensor(a, dtype=torch.float64) for a in arrays]


def test_log_interval_proba_golden_values():
    lower, upper = _double([-np.inf, -1.0, 0.5, 30.0], [0.0, 2.0, np.inf, 31.0])
    expected = [
        np.log(0.5),
        np.log(expit(2.0) - expit(-1.0)),
        np.log(1 - expit(0.5)),
        # σ(31) - σ(30), computed from the exact identity in long double.
        float(np.log(np.longdouble(np.exp(-30.0)) * (1 - np.exp(-1.0)))),
    ]
    got = log_interval_proba(lower, upper).numpy()
    assert_allclose(got[:3], expected[:3], rtol=1e-12)
    # Direct subtraction would lose every digit here; the identity keeps them.
    assert_allclose(got[3], expected[3], rtol=1e-9)


def test_log_interval_proba_is_minus_inf_when_curves_cross():
    lower, upper = _double([1.0, 1.0], [1.0, 0.5])
    assert torch.all(log_interval_proba(lower, upper) == -torch.inf)


def test_log_interval_proba_gradcheck():
    lower = torch.tensor([-3.0, 0.1, 5.0, -20.0], dtype=torch.float64)
    upper = torch.tensor([-2.9, 0.2, 12.0, 20.0], dtype=torch.float64)
    lower.requires_grad_(True)
    upper.requires_grad_(True)
    assert torch.autograd.gradcheck(log_interval_proba, (lower, upper))


def _cumulative_data(n=6, n_classes=4, seed=0):
    rng = np.random.default_rng(seed)
    eta = np.sort(rng.normal(scale=2.0, size=(n, 1, n_classes - 1)), axis=-1)
    label = rng.integers(0, n_classes, size=(n, 1))
    weight = rng.uniform(0.5, 2.0, size=(n, 1))
    return eta, label, weight


def test_cumulative_logit_loss_golden_value():
    eta, label, weight = _cumulative_data()
    cdf = np.concatenate([np.zeros((6, 1, 1)), expit(eta), np.ones((6, 1, 1))], axis=-1)
    proba = np.take_along_axis(cdf, label[..., None] + 1, -1) - np.take_along_axis(
        cdf, label[..., None], -1
    )
    expected = -(weight * np.log(proba[..., 0])).sum() / weight.sum()
    got = cumulative_logit_loss(
        torch.tensor(eta),
        torch.tensor(label),
        torch.ones(6, 1, dtype=torch.bool),
        torch.tensor(weight),
    )
    assert_allclose(float(got), expected, rtol=1e-12)


def test_cumulative_logit_loss_gradcheck():
    eta, label, weight = _cumulative_data()
    scores = torch.tensor(eta, requires_grad=True)

    def loss(s):
        return cumulative_logit_loss(
            s,
            torch.tensor(label),
            torch.ones(6, 1, dtype=torch.bool),
            torch.tensor(weight),
        )

    assert torch.autograd.gradcheck(loss, (scores,))


def test_cumulative_logit_loss_ignores_masked_rows():
    eta, label, weight = _cumulative_data()
    mask = torch.ones(6, 1, dtype=torch.bool)
    mask[2:] = False
    full = cumulative_logit_loss(
        torch.tensor(eta), torch.tensor(label), mask, torch.tensor(weight)
    )
    first = cumulative_logit_loss(
        torch.tensor(eta[:2]),
        torch.tensor(label[:2]),
        torch.ones(2, 1, dtype=torch.bool),
        torch.tensor(weight[:2]),
    )
    assert_allclose(float(full), float(first), rtol=1e-12)


def test_cumulative_logit_loss_is_finite_for_extreme_logits():
    eta = torch.tensor([[[-1e4, 1e4]], [[-1e4, -1e4 + 1e-3]]], dtype=torch.float64)
    eta.requires_grad_(True)
    label = torch.tensor([[0], [1]])
    loss = cumulative_logit_loss(
        eta, label, torch.ones(2, 1, dtype=torch.bool), torch.ones(2, 1)
    )
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.all(torch.isfinite(eta.grad))


@settings(max_examples=40, deadline=None)
@given(
    eta=st.lists(st.floats(-40, 40, allow_nan=False), min_size=1, max_size=6).map(
        sorted
    )
)
def test_class_log_proba_is_a_distribution(eta):
    log_proba = class_log_proba(torch.tensor(eta, dtype=torch.float64))
    assert log_proba.shape == (len(eta) + 1,)
    assert torch.all(log_proba <= 0)
    assert_allclose(float(torch.exp(log_proba).sum()), 1.0, rtol=1e-12)


def test_hl_gauss_target_matches_scipy():
    edges = torch.linspace(0.0, 1.0, 11, dtype=torch.float64)
    y = torch.tensor([0.0, 0.33, 1.0], dtype=torch.float64)
    sigma = 0.075
    cdf = norm.cdf((edges.numpy()[None, :] - y.numpy()[:, None]) / sigma)
    expected = np.diff(cdf, axis=1) / (cdf[:, -1:] - cdf[:, :1])
    assert_allclose(hl_gauss_target(y, edges, sigma).numpy(), expected, atol=1e-14)


@settings(max_examples=40, deadline=None)
@given(
    y=st.floats(0.0, 1.0, allow_nan=False),
    n_bins=st.integers(2, 60),
    ratio=st.floats(0.05, 3.0),
)
def test_hl_gauss_target_is_a_distribution_centred_on_y(y, n_bins, ratio):
    edges = torch.linspace(0.0, 1.0, n_bins + 1, dtype=torch.float64)
    target = hl_gauss_target(
        torch.tensor(y, dtype=torch.float64), edges, ratio / n_bins
    )
    assert torch.all(target >= 0)
    assert_allclose(float(target.sum()), 1.0, rtol=1e-12)
    mode = int(target.argmax())
    # The most probable bin contains y, or touches it at an edge.
    assert edges[mode] - 1e-12 <= y <= edges[mode + 1] + 1e-12 or ratio > 1


def test_hl_gauss_loss_golden_value_and_gradcheck():
    rng = np.random.default_rng(0)
    scores = torch.tensor(rng.normal(size=(5, 1, 8)), requires_grad=True)
    y = torch.tensor(rng.uniform(size=(5, 1)))
    mask = torch.ones(5, 1, dtype=torch.bool)
    weight = torch.tensor(rng.uniform(0.5, 2.0, size=(5, 1)))
    sigma = 0.75 / 8
    edges = torch.linspace(0, 1, 9, dtype=torch.float64)
    target = hl_gauss_target(y, edges, sigma).numpy()
    log_softmax = scores.detach().numpy() - np.log(
        np.exp(scores.detach().numpy()).sum(-1, keepdims=True)
    )
    expected = (weight.numpy() * -(target * log_softmax).sum(-1)).sum() / float(
        weight.sum()
    )
    got = hl_gauss_loss(scores.detach(), y, mask, weight, sigma=sigma)
    assert_allclose(float(got), expected, rtol=1e-12)
    assert torch.autograd.gradcheck(
        lambda s: hl_gauss_loss(s, y, mask, weight, sigma=sigma), (scores,)
    )


@pytest.mark.parametrize("low, high", [(0.0, 1.0), (-3.0, 5.0)])
def test_hl_gauss_loss_is_minimised_by_the_target(low, high):
    y = torch.tensor([[low + 0.3 * (high - low)]], dtype=torch.float64)
    edges = torch.linspace(low, high, 11, dtype=torch.float64)
    sigma = 0.75 * (high - low) / 10
    target = hl_gauss_target(y, edges, sigma)
    args = (y, torch.ones(1, 1, dtype=torch.bool), torch.ones(1, 1))
    best = hl_gauss_loss(torch.log(target), *args, sigma=sigma, low=low, high=high)
    other = hl_gauss_loss(
        torch.log(target) + 0.1 * torch.arange(10.0),
        *args,
        sigma=sigma,
        low=low,
        high=high,
    )
    assert float(best) < float(other)
