"""The invariance checks pass on well-behaved estimators and fail on broken
ones, so that they cannot pass silently."""

import numpy as np
import pytest
from scipy.special import expit, log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin

from skalign.testing import (
    check_calibrator_invariances,
    check_ranker_invariances,
    check_reward_model_invariances,
)


def _pair_sums(X, y, groups, weight, order_only, product_weights=False):
    """Weighted mean of ``d(y_i, y_j) (x_i - x_j)`` over the pairs of rows of
    each group, ``d`` the grade difference or its sign; closed form per group
    (no loop over pairs)."""
    codes = np.unique(groups, return_inverse=True)[1].ravel()
    n_groups = codes.max() + 1
    if order_only:
        # Sign of the grade difference: sum over pairs of sign(y_i - y_j)
        # (x_i - x_j) through the within-group midranks.
        rank = np.zeros(len(y))
        for g in range(n_groups):
            rows = codes == g
            members = y[rows]
            rank[rows] = (
                weight[rows][None, :] * (members[:, None] > members[None, :])
            ).sum(1) - (
                weight[rows][None, :] * (members[:, None] < members[None, :])
            ).sum(1)
        signal = rank
    else:
        total = np.bincount(codes, weight, n_groups)
        mean = np.bincount(codes, weight * y, n_groups) / total
        signal = total[codes] * (y - mean[codes])
    # A pair weighs w_i w_j over its group's mean row weight (skalign's
    # rule), or w_i w_j (the squared-count defect).
    group_weight = np.ones(n_groups)
    if not product_weights:
        group_weight = np.bincount(codes, weight, n_groups) / np.bincount(
            codes, weight > 0, n_groups
        )
    numerator = (weight * signal / group_weight[codes]) @ X
    squares = np.bincount(codes, weight**2, n_groups)
    pairs = 0.5 * (np.bincount(codes, weight, n_groups) ** 2 - squares)
    return numerator / (pairs / group_weight).sum()


class ToyReward(BaseEstimator):
    """A closed-form reward model; ``defect`` breaks one invariance."""

    def __init__(self, defect=None):
        self.defect = defect

    def fit(self, X, y, groups=None, sample_weight=None):
        X, y = np.asarray(X, float), np.asarray(y, float)
        groups = np.zeros(len(y)) if groups is None else np.asarray(groups)
        weight = np.ones(len(y)) if sample_weight is None else sample_weight
        if self.defect == "ignores_weight":
            weight = np.ones(len(y))
        self.coef_ = _pair_sums(
            X,
            y,
            groups,
            np.asarray(weight, float),
            False,
            product_weights=self.defect == "product_weights",
        )
        if self.defect == "row_order":
            self.coef_ = self.coef_ * (1.5 + np.tanh(X[0].sum()))
        elif self.defect == "group_labels":
            # Groups weighted by the sort position of their id.
            codes = np.unique(groups, return_inverse=True)[1].ravel()
            self.coef_ = self.coef_ + (codes / len(y)) @ X
        elif self.defect == "grade_level":
            self.coef_ = self.coef_ + y @ X / len(y)
        elif self.defect == "unnormalised":
            self.coef_ = self.coef_ * len(y)
        return self

    def predict(self, X):
        return np.asarray(X, float) @ self.coef_

    def predict_pair_proba(self, X_a, X_b):
        logit = self.predict(X_a) - self.predict(X_b)
        return expit(logit + (0.3 if self.defect == "asymmetric" else 0.0))


