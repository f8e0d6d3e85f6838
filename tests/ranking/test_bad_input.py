"""Bad input to the rankers and listwise metrics: clear errors or documented
results."""

import numpy as np
import pytest

from skalign.metrics import exposure_disparity, grouped_ndcg_score
from skalign.ranking import LambdaRanker, PlackettLuceRanker

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def lists():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = X @ np.array([1.0, -1.0, 0.5]) + rng.gumbel(size=60)
    groups = np.repeat(np.arange(15), 4)
    return X, y, groups


@pytest.fixture(params=[PlackettLuceRanker, LambdaRanker])
def ranker(request):
    return request.param(max_epochs=5, tol=1e-2)


def test_groups_of_the_wrong_length(ranker, lists):
    X, y, groups = lists
    with pytest.raises(ValueError, match="groups has 59 entries but X has 60 rows"):
        ranker.fit(X, y, groups=groups[:-1])
    ranker.fit(X, y, groups=groups)
    with pytest.raises(ValueError, match="groups has 59 entries but X has 60 rows"):
        ranker.predict_ranking(X, groups=groups[:-1])
    with pytest.raises(ValueError, match="groups has 59 entries but X has 60 rows"):
        ranker.sample_rankings(X, groups=groups[:-1])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_grades(ranker, lists, bad):
    X, y, groups = lists
    y = y.copy()
    y[3] = bad
    with pytest.raises(ValueError, match=r"y contains (NaN|infinity)"):
        ranker.fit(X, y, groups=groups)


def test_every_list_all_tied(ranker, lists):
    X, _, groups = lists
    with pytest.raises(ValueError, match="No group has two rows with different"):
        ranker.fit(X, np.ones(60), groups=groups)


def test_all_tied_lists_inform_only_the_davidson_luce_tie_weights(lists):
    X, y, groups = lists
    y = y.copy()
    y[groups < 5] = 1.0
    # Breslow and Efron: an all-tied list has probability one and is ignored.
    dropped = PlackettLuceRanker(dtype="float64", tol=1e-10).fit(X, y, groups=groups)
    without = PlackettLuceRanker(dtype="float64", tol=1e-10).fit(
        X[groups >= 5], y[groups >= 5], groups=groups[groups >= 5]
    )
    np.testing.assert_allclose(dropped.predict(X), without.predict(X), atol=1e-8)
    # Davidson–Luce: it is a tie of four, evidence about δ_4.
    model = PlackettLuceRanker(ties="davidson_luce").fit(X, y, groups=groups)
    assert 4 in model.tie_orders_
    with pytest.raises(ValueError, match="Every list has a single row"):
        PlackettLuceRanker(ties="davidson_luce").fit(X, y, groups=np.arange(60))


def test_top_k_larger_than_every_list_ranks_fully(lists):
    X, y, groups = lists
    params = dict(dtype="float64", tol=1e-10)
    full = PlackettLuceRanker(**params).fit(X, y, groups=groups)
    large = PlackettLuceRanker(top_k=50, **params).fit(X, y, groups=groups)
    np.testing.assert_allclose(large.predict(X), full.predict(X), atol=1e-10)


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(top_k=0), "'top_k' parameter"),
        (dict(ties="random"), "'ties' parameter"),
        (dict(max_tie_order=0), "'max_tie_order' parameter"),
        (dict(exposure_penalty=-1.0), "'exposure_penalty' parameter"),
        (dict(exposure_samples=1), "'exposure_samples' parameter"),
        (dict(ndcg_k=0), "'ndcg_k' parameter"),
    ],
)
def test_invalid_parameters(lists, params, message):
    X, y, groups = lists
    with pytest.raises(ValueError, match=message):
        PlackettLuceRanker(**params).fit(X, y, groups=groups)


def test_invalid_loss(lists):
    X, y, groups = lists
    with pytest.raises(ValueError, match="'loss' parameter"):
        LambdaRanker(loss="lambdamart").fit(X, y, groups=groups)


def test_sample_weight(ranker, lists):
    X, y, groups = lists
    with pytest.raises(
        ValueError, match="Sample weights must contain at least one non-zero"
    ):
        ranker.fit(X, y, groups=groups, sample_weight=np.zeros(60))
    with pytest.raises(ValueError, match="Negative values in data passed to"):
        ranker.fit(X, y, groups=groups, sample_weight=-np.ones(60))


def test_sensitive_features(lists):
    X, y, groups = lists
    model = PlackettLuceRanker(exposure_penalty=1.0, max_epochs=2)
    with pytest.raises(ValueError, match="sensitive_features is required"):
        model.fit(X, y, groups=groups)
    with pytest.raises(ValueError, match="sensitive_features has 59 rows"):
        model.fit(X, y, groups=groups, sensitive_features=np.zeros(59))
    sensitive = np.array(["a", "b"] * 30, dtype=object)
    sensitive[4] = None
    with pytest.raises(ValueError, match="sensitive_features contains missing"):
        model.fit(X, y, groups=groups, sensitive_features=sensitive)


def test_sample_rankings_n_samples(lists):
    X, y, groups = lists
    model = PlackettLuceRanker(max_epochs=2, tol=1e-2).fit(X, y, groups=groups)
    for bad in (0, 2.5, "3"):
        with pytest.raises(ValueError, match="n_samples must be a positive integer"):
            model.sample_rankings(X, groups, n_samples=bad)


def test_metrics_reject_bad_input():
    with pytest.raises(ValueError, match="y_true must be non-negative"):
        grouped_ndcg_score([1.0, -1.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="y_true contains NaN"):
        grouped_ndcg_score([1.0, np.nan], [0.0, 1.0])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        grouped_ndcg_score([1.0, 0.0], [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="groups has 1 entries but X has 2 rows"):
        grouped_ndcg_score([1.0, 0.0], [0.0, 1.0], groups=[0])
    with pytest.raises(ValueError, match="No list holds rows of two different"):
        exposure_disparity([0.0, 1.0], ["a", "a"])
    with pytest.raises(ValueError, match="sensitive_features has 3 rows"):
        exposure_disparity([0.0, 1.0], ["a", "b", "a"])


def test_score_takes_the_negative_grades_fit_takes(lists):
    # fit accepts any grades (only their order matters), so the default
    # score must too, or GridSearchCV fails on them: a group with negative
    # grades is shifted so that its lowest grade is 0.
    X, y, groups = lists
    model = PlackettLuceRanker(max_epochs=2, tol=1e-2).fit(X, y - 100, groups=groups)
    lowest = {g: (y - 100)[groups == g].min() for g in np.unique(groups)}
    shifted = y - 100 - np.array([lowest[g] for g in groups])
    assert model.score(X, y - 100, groups=groups) == model.score(
        X, shifted, groups=groups
    )
    # The metric itself keeps refusing them: its gains are the grades.
    with pytest.raises(ValueError, match="y_true must be non-negative"):
        grouped_ndcg_score(y - 100, model.predict(X), groups=groups)
