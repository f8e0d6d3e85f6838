"""Objectives beyond plain Bradley–Terry, ties, and references."""

import math

import choix
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from numpy.testing import assert_allclose
from scipy.special import expit

from skalign._loss.pairwise import davidson_log_proba, rao_kupper_log_proba
from skalign.nn import LinearScorer
from skalign.preference import (
    PreferenceRewardRegressor,
    davidson_loss,
    margin_loss,
    rao_kupper_loss,
    regression_loss,
    scaled_bradley_terry_loss,
)
from skalign.utils import comparisons_to_long


def _pair(scores, grades):
    to = torch.tensor
    return (
        to([scores], dtype=torch.float64),
        to([grades], dtype=torch.float64),
        torch.ones(1, len(grades), dtype=torch.bool),
        torch.ones(1, len(grades), dtype=torch.float64),
    )


def _exact(**params):
    return PreferenceRewardRegressor(
        scorer=LinearScorer(fit_intercept=False),
        dtype="float64",
        tol=1e-10,
        max_epochs=500,
        **params,
    )


# --------------------------------------------------------------- closed forms
def test_margin_and_scaled_golden_values():
    s = _pair([1.0, 0.2], [3.0, 1.0])
    assert margin_loss(*s, margin_scale=0.5).item() == pytest.approx(
        math.log1p(math.exp(-(0.8 - 1.0)))
    )
    # One pair: scaled BT is m * BT divided by the pair weight.
    assert scaled_bradley_terry_loss(*s).item() == pytest.approx(
        2 * math.log1p(math.exp(-0.8))
    )
    assert regression_loss(*s).item() == pytest.approx(((1 - 3) ** 2 + 0.8**2) / 2)


def test_rao_kupper_closed_form():
    # π = e^s, θ = e^η: P(i ≻ j) = π_i / (π_i + θ π_j),
    # P(tie) = (θ² - 1) π_i π_j / ((π_i + θ π_j)(π_j + θ π_i)).
    s_i, s_j, theta = 0.7, -0.4, 1.8
    pi_i, pi_j = math.exp(s_i), math.exp(s_j)
    win = pi_i / (pi_i + theta * pi_j)
    tie = (theta**2 - 1) * pi_i * pi_j / ((pi_i + theta * pi_j) * (pi_j + theta * pi_i))
    log_theta = torch.tensor(math.log(theta), dtype=torch.float64)
    lw, lt, ll = rao_kupper_log_proba(
        torch.tensor(s_i - s_j, dtype=torch.float64), log_theta
    )
    assert lw.exp().item() == pytest.approx(win, rel=1e-12)
    assert lt.exp().item() == pytest.approx(tie, rel=1e-12)
    assert (lw.exp() + lt.exp() + ll.exp()).item() == pytest.approx(1.0, rel=1e-12)
    ordered = rao_kupper_loss(*_pair([s_i, s_j], [1, 0]), log_theta=log_theta)
    tied = rao_kupper_loss(*_pair([s_i, s_j], [1, 1]), log_theta=log_theta)
    assert ordered.item() == pytest.approx(-math.log(win), rel=1e-12)
    assert tied.item() == pytest.approx(-math.log(tie), rel=1e-12)


def test_davidson_closed_form():
    # P(i ≻ j) = π_i / (π_i + π_j + ν √(π_i π_j)), P(tie) = ν √(π_i π_j) / (...)
    s_i, s_j, nu = 0.3, 1.1, 0.6
    pi_i, pi_j = math.exp(s_i), math.exp(s_j)
    denominator = pi_i + pi_j + nu * math.sqrt(pi_i * pi_j)
    log_nu = torch.tensor(math.log(nu), dtype=torch.float64)
    lw, lt, ll = davidson_log_proba(
        torch.tensor(s_i - s_j, dtype=torch.float64), log_nu
    )
    assert lw.exp().item() == pytest.approx(pi_i / denominator, rel=1e-12)
    assert lt.exp().item() == pytest.approx(
        nu * math.sqrt(pi_i * pi_j) / denominator, rel=1e-12
    )
    assert ll.exp().item() == pytest.approx(pi_j / denominator, rel=1e-12)
    tied = davidson_loss(*_pair([s_i, s_j], [2, 2]), log_nu=log_nu)
    assert tied.item() == pytest.approx(-lt.item(), rel=1e-12)