class ToyRanker(BaseEstimator):
    """A closed-form ranker on within-list grade signs."""

    def __init__(self, defect=None):
        self.defect = defect

    def fit(self, X, y, groups=None):
        X, y = np.asarray(X, float), np.asarray(y, float)
        groups = np.zeros(len(y)) if groups is None else np.asarray(groups)
        order_only = self.defect != "grade_values"
        self.coef_ = _pair_sums(X, y, groups, np.ones(len(y)), order_only)
        if self.defect == "row_order":
            self.coef_ = self.coef_ * (1.5 + np.tanh(X[0].sum()))
        elif self.defect == "group_labels":
            first = groups == np.sort(groups)[0]
            self.coef_ = self.coef_ + X[first].mean(0)
        return self

    def predict(self, X):
        scores = np.asarray(X, float) @ self.coef_
        if self.defect == "row_dependent_predict":
            scores = scores + 0.1 * np.arange(len(scores))
        return scores

    def predict_ranking(self, X, groups=None):
        scores = self.predict(X)
        groups = np.zeros(len(scores)) if groups is None else np.asarray(groups)
        codes = np.unique(groups, return_inverse=True)[1].ravel()
        key = scores if self.defect == "ascending_ranks" else -scores
        order = np.lexsort((key, codes))
        sizes = np.bincount(codes)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        ranks = np.empty(len(scores), dtype=np.int64)
        ranks[order] = np.arange(len(scores)) - starts[codes[order]] + 1
        return ranks


class ToyCalibrator(ClassifierMixin, BaseEstimator):
    """Temperature scaling with a closed-form temperature."""

    def __init__(self, defect=None):
        self.defect = defect

    def _logits(self, scores):
        scores = np.asarray(scores, float)
        logits = np.column_stack([np.zeros(len(scores)), scores])
        return logits if scores.ndim == 1 else scores

    def fit(self, scores, y):
        self.classes_ = np.unique(y)
        logits = self._logits(scores)
        reference = logits[0] if self.defect == "row_order_fit" else logits
        self.temperature_ = 1.0 + np.abs(reference).mean()
        return self

    def predict_proba(self, scores):
        z = self._logits(scores) / self.temperature_
        if self.defect == "row_order_predict":
            z = z + 0.5 * np.roll(z, 1, axis=0)
        elif self.defect == "decreasing":
            z = np.sin(z * 5)
        if self.defect == "overflow":
            e = np.exp(z * self.temperature_)
            return e / e.sum(axis=1, keepdims=True)
        proba = softmax(z, axis=1)
        return 0.9 * proba if self.defect == "unnormalised" else proba

    def predict_log_proba(self, scores):
        if self.defect == "log_proba":
            return log_softmax(self._logits(scores), axis=1)
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(scores))

    def predict(self, scores):
        proba = self.predict_proba(scores)
        best = proba.argmin(1) if self.defect == "predict" else proba.argmax(1)
        return self.classes_[best]


def _lists(seed=0, n_lists=6, length=4, n_grades=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_lists * length, 3))
    y = rng.integers(0, n_grades, size=n_lists * length).astype(float)
    groups = np.repeat(np.arange(n_lists) * 7, length)
    y[::length] = n_grades  # every list informative
    return X, y, groups


def _calibration_set(seed=0, n=60, k=3):
    rng = np.random.default_rng(seed)
    logits = 3 * rng.normal(size=(n, k))
    return logits, np.arange(n) % k


# --------------------------------------------------------------- reward
def test_reward_check_passes_on_a_well_behaved_model():
    check_reward_model_invariances(ToyReward(), *_lists())
    check_reward_model_invariances(ToyReward(), *_lists(n_lists=1), objective="other")


@pytest.mark.parametrize(
    "defect, invariance",
    [
        ("asymmetric", "complementary"),
        ("row_order", "permuting the rows"),
        ("group_labels", "relabelling the groups"),
        ("unnormalised", "duplicating every group"),
        ("grade_level", "shifting the grades"),
        ("ignores_weight", "weighting its rows by 2"),
        ("product_weights", "weighting its rows by 2"),
    ],
)
def test_reward_check_fails_on_a_broken_model(defect, invariance):
    with pytest.raises(AssertionError, match=invariance):
        check_reward_model_invariances(ToyReward(defect), *_lists())


