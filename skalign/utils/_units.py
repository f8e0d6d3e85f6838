"""The one unit builder: rows, pairs and lists as engine training units.

A *unit* is what one term of a loss sees: a row (regression,
classification, calibration), a pair of rows of one group (pairwise
preference objectives) or a whole group (listwise objectives). Every
builder returns the rows untouched plus index-based targets of shape
``(n_units, unit_len, ...)``: ``"mask"``, ``"weight"``, optionally
``"index"`` (the row of each position) and ``"split_group"`` (per unit,
the id that early stopping holds out whole). The engine then stores each
problem in its cheapest exact layout.
"""

import os
from typing import NamedTuple

try:
    import resource
except ImportError:  # not on Windows
    resource = None

import numpy as np
from sklearn.utils import check_random_state

from ._groups import (
    PackedGroups,
    check_grades,
    check_groups,
    check_sample_weight,
    enumerate_pairs,
    pack_groups,
    pair_cap,
    pair_draws,
    pair_weights,
    warn_if_ungrouped,
)

__all__ = [
    "Units",
    "available_memory",
    "list_pair_sample",
    "list_targets",
    "list_units",
    "pair_units",
    "row_units",
]

# What enumerating and holding one position pair as a unit takes at least:
# the position pairs and their row gathers (int64), the tie test, the kept
# rows, group ids and scales, then the unit targets (rows, grades, weights,
# mask). Training adds the loss's own tensors on top.
_BYTES_PER_PAIR = 100


class Units(NamedTuple):
    """Training units: rows and per-unit targets.

    Attributes
    ----------
    X : ndarray or sparse matrix of shape (n_rows, n_features)
        The rows (never copied by the builders).
    targets : dict of ndarray
        Targets of shape ``(n_units, unit_len, ...)``, with ``"mask"`` and
        ``"weight"``.
    index : ndarray of shape (n_units, unit_len) or None
        The row of each position; ``None`` when the rows are unit-major
        (row ``u * unit_len + j`` at unit ``u``, position ``j``).
    split_group : ndarray of shape (n_units,) or None
        The id that early stopping holds out whole (``None``: each unit).
    """

    X: object
    targets: dict
    index: object = None
    split_group: object = None


def row_weights(index, weight, mask, n_rows):
    """The weight each row carries in the training units: the sum of the
    weights of the unit positions that read it (``index`` names the row at
    each position; ``None``: the rows are laid out unit-major, one per
    position). Weights are multiplicities, so a row of a group given
    weight 2 carries what two copies of it carry, and a row of weight zero
    nothing."""
    weight = np.broadcast_to(np.asarray(weight, dtype=np.float64), mask.shape)
    if index is None:
        return np.where(mask, weight, 0.0).reshape(-1)[:n_rows]
    return np.bincount(index[mask], weights=weight[mask], minlength=n_rows)


def row_units(X, weight, **targets):
    """Training data for a row-wise objective: every row is a unit of length 1.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    weight : ndarray of shape (n_samples,)
        Validated sample weights.
    **targets : ndarray of shape (n_samples, ...)
        Per-row targets, passed to the loss with shape ``(n_samples, 1, ...)``.

    Returns
    -------
    units : Units
    """
    n = X.shape[0]
    out = {name: np.asarray(v)[:, None] for name, v in targets.items()}
    out["mask"] = np.ones((n, 1), dtype=bool)
    out["weight"] = np.asarray(weight, dtype=np.float64)[:, None]
    return Units(X, out)


def available_memory():
    """Bytes this process can still allocate, or ``None`` when unknown.

    The smaller of the system's available memory (``MemAvailable`` of
    ``/proc/meminfo`` on Linux, else the free pages) and the headroom under
    an address-space limit (``RLIMIT_AS``) when one is set.
    """
    limits = []
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    limits.append(int(line.split()[1]) * 1024)
    except OSError:
        try:
            limits.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (AttributeError, OSError, ValueError):
            pass
    soft = resource.getrlimit(resource.RLIMIT_AS)[0] if resource else None
    if soft not in (None, getattr(resource, "RLIM_INFINITY", None)):
        try:
            with open("/proc/self/statm") as statm:
                used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError):
            used = 0
        limits.append(max(soft - used, 0))
    return min(limits) if limits else None


