"""Converters from common preference formats to skalign's long format."""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_array, check_consistent_length

from ._groups import check_sample_weight
from ._validation import accepts_tensors

__all__ = ["comparisons_to_long", "pairs_to_long"]


def _interleave(first, second):
    """Rows ``first[0], second[0], first[1], second[1], ...``."""
    if sp.issparse(first) or sp.issparse(second):
        stacked = sp.vstack([sp.csr_matrix(first), sp.csr_matrix(second)]).tocsr()
        n = first.shape[0]
        order = np.column_stack([np.arange(n), np.arange(n) + n]).ravel()
        return stacked[order]
    out = np.empty(
        (2 * first.shape[0], first.shape[1]), dtype=np.result_type(first, second)
    )
    out[0::2], out[1::2] = first, second
    return out


def _row_weights(sample_weight, n_pairs):
    """A weight per pair, validated, written on both rows of its group."""
    weight = check_sample_weight(sample_weight, n_pairs)
    return np.repeat(weight, 2)


@accepts_tensors
def pairs_to_long(X_a, X_b, outcome, *, sample_weight=None):
    """Wide pair data to the long format ``(X, y, groups)``.

    Pair ``i`` becomes group ``i`` with two rows: ``X_a[i]`` graded
    ``outcome[i]`` and ``X_b[i]`` graded ``1 - outcome[i]``.

    Parameters
    ----------
    X_a, X_b : {array-like, sparse matrix} of shape (n_pairs, n_features)
        Features of the two items of each pair.
    outcome : array-like of shape (n_pairs,)
        1 if ``a`` won, 0 if ``b`` won, 0.5 for a tie.
    sample_weight : array-like of shape (n_pairs,), default=None
        A count or weight per pair (how often that outcome was observed).
        When given, it is also returned, written on both rows of each pair:
        the way :ref:`sample_weights` weighs a comparison by its count.

    Returns
    -------
    X : {ndarray, sparse matrix} of shape (2 * n_pairs, n_features)
    y : ndarray of shape (2 * n_pairs,)
    groups : ndarray of shape (2 * n_pairs,)
    sample_weight : ndarray of shape (2 * n_pairs,)
        Only when ``sample_weight`` is given: pair ``i``'s weight on both of
        its rows, to pass to ``fit(..., sample_weight=...)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.utils import pairs_to_long
    >>> X, y, groups = pairs_to_long(np.eye(2), np.ones((2, 2)), [1, 0.5])
    >>> y, groups
    (array([1. , 0. , 0.5, 0.5]), array([0, 0, 1, 1]))

    Counts of identical comparisons, as weights:

    >>> X, y, groups, weight = pairs_to_long(
    ...     np.eye(2), np.ones((2, 2)), [1, 0], sample_weight=[30, 12]
    ... )
    >>> weight
    array([30., 30., 12., 12.])
    """
    X_a = check_array(X_a, accept_sparse="csr", input_name="X_a")
    X_b = check_array(X_b, accept_sparse="csr", input_name="X_b")
    outcome = check_array(outcome, ensure_2d=False, input_name="outcome")
    if outcome.ndim != 1:
        raise ValueError(f"outcome must be 1-dimensional; got shape {outcome.shape}.")
    check_consistent_length(X_a, X_b, outcome)
    if X_a.shape[1] != X_b.shape[1]:
        raise ValueError(
            f"X_a and X_b must have the same number of features; got "
            f"{X_a.shape[1]} and {X_b.shape[1]}."
        )
    if not np.all(np.isin(outcome, (0.0, 0.5, 1.0))):
        raise ValueError(
            "outcome must be 1 (a wins), 0 (b wins) or 0.5 (tie); got "
            f"{np.unique(outcome[~np.isin(outcome, (0.0, 0.5, 1.0))])[:5]}."
        )
    n = outcome.shape[0]
    y = np.column_stack([outcome, 1.0 - outcome]).ravel()
    long = (_interleave(X_a, X_b), y, np.repeat(np.arange(n), 2))
    if sample_weight is None:
        return long
    return (*long, _row_weights(sample_weight, n))


@accepts_tensors
def comparisons_to_long(item_features, comparisons, *, sample_weight=None):
    """choix-style ``(winner, loser)`` rows to the long format ``(X, y, groups)``.

    Comparison ``i`` becomes group ``i``: the winner's features graded 1 and
    the loser's graded 0. For featureless item-strength models pass
    ``item_features=scipy.sparse.identity(n_items)`` and fit with a
    :class:`~skalign.nn.LinearScorer`.

    Parameters
    ----------
    item_features : {array-like, sparse matrix} of shape (n_items, n_features)
        One row per item.
    comparisons : array-like of shape (n_comparisons, 2)
        Integer item ids, winner first.
    sample_weight : array-like of shape (n_comparisons,), default=None
        A count or weight per comparison (how often that winner beat that
        loser), for tables of counts. When given, it is also returned,
        written on both rows of each comparison: the way
        :ref:`sample_weights` weighs a comparison by its count.

    Returns
    -------
    X : {ndarray, sparse matrix} of shape (2 * n_comparisons, n_features)
    y : ndarray of shape (2 * n_comparisons,)
    groups : ndarray of shape (2 * n_comparisons,)
    sample_weight : ndarray of shape (2 * n_comparisons,)
        Only when ``sample_weight`` is given: comparison ``i``'s weight on
        both of its rows, to pass to ``fit(..., sample_weight=...)``.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from skalign.utils import comparisons_to_long
    >>> X, y, groups = comparisons_to_long(sp.identity(3), [(0, 1), (2, 0)])
    >>> X.toarray()[:2], y[:2]
    (array([[1., 0., 0.],
           [0., 1., 0.]]), array([1., 0.]))

    A table of counts: item 0 beat item 1 five times and lost to it twice.

    >>> X, y, groups, weight = comparisons_to_long(
    ...     sp.identity(3), [(0, 1), (1, 0)], sample_weight=[5, 2]
    ... )
    >>> weight
    array([5., 5., 2., 2.])
    """
    items = check_array(item_features, accept_sparse="csr", input_name="item_features")
    comparisons = np.asarray(comparisons)
    if comparisons.ndim != 2 or comparisons.shape[1] != 2:
        raise ValueError(
            "comparisons must have shape (n_comparisons, 2) with (winner, loser) "
            f"item ids; got shape {comparisons.shape}."
        )
    if comparisons.shape[0] == 0:
        raise ValueError("comparisons is empty; at least one comparison is needed.")
    if comparisons.dtype.kind not in "iu":
        if comparisons.dtype.kind != "f" or not np.all(
            np.isfinite(comparisons) & (comparisons == np.round(comparisons))
        ):
            raise ValueError("comparisons must hold integer item ids.")
        comparisons = comparisons.astype(np.int64)
    n_items = items.shape[0]
    bad = (comparisons < 0) | (comparisons >= n_items)
    if bad.any():
        raise ValueError(
            f"comparisons reference item ids outside [0, {n_items}) "
            f"(item_features has {n_items} rows): {np.unique(comparisons[bad])[:5]}."
        )
    flat = comparisons.ravel()
    n = comparisons.shape[0]
    y = np.tile([1.0, 0.0], n)
    long = (items[flat], y, np.repeat(np.arange(n), 2))
    if sample_weight is None:
        return long
    return (*long, _row_weights(sample_weight, n))
