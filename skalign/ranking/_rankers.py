"""Listwise rankers built on the shared training engine."""

import functools
import math
import numbers
import warnings

import numpy as np
import torch
from sklearn.base import _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from .._docstrings import fill_doc
from .._engine import Formulation, Problem, TorchEstimator
from .._inference import LikelihoodInferenceMixin
from .._loss.listwise import (
    expected_exposure,
    exposure_disparity_penalty,
    lipo_lambda_loss,
    listnet_loss,
    plackett_luce_choices,
    plackett_luce_sorted_loss,
    ranknet_loss,
)
from ..exceptions import ConvergenceWarning
from ..metrics import grouped_ndcg_score
from ..metrics._listwise import _check_sensitive_features
from ..utils._groups import (
    check_grades,
    check_groups,
    warn_if_diverged_items,
    warn_if_ungrouped,
)
from ..utils._penalty import FairnessPenaltyMixin, fill_penalty_doc
from ..utils._sampling import gumbel_rankings, rank_within_groups
from ..utils._units import list_pair_sample, list_targets, list_units

__all__ = ["LambdaRanker", "PlackettLuceRanker"]

# Davidson–Luce tie weights start at δ_k = 0.1, as in R's PlackettLuce.
_INITIAL_TIE_WEIGHT = 0.1


class _TieModule(nn.Module):
    """The scorer plus Davidson–Luce log tie weights.

    The forward pass appends ``log δ_k`` (one column per modelled tie order)
    to every row's score, so that the engine hands them to the loss with the
    scores; ``predict`` keeps column 0.
    """

    def __init__(self, scorer, n_orders):
        super().__init__()
        self.scorer = scorer
        self.log_tie_weights = nn.Parameter(
            torch.full((n_orders,), math.log(_INITIAL_TIE_WEIGHT))
        )

    def forward(self, X):
        scores = self.scorer(X)
        extra = self.log_tie_weights.expand(scores.shape[0], -1)
        return torch.cat([scores[:, None], extra], 1)


class _PlackettLuceObjective:
    """Plackett–Luce NLL plus the optional exposure-disparity penalty and
    dependence (fairness) penalty.

    A module-level class rather than a closure so that fitted estimators
    pickle. ``fairness`` is ``None`` or a function of ``(scores, attributes,
    weight, mask)`` (see :func:`~skalign._loss.dependence.unit_dependence_penalty`).
    """

    def __init__(
        self, ties, tie_orders, exposure_penalty, exposure_samples, fairness=None
    ):
        self.ties = ties
        self.tie_orders = tuple(int(k) for k in tie_orders)
        self.exposure_penalty = exposure_penalty
        self.exposure_samples = exposure_samples
        self.fairness = fairness

    def __call__(
        self,
        scores,
        mask,
        weight,
        start,
        size,
        choice,
        sensitive=None,
        attributes=None,
        strata=None,
    ):
        log_tie_weights = None
        if scores.ndim == 3:
            # Every row carries the same tie weights (see _TieModule).
            log_tie_weights = scores[0, 0, 1:]
            scores = scores[..., 0]
        loss = plackett_luce_sorted_loss(
            scores,
            mask,
            weight,
            start,
            size,
            choice,
            ties=self.ties,
            log_tie_weights=log_tie_weights,
            tie_orders=self.tie_orders,
        )
        if self.exposure_penalty:
            exposure = expected_exposure(scores, mask, n_samples=self.exposure_samples)
            loss = loss + self.exposure_penalty * exposure_disparity_penalty(
                exposure, sensitive, mask
            )
        if self.fairness is not None:
            # Every row is in one list once: no row ids to deduplicate.
            loss = loss + self.fairness(scores, attributes, weight, mask, strata=strata)
        return loss


def _within_list_codes(codes, mask):
    """Renumber per-position codes from 0 within each list (0 on padding)."""
    lists = np.nonzero(mask)[0]
    pairs, inverse = np.unique(
        np.column_stack([lists, codes[mask]]), axis=0, return_inverse=True
    )
    inverse = inverse.ravel()
    first = np.searchsorted(pairs[:, 0], pairs[:, 0], side="left")
    out = np.zeros(mask.shape, dtype=np.int64)
    out[mask] = inverse - first[inverse]
    return out


