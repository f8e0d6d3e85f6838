"""Likelihood inference for the convex models with a linear scorer.

After a fit whose objective is a mean negative log-likelihood (a
:class:`~skalign._engine.Formulation` with ``likelihood=True``) and whose
scorer is a :class:`~skalign.nn.LinearScorer`, the engine calls
:func:`likelihood_statistics`. It evaluates the objective once more, in
float64 and twice differentiably (:func:`~skalign._loss._reduction.unfused`),
which also gives the mean's denominator ``N``: the log-likelihood is
``-N`` times the objective, and the observed information ``N`` times its
Hessian, taken exactly by automatic differentiation (no finite
differences): for a linear scorer on CPU, assembled as ``Xᵀ B X`` from the
loss's block-diagonal Hessian ``B`` in the scores (:func:`linear_score_rows`),
otherwise one backward pass per parameter.

The Hessian is over the module's own parameters (the scorer's weights, its
bias, a loss's tie or threshold parameters in their unconstrained form).
A parameter the likelihood does not depend on (a bias that cancels within
every comparison) is left out. The reported parameters (``coef_``,
``intercept_`` where it is identified, thresholds, tie parameters by name)
are functions of those; their covariance is ``J I⁻¹ Jᵀ`` with ``J`` their
Jacobian (the delta method, exact for a reparametrisation at the maximum).

:class:`LikelihoodInferenceMixin` gives the estimators ``summary`` and
``confidence_intervals``. This module imports torch, numpy, scipy and the
loss layer only.
"""

import copy
import math
import numbers
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from joblib import Parallel, delayed, effective_n_jobs
from scipy import stats

from ._loss._reduction import recording, unfused
from .exceptions import ConvergenceWarning
from .utils._extras import install_hint

__all__ = [
    "INFORMATION_BUDGET",
    "LikelihoodInferenceMixin",
    "LikelihoodRatioResult",
    "likelihood_ratio_test",
    "likelihood_statistics",
    "linear_score_rows",
]

#: The information is computed at fit time when parameters × training rows
#: stay under this: a dense design of that many entries for the linear
#: scorers' X^T B X, one backward pass per parameter otherwise.
INFORMATION_BUDGET = 5e7

#: How to get a covariance that a fit skipped for its cost (the end of the
#: reason shown by ``summary`` and the like).
REFIT_WITH_COVARIANCE = (
    "refit inside skalign.config_context(covariance='always') to compute it"
)
#: Relative eigenvalue below which the information is taken as singular.
_SINGULAR = 1e-10


def _flat(tensors, params):
    return torch.cat(
        [
            torch.zeros(p.numel(), dtype=p.dtype) if t is None else t.reshape(-1)
            for t, p in zip(tensors, params)
        ]
    )


def _jacobian(values, params):
    """Rows ``∂ values[i] / ∂ params``, one backward pass per row. (Each pass
    differentiates a scalar: a tensor ``grad_outputs`` would make torch
    import sympy, a second on the first fit of a process.)"""
    rows = []
    for value in values:
        grads = torch.autograd.grad(value, params, retain_graph=True, allow_unused=True)
        rows.append(_flat(grads, params))
    return torch.stack(rows) if rows else torch.zeros(0, sum(p.numel() for p in params))


def _named_jacobian(blocks, params):
    """The Jacobian of the reported parameters ``blocks`` (``(names, 1-d
    tensor)``, as ``named()`` returns them) with respect to ``params``. A
    block that is a contiguous view of one parameter (a linear scorer's
    weights) has rows of the identity; the others (thresholds, tie
    parameters in their natural form) are differentiated."""
    positions = _view_positions(blocks, params)
    n_params = sum(p.numel() for p in params)
    parts, at = [], 0
    for _, tensor in blocks:
        tensor = tensor.reshape(-1)
        where = positions[at : at + tensor.numel()]
        at += tensor.numel()
        if where.size and (where >= 0).all():
            rows = torch.zeros(where.size, n_params, dtype=torch.float64)
            rows[torch.arange(where.size), torch.as_tensor(where)] = 1.0
        else:
            rows = _jacobian(tensor, params).to(torch.float64)
        parts.append(rows)
    return torch.cat(parts) if parts else torch.zeros(0, n_params, dtype=torch.float64)