@pytest.mark.parametrize("log_proba", [rao_kupper_log_proba, davidson_log_proba])
def test_tie_models_stay_finite_for_extreme_differences(log_proba):
    diff = torch.tensor([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=torch.float64)
    parts = log_proba(diff, torch.tensor(0.5, dtype=torch.float64))
    assert all(torch.isfinite(p).all() for p in parts)
    assert torch.allclose(sum(p.exp() for p in parts), torch.ones(5).double())


# ------------------------------------------------------------------- fitting
def _graded_pairs(seed=0, n_pairs=400, tie_width=0.5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(2 * n_pairs, 3))
    utility = X @ np.array([2.0, -1.0, 0.5]) + rng.logistic(size=2 * n_pairs)
    y = np.round(utility / tie_width)
    return X, y, np.repeat(np.arange(n_pairs), 2)


@pytest.mark.parametrize("ties", ["rao_kupper", "davidson"])
def test_tie_parameter_rises_with_more_ties(ties):
    groups = _graded_pairs()[2]
    fits = [
        PreferenceRewardRegressor(ties=ties).fit(
            *_graded_pairs(tie_width=width)[:2], groups=groups
        )
        for width in (0.5, 3.0)
    ]
    assert fits[1].tie_parameter_ > fits[0].tie_parameter_
    X = _graded_pairs()[0]
    proba = fits[1].predict_pair_proba(X[:5], X[5:10])
    assert proba.shape == (5, 3)
    assert_allclose(proba.sum(axis=1), 1.0)
    flipped = fits[1].predict_pair_proba(X[5:10], X[:5])
    assert_allclose(flipped, proba[:, ::-1], atol=1e-6)


def test_ties_only_with_bradley_terry():
    X, y, groups = _graded_pairs()
    with pytest.raises(ValueError, match="objective='bradley_terry'"):
        PreferenceRewardRegressor("scaled", ties="davidson").fit(X, y, groups=groups)


@pytest.mark.parametrize(
    "objective", ["margin", "scaled", "regression", "regression_then_scaled", "joint"]
)
def test_every_objective_learns_the_ranking(objective):
    X, y, groups = _graded_pairs()
    model = PreferenceRewardRegressor(objective).fit(X, y, groups=groups)
    assert model.score(X, y, groups=groups) > 0.8


def test_regression_objective_equals_least_squares():
    X, y, groups = _graded_pairs()
    model = PreferenceRewardRegressor(
        "regression", dtype="float64", tol=1e-10, max_epochs=500
    ).fit(X, y, groups=groups)
    design = np.column_stack([X, np.ones(len(X))])
    expected = np.linalg.lstsq(design, y, rcond=None)[0]
    assert_allclose(model.predict(X), design @ expected, rtol=1e-6, atol=1e-6)


def test_regression_then_scaled_runs_two_phases():
    X, y, groups = _graded_pairs()
    two = PreferenceRewardRegressor("regression_then_scaled").fit(X, y, groups=groups)
    scaled = PreferenceRewardRegressor("scaled").fit(X, y, groups=groups)
    # The second phase ends at the scaled-BT optimum (convex), so the ranking
    # matches the direct scaled fit; the epochs of both phases are recorded.
    corr = np.corrcoef(two.predict(X), scaled.predict(X))[0, 1]
    assert corr > 0.999
    assert two.n_iter_ >= 2


def test_margin_widens_reward_gaps():
    X, y, groups = _graded_pairs()
    plain = PreferenceRewardRegressor().fit(X, y, groups=groups)
    wide = PreferenceRewardRegressor("margin", margin_scale=2.0).fit(
        X, y, groups=groups
    )
    assert np.std(wide.predict(X)) > np.std(plain.predict(X))


def test_reward_centering_pulls_the_mean_to_zero():
    X, y, groups = _graded_pairs()
    X = X + 3.0
    free = PreferenceRewardRegressor().fit(X, y, groups=groups).predict(X)
    centred = PreferenceRewardRegressor(reward_centering=1.0).fit(X, y, groups=groups)
    assert abs(centred.predict(X).mean()) < 0.05 < abs(free.mean())


def test_max_pairs_per_group_bounds_long_groups():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    y = X @ np.array([1.0, -1.0, 0.5])
    full = PreferenceRewardRegressor(dtype="float64").fit(X, y)
    sampled = PreferenceRewardRegressor(
        dtype="float64", max_pairs_per_group=5000, random_state=0
    ).fit(X, y)
    coef = [m.scorer_.linear.weight.detach().numpy().ravel() for m in (full, sampled)]
    cosine = coef[0] @ coef[1] / np.linalg.norm(coef[0]) / np.linalg.norm(coef[1])
    assert cosine > 0.99
    with pytest.raises(ValueError, match="max_pairs_per_group"):
        PreferenceRewardRegressor("regression", max_pairs_per_group=10).fit(X, y)


# ----------------------------------------------------------------- reference
def test_featureless_bradley_terry_matches_choix_opt_pairwise():
    rng = np.random.default_rng(0)
    n_items, n_comparisons, alpha_choix = 120, 3000, 0.5
    strength = rng.normal(size=n_items)
    pairs = rng.integers(0, n_items, size=(n_comparisons, 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    first_wins = rng.random(len(pairs)) < expit(
        strength[pairs[:, 0]] - strength[pairs[:, 1]]
    )
    comparisons = np.where(first_wins[:, None], pairs, pairs[:, ::-1])
    reference = choix.opt_pairwise(n_items, comparisons, alpha=alpha_choix, tol=1e-12)
    # choix minimises Σ loss + α_c ||θ||²; skalign the mean loss + α/2 ||θ||².
    alpha = 2 * alpha_choix / len(comparisons)
    X, y, groups = comparisons_to_long(sp.identity(n_items, format="csr"), comparisons)
    model = _exact(alpha=alpha).fit(X, y, groups=groups)
    theta = model.predict(sp.identity(n_items, format="csr"))

    def penalised_loglik(params):
        loglik = choix.log_likelihood_pairwise(comparisons, params)
        return loglik - alpha_choix * np.sum(params**2)

    ours, theirs = penalised_loglik(theta), penalised_loglik(reference)
    assert abs(ours - theirs) / abs(theirs) <= 1e-6
    assert_allclose(theta, reference, atol=1e-4)


def test_small_gradients_are_still_trained():
    """One-hot items, each a tiny share of the mean loss: every initial
    gradient component lies below tol, yet L-BFGS must train (its gradient
    tolerance is relative to the initial gradient). With an absolute
    tolerance this fit stopped at iteration 0 with all-zero strengths."""
    rng = np.random.default_rng(0)
    n_items, n_comparisons = 2_000, 10_000
    strength = rng.normal(size=n_items)
    pairs = rng.integers(0, n_items, size=(n_comparisons, 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    first_wins = rng.random(len(pairs)) < expit(
        strength[pairs[:, 0]] - strength[pairs[:, 1]]
    )
    comparisons = np.where(first_wins[:, None], pairs, pairs[:, ::-1])
    items = sp.identity(n_items, format="csr")
    X, y, groups = comparisons_to_long(items, comparisons)
    model = PreferenceRewardRegressor(
        scorer=LinearScorer(fit_intercept=False),
        alpha=1.0 / len(comparisons),
        tol=1e-3,
    ).fit(X, y, groups=groups)
    assert model.converged_
    assert np.corrcoef(model.predict(items), strength)[0, 1] > 0.7
