"""GeneralPreferenceModel, BinaryFeedbackRewardRegressor, RewardTransformer."""

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose
from scipy.special import expit
from sklearn.pipeline import make_pipeline

from skalign._loss.pairwise import general_preference_logits
from skalign.nn import LinearScorer
from skalign.preference import (
    BinaryFeedbackRewardRegressor,
    GeneralPreferenceModel,
    PreferenceRewardRegressor,
    RewardTransformer,
)
from skalign.utils import comparisons_to_long

pytestmark = pytest.mark.filterwarnings("ignore::skalign.exceptions.ConvergenceWarning")

ITEMS = np.eye(3)
NEXT = np.roll(ITEMS, -1, axis=0)  # rock beats scissors beats paper beats rock


@pytest.fixture
def cycle():
    return comparisons_to_long(ITEMS, np.array([(0, 1), (1, 2), (2, 0)] * 40))


def test_rock_paper_scissors(cycle):
    X, y, groups = cycle
    gpm = GeneralPreferenceModel(n_components=1, alpha=1e-3, random_state=0).fit(
        X, y, groups=groups
    )
    assert (gpm.predict_pair_proba(ITEMS, NEXT) > 0.8).all()
    assert gpm.score(X, y, groups=groups) == 1.0
    bt = PreferenceRewardRegressor().fit(X, y, groups=groups)
    assert_allclose(bt.predict_pair_proba(ITEMS, NEXT), 0.5, atol=0.02)


def test_gpm_with_k1_and_v_r1_is_bradley_terry():
    import torch

    r = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64)
    v = torch.stack([r, torch.ones(3, dtype=torch.float64)], dim=1)
    logits = general_preference_logits(v[:, None], v[None, :])
    assert torch.allclose(logits, r[:, None] - r[None, :])


def test_gpm_transform_predict_and_antisymmetry(cycle):
    X, y, groups = cycle
    gpm = GeneralPreferenceModel(n_components=2, random_state=0, max_epochs=20).fit(
        X, y, groups=groups
    )
    assert gpm.transform(ITEMS).shape == (3, 4)
    assert_allclose(
        gpm.predict_pair_proba(ITEMS, NEXT), 1 - gpm.predict_pair_proba(NEXT, ITEMS)
    )
    win_rate = gpm.predict(ITEMS)
    expected = [
        np.mean(
            [
                gpm.predict_pair_proba(ITEMS[[i]], ITEMS[[j]])[0]
                for j in range(3)
                if j != i
            ]
        )
        for i in range(3)
    ]
    assert_allclose(win_rate, expected, rtol=1e-6)
    assert_allclose(gpm.predict(ITEMS, groups=[0, 1, 2]), 0.5)
    assert list(gpm.get_feature_names_out()) == ["gpm0", "gpm1", "gpm2", "gpm3"]


def _feedback(seed=0, n=600):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    logit = X @ np.array([2.0, -1.0, 0.0]) + 0.5
    return X, (rng.random(n) < expit(logit)).astype(int), logit


@pytest.mark.parametrize("shift", ["running_mean", "learned", 0.25])
def test_binary_feedback_learns_the_reward(shift):
    X, y, logit = _feedback()
    model = BinaryFeedbackRewardRegressor(
        reward_shift=shift, max_epochs=60, lr=1e-2, random_state=0
    ).fit(X, y)
    reward = model.decision_function(X)
    assert np.corrcoef(reward, logit)[0, 1] > 0.95
    assert_allclose(model.predict_proba(X)[:, 1], expit(reward))
    assert set(model.predict(X)) <= {0, 1}
    if shift == 0.25:
        assert model.reward_shift_ == 0.25


def test_learned_shift_with_linear_scorer_matches_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    X, y, _ = _feedback()
    model = BinaryFeedbackRewardRegressor(
        reward_shift="learned",
        scorer=LinearScorer(fit_intercept=False),
        dtype="float64",
        tol=1e-10,
        max_epochs=300,
    ).fit(X, y)
    reference = LogisticRegression(C=np.inf, tol=1e-12, max_iter=5000).fit(X, y)
    assert_allclose(
        model.decision_function(X), reference.decision_function(X), rtol=1e-4, atol=1e-4
    )


def test_density_ratio_reweights_thumbs_down_rows():
    rng = np.random.default_rng(0)
    n = 800
    context = rng.normal(size=(n, 2))
    X = np.column_stack([rng.normal(size=n), context])
    # Thumbs-down rows come mostly from contexts with large context[:, 0].
    y = (rng.random(n) < expit(2 * X[:, 0] - 1.5 * context[:, 0])).astype(int)
    model = BinaryFeedbackRewardRegressor(
        density_ratio=True, density_ratio_clip=(0.2, 5.0), max_epochs=20
    ).fit(X, y, context=context)
    weights = model.density_ratio_weights_
    assert_allclose(weights[y == 1], 1.0)
    down = weights[y == 0]
    assert down.min() >= 0.2 and down.max() <= 5.0
    assert np.corrcoef(down, -context[y == 0, 0])[0, 1] > 0.5
    by_group = BinaryFeedbackRewardRegressor(density_ratio=True, max_epochs=5).fit(
        X, y, groups=(context[:, 0] > 0).astype(int)
    )
    assert by_group.density_ratio_weights_.shape == (n,)


