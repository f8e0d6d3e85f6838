"""Likelihood inference: comparing nested fits, and leaderboards.

The fitted statistics themselves (``log_likelihood_``, ``covariance_``,
``summary()``...) live on the estimators; see :ref:`inference`.
"""

from ._inference import LikelihoodRatioResult, likelihood_ratio_test
from ._leaderboard import leaderboard

__all__ = ["LikelihoodRatioResult", "leaderboard", "likelihood_ratio_test"]
