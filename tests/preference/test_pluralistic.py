"""PluralisticRewardModel (PAL): per-user rewards from shared ideal points."""

import pickle
from functools import partial

import numpy as np
import pytest
import sklearn
import torch
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skalign._loss.pairwise import (
    mixture_rewards,
    pluralistic_loss,
    prototype_rewards,
)
from skalign.datasets import make_pluralistic_preferences
from skalign.exceptions import ConvergenceWarning
from skalign.metrics import pairwise_accuracy
from skalign.nn import MLPScorer
from skalign.preference import PluralisticRewardModel, PreferenceRewardRegressor

N_COMPARISONS = 40  # per user, for training; as many held out


def _split(variant, n_types, *, n_users=60, random_state=0):
    """Train on the first half of each user's comparisons, test on the rest."""
    X, y, groups, users, truth = make_pluralistic_preferences(
        n_users=n_users,
        n_comparisons=2 * N_COMPARISONS,
        n_types=n_types,
        variant=variant,
        random_state=random_state,
    )
    train = groups % (2 * N_COMPARISONS) < N_COMPARISONS
    return X, y, groups, users, truth, train


def _bt_features(X, variant):
    """Features in which every type's utility is linear, so that
    Bradley-Terry baselines are correctly specified: ``[x, ‖x‖²]`` for the
    distance model (``-‖x - c‖² = -‖x‖² + 2 ⟨x, c⟩ - ‖c‖²``)."""
    if variant == "distance":
        return np.column_stack([X, (X**2).sum(1)])
    return X


def _baselines(X, y, groups, users, truth, train, variant):
    """Held-out accuracy of one Bradley-Terry reward for everyone, and of
    the oracle that knows each user's type (one Bradley-Terry per type)."""
    F = _bt_features(X, variant)
    test = ~train
    single = PreferenceRewardRegressor().fit(F[train], y[train], groups=groups[train])
    types = truth.user_types[users]
    oracle = np.empty(len(y))
    for t in np.unique(types):
        rows = types == t
        model = PreferenceRewardRegressor().fit(
            F[rows & train], y[rows & train], groups=groups[rows & train]
        )
        oracle[rows] = model.predict(F[rows])
    return (
        single.score(F[test], y[test], groups=groups[test]),
        pairwise_accuracy(y[test], oracle[test], groups=groups[test]),
    )


@pytest.mark.parametrize("variant", ["distance", "reward"])
def test_three_types_beat_one_reward_and_approach_the_oracle(variant):
    X, y, groups, users, truth, train = _split(variant, 3)
    test = ~train
    model = PluralisticRewardModel(variant=variant, random_state=0)
    model.fit(X[train], y[train], groups=groups[train], users=users[train])
    assert model.converged_
    accuracy = model.score(X[test], y[test], groups=groups[test], users=users[test])
    single, oracle = _baselines(X, y, groups, users, truth, train, variant)
    assert accuracy >= single + 0.1
    assert accuracy >= oracle - 0.02


@pytest.mark.parametrize("variant", ["distance", "reward"])
def test_one_type_one_prototype_is_bradley_terry(variant):
    X, y, groups, users, truth, train = _split(variant, 1)
    test = ~train
    model = PluralisticRewardModel(1, variant=variant, random_state=0)
    model.fit(X[train], y[train], groups=groups[train], users=users[train])
    accuracy = model.score(X[test], y[test], groups=groups[test], users=users[test])
    single, _ = _baselines(X, y, groups, users, truth, train, variant)
    # 2400 held-out comparisons: a binomial standard error of ~0.006.
    assert abs(accuracy - single) <= 0.01


def _to_features(model, points):
    """Points of the embedding space as points (PAL-A) or reward directions
    (PAL-B) of feature space, through the fitted linear embedding: where the
    model's symmetries (rotations, translations, linear maps of the
    embedding) no longer act."""
    linear = model.net_.module_.scorer.linear
    W = linear.weight.detach().double().numpy()
    b = linear.bias.detach().double().numpy()
    if model.variant == "distance":
        return np.linalg.lstsq(W, (points - b).T, rcond=None)[0].T
    return points @ W


