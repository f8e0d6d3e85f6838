import sys

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize, minimize_scalar
from scipy.special import expit, log_softmax, softmax
from scipy.stats import rankdata
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.utils._param_validation import InvalidParameterError

from skalign.datasets import (
    make_fair_classification,
    make_fair_regression,
    make_miscalibrated_logits,
    make_preferences,
    make_rankings,
)

GENERATORS = [
    (make_preferences, {"n_groups": 30, "group_size": 3, "tie_threshold": 0.3}),
    (make_rankings, {"n_groups": 30, "top_k": 2, "tie_probability": 0.3}),
    (make_fair_regression, {"n_samples": 50}),
    (make_fair_classification, {"n_samples": 50}),
    (make_miscalibrated_logits, {"n_samples": 50}),
]


def _assert_same(first, second):
    for a, b in zip(first, second, strict=True):
        if hasattr(a, "equals"):
            assert a.equals(b)
        else:
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("make", "kwargs"), GENERATORS)
def test_random_state_makes_it_reproducible(make, kwargs):
    _assert_same(make(**kwargs, random_state=0), make(**kwargs, random_state=0))
    first, other = make(**kwargs, random_state=0), make(**kwargs, random_state=1)
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize(("make", "kwargs"), GENERATORS)
def test_invalid_size_is_a_clear_error(make, kwargs):
    name = next(iter(kwargs))
    with pytest.raises(InvalidParameterError, match=name):
        make(**{**kwargs, name: 0})


def _pairs(X, y):
    """Wide view of pair data: features of a and b, and 1 if a won."""
    return X[0::2], X[1::2], y[0::2]


def _area(X_a, X_b):
    """The signed area of the first two features: the planted cycle term."""
    return X_a[:, 0] * X_b[:, 1] - X_a[:, 1] * X_b[:, 0]


def test_preferences_long_format():
    X, y, groups, coef = make_preferences(
        n_groups=40, group_size=3, n_features=4, random_state=0
    )
    assert X.shape == (120, 4) and X.dtype == np.float64
    assert y.shape == groups.shape == (120,)
    np.testing.assert_array_equal(groups, np.repeat(np.arange(40), 3))
    assert coef.shape == (4,)
    assert np.linalg.norm(coef) == pytest.approx(1.0)
    # No ties without a threshold: each group's grades are 0, 1, 2.
    np.testing.assert_array_equal(np.sort(y.reshape(40, 3), axis=1), [[0, 1, 2]] * 40)


@pytest.mark.parametrize("noise", [0.5, 1.0])
def test_pairs_follow_bradley_terry(noise):
    X, y, _, coef = make_preferences(
        n_groups=4000, n_features=3, noise=noise, random_state=0
    )
    X_a, X_b, a_won = _pairs(X, y)
    assert set(np.unique(y)) == {0.0, 1.0}
    bt = LogisticRegression(C=1e6, fit_intercept=False).fit(X_a - X_b, a_won)
    np.testing.assert_allclose(bt.coef_.ravel(), coef / noise, atol=0.12)


def test_tie_rate_matches_the_rao_kupper_threshold_model():
    threshold, noise = 0.8, 1.0
    X, y, _, coef = make_preferences(
        n_groups=10000,
        n_features=3,
        noise=noise,
        tie_threshold=threshold,
        random_state=1,
    )
    X_a, X_b, grade_a = _pairs(X, y)
    diff = (X_a - X_b) @ coef
    p_win = expit((diff - threshold) / noise)
    p_tie = expit((threshold - diff) / noise) - expit((-threshold - diff) / noise)
    tied, won = grade_a == 0.5, grade_a == 1.0
    np.testing.assert_array_equal(y[1::2], 1.0 - grade_a)
    # Each count is a sum of independent Bernoullis: within 4 standard errors.
    for observed, p in ((tied, p_tie), (won, p_win)):
        assert abs(observed.sum() - p.sum()) < 4 * np.sqrt((p * (1 - p)).sum())
    assert 0.2 < tied.mean() < 0.6


def test_zero_threshold_gives_no_ties_and_a_larger_one_more():
    fractions = [
        np.mean(make_preferences(500, tie_threshold=t, random_state=0)[1] == 0.5)
        for t in (0.0, 0.5, 1.5)
    ]
    assert fractions[0] == 0.0
    assert fractions[0] < fractions[1] < fractions[2]


