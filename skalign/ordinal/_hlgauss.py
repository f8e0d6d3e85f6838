"""HL-Gauss: regression trained as classification over bins."""

import functools
import numbers

import numpy as np
import torch
from scipy.special import softmax
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_array, check_is_fitted
from torch import nn

from .._docstrings import fill_doc
from .._engine import Formulation, Problem, TorchEstimator
from .._loss.ordinal import hl_gauss_loss, hl_gauss_target
from ..nn import MLPScorer, Scorer
from ..utils._groups import check_sample_weight
from ..utils._units import row_units

__all__ = ["BinLogitModule", "HLGaussRegressor"]

_CHUNK = 1 << 16


class BinLogitModule(nn.Module):
    """Bin logits ``f(x) + b``, ``b`` the log of the training targets' histogram.

    ``b`` is a fixed buffer: a scorer with a bias spans the same functions
    with or without it, but training starts from the marginal histogram
    instead of a uniform one, which a softmax over many bins is slow to
    leave (as initialising a classifier's bias at the log class priors).

    Parameters
    ----------
    scorer : torch.nn.Module
        Maps ``(n, n_features)`` to ``(n, n_bins)`` logits.
    offset : array-like of shape (n_bins,)
        The fixed offset ``b``.
    """

    def __init__(self, scorer, offset):
        super().__init__()
        self.scorer = scorer
        # A copy: the offset may be read-only memory (a model loaded by
        # joblib with mmap_mode), which the buffer must not alias.
        self.register_buffer(
            "offset",
            offset.to(torch.float64).clone()
            if isinstance(offset, torch.Tensor)
            else torch.tensor(np.array(offset, dtype=np.float64)),
        )

    def forward(self, X):
        return self.scorer(X) + self.offset


def _bin_logit_module(scorer, offset=None, *, n_bins):
    """:class:`BinLogitModule` around ``scorer``; a model being loaded
    starts from a zero offset (its buffer is then loaded). A fresh fit of a
    skalign scorer starts with its output layer at zero, so exactly at the
    marginal histogram: a random output layer would start every row at a
    random histogram, which the fit must first unlearn."""
    if offset is None:
        offset = torch.zeros(n_bins, dtype=torch.float64)
    elif isinstance(scorer, Scorer):
        scorer.zero_output_()
    return BinLogitModule(scorer, offset)


def _check_value_range(value_range):
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"value_range must be a pair of numbers (low, high); got {value_range!r}."
        ) from exc
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(
            f"value_range must be finite with low < high; got {value_range!r}."
        )
    return low, high


