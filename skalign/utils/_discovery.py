"""Discovery of skalign's public estimators."""

import importlib
import importlib.util
import inspect

from sklearn.base import BaseEstimator

__all__ = ["all_estimators"]

# Each family exports its estimators in ``__all__``; a family that has not
# landed yet has no subpackage and is skipped.
_FAMILIES = ("preference", "ranking", "fairness", "calibration", "ordinal")


def all_estimators():
    """Every public skalign estimator, as sorted ``(name, class)`` pairs.

    Like :func:`sklearn.utils.all_estimators`; used by the common test-suite,
    so a new estimator exported by a family is checked automatically.

    Examples
    --------
    >>> from skalign.utils import all_estimators
    >>> ("PreferenceRewardRegressor" in dict(all_estimators()))
    True
    """
    found = {}
    for family in _FAMILIES:
        if importlib.util.find_spec(f"skalign.{family}") is None:
            continue
        module = importlib.import_module(f"skalign.{family}")
        for name in module.__all__:
            obj = getattr(module, name)
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseEstimator)
                and hasattr(obj, "fit")
                and not inspect.isabstract(obj)
            ):
                found[name] = obj
    return sorted(found.items())
