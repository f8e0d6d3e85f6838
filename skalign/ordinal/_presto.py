"""PRESTO: cumulative logits with separate weights shrunk towards proportional odds.

The model has one weight vector per threshold, ``P(y <= k | x) = σ(θ_k - x ·
β_k)``, and the fit penalises ``λ (‖β_1‖₁ + Σ_k ‖β_k - β_{k-1}‖₁)`` (Faletto
and Bien, 2023). Reparametrised by the differences ``δ_1 = β_1``, ``δ_k = β_k
- β_{k-1}``, the penalty is a plain weighted L1 norm of ``δ``, so the problem
is solved exactly by accelerated proximal gradient (FISTA) with
soft-thresholding. The solver is a private full-batch torch loop: the skorch
engine's optimisers cannot apply a proximal step.
"""

import math
import numbers
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.model_selection import check_cv
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import check_is_fitted, check_X_y, validate_data

from .._engine import to_torch
from .._loss.ordinal import log_interval_proba
from ..exceptions import ConvergenceWarning
from ..utils._groups import check_sample_weight
from ..utils._persistence import VersionedStateMixin
from ..utils._validation import check_features, resolve_device
from ._base import (
    ORDINAL_CLASSIFIER_CONSTRAINTS,
    SCORINGS,
    CumulativeLogitClassifierMixin,
    category_order,
    empirical_cumulative_logits,
    encode_ordinal_labels,
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

    def __init__(self, X, codes, weight, n_classes, dtype, device):
        keep = weight > 0
        self.X = to_torch(X[keep], dtype, device)
        self.XT = (
            self.X.t() if self.X.layout == torch.strided else self.X.t().coalesce()
        )
        codes = torch.as_tensor(codes[keep], device=device)[:, None]
        # Columns of the observed class's lower and upper cumulative logit in
        # the logits padded with -inf and +inf.
        self.bound_index = torch.cat([codes, codes + 1], dim=1)
        weight = torch.as_tensor(weight[keep], dtype=dtype, device=device)
        self.weight = (weight / weight.sum())[:, None]
        self.n_thresholds = n_classes - 1
        self.n_features = X.shape[1]
        self.dtype, self.device = dtype, device
        self.metric = self._diagonal_metric(X[keep], codes[:, 0].cpu().numpy(), weight)
        m = self.n_thresholds
        self._padded = torch.empty((codes.shape[0], m + 2), dtype=dtype, device=device)
        self._padded[:, 0], self._padded[:, -1] = -torch.inf, torch.inf
        # ∂f/∂δ_j = Σ_{k >= j} ∂f/∂β_k, as one product.
        self._suffix_sum = torch.ones((m, m), dtype=dtype, device=device).triu()

    def _diagonal_metric(self, X, codes, weight):
        """A diagonal curvature scale per parameter, for preconditioning.

        Threshold ``k`` sees the rows of classes ``k`` and ``k + 1``; a
        difference ``δ_j`` moves every ``β_k`` with ``k >= j``. So the scale
        of ``θ_k`` is the weight share of those rows, and that of ``δ_{j,f}``
        is ``Σ_{k >= j}`` of their weighted mean of ``x_f²``. It evens out
        feature scales and the cumulative reparametrisation, which would
        otherwise slow proximal gradient down.
        """
        weight = weight.cpu().numpy() / weight.sum().item()
        m = self.n_thresholds
        touch = (codes[:, None] == np.arange(m)) | (
            codes[:, None] == np.arange(1, m + 1)
        )
        share = touch * weight[:, None]
        squared = X.multiply(X) if sp.issparse(X) else X * X
        beta = np.asarray((squared.T @ share).T)
        delta = np.cumsum(beta[::-1], axis=0)[::-1]
        metric = np.concatenate([share.sum(axis=0), delta.ravel()])
        metric = np.maximum(metric, 1e-12 * metric.max())
        return torch.as_tensor(metric, dtype=self.dtype, device=self.device)

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


def _fista(problem, strength, params, *, max_iter, tol, verbose=0):
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
    gradient: zero exactly at the minimum).

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
        if verbose and n_iter % 100 == 0:
            objective = f_z + float((strength * z.abs()).nan_to_num(0.0).sum())
            print(
                f"iteration {n_iter}: objective {objective:.12g}, "
                f"gradient mapping {gradient_mapping:.3g}"
            )
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


class PrestoClassifier(
    VersionedStateMixin, CumulativeLogitClassifierMixin, ClassifierMixin, BaseEstimator
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
    subgradient steps), in full batch with torch. The thresholds ``θ`` are
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
        Start from the previous fit's solution (same classes and features),
        e.g. when refitting along a sequence of ``alpha``.
    device : {"cpu", "cuda", "auto"} or torch.device, default="cpu"
        Where the data and the solver live.
    dtype : {"float32", "float64"}, default="float64"
        Floating point precision of the solver.
    verbose : int, default=0
        If positive, print the objective every 100 iterations.

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
        FISTA iterations run.
    converged_ : bool
        Whether the stopping criterion was met.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

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

    _required_fitted_state = ("coef_", "thresholds_", "classes_", "n_features_in_")

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

    def _problem(self, X, codes, weight, n_classes):
        return _CumulativeLogitLikelihood(
            X,
            codes,
            weight,
            n_classes,
            _DTYPES[self.dtype],
            resolve_device(self.device),
        )

    def _start(self, problem, classes, codes, weight):
        start = problem.initial_params(codes, weight)
        previous = getattr(self, "coef_", None)
        if (
            getattr(self, "warm_start", False)
            and previous is not None
            and np.array_equal(self.classes_, classes)
            and previous.shape[1] == problem.n_features
        ):
            params = problem.from_estimates(self.thresholds_, previous)
            # A solution for other data may give a row zero probability.
            if math.isfinite(problem.value(params)):
                start = params
        return start

    def _set_solution(self, problem, classes, params, n_iter, converged):
        self.classes_ = classes
        self.thresholds_, self.coef_ = problem.to_estimates(params)
        self.n_iter_ = int(n_iter)
        self.converged_ = bool(converged)
        return self

    def _fit_alpha(self, X, weight, classes, codes, alpha):
        problem = self._problem(X, codes, weight, classes.shape[0])
        params, n_iter, converged = _fista(
            problem,
            problem.penalty_weights(alpha, self.alpha_first),
            self._start(problem, classes, codes, weight),
            max_iter=self.max_iter,
            tol=self.tol,
            verbose=self.verbose,
        )
        if not converged:
            _warn_not_converged(type(self).__name__, self.max_iter, self.tol, 4)
        return self._set_solution(problem, classes, params, n_iter, converged)

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
        X, _, weight, classes, codes = _validate_fit_data(self, X, y, sample_weight)
        return self._fit_alpha(X, weight, classes, codes, self.alpha)

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
    problem = _CumulativeLogitLikelihood(
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
        X, y, weight, classes, codes = _validate_fit_data(self, X, y, sample_weight)
        n_classes = classes.shape[0]
        if isinstance(self.alphas, numbers.Integral):
            problem = self._problem(X, codes, weight, n_classes)
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
            problem = self._problem(X[train], codes[train], weight[train], n_classes)
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
        return self._fit_alpha(X, weight, classes, codes, self.alpha_)