def test_reward_check_expects_weight_two_of_pairwise_and_rowwise_models():
    # A weight on every row of a group counts the group that many times,
    # for pairs as for rows.
    check_reward_model_invariances(ToyReward(), *_lists(), objective="rowwise")
    with pytest.raises(AssertionError, match="weighting its rows by 2"):
        check_reward_model_invariances(
            ToyReward("product_weights"), *_lists(), objective="rowwise"
        )


# ---------------------------------------------------------------- ranker
def test_ranker_check_passes_on_a_well_behaved_ranker():
    check_ranker_invariances(ToyRanker(), *_lists())
    X, y, _ = _lists()
    check_ranker_invariances(ToyRanker(), X, y)


@pytest.mark.parametrize(
    "defect, invariance",
    [
        ("row_dependent_predict", "predicting permuted rows"),
        ("ascending_ranks", "predict_ranking ranks each group"),
        ("row_order", "permuting the rows"),
        ("group_labels", "relabelling the groups"),
        ("grade_values", "strictly increasing transform"),
    ],
)
def test_ranker_check_fails_on_a_broken_ranker(defect, invariance):
    with pytest.raises(AssertionError, match=invariance):
        check_ranker_invariances(ToyRanker(defect), *_lists())


def test_gain_based_rankers_can_skip_the_grade_transform():
    check_ranker_invariances(ToyRanker("grade_values"), *_lists(), ordinal_grades=False)


# ------------------------------------------------------------ calibrator
@pytest.mark.parametrize("binary", [False, True])
def test_calibrator_check_passes_on_a_well_behaved_calibrator(binary):
    logits, y = _calibration_set(k=2 if binary else 3)
    scores = logits[:, 1] - logits[:, 0] if binary else logits
    check_calibrator_invariances(ToyCalibrator(), scores, y, monotone=True)


@pytest.mark.parametrize(
    "defect, invariance",
    [
        ("unnormalised", "summing to 1"),
        ("log_proba", "predict_log_proba is the log"),
        ("predict", "predict is the most probable class"),
        ("row_order_predict", "predicting permuted rows"),
        ("row_order_fit", "permuting the rows leaves the fit"),
        ("overflow", "on extreme scores"),
        ("decreasing", "does not decrease"),
    ],
)
def test_calibrator_check_fails_on_a_broken_calibrator(defect, invariance):
    logits, y = _calibration_set(k=2)
    with pytest.raises(AssertionError, match=invariance):
        check_calibrator_invariances(
            ToyCalibrator(defect), logits[:, 1], y, monotone=True
        )


def test_probability_scores_get_one_hot_extremes():
    logits, y = _calibration_set()
    proba = softmax(logits, axis=1)
    # Logits of ±1e4 would be invalid probabilities; one-hot rows are used.
    check_calibrator_invariances(ToyCalibrator(), proba, y)
    with pytest.raises(AssertionError, match="on extreme scores"):
        check_calibrator_invariances(ToyCalibrator("overflow"), logits, y)


# ------------------------------------------------------------- bad input
def test_checks_validate_their_arguments():
    X, y, groups = _lists()
    with pytest.raises(TypeError, match="predict_pair_proba"):
        check_reward_model_invariances(ToyRanker(), X, y, groups)
    with pytest.raises(TypeError, match="predict_ranking"):
        check_ranker_invariances(ToyReward(), X, y, groups)
    with pytest.raises(ValueError, match="objective must be one of"):
        check_reward_model_invariances(ToyReward(), X, y, groups, objective="x")
    with pytest.raises(ValueError, match="groups must be 1-D"):
        check_ranker_invariances(ToyRanker(), X, y, groups[:-1])
    with pytest.raises(ValueError, match="y must be 1-D"):
        check_ranker_invariances(ToyRanker(), X, y[:-1], groups)
    with pytest.raises(ValueError, match="rtol must be"):
        check_ranker_invariances(ToyRanker(), X, y, groups, rtol=-1.0)
    with pytest.raises(ValueError, match="NaN"):
        check_calibrator_invariances(ToyCalibrator(), np.full(4, np.nan), [0, 1] * 2)
