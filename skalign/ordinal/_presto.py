"""PRESTO: cumulative logits with separate weights shrunk towards proportional odds.

The model has one weight vector per threshold, ``P(y <= k | x) = σ(θ_k - x ·
β_k)``, and the fit penalises ``λ (‖β_1‖₁ + Σ_k ‖β_k - β_{k-1}‖₁)`` (Faletto
and Bien, 2023). Reparametrised by the differences ``δ_1 = β_1``, ``δ_k = β_k
- β_{k-1}``, the penalty is a plain weighted L1 norm of ``δ``, so the problem
is solved exactly by accelerated proximal gradient (FISTA) with
soft-thresholding. The engine's optimisers cannot apply a proximal step, so
FISTA is the formulation's own solver (``Formulation.solve``): the engine
validates, builds the module, runs it and keeps history, convergence,
transactions and persistence as for every family.
"""

import functools
import itertools
import math
import numbers
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import ClassifierMixin, _fit_context, clone
from sklearn.model_selection import check_cv
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import check_is_fitted, check_X_y, validate_data
from torch import nn

from .._engine import (
    _CONTINUATION_PARAMS,
    FULL_BATCH_SETTINGS,
    Formulation,
    Problem,
    TorchEstimator,
    to_torch,
)
from .._inference import LikelihoodInferenceMixin
from .._loss.ordinal import cumulative_logit_loss, log_interval_proba
from ..exceptions import ConvergenceWarning
from ..nn import Scorer
from ..utils._groups import check_sample_weight
from ..utils._units import row_units
from ..utils._validation import check_features, resolve_device
from ._base import (
    ORDINAL_CLASSIFIER_CONSTRAINTS,
    SCORINGS,
    CumulativeLogitClassifierMixin,
    category_order,
    empirical_cumulative_logits,
    encode_ordinal_labels,
    fit_classes,
    ordinal_score,
)

__all__ = ["PrestoClassifier", "PrestoClassifierCV", "presto_path"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}
_MAX_BACKTRACKS = 60
# Each iteration first tries a step this much longer than the last accepted
# one, so the step can grow again after passing a region of high curvature.
_STEP_GROWTH = 1.25


