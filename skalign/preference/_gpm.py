"""General Preference Model: preferences that need not be transitive."""

import numbers
from functools import partial

import numpy as np
import torch
from scipy.special import expit
from sklearn.base import TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from .._docstrings import fill_doc
from .._engine import Formulation, Problem, TorchEstimator
from .._loss.pairwise import (
    general_preference_accuracy,
    general_preference_logits,
    general_preference_loss,
    general_preference_win_rate,
)
from ..utils._groups import (
    check_grades,
    check_sample_weight,
    pack_groups,
    warn_if_ungrouped,
)
from ..utils._units import pair_units

__all__ = ["GeneralPreferenceModel"]


@fill_doc
class GeneralPreferenceModel(TransformerMixin, TorchEstimator):
    """General Preference Model: skew-symmetric preference embeddings.

    Each row is embedded in ``R^{2k}`` (``k = n_components``) and
    ``P(a ≻ b) = σ(⟨R v_a, v_b⟩ / τ)`` with ``R`` block-diagonal
    ``[[0, -1], [1, 0]]`` (Zhang et al., 2024, "General Preference Modeling
    with Preference Representations"). The form is skew-symmetric, so
    ``P(a ≻ b) = 1 - P(b ≻ a)``, but unlike a scalar reward it can represent
    cycles (rock ≻ scissors ≻ paper ≻ rock). With ``k = 1`` and
    ``v = (r, 1)`` it is Bradley–Terry with reward ``r``.

    With a linear scorer, ``optimizer="auto"`` is full-batch L-BFGS (the
    objective is smooth, though not convex); otherwise Adam. Training
    minimises ``-log σ(⟨R v_w, v_l⟩ / τ)`` over grade-ordered pairs
    within groups, in the long format of
    :class:`~skalign.preference.PreferenceRewardRegressor` (with its pair
    weights: a weight ``c`` on every row of a group counts the group ``c``
    times, see :ref:`sample_weights`; single-row and all-tied groups are
    ignored).

    Parameters
    ----------
    n_components : int, default=2
        Number of 2-D planes ``k``; embeddings have ``2k`` dimensions.
    temperature : float, default=1.0
        ``τ``, dividing every pair logit.
    max_pairs_per_group : "auto", int or None, default="auto"
        Bounds the pairs of long groups, as in
        :class:`~skalign.preference.PreferenceRewardRegressor`: ``"auto"``
        keeps every pair unless the data hold more than ``max(2**18, 16 *
        n_samples)``, and then samples the longest groups without bias.
    {scorer_param}
    {engine_params}

    Attributes
    ----------
    {engine_attributes}

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.preference import GeneralPreferenceModel
    >>> from skalign.utils import comparisons_to_long
    >>> cycle = np.array([(0, 1), (1, 2), (2, 0)] * 30)  # rock-paper-scissors
    >>> X, y, groups = comparisons_to_long(np.eye(3), cycle)
    >>> gpm = GeneralPreferenceModel(n_components=1, random_state=0)
    >>> gpm = gpm.fit(X, y, groups=groups)
    >>> bool((gpm.predict_pair_proba(np.eye(3), np.roll(np.eye(3), -1, 0)) > 0.8).all())
    True
    """

    _parameter_constraints = {
        **TorchEstimator._parameter_constraints,
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "temperature": [Interval(numbers.Real, 0, None, closed="neither")],
        "max_pairs_per_group": [
            StrOptions({"auto"}),
            None,
            Interval(numbers.Integral, 1, None, closed="left"),
        ],
    }

    def __init__(
        self,
        n_components=2,
        *,
        temperature=1.0,
        max_pairs_per_group="auto",
        scorer=None,
        alpha=0.0,
        optimizer="auto",
        lr=None,
        max_epochs=100,
        batch_size="auto",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="cpu",
        dtype="float32",
        callbacks=None,
        warm_start=False,
        verbose=0,
        random_state=None,
    ):
        self.n_components = n_components
        self.temperature = temperature
        self.max_pairs_per_group = max_pairs_per_group
        self.scorer = scorer
        self.alpha = alpha
        self.optimizer = optimizer
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.dtype = dtype
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.verbose = verbose
        self.random_state = random_state

    def _formulation(self):
        return Formulation(
            losses=(
                partial(general_preference_loss, temperature=float(self.temperature)),
            ),
            n_outputs=2 * self.n_components,
            # Bilinear, so not convex, but smooth and small with a linear
            # scorer: full-batch L-BFGS converges far faster than Adam.
            lbfgs=True,
        )

    def _problem(self, X, y, *, constants, groups, sample_weight):
        units = pair_units(
            X,
            y,
            groups,
            sample_weight,
            max_pairs_per_group=self.max_pairs_per_group,
            random_state=self.random_state,
        )
        return Problem(units, self._formulation())

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, groups=None, sample_weight=None):
        """Fit the preference embeddings.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Grades; within a group, a higher grade is preferred.
        groups : array-like of shape (n_samples,), default=None
            Group id of each row; ``None`` treats all rows as one group.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights. A group weighs the mean weight of its
            rows and a pair of its rows ``a, b`` weighs ``w_a w_b / w̄``:
            give a comparison's count on both of its rows.

        Returns
        -------
        self : GeneralPreferenceModel
        """
        return self._fit(X, y, groups=groups, sample_weight=sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, *, groups=None, sample_weight=None):
        """Run one more epoch, initialising if not fitted. Returns ``self``."""
        return self._fit(
            X, y, epochs=1, incremental=True, groups=groups, sample_weight=sample_weight
        )

    def transform(self, X):
        """Preference embeddings ``v`` of each row.

        Returns
        -------
        embeddings : ndarray of shape (n_samples, 2 * n_components)
        """
        return self._raw_scores(X)

    def get_feature_names_out(self, input_features=None):
        """Names ``gpm0`` ... of the embedding columns."""
        return np.array([f"gpm{i}" for i in range(2 * self.n_components)], dtype=object)

    def decision_pair_function(self, X_a, X_b):
        """Pair logit ``⟨R v_a, v_b⟩ / τ`` of each row pair.

        Returns
        -------
        logits : ndarray of shape (n_pairs,)
        """
        v_a, v_b = self.transform(X_a), self.transform(X_b)
        if v_a.shape != v_b.shape:
            raise ValueError(
                f"X_a and X_b must have the same number of rows; got "
                f"{v_a.shape[0]} and {v_b.shape[0]}."
            )
        return _logits(v_a, v_b, self.temperature)

    def predict_pair_proba(self, X_a, X_b):
        """``P(a ≻ b)`` for each row pair.

        Returns
        -------
        proba : ndarray of shape (n_pairs,)
        """
        return expit(self.decision_pair_function(X_a, X_b))

    def predict(self, X, *, groups=None):
        """Expected win rate of each row against the other rows of its group.

        ``mean_{j ≠ i, same group} P(i ≻ j)``: a scalar summary (intransitive
        preferences have no exact scalar reward). A row alone in its group
        gets 0.5. ``groups=None`` compares every row with every other.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        groups : array-like of shape (n_samples,), default=None

        Returns
        -------
        win_rate : ndarray of shape (n_samples,)
        """
        v = self.transform(X)
        packed = pack_groups(np.zeros(len(v)), groups, drop_uninformative=False)
        mask = torch.as_tensor(packed.mask)
        rate = general_preference_win_rate(
            torch.as_tensor(packed.take(v)), mask, self.temperature
        )
        out = np.empty(len(v))
        out[packed.index[packed.mask]] = rate[mask].numpy()
        return out

    def score(self, X, y, *, groups=None, sample_weight=None):
        """Fraction of grade-ordered pairs with ``P(w ≻ l) > 0.5`` (ties 1/2).

        The pairwise accuracy of the pair probabilities themselves, so it is
        meaningful for cyclic preferences too.

        Returns
        -------
        score : float
        """
        v = self.transform(X)
        grades = check_grades(y)
        warn_if_ungrouped(groups, grades, f"{type(self).__name__}.score")
        weight = check_sample_weight(sample_weight, len(v))
        packed = pack_groups(grades, groups)
        # In blocks of rows: a long group's pairs are never all held at once.
        with torch.no_grad():
            correct, total = general_preference_accuracy(
                torch.as_tensor(packed.take(v)),
                torch.as_tensor(packed.take(grades)),
                torch.as_tensor(packed.mask),
                torch.as_tensor(packed.take(weight)),
                self.temperature,
            )
        return correct / total if total else float("nan")


def _logits(v_a, v_b, temperature):
    with torch.no_grad():
        return general_preference_logits(
            torch.as_tensor(v_a), torch.as_tensor(v_b), temperature
        ).numpy()
