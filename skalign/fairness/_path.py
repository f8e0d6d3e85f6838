"""Choosing the fairness strength: a cross-validated path of λ values."""

from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.metrics import (
    log_loss,
    mean_absolute_error,
    mean_poisson_deviance,
    mean_squared_error,
)
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing, indexable
from sklearn.utils.parallel import Parallel, delayed

from ..metrics._fairness import (
    _distance_correlation,
    _group_js_divergence,
    _unfairness_ratio,
)
from ..utils._encoding import encode_sensitive_features
from ..utils._extras import install_hint
from ..utils._penalty import DependencePenalty

__all__ = ["FairnessPath", "fairness_path"]

_FAIRNESS_METRICS = ("js_divergence", "unfairness_ratio", "distance_correlation")


@dataclass
class FairnessPath:
    """The result of :func:`fairness_path`.

    Attributes
    ----------
    strengths : ndarray of shape (n_strengths,)
        The fairness strengths λ, increasing.
    loss : ndarray of shape (n_strengths, n_folds)
        Held-out predictive loss of each fold (named by ``loss_name``).
    score : ndarray of shape (n_strengths, n_folds)
        Held-out ``score`` of each fold (R² or accuracy).
    fairness : dict of str -> ndarray of shape (n_strengths,)
        Dependence of the out-of-fold predictions on the protected
        attributes: ``"js_divergence"``, ``"unfairness_ratio"`` and
        ``"distance_correlation"``; for binary classifiers also fairlearn's
        ``"demographic_parity_difference"`` and
        ``"equalized_odds_difference"`` of the predicted labels.
    predictions : ndarray of shape (n_strengths, n_samples) or \
            (n_strengths, n_samples, n_classes)
        Out-of-fold predictions (probabilities for classifiers).
    loss_name : str
        What ``loss`` is (e.g. ``"mean_squared_error"``, ``"log_loss"``).
    knee_metric : str
        The fairness metric of the trade-off curve used for the knee.
    knee_index : int
        Index of the proposed strength.
    """

    strengths: np.ndarray
    loss: np.ndarray = field(repr=False)
    score: np.ndarray = field(repr=False)
    fairness: dict = field(repr=False)
    predictions: np.ndarray = field(repr=False)
    loss_name: str
    knee_metric: str
    knee_index: int

    @property
    def knee_strength(self):
        """The proposed λ, at the knee of the loss–unfairness trade-off."""
        return float(self.strengths[self.knee_index])

    def to_frame(self):
        """One row per strength: fold mean and spread of the loss and score,
        and the fairness metrics, as a pandas DataFrame."""
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError(
                "FairnessPath.to_frame needs pandas: "
                f"{install_hint('datasets')} (or pip install pandas)."
            ) from exc
        columns = {
            "loss": self.loss.mean(axis=1),
            "loss_std": self.loss.std(axis=1),
            "score": self.score.mean(axis=1),
            "score_std": self.score.std(axis=1),
            **self.fairness,
        }
        return pd.DataFrame(columns, index=pd.Index(self.strengths, name="strength"))

    def plot(self, axes=None):
        """Plot the path: fairness metrics against λ, and loss against unfairness.

        Parameters
        ----------
        axes : array-like of two matplotlib Axes, default=None
            Where to draw; ``None`` creates a figure with two panels.

        Returns
        -------
        axes : ndarray of two matplotlib Axes
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:
            raise ImportError(
                f"FairnessPath.plot needs matplotlib: {install_hint('plot')}."
            ) from exc
        if axes is None:
            _, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
        ax_path, ax_trade = np.asarray(axes).ravel()
        lam = self.strengths
        for name in _FAIRNESS_METRICS:
            values = self.fairness[name]
            # Relative to the smallest λ, so that the metrics share one axis.
            ref = values[0] if values[0] > 0 else 1.0
            ax_path.plot(lam, values / ref, marker="o", label=name.replace("_", " "))
        ax_path.axvline(self.knee_strength, color="gray", linestyle=":")
        positive = lam[lam > 0]
        if positive.size:
            ax_path.set_xscale("symlog", linthresh=float(positive.min()))
            ax_path.set_xlim(lam[0], lam[-1] * 1.2)
        ax_path.set_xlabel("penalty strength λ")
        ax_path.set_ylabel(f"relative to λ = {lam[0]:g}")
        ax_path.set_title("Dependence on the protected attributes")
        # Ratios to the first strength: from zero, so a halving looks like one.
        ax_path.set_ylim(0, None)
        _legend_below(ax_path)

        x, y = self.fairness[self.knee_metric], self.loss.mean(axis=1)
        ax_trade.errorbar(
            x,
            y,
            yerr=self.loss.std(axis=1),
            marker="o",
            capsize=2,
            elinewidth=0.8,
            label="skalign (± fold std)",
        )
        for lam_k, x_k, y_k in zip(lam, x, y):
            ax_trade.annotate(
                f"λ={lam_k:g}", (x_k, y_k), textcoords="offset points", xytext=(4, 4)
            )
        ax_trade.plot(
            x[self.knee_index],
            y[self.knee_index],
            marker="*",
            markersize=16,
            color="tab:red",
            linestyle="none",
            label=f"knee: λ = {self.knee_strength:g}",
        )
        ax_trade.set_xlabel(f"{self.knee_metric.replace('_', ' ')} (out of fold)")
        ax_trade.set_ylabel(f"held-out {self.loss_name.replace('_', ' ')}")
        ax_trade.set_title("Loss against unfairness")
        ax_trade.set_xlim(0, None)
        _legend_below(ax_trade)
        return np.asarray([ax_path, ax_trade])


def _legend_below(ax):
    """The axes' legend under its x label, where it hides no data."""
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.18),
        ncols=2,
        fontsize=8,
        frameon=False,
    )


