"""Scaling calibrators: temperature, vector, matrix, Dirichlet and Platt."""

import dataclasses
import math
import numbers

import numpy as np
import torch
from scipy.special import log_softmax
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._engine import _DTYPES
from .._inference import LikelihoodInferenceMixin
from .._loss.calibration import (
    binary_nll,
    multinomial_nll,
    odir_penalty,
    one_vs_rest_nll,
)
from ._base import (
    CalibrationMap,
    _BaseCalibrator,
    _OneVsRestOutputs,
    _TorchCalibrator,
    fill_calibration_doc,
    log_complement,
    log_proba_columns,
)

__all__ = [
    "DirichletCalibrator",
    "MatrixScaling",
    "PlattCalibrator",
    "TemperatureScaling",
    "VectorScaling",
]

# Bounds of log(T) on logits of unit root mean square, as scikit-learn's
# method="temperature" bounds log(1/T) on the logits themselves: a perfectly
# separable calibration set cannot push T to 0 or infinity.
_LOG_T_BOUND = 10.0


class TemperatureMap(CalibrationMap):
    """``z / T`` with ``T = exp(θ)``, ``θ`` clipped to [-10, 10], ``T = 1`` at
    the start (``z`` standardised: of unit root mean square)."""

    def _build(self, n_features, n_outputs):
        self.log_temperature = torch.nn.Parameter(torch.zeros(()))

    @property
    def temperature(self):
        return self.log_temperature.clamp(-_LOG_T_BOUND, _LOG_T_BOUND).exp()

    def forward(self, X):
        return self._squeeze(X / self.temperature)


class VectorMap(CalibrationMap):
    """``w ⊙ z + b``, one scale and one offset per column (``w = 1``, ``b = 0``
    at the start)."""

    def _build(self, n_features, n_outputs):
        self.scale = torch.nn.Parameter(torch.ones(n_outputs))
        self.offset = torch.nn.Parameter(torch.zeros(n_outputs))

    def forward(self, X):
        return self._squeeze(X * self.scale + self.offset)


class LinearMap(CalibrationMap):
    """``W z + b`` from the identity, with the ODIR penalty.

    Parameters
    ----------
    reg_lambda : float, default=0.0
        Weight of the off-diagonal penalty.
    reg_mu : float, default=0.0
        Weight of the intercept penalty.
    """

    def __init__(self, *, reg_lambda=0.0, reg_mu=0.0):
        super().__init__()
        self.reg_lambda = reg_lambda
        self.reg_mu = reg_mu

    @property
    def has_penalty(self):
        return bool(self.reg_lambda or self.reg_mu)

    def _build(self, n_features, n_outputs):
        self.weight = torch.nn.Parameter(torch.eye(n_outputs))
        self.bias = torch.nn.Parameter(torch.zeros(n_outputs))

    def forward(self, X):
        return self._squeeze(X @ self.weight.T + self.bias)

    def penalty(self):
        if not self.has_penalty:
            return None
        return odir_penalty(
            self.weight, self.bias, float(self.reg_lambda), float(self.reg_mu)
        )


class _SoftmaxCalibrator(_TorchCalibrator):
    """A map to class logits trained by the softmax (binary: logistic) NLL."""

    _convex_map = True

    def _raw_features(self, logits):
        return logits

    def _targets(self, codes, weight):
        if self._binary():
            return {"target": codes.astype(np.float64)}
        return {"target": codes}

    def _base_loss(self, n_classes):
        return binary_nll if self._binary(n_classes) else multinomial_nll


# Rows per block of the Newton passes: a block's buffer stays in cache while
# it is exponentiated and summed three times.
_NEWTON_BLOCK = 8192
# Rows of the subsample that gives Newton's starting point on large data.
_NEWTON_WARM_ROWS = 20_000
# A calibration set the logits separate perfectly drives T towards 0; once
# the mean loss is below this, a colder T changes no probability visibly.
_SEPARATED_LOSS = 1e-12


