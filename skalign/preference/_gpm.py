"""General Preference Model: preferences that need not be transitive."""

import numbers
import warnings
from functools import partial

import numpy as np
import scipy.sparse as sp
import torch
from scipy.special import expit
from sklearn.base import TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from .._docstrings import fill_doc
from .._engine import Formulation, Problem, TorchEstimator, _global_rng
from .._loss.pairwise import (
    general_preference_accuracy,
    general_preference_logits,
    general_preference_loss,
    general_preference_win_rate,
)
from ..exceptions import ConvergenceWarning
from ..nn import LinearScorer, MLPScorer, Scorer
from ..utils._groups import (
    check_grades,
    check_sample_weight,
    pack_groups,
    warn_if_ungrouped,
)
from ..utils._units import pair_units, row_weights
from ..utils._validation import column_moments
from ._reward import PreferenceRewardRegressor

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

    The default scorer is an :class:`~skalign.nn.MLPScorer` trained by
    Adam (``max_epochs=1000`` is only a bound; training stops when the
    loss stalls): preference embeddings are meant to be learned by a neural
    network, and a linear map of the features moves every row of a plane
    the same way. With a linear scorer, ``optimizer="auto"`` is full-batch
    L-BFGS (the objective is smooth, though not convex). The objective is
    not convex, so a fresh fit starts from the convex Bradley–Terry fit
    (``v = (τ r, 1)`` in the first plane, plus a tenth of the random
    initialisation), which the data determine: fits do not depend on the
    row order. ``alpha`` penalises the embeddings' biases too: in the
    bilinear form they act as weights. Training
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
    {mlp_scorer_param}
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
        max_epochs=1000,
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

    def _default_scorer(self):
        # Preference embeddings exist to be learned by a neural network (a
        # linear map of the features gives every row of a plane the same
        # direction of travel, which is how cycles arise in the first place).
        return MLPScorer()

    def _formulation(self):
        return Formulation(
            losses=(
                partial(general_preference_loss, temperature=float(self.temperature)),
            ),
            n_outputs=2 * self.n_components,
            # Bilinear, so not convex, but smooth and small with a linear
            # scorer: full-batch L-BFGS converges far faster than Adam.
            lbfgs=True,
            # An embedding's bias multiplies the other coordinate of its
            # plane: it acts as a weight, and an unpenalised one would let
            # the logits keep their values while the penalised weights
            # shrink towards zero, with no minimiser to stop at.
            penalize_biases=True,
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
        form = self._formulation()
        start = None
        if constants is None:
            weight = row_weights(
                units.index, units.targets["weight"], units.targets["mask"], X.shape[0]
            )
            start = partial(
                self._bradley_terry_state, X, y, groups, sample_weight, form, weight
            )
        return Problem(units, form, initial_state=start)

    def _bradley_terry_state(self, X, y, groups, sample_weight, form, row_weight):
        """The module's state at the Bradley–Terry fit: with ``k = 1`` and
        ``v = (τ r, 1)`` the pair logit is ``r_a - r_b``, so the first plane
        starts at the convex pairwise logistic fit of a linear reward ``r``
        (for an MLP, its output layer least-squares fitted to ``τ r`` on the
        hidden features), plus a tenth of the random initialisation on
        every output (zero is a saddle point of the bilinear form). The
        start depends on the data and ``random_state`` only, not on the row
        order. A scorer that is neither skalign's linear nor MLP scorer
        starts at its random initialisation."""
        reward = PreferenceRewardRegressor(
            max_pairs_per_group=self.max_pairs_per_group,
            alpha=self.alpha,
            dtype="float64",
            random_state=self.random_state,
        )
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        with warnings.catch_warnings():
            # Only a start: on separable data the reward fit stops early.
            warnings.simplefilter("ignore", ConvergenceWarning)
            reward.fit(X, y, groups=groups, sample_weight=sample_weight)
        # The random initialisation from torch's global generator, seeded
        # and restored under the engine's process-wide lock: a fit in
        # another thread can neither reseed it nor draw from it meanwhile.
        with _global_rng(seed, torch.device("cpu")):
            module = self._build_module(X.shape[1], form).to(torch.float64)
        linear = reward.scorer_.linear
        tau = float(self.temperature)
        output = module._output_layer() if isinstance(module, Scorer) else None
        if output is None or output.bias is None:
            return None
        if isinstance(module, LinearScorer):
            target_weight = tau * linear.weight.detach()[0]
            target_bias = 0.0
        elif isinstance(module, MLPScorer):
            # The moments a fresh fit gives the scorer (the engine's).
            module.set_input_scaling(*column_moments(X, row_weight))
            with torch.no_grad():
                dense = X.toarray() if sp.issparse(X) else np.asarray(X)
                hidden = module.body[:-1](
                    module.input_layer(
                        (
                            torch.as_tensor(dense, dtype=torch.float64)
                            - module.input_mean
                        )
                        / module.input_scale
                    )
                )
            features = hidden.numpy()
            target = tau * reward.predict(X)
            centred = features - features.mean(axis=0)
            target_weight = torch.as_tensor(
                np.linalg.lstsq(centred, target - target.mean(), rcond=None)[0]
            )
            target_bias = float(
                target.mean() - features.mean(axis=0) @ target_weight.numpy()
            )
        else:
            return None
        with torch.no_grad():
            # A tenth of the random initialisation stays on every output: a
            # start exactly at Bradley–Terry is a saddle point wherever the
            # data are a cycle (the reward fit is then constant).
            output.weight.mul_(0.1)
            output.bias.mul_(0.1)
            output.weight[0] += target_weight
            output.bias[0] += target_bias
            output.bias[1] += 1.0
        return {k: v.detach().clone() for k, v in module.state_dict().items()}

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
