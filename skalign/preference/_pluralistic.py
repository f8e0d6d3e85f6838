"""Pluralistic reward models: one reward per user from shared ideal points."""

import numbers
import warnings
from functools import partial

import numpy as np
import scipy.optimize
import torch
from scipy.special import expit, softmax
from sklearn.base import RegressorMixin, _fit_context
from sklearn.cluster import KMeans
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._docstrings import fill_doc
from .._engine import Formulation, Problem, TorchEstimator
from .._loss.pairwise import (
    davidson_log_proba,
    mixture_prior_penalty,
    pluralistic_loss,
    prototype_rewards,
    rao_kupper_log_proba,
)
from ..exceptions import ConvergenceWarning
from ..metrics import pairwise_accuracy
from ..utils._groups import check_users, warn_if_ungrouped
from ..utils._units import pair_units
from ._reward import _TieLoss

__all__ = ["PluralisticRewardModel"]

# Few-shot fits: the largest gradient entry of the per-comparison objective
# at which a new user's mixture weights count as converged.
_FEW_SHOT_GTOL = 1e-6


class _IdealPoints(torch.nn.Module):
    """The item embedding ``f`` (the scorer) and the prototypes ``p_k``;
    scores each row under each prototype (:func:`prototype_rewards`)."""

    def __init__(self, scorer, *, n_prototypes, n_components, distance):
        super().__init__()
        self.scorer = scorer
        self.distance = distance
        self.prototypes = torch.nn.Parameter(torch.randn(n_prototypes, n_components))

    def embed(self, X):
        out = self.scorer(X)
        return out[:, None] if out.ndim == 1 else out

    def forward(self, X):
        return prototype_rewards(self.embed(X), self.prototypes, distance=self.distance)


class _MixtureLoss(torch.nn.Module):
    """The pluralistic loss; holds each user's mixture logits (and the tie
    parameter when ties are modelled)."""

    def __init__(self, *, n_users, n_prototypes, ties, prior_strength):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.zeros(n_users, n_prototypes))
        self.tie = None if ties == "ignore" else _TieLoss(ties)
        self.prior_strength = prior_strength

    def forward(self, scores, grades, mask, weight, users, share):
        value = pluralistic_loss(
            scores,
            grades,
            mask,
            weight,
            users=users,
            mixture_logits=self.logits,
            pair_loss=self.tie,
        )
        if self.prior_strength:
            value = value + self.prior_strength * mixture_prior_penalty(
                self.logits, users, share, weight, mask
            )
        return value