class _CumulativeLogitLikelihood:
    """Weighted mean negative log-likelihood of non-parallel cumulative logits.

    ``f(θ, δ) = -Σ_i w_i log(σ(θ_{y_i} - x_i·β_{y_i}) - σ(θ_{y_i - 1} -
    x_i·β_{y_i - 1})) / Σ_i w_i`` with ``β = cumsum(δ)``. It is convex on the
    convex set where every training row's observed class has positive
    probability, and ``+inf`` outside it; the solver stays inside. The
    parameters are one flat vector ``[θ, δ.ravel()]`` (so the solver's
    steps, inner products and proximal map are single tensor operations),
    and the gradient is written out, one pass of ``X`` each way.
    """

    def __init__(self, X, codes, weight, n_classes):
        # Rows of positive weight: X a (dense or sparse COO) tensor, codes
        # and weight tensors on its device.
        dtype, device = X.dtype, X.device
        self.X = X
        self.XT = X.t() if X.layout == torch.strided else X.t().coalesce()
        codes = codes.reshape(-1, 1).to(device=device, dtype=torch.int64)
        # Columns of the observed class's lower and upper cumulative logit in
        # the logits padded with -inf and +inf.
        self.bound_index = torch.cat([codes, codes + 1], dim=1)
        weight = weight.reshape(-1).to(device=device, dtype=dtype)
        self.weight = (weight / weight.sum())[:, None]
        self.n_thresholds = n_classes - 1
        self.n_features = X.shape[1]
        self.dtype, self.device = dtype, device
        self.metric = self._diagonal_metric(codes[:, 0], self.weight[:, 0])
        m = self.n_thresholds
        self._padded = torch.empty((codes.shape[0], m + 2), dtype=dtype, device=device)
        self._padded[:, 0], self._padded[:, -1] = -torch.inf, torch.inf
        # ∂f/∂δ_j = Σ_{k >= j} ∂f/∂β_k, as one product.
        self._suffix_sum = torch.ones((m, m), dtype=dtype, device=device).triu()

    @classmethod
    def from_arrays(cls, X, codes, weight, n_classes, dtype, device):
        """The likelihood of validated numpy / scipy data (rows of zero
        weight dropped), in ``dtype`` on ``device``."""
        keep = weight > 0
        return cls(
            to_torch(X[keep], dtype, device),
            torch.as_tensor(codes[keep], device=device),
            torch.as_tensor(weight[keep], dtype=dtype, device=device),
            n_classes,
        )

    def _diagonal_metric(self, codes, weight):
        """A diagonal curvature scale per parameter, for preconditioning.

        Threshold ``k`` sees the rows of classes ``k`` and ``k + 1``; a
        difference ``δ_j`` moves every ``β_k`` with ``k >= j``. So the scale
        of ``θ_k`` is the weight share of those rows, and that of ``δ_{j,f}``
        is ``Σ_{k >= j}`` of their weighted mean of ``x_f²``. It evens out
        feature scales and the cumulative reparametrisation, which would
        otherwise slow proximal gradient down.
        """
        m = self.n_thresholds
        thresholds = torch.arange(m, device=self.device)
        touch = (codes[:, None] == thresholds) | (codes[:, None] == thresholds + 1)
        share = touch.to(self.dtype) * weight[:, None]
        X = self.X
        if X.layout == torch.strided:
            squared_t = (X * X).t()
        else:
            X = X.coalesce()
            squared = torch.sparse_coo_tensor(
                X.indices(), X.values() ** 2, X.shape, check_invariants=False
            )
            squared_t = squared.t().coalesce()
        beta = self._mm(squared_t, share).T
        delta = beta.flip(0).cumsum(0).flip(0)
        metric = torch.cat([share.sum(0), delta.reshape(-1)])
        return metric.clamp_min(1e-12 * float(metric.max()))

    # ------------------------------------------------------------ parameters
    def split(self, params):
        """Flat parameters -> thresholds ``θ`` and differences ``δ`` (views)."""
        m = self.n_thresholds
        return params[:m], params[m:].view(m, self.n_features)

    def join(self, theta, delta):
        return torch.cat([theta.reshape(-1), delta.reshape(-1)])

    def from_estimates(self, thresholds, coef):
        """Thresholds and weights per threshold ``β`` -> flat parameters."""
        theta = torch.as_tensor(thresholds, dtype=self.dtype, device=self.device)
        beta = torch.as_tensor(coef, dtype=self.dtype, device=self.device)
        return self.join(theta, torch.cat([beta[:1], torch.diff(beta, dim=0)]))

    def to_estimates(self, params):
        """Flat parameters -> ``(thresholds, coef)`` as float64 numpy."""
        theta, delta = self.split(params)
        return _to_numpy(theta), _to_numpy(torch.cumsum(delta, 0))

    def penalty_weights(self, alpha, alpha_first):
        """Per-parameter L1 strength: 0 on ``θ``, then one per row of ``δ``."""
        first = alpha if alpha_first is None else alpha_first
        rows = torch.tensor(
            [first] + [alpha] * (self.n_thresholds - 1),
            dtype=self.dtype,
            device=self.device,
        )
        theta = torch.zeros(self.n_thresholds, dtype=self.dtype, device=self.device)
        return torch.cat([theta, rows.repeat_interleave(self.n_features)])

    # ------------------------------------------------------------- objective
    @staticmethod
    def _mm(A, B):
        return A @ B if A.layout == torch.strided else torch.sparse.mm(A, B)

    def _bounds(self, params):
        """Lower and upper cumulative logits of each row's observed class."""
        theta, delta = self.split(params)
        self._padded[:, 1:-1] = theta - self._mm(self.X, torch.cumsum(delta, 0).T)
        bounds = self._padded.gather(1, self.bound_index)
        return bounds[:, :1], bounds[:, 1:]

    def value(self, params):
        """``f``, or ``inf`` outside the domain."""
        lower, upper = self._bounds(params)
        if bool((upper <= lower).any()):
            return math.inf
        return float(-(self.weight * log_interval_proba(lower, upper)).sum())

    def value_and_grad(self, params):
        """``(f, ∇f)``, or ``(inf, None)`` outside the domain."""
        lower, upper = self._bounds(params)
        if bool((upper <= lower).any()):
            return math.inf, None
        value = float(-(self.weight * log_interval_proba(lower, upper)).sum())
        # d/du log(σ(u) - σ(l)) = σ(-u) + 1 / expm1(u - l), and
        # d/dl = -σ(l) - 1 / expm1(u - l); both are 0 at infinite ends.
        inverse_gap = 1.0 / torch.expm1(upper - lower)
        grad_bounds = self.weight * torch.cat(
            [torch.sigmoid(lower) + inverse_gap, -torch.sigmoid(-upper) - inverse_gap],
            dim=1,
        )
        grad_padded = torch.zeros_like(self._padded).scatter_add_(
            1, self.bound_index, grad_bounds
        )
        grad_eta = grad_padded[:, 1:-1]
        grad_delta = -self._suffix_sum @ self._mm(self.XT, grad_eta).T
        return value, self.join(grad_eta.sum(0), grad_delta)

    def initial_params(self, codes, weight):
        """The intercept-only fit: empirical cumulative logits, ``δ = 0``."""
        codes, weight = (
            v.cpu().numpy() if isinstance(v, torch.Tensor) else v
            for v in (codes, weight)
        )
        theta = empirical_cumulative_logits(codes, weight, self.n_thresholds + 1)
        theta = torch.as_tensor(theta, dtype=self.dtype, device=self.device)
        return self.join(
            theta,
            torch.zeros(
                (self.n_thresholds, self.n_features),
                dtype=self.dtype,
                device=self.device,
            ),
        )


def _to_numpy(tensor):
    return tensor.detach().to("cpu", torch.float64).numpy()


def _soft_threshold(params, threshold):
    """Proximal map of ``Σ_j threshold_j |w_j|``; an infinite threshold gives 0."""
    return torch.sign(params) * (params.abs() - threshold).clamp_min(0.0)


