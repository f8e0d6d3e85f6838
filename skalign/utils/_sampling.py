"""Rankings within groups: deterministic, and sampled from Plackett–Luce."""

import numpy as np

__all__ = ["gumbel_rankings", "rank_within_groups"]


def _group_starts(codes):
    counts = np.bincount(codes)
    return np.concatenate([[0], np.cumsum(counts)[:-1]])


def rank_within_groups(scores, codes):
    """1-based rank of each row within its group, by decreasing score.

    Vectorised with one stable ``lexsort``: tied scores keep their row order.

    Parameters
    ----------
    scores : ndarray of shape (..., n_samples)
        Leading axes are independent score vectors (e.g. one per sample).
    codes : ndarray of shape (n_samples,)
        Integer group codes in ``[0, n_groups)``.

    Returns
    -------
    ranks : int64 ndarray of the shape of ``scores``
    """
    scores = np.asarray(scores)
    codes_b = np.broadcast_to(codes, scores.shape)
    order = np.lexsort((-scores, codes_b), axis=-1)
    starts = _group_starts(codes)
    sorted_codes = np.take_along_axis(codes_b, order, axis=-1)
    position = np.arange(scores.shape[-1]) - starts[sorted_codes] + 1
    ranks = np.empty(scores.shape, dtype=np.int64)
    np.put_along_axis(ranks, order, position, axis=-1)
    return ranks


def gumbel_rankings(scores, codes, n_samples, random_state):
    """Rankings drawn exactly from Plackett–Luce with log-strengths ``scores``.

    Sorting ``scores + Gumbel noise`` within each group gives a ranking with
    the Plackett–Luce distribution (the Gumbel-max trick; Yellott, 1977).

    Parameters
    ----------
    scores : ndarray of shape (n_samples,)
    codes : ndarray of shape (n_samples,)
    n_samples : int
        Number of rankings to draw.
    random_state : numpy.random.RandomState

    Returns
    -------
    ranks : int64 ndarray of shape (n_samples, len(scores))
    """
    noise = random_state.gumbel(size=(n_samples, scores.shape[0]))
    return rank_within_groups(scores[None, :] + noise, codes)
