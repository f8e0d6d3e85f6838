"""Metrics for preferences, rankings, fairness and calibration."""

from ._calibration import (
    brier_score,
    calibration_report,
    expected_calibration_error,
    negative_log_likelihood,
    smooth_ece,
)
from ._fairness import (
    best_under_fairness_bound,
    conditional_distance_correlation,
    distance_correlation,
    group_js_divergence,
    make_fairness_scorer,
    unfairness_ratio,
)
from ._listwise import exposure_disparity, grouped_ndcg_score, make_grouped_scorer
from ._ordinal import ordinal_mae, ranked_probability_score
from ._pluralistic import per_user_pairwise_accuracy, ranking_accuracy
from ._ranking import pairwise_accuracy, preference_log_loss

__all__ = [
    "best_under_fairness_bound",
    "brier_score",
    "calibration_report",
    "conditional_distance_correlation",
    "distance_correlation",
    "expected_calibration_error",
    "exposure_disparity",
    "group_js_divergence",
    "grouped_ndcg_score",
    "make_fairness_scorer",
    "make_grouped_scorer",
    "negative_log_likelihood",
    "ordinal_mae",
    "pairwise_accuracy",
    "per_user_pairwise_accuracy",
    "preference_log_loss",
    "ranked_probability_score",
    "ranking_accuracy",
    "smooth_ece",
    "unfairness_ratio",
]
