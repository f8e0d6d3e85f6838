"""Ordered labels, and the prediction side shared by cumulative-logit models.

A cumulative-logit classifier is defined by ``K - 1`` cumulative logits
``eta_k(x) = logit P(y <= k | x)`` per row. This module turns them into class
probabilities, predictions and scores once, for
:class:`~skalign.ordinal.ProportionalOddsClassifier` and
:class:`~skalign.ordinal.PrestoClassifier`.
"""

import numpy as np
import torch
from sklearn.metrics import accuracy_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length

from .._loss.ordinal import class_log_proba
from ..metrics._ordinal import (
    _ranks,
    _sorted_labels,
    ordinal_mae,
    ranked_probability_score,
)
from ..utils._groups import check_sample_weight

# Metrics that ``score`` can report; the name says what is returned.
SCORINGS = (
    "accuracy",
    "neg_log_loss",
    "neg_ordinal_mae",
    "neg_ranked_probability_score",
)

ORDINAL_CLASSIFIER_CONSTRAINTS = {
    "prediction": [StrOptions({"mode", "median"})],
    "scoring": [StrOptions(set(SCORINGS))],
}


def category_order(y):
    """The categories of an ordered pandas categorical ``y``, else ``None``.

    Read before validation, which turns ``y`` into a plain array and loses
    the order.
    """
    dtype = getattr(y, "dtype", None)
    if getattr(dtype, "ordered", False) is True and hasattr(dtype, "categories"):
        return np.asarray(dtype.categories)
    return None


def encode_ordinal_labels(y, weight, *, order=None):
    """Ordered classes and the class index of each row.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Validated labels.
    weight : ndarray of shape (n_samples,)
        Validated sample weights.
    order : ndarray or None
        The categories of an ordered categorical ``y`` (see
        :func:`category_order`); ``None`` sorts the labels.

    Returns
    -------
    classes : ndarray of shape (n_classes,)
        Observed labels in increasing order.
    codes : ndarray of shape (n_samples,), dtype int64
        Index of each row's label in ``classes``.
    """
    observed = _sorted_labels(y, "y")
    check_classification_targets(y)
    classes = observed if order is None else order[np.isin(order, observed)]
    if classes.shape[0] < 2:
        raise ValueError(
            "An ordinal classifier needs at least two classes; y has only one "
            f"class: {classes[0]!r}."
        )
    codes = _ranks(y, classes, "y").astype(np.int64)
    class_weight = np.bincount(codes, weights=weight, minlength=classes.shape[0])
    if np.count_nonzero(class_weight > 0) < 2:
        raise ValueError(
            "sample_weight is positive on rows of only one class; an ordinal "
            "classifier needs at least two classes with positive weight."
        )
    return classes, codes


def fit_classes(estimator, y, weight, *, order, constants):
    """:func:`encode_ordinal_labels` in a family's ``_problem``: a continued
    fit (``constants`` not ``None``) must see the classes it was fitted
    with; sets ``estimator.classes_``. Returns ``(classes, codes)``."""
    classes, codes = encode_ordinal_labels(y, weight, order=order)
    if constants is not None and not np.array_equal(classes, estimator.classes_):
        raise ValueError(
            f"warm_start=True needs the classes of the previous fit, "
            f"{estimator.classes_!r}; y has classes {classes!r}."
        )
    estimator.classes_ = classes
    return classes, codes


def empirical_cumulative_logits(codes, weight, n_classes):
    """``logit`` of the weighted cumulative class frequencies, strictly increasing.

    The intercept-only fit of a cumulative-logit model; used as the starting
    thresholds. Empty classes get a small share so the logits stay finite.
    """
    counts = np.bincount(codes, weights=weight, minlength=n_classes)
    share = counts / counts.sum()
    share = np.maximum(share, 1e-3 / n_classes)
    cumulative = np.cumsum(share / share.sum())[:-1]
    return np.log(cumulative) - np.log1p(-cumulative)