def linear_score_rows(
    objective,
    design,
    params,
    linear,
    multipliers,
    *,
    scores,
    unit_len,
    row_cluster=None,
):
    """Rows of the Hessian of the weighted-sum objective (and of its cluster
    scores) for a model whose parameters ``linear`` enter only through row
    scores ``r = design @ w̃`` (a linear scorer: ``w̃`` its weights and bias).

    With ``r`` linear in ``w̃``, the Hessian's ``w̃`` block is
    ``designᵀ B design``, ``B = ∂²f/∂r²``. ``objective(multipliers, scores)``
    evaluates the objective on *unit-major* rows (unit ``u`` holds rows
    ``u * unit_len`` to ``(u + 1) * unit_len - 1``, each in one unit only),
    with the scorer's output replaced by ``scores``; a likelihood is a sum
    over units, so ``B`` is block-diagonal, its blocks read off ``unit_len``
    Hessian-vector products in all units at once (one per position), instead
    of one backward pass per parameter. The other parameters (tie weights,
    thresholds) take one pass each. A random product checks that ``B`` is
    block-diagonal; when it is not, or the scores do not have the shape of
    the units, the result is ``None`` (the caller differentiates generically).

    ``design`` is a numpy array or scipy sparse matrix, its columns in the
    flat order of ``linear`` within ``params``; ``scores`` the scorer's
    output at the fitted weights (one per unit-major row); ``row_cluster``
    the cluster of each row (with ``multipliers``).

    Returns ``(hessian, cluster_scores, normaliser)``: ``hessian`` of shape
    ``(n_params, n_params)`` in the flat order of ``params`` (the Jacobian
    of the gradient), ``cluster_scores`` of shape ``(n_params,
    n_clusters)`` (its Jacobian with respect to the cluster multipliers: a
    scipy sparse matrix when ``design`` is sparse, so that a million
    clusters of one-hot rows stay small; ``None`` without multipliers), and
    ``normaliser`` the mean's denominator.
    """
    linear_ids = {id(p) for p in linear}
    theta = [p for p in params if id(p) not in linear_ids]
    offsets = np.cumsum([0] + [p.numel() for p in params])
    w_pos = np.concatenate(
        [
            np.arange(offsets[i], offsets[i + 1])
            for i, p in enumerate(params)
            if id(p) in linear_ids
        ]
    )
    t_pos = np.concatenate(
        [
            np.arange(offsets[i], offsets[i + 1])
            for i, p in enumerate(params)
            if id(p) not in linear_ids
        ]
        or [np.zeros(0, dtype=np.int64)]
    )
    n_raw, n_rows = int(offsets[-1]), design.shape[0]
    if n_rows % unit_len or w_pos.size != design.shape[1]:
        return None
    n_units = n_rows // unit_len
    if scores.numel() != n_rows:
        return None
    scores = scores.detach().to(torch.float64).reshape(-1).clone().requires_grad_()
    with unfused() as normalisers:
        value = objective(multipliers, scores)
        value = value * normalisers[0]
        grads = torch.autograd.grad(
            value, [scores, *theta], create_graph=True, allow_unused=True
        )
    normaliser = normalisers[0]
    g_scores = grads[0]
    if g_scores is None or not g_scores.requires_grad:
        return None
    blocks = torch.zeros(n_units, unit_len, unit_len, dtype=torch.float64)
    for k in range(unit_len):
        v = torch.zeros(n_units, unit_len, dtype=torch.float64)
        v[:, k] = 1.0
        # Products of scalars (see _jacobian).
        (column,) = torch.autograd.grad(
            g_scores.dot(v.view(-1)), scores, retain_graph=True, allow_unused=True
        )
        if column is not None:
            blocks[:, :, k] = column.detach().view(n_units, unit_len)
    # B must be block-diagonal by unit: one more product, with a random vector.
    probe = torch.randn(
        n_rows, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    (exact,) = torch.autograd.grad(
        g_scores.dot(probe), scores, retain_graph=True, allow_unused=True
    )
    exact = (
        torch.zeros(n_rows, dtype=torch.float64) if exact is None else exact.detach()
    )
    blocked = torch.einsum("uik,uk->ui", blocks, probe.view(n_units, unit_len)).reshape(
        -1
    )
    if not bool(torch.isfinite(exact).all()) or not torch.allclose(
        blocked,
        exact,
        rtol=1e-9,
        atol=1e-12 * float(exact.abs().max().clamp_min(1e-300)),
    ):
        return None
    entries = blocks.numpy()
    unit_rows = np.arange(n_rows).reshape(n_units, unit_len)
    B = sp.csr_matrix(
        (
            entries.ravel(),
            (
                np.repeat(unit_rows, unit_len, axis=1).ravel(),
                np.tile(unit_rows, (1, unit_len)).ravel(),
            ),
        ),
        shape=(n_rows, n_rows),
    )
    hessian_w = design.T @ (B @ design)
    hessian_w = hessian_w.toarray() if sp.issparse(hessian_w) else np.asarray(hessian_w)
    n_clusters = 0 if multipliers is None else multipliers.numel()
    rows = torch.zeros(n_raw, n_raw, dtype=torch.float64)
    w_index = torch.as_tensor(w_pos)
    rows[w_index[:, None], w_index[None, :]] = torch.as_tensor(hessian_w)
    # The cluster scores, one row per parameter: the linear weights' rows,
    # then the others' (stacked in that order, then permuted to the flat
    # order of params).
    score_parts, score_positions = [], []
    if n_clusters:
        # ∂²/∂w̃ ∂c_g = ∇_w̃ S_g: each row's score gradient belongs to its
        # unit's cluster.
        G = sp.csr_matrix(
            (g_scores.detach().numpy(), (np.arange(n_rows), row_cluster)),
            shape=(n_rows, n_clusters),
        )
        scores_w = design.T @ G
        score_parts.append(
            sp.csr_matrix(scores_w) if sp.issparse(design) else np.asarray(scores_w)
        )
        score_positions.append(w_pos)
    if theta:
        g_theta = _flat(grads[1:], theta)
        wrt = [scores, *theta] + ([] if multipliers is None else [multipliers])
        jac = _jacobian(g_theta, wrt).detach() if g_theta.requires_grad else None
        if jac is not None:
            t_index = torch.as_tensor(t_pos)
            cross = np.asarray(design.T @ jac[:, :n_rows].numpy().T).T
            rows[t_index[:, None], w_index[None, :]] = torch.as_tensor(cross)
            rows[w_index[:, None], t_index[None, :]] = torch.as_tensor(cross).T
            n_t = t_pos.size
            rows[t_index[:, None], t_index[None, :]] = jac[:, n_rows : n_rows + n_t]
            if n_clusters:
                theta_scores = jac[:, n_rows + n_t :].numpy()
                score_parts.append(
                    sp.csr_matrix(theta_scores) if sp.issparse(design) else theta_scores
                )
                score_positions.append(t_pos)
    cluster_scores = None
    if n_clusters:
        positions = np.concatenate(score_positions)
        stacked = (
            sp.vstack(score_parts, format="csr")
            if sp.issparse(design)
            else np.vstack(score_parts)
        )
        order = np.empty(n_raw, dtype=np.int64)
        order[positions] = np.arange(positions.size)
        if positions.size != n_raw:
            # A parameter the objective does not reach: zero scores.
            return None
        cluster_scores = stacked[order]
    return rows, cluster_scores, normaliser


def _flat_named(blocks):
    """Names (an array of str) and one flat tensor of ``(names, tensor)``
    blocks."""
    names = [name for block_names, _ in blocks for name in block_names]
    values = torch.cat([tensor.reshape(-1) for _, tensor in blocks])
    return np.asarray(names, dtype=str), values


def likelihood_statistics(
    objective,
    params,
    named,
    *,
    weight_scale,
    n_obs,
    n_rows,
    n_clusters=None,
    covariance=True,
    second_derivatives=None,
    reduce=None,
    budget=INFORMATION_BUDGET,
):
    """Log-likelihood, information criteria and covariance of a fitted model.

    The cluster-robust (sandwich) covariance needs each cluster's score
    (its gradient of the summed log-likelihood). They come with the Hessian,
    at no extra pass: the objective is evaluated with each cluster's sample
    weights multiplied by a multiplier ``c_g = 1`` that requires a gradient;
    the weighted sum ``Σ_g c_g S_g(θ)`` then has ``∂²/∂θ ∂c_g = ∇S_g``, read
    off each backward pass of the gradient. (Multiplying the weights of a
    whole comparison or list by ``c`` scales its term by ``c``: a pair
    weighs ``w_a w_b / w̄``, and a Plackett–Luce list, whose strengths move
    by ``log c`` together, is unchanged otherwise.)

    Parameters
    ----------
    objective : callable
        ``objective(multipliers)`` evaluates the mean negative log-likelihood
        on the training data (float64 parameters and data), the sample
        weights of cluster ``g`` multiplied by ``multipliers[g]`` (``None``:
        unchanged).
    params : list of tensors
        The module's trainable parameters (leaves requiring grad).
    named : callable
        ``named()`` returns the reported parameters, computed from
        ``params``, as a list of blocks ``(names, 1-d tensor)``.
    weight_scale : float
        The factor the engine divided the sample weights by.
    n_obs : int
        Independent observations (units of positive weight), for BIC.
    n_rows : int
        Training rows times unit length, for the cost budget.
    n_clusters : int or None
        Clusters (groups) of the training units, for the sandwich; ``None``:
        no sandwich.
    covariance : bool, default=True
        ``False``: the log-likelihood and every named parameter only (the
        refits of a bootstrap).
    second_derivatives : callable, default=None
        ``second_derivatives(multipliers)`` returns the rows of the Hessian
        and cluster scores and the normaliser as :func:`linear_score_rows`
        does, or ``None``; ``None`` (or no callable) differentiates the
        objective generically, one backward pass per parameter.
    reduce : callable, default=None
        ``reduce(tensor)`` sums a float64 tensor over the processes of a
        data-parallel fit (``None``: one process), each holding whole
        clusters: the objective's weighted sum and denominator, the counts,
        the Hessian of the weighted sum and the clusters' score products
        ``Σ_g s_g s_gᵀ`` are sums over units and clusters, so every process
        gets the statistics of all the data. ``n_obs``, ``n_rows`` and
        ``n_clusters`` are then this process's.
    budget : float, default=INFORMATION_BUDGET
        Largest parameters x rows for which the generic path (one backward
        pass per parameter) is taken; ``math.inf``: no limit.

    Returns
    -------
    dict or None
        ``None`` when the objective is not one weighted mean (then it is not
        a plain likelihood). Otherwise the statistics; ``covariance`` is
        ``None`` with a ``reason`` when it was not computed.
    """
    with torch.no_grad(), recording() as normalisers:
        value = objective(None)
    if len(normalisers) != 1:
        return None
    normaliser = normalisers[0].detach().to(torch.float64)
    summed = torch.stack([value.detach().to(torch.float64) * normaliser, normaliser])
    local_clusters = n_clusters
    if reduce is not None:
        counts = torch.tensor([n_obs, n_rows, n_clusters or 0], dtype=torch.float64)
        summed, counts = reduce(summed), reduce(counts)
        n_obs, n_rows, n_clusters = (int(c) for c in counts)
        n_clusters = n_clusters or None
    total = float(summed[1]) * weight_scale
    log_likelihood = -weight_scale * float(summed[0])
    names, values = _flat_named(named())
    out = {
        "log_likelihood": log_likelihood,
        "names": names,
        "estimates": values.detach().to("cpu", torch.float64).numpy(),
        "n_obs": int(n_obs),
        "total_weight": total,
        "covariance": None,
        "robust_covariance": None,
        "reason": None,
    }
    n_raw = sum(p.numel() for p in params)
    out["n_params"] = n_raw
    over_budget = (
        f"the observed information of {n_raw} parameters over {n_rows} "
        f"training rows was not computed at fit time (parameters x rows "
        f"above {budget:.0e}; {REFIT_WITH_COVARIANCE})"
    )
    if second_derivatives is None and n_raw * n_rows > budget:
        out["reason"] = over_budget
        return out
    if not covariance:
        out["reason"] = (
            "not computed at fit time (the fit's covariance setting is "
            "'never', or it computes estimates only)"
        )
        return out
    multipliers = None
    if n_clusters is not None and n_clusters > 1:
        multipliers = torch.ones(
            local_clusters, dtype=torch.float64, requires_grad=True
        )
    try:
        found = None if second_derivatives is None else second_derivatives(multipliers)
        if found is not None:
            rows, cluster_scores, normaliser = found
        elif n_raw * n_rows > budget:
            out["reason"] = over_budget
            return out
        else:
            with unfused() as normalisers:
                # The weighted sum of the log-likelihood terms (in the
                # engine's weight units): the mean times its own denominator.
                value = objective(multipliers)
                value = value * normalisers[0]
                grads = torch.autograd.grad(
                    value, params, create_graph=True, allow_unused=True
                )
                gradient = _flat(grads, params)
                if not gradient.requires_grad:
                    out["reason"] = "the objective does not depend on the parameters"
                    return out
                wrt = params if multipliers is None else [*params, multipliers]
                rows = _jacobian(gradient, wrt)
            normaliser = normalisers[0]
            cluster_scores = None if multipliers is None else rows[:, n_raw:].numpy()
            rows = rows[:, :n_raw]
    except RuntimeError as error:
        out["reason"] = f"the objective has no second derivative here ({error})"
        return out
    hessian, normaliser = rows, normaliser.detach().to(torch.float64)
    gram = None
    if cluster_scores is not None:
        # Σ_g s_g s_gᵀ (the scores may be a scipy sparse matrix).
        scores = cluster_scores * weight_scale
        gram = scores @ scores.T
        gram = torch.as_tensor(
            gram.toarray() if sp.issparse(gram) else np.asarray(gram),
            dtype=torch.float64,
        )
    if reduce is not None:
        hessian, normaliser = reduce(hessian.clone()), reduce(normaliser.clone())
        gram = None if gram is None else reduce(gram.clone())
    hessian = hessian / float(normaliser)
    information = total * 0.5 * (hessian + hessian.T)
    if not bool(torch.isfinite(information).all()):
        out["reason"] = "the information matrix is not finite at the fitted weights"
        return out
    diagonal = information.diagonal()
    keep = diagonal > _SINGULAR * float(diagonal.abs().max().clamp_min(1e-300))
    if not bool(keep.any()):
        out["n_params"] = 0
        out["reason"] = "the likelihood does not vary with any parameter"
        return out
    information = information[keep][:, keep]
    scale = information.diagonal().rsqrt()
    correlation = information * scale[:, None] * scale[None, :]
    try:
        eigenvalues, eigenvectors = torch.linalg.eigh(correlation)
    except torch.linalg.LinAlgError as error:
        out["reason"] = f"the information matrix could not be decomposed ({error})"
        return out
    positive = eigenvalues > _SINGULAR * eigenvalues.max()
    out["n_params"] = int(positive.sum())
    null_direction = None
    with torch.enable_grad():
        jacobian = _named_jacobian(named(), params)
    # Parameters the likelihood does not identify, reported only through
    # contrasts it sees (a softmax's classes against the first): a
    # generalised inverse gives the covariance of these contrasts.
    contrasts = not bool(positive.all()) and _estimable(
        jacobian[:, keep], scale[:, None] * eigenvectors[:, ~positive]
    )
    if not bool(positive.all()) and not contrasts:
        out["reason"] = (
            "the parameters are not identified: the information matrix is "
            "singular (collinear features, or one indicator column per item, "
            "whose strengths are defined only up to a common shift: pass "
            "summary(reference=...) or drop one item's column)"
        )
        if int((~positive).sum()) != 1:
            return out
        # One direction the likelihood cannot see (item strengths up to a
        # shift): a generalised inverse gives every contrast orthogonal to
        # it (a reference item, or sum to zero).
        null_direction = scale * eigenvectors[:, ~positive][:, 0]
    inverse = (eigenvectors[:, positive] / eigenvalues[positive]) @ eigenvectors[
        :, positive
    ].T
    covariance_raw = scale[:, None] * inverse * scale[None, :]
    # A reported parameter that moves only parameters the likelihood does
    # not see (an intercept cancelling within comparisons) is not identified.
    seen = jacobian[:, keep].abs().sum(1) > 0
    unseen = jacobian[:, ~keep].abs().sum(1) > 0
    kept = seen | ~unseen
    jacobian = jacobian[kept][:, keep]
    out["names"] = out["names"][kept.numpy()]
    out["estimates"] = out["estimates"][kept.numpy()]
    covariance = (jacobian @ covariance_raw @ jacobian.T).detach().numpy()
    if not np.all(np.isfinite(covariance)):
        out["reason"] = "the covariance is not finite at the fitted weights"
        return out
    if null_direction is None:
        out["covariance"] = covariance
        key = "robust_covariance"
    else:
        direction = (jacobian @ null_direction).detach().numpy()
        out["null_direction"] = direction / np.abs(direction).max()
        out["pseudo_covariance"] = covariance
        key = "pseudo_robust_covariance"
    if gram is not None:
        # H⁻¹ B H⁻¹ with B = c Σ_g s_g s_gᵀ, c = G / (G - 1) (n - 1) / (n - k)
        # the small-sample factor of R's sandwich::vcovCL (type "HC1") and
        # statsmodels' cluster covariance.
        k = out["n_params"]
        factor = n_clusters / (n_clusters - 1) * (n_obs - 1) / max(n_obs - k, 1)
        meat = gram[keep][:, keep] * factor
        robust_raw = covariance_raw @ meat @ covariance_raw
        robust = jacobian @ robust_raw @ jacobian.T
        out[key] = robust.detach().numpy()
    return out


def _estimable(jacobian, null_space):
    """Whether the reported parameters (rows of ``jacobian``) do not move
    along any direction the likelihood cannot see (columns of
    ``null_space``): then they are identified, whatever the others."""
    if jacobian.numel() == 0:
        return False
    null_space = null_space / null_space.abs().amax(0, keepdim=True)
    moved = (jacobian @ null_space).abs().max()
    return bool(moved <= 1e-6 * jacobian.abs().max())


def _view_positions(blocks, params):
    """For each entry of the reported parameters ``blocks``, its position in
    the flat parameters when its block is a contiguous view of one of
    ``params`` (as :func:`_named_jacobian` reads them), else -1."""
    offsets, start = {}, 0
    for p in params:
        offsets[id(p)] = start
        start += p.numel()
    positions = []
    for _, tensor in blocks:
        tensor = tensor.reshape(-1)
        base = tensor._base if tensor._is_view() else None
        if (
            base is not None
            and tensor.grad_fn is not None
            and id(base) in offsets
            and tensor.stride() == (1,)
            and tensor.untyped_storage().data_ptr() == base.untyped_storage().data_ptr()
        ):
            first = offsets[id(base)] + tensor.storage_offset() - base.storage_offset()
            positions += range(first, first + tensor.numel())
        else:
            positions += [-1] * tensor.numel()
    return np.asarray(positions)


def profile_intervals(objective, params, named, *, weight_scale, level, scales):
    """Profile-likelihood intervals of the reported parameters that are
    parameters of the model themselves (coefficients, an intercept, tie
    parameters on their fitted scale).

    For parameter ``j``, the interval is where the profile deviance
    ``2 N (min_{θ: θ_j = b} f(θ) - f(θ̂))`` stays below the χ²₁ quantile of
    ``level`` (``f`` the mean negative log-likelihood, ``N`` its
    denominator): each profile point a minimisation over the other
    parameters (L-BFGS-B with ``θ_j`` held, from the previous point), each
    end found by Brent's method between the estimate and a point beyond
    it. ``scales`` (reported name -> scale, e.g. standard errors; 1 for
    names it lacks) set the steps and precondition the minimisations.

    A reported parameter that is a function of one parameter of the model
    alone (a slope reported in the units of unscaled features, an inverse
    temperature fitted as a log-temperature) is profiled on that parameter,
    its ends mapped through the function: profile intervals do not depend
    on the parametrisation.

    Returns ``(names, lower, upper)``; entries that are not parameters of
    the model (thresholds in their ordered form, sums of several) are NaN.
    """
    from scipy import optimize

    blocks = named()
    names = [name for block_names, _ in blocks for name in block_names]
    positions = _view_positions(blocks, params)
    # The entries that are functions of one parameter: profiled on it.
    mapped = np.zeros(len(names), dtype=bool)
    derivative = np.ones(len(names))
    if (positions < 0).any():
        jacobian = _named_jacobian(blocks, params).detach().numpy()
        for k in np.flatnonzero(positions < 0):
            support = np.flatnonzero(jacobian[k])
            if support.size == 1:
                positions[k], mapped[k] = support[0], True
                derivative[k] = jacobian[k, support[0]]
    with torch.no_grad():
        start = torch.cat([p.detach().reshape(-1) for p in params]).double()
    with recording() as normalisers:
        with torch.no_grad():
            f_hat = float(objective())
    total = float(normalisers[0]) * weight_scale
    flat_scales = np.ones(start.numel())
    for name, position, slope in zip(names, positions, derivative):
        if position >= 0 and name in scales:
            flat_scales[position] = scales[name] / abs(slope)
    scales = flat_scales

    def reported(k, x):
        """Entry ``k`` of the reported parameters with the model's
        parameter ``positions[k]`` at ``x``, the others at the estimate."""
        at = start.numpy().copy()
        at[positions[k]] = x
        assign(at)
        with torch.no_grad():
            return float(_flat_named(named())[1][k])

    def assign(x):
        offset = 0
        with torch.no_grad():
            for p in params:
                n = p.numel()
                p.copy_(torch.as_tensor(x[offset : offset + n]).view_as(p))
                offset += n

    def value_and_gradient(u):
        x = u * scales
        assign(x)
        for p in params:
            p.grad = None
        with torch.enable_grad():
            value = objective()
            value.backward()
        grad = torch.cat(
            [
                torch.zeros(p.numel(), dtype=torch.float64)
                if p.grad is None
                else p.grad.reshape(-1).double()
                for p in params
            ]
        ).numpy()
        return float(value), grad * scales

    u_hat = start.numpy() / scales
    quantile = float(stats.chi2.ppf(level, 1))

    def deviance(j, b, warm):
        u0 = warm.copy()
        u0[j] = b / scales[j]
        bounds = [(None, None)] * u0.size
        bounds[j] = (u0[j], u0[j])
        found = optimize.minimize(
            value_and_gradient,
            u0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-11},
        )
        warm[:] = found.x
        return 2.0 * total * (found.fun - f_hat)

    lower = np.full(len(names), np.nan)
    upper = np.full(len(names), np.nan)
    try:
        for k, j in enumerate(positions):
            if j < 0:
                continue
            for side, out in ((-1.0, lower), (1.0, upper)):
                warm = u_hat.copy()
                step = scales[j]

                def excess(t, side=side, j=j, warm=warm):
                    return deviance(j, start[j].item() + side * t, warm) - quantile

                t_low, t_high = 0.0, math.sqrt(quantile) * step
                for _ in range(40):
                    if excess(t_high) > 0:
                        break
                    t_low, t_high = t_high, 2.0 * t_high
                else:
                    # The likelihood never drops by the quantile this way
                    # (a separable direction): the interval is unbounded.
                    out[k] = side * math.inf
                    continue
                t = optimize.brentq(excess, t_low, t_high, xtol=1e-8 * step)
                out[k] = start[j].item() + side * t
            if mapped[k]:
                # An unbounded end has no image we can evaluate: NaN.
                ends = (lower[k], upper[k])
                if all(math.isfinite(x) for x in ends):
                    lower[k], upper[k] = sorted(reported(k, x) for x in ends)
                else:
                    lower[k] = upper[k] = math.nan
    finally:
        assign(start.numpy())
    return np.asarray(names), lower, upper


