"""A forgotten ``groups`` is not silent (issue 14, defect 11), for every
estimator of the registry that takes grades and ``groups``.

``groups=None`` stays meaningful (one ranking of all rows), but grades of
only two values with several rows at the top (winner/loser pairs, choices)
fitted or scored without groups raise a MissingGroupsWarning; explicit
groups, one explicit group, and many-valued grades do not.
"""

import warnings

import numpy as np
import pytest
from sklearn.model_selection import GroupKFold, cross_val_score

from skalign.exceptions import ConvergenceWarning, MissingGroupsWarning
from skalign.preference import PreferenceRewardRegressor

from .. import _registry as registry

NAMES = registry.names(kind="grouped")


def _pairs(n_pairs=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(2 * n_pairs, 3))
    groups = np.repeat(np.arange(n_pairs), 2)
    a_wins = X[0::2, 0] - X[1::2, 0] + rng.logistic(size=n_pairs) > 0
    y = np.column_stack([a_wins, ~a_wins]).astype(float).ravel()
    return X, y, groups


def _fit(name, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return registry.make(name).fit(X, y, **kwargs)


@pytest.mark.parametrize("name", NAMES)
def test_pairs_without_groups_warn_at_fit_and_score(name):
    X, y, _ = _pairs()
    with pytest.warns(MissingGroupsWarning, match="groups=None"):
        model = _fit(name, X, y)
    with pytest.warns(MissingGroupsWarning, match=r"\.score got groups=None"):
        model.score(X, y)


@pytest.mark.parametrize("name", NAMES)
def test_given_groups_and_graded_rows_do_not_warn(name):
    X, y, groups = _pairs()
    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingGroupsWarning)
        model = _fit(name, X, y, groups=groups)
        model.score(X, y, groups=groups)
        # One ranking on purpose: one explicit group id for every row.
        _fit(name, X, y, groups=np.zeros(len(y)))
        # Many-valued grades: one global ranking is a natural reading.
        _fit(name, X, np.round(X[:, 0], 1))


def test_cross_val_score_without_routing_warns():
    # scikit-learn's default (no metadata routing) gives groups to the
    # splitter alone: the folds are fitted and scored as one ranking.
    X, y, groups = _pairs(90)
    with pytest.warns(MissingGroupsWarning):
        cross_val_score(
            PreferenceRewardRegressor(), X, y, groups=groups, cv=GroupKFold(3)
        )
