"""Reliability diagrams."""

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..metrics._calibration import (
    _forecasts,
    bin_edges,
    binned_statistics,
    expected_calibration_error,
)
from ..utils._extras import install_hint

__all__ = ["ReliabilityDiagramDisplay"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "ReliabilityDiagramDisplay needs matplotlib, which is not installed; "
            f"install the plot extra: {install_hint('plot')}."
        ) from exc
    return plt


class ReliabilityDiagramDisplay:
    """Reliability diagram: observed frequency against mean forecast per bin,
    with the number of forecasts in each bin.

    Build it with :meth:`from_estimator` or :meth:`from_predictions`, as
    scikit-learn's :class:`~sklearn.calibration.CalibrationDisplay`; the
    binning is that of :func:`skalign.metrics.expected_calibration_error`,
    whose value is shown in the legend. A perfectly calibrated model follows
    the diagonal. Binary problems show the positive class's probability;
    multiclass ones the top-label confidence against accuracy
    (``kind="top_label"``) or every class's probability against its event,
    pooled (``kind="classwise"``). Needs matplotlib (the ``plot`` extra).

    Parameters
    ----------
    prob_pred : ndarray of shape (n_nonempty_bins,)
        Mean forecast of each non-empty bin.
    prob_true : ndarray of shape (n_nonempty_bins,)
        Observed frequency of each non-empty bin.
    bin_counts : ndarray of shape (n_bins,)
        Number of forecasts in every bin (empty ones included).
    bin_edges : ndarray of shape (n_bins + 1,)
        Bin edges, from 0 to 1 (quantile bins of a pooled ``kind`` are those
        of the pooled forecasts).
    ece : float, default=None
        Expected calibration error shown in the legend.
    estimator_name : str, default=None
        Name shown in the legend.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The reliability curve.
    count_bars_ : matplotlib BarContainer or None
        The bin counts (``show_counts=True``).
    ax_ : matplotlib Axes
        The diagram's axes.
    count_ax_ : matplotlib Axes or None
        The twin axes of the counts.
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skalign.calibration import ReliabilityDiagramDisplay
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=500)
    >>> y = rng.uniform(size=500) < p ** 2
    >>> display = ReliabilityDiagramDisplay.from_predictions(y, p, n_bins=10)
    >>> display.bin_counts.sum()
    np.float64(500.0)
    """

    def __init__(
        self,
        *,
        prob_pred,
        prob_true,
        bin_counts,
        bin_edges,
        ece=None,
        estimator_name=None,
    ):
        self.prob_pred = prob_pred
        self.prob_true = prob_true
        self.bin_counts = bin_counts
        self.bin_edges = bin_edges
        self.ece = ece
        self.estimator_name = estimator_name

    def plot(self, *, ax=None, name=None, ref_line=True, show_counts=True, **kwargs):
        """Draw the diagram.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when ``None``.
        name : str, default=None
            Legend name; defaults to ``estimator_name``.
        ref_line : bool, default=True
            Draw the diagonal of perfect calibration.
        show_counts : bool, default=True
            Draw the bin counts as bars on a twin axis (their scale on the
            right).
        **kwargs : dict
            Passed to ``ax.plot`` for the curve.

        Returns
        -------
        self
        """
        plt = _pyplot()
        if ax is None:
            _, ax = plt.subplots()
        name = self.estimator_name if name is None else name
        label = name or "model"
        if self.ece is not None:
            label = f"{label} (ECE {self.ece:.3f})"
        self.count_ax_ = self.count_bars_ = None
        if show_counts:
            count_ax = ax.twinx()
            widths = np.diff(self.bin_edges)
            self.count_bars_ = count_ax.bar(
                self.bin_edges[:-1],
                self.bin_counts,
                width=widths,
                align="edge",
                color="tab:gray",
                alpha=0.25,
                edgecolor="white",
            )
            # Counts fill the lower quarter so they do not hide the curve.
            count_ax.set_ylim(0, 4 * max(float(np.max(self.bin_counts)), 1.0))
            count_ax.set_ylabel("forecasts per bin")
            self.count_ax_ = count_ax
            ax.set_zorder(count_ax.get_zorder() + 1)
            ax.patch.set_visible(False)
        if ref_line:
            ax.plot([0, 1], [0, 1], linestyle="--", color="black", linewidth=1)
        (self.line_,) = ax.plot(
            self.prob_pred, self.prob_true, marker="s", label=label, **kwargs
        )
        ax.set(
            xlim=(0, 1),
            ylim=(0, 1),
            xlabel="mean predicted probability",
            ylabel="observed frequency",
        )
        ax.legend(loc="upper left")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    @validate_params(
        {
            "y_true": ["array-like"],
            "y_prob": ["array-like"],
            "n_bins": [Interval(numbers.Integral, 1, None, closed="left")],
            "strategy": [StrOptions({"uniform", "quantile"})],
            "kind": [StrOptions({"top_label", "classwise"})],
            "labels": ["array-like", None],
            "name": [str, None],
            "ref_line": ["boolean"],
            "show_counts": ["boolean"],
        },
        prefer_skip_nested_validation=True,
    )
    def from_predictions(
        cls,
        y_true,
        y_prob,
        *,
        n_bins=15,
        strategy="uniform",
        kind="top_label",
        labels=None,
        name=None,
        ax=None,
        ref_line=True,
        show_counts=True,
        **kwargs,
    ):
        """Diagram of predicted probabilities.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True labels.
        y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
            Probabilities of the positive class (1-D) or of every class.
        n_bins : int, default=15
            Number of bins.
        strategy : {"uniform", "quantile"}, default="uniform"
            Equal-width or equal-count bins.
        kind : {"top_label", "classwise"}, default="top_label"
            For 2-D ``y_prob``: confidence against accuracy, or every class's
            probability against its event, pooled.
        labels : array-like of shape (n_classes,), default=None
            Class of each column of ``y_prob``.
        name : str, default=None
            Legend name.
        ax : matplotlib Axes, default=None
            Where to draw.
        ref_line : bool, default=True
            Draw the diagonal.
        show_counts : bool, default=True
            Draw the bin counts.
        **kwargs : dict
            Passed to ``ax.plot`` for the curve.

        Returns
        -------
        display : ReliabilityDiagramDisplay
        """
        _pyplot()
        forecast, outcome = _forecasts(y_true, y_prob, kind, labels)
        forecast, outcome = forecast.reshape(1, -1), outcome.reshape(1, -1)
        counts, mean_f, mean_o = binned_statistics(forecast, outcome, n_bins, strategy)
        inner = bin_edges(forecast, n_bins, strategy)[0]
        filled = counts[0] > 0
        ece = expected_calibration_error(
            outcome[0], forecast[0], n_bins=n_bins, strategy=strategy, labels=[0, 1]
        )
        display = cls(
            prob_pred=mean_f[0, filled],
            prob_true=mean_o[0, filled],
            bin_counts=counts[0],
            bin_edges=np.concatenate([[0.0], inner, [1.0]]),
            ece=ece,
            estimator_name=name,
        )
        return display.plot(ax=ax, ref_line=ref_line, show_counts=show_counts, **kwargs)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        n_bins=15,
        strategy="uniform",
        kind="top_label",
        name=None,
        ax=None,
        ref_line=True,
        show_counts=True,
        **kwargs,
    ):
        """Diagram of a fitted classifier's (or calibrator's)
        ``predict_proba``.

        Parameters
        ----------
        estimator : fitted classifier
            Any estimator with ``predict_proba`` and ``classes_``, including
            the calibrators of :mod:`skalign.calibration` (then ``X`` holds
            scores).
        X : array-like
            Input of ``predict_proba``.
        y : array-like of shape (n_samples,)
            True labels.
        n_bins, strategy, kind, ax, ref_line, show_counts, **kwargs
            As in :meth:`from_predictions`.
        name : str, default=None
            Legend name; the estimator's class name by default.

        Returns
        -------
        display : ReliabilityDiagramDisplay
        """
        _pyplot()
        if not hasattr(estimator, "predict_proba"):
            raise TypeError(
                f"{type(estimator).__name__} has no predict_proba; pass a fitted "
                "probabilistic classifier."
            )
        proba = estimator.predict_proba(X)
        classes = getattr(estimator, "classes_", None)
        if proba.shape[1] == 2:
            # Binary: the positive class's probability covers all of [0, 1].
            proba = proba[:, 1]
        return cls.from_predictions(
            y,
            proba,
            n_bins=n_bins,
            strategy=strategy,
            kind=kind,
            labels=classes,
            name=type(estimator).__name__ if name is None else name,
            ax=ax,
            ref_line=ref_line,
            show_counts=show_counts,
            **kwargs,
        )