class _BaseRanker(TorchEstimator):
    """Prediction, ranking, sampling and scoring shared by the rankers."""

    _parameter_constraints = {
        **TorchEstimator._parameter_constraints,
        "ndcg_k": [Interval(numbers.Integral, 1, None, closed="left"), None],
    }

    def predict(self, X):
        """Score of each row; within a group, higher scores rank first.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        scores = self._raw_scores(X)
        return scores[:, 0] if scores.ndim == 2 else scores

    def predict_ranking(self, X, groups=None):
        """Rank of each row within its group, 1 for the highest score.

        Tied scores are ranked in row order.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        groups : array-like of shape (n_samples,), default=None
            Group id of each row; ``None`` ranks all rows together.

        Returns
        -------
        ranks : ndarray of shape (n_samples,), dtype int64
        """
        scores = self.predict(X)
        codes, _ = check_groups(groups, scores.shape[0])
        return rank_within_groups(scores, codes)

    def sample_rankings(self, X, groups=None, n_samples=1, random_state=None):
        """Draw rankings from the Plackett–Luce model of the scores.

        Within each group, a ranking is drawn with probability ``prod_r
        exp(s_(r)) / sum_{q >= r} exp(s_(q))`` by sorting the scores plus
        independent standard Gumbel noise (the Gumbel-max trick, Yellott,
        1977): exact samples, vectorised over groups and samples.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_rows, n_features)
        groups : array-like of shape (n_rows,), default=None
            Group id of each row; ``None`` is one group.
        n_samples : int, default=1
            Number of rankings drawn per group.
        random_state : int, RandomState instance or None, default=None
            Seeds the noise.

        Returns
        -------
        ranks : ndarray of shape (n_samples, n_rows), dtype int64
            ``ranks[i, j]`` is the rank (1 is first) of row ``j`` within its
            group in the ``i``-th sample.
        """
        if not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(
                f"n_samples must be a positive integer; got {n_samples!r}."
            )
        scores = self.predict(X)
        codes, _ = check_groups(groups, scores.shape[0])
        return gumbel_rankings(
            scores, codes, int(n_samples), check_random_state(random_state)
        )

    def score(self, X, y, *, groups=None, sample_weight=None):
        """Mean NDCG@``ndcg_k`` of the predicted scores over groups.

        See :func:`skalign.metrics.grouped_ndcg_score`. The grades are the
        gains; a group with negative grades (which ``fit`` accepts: only
        their order matters to a ranker) has them shifted so that its lowest
        is 0.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Grades.
        groups : array-like of shape (n_samples,), default=None
            Group id per row; ``None`` is one group.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights; a group weighs the mean weight of its rows.

        Returns
        -------
        score : float
        """
        scores = self.predict(X)
        grades = check_grades(y)
        warn_if_ungrouped(groups, grades, f"{type(self).__name__}.score")
        codes, uniques = check_groups(groups, grades.shape[0])
        lowest = np.full(uniques.shape[0], np.inf)
        np.minimum.at(lowest, codes, grades)
        grades = grades - np.minimum(lowest, 0.0)[codes]
        return grouped_ndcg_score(
            grades, scores, groups=codes, k=self.ndcg_k, sample_weight=sample_weight
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


@fill_doc
@functools.partial(
    fill_penalty_doc,
    scores="scores",
    once="Every row of the lists of a (mini-)batch counts once.",
    strings=True,
)
class PlackettLuceRanker(FairnessPenaltyMixin, LikelihoodInferenceMixin, _BaseRanker):
    """Plackett–Luce ranker of graded lists, with ties and partial rankings.

    Each row of ``X`` is an item; rows sharing a ``groups`` id form a list,
    ranked by decreasing grade ``y``. The model scores each item ``s(x)`` and
    reads a ranking as successive choices (Plackett, 1975; Luce, 1959)::

        P(ranking) = prod_r exp(s_(r)) / sum_{q >= r} exp(s_(q)).

    It minimises the negative log-likelihood, averaged over choices, plus
    ``alpha / 2`` times the squared norm of the scorer's weight matrices. The
    denominators are a reverse ``logcumsumexp`` over padded lists, vectorised
    over lists. With one choice per list (``top_k=1``, the chosen item graded
    above the others) this is McFadden's (1974) conditional logit; with two
    rows per list, Bradley–Terry; with a one-hot ``X`` and a linear scorer,
    the item-strength model of choix or R's PlackettLuce.

    Rows with equal grades are tied; see ``ties``. A list whose rows are all
    tied is ignored, except by ``ties="davidson_luce"``, which learns from
    it how often items tie; single-row lists are always ignored.
    ``sample_weight`` is a multiplicity: a row of weight ``w`` counts as
    ``w`` copies of its item, in every choice it takes part in (with
    ``ties="breslow"``, an integer weight ``k`` gives the same fit as the row
    repeated ``k`` times in its list); rows of zero weight are removed. A
    weight ``c`` on every row of a list counts the list ``c`` times (see
    :ref:`sample_weights`).

    Two fairness penalties read ``fit(..., sensitive_features=...)``, alone
    or together. ``exposure_penalty`` equalises, within each list, the
    expected exposure of groups of rows: its groups are the distinct
    combinations of the attributes' values, so it wants categorical
    attributes. ``fairness_penalty`` (a
    :class:`~skalign.fairness.DependencePenalty`) adds its strength times a
    distance covariance between the scores and the protected attributes of
    every row (not list by list), towards scores that do not depend on them
    at all; it encodes categorical and continuous attributes, several at
    once (see :ref:`fair_reward_models`). Either makes the objective
    non-convex. With the exposure penalty ``optimizer="auto"`` is Adam on
    mini-batches; with the dependence penalty alone and the default linear
    scorer it is full-batch L-BFGS (when the penalty has its exact
    ``O(n log n)`` path or the data have at most 4096 rows) and otherwise
    Adam, a dependence-penalised fit starting from the unpenalised one.

    Parameters
    ----------
    top_k : int, default=None
        Partial rankings: only choices starting in the first ``top_k``
        positions of each list count, while every item of the list stays in
        the denominators (a top-``k`` list). ``None``, or a ``top_k`` at least
        the length of a list, ranks that list fully.
    ties : {"breslow", "efron", "davidson_luce"}, default="breslow"
        How a block ``T`` of tied items is chosen from the remaining items
        ``R``. ``"breslow"``: each tied item as if chosen first from ``R``
        (Breslow, 1974); ``"efron"``: the ``r``-th of the tied items from
        ``R`` less ``r / |T|`` of the tie's strength (Efron, 1977). Both
        approximate the probability that ``T`` comes next in some order and
        add no parameter; a tied block at the bottom of a list is certain to
        come last and adds nothing. ``"davidson_luce"``: ties are events,
        with probability proportional to ``δ_|T|`` times the geometric mean of
        the tied strengths, and learned tie weights ``δ_k`` (Firth, Kosmidis
        & Turner, 2019, as in R's PlackettLuce). All three agree when there
        are no ties.
    max_tie_order : int, default=None
        With ``ties="davidson_luce"``, the largest tie allowed; a larger tie
        in the training lists raises a ``ValueError``. ``None`` allows any.
        Only observed tie orders get a weight ``δ_k`` (the maximum likelihood
        weight of an unobserved order is 0).
    exposure_penalty : float, default=0.0
        Strength of the exposure fairness penalty: adds ``exposure_penalty``
        times the squared :func:`~skalign.metrics.exposure_disparity` of the
        training lists under the Plackett–Luce policy (expected exposure
        ``1 / log2(1 + rank)``; Singh & Joachims, 2018, 2019). Exact for
        lists of at most 8 rows, estimated from ``exposure_samples`` Gumbel
        samples with a score-function gradient otherwise. Needs
        ``sensitive_features`` in ``fit``.
    exposure_samples : int, default=32
        Rankings sampled per list and step for the exposure of lists longer
        than 8.
    {fairness_penalty_params}
    ndcg_k : int, default=10
        Cut-off of the NDCG computed by :meth:`score`; ``None`` is the whole
        list.
    {scorer_param}
    {engine_params}

    Attributes
    ----------
    tie_orders_ : ndarray of int
        With ``ties="davidson_luce"``, the tie orders that have a weight.
    tie_weights_ : ndarray of float
        With ``ties="davidson_luce"``, the weight ``δ_k`` of each order in
        ``tie_orders_``.
    sensitive_attributes_ : tuple of str
        Names of the protected attributes encoded for ``fairness_penalty``
        (empty without it).
    {engine_attributes}
    {likelihood_attributes}

    See Also
    --------
    LambdaRanker : Rankers trained with LiPO-λ, ListNet or RankNet losses.
    skalign.preference.PreferenceRewardRegressor : Bradley–Terry on pairs.
    skalign.metrics.grouped_ndcg_score : The metric of :meth:`score`.

    References
    ----------
    R. L. Plackett (1975). The analysis of permutations. Applied Statistics
    24(2). D. Firth, I. Kosmidis and H. L. Turner (2019). Davidson-Luce model
    for multi-item choice with ties. arXiv:1909.07123.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.ranking import PlackettLuceRanker
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 3))
    >>> groups = np.repeat(np.arange(100), 4)
    >>> y = X @ np.array([1.0, -1.0, 0.5]) + rng.gumbel(size=400)
    >>> ranker = PlackettLuceRanker(random_state=0).fit(X, y, groups=groups)
    >>> ranker.predict_ranking(X[:4], groups=groups[:4])
    array([2, 1, 3, 4])
    >>> round(ranker.score(X, y - y.min(), groups=groups), 2) > 0.8
    True
    """

    _parameter_constraints = {
        **_BaseRanker._parameter_constraints,
        **FairnessPenaltyMixin._penalty_constraints,
        "top_k": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "ties": [StrOptions({"breslow", "efron", "davidson_luce"})],
        "max_tie_order": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "exposure_penalty": [Interval(numbers.Real, 0, None, closed="left")],
        "exposure_samples": [Interval(numbers.Integral, 2, None, closed="left")],
    }

    def __init__(
        self,
        top_k=None,
        *,
        ties="breslow",
        max_tie_order=None,
        exposure_penalty=0.0,
        exposure_samples=32,
        fairness_penalty=None,
        fairness_strength="deprecated",
        jdcov_c="deprecated",
        categorical_features="deprecated",
        scale_continuous="deprecated",
        ndcg_k=10,
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
        self.top_k = top_k
        self.ties = ties
        self.max_tie_order = max_tie_order
        self.exposure_penalty = exposure_penalty
        self.exposure_samples = exposure_samples
        self.fairness_penalty = fairness_penalty
        self.fairness_strength = fairness_strength
        self.jdcov_c = jdcov_c
        self.categorical_features = categorical_features
        self.scale_continuous = scale_continuous
        self.ndcg_k = ndcg_k
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

    def _formulation(self, penalty=None, tie_orders=(), n_rows=0):
        """``penalty``: the fairness penalty's configuration; ``tie_orders``:
        the Davidson–Luce tie orders with a learned weight (constants of the
        problem)."""
        return Formulation(
            losses=(
                _PlackettLuceObjective(
                    self.ties,
                    tie_orders,
                    float(self.exposure_penalty),
                    self.exposure_samples,
                    self._penalty_term(penalty),
                ),
            ),
            module=(
                functools.partial(_TieModule, n_orders=len(tie_orders))
                if tie_orders
                else None
            ),
            # Jointly convex in a linear scorer's weights and the log tie
            # weights; the exposure and dependence penalties are not convex.
            convex=not self.exposure_penalty and penalty is None,
            # The dependence penalty is not smooth either.
            smooth=penalty is None,
            lbfgs=None
            if penalty is None or self.exposure_penalty
            else self._penalty_lbfgs(penalty, n_rows),
            likelihood=not self.exposure_penalty and penalty is None,
        )

    def _inference_parameters(self, module, criterion):
        # Plackett–Luce (and its tie models) sees score differences only.
        out = super()._inference_parameters(module, criterion, intercept=False)
        if isinstance(module, _TieModule):
            names = [f"log_delta_{k}" for k in criterion.loss.tie_orders]
            out.append((names, module.log_tie_weights))
        return out

    def _tie_orders(self, size, choice):
        """Sizes (>= 2) of the tied blocks that are choices."""
        sizes = size[choice].astype(np.int64)
        orders = np.unique(sizes[sizes >= 2])
        if self.max_tie_order is not None and orders.size:
            if orders[-1] > self.max_tie_order:
                raise ValueError(
                    f"The training lists hold a tie of {orders[-1]} items, more "
                    f"than max_tie_order={self.max_tie_order}; raise "
                    "max_tie_order or use ties='breslow' or 'efron'."
                )
        return orders

    def _problem(self, X, y, *, constants, groups, sample_weight, sensitive_features):
        davidson_luce = self.ties == "davidson_luce"
        packed, grades, weight = list_units(
            y, groups, sample_weight, X.shape[0], keep_all_tied=davidson_luce
        )
        # Tie blocks and choices are fixed by the grades: computed once here
        # rather than in every evaluation of the loss.
        start, size, choice = (
            t.numpy()
            for t in plackett_luce_choices(
                torch.from_numpy(packed.take(grades)),
                torch.from_numpy(packed.mask),
                top_k=self.top_k,
                ties=self.ties,
            )
        )
        targets = {
            "mask": packed.mask,
            "weight": packed.take(weight),
            "start": start,
            "size": size,
            "choice": choice,
        }
        orders = ()
        if davidson_luce:
            orders = tuple(int(k) for k in self._tie_orders(size, choice))
            if constants is not None:
                known = constants["tie_orders"]
                if not set(orders) <= set(known):
                    raise ValueError(
                        f"The new lists hold ties of orders {list(orders)}, "
                        f"but the model has tie weights for {list(known)} "
                        "only; fit it afresh (warm_start=False)."
                    )
                orders = known
        # One argument, two penalties: the exposure penalty's groups are the
        # distinct value combinations, the dependence penalty encodes mixed
        # categorical and continuous columns. Given attributes are validated
        # even when neither penalty is on.
        if self.exposure_penalty or (
            sensitive_features is not None and self._resolved_penalty() is None
        ):
            codes = _check_sensitive_features(sensitive_features, X.shape[0])
            if self.exposure_penalty:
                targets["sensitive"] = _within_list_codes(
                    packed.take(codes), packed.mask
                )
        rows, penalty = self._penalty_targets(
            sensitive_features,
            X.shape[0],
            constants=constants,
            target=np.asarray(y, dtype=np.float64),
            validate_unused=False,
        )
        for name, values in (rows or {}).items():
            targets[name] = packed.take(values)
        # The rows of all the data (of every rank in a data-parallel fit).
        n_rows = (
            self._across_ranks(X.shape[0])[1]
            if constants is None
            else constants.get("n_rows", 0)
        )
        formulation = self._formulation(penalty, orders, n_rows)
        return Problem(
            list_targets(X, packed, **targets),
            formulation,
            constants={"penalty": penalty, "tie_orders": orders, "n_rows": n_rows},
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

    def _set_tie_weights(self):
        if self.ties == "davidson_luce":
            orders = self._fitted_constants["tie_orders"]
            self.tie_orders_ = np.array(orders, dtype=np.int64)
        module = self.net_.module_
        if isinstance(module, _TieModule):
            self.tie_weights_ = (
                module.log_tie_weights.detach().exp().to("cpu", torch.float64).numpy()
            )
        elif self.ties == "davidson_luce":
            self.tie_weights_ = np.array([], dtype=np.float64)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, groups=None, sample_weight=None, sensitive_features=None):
        """Fit the ranker.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            One row per item.
        y : array-like of shape (n_samples,)
            Grades; within a list, higher grades rank first and equal grades
            are ties.
        groups : array-like of shape (n_samples,), default=None
            List id of each row; ``None`` makes all rows one ranking.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row multiplicities (see the class docstring).
        sensitive_features : array-like or DataFrame of shape (n_samples,) \