def _temperature_statistics(shifted, beta, floor):
    """Per-row ``Σ e``, ``Σ e d`` and ``Σ e d²`` with ``e = exp(β d)``, by
    blocks of rows and in place (returned as float64)."""
    n = shifted.shape[0]
    out = torch.empty((3, n), dtype=torch.float64, device=shifted.device)
    buffer = torch.empty(
        (min(_NEWTON_BLOCK, n), shifted.shape[1]),
        dtype=shifted.dtype,
        device=shifted.device,
    )
    for start in range(0, n, _NEWTON_BLOCK):
        d = shifted[start : start + _NEWTON_BLOCK]
        e = buffer[: d.shape[0]]
        torch.mul(d, beta, out=e).clamp_min_(floor).exp_()
        rows = slice(start, start + d.shape[0])
        out[0, rows] = e.sum(dim=1)
        out[1, rows] = e.mul_(d).sum(dim=1)
        out[2, rows] = e.mul_(d).sum(dim=1)
    return out


def _newton(shifted, picked, w, beta, tol, max_iter, floor, record=None):
    """Safeguarded Newton on the convex loss in ``β`` (see
    :func:`newton_temperature`). ``record(loss)`` is called after each
    step with the loss at the ``β`` it leaves."""
    low, high = np.exp(-_LOG_T_BOUND), np.exp(_LOG_T_BOUND)

    def evaluate(beta):
        s0, s1, s2 = _temperature_statistics(shifted, beta, floor)
        s1, s2 = s1 / s0, s2 / s0
        loss = float(w @ (torch.log(s0) - beta * picked))
        return loss, float(w @ (s1 - picked)), float(w @ (s2 - s1 * s1))

    # Losses closer than the rounding of the working precision are equal,
    # and steps below it are noise.
    eps = torch.finfo(shifted.dtype).eps
    slack, tol = 64 * eps, max(tol, 16 * eps)
    loss, grad, hess = evaluate(beta)
    for n_iter in range(1, max_iter + 1):
        step = grad / hess if hess > 0 else np.sign(grad) * beta
        at_bound = (beta == low and grad > 0) or (beta == high and grad < 0)
        if at_bound or loss <= _SEPARATED_LOSS:
            return beta, n_iter, True
        # Far from the optimum a Newton step can cross zero: move by at most
        # a factor of 10 per step.
        candidate = float(np.clip(beta - step, beta / 10, beta * 10))
        candidate = float(np.clip(candidate, low, high))
        if abs(candidate - beta) <= tol * beta:
            # Quadratic convergence: this last step is not worth a pass,
            # unless its loss is to be recorded.
            if record is not None:
                record(evaluate(candidate)[0])
            return candidate, n_iter, True
        while True:
            new = evaluate(candidate)
            if new[0] <= loss + slack * abs(loss):
                break
            candidate = 0.5 * (beta + candidate)
            if abs(candidate - beta) <= tol * beta:
                # No step the working precision can see lowers the loss.
                return beta, n_iter, True
        beta, (loss, grad, hess) = candidate, new
        if record is not None:
            record(loss)
    return beta, max_iter, False


def fit_temperature(calibrator, logits, codes, weight):
    """:func:`newton_temperature` under ``calibrator``'s ``dtype``,
    ``device``, ``tol`` and ``max_epochs`` (Newton steps)."""
    return newton_temperature(
        logits,
        codes,
        weight,
        dtype=_DTYPES[calibrator.dtype],
        device=calibrator._resolved_device(),
        tol=calibrator.tol,
        max_iter=calibrator.max_epochs,
    )


def _solve_temperature(module, X, targets, *, max_iter, tol, record):
    """:class:`TemperatureScaling`'s own solver for the engine
    (``Formulation.solve``): Newton's method on ``β = 1 / T`` from the
    map's current temperature, the result written to the map."""
    temperature_map = module.calibration_map
    codes = targets["target"][:, 0].long()
    weight = targets["weight"][:, 0]
    with torch.no_grad():
        start = 1.0 / float(temperature_map.temperature)
        beta, _, converged = newton_temperature(
            X,
            codes,
            weight,
            dtype=X.dtype,
            device=X.device,
            tol=tol,
            max_iter=max_iter,
            start=start,
            record=record,
        )
        temperature_map.log_temperature.fill_(-math.log(beta))
    return converged


