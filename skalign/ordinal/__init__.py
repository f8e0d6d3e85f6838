"""Ordinal and distributional predictors.

Proportional odds and PRESTO classifiers for ordered labels (ratings,
grades, severity levels), and HL-Gauss regression, which predicts a full
histogram of the outcome.
"""

from .._loss.ordinal import (
    class_log_proba,
    cumulative_logit_loss,
    hl_gauss_loss,
    hl_gauss_target,
    log_interval_proba,
)
from ._hlgauss import HLGaussRegressor
from ._presto import PrestoClassifier, PrestoClassifierCV, presto_path
from ._proportional_odds import ProportionalOddsClassifier

__all__ = [
    "HLGaussRegressor",
    "PrestoClassifier",
    "PrestoClassifierCV",
    "ProportionalOddsClassifier",
    "class_log_proba",
    "cumulative_logit_loss",
    "hl_gauss_loss",
    "hl_gauss_target",
    "log_interval_proba",
    "presto_path",
]