def test_binary_feedback_bad_input():
    X, y, _ = _feedback()
    model = BinaryFeedbackRewardRegressor(max_epochs=5)
    with pytest.raises(ValueError, match="Only binary classification"):
        model.fit(X, np.arange(len(y)) % 3)
    with pytest.raises(ValueError, match=r"Unknown label type|continuous"):
        model.fit(X, y + 0.5)
    with pytest.raises(ValueError, match="single class"):
        model.fit(X, np.ones(len(y)))
    with pytest.raises(ValueError, match="context has 10 rows but X has 600"):
        BinaryFeedbackRewardRegressor(density_ratio=True).fit(
            X, y, context=np.ones((10, 2))
        )
    with pytest.raises(ValueError, match="needs the context"):
        BinaryFeedbackRewardRegressor(density_ratio=True).fit(X, y)
    with pytest.raises(ValueError, match="only used when density_ratio=True"):
        model.fit(X, y, context=np.ones((len(y), 2)))


def test_reward_transformer_formula_and_groups():
    rewards = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, -1.0], [6.0, 0.0]])
    per_column = RewardTransformer(combine=None).fit_transform(
        rewards, groups=[0, 0, 1, 1]
    )
    reference = np.array([[1.0, 2.0], [1.0, 2.0], [5.0, -0.5], [5.0, -0.5]])
    assert_allclose(per_column, -np.logaddexp(0, -(rewards - reference)))
    summed = RewardTransformer().fit_transform(rewards, groups=[0, 0, 1, 1])
    assert_allclose(summed[:, 0], per_column.sum(axis=1))
    fitted = RewardTransformer(reference=0.25).fit(rewards)
    assert_allclose(fitted.reference_, np.quantile(rewards, 0.25, axis=0))
    given = RewardTransformer(reference=[1.0, 0.0]).fit(rewards).transform(rewards)
    assert_allclose(given[:, 0], (-np.logaddexp(0, -(rewards - [1.0, 0.0]))).sum(1))
    with pytest.raises(ValueError, match="one finite value per reward column"):
        RewardTransformer(reference=[1.0]).fit(rewards)


def test_reward_transformer_saturates_and_stays_finite():
    huge = np.array([[1e9], [-1e9], [0.0]])
    out = RewardTransformer(reference=[0.0]).fit(huge).transform(huge)
    assert np.isfinite(out).all() and out[0, 0] == pytest.approx(0.0)


def test_reward_model_feeds_the_transformer_in_a_pipeline():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X @ np.array([1.0, 0.5, 0.0])
    groups = np.repeat(np.arange(50), 4)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(
            PreferenceRewardRegressor().set_fit_request(groups=True),
            RewardTransformer().set_transform_request(groups=True),
        )
        out = pipe.fit(X, y, groups=groups).transform(X, groups=groups)
    rewards = pipe[0].predict(X)
    expected = (
        RewardTransformer()
        .fit(rewards[:, None])
        .transform(rewards[:, None], groups=groups)
    )
    assert_allclose(out, expected)


# LogisticRegressionCV's own deprecation notices (scikit-learn 1.9).
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_density_ratio_counts_sample_weight_as_multiplicity():
    """The density-ratio classifier and the up/down totals see
    sample_weight: an integer weight gives the ratio of the row repeated,
    and a classifier that cannot take weights is refused by name."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(1)
    n = 300
    context = rng.normal(size=(n, 2))
    X = np.column_stack([rng.normal(size=n), context])
    y = (rng.random(n) < expit(X[:, 0] - context[:, 0])).astype(int)
    weight = rng.integers(0, 4, size=n).astype(float)
    repeat = np.repeat(np.arange(n), weight.astype(int))
    params = dict(density_ratio=True, max_epochs=2)
    weighted = BinaryFeedbackRewardRegressor(**params).fit(
        X, y, context=context, sample_weight=weight
    )
    repeated = BinaryFeedbackRewardRegressor(**params).fit(
        X[repeat], y[repeat], context=context[repeat]
    )
    kept = weight > 0
    first = np.unique(repeat, return_index=True)[1]
    assert_allclose(
        weighted.density_ratio_weights_[kept],
        repeated.density_ratio_weights_[first],
        rtol=1e-4,
    )
    unweighted = BinaryFeedbackRewardRegressor(**params).fit(X, y, context=context)
    assert not np.allclose(
        unweighted.density_ratio_weights_[kept], weighted.density_ratio_weights_[kept]
    )
    cv = BinaryFeedbackRewardRegressor(
        density_ratio_classifier=LogisticRegressionCV(scoring="neg_log_loss"), **params
    ).fit(X, y, context=context, sample_weight=weight)
    assert np.all(np.isfinite(cv.density_ratio_weights_))
    knn = BinaryFeedbackRewardRegressor(
        density_ratio_classifier=KNeighborsClassifier(), **params
    )
    with pytest.raises(ValueError, match="density_ratio_classifier KNeighbors"):
        knn.fit(X, y, context=context, sample_weight=weight)
