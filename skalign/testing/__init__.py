"""Hypothesis strategies and invariance checks for property-based tests.

Strategies draw data in skalign's long format that every estimator accepts
(:func:`preference_data`, :func:`ranking_data`, :func:`sensitive_features`,
:func:`logits_and_labels`); checks fit an estimator on transformed copies of
the data and raise an ``AssertionError`` naming any invariance that does not
hold (:func:`check_reward_model_invariances`,
:func:`check_ranker_invariances`, :func:`check_calibrator_invariances`).
Together they make a user's property-based test::

    from hypothesis import given, settings

    from skalign.ranking import PlackettLuceRanker
    from skalign.testing import check_ranker_invariances, ranking_data

    @settings(max_examples=20, deadline=None)
    @given(ranking_data())
    def test_my_ranker(data):
        X, y, groups = data
        ranker = PlackettLuceRanker(alpha=1e-2, dtype="float64", tol=1e-9)
        check_ranker_invariances(ranker, X, y, groups)

This module needs hypothesis, installed with ``pip install -e ".[testing]"`` in
the skalign checkout (or ``pip install hypothesis``);
nothing else in skalign imports it.
"""

from ..utils._extras import install_hint

try:
    import hypothesis  # noqa: F401
except ImportError as exc:
    raise ImportError(
        "skalign.testing needs the hypothesis package; install it with "
        f"{install_hint('testing')} (the 'testing' extra)."
    ) from exc

from ._checks import (
    check_calibrator_invariances,
    check_ranker_invariances,
    check_reward_model_invariances,
)
from ._strategies import (
    logits_and_labels,
    preference_data,
    ranking_data,
    sensitive_features,
)

__all__ = [
    "check_calibrator_invariances",
    "check_ranker_invariances",
    "check_reward_model_invariances",
    "logits_and_labels",
    "preference_data",
    "ranking_data",
    "sensitive_features",
]