def _fista(problem, strength, params, *, max_iter, tol, record=None):
    """Minimise ``problem.value(w) + Σ_j strength_j |w_j|`` by FISTA.

    Accelerated proximal gradient (Beck and Teboulle, 2009) in the diagonal
    metric ``problem.metric`` (so the proximal map stays a soft-thresholding,
    one threshold per coordinate), with a backtracking line search on the
    local Lipschitz constant that may also lengthen the step, momentum
    restarts by the gradient test of O'Donoghue and Candès (2015), and a
    fall-back to the current iterate when the
    extrapolated point leaves the likelihood's domain. Near the optimum,
    where function values no longer resolve the sufficient-decrease test,
    the line search compares gradients instead (as TFOCS does; Becker,
    Candès and Grant, 2011). Stops when the gradient mapping
    ``L ‖D (z - y)‖_∞`` is at most ``tol`` (a KKT residual in units of the
    gradient: zero exactly at the minimum). ``record(objective)``, if
    given, is called after each iteration with the penalised objective at
    the iterate it leaves.

    Returns
    -------
    params : tensor at the solution
    n_iter : int
    converged : bool
    """
    x = params
    f_x, grad_x = problem.value_and_grad(x)
    if grad_x is None:
        raise ValueError("The starting point gives a training row zero probability.")
    metric = problem.metric
    x_prev, t, lipschitz = x, 1.0, 1.0
    noise = 1e3 * torch.finfo(problem.dtype).eps
    for n_iter in range(1, max_iter + 1):
        t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
        momentum = (t - 1.0) / t_next
        y, f_y, grad_y = x, f_x, grad_x
        if momentum > 0:
            y_try = x + momentum * (x - x_prev)
            f_try, grad_try = problem.value_and_grad(y_try)
            if grad_try is not None:
                y, f_y, grad_y = y_try, f_try, grad_try
        if grad_y is None:
            f_x, grad_x = problem.value_and_grad(x)
            y, f_y, grad_y = x, f_x, grad_x
        lipschitz /= _STEP_GROWTH
        for _ in range(_MAX_BACKTRACKS):
            scale = 1.0 / (lipschitz * metric)
            z = _soft_threshold(y - grad_y * scale, strength * scale)
            step = z - y
            squared = float(step @ (metric * step))
            f_z, grad_z = problem.value(z), None
            if lipschitz * squared / 2 > noise * (abs(f_y) + 1.0):
                excess = f_z - f_y - float(grad_y @ step)
                accepted = excess <= lipschitz * squared / 2
            elif math.isfinite(f_z):
                f_z, grad_z = problem.value_and_grad(z)
                accepted = float((grad_z - grad_y) @ step) <= lipschitz * squared
            else:
                accepted = False
            if accepted:
                break
            lipschitz *= 2.0
        else:
            return x, n_iter, False
        gradient_mapping = lipschitz * float((metric * step).abs().max())
        if record is not None:
            # An infinite strength holds its weight at 0: no penalty.
            record(f_z + float((strength * z.abs()).nan_to_num(0.0).sum()))
        # Restart when the step goes against the momentum.
        if float((metric * step) @ (z - x)) < 0:
            x_prev, t = z, 1.0
        else:
            x_prev, t = x, t_next
        x, f_x, grad_x = z, f_z, grad_z
        if gradient_mapping <= tol:
            return x, n_iter, True
    return x, max_iter, False


def _validate_fit_data(estimator, X, y, sample_weight):
    """Validated ``X`` and labels: ``(X, y, weight, classes, codes)``."""
    order = category_order(y)
    X = check_features(X)
    check = dict(
        accept_sparse=("csr", "csc", "coo"), dtype=np.float64, ensure_min_samples=2
    )
    if estimator is None:
        X, y = check_X_y(X, y, **check)
    else:
        X, y = validate_data(estimator, X, y, **check)
    if sp.issparse(X):
        X = X.tocsr()
    weight = check_sample_weight(sample_weight, X.shape[0])
    classes, codes = encode_ordinal_labels(y, weight, order=order)
    return X, y, weight, classes, codes


def _alpha_grid(problem, start, n_alphas, eps, alpha_first, *, max_iter, tol):
    """``n_alphas`` strengths, log-spaced from the smallest that zeroes ``δ``.

    The largest is the sup-norm of the likelihood's gradient over the
    penalised parameters at the fit where they are all zero (KKT: none
    enters before). With ``alpha_first`` fixed, only the differences are
    zeroed.
    """
    zeroed = problem.penalty_weights(
        math.inf, math.inf if alpha_first is None else alpha_first
    )
    params, _, _ = _fista(problem, zeroed, start, max_iter=max_iter, tol=tol)
    _, grad = problem.value_and_grad(params)
    free = torch.isinf(zeroed)
    alpha_max = float(grad[free].abs().max()) if bool(free.any()) else 0.0
    if alpha_max <= 0.0:
        # Nothing can enter (e.g. two classes with alpha_first fixed): the
        # grid is arbitrary.
        alpha_max = 1.0
    return np.geomspace(alpha_max, alpha_max * eps, n_alphas)