def test_ties_in_larger_groups_share_the_mean_position():
    _, y, _, _ = make_preferences(
        n_groups=300, group_size=4, tie_threshold=0.7, random_state=0
    )
    grades = y.reshape(300, 4)
    # Averaging positions over ties keeps each group's sum 0 + 1 + 2 + 3.
    np.testing.assert_allclose(grades.sum(axis=1), 6.0)
    assert (grades != np.round(grades)).any()
    assert np.all(np.isin(2 * grades, np.arange(7)))


@pytest.mark.parametrize("cycle_strength", [0.0, 3.0])
def test_cycle_term_is_the_planted_skew_symmetric_coefficient(cycle_strength):
    def features(X_a, X_b, with_cycle):
        return np.column_stack([X_a - X_b, _area(X_a, X_b)][: 1 + with_cycle])

    X, y, _, coef = make_preferences(
        3000, n_features=2, cycle_strength=cycle_strength, random_state=0
    )
    X_a, X_b, a_won = _pairs(X, y)
    bt, with_cycle = (
        LogisticRegression(C=1e6, fit_intercept=False).fit(
            features(X_a, X_b, cycle), a_won
        )
        for cycle in (False, True)
    )
    np.testing.assert_allclose(with_cycle.coef_[0, :2], coef, atol=0.15)
    assert with_cycle.coef_[0, 2] == pytest.approx(cycle_strength, abs=0.3)
    # How much the skew-symmetric term improves on Bradley–Terry (a scalar
    # reward) on fresh pairs from the same model.
    X, y, _, _ = make_preferences(
        3000, n_features=2, cycle_strength=cycle_strength, random_state=1
    )
    X_a, X_b, a_won = _pairs(X, y)
    gain = log_loss(a_won, bt.predict_proba(features(X_a, X_b, False))) - log_loss(
        a_won, with_cycle.predict_proba(features(X_a, X_b, True))
    )
    if cycle_strength:
        assert gain > 0.1
    else:
        assert abs(gain) < 0.01


