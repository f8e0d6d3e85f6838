"""Likelihood inference: comparing nested fits.

The fitted statistics themselves (``log_likelihood_``, ``covariance_``,
``summary()``...) live on the estimators; see :ref:`inference`.
"""

from ._inference import LikelihoodRatioResult, likelihood_ratio_test

__all__ = ["LikelihoodRatioResult", "likelihood_ratio_test"]