def _solve_path(problem, start, alphas, alpha_first, *, max_iter, tol):
    """``(params, n_iter, converged)`` along decreasing ``alphas``, warm-started."""
    params, solutions = start, []
    for alpha in alphas:
        strength = problem.penalty_weights(alpha, alpha_first)
        params, n_iter, converged = _fista(
            problem, strength, params, max_iter=max_iter, tol=tol
        )
        solutions.append((params, n_iter, converged))
    return solutions


def _warn_not_converged(name, max_iter, tol, stacklevel=3):
    warnings.warn(
        f"{name} stopped at max_iter={max_iter} before the gradient mapping "
        f"fell below tol={tol}; raise max_iter or tol.",
        ConvergenceWarning,
        stacklevel=stacklevel,
    )


class _NonParallelCumulativeLogits(Scorer):
    """The module PRESTO trains: thresholds ``θ`` (``n_outputs``) and weight
    differences ``δ`` (``n_outputs x n_features``), giving the cumulative
    logits ``θ_k - x · β_k`` with ``β = cumsum(δ)``."""

    accepts_sparse = True

    def _build(self, n_features, n_outputs):
        self.thresholds = nn.Parameter(torch.zeros(n_outputs))
        self.differences = nn.Parameter(torch.zeros(n_outputs, n_features))

    def forward(self, X):
        beta_t = torch.cumsum(self.differences, 0).T
        if X.layout == torch.strided:
            return self.thresholds - X @ beta_t
        return self.thresholds - torch.sparse.mm(X, beta_t)


def _presto_module(scorer, initial_thresholds=None):
    """The module around the scorer: the scorer itself, its thresholds
    started at the intercept-only fit on a fresh fit."""
    if initial_thresholds is not None:
        with torch.no_grad():
            scorer.thresholds.copy_(torch.as_tensor(initial_thresholds))
    return scorer


def _solve_presto(module, X, targets, *, max_iter, tol, record, strengths, n_classes):
    """PRESTO's solver for the engine (``Formulation.solve``): FISTA from the
    module's weights, the solution written back to them."""
    codes, weight = targets["label"][:, 0], targets["weight"][:, 0]
    problem = _CumulativeLogitLikelihood(X, codes, weight, n_classes)
    with torch.no_grad():
        params = problem.join(module.thresholds, module.differences)
        if not math.isfinite(problem.value(params)):
            # A warm start fitted on other rows can give one of these rows
            # zero probability: start from the intercept-only fit instead.
            params = problem.initial_params(codes, weight)
        params, _, converged = _fista(
            problem,
            problem.penalty_weights(*strengths),
            params,
            max_iter=max_iter,
            tol=tol,
            record=record,
        )
        theta, delta = problem.split(params)
        module.thresholds.copy_(theta)
        module.differences.copy_(delta)
    return converged


