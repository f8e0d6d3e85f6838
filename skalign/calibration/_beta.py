"""Beta calibration."""

import numpy as np
import torch
from scipy.special import log_expit, log_softmax
from sklearn.base import _fit_context
from sklearn.utils._param_validation import StrOptions

from .._inference import LikelihoodInferenceMixin
from .._loss.calibration import binary_nll, one_vs_rest_nll
from ._base import (
    CalibrationMap,
    _OneVsRestOutputs,
    _TorchCalibrator,
    as_columns,
    fill_calibration_doc,
    is_one_d,
    log_complement,
)

__all__ = ["BetaCalibrator"]


class BetaMap(CalibrationMap):
    """``a ln s - b ln(1 - s) + c`` per output, from ``a = b = 1, c = 0``.

    Parameters
    ----------
    tied : bool, default=False
        Force ``a = b`` (a logistic map of the log-odds).
    fixed_a, fixed_b : tuple of bool, default=()
        Outputs whose ``a`` (or ``b``) is held at zero.
    """

    def __init__(self, *, tied=False, fixed_a=(), fixed_b=()):
        super().__init__()
        self.tied = tied
        self.fixed_a = fixed_a
        self.fixed_b = fixed_b

    def _build(self, n_features, n_outputs):
        self.a = torch.nn.Parameter(torch.ones(n_outputs))
        self.b = torch.nn.Parameter(torch.ones(n_outputs))
        self.c = torch.nn.Parameter(torch.zeros(n_outputs))
        for name, fixed in (("free_a", self.fixed_a), ("free_b", self.fixed_b)):
            free = torch.ones(n_outputs)
            if len(fixed):
                free[torch.as_tensor(fixed, dtype=torch.bool)] = 0.0
            self.register_buffer(name, free)

    def coefficients(self):
        a = self.a * self.free_a
        b = (self.a if self.tied else self.b) * self.free_b
        return a, b, self.c

    def forward(self, X):
        a, b, c = self.coefficients()
        k = a.shape[0]
        return self._squeeze(X[:, :k] * a + X[:, k:] * b + c)


