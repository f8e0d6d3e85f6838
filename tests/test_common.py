"""scikit-learn's estimator checks over every public skalign estimator.

Every estimator from ``skalign.utils.all_estimators()`` must be constructible
without arguments; the instances checked, and the checks expected to fail
with their reasons, come from the registry (``tests/_registry.py``).
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skalign.utils import all_estimators

from . import _registry as registry

# scikit-learn's checks fit and score without groups, often on binary y: the
# grouped estimators rightly warn that all rows are one ranking.
pytestmark = pytest.mark.filterwarnings(
    "ignore::skalign.exceptions.MissingGroupsWarning"
)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(
    registry.instances(),
    expected_failed_checks=registry.expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_all_estimators_lists_the_families():
    names = dict(all_estimators())
    assert "PreferenceRewardRegressor" in names