@fill_doc
class HLGaussRegressor(RegressorMixin, TorchEstimator):
    """Regression as classification over bins with a Gaussian-smoothed target.

    The value range ``[low, high]`` is cut into ``n_bins`` equal bins with
    edges ``z_0 < ... < z_n`` and the scorer outputs one logit per bin. Each
    target ``y`` becomes the histogram of a Gaussian ``N(y, σ²)`` over the
    bins, ``p_i(y) = [Φ((z_i - y) / σ) - Φ((z_{i-1} - y) / σ)]`` normalised
    over the range, and the model minimises the weighted mean cross-entropy
    against it (HL-Gauss; Farebrother et al., 2024, "Stop Regressing:
    Training Value Functions via Classification for Scalable Deep RL"), plus
    ``alpha / 2`` times the squared norm of the scorer's weight matrices.
    ``σ = sigma_ratio`` times the bin width.

    The bin logits are the scorer's output plus a fixed offset, the log of
    the mean training target histogram (``scorer_.offset``): the same
    model for any scorer with a bias, but training starts from the marginal
    distribution of ``y`` rather than from a uniform one (a skalign
    scorer's output layer starts at zero).

    The default scorer is an :class:`~skalign.nn.MLPScorer`: HL-Gauss exists
    to train neural regressors (its cross-entropy trains them better than
    squared error, the paper's point), and with a linear scorer the
    predicted mean cannot follow a non-linear trend any better than a
    linear regression. It is trained by Adam on standardised inputs; with
    ``early_stopping="auto"``, a tenth of the rows (from 100 rows on) is
    held out and training stops when their loss stops improving by ``tol``,
    back at the best epoch (as one trains a network: its training optimum
    overfits a few hundred rows — on scikit-learn's diabetes data, held-out
    R² 0.05 at the training optimum against 0.37 stopped early), else when
    the training loss stops improving (``max_epochs=1000`` is only a
    bound). Pass ``scorer=LinearScorer()`` for the convex model, solved by
    full-batch L-BFGS on all the rows.

    :meth:`predict` is the mean of the predicted histogram, ``Σ_i p_i(x) c_i``
    over the bin centres ``c_i``; :meth:`predict_distribution` returns the
    histogram and :meth:`predict_quantiles` its quantiles (the density is
    taken as uniform within a bin). The cross-entropy is bounded and
    insensitive to the scale of outliers, and the histogram describes
    multi-modal or skewed outcomes that a single mean hides.

    Parameters
    ----------
    n_bins : int, default=50
        Number of bins (at least 2).
    value_range : tuple of float (low, high), default=None
        The range covered by the bins; ``None`` takes the smallest and
        largest training target of positive weight (widened by 0.5 on each
        side when they are equal). Training targets outside the range are
        clipped to it. With ``warm_start``, a refit keeps the range of the
        first fit.
    sigma_ratio : float, default=0.75
        Standard deviation of the smoothing Gaussian, relative to the bin
        width. The paper's default 0.75 spreads each target over about six
        bins.
    {mlp_scorer_param}
    {engine_params}

    Attributes
    ----------
    value_range_ : tuple of float
        The range covered by the bins.
    bin_edges_ : ndarray of shape (n_bins + 1,)
        The bin edges ``z_0, ..., z_n``.
    bin_centers_ : ndarray of shape (n_bins,)
        The bin centres ``c_i``.
    sigma_ : float
        Standard deviation of the smoothing Gaussian, in units of ``y``.
    {engine_attributes}

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.ordinal import HLGaussRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(500, 1))
    >>> y = 2.0 * X[:, 0] + rng.normal(scale=0.3, size=500)
    >>> model = HLGaussRegressor(n_bins=40, random_state=0).fit(X, y)
    >>> model.predict_distribution(X[:3]).shape
    (3, 40)
    >>> round(model.score(X, y), 1)
    0.9
    """

    _parameter_constraints = {
        **TorchEstimator._parameter_constraints,
        "n_bins": [Interval(numbers.Integral, 2, None, closed="left")],
        "value_range": [None, "array-like"],
        "sigma_ratio": [Interval(numbers.Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        n_bins=50,
        *,
        value_range=None,
        sigma_ratio=0.75,
        scorer=None,
        alpha=0.0,
        optimizer="auto",
        lr=None,
        max_epochs=1000,
        batch_size="auto",
        early_stopping="auto",
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
        self.n_bins = n_bins
        self.value_range = value_range
        self.sigma_ratio = sigma_ratio
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

    # ------------------------------------------------------------ engine hooks
    def _default_scorer(self):
        # HL-Gauss exists to train neural regressors: a linear scorer's bin
        # logits are linear in x, so their softmax mean cannot follow a
        # non-linear trend any better than a linear regression.
        return MLPScorer()

    def _formulation(self):
        return Formulation(
            # The loss works on targets rescaled to [0, 1] (bins of width
            # 1 / n_bins), so that float32 training stays accurate whatever
            # the scale or offset of y.
            losses=(
                functools.partial(hl_gauss_loss, sigma=self.sigma_ratio / self.n_bins),
            ),
            n_outputs=self.n_bins,
            module=functools.partial(_bin_logit_module, n_bins=self.n_bins),
            convex=True,
        )

    def _problem(self, X, y, *, constants, sample_weight):
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        weight = check_sample_weight(sample_weight, X.shape[0])
        if constants is not None:
            if self.bin_edges_.shape[0] != self.n_bins + 1:
                raise ValueError(
                    "warm_start=True needs the n_bins of the previous fit, "
                    f"{self.bin_edges_.shape[0] - 1}; got n_bins={self.n_bins}."
                )
            low, high = self.value_range_
        elif self.value_range is not None:
            low, high = _check_value_range(self.value_range)
        else:
            # Rows of zero weight do not count, as if they were removed.
            kept = y[weight > 0] if np.any(weight > 0) else y
            low, high = float(kept.min()), float(kept.max())
            if low == high:
                low, high = low - 0.5, high + 0.5
        self.value_range_ = (low, high)
        self.bin_edges_ = np.linspace(low, high, self.n_bins + 1)
        self.bin_centers_ = (self.bin_edges_[:-1] + self.bin_edges_[1:]) / 2
        self.sigma_ = self.sigma_ratio * (high - low) / self.n_bins
        unit = (np.clip(y, low, high) - low) / (high - low)
        return Problem(
            row_units(X, weight, y=unit),
            self._formulation(),
            init={"offset": self._mean_target_log_histogram(unit, weight)},
        )

    def _mean_target_log_histogram(self, unit, weight):
        """Log of the weighted mean target histogram, in row chunks."""
        edges = torch.linspace(0.0, 1.0, self.n_bins + 1, dtype=torch.float64)
        total = np.zeros(self.n_bins)
        for start in range(0, unit.shape[0], _CHUNK):
            rows = slice(start, start + _CHUNK)
            target = hl_gauss_target(
                torch.as_tensor(unit[rows]), edges, self.sigma_ratio / self.n_bins
            ).numpy()
            total += weight[rows] @ target
        if total.sum() <= 0:
            total = np.ones(self.n_bins)
        histogram = total / total.sum()
        return np.log(np.maximum(histogram, np.finfo(np.float64).tiny))

    # ------------------------------------------------------------------- API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, sample_weight=None):
        """Fit the bin logits by cross-entropy against HL-Gauss targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Real-valued targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights; an integer weight equals repeating the
            row.

        Returns
        -------
        self : HLGaussRegressor
        """
        return self._fit(X, y, sample_weight=sample_weight)

    def predict_distribution(self, X):
        """Predicted histogram over the bins.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_bins)
            Probability of each bin of ``bin_edges_``; rows sum to one.
        """
        return softmax(self._raw_scores(X).reshape(-1, self.n_bins), axis=1)

    def predict(self, X):
        """Mean of the predicted histogram, ``Σ_i p_i(x) c_i``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        return self.predict_distribution(X) @ self.bin_centers_

    def predict_quantiles(self, X, quantiles=(0.1, 0.5, 0.9)):
        """Quantiles of the predicted histogram, uniform within each bin.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        quantiles : float or array-like of float in [0, 1], \
                default=(0.1, 0.5, 0.9)
            The levels.

        Returns
        -------
        values : ndarray of shape (n_samples, n_quantiles)
            One column per level, non-decreasing along a row when the levels
            are.
        """
        check_is_fitted(self, "net_")
        levels = np.atleast_1d(np.asarray(quantiles, dtype=np.float64))
        if levels.ndim != 1 or not np.all((levels >= 0) & (levels <= 1)):
            raise ValueError(f"quantiles must be levels in [0, 1]; got {quantiles!r}.")
        proba = self.predict_distribution(X)
        cumulative = np.cumsum(proba, axis=1)
        # Normalised so the last value is exactly 1, and the bin masses taken
        # from the same values, so that level 1 maps to the end of the support.
        cdf = np.concatenate(
            [np.zeros((proba.shape[0], 1)), cumulative / cumulative[:, -1:]], axis=1
        )
        # Bin holding each level: the number of bins whose upper CDF is below.
        below = cdf[:, 1:, None] < levels[None, None, :]
        index = np.minimum(below.sum(axis=1), self.n_bins - 1)
        start = np.take_along_axis(cdf, index, axis=1)
        mass = np.take_along_axis(cdf, index + 1, axis=1) - start
        fraction = np.clip(
            (levels - start) / np.maximum(mass, np.finfo(np.float64).tiny), 0, 1
        )
        width = self.bin_edges_[1] - self.bin_edges_[0]
        return self.bin_edges_[index] + fraction * width