def _knee(x, y):
    """Point of the curve ``(x, y)`` farthest from the chord of its endpoints.

    Both axes are first scaled to ``[0, 1]`` (the "kneedle" idea of Satopää
    et al., 2011): along a fairness path the unfairness ``x`` falls and the
    loss ``y`` rises, and the knee is where further fairness starts to cost
    much more loss.
    """
    span_x, span_y = np.ptp(x), np.ptp(y)
    if len(x) < 3 or span_x == 0 or span_y == 0:
        return 0
    u, v = (x - x.min()) / span_x, (y - y.min()) / span_y
    du, dv = u[-1] - u[0], v[-1] - v[0]
    distance = np.abs(dv * (u - u[0]) - du * (v - v[0]))
    return int(np.argmax(distance))


def _loss_name(estimator):
    if is_classifier(estimator):
        return "log_loss"
    return {
        "poisson": "mean_poisson_deviance",
        "absolute_error": "mean_absolute_error",
    }.get(_final_step(estimator).get_params().get("loss"), "mean_squared_error")


def _final_step(estimator):
    return estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator


def _loss(name, y_true, y_pred, classes, sample_weight):
    if name == "log_loss":
        return log_loss(y_true, y_pred, labels=classes, sample_weight=sample_weight)
    if name == "mean_poisson_deviance":
        # Rates can underflow to 0, where the deviance of a positive count
        # is infinite.
        y_pred = np.maximum(y_pred, np.finfo(np.float64).tiny)
        return mean_poisson_deviance(y_true, y_pred, sample_weight=sample_weight)
    metric = (
        mean_absolute_error if name == "mean_absolute_error" else mean_squared_error
    )
    return metric(y_true, y_pred, sample_weight=sample_weight)


def _held_out_targets(y, test, params):
    """Test targets and weights; counts over an exposure become weighted rates."""
    y_test = np.asarray(_safe_indexing(y, test))
    weight = params.get("sample_weight")
    weight = None if weight is None else np.asarray(weight, dtype=np.float64)[test]
    exposure = params.get("exposure")
    if exposure is not None:
        exposure = np.asarray(exposure, dtype=np.float64)[test]
        y_test = y_test / exposure
        weight = exposure if weight is None else weight * exposure
    return y_test, weight


def _fit_and_predict(estimator, X, y, sensitive_features, params, train, test):
    fit_params = {
        k: _safe_indexing(v, train) if _per_row(v, len(y)) else v
        for k, v in params.items()
    }
    estimator.fit(
        _safe_indexing(X, train),
        _safe_indexing(y, train),
        sensitive_features=_safe_indexing(sensitive_features, train),
        **fit_params,
    )
    X_test = _safe_indexing(X, test)
    y_test, weight = _held_out_targets(y, test, params)
    classifier = is_classifier(estimator)
    pred = estimator.predict_proba(X_test) if classifier else estimator.predict(X_test)
    classes = estimator.classes_ if classifier else None
    return (
        _loss(_loss_name(estimator), y_test, pred, classes, weight),
        estimator.score(X_test, y_test, sample_weight=weight),
        pred,
        classes,
    )


def _per_row(value, n):
    return hasattr(value, "__len__") and not isinstance(value, str) and len(value) == n


