"""Rankers: reference agreement, invariances, sampling, model selection."""

import pickle
import warnings

import choix
import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.optimize import minimize
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from statsmodels.discrete.conditional_models import ConditionalLogit

from skalign.metrics import exposure_disparity, grouped_ndcg_score, make_grouped_scorer
from skalign.nn import LinearScorer, MLPScorer
from skalign.preference import PreferenceRewardRegressor
from skalign.ranking import LambdaRanker, PlackettLuceRanker
from skalign.testing import check_ranker_invariances

from ._brute_force import brute_force_nll


def _exact(estimator=PlackettLuceRanker, **params):
    """A linear model without intercept, fitted to the optimum in float64."""
    settings = dict(
        scorer=LinearScorer(fit_intercept=False),
        dtype="float64",
        tol=1e-10,
        max_epochs=300,
    )
    return estimator(**{**settings, **params})


def _coef(model):
    module = model.scorer_
    linear = module.scorer.linear if hasattr(module, "scorer") else module.linear
    return linear.weight.detach().numpy().ravel()


def _choice_data(n_groups=300, n_alternatives=4, seed=0):
    """Conditional-logit choices: one chosen alternative per group."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_groups * n_alternatives, 3))
    groups = np.repeat(np.arange(n_groups), n_alternatives)
    utility = X @ np.array([1.0, -0.5, 0.25]) + rng.gumbel(size=X.shape[0])
    utility = utility.reshape(n_groups, n_alternatives)
    chosen = (utility == utility.max(1, keepdims=True)).ravel().astype(float)
    return X, chosen, groups


def _item_rankings(n_items, n_lists, length, seed):
    """Plackett–Luce rankings of random subsets of items, choix-style."""
    rng = np.random.default_rng(seed)
    strength = rng.normal(size=n_items)
    rankings = []
    for _ in range(n_lists):
        items = rng.choice(n_items, length, replace=False)
        rankings.append(items[np.argsort(-(strength[items] + rng.gumbel(size=length)))])
    return rankings


def _one_hot_long(rankings, n_items):
    """Rankings (item ids, best first) to the long format with a one-hot X."""
    items = np.concatenate(rankings)
    groups = np.repeat(np.arange(len(rankings)), [len(r) for r in rankings])
    grades = np.concatenate([np.arange(len(r), 0, -1) for r in rankings]).astype(float)
    X = sp.csr_matrix(
        (np.ones(items.size), (np.arange(items.size), items)),
        shape=(items.size, n_items),
    )
    return X, grades, groups


def test_top1_lists_reproduce_statsmodels_conditional_logit():
    X, chosen, groups = _choice_data()
    reference = ConditionalLogit(chosen, X, groups=groups).fit(
        disp=0, method="newton", tol=1e-12
    )
    top1 = _exact(top_k=1).fit(X, chosen, groups=groups)
    assert_allclose(_coef(top1), reference.params, rtol=1e-4)
    # The unchosen alternatives tie at the bottom: they add nothing, so the
    # full-list likelihood is the same conditional logit.
    full = _exact().fit(X, chosen, groups=groups)
    assert_allclose(_coef(full), _coef(top1), rtol=1e-6)


def test_featureless_matches_choix_opt_rankings_with_matched_l2():
    n_items = 8
    rankings = _item_rankings(n_items, n_lists=40, length=4, seed=1)
    X, grades, groups = _one_hot_long(rankings, n_items)
    # choix minimises sum NLL + alpha_choix ||θ||², skalign the NLL per
    # choice + alpha / 2 ||θ||²: alpha = 2 alpha_choix / n_choices.
    alpha_choix, n_choices = 0.3, 40 * 3
    reference = choix.opt_rankings(n_items, rankings, alpha=alpha_choix, tol=1e-10)
    model = PlackettLuceRanker(
        alpha=2 * alpha_choix / n_choices, dtype="float64", tol=1e-10
    ).fit(X, grades, groups=groups)
    theta = _coef(model)
    loglik = choix.log_likelihood_rankings(rankings, theta)
    reference_loglik = choix.log_likelihood_rankings(rankings, reference)
    assert abs(loglik / reference_loglik - 1) <= 1e-6
    assert_allclose(theta, reference, atol=1e-5)


def test_featureless_reaches_the_choix_ilsr_maximum_likelihood():
    n_items = 20
    rankings = _item_rankings(n_items, n_lists=300, length=5, seed=2)
    X, grades, groups = _one_hot_long(rankings, n_items)
    reference = choix.ilsr_rankings(n_items, rankings, tol=1e-12)
    model = PlackettLuceRanker(dtype="float64", tol=1e-10).fit(X, grades, groups=groups)
    loglik = choix.log_likelihood_rankings(rankings, _coef(model))
    reference_loglik = choix.log_likelihood_rankings(rankings, reference)
    assert abs(loglik / reference_loglik - 1) <= 1e-6


def test_one_hot_encoder_pipeline_gives_item_strengths():
    n_items = 20
    rankings = _item_rankings(n_items, n_lists=300, length=5, seed=2)
    X, grades, groups = _one_hot_long(rankings, n_items)
    item_ids = np.concatenate(rankings)[:, None]
    pipe = make_pipeline(
        OneHotEncoder(), PlackettLuceRanker(dtype="float64", tol=1e-10)
    ).fit(item_ids, grades, plackettluceranker__groups=groups)
    direct = PlackettLuceRanker(dtype="float64", tol=1e-10).fit(
        X, grades, groups=groups
    )
    strengths = pipe.predict(np.arange(n_items)[:, None])
    assert_allclose(strengths, direct.predict(sp.eye(n_items).tocsr()), atol=1e-6)


@pytest.mark.parametrize("alpha", [0.0, 1e-2])
def test_two_item_lists_equal_bradley_terry(pair_data, alpha):
    X, y, groups, _ = pair_data
    pl = _exact(alpha=alpha).fit(X, y, groups=groups)
    bt = _exact(PreferenceRewardRegressor, alpha=alpha).fit(X, y, groups=groups)
    assert_allclose(_coef(pl), _coef(bt), rtol=1e-6)


def _graded_lists(n_lists=120, length=5, seed=3, n_grades=None):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_lists * length, 3))
    groups = np.repeat(np.arange(n_lists), length)
    y = X @ np.array([1.5, -1.0, 0.5]) + rng.gumbel(size=X.shape[0])
    if n_grades is not None:
        y = np.digitize(y, np.quantile(y, np.linspace(0, 1, n_grades + 1)[1:-1]))
    return X, y.astype(float), groups


def test_top_k_of_length_minus_one_equals_the_full_ranking():
    X, y, groups = _graded_lists()
    full = _exact().fit(X, y, groups=groups)
    partial = _exact(top_k=4).fit(X, y, groups=groups)
    assert_allclose(_coef(partial), _coef(full), rtol=1e-6)
    top2 = _exact(top_k=2).fit(X, y, groups=groups)
    assert not np.allclose(_coef(top2), _coef(full), rtol=1e-3)


def test_tie_options_agree_without_ties():
    X, y, groups = _graded_lists()
    coefs = [_coef(_exact(ties=t).fit(X, y, groups=groups)) for t in ("efron",)]
    coefs.append(_coef(_exact(ties="davidson_luce").fit(X, y, groups=groups)))
    for coef in coefs:
        assert_allclose(coef, _coef(_exact().fit(X, y, groups=groups)), rtol=1e-6)


def test_shifting_the_grades_of_a_list_changes_nothing():
    X, y, groups = _graded_lists()
    shift = np.random.default_rng(0).normal(size=groups.max() + 1) * 100
    base = _exact().fit(X, y, groups=groups)
    shifted = _exact().fit(X, y + shift[groups], groups=groups)
    assert_allclose(_coef(shifted), _coef(base), rtol=1e-6)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["breslow", "efron"]))
def test_ranker_invariances(seed, ties):
    """Permuting rows (within and across lists), relabelling lists and
    transforming each list's grades monotonically leave the fit unchanged;
    predict is row-wise and predict_ranking follows it."""
    X, y, groups = _graded_lists(n_lists=30, length=4, seed=seed % 1000, n_grades=3)
    model = _exact(ties=ties, scorer=LinearScorer(), alpha=1e-3)
    check_ranker_invariances(model, X, y, groups, random_state=seed, atol=1e-6)


def test_davidson_luce_is_the_maximum_likelihood_of_the_definition():
    # Ratings with ties of two and three items; featureless strengths.
    rng = np.random.default_rng(4)
    n_items, n_lists, length = 5, 60, 4
    strength = np.array([1.0, 0.5, 0.0, -0.5, -1.0])
    items = np.array(
        [rng.choice(n_items, length, replace=False) for _ in range(n_lists)]
    )
    grades = np.round(strength[items] + rng.logistic(size=items.shape))
    X = sp.csr_matrix(
        (np.ones(items.size), (np.arange(items.size), items.ravel())),
        shape=(items.size, n_items),
    )
    groups = np.repeat(np.arange(n_lists), length)
    model = PlackettLuceRanker(ties="davidson_luce", dtype="float64", tol=1e-10)
    model.fit(X, grades.ravel(), groups=groups)
    orders = model.tie_orders_.tolist()
    assert orders and set(orders) <= {2, 3, 4}

    def nll(params):
        theta, delta = params[:n_items], dict(zip(orders, np.exp(params[n_items:])))
        return sum(
            brute_force_nll(theta[row], list(g), "davidson_luce", delta)[0]
            for row, g in zip(items, grades)
        )

    start = np.concatenate([np.zeros(n_items), np.full(len(orders), -1.0)])
    reference = minimize(nll, start, method="BFGS", options={"gtol": 1e-8})
    fitted = np.concatenate([_coef(model), np.log(model.tie_weights_)])
    assert nll(fitted) == pytest.approx(reference.fun, rel=1e-6)
    assert_allclose(model.tie_weights_, np.exp(reference.x[n_items:]), rtol=1e-3)


def test_davidson_luce_max_tie_order_and_continued_training():
    X, y, groups = _graded_lists(n_grades=2)
    with pytest.raises(ValueError, match="more than max_tie_order=2"):
        PlackettLuceRanker(ties="davidson_luce", max_tie_order=2).fit(
            X, y, groups=groups
        )
    X_strict, y_strict, groups_strict = _graded_lists()
    model = PlackettLuceRanker(ties="davidson_luce")
    model.partial_fit(X_strict, y_strict, groups=groups_strict)
    assert model.tie_orders_.size == 0 and model.tie_weights_.size == 0
    with pytest.raises(ValueError, match="fit it afresh"):
        model.partial_fit(X, y, groups=groups)
    assert model.fit(X, y, groups=groups).tie_orders_.size > 0


def test_predict_ranking_orders_each_group_by_score():
    X, y, groups = _graded_lists(n_lists=10)
    model = PlackettLuceRanker().fit(X, y, groups=groups)
    scores = model.predict(X)
    ranks = model.predict_ranking(X, groups=groups)
    for g in range(10):
        rows = groups == g
        assert sorted(ranks[rows]) == [1, 2, 3, 4, 5]
        assert np.argmin(ranks[rows]) == np.argmax(scores[rows])
    # Rows need not be contiguous; None ranks all rows together.
    perm = np.random.default_rng(0).permutation(groups.size)
    assert_allclose(model.predict_ranking(X[perm], groups[perm]), ranks[perm])
    assert sorted(model.predict_ranking(X)) == list(range(1, 51))


def test_sample_rankings_follow_plackett_luce():
    X = np.array([[2.0], [1.0], [0.0], [0.5], [0.0]])
    groups = np.array([0, 0, 0, 1, 1])
    model = _exact().fit(X, [3.0, 1.0, 2.0, 1.0, 0.0], groups=groups)
    scores = model.predict(X)
    ranks = model.sample_rankings(X, groups, n_samples=20_000, random_state=0)
    assert ranks.shape == (20_000, 5)
    assert (np.sort(ranks[:, :3], 1) == [1, 2, 3]).all()
    # P(first) of each item is the softmax of the group's scores.
    top = np.exp(scores[:3]) / np.exp(scores[:3]).sum()
    assert_allclose((ranks[:, :3] == 1).mean(0), top, atol=0.015)
    # P(ranking 0 > 1 > 2) = p(0 | {0,1,2}) p(1 | {1,2}).
    p_order = top[0] * np.exp(scores[1]) / np.exp(scores[1:3]).sum()
    observed = np.all(ranks[:, :3] == [1, 2, 3], axis=1).mean()
    assert observed == pytest.approx(p_order, abs=0.015)
    again = model.sample_rankings(X, groups, n_samples=3, random_state=0)
    assert_allclose(again, ranks[:3])


def test_score_is_mean_ndcg_at_k():
    X, y, groups = _graded_lists(n_grades=4)
    model = PlackettLuceRanker(ndcg_k=3).fit(X, y, groups=groups)
    expected = grouped_ndcg_score(y, model.predict(X), groups=groups, k=3)
    assert model.score(X, y, groups=groups) == expected
    assert expected > 0.8


def test_grid_search_with_group_kfold_routes_groups_to_the_scorer():
    X, y, groups = _graded_lists(n_lists=60, n_grades=4)
    X = X * np.array([1.0, 100.0, 0.01]) + 5.0
    scorer = make_grouped_scorer(grouped_ndcg_score, k=3)
    with sklearn.config_context(enable_metadata_routing=True):
        ranker = PlackettLuceRanker(
            scorer=MLPScorer(), max_epochs=40, lr=1e-2, random_state=0
        ).set_fit_request(groups=True)
        search = GridSearchCV(
            make_pipeline(StandardScaler(), ranker),
            {"plackettluceranker__scorer__hidden_units": [(4,), (16,)]},
            cv=GroupKFold(n_splits=3),
            scoring=scorer,
        )
        with pytest.warns(sklearn.exceptions.ConvergenceWarning):
            search.fit(X, y, groups=groups)
        # The first split's score is the NDCG@3 of its test groups.
        train, test = next(GroupKFold(n_splits=3).split(X, y, groups))
        params = search.cv_results_["params"][0]
        pipe = sklearn.base.clone(search.estimator).set_params(**params)
        with pytest.warns(sklearn.exceptions.ConvergenceWarning):
            pipe.fit(X[train], y[train], groups=groups[train])
    expected = grouped_ndcg_score(
        y[test], pipe.predict(X[test]), groups=groups[test], k=3
    )
    assert search.cv_results_["split0_test_score"][0] == pytest.approx(expected)
    assert search.best_score_ > 0.7


def test_default_scoring_routes_groups_to_score():
    X, y, groups = _graded_lists(n_lists=60, n_grades=4)
    with sklearn.config_context(enable_metadata_routing=True):
        ranker = (
            PlackettLuceRanker()
            .set_fit_request(groups=True)
            .set_score_request(groups=True)
        )
        search = GridSearchCV(
            ranker, {"ndcg_k": [2, 5]}, cv=GroupKFold(n_splits=3)
        ).fit(X, y, groups=groups)
    assert search.best_params_ == {"ndcg_k": 5}


def _exposure_data(length, seed=5):
    """Lists where the grades favour the rows of sensitive group 1."""
    rng = np.random.default_rng(seed)
    n_lists = 60
    sensitive = rng.integers(0, 2, size=n_lists * length)
    X = np.column_stack([rng.normal(size=sensitive.size), sensitive])
    y = X @ np.array([1.0, 1.5]) + rng.gumbel(size=sensitive.size)
    groups = np.repeat(np.arange(n_lists), length)
    return X, y, groups, sensitive


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("length", [4, 10], ids=["exact", "sampled"])
def test_exposure_penalty_reduces_exposure_disparity(length):
    X, y, groups, sensitive = _exposure_data(length)
    params = dict(optimizer="adam", lr=0.05, max_epochs=60, random_state=0)
    disparity = []
    for penalty in (0.0, 50.0):
        model = PlackettLuceRanker(exposure_penalty=penalty, **params)
        model.fit(X, y, groups=groups, sensitive_features=sensitive)
        disparity.append(
            exposure_disparity(
                model.predict(X), sensitive, groups=groups, random_state=0
            )
        )
    assert disparity[1] < 0.5 * disparity[0]


def test_zero_exposure_penalty_is_the_plain_model():
    X, y, groups, sensitive = _exposure_data(4)
    plain = _exact().fit(X, y, groups=groups)
    fair = _exact(exposure_penalty=0.0).fit(
        X, y, groups=groups, sensitive_features=sensitive
    )
    assert_allclose(_coef(fair), _coef(plain))


@pytest.mark.parametrize("loss", ["lipo_lambda", "listnet", "ranknet"])
def test_lambda_ranker_learns_the_planted_order(loss):
    X, y, groups = _graded_lists(n_grades=4)
    model = LambdaRanker(loss, lr=0.05, max_epochs=200, random_state=0)
    model.fit(X, y, groups=groups)
    coef = _coef(model)
    truth = np.array([1.5, -1.0, 0.5])
    assert coef @ truth / np.linalg.norm(coef) / np.linalg.norm(truth) > 0.95
    oracle = grouped_ndcg_score(y, X @ truth, groups=groups, k=10)
    assert model.score(X, y, groups=groups) > oracle - 0.03


def test_ranknet_equals_bradley_terry_on_grade_ordered_pairs():
    X, y, groups = _graded_lists(n_grades=3)
    ranknet = _exact(LambdaRanker, loss="ranknet", alpha=1e-2).fit(X, y, groups=groups)
    bt = _exact(PreferenceRewardRegressor, alpha=1e-2).fit(X, y, groups=groups)
    assert_allclose(_coef(ranknet), _coef(bt), rtol=1e-6)


def test_integer_sample_weight_equals_repeated_rows():
    X, y, groups = _graded_lists(n_lists=40, n_grades=3)
    weight = np.random.default_rng(6).integers(0, 4, size=y.size)
    repeat = np.repeat(np.arange(y.size), weight)
    model = _exact(alpha=1e-2)
    weighted = model.fit(X, y, groups=groups, sample_weight=weight).predict(X)
    repeated = model.fit(X[repeat], y[repeat], groups=groups[repeat]).predict(X)
    # Same optimum; equal up to the optimiser's tolerance.
    assert_allclose(weighted, repeated, atol=1e-6)


def test_fitted_rankers_pickle():
    X, y, groups, sensitive = _exposure_data(4)
    y = np.round(y)  # ties, for the Davidson–Luce tie weights
    for model in (
        PlackettLuceRanker(ties="davidson_luce"),
        PlackettLuceRanker(exposure_penalty=1.0, optimizer="adam", max_epochs=3),
        LambdaRanker(max_epochs=3),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
            model.fit(
                X,
                y,
                groups=groups,
                **(
                    {"sensitive_features": sensitive}
                    if getattr(model, "exposure_penalty", 0)
                    else {}
                ),
            )
        restored = pickle.loads(pickle.dumps(model))
        assert_allclose(restored.predict(X), model.predict(X))


@pytest.mark.gpu
def test_cuda_fit_matches_cpu():
    X, y, groups, sensitive = _exposure_data(10)
    y = np.round(y)
    for params in (
        dict(ties="davidson_luce"),
        dict(ties="efron", top_k=3),
        dict(exposure_penalty=5.0, optimizer="adam", lr=0.05, max_epochs=20),
    ):
        fits = [
            _exact(**params, device=device, random_state=0).fit(
                X, y, groups=groups, sensitive_features=sensitive
            )
            for device in ("cpu", "cuda")
        ]
        assert_allclose(fits[1].predict(X), fits[0].predict(X), atol=1e-5)


def test_lipo_lambda_gains_share_one_scale_across_batches_and_calls():
    """LiPO-λ's gains 2^ψ - 1 are scaled by 2^-ψ_max of the training data,
    one factor for every mini-batch; a continued fit keeps it, even on data
    graded higher."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    groups = np.repeat(np.arange(20), 6)
    y = rng.integers(0, 5, size=120).astype(float)
    model = LambdaRanker(batch_size=4, max_epochs=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        model.fit(X, y, groups=groups)
    assert model._fitted_constants == {"top_grade": float(y.max())}
    model.partial_fit(X, y + 2, groups=groups)
    assert model._fitted_constants == {"top_grade": float(y.max())}
    assert np.all(np.isfinite(model.predict(X)))