def _sector(X):
    """Item type: the 120° sector of the first two features (0 centred on 0°)."""
    angle = np.degrees(np.arctan2(X[:, 1], X[:, 0]))
    return ((angle + 60.0) % 360.0 // 120.0).astype(int)


@pytest.mark.parametrize("cycle_strength", [0.0, 4.0])
def test_cycle_makes_item_types_beat_each_other_in_a_circle(cycle_strength):
    # Model-free cycle statistic: the rate at which an item of sector i beats
    # one of sector i + 1 (mod 3). Sector i + 1 lies counterclockwise of i,
    # where the signed area favours i: rock ≻ scissors ≻ paper ≻ rock.
    X, y, _, _ = make_preferences(
        6000, n_features=2, cycle_strength=cycle_strength, random_state=0
    )
    X_a, X_b, a_won = _pairs(X, y)
    sector_a, sector_b = _sector(X_a), _sector(X_b)
    a_first = sector_b == (sector_a + 1) % 3
    b_first = sector_a == (sector_b + 1) % 3
    first = np.where(a_first, sector_a, sector_b)
    first_won = np.where(a_first, a_won, 1.0 - a_won)
    keep = a_first | b_first
    rates = np.bincount(first[keep], weights=first_won[keep]) / np.bincount(first[keep])
    if cycle_strength:
        assert rates.min() > 0.6
    else:
        # A scalar utility cannot make every type beat the next.
        assert rates.min() < 0.5


def test_cycle_term_in_larger_groups_follows_the_documented_formula():
    s, k = 2.0, 3
    X, y, _, coef = make_preferences(
        n_groups=200,
        group_size=k,
        n_features=3,
        noise=0.0,
        cycle_strength=s,
        random_state=0,
    )
    Xg = X.reshape(200, k, 3)
    area = (
        Xg[:, :, None, 0] * Xg[:, None, :, 1] - Xg[:, :, None, 1] * Xg[:, None, :, 0]
    ).sum(axis=2)
    utility = Xg @ coef + s / (2 * (k - 1)) * area
    np.testing.assert_array_equal(y.reshape(200, k), rankdata(utility, axis=1) - 1)


def test_cycle_needs_two_features():
    with pytest.raises(ValueError, match="cycle_strength needs n_features >= 2"):
        make_preferences(n_features=1, cycle_strength=1.0)


@pytest.mark.parametrize(
    ("param", "value"),
    [("group_size", 1), ("noise", -1.0), ("noise", np.inf), ("tie_threshold", -0.1)],
)
def test_invalid_preference_parameters(param, value):
    with pytest.raises(InvalidParameterError, match=param):
        make_preferences(**{param: value})


def test_rankings_are_permutations_per_group():
    X, y, groups, coef = make_rankings(
        n_groups=50, list_size=6, n_features=3, random_state=0
    )
    assert X.shape == (300, 3) and coef.shape == (3,)
    np.testing.assert_array_equal(groups, np.repeat(np.arange(50), 6))
    np.testing.assert_array_equal(np.sort(y.reshape(50, 6), axis=1), [range(6)] * 50)


def test_zero_noise_sorts_by_utility():
    X, y, _, coef = make_rankings(n_groups=20, list_size=5, noise=0.0, random_state=0)
    utility = (X @ coef).reshape(20, 5)
    np.testing.assert_array_equal(y.reshape(20, 5), rankdata(utility, axis=1) - 1)


def _plackett_luce_nll(w, X, y, n_groups, list_size):
    """Exact PL negative log-likelihood of the graded lists (no ties)."""
    order = np.argsort(-y.reshape(n_groups, list_size), axis=1)
    utility = np.take_along_axis((X @ w).reshape(n_groups, list_size), order, axis=1)
    log_tail = np.logaddexp.accumulate(utility[:, ::-1], axis=1)[:, ::-1]
    return -(utility - log_tail).sum()


def test_rankings_are_exact_plackett_luce_draws():
    # Maximum likelihood under the Plackett–Luce model recovers coef / noise.
    n_groups, list_size, noise = 2000, 5, 0.7
    X, y, _, coef = make_rankings(
        n_groups, list_size, n_features=3, noise=noise, random_state=0
    )
    fit = minimize(_plackett_luce_nll, np.zeros(3), args=(X, y, n_groups, list_size))
    np.testing.assert_allclose(fit.x, coef / noise, atol=0.08)


def test_top_k_ranks_the_top_and_ties_the_rest():
    kwargs = {"n_groups": 40, "list_size": 6, "random_state": 3}
    _, full, _, _ = make_rankings(**kwargs)
    _, partial, _, _ = make_rankings(**kwargs, top_k=2)
    full, partial = full.reshape(40, 6), partial.reshape(40, 6)
    top = full >= 4
    # Same draw: the top two keep their grades, the other four share the
    # mean of positions 0..3.
    np.testing.assert_array_equal(partial[top], full[top])
    np.testing.assert_array_equal(partial[~top], 1.5)
    np.testing.assert_array_equal(make_rankings(**kwargs, top_k=5)[1], full.ravel())


def test_tie_probability_ties_adjacent_positions():
    n_groups, list_size, p = 2000, 5, 0.3
    _, y, _, _ = make_rankings(n_groups, list_size, tie_probability=p, random_state=0)
    grades = np.sort(y.reshape(n_groups, list_size), axis=1)
    np.testing.assert_allclose(grades.sum(axis=1), 10.0)
    tied_adjacent = grades[:, 1:] == grades[:, :-1]
    assert tied_adjacent.mean() == pytest.approx(p, abs=0.02)
    _, all_tied, _, _ = make_rankings(10, list_size, tie_probability=1.0)
    np.testing.assert_array_equal(all_tied, 2.0)


def test_top_k_larger_than_the_list_is_a_clear_error():
    with pytest.raises(ValueError, match="top_k=6 exceeds list_size=5"):
        make_rankings(list_size=5, top_k=6)


def _standardised(values):
    return (values - values.mean()) / values.std()


def _group_effect(sensitive):
    return _standardised(sensitive["group"].cat.codes.to_numpy().astype(float))


@pytest.mark.parametrize("make", [make_fair_regression, make_fair_classification])
def test_fair_generators_return_mixed_type_sensitive_features(make):
    X, y, sensitive = make(n_samples=300, n_features=4, random_state=0)
    assert X.shape == (300, 4) and y.shape == (300,)
    assert list(sensitive.columns) == ["group", "age"]
    assert isinstance(sensitive["group"].dtype, pd.CategoricalDtype)
    assert list(sensitive["group"].cat.categories) == ["a", "b", "c"]
    assert sensitive["age"].dtype == np.float64
    assert sensitive["age"].between(18, 65).all()
    assert not sensitive.isna().any().any()


@pytest.mark.parametrize("make", [make_fair_regression, make_fair_classification])
def test_planted_dependence_is_measurable_by_correlation(make):
    strength = 1.0
    X, y, sensitive = make(
        n_samples=5000,
        n_features=5,
        n_proxies=2,
        proxy_strength=strength,
        random_state=0,
    )
    group, age = _group_effect(sensitive), _standardised(sensitive["age"])
    expected = strength / np.sqrt(1 + strength**2)
    assert np.corrcoef(X[:, 0], group)[0, 1] == pytest.approx(expected, abs=0.05)
    assert np.corrcoef(X[:, 1], age)[0, 1] == pytest.approx(expected, abs=0.05)
    for j in (2, 3, 4):
        assert abs(np.corrcoef(X[:, j], group)[0, 1]) < 0.05
        assert abs(np.corrcoef(X[:, j], age)[0, 1]) < 0.05
    assert np.corrcoef(y, group)[0, 1] > 0.1
    assert np.corrcoef(y, age)[0, 1] > 0.1


@pytest.mark.parametrize("make", [make_fair_regression, make_fair_classification])
def test_zero_strengths_plant_no_dependence(make):
    X, y, sensitive = make(
        n_samples=5000, proxy_strength=0.0, bias_strength=0.0, random_state=0
    )
    attributes = np.column_stack(
        [_group_effect(sensitive), _standardised(sensitive["age"])]
    )
    both = np.corrcoef(np.column_stack([X, y]).T, attributes.T)[:-2, -2:]
    assert np.abs(both).max() < 0.05


def test_fair_regression_noise_is_the_residual_scale():
    X, y, _ = make_fair_regression(
        n_samples=5000, n_proxies=0, bias_strength=0.0, noise=0.5, random_state=0
    )
    residual = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    assert residual.std() == pytest.approx(0.5, rel=0.05)


def test_fair_classification_labels_follow_the_planted_bias():
    _, y, sensitive = make_fair_classification(
        n_samples=5000, bias_strength=2.0, random_state=0
    )
    assert y.dtype == np.int64 and set(np.unique(y)) == {0, 1}
    rate = pd.Series(y).groupby(sensitive["group"], observed=True).mean()
    assert rate["a"] < rate["b"] < rate["c"]


def test_too_many_proxies_is_a_clear_error():
    with pytest.raises(ValueError, match="n_proxies=3 exceeds n_features=2"):
        make_fair_regression(n_features=2, n_proxies=3)


def test_fair_generators_without_pandas_name_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r'pip install -e "\.\[datasets\]"'):
        make_fair_classification(n_samples=10)


