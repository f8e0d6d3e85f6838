"""Regressors and classifiers with a distance-covariance fairness penalty."""

import functools

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _num_samples, check_array

from .._docstrings import fill_doc
from .._engine import TorchEstimator
from .._loss.dependence import KINDS, penalised_loss
from ..nn import LinearScorer
from ..utils._groups import check_sample_weight
from ..utils._penalty import SHARED_CONSTRAINTS, encode_for_penalty, unpenalised_state
from ..utils._units import row_units

__all__ = ["FairClassifier", "FairRegressor"]

#: Up to this many rows, ``optimizer="auto"`` fits a penalised linear model
#: by full-batch L-BFGS (distance matrices of at most 4096² entries).
_LBFGS_PENALTY_ROWS = 4096

_FAIRNESS_DOC = """\
penalty : {"dcov", "ccdcov", "jdcov"}, default="dcov"
    The dependence measure between the predictions and the protected
    attributes (see :func:`~skalign.fairness.dependence_penalty`): the sum of
    one dCov² per attribute (``"dcov"``), dCov² with all attributes
    concatenated (``"ccdcov"``, intersectional), or JdCov² (``"jdcov"``,
    intersectional, with ``jdcov_c``).
fairness_strength : float, default=0.0
    λ, the weight of the penalty. The default 0 fits the *unpenalised* model
    (exactly: the penalty is not even evaluated), so that ``Estimator()`` is
    a plain, valid scikit-learn model whose ``sensitive_features`` are
    optional; any λ > 0 requires ``sensitive_features`` in :meth:`fit`. The
    penalty's scale depends on that of the predictions, so choose λ with
    :func:`~skalign.fairness.fairness_path`.
statistic : {"v", "u"}, default="v"
    Estimator of the penalty on each mini-batch: the V-statistic
    (non-negative; honours ``sample_weight``) or the unbiased U-statistic
    (needs at least 4 rows per batch; ignores ``sample_weight``).
jdcov_c : float, default=1.0
    The constant ``c`` of JdCov² (``penalty="jdcov"`` only): larger values
    weigh pairwise dependence more than higher-order dependence.
categorical_features : "auto", "all" or array-like, default="auto"
    Which columns of ``sensitive_features`` are categorical (one-hot
    encoded); the others are continuous (standardised). String, boolean and
    pandas categorical columns always are; list numeric columns (names,
    indices or a mask) that hold category codes. See
    :func:`~skalign.fairness.encode_sensitive_features`.
scale_continuous : bool, default=True
    Standardise continuous protected attributes."""

_FAIRNESS_NOTES = """\
The penalty is computed on each mini-batch from the batch's predictions and
protected attributes: through ``batch_size x batch_size`` distance matrices
in general, and in ``O(n log n)`` without them for a univariate prediction
and categorical (or, from 1024 rows, continuous) attributes with
``penalty="dcov"``. With ``fairness_strength > 0`` the objective is no
longer convex. ``optimizer="lbfgs"`` optimises the exact, whole-data
penalty at full batch, starting from the unpenalised fit (at the constant
predictions of a zero-initialised scorer the penalty has no useful
gradient). ``optimizer="auto"`` does so too for a linear scorer, a smooth
loss and at most 4096 rows (where the whole-data distance matrices are
small); otherwise it is Adam on mini-batches of ``batch_size`` rows, which
for a linear scorer and a smooth loss also starts from the unpenalised fit.
``predict`` never needs the protected attributes.

References: Székely, Rizzo & Bakirov (2007), Ann. Statist. 35(6) (distance
covariance); Chakraborty & Zhang (2019), JASA 114(528) (JdCov); the penalised
objective follows "Machine Learning with Multitype Protected Attributes:
Intersectional Fairness through Regularisation"."""


def _fairness_doc(cls):
    cls.__doc__ = cls.__doc__.replace(
        "    {fairness_params}", _indent(_FAIRNESS_DOC)
    ).replace("    {fairness_notes}", _indent(_FAIRNESS_NOTES))
    return fill_doc(cls)


