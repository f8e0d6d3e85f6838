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

import numpy as np

from ._groups import (
    PackedGroups,
    check_grades,
    check_groups,
    check_sample_weight,
    enumerate_pairs,
    pack_groups,
    pair_weights,
)

__all__ = ["list_targets", "list_units", "pair_units", "row_units"]


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
    X, targets : rows and targets of the engine's training problem.
    """
    n = X.shape[0]
    out = {name: np.asarray(v)[:, None] for name, v in targets.items()}
    out["mask"] = np.ones((n, 1), dtype=bool)
    out["weight"] = np.asarray(weight, dtype=np.float64)[:, None]
    return X, out


def pair_units(
    X,
    y,
    groups,
    sample_weight,
    *,
    pairwise=True,
    keep_tied_groups=False,
    max_pairs_per_group=None,
    random_state=None,
):
    """Training data for grouped preference objectives.

    ``pairwise=True``: every (or, for long groups, a sample of) pair of rows
    of a group with different grades (equal grades too with
    ``keep_tied_groups``) becomes a unit of two rows, winner first, so the
    loss costs one term per real pair however uneven the group sizes.
    ``pairwise=False``: every group is a padded unit (objectives that also
    fit the grades of single rows). Rows of ``X`` are not copied: units
    index into them.

    Pair weights follow :func:`~skalign.utils._groups.pair_weights`: a group
    weighs the mean weight of its rows, so a weight ``c`` written on every row
    of a group (a comparison's count) weighs each of its pairs ``c``.
    """
    grades = check_grades(y)
    weight = check_sample_weight(sample_weight, X.shape[0])
    packed = pack_groups(
        grades,
        groups,
        drop_uninformative=pairwise,
        keep_tied_groups=keep_tied_groups,
    )
    if pairwise:
        index, split_group, scale = enumerate_pairs(
            packed,
            grades,
            keep_ties=keep_tied_groups,
            max_pairs=max_pairs_per_group,
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
        "index": index,
        "split_group": split_group,
    }
    return X, targets


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


def list_targets(packed, **targets):
    """The targets of list units: ``targets`` plus the row index of every
    position (0 on padding)."""
    return {**targets, "index": np.where(packed.mask, packed.index, 0)}
