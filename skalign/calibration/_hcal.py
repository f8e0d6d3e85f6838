"""h-calibration: an order-preserving map fitted by a bounded objective."""

import functools
import numbers

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions

from .._loss.calibration import h_calibration_loss
from ._base import (
    CalibrationMap,
    _TorchCalibrator,
    fill_calibration_doc,
    log_proba_columns,
    root_mean_square,
)
from ._scaling import fit_temperature

__all__ = ["HCalibrator"]


class MonotoneMap(CalibrationMap):
    """A strictly increasing piecewise-linear function, applied elementwise.

    ``h(x) = s_0 x + Σ_j (s_j - s_{j-1}) relu(x - κ_j)`` with slopes
    ``s_j = exp(θ_j) > 0`` between the knots ``κ_j``; ``h`` is the identity
    at the start (every ``θ_j = 0``). Applied to every class's
    log-probability, it keeps their order within a row.

    Parameters
    ----------
    knots : tuple of float, default=()
        Increasing knot positions.
    reg_slopes : float, default=0.0
        Weight of the penalty ``mean_j θ_j²`` on the log-slopes.
    """

    def __init__(self, *, knots=(), reg_slopes=0.0):
        super().__init__()
        self.knots = knots
        self.reg_slopes = reg_slopes

    @property
    def has_penalty(self):
        return bool(self.reg_slopes)

    def penalty(self):
        if not self.has_penalty:
            return None
        return float(self.reg_slopes) * (self.log_slopes**2).mean()

    def _build(self, n_features, n_outputs):
        self.register_buffer(
            "knot_positions", torch.as_tensor(self.knots, dtype=torch.float32)
        )
        self.log_slopes = torch.nn.Parameter(torch.zeros(len(self.knots) + 1))

    def forward(self, X):
        slopes = self.log_slopes.exp()
        hinges = torch.relu(X.unsqueeze(-1) - self.knot_positions)
        return X * slopes[0] + hinges @ (slopes[1:] - slopes[:-1])

    def slopes(self):
        return self.log_slopes.detach().exp()