def _indent(text):
    return "\n".join("    " + line if line else line for line in text.splitlines())


class _FairMixin:
    """Parameters, sensitive-feature handling and loss shared by both models."""

    _fairness_constraints = {
        "penalty": [StrOptions(set(KINDS))],
        "statistic": [StrOptions({"v", "u"})],
        **SHARED_CONSTRAINTS,
    }

    def _encode_sensitive(self, sensitive_features, X):
        """Validate and encode the protected attributes (``None`` if absent)."""
        return encode_for_penalty(
            sensitive_features,
            _num_samples(X),
            strength=self.fairness_strength,
            categorical_features=self.categorical_features,
            scale_continuous=self.scale_continuous,
        )

    def _sensitive_targets(self, encoded, sample_weight, n_samples):
        """The encoded protected attributes as training targets."""
        self.sensitive_attributes_ = () if encoded is None else encoded.names
        self._sensitive_sizes = () if encoded is None else encoded.sizes
        self._sensitive_categorical = () if encoded is None else encoded.categorical
        if encoded is None or not self.fairness_strength:
            return {}
        targets = {"sensitive": encoded.values}
        if sample_weight is not None:
            targets["penalty_weight"] = np.array(
                check_sample_weight(sample_weight, n_samples)
            )
        return targets

    def _fit_from_unpenalised(self, X, y, *, sensitive_features, **metadata):
        """``_fit``, started at the unpenalised optimum when L-BFGS is used
        (see :func:`~skalign.utils._penalty.unpenalised_state`); the
        penalised fit then moves from the accurate model towards fairness.
        """
        encoded = self._encode_sensitive(sensitive_features, X)
        self._initial_state = None
        continuing = self.warm_start and hasattr(self, "net_")
        if not continuing:
            # Read by _prefers_lbfgs, then and when a saved model is rebuilt.
            self._n_fit_rows = _num_samples(X)
        try:
            if (
                self.fairness_strength > 0
                and not continuing
                and self._starts_from_unpenalised()
            ):
                self._initial_state = unpenalised_state(self, X, y, **metadata)
            return self._fit(X, y, sensitive_features=encoded, **metadata)
        finally:
            del self._initial_state

    def _smooth_linear(self, scorer):
        return isinstance(scorer, LinearScorer) and (
            getattr(self, "loss", None) != "absolute_error"
        )

    def _prefers_lbfgs(self, scorer):
        if self._convex:
            return isinstance(scorer, LinearScorer)
        # The penalised objective is not convex, but from the unpenalised
        # optimum full-batch L-BFGS reaches a far better point than a few
        # hundred Adam steps, as long as the n x n distance matrices of the
        # whole-data penalty stay small.
        rows = getattr(self, "_n_fit_rows", None)
        return (
            self._smooth_linear(scorer)
            and rows is not None
            and rows <= _LBFGS_PENALTY_ROWS
        )

    def _starts_from_unpenalised(self):
        """Start at the unpenalised optimum: always with L-BFGS, and with
        the mini-batch optimiser that ``"auto"`` picks for a large linear
        problem (the unpenalised fit is then a cheap convex L-BFGS fit)."""
        scorer = self._resolved_scorer()
        if self._uses_full_batch_solver():
            return True
        return self.optimizer == "auto" and self._smooth_linear(scorer)

    def _make_module(self, scorer_module):
        if getattr(self, "_initial_state", None) is not None:
            scorer_module.load_state_dict(self._initial_state)
        return scorer_module

    def _penalised(self, loss):
        return functools.partial(
            penalised_loss,
            loss=loss,
            strength=float(self.fairness_strength),
            kind=self.penalty,
            sizes=self._sensitive_sizes,
            categorical=self._sensitive_categorical,
            statistic=self.statistic,
            c=float(self.jdcov_c),
        )


