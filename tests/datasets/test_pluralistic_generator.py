"""make_pluralistic_preferences: users of latent types with ideal points."""

import numpy as np
import pytest
from scipy.special import expit

from skalign.datasets import make_pluralistic_preferences


@pytest.mark.parametrize("variant", ["distance", "reward"])
def test_layout_types_and_noiseless_choices(variant):
    X, y, groups, users, truth = make_pluralistic_preferences(
        n_users=7,
        n_comparisons=5,
        n_types=3,
        variant=variant,
        noise=0.0,
        random_state=0,
    )
    assert X.shape == (70, 5) and y.shape == groups.shape == users.shape == (70,)
    np.testing.assert_array_equal(groups, np.repeat(np.arange(35), 2))
    np.testing.assert_array_equal(users, np.repeat(np.arange(7), 10))
    np.testing.assert_array_equal(y.reshape(-1, 2).sum(1), 1.0)
    # Types as even as possible, ideal points on the sphere of `separation`.
    np.testing.assert_array_equal(np.bincount(truth.user_types), [3, 2, 2])
    np.testing.assert_allclose(np.linalg.norm(truth.ideal_points, axis=1), 2.0)
    # Without noise, every user picks the item of higher utility for their type.
    centre = truth.ideal_points[truth.user_types[users]]
    if variant == "distance":
        utility = -((X - centre) ** 2).sum(1)
    else:
        utility = (X * centre).sum(1)
    winner = utility.reshape(-1, 2).argmax(1)
    np.testing.assert_array_equal(y.reshape(-1, 2).argmax(1), winner)


def test_choices_follow_bradley_terry():
    X, y, _, users, truth = make_pluralistic_preferences(
        n_users=200, n_comparisons=100, n_types=2, random_state=0
    )
    centre = truth.ideal_points[truth.user_types[users]]
    utility = (X * centre).sum(1).reshape(-1, 2)
    proba = expit(utility[:, 0] - utility[:, 1])
    first = y.reshape(-1, 2)[:, 0]
    # 20,000 comparisons: the mean outcome matches the mean probability.
    assert abs(first.mean() - proba.mean()) < 0.01
    bins = np.digitize(proba, [0.2, 0.4, 0.6, 0.8])
    for b in range(5):
        assert abs(first[bins == b].mean() - proba[bins == b].mean()) < 0.03


def test_bad_parameters():
    with pytest.raises(ValueError, match="variant"):
        make_pluralistic_preferences(variant="cosine")
    with pytest.raises(ValueError, match="n_types"):
        make_pluralistic_preferences(n_types=0)
