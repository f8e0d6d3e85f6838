"""Regressors and classifiers with a distance-covariance fairness penalty."""

import functools
import math

import numpy as np
from scipy import special
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array

from .._docstrings import fill_doc
from .._engine import Formulation, Problem, TorchEstimator
from .._inference import LikelihoodInferenceMixin
from .._loss.dependence import KINDS, penalised_loss
from ..nn import LinearScorer, Scorer
from ..utils._groups import check_sample_weight
from ..utils._penalty import (
    DependencePenalty,
    FairnessPenaltyMixin,
    _deprecated,
    fill_penalty_doc,
)
from ..utils._units import row_units

__all__ = ["FairClassifier", "FairRegressor"]

#: FairRegressor refuses, for a mini-batch optimiser, targets whose spread
#: around their mean is beyond this factor from 1.
_MAX_TARGET_SPREAD = 1e6

#: The data losses that are a negative log-likelihood: the log losses, and
#: half the squared error, the Gaussian one at unit variance (FairRegressor
#: reports it with the variance estimated, see _gaussian_statistics).
LIKELIHOOD_LOSSES = ("binary_log_loss", "multinomial_log_loss", "squared_error")

_FAIRNESS_NOTES = """\
The penalty is computed on each mini-batch from the batch's predictions and
protected attributes: through ``batch_size x batch_size`` distance matrices
in general, and in ``O(n log n)`` without them for a univariate prediction
and categorical (or, from 1024 rows, continuous) attributes with
``kind="dcov"`` (or a single attribute). With an active penalty the
objective is no longer convex. ``optimizer="lbfgs"`` optimises the exact,
whole-data penalty at full batch, starting from the unpenalised fit (at the
constant predictions of a zero-initialised scorer the penalty has no useful
gradient). ``optimizer="auto"`` does so too for a linear scorer and a smooth
loss, at any size when the penalty has the ``O(n log n)`` path and up to
4096 rows otherwise (where the whole-data distance matrices stay small);
otherwise it is Adam on mini-batches of ``batch_size`` rows, which for a
linear scorer also starts from the unpenalised fit. ``predict`` never needs
the protected attributes.

References: Székely, Rizzo & Bakirov (2007), Ann. Statist. 35(6) (distance
covariance); Chakraborty & Zhang (2019), JASA 114(528) (JdCov); the penalised
objective follows "Machine Learning with Multitype Protected Attributes:
Intersectional Fairness through Regularisation"."""


def _gaussian_statistics(statistics):
    """The statistics of a least-squares fit as those of the linear model
    with Gaussian errors of unknown variance. Fitted as half the squared
    error (the Gaussian likelihood at unit variance), its
    ``log_likelihood`` is ``-RSS / 2``: the maximum-likelihood variance is
    ``σ² = RSS / n`` (``n`` the total weight), the log-likelihood
    ``-n / 2 (log(2 π σ²) + 1)``, the covariance the unit-variance one times
    the unbiased ``RSS / (n - k)`` (statsmodels' OLS, R's lm), the variance
    one more parameter; the sandwich does not depend on the variance."""
    out = dict(statistics)
    n, k = statistics["total_weight"], statistics["n_params"]
    rss = -2.0 * statistics["log_likelihood"]
    if not rss > 0 or not n > k:
        out.update(
            covariance=None,
            robust_covariance=None,
            pseudo_covariance=None,
            pseudo_robust_covariance=None,
            null_direction=None,
            reason="the residuals are all zero, or there are no more "
            "observations than parameters: no variance to estimate",
        )
        return out
    out["log_likelihood"] = -0.5 * n * (math.log(2.0 * math.pi * rss / n) + 1.0)
    out["n_params"] = k + 1
    scale = rss / (n - k)
    for key in ("covariance", "pseudo_covariance"):
        if out.get(key) is not None:
            out[key] = out[key] * scale
    return out


def _null_loss(loss, y, weight):
    """The loss of the best constant prediction: the scale of a normalised
    penalty (see :class:`~skalign.fairness.DependencePenalty`)."""
    if not weight.sum() > 0:
        return 1.0
    if loss == "log_loss":
        share = np.bincount(y, weights=weight) / weight.sum()
        share = share[share > 0]
        return float(-(share * np.log(share)).sum())
    mean = float(np.average(y, weights=weight))
    if loss == "squared_error":
        return 0.5 * float(np.average((y - mean) ** 2, weights=weight))
    if loss == "poisson":
        if mean <= 0:
            return 1.0
        deviance = mean - y * np.log(mean) + special.xlogy(y, y) - y
        return float(np.average(deviance, weights=weight))
    order = np.argsort(y)
    cumulative = np.cumsum(weight[order])
    median = y[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])]
    return float(np.average(np.abs(y - median), weights=weight))


