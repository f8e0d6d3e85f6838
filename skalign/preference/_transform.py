"""Transforming and combining rewards."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._groups import pack_groups
from ..utils._persistence import VersionedStateMixin
from ..utils._validation import check_features

__all__ = ["RewardTransformer"]


def _log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


class RewardTransformer(VersionedStateMixin, TransformerMixin, BaseEstimator):
    """Log-sigmoid of centred rewards, summed over reward columns.

    ``u = log σ(r - r_ref)`` per reward column (Wang et al., 2024,
    "Transforming and Combining Rewards for Aligning Large Language
    Models"): the log-probability that a response is better than the
    reference. It saturates for rewards far above the reference, so a policy
    gains little by pushing an already good response further, and the sum of
    several columns is the log-probability of being good on every property
    at once (a logical AND).

    The reference ``r_ref`` is, per column, a quantile of the rewards of the
    response's own group (the rows sharing its ``groups`` id at
    :meth:`transform`, e.g. the responses sampled for one prompt) or a given
    value. Without ``groups``, the quantile of the data seen in :meth:`fit`.

    Reward models (:class:`PreferenceRewardRegressor`,
    :class:`BinaryFeedbackRewardRegressor`) have a ``transform`` returning
    their reward column, so they can precede this step in a ``Pipeline``;
    several reward models are combined with a
    :class:`~sklearn.pipeline.FeatureUnion` before it.

    Parameters
    ----------
    reference : "median", float in (0, 1) or array-like of shape (n_rewards,), \
            default="median"
        ``"median"`` or a quantile level: per-group quantile of each reward
        column. An array: fixed reference values, one per column.
    combine : {"sum", None}, default="sum"
        ``"sum"`` returns one column, the sum of the transformed rewards;
        ``None`` returns one transformed column per reward.

    Attributes
    ----------
    reference_ : ndarray of shape (n_rewards,)
        The fallback reference: the quantile over the data seen in ``fit``, or
        the given values.
    n_features_in_ : int
        Number of reward columns.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.preference import RewardTransformer
    >>> rewards = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, -1.0], [6.0, 0.0]])
    >>> RewardTransformer().fit_transform(rewards, groups=[0, 0, 1, 1]).round(3)
    array([[-2.627],
           [-0.627],
           [-2.287],
           [-0.787]])
    """

    _required_fitted_state = ("reference_", "n_features_in_")

    _parameter_constraints = {
        "reference": [
            StrOptions({"median"}),
            Interval(numbers.Real, 0, 1, closed="neither"),
            "array-like",
        ],
        "combine": [StrOptions({"sum"}), None],
    }

    def __init__(self, reference="median", *, combine="sum"):
        self.reference = reference
        self.combine = combine

    def _level(self):
        if isinstance(self.reference, str):
            return 0.5
        if isinstance(self.reference, numbers.Real):
            return float(self.reference)
        return None

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the fallback reference from the rewards ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_rewards)
            Rewards, one column per reward model.
        y : None
            Ignored.

        Returns
        -------
        self : RewardTransformer
        """
        X = check_features(X)
        X = validate_data(self, X, dtype=np.float64)
        level = self._level()
        if level is None:
            reference = np.asarray(self.reference, dtype=np.float64).ravel()
            if reference.shape != (X.shape[1],) or not np.isfinite(reference).all():
                raise ValueError(
                    "reference must hold one finite value per reward column "
                    f"({X.shape[1]}); got {self.reference!r}."
                )
            self.reference_ = reference
        else:
            self.reference_ = np.quantile(X, level, axis=0)
        return self

    def transform(self, X, *, groups=None):
        """Transform rewards; per-group references when ``groups`` is given.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_rewards)
        groups : array-like of shape (n_samples,), default=None
            Group (prompt) id of each row. With a quantile ``reference``, each
            row is centred on the quantile of its group's rewards.

        Returns
        -------
        U : ndarray of shape (n_samples, 1) or (n_samples, n_rewards)
        """
        check_is_fitted(self)
        X = check_features(X)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        level = self._level()
        if groups is None or level is None:
            reference = self.reference_
        else:
            packed = pack_groups(np.zeros(len(X)), groups, drop_uninformative=False)
            padded = np.where(packed.mask[..., None], X[packed.index], np.nan)
            per_group = np.nanquantile(padded, level, axis=1)
            reference = np.empty_like(X)
            reference[packed.index[packed.mask]] = np.repeat(
                per_group, packed.mask.sum(axis=1), axis=0
            )
        U = _log_sigmoid(X - reference)
        return U.sum(axis=1, keepdims=True) if self.combine == "sum" else U

    def fit_transform(self, X, y=None, *, groups=None):
        """Fit, then transform ``X`` with per-group references."""
        return self.fit(X, y).transform(X, groups=groups)

    def get_feature_names_out(self, input_features=None):
        """``["reward_sum"]`` or one name per reward column."""
        check_is_fitted(self)
        if self.combine == "sum":
            return np.array(["reward_sum"], dtype=object)
        if input_features is None:
            input_features = getattr(
                self,
                "feature_names_in_",
                [f"reward{i}" for i in range(self.n_features_in_)],
            )
        return np.array(
            [f"log_sigmoid_{name}" for name in input_features], dtype=object
        )