class CumulativeLogitClassifierMixin:
    """``predict_proba``, ``predict`` and ``score`` from cumulative logits.

    Subclasses implement ``_cumulative_logits(X) -> (n_samples, K - 1)`` and
    have ``classes_``, ``prediction`` and ``scoring``. Cumulative curves that
    cross (possible when each threshold has its own weights) are rearranged:
    the cumulative logits of a row are sorted before the class probabilities
    are taken as differences (Chernozhukov, Fernández-Val and Galichon, 2010,
    "Quantile and probability curves without crossing"). For a model whose
    curves cannot cross this changes nothing.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # scikit-learn's accuracy check fits three blobs whose labels have no
        # order (no direction ranks them 0 < 1 < 2); a cumulative-logit
        # model, built for ordered classes, reaches about 0.7 there.
        tags.classifier_tags.poor_score = True
        return tags

    def _sorted_cumulative_logits(self, X):
        return np.sort(self._cumulative_logits(X), axis=1)

    def predict_log_proba(self, X):
        """Log-probability of each class.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        eta = torch.from_numpy(self._sorted_cumulative_logits(X))
        return class_log_proba(eta).numpy()

    def predict_proba(self, X):
        """Probability of each class.

        ``P(y = k | x) = σ(eta_k(x)) - σ(eta_{k-1}(x))``, computed in log space
        so that small probabilities keep their relative accuracy.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; rows sum to one.
        """
        return np.exp(self.predict_log_proba(X))

    def predict(self, X):
        """Most probable class (``prediction="mode"``) or median class.

        The median class is the first ``k`` with ``P(y <= k | x) >= 1/2``; it
        minimises the expected distance in categories.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        if self.prediction == "median":
            eta = self._sorted_cumulative_logits(X)
            index = np.count_nonzero(eta < 0, axis=1)
        else:
            index = self.predict_log_proba(X).argmax(axis=1)
        return self.classes_[index]

    def score(self, X, y, sample_weight=None):
        """The metric named by ``scoring`` on ``(X, y)``; higher is better.

        ``"accuracy"`` is the fraction of rows predicted right;
        ``"neg_ordinal_mae"`` the negated :func:`~skalign.metrics.ordinal_mae`
        of the predictions (the mean distance in categories);
        ``"neg_log_loss"`` the negated mean log loss of ``predict_proba``;
        ``"neg_ranked_probability_score"`` the negated
        :func:`~skalign.metrics.ranked_probability_score`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        return ordinal_score(self, self.scoring, X, y, sample_weight)


def ordinal_score(estimator, scoring, X, y, sample_weight=None):
    """``scoring`` (one of ``SCORINGS``, or a scorer callable) of a fitted model."""
    if callable(scoring):
        if sample_weight is None:
            return float(scoring(estimator, X, y))
        return float(scoring(estimator, X, y, sample_weight=sample_weight))
    y = np.asarray(y)
    labels = estimator.classes_
    if sample_weight is not None:
        sample_weight = check_sample_weight(sample_weight, y.shape[0])
    if scoring == "accuracy":
        return float(
            accuracy_score(y, estimator.predict(X), sample_weight=sample_weight)
        )
    if scoring == "neg_ordinal_mae":
        return -ordinal_mae(
            y, estimator.predict(X), labels=labels, sample_weight=sample_weight
        )
    if scoring == "neg_ranked_probability_score":
        return -ranked_probability_score(
            y, estimator.predict_proba(X), labels=labels, sample_weight=sample_weight
        )
    log_proba = estimator.predict_log_proba(X)
    check_consistent_length(y, log_proba)
    rank = _ranks(y, labels, "y")
    # Clipped as scikit-learn's log_loss does, so a zero probability costs a
    # large but finite amount.
    observed = np.maximum(
        log_proba[np.arange(y.shape[0]), rank], np.log(np.finfo(np.float64).eps)
    )
    return float(np.average(observed, weights=sample_weight))
