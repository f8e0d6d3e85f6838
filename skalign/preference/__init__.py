"""Reward models learned from preferences, comparisons, ratings and feedback."""

from .._loss.pairwise import (
    binary_feedback_loss,
    bradley_terry_loss,
    davidson_loss,
    general_preference_loss,
    margin_loss,
    pluralistic_loss,
    rao_kupper_loss,
    regression_loss,
    scaled_bradley_terry_loss,
)
from ._binary import BinaryFeedbackRewardRegressor
from ._gpm import GeneralPreferenceModel
from ._pluralistic import PluralisticRewardModel
from ._reward import PreferenceRewardRegressor
from ._transform import RewardTransformer

__all__ = [
    "BinaryFeedbackRewardRegressor",
    "GeneralPreferenceModel",
    "PluralisticRewardModel",
    "PreferenceRewardRegressor",
    "RewardTransformer",
    "binary_feedback_loss",
    "bradley_terry_loss",
    "davidson_loss",
    "general_preference_loss",
    "margin_loss",
    "pluralistic_loss",
    "rao_kupper_loss",
    "regression_loss",
    "scaled_bradley_terry_loss",
]
