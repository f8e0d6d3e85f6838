"""The skalign version in every estimator's saved state.

Pickle, joblib and skops all save an estimator through ``__getstate__`` and
restore it through ``__setstate__``; this mixin adds the saving version to
the state and checks it on load, as scikit-learn does for its own version.
"""

import warnings

from .. import __version__
from ..exceptions import InconsistentVersionWarning
from ._doc_link import DocumentationLinkMixin

__all__ = ["VersionedStateMixin"]


# Every public estimator has this mixin before BaseEstimator, so it also
# carries the HTML repr's documentation link.
class VersionedStateMixin(DocumentationLinkMixin):
    """Records the skalign version on save; warns or fails on load.

    ``_required_fitted_state`` names the keys a fitted estimator's state must
    hold, the first one marking a fitted state. A fitted state lacking any of
    them comes from a format this version cannot read: loading fails with a
    ``ValueError`` naming both versions. A state saved by another version
    loads with an :class:`~skalign.exceptions.InconsistentVersionWarning`.
    """

    _required_fitted_state = ()

    def __getstate__(self):
        # A copy: object.__getstate__ may return the live __dict__.
        state = dict(super().__getstate__())
        state["_skalign_version"] = __version__
        return state

    def __setstate__(self, state):
        state = dict(state)
        saved = state.pop("_skalign_version", None)
        required = self._required_fitted_state
        if required and required[0] in state:
            missing = [key for key in required if key not in state]
            if missing:
                raise self._incompatible_state(saved, missing)
        if saved != __version__:
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=type(self).__name__,
                    original_version=saved,
                    current_version=__version__,
                ),
                stacklevel=2,
            )
        super().__setstate__(state)

    def _incompatible_state(self, saved, missing):
        """The error for a saved state that lacks the keys ``missing``."""
        return ValueError(
            f"Cannot load this {type(self).__name__}: it was saved by skalign "
            f"{saved or '(unknown version)'} in a format that skalign "
            f"{__version__} cannot read (the fitted state lacks {missing}). "
            f"Load it with the skalign version that saved it, or refit it with "
            f"skalign {__version__}."
        )
