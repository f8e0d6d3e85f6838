"""Likelihood inference for the convex models with a linear scorer.

After a fit whose objective is a mean negative log-likelihood (a
:class:`~skalign._engine.Formulation` with ``likelihood=True``) and whose
scorer is a :class:`~skalign.nn.LinearScorer`, the engine calls
:func:`likelihood_statistics`. It evaluates the objective once more, in
float64 and twice differentiably (:func:`~skalign._loss._reduction.unfused`),
which also gives the mean's denominator ``N``: the log-likelihood is
``-N`` times the objective, and the observed information ``N`` times its
Hessian, taken exactly by automatic differentiation (one backward pass per
parameter, no finite differences).

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

import math
import numbers

import numpy as np
import torch
from scipy import stats

from ._loss._reduction import unfused
from .utils._extras import install_hint

__all__ = ["LikelihoodInferenceMixin", "likelihood_statistics"]

#: The Hessian costs one backward pass over the training data per
#: parameter: computed at fit time when parameters × training rows stay
#: under this (a few full evaluations of the objective on typical data).
INFORMATION_BUDGET = 5e7
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
    rows = []
    for value in values:
        grads = torch.autograd.grad(value, params, retain_graph=True, allow_unused=True)
        rows.append(_flat(grads, params))
    return torch.stack(rows) if rows else torch.zeros(0, sum(p.numel() for p in params))


def likelihood_statistics(objective, params, named, *, weight_scale, n_obs, n_rows):
    """Log-likelihood, information criteria and covariance of a fitted model.

    Parameters
    ----------
    objective : callable
        ``objective()`` evaluates the mean negative log-likelihood on the
        training data (float64 parameters and data).
    params : list of tensors
        The module's trainable parameters (leaves requiring grad).
    named : callable
        ``named()`` returns a dict of the reported parameters (name ->
        0-d tensor), computed from ``params``.
    weight_scale : float
        The factor the engine divided the sample weights by.
    n_obs : int
        Independent observations (units of positive weight), for BIC.
    n_rows : int
        Training rows times unit length, for the cost budget.

    Returns
    -------
    dict or None
        ``None`` when the objective is not one weighted mean (then it is not
        a plain likelihood). Otherwise the statistics; ``covariance`` is
        ``None`` with a ``reason`` when it was not computed.
    """
    with unfused() as normalisers:
        value = objective()
    if len(normalisers) != 1:
        return None
    total = float(normalisers[0]) * weight_scale
    log_likelihood = -total * float(value.detach())
    names, estimates = [], []
    for name, tensor in named().items():
        names.append(name)
        estimates.append(float(tensor.detach()))
    out = {
        "log_likelihood": log_likelihood,
        "names": np.asarray(names, dtype=str),
        "estimates": np.asarray(estimates, dtype=np.float64),
        "n_obs": int(n_obs),
        "covariance": None,
        "reason": None,
    }
    n_raw = sum(p.numel() for p in params)
    out["n_params"] = n_raw
    if n_raw * n_rows > INFORMATION_BUDGET:
        out["reason"] = (
            f"the observed information of {n_raw} parameters over {n_rows} "
            f"training rows was not computed at fit time (parameters x rows "
            f"above {INFORMATION_BUDGET:.0e})"
        )
        return out
    try:
        with unfused():
            value = objective()
            grads = torch.autograd.grad(value, params, create_graph=True)
            gradient = _flat(grads, params)
            hessian = _jacobian(gradient, params) if gradient.requires_grad else None
    except RuntimeError as error:
        out["reason"] = f"the objective has no second derivative here ({error})"
        return out
    if hessian is None:
        out["reason"] = "the objective does not depend on the parameters"
        return out
    information = total * 0.5 * (hessian + hessian.T)
    diagonal = information.diagonal()
    keep = diagonal > _SINGULAR * float(diagonal.abs().max().clamp_min(1e-300))
    if not bool(keep.any()):
        out["n_params"] = 0
        out["reason"] = "the likelihood does not vary with any parameter"
        return out
    information = information[keep][:, keep]
    scale = information.diagonal().rsqrt()
    correlation = information * scale[:, None] * scale[None, :]
    eigenvalues = torch.linalg.eigvalsh(correlation)
    out["n_params"] = int(keep.sum())
    if not bool(eigenvalues.min() > _SINGULAR * eigenvalues.max()):
        out["reason"] = (
            "the parameters are not identified: the information matrix is "
            "singular (collinear features, or one indicator column per item, "
            "whose strengths are defined only up to a common shift: drop one "
            "item's column to make it the reference)"
        )
        out["n_params"] = int((eigenvalues > _SINGULAR * eigenvalues.max()).sum())
        return out
    covariance_raw = scale[:, None] * torch.linalg.inv(correlation) * scale[None, :]
    with torch.enable_grad():
        values = list(named().values())
        jacobian = _jacobian(values, params)
    # A reported parameter that moves only parameters the likelihood does
    # not see (an intercept cancelling within comparisons) is not identified.
    seen = jacobian[:, keep].abs().sum(1) > 0
    unseen = jacobian[:, ~keep].abs().sum(1) > 0
    kept = seen | ~unseen
    jacobian = jacobian[kept][:, keep]
    out["names"] = out["names"][kept.numpy()]
    out["estimates"] = out["estimates"][kept.numpy()]
    covariance = jacobian @ covariance_raw @ jacobian.T
    out["covariance"] = covariance.detach().numpy()
    return out


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
        ):
            self.__dict__.pop(name, None)
        self._covariance_reason = None
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
        self._covariance_reason = statistics["reason"]

    def _checked_covariance(self):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        if not hasattr(self, "log_likelihood_"):
            raise ValueError(
                f"{type(self).__name__} has no likelihood statistics: they "
                "exist for a likelihood objective with a linear scorer "
                "(LinearScorer) fitted unpenalised (alpha=0)."
            )
        if self.covariance_ is None:
            raise ValueError(
                f"{type(self).__name__} has no covariance: {self._covariance_reason}."
            )
        return self.covariance_

    def summary(self, level=0.95):
        """The table of estimates, as R's ``summary`` and statsmodels print.

        Standard errors are the square roots of the diagonal of
        ``covariance_``, the inverse observed information at the maximum.

        Parameters
        ----------
        level : float, default=0.95
            Confidence level of the Wald intervals.

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
        covariance = self._checked_covariance()
        std_error = np.sqrt(np.diag(covariance))
        z = self.parameters_ / std_error
        half = stats.norm.ppf(0.5 + level / 2) * std_error
        return pandas.DataFrame(
            {
                "estimate": self.parameters_,
                "std_error": std_error,
                "z": z,
                "p_value": 2 * stats.norm.sf(np.abs(z)),
                "lower": self.parameters_ - half,
                "upper": self.parameters_ + half,
            },
            index=pandas.Index(list(self.parameter_names_), name="parameter"),
        )

    def confidence_intervals(self, level=0.95, kind="wald"):
        """Confidence intervals of the parameters.

        Parameters
        ----------
        level : float, default=0.95
        kind : {"wald"}, default="wald"
            ``"wald"``: estimate ± z · standard error from the observed
            information.

        Returns
        -------
        pandas.DataFrame
            ``lower`` and ``upper`` per parameter.
        """
        if kind != "wald":
            raise ValueError(
                f"kind must be 'wald' (profile-likelihood and bootstrap "
                f"intervals are not available yet), got {kind!r}."
            )
        return self.summary(level)[["lower", "upper"]]