or (n_samples, n_columns), default=None
            Protected attributes of each row (the person or source behind an
            item), for ``exposure_penalty`` (each distinct combination of
            the columns' values is a group, so give categorical columns) and
            ``fairness_penalty`` (categorical and continuous columns may be
            mixed). Required by either penalty; missing values are an error.
            :meth:`predict` never needs them.

        Returns
        -------
        self : PlackettLuceRanker
        """
        self._fit(
            X,
            y,
            groups=groups,
            sample_weight=sample_weight,
            sensitive_features=sensitive_features,
        )
        warn_if_diverged_items(self, X, y, groups, "PlackettLuceRanker.fit")
        return self._set_tie_weights()

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self, X, y, *, groups=None, sample_weight=None, sensitive_features=None
    ):
        """Run one more epoch on ``(X, y)``, initialising if not fitted.

        Parameters are as in :meth:`fit`. Returns ``self``.
        """
        self._fit(
            X,
            y,
            epochs=1,
            incremental=True,
            groups=groups,
            sample_weight=sample_weight,
            sensitive_features=sensitive_features,
        )
        return self._set_tie_weights()


_LAMBDA_LOSSES = {
    "lipo_lambda": lipo_lambda_loss,
    "listnet": listnet_loss,
    "ranknet": ranknet_loss,
}


@fill_doc
class LambdaRanker(_BaseRanker):
    """Ranker trained with the LiPO-λ, ListNet or RankNet loss.

    Each row of ``X`` is an item; rows sharing a ``groups`` id form a list
    with grades ``y`` (higher is better, equal grades tied). The scorer is
    trained with one of three learning-to-rank losses, plus ``alpha / 2``
    times the squared norm of its weight matrices:

    - ``"lipo_lambda"`` (LiPO-λ; Liu et al., 2024, a LambdaLoss of Wang et
      al., 2018): ``sum_{ψ_i > ψ_j} Δ_ij log(1 + exp(-(s_i - s_j)))`` with
      ``Δ_ij = |G_i - G_j| |1 / D(τ_i) - 1 / D(τ_j)|``, gains ``G = 2^ψ - 1``
      (all scaled by one factor, ``2^-ψ_max`` with ``ψ_max`` the largest
      training grade, so that no grade overflows), ``D(τ) = log(1 + τ)``
      and ``τ`` the rank under the current scores: pairs are weighted by
      how much swapping them changes the DCG, so the top of each list
      matters most, and lists with higher grades weigh more, as in the
      paper. Tied scores share the mean discount of their positions. The
      objective is not convex (the weights follow the scores), so a fresh
      fit starts from the RankNet fit below, the convex pairwise logistic
      loss that LiPO-λ reweights;
    - ``"listnet"`` (Cao et al., 2007): the cross-entropy between the
      softmax of the grades and the softmax of the scores in each list;
    - ``"ranknet"`` (Burges et al., 2005): ``log(1 + exp(-(s_i - s_j)))``
      over every grade-ordered pair (Bradley–Terry).

    A list weighs the mean ``sample_weight`` ``w̄`` of its rows, so a weight
    ``c`` on every row of a list counts the list ``c`` times. Pair losses
    weigh a pair of rows ``w_i w_j / w̄`` (within a list, an integer weight
    ``k`` is the row repeated ``k`` times, for RankNet exactly, up to a
    factor common to the list); ListNet uses row weights as multiplicities
    in both softmaxes. See :ref:`sample_weights`. Single-row and all-tied
    lists are ignored.

    Parameters
    ----------
    loss : {"lipo_lambda", "listnet", "ranknet"}, default="lipo_lambda"
        The training loss.
    max_pairs_per_group : "auto", int or None, default="auto"
        Bounds the time of the pair losses (``"lipo_lambda"``,
        ``"ranknet"``) on long lists, as in
        :class:`~skalign.preference.PreferenceRewardRegressor`: ``"auto"``
        uses every pair unless the lists hold more than ``max(2**18, 16 *
        n_samples)`` pairs in all, and then trains the longest lists on an
        unbiased sample of their pairs, drawn with ``random_state``; an int
        ``K`` samples each list with more than ``K`` pairs; ``None`` uses
        every pair. Memory is bounded in every case: long lists are summed in
        blocks of rows. ListNet ignores it.
    ndcg_k : int, default=10
        Cut-off of the NDCG computed by :meth:`score`; ``None`` is the whole
        list.
    {scorer_param}
    {engine_params}

    Attributes
    ----------
    {engine_attributes}

    See Also
    --------
    PlackettLuceRanker : The Plackett–Luce likelihood, with ties.
    skalign.metrics.grouped_ndcg_score : The metric of :meth:`score`.

    References
    ----------
    T. Liu et al. (2024). LiPO: Listwise preference optimization through
    learning-to-rank. arXiv:2402.01878.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.ranking import LambdaRanker
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 3))
    >>> groups = np.repeat(np.arange(100), 4)
    >>> utility = X @ np.array([1.0, -1.0, 0.5]) + rng.logistic(size=400)
    >>> y = np.digitize(utility, [-1.0, 0.0, 1.0])  # grades 0 to 3
    >>> ranker = LambdaRanker(lr=0.05, max_epochs=200, random_state=0)
    >>> ranker = ranker.fit(X, y, groups=groups)
    >>> round(ranker.score(X, y, groups=groups), 2) > 0.85
    True
    """

    _parameter_constraints = {
        **_BaseRanker._parameter_constraints,
        "loss": [StrOptions(set(_LAMBDA_LOSSES))],
        "max_pairs_per_group": [
            StrOptions({"auto"}),
            None,
            Interval(numbers.Integral, 1, None, closed="left"),
        ],
    }

    def __init__(
        self,
        loss="lipo_lambda",
        *,
        max_pairs_per_group="auto",
        ndcg_k=10,
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
        self.loss = loss
        self.max_pairs_per_group = max_pairs_per_group
        self.ndcg_k = ndcg_k
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

    def _formulation(self, top_grade=None):
        loss = _LAMBDA_LOSSES[self.loss]
        if top_grade is not None:
            loss = functools.partial(loss, top_grade=top_grade)
        return Formulation(
            losses=(loss,),
            # LiPO-λ's weights Δ depend on the ranks under the current scores.
            convex=self.loss != "lipo_lambda",
        )

    def _problem(self, X, y, *, constants, groups, sample_weight):
        packed, grades, weight = list_units(y, groups, sample_weight, X.shape[0])
        targets = {
            "grades": packed.take(grades),
            "mask": packed.mask,
            "weight": packed.take(weight),
        }
        if self.loss != "listnet":
            targets.update(
                list_pair_sample(
                    packed, self.max_pairs_per_group, X.shape[0], self.random_state
                )
            )
        fitted = {}
        if self.loss == "lipo_lambda":
            # One scale for the gains of every batch: the training data's top
            # grade, kept by a continued fit (whose data may grade higher).
            top = float(targets["grades"][packed.mask].max())
            fitted = {"top_grade": top} if constants is None else dict(constants)
        start = None
        if self.loss == "lipo_lambda" and constants is None:
            start = functools.partial(
                self._ranknet_state, X, y, groups=groups, sample_weight=sample_weight
            )
        return Problem(
            list_targets(X, packed, **targets),
            self._formulation(**fitted),
            constants=fitted,
            initial_state=start,
        )

    def _ranknet_state(self, X, y, **fit_params):
        """LiPO-λ's start: the scorer's state at the RankNet fit.

        LiPO-λ's pair weights depend on the ranks under the current scores,
        so its objective is not convex, and a fit from an arbitrary start
        stops wherever the start and the row order lead it. RankNet is the
        pairwise logistic loss that LiPO-λ reweights; with a linear scorer
        it is convex and solved to its optimum by full-batch L-BFGS, a start
        that the data alone determine."""
        ranknet = clone(self).set_params(
            loss="ranknet", warm_start=False, callbacks=None, verbose=0
        )
        with warnings.catch_warnings():
            # Only a start: on separable lists the RankNet fit stops early.
            warnings.simplefilter("ignore", ConvergenceWarning)
            ranknet.fit(X, y, **fit_params)
        return {k: v.detach().clone() for k, v in ranknet.scorer_.state_dict().items()}

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, groups=None, sample_weight=None):
        """Fit the ranker.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            One row per item.
        y : array-like of shape (n_samples,)
            Grades; within a list, higher is better, equal grades are ties.
        groups : array-like of shape (n_samples,), default=None
            List id of each row; ``None`` makes all rows one list.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights (see the class docstring).

        Returns
        -------
        self : LambdaRanker
        """
        return self._fit(X, y, groups=groups, sample_weight=sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, *, groups=None, sample_weight=None):
        """Run one more epoch on ``(X, y)``, initialising if not fitted.

        Parameters are as in :meth:`fit`. Returns ``self``.
        """
        return self._fit(
            X, y, epochs=1, incremental=True, groups=groups, sample_weight=sample_weight
        )
