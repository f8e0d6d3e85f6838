"""CalibratedEstimator: a classifier (or reward model) plus a calibrator."""

import numbers

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing, get_tags, indexable
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    _num_samples,
    check_is_fitted,
    has_fit_parameter,
)

from ..utils import pairs_to_long
from ..utils._persistence import VersionedStateMixin
from ..utils._validation import accepts_tensors
from ._beta import BetaCalibrator
from ._binning import HistogramBinningCalibrator, IsotonicCalibrator
from ._hcal import HCalibrator
from ._scaling import (
    DirichletCalibrator,
    MatrixScaling,
    PlattCalibrator,
    TemperatureScaling,
    VectorScaling,
)

__all__ = ["CalibratedEstimator"]

METHODS = {
    "temperature": TemperatureScaling,
    "vector": VectorScaling,
    "matrix": MatrixScaling,
    "dirichlet": DirichletCalibrator,
    "sigmoid": PlattCalibrator,
    "beta": BetaCalibrator,
    "histogram": HistogramBinningCalibrator,
    "isotonic": IsotonicCalibrator,
    "h_calibration": HCalibrator,
}


def _unwrapped(estimator):
    return estimator.estimator if isinstance(estimator, FrozenEstimator) else estimator


def _is_reward_model(estimator):
    return hasattr(_unwrapped(estimator), "predict_pair_proba")


def _pair_halves(X):
    """``[X_a | X_b]`` (wide pair data) to ``(X_a, X_b)``."""
    n_columns = X.shape[1]
    if n_columns % 2:
        raise ValueError(
            "A reward model is calibrated on wide pair data X = [X_a | X_b] "
            "(the features of item a, then of item b, in one row per pair); "
            f"got an odd number of columns ({n_columns})."
        )
    half = n_columns // 2
    return X[:, :half], X[:, half:]


def _check_outcome(y):
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"outcome must be 1-dimensional; got shape {y.shape}.")
    if y.dtype.kind not in "biuf" or not np.all(np.isin(y, (0, 1))):
        raise ValueError(
            "outcome must be 1 where item a won and 0 where item b won; drop "
            "ties (0.5) before calibrating pair probabilities. Got values "
            f"{np.unique(y)[:5].tolist()}."
        )
    return y.astype(np.int64)


def _scores(estimator, X, response, pairwise):
    """The scores a calibrator sees: reward differences of pairs, or the
    classifier's response."""
    if pairwise:
        X_a, X_b = _pair_halves(np.asarray(X, dtype=np.float64))
        return estimator.predict(X_a) - estimator.predict(X_b)
    return getattr(estimator, response)(X)


def _fit_estimator(estimator, X, y, train, sample_weight, pairwise):
    """A clone of ``estimator`` fitted on the ``train`` rows (a frozen one is
    returned as is)."""
    estimator = clone(estimator)
    if isinstance(estimator, FrozenEstimator):
        return estimator
    X_train, y_train = _safe_indexing(X, train), _safe_indexing(y, train)
    if pairwise:
        X_a, X_b = _pair_halves(np.asarray(X_train, dtype=np.float64))
        X_long, y_long, groups = pairs_to_long(X_a, X_b, y_train)
        return estimator.fit(X_long, y_long, groups=groups)
    kwargs = {}
    if sample_weight is not None and has_fit_parameter(estimator, "sample_weight"):
        kwargs["sample_weight"] = sample_weight[train]
    return estimator.fit(X_train, y_train, **kwargs)


def _fit_pair(
    estimator, calibrator, X, y, train, test, sample_weight, response, pairwise
):
    """Fit ``estimator`` on ``train`` and the calibrator on its scores of
    ``test``."""
    estimator = _fit_estimator(estimator, X, y, train, sample_weight, pairwise)
    scores = _scores(estimator, _safe_indexing(X, test), response, pairwise)
    weight = None if sample_weight is None else sample_weight[test]
    calibrator = clone(calibrator).fit(
        scores, _safe_indexing(y, test), sample_weight=weight
    )
    return estimator, calibrator