@_fairness_doc
class FairRegressor(_FairMixin, RegressorMixin, TorchEstimator):
    """Regressor with a distance-covariance penalty on protected attributes.

    Minimises ``L(y, ŷ) + λ · P(ŷ, S)``: a regression loss plus
    ``fairness_strength`` times a dependence measure ``P`` between the
    predictions ``ŷ`` and the protected attributes ``S`` (distance
    covariance or one of its multi-attribute forms), so that the predictions
    approach *demographic parity* (independence of ``S``), for categorical
    and continuous attributes, several at once, linear and non-linear
    dependence alike. ``alpha / 2`` times the squared norm of the scorer's
    weight matrices is added.

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
    {fairness_params}
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
    fairness_path : Fit a path of ``fairness_strength`` values and pick one.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.fairness import FairRegressor
    >>> rng = np.random.default_rng(0)
    >>> group = rng.integers(0, 2, size=300)
    >>> X = np.column_stack([rng.normal(size=300), group + rng.normal(size=300)])
    >>> y = X[:, 0] + 2 * group
    >>> plain = FairRegressor().fit(X, y)
    >>> fair = FairRegressor(fairness_strength=5.0, optimizer="lbfgs",
    ...                      random_state=0).fit(X, y, sensitive_features=group)
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
        penalty="dcov",
        fairness_strength=0.0,
        statistic="v",
        jdcov_c=1.0,
        categorical_features="auto",
        scale_continuous=True,
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

    @property
    def _convex(self):
        # |y - s| is convex but not smooth, which L-BFGS handles badly.
        return self.fairness_strength == 0 and self.loss != "absolute_error"

    def _loss(self):
        return self._penalised(self.loss)

    def _make_training_data(self, X, y, *, sensitive_features, sample_weight, exposure):
        n = X.shape[0]
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
        targets = self._sensitive_targets(sensitive_features, sample_weight, n)
        return row_units(X, weight, target=y, **targets)

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
        return self._fit_from_unpenalised(
            X,
            y,
            sensitive_features=sensitive_features,
            sample_weight=sample_weight,
            exposure=exposure,
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
        return np.exp(scores) if self.loss == "poisson" else scores

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


@_fairness_doc
class FairClassifier(_FairMixin, ClassifierMixin, TorchEstimator):
    """Classifier with a distance-covariance penalty on protected attributes.

    Minimises the log-loss (logistic for two classes, softmax cross-entropy
    otherwise) plus ``fairness_strength`` times a dependence measure between
    the *predicted probabilities* and the protected attributes (distance
    covariance or one of its multi-attribute forms), pushing the
    probabilities towards demographic parity, plus ``alpha / 2`` times the
    squared norm of the scorer's weight matrices. With a linear scorer,
    ``fairness_strength=0`` and ``alpha=a`` it is
    ``LogisticRegression(C=1 / (a · n))``.

    {fairness_notes}

    Parameters
    ----------
    {fairness_params}
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

    See Also
    --------
    FairRegressor : The regression counterpart.
    fairness_path : Fit a path of ``fairness_strength`` values and pick one.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.fairness import FairClassifier
    >>> rng = np.random.default_rng(0)
    >>> group = rng.integers(0, 2, size=400)
    >>> X = np.column_stack([rng.normal(size=400), 2 * group + rng.normal(size=400)])
    >>> y = (X[:, 0] + X[:, 1] + rng.logistic(size=400) > 1).astype(int)
    >>> clf = FairClassifier(fairness_strength=10.0, optimizer="lbfgs",
    ...                      random_state=0).fit(X, y, sensitive_features=group)
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
        penalty="dcov",
        fairness_strength=0.0,
        statistic="v",
        jdcov_c=1.0,
        categorical_features="auto",
        scale_continuous=True,
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

    @property
    def _convex(self):
        return self.fairness_strength == 0

    def _binary(self):
        return len(self.classes_) == 2

    def _n_outputs(self):
        return 1 if self._binary() else len(self.classes_)

    def _loss(self):
        return self._penalised(
            "binary_log_loss" if self._binary() else "multinomial_log_loss"
        )

    def _make_training_data(self, X, y, *, sensitive_features, sample_weight):
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
        targets = self._sensitive_targets(sensitive_features, sample_weight, n)
        return row_units(X, weight, target=target, **targets)

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
        return self._fit_from_unpenalised(
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
