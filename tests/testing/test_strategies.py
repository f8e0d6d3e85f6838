"""The strategies of skalign.testing draw valid data in skalign's formats."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skalign.fairness import encode_sensitive_features
from skalign.metrics._listwise import _check_sensitive_features
from skalign.testing import (
    logits_and_labels,
    preference_data,
    ranking_data,
    sensitive_features,
)
from skalign.utils import pack_groups


@settings(max_examples=50, deadline=None)
@given(
    preference_data(n_pairs=(1, 12), ties=True, cycles=True, group_ids="str"),
)
def test_preference_data_are_pairs_with_one_preference_at_least(data):
    X, y, groups = data
    assert X.ndim == 2 and X.dtype == np.float64 and np.all(np.isfinite(X))
    assert y.shape == groups.shape == (X.shape[0],)
    ids, counts = np.unique(groups, return_counts=True)
    assert np.all(counts == 2) and X.shape[0] == 2 * ids.size
    grades = {tuple(sorted(y[groups == g])) for g in ids}
    assert grades <= {(0.0, 1.0), (0.5, 0.5)}
    assert (0.0, 1.0) in grades
    # pack_groups raises when no group is informative.
    assert pack_groups(y, groups).n_groups >= 1


def _winners(X, y, groups):
    """(winner row, loser row) of every untied pair, as tuples of features."""
    out = []
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        if y[rows[0]] != y[rows[1]]:
            win, lose = rows if y[rows[0]] > y[rows[1]] else rows[::-1]
            out.append((tuple(X[win]), tuple(X[lose])))
    return out


def _has_cycle(pairs):
    """Whether some item (indirectly) beats itself."""
    items = {item for pair in pairs for item in pair}
    beats = {item: {lose for win, lose in pairs if win == item} for item in items}
    for _ in items:
        for item in items:
            beats[item] = beats[item].union(*(beats[b] for b in beats[item]))
    return any(item in beats[item] for item in items)


@settings(max_examples=50, deadline=None)
@given(preference_data(n_pairs=(2, 12), n_items=(3, 5), n_features=2))
def test_preference_data_without_cycles_are_transitive(data):
    assert not _has_cycle(_winners(*data))


def test_preference_data_with_cycles_can_hold_a_cycle():
    found = []

    @settings(max_examples=50, deadline=None, database=None)
    @given(preference_data(n_pairs=(6, 10), n_items=3, n_features=1, cycles=True))
    def collect(data):
        found.append(_has_cycle(_winners(*data)))

    collect()
    assert any(found)


@settings(max_examples=50, deadline=None)
@given(ranking_data(n_lists=(1, 6), list_size=(2, 7), dtype="float32"))
def test_ranking_data_are_valid_graded_lists(data):
    X, y, groups = data
    assert X.dtype == np.float32 and np.all(np.isfinite(X))
    assert y.dtype == np.float64 and np.all(y >= 0) and np.all(y == np.round(y))
    _, counts = np.unique(groups, return_counts=True)
    assert counts.min() >= 2 and counts.max() <= 7
    assert pack_groups(y, groups).n_groups >= 1


@settings(max_examples=50, deadline=None)
@given(ranking_data(n_lists=8, list_size=6, ties=False, partial=True))
def test_partial_lists_tie_their_unranked_rows_at_the_bottom(data):
    _, y, groups = data
    for g in np.unique(groups):
        grades = np.sort(y[groups == g])[::-1]
        ranked = grades[grades > 0]
        if ranked.size == grades.size - 1 or grades.min() > 0:
            # A full ranking 5, 4, ..., 0 (its last row is certain).
            assert np.array_equal(grades, np.arange(5, -1, -1))
        else:
            # Top-k: 1..k ranked without ties, at least two rows tied at 0.
            assert np.array_equal(ranked, np.arange(ranked.size, 0, -1))
            assert 1 <= ranked.size <= 4


@settings(max_examples=50, deadline=None)
@given(ranking_data(n_lists=4, list_size=4, ties=False, partial=False))
def test_full_lists_without_ties_are_permutations(data):
    _, y, groups = data
    for g in np.unique(groups):
        assert sorted(y[groups == g]) == [0.0, 1.0, 2.0, 3.0]


@settings(max_examples=50, deadline=None)
@given(
    st.integers(2, 30).flatmap(lambda n: st.tuples(st.just(n), sensitive_features(n)))
)
def test_sensitive_features_are_accepted_by_skalign(drawn):
    n, frame = drawn
    assert isinstance(frame, pd.DataFrame) and frame.shape[0] == n
    assert frame.shape[1] >= 1 and not frame.isna().any().any()
    encoded = encode_sensitive_features(frame, n_samples=n)
    assert encoded.categorical == tuple(c.startswith("cat") for c in frame.columns)
    assert _check_sensitive_features(frame, n).shape == (n,)


@settings(max_examples=30, deadline=None)
@given(sensitive_features(12, n_categorical=1, n_continuous=0, as_frame=False))
def test_a_single_sensitive_attribute_can_be_an_array(values):
    assert values.shape == (12,) and len(set(values)) >= 2
    assert encode_sensitive_features(values).categorical == (True,)


@settings(max_examples=50, deadline=None)
@given(
    logits_and_labels(n_samples=(2, 30), n_classes=(2, 5), labels="str"),
)
def test_logits_and_labels_hold_every_class(data):
    logits, y = data
    classes = np.unique(y)
    assert 2 <= classes.size <= 5 and logits.shape[0] == y.shape[0] >= classes.size
    assert np.all(np.isfinite(logits)) and np.abs(logits).max() <= 1e4
    if classes.size > 2:
        assert logits.shape == (y.shape[0], classes.size)
    else:
        assert logits.ndim == 1 or logits.shape[1] == 2


@settings(max_examples=30, deadline=None)
@given(logits_and_labels(n_samples=5, n_classes=3, overlap=True, dtype="float32"))
def test_overlapping_logits_show_every_class_at_every_row(data):
    logits, y = data
    assert logits.dtype == np.float32 and logits.shape == (20, 3)
    for row in np.unique(logits, axis=0):
        at_row = np.all(logits == row, axis=1)
        assert set(y[at_row]) == {0, 1, 2}


def test_logits_reach_extreme_magnitudes():
    seen = []

    @settings(max_examples=50, deadline=None, database=None)
    @given(logits_and_labels(binary_layout="1d", n_classes=2))
    def collect(data):
        logits, _ = data
        assert logits.ndim == 1
        seen.append(np.abs(logits).max())

    collect()
    assert max(seen) > 1e3


@pytest.mark.parametrize(
    "strategy, match",
    [
        (lambda: preference_data(n_pairs=(5, 2)), "n_pairs"),
        (lambda: preference_data(n_features=0), "n_features"),
        (lambda: preference_data(dtype="int64"), "dtype"),
        (lambda: ranking_data(list_size=1), "list_size"),
        (lambda: ranking_data(max_abs=np.inf), "max_abs"),
        (lambda: sensitive_features(1), "n_samples"),
        (lambda: logits_and_labels(n_classes=1), "n_classes"),
        (lambda: logits_and_labels(binary_layout="3d"), "binary_layout"),
    ],
)
def test_bad_arguments_raise_clear_errors(strategy, match):
    with pytest.raises(ValueError, match=match):
        _draw_once(strategy())


def test_sizes_must_be_ints_or_pairs():
    with pytest.raises(TypeError, match="n_lists must be an int or a"):
        _draw_once(ranking_data(n_lists=2.5))


def _draw_once(strategy):
    @settings(max_examples=1, database=None)
    @given(strategy)
    def draw(_):
        pass

    draw()
