"""Reward models from unpaired thumbs-up / thumbs-down feedback."""

import numbers

import numpy as np
import torch
from scipy.special import expit
from sklearn.base import (
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
    clone,
)
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import (
    check_array,
    check_is_fitted,
    has_fit_parameter,
)

from .._docstrings import fill_doc
from .._engine import Formulation, Problem, TorchEstimator
from .._loss.pairwise import binary_feedback_loss
from ..utils._groups import check_groups, check_sample_weight
from ..utils._units import row_units

__all__ = ["BinaryFeedbackRewardRegressor"]


def _binary_classes(y, classes):
    """The two labels (thumbs down, thumbs up), validated against ``y``."""
    if classes is None:
        target_type = type_of_target(y, input_name="y", raise_unknown=True)
        if target_type != "binary":
            raise ValueError(
                "Only binary classification is supported: y must be binary "
                "feedback with two classes (thumbs down, thumbs up); the type of "
                f"the target is {target_type!r}."
            )
        classes = np.unique(y)
        if len(classes) != 2:
            raise ValueError(
                "y holds a single class; binary feedback needs both thumbs down "
                "and thumbs up (for partial_fit, pass classes= on the first call)."
            )
        return classes
    classes = np.unique(classes)
    if len(classes) != 2:
        raise ValueError(
            f"classes must hold the two feedback labels; got {len(classes)}."
        )
    unseen = np.setdiff1d(np.unique(y), classes)
    if len(unseen):
        raise ValueError(f"y has labels {unseen[:5]} that are not in {classes}.")
    return classes


class _ShiftedLoss(torch.nn.Module):
    """BCO loss holding the reward shift ``δ``.

    ``"learned"``: ``δ`` is a parameter. ``"running_mean"``: during training
    ``δ`` follows an exponential moving average of the batch's
    ``(mean reward of thumbs-up + mean reward of thumbs-down) / 2`` (weighted
    means), detached
    from the graph (Jung et al., 2024). A float: ``δ`` is fixed.
    """

    def __init__(self, mode, momentum):
        super().__init__()
        self.mode = mode
        self.momentum = momentum
        if mode == "learned":
            self.shift = torch.nn.Parameter(torch.zeros(()))
        else:
            fixed = 0.0 if mode == "running_mean" else float(mode)
            self.register_buffer("shift", torch.tensor(fixed))
            self.register_buffer("started", torch.tensor(False))

    def forward(self, scores, label, mask, weight):
        if self.mode == "running_mean" and self.training:
            with torch.no_grad():
                w = torch.where(mask, weight, 0.0)
                pos, neg = w * (label > 0.5), w * (label < 0.5)
                tiny = torch.finfo(w.dtype).tiny
                mean_pos = (scores * pos).sum() / pos.sum().clamp_min(tiny)
                mean_neg = (scores * neg).sum() / neg.sum().clamp_min(tiny)
                batch = (mean_pos + mean_neg) / 2
                new = torch.where(
                    self.started,
                    self.momentum * self.shift + (1 - self.momentum) * batch,
                    batch,
                )
                self.shift.copy_(new)
                self.started.fill_(True)
        return binary_feedback_loss(scores, label, mask, weight, shift=self.shift)


