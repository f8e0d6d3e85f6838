"""What every calibrator shares: validation of scores and labels, the logit
space the maps work in, and the classifier / transformer methods.

A calibrator takes *scores*, not features: the output of a classifier's
``decision_function`` (logits) or ``predict_proba`` (probabilities), one
column per class, or a single column (or 1-D array) with the positive class's
score for a binary problem. Whatever the input, the scores are first brought
to one *logit space* (this module is the only place that does it):

- binary problems: one column, the log-odds ``z`` of the positive class
  (``z = s_1 - s_0`` for two logit columns, ``log p - log(1 - p)`` for a
  probability);
- ``k >= 3`` classes: ``k`` columns, the logits, or the log-probabilities
  when probabilities are given (softmax is shift-invariant, so both describe
  the same distribution).

Each calibrator is a map from that space to calibrated probabilities.

The parametric maps do not see the logits themselves but *features* of them
(the logits, the log-probabilities, ...) divided by one fitted positive
number, ``feature_scale_``: the features' root mean square unless the
calibrator says otherwise. Their parameters are fitted (in float64) on
features of unit size whatever the size of the scores, so that scores of
``1e-6`` or ``1e30`` are as well conditioned as scores of 1, and a map that
is linear in the logits gives the same probabilities for ``c * scores`` as
for ``scores``. The scale is kept and applied at prediction; ``coef_`` and
the like are reported in the units of the unscaled features.
"""

import textwrap

import numpy as np
import torch
from scipy.special import log_expit, log_softmax, logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, _fit_context
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from torch.func import functional_call

from .._engine import (
    FULL_BATCH_SETTINGS,
    Formulation,
    Problem,
    TorchEstimator,
    to_torch,
)
from .._loss.calibration import PenaltyColumnLoss
from ..metrics._calibration import EPS, check_probabilities, looks_like_probabilities
from ..nn import Scorer
from ..utils._groups import check_sample_weight
from ..utils._persistence import VersionedStateMixin
from ..utils._units import row_units
from ..utils._validation import check_features, from_torch

_PREDICT_CHUNK = 1 << 16


def is_one_d(scores):
    """Whether ``scores`` is a 1-D array-like (a binary score)."""
    return (scores if hasattr(scores, "shape") else np.asarray(scores)).ndim == 1


def as_columns(scores):
    """A 1-D score array becomes one column; anything else is left as is
    (DataFrames keep their column names)."""
    if is_one_d(scores):
        return np.reshape(np.asarray(scores), (-1, 1))
    return scores


def log_proba_columns(logits):
    """Log-probabilities of every class from logit-space scores.

    ``(n, 1)`` binary log-odds give ``[log σ(-z), log σ(z)]``; ``(n, k)``
    logits give ``log_softmax``. Both are computed without overflow.
    """
    if logits.shape[1] == 1:
        z = logits[:, 0]
        return np.column_stack([log_expit(-z), log_expit(z)])
    return log_softmax(logits, axis=1)


def log_complement(log_p):
    """``log(1 - p)`` of every entry of rows of log-probabilities ``log_p``.

    ``log(-expm1(log p))`` is accurate where ``p <= 1/2``, which holds for
    every class but a row's most probable one; for that one ``1 - p`` is the
    sum of the others, taken as their ``logsumexp``. So a class whose
    probability rounds to 1 still gets a finite ``log(1 - p)``, which keeps
    extreme scores apart instead of tying them at a clipped value.
    """
    top = np.argmax(log_p, axis=1)
    rows = np.arange(log_p.shape[0])
    with np.errstate(divide="ignore"):
        out = np.log(-np.expm1(log_p))
    others = log_p.copy()
    others[rows, top] = -np.inf
    out[rows, top] = logsumexp(others, axis=1)
    return out


def root_mean_square(values, weight):
    """Root mean square of the entries of ``values`` (n, m), rows weighted
    by ``weight``; 1 where it is zero (no scale to remove).

    Squares are summed in float64; values beyond ``1e±100``, whose squares
    would overflow or underflow it, are first divided by the largest one.
    It scales with the values: ``root_mean_square(c * values) == c *
    root_mean_square(values)`` up to rounding, for any ``c > 0``.
    """
    largest = max(
        float(np.max(values, initial=0.0)), -float(np.min(values, initial=0.0))
    )
    if largest == 0.0:
        return 1.0
    unit = 1.0 if 1e-100 < largest < 1e100 else largest
    rows = values if unit == 1.0 else values / unit
    sums = np.einsum("ij,ij->i", rows, rows, dtype=np.float64)
    rms = unit * float(np.sqrt(weight @ sums / (weight.sum() * values.shape[1])))
    return rms if rms > 0.0 else 1.0


