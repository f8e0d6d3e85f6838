"""Reward models learned from preferences on feature vectors."""

import numbers
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from scipy.special import expit
from sklearn.base import (
    ClassNamePrefixFeaturesOutMixin,
    RegressorMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._docstrings import fill_doc
from .._engine import Formulation, Problem, TorchEstimator
from .._inference import LikelihoodInferenceMixin
from .._loss.pairwise import (
    bradley_terry_loss,
    davidson_log_proba,
    davidson_loss,
    margin_loss,
    rao_kupper_log_proba,
    rao_kupper_loss,
    regression_loss,
    scaled_bradley_terry_loss,
)
from ..metrics import pairwise_accuracy
from ..utils._groups import (
    check_sample_weight,
    warn_if_diverged_items,
    warn_if_ungrouped,
)
from ..utils._penalty import FairnessPenaltyMixin, fill_penalty_doc
from ..utils._units import pair_units

__all__ = ["PreferenceRewardRegressor"]

_PAIRWISE = {"bradley_terry", "margin", "scaled"}
_OBJECTIVES = {*_PAIRWISE, "regression", "regression_then_scaled", "joint"}


class _TieLoss(torch.nn.Module):
    """Bradley–Terry with ties: holds the learned tie parameter.

    Rao–Kupper's ``log θ`` is ``softplus(raw) >= 0``; Davidson's ``log ν`` is
    ``raw`` itself. Both start at ``raw = 0``.
    """

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.raw = torch.nn.Parameter(torch.zeros(()))

    def tie_log_parameter(self):
        return F.softplus(self.raw) if self.model == "rao_kupper" else self.raw

    def forward(self, scores, grades, mask, weight):
        if self.model == "rao_kupper":
            return rao_kupper_loss(
                scores, grades, mask, weight, log_theta=self.tie_log_parameter()
            )
        return davidson_loss(scores, grades, mask, weight, log_nu=self.raw)


def _with_centering(loss, strength, scores, grades, mask, weight):
    """``loss + strength * mean(r²)``: keeps rewards centred near zero."""
    value = loss(scores, grades, mask, weight)
    if strength:
        row_weight = torch.where(mask, weight, 0.0)
        value = value + strength * (row_weight * scores**2).sum() / row_weight.sum()
    return value


def _joint_loss(scores, grades, mask, weight, *, regression_weight):
    return regression_weight * regression_loss(scores, grades, mask, weight) + (
        1 - regression_weight
    ) * scaled_bradley_terry_loss(scores, grades, mask, weight)


class _RegularisedLoss(torch.nn.Module):
    """A loss (function or module with parameters) plus reward centring and
    the fairness penalty (a function of the rewards and the per-position
    ``row``, ``attributes`` and ``attribute_weight`` targets), either
    optional."""

    def __init__(self, loss, centering, penalty):
        super().__init__()
        self.loss = loss
        self.strength = centering
        self.penalty = penalty

    def forward(self, scores, grades, mask, weight, **penalty_targets):
        value = _with_centering(self.loss, self.strength, scores, grades, mask, weight)
        if self.penalty is not None:
            value = value + self.penalty(
                scores,
                penalty_targets["attributes"],
                penalty_targets["attribute_weight"],
                mask,
                row=penalty_targets["row"],
                strata=penalty_targets.get("strata"),
            )
        return value


@fill_doc
@partial(
    fill_penalty_doc,
    scores="rewards",
    once="A row counts once per (mini-)batch, however many pairs it is in.",
    strings=True,
)
class PreferenceRewardRegressor(
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    RegressorMixin,
    FairnessPenaltyMixin,
    LikelihoodInferenceMixin,
    TorchEstimator,
):
    """Reward model learned from within-group preferences, ratings or both.

    Each row of ``X`` is an item (a response, a candidate); rows sharing a
    ``groups`` id were compared, and a higher grade ``y`` is preferred. The
    model learns a reward ``r(x)``. Objectives, over every pair of rows of a
    group with grades ``w > l`` (pairs weighted as described under
    ``sample_weight`` in :meth:`fit`), with ``m = y_w - y_l`` the grade gap:

    - ``"bradley_terry"``: ``-log σ(r_w - r_l)`` (Bradley & Terry, 1952);
    - ``"margin"``: ``-log σ(r_w - r_l - margin_scale · m)``;
    - ``"scaled"``: ``-m · log σ(r_w - r_l)``, "scaled BT" of
      HelpSteer2-Preference (Wang et al., 2024);
    - ``"regression"``: ``(r - y)²`` over rows (rating-style reward models);
    - ``"regression_then_scaled"``: fit ``"regression"``, then continue with
      ``"scaled"`` from those weights (HelpSteer2-Preference's best recipe);
    - ``"joint"``: ``regression_weight · regression + (1 - regression_weight)
      · scaled``.

    A per-pair margin chosen by the user is expressed through the grades: a
    pair graded ``(m, 0)`` has margin ``margin_scale · m``. Ties (equal grades)
    are ignored by the pairwise objectives unless ``ties`` models them:
    Rao–Kupper (1967) ``P(w ≻ l) = σ(r_w - r_l - log θ)``, or Davidson (1970)
    ``P(w ≻ l) ∝ π_w``, ``P(tie) ∝ ν √(π_w π_l)`` with ``π = exp(r)``, with
    ``θ >= 1`` or ``ν > 0`` learned. Pairwise objectives ignore groups with
    one row or only tied grades (tie models keep the tied ones); regression
    uses every row.

    With ``fairness_penalty`` (a
    :class:`~skalign.fairness.DependencePenalty`) set, its strength times a
    distance covariance between the rewards and the protected attributes
    (``fit(..., sensitive_features=...)``) of the person or source behind
    each row is added to the loss, so that the rewards approach independence
    of those attributes (demographic parity of the rewards), for categorical
    and continuous attributes alike. Each row counts once in the penalty,
    however many pairs it is part of. The objective is then not convex:
    ``optimizer="auto"`` (with the default linear scorer) optimises the
    whole-data penalty by L-BFGS, starting from the unpenalised fit, when
    the penalty has its exact ``O(n log n)`` path or the data have at most
    4096 rows, and is otherwise Adam on mini-batches (the penalty estimated
    on each batch's rows). See
    :ref:`fair_reward_models`.

    With ``scorer=LinearScorer(fit_intercept=False)`` and ``alpha=0``,
    ``"bradley_terry"`` is logistic regression on difference features
    ``x_w - x_l``; with ``alpha > 0`` it matches
    ``LogisticRegression(C=1 / (alpha * n_pairs), fit_intercept=False)``,
    ``n_pairs`` the total pair weight (the number of grade-ordered pairs when
    unweighted).

    Parameters
    ----------
    objective : {"bradley_terry", "margin", "scaled", "regression", \
            "regression_then_scaled", "joint"}, default="bradley_terry"
        The training objective (see above).
    ties : {"ignore", "rao_kupper", "davidson"}, default="ignore"
        How tied grades within a group are modelled; only with
        ``objective="bradley_terry"``.
    margin_scale : float, default=1.0
        Margin per unit of grade gap for ``objective="margin"``.
    regression_weight : float, default=0.5
        Weight of the regression term for ``objective="joint"``.
    reward_centering : float, default=0.0
        Adds ``reward_centering`` times the weighted mean squared reward to the
        loss, keeping rewards centred near zero (the reward is otherwise only
        defined up to a constant by the pairwise objectives).
    max_pairs_per_group : "auto", int or None, default="auto"
        Bounds the pairs of long groups, whose ``L (L - 1) / 2`` pairs grow
        as ``L²``, for the pairwise objectives. An int ``K``: a group with
        more than ``K`` position pairs contributes a sample of about ``K``
        of them (at least one per row), drawn with ``random_state`` so that
        every pair is equally likely and weighted so that the group's
        contribution to the loss is unbiased. ``"auto"``: every pair while
        the data hold at most ``max(2**18, 16 * n_samples)`` pairs in all
        (always when no group has more than 33 rows); beyond that, the longest
        groups are sampled down to one common ``K`` that keeps the total
        within that budget, so memory stays linear in the rows. ``None``:
        every pair; a ``ValueError`` is raised before anything is allocated
        when they cannot fit in the memory available. See
        :ref:`long_groups`.
    {fairness_penalty_params}
    {scorer_param}
    {engine_params}

    Attributes
    ----------
    tie_parameter_ : float
        The fitted ``θ`` (Rao–Kupper) or ``ν`` (Davidson); only when ties
        are modelled.
    sensitive_attributes_ : tuple of str
        Names of the protected attributes seen in :meth:`fit` (empty when
        fitted without them).
    {engine_attributes}
    {likelihood_attributes}

    See Also
    --------
    skalign.metrics.pairwise_accuracy : The metric used by :meth:`score`.
    skalign.utils.pairs_to_long : Convert wide pair data to the long format.
    GeneralPreferenceModel : Preferences that need not be transitive.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.preference import PreferenceRewardRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> groups = np.repeat(np.arange(100), 2)
    >>> y = X @ np.array([1.0, -1.0, 0.5]) + rng.logistic(size=200)
    >>> model = PreferenceRewardRegressor(random_state=0).fit(X, y, groups=groups)
    >>> model.predict(X[:2]).shape
    (2,)
    >>> round(model.score(X, y, groups=groups), 2) > 0.7
    True

    Rewards that do not depend on a protected attribute of the author of
    each response, although the grades (and feature 0) do:

    >>> author = (X[:, 0] + rng.normal(size=200) > 0).astype(int)
    >>> from skalign.fairness import DependencePenalty
    >>> fair = PreferenceRewardRegressor(
    ...     fairness_penalty=DependencePenalty(strength=10.0)
    ... ).fit(X, y, groups=groups, sensitive_features=author)
    >>> gap = lambda r: abs(r[author == 1].mean() - r[author == 0].mean())
    >>> bool(gap(fair.predict(X)) < gap(model.predict(X)) / 2)
    True
    """

    _penalised = "rewards"

    _parameter_constraints = {
        **TorchEstimator._parameter_constraints,
        **FairnessPenaltyMixin._penalty_constraints,
        "objective": [StrOptions(_OBJECTIVES)],
        "ties": [StrOptions({"ignore", "rao_kupper", "davidson"})],
        "margin_scale": [Interval(numbers.Real, 0, None, closed="left")],
        "regression_weight": [Interval(numbers.Real, 0, 1, closed="both")],
        "reward_centering": [Interval(numbers.Real, 0, None, closed="left")],
        "max_pairs_per_group": [
            StrOptions({"auto"}),
            None,
            Interval(numbers.Integral, 1, None, closed="left"),
        ],
    }

    def __init__(
        self,
        objective="bradley_terry",
        *,
        ties="ignore",
        margin_scale=1.0,
        regression_weight=0.5,
        reward_centering=0.0,
        max_pairs_per_group="auto",
        fairness_penalty=None,
        fairness_strength="deprecated",
        jdcov_c="deprecated",
        categorical_features="deprecated",
        scale_continuous="deprecated",
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
        self.objective = objective
        self.ties = ties
        self.margin_scale = margin_scale
        self.regression_weight = regression_weight
        self.reward_centering = reward_centering
        self.max_pairs_per_group = max_pairs_per_group
        self.fairness_penalty = fairness_penalty
        self.fairness_strength = fairness_strength
        self.jdcov_c = jdcov_c
        self.categorical_features = categorical_features
        self.scale_continuous = scale_continuous
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

    # ----------------------------------------------------------- objective
    def _formulation(self, penalty=None, n_rows=0):
        """``penalty``: the fairness penalty's configuration (a constant of
        the problem, see :meth:`_penalty_targets`), ``None`` when off;
        ``n_rows``: the rows of the first fit (the penalty's solver)."""
        term = self._penalty_term(penalty)
        if self.objective == "regression_then_scaled":
            objectives = ("regression", "scaled")
        else:
            objectives = (self.objective,)
        return Formulation(
            losses=tuple(self._objective_loss(o, term) for o in objectives),
            # The dependence penalty is neither convex in the weights nor
            # smooth.
            convex=penalty is None,
            smooth=penalty is None,
            lbfgs=None if penalty is None else self._penalty_lbfgs(penalty, n_rows),
            shift_invariant=self.objective in _PAIRWISE
            and not self.reward_centering
            and penalty is None,
            # Bradley–Terry (with or without a tie model) is a likelihood;
            # the other objectives are not.
            likelihood=self.objective == "bradley_terry"
            and not self.reward_centering
            and penalty is None,
        )

    def _inference_parameters(self, module, criterion):
        # Bradley–Terry (with or without ties) sees score differences only.
        out = super()._inference_parameters(module, criterion, intercept=False)
        if isinstance(criterion.loss, _TieLoss):
            name = "log_theta" if criterion.loss.model == "rao_kupper" else "log_nu"
            out.append(([name], criterion.loss.tie_log_parameter().reshape(1)))
        return out

    def _objective_loss(self, objective, penalty):
        if objective == "bradley_terry" and self.ties != "ignore":
            loss = _TieLoss(self.ties)
        else:
            loss = {
                "bradley_terry": bradley_terry_loss,
                "margin": partial(margin_loss, margin_scale=self.margin_scale),
                "scaled": scaled_bradley_terry_loss,
                "regression": regression_loss,
                "joint": partial(_joint_loss, regression_weight=self.regression_weight),
            }[objective]
        if self.reward_centering or penalty is not None:
            return _RegularisedLoss(loss, float(self.reward_centering), penalty)
        return loss

    def _check_options(self):
        if self.ties != "ignore" and self.objective != "bradley_terry":
            raise ValueError(
                f"ties={self.ties!r} models ties in the Bradley-Terry likelihood; "
                f"it needs objective='bradley_terry', got {self.objective!r}."
            )
        sampled = isinstance(self.max_pairs_per_group, numbers.Integral)
        if sampled and self.objective not in _PAIRWISE:
            raise ValueError(
                "max_pairs_per_group samples pairs for the pairwise objectives "
                f"{sorted(_PAIRWISE)}; objective={self.objective!r} also fits "
                "every row's grade, so it cannot drop rows."
            )

    def _problem(self, X, y, *, constants, groups, sample_weight, sensitive_features):
        self._check_options()
        units = pair_units(
            X,
            y,
            groups,
            sample_weight,
            pairwise=self.objective in _PAIRWISE,
            keep_tied_groups=self.ties != "ignore",
            max_pairs_per_group=self.max_pairs_per_group,
            random_state=self.random_state,
        )
        rows, penalty = self._penalty_targets(
            sensitive_features,
            X.shape[0],
            constants=constants,
            target=np.asarray(y, dtype=np.float64),
        )
        if rows is not None:
            # A row is in as many pair units as it has comparisons: the
            # penalty counts it once, by its id (see unit_dependence_penalty).
            index, targets = units.index, units.targets
            weight = check_sample_weight(sample_weight, X.shape[0])
            targets["row"] = index
            targets["attribute_weight"] = np.where(targets["mask"], weight[index], 0.0)
            for name, values in rows.items():
                targets[name] = values[index]
        # The rows of all the data (of every rank in a data-parallel fit).
        n_rows = (
            self._across_ranks(X.shape[0])[1]
            if constants is None
            else constants.get("n_rows", 0)
        )
        formulation = self._formulation(penalty, n_rows)
        return Problem(
            units,
            formulation,
            constants={"penalty": penalty, "n_rows": n_rows},
            initial_state=self._unpenalised_start(
                formulation,
                penalty,
                X,
                y,
                groups=groups,
                sample_weight=sample_weight,
                sensitive_features=sensitive_features,
            ),
        )

    # ---------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, groups=None, sample_weight=None, sensitive_features=None):
        """Fit the reward model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            One row per item.
        y : array-like of shape (n_samples,)
            Grades; within a group, a higher grade is preferred and equal
            grades are ties.
        groups : array-like of shape (n_samples,), default=None
            Group id of each row; ``None`` treats all rows as one group.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights. A group weighs the mean weight ``w̄`` of
            its rows (of positive weight) and, within it, rows count in
            proportion to their weights: a pair of rows ``a, b`` weighs
            ``w_a w_b / w̄``. So a comparison's count written on both of its
            rows weighs it by that count (as the comparison repeated), and
            with ``groups=None`` an integer weight ``k`` is the row repeated
            ``k`` times. Row-wise terms (the regression objectives, reward
            centring) weigh each row by its weight, and so does the fairness
            penalty. See :ref:`sample_weights`.
        sensitive_features : array-like or DataFrame of shape (n_samples,) \
                or (n_samples, n_attributes), default=None
            Protected attributes of the person or source behind each row (the
            author of a response, the candidate of a profile), used only by
            ``fairness_penalty`` and required when it is set with a
            positive strength; categorical and continuous columns may
            be mixed. Missing values are an error. :meth:`predict` never
            needs them.

        Returns
        -------
        self : PreferenceRewardRegressor
        """
        self._fit(
            X,
            y,
            groups=groups,
            sample_weight=sample_weight,
            sensitive_features=sensitive_features,
        )
        warn_if_diverged_items(self, X, y, groups, f"{type(self).__name__}.fit")
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self, X, y, *, groups=None, sample_weight=None, sensitive_features=None
    ):
        """Run one more epoch on ``(X, y)``, initialising if not fitted.

        With ``objective="regression_then_scaled"`` a first call trains the
        regression phase and later calls continue with it. Parameters are as in
        :meth:`fit`; the fairness penalty is computed from each call's
        ``sensitive_features``. Returns ``self``.
        """
        return self._fit(
            X,
            y,
            epochs=1,
            incremental=True,
            groups=groups,
            sample_weight=sample_weight,
            sensitive_features=sensitive_features,
        )

    # ---------------------------------------------------------- inference
    @property
    def tie_parameter_(self):
        """``θ`` (Rao–Kupper) or ``ν`` (Davidson) of the fitted tie model."""
        check_is_fitted(self, "net_")
        tie = self._tie_loss()
        if tie is None:
            raise AttributeError("tie_parameter_ exists only when ties are modelled.")
        return float(tie.tie_log_parameter().detach().exp())

    def _tie_loss(self):
        loss = self.net_.criterion_.loss
        loss = getattr(loss, "loss", loss)
        return loss if isinstance(loss, _TieLoss) else None

    def predict(self, X):
        """Reward of each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        rewards : ndarray of shape (n_samples,)
        """
        return self._raw_scores(X)

    def transform(self, X):
        """Rewards as a one-column matrix, for use as a ``Pipeline`` step.

        Returns
        -------
        rewards : ndarray of shape (n_samples, 1)
        """
        return self.predict(X)[:, None]

    def decision_pair_function(self, X_a, X_b):
        """Pair logit ``r(a) - r(b)`` of each row pair, before any sigmoid.

        Parameters
        ----------
        X_a, X_b : {array-like, sparse matrix} of shape (n_pairs, n_features)

        Returns
        -------
        logits : ndarray of shape (n_pairs,)
        """
        r_a, r_b = self.predict(X_a), self.predict(X_b)
        if r_a.shape != r_b.shape:
            raise ValueError(
                f"X_a and X_b must have the same number of rows; got "
                f"{r_a.shape[0]} and {r_b.shape[0]}."
            )
        return r_a - r_b

    def predict_pair_proba(self, X_a, X_b):
        """Probability that each row of ``X_a`` is preferred to that of ``X_b``.

        Without a tie model, ``P(a ≻ b) = σ(r(a) - r(b))``. With
        ``ties="rao_kupper"`` or ``"davidson"``, the probabilities of
        ``a ≻ b``, a tie and ``b ≻ a``.

        Parameters
        ----------
        X_a, X_b : {array-like, sparse matrix} of shape (n_pairs, n_features)

        Returns
        -------
        proba : ndarray of shape (n_pairs,) or (n_pairs, 3)
        """
        logits = self.decision_pair_function(X_a, X_b)
        tie = self._tie_loss()
        if tie is None:
            return expit(logits)
        log_proba = (
            rao_kupper_log_proba if tie.model == "rao_kupper" else (davidson_log_proba)
        )
        with torch.no_grad():
            parts = log_proba(
                torch.as_tensor(logits, dtype=torch.float64),
                tie.tie_log_parameter().detach().to("cpu", torch.float64),
            )
        return torch.stack(parts, dim=1).exp().numpy()

    def score(self, X, y, *, groups=None, sample_weight=None):
        """Pairwise accuracy of the rewards on ``(X, y, groups)``.

        See :func:`skalign.metrics.pairwise_accuracy`.

        Returns
        -------
        score : float
        """
        warn_if_ungrouped(groups, y, f"{type(self).__name__}.score")
        return pairwise_accuracy(
            y, self.predict(X), groups=groups, sample_weight=sample_weight
        )

    @property
    def _n_features_out(self):
        return 1

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