def _fairness_doc(cls):
    cls.__doc__ = cls.__doc__.replace("    {fairness_notes}", _indent(_FAIRNESS_NOTES))
    fill_penalty_doc(
        cls,
        scores="predictions (on the scale of ``predict`` or ``predict_proba``)",
        once="Every row counts once, with its ``sample_weight``.",
    )
    return fill_doc(cls)


def _indent(text):
    return "\n".join("    " + line if line else line for line in text.splitlines())


class _FairMixin(FairnessPenaltyMixin):
    """The penalty option of both models, with their deprecated parameters."""

    _fairness_constraints = {
        **FairnessPenaltyMixin._penalty_constraints,
        "fairness_penalty": [None, DependencePenalty],
        "penalty": _deprecated([StrOptions(set(KINDS))]),
        "statistic": _deprecated([StrOptions({"v", "u"})]),
    }
    _deprecated_penalty = {
        "penalty": "kind",
        **FairnessPenaltyMixin._deprecated_penalty,
        "statistic": "statistic",
    }
    _penalised = "predictions"
    _penalty_row_units = True

    def _penalty_from_old(self, old):
        # The former defaults: penalty="dcov", fairness_strength=0.
        return DependencePenalty(
            old.pop("penalty", "dcov"),
            normalize=False,
            **{self._deprecated_penalty[k]: v for k, v in old.items()},
        )

    def _fair_problem(self, X, y, weight, targets, penalty, fitted, **metadata):
        """The :class:`Problem` of the row units; a penalised fit starts at
        the unpenalised optimum (see :meth:`_unpenalised_start`) and then
        moves from the accurate model towards fairness."""
        rows = {}
        if penalty is not None:
            rows = {**targets, "attribute_weight": weight}
        constants = {**fitted, "penalty": penalty}
        formulation = self._formulation(**constants)
        return Problem(
            row_units(X, weight, target=y, **rows),
            formulation,
            constants,
            initial_state=self._unpenalised_start(
                formulation, penalty, X, metadata.pop("y_raw"), **metadata
            ),
        )

    def _smooth(self):
        # |y - s| is convex but not smooth, which L-BFGS handles badly.
        return getattr(self, "loss", None) != "absolute_error"

    def _penalised_formulation(self, loss, penalty, n_rows, n_outputs=1):
        """The :class:`Formulation` of the data loss ``loss`` plus the
        penalty of configuration ``penalty``. The penalised objective is
        not convex, but from the unpenalised optimum L-BFGS reaches a far
        better point than a few hundred Adam steps (see
        :meth:`_penalty_lbfgs`)."""
        convex = penalty is None and self._smooth()
        return Formulation(
            losses=(
                functools.partial(
                    penalised_loss, loss=loss, penalty=self._penalty_term(penalty)
                ),
            ),
            n_outputs=n_outputs,
            convex=convex,
            smooth=penalty is None and self._smooth(),
            # Without a penalty, the log losses are the likelihood of a
            # logistic (softmax) regression and the squared error that of
            # a linear regression with Gaussian errors; the absolute error
            # and the Poisson deviance are not likelihoods here (see
            # FairRegressor._statistics_unavailable).
            likelihood=penalty is None and loss in LIKELIHOOD_LOSSES,
            lbfgs=convex
            or (
                self._smooth()
                and self._penalty_lbfgs(penalty, n_rows, univariate=n_outputs == 1)
            ),
        )


