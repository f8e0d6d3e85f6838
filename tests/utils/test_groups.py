"""Group packing: agreement with a naive loop, validation."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skalign.utils import check_groups, pack_groups


def _naive(y, groups):
    """Sorted row lists of the informative groups, by a plain loop."""
    out = {}
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        if len(rows) >= 2 and np.ptp(y[rows]) > 0:
            out[g] = sorted(rows.tolist(), key=lambda r: (-y[r], r))
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.sampled_from([0.0, 1.0, 2.5])),
        min_size=2,
        max_size=40,
    )
)
def test_pack_groups_matches_a_loop(rows):
    groups = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows])
    expected = _naive(y, groups)
    if not expected:
        with pytest.raises(ValueError, match="No group"):
            pack_groups(y, groups)
        return
    packed = pack_groups(y, groups)
    assert list(packed.group_ids) == sorted(expected)
    assert packed.max_len == max(len(v) for v in expected.values())
    for k, g in enumerate(packed.group_ids):
        got = packed.index[k][packed.mask[k]].tolist()
        assert got == expected[g]
        assert (packed.index[k][~packed.mask[k]] == -1).all()
    assert packed.n_dropped == len(np.unique(groups)) - len(expected)


def test_groups_none_is_one_group():
    packed = pack_groups([3.0, 1.0, 2.0])
    assert packed.index.tolist() == [[0, 2, 1]]


def test_take_pads_with_fill():
    packed = pack_groups([1.0, 0.0, 1.0, 0.0, 2.0], [0, 0, 1, 1, 1])
    taken = packed.take(np.array([10.0, 11.0, 12.0, 13.0, 14.0]), fill=-1)
    assert taken.tolist() == [[10.0, 11.0, -1.0], [14.0, 12.0, 13.0]]


def test_check_groups_errors():
    with pytest.raises(ValueError, match="groups has 2 entries but X has 3"):
        check_groups([0, 1], 3)
    with pytest.raises(ValueError, match="1-dimensional"):
        check_groups(np.zeros((3, 2)), 3)
    with pytest.raises(ValueError, match="NaN"):
        check_groups([0.0, np.nan, 1.0], 3)
    with pytest.raises(TypeError, match="one comparable type"):
        check_groups(np.array([1, "a", 2.5], dtype=object), 3)


def test_check_groups_accepts_strings_and_column_vectors():
    codes, uniques = check_groups(np.array([["b"], ["a"], ["b"]]), 3)
    assert codes.tolist() == [1, 0, 1] and uniques.tolist() == ["a", "b"]


@pytest.mark.parametrize("keep_tied_groups", [False, True])
def test_pair_units_of_two_row_groups_equal_the_general_enumeration(keep_tied_groups):
    """Groups that are all pairs take a fast path in pair_units: the same
    units, split groups and weights (zero weights included) as enumerating
    the packed groups."""
    from skalign.utils._groups import enumerate_pairs, pack_groups, pair_weights
    from skalign.utils._units import pair_units

    rng = np.random.default_rng(0)
    n = 2000
    X = rng.normal(size=(2 * n, 3))
    y = rng.integers(0, 3, size=2 * n).astype(float)
    groups = rng.permutation(np.repeat(np.arange(n), 2))
    weight = rng.integers(0, 3, size=2 * n).astype(float)
    units = pair_units(X, y, groups, weight, keep_tied_groups=keep_tied_groups)
    packed = pack_groups(y, groups, keep_tied_groups=keep_tied_groups)
    index, split_group, scale = enumerate_pairs(packed, y, keep_ties=keep_tied_groups)
    expected = pair_weights(packed, weight, index, split_group) * scale
    np.testing.assert_array_equal(units.index, index)
    np.testing.assert_array_equal(units.split_group, split_group)
    np.testing.assert_array_equal(units.targets["weight"][:, 0], expected)
    np.testing.assert_array_equal(units.targets["grades"], y[index])