@pytest.mark.parametrize("variant", ["distance", "reward"])
def test_recovers_ideal_points_up_to_symmetries(variant):
    X, y, groups, users, truth = make_pluralistic_preferences(
        n_users=60, n_comparisons=100, variant=variant, random_state=0
    )
    # 6000 comparisons: a tenth of the default L2 penalty, whose shrinkage
    # of the embedding's scale would otherwise bias the recovered points.
    model = PluralisticRewardModel(
        variant=variant, alpha=1e-3, dtype="float64", random_state=0
    )
    model.fit(X, y, groups=groups, users=users)
    assert model.converged_
    # The users' types, up to a permutation of the prototypes.
    assert adjusted_rand_score(truth.user_types, model.cluster_users()) == 1.0
    assert adjusted_rand_score(truth.user_types, model.cluster_users(3)) == 1.0
    # Each type's users have the type's ideal point (in feature space).
    ideal = _to_features(model, model.mixture_weights_ @ model.prototypes_)
    found = np.array([ideal[truth.user_types == t].mean(0) for t in range(3)])
    error = np.linalg.norm(found - truth.ideal_points, axis=1)
    assert error.max() < 0.1 * np.linalg.norm(truth.ideal_points, axis=1).min()
    # The prototypes span them: each true ideal point is a mixture (convex
    # weights) of the recovered prototypes. Users sit inside the simplex, so
    # the prototypes themselves are identified only up to this mixture
    # symmetry.
    prototypes = _to_features(model, model.prototypes_)
    A = np.vstack([prototypes.T, 10 * np.ones(3)])
    for point in truth.ideal_points:
        weights, *_ = np.linalg.lstsq(A, np.append(point, 10.0), rcond=None)
        assert weights.min() > -0.05
        assert np.linalg.norm(weights @ prototypes - point) < 0.25


def test_few_shot_users_approach_the_oracle():
    X, y, groups, users, truth = make_pluralistic_preferences(
        n_users=90, n_comparisons=60, random_state=1
    )
    old = users < 60
    model = PluralisticRewardModel(random_state=0)
    model.fit(X[old], y[old], groups=groups[old], users=users[old])
    position = groups % 60
    test = ~old & (position >= 20)
    population = model.score(X[test], y[test], groups=groups[test])
    # The oracle knows each new user's type: the mean weights of the
    # fitted users of that type.
    types = truth.user_types
    fitted = model.mixture_weights_
    by_type = np.array([fitted[types[:60] == t].mean(0) for t in range(3)])
    oracle_weights = by_type[types[users[test]]]
    scores = model.predict_prototype_rewards(X[test])
    oracle = pairwise_accuracy(
        y[test], (oracle_weights * scores).sum(1), groups=groups[test]
    )
    accuracy = {}
    for n in (5, 20):
        shot = ~old & (position < n)
        model.fit_new_users(X[shot], y[shot], groups=groups[shot], users=users[shot])
        accuracy[n] = model.score(
            X[test], y[test], groups=groups[test], users=users[test]
        )
    assert set(np.unique(users[~old])) <= set(model.users_.tolist())
    assert population + 0.02 < accuracy[5] < accuracy[20]
    assert accuracy[20] >= population + 0.05
    assert accuracy[20] >= oracle - 0.04
    # From 20 comparisons, most new users' weights are nearest to those of
    # their type (chance: 1/3; PAL-B's three random reward directions in
    # five dimensions are not all told apart by 20 noisy comparisons).
    new_weights = model.mixture_weights(np.arange(60, 90))
    distance = np.linalg.norm(new_weights[:, None] - by_type[None], axis=2)
    assert np.mean(distance.argmin(1) == types[60:]) >= 0.5