@_fairness_doc
class FairRegressor(
    LikelihoodInferenceMixin, _FairMixin, RegressorMixin, TorchEstimator
):
    """Regressor with a distance-covariance penalty on protected attributes.

    Minimises ``L(y, ŷ) + λ · P(ŷ, S)``: a regression loss plus
    the strength of ``fairness_penalty`` times a dependence measure ``P`` between the
    predictions ``ŷ`` and the protected attributes ``S`` (distance
    covariance or one of its multi-attribute forms), so that the predictions
    approach *demographic parity* (independence of ``S``), for categorical
    and continuous attributes, several at once, linear and non-linear
    dependence alike. ``alpha / 2`` times the squared norm of the scorer's
    weight matrices is added.

    With ``loss="squared_error"``, no penalty (or strength 0), ``alpha=0``
    and a linear scorer, the fit is ordinary (weighted) least squares, the
    maximum-likelihood linear regression with Gaussian errors, and it
    reports the likelihood statistics of that model (:ref:`inference`), as
    statsmodels' ``OLS`` and R's ``lm`` do: ``log_likelihood_`` at the
    maximum-likelihood variance ``RSS / n``; standard errors from the
    unbiased one, ``RSS / (n - k)``; ``n_params_`` counts the variance (as
    R's ``logLik`` does; statsmodels' AIC does not). Sample weights count as
    repeated rows. Profile intervals are not offered (they are the Wald
    intervals of a linear model up to the estimate of the variance). The
    absolute error is a Laplace log-likelihood only with a scale the model
    does not fit, and half the Poisson deviance differs from the Poisson
    log-likelihood by a term of the targets (not counts once divided by an
    ``exposure``): those fits have no statistics (:meth:`summary` says
    why).

    For the squared and absolute error, with skalign's scorers (which learn
    an unpenalised bias), the targets are centred at their weighted mean in
    float64 before training and the mean is added back in :meth:`predict`:
    the same optimum, but a target such as ``y + 1e12`` loses no precision
    in a float32 model. A mini-batch optimiser (a non-linear scorer, or
    ``batch_size`` set) refuses targets spread over more than 1e6 (or less
    than 1e-6) around their mean, which it cannot reach: standardise them
    (e.g. with :class:`~sklearn.compose.TransformedTargetRegressor`).

    {fairness_notes}

    Parameters
    ----------
    loss : {"squared_error", "poisson", "absolute_error"}, \
            default="squared_error"
        ``"squared_error"``: ``Σ w (y - ŷ)² / (2 Σ w)`` (with ``alpha=a``,
        ``Ridge(alpha=a · n)``). ``"poisson"``: half the Poisson deviance
        with log link, ``ŷ = exp(s)`` (with ``alpha=a``,
        ``PoissonRegressor(alpha=a)``); counts observed over an ``exposure``
        (years insured, the seed paper's insurance case) use the offset
        ``log(exposure)``. ``"absolute_error"``: ``Σ w |y - ŷ| / Σ w``
        (conditional median).
    {fairness_penalty_params}
    {scorer_param}
    {engine_params}

    Attributes
    ----------
    sensitive_attributes_ : tuple of str
        Names of the protected attributes seen in :meth:`fit` (empty when
        fitted without them).
    {engine_attributes}

    See Also
    --------
    FairClassifier : The classification counterpart.
    DependencePenalty : The penalty and its options.
    fairness_path : Fit a path of penalty strengths and pick one.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.fairness import DependencePenalty, FairRegressor
    >>> rng = np.random.default_rng(0)
    >>> group = rng.integers(0, 2, size=300)
    >>> X = np.column_stack([rng.normal(size=300), group + rng.normal(size=300)])
    >>> y = X[:, 0] + 2 * group
    >>> plain = FairRegressor().fit(X, y)
    >>> fair = FairRegressor(fairness_penalty=DependencePenalty(strength=5.0))
    >>> fair = fair.fit(X, y, sensitive_features=group)
    >>> gap = lambda pred: abs(pred[group == 1].mean() - pred[group == 0].mean())
    >>> bool(gap(fair.predict(X)) < gap(plain.predict(X)) / 2)
    True
    """

    _parameter_constraints = {
        **TorchEstimator._parameter_constraints,
        **_FairMixin._fairness_constraints,
        "loss": [StrOptions({"squared_error", "poisson", "absolute_error"})],
    }

    def __init__(
        self,
        loss="squared_error",
        *,
        fairness_penalty=None,
        penalty="deprecated",
        fairness_strength="deprecated",
        statistic="deprecated",
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
        self.loss = loss
        self.fairness_penalty = fairness_penalty
        self.penalty = penalty
        self.fairness_strength = fairness_strength
        self.statistic = statistic
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

    def _statistics_unavailable(self):
        if self.loss == "squared_error":
            return (
                "they exist for the least-squares fit: no fairness penalty "
                "(or strength 0), alpha=0 and a linear scorer"
            )
        return (
            f"its loss ({self.loss!r}) is not a likelihood: the absolute "
            "error is one only with a noise scale, which the model does not "
            "fit, and half the Poisson deviance differs from the Poisson "
            "log-likelihood by a term of the targets; fit the unpenalised "
            "model with statsmodels' GLM for its standard errors"
        )

    def _inference_parameters(self, module, criterion):
        # The intercept on the scale of y: the scorer's bias plus the mean
        # the targets were centred by.
        blocks = super()._inference_parameters(module, criterion)
        offset = self._fitted_constants.get("y_offset", 0.0)
        return [
            (names, tensor + offset if names == ["intercept"] else tensor)
            for names, tensor in blocks
        ]

    def _set_likelihood_statistics(self, statistics):
        if statistics is not None:
            statistics = _gaussian_statistics(statistics)
        super()._set_likelihood_statistics(statistics)

    def _profile_intervals(self, level, X, y, reference, fit_params):
        raise ValueError(
            "FairRegressor has no profile intervals: for a linear model with "
            "Gaussian errors they are the Wald intervals up to the estimate "
            "of the variance; use kind='wald' (or 'bootstrap')."
        )

    def _formulation(self, penalty=None, n_rows=0, y_offset=0.0):
        # y_offset is applied outside the net (see _problem and predict).
        return self._penalised_formulation(self.loss, penalty, n_rows)

    def _problem(self, X, y, *, constants, sensitive_features, sample_weight, exposure):
        n, y_raw = X.shape[0], y
        # A copy: torch cannot wrap read-only memory (e.g. a memmap'd y).
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y", copy=True)
        weight = check_sample_weight(sample_weight, n)
        if self.loss == "poisson":
            if np.any(y < 0):
                raise ValueError(
                    "loss='poisson' needs non-negative targets (counts); y has "
                    f"{int(np.sum(y < 0))} negative values."
                )
            if exposure is not None:
                exposure = check_array(
                    exposure, ensure_2d=False, dtype=np.float64, input_name="exposure"
                )
                if exposure.shape != (n,) or np.any(exposure <= 0):
                    raise ValueError(
                        f"exposure must be positive with one value per row ({n}); "
                        f"got shape {exposure.shape} with "
                        f"{int(np.sum(exposure <= 0))} non-positive values."
                    )
                # Counts over an exposure with the offset log(exposure) are the
                # same fit as the rates y / exposure weighted by the exposure.
                y = y / exposure
                weight = weight * exposure
            if not np.any((y > 0) & (weight > 0)):
                raise ValueError(
                    "loss='poisson' needs at least one positive count in y; every "
                    "target is zero, so the log-mean would be -infinity."
                )
        elif exposure is not None:
            raise ValueError(
                f"exposure is only used with loss='poisson'; got loss={self.loss!r}."
            )
        # A fresh fit's constants are those of all the data (of every rank
        # in a data-parallel fit); a continued fit keeps them.
        (y_all, weight_all), n_all, _ = (
            self._across_ranks(n, y, weight)
            if constants is None
            else ((y, weight), n, None)
        )
        targets, penalty = self._penalty_targets(
            sensitive_features,
            n,
            constants=constants,
            target=y,
            scale=_null_loss(self.loss, y_all, weight_all),
        )
        # A continued fit keeps the solver of the first.
        fitted = {"n_rows": n_all if constants is None else constants["n_rows"]}
        y_offset = 0.0
        scorer = self._resolved_scorer()
        if (
            self.loss != "poisson"
            and getattr(scorer, "fit_intercept", True)
            and (isinstance(scorer, Scorer))
        ):
            # Centred targets, in float64: a constant is absorbed by the
            # scorer's unpenalised bias and by no penalty (the dependence
            # measures see distances), so the fit is exactly the same, but a
            # float32 model no longer has to hold an offset such as 1e12.
            # (A user's module may have no bias: its targets stay as given.)
            if constants is not None:
                y_offset = constants["y_offset"]
            elif weight_all.sum() > 0:
                y_offset = float(np.average(y_all, weights=weight_all))
            y = y - y_offset
            self._check_target_scale(y, weight, penalty, fitted["n_rows"])
        fitted["y_offset"] = y_offset
        return self._fair_problem(
            X,
            y,
            weight,
            targets,
            penalty,
            fitted,
            y_raw=y_raw,
            sample_weight=sample_weight,
            exposure=exposure,
            sensitive_features=sensitive_features,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, sensitive_features=None, sample_weight=None, exposure=None):
        """Fit the regressor.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Targets; for ``loss="poisson"``, non-negative counts (or rates,
            without ``exposure``).
        sensitive_features : array-like or DataFrame of shape (n_samples,) or \
                (n_samples, n_attributes), default=None
            Protected attributes, used only by the penalty (required when
            ``fairness_strength > 0``); categorical and continuous columns
            may be mixed. Missing values are an error.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights of the loss and of the penalty.
        exposure : array-like of shape (n_samples,), default=None
            ``loss="poisson"`` only: the positive exposure of each row (time
            at risk). The model is then ``E[y] = exposure · exp(s(x))``, and
            :meth:`predict` returns the rate ``exp(s(x))`` per unit exposure.

        Returns
        -------
        self : FairRegressor
        """
        return self._fit(
            X,
            y,
            sensitive_features=sensitive_features,
            sample_weight=sample_weight,
            exposure=exposure,
        )

    def _check_target_scale(self, y, weight, penalty, n_rows):
        """A mini-batch optimiser moves weights by about ``lr`` per step; it
        cannot reach the scale of targets far from 1. Refuse them."""
        formulation = self._formulation(penalty, n_rows=n_rows)
        if self._uses_full_batch_solver(formulation):
            return
        kept = weight > 0
        if not kept.any():
            return
        spread = float(np.sqrt(np.average(y[kept] ** 2, weights=weight[kept])))
        if spread > _MAX_TARGET_SPREAD or 0 < spread < 1 / _MAX_TARGET_SPREAD:
            raise ValueError(
                f"y varies on the scale of {spread:.3g} around its mean, which "
                "the mini-batch optimiser of this FairRegressor cannot reach in "
                "float precision. Standardise y, e.g. with "
                "sklearn.compose.TransformedTargetRegressor(FairRegressor(...), "
                "transformer=StandardScaler()), or use the default linear "
                "scorer (full-batch L-BFGS in float64)."
            )

    def predict(self, X):
        """Predicted target (the rate per unit exposure for ``loss="poisson"``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        scores = self._raw_scores(X)
        if self.loss == "poisson":
            return np.exp(scores)
        return scores + self._fitted_constants["y_offset"]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


@_fairness_doc
class FairClassifier(
    LikelihoodInferenceMixin, _FairMixin, ClassifierMixin, TorchEstimator
):
    """Classifier with a distance-covariance penalty on protected attributes.

    Minimises the log-loss (logistic for two classes, softmax cross-entropy
    otherwise) plus ``fairness_strength`` times a dependence measure between
    the *predicted probabilities* and the protected attributes (distance
    covariance or one of its multi-attribute forms), pushing the
    probabilities towards demographic parity, plus ``alpha / 2`` times the
    squared norm of the scorer's weight matrices. With a linear scorer,
    ``fairness_strength=0`` and ``alpha=a`` it is
    ``LogisticRegression(C=1 / (a · n))``.

    Without a penalty (no ``fairness_penalty``, or a strength of 0),
    ``alpha=0`` and a linear scorer, the fit is the maximum-likelihood
    logistic (softmax) regression, with the statistics of
    :ref:`inference`: :meth:`summary` of the features' coefficients and the
    intercept, as statsmodels' ``Logit`` prints them, and for ``k >= 3``
    classes of each class's against the first's, as ``MNLogit`` prints
    them (named ``"feature[class]"``; a softmax sees only these
    differences). With an active penalty the fit is no maximum-likelihood
    fit, and there are none.

    {fairness_notes}

    Parameters
    ----------
    {fairness_penalty_params}
    {scorer_param}
    {engine_params}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    sensitive_attributes_ : tuple of str
        Names of the protected attributes seen in :meth:`fit` (empty when
        fitted without them).
    {engine_attributes}
    {likelihood_attributes}

    See Also
    --------
    FairRegressor : The regression counterpart.
    DependencePenalty : The penalty and its options.
    fairness_path : Fit a path of penalty strengths and pick one.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.fairness import DependencePenalty, FairClassifier
    >>> rng = np.random.default_rng(0)
    >>> group = rng.integers(0, 2, size=400)
    >>> X = np.column_stack([rng.normal(size=400), 2 * group + rng.normal(size=400)])
    >>> y = (X[:, 0] + X[:, 1] + rng.logistic(size=400) > 1).astype(int)
    >>> clf = FairClassifier(fairness_penalty=DependencePenalty(strength=10.0))
    >>> clf = clf.fit(X, y, sensitive_features=group)
    >>> proba = clf.predict_proba(X)[:, 1]
    >>> plain = FairClassifier().fit(X, y).predict_proba(X)[:, 1]
    >>> gap = lambda p: abs(p[group == 1].mean() - p[group == 0].mean())
    >>> bool(gap(proba) < gap(plain) / 2)
    True
    """

    _parameter_constraints = {
        **TorchEstimator._parameter_constraints,
        **_FairMixin._fairness_constraints,
    }

    def __init__(
        self,
        *,
        fairness_penalty=None,
        penalty="deprecated",
        fairness_strength="deprecated",
        statistic="deprecated",
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
        self.fairness_penalty = fairness_penalty
        self.penalty = penalty
        self.fairness_strength = fairness_strength
        self.statistic = statistic
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

    def _binary(self):
        return len(self.classes_) == 2

    def _statistics_unavailable(self):
        return (
            "they exist for the unpenalised fit (no active fairness_penalty, "
            "alpha=0) with a linear scorer (LinearScorer), the "
            "maximum-likelihood logistic regression"
        )

    def _parametric_module(self, module):
        return isinstance(module, LinearScorer)

    def _inference_parameters(self, module, criterion):
        if self._binary():
            return super()._inference_parameters(module, criterion)
        # A softmax sees only differences between classes: each class's
        # coefficients against the first class's, as MNLogit reports them.
        linear = module.linear
        features = getattr(self, "feature_names_in_", None)
        if features is None:
            features = [f"x{j}" for j in range(linear.weight.shape[1])]
        blocks = []
        for k, label in enumerate(self.classes_[1:], start=1):
            names = [f"{feature}[{label}]" for feature in features]
            blocks.append((names, linear.weight[k] - linear.weight[0]))
            if linear.bias is not None:
                blocks.append(
                    ([f"intercept[{label}]"], (linear.bias[k] - linear.bias[0])[None])
                )
        return blocks

    def _formulation(self, n_classes=2, penalty=None, n_rows=0):
        binary = n_classes == 2
        loss = "binary_log_loss" if binary else "multinomial_log_loss"
        return self._penalised_formulation(
            loss, penalty, n_rows, n_outputs=1 if binary else n_classes
        )

    def _problem(self, X, y, *, constants, sensitive_features, sample_weight):
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        if encoder.classes_.shape[0] < 2:
            raise ValueError(
                "FairClassifier needs samples of at least 2 classes in y; got "
                f"only class {encoder.classes_[0]!r}."
            )
        self.classes_ = encoder.classes_
        codes = encoder.transform(y)
        target = codes.astype(np.float64) if self._binary() else codes
        n = X.shape[0]
        weight = check_sample_weight(sample_weight, n)
        # A fresh fit's constants are those of all the data (of every rank
        # in a data-parallel fit); a continued fit keeps them.
        (codes_all, weight_all), n_all, _ = (
            self._across_ranks(n, codes, weight)
            if constants is None
            else ((codes, weight), n, None)
        )
        targets, penalty = self._penalty_targets(
            sensitive_features,
            n,
            constants=constants,
            target=codes,
            discrete_target=True,
            scale=_null_loss("log_loss", codes_all, weight_all),
        )
        fitted = {
            "n_classes": len(self.classes_),
            # A continued fit keeps the solver of the first.
            "n_rows": n_all if constants is None else constants["n_rows"],
        }
        return self._fair_problem(
            X,
            target,
            weight,
            targets,
            penalty,
            fitted,
            y_raw=y,
            sample_weight=sample_weight,
            sensitive_features=sensitive_features,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, sensitive_features=None, sample_weight=None):
        """Fit the classifier.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels (at least two classes).
        sensitive_features : array-like or DataFrame of shape (n_samples,) or \
                (n_samples, n_attributes), default=None
            Protected attributes, used only by the penalty (required when
            ``fairness_strength > 0``); categorical and continuous columns
            may be mixed. Missing values are an error.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights of the loss and of the penalty.

        Returns
        -------
        self : FairClassifier
        """
        return self._fit(
            X, y, sensitive_features=sensitive_features, sample_weight=sample_weight
        )

    def decision_function(self, X):
        """Logits: ``(n_samples,)`` for two classes, else ``(n_samples, n_classes)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray
        """
        return self._raw_scores(X)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        scores = self._raw_scores(X)
        if self._binary():
            p = expit(scores)
            return np.column_stack([1.0 - p, p])
        return softmax(scores, axis=1)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably from the logits.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        scores = self._raw_scores(X)
        if self._binary():
            return np.column_stack(
                [-np.logaddexp(0, scores), -np.logaddexp(0, -scores)]
            )
        return scores - np.logaddexp.reduce(scores, axis=1, keepdims=True)

    def predict(self, X):
        """Most probable class of each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        scores = self._raw_scores(X)
        codes = (scores > 0).astype(int) if self._binary() else scores.argmax(axis=1)
        return self.classes_[codes]