class CalibratedEstimator(VersionedStateMixin, ClassifierMixin, BaseEstimator):
    """A classifier, or a reward model's pair probabilities, calibrated.

    Like scikit-learn's :class:`~sklearn.calibration.CalibratedClassifierCV`,
    with every calibrator of :mod:`skalign.calibration`. The calibrator is
    fitted on scores the estimator did not train on:

    - with a fitted estimator wrapped in
      :class:`~sklearn.frozen.FrozenEstimator`, on the scores of the data
      passed to ``fit`` (the calibration set); ``cv`` is not used;
    - otherwise by cross-validation: with ``ensemble=True`` one (estimator,
      calibrator) pair per fold, the calibrator fitted on the held-out fold,
      and predictions averaged over the pairs; with ``ensemble=False`` the
      calibrator is fitted on the out-of-fold scores of all folds and the
      estimator refitted on all data.

    The scores are the estimator's ``decision_function`` (taken as logits)
    or ``predict_proba`` (taken as probabilities).

    **Reward models.** When the estimator is a reward model (it has
    ``predict_pair_proba``, e.g. a
    :class:`~skalign.preference.PreferenceRewardRegressor`), the data are
    pairs in the wide format: each row of ``X`` is ``[x_a | x_b]``, the
    features of two compared items side by side (``np.hstack([X_a, X_b])``),
    and ``y`` is the outcome, 1 when ``a`` won and 0 when ``b`` did. The
    score of a pair is the reward difference ``r(x_a) - r(x_b)``, the logit
    of the model's ``P(a ≻ b) = σ(r_a - r_b)``; with ``method="temperature"``
    the calibrated probability is ``σ((r_a - r_b) / T)``, which keeps
    ``P(b ≻ a) = 1 - P(a ≻ b)``. A reward model that is not frozen is fitted
    on the training pairs of each fold through
    :func:`skalign.utils.pairs_to_long`. :meth:`predict_pair_proba` mirrors
    the reward model's method.

    Parameters
    ----------
    estimator : estimator instance, default=None
        The classifier (or reward model) to calibrate; ``None`` is
        :class:`~sklearn.linear_model.LogisticRegression`. Wrap a fitted one
        in :class:`~sklearn.frozen.FrozenEstimator` to calibrate it as is.
    method : str or calibrator instance, default="temperature"
        ``"temperature"``, ``"vector"``, ``"matrix"``, ``"dirichlet"``,
        ``"sigmoid"`` (Platt), ``"beta"``, ``"histogram"``, ``"isotonic"`` or
        ``"h_calibration"``, or an unfitted calibrator of
        :mod:`skalign.calibration` (to set its hyperparameters); it is
        cloned, and its ``input`` set from ``response_method``.
    cv : int, cross-validation generator or iterable, default=None
        Folds when the estimator is not frozen; ``None`` is 5-fold
        (stratified for classifiers).
    ensemble : bool or "auto", default="auto"
        One (estimator, calibrator) pair per fold (``True``) or a single
        pair (``False``); ``"auto"`` is ``False`` for a
        :class:`~sklearn.frozen.FrozenEstimator` and ``True`` otherwise.
    response_method : {"auto", "decision_function", "predict_proba"}, default="auto"
        The scores to calibrate; ``"auto"`` prefers ``decision_function``.
        Ignored for reward models.
    n_jobs : int, default=None
        Folds fitted in parallel (joblib).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (``[0, 1]`` for pair outcomes).
    calibrated_estimators_ : list of (estimator, calibrator)
        The fitted pairs.
    n_features_in_ : int
        Number of features (of ``[x_a | x_b]`` for pairs).

    See Also
    --------
    sklearn.calibration.CalibratedClassifierCV : The scikit-learn anchor.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skalign.calibration import CalibratedEstimator
    >>> X, y = make_classification(600, n_classes=3, n_informative=4,
    ...                            random_state=0)
    >>> clf = LogisticRegression().fit(X[:300], y[:300])
    >>> calibrated = CalibratedEstimator(FrozenEstimator(clf)).fit(X[300:], y[300:])
    >>> calibrated.predict_proba(X[:2]).shape
    (2, 3)
    """

    _required_fitted_state = (
        "calibrated_estimators_",
        "classes_",
        "response_",
        "pairwise_",
    )

    _parameter_constraints = {
        "estimator": [
            HasMethods(["fit", "predict_proba"]),
            HasMethods(["fit", "decision_function"]),
            HasMethods(["fit", "predict_pair_proba"]),
            None,
        ],
        "method": [StrOptions(set(METHODS)), HasMethods(["fit", "predict_proba"])],
        "cv": ["cv_object"],
        "ensemble": ["boolean", StrOptions({"auto"})],
        "response_method": [StrOptions({"auto", "decision_function", "predict_proba"})],
        "n_jobs": [numbers.Integral, None],
    }

    def __init__(
        self,
        estimator=None,
        *,
        method="temperature",
        cv=None,
        ensemble="auto",
        response_method="auto",
        n_jobs=None,
    ):
        self.estimator = estimator
        self.method = method
        self.cv = cv
        self.ensemble = ensemble
        self.response_method = response_method
        self.n_jobs = n_jobs

    def _get_estimator(self):
        return LogisticRegression() if self.estimator is None else self.estimator

    def _response(self, estimator):
        if self.response_method != "auto":
            if not hasattr(estimator, self.response_method):
                raise ValueError(
                    f"response_method={self.response_method!r} but "
                    f"{type(_unwrapped(estimator)).__name__} has no such method."
                )
            return self.response_method
        return (
            "decision_function"
            if hasattr(estimator, "decision_function")
            else "predict_proba"
        )

    def _calibrator(self, response, pairwise):
        calibrator = (
            METHODS[self.method]()
            if isinstance(self.method, str)
            else clone(self.method)
        )
        if "input" in calibrator.get_params():
            calibrator.set_params(
                input="logits"
                if pairwise or response == "decision_function"
                else "probabilities"
            )
        return calibrator

    @_fit_context(prefer_skip_nested_validation=False)
    @accepts_tensors
    def fit(self, X, y, sample_weight=None):
        """Fit the estimator (unless frozen) and the calibrator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features; for a reward model, pairs ``[x_a | x_b]`` of shape
            ``(n_pairs, 2 * n_item_features)``.
        y : array-like of shape (n_samples,)
            Labels; for a reward model, 1 when ``a`` won and 0 when ``b`` won.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights, for the calibrator and (when it takes them) the
            estimator.

        Returns
        -------
        self
        """
        estimator = self._get_estimator()
        pairwise = _is_reward_model(estimator)
        X, y = indexable(X, y)
        if _num_samples(X) < 2:
            raise ValueError(
                "CalibratedEstimator needs at least 2 samples in X; got "
                f"n_samples={_num_samples(X)}."
            )
        if pairwise:
            y = _check_outcome(y)
            _pair_halves(np.asarray(X, dtype=np.float64))
        else:
            check_classification_targets(y)
        self.classes_ = np.unique(y)
        if self.classes_.shape[0] < 2:
            raise ValueError(
                "CalibratedEstimator needs at least two classes to calibrate; y "
                f"has only one class: {self.classes_.tolist()}."
            )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        response = None if pairwise else self._response(estimator)
        calibrator = self._calibrator(response, pairwise)
        frozen = isinstance(estimator, FrozenEstimator)
        ensemble = (not frozen) if self.ensemble == "auto" else self.ensemble
        if frozen:
            everything = np.arange(len(y))
            splits = [(everything, everything)]
        else:
            cv = check_cv(self.cv, y, classifier=not pairwise)
            counts = np.unique(y, return_counts=True)[1]
            if counts.min() < cv.get_n_splits():
                raise ValueError(
                    f"Requesting {cv.get_n_splits()}-fold cross-validation but a "
                    f"class has only {counts.min()} examples; every held-out fold "
                    "needs every class to fit a calibrator. Use fewer folds or a "
                    "FrozenEstimator with a separate calibration set."
                )
            splits = list(cv.split(X, y))
        if frozen or ensemble:
            pairs = Parallel(n_jobs=self.n_jobs)(
                delayed(_fit_pair)(
                    estimator,
                    calibrator,
                    X,
                    y,
                    train,
                    test,
                    sample_weight,
                    response,
                    pairwise,
                )
                for train, test in splits
            )
        else:
            pairs = [
                self._fit_out_of_fold(
                    estimator,
                    calibrator,
                    X,
                    y,
                    splits,
                    sample_weight,
                    response,
                    pairwise,
                )
            ]
        for fitted, _ in pairs:
            self._check_classes(fitted, pairwise)
        self.calibrated_estimators_ = pairs
        self.response_ = response
        self.pairwise_ = pairwise
        n_features = pairs[0][0].n_features_in_
        self.n_features_in_ = 2 * n_features if pairwise else n_features
        names = getattr(pairs[0][0], "feature_names_in_", None)
        if names is not None and not pairwise:
            self.feature_names_in_ = names
        else:
            self.__dict__.pop("feature_names_in_", None)
        return self

    def _fit_out_of_fold(
        self, estimator, calibrator, X, y, splits, sample_weight, response, pairwise
    ):
        """One calibrator on the out-of-fold scores of every fold, and the
        estimator refitted on all rows."""
        fold_estimators = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_estimator)(estimator, X, y, train, sample_weight, pairwise)
            for train, _ in splits
        )
        test_rows = np.concatenate([test for _, test in splits])
        scores = np.concatenate(
            [
                _scores(fitted, _safe_indexing(X, test), response, pairwise)
                for fitted, (_, test) in zip(fold_estimators, splits)
            ]
        )[np.argsort(test_rows)]
        everything = np.arange(len(y))
        full = _fit_estimator(estimator, X, y, everything, sample_weight, pairwise)
        fitted = clone(calibrator).fit(scores, y, sample_weight=sample_weight)
        return full, fitted

    def _check_classes(self, estimator, pairwise):
        if pairwise:
            return
        classes = getattr(estimator, "classes_", None)
        if classes is None or not np.array_equal(classes, self.classes_):
            raise ValueError(
                "The estimator was fitted on the classes "
                f"{None if classes is None else classes.tolist()} but y has "
                f"{self.classes_.tolist()}; every class must be present in "
                "every training fold (use fewer folds or stratified folds)."
            )

    @accepts_tensors
    def predict_proba(self, X):
        """Calibrated class probabilities, averaged over the fitted pairs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self, "calibrated_estimators_")
        return np.mean(
            [
                calibrator.predict_proba(
                    _scores(estimator, X, self.response_, self.pairwise_)
                )
                for estimator, calibrator in self.calibrated_estimators_
            ],
            axis=0,
        )

    @accepts_tensors
    def predict(self, X):
        """Most probable class after calibration.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    @accepts_tensors
    def predict_pair_proba(self, X_a, X_b):
        """Calibrated ``P(a ≻ b)`` of a calibrated reward model.

        Parameters
        ----------
        X_a, X_b : array-like of shape (n_pairs, n_item_features)

        Returns
        -------
        proba : ndarray of shape (n_pairs,)
        """
        check_is_fitted(self, "calibrated_estimators_")
        if not self.pairwise_:
            raise AttributeError(
                "predict_pair_proba is only available when calibrating a reward "
                "model (an estimator with predict_pair_proba)."
            )
        X_a, X_b = np.asarray(X_a, dtype=np.float64), np.asarray(X_b, dtype=np.float64)
        if X_a.shape != X_b.shape or X_a.ndim != 2:
            raise ValueError(
                "X_a and X_b must be 2-D with the same shape; got "
                f"{X_a.shape} and {X_b.shape}."
            )
        return self.predict_proba(np.hstack([X_a, X_b]))[:, 1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = self._get_estimator()
        tags.input_tags.sparse = (
            not _is_reward_model(inner) and get_tags(inner).input_tags.sparse
        )
        return tags