def newton_temperature(
    logits, codes, weight, *, dtype, device, tol, max_iter, start=1.0, record=None
):
    """Inverse temperature ``β = 1 / T`` minimising the weighted softmax NLL.

    The NLL is convex in ``β``, with derivative ``E_w[E_p z - z_y]`` and
    second derivative ``E_w[Var_p z] >= 0`` (``p = softmax(β z)``), so
    Newton's method, halving a step whenever it would raise the loss,
    converges in a few passes over the logits. Each pass exponentiates the
    shifted logits ``d = z - max z <= 0`` (which cannot overflow) and takes
    three row sums. The logits are expected standardised (of unit root mean
    square, as :class:`TemperatureScaling` passes them), so that ``β`` is
    found near 1 and ``z - max z`` cannot overflow ``dtype`` whatever the
    size of the scores. On large data the start is the solution on an evenly
    spaced subsample of rows, which leaves two or three full passes.

    ``start`` is the starting ``β``; ``record(loss)`` (optional) is called
    after each full-data step with the weighted mean loss at the ``β`` it
    leaves.

    Returns
    -------
    beta : float
    n_iter : int
        Full-data Newton steps.
    converged : bool
    """
    z = torch.as_tensor(logits, dtype=dtype, device=device)
    if z.shape[1] == 1:
        # Binary log-odds are the softmax of the two logits (0, z).
        z = torch.cat([torch.zeros_like(z), z], dim=1)
    shifted = z - z.max(dim=1, keepdim=True).values
    index = torch.as_tensor(codes, device=device).unsqueeze(1)
    picked = shifted.gather(1, index).squeeze(1).double()
    w = torch.as_tensor(weight, dtype=torch.float64, device=device)
    w = w / w.sum()
    # exp(-80) is about the smallest power that stays a normal float32;
    # denormal terms, negligible next to the row's largest term (1), would
    # slow the exponential down by orders of magnitude.
    floor = -80.0 if dtype == torch.float32 else -700.0
    beta = float(start)
    n = shifted.shape[0]
    if n > 2 * _NEWTON_WARM_ROWS and beta == 1.0:
        rows = torch.arange(0, n, n // _NEWTON_WARM_ROWS, device=device)
        sub_w = w[rows] / w[rows].sum()
        if sub_w.sum() > 0:
            beta, _, _ = _newton(
                shifted[rows], picked[rows], sub_w, beta, 1e-3, max_iter, floor
            )
    return _newton(shifted, picked, w, beta, tol, max_iter, floor, record)


@fill_calibration_doc
class TemperatureScaling(LikelihoodInferenceMixin, _SoftmaxCalibrator):
    """Temperature scaling: ``softmax(z / T)`` with one fitted temperature.

    The logits ``z`` are divided by a single ``T > 0`` chosen to minimise the
    negative log-likelihood of the calibration labels (Guo et al., 2017, "On
    calibration of modern neural networks", ICML). Dividing every logit by the
    same positive number keeps their order, so the predicted class, and the
    accuracy, do not change. Binary problems use the log-odds:
    ``σ(z / T)``.

    The logits are first divided by their root mean square ``s``
    (``feature_scale_``), and ``T / s`` is searched in ``[e^-10, e^10]``, as
    scikit-learn's ``method="temperature"`` bounds ``T`` itself (the two
    agree unless the optimum lies at a bound, as for a perfectly separated
    calibration set). So the fit does not depend on the size of the scores:
    logits multiplied by any ``c > 0`` give ``c`` times the temperature and
    the same probabilities, from ``1e-6`` to ``1e30``, in float32 as in
    float64.

    The loss is convex in ``1 / T`` and its first two derivatives are row
    sums, so the default solver is Newton's method in torch (a handful of
    passes over the logits, on ``device``), run by the engine like any of its
    solvers (``history_`` holds the objective after each step);
    ``solver="lbfgs"`` trains the same map with the engine's full-batch
    L-BFGS instead.

    The fit is a maximum-likelihood fit, with the statistics of
    :ref:`inference` whichever the solver: :meth:`summary` reports the
    one parameter ``"inverse_temperature"``, ``1 / T``, the coefficient of
    the logits in the logistic (softmax) regression ``softmax(z / T)``,
    on which the likelihood is a GLM's and Newton's method works (its
    standard error is that of ``1 / T``; ``T``'s own is
    ``T² · se(1 / T)`` by the delta method).

    Parameters
    ----------
    {input_param}
    solver : {"newton", "lbfgs"}, default="newton"
        Newton's method on ``1 / T``, or the engine's L-BFGS on ``log T``.
    max_epochs : int, default=100
        Maximum Newton steps (L-BFGS: epochs of 20 iterations).
    tol : float, default=1e-6
        Newton stops when a step changes ``T`` by less than this fraction,
        or than 16 machine epsilons of ``dtype`` (L-BFGS: its gradient
        tolerance).
    device : {"cpu", "cuda", "auto"} or torch.device, default="cpu"
        Where the logits are processed; they are moved there once.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the logits during the fit (sums over rows are float64).
    verbose : int, default=0
        Progress output of the L-BFGS solver.

    Attributes
    ----------
    temperature_ : float
        The fitted temperature ``T`` (above 1 softens overconfident scores).
    feature_scale_ : float
        The root mean square ``s`` of the logits (binary: log-odds) the
        solver divides them by.
    n_iter_ : int
        Newton steps (L-BFGS epochs) run.
    converged_ : bool
        Whether the solver met its tolerance.
    {calibrator_attributes}
    {likelihood_attributes}

    See Also
    --------
    VectorScaling : One scale and offset per class.
    HCalibrator : An order-preserving monotone map fitted by the
        h-calibration objective.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.calibration import TemperatureScaling
    >>> rng = np.random.default_rng(0)
    >>> logits = rng.normal(size=(5000, 3)) * 3  # three times too confident
    >>> p = np.exp(logits / 3) / np.exp(logits / 3).sum(1, keepdims=True)
    >>> y = (rng.uniform(size=(5000, 1)) > p.cumsum(1)).sum(1)
    >>> ts = TemperatureScaling().fit(logits, y)
    >>> round(ts.temperature_, 1)
    3.0
    >>> ts.predict_proba(logits[:2]).round(2)
    array([[0.29, 0.22, 0.49],
           [0.35, 0.19, 0.46]])
    """

    _parameter_constraints = {
        **_TorchCalibrator._input_constraint,
        "solver": [StrOptions({"newton", "lbfgs"})],
        **_TorchCalibrator._engine_constraints,
    }

    def __init__(
        self,
        input="auto",
        *,
        solver="newton",
        max_epochs=100,
        tol=1e-6,
        device="cpu",
        dtype="float32",
        verbose=0,
    ):
        self.input = input
        self.solver = solver
        self.max_epochs = max_epochs
        self.tol = tol
        self.device = device
        self.dtype = dtype
        self.verbose = verbose

    def _default_scorer(self):
        return TemperatureMap()

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, scores, y, sample_weight=None):
        """Fit the temperature.

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
        super().fit(scores, y, sample_weight=sample_weight)
        self.temperature_ = self.feature_scale_ * float(
            self.net_.module_.calibration_map.temperature.detach()
        )
        return self

    def _formulation(self, n_classes, **constants):
        formulation = super()._formulation(n_classes, **constants)
        if self.solver == "newton":
            formulation = dataclasses.replace(formulation, solve=_solve_temperature)
        return formulation

    def _likelihood(self, n_classes):
        return True

    def _inference_parameters(self, module, criterion):
        temperature = module.calibration_map.temperature
        return [(["inverse_temperature"], 1.0 / (self.feature_scale_ * temperature))]

    def _predict_logits(self, scores):
        check_is_fitted(self, "temperature_")
        return _BaseCalibrator._predict_logits(self, scores)

    def _predict_log_proba_logits(self, logits):
        return log_proba_columns(logits / self.temperature_)


@fill_calibration_doc
class VectorScaling(_SoftmaxCalibrator):
    """Vector scaling: ``softmax(w ⊙ z + b)``, a scale and offset per class.

    Fitted by the negative log-likelihood (Guo et al., 2017). Between
    temperature scaling (one parameter) and matrix scaling (``k² + k``); it
    may change the predicted class. For binary problems it is Platt scaling
    of the log-odds, ``σ(a z + c)``. It is fitted on the logits divided by
    their root mean square (``feature_scale_``), so logits multiplied by any
    ``c > 0`` give the same probabilities.

    Parameters
    ----------
    {input_param}
    {torch_params}

    Attributes
    ----------
    coef_ : ndarray of shape (n_outputs,)
        The scales ``w`` (one for binary problems).
    intercept_ : ndarray of shape (n_outputs,)
        The offsets ``b``.
    {calibrator_attributes}
    {torch_attributes}

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.calibration import VectorScaling
    >>> logits = np.array([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 3.0],
    ...                    [1.0, 0.0, 0.0], [0.0, 2.0, 1.0], [1.0, 0.0, 2.0]])
    >>> vs = VectorScaling().fit(logits, [0, 1, 2, 0, 1, 0])
    >>> vs.predict_proba(logits).shape
    (6, 3)
    """

    _parameter_constraints = {
        **_TorchCalibrator._input_constraint,
        **_TorchCalibrator._engine_constraints,
    }

    def __init__(
        self,
        input="auto",
        *,
        max_epochs=100,
        tol=1e-6,
        device="cpu",
        dtype="float32",
        verbose=0,
    ):
        self.input = input
        self.max_epochs = max_epochs
        self.tol = tol
        self.device = device
        self.dtype = dtype
        self.verbose = verbose

    def _default_scorer(self):
        return VectorMap()

    @property
    def coef_(self):
        scale = self.calibration_map_.scale.detach().cpu().numpy()
        return scale.astype(np.float64) / self.feature_scale_

    @property
    def intercept_(self):
        return self.calibration_map_.offset.detach().cpu().numpy().astype(np.float64)


class _LinearMapCalibrator(_SoftmaxCalibrator):
    """Matrix scaling and Dirichlet calibration: ``W x + b`` with ODIR."""

    _parameter_constraints = {
        **_TorchCalibrator._input_constraint,
        "reg_lambda": [Interval(numbers.Real, 0, None, closed="left")],
        "reg_mu": [None, Interval(numbers.Real, 0, None, closed="left")],
        **_TorchCalibrator._engine_constraints,
    }

    def __init__(
        self,
        input="auto",
        *,
        reg_lambda=0.0,
        reg_mu=None,
        max_epochs=100,
        tol=1e-6,
        device="cpu",
        dtype="float32",
        verbose=0,
    ):
        self.input = input
        self.reg_lambda = reg_lambda
        self.reg_mu = reg_mu
        self.max_epochs = max_epochs
        self.tol = tol
        self.device = device
        self.dtype = dtype
        self.verbose = verbose

    def _default_scorer(self):
        reg_mu = self.reg_lambda if self.reg_mu is None else self.reg_mu
        return LinearMap(reg_lambda=self.reg_lambda, reg_mu=reg_mu)

    @property
    def coef_(self):
        weight = self.calibration_map_.weight.detach().cpu().numpy()
        return weight.astype(np.float64) / self.feature_scale_

    @property
    def intercept_(self):
        return self.calibration_map_.bias.detach().cpu().numpy().astype(np.float64)


@fill_calibration_doc
class MatrixScaling(_LinearMapCalibrator):
    """Matrix scaling: ``softmax(W z + b)`` on the logits, with ODIR.

    A full linear map of the ``k`` logits (Guo et al., 2017), started at the
    identity and fitted by the negative log-likelihood plus the off-diagonal
    and intercept regularisation (ODIR) of Kull et al. (2019):
    ``λ / (k (k - 1)) Σ_{i≠j} W_ij² + μ / k Σ_j b_j²``. Without
    regularisation it overfits easily when ``k`` is large. Binary problems
    reduce to ``σ(a z + c)``.

    The map is fitted on the logits divided by their root mean square ``s``
    (``feature_scale_``), and the penalty applies to the matrix of these
    standardised logits, ``s W`` (``coef_ * feature_scale_``): logits
    multiplied by any ``c > 0`` give the same probabilities, penalised or
    not.

    Parameters
    ----------
    {input_param}
    reg_lambda : float, default=0.0
        Off-diagonal penalty ``λ``.
    reg_mu : float, default=None
        Intercept penalty ``μ``; ``None`` uses ``reg_lambda``.
    {torch_params}

    Attributes
    ----------
    coef_ : ndarray of shape (n_outputs, n_outputs)
        The matrix ``W``.
    intercept_ : ndarray of shape (n_outputs,)
        The intercepts ``b``.
    {calibrator_attributes}
    {torch_attributes}

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.calibration import MatrixScaling
    >>> rng = np.random.default_rng(0)
    >>> logits = rng.normal(size=(300, 3))
    >>> y = (logits + rng.gumbel(size=(300, 3))).argmax(1)
    >>> ms = MatrixScaling(reg_lambda=1e-2).fit(logits, y)
    >>> ms.coef_.shape
    (3, 3)
    """


@fill_calibration_doc
class DirichletCalibrator(_LinearMapCalibrator):
    """Dirichlet calibration: ``softmax(W log p + b)``, with ODIR.

    The map is linear in the log-probabilities ``log p`` (the log-softmax of
    logits), which is the family obtained by assuming class-conditional
    Dirichlet distributions of ``p`` (Kull et al., 2019, "Beyond temperature
    scaling: obtaining well-calibrated multiclass probabilities with
    Dirichlet calibration", NeurIPS). It is fitted by the negative
    log-likelihood plus the off-diagonal and intercept regularisation (ODIR)
    ``λ / (k (k - 1)) Σ_{i≠j} W_ij² + μ / k Σ_j b_j²``. For binary problems
    the two log-probabilities make it beta calibration without the sign
    constraints.

    The log-probabilities are computed from the logits (a log-softmax, so
    logits of ``1e30`` give finite ones), divided by their root mean square
    ``s`` (``feature_scale_``) for the fit, and the penalty applies to the
    matrix of these standardised features, ``s W``. The map is evaluated in
    float64. Its probabilities are finite and keep the order of binary
    scores at any scale; they are not the same at every scale, since
    ``log p`` is not proportional to the logits.

    Parameters
    ----------
    {input_param}
    reg_lambda : float, default=0.0
        Off-diagonal penalty ``λ``.
    reg_mu : float, default=None
        Intercept penalty ``μ``; ``None`` uses ``reg_lambda``.
    {torch_params}

    Attributes
    ----------
    coef_ : ndarray of shape (n_classes, n_classes)
        The matrix ``W``.
    intercept_ : ndarray of shape (n_classes,)
        The intercepts ``b``.
    {calibrator_attributes}
    {torch_attributes}

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.calibration import DirichletCalibrator
    >>> rng = np.random.default_rng(0)
    >>> proba = rng.dirichlet(np.ones(3), size=300)
    >>> y = np.array([rng.choice(3, p=q) for q in proba])
    >>> dc = DirichletCalibrator(reg_lambda=1e-3).fit(proba, y)
    >>> dc.predict_proba(proba[:1]).sum().round(6)
    np.float64(1.0)
    """

    def _binary(self, n_classes=None):
        # The map sees both log-probabilities, also for two classes.
        return False

    def _raw_features(self, logits):
        return log_proba_columns(logits)


@fill_calibration_doc
class PlattCalibrator(LikelihoodInferenceMixin, _OneVsRestOutputs, _TorchCalibrator):
    """Platt scaling: ``σ(a s + c)`` of each class's score, one-vs-rest.

    A logistic regression on the score (Platt, 1999, "Probabilistic outputs
    for support vector machines and comparisons to regularized likelihood
    methods"), fitted with Platt's smoothed targets
    ``(N₊ + 1) / (N₊ + 2)`` and ``1 / (N₋ + 2)`` as scikit-learn's
    ``method="sigmoid"`` is. The score is the log-odds ``z`` for binary
    problems; for ``k >= 3`` classes each class gets its own ``(a_k, c_k)``
    on its logit (or the log-odds of its probability), and the ``k``
    probabilities are renormalised to sum to one. The scores are divided by
    their root mean square (``feature_scale_``) for the fit, so scores
    multiplied by any ``c > 0`` give the same probabilities.

    With ``smooth_targets=False`` and two classes the fit is the
    maximum-likelihood logistic regression of the labels on the score, and
    it has the statistics of :ref:`inference`: :meth:`summary` of ``"a"``
    (the slope of the score, on the scale of the scores given) and ``"c"``
    (the intercept), the log-likelihood, AIC and BIC. Platt's smoothed
    targets are not the labels, so the default fit maximises another
    objective and has none; nor has a fit of ``k >= 3`` classes, whose
    one-vs-rest objective is a sum of ``k`` binary likelihoods, not the
    likelihood of the renormalised probabilities.

    Parameters
    ----------
    {input_param}
    smooth_targets : bool, default=True
        Use Platt's smoothed targets instead of 0/1.
    {torch_params}

    Attributes
    ----------
    coef_ : ndarray of shape (n_outputs,)
        The slopes ``a``.
    intercept_ : ndarray of shape (n_outputs,)
        The intercepts ``c``.
    {calibrator_attributes}
    {torch_attributes}
    {likelihood_attributes}

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.calibration import PlattCalibrator
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=5000) * 4
    >>> y = rng.uniform(size=5000) < 1 / (1 + np.exp(-z / 4))
    >>> platt = PlattCalibrator(input="logits").fit(z, y)
    >>> round(float(platt.coef_[0]), 2)
    0.26
    >>> mle = PlattCalibrator(input="logits", smooth_targets=False).fit(z, y)
    >>> table = mle.summary()
    >>> list(table.index), table["std_error"].round(3).tolist()
    (['a', 'c'], [0.009, 0.031])
    """

    _convex_map = True

    _parameter_constraints = {
        **_TorchCalibrator._input_constraint,
        "smooth_targets": ["boolean"],
        **_TorchCalibrator._engine_constraints,
    }

    def __init__(
        self,
        input="auto",
        *,
        smooth_targets=True,
        max_epochs=100,
        tol=1e-6,
        device="cpu",
        dtype="float32",
        verbose=0,
    ):
        self.input = input
        self.smooth_targets = smooth_targets
        self.max_epochs = max_epochs
        self.tol = tol
        self.device = device
        self.dtype = dtype
        self.verbose = verbose

    def _default_scorer(self):
        return VectorMap()

    def _raw_features(self, logits):
        if logits.shape[1] > 1 and self.input_ == "probabilities":
            # Each class's log-odds, from its log-probability.
            log_p = log_softmax(logits, axis=1)
            return log_p - log_complement(log_p)
        return logits

    def _targets(self, codes, weight):
        n_classes = len(self.classes_)
        onehot = np.zeros((codes.shape[0], n_classes))
        onehot[np.arange(codes.shape[0]), codes] = 1.0
        if self.smooth_targets:
            positives = weight @ onehot
            negatives = weight.sum() - positives
            onehot = np.where(
                onehot > 0,
                (positives + 1.0) / (positives + 2.0),
                1.0 / (negatives + 2.0),
            )
        return {"target": onehot[:, 1] if self._binary() else onehot}

    def _base_loss(self, n_classes):
        return binary_nll if self._binary(n_classes) else one_vs_rest_nll

    def _likelihood(self, n_classes):
        return n_classes == 2 and not self.smooth_targets

    def _statistics_unavailable(self):
        if self.smooth_targets:
            return (
                "Platt's smoothed targets are not the labels, so the fit is "
                "not a maximum-likelihood fit; fit with smooth_targets=False"
            )
        return (
            "with 3 or more classes the one-vs-rest objective is a sum of "
            "binary likelihoods, not the likelihood of the calibrated "
            "(renormalised) probabilities"
        )

    def _inference_parameters(self, module, criterion):
        calibration_map = module.calibration_map
        return [
            (["a"], calibration_map.scale / self.feature_scale_),
            (["c"], calibration_map.offset),
        ]

    @property
    def coef_(self):
        scale = self.calibration_map_.scale.detach().cpu().numpy()
        return scale.astype(np.float64) / self.feature_scale_

    @property
    def intercept_(self):
        return self.calibration_map_.offset.detach().cpu().numpy().astype(np.float64)
