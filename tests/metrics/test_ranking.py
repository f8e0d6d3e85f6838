"""pairwise_accuracy against a naive loop."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import skalign.metrics._ranking as ranking
from skalign.metrics import pairwise_accuracy


def _naive(y, s, groups, w):
    # A group weighs the mean weight of its rows; a pair w_i w_j over it.
    num = den = 0.0
    for i in range(len(y)):
        for j in range(len(y)):
            if groups[i] == groups[j] and y[i] > y[j]:
                pair_w = w[i] * w[j] / w[groups == groups[i]].mean()
                num += pair_w * (1.0 if s[i] > s[j] else 0.5 if s[i] == s[j] else 0.0)
                den += pair_w
    return num / den


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),
            st.sampled_from([0.0, 1.0, 2.0]),
            st.sampled_from([-1.0, 0.0, 0.5, 2.0]),
            st.sampled_from([0.5, 1.0, 3.0]),
        ),
        min_size=2,
        max_size=25,
    )
)
def test_matches_naive_loop(rows):
    groups, y, s, w = (np.array(c) for c in zip(*rows))
    has_pairs = any(
        groups[i] == groups[j] and y[i] > y[j]
        for i in range(len(y))
        for j in range(len(y))
    )
    if not has_pairs:
        with pytest.raises(ValueError):
            pairwise_accuracy(y, s, groups=groups, sample_weight=w)
        return
    got = pairwise_accuracy(y, s, groups=groups, sample_weight=w)
    assert got == pytest.approx(_naive(y, s, groups, w), rel=1e-12)


def test_blocked_computation_of_a_long_group(monkeypatch):
    rng = np.random.default_rng(0)
    y, s = rng.integers(0, 5, 300).astype(float), rng.normal(size=300)
    full = pairwise_accuracy(y, s)
    monkeypatch.setattr(ranking, "_PAIR_BLOCK", 1000)
    assert pairwise_accuracy(y, s) == pytest.approx(full, rel=1e-12)


def test_constant_scores_give_one_half():
    assert pairwise_accuracy([0, 1, 2, 3], [1, 1, 1, 1]) == 0.5


def test_errors():
    with pytest.raises(ValueError, match="y_score must be 1-dimensional"):
        pairwise_accuracy([0, 1], [[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="inconsistent"):
        pairwise_accuracy([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="y_score contains NaN"):
        pairwise_accuracy([0, 1], [0, np.nan])


def test_preference_log_loss_is_the_bradley_terry_loss():
    import torch

    from skalign.metrics import preference_log_loss
    from skalign.preference import bradley_terry_loss

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=40).astype(float)
    s = rng.normal(size=40)
    w = rng.random(40) + 0.5
    got = preference_log_loss(y, s, sample_weight=w)
    as_tensor = torch.as_tensor
    expected = bradley_terry_loss(
        as_tensor(s)[None],
        as_tensor(y)[None],
        torch.ones(1, 40, dtype=torch.bool),
        as_tensor(w)[None],
    )
    assert got == pytest.approx(expected.item(), rel=1e-12)
    assert preference_log_loss([1, 0], [0.0, 0.0]) == pytest.approx(np.log(2))
    assert np.isfinite(preference_log_loss([1, 0], [-1e4, 1e4]))
    with pytest.raises(ValueError, match="y_score contains NaN"):
        preference_log_loss([0, 1], [0, np.nan])


def test_grouped_ndcg_weighs_each_group_by_its_rows_mean_weight():
    from sklearn.metrics import ndcg_score

    from skalign.metrics import grouped_ndcg_score

    y = np.array([3, 2, 0, 1, 0, 2, 1])
    scores = np.array([0.9, 0.2, 0.5, 0.1, 0.3, 0.4, 0.8])
    groups = np.array([0, 0, 0, 1, 1, 2, 2])
    weight = np.array([2.0, 2.0, 2.0, 0.5, 0.5, 1.0, 1.0])
    per_group = [ndcg_score([y[groups == g]], [scores[groups == g]]) for g in range(3)]
    expected = np.average(per_group, weights=[2.0, 0.5, 1.0])
    got = grouped_ndcg_score(y, scores, groups=groups, sample_weight=weight)
    assert got == pytest.approx(expected)
    assert grouped_ndcg_score(y, scores, groups=groups) == pytest.approx(
        np.mean(per_group)
    )