@fill_doc
class BinaryFeedbackRewardRegressor(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClassifierMixin, TorchEstimator
):
    """Reward model from unpaired binary feedback (thumbs up / down).

    Binary Classifier Optimization (Jung et al., 2024): thumbs-up and
    thumbs-down rows need no pairing. ``y`` holds two classes; the greater
    one (``1``, ``True``, ``"up"`` against ``"down"``) is thumbs up. The reward
    is the scorer's logit minus a reward shift ``δ``, trained with
    ``-log σ(r(x) - δ)`` on thumbs-up rows and ``-log σ(-(r(x) - δ))`` on
    thumbs-down rows. ``δ`` is learned, a running mean of the rewards (the
    paper's choice), or fixed.

    With ``density_ratio=True``, thumbs-down rows are re-weighted so that
    their context distribution matches that of the thumbs-up rows (the
    paper's density-ratio matching): a probabilistic classifier
    (``density_ratio_classifier``, by default a logistic regression) predicts
    the label from the context (the ``context`` block passed to ``fit``, or
    one-hot ``groups``), and each thumbs-down row gets weight
    ``P(up | c) / P(down | c) · n_down / n_up``, clipped to
    ``density_ratio_clip``. ``sample_weight`` counts everywhere: the
    classifier is fitted with it and ``n_up``, ``n_down`` are weighted
    sums, so an integer weight is the row repeated.

    In scikit-learn's terms it is a binary classifier, like
    :class:`~sklearn.linear_model.LogisticRegression`: the reward is
    :meth:`decision_function` (also :meth:`transform`, so the model can feed a
    :class:`RewardTransformer` in a ``Pipeline``), ``predict_proba`` is
    ``σ(reward)`` and ``predict`` the more likely feedback.

    Parameters
    ----------
    reward_shift : {"running_mean", "learned"} or float, default="running_mean"
        How ``δ`` is set.
    shift_momentum : float, default=0.9
        Momentum of the running mean of ``δ``.
    density_ratio : bool, default=False
        Re-weight thumbs-down rows by the context density ratio.
    density_ratio_clip : tuple of float, default=(0.1, 10.0)
        ``(low, high)`` bounds of the density-ratio weights.
    density_ratio_classifier : classifier or None, default=None
        The classifier of the label from the context, cloned and fitted with
        ``sample_weight`` (it must accept it when weights are given) and
        read through ``predict_proba``. ``None`` is scikit-learn's
        ``LogisticRegression()``, whose L2 penalty (``C=1`` on the summed
        loss) fades as the data grow and keeps the ratio finite for a
        context seen with one label only; pass e.g. ``LogisticRegressionCV(
        scoring="neg_log_loss")`` to choose the penalty by cross-validation.
    {scorer_param}
    {engine_params}

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The thumbs-down and thumbs-up labels.
    reward_shift_ : float
        The fitted ``δ`` subtracted from the scorer's logit.
    density_ratio_weights_ : ndarray of shape (n_samples,) or None
        Weights applied to the training rows (1 for thumbs-up rows).
    {engine_attributes}

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.preference import BinaryFeedbackRewardRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 3))
    >>> y = (X[:, 0] + rng.logistic(size=400) > 0).astype(int)
    >>> model = BinaryFeedbackRewardRegressor(lr=0.05, max_epochs=500, random_state=0)
    >>> rewards = model.fit(X, y).decision_function(X)
    >>> bool(np.corrcoef(rewards, X[:, 0])[0, 1] > 0.9)
    True
    """

    _parameter_constraints = {
        **TorchEstimator._parameter_constraints,
        "reward_shift": [StrOptions({"running_mean", "learned"}), numbers.Real],
        "shift_momentum": [Interval(numbers.Real, 0, 1, closed="left")],
        "density_ratio": ["boolean"],
        "density_ratio_clip": [tuple],
        "density_ratio_classifier": [None, HasMethods(["fit", "predict_proba"])],
    }

    def __init__(
        self,
        *,
        reward_shift="running_mean",
        shift_momentum=0.9,
        density_ratio=False,
        density_ratio_clip=(0.1, 10.0),
        density_ratio_classifier=None,
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
        self.reward_shift = reward_shift
        self.shift_momentum = shift_momentum
        self.density_ratio = density_ratio
        self.density_ratio_clip = density_ratio_clip
        self.density_ratio_classifier = density_ratio_classifier
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

    def _formulation(self):
        return Formulation(
            losses=(_ShiftedLoss(self.reward_shift, float(self.shift_momentum)),),
            convex=True,
            # A running mean changes the objective between evaluations, which
            # a line search cannot handle; the other shifts keep it convex.
            lbfgs=self.reward_shift != "running_mean",
        )

    def _problem(self, X, y, *, constants, context, groups, sample_weight, classes):
        if groups is not None:
            # Validated even when unused, as every estimator's metadata.
            check_groups(groups, X.shape[0])
        self.classes_ = _binary_classes(y, classes)
        label = (y == self.classes_[1]).astype(np.float64)
        weight = check_sample_weight(sample_weight, X.shape[0])
        ratio = None
        if self.density_ratio:
            ratio = self._density_ratio(label, weight, context, groups, X.shape[0])
            weight = weight * ratio
        elif context is not None:
            raise ValueError("context is only used when density_ratio=True.")
        self.density_ratio_weights_ = ratio
        return Problem(row_units(X, weight, label=label), self._formulation())

    def _density_ratio(self, label, weight, context, groups, n_samples):
        low, high = self.density_ratio_clip
        if not 0 < low <= high:
            raise ValueError(
                "density_ratio_clip must be (low, high) with 0 < low <= high; "
                f"got {self.density_ratio_clip!r}."
            )
        if context is not None:
            features = check_array(context, input_name="context", ensure_2d=False)
            if features.ndim == 1:
                features = features[:, None]
            if features.shape[0] != n_samples:
                raise ValueError(
                    f"context has {features.shape[0]} rows but X has {n_samples}; "
                    "give one context row per row of X."
                )
        elif groups is not None:
            codes, _ = check_groups(groups, n_samples)
            features = OneHotEncoder().fit_transform(codes[:, None])
        else:
            raise ValueError(
                "density_ratio=True needs the context of each row: pass "
                "context= (a feature block) or groups= (context ids) to fit."
            )
        n_up, n_down = weight @ label, weight @ (1 - label)
        if n_up == 0 or n_down == 0:
            raise ValueError(
                "density_ratio=True needs both thumbs-up and thumbs-down rows "
                "of positive weight."
            )
        classifier = (
            LogisticRegression()
            if self.density_ratio_classifier is None
            else clone(self.density_ratio_classifier)
        )
        if np.all(weight == weight[0]):
            classifier.fit(features, label)
        elif has_fit_parameter(classifier, "sample_weight"):
            classifier.fit(features, label, sample_weight=weight)
        else:
            raise ValueError(
                f"density_ratio_classifier {type(classifier).__name__} does not "
                "accept sample_weight in fit, which the density ratio needs when "
                "sample_weight is given; use a classifier that does (e.g. "
                "LogisticRegression)."
            )
        up_column = list(classifier.classes_).index(1.0)
        p_up = classifier.predict_proba(features)[:, up_column]
        odds = p_up / np.clip(1 - p_up, 1e-12, None) * (n_down / n_up)
        return np.where(label > 0.5, 1.0, np.clip(odds, low, high))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, context=None, groups=None, sample_weight=None):
        """Fit the reward model on binary feedback.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            One row per rated item.
        y : array-like of shape (n_samples,)
            1 for thumbs up, 0 for thumbs down.
        context : array-like of shape (n_samples, n_context_features), \
                default=None
            Features of each row's context (e.g. a prompt embedding), used
            for density-ratio matching only.
        groups : array-like of shape (n_samples,), default=None
            Context id of each row, used for density-ratio matching when no
            ``context`` block is given.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : BinaryFeedbackRewardRegressor
        """
        return self._fit(
            X,
            y,
            context=context,
            groups=groups,
            sample_weight=sample_weight,
            classes=None,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self, X, y, classes=None, *, context=None, groups=None, sample_weight=None
    ):
        """Run one more epoch, initialising if not fitted. Returns ``self``.

        ``classes`` (the two labels) is needed on the first call only when
        that batch holds one kind of feedback; other parameters are as in
        :meth:`fit`.
        """
        if classes is None and hasattr(self, "classes_"):
            classes = self.classes_
        return self._fit(
            X,
            y,
            epochs=1,
            incremental=True,
            context=context,
            groups=groups,
            sample_weight=sample_weight,
            classes=classes,
        )

    @property
    def reward_shift_(self):
        """The fitted reward shift ``δ``."""
        check_is_fitted(self, "net_")
        return float(self.net_.criterion_.loss.shift.detach())

    def decision_function(self, X):
        """Reward ``r(x) = s(x) - δ`` of each row (the log-odds of thumbs up).

        Returns
        -------
        rewards : ndarray of shape (n_samples,)
        """
        return self._raw_scores(X) - self.reward_shift_

    def transform(self, X):
        """Rewards as a one-column matrix, for use as a ``Pipeline`` step."""
        return self.decision_function(X)[:, None]

    def predict_proba(self, X):
        """Probabilities of thumbs down and thumbs up, ``σ(-r)`` and ``σ(r)``.

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
        """
        up = expit(self.decision_function(X))
        return np.column_stack([1 - up, up])

    def predict(self, X):
        """The more likely feedback: thumbs up where the reward is positive.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        up = self.decision_function(X) > 0
        return self.classes_[up.astype(int)]

    @property
    def _n_features_out(self):
        return 1

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