def one_vs_rest_log_proba(outputs):
    """Log-probabilities from one sigmoid logit per class, renormalised.

    One column (binary) gives ``[log σ(-z), log σ(z)]`` exactly; ``k``
    columns give ``log σ(o_k) - log Σ_j σ(o_j)``.
    """
    if outputs.shape[1] == 1:
        return log_proba_columns(outputs)
    log_p = log_expit(outputs)
    return log_p - logsumexp(log_p, axis=1, keepdims=True)


class _BaseCalibrator(ClassifierMixin, TransformerMixin):
    """Scores in, calibrated probabilities out; the shared plumbing.

    Subclasses implement ``_fit_logits(logits, codes, weight)`` (or, for the
    torch calibrators, the engine hooks) and ``_predict_proba_logits(logits)``
    or ``_predict_log_proba_logits(logits)``.
    """

    _input_constraint = {"input": [StrOptions({"auto", "logits", "probabilities"})]}

    # ---------------------------------------------------------- validation
    def _validated_fit_data(self, scores, y, sample_weight):
        """``(logits, codes, weight)`` of a fit that does not go through the
        engine, validated with the engine's own ``validate_data`` settings
        (except that float32 scores stay float32: no copy of large logits)."""
        scores = check_features(scores, input_name="scores", allow_1d=True)
        y = from_torch(y, "y")
        sample_weight = from_torch(sample_weight, "sample_weight")
        one_d = is_one_d(scores)
        X, y = validate_data(
            self,
            as_columns(scores),
            y,
            y_numeric=False,
            dtype=(np.float64, np.float32),
            accept_sparse=False,
            ensure_min_samples=2,
        )
        weight = self._check_weight(sample_weight, X.shape[0])
        logits, codes = self._fit_logits_and_codes(X, y, weight, one_d)
        return logits, codes, weight

    @staticmethod
    def _check_weight(sample_weight, n_samples):
        weight = check_sample_weight(sample_weight, n_samples)
        if not np.any(weight > 0):
            raise ValueError("sample_weight is zero on every row; nothing to fit.")
        return weight

    def _fit_logits_and_codes(self, X, y, weight, one_d):
        """Validate labels and scores of ``fit``; set ``classes_``,
        ``input_`` and ``readout_``. ``X`` has passed ``validate_data``;
        ``one_d`` tells whether the scores came as a 1-D array."""
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        codes = codes.astype(np.int64).ravel()
        n_classes = self.classes_.shape[0]
        if n_classes < 2:
            raise ValueError(
                f"{type(self).__name__} needs labels of at least two classes to "
                f"calibrate; y has only one class: {self.classes_.tolist()}."
            )
        if one_d and n_classes != 2:
            raise ValueError(
                "1-D scores are the positive class's score of a binary problem, "
                f"but y has {n_classes} classes; pass one column per class."
            )
        self.readout_ = None
        if X.shape[1] not in ((1, 2) if n_classes == 2 else (n_classes,)):
            if self.input != "auto":
                raise ValueError(
                    f"scores must have one column per class ({n_classes} here"
                    + (", or one for the positive class" if n_classes == 2 else "")
                    + f") when input={self.input!r}; got {X.shape[1]} columns. "
                    f"y has the classes {self.classes_.tolist()[:10]}."
                )
            # Not one score per class: read class logits off the columns by
            # a multinomial logistic regression, then calibrate those.
            self.readout_ = LogisticRegression(tol=1e-10, max_iter=10_000).fit(
                X, codes, sample_weight=weight
            )
            self.input_ = "logits"
        elif self.input == "auto":
            self.input_ = "probabilities" if looks_like_probabilities(X) else "logits"
        else:
            self.input_ = self.input
        return self._to_logits(X), codes

    def _to_logits(self, X):
        """Scores (validated 2-D float64) to the logit space of the module
        docstring."""
        if self.readout_ is not None:
            return self.readout_.decision_function(X).reshape(X.shape[0], -1)
        if self.input_ == "probabilities":
            X = check_probabilities(X, name="scores")
            if X.shape[1] == 1:
                p = np.clip(X[:, 0], EPS, 1.0 - EPS)
                return (np.log(p) - np.log1p(-p))[:, None]
            log_p = np.log(np.clip(X, EPS, 1.0))
            if X.shape[1] == 2:
                return (log_p[:, 1] - log_p[:, 0])[:, None]
            return log_p
        if X.shape[1] == 2:
            return (X[:, 1] - X[:, 0])[:, None]
        return X

    def _predict_logits(self, scores):
        check_is_fitted(self, "classes_")
        scores = check_features(scores, input_name="scores", allow_1d=True)
        if self.n_features_in_ == 1:
            scores = as_columns(scores)
        X = validate_data(
            self, scores, reset=False, dtype=np.float64, accept_sparse=False
        )
        return self._to_logits(X)

    # ------------------------------------------------------------ outputs
    def _predict_log_proba_logits(self, logits):
        with np.errstate(divide="ignore"):
            return np.log(self._predict_proba_logits(logits))

    def _predict_proba_logits(self, logits):
        return np.exp(self._predict_log_proba_logits(logits))

    def predict_proba(self, scores):
        """Calibrated probability of every class.

        Parameters
        ----------
        scores : array-like of shape (n_samples,) or (n_samples, n_scores)
            Scores of the kind seen in ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to one; columns follow ``classes_``.
        """
        return self._predict_proba_logits(self._predict_logits(scores))

    def predict_log_proba(self, scores):
        """Logarithm of :meth:`predict_proba`, computed in log space.

        Parameters
        ----------
        scores : array-like of shape (n_samples,) or (n_samples, n_scores)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        return self._predict_log_proba_logits(self._predict_logits(scores))

    def predict(self, scores):
        """Most probable class after calibration.

        Parameters
        ----------
        scores : array-like of shape (n_samples,) or (n_samples, n_scores)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(scores)
        return self.classes_[np.argmax(proba, axis=1)]

    def transform(self, scores, *, log=False):
        """Calibrated probabilities (or log-probabilities), as a transformer.

        Parameters
        ----------
        scores : array-like of shape (n_samples,) or (n_samples, n_scores)
        log : bool, default=False
            Return log-probabilities, as :meth:`predict_log_proba`.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return self.predict_log_proba(scores) if log else self.predict_proba(scores)

    def get_feature_names_out(self, input_features=None):
        """Names of :meth:`transform`'s columns, one per class:
        ``proba_<class>`` (also for the log-probabilities of ``log=True``).

        With them, ``set_output(transform="pandas")`` returns a DataFrame.
        """
        check_is_fitted(self, "classes_")
        return np.asarray([f"proba_{label}" for label in self.classes_], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.target_tags.required = True
        # A calibrator rescales scores; it cannot make a classifier from
        # arbitrary features, which is what the accuracy checks measure.
        tags.classifier_tags.poor_score = True
        return tags


class _NumpyCalibrator(VersionedStateMixin, _BaseCalibrator, BaseEstimator):
    """Base of the calibrators fitted without torch (binning, isotonic)."""

    _required_fitted_state = ("classes_", "input_", "n_features_in_")

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, scores, y, sample_weight=None):
        """Fit the calibration map.

        Parameters
        ----------
        scores : array-like of shape (n_samples,) or (n_samples, n_classes)
            Held-out scores of the classifier to calibrate: logits or
            probabilities (see ``input``).
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows.

        Returns
        -------
        self
        """
        logits, codes, weight = self._validated_fit_data(scores, y, sample_weight)
        self._fit_logits(logits, codes, weight)
        return self


class CalibrationMap(Scorer):
    """Base of the calibration maps trained by the engine.

    A map is a small :class:`~skalign.nn.Scorer` from logit-space features,
    divided by the calibrator's ``feature_scale_``, to class logits; its
    parameters start at the identity map of these standardised features.
    """

    accepts_sparse = False
    has_penalty = False

    def penalty(self):
        """Regularisation term added to the mean loss (none by default)."""
        return None

    def forward_with_penalty(self, X):
        out = self(X)
        penalty = self.penalty()
        if penalty is None:
            return out
        column = penalty.reshape(1, 1).expand(out.shape[0], 1)
        return torch.cat([out.reshape(out.shape[0], -1), column], dim=1)


class _Penalised(torch.nn.Module):
    """The module the engine trains: the map, plus its penalty column."""

    def __init__(self, calibration_map):
        super().__init__()
        self.calibration_map = calibration_map

    def forward(self, X):
        return self.calibration_map.forward_with_penalty(X)


class _OneVsRestOutputs:
    """Outputs of a map fitted one-vs-rest: a sigmoid per class."""

    def _predict_log_proba_logits(self, logits):
        return one_vs_rest_log_proba(self._map_outputs(logits))


class _TorchCalibrator(_BaseCalibrator, TorchEstimator):
    """Base of the smooth parametric calibrators (full-batch L-BFGS).

    Subclasses give ``_default_scorer()`` (their :class:`CalibrationMap`;
    ``_map(**constants)`` and ``_map_constants(features)`` when the map
    depends on the data), ``_raw_features(logits)``, ``_targets(codes,
    weight)``, ``_base_loss(n_classes, **constants)``, optionally
    ``_outputs(n_classes)`` and ``_fit_feature_scale``; the problem, the
    feature scale, the penalty column, the optimiser and prediction are
    handled here.
    """

    # Engine settings that make no sense to tune for a calibration map
    # (full-batch L-BFGS from the identity map), and no warm start.
    _fixed_settings = {**FULL_BATCH_SETTINGS, "warm_start": False}
    #: The loss is convex in the map's parameters.
    _convex_map = False

    _input_name = "scores"
    _required_fitted_state = ("classes_", "input_", "n_features_in_", "feature_scale_")
    # Calibration sets are small, and the feature scale (and a map's knots)
    # are statistics of all the rows: a data-parallel fit gathers them.
    _fits_union = True

    _engine_constraints = {
        name: TorchEstimator._parameter_constraints[name]
        for name in ("max_epochs", "tol", "device", "dtype", "verbose")
    }

    def _binary(self, n_classes=None):
        """Whether the map has a single output (two classes)."""
        return (len(self.classes_) if n_classes is None else n_classes) == 2

    def _outputs(self, n_classes):
        """Score columns of the map: one when binary, else one per class."""
        return 1 if self._binary(n_classes) else n_classes

    def _map(self, **constants):
        """The calibration map of the problem's constants."""
        return self._default_scorer()

    def _map_constants(self, features, **metadata):
        """Data-derived constants of the map (e.g. knots); none by default."""
        return {}

    def _formulation(self, n_classes, **constants):
        calibration_map = self._map(**constants)
        loss = self._base_loss(n_classes, **constants)
        if calibration_map.has_penalty:
            loss = PenaltyColumnLoss(loss)
        return Formulation(
            losses=(loss,),
            n_outputs=self._outputs(n_classes),
            module=_Penalised,
            convex=self._convex_map,
            lbfgs=True,
            scorer=calibration_map,
            likelihood=self._likelihood(n_classes),
        )

    def _likelihood(self, n_classes):
        """Whether the map's objective is the likelihood of the labels (see
        :ref:`inference`); none is by default."""
        return False

    def _parametric_module(self, module):
        # A calibration map has a few parameters of fixed meaning (a
        # temperature, a slope and an intercept): with a likelihood
        # objective, their statistics are those of a small GLM.
        return True

    def _problem(self, X, y, *, constants, sample_weight, one_d, **metadata):
        weight = self._check_weight(sample_weight, X.shape[0])
        logits, codes = self._fit_logits_and_codes(X, y, weight, one_d)
        features = self._features(logits)
        fitted = {
            "n_classes": len(self.classes_),
            **self._map_constants(features, **metadata),
        }
        return Problem(
            row_units(features, weight, **self._targets(codes, weight)),
            self._formulation(**fitted),
            constants=fitted,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, scores, y, sample_weight=None):
        """Fit the calibration map by full-batch L-BFGS.

        Parameters
        ----------
        scores : array-like of shape (n_samples,) or (n_samples, n_classes)
            Held-out scores of the classifier to calibrate: logits or
            probabilities (see ``input``).
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows.

        Returns
        -------
        self
        """
        return self._fit(
            as_columns(scores),
            y,
            sample_weight=sample_weight,
            one_d=is_one_d(scores),
        )

    def _fit_logits_and_codes(self, X, y, weight, one_d):
        logits, codes = super()._fit_logits_and_codes(X, y, weight, one_d)
        self.feature_scale_ = self._fit_feature_scale(logits, codes, weight)
        return logits, codes

    def _fit_feature_scale(self, logits, codes, weight):
        """The positive number the map's features are divided by: their
        weighted root mean square, which scales with the scores."""
        return root_mean_square(self._raw_features(logits), weight)

    def _features(self, logits):
        """The map's input: its features in units of ``feature_scale_``
        (at fit and at prediction alike)."""
        return self._raw_features(logits) / self.feature_scale_

    def _map_outputs(self, logits):
        """Class logits of the fitted map, as float64 numpy (no penalty).

        The map is evaluated in float64 whatever ``dtype`` stored it in:
        log-probabilities of tiny logits differ from each other in digits
        that float32 features would round away, reordering the rows."""
        check_is_fitted(self, "net_")
        calibration_map = self.net_.module_.calibration_map
        features = self._features(logits)
        device = torch.device(self.net_.device)
        state = {
            name: value.to(torch.float64) if value.is_floating_point() else value
            for name, value in (
                *calibration_map.named_parameters(),
                *calibration_map.named_buffers(),
            )
        }
        out = []
        with torch.no_grad():
            for start in range(0, features.shape[0], _PREDICT_CHUNK):
                chunk = to_torch(
                    features[start : start + _PREDICT_CHUNK], torch.float64, device
                )
                out.append(functional_call(calibration_map, state, (chunk,)).to("cpu"))
        out = torch.cat(out).numpy() if out else np.empty((0,))
        return out.reshape(features.shape[0], -1)

    def _predict_log_proba_logits(self, logits):
        return log_proba_columns(self._map_outputs(logits))

    def _predict_logits(self, scores):
        check_is_fitted(self, "net_")
        return super()._predict_logits(scores)

    @property
    def calibration_map_(self):
        """The fitted :class:`CalibrationMap` (a torch module)."""
        check_is_fitted(self, "net_")
        return self.net_.module_.calibration_map

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


