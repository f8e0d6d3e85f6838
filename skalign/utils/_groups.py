"""The long data format: one row per item, ``groups`` naming each row's list.

This module is the one place that validates ``groups`` and grades and packs
them into padded ``(n_groups, max_len)`` index and mask arrays. Every
pairwise or listwise estimator and metric builds on :func:`pack_groups`.

Weights of groups and pairs: a group weighs the mean ``w̄`` of the
``sample_weight`` of its rows of positive weight, and within it rows count
in proportion to their weights, so a pair of rows ``a, b`` of a group weighs
``w_a w_b / w̄`` (:func:`pair_weights`; the loss layer's
``grade_ordered_pairs`` forms the same weights on padded groups). A weight
``c`` written on every row of a group, a comparison's count say, weighs each
of its pairs ``c``, as ``c`` copies of the group would.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_array

from .._loss.listwise import circulant_offsets
from ..exceptions import DisconnectedComparisonsWarning, MissingGroupsWarning
from ._validation import from_torch

__all__ = [
    "AUTO_PAIRS_PER_ROW",
    "AUTO_PAIR_BUDGET",
    "PackedGroups",
    "check_grades",
    "check_groups",
    "check_users",
    "enumerate_pairs",
    "group_weights",
    "pack_groups",
    "pair_cap",
    "pair_draws",
    "pair_weights",
    "warn_if_ungrouped",
]

# max_pairs_per_group="auto": every pair while the data hold at most
# max(AUTO_PAIR_BUDGET, AUTO_PAIRS_PER_ROW * n_samples) position pairs, so
# that memory stays linear in the rows. Lists of up to 2 * 16 + 1 = 33 rows
# (and pairs, and small data sets) are never sampled.
AUTO_PAIR_BUDGET = 1 << 18
AUTO_PAIRS_PER_ROW = 16


def check_groups(groups, n_samples):
    """Validate ``groups`` and return integer codes in ``[0, n_groups)``.

    Parameters
    ----------
    groups : array-like of shape (n_samples,) or None
        Group id of each row (ints or strings). ``None`` puts every row in one
        group.
    n_samples : int
        Number of rows of ``X``.

    Returns
    -------
    codes : ndarray of shape (n_samples,), dtype int64
    uniques : ndarray
        The distinct group ids, in the order of their codes.
    """
    groups = from_torch(groups, "groups")
    if groups is None:
        return np.zeros(n_samples, dtype=np.int64), np.zeros(1, dtype=np.int64)
    groups = np.asarray(groups)
    if groups.ndim != 1:
        if groups.ndim == 2 and groups.shape[1] == 1:
            groups = groups.ravel()
        else:
            raise ValueError(
                f"groups must be 1-dimensional; got an array of shape {groups.shape}."
            )
    if groups.shape[0] != n_samples:
        raise ValueError(
            f"groups has {groups.shape[0]} entries but X has {n_samples} rows; "
            "give one group id per row."
        )
    if groups.dtype.kind == "f" and not np.all(np.isfinite(groups)):
        raise ValueError("groups contains NaN or infinity; every row needs a group id.")
    if groups.dtype.kind == "O":
        if any(g is None or (isinstance(g, float) and g != g) for g in groups):
            raise ValueError("groups contains missing values; every row needs a id.")
    if groups.dtype.kind in "iu" and groups.size and np.all(groups[1:] >= groups[:-1]):
        # Sorted integer ids (the usual layout): codes in one pass, in the
        # order np.unique would give, without its sort.
        change = np.flatnonzero(groups[1:] != groups[:-1]) + 1
        codes = np.zeros(groups.shape[0], dtype=np.int64)
        codes[change] = 1
        return np.cumsum(codes, out=codes), groups[np.concatenate([[0], change])]
    try:
        uniques, codes = np.unique(groups, return_inverse=True)
    except TypeError as exc:
        raise TypeError(
            "groups must hold ids of one comparable type (all ints or all "
            f"strings); got {groups.dtype} values that cannot be sorted."
        ) from exc
    return codes.astype(np.int64).ravel(), uniques


def warn_if_ungrouped(groups, y, where="fit"):
    """Warn (:class:`~skalign.exceptions.MissingGroupsWarning`) when
    ``groups`` is ``None`` but the grades look like grouped choices or pairs.

    ``groups=None`` is one ranking of every row. Grades of only two values
    with several rows at the top (winner/loser pairs, one choice per
    situation) almost always come with groups: the user forgot them, or
    scikit-learn did not route them (``cross_val_score(..., groups=g)``
    gives them to the splitter alone unless metadata routing is on).
    ``where`` names the call, e.g. ``"PlackettLuceRanker.fit"``.
    """
    if groups is not None or y is None:
        return
    grades = np.asarray(from_torch(y, "y"))
    if grades.ndim != 1 or grades.size < 4 or grades.dtype.kind not in "biuf":
        return
    values = np.unique(grades[np.isfinite(grades)])
    if values.size != 2:
        return
    n_top = int(np.sum(grades == values[-1]))
    if n_top < 2:
        return
    warnings.warn(
        f"{where} got groups=None, so all {grades.size} rows are one ranking, "
        f"but y holds only the grades {values[0]:g} and {values[-1]:g} with "
        f"{n_top} rows at the top, as grouped pairs or choices do. Pass "
        "groups= (inside a Pipeline or a search, enable metadata routing: "
        "sklearn.set_config(enable_metadata_routing=True) and "
        ".set_fit_request(groups=True).set_score_request(groups=True)); to "
        "rank all rows together on purpose, pass one group id for every row.",
        MissingGroupsWarning,
        stacklevel=3,
    )


def check_grades(y, name="y"):
    """Validate grades: numeric, finite, 1-D. Returns a float64 array."""
    y = np.asarray(from_torch(y, name))
    if y.dtype.kind in "OUS":
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{name} must hold numeric grades (higher is better); got "
                f"non-numeric values of dtype {y.dtype}."
            ) from exc
    y = check_array(
        y, ensure_2d=False, dtype=np.float64, input_name=name, ensure_all_finite=True
    )
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional; got shape {y.shape}.")
    return y


@dataclass(frozen=True)
class PackedGroups:
    """Padded view of grouped rows.

    Attributes
    ----------
    index : ndarray of shape (n_groups, max_len), dtype int64
        Row of ``X`` at each position, rows of a group sorted by decreasing
        grade; ``-1`` marks padding.
    mask : ndarray of shape (n_groups, max_len), dtype bool
        ``True`` where ``index`` names a row.
    group_ids : ndarray of shape (n_groups,)
        The original id of each kept group.
    n_dropped : int
        Groups dropped because they had one row or only tied grades.
    """

    index: np.ndarray
    mask: np.ndarray
    group_ids: np.ndarray
    n_dropped: int

    @property
    def n_groups(self):
        return self.index.shape[0]

    @property
    def max_len(self):
        return self.index.shape[1]

    def take(self, values, fill=0):
        """Gather per-row ``values`` into ``(n_groups, max_len, ...)``."""
        values = np.asarray(values)
        out = values[np.where(self.mask, self.index, 0)]
        out[~self.mask] = fill
        return out


def pack_groups(y, groups=None, *, drop_uninformative=True, keep_tied_groups=False):
    """Pack rows into padded ``(n_groups, max_len)`` index and mask arrays.

    Vectorised: a stable sort of the group codes, a scatter into the padded
    matrix and a sort of each padded row by grade; no Python loop over groups.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Grades (higher is better); validated with :func:`check_grades`.
    groups : array-like of shape (n_samples,) or None
        Group id per row; ``None`` means one group.
    drop_uninformative : bool, default=True
        Drop groups with a single row or whose grades are all tied: they carry
        no preference information. If nothing is left, raise ``ValueError``.
    keep_tied_groups : bool, default=False
        With ``drop_uninformative``, keep all-tied groups of two or more rows
        (for models of ties) and drop only single-row groups.

    Returns
    -------
    PackedGroups
    """
    y = check_grades(y)
    n = y.shape[0]
    codes, uniques = check_groups(groups, n)
    n_groups = uniques.shape[0]
    # Rows grouped by a stable sort of the codes (skipped when already in
    # order), then each padded row sorted by decreasing grade: much cheaper
    # than a lexsort over all rows for many short groups.
    in_order = bool(np.all(codes[:-1] <= codes[1:]))
    if in_order:
        order = np.arange(n)
    else:
        order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=n_groups)
    if in_order and counts.min() == counts.max():
        # Groups of one length, in order (pairs, say): a reshape.
        index = order.reshape(n_groups, -1).astype(np.int64, copy=False)
    else:
        sorted_codes = codes[order]
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        position = np.arange(n) - starts[sorted_codes]
        index = np.full((n_groups, int(counts.max())), -1, dtype=np.int64)
        index[sorted_codes, position] = order
    key = np.where(index >= 0, -y[index], np.inf)
    if index.shape[1] == 2:
        # Pairs: a swap where the second row has the higher grade.
        swap = key[:, 1] < key[:, 0]
        index[swap] = index[swap, ::-1]
    else:
        order = np.argsort(key, axis=1, kind="stable")
        index = np.take_along_axis(index, order, axis=1)
    keep = np.ones(n_groups, dtype=bool)
    if drop_uninformative:
        # Rows are sorted by decreasing grade, so a group is all tied exactly
        # when its first and last grades agree.
        first = y[index[:, 0]]
        last = y[index[np.arange(n_groups), counts - 1]]
        keep = (counts >= 2) & ((first != last) | keep_tied_groups)
        if not keep.any() and keep_tied_groups:
            raise ValueError(
                "Every group has a single row, so there is nothing to compare. "
                "Check groups."
            )
        if not keep.any():
            raise ValueError(
                "No group has two rows with different grades, so there is no "
                "preference to learn from: single-row groups and groups whose "
                "rows are all tied are ignored. Check y and groups."
            )
    index = index[keep][:, : int(counts[keep].max())]
    return PackedGroups(
        index=index,
        mask=index >= 0,
        group_ids=uniques[keep],
        n_dropped=int(n_groups - keep.sum()),
    )


def check_sample_weight(sample_weight, n_samples, dtype=np.float64):
    """Validate non-negative ``sample_weight`` (``None`` means ones) whose
    sum is finite (only relative weights matter to skalign's means)."""
    weight = _check_sample_weight(
        from_torch(sample_weight, "sample_weight"),
        np.empty(n_samples),
        dtype=dtype,
        ensure_non_negative=True,
    )
    with np.errstate(over="ignore"):
        total = weight.sum(dtype=np.float64)
    if not np.isfinite(total):
        raise ValueError(
            f"sample_weight sums to {total} (its largest value is "
            f"{weight.max():.3g}): the weighted means overflow. Divide "
            "sample_weight by its maximum; only the relative weights matter."
        )
    return weight


def pair_cap(lengths, max_pairs, n_samples):
    """The per-group pair cap that ``max_pairs_per_group`` stands for.

    Parameters
    ----------
    lengths : ndarray of int
        Rows of each group.
    max_pairs : "auto", int or None
        ``None``: every pair (returns ``None``). An int: itself. ``"auto"``:
        ``None`` when the groups hold at most ``max(AUTO_PAIR_BUDGET,
        AUTO_PAIRS_PER_ROW * n_samples)`` position pairs in all; otherwise
        the largest cap ``c`` with ``sum(min(L (L - 1) / 2, c))`` within that
        budget, so that short groups keep every pair and only the longest
        are sampled.
    n_samples : int
        Rows of the data set.

    Returns
    -------
    cap : int or None
    """
    if max_pairs is None:
        return None
    if not isinstance(max_pairs, str):
        return int(max_pairs)
    lengths = np.asarray(lengths, dtype=np.int64)
    n_pairs = lengths * (lengths - 1) // 2
    budget = max(AUTO_PAIR_BUDGET, AUTO_PAIRS_PER_ROW * int(n_samples))
    if n_pairs.sum() <= budget:
        return None
    # Bisection on the cap: the total is monotone in it.
    low, high = 1, int(n_pairs.max())
    while low < high:
        middle = (low + high + 1) // 2
        if np.minimum(n_pairs, middle).sum() <= budget:
            low = middle
        else:
            high = middle - 1
    return low


def pair_draws(lengths, cap):
    """How a group of each length is sampled under a pair ``cap``.

    A group with at most ``cap`` position pairs keeps them all (0 draws);
    a longer one gets ``max(1, round(cap / L))`` offsets of
    :func:`~skalign._loss.listwise.circulant_offsets`, that is about ``cap``
    pairs (``L`` per offset), with every row in the same number of them.

    Returns
    -------
    draws : ndarray of int64, like ``lengths``
    n_pairs : ndarray of int64
        Position pairs each group contributes (before dropping ties).
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    n_pairs = lengths * (lengths - 1) // 2
    if cap is None:
        return np.zeros_like(lengths), n_pairs
    sampled = n_pairs > cap
    draws = np.where(sampled, np.maximum(1, np.rint(cap / np.maximum(lengths, 1))), 0)
    draws = draws.astype(np.int64)
    return draws, np.where(sampled, draws * lengths, n_pairs)


def enumerate_pairs(packed, y, *, keep_ties=False, max_pairs=None, random_state=None):
    """The pairs of rows within each packed group, winner first.

    Loops over the distinct group lengths (not over groups): for each length
    ``L`` the ``L (L - 1) / 2`` position pairs of all groups of that length
    are taken at once. Rows of a packed group are sorted by decreasing grade,
    so the first row of a pair has the higher (or equal) grade.

    Parameters
    ----------
    packed : PackedGroups
    y : ndarray of shape (n_samples,)
        The grades the groups were packed with.
    keep_ties : bool, default=False
        Keep pairs of equal grades (for models of ties).
    max_pairs : int, default=None
        A group with more position pairs than this contributes a systematic
        sample of about ``max_pairs`` of them instead (see
        :func:`pair_draws`): ``k`` offsets ``δ``, drawn with
        ``random_state``, each pairing every row ``p`` with row ``p + δ``
        (mod ``L``). Every pair is equally likely, and each sampled pair
        weighs ``(L - 1) / (2 k)``, so the group's sum is unbiased. Memory
        and time are those of the pairs kept, never ``O(L²)``.
    random_state : int, RandomState instance or None
        Draws the sampled pairs.

    Returns
    -------
    rows : ndarray of shape (n_pairs, 2)
        Row indices, higher grade first.
    group : ndarray of shape (n_pairs,)
        Index of each pair's group in ``packed``.
    scale : ndarray of shape (n_pairs,)
        Weight factor of each pair (1 unless sampled).
    """
    rng = check_random_state(random_state)
    lengths = packed.mask.sum(axis=1)
    rows, group, scale = [], [], []
    for length in np.unique(lengths[lengths >= 2]):
        members = np.flatnonzero(lengths == length)
        block = packed.index[members, :length]
        (draws,), _ = pair_draws([length], max_pairs)
        if draws:
            start = rng.randint(length - 1, size=(len(members), 1))
            offset = circulant_offsets(draws, start, length, np.arange(draws))
            position = np.arange(length)[None, :, None]
            partner = (position + offset[:, None, :]) % length
            i = np.minimum(position, partner).reshape(len(members), -1)
            j = np.maximum(position, partner).reshape(len(members), -1)
            a = np.take_along_axis(block, i, axis=1)
            b = np.take_along_axis(block, j, axis=1)
            factor = (length - 1) / (2 * draws)
        else:
            i, j = np.triu_indices(length, 1)
            a, b = block[:, i], block[:, j]
            factor = 1.0
        keep = np.ones(a.shape, dtype=bool) if keep_ties else y[a] != y[b]
        rows.append(np.column_stack([a[keep], b[keep]]))
        group.append(np.broadcast_to(members[:, None], a.shape)[keep])
        scale.append(np.full(int(keep.sum()), factor))
    if not rows:
        return np.empty((0, 2), dtype=np.int64), np.empty(0, np.int64), np.empty(0)
    return np.vstack(rows), np.concatenate(group), np.concatenate(scale)


def group_weights(packed, weight):
    """The weight of each packed group: the mean weight of its rows of
    positive weight (0 when it has none).

    Parameters
    ----------
    packed : PackedGroups
    weight : ndarray of shape (n_samples,)
        Validated sample weights.

    Returns
    -------
    ndarray of shape (n_groups,)
    """
    rows = packed.take(weight)
    count = (rows > 0).sum(axis=1)
    return rows.sum(axis=1) / np.maximum(count, 1)


def pair_weights(packed, weight, pairs, group):
    """The weight ``w_a w_b / w̄`` of each pair of rows of a packed group.

    ``w̄`` is the group's weight (:func:`group_weights`): a weight ``c`` on
    every row of a group weighs each of its pairs ``c``, and within one group
    an integer weight ``k`` is the row repeated ``k`` times (up to a factor
    common to the group's pairs).

    Parameters
    ----------
    packed : PackedGroups
    weight : ndarray of shape (n_samples,)
        Validated sample weights.
    pairs : ndarray of shape (n_pairs, 2)
        Rows of each pair (as from :func:`enumerate_pairs`).
    group : ndarray of shape (n_pairs,)
        Index of each pair's group in ``packed``.

    Returns
    -------
    ndarray of shape (n_pairs,)
    """
    mean = group_weights(packed, weight)[group]
    product = weight[pairs[:, 0]] * weight[pairs[:, 1]]
    return np.divide(product, mean, out=np.zeros_like(product), where=mean > 0)


def indicator_items(X):
    """The item of each row when ``X`` has one indicator column per item
    (every row a single 1, the rest 0), else ``None``."""
    if sp.issparse(X):
        X = X.tocsr()
        if X.shape[0] == 0 or np.any(np.diff(X.indptr) != 1) or np.any(X.data != 1):
            return None
        return X.indices.astype(np.int64, copy=False)
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] < 2:
        return None
    if np.count_nonzero(X[0]) != 1:
        return None
    items = np.argmax(X != 0, axis=1)
    if not np.array_equal(X[np.arange(X.shape[0]), items], np.ones(X.shape[0])):
        return None
    if np.count_nonzero(X) != X.shape[0]:
        return None
    return items


def disconnected_items(X, grades, index, mask):
    """Strongly connected parts of the comparison graph of indicator rows.

    ``index`` and ``mask`` lay the rows out by group (``(n_units, length)``,
    as :func:`pack_groups` or the pair units do), each unit sorted by grade.
    An edge goes from each item to every item it beat in a unit (both ways
    for a tie); consecutive rows of a sorted unit carry the same
    reachability. Returns ``None`` when ``X`` is not one indicator column
    per item, else a list of arrays of column indices, one per part (one
    part: connected). Items that never appear in a unit are parts of their
    own.
    """
    items = indicator_items(X)
    if items is None:
        return None
    grades = np.asarray(grades)
    first, second = index[:, :-1], index[:, 1:]
    real = mask[:, :-1] & mask[:, 1:]
    above = real & (grades[first] >= grades[second])
    below = real & (grades[first] <= grades[second])
    sources = np.concatenate([first[above], second[below]])
    targets = np.concatenate([second[above], first[below]])
    n_items = X.shape[1]
    graph = sp.coo_matrix(
        (np.ones(sources.size), (items[sources], items[targets])),
        shape=(n_items, n_items),
    )
    _, labels = connected_components(graph, directed=True, connection="strong")
    return [np.flatnonzero(labels == k) for k in np.unique(labels)]


def warn_if_disconnected(X, grades, index, mask, names=None, where="fit"):
    """Warn (:class:`~skalign.exceptions.DisconnectedComparisonsWarning`)
    when indicator-coded items are not all strongly connected by the
    comparisons (see :func:`disconnected_items`), naming the parts (the
    first few items of each)."""
    parts = disconnected_items(X, grades, index, mask)
    if parts is None or len(parts) < 2:
        return
    names = np.asarray(
        [f"x{j}" for j in range(X.shape[1])] if names is None else names, dtype=str
    )
    parts = sorted(parts, key=len, reverse=True)
    shown = "; ".join(
        "{" + ", ".join(names[part[:5]]) + (", ..." if part.size > 5 else "") + "}"
        for part in parts[:4]
    )
    more = f" and {len(parts) - 4} more" if len(parts) > 4 else ""
    warnings.warn(
        f"{where}: the items (one indicator column each) fall into {len(parts)} "
        f"parts that the comparisons do not link both ways: {shown}{more}. "
        "Between such parts one side always won, so the maximum-likelihood "
        "strengths do not exist (they diverge, and so does the fit); add "
        "comparisons linking the parts, or fit with alpha > 0.",
        DisconnectedComparisonsWarning,
        stacklevel=3,
    )


#: Parameter spread beyond which a fit is checked for disconnected items:
#: along a direction with no finite optimum, the convergence test stops only
#: once the objective stops moving (``tol³``), some 20 or more apart.
DIVERGED_SPREAD = 15.0


def warn_if_diverged_items(estimator, X, y, groups, where):
    """After an unpenalised likelihood fit whose parameters spread beyond
    :data:`DIVERGED_SPREAD` (well-posed item strengths rarely do), name the
    disconnected parts of indicator-coded items, if any
    (:func:`warn_if_disconnected`). Costs nothing on well-posed fits."""
    if not hasattr(estimator, "log_likelihood_"):
        return
    # The scorer's own weights: parameters_ leaves out those whose curvature
    # vanished, which diverging strengths are.
    module = estimator.net_.module_
    scorer = module if hasattr(module, "linear") else getattr(module, "scorer", None)
    weight = getattr(getattr(scorer, "linear", None), "weight", None)
    if weight is None or weight.numel() < 2:
        return
    if float((weight.max() - weight.min()).detach()) <= DIVERGED_SPREAD:
        return
    X = check_array(from_torch(X, "X"), accept_sparse="csr", dtype=None)
    if X.dtype.kind not in "biuf":
        return
    grades = check_grades(y)
    try:
        packed = pack_groups(grades, groups, keep_tied_groups=True)
    except ValueError:
        return
    names = getattr(estimator, "feature_names_in_", None)
    warn_if_disconnected(X, grades, packed.index, packed.mask, names, where)


def check_users(users, n_samples, *, groups=None, comparisons=True):
    """Validate per-row user (judge) ids and return their codes.

    Parameters
    ----------
    users : array-like of shape (n_samples,)
        User id of each row (ints or strings).
    n_samples : int
        Number of rows of ``X``.
    groups : array-like of shape (n_samples,), default=None
        Every group must have a single user (a comparison is made by one
        judge); ``None`` is one group, so all rows must then have one user.
    comparisons : bool, default=True
        Whether the rows are comparisons whose groups must each have one
        user; ``False`` (rows to predict) ignores ``groups``.

    Returns
    -------
    codes : ndarray of shape (n_samples,), dtype int64
    uniques : ndarray
        The distinct user ids, in the order of their codes.
    """
    users = np.asarray(from_torch(users, "users"))
    if users.ndim == 2 and users.shape[1] == 1:
        users = users.ravel()
    if users.ndim != 1:
        raise ValueError(
            f"users must be 1-dimensional; got an array of shape {users.shape}."
        )
    if users.shape[0] != n_samples:
        raise ValueError(
            f"users has {users.shape[0]} entries but X has {n_samples} rows; "
            "give the user id of every row."
        )
    if users.dtype.kind == "f" and not np.all(np.isfinite(users)):
        raise ValueError("users contains NaN or infinity; every row needs a user.")
    if users.dtype.kind == "O" and any(
        u is None or (isinstance(u, float) and u != u) for u in users
    ):
        raise ValueError("users contains missing values; every row needs a user.")
    if users.dtype.kind not in "iufUSO":
        raise ValueError(
            f"users must hold integer or string ids; got dtype {users.dtype}."
        )
    try:
        uniques, codes = np.unique(users, return_inverse=True)
    except TypeError as exc:
        raise ValueError(
            "users mixes ids of types that cannot be compared (e.g. ints and "
            "strings); use one type."
        ) from exc
    codes = codes.ravel().astype(np.int64)
    if not comparisons:
        return codes, uniques
    if groups is None and len(uniques) > 1:
        raise ValueError(
            "users names several users but groups is None, which makes all "
            "rows one comparison; give the groups (comparisons) of the rows."
        )
    if groups is not None:
        group_codes, _ = check_groups(groups, n_samples)
        pairs = np.unique(np.column_stack([group_codes, codes]), axis=0)
        if len(pairs) != len(np.unique(group_codes)):
            raise ValueError(
                "Every comparison (group) must be made by one user, but some "
                "groups have rows of several users; check groups and users."
            )
    return codes, uniques
