"""The dependence penalty as a part of any engine estimator's objective.

What the fairness-regularised estimators (:mod:`skalign.fairness`) and the
estimators of other families that take the penalty as an option (reward
models, rankers) share: the validation and encoding of ``sensitive_features``
for the penalty, the parameter constraints and docs of the option, and the
unpenalised start of an L-BFGS fit. Here, below the families, so that none of
them imports another's private modules.
"""

import functools
import numbers

from sklearn.base import clone
from sklearn.utils._param_validation import Interval, StrOptions

from .._loss.dependence import KINDS, unit_dependence_penalty
from ._encoding import encode_sensitive_features

__all__ = [
    "SHARED_CONSTRAINTS",
    "FairnessPenaltyMixin",
    "encode_for_penalty",
    "fill_penalty_doc",
    "unpenalised_state",
]

#: Constraints of the parameters shared with the family's own estimators.
SHARED_CONSTRAINTS = {
    "fairness_strength": [Interval(numbers.Real, 0, None, closed="left")],
    "jdcov_c": [Interval(numbers.Real, 0, None, closed="neither")],
    "categorical_features": [StrOptions({"auto", "all"}), "array-like"],
    "scale_continuous": ["boolean"],
}


def encode_for_penalty(
    sensitive_features,
    n_samples,
    *,
    strength,
    categorical_features,
    scale_continuous,
    penalised="predictions",
):
    """Validate and encode ``sensitive_features`` for the penalty.

    ``None`` is returned when they are absent, which is an error when the
    penalty is on (``strength > 0``). Given attributes are validated (and
    encoded) even when ``strength`` is 0, so that bad metadata never passes
    silently.
    """
    if sensitive_features is None:
        if strength > 0:
            raise ValueError(
                f"fairness_strength={strength} penalises the dependence of the "
                f"{penalised} on the protected attributes, so fit needs them: "
                "pass sensitive_features=... (or set fairness_strength=0 for "
                "the unpenalised model)."
            )
        return None
    return encode_sensitive_features(
        sensitive_features,
        n_samples=n_samples,
        categorical_features=categorical_features,
        scale_continuous=scale_continuous,
    )


def unpenalised_state(estimator, X, y, **fit_params):
    """The fitted module's state of ``estimator`` refitted with strength 0.

    A zero-initialised linear scorer predicts a constant, where the penalty
    is at its minimum and has no useful gradient: L-BFGS's first step
    follows the data loss alone, the penalty rises along it, the line search
    fails and L-BFGS stops at the constant model. Starting the penalised fit
    from the unpenalised one (convex and fast) avoids that.
    """
    plain = clone(estimator).set_params(
        fairness_strength=0.0, warm_start=False, callbacks=None, verbose=0
    )
    plain.fit(X, y, **fit_params)
    return {k: v.detach().clone() for k, v in plain.scorer_.state_dict().items()}


_PENALTY_DOC = """\
fairness_penalty : {{"dcov", "ccdcov", "jdcov"}}, default=None
    Adds ``fairness_strength`` times a dependence measure between the
    {scores} and the protected attributes ``sensitive_features`` of
    their rows to the loss (see
    :func:`~skalign.fairness.dependence_penalty`): one dCov² per attribute
    (``"dcov"``), dCov² with all attributes concatenated (``"ccdcov"``,
    intersectional) or JdCov² (``"jdcov"``, intersectional, with
    ``jdcov_c``), as the V-statistic weighted by ``sample_weight``.
    {once}
    ``None`` (the default) fits the unpenalised model; the penalty is then
    not evaluated.
fairness_strength : float, default=1.0
    λ, the weight of the penalty when ``fairness_penalty`` is set; 0 fits
    the unpenalised model exactly. The penalty scales with the {scores}
    while the loss does not, so choose λ on held-out data (see
    :ref:`fair_reward_models`).
jdcov_c : float, default=1.0
    The constant ``c`` of JdCov² (``fairness_penalty="jdcov"`` only):
    larger values weigh pairwise dependence more than higher-order
    dependence.
categorical_features : "auto", "all" or array-like, default="auto"
    Which columns of ``sensitive_features`` (not of ``X``) the penalty
    treats as categorical (one-hot encoded); the others are continuous
    (standardised). String, boolean and pandas categorical columns always
    are; list numeric columns (names, indices or a mask) that hold category
    codes. See :func:`~skalign.fairness.encode_sensitive_features`.
scale_continuous : bool, default=True
    Standardise continuous protected attributes for the penalty."""