def _fairness_metrics(pred, classes, y, groups, encoded):
    values = pred[:, None] if pred.ndim == 1 else pred
    if values.shape[1] == 2:
        values = values[:, 1:]
    out = {
        "js_divergence": _group_js_divergence(
            values, None, groups, "proportional", "silverman", 2.0
        ),
        "unfairness_ratio": _unfairness_ratio(values, groups, int(groups.max()) + 1),
        "distance_correlation": _distance_correlation(values, encoded),
    }
    if classes is not None and len(classes) == 2:
        from fairlearn.metrics import (
            demographic_parity_difference,
            equalized_odds_difference,
        )

        y_true = (np.asarray(y) == classes[1]).astype(int)
        y_label = (pred[:, 1] > 0.5).astype(int)
        for name, metric in (
            ("demographic_parity_difference", demographic_parity_difference),
            ("equalized_odds_difference", equalized_odds_difference),
        ):
            out[name] = metric(y_true, y_label, sensitive_features=groups)
    return out


def fairness_path(
    estimator,
    X,
    y,
    *,
    sensitive_features,
    strengths="auto",
    cv=5,
    groups=None,
    params=None,
    param_name="fairness_penalty__strength",
    continuous_bins=4,
    knee_metric="js_divergence",
    n_jobs=None,
):
    """Cross-validated accuracy–fairness path over the fairness strength λ.

    For every λ in ``strengths`` and every cross-validation fold, a clone of
    ``estimator`` with its penalty's strength (``param_name``) set to λ is
    fitted on the training part
    and predicts the held-out part. Per fold, the held-out predictive loss
    and ``score``; on the out-of-fold predictions of all rows (probabilities
    for classifiers), three measures of their dependence on the protected
    attributes: the Jensen–Shannon divergence between the intersectional
    groups' prediction distributions
    (:func:`~skalign.metrics.group_js_divergence`), the unfairness ratio
    ``Var(E[ŷ | S]) / Var(ŷ)`` (:func:`~skalign.metrics.unfairness_ratio`)
    and the distance correlation
    (:func:`~skalign.metrics.distance_correlation`); for binary classifiers
    also fairlearn's demographic-parity and equalised-odds differences of the
    predicted labels. The knee of the trade-off curve (mean loss against
    ``knee_metric``) is proposed as the strength to use.

    The fairness metrics use all out-of-fold predictions rather than each
    fold on its own because group-wise metrics are biased upwards on small
    groups: with ``G`` groups and ``n`` rows the unfairness ratio of
    independent predictions is about ``(G - 1) / n``.

    Groups are the combinations of the categorical attributes' levels and of
    the continuous attributes' quantile bins (``continuous_bins``).

    Parameters
    ----------
    estimator : FairRegressor, FairClassifier, or any estimator with a penalty
        Any estimator with a ``param_name`` parameter whose ``fit`` takes
        ``sensitive_features`` (a pipeline with metadata routing enabled).
        With the default ``param_name``, an estimator whose
        ``fairness_penalty`` is ``None`` is given
        :class:`~skalign.fairness.DependencePenalty` ``()``.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    sensitive_features : array-like or DataFrame of shape (n_samples,) or \
            (n_samples, n_attributes)
        Protected attributes, as in :meth:`FairRegressor.fit`.
    strengths : "auto" or array-like of float, default="auto"
        The λ values (non-negative), evaluated in increasing order.
        ``"auto"``: 0 and 12 values from 0.01 to 1000, log-spaced, which
        cover the front of the scale-free penalty
        (``DependencePenalty(normalize=True)``, the default) from the
        unpenalised model to near independence on any data set.
    cv : int, cross-validation generator or iterable, default=5
        As in :func:`sklearn.model_selection.cross_val_predict` (stratified
        for classifiers); the test sets must partition the rows.
    groups : array-like of shape (n_samples,), default=None
        Group labels for group-wise splitters such as ``GroupKFold``.
    params : dict, default=None
        Further ``fit`` arguments (``sample_weight``, ``exposure``), sliced
        per fold where they have one value per row; ``sample_weight`` and
        ``exposure`` also weight the held-out loss and score (the fairness
        metrics count every row once).
    param_name : str, default="fairness_penalty__strength"
        The parameter set to each λ (e.g.
        ``"fairregressor__fairness_penalty__strength"`` for a pipeline).
    continuous_bins : int, default=4
        Quantile bins of each continuous attribute for the group metrics.
    knee_metric : {"js_divergence", "unfairness_ratio", \
            "distance_correlation"}, default="js_divergence"
        The fairness axis of the trade-off curve whose knee is proposed.
    n_jobs : int, default=None
        Fits run in parallel (joblib).

    Returns
    -------
    path : FairnessPath
        Losses per strength and fold, fairness metrics per strength, the
        out-of-fold predictions, the proposed ``knee_strength`` and a
        :meth:`~FairnessPath.plot` method.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.fairness import FairRegressor, fairness_path
    >>> rng = np.random.default_rng(0)
    >>> group = rng.integers(0, 2, size=600)
    >>> X = np.column_stack([rng.normal(size=600), group + rng.normal(size=600)])
    >>> y = X[:, 0] + 2 * group + rng.normal(size=600)
    >>> path = fairness_path(
    ...     FairRegressor(), X, y, sensitive_features=group,
    ...     strengths=[0.0, 1.0, 10.0], cv=3)
    >>> path.fairness["distance_correlation"].round(2)
    array([0.23, 0.17, 0.05])
    >>> path.knee_strength
    1.0
    """
    if knee_metric not in _FAIRNESS_METRICS:
        raise ValueError(
            f"knee_metric must be one of {_FAIRNESS_METRICS}; got {knee_metric!r}."
        )
    final = _final_step(estimator)
    if (
        param_name == "fairness_penalty__strength"
        and "fairness_penalty" in estimator.get_params()
        and estimator.get_params()["fairness_penalty"] is None
    ):
        estimator = clone(estimator).set_params(fairness_penalty=DependencePenalty())
        final = estimator
    if param_name not in estimator.get_params():
        raise ValueError(
            f"{type(estimator).__name__} has no parameter {param_name!r}; pass "
            "param_name= naming its fairness strength."
        )
    if isinstance(strengths, str) and strengths == "auto":
        strengths = np.r_[0.0, np.logspace(-2, 3, 12)]
    strengths = np.sort(np.asarray(strengths, dtype=np.float64).ravel())
    if strengths.size == 0 or not np.all(np.isfinite(strengths) & (strengths >= 0)):
        raise ValueError(
            "strengths must be a non-empty list of finite, non-negative values; "
            f"got {strengths}."
        )
    X, y, groups = indexable(X, y, groups)
    n = len(y)
    penalty = final.get_params().get("fairness_penalty")
    categorical = (
        penalty.categorical_features
        if isinstance(penalty, DependencePenalty)
        else final.get_params().get("categorical_features", "auto")
    )
    if isinstance(categorical, str) and categorical == "deprecated":
        categorical = "auto"
    encoded = encode_sensitive_features(
        sensitive_features, n_samples=n, categorical_features=categorical
    )
    group_codes, _ = encoded.groups(continuous_bins)
    params = dict(params or {})
    cv = check_cv(cv, y, classifier=is_classifier(estimator))
    splits = list(cv.split(X, y, groups))
    test_rows = np.concatenate([test for _, test in splits])
    if np.sort(test_rows).tolist() != list(range(n)):
        raise ValueError(
            "fairness_path needs cross-validation whose test sets partition the "
            "rows (every row held out exactly once), e.g. KFold or GroupKFold."
        )
    fits = Parallel(n_jobs=n_jobs)(
        delayed(_fit_and_predict)(
            clone(estimator).set_params(**{param_name: float(lam)}),
            X,
            y,
            sensitive_features,
            params,
            train,
            test,
        )
        for lam in strengths
        for train, test in splits
    )
    n_folds = len(splits)
    loss = np.array([f[0] for f in fits]).reshape(len(strengths), n_folds)
    score = np.array([f[1] for f in fits]).reshape(len(strengths), n_folds)
    classes = fits[0][3]
    predictions = []
    for k in range(len(strengths)):
        fold_preds = [f[2] for f in fits[k * n_folds : (k + 1) * n_folds]]
        pooled = np.empty((n, *fold_preds[0].shape[1:]))
        pooled[test_rows] = np.concatenate(fold_preds)
        predictions.append(pooled)
    predictions = np.stack(predictions)
    per_strength = [
        _fairness_metrics(pred, classes, y, group_codes, encoded.values)
        for pred in predictions
    ]
    fairness = {
        name: np.array([m[name] for m in per_strength]) for name in per_strength[0]
    }
    return FairnessPath(
        strengths=strengths,
        loss=loss,
        score=score,
        fairness=fairness,
        predictions=predictions,
        loss_name=_loss_name(estimator),
        knee_metric=knee_metric,
        knee_index=_knee(fairness[knee_metric], loss.mean(axis=1)),
    )
