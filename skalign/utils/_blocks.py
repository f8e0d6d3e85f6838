"""Aligned blocks of whole groups, streamed from disk.

Out-of-core training feeds ``partial_fit`` one block of rows at a time, and
a block must hold every row of the groups it contains (a group's loss
couples its rows). Both readers here assume the rows are stored sorted by
group (each group's rows contiguous) and cut blocks at group boundaries,
reading only the block's rows: from arrays that index like numpy (memory
maps, ``np.load(..., mmap_mode="r")``, HDF5 data sets) and from Parquet
files (pyarrow). With ``rank`` and ``world_size`` each process of a
data-parallel fit reads its own contiguous share of the groups, in the
same number of blocks on every rank, as the collectives of
:func:`skalign.distributed.data_parallel` need.
"""

import itertools

import numpy as np
import torch.distributed as dist

__all__ = ["iter_group_blocks", "iter_parquet_group_blocks"]

_SCAN = 1 << 14


def _rank_and_size(rank, world_size):
    if rank is None or world_size is None:
        initialised = dist.is_available() and dist.is_initialized()
        if rank is None:
            rank = dist.get_rank() if initialised else 0
        if world_size is None:
            world_size = dist.get_world_size() if initialised else 1
    if not (isinstance(world_size, int) and world_size >= 1):
        raise ValueError(f"world_size must be a positive int; got {world_size!r}.")
    if not (isinstance(rank, int) and 0 <= rank < world_size):
        raise ValueError(f"rank must be in [0, world_size={world_size}); got {rank!r}.")
    return rank, world_size


def _boundary(groups, position, n_rows):
    """The first row at or after ``position`` that starts a group."""
    if position <= 0:
        return 0
    if position >= n_rows:
        return n_rows
    previous = np.asarray(groups[position - 1 : position])[0]
    start = position
    while start < n_rows:
        chunk = np.asarray(groups[start : start + _SCAN])
        changed = np.flatnonzero(chunk != previous)
        if changed.size:
            return start + int(changed[0])
        start += _SCAN
    return n_rows