def test_few_shot_solution_is_the_unique_optimum():
    X, y, groups, users, _ = make_pluralistic_preferences(
        n_users=40, n_comparisons=10, random_state=2
    )
    old = users < 30
    model = PluralisticRewardModel(random_state=0, dtype="float64")
    model.fit(X[old], y[old], groups=groups[old], users=users[old])
    with_new = pickle.loads(pickle.dumps(model))
    with_new.fit_new_users(X[~old], y[~old], groups=groups[~old], users=users[~old])
    weights = with_new.mixture_weights(np.arange(30, 40))
    # Convex in the weights: the objective at every other point of a segment
    # between the optimum and random weights is larger.
    rng = np.random.default_rng(0)
    scores = model.predict_prototype_rewards(X[~old])
    rows = np.flatnonzero(~old)
    user = users[rows[0::2]] - 30
    sign = np.where(y[rows[0::2]] > y[rows[1::2]], 1.0, -1.0)
    diff = sign[:, None] * (scores[0::2] - scores[1::2])
    prior = model.population_weights_

    def objective(w):
        margin = (w[user] * diff).sum(1)
        kl = (prior * (np.log(prior) - np.log(w))).sum()
        return np.logaddexp(0, -margin).sum() + kl

    best = objective(weights)
    for _ in range(20):
        other = weights.copy()
        other[rng.integers(10)] = rng.dirichlet(np.ones(3))
        assert objective(other) >= best - 1e-9


def test_unknown_and_absent_users_get_the_population_mixture():
    X, y, groups, users, _ = make_pluralistic_preferences(
        n_users=20, n_comparisons=20, random_state=0
    )
    model = PluralisticRewardModel(random_state=0).fit(X, y, groups=groups, users=users)
    population = model.predict(X)
    np.testing.assert_allclose(model.predict(X, users=np.full(len(X), 999)), population)
    weights = model.mixture_weights_
    np.testing.assert_allclose(model.population_weights_, weights.mean(0))
    # Its reward is the users' mean reward, up to a constant (PAL-A).
    mean = np.mean([model.predict(X, users=np.full(len(X), u)) for u in range(20)], 0)
    np.testing.assert_allclose(
        population - population.mean(), mean - mean.mean(), atol=1e-4
    )
    # Per-user pair probabilities are those of the user's rewards.
    r = model.predict(X, users=users)
    proba = model.predict_pair_proba(X[0::2], X[1::2], users=users[0::2])
    np.testing.assert_allclose(proba, 1 / (1 + np.exp(-(r[0::2] - r[1::2]))), rtol=1e-5)


def test_pal_b_rewards_are_inner_products_with_the_ideal_point():
    X, y, groups, users, _ = make_pluralistic_preferences(
        n_users=10, n_comparisons=20, variant="reward", random_state=0
    )
    model = PluralisticRewardModel(variant="reward", random_state=0)
    model.fit(X, y, groups=groups, users=users)
    embedding = model.net_.module_.embed(torch.as_tensor(X, dtype=torch.float32))
    ideal = model.mixture_weights_ @ model.prototypes_
    expected = (embedding.detach().double().numpy() * ideal[users]).sum(1)
    np.testing.assert_allclose(model.predict(X, users=users), expected, rtol=1e-4)


def test_partial_fit_continues_and_refuses_new_users():
    X, y, groups, users, _ = make_pluralistic_preferences(
        n_users=10, n_comparisons=20, random_state=0
    )
    model = PluralisticRewardModel(scorer=MLPScorer(hidden_units=(8,)), random_state=0)
    model.partial_fit(X, y, groups=groups, users=users)
    first = model.objective_
    for _ in range(20):
        model.partial_fit(X, y, groups=groups, users=users)
    assert model.n_iter_ == 21
    assert model.objective_ < first
    with pytest.raises(ValueError, match="fit_new_users"):
        model.partial_fit(X, y, groups=groups, users=users + 100)