def test_miscalibrated_logits_are_scaled_true_logits():
    logits, y, proba = make_miscalibrated_logits(
        n_samples=4000, n_classes=4, temperature=2.5, random_state=0
    )
    assert logits.shape == proba.shape == (4000, 4) and y.shape == (4000,)
    assert y.dtype == np.int64 and set(np.unique(y)) == {0, 1, 2, 3}
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(softmax(logits / 2.5, axis=1), proba)
    # Labels are drawn from proba: class frequencies match the mean proba.
    frequency = np.bincount(y, minlength=4) / y.size
    np.testing.assert_allclose(frequency, proba.mean(axis=0), atol=0.025)


@pytest.mark.parametrize("temperature", [0.5, 2.0, 4.0])
def test_fitted_temperature_recovers_the_stated_one(temperature):
    logits, y, _ = make_miscalibrated_logits(
        n_samples=5000, n_classes=3, temperature=temperature, random_state=0
    )

    def nll(log_t):
        return -log_softmax(logits / np.exp(log_t), axis=1)[np.arange(y.size), y].sum()

    fitted = np.exp(minimize_scalar(nll, bounds=(-5.0, 5.0), method="bounded").x)
    assert fitted == pytest.approx(temperature, rel=0.1)
    # The logits as given are miscalibrated: the stated temperature fits better.
    assert nll(np.log(temperature)) < nll(0.0)


@pytest.mark.parametrize("temperature", [0.0, -1.0])
def test_temperature_must_be_positive(temperature):
    with pytest.raises(InvalidParameterError, match="temperature"):
        make_miscalibrated_logits(temperature=temperature)