def _check_cov_type(cov_type):
    if cov_type not in ("observed", "cluster"):
        raise ValueError(f"cov_type must be 'observed' or 'cluster', got {cov_type!r}.")


def _check_level(level):
    if not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise ValueError(f"level must be a number in (0, 1), got {level!r}.")
    return float(level)


class LikelihoodInferenceMixin:
    """``summary`` and ``confidence_intervals`` of a fitted likelihood model.

    The estimator's fit sets ``log_likelihood_``, ``n_params_``, ``nobs_``,
    ``aic_``, ``bic_``, ``parameter_names_``, ``parameters_`` and
    ``covariance_`` (see :func:`likelihood_statistics`) when its objective
    is a likelihood and its scorer linear.
    """

    def _set_likelihood_statistics(self, statistics):
        for name in (
            "log_likelihood_",
            "n_params_",
            "nobs_",
            "aic_",
            "bic_",
            "parameter_names_",
            "parameters_",
            "covariance_",
            "robust_covariance_",
        ):
            self.__dict__.pop(name, None)
        self._covariance_reason = None
        self._null_direction = None
        self._pseudo_covariance = {}
        if statistics is None:
            return
        k = statistics["n_params"]
        log_likelihood = statistics["log_likelihood"]
        self.log_likelihood_ = log_likelihood
        self.n_params_ = k
        self.nobs_ = statistics["n_obs"]
        self.aic_ = 2.0 * k - 2.0 * log_likelihood
        self.bic_ = k * math.log(max(self.nobs_, 1)) - 2.0 * log_likelihood
        self.parameter_names_ = statistics["names"]
        self.parameters_ = statistics["estimates"]
        self.covariance_ = statistics["covariance"]
        self.robust_covariance_ = statistics["robust_covariance"]
        self._covariance_reason = statistics["reason"]
        self._null_direction = statistics.get("null_direction")
        self._pseudo_covariance = {
            "observed": statistics.get("pseudo_covariance"),
            "cluster": statistics.get("pseudo_robust_covariance"),
        }

    def _checked_covariance(self, cov_type="observed"):
        _check_cov_type(cov_type)
        self._checked_statistics()
        if self.covariance_ is None:
            raise self._missing_covariance()
        if cov_type == "cluster":
            return self._cluster_or_raise(self.robust_covariance_)
        return self.covariance_

    def _missing_covariance(self):
        """The error of a fit without covariance, with the fit's reason."""
        return ValueError(
            f"{type(self).__name__} has no covariance: {self._covariance_reason}."
        )

    def _cluster_or_raise(self, covariance):
        if covariance is None:
            raise ValueError(
                f"{type(self).__name__} has no cluster-robust covariance: "
                "it needs at least two groups, and every group in "
                "training (early_stopping holds some out)."
            )
        return covariance

    def _covariance_up_to_shift(self, cov_type, use):
        """The covariance, through a generalised inverse, of parameters the
        likelihood sees only up to a common shift; ``use`` names the caller
        in the error when there are none."""
        _check_cov_type(cov_type)
        self._checked_statistics()
        if getattr(self, "_null_direction", None) is None:
            if self.covariance_ is None:
                # No covariance at all (skipped for its cost, or not
                # identified in more than one direction): say why, not how
                # to use one.
                raise self._missing_covariance()
            raise ValueError(
                f"{use} is for parameters the likelihood sees only up to a "
                "common shift (one indicator column per item); these "
                "parameters are identified as they are: use summary() "
                "without a reference."
            )
        covariance = self._pseudo_covariance.get(cov_type)
        return (
            covariance if cov_type == "observed" else self._cluster_or_raise(covariance)
        )

    def _checked_statistics(self):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        if not hasattr(self, "log_likelihood_"):
            raise ValueError(
                f"{type(self).__name__} has no likelihood statistics: "
                f"{self._statistics_unavailable()}."
            )

    def _statistics_unavailable(self):
        """Why a fit has no likelihood statistics, from the parameters
        alone (the error of :meth:`summary` and the like); a family with
        its own conditions names them."""
        return (
            "they exist for a likelihood objective with a linear scorer "
            "(LinearScorer) fitted unpenalised (alpha=0)"
        )

    def summary(self, level=0.95, cov_type="observed", reference=None):
        """The table of estimates, as R's ``summary`` and statsmodels print.

        Standard errors are the square roots of the diagonal of
        ``covariance_``, the inverse observed information at the maximum,
        or of ``robust_covariance_``.

        Parameters
        ----------
        level : float, default=0.95
            Confidence level of the Wald intervals.
        cov_type : {"observed", "cluster"}, default="observed"
            ``"observed"``: the inverse observed information, right when the
            units (comparisons, lists, rows) are independent. ``"cluster"``:
            the sandwich ``H⁻¹ B H⁻¹``, ``B`` the sum of the outer products
            of each group's score times ``G / (G - 1) · (n - 1) / (n - k)``
            (``G`` groups, ``n = nobs_``, ``k = n_params_``; as R's
            ``sandwich::vcovCL`` and statsmodels), right when the units of a
            group are not independent (the pairs drawn from one ranked list,
            the comparisons of one prompt written as one group). Models
            without groups cluster by row (Huber–White).
        reference : None, "sum" or str, default=None
            For item strengths (one indicator column per item), which the
            likelihood defines only up to a common shift: the name of the
            reference item, whose strength is set to 0 and left out of the
            table (as R's BradleyTerry2 and PlackettLuce), or ``"sum"``,
            strengths summing to zero. Standard errors are then those of the
            contrasts. ``None``: the parameters as fitted, which must be
            identified.

        Returns
        -------
        pandas.DataFrame
            One row per parameter (``parameter_names_``): ``estimate``,
            ``std_error``, ``z``, ``p_value`` (two-sided) and the interval's
            ``lower`` and ``upper`` bounds.
        """
        try:
            import pandas
        except ImportError as error:  # pragma: no cover - pandas is in the extras
            raise ImportError(
                f"summary() returns a pandas DataFrame; install pandas: "
                f"{install_hint('inference')}"
            ) from error
        level = _check_level(level)
        names, estimates, covariance = self._contrasts(cov_type, reference)
        std_error = np.sqrt(np.diag(covariance))
        z = estimates / std_error
        half = stats.norm.ppf(0.5 + level / 2) * std_error
        return pandas.DataFrame(
            {
                "estimate": estimates,
                "std_error": std_error,
                "z": z,
                "p_value": 2 * stats.norm.sf(np.abs(z)),
                "lower": estimates - half,
                "upper": estimates + half,
            },
            index=pandas.Index(list(names), name="parameter"),
        )

    def _contrasts(self, cov_type, reference):
        """Names, estimates and covariance of the reported parameters, or of
        their contrasts under a ``reference`` convention."""
        if reference is None:
            covariance = self._checked_covariance(cov_type)
            return self.parameter_names_, self.parameters_, covariance
        covariance = self._covariance_up_to_shift(cov_type, f"reference={reference!r}")
        out_names, transform = self._contrast_transform(reference)
        return (
            out_names,
            transform @ self.parameters_,
            transform @ covariance @ transform.T,
        )

    def _contrast_transform(self, reference):
        """The reported names and the matrix mapping the parameters to their
        contrasts under ``reference`` (identity for ``None``)."""
        names = self.parameter_names_
        if reference is None:
            return names, np.eye(len(names))
        direction = self._null_direction
        support = np.abs(direction) > 1e-8
        if isinstance(reference, str) and reference == "sum":
            # Σ over the shifted parameters of β - t v is zero.
            a = support / direction[support].sum()
            keep = np.ones(len(names), dtype=bool)
        elif isinstance(reference, str) and reference in set(names[support]):
            r = int(np.flatnonzero(names == reference)[0])
            a = np.zeros(len(names))
            a[r] = 1.0 / direction[r]
            keep = np.arange(len(names)) != r
        else:
            raise ValueError(
                f"reference must be None, 'sum' or the name of a shifted "
                f"parameter {list(names[support])[:10]}, got {reference!r}."
            )
        transform = np.eye(len(names)) - np.outer(direction, a)
        return names[keep], transform[keep]

    def quasi_standard_errors(self, cov_type="observed"):
        """Quasi-standard errors of item strengths (Firth & de Menezes, 2004).

        Item strengths are defined only up to a shift, so each strength's
        standard error depends on the reference chosen. Quasi-variances
        ``q_i`` are one number per item such that ``q_i + q_j`` approximates
        the variance of every difference ``β_i - β_j``, whatever the
        reference: they are chosen to minimise ``Σ_{i<j} (log(q_i + q_j) -
        log Var(β_i - β_j))²``, the criterion of R's ``qvcalc``. Intervals
        ``β_i ± 1.96 √q_i`` can then be compared between any two items.

        Parameters
        ----------
        cov_type : {"observed", "cluster"}, default="observed"

        Returns
        -------
        pandas.Series
            ``√q_i`` per item (the parameters the likelihood sees only up to
            a common shift), named ``"quasi_se"``. Its ``attrs["relative_error"]``
            holds the largest relative error of ``q_i + q_j`` over the pairs.
        """
        import pandas
        from scipy.optimize import minimize

        covariance = self._covariance_up_to_shift(cov_type, "quasi_standard_errors()")
        items = np.flatnonzero(np.abs(self._null_direction) > 1e-8)
        sub = covariance[np.ix_(items, items)]
        i, j = np.triu_indices(items.size, k=1)
        target = np.log(sub[i, i] + sub[j, j] - 2 * sub[i, j])

        def loss(log_q):
            q = np.exp(log_q)
            residual = np.log(q[i] + q[j]) - target
            share = q[i] / (q[i] + q[j]), q[j] / (q[i] + q[j])
            grad = np.bincount(i, 2 * residual * share[0], items.size)
            grad += np.bincount(j, 2 * residual * share[1], items.size)
            return float(residual @ residual), grad

        start = np.log(np.maximum(np.diag(sub) - sub.mean(), 1e-12 * sub.max()))
        result = minimize(loss, start, jac=True, method="L-BFGS-B")
        q = np.exp(result.x)
        error = np.abs((q[i] + q[j]) / np.exp(target) - 1)
        out = pandas.Series(
            np.sqrt(q),
            index=pandas.Index([str(n) for n in self.parameter_names_[items]]),
            name="quasi_se",
        )
        out.attrs["relative_error"] = float(error.max()) if error.size else 0.0
        return out

    def confidence_intervals(
        self,
        level=0.95,
        kind="wald",
        cov_type="observed",
        reference=None,
        *,
        X=None,
        y=None,
        n_resamples=999,
        n_jobs=None,
        random_state=None,
        **fit_params,
    ):
        """Confidence intervals of the parameters.

        Parameters
        ----------
        level : float, default=0.95
        kind : {"wald", "profile", "bootstrap"}, default="wald"
            ``"wald"``: estimate ± z · standard error (``cov_type``).
            ``"profile"``: profile-likelihood intervals (as R's ``confint``
            for ``glm`` and ``clm``): the values of each parameter at which
            the likelihood, maximised over the others, has dropped by half
            the χ²₁ quantile of ``level``. They need the training data
            ``X, y, **fit_params`` (the fit is continued on them, which
            checks that they are the fit's data) and hold for the
            parameters the model fits directly (coefficients, tie
            parameters on their reported scale); the other rows
            (ordered thresholds) are NaN, with a warning. Unlike Wald
            intervals they need not be symmetric: they follow the
            likelihood where it is skewed (few comparisons, near
            separation).
            ``"bootstrap"``: percentile intervals of ``n_resamples`` refits on
            resamples of the training data ``X, y, **fit_params`` (which must
            be the data of the fit), drawn by group (the ``groups`` of
            ``fit_params``; rows for models without groups): each resample
            draws as many groups as there are, with replacement, as integer
            sample weights. Each refit starts from the fitted parameters
            (a continued fit), and they run in parallel through joblib
            (``n_jobs``; under a Dask backend, on a cluster).
        cov_type : {"observed", "cluster"}, default="observed"
            The covariance of Wald intervals (see :meth:`summary`).
        reference : None, "sum" or str, default=None
            The convention for item strengths (see :meth:`summary`).
        X, y : array-like, default=None
            The training data, for ``kind="profile"`` and ``"bootstrap"``.
        n_resamples : int, default=999
        n_jobs : int, default=None
            Parallel refits (joblib's ``n_jobs``).
        random_state : int, RandomState instance or None, default=None
            Seeds the resampling.
        **fit_params
            The fit's metadata (``groups``, ``sample_weight``, ...).

        Returns
        -------
        pandas.DataFrame
            ``lower`` and ``upper`` per parameter.
        """
        if kind == "wald":
            return self.summary(level, cov_type, reference)[["lower", "upper"]]
        if kind == "profile":
            return self._profile_intervals(level, X, y, reference, fit_params)
        if kind != "bootstrap":
            raise ValueError(
                f"kind must be 'wald', 'profile' or 'bootstrap', got {kind!r}."
            )
        import pandas

        level = _check_level(level)
        self._checked_statistics()
        if X is None or y is None:
            raise ValueError(
                "kind='bootstrap' refits the model: pass the training data "
                "X=, y= and the fit's metadata (groups=, sample_weight=)."
            )
        names, transform = self._contrast_transform(reference)
        draws = self.bootstrap_parameters(
            X,
            y,
            n_resamples=n_resamples,
            n_jobs=n_jobs,
            random_state=random_state,
            **fit_params,
        ).to_numpy()
        draws = draws @ transform.T
        tail = (1 - level) / 2
        lower, upper = np.quantile(draws, [tail, 1 - tail], axis=0)
        return pandas.DataFrame(
            {"lower": lower, "upper": upper},
            index=pandas.Index(list(names), name="parameter"),
        )

    def _profile_intervals(self, level, X, y, reference, fit_params):
        import warnings

        import pandas

        level = _check_level(level)
        self._checked_statistics()
        if reference is not None or getattr(self, "_null_direction", None) is not None:
            raise ValueError(
                "kind='profile' needs parameters the likelihood identifies: "
                "item strengths defined up to a common shift have no profile "
                "(drop one item's column, or use kind='wald' with reference=)."
            )
        if X is None or y is None:
            raise ValueError(
                "kind='profile' continues the fit on its training data: pass "
                "X=, y= and the fit's metadata (groups=, sample_weight=)."
            )
        scales = np.sqrt(np.clip(np.diag(self._checked_covariance()), 1e-300, None))
        by_name = dict(zip(self.parameter_names_, scales))
        model = self._continuation()
        model._estimates_only = True
        found = {}

        def request(objective, params, named, statistics, weight_scale):
            found["result"] = profile_intervals(
                objective,
                params,
                named,
                weight_scale=weight_scale,
                level=level,
                scales=by_name,
            )

        model._profile_request = request
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y, **fit_params)
        if "result" not in found:
            raise ValueError(
                f"{type(self).__name__} has no likelihood on this data: pass "
                "the training data of the fit."
            )
        refitted = dict(zip(model.parameter_names_, model.parameters_))
        if not set(self.parameter_names_) <= set(refitted):
            raise ValueError(
                "X, y and the metadata must be the training data of the fit: "
                "continued on them, the fit has other parameters."
            )
        moved = (
            np.abs(
                [refitted[name] for name in self.parameter_names_] - self.parameters_
            )
            / scales
        )
        if moved.max() > 1e-2:
            raise ValueError(
                "X, y and the metadata must be the training data of the fit: "
                "continued on them, the fit moved its estimates by "
                f"{moved.max():.2g} standard errors."
            )
        names, lower, upper = found["result"]
        keep = np.isin(names, self.parameter_names_)
        frame = pandas.DataFrame(
            {"lower": lower[keep], "upper": upper[keep]},
            index=pandas.Index(list(names[keep]), name="parameter"),
        ).loc[list(self.parameter_names_)]
        missing = frame.index[frame["lower"].isna()].tolist()
        if missing:
            warnings.warn(
                f"No profile interval for {missing}: they are not parameters "
                "the model fits directly, nor functions of one (ordered "
                "thresholds, sums of parameters), or the profile is unbounded "
                "there; their rows are NaN. Use kind='wald' or 'bootstrap' "
                "for them.",
                UserWarning,
                stacklevel=3,
            )
        return frame

    def _held_parameters(self):
        """Parameters this fit held at a value instead of estimating them,
        by name (none by default): a refit of the bootstrap that holds one
        the original fit estimated reports it at that value."""
        return {}

    def _continuation(self):
        """A copy of this fit that continues from its parameters when fitted
        again (``warm_start``), silent. An estimator without warm starts
        (a calibrator, whose fit takes a few passes) fits afresh."""
        settings = {"verbose": 0}
        if "warm_start" in self.get_params():
            settings["warm_start"] = True
        return copy.deepcopy(self).set_params(**settings)

    def bootstrap_parameters(
        self, X, y, *, n_resamples=999, n_jobs=None, random_state=None, **fit_params
    ):
        """The parameters refitted on group-bootstrap resamples of the data.

        See ``kind="bootstrap"`` of :meth:`confidence_intervals`.

        Returns
        -------
        pandas.DataFrame of shape (n_resamples, n_parameters)
            One row per resample, one column per ``parameter_names_``.
        """
        import pandas
        from sklearn.utils import check_random_state

        self._checked_statistics()
        if not isinstance(n_resamples, numbers.Integral) or n_resamples < 1:
            raise ValueError(
                f"n_resamples must be a positive int, got {n_resamples!r}."
            )
        n_rows = len(y)
        groups = fit_params.get("groups")
        codes = (
            np.arange(n_rows)
            if groups is None
            else np.unique(np.asarray(groups), return_inverse=True)[1].ravel()
        )
        if codes.size != n_rows:
            raise ValueError(
                f"groups has {codes.size} entries but y has {n_rows}; pass the "
                "data of the fit."
            )
        n_groups = int(codes.max()) + 1
        seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        draw = _GroupResample(codes, np.full(n_groups, 1.0 / n_groups), seed)
        results = self._refits(X, y, draw, n_resamples, n_jobs, fit_params)
        return pandas.DataFrame(results, columns=list(self.parameter_names_))

    def _refits(self, X, y, draw, n_resamples, n_jobs, fit_params):
        """``parameters_`` refitted under ``n_resamples`` reweightings of
        the data, in parallel through joblib; an array of shape
        (n_resamples, len(parameter_names_)).

        ``draw(k)`` gives resample ``k``'s factors of the rows' sample
        weights (equal within a group). Where the engine can, each worker
        builds the problem once and re-solves it under its resamples'
        weights, from this fit's solution (see
        ``TorchEstimator._weighted_solves``); otherwise each resample is a
        fit of its own, continued from this one (estimates only).
        """
        start = self._continuation()
        n_workers = max(1, min(effective_n_jobs(n_jobs), n_resamples))
        chunks = np.array_split(np.arange(n_resamples), n_workers)
        parts = Parallel(n_jobs=n_jobs)(
            delayed(_refit_chunk)(
                start, X, y, draw, chunk, fit_params, self.parameter_names_
            )
            for chunk in chunks
        )
        results, not_converged = [], 0
        for values, misses in parts:
            results.extend(values)
            not_converged += misses
        if not_converged:
            warnings.warn(
                f"{not_converged} of {n_resamples} bootstrap refits of "
                f"{type(self).__name__} stopped at max_epochs before "
                "converging; raise max_epochs or tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return np.array(results)


class _GroupResample:
    """Resample ``k``'s factors of the rows' weights: each group's count in
    a multinomial draw of as many groups as there are, with probabilities
    ``p`` (uniform: the group bootstrap; proportional to their weights:
    resampling the observations that cells of identical ones aggregate),
    divided by its expected count. Drawn from a generator of its own per
    resample, so that workers need no shared state."""

    def __init__(self, codes, p, seed, total=None):
        self.codes, self.p, self.seed = codes, p, seed
        self.total = len(p) if total is None else total

    def __call__(self, k):
        rng = np.random.default_rng([self.seed, k])
        counts = rng.multinomial(self.total, self.p)
        return (counts / (self.total * self.p))[self.codes]


def _refit_chunk(model, X, y, draw, chunk, fit_params, names):
    """The parameters under the resamples ``chunk`` and how many did not
    converge: one fit that re-solves under each resample's weights, or, if
    the engine cannot, one refit per resample."""
    model = copy.deepcopy(model)
    model._estimates_only = True
    request = {"multipliers": (draw(k) for k in chunk), "draws": None}
    model._bootstrap_request = request
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model.fit(X, y, **fit_params)
        finally:
            del model._bootstrap_request
    if request["draws"] is not None:
        found, draws, converged = request["draws"]
        position = {name: j for j, name in enumerate(found)}
        if all(name in position for name in names):
            columns = [position[name] for name in names]
            return list(draws[:, columns]), int((~converged).sum())
    base = fit_params.get("sample_weight")
    base = np.ones(len(y)) if base is None else np.asarray(base, dtype=float)
    params = {key: value for key, value in fit_params.items() if key != "sample_weight"}
    return [
        _refit_parameters(model, X, y, base * draw(k), params, names) for k in chunk
    ], 0


def _refit_parameters(model, X, y, sample_weight, fit_params, names):
    import warnings

    model = copy.deepcopy(model)
    model._estimates_only = True
    with warnings.catch_warnings():
        # A resample may drop a group the data needed to link items, or
        # stop short of tol: percentile intervals tolerate either.
        warnings.simplefilter("ignore")
        model.fit(X, y, sample_weight=sample_weight, **fit_params)
    return _parameters_by_name(model, names)


def _parameters_by_name(model, names):
    values = {
        **model._held_parameters(),
        **dict(zip(model.parameter_names_, model.parameters_)),
    }
    missing = [name for name in names if name not in values]
    if missing:
        raise ValueError(
            f"A refit of {type(model).__name__} has no parameters {missing}: "
            "pass the training data of the fit."
        )
    return [values[name] for name in names]


class LikelihoodRatioResult(tuple):
    """``(statistic, df, pvalue)`` of :func:`likelihood_ratio_test`, also
    readable by name."""

    __slots__ = ()

    def __new__(cls, statistic, df, pvalue):
        return super().__new__(cls, (statistic, df, pvalue))

    statistic = property(lambda self: self[0])
    df = property(lambda self: self[1])
    pvalue = property(lambda self: self[2])

    def __repr__(self):
        return (
            f"LikelihoodRatioResult(statistic={self.statistic!r}, df={self.df!r}, "
            f"pvalue={self.pvalue!r})"
        )


def likelihood_ratio_test(restricted, full):
    """Likelihood-ratio test of a model against a larger one it is nested in.

    ``2 (log L_full - log L_restricted)`` is referred to a chi-squared
    distribution with ``n_params_`` of ``full`` minus those of
    ``restricted`` degrees of freedom (Wilks, 1938), as R's ``anova`` and
    ``lrtest`` do for nested fits. Both models must be fitted likelihood
    models (see :ref:`inference`) on the same data, ``restricted`` a
    special case of ``full`` (a covariate left out, ties not modelled...):
    nesting itself cannot be checked from the fits.

    Parameters
    ----------
    restricted, full : fitted estimators with ``log_likelihood_``

    Returns
    -------
    LikelihoodRatioResult
        ``(statistic, df, pvalue)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.datasets import make_preferences
    >>> from skalign.inference import likelihood_ratio_test
    >>> from skalign.preference import PreferenceRewardRegressor
    >>> X, y, groups, _ = make_preferences(n_groups=300, n_features=3, random_state=0)
    >>> full = PreferenceRewardRegressor().fit(X, y, groups=groups)
    >>> restricted = PreferenceRewardRegressor().fit(X[:, :2], y, groups=groups)
    >>> result = likelihood_ratio_test(restricted, full)
    >>> result.df, bool(result.pvalue < 0.001)
    (1, True)
    """
    for name, model in (("restricted", restricted), ("full", full)):
        if not hasattr(model, "log_likelihood_"):
            raise ValueError(
                f"{name} ({type(model).__name__}) has no log_likelihood_: it "
                "must be a fitted likelihood model with a linear scorer and "
                "alpha=0."
            )
    if restricted.nobs_ != full.nobs_:
        raise ValueError(
            f"restricted and full were fitted on different data: nobs_ "
            f"{restricted.nobs_} and {full.nobs_}."
        )
    df = full.n_params_ - restricted.n_params_
    if df <= 0:
        raise ValueError(
            f"full must have more parameters than restricted: n_params_ "
            f"{full.n_params_} and {restricted.n_params_} (swap them?)."
        )
    statistic = 2.0 * (full.log_likelihood_ - restricted.log_likelihood_)
    scale = max(1.0, abs(full.log_likelihood_))
    if statistic < -1e-6 * scale:
        raise ValueError(
            f"full fits worse than restricted (log-likelihoods "
            f"{full.log_likelihood_:.6g} and {restricted.log_likelihood_:.6g}): "
            "restricted is not nested in full, or a fit did not converge."
        )
    statistic = max(statistic, 0.0)
    return LikelihoodRatioResult(
        statistic, int(df), float(stats.chi2.sf(statistic, df))
    )