class PrestoClassifier(
    LikelihoodInferenceMixin,
    CumulativeLogitClassifierMixin,
    ClassifierMixin,
    TorchEstimator,
):
    """PRESTO: an ordinal logit whose weights may change from threshold to threshold.

    A cumulative logit model with separate linear weights per threshold,
    ``P(y <= c_k | x) = σ(θ_k - x · β_k)``, fitted by minimising the weighted
    mean negative log-likelihood plus
    ``alpha_first ‖β_1‖₁ + alpha Σ_{k≥2} ‖β_k - β_{k-1}‖₁``
    (PRESTO, "Predicting Rare Events by Shrinking Towards Proportional Odds",
    Faletto and Bien, 2023). The fused penalty keeps adjacent thresholds'
    weights equal unless the data say otherwise: a rare extreme class borrows
    strength from the common ones, yet gets its own weights where it differs.
    A large ``alpha`` gives the proportional odds model; ``alpha = 0`` gives
    separate cumulative logits.

    The problem is convex and is solved exactly by FISTA with
    soft-thresholding on the differences ``δ_k = β_k - β_{k-1}`` (no
    subgradient steps), in full batch with torch, as the training engine's
    solver for this objective (``history_`` holds the objective after each
    iteration). The thresholds ``θ`` are
    not penalised. Like scikit-learn's ``Lasso``, ``X`` is used as given:
    standardise features (e.g. in a ``Pipeline`` with ``StandardScaler``) so
    the penalty treats them alike.

    **Crossing curves.** With separate weights, the cumulative curves
    ``P(y <= c_k | x)`` of two thresholds can cross for some ``x``, which
    would give a negative class probability. Training keeps every training
    row's observed class at positive probability (the likelihood is
    infinite elsewhere, and the line search never accepts such a point).
    At prediction, each row's cumulative probabilities are sorted before the
    class probabilities are taken as their differences (rearrangement,
    Chernozhukov, Fernández-Val and Galichon, 2010), so ``predict_proba``
    always returns non-negative rows that sum to one; where no curves cross
    this changes nothing.

    **Statistics.** With ``alpha=0`` and ``alpha_first`` ``None`` or 0 the
    fit is the maximum-likelihood non-parallel cumulative logit model, with
    the statistics of :ref:`inference`: :meth:`summary` of each threshold's
    weights (named ``"feature[a|b]"``) and the thresholds ``"a|b"``, and the
    log-likelihood for a likelihood-ratio test of proportional odds
    (:func:`~skalign.inference.likelihood_ratio_test` against a
    :class:`ProportionalOddsClassifier` on the same data). With an active
    L1 penalty there are none: the lasso's solution is not a
    maximum-likelihood fit, and its zeros make the Wald statistics of the
    curvature invalid.

    Parameters
    ----------
    alpha : float, default=0.01
        Strength ``λ`` of the L1 penalty on the differences of adjacent
        thresholds' weights (and on the first weights unless
        ``alpha_first`` is given). Choose it with :class:`PrestoClassifierCV`.
    alpha_first : float, default=None
        Strength of the L1 penalty on the first threshold's weights ``β_1``;
        ``None`` uses ``alpha``, as in the paper. ``alpha_first=0`` with a
        large ``alpha`` is unpenalised proportional odds.
    prediction : {"mode", "median"}, default="mode"
        What :meth:`predict` returns: the most probable class, or the median
        class.
    scoring : {"accuracy", "neg_log_loss", "neg_ordinal_mae", \
            "neg_ranked_probability_score"}, default="accuracy"
        The metric of :meth:`score` (higher is better).
    max_iter : int, default=1000
        Maximum FISTA iterations.
    tol : float, default=1e-6
        Stop when the gradient mapping (the proximal-gradient step times the
        Lipschitz estimate, sup norm) is at most ``tol``. With
        ``dtype="float32"`` keep it above about 1e-4.
    warm_start : bool, default=False
        Start from the previous fit's solution, e.g. when refitting along a
        sequence of ``alpha`` (which may change between the calls). The data
        must have the previous fit's features and classes, or ``fit``
        raises; a solution that gives one of the new rows zero probability
        is replaced by the intercept-only start.
    device : {"cpu", "cuda", "auto"} or torch.device, default="cpu"
        Where the data and the solver live.
    dtype : {"float32", "float64"}, default="float64"
        Floating point precision of the solver.
    verbose : int, default=0
        If positive, print the objective after each iteration.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The ordered class labels.
    coef_ : ndarray of shape (n_classes - 1, n_features)
        The weights ``β_k`` of each threshold; ``np.diff(coef_, axis=0)`` are
        the (sparse) differences.
    thresholds_ : ndarray of shape (n_classes - 1,)
        The thresholds ``θ_k``.
    n_iter_ : int
        FISTA iterations run (summed over the calls a warm start continues).
    converged_ : bool
        Whether the stopping criterion was met.
    objective_ : float
        The penalised objective at the solution.
    history_ : skorch History
        The objective after each iteration (``train_loss``).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.
    log_likelihood_, n_params_, nobs_, aic_, bic_ : float, int, int, float, float
        With ``alpha=0`` (see Statistics above): the log-likelihood (sample
        weights count as repeated rows), the number of parameters, the rows
        of positive weight, and ``2 k - 2 log L``, ``k log n - 2 log L``.
    parameter_names_, parameters_ : ndarray
        The parameters by name and their estimates.
    covariance_, robust_covariance_ : ndarray of shape (n, n) or None
        The inverse observed information (exact Hessian by automatic
        differentiation), and the sandwich clustered by row.

    See Also
    --------
    PrestoClassifierCV : Chooses ``alpha`` by cross-validation.
    presto_path : Solutions along a sequence of ``alpha``.
    ProportionalOddsClassifier : One weight vector for every threshold.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.ordinal import PrestoClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 3))
    >>> latent = X @ np.array([1.0, -1.0, 0.0]) + rng.logistic(size=400)
    >>> y = np.digitize(latent, [-1.0, 1.0, 3.0])
    >>> model = PrestoClassifier(alpha=0.02).fit(X, y)
    >>> model.coef_.shape
    (3, 3)
    >>> model.predict_proba(X[:2]).sum(axis=1).round(6)
    array([1., 1.])
    """

    _required_fitted_state = (
        *TorchEstimator._required_fitted_state,
        "coef_",
        "thresholds_",
        "classes_",
    )
    # Engine settings PRESTO does not expose: FISTA (its own solver) on the
    # full batch, no L2 of the engine's (its penalty is the fused L1).
    _fixed_settings = FULL_BATCH_SETTINGS
    _setting_names = {"max_epochs": "max_iter"}
    # FISTA keeps no state between calls, so a warm start may change the
    # penalty (e.g. along a sequence of alpha).
    _continuation_params = _CONTINUATION_PARAMS | {
        "alpha",
        "alpha_first",
        "max_iter",
        "prediction",
        "scoring",
    }

    _parameter_constraints = {
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "alpha_first": [None, Interval(numbers.Real, 0, None, closed="left")],
        **ORDINAL_CLASSIFIER_CONSTRAINTS,
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "device": [str, torch.device],
        "dtype": [StrOptions(set(_DTYPES))],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        alpha=0.01,
        *,
        alpha_first=None,
        prediction="mode",
        scoring="accuracy",
        max_iter=1000,
        tol=1e-6,
        warm_start=False,
        device="cpu",
        dtype="float64",
        verbose=0,
    ):
        self.alpha = alpha
        self.alpha_first = alpha_first
        self.prediction = prediction
        self.scoring = scoring
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.device = device
        self.dtype = dtype
        self.verbose = verbose

    # ------------------------------------------------------------ engine hooks
    def _default_scorer(self):
        return _NonParallelCumulativeLogits()

    def _strengths(self):
        """``(alpha, alpha_first)`` of the fit."""
        return self.alpha, self.alpha_first

    def _formulation(self, n_classes):
        alpha, alpha_first = self._strengths()
        return Formulation(
            # The likelihood part (the engine's evaluation of the module); the
            # L1 penalty and the domain are FISTA's.
            losses=(cumulative_logit_loss,),
            n_outputs=n_classes - 1,
            module=_presto_module,
            convex=True,
            # Without the penalty, the objective is the likelihood itself.
            likelihood=alpha == 0 and not alpha_first,
            solve=functools.partial(
                _solve_presto, strengths=self._strengths(), n_classes=n_classes
            ),
        )

    def _parametric_module(self, module):
        return isinstance(module, _NonParallelCumulativeLogits)

    def _statistics_unavailable(self):
        return (
            "they exist for the unpenalised fit (alpha=0, alpha_first None "
            "or 0), the maximum-likelihood non-parallel cumulative logit "
            "model; the L1 penalty's solution is not one"
        )

    def _inference_parameters(self, module, criterion):
        features = getattr(self, "feature_names_in_", None)
        if features is None:
            features = [f"x{j}" for j in range(module.differences.shape[1])]
        classes = [str(c) for c in self.classes_]
        cuts = [f"{a}|{b}" for a, b in itertools.pairwise(classes)]
        weights = torch.cumsum(module.differences, 0)
        blocks = [
            ([f"{feature}[{cut}]" for feature in features], weights[k])
            for k, cut in enumerate(cuts)
        ]
        blocks.append((cuts, module.thresholds))
        return blocks

    def _problem(self, X, y, *, constants, sample_weight, order):
        weight = check_sample_weight(sample_weight, X.shape[0])
        classes, codes = fit_classes(self, y, weight, order=order, constants=constants)
        n_classes = int(classes.shape[0])
        # Rows of zero weight are left out: they would only restrict the
        # likelihood's domain.
        keep = weight > 0
        return Problem(
            row_units(X[keep], weight[keep], label=codes[keep]),
            self._formulation(n_classes),
            constants={"n_classes": n_classes},
            init={
                "initial_thresholds": empirical_cumulative_logits(
                    codes, weight, n_classes
                )
            },
        )

    def _set_solution(self, problem, classes, params, n_iter, converged):
        """A fold model of :class:`PrestoClassifierCV`'s search: the solution
        of a path step, for scoring (not a fitted estimator of the engine)."""
        self.classes_ = classes
        self.thresholds_, self.coef_ = problem.to_estimates(params)
        self.n_iter_ = int(n_iter)
        self.converged_ = bool(converged)
        return self

    def _fit_solution(self, X, y, sample_weight):
        self._fit(X, y, sample_weight=sample_weight, order=category_order(y))
        module = self.net_.module_
        self.thresholds_ = _to_numpy(module.thresholds)
        self.coef_ = _to_numpy(torch.cumsum(module.differences, 0))
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, sample_weight=None):
        """Fit PRESTO by FISTA.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Ordered labels: numbers, strings (ordered by sorting), or an
            ordered pandas Categorical (ordered by its categories).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights; an integer weight equals repeating the
            row.

        Returns
        -------
        self : PrestoClassifier
        """
        return self._fit_solution(X, y, sample_weight)

    def _cumulative_logits(self, X):
        check_is_fitted(self, "coef_")
        X = check_features(X)
        X = validate_data(
            self, X, accept_sparse=("csr", "csc", "coo"), dtype=np.float64, reset=False
        )
        return self.thresholds_ - np.asarray(X @ self.coef_.T)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