def test_ties_are_modelled():
    X, y, groups, users, _ = make_pluralistic_preferences(
        n_users=10, n_comparisons=30, random_state=0
    )
    y = y.copy()
    y[40:100] = 0.5
    model = PluralisticRewardModel(ties="davidson", random_state=0)
    model.fit(X, y, groups=groups, users=users)
    proba = model.predict_pair_proba(X[0::2], X[1::2], users=users[0::2])
    assert proba.shape == (len(X) // 2, 3)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert model.tie_parameter_ > 0
    model.fit_new_users(X[:40], y[:40], groups=groups[:40], users=users[:40] + 50)


def test_persistence_keeps_new_users():
    X, y, groups, users, _ = make_pluralistic_preferences(
        n_users=12, n_comparisons=20, random_state=0
    )
    old = users < 10
    model = PluralisticRewardModel(random_state=0)
    model.fit(X[old], y[old], groups=groups[old], users=users[old])
    model.fit_new_users(X[~old], y[~old], groups=groups[~old], users=users[~old])
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(loaded.users_, model.users_)
    np.testing.assert_allclose(
        loaded.predict(X, users=users), model.predict(X, users=users)
    )


def test_string_users_and_refit_of_new_users():
    X, y, groups, users, _ = make_pluralistic_preferences(
        n_users=6, n_comparisons=20, random_state=0
    )
    names = np.array([f"judge{u}" for u in users])
    old = users < 4
    model = PluralisticRewardModel(random_state=0)
    model.fit(X[old], y[old], groups=groups[old], users=names[old])
    model.fit_new_users(X[~old], y[~old], groups=groups[~old], users=names[~old])
    model.fit_new_users(X[~old], y[~old], groups=groups[~old], users=names[~old])
    assert sorted(model.users_.tolist()) == sorted(set(names.tolist()))
    assert model.mixture_weights(["judge5", "nobody"]).shape == (2, 3)


def test_bad_input():
    X, y, groups, users, _ = make_pluralistic_preferences(
        n_users=4, n_comparisons=10, random_state=0
    )
    model = PluralisticRewardModel(max_epochs=2)
    with pytest.raises(ValueError, match="users has 3 entries"):
        model.fit(X, y, groups=groups, users=users[:3])
    with pytest.raises(ValueError, match="users contains NaN"):
        model.fit(X, y, groups=groups, users=np.where(users == 0, np.nan, users))
    mixed = users.copy()
    mixed[1] = 3
    with pytest.raises(ValueError, match="made by one user"):
        model.fit(X, y, groups=groups, users=mixed)
    with pytest.raises(ValueError, match="groups is None"):
        model.fit(X, y, users=users)
    with pytest.warns(ConvergenceWarning):
        model.fit(X, y, groups=groups, users=users)
    with pytest.raises(ValueError, match="trained by fit"):
        model.fit_new_users(X, y, groups=groups, users=users)
    with pytest.raises(ValueError, match="needs users"):
        model.fit_new_users(X, y, groups=groups)
    model.set_params(prior_strength=0.0)
    with pytest.raises(ValueError, match="prior_strength > 0"):
        model.fit_new_users(X, y, groups=groups, users=users + 9)
    with pytest.raises(ValueError, match="n_clusters"):
        model.cluster_users(10)
    with pytest.raises(ValueError, match="X_a and X_b"):
        model.predict_pair_proba(X[:3], X[:2])


def test_pluralistic_loss_gradients():
    generator = torch.Generator().manual_seed(0)
    embeddings = torch.randn(6, 2, 3, dtype=torch.float64, generator=generator)
    prototypes = torch.randn(4, 3, dtype=torch.float64, generator=generator)
    logits = torch.randn(3, 4, dtype=torch.float64, generator=generator)
    grades = torch.tensor([[1.0, 0.0]] * 6, dtype=torch.float64)
    mask = torch.ones(6, 2, dtype=torch.bool)
    weight = torch.rand(6, 1, dtype=torch.float64, generator=generator).expand(6, 2)
    users = torch.tensor([0, 1, 2, 0, 1, 2]).repeat_interleave(2).view(6, 2)

    def loss(embeddings, prototypes, logits, *, distance):
        scores = prototype_rewards(embeddings, prototypes, distance=distance)
        return pluralistic_loss(
            scores, grades, mask, weight, users=users, mixture_logits=logits
        )

    for distance in (True, False):
        args = [
            t.clone().requires_grad_(True) for t in (embeddings, prototypes, logits)
        ]
        assert torch.autograd.gradcheck(partial(loss, distance=distance), args)


def test_pluralistic_loss_golden_values():
    # One user, two prototypes with equal weights, one pair: PAL-A rewards
    # -‖f - p_k‖² mixed 1/2-1/2, then -log σ(r_w - r_l).
    f = torch.tensor([[[0.0, 0.0], [1.0, 0.0]]], dtype=torch.float64)
    p = torch.tensor([[0.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    scores = prototype_rewards(f, p)
    np.testing.assert_allclose(scores.numpy(), [[[0.0, -4.0], [-1.0, -5.0]]])
    rewards = mixture_rewards(scores, torch.zeros(2, dtype=torch.float64))
    np.testing.assert_allclose(rewards.numpy(), [[-2.0, -3.0]])
    value = pluralistic_loss(
        scores,
        torch.tensor([[1.0, 0.0]], dtype=torch.float64),
        torch.ones(1, 2, dtype=torch.bool),
        torch.ones(1, 2, dtype=torch.float64),
        users=torch.zeros(1, 2, dtype=torch.int64),
        mixture_logits=torch.zeros(1, 2, dtype=torch.float64),
    )
    np.testing.assert_allclose(float(value), np.log1p(np.exp(-1.0)))
    # PAL-B: inner products.
    np.testing.assert_allclose(
        prototype_rewards(f, p, distance=False).numpy(), [[[0.0, 0.0], [0.0, 0.0]]]
    )


def test_weights_are_multiplicities_of_the_objective():
    # The same starting weights (random_state) and a step of negligible
    # length: objective_ is the objective at the start, with the weights of
    # the first data and with their groups repeated.
    X, y, groups, users, _ = make_pluralistic_preferences(
        n_users=3, n_comparisons=6, random_state=0
    )
    counts = np.repeat(np.arange(len(X) // 2) % 3 + 1, 2)
    repeat = np.repeat(np.arange(len(X)), counts)
    copy = np.concatenate([np.arange(c) for c in counts])
    params = dict(optimizer="sgd", lr=1e-300, dtype="float64", random_state=0)
    weighted = PluralisticRewardModel(**params).partial_fit(
        X, y, groups=groups, users=users, sample_weight=counts.astype(float)
    )
    repeated = PluralisticRewardModel(**params).partial_fit(
        X[repeat], y[repeat], groups=groups[repeat] * 10 + copy, users=users[repeat]
    )
    np.testing.assert_allclose(weighted.objective_, repeated.objective_, rtol=1e-12)


def test_users_are_routed_as_metadata():
    X, y, groups, users, _ = make_pluralistic_preferences(
        n_users=12, n_comparisons=20, random_state=0
    )
    # scikit-learn 1.6's Pipeline.score does not route metadata to the last
    # step (the folds would be scored without groups or users): there the
    # search holds the model itself.
    in_pipeline = tuple(int(p) for p in sklearn.__version__.split(".")[:2]) >= (1, 7)
    with sklearn.config_context(enable_metadata_routing=True):
        model = (
            PluralisticRewardModel(random_state=0)
            .set_fit_request(groups=True, users=True)
            .set_score_request(groups=True, users=True)
        )
        prefix = "pluralisticrewardmodel__" if in_pipeline else ""
        search = GridSearchCV(
            make_pipeline(StandardScaler(), model) if in_pipeline else model,
            {f"{prefix}n_prototypes": [1, 3]},
            cv=GroupKFold(n_splits=3),
        )
        search.fit(X, y, groups=groups, users=users)
    fitted = search.best_estimator_[-1] if in_pipeline else search.best_estimator_
    assert set(fitted.users_.tolist()) == set(users.tolist())
    assert search.best_score_ > 0.7
