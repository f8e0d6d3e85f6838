"""Hypothesis properties of the preference family."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose

from skalign.nn import LinearScorer
from skalign.preference import GeneralPreferenceModel, PreferenceRewardRegressor
from skalign.testing import check_reward_model_invariances

_RNG = np.random.default_rng(0)
_X = _RNG.normal(size=(40, 3))
_Y = np.round(_X @ np.array([1.0, -1.0, 0.5]) + _RNG.logistic(size=40))
_GROUPS = np.repeat(np.arange(10), 4)


def _exact(**params):
    return PreferenceRewardRegressor(
        scorer=LinearScorer(fit_intercept=False),
        dtype="float64",
        tol=1e-10,
        max_epochs=500,
        alpha=1e-2,
        **params,
    )


_BASE = _exact().fit(_X, _Y, groups=_GROUPS)
_GPM = GeneralPreferenceModel(random_state=0, alpha=1e-2).fit(_X, _Y, groups=_GROUPS)

_rows = arrays("float64", (5, 3), elements=st.floats(-10, 10))


@settings(max_examples=25, deadline=None)
@given(_rows, _rows)
def test_pair_probabilities_are_complementary(X_a, X_b):
    for model in (_BASE, _GPM):
        assert_allclose(
            model.predict_pair_proba(X_a, X_b),
            1 - model.predict_pair_proba(X_b, X_a),
            atol=1e-6,
        )
    assert_allclose(_GPM.predict_pair_proba(X_a, X_a), 0.5)


@settings(max_examples=5, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_reward_model_invariances(seed):
    """Permuting rows, relabelling groups, shifting each group's grades, and
    duplicating groups (= their rows weighted by 2: a weight on every row of
    a group counts the group that many times) leave the fit unchanged."""
    check_reward_model_invariances(
        _exact(), _X, _Y, _GROUPS, random_state=seed, rtol=1e-6, atol=1e-8
    )