@validate_params(
    {
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "alphas": [Interval(numbers.Integral, 1, None, closed="left"), "array-like"],
        "eps": [Interval(numbers.Real, 0, 1, closed="neither")],
        "alpha_first": [None, Interval(numbers.Real, 0, None, closed="left")],
        "sample_weight": [None, "array-like"],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "device": [str, torch.device],
        "dtype": [StrOptions(set(_DTYPES))],
    },
    prefer_skip_nested_validation=True,
)
def presto_path(
    X,
    y,
    *,
    alphas=20,
    eps=1e-3,
    alpha_first=None,
    sample_weight=None,
    max_iter=1000,
    tol=1e-6,
    device="cpu",
    dtype="float64",
):
    """PRESTO solutions along a decreasing sequence of penalty strengths.

    Each solution starts from the previous one (warm start), so a path costs
    little more than its hardest fit. See :class:`PrestoClassifier` for the
    model and the parameters.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Ordered labels.
    alphas : int or array-like, default=20
        The strengths, or how many to put on a log grid from ``alpha_max``
        (the smallest strength at which every penalised weight is zero) down
        to ``eps * alpha_max``. Given strengths are sorted in decreasing
        order.
    eps : float, default=1e-3
        Ratio of the smallest to the largest strength of the grid.
    alpha_first : float, default=None
        Fixed strength on the first threshold's weights; ``None`` ties it to
        each ``alpha``.
    sample_weight : array-like of shape (n_samples,), default=None
    max_iter, tol, device, dtype
        As in :class:`PrestoClassifier`.

    Returns
    -------
    alphas : ndarray of shape (n_alphas,)
        The strengths, decreasing.
    coefs : ndarray of shape (n_alphas, n_classes - 1, n_features)
        The weights ``β_k`` of each threshold, for each strength.
    thresholds : ndarray of shape (n_alphas, n_classes - 1)
        The thresholds ``θ_k``, for each strength.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.ordinal import presto_path
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2))
    >>> y = np.digitize(X[:, 0] + rng.logistic(size=300), [-1.0, 1.0])
    >>> alphas, coefs, thresholds = presto_path(X, y, alphas=5)
    >>> coefs.shape
    (5, 2, 2)
    >>> bool(np.all(coefs[0] == 0))
    True
    """
    X, _, weight, classes, codes = _validate_fit_data(None, X, y, sample_weight)
    problem = _CumulativeLogitLikelihood.from_arrays(
        X, codes, weight, classes.shape[0], _DTYPES[dtype], resolve_device(device)
    )
    start = problem.initial_params(codes, weight)
    if isinstance(alphas, numbers.Integral):
        alphas = _alpha_grid(
            problem, start, alphas, eps, alpha_first, max_iter=max_iter, tol=tol
        )
    else:
        alphas = _check_alphas(alphas)
    solutions = _solve_path(
        problem, start, alphas, alpha_first, max_iter=max_iter, tol=tol
    )
    if not all(converged for _, _, converged in solutions):
        _warn_not_converged("presto_path", max_iter, tol)
    estimates = [problem.to_estimates(params) for params, _, _ in solutions]
    thresholds = np.stack([t for t, _ in estimates])
    coefs = np.stack([c for _, c in estimates])
    return alphas, coefs, thresholds