def _gib(n_bytes):
    return f"{n_bytes / 2**30:.1f} GiB"


def _check_pair_memory(lengths, n_pairs, max_pairs_per_group):
    """Raise, before anything is allocated, when the pair units of a fit
    cannot fit in the memory left."""
    total = int(n_pairs.sum())
    need = total * _BYTES_PER_PAIR
    free = available_memory()
    if free is None or need <= free:
        return
    if max_pairs_per_group is None:
        what = "max_pairs_per_group=None keeps every pair of every group:"
        advice = (
            "Use max_pairs_per_group='auto' (the default), which keeps every "
            "pair of short groups and an unbiased sample of the longest ones, "
            "or an integer cap on the pairs of a group."
        )
    else:
        what = f"max_pairs_per_group={max_pairs_per_group!r} keeps"
        advice = "Lower max_pairs_per_group."
    raise ValueError(
        f"{what} {total:,} pairs (the longest group has {int(lengths.max()):,} "
        f"rows), which need at least {_gib(need)} to enumerate and hold as "
        f"training units, more than the {_gib(free)} of memory available. "
        f"{advice}"
    )


def pair_units(
    X,
    y,
    groups,
    sample_weight,
    *,
    pairwise=True,
    keep_tied_groups=False,
    max_pairs_per_group="auto",
    random_state=None,
):
    """Training data for grouped preference objectives.

    ``pairwise=True``: every (or, for long groups, a sample of) pair of rows
    of a group with different grades (equal grades too with
    ``keep_tied_groups``) becomes a unit of two rows, winner first, so the
    loss costs one term per real pair however uneven the group sizes.
    ``max_pairs_per_group`` (``"auto"``, an int or ``None``, see
    :func:`~skalign.utils._groups.pair_cap`) bounds the pairs of long
    groups; the pair count is checked against the memory available before
    any pair is enumerated (a ``ValueError`` naming the parameter).
    ``pairwise=False``: every group is a padded unit (objectives that also
    fit the grades of single rows). Rows of ``X`` are not copied: units
    index into them.

    Pair weights follow :func:`~skalign.utils._groups.pair_weights`: a group
    weighs the mean weight of its rows, so a weight ``c`` written on every row
    of a group (a comparison's count) weighs each of its pairs ``c``.
    """
    grades = check_grades(y)
    warn_if_ungrouped(groups, grades)
    weight = check_sample_weight(sample_weight, X.shape[0])
    packed = pack_groups(
        grades,
        groups,
        drop_uninformative=pairwise,
        keep_tied_groups=keep_tied_groups,
    )
    if pairwise and packed.max_len == 2 and packed.mask.all():
        # Every group is one pair (the long format of pairwise comparisons):
        # the packed rows are the pairs, winner first, no enumeration.
        index = packed.index
        split_group = np.arange(index.shape[0])
        first, second = weight[index[:, 0]], weight[index[:, 1]]
        # w_a w_b / w̄, with w̄ the mean of the pair's positive weights.
        count = (first > 0).astype(np.float64) + (second > 0)
        mean = (first + second) / np.maximum(count, 1.0)
        product = first * second
        pair_weight = np.divide(
            product, mean, out=np.zeros_like(product), where=mean > 0
        )
        mask = np.ones(index.shape, dtype=bool)
        row_weight = np.column_stack([pair_weight, pair_weight])
    elif pairwise:
        lengths = packed.mask.sum(1)
        cap = pair_cap(lengths, max_pairs_per_group, X.shape[0])
        _check_pair_memory(lengths, pair_draws(lengths, cap)[1], max_pairs_per_group)
        index, split_group, scale = enumerate_pairs(
            packed,
            grades,
            keep_ties=keep_tied_groups,
            max_pairs=cap,
            random_state=random_state,
        )
        mask = np.ones(index.shape, dtype=bool)
        # A unit of two rows of equal weight p weighs p in the loss
        # (grade_ordered_pairs): both rows carry the weight that the pair's
        # group gives it, times the sampling scale.
        pair_weight = pair_weights(packed, weight, index, split_group) * scale
        row_weight = np.column_stack([pair_weight, pair_weight])
    else:
        mask = packed.mask
        index = np.where(mask, packed.index, 0)
        split_group = np.arange(packed.n_groups)
        row_weight = np.where(mask, weight[index], 0.0)
    targets = {
        "grades": np.where(mask, grades[index], 0.0),
        "mask": mask,
        "weight": row_weight,
    }
    return Units(X, targets, index, split_group)


