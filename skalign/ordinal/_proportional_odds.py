"""The proportional odds (cumulative logit) classifier."""

import functools
import itertools

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import ClassifierMixin, _fit_context
from torch import nn

from .._docstrings import fill_doc
from .._engine import Formulation, Problem, TorchEstimator
from .._inference import LikelihoodInferenceMixin
from .._loss.ordinal import cumulative_logit_loss
from ..nn import LinearScorer
from ..utils._groups import check_sample_weight
from ..utils._units import row_units
from ._base import (
    ORDINAL_CLASSIFIER_CONSTRAINTS,
    CumulativeLogitClassifierMixin,
    category_order,
    empirical_cumulative_logits,
    fit_classes,
)

__all__ = ["CumulativeLogitModule", "ProportionalOddsClassifier"]


def _inverse_softplus(x):
    """``softplus^{-1}(x) = log(expm1(x))`` for ``x > 0``, without overflow."""
    return x + torch.log(-torch.expm1(-x))


def _cumulative_logit_module(scorer, initial_thresholds=None, *, n_classes):
    """:class:`CumulativeLogitModule` around ``scorer``; a model being
    loaded starts from evenly spaced thresholds (its weights are then
    loaded)."""
    if initial_thresholds is None:
        initial_thresholds = torch.arange(n_classes - 1, dtype=torch.float64)
    return CumulativeLogitModule(scorer, initial_thresholds)


class CumulativeLogitModule(nn.Module):
    """A scorer ``f`` and ordered thresholds, giving ``eta_k = θ_k - f(x)``.

    The thresholds are parametrised so that their order always holds:
    ``θ_1 = r_1`` and ``θ_k = θ_{k-1} + softplus(r_k)``. ``r`` is a 1-D
    parameter, so the engine's L2 penalty (weight matrices only) leaves it
    alone.

    Parameters
    ----------
    scorer : torch.nn.Module
        Maps ``(n, n_features)`` to one score per row.
    initial_thresholds : array-like of shape (n_classes - 1,)
        Strictly increasing starting thresholds.
    """

    def __init__(self, scorer, initial_thresholds):
        super().__init__()
        self.scorer = scorer
        # torch.tensor copies: the thresholds may be read-only (memory-mapped).
        start = (
            initial_thresholds.to(torch.float64).clone()
            if isinstance(initial_thresholds, torch.Tensor)
            else torch.tensor(np.array(initial_thresholds, dtype=np.float64))
        )
        raw = torch.cat([start[:1], _inverse_softplus(torch.diff(start))])
        self.threshold_params = nn.Parameter(raw)

    def thresholds(self):
        """The ordered thresholds ``θ``, shape ``(n_classes - 1,)``."""
        first = self.threshold_params[:1]
        steps = F.softplus(self.threshold_params[1:])
        return torch.cat([first, first + torch.cumsum(steps, 0)])

    def forward(self, X):
        scores = self.scorer(X)
        if scores.ndim == 2 and scores.shape[1] == 1:
            scores = scores[:, 0]
        if scores.ndim != 1:
            raise ValueError(
                "The scorer of a cumulative-logit model must return one score "
                f"per row; it returned shape {tuple(scores.shape)}."
            )
        return self.thresholds() - scores[:, None]


