"""Fairness-regularised predictors: distance-covariance penalties.

Regressors and classifiers whose loss carries a penalty on the dependence
between their predictions and protected attributes (distance covariance,
concatenated distance covariance and joint distance covariance), the pure
torch penalties themselves, the encoding of mixed categorical and continuous
protected attributes, and :func:`fairness_path` to choose the penalty's
strength.
"""

from .._loss.dependence import (
    concatenated_distance_covariance,
    dependence_penalty,
    distance_covariance,
    joint_distance_covariance,
)
from ..utils._encoding import encode_sensitive_features
from ..utils._penalty import DependencePenalty
from ._estimators import FairClassifier, FairRegressor
from ._path import FairnessPath, fairness_path

__all__ = [
    "DependencePenalty",
    "FairClassifier",
    "FairRegressor",
    "FairnessPath",
    "concatenated_distance_covariance",
    "dependence_penalty",
    "distance_covariance",
    "encode_sensitive_features",
    "fairness_path",
    "joint_distance_covariance",
]
