"""Listwise rankers: Plackett–Luce with ties and partial rankings, LiPO-λ,
ListNet and RankNet, with exposure fairness."""

from .._loss.listwise import (
    expected_exposure,
    lipo_lambda_loss,
    listnet_loss,
    plackett_luce_loss,
    ranknet_loss,
)
from ._rankers import LambdaRanker, PlackettLuceRanker

__all__ = [
    "LambdaRanker",
    "PlackettLuceRanker",
    "expected_exposure",
    "lipo_lambda_loss",
    "listnet_loss",
    "plackett_luce_loss",
    "ranknet_loss",
]