def _check_alphas(alphas):
    alphas = np.asarray(alphas, dtype=np.float64).ravel()
    if alphas.size == 0 or not np.all(np.isfinite(alphas)) or np.any(alphas < 0):
        raise ValueError(
            f"alphas must be non-negative finite strengths; got {alphas!r}."
        )
    return np.sort(alphas)[::-1]


class PrestoClassifierCV(PrestoClassifier):
    """PRESTO with the penalty strength chosen by cross-validation.

    Every fold's model is fitted along the decreasing ``alphas``, each fit
    warm-started from the previous one (as :func:`presto_path`), and scored
    on the fold's held-out rows; ``alpha_`` maximises the mean score over
    folds and the model is then refitted on all the data with it. See
    :class:`PrestoClassifier` for the model.

    The search walks the folds in step along the strengths and stops early:

    - once the mean held-out score has not improved for
      ``n_alphas_no_change`` strengths in a row (weaker penalties only
      overfit more, and cost more iterations);
    - after the first strength at which a fold's fit does not converge
      within ``max_iter``, as glmnet ends a path there (weaker penalties are
      harder still, typically because the unpenalised fit does not exist,
      e.g. with separable classes), with a
      :class:`~skalign.exceptions.ConvergenceWarning`; that strength is
      still scored with the fits reached.

    Parameters
    ----------
    alphas : int or array-like, default=10
        Candidate strengths, or how many on a log grid from ``alpha_max`` to
        ``eps * alpha_max`` (computed on the whole training set).
    eps : float, default=1e-2
        Ratio of the smallest to the largest strength of the grid.
    alpha_first : float, default=None
        Fixed strength on the first threshold's weights; ``None`` ties it to
        ``alpha``.
    cv : int, cross-validation generator or iterable, default=None
        As in scikit-learn: ``None`` is 5-fold, an int is that many folds
        (stratified by class).
    scoring : {"neg_log_loss", "accuracy", "neg_ordinal_mae", \
            "neg_ranked_probability_score"} or callable, default="neg_log_loss"
        The selection metric, also used by :meth:`score`; a callable is
        ``scorer(estimator, X, y)``. The log loss rewards getting the rare
        classes' probabilities right, which accuracy ignores.
    n_alphas_no_change : int or None, default=3
        Stop the search when the mean score has not improved for this many
        strengths in a row; ``None`` searches every strength.
    prediction : {"mode", "median"}, default="mode"
        What :meth:`predict` returns.
    max_iter, tol, device, dtype, verbose
        As in :class:`PrestoClassifier`.

    Attributes
    ----------
    alpha_ : float
        The chosen strength.
    alphas_ : ndarray of shape (n_alphas,)
        The candidate strengths, decreasing.
    scores_ : ndarray of shape (n_folds, n_alphas)
        The held-out score of every fold and strength; NaN for the strengths
        after the search stopped.
    classes_, coef_, thresholds_ : ndarray
        Of the refit on all data, as in :class:`PrestoClassifier`, as are
        ``n_iter_``, ``converged_``, ``n_features_in_`` and
        ``feature_names_in_``.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.ordinal import PrestoClassifierCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2))
    >>> y = np.digitize(X[:, 0] + rng.logistic(size=300), [-1.0, 1.0])
    >>> model = PrestoClassifierCV(alphas=5, cv=3).fit(X, y)
    >>> model.scores_.shape
    (3, 5)
    >>> bool(model.alpha_ in model.alphas_)
    True
    """

    _fixed_settings = {**PrestoClassifier._fixed_settings, "warm_start": False}

    _parameter_constraints = {
        **{
            k: v
            for k, v in PrestoClassifier._parameter_constraints.items()
            if k not in ("alpha", "warm_start")
        },
        "alphas": [Interval(numbers.Integral, 1, None, closed="left"), "array-like"],
        "eps": [Interval(numbers.Real, 0, 1, closed="neither")],
        "cv": ["cv_object"],
        "scoring": [StrOptions(set(SCORINGS)), callable],
        "n_alphas_no_change": [
            None,
            Interval(numbers.Integral, 1, None, closed="left"),
        ],
    }

    def __init__(
        self,
        alphas=10,
        *,
        eps=1e-2,
        alpha_first=None,
        cv=None,
        scoring="neg_log_loss",
        n_alphas_no_change=3,
        prediction="mode",
        max_iter=1000,
        tol=1e-6,
        device="cpu",
        dtype="float64",
        verbose=0,
    ):
        self.alphas = alphas
        self.eps = eps
        self.alpha_first = alpha_first
        self.cv = cv
        self.scoring = scoring
        self.n_alphas_no_change = n_alphas_no_change
        self.prediction = prediction
        self.max_iter = max_iter
        self.tol = tol
        self.device = device
        self.dtype = dtype
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, sample_weight=None):
        """Choose ``alpha`` by cross-validation, then refit on all data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Ordered labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights, used in fitting and in scoring.

        Returns
        -------
        self : PrestoClassifierCV
        """
        given = X, y
        X, y, weight, classes, codes = _validate_fit_data(self, X, y, sample_weight)
        n_classes = classes.shape[0]
        if isinstance(self.alphas, numbers.Integral):
            problem = self._likelihood(X, codes, weight, n_classes)
            alphas = _alpha_grid(
                problem,
                problem.initial_params(codes, weight),
                self.alphas,
                self.eps,
                self.alpha_first,
                max_iter=self.max_iter,
                tol=self.tol,
            )
        else:
            alphas = _check_alphas(self.alphas)
        folds = []
        for train, test in check_cv(self.cv, y, classifier=True).split(X, y):
            problem = self._likelihood(X[train], codes[train], weight[train], n_classes)
            start = problem.initial_params(codes[train], weight[train])
            folds.append((problem, start, test))
        scores = np.full((len(folds), alphas.shape[0]), np.nan)
        template = PrestoClassifier(prediction=self.prediction)
        best, since_best, stalled_at = -np.inf, 0, None
        for a, alpha in enumerate(alphas):
            for f, (problem, params, test) in enumerate(folds):
                params, n_iter, done = _fista(
                    problem,
                    problem.penalty_weights(alpha, self.alpha_first),
                    params,
                    max_iter=self.max_iter,
                    tol=self.tol,
                )
                folds[f] = (problem, params, test)
                if not done and stalled_at is None:
                    stalled_at = alpha
                fold_model = clone(template)._set_solution(
                    problem, classes, params, n_iter, done
                )
                fold_model.n_features_in_ = X.shape[1]
                scores[f, a] = ordinal_score(
                    fold_model,
                    self.scoring,
                    X[test],
                    y[test],
                    None if sample_weight is None else weight[test],
                )
            mean = scores[:, a].mean()
            best, since_best = (mean, 0) if mean > best else (best, since_best + 1)
            if stalled_at is not None or since_best == self.n_alphas_no_change:
                break
        if stalled_at is not None:
            warnings.warn(
                f"{type(self).__name__}: a fold's fit did not converge within "
                f"max_iter={self.max_iter} (tol={self.tol}) at alpha="
                f"{stalled_at:.3g}, where the search stopped. Raise max_iter or "
                "tol to search weaker penalties.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.alphas_ = alphas
        self.scores_ = scores
        self.alpha_ = float(alphas[np.nanargmax(scores.mean(axis=0))])
        return self._fit_solution(*given, sample_weight)

    def _strengths(self):
        return self.alpha_, self.alpha_first

    def _likelihood(self, X, codes, weight, n_classes):
        dtype, device = _DTYPES[self.dtype], resolve_device(self.device)
        return _CumulativeLogitLikelihood.from_arrays(
            X, codes, weight, n_classes, dtype, device
        )
