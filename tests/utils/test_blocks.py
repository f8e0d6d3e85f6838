"""Blocks of whole groups streamed from memory maps and Parquet files."""

import numpy as np
import pytest

from skalign.preference import PreferenceRewardRegressor
from skalign.utils import iter_group_blocks, iter_parquet_group_blocks


def _sorted_lists(n_groups=60, seed=0):
    """Rankings of 1 to 7 rows stored sorted by group, with weights."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 8, size=n_groups)
    groups = np.repeat(rng.permutation(n_groups) * 10, sizes)
    X = rng.normal(size=(groups.size, 3))
    y = X @ [1.0, -1.0, 0.5] + rng.normal(size=groups.size)
    weight = rng.uniform(0.5, 2.0, size=groups.size)
    return X, y, groups, weight


def _memmap(tmp_path, name, values):
    path = tmp_path / f"{name}.npy"
    np.save(path, values)
    return np.load(path, mmap_mode="r")


@pytest.mark.parametrize("block_rows", [1, 7, 50, 10_000])
@pytest.mark.parametrize("world_size", [1, 3])
def test_blocks_hold_whole_groups_and_cover_every_row_once(block_rows, world_size):
    X, y, groups, weight = _sorted_lists()
    seen, counts = [], []
    for rank in range(world_size):
        blocks = list(
            iter_group_blocks(
                X,
                y,
                groups,
                block_rows=block_rows,
                rank=rank,
                world_size=world_size,
                sample_weight=weight,
            )
        )
        counts.append(len(blocks))
        for X_b, y_b, params in blocks:
            rows = np.flatnonzero(np.isin(groups, params["groups"]))
            # Every row of each group of the block, aligned, nothing else.
            assert rows.size == X_b.shape[0] == y_b.size
            np.testing.assert_array_equal(X_b, X[rows])
            np.testing.assert_array_equal(y_b, y[rows])
            np.testing.assert_array_equal(params["sample_weight"], weight[rows])
            seen.append(rows)
            if world_size == 1:
                # Cut at the first group end after block_rows rows.
                assert X_b.shape[0] < block_rows + 7
    # As many blocks on every rank: the collectives of a data-parallel
    # partial_fit meet.
    assert len(set(counts)) == 1
    assert np.array_equal(np.sort(np.concatenate(seen)), np.arange(groups.size))


def test_memmap_stream_trains_as_the_same_blocks_in_memory(tmp_path):
    X, y, groups, _ = _sorted_lists()
    on_disk = [_memmap(tmp_path, n, v) for n, v in zip("Xyg", (X, y, groups))]

    def train(blocks):
        model = PreferenceRewardRegressor(
            optimizer="adam", batch_size=16, dtype="float64", random_state=0
        )
        for X_b, y_b, params in blocks:
            model.partial_fit(X_b, y_b, **params)
        return model.scorer_.linear.weight.detach().numpy()

    streamed = train(iter_group_blocks(*on_disk, block_rows=40))
    cuts = [
        params["groups"]
        for _, _, params in iter_group_blocks(X, y, groups, block_rows=40)
    ]
    assert len(cuts) > 3
    in_memory = train(
        (X[m], y[m], {"groups": groups[m]})
        for m in (np.isin(groups, ids) for ids in cuts)
    )
    np.testing.assert_array_equal(streamed, in_memory)


def test_parquet_blocks_equal_the_array_blocks(tmp_path):
    pa = pytest.importorskip(
        "pyarrow", reason='needs pyarrow (pip install -e ".[parquet]")'
    )
    pq = pytest.importorskip("pyarrow.parquet")
    X, y, groups, weight = _sorted_lists()
    table = pa.table(
        {"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y, "g": groups, "w": weight}
    )
    path = tmp_path / "lists.parquet"
    # Small row groups: blocks span several and start inside one.
    pq.write_table(table, path, row_group_size=23)
    for rank in range(2):
        expected = iter_group_blocks(
            X, y, groups, block_rows=30, rank=rank, world_size=2, w=weight
        )
        got = iter_parquet_group_blocks(
            path,
            features=["a", "b", "c"],
            target="y",
            groups="g",
            metadata=["w"],
            block_rows=30,
            rank=rank,
            world_size=2,
        )
        pairs = list(zip(expected, got, strict=True))
        assert len(pairs) > 2
        for (X_e, y_e, p_e), (X_g, y_g, p_g) in pairs:
            np.testing.assert_array_equal(X_g, X_e)
            np.testing.assert_array_equal(y_g, y_e)
            np.testing.assert_array_equal(p_g["groups"], p_e["groups"])
            np.testing.assert_array_equal(p_g["w"], p_e["w"])


def test_bad_streams_are_refused():
    X, y, groups, _ = _sorted_lists()
    with pytest.raises(ValueError, match="y has 3 rows but groups has"):
        next(iter_group_blocks(X, y[:3], groups))
    shuffled = groups[np.random.default_rng(0).permutation(groups.size)]
    with pytest.raises(ValueError, match="not contiguous"):
        list(iter_group_blocks(X, y, shuffled, block_rows=10_000))
    with pytest.raises(ValueError, match="gets no rows"):
        list(iter_group_blocks(X[:6], y[:6], np.zeros(6), rank=1, world_size=2))
    with pytest.raises(ValueError, match="block_rows"):
        next(iter_group_blocks(X, y, groups, block_rows=0))
    with pytest.raises(ValueError, match="rank must be in"):
        next(iter_group_blocks(X, y, groups, rank=2, world_size=2))
