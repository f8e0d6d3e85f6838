"""The registry of estimator instances (``tests/_registry.py``) covers
exactly the estimators of ``skalign.utils.all_estimators()``."""

import pytest

from skalign.utils import all_estimators

from . import _registry as registry


def test_every_estimator_has_an_entry():
    missing = [name for name, _ in all_estimators() if name not in registry.ENTRIES]
    assert not missing, f"add an Entry for {missing} to tests/_registry.py"


def test_every_entry_names_an_estimator():
    exported = dict(all_estimators())
    stale = [name for name in registry.ENTRIES if name not in exported]
    assert not stale, f"remove the entries of {stale} from tests/_registry.py"


def test_an_estimator_without_an_entry_fails_loudly():
    with pytest.raises(LookupError, match=r"no entry in tests/_registry\.py"):
        registry.entry("NoSuchEstimator")
