"""Metrics on grouped scores."""

import numpy as np
from sklearn.utils.validation import check_array, check_consistent_length

from ..utils._groups import (
    check_grades,
    check_sample_weight,
    enumerate_pairs,
    group_weights,
    pack_groups,
    pair_weights,
)
from ..utils._validation import accepts_tensors

__all__ = ["pairwise_accuracy", "preference_log_loss"]

# Pairs examined at once; bounds memory for one very long group.
_PAIR_BLOCK = 1 << 22


@accepts_tensors
def pairwise_accuracy(y_true, y_score, *, groups=None, sample_weight=None):
    """Fraction of grade-ordered pairs within groups that the scores order right.

    Over every pair of rows of a group with different grades, a pair counts 1
    when the higher-graded row has the higher score, 0 when it has the lower
    score, and 1/2 when the scores tie. Pairs with tied grades are excluded;
    single-row and all-tied groups contribute nothing. Pairs are weighted as
    the reward models weigh them in training: a group weighs the mean
    ``sample_weight`` ``w̄`` of its rows (of positive weight), and a pair of
    its rows ``a, b`` weighs ``w_a w_b / w̄`` (see :ref:`sample_weights`).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Grades, higher is better.
    y_score : array-like of shape (n_samples,)
        Predicted scores (rewards).
    groups : array-like of shape (n_samples,), default=None
        Group id per row; ``None`` compares all rows with each other.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative row weights; a weight ``c`` on every row of a group
        counts the group ``c`` times.

    Returns
    -------
    accuracy : float
        In [0, 1]; 0.5 for constant scores.

    Examples
    --------
    >>> from skalign.metrics import pairwise_accuracy
    >>> pairwise_accuracy([2, 1, 0, 1, 0], [0.9, 0.5, 0.1, 0.2, 0.3],
    ...                   groups=[0, 0, 0, 1, 1])
    0.75
    """
    y_true = check_grades(y_true, name="y_true")
    y_score = check_array(
        y_score, ensure_2d=False, dtype=np.float64, input_name="y_score"
    )
    if y_score.ndim != 1:
        raise ValueError(f"y_score must be 1-dimensional; got shape {y_score.shape}.")
    check_consistent_length(y_true, y_score)
    weight = check_sample_weight(sample_weight, y_true.shape[0])
    packed = pack_groups(y_true, groups)
    grades, scores, w = (packed.take(a) for a in (y_true, y_score, weight))
    mean = group_weights(packed, weight)
    # w_a w_b / w̄ as (w_a / w̄) w_b; a group without weight has w = 0.
    scaled = np.divide(w, mean[:, None], out=np.zeros_like(w), where=mean[:, None] > 0)
    n_groups, max_len = grades.shape
    # Blocks of groups, and of first positions within a group, so that a
    # block holds about _PAIR_BLOCK pairs however long the groups are.
    rows_per_block = max(1, _PAIR_BLOCK // max_len)
    groups_per_block = max(1, rows_per_block // max_len)
    correct = total = 0.0
    for g in range(0, n_groups, groups_per_block):
        gs = slice(g, g + groups_per_block)
        for r in range(0, max_len, rows_per_block):
            rs = slice(r, r + rows_per_block)
            grade_gap = grades[gs, rs, None] - grades[gs, None, :]
            score_gap = scores[gs, rs, None] - scores[gs, None, :]
            pair_w = np.where(grade_gap > 0, scaled[gs, rs, None] * w[gs, None, :], 0.0)
            agree = np.where(score_gap > 0, 1.0, np.where(score_gap == 0, 0.5, 0.0))
            correct += float((pair_w * agree).sum())
            total += float(pair_w.sum())
    if total == 0:
        raise ValueError(
            "sample_weight is zero on every pair of rows with different grades; "
            "pairwise accuracy is undefined."
        )
    return correct / total


@accepts_tensors
def preference_log_loss(y_true, y_score, *, groups=None, sample_weight=None):
    """Mean Bradley–Terry log-loss of scores on grade-ordered pairs.

    ``mean_{(w, l)} -log σ(s_w - s_l)`` over every pair of rows of a group
    with grade ``w`` above grade ``l``, with the pair weights of training (a
    group weighs the mean ``sample_weight`` of its rows, see
    :func:`pairwise_accuracy`): the negative log-likelihood of the pair outcomes under
    ``P(w ≻ l) = σ(s_w - s_l)`` (what
    :class:`~skalign.preference.PreferenceRewardRegressor` minimises). Tied
    pairs are excluded. Computed as ``log(1 + exp(-(s_w - s_l)))``, finite for
    any finite scores.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Grades, higher is better.
    y_score : array-like of shape (n_samples,)
        Predicted scores (rewards, pair logits are their differences).
    groups : array-like of shape (n_samples,), default=None
        Group id per row; ``None`` compares all rows with each other.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative row weights; a weight ``c`` on every row of a group
        counts the group ``c`` times.

    Returns
    -------
    loss : float
        ``log(2)`` for constant scores; lower is better.

    Examples
    --------
    >>> from skalign.metrics import preference_log_loss
    >>> round(preference_log_loss([1, 0, 1, 0], [2.0, 0.0, 0.0, 0.0],
    ...                           groups=[0, 0, 1, 1]), 4)
    0.41
    """
    y_true = check_grades(y_true, name="y_true")
    y_score = check_array(
        y_score, ensure_2d=False, dtype=np.float64, input_name="y_score"
    )
    if y_score.ndim != 1:
        raise ValueError(f"y_score must be 1-dimensional; got shape {y_score.shape}.")
    check_consistent_length(y_true, y_score)
    weight = check_sample_weight(sample_weight, y_true.shape[0])
    packed = pack_groups(y_true, groups)
    pairs, group, _ = enumerate_pairs(packed, y_true)
    pair_weight = pair_weights(packed, weight, pairs, group)
    if pair_weight.sum() == 0:
        raise ValueError(
            "sample_weight is zero on every pair of rows with different grades; "
            "the preference log-loss is undefined."
        )
    margin = y_score[pairs[:, 0]] - y_score[pairs[:, 1]]
    return float(np.average(np.logaddexp(0.0, -margin), weights=pair_weight))