def fill_penalty_doc(cls, *, scores, once):
    """Replace ``{fairness_penalty_params}`` in ``cls.__doc__`` by the
    numpydoc entries of the penalty's parameters, keeping its indentation.

    ``scores`` names what is penalised (``"rewards"``); ``once`` is the
    sentence saying how rows that fill several positions count.
    """
    placeholder = "{fairness_penalty_params}"
    doc = cls.__doc__
    start = doc.index(placeholder)
    indent = doc[doc.rfind("\n", 0, start) + 1 : start]
    text = "\n".join(
        indent + line if line else line
        for line in _PENALTY_DOC.format(scores=scores, once=once).splitlines()
    )
    cls.__doc__ = doc.replace(indent + placeholder, text, 1)
    return cls


class FairnessPenaltyMixin:
    """The ``fairness_penalty`` option of an engine estimator.

    The estimator declares the parameters ``fairness_penalty``,
    ``fairness_strength``, ``jdcov_c``, ``categorical_features`` and
    ``scale_continuous`` (constraints in ``_penalty_constraints``); its
    ``_problem`` calls :meth:`_penalty_targets` (the attributes, and the
    penalty's configuration, a constant of the problem), its
    ``_formulation`` adds :meth:`_penalty_term` of that configuration to
    the loss, and a penalised L-BFGS problem starts from
    :meth:`_unpenalised_start`.
    """

    _penalty_constraints = {
        "fairness_penalty": [None, StrOptions(set(KINDS))],
        **SHARED_CONSTRAINTS,
    }
    #: What the penalty sees, for error messages.
    _penalised = "scores"

    def _penalty_active(self):
        return self.fairness_penalty is not None and self.fairness_strength > 0

    def _penalty_targets(
        self, sensitive_features, n_samples, *, constants, validate_unused=True
    ):
        """Encode the attributes: ``(attributes per row or None, config)``.

        ``config`` (``None`` when the penalty is off) is the penalty's
        configuration, a constant of the problem: a continued fit
        (``constants`` not ``None``) must have the fitted one. Sets
        ``sensitive_attributes_`` on a fresh fit. Given attributes are
        validated even when the penalty is off, unless
        ``validate_unused=False`` (an estimator that validates them for
        another use).
        """
        encoded = None
        named = self.fairness_penalty is not None
        if named or (validate_unused and sensitive_features is not None):
            encoded = encode_for_penalty(
                sensitive_features,
                n_samples,
                strength=self.fairness_strength if named else 0.0,
                categorical_features=self.categorical_features,
                scale_continuous=self.scale_continuous,
                penalised=self._penalised,
            )
        config = None
        if encoded is not None and self._penalty_active():
            config = dict(
                strength=float(self.fairness_strength),
                kind=self.fairness_penalty,
                sizes=tuple(int(size) for size in encoded.sizes),
                categorical=tuple(bool(c) for c in encoded.categorical),
                c=float(self.jdcov_c),
            )
        if constants is not None:
            if config != constants["penalty"]:
                raise ValueError(
                    "The fairness penalty of this call (fairness_penalty, "
                    "fairness_strength, jdcov_c, or the encoded columns of "
                    "sensitive_features) differs from the one the model was "
                    "fitted with; fit it afresh (warm_start=False)."
                )
        else:
            self.sensitive_attributes_ = () if encoded is None else encoded.names
        return (None if config is None else encoded.values), config

    @staticmethod
    def _penalty_term(config):
        """The penalty of ``config`` as a function of ``(scores, attributes,
        weight, mask, row=None)``, or ``None`` when it is off."""
        if config is None:
            return None
        return functools.partial(unit_dependence_penalty, **config)

    def _unpenalised_start(self, formulation, config, X, y, **fit_params):
        """The problem's ``initial_state``: a penalised full-batch fit starts
        from the unpenalised optimum (see :func:`unpenalised_state`)."""
        if config is None or not self._uses_full_batch_solver(formulation):
            return None
        return functools.partial(unpenalised_state, self, X, y, **fit_params)