@fill_doc
class PluralisticRewardModel(RegressorMixin, TorchEstimator):
    """Pluralistic reward model: a reward per user from shared ideal points.

    PAL (Chen et al., 2024): items are embedded by a learned map ``f(x)``
    (the scorer, with ``n_components`` outputs), and each user ``u`` has an
    ideal point ``a_u = Σ_k w_{u,k} p_k``, a mixture of ``n_prototypes``
    shared prototypes ``p_k`` with weights ``w_u = softmax(θ_u)`` on the
    simplex. A user's reward is

    - ``variant="distance"`` (PAL-A): ``r_u(x) = -‖f(x) - a_u‖²``, the item
      closer to the user's ideal point is preferred;
    - ``variant="reward"`` (PAL-B): ``r_u(x) = ⟨f(x), a_u⟩``.

    and the user prefers ``a`` to ``b`` with probability ``σ(r_u(a) -
    r_u(b))`` (Bradley–Terry on the user's own reward; Rao–Kupper or Davidson
    with ``ties``, as in
    :class:`~skalign.preference.PreferenceRewardRegressor`). The embedding,
    the prototypes and every user's weights are trained together on the
    long format with ``groups`` (comparisons, each made by one user) and the
    per-row ``users`` metadata. In both variants the pair logit is linear in
    ``w_u``: ``r_u(a) - r_u(b) = Σ_k w_{u,k} (s_k(a) - s_k(b))``, with
    ``s_k`` the reward of prototype ``k`` alone (for PAL-A, ``-‖f(x) -
    a_u‖²`` differs from ``Σ_k w_{u,k} s_k(x)`` by a constant of the user).

    A user unknown to the model (or ``users=None``) gets the population
    mixture: the mean of the weights of the users seen in :meth:`fit`, each
    user counted once. Its reward is the mean of those users' rewards (up to
    a constant, for PAL-A). :meth:`fit_new_users` fits new users from a few
    comparisons with everything else frozen (a convex problem).

    The model takes no fairness penalty: a dependence penalty on
    per-user rewards is not defined here; use
    :class:`~skalign.preference.PreferenceRewardRegressor` for fair reward
    models.

    With a linear scorer, ``optimizer="auto"`` is full-batch L-BFGS (the
    objective is smooth but not convex); otherwise Adam. Without
    regularisation the likelihood has no finite maximum as soon as a user's
    comparisons are best explained at a face of the simplex, or prototypes
    can move apart while weights move together: the prior on the weights
    (``prior_strength``) and the L2 penalty on the embedding and the
    prototypes (``alpha``, by default ``1e-2`` for this model) make the
    optimum finite. The model is
    identified up to its symmetries: a permutation of the prototypes and,
    for PAL-A, a rotation and translation of the embedding space together
    with the prototypes; for PAL-B, any invertible linear map ``M`` of the
    embedding with ``M^{-T}`` on the prototypes. Rewards and weights are
    unaffected by them.

    Parameters
    ----------
    n_prototypes : int, default=3
        ``K``, the number of prototype ideal points.
    n_components : int, default=8
        Dimension of the item embedding ``f(x)``.
    variant : {"distance", "reward"}, default="reward"
        PAL-B (``"reward"``) or PAL-A (``"distance"``), see above. PAL-B's
        reward is linear in a linear embedding, and it trains several
        times faster: PAL-A's reward is a quadratic form of the embedding
        (a factorisation ``W^T W``), which L-BFGS converges on slowly.
    prior_strength : float, default=1.0
        ``τ``: each user's weights get a Dirichlet prior centred on the
        population weights ``π`` (the users' mean), with concentration
        ``1 + τ π``; :meth:`fit` adds ``τ Σ_u KL(π ‖ w_u)`` to the summed
        loss (divided, like it, by the number of comparisons). Worth ``τ``
        comparisons of a user, it keeps the weights of users with few or
        separable comparisons inside the simplex, and shrinks them towards
        the population; :meth:`fit_new_users` uses the same prior. 0 turns
        it off in :meth:`fit`.
    ties : {"ignore", "rao_kupper", "davidson"}, default="ignore"
        How tied grades of a comparison are modelled (with a tie parameter
        shared by all users).
    max_pairs_per_group : "auto", int or None, default="auto"
        Bounds the pairs of long groups, as in
        :class:`~skalign.preference.PreferenceRewardRegressor`.
    {scorer_param}
    {engine_params}

    Attributes
    ----------
    prototypes_ : ndarray of shape (n_prototypes, n_components)
        The prototype ideal points ``p_k``.
    users_ : ndarray of shape (n_users,)
        The known user ids: those of :meth:`fit`, then those added by
        :meth:`fit_new_users`.
    mixture_weights_ : ndarray of shape (n_users, n_prototypes)
        Each known user's weights ``w_u``, in the order of ``users_``.
    population_weights_ : ndarray of shape (n_prototypes,)
        The weights of an unknown user: the mean weights of the users of
        :meth:`fit`.
    tie_parameter_ : float
        The fitted ``θ`` (Rao–Kupper) or ``ν`` (Davidson); only when ties
        are modelled.
    {engine_attributes}

    See Also
    --------
    PreferenceRewardRegressor : One reward shared by every user.
    skalign.datasets.make_pluralistic_preferences : Users of latent types.
    skalign.metrics.per_user_pairwise_accuracy : Accuracy user by user.

    References
    ----------
    Chen, D., Chen, Y., Rege, A. and Vinayak, R. K. (2024). PAL: Pluralistic
    alignment framework for learning from heterogeneous preferences.
    arXiv:2406.08469.

    Examples
    --------
    >>> from skalign.datasets import make_pluralistic_preferences
    >>> from skalign.preference import PluralisticRewardModel
    >>> X, y, groups, users, truth = make_pluralistic_preferences(
    ...     n_users=30, n_comparisons=40, random_state=0
    ... )
    >>> model = PluralisticRewardModel(random_state=0)
    >>> model = model.fit(X, y, groups=groups, users=users)
    >>> model.predict(X[:3], users=users[:3]).shape
    (3,)
    >>> model.mixture_weights_.shape
    (30, 3)
    >>> bool(model.score(X, y, groups=groups, users=users) > 0.8)
    True
    """

    _parameter_constraints = {
        **TorchEstimator._parameter_constraints,
        "n_prototypes": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "variant": [StrOptions({"distance", "reward"})],
        "prior_strength": [Interval(numbers.Real, 0, None, closed="left")],
        "ties": [StrOptions({"ignore", "rao_kupper", "davidson"})],
        "max_pairs_per_group": [
            StrOptions({"auto"}),
            None,
            Interval(numbers.Integral, 1, None, closed="left"),
        ],
    }

    def __init__(
        self,
        n_prototypes=3,
        *,
        n_components=8,
        variant="reward",
        prior_strength=1.0,
        ties="ignore",
        max_pairs_per_group="auto",
        scorer=None,
        alpha=1e-2,
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
        self.n_prototypes = n_prototypes
        self.n_components = n_components
        self.variant = variant
        self.prior_strength = prior_strength
        self.ties = ties
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

    # ----------------------------------------------------------- objective
    def _formulation(self, users=(0,)):
        """``users``: the ids of the trained users (a constant of the
        problem: each has a row of mixture logits)."""
        return Formulation(
            losses=(
                _MixtureLoss(
                    n_users=len(users),
                    n_prototypes=self.n_prototypes,
                    ties=self.ties,
                    prior_strength=float(self.prior_strength),
                ),
            ),
            n_outputs=self.n_components,
            module=partial(
                _IdealPoints,
                n_prototypes=self.n_prototypes,
                n_components=self.n_components,
                distance=self.variant == "distance",
            ),
            # Bilinear in the embedding, the prototypes and the weights: not
            # convex, but smooth and small with a linear scorer, where
            # full-batch L-BFGS converges far faster than Adam.
            lbfgs=True,
        )

    def _units(self, X, y, groups, users, sample_weight):
        """Pair units and the user code of each position, with the users'
        ids in the order of their codes."""
        if users is not None:
            codes, ids = check_users(users, X.shape[0], groups=groups)
        units = pair_units(
            X,
            y,
            groups,
            sample_weight,
            keep_tied_groups=self.ties != "ignore",
            max_pairs_per_group=self.max_pairs_per_group,
            random_state=self.random_state,
        )
        if users is None:
            return units, np.zeros_like(units.index), (0,)
        # Only the users with a comparison left in the units.
        present, unit_codes = np.unique(codes[units.index[:, 0]], return_inverse=True)
        unit_codes = np.repeat(unit_codes.reshape(-1, 1), 2, axis=1)
        return units, unit_codes, tuple(ids[present].tolist())

    def _problem(self, X, y, *, constants, groups, users, sample_weight):
        units, codes, ids = self._units(X, y, groups, users, sample_weight)
        if constants is not None:
            known = {user: code for code, user in enumerate(constants["users"])}
            unknown = [user for user in ids if user not in known]
            if unknown:
                raise ValueError(
                    f"users {unknown[:5]} were not seen by the fit this call "
                    "continues (partial_fit and warm_start train the users of "
                    "the first fit). Add new users with fit_new_users, or fit "
                    "afresh."
                )
            codes = np.array([known[user] for user in ids], dtype=np.int64)[codes]
            ids = constants["users"]
        units.targets["users"] = codes
        # One over each user's total comparison weight (mixture_prior_penalty).
        total = np.bincount(codes[:, 0], weights=units.targets["weight"][:, 0])
        share = np.divide(1.0, total, out=np.zeros_like(total), where=total > 0)
        units.targets["share"] = share[codes]
        return Problem(units, self._formulation(ids), constants={"users": ids})

    # ---------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, groups=None, users=None, sample_weight=None):
        """Fit the embedding, the prototypes and every user's weights.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            One row per item.
        y : array-like of shape (n_samples,)
            Grades; within a group, a higher grade is preferred.
        groups : array-like of shape (n_samples,), default=None
            Comparison id of each row; ``None`` treats all rows as one group.
        users : array-like of shape (n_samples,), default=None
            The user (judge) of each row, ints or strings; all rows of a
            group must have the same user. ``None``: one user for all rows.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights, with the pair weights of
            :class:`~skalign.preference.PreferenceRewardRegressor`.

        Returns
        -------
        self : PluralisticRewardModel
        """
        self._fit(X, y, groups=groups, users=users, sample_weight=sample_weight)
        self._new_users = ()
        self._new_logits = np.zeros((0, self.n_prototypes))
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, *, groups=None, users=None, sample_weight=None):
        """Run one more epoch on ``(X, y)``, initialising if not fitted.

        Trains the embedding, the prototypes and the weights of the users
        of the first fit (each row's user must be one of them; new users
        are added by :meth:`fit_new_users`). Parameters are as in
        :meth:`fit`. Returns ``self``.
        """
        fitted = hasattr(self, "net_")
        self._fit(
            X,
            y,
            epochs=1,
            incremental=True,
            groups=groups,
            users=users,
            sample_weight=sample_weight,
        )
        if not fitted:
            self._new_users = ()
            self._new_logits = np.zeros((0, self.n_prototypes))
        return self

    def fit_new_users(self, X, y, *, groups=None, users=None, sample_weight=None):
        """Fit the mixture weights of new users from their comparisons.

        The embedding, the prototypes (and the tie parameter) stay as
        fitted; only each new user's weights ``w_u`` are learned, by maximum
        a posteriori under a Dirichlet prior centred on the population
        weights ``π`` (``population_weights_``) with concentration
        ``1 + prior_strength · π`` (as in :meth:`fit`), i.e. minimising::

            Σ_{pairs of u} -log P(pair | w_u) + prior_strength · KL(π ‖ w_u)

        for every user separately. The pair logit is linear in ``w_u`` (see
        the class description) and ``-log σ`` of a linear function is convex,
        as are the tie likelihoods in the logit and ``KL(π ‖ w)`` in ``w``:
        the problem is convex on the simplex, and strictly so with its
        minimiser inside the simplex (the prior goes to infinity at its
        faces). It is solved over the softmax logits ``θ_u`` (``w_u =
        softmax(θ_u)``) by L-BFGS: softmax maps onto the inside of the
        simplex and its Jacobian vanishes only along ``(1, ..., 1)``, so a
        stationary point in ``θ`` is that unique minimiser. Convergence is
        judged on the gradient of the objective.

        Users seen by :meth:`fit` cannot be refitted here (use
        :meth:`partial_fit`); users added by an earlier call are refitted
        from this call's comparisons alone.

        Parameters
        ----------
        X, y, groups, sample_weight :
            As in :meth:`fit`: the new users' comparisons.
        users : array-like of shape (n_samples,)
            The user of each row (required).
        Returns
        -------
        self : PluralisticRewardModel
        """
        check_is_fitted(self, "net_")
        self._validate_params()
        if self.prior_strength == 0:
            raise ValueError(
                "fit_new_users needs prior_strength > 0: without the prior, a "
                "user with few (or separable) comparisons has no finite "
                "optimum."
            )
        X = self._validate_X(X, reset=False)
        if users is None:
            raise ValueError("fit_new_users needs users: the user of each row of X.")
        units, codes, ids = self._units(X, y, groups, users, sample_weight)
        seen = set(self._fitted_constants["users"])
        refit = [user for user in ids if user in seen]
        if refit:
            raise ValueError(
                f"users {refit[:5]} were trained by fit; partial_fit continues "
                "their training. fit_new_users adds users the model has not "
                "seen."
            )
        logits = self._solve_new_users(X, units, codes[:, 0], len(ids))
        keep = [i for i, user in enumerate(self._new_users) if user not in set(ids)]
        self._new_users = tuple(self._new_users[i] for i in keep) + ids
        self._new_logits = np.vstack([self._new_logits[keep], logits])
        return self

    def _solve_new_users(self, X, units, unit_user, n_users):
        prior_strength = float(self.prior_strength)
        """The MAP logits of ``n_users`` new users (see :meth:`fit_new_users`)."""
        scores = torch.as_tensor(self._raw_scores(X)[units.index])
        targets = {
            k: torch.as_tensor(units.targets[k]) for k in ("grades", "mask", "weight")
        }
        users = torch.as_tensor(np.repeat(unit_user[:, None], 2, axis=1))
        tie = self._tie_loss()
        pair_loss = None
        if tie is not None:
            tie = _TieLoss(tie.model).to(torch.float64)
            tie.load_state_dict(self.net_.criterion_.loss.tie.state_dict())
            tie.requires_grad_(False)
            pair_loss = tie
        log_prior = torch.as_tensor(np.log(self.population_weights_))
        prior = log_prior.exp()
        total = float(targets["weight"][:, 0].sum())
        if total <= 0:
            raise ValueError(
                "sample_weight is zero on every comparison; nothing can be learned."
            )
        n_comparisons = total

        def objective(theta):
            theta = torch.as_tensor(theta).view(n_users, -1).requires_grad_(True)
            nll = (
                pluralistic_loss(
                    scores,
                    **targets,
                    users=users,
                    mixture_logits=theta,
                    pair_loss=pair_loss,
                )
                * total
            )
            kl = (prior * (log_prior - torch.log_softmax(theta, dim=1))).sum()
            value = (nll + prior_strength * kl) / n_comparisons
            (grad,) = torch.autograd.grad(value, theta)
            return float(value.detach()), grad.numpy().ravel()

        start = np.tile(np.log(self.population_weights_), n_users)
        result = scipy.optimize.minimize(
            objective,
            start,
            jac=True,
            method="L-BFGS-B",
            options=dict(maxiter=10_000, gtol=_FEW_SHOT_GTOL / 10, ftol=1e-15),
        )
        gradient = np.max(np.abs(objective(result.x)[1]))
        if not gradient <= _FEW_SHOT_GTOL:
            warnings.warn(
                f"fit_new_users stopped with a gradient of {gradient:.2g} "
                f"(above {_FEW_SHOT_GTOL}): the weights are not at the optimum.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return result.x.reshape(n_users, -1)

    # --------------------------------------------------------- inspection
    def _fit_logits(self):
        return self.net_.criterion_.loss.logits.detach().cpu().double().numpy()

    @property
    def prototypes_(self):
        """The prototype ideal points ``p_k``."""
        check_is_fitted(self, "net_")
        return self.net_.module_.prototypes.detach().cpu().double().numpy()

    @property
    def users_(self):
        """The known user ids (fit, then :meth:`fit_new_users`)."""
        check_is_fitted(self, "net_")
        return np.array(list(self._fitted_constants["users"]) + list(self._new_users))

    @property
    def mixture_weights_(self):
        """Each known user's mixture weights, in the order of ``users_``."""
        check_is_fitted(self, "net_")
        return softmax(np.vstack([self._fit_logits(), self._new_logits]), axis=1)

    @property
    def population_weights_(self):
        """The mean mixture weights of the users of :meth:`fit`."""
        check_is_fitted(self, "net_")
        return softmax(self._fit_logits(), axis=1).mean(0)

    def mixture_weights(self, users):
        """The mixture weights of each user in ``users``.

        Parameters
        ----------
        users : array-like of shape (n,)
            User ids; an unknown id gets ``population_weights_``.

        Returns
        -------
        weights : ndarray of shape (n, n_prototypes)
        """
        check_is_fitted(self, "net_")
        users = np.asarray(users)
        codes, ids = check_users(users, users.size, comparisons=False)
        known = {user: i for i, user in enumerate(self.users_.tolist())}
        # One lookup per distinct id, not per row.
        rows = np.array([known.get(user, len(known)) for user in ids.tolist()])
        weights = np.vstack([self.mixture_weights_, self.population_weights_])
        return weights[rows[codes]]

    def cluster_users(self, n_clusters=None, *, random_state=None):
        """Group the known users by their mixture weights.

        Parameters
        ----------
        n_clusters : int, default=None
            ``None``: each user's dominant prototype (the largest weight).
            An int: k-means on the weights, with ``n_clusters`` clusters.
        random_state : int, RandomState instance or None, default=None
            Seeds k-means.

        Returns
        -------
        labels : ndarray of shape (n_users,)
            The cluster of each user of ``users_``.
        """
        weights = self.mixture_weights_
        if n_clusters is None:
            return weights.argmax(1)
        if not isinstance(n_clusters, numbers.Integral) or not (
            1 <= n_clusters <= len(weights)
        ):
            raise ValueError(
                f"n_clusters must be an int between 1 and the number of users "
                f"({len(weights)}); got {n_clusters!r}."
            )
        kmeans = KMeans(n_clusters=n_clusters, n_init=10, random_state=random_state)
        return kmeans.fit_predict(weights)

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
        return self.net_.criterion_.loss.tie

    def predict_prototype_rewards(self, X):
        """Reward of each row under each prototype alone, ``s_k(x)``.

        Returns
        -------
        rewards : ndarray of shape (n_samples, n_prototypes)
        """
        return self._raw_scores(X)

    def _row_weights(self, users, n_rows):
        if users is None:
            return np.broadcast_to(
                self.population_weights_, (n_rows, self.n_prototypes)
            )
        check_users(users, n_rows, comparisons=False)
        return self.mixture_weights(users)

    def predict(self, X, *, users=None):
        """Each row's reward for its user.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        users : array-like of shape (n_samples,), default=None
            The user of each row; unknown users and ``None`` get the
            population mixture.

        Returns
        -------
        rewards : ndarray of shape (n_samples,)
            ``-‖f(x) - a_u‖²`` (PAL-A) or ``⟨f(x), a_u⟩`` (PAL-B).
        """
        scores = self._raw_scores(X)
        weights = self._row_weights(users, scores.shape[0])
        rewards = (weights * scores).sum(1)
        if self.variant == "distance":
            prototypes = self.prototypes_
            ideal = weights @ prototypes
            rewards += (ideal**2).sum(1) - weights @ (prototypes**2).sum(1)
        return rewards

    def decision_pair_function(self, X_a, X_b, *, users=None):
        """Pair logit ``r_u(a) - r_u(b)`` of each row pair.

        Parameters
        ----------
        X_a, X_b : {array-like, sparse matrix} of shape (n_pairs, n_features)
        users : array-like of shape (n_pairs,), default=None
            The user of each pair (``None``: the population).

        Returns
        -------
        logits : ndarray of shape (n_pairs,)
        """
        s_a, s_b = self._raw_scores(X_a), self._raw_scores(X_b)
        if s_a.shape != s_b.shape:
            raise ValueError(
                f"X_a and X_b must have the same number of rows; got "
                f"{s_a.shape[0]} and {s_b.shape[0]}."
            )
        return (self._row_weights(users, s_a.shape[0]) * (s_a - s_b)).sum(1)

    def predict_pair_proba(self, X_a, X_b, *, users=None):
        """Probability that each user prefers the row of ``X_a`` to that of ``X_b``.

        ``P(a ≻ b) = σ(r_u(a) - r_u(b))``; with ``ties`` modelled, the
        probabilities of ``a ≻ b``, a tie and ``b ≻ a``.

        Parameters
        ----------
        X_a, X_b : {array-like, sparse matrix} of shape (n_pairs, n_features)
        users : array-like of shape (n_pairs,), default=None
            The user of each pair; unknown users and ``None`` get the
            population mixture.

        Returns
        -------
        proba : ndarray of shape (n_pairs,) or (n_pairs, 3)
        """
        logits = self.decision_pair_function(X_a, X_b, users=users)
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

    def score(self, X, y, *, groups=None, users=None, sample_weight=None):
        """Pairwise accuracy of each user's rewards on their comparisons.

        See :func:`skalign.metrics.pairwise_accuracy` (pooled over users;
        :func:`skalign.metrics.per_user_pairwise_accuracy` gives it user by
        user).

        Returns
        -------
        score : float
        """
        warn_if_ungrouped(groups, y, f"{type(self).__name__}.score")
        return pairwise_accuracy(
            y, self.predict(X, users=users), groups=groups, sample_weight=sample_weight
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


# The shared fragment documents the engine's alpha=0.0; this model's default
# bounds its embedding and prototypes (see the class docstring).
PluralisticRewardModel.__doc__ = PluralisticRewardModel.__doc__.replace(
    "alpha : float, default=0.0\n", "alpha : float, default=1e-2\n", 1
)
