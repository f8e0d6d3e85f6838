"""Metrics of per-user (pluralistic) preferences and of ranking accuracy."""

import numpy as np
from sklearn.utils.validation import check_array, check_consistent_length

from ..utils._groups import (
    check_grades,
    check_sample_weight,
    check_users,
    enumerate_pairs,
    pack_groups,
    pair_weights,
)
from ..utils._validation import accepts_tensors

__all__ = ["per_user_pairwise_accuracy", "ranking_accuracy"]


def _ordered_pairs(y_true, y_score, groups, sample_weight, name="y_score"):
    """Grade-ordered pairs (winner first), their weights and validated
    scores."""
    y_true = check_grades(y_true, name="y_true")
    y_score = check_array(y_score, ensure_2d=False, dtype=np.float64, input_name=name)
    if y_score.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional; got shape {y_score.shape}.")
    check_consistent_length(y_true, y_score)
    weight = check_sample_weight(sample_weight, y_true.shape[0])
    packed = pack_groups(y_true, groups)
    pairs, group, _ = enumerate_pairs(packed, y_true)
    return y_score, pairs, pair_weights(packed, weight, pairs, group)


@accepts_tensors
def per_user_pairwise_accuracy(
    y_true, y_score, *, groups=None, users, sample_weight=None
):
    """Pairwise accuracy of each user's comparisons, user by user.

    For each user, :func:`pairwise_accuracy` over the grade-ordered pairs of
    that user's groups (1 when the preferred row has the higher score, 1/2
    on a score tie, with the pair weights of training). Its distribution
    over users shows what a pooled accuracy hides: a single reward can be
    right for most users and wrong for a minority whose preferences differ.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Grades, higher is better.
    y_score : array-like of shape (n_samples,)
        Each row's score for its user (e.g.
        ``PluralisticRewardModel.predict(X, users=users)``).
    groups : array-like of shape (n_samples,), default=None
        Group id per row; every group must have one user.
    users : array-like of shape (n_samples,)
        The user of each row.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative row weights.

    Returns
    -------
    users : ndarray of shape (n_users,)
        The distinct user ids, sorted.
    accuracy : ndarray of shape (n_users,)
        Each user's accuracy; NaN for a user without a weighted, untied pair.

    Examples
    --------
    >>> from skalign.metrics import per_user_pairwise_accuracy
    >>> ids, acc = per_user_pairwise_accuracy(
    ...     [1, 0, 1, 0, 1, 0], [2.0, 1.0, 0.0, 1.0, 3.0, 0.0],
    ...     groups=[0, 0, 1, 1, 2, 2], users=["a", "a", "b", "b", "b", "b"])
    >>> ids, acc
    (array(['a', 'b'], dtype='<U1'), array([1. , 0.5]))
    """
    y_score, pairs, pair_weight = _ordered_pairs(y_true, y_score, groups, sample_weight)
    codes, ids = check_users(users, y_score.shape[0], groups=groups)
    gap = y_score[pairs[:, 0]] - y_score[pairs[:, 1]]
    agree = np.where(gap > 0, 1.0, np.where(gap == 0, 0.5, 0.0))
    user = codes[pairs[:, 0]]
    correct = np.bincount(user, weights=pair_weight * agree, minlength=len(ids))
    total = np.bincount(user, weights=pair_weight, minlength=len(ids))
    accuracy = np.divide(correct, total, out=np.full(len(ids), np.nan), where=total > 0)
    return ids, accuracy


@accepts_tensors
def ranking_accuracy(
    y_true,
    y_score,
    *,
    groups=None,
    reference_log_proba=None,
    beta=1.0,
    sample_weight=None,
):
    """Ranking accuracy: how often the preferred row is scored strictly higher.

    In the sense of Chen et al. (2024), "Preference Learning Algorithms Do
    Not Learn Preference Rankings": the weighted fraction of grade-ordered
    pairs ``(w, l)`` of a group with ``s_w > s_l``, a tie counting as wrong
    (unlike :func:`pairwise_accuracy`, which counts it 1/2). For a policy,
    ``s`` is its log-likelihood of each response. For a reward model ``r``,
    give the reference policy's log-likelihoods as ``reference_log_proba``:
    the score is then ``log π_ref + r / β``, the log-likelihood (up to the
    prompt's normaliser, which cancels within a group) of the policy
    ``π ∝ π_ref exp(r / β)`` that maximises the KL-regularised reward
    (RLHF's and DPO's optimum). With the true reward, this is the paper's
    idealised ranking accuracy.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Grades, higher is better; a group is one prompt's responses.
    y_score : array-like of shape (n_samples,)
        Rewards (or a policy's log-likelihoods, without
        ``reference_log_proba``).
    groups : array-like of shape (n_samples,), default=None
        Group id per row; ``None`` compares all rows with each other.
    reference_log_proba : array-like of shape (n_samples,), default=None
        The reference policy's log-likelihood of each row.
    beta : float, default=1.0
        The KL strength ``β`` of the implied policy (only with
        ``reference_log_proba``).
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative row weights, as in :func:`pairwise_accuracy`.

    Returns
    -------
    accuracy : float
        In [0, 1]; 0 for constant scores.

    Examples
    --------
    >>> from skalign.metrics import ranking_accuracy
    >>> ranking_accuracy([1, 0, 1, 0], [2.0, 1.0, 0.5, 0.5], groups=[0, 0, 1, 1])
    0.5
    >>> ranking_accuracy([1, 0, 1, 0], [2.0, 1.0, 0.5, 0.5], groups=[0, 0, 1, 1],
    ...                  reference_log_proba=[-5.0, -1.0, -3.0, -4.0])
    0.5
    """
    if not (np.isscalar(beta) and np.isfinite(beta) and beta > 0):
        raise ValueError(f"beta must be a positive finite number; got {beta!r}.")
    y_score, pairs, pair_weight = _ordered_pairs(y_true, y_score, groups, sample_weight)
    if reference_log_proba is not None:
        reference = check_array(
            reference_log_proba,
            ensure_2d=False,
            dtype=np.float64,
            input_name="reference_log_proba",
        )
        if reference.shape != y_score.shape:
            raise ValueError(
                f"reference_log_proba has shape {reference.shape} but y_score "
                f"has {y_score.shape}; give one log-likelihood per row."
            )
        y_score = reference + y_score / beta
    if pair_weight.sum() == 0:
        raise ValueError(
            "sample_weight is zero on every pair of rows with different grades; "
            "ranking accuracy is undefined."
        )
    won = y_score[pairs[:, 0]] > y_score[pairs[:, 1]]
    return float(np.average(won, weights=pair_weight))