def list_units(y, groups, sample_weight, n_samples, *, keep_all_tied=False):
    """Validate and pack graded rows into lists of rows with positive weight.

    Rows of zero weight are removed first, so they are absent from every
    list. Lists whose rows are all tied are dropped (they carry no ranking)
    unless ``keep_all_tied`` (a model of ties learns from them); a single
    row is never a list.

    Returns
    -------
    packed : PackedGroups
        Padded lists; ``packed.index`` indexes the rows of ``X``.
    grades, weight : ndarray of shape (n_samples,)
        The validated grades and sample weights.
    """
    grades = check_grades(y)
    warn_if_ungrouped(groups, grades)
    codes, _ = check_groups(groups, n_samples)
    weight = check_sample_weight(sample_weight, n_samples)
    kept = np.flatnonzero(weight > 0)
    packed = pack_groups(
        grades[kept], codes[kept], drop_uninformative=not keep_all_tied
    )
    index, mask, group_ids = packed.index, packed.mask, packed.group_ids
    n_dropped = packed.n_dropped
    if keep_all_tied:
        long = mask.sum(1) >= 2
        if not long.any():
            raise ValueError(
                "Every list has a single row (after removing rows of zero "
                "weight), so there is no ranking to learn from; check y "
                "and groups."
            )
        max_len = int(mask[long].sum(1).max())
        index, mask = index[long, :max_len], mask[long, :max_len]
        group_ids = group_ids[long]
        n_dropped += int((~long).sum())
    packed = PackedGroups(
        index=np.where(mask, kept[np.where(mask, index, 0)], -1),
        mask=mask,
        group_ids=group_ids,
        n_dropped=n_dropped,
    )
    return packed, grades, weight


def list_pair_sample(packed, max_pairs_per_group, n_samples, random_state=None):
    """The ``pair_sample`` target of list units for the pair losses of lists.

    Lists with more position pairs than the cap of ``max_pairs_per_group``
    (see :func:`~skalign.utils._groups.pair_cap`) are trained on a
    systematic sample of about that many pairs (see
    :func:`~skalign._loss.listwise.circulant_offsets`), unbiased for the
    loss's sums; the others on every pair. The pairs are not enumerated:
    the target is, per list, the number of offsets (0: every pair) and
    their random start, drawn with ``random_state``.

    Returns
    -------
    targets : dict
        ``{"pair_sample": ndarray of shape (n_lists, 2)}``, or empty when
        every list keeps all its pairs.
    """
    lengths = packed.mask.sum(1)
    cap = pair_cap(lengths, max_pairs_per_group, n_samples)
    draws, _ = pair_draws(lengths, cap)
    if not draws.any():
        return {}
    rng = check_random_state(random_state)
    start = rng.randint(np.maximum(lengths - 1, 1))
    return {"pair_sample": np.column_stack([draws, np.where(draws > 0, start, 0)])}


def list_targets(X, packed, **targets):
    """The list units of ``packed``: each list indexes the rows of ``X``
    (0 on padding, masked)."""
    return Units(X, targets, np.where(packed.mask, packed.index, 0))