def _edges(groups, n_rows, block_rows, rank, world_size):
    """Row ranges of this rank's blocks, each cut at a group boundary.

    Every rank's share (contiguous whole groups, about ``n_rows /
    world_size`` rows) is cut greedily into blocks of at least
    ``block_rows`` rows (or to the end of the share); then every rank
    merges neighbouring blocks down to the smallest count of any rank, so
    that all ranks read as many blocks.
    """
    if not (isinstance(block_rows, int) and block_rows >= 1):
        raise ValueError(f"block_rows must be a positive int; got {block_rows!r}.")
    shares = [
        _boundary(groups, n_rows * r // world_size, n_rows)
        for r in range(world_size + 1)
    ]
    cuts = []
    for low, high in itertools.pairwise(shares):
        if high <= low:
            raise ValueError(
                f"a rank of {world_size} gets no rows: a group is larger than "
                f"the share of {n_rows} rows of a rank. Use fewer processes."
            )
        share = [low]
        while share[-1] < high:
            share.append(min(_boundary(groups, share[-1] + block_rows, n_rows), high))
        cuts.append(share)
    n_blocks = min(len(share) - 1 for share in cuts)
    mine = cuts[rank]
    merged = np.array_split(np.arange(len(mine) - 1), n_blocks)
    return [(mine[part[0]], mine[part[-1] + 1]) for part in merged]


def _check_contiguous(groups, start):
    """Each group's rows must be contiguous inside a block (rows sorted by
    group); a group that reappears is an error."""
    runs = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    if np.unique(groups).size != runs.size:
        raise ValueError(
            f"the rows of a group are not contiguous in the block starting at "
            f"row {start}: store the rows sorted by group (for example with "
            "np.argsort(groups, kind='stable')) before streaming them."
        )


def iter_group_blocks(
    X, y, groups, *, block_rows=65_536, rank=None, world_size=None, **metadata
):
    """Blocks of whole groups from arrays on disk, for ``partial_fit``.

    Reads ``X``, ``y``, ``groups`` and every metadata array one block of
    rows at a time (a memory map reads only those rows), cutting at group
    boundaries. The rows must be stored sorted by group.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Anything that slices like a numpy array: ``np.memmap``,
        ``np.load(path, mmap_mode="r")``, an HDF5 data set.
    y : array-like of shape (n_samples,)
    groups : array-like of shape (n_samples,)
        Group ids, each group's rows contiguous.
    block_rows : int, default=65536
        Rows per block, at least: a block ends at the first group boundary
        after ``block_rows`` rows (or at the end of the rank's share).
    rank, world_size : int, default=None
        Read the share of process ``rank`` of ``world_size`` (contiguous
        whole groups, the same number of blocks on every rank); ``None``:
        those of the initialised ``torch.distributed`` default group, else
        the whole data in one process.
    **metadata : array-like of shape (n_samples,)
        Other per-row fit parameters (``sample_weight``...), sliced alike.

    Yields
    ------
    X_block, y_block : ndarray
    fit_params : dict
        ``{"groups": ..., **metadata}`` of the block, for
        ``estimator.partial_fit(X_block, y_block, **fit_params)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.utils import iter_group_blocks
    >>> X = np.arange(14.0).reshape(7, 2)
    >>> y = np.array([1, 0, 1, 0, 0, 1, 0])
    >>> groups = np.array([0, 0, 1, 1, 1, 2, 2])
    >>> for X_b, y_b, params in iter_group_blocks(X, y, groups, block_rows=3):
    ...     print(params["groups"])
    [0 0 1 1 1]
    [2 2]
    """
    n_rows = len(groups)
    for name, values in {"X": X, "y": y, **metadata}.items():
        if len(values) != n_rows:
            raise ValueError(
                f"{name} has {len(values)} rows but groups has {n_rows}: the "
                "arrays must be aligned row by row."
            )
    rank, world_size = _rank_and_size(rank, world_size)
    for start, stop in _edges(groups, n_rows, block_rows, rank, world_size):
        block_groups = np.asarray(groups[start:stop])
        _check_contiguous(block_groups, start)
        params = {"groups": block_groups}
        params.update({k: np.asarray(v[start:stop]) for k, v in metadata.items()})
        yield np.asarray(X[start:stop]), np.asarray(y[start:stop]), params


def iter_parquet_group_blocks(
    path,
    *,
    features,
    target,
    groups,
    metadata=(),
    block_rows=65_536,
    rank=None,
    world_size=None,
):
    """Blocks of whole groups from a Parquet file, for ``partial_fit``.

    Reads the group column once, then each block's rows of the feature,
    target and metadata columns only (the row groups that hold them). The
    rows must be stored sorted by group. Needs pyarrow
    (``pip install -e ".[parquet]"`` in the skalign checkout).

    Parameters
    ----------
    path : str or path-like
        A Parquet file.
    features : list of str
        The feature columns, in the order of ``X``'s columns.
    target : str
        The column of ``y``.
    groups : str
        The column of group ids, each group's rows contiguous.
    metadata : list of str, default=()
        Other per-row fit parameters, passed under their column names.
    block_rows, rank, world_size
        As for :func:`iter_group_blocks`.

    Yields
    ------
    X_block : ndarray of shape (n_block, len(features))
    y_block : ndarray of shape (n_block,)
    fit_params : dict
        ``{"groups": ..., **metadata}`` of the block.

    Examples
    --------
    >>> import os, tempfile
    >>> import pyarrow as pa, pyarrow.parquet as pq
    >>> from skalign.utils import iter_parquet_group_blocks
    >>> table = pa.table({"a": [0.0, 1, 2, 3], "y": [1, 0, 0, 1], "g": [5, 5, 7, 7]})
    >>> path = os.path.join(tempfile.mkdtemp(), "pairs.parquet")
    >>> pq.write_table(table, path)
    >>> blocks = iter_parquet_group_blocks(
    ...     path, features=["a"], target="y", groups="g", block_rows=2
    ... )
    >>> [params["groups"].tolist() for _, _, params in blocks]
    [[5, 5], [7, 7]]
    """
    try:
        import pyarrow.parquet as pq  # optional dependency
    except ImportError as error:
        raise ImportError(
            'iter_parquet_group_blocks needs pyarrow: pip install -e ".[parquet]" '
            "in the skalign checkout."
        ) from error
    source = pq.ParquetFile(path)
    ids = source.read(columns=[groups]).column(0).to_numpy()
    sizes = [
        source.metadata.row_group(i).num_rows for i in range(source.num_row_groups)
    ]
    starts = np.cumsum([0, *sizes])
    columns = [*features, target, *metadata]
    rank, world_size = _rank_and_size(rank, world_size)
    for start, stop in _edges(ids, ids.size, block_rows, rank, world_size):
        first = int(np.searchsorted(starts, start, side="right")) - 1
        last = int(np.searchsorted(starts, stop, side="left"))
        table = source.read_row_groups(range(first, last), columns=columns)
        table = table.slice(start - starts[first], stop - start)
        block_groups = ids[start:stop]
        _check_contiguous(block_groups, start)
        X = np.column_stack([table.column(c).to_numpy() for c in features])
        params = {"groups": block_groups}
        params.update({c: table.column(c).to_numpy() for c in metadata})
        yield X, table.column(target).to_numpy(), params