_SHARED_DOCS = {
    "input_param": """\
input : {"auto", "logits", "probabilities"}, default="auto"
    What the scores are. ``"auto"`` takes them as probabilities when every
    value is in [0, 1] and (with several columns) rows sum to one, and as
    logits otherwise; the choice made at fit is kept (``input_``). Pass it
    explicitly for binary scores, where a decision function could happen to
    lie in [0, 1].""",
    "torch_params": """\
max_epochs : int, default=100
    Maximum L-BFGS epochs of 20 iterations each.
tol : float, default=1e-6
    L-BFGS gradient tolerance (``tol ** 2`` is its change tolerance).
device : {"cpu", "cuda", "auto"} or torch.device, default="cpu"
    Where the map is fitted; the scores are moved there once.
dtype : {"float32", "float64"}, default="float32"
    Precision of the fitted map and of prediction. L-BFGS itself runs in
    float64, on features divided by ``feature_scale_``, so either precision
    takes scores of any size.
verbose : int, default=0
    0 silent, 1 a progress bar over epochs, 2 skorch's epoch table.""",
    "calibrator_attributes": """\
classes_ : ndarray of shape (n_classes,)
    Class labels, in the order of the probability columns.
input_ : {"logits", "probabilities"}
    What the scores were taken to be at fit.
readout_ : LogisticRegression or None
    With ``input="auto"``, scores whose number of columns is not the number
    of classes (nor one, for two classes) are not per-class scores; they are
    read as features by this multinomial logistic regression, whose logits
    are calibrated. ``None`` for per-class scores.
n_features_in_ : int
    Number of score columns seen during fit.
feature_names_in_ : ndarray of shape (``n_features_in_``,)
    Column names of the scores, when given as a DataFrame.""",
    "likelihood_attributes": """\
log_likelihood_, n_params_, nobs_, aic_, bic_ : float, int, int, float, float
    The log-likelihood of the labels at the fitted map (sample weights
    count as repeated observations), its number of parameters, the rows
    of positive weight, and ``2 k - 2 log L``, ``k log n - 2 log L``. Set
    when the objective is the likelihood of the labels (see
    :ref:`inference`; :meth:`summary` says why when it is not).
parameter_names_, parameters_ : ndarray
    The map's parameters by name, and their estimates (on the scale of the
    unscaled features).
covariance_, robust_covariance_ : ndarray of shape (n, n) or None
    Their covariance: the inverse observed information (exact Hessian by
    automatic differentiation), and the sandwich clustered by row
    (Huber-White).""",
    "torch_attributes": """\
net_ : skorch.NeuralNet
    The trained net.
calibration_map_ : CalibrationMap
    The fitted torch module; it maps features divided by
    ``feature_scale_``.
feature_scale_ : float
    The positive number the map's features (logits or log-probabilities)
    are divided by, at fit and at prediction, so that the map is fitted on
    features of order one whatever the size of the scores: their root mean
    square on the calibration set (for :class:`HCalibrator`, temperature
    scaling's temperature). ``coef_`` and the like are reported in the
    units of the unscaled features.
n_iter_ : int
    L-BFGS epochs run.
converged_ : bool
    Whether L-BFGS met its tolerance.""",
}


def fill_calibration_doc(cls):
    """Insert the shared calibrator docs (``{input_param}`` etc.) into
    ``cls.__doc__``, indented like the placeholder."""
    doc = cls.__doc__
    for key, text in _SHARED_DOCS.items():
        placeholder = "{" + key + "}"
        while placeholder in doc:
            start = doc.index(placeholder)
            indent = doc[doc.rfind("\n", 0, start) + 1 : start]
            doc = doc.replace(indent + placeholder, textwrap.indent(text, indent), 1)
    cls.__doc__ = doc
    return cls