@fill_calibration_doc
class HCalibrator(_TorchCalibrator):
    """h-calibration: a monotone map of the log-probabilities, fitted by a
    bounded calibration objective.

    Every calibrated probability ``p_ik`` and its event ``[y_i = k]`` form a
    pair; the pairs of all classes are sorted by probability, the gap
    ``p - y`` is averaged over a moving window, and the objective is the
    mean excess of ``|gap|`` over ``epsilon`` (Huang et al., 2025,
    "h-calibration: rethinking classifier recalibration with probabilistic
    error-bounded objective"). Unlike the log-likelihood it is bounded and
    targets canonical (class-wise) calibration directly.

    The calibrated probabilities are ``softmax(h(log p))`` with ``h`` a
    strictly increasing piecewise-linear function (knots at quantiles of the
    calibration log-probabilities) shared by all classes, so the order of the
    classes in every row, and therefore the predicted class and the
    accuracy, never change; temperature scaling is the special case of a
    straight line. ``h`` starts at temperature scaling's fit, ``h(x) = x /
    T`` with ``T`` (``feature_scale_``) fitted to the same scores by
    :class:`TemperatureScaling`'s solver, so with ``epsilon > 0`` the fit
    moves the scores away from temperature scaling only as far as the
    tolerance requires. This is the unweighted form of the objective on all
    classes at once; the paper's cluster weighting is not implemented. The
    objective is piecewise smooth and fitted by full-batch L-BFGS.

    The map is fitted on ``log(k p) / T`` (``k`` classes): dividing by ``T``
    brings log-probabilities of logits of any size to order one, and the
    shift by ``log k`` keeps the nearly uniform probabilities of tiny logits
    apart. With the map evaluated in float64, its probabilities are finite
    and keep the order of binary scores from ``1e-6`` to ``1e30``; they are
    not the same at every scale, as ``log p`` is not proportional to the
    logits.

    Parameters
    ----------
    {input_param}
    window : int or "auto", default="auto"
        Number of sorted pairs in the moving average; ``"auto"`` is the
        square root of the number of pairs (``n_samples * n_classes``), at
        least 10.
    epsilon : float, default=0.0
        Tolerated calibration error: only the excess of ``|gap|`` over it is
        penalised.
    n_knots : int, default=8
        Number of interior knots of ``h``.
    reg_slopes : float, default=1e-2
        Weight of a penalty ``mean_j θ_j²`` on the log-slopes ``θ_j =
        log(T s_j)`` of ``h`` (``s_j`` its slopes), pulling it towards
        temperature scaling's straight line ``x / T``. The h-calibration
        objective alone does not penalise flattening ``h`` (uniform
        probabilities are calibrated but useless); this keeps the map
        informative.
    {torch_params}

    Attributes
    ----------
    knots_ : ndarray of shape (n_knots,)
        Knot positions (log-probabilities).
    slopes_ : ndarray of shape (n_knots + 1,)
        Slope of ``h`` on each segment (``1 / T`` at the start).
    {calibrator_attributes}
    {torch_attributes}

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.calibration import HCalibrator
    >>> rng = np.random.default_rng(0)
    >>> logits = rng.normal(size=(2000, 3)) * 3
    >>> true = np.exp(logits / 3) / np.exp(logits / 3).sum(1, keepdims=True)
    >>> y = (rng.uniform(size=(2000, 1)) > true.cumsum(1)).sum(1)
    >>> hcal = HCalibrator().fit(logits, y)
    >>> bool((hcal.predict_proba(logits).argmax(1) == logits.argmax(1)).all())
    True
    """

    _parameter_constraints = {
        **_TorchCalibrator._input_constraint,
        "window": [
            StrOptions({"auto"}),
            Interval(numbers.Integral, 2, None, closed="left"),
        ],
        "epsilon": [Interval(numbers.Real, 0, 1, closed="left")],
        "n_knots": [Interval(numbers.Integral, 0, None, closed="left")],
        "reg_slopes": [Interval(numbers.Real, 0, None, closed="left")],
        **_TorchCalibrator._engine_constraints,
    }

    def __init__(
        self,
        input="auto",
        *,
        window="auto",
        epsilon=0.0,
        n_knots=8,
        reg_slopes=1e-2,
        max_epochs=100,
        tol=1e-6,
        device="cpu",
        dtype="float32",
        verbose=0,
    ):
        self.input = input
        self.window = window
        self.epsilon = epsilon
        self.n_knots = n_knots
        self.reg_slopes = reg_slopes
        self.max_epochs = max_epochs
        self.tol = tol
        self.device = device
        self.dtype = dtype
        self.verbose = verbose

    def _default_scorer(self):
        return self._map()

    def _map(self, knots=(), window=None):
        return MonotoneMap(knots=knots, reg_slopes=self.reg_slopes)

    def _outputs(self, n_classes):
        return max(2, n_classes)

    def _raw_features(self, logits):
        # log(k p): zero at the uniform distribution, so that the nearly
        # uniform probabilities of tiny logits differ in their leading digits
        # (a shift of every log-probability by log k, which the softmax and
        # the knots absorb).
        log_p = log_proba_columns(logits)
        return log_p + np.log(log_p.shape[1])

    def _fit_feature_scale(self, logits, codes, weight):
        # Temperature scaling's temperature: softmax(log p / T) is its fit,
        # so h starts there, and the log-slope penalty pulls towards it.
        rms = root_mean_square(logits, weight)
        beta, _, _ = fit_temperature(self, logits / rms, codes, weight)
        return rms / beta

    def _targets(self, codes, weight):
        return {"target": codes}

    def _map_constants(self, features):
        """The knots (quantiles of the features) and the loss's window."""
        values = features.ravel()
        levels = np.arange(1, self.n_knots + 1) / (self.n_knots + 1)
        knots = tuple(np.unique(np.quantile(values, levels)).tolist())
        n_pairs = values.shape[0]
        window = (
            max(10, int(np.ceil(np.sqrt(n_pairs))))
            if self.window == "auto"
            else int(self.window)
        )
        return {"knots": knots, "window": window}

    def _base_loss(self, n_classes, *, knots, window):
        return functools.partial(
            h_calibration_loss, window=window, epsilon=float(self.epsilon)
        )

    @property
    def knots_(self):
        knots = self.calibration_map_.knot_positions.cpu().numpy()
        shift = np.log(max(2, len(self.classes_)))
        return knots.astype(np.float64) * self.feature_scale_ - shift

    @property
    def slopes_(self):
        slopes = self.calibration_map_.slopes().cpu().numpy()
        return slopes.astype(np.float64) / self.feature_scale_