@fill_calibration_doc
class BetaCalibrator(LikelihoodInferenceMixin, _OneVsRestOutputs, _TorchCalibrator):
    """Beta calibration: ``σ(a ln s - b ln(1 - s) + c)``, ``a, b >= 0``.

    The calibration map family obtained when the scores ``s`` of each class
    follow a beta distribution (Kull, Silva Filho and Flach, 2017, "Beta
    calibration: a well-founded and easily implemented improvement on logistic
    calibration for binary classifiers", AISTATS). It contains the identity
    and logistic (Platt) calibration of the log-odds (``a = b``), and also
    fixes scores that are too extreme at one end only. It is fitted by the
    log-likelihood with full-batch L-BFGS; when ``a`` (else ``b``) comes out
    negative, which would make the map non-monotone, it is refitted with that
    coefficient held at zero, as the paper prescribes (and, should the other
    one then turn negative, with both at zero). For ``k >= 3``
    classes, each class's probability is calibrated one-vs-rest and the
    results renormalised.

    ``ln s`` and ``ln(1 - s)`` are computed from the logits (log-sigmoid and
    log-sum-exp, never the logarithm of a rounded probability), so scores
    whose probability rounds to 0 or 1 keep finite, distinct features, and
    they are divided by their root mean square (``feature_scale_``) for the
    fit. With the map evaluated in float64, the probabilities are finite and
    keep the order of binary scores at any scale (from logits of ``1e-6`` to
    ``1e30``); they are not the same at every scale, as ``ln s`` is not
    proportional to the logits.

    For two classes the fit is the maximum-likelihood logistic regression
    of the labels on ``ln s`` and ``-ln(1 - s)`` with an intercept, and it
    has the statistics of :ref:`inference`: :meth:`summary` of ``"a"``,
    ``"b"`` and ``"c"`` as in the paper (``"a"`` and ``"c"`` with
    ``parameters="am"``). A coefficient the sign constraint held at zero
    is not a parameter of the final fit: it is left out of the table and
    of ``n_params_``, and the statistics are those of the model without
    it, conditional on that choice (a Wald interval at the boundary
    ``a = 0`` would not be valid). A fit of ``k >= 3`` classes, whose
    one-vs-rest objective is a sum of ``k`` binary likelihoods, has none.

    Parameters
    ----------
    {input_param}
    parameters : {"abm", "am"}, default="abm"
        ``"abm"`` fits ``a``, ``b`` and ``c``; ``"am"`` ties ``a = b``
        (logistic calibration of the log-odds, without sign constraint).
    {torch_params}

    Attributes
    ----------
    coef_ : ndarray of shape (n_outputs, 2)
        ``(a, b)`` of each calibrated class (one row for binary problems).
    intercept_ : ndarray of shape (n_outputs,)
        ``c`` of each calibrated class.
    {calibrator_attributes}
    {torch_attributes}
    {likelihood_attributes}

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.calibration import BetaCalibrator
    >>> rng = np.random.default_rng(0)
    >>> s = rng.uniform(0.01, 0.99, size=1000)
    >>> y = rng.uniform(size=1000) < s ** 2
    >>> beta = BetaCalibrator().fit(s, y)
    >>> beta.coef_.round(1)  # (a, b): the low scores get pushed down
    array([[1.2, 1.3]])
    """

    _convex_map = True

    _parameter_constraints = {
        **_TorchCalibrator._input_constraint,
        "parameters": [StrOptions({"abm", "am"})],
        **_TorchCalibrator._engine_constraints,
    }

    def __init__(
        self,
        input="auto",
        *,
        parameters="abm",
        max_epochs=100,
        tol=1e-6,
        device="cpu",
        dtype="float32",
        verbose=0,
    ):
        self.input = input
        self.parameters = parameters
        self.max_epochs = max_epochs
        self.tol = tol
        self.device = device
        self.dtype = dtype
        self.verbose = verbose

    def _default_scorer(self):
        return self._map()

    def _map(self, fixed_a=(), fixed_b=()):
        return BetaMap(tied=self.parameters == "am", fixed_a=fixed_a, fixed_b=fixed_b)

    def _map_constants(self, features, *, fixed=((), ())):
        """Which coefficients a refit holds at zero (see :meth:`fit`)."""
        return {"fixed_a": fixed[0], "fixed_b": fixed[1]}

    def _raw_features(self, logits):
        if logits.shape[1] == 1:
            z = logits[:, 0]
            return np.column_stack([log_expit(z), -log_expit(-z)])
        log_p = log_softmax(logits, axis=1)
        return np.hstack([log_p, -log_complement(log_p)])

    def _targets(self, codes, weight):
        if self._binary():
            return {"target": (codes == 1).astype(np.float64)}
        onehot = np.zeros((codes.shape[0], len(self.classes_)))
        onehot[np.arange(codes.shape[0]), codes] = 1.0
        return {"target": onehot}

    def _base_loss(self, n_classes, **constants):
        return binary_nll if self._binary(n_classes) else one_vs_rest_nll

    def _likelihood(self, n_classes):
        return n_classes == 2

    def _statistics_unavailable(self):
        return (
            "with 3 or more classes the one-vs-rest objective is a sum of "
            "binary likelihoods, not the likelihood of the calibrated "
            "(renormalised) probabilities"
        )

    def _held_parameters(self):
        # Held at zero by the sign constraint (binary fits).
        a, b = self.coef_[0]
        held = {"a": a == 0.0, "b": b == 0.0 and self.parameters == "abm"}
        return {name: 0.0 for name, zero in held.items() if zero}

    def _inference_parameters(self, module, criterion):
        calibration_map = module.calibration_map
        a, b, c = calibration_map.coefficients()
        blocks = [(["a"], a / self.feature_scale_)]
        if self.parameters == "abm":
            blocks.append((["b"], b / self.feature_scale_))
        blocks.append((["c"], c))
        free = {
            "a": bool(calibration_map.free_a[0]),
            "b": bool(calibration_map.free_b[0]),
            "c": True,
        }
        # A coefficient held at zero by the sign constraint is no parameter.
        return [block for block in blocks if free[block[0][0]]]

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, scores, y, sample_weight=None):
        """Fit the beta calibration map (refitting once under the sign
        constraints when needed).

        Parameters
        ----------
        scores : array-like of shape (n_samples,) or (n_samples, n_classes)
            Held-out probabilities (or logits, see ``input``) of the
            classifier to calibrate.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows.

        Returns
        -------
        self
        """
        one_d, scores = is_one_d(scores), as_columns(scores)
        self._fit(scores, y, sample_weight=sample_weight, one_d=one_d)
        if self.parameters == "am":
            return self
        fixed_a = fixed_b = np.zeros(self.intercept_.shape[0], dtype=bool)
        # a first, then b, as the paper and betacal do; a second refit only
        # when the remaining coefficient turns negative too (the map is then
        # constant).
        for _ in range(2):
            a, b = self.coef_.T
            new_a = (a < 0) & ~fixed_a
            new_b = (b < 0) & ~fixed_b & ~new_a
            if not (new_a.any() or new_b.any()):
                break
            fixed_a, fixed_b = fixed_a | new_a, fixed_b | new_b
            fixed = (tuple(fixed_a.tolist()), tuple(fixed_b.tolist()))
            self._fit(scores, y, sample_weight=sample_weight, one_d=one_d, fixed=fixed)
        return self

    @property
    def coef_(self):
        a, b, _ = self.calibration_map_.coefficients()
        coef = torch.stack([a, b], dim=1).detach().cpu().numpy()
        return coef.astype(np.float64) / self.feature_scale_

    @property
    def intercept_(self):
        return self.calibration_map_.c.detach().cpu().numpy().astype(np.float64)
