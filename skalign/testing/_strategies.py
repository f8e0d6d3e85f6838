"""Hypothesis strategies for skalign's data formats.

Every strategy draws data that skalign's estimators accept as they are:
finite features, grades and group ids in the long format of
:doc:`/data_formats`, at least one informative group, sensitive attributes
without missing values or constant columns, and every class present in the
labels of a calibration set.
"""

import numbers

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

__all__ = [
    "logits_and_labels",
    "preference_data",
    "ranking_data",
    "sensitive_features",
]

_DTYPES = ("float64", "float32")


def _bounds(value, name, minimum):
    """``value`` (an int or an ``(low, high)`` pair) as ``(low, high)``."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        low = high = int(value)
    elif (
        isinstance(value, tuple)
        and len(value) == 2
        and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value
        )
    ):
        low, high = int(value[0]), int(value[1])
    else:
        raise TypeError(
            f"{name} must be an int or a (low, high) tuple of ints; got {value!r}."
        )
    if low < minimum or high < low:
        raise ValueError(
            f"{name} must lie in [{minimum}, inf) with low <= high; got {value!r}."
        )
    return low, high


def _check_choice(value, name, options):
    if value not in options:
        raise ValueError(f"{name} must be one of {options}; got {value!r}.")


def _check_max_abs(max_abs):
    if not (isinstance(max_abs, numbers.Real) and 0 < max_abs < np.inf):
        raise ValueError(f"max_abs must be a positive finite number; got {max_abs!r}.")


def _features(draw, n_rows, n_features, max_abs, dtype, *, unique_rows=False):
    """An ``(n_rows, n_features)`` matrix of finite, bounded features."""
    width = 32 if dtype == "float32" else 64
    bound = float(np.float32(max_abs)) if width == 32 else float(max_abs)
    elements = st.floats(
        -bound,
        bound,
        allow_nan=False,
        allow_infinity=False,
        allow_subnormal=False,
        width=width,
    )
    if not unique_rows:
        return draw(arrays(dtype, (n_rows, n_features), elements=elements))
    # -0.0 == 0.0, so tuples are compared as numbers, as the rows will be.
    rows = st.tuples(*[elements.map(lambda v: v + 0.0)] * n_features)
    drawn = draw(st.lists(rows, min_size=n_rows, max_size=n_rows, unique=True))
    return np.array(drawn, dtype=dtype).reshape(n_rows, n_features)


def _finish(draw, X, y, pair_or_list, group_ids, shuffle):
    """Name the groups and, optionally, shuffle the rows."""
    if group_ids == "str":
        groups = np.array([f"g{i}" for i in pair_or_list], dtype=object)
    else:
        groups = pair_or_list.astype(np.int64)
    if shuffle:
        order = np.asarray(draw(st.permutations(range(X.shape[0]))), dtype=np.int64)
        X, y, groups = X[order], y[order], groups[order]
    return X, y, groups


@st.composite
def preference_data(
    draw,
    *,
    n_pairs=(2, 20),
    n_features=(1, 4),
    n_items=None,
    ties=False,
    cycles=False,
    max_abs=10.0,
    dtype="float64",
    group_ids="int",
    shuffle=True,
):
    """Pairwise preferences in the long format: groups of two rows.

    Each group compares two items of a pool of ``n_items`` distinct feature
    vectors (an item may appear in several pairs). The preferred row of a pair is
    graded 1 and the other 0; a tie grades both 0.5 (the convention of
    :func:`skalign.utils.pairs_to_long`). Without ``cycles`` the outcomes
    follow a hidden total order of the items, so the preferences are
    transitive; with ``cycles`` every outcome is drawn freely, so
    ``a ≻ b ≻ c ≻ a`` can occur. At least one pair is not a tie, so the data
    always carry a preference to learn from.

    Parameters
    ----------
    n_pairs : int or tuple of (int, int), default=(2, 20)
        Number of pairs (groups), or the ``(low, high)`` range it is drawn
        from.
    n_features : int or tuple of (int, int), default=(1, 4)
        Number of feature columns, or its range.
    n_items : int or tuple of (int, int), default=None
        Size of the item pool, or its range (at least 2); ``None`` draws it
        between 2 and twice the number of pairs.
    ties : bool, default=False
        Whether pairs may be ties.
    cycles : bool, default=False
        Whether the outcomes may be intransitive.
    max_abs : float, default=10.0
        Bound on the absolute value of the features.
    dtype : {"float64", "float32"}, default="float64"
        dtype of ``X``.
    group_ids : {"int", "str"}, default="int"
        Integer group ids, or strings (``"g0"``, ...).
    shuffle : bool, default=True
        Shuffle the rows, so that the two rows of a group are generally not
        adjacent (the long format does not require them to be).

    Returns
    -------
    strategy : SearchStrategy of (X, y, groups)
        ``X`` of shape ``(2 * n_pairs, n_features)``, ``y`` float64 grades
        and ``groups`` one id per row.

    See Also
    --------
    ranking_data : Lists of any length, with ties and partial rankings.
    check_reward_model_invariances : Invariances to test on such data.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from skalign.testing import preference_data
    >>> @settings(max_examples=5, deadline=None)
    ... @given(preference_data(n_pairs=(2, 5), ties=True))
    ... def test_two_rows_per_group(data):
    ...     X, y, groups = data
    ...     assert X.shape[0] == 2 * len(set(groups))
    >>> test_two_rows_per_group()
    """
    _check_choice(dtype, "dtype", _DTYPES)
    _check_choice(group_ids, "group_ids", ("int", "str"))
    _check_max_abs(max_abs)
    m = draw(st.integers(*_bounds(n_pairs, "n_pairs", 1)))
    k = draw(st.integers(*_bounds(n_features, "n_features", 1)))
    pool = (2, max(2, 2 * m)) if n_items is None else _bounds(n_items, "n_items", 2)
    n_pool = draw(st.integers(*pool))
    items = _features(draw, n_pool, k, max_abs, dtype, unique_rows=True)
    ids = st.lists(st.integers(0, n_pool - 1), min_size=m, max_size=m)
    offsets = st.lists(st.integers(1, n_pool - 1), min_size=m, max_size=m)
    first = np.asarray(draw(ids), dtype=np.int64)
    second = (first + np.asarray(draw(offsets), dtype=np.int64)) % n_pool
    if cycles:
        first_wins = np.asarray(
            draw(st.lists(st.booleans(), min_size=m, max_size=m)), dtype=bool
        )
    else:
        rank = np.asarray(draw(st.permutations(range(n_pool))), dtype=np.int64)
        first_wins = rank[first] < rank[second]
    tied = np.zeros(m, dtype=bool)
    if ties:
        tied = np.asarray(
            draw(st.lists(st.booleans(), min_size=m, max_size=m)), dtype=bool
        )
        # One untied pair keeps the data informative.
        tied[0] = False
    grade_first = np.where(tied, 0.5, first_wins.astype(np.float64))
    grade_second = np.where(tied, 0.5, 1.0 - grade_first)
    X = items[np.column_stack([first, second]).ravel()]
    y = np.column_stack([grade_first, grade_second]).ravel()
    return _finish(draw, X, y, np.repeat(np.arange(m), 2), group_ids, shuffle)


@st.composite
def ranking_data(
    draw,
    *,
    n_lists=(1, 8),
    list_size=(2, 6),
    n_features=(1, 4),
    ties=True,
    partial=True,
    max_abs=10.0,
    dtype="float64",
    group_ids="int",
    shuffle=True,
):
    """Graded lists in the long format, with ties and partial rankings.

    Each list (group) has ``list_size`` rows (or a length drawn from that
    range); grades are
    non-negative integers (stored as float64), higher ranking first, so they
    also serve as the gains of :func:`skalign.metrics.grouped_ndcg_score`.

    - A **full** list grades its rows by a random order (with ``ties``,
      equal grades may occur).
    - A **partial** (top-``k``) list, with ``partial`` and at least three
      rows, ranks only its first ``k`` rows (``1 <= k <= length - 2``),
      graded ``1, ..., k`` (or with ties among them), and grades every
      other row 0: the unranked rows tie at the bottom. This is how
      skalign represents a top-``k`` list in the long format: for
      :class:`~skalign.ranking.PlackettLuceRanker` with ``ties="breslow"``
      or ``"efron"`` a tied block at the bottom of a list is certain to come
      last and adds nothing, so its likelihood is that of the top-``k``
      ranking, with every row of the list in the denominators (as
      ``top_k=k`` gives for a fully ranked list).

    The first list always has two rows of different grades, so the data
    carry a ranking to learn from.

    Parameters
    ----------
    n_lists : int or tuple of (int, int), default=(1, 8)
        Number of lists (groups), or its range.
    list_size : int or tuple of (int, int), default=(2, 6)
        Rows per list, or the range each list's length is drawn from (at
        least 2).
    n_features : int or tuple of (int, int), default=(1, 4)
        Number of feature columns, or its range.
    ties : bool, default=True
        Whether rows of a list may share a grade.
    partial : bool, default=True
        Whether lists may be partial (top-``k``) rankings.
    max_abs : float, default=10.0
        Bound on the absolute value of the features.
    dtype : {"float64", "float32"}, default="float64"
        dtype of ``X``.
    group_ids : {"int", "str"}, default="int"
        Integer list ids, or strings (``"g0"``, ...).
    shuffle : bool, default=True
        Shuffle the rows, so that lists are interleaved.

    Returns
    -------
    strategy : SearchStrategy of (X, y, groups)

    See Also
    --------
    preference_data : Groups of two rows.
    check_ranker_invariances : Invariances to test on such data.

    Examples
    --------
    >>> import numpy as np
    >>> from hypothesis import given, settings
    >>> from skalign.testing import ranking_data
    >>> @settings(max_examples=5, deadline=None)
    ... @given(ranking_data(n_lists=3, list_size=(3, 5)))
    ... def test_grades_are_gains(data):
    ...     X, y, groups = data
    ...     assert np.all(y >= 0) and len(set(groups)) == 3
    >>> test_grades_are_gains()
    """
    _check_choice(dtype, "dtype", _DTYPES)
    _check_choice(group_ids, "group_ids", ("int", "str"))
    _check_max_abs(max_abs)
    n = draw(st.integers(*_bounds(n_lists, "n_lists", 1)))
    size_bounds = _bounds(list_size, "list_size", 2)
    k = draw(st.integers(*_bounds(n_features, "n_features", 1)))
    lengths = draw(st.lists(st.integers(*size_bounds), min_size=n, max_size=n))
    grades = [_list_grades(draw, length, ties, partial) for length in lengths]
    if grades[0].min() == grades[0].max():
        grades[0][0] += 1.0
    y = np.concatenate(grades)
    X = _features(draw, y.shape[0], k, max_abs, dtype)
    lists = np.repeat(np.arange(n), lengths)
    return _finish(draw, X, y, lists, group_ids, shuffle)


def _list_grades(draw, length, ties, partial):
    """Grades of one list: a full ranking, or a top-k one over a 0 block."""
    ranked = length
    if partial and length >= 3 and draw(st.booleans()):
        ranked = draw(st.integers(1, length - 2))
    if ties:
        top = draw(st.lists(st.integers(1, ranked), min_size=ranked, max_size=ranked))
    else:
        top = draw(st.permutations(range(1, ranked + 1)))
    top = np.asarray(top, dtype=np.float64)
    if ranked == length:
        # A full list needs no reserved bottom grade.
        return top - 1.0
    return np.concatenate([top, np.zeros(length - ranked)])


@st.composite
def sensitive_features(
    draw,
    n_samples,
    *,
    n_categorical=(0, 2),
    n_continuous=(0, 2),
    n_levels=(2, 4),
    as_frame=True,
):
    """Protected attributes of ``n_samples`` rows: categorical and continuous.

    Categorical attributes hold string levels (``"a"``, ``"b"``, ...) in a
    pandas ``category`` column, continuous ones floats in ``[0, 100]`` (an
    age, say). Every attribute takes at least two distinct values and none is
    missing, as :func:`skalign.fairness.encode_sensitive_features` requires;
    there is always at least one attribute.

    Parameters
    ----------
    n_samples : int
        Number of rows (at least 2).
    n_categorical : int or tuple of (int, int), default=(0, 2)
        Number of categorical attributes, or its range.
    n_continuous : int or tuple of (int, int), default=(0, 2)
        Number of continuous attributes, or its range.
    n_levels : int or tuple of (int, int), default=(2, 4)
        Levels of each categorical attribute, or their range (capped at
        ``n_samples``).
    as_frame : bool, default=True
        Return a DataFrame (columns ``"cat0"``, ... then ``"num0"``, ...).
        ``False`` returns a 1-D array when there is a single attribute and a
        2-D object array otherwise (the layout fairlearn also accepts).

    Returns
    -------
    strategy : SearchStrategy of DataFrame or ndarray

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from skalign.fairness import encode_sensitive_features
    >>> from skalign.testing import sensitive_features
    >>> @settings(max_examples=5, deadline=None)
    ... @given(sensitive_features(20, n_categorical=1, n_continuous=1))
    ... def test_encodable(s):
    ...     assert encode_sensitive_features(s).categorical == (True, False)
    >>> test_encodable()
    """
    import pandas as pd

    if not isinstance(n_samples, numbers.Integral) or n_samples < 2:
        raise ValueError(
            "n_samples must be an integer >= 2 (a sensitive attribute needs two "
            f"distinct values); got {n_samples!r}."
        )
    n_cat = draw(st.integers(*_bounds(n_categorical, "n_categorical", 0)))
    n_num = draw(st.integers(*_bounds(n_continuous, "n_continuous", 0)))
    low, high = _bounds(n_levels, "n_levels", 2)
    if n_cat + n_num == 0:
        n_cat = 1
    columns = {}
    for j in range(n_cat):
        levels = draw(st.integers(min(low, n_samples), min(high, n_samples)))
        codes = _non_constant(draw, st.integers(0, levels - 1), n_samples)
        names = np.array([chr(ord("a") + i) for i in range(levels)], dtype=object)
        columns[f"cat{j}"] = pd.Categorical(names[codes], categories=names)
    for j in range(n_num):
        value = st.floats(0.0, 100.0, allow_nan=False, allow_subnormal=False)
        columns[f"num{j}"] = _non_constant(draw, value, n_samples).astype(np.float64)
    frame = pd.DataFrame(columns)
    if as_frame:
        return frame
    if frame.shape[1] == 1:
        return frame.iloc[:, 0].to_numpy(dtype=object if n_cat else np.float64)
    return frame.to_numpy(dtype=object)


def _non_constant(draw, elements, n):
    """``n`` values of ``elements``, at least two of them distinct."""
    values = draw(st.lists(elements, min_size=n, max_size=n))
    if len(set(values)) < 2:
        # Replace one value rather than filter whole lists: hypothesis
        # shrinks towards constant lists, which a filter would keep rejecting.
        other = draw(elements.filter(lambda v: v != values[0]))
        values[draw(st.integers(0, n - 1))] = other
    return np.asarray(values)


@st.composite
def logits_and_labels(
    draw,
    *,
    n_samples=(10, 60),
    n_classes=(2, 4),
    binary_layout="any",
    max_abs=1e4,
    labels="int",
    dtype="float64",
    overlap=False,
):
    """Classifier logits and labels for fitting calibrators, up to extremes.

    The logits are bounded features scaled by a factor drawn up to
    ``max_abs``, so they range from nearly uniform predictions to extreme
    ones (``±1e4`` by default, where a naive ``exp`` overflows). Every class
    occurs at least once in the labels.

    Small calibration sets are often separable (a class can be told apart
    from the others by a linear function of the logits), and then the
    likelihood of a calibration map has no finite maximum: two fits stop at
    different places along the diverging direction. ``overlap=True`` rules
    this out, so that two fits can be compared (as
    :func:`check_calibrator_invariances` does): every row of logits also
    occurs once with each label.

    Parameters
    ----------
    n_samples : int or tuple of (int, int), default=(10, 60)
        Number of rows, or its range (raised to the number of classes).
    n_classes : int or tuple of (int, int), default=(2, 4)
        Number of classes, or its range (at least 2).
    binary_layout : {"any", "1d", "2d"}, default="any"
        For two classes: the positive class's log-odds as a 1-D array
        (``"1d"``), one logit column per class (``"2d"``), or either.
        Ignored for more classes, which always get one column each.
    max_abs : float, default=1e4
        Largest absolute logit.
    labels : {"int", "str"}, default="int"
        Labels ``0, ..., n_classes - 1``, or strings ``"c0"``, ...
    dtype : {"float64", "float32"}, default="float64"
        dtype of the logits.
    overlap : bool, default=False
        Append a copy of the rows for each class, labelled with that class,
        so that no class is separable: ``(n_classes + 1) * n_samples`` rows.

    Returns
    -------
    strategy : SearchStrategy of (logits, y)
        ``logits`` of shape ``(n_rows,)`` or ``(n_rows, n_columns)`` and
        ``y`` of shape ``(n_rows,)``.

    See Also
    --------
    check_calibrator_invariances : Invariances to test on such data.

    Examples
    --------
    >>> import numpy as np
    >>> from hypothesis import given, settings
    >>> from skalign.testing import logits_and_labels
    >>> @settings(max_examples=5, deadline=None)
    ... @given(logits_and_labels(n_classes=3))
    ... def test_every_class_occurs(data):
    ...     logits, y = data
    ...     assert logits.shape[1] == 3 and set(y) == {0, 1, 2}
    >>> test_every_class_occurs()
    """
    _check_choice(dtype, "dtype", _DTYPES)
    _check_choice(binary_layout, "binary_layout", ("any", "1d", "2d"))
    _check_choice(labels, "labels", ("int", "str"))
    _check_max_abs(max_abs)
    k = draw(st.integers(*_bounds(n_classes, "n_classes", 2)))
    low, high = _bounds(n_samples, "n_samples", 2)
    n = draw(st.integers(max(low, k), max(high, k)))
    codes = np.asarray(
        draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)), dtype=np.int64
    )
    # Every class at least once, at rows drawn by hypothesis.
    rows = np.asarray(draw(st.permutations(range(n))), dtype=np.int64)[:k]
    codes[rows] = np.arange(k)
    one_d = k == 2 and (
        binary_layout == "1d" or (binary_layout == "any" and draw(st.booleans()))
    )
    unit = _features(draw, n, 1 if one_d else k, 1.0, "float64")
    scale = draw(st.floats(1e-2, float(max_abs), allow_nan=False))
    logits = (scale * unit).astype(dtype)
    if overlap:
        logits = np.tile(logits, (k + 1, 1))
        codes = np.concatenate([codes, np.repeat(np.arange(k), n)])
    if one_d:
        logits = logits[:, 0]
    y = codes if labels == "int" else np.array([f"c{c}" for c in codes], dtype=object)
    return logits, y