@fill_doc
class ProportionalOddsClassifier(
    CumulativeLogitClassifierMixin,
    ClassifierMixin,
    LikelihoodInferenceMixin,
    TorchEstimator,
):
    """Proportional odds model: a cumulative logit with ordered thresholds.

    For ordered classes ``c_1 < ... < c_K`` the model is
    ``P(y <= c_k | x) = σ(θ_k - f(x))`` with ``θ_1 < ... < θ_{K-1}``
    (McCullagh, 1980, "Regression models for ordinal data"): one score
    ``f(x)`` moves every cumulative log-odds by the same amount, so a higher
    score shifts probability towards higher classes. It is fitted by
    minimising the weighted mean negative log-likelihood plus ``alpha / 2``
    times the squared norm of the scorer's weight matrices (the thresholds are
    not penalised). The thresholds are parametrised as a first threshold plus
    cumulative softplus increments, so their order holds throughout training.

    With the default linear scorer without intercept, ``alpha=0`` and
    ``dtype="float64"`` the fit is the maximum-likelihood ordered logit of
    statsmodels' ``OrderedModel(distr="logit")``: ``coef_`` is its ``β`` and
    ``thresholds_`` its cut points. Any scorer can be used (an MLP gives a
    non-linear ordinal regression); an intercept in the scorer is not
    identified alongside the thresholds.

    ``classes_`` are the observed labels in increasing order, or in the order
    of the categories when ``y`` is an ordered pandas Categorical.

    Parameters
    ----------
    {scorer_param}
        The default is ``LinearScorer(fit_intercept=False)``.
    prediction : {"mode", "median"}, default="mode"
        What :meth:`predict` returns: the most probable class, or the median
        class (the first with ``P(y <= k | x) >= 1/2``), which minimises the
        expected distance in categories.
    scoring : {"accuracy", "neg_log_loss", "neg_ordinal_mae", \
            "neg_ranked_probability_score"}, default="accuracy"
        The metric of :meth:`score` (higher is better): accuracy, the negated
        log loss, the negated mean distance in categories
        (:func:`~skalign.metrics.ordinal_mae`) or the negated
        :func:`~skalign.metrics.ranked_probability_score`.
    {engine_params}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The ordered class labels.
    thresholds_ : ndarray of shape (n_classes - 1,)
        The increasing thresholds ``θ``.
    coef_ : ndarray of shape (n_features,)
        The weights ``w`` of ``f(x) = w · x``; only with a
        :class:`~skalign.nn.LinearScorer`.
    intercept_ : float
        The linear scorer's intercept (0.0 without one); only with a
        :class:`~skalign.nn.LinearScorer`.
    {engine_attributes}
    {likelihood_attributes}

    See Also
    --------
    PrestoClassifier : Separate weights per threshold, shrunk towards
        proportional odds.
    skalign.metrics.ordinal_mae : Mean distance in categories.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.ordinal import ProportionalOddsClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2))
    >>> latent = X @ np.array([2.0, -1.0]) + rng.logistic(size=300)
    >>> y = np.digitize(latent, [-1.0, 1.0])
    >>> model = ProportionalOddsClassifier().fit(X, y)
    >>> model.classes_
    array([0, 1, 2])
    >>> model.predict_proba(X[:2]).sum(axis=1).round(6)
    array([1., 1.])
    >>> bool(model.thresholds_[0] < model.thresholds_[1])
    True
    """

    _parameter_constraints = {
        **TorchEstimator._parameter_constraints,
        **ORDINAL_CLASSIFIER_CONSTRAINTS,
    }

    def __init__(
        self,
        scorer=None,
        *,
        prediction="mode",
        scoring="accuracy",
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
        self.scorer = scorer
        self.prediction = prediction
        self.scoring = scoring
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

    # ------------------------------------------------------------ engine hooks
    def _default_scorer(self):
        return LinearScorer(fit_intercept=False)

    def _formulation(self, n_classes):
        return Formulation(
            losses=(cumulative_logit_loss,),
            module=functools.partial(_cumulative_logit_module, n_classes=n_classes),
            convex=True,
            likelihood=True,
        )

    def _inference_parameters(self, module, criterion):
        out = super()._inference_parameters(module, criterion)
        classes = [str(c) for c in self.classes_]
        names = [f"{a}|{b}" for a, b in itertools.pairwise(classes)]
        out.append((names, module.thresholds()))
        return out

    def _problem(self, X, y, *, constants, sample_weight, order):
        weight = check_sample_weight(sample_weight, X.shape[0])
        classes, codes = fit_classes(self, y, weight, order=order, constants=constants)
        thresholds = empirical_cumulative_logits(codes, weight, classes.shape[0])
        return Problem(
            row_units(X, weight, label=codes),
            self._formulation(n_classes=int(classes.shape[0])),
            constants={"n_classes": int(classes.shape[0])},
            init={"initial_thresholds": thresholds},
        )

    # ------------------------------------------------------------------- API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, sample_weight=None):
        """Fit the proportional odds model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Ordered labels: numbers, strings (ordered by sorting), or an
            ordered pandas Categorical (ordered by its categories).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights; an integer weight equals repeating the
            row.

        Returns
        -------
        self : ProportionalOddsClassifier
        """
        self._fit(X, y, sample_weight=sample_weight, order=category_order(y))
        module = self.net_.module_
        self.thresholds_ = module.thresholds().detach().to("cpu", torch.float64).numpy()
        for name in ("coef_", "intercept_"):
            self.__dict__.pop(name, None)
        if isinstance(module.scorer, LinearScorer):
            linear = module.scorer.linear
            self.coef_ = linear.weight.detach().to("cpu", torch.float64).numpy().ravel()
            self.intercept_ = (
                float(linear.bias.detach()) if linear.bias is not None else 0.0
            )
        return self

    def _cumulative_logits(self, X):
        return self._raw_scores(X)
