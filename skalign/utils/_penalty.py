"""The dependence penalty: one object, one term, one policy for every estimator.

:class:`DependencePenalty` says what is penalised (which dependence measure,
how strongly, independence or separation, on which encoding of the
protected attributes); :class:`FairnessPenaltyMixin` is what an engine
estimator that takes it through its ``fairness_penalty`` parameter shares:
the validation and encoding of ``sensitive_features``, the penalty's
configuration (a constant of the training problem), its term in the loss
(:func:`~skalign._loss.dependence.unit_dependence_penalty`), the choice of
solver and the unpenalised start of a penalised fit. Here, below the
families, so that none of them imports another's private modules.
"""

import functools
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils._param_validation import Hidden, Interval, StrOptions

from .._loss.dependence import KINDS, unit_dependence_penalty
from ..nn import LinearScorer
from ._encoding import encode_sensitive_features

__all__ = [
    "DependencePenalty",
    "FairnessPenaltyMixin",
    "encode_for_penalty",
    "fill_penalty_doc",
    "strata",
    "unpenalised_state",
]

#: Up to this many rows, a penalised linear model is fitted by full-batch
#: L-BFGS even when the penalty needs ``n x n`` distance matrices (at most
#: 4096² entries each); a penalty with an exact ``O(n log n)`` path is
#: fitted by L-BFGS at every size.
LBFGS_MATRIX_ROWS = 4096

_DEPRECATED = "deprecated"


class DependencePenalty(BaseEstimator):
    """A penalty on the dependence of predictions on protected attributes.

    Passed as ``fairness_penalty=`` to every skalign estimator that takes
    one (:class:`~skalign.fairness.FairRegressor`,
    :class:`~skalign.fairness.FairClassifier`,
    :class:`~skalign.preference.PreferenceRewardRegressor`,
    :class:`~skalign.ranking.PlackettLuceRanker`), which then minimises its
    loss plus ``strength`` times a distance-covariance measure between its
    predictions (values, probabilities, rewards or scores) and the
    ``sensitive_features`` given to ``fit``. Its parameters are nested
    parameters of the estimator (``fairness_penalty__strength``), so
    :class:`~sklearn.model_selection.GridSearchCV` and
    :func:`~skalign.fairness.fairness_path` tune them.

    Parameters
    ----------
    kind : {"dcov", "ccdcov", "jdcov"}, default="dcov"
        The measure (see :func:`~skalign.fairness.dependence_penalty`): one
        term per attribute (``"dcov"``, marginal parity), the concatenated
        attributes (``"ccdcov"``, intersectional) or the joint distance
        covariance (``"jdcov"``, intersectional, with ``c``).
    strength : float, default=1.0
        λ ≥ 0; 0 fits the unpenalised model exactly (the penalty is not
        evaluated). With ``normalize=True`` it is scale-free: see Notes.
    criterion : {"independence", "separation"}, default="independence"
        ``"independence"`` (demographic parity) penalises the dependence
        of the predictions on the attributes; ``"separation"`` (equalised
        odds) only their dependence *given the target*: the
        stratum-weighted mean of the penalty within the classes of a
        classifier, or within ``n_bins`` quantile bins of a continuous
        target (its distinct values when there are at most ``n_bins``).
        Use separation when the attributes are allowed to influence the
        prediction through the target itself.
    normalize : bool, default=True
        Divide the predictions and each attribute by their distance
        standard deviation on each (mini-)batch, and multiply the penalty
        by the loss of the best constant prediction (for row-wise losses;
        1 for pair and list losses, which are in nats per comparison).
        ``False`` penalises the raw dCov², whose scale follows that of the
        predictions (the behaviour of the deprecated parameters).
    n_bins : int, default=5
        Strata of a continuous target for ``criterion="separation"``.
    statistic : {"v", "u"}, default="v"
        Estimator of the penalty on each batch: the V-statistic
        (non-negative; honours ``sample_weight``) or the unbiased
        U-statistic (row-wise estimators and independence only; needs at
        least 4 rows per batch; ignores ``sample_weight``).
    c : float, default=1.0
        The constant of JdCov² (``kind="jdcov"``): larger values weigh
        pairwise dependence more than higher-order dependence.
    categorical_features : "auto", "all" or array-like, default="auto"
        Which columns of ``sensitive_features`` are categorical (one-hot
        encoded); the others are continuous. See
        :func:`~skalign.fairness.encode_sensitive_features`.
    scale_continuous : bool, default=True
        Standardise continuous protected attributes.

    Notes
    -----
    With ``normalize=True`` and ``kind="dcov"`` the penalty is
    ``λ · L₀ · Σ_j dCor²(ŷ, S_j)``: squared distance correlations, in
    ``[0, 1]`` and unchanged by the scale of the predictions, so the model
    cannot lower it by shrinking its predictions, and the same grid of λ
    serves every data set. ``L₀`` is the loss of the best constant
    prediction (half the target's variance for the squared error), so
    λ = 1 trades a unit of squared distance correlation for the whole of
    that loss. ``"ccdcov"`` is ``dCor²`` with all attributes at once;
    ``"jdcov"`` is the JdCov² of the variables each divided by its
    distance standard deviation (the scale-invariant JdCov of Chakraborty &
    Zhang, 2019).

    Separation is the conditional distance covariance of Wang, Pan, Hu,
    Tian & Zhang (2015), "Conditional distance correlation", JASA 110(512),
    with a uniform kernel on the strata of the target: zero exactly when
    the predictions are independent of the attributes within every
    stratum. For a classifier this is equalised odds on the predicted
    probabilities (Hardt, Price & Srebro, 2016).

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.fairness import DependencePenalty, FairRegressor
    >>> rng = np.random.default_rng(0)
    >>> group = rng.integers(0, 2, size=300)
    >>> X = np.column_stack([rng.normal(size=300), group + rng.normal(size=300)])
    >>> y = X[:, 0] + 2 * group
    >>> model = FairRegressor(fairness_penalty=DependencePenalty(strength=10.0))
    >>> pred = model.fit(X, y, sensitive_features=group).predict(X)
    >>> bool(abs(pred[group == 1].mean() - pred[group == 0].mean()) < 0.5)
    True
    >>> model.get_params()["fairness_penalty__strength"]
    10.0
    """

    _parameter_constraints = {
        "kind": [StrOptions(set(KINDS))],
        "strength": [Interval(numbers.Real, 0, None, closed="left")],
        "criterion": [StrOptions({"independence", "separation"})],
        "normalize": ["boolean"],
        "n_bins": [Interval(numbers.Integral, 1, None, closed="left")],
        "statistic": [StrOptions({"v", "u"})],
        "c": [Interval(numbers.Real, 0, None, closed="neither")],
        "categorical_features": [StrOptions({"auto", "all"}), "array-like"],
        "scale_continuous": ["boolean"],
    }

    def __init__(
        self,
        kind="dcov",
        strength=1.0,
        *,
        criterion="independence",
        normalize=True,
        n_bins=5,
        statistic="v",
        c=1.0,
        categorical_features="auto",
        scale_continuous=True,
    ):
        self.kind = kind
        self.strength = strength
        self.criterion = criterion
        self.normalize = normalize
        self.n_bins = n_bins
        self.statistic = statistic
        self.c = c
        self.categorical_features = categorical_features
        self.scale_continuous = scale_continuous

    @property
    def active(self):
        """Whether the penalty is evaluated (``strength > 0``)."""
        return self.strength > 0


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
                f"fairness_penalty (strength {strength}) penalises the "
                f"dependence of the {penalised} on the protected attributes, so "
                "fit needs them: pass sensitive_features=... (or "
                "fairness_penalty=None for the unpenalised model)."
            )
        return None
    return encode_sensitive_features(
        sensitive_features,
        n_samples=n_samples,
        categorical_features=categorical_features,
        scale_continuous=scale_continuous,
    )


def unpenalised_state(estimator, X, y, **fit_params):
    """The fitted module's state of ``estimator`` refitted without its penalty.

    A zero-initialised linear scorer predicts a constant, where the penalty
    is at its minimum and has no useful gradient: L-BFGS's first step
    follows the data loss alone, the penalty rises along it, the line search
    fails and L-BFGS stops at the constant model. Starting the penalised fit
    from the unpenalised one (convex and fast) avoids that. Only its
    weights are kept, so it computes no covariance.
    """
    plain = clone(estimator).set_params(
        **estimator._unpenalised_params(), warm_start=False, callbacks=None, verbose=0
    )
    # Statistics that nobody reads: as the resampling refits, estimates only.
    plain._estimates_only = True
    plain.fit(X, y, **fit_params)
    return {k: v.detach().clone() for k, v in plain.scorer_.state_dict().items()}


def strata(values, n_bins, discrete, edges=None):
    """Stratum codes of the target for separation, and the bin edges.

    ``discrete`` values (class codes) are their own strata; otherwise the
    distinct values when there are at most ``n_bins``, else quantile bins.
    ``edges`` (from the first fit) are reused by a continued fit.
    """
    values = np.asarray(values, dtype=np.float64)
    if discrete:
        codes = values.astype(np.int64)
        return codes, None, int(codes.max()) + 1
    if edges is None:
        distinct = np.unique(values)
        if distinct.size <= n_bins:
            # Midpoints between the distinct values.
            edges = tuple(float(e) for e in (distinct[1:] + distinct[:-1]) / 2)
        else:
            quantiles = np.quantile(values, np.linspace(0, 1, n_bins + 1)[1:-1])
            edges = tuple(float(e) for e in np.unique(quantiles))
    codes = np.searchsorted(np.asarray(edges), values, side="right")
    return codes.astype(np.int64), edges, len(edges) + 1


_PENALTY_DOC = """\
fairness_penalty : DependencePenalty or None, default=None
    A penalty on the dependence between the {scores} and the protected
    attributes ``sensitive_features`` given to :meth:`fit` (see
    :class:`~skalign.fairness.DependencePenalty`: the measure, its
    strength, independence or separation, the encoding of the
    attributes). {once}
    ``None`` (the default) fits the *unpenalised* model, exactly (the
    penalty is not even evaluated), so that ``sensitive_features`` are
    optional; a penalty of positive strength requires them. Its parameters
    are nested parameters (``fairness_penalty__strength``): choose the
    strength with :func:`~skalign.fairness.fairness_path` or a search.
{deprecated} : deprecated
    Deprecated in 0.3 and removed in 0.4: set the parameters of the
    ``DependencePenalty`` instead.{strings} Given, they build the penalty
    with ``normalize=False`` (their former, raw-dCov² meaning) and warn."""

_STRINGS_DOC = (
    ' A string ``fairness_penalty`` (``"dcov"``, ``"ccdcov"``, ``"jdcov"``)'
    " is deprecated too: it is the penalty's ``kind``."
)


def fill_penalty_doc(cls, *, scores, once, strings=False):
    """Replace ``{fairness_penalty_params}`` in ``cls.__doc__`` by the
    numpydoc entries of the penalty's parameters, keeping its indentation:
    the one documentation of the option, for every estimator.

    ``scores`` names what is penalised (``"rewards"``); ``once`` is the
    sentence saying how rows count; the deprecated parameters are those of
    ``cls._deprecated_penalty``; ``strings``: a string ``fairness_penalty``
    is deprecated too.
    """
    placeholder = "{fairness_penalty_params}"
    doc = cls.__doc__
    start = doc.index(placeholder)
    indent = doc[doc.rfind("\n", 0, start) + 1 : start]
    text = _PENALTY_DOC.format(
        scores=scores,
        once=once,
        deprecated=", ".join(cls._deprecated_penalty),
        strings=_STRINGS_DOC if strings else "",
    )
    text = "\n".join(indent + line if line else line for line in text.splitlines())
    cls.__doc__ = doc.replace(indent + placeholder, text, 1)
    return cls


def _deprecated(constraints):
    return [*constraints, Hidden(StrOptions({_DEPRECATED}))]


class FairnessPenaltyMixin:
    """The ``fairness_penalty`` parameter of an engine estimator.

    The estimator declares ``fairness_penalty`` (``None`` or a
    :class:`DependencePenalty`) and, for one release, the deprecated
    parameters of ``_deprecated_penalty`` (default ``"deprecated"``). Its
    ``_problem`` calls :meth:`_penalty_targets` (the per-row targets of the
    penalty, and its configuration, a constant of the problem), its
    ``_formulation`` adds :meth:`_penalty_term` of that configuration to
    the loss and takes :meth:`_penalty_lbfgs` as its solver preference, and
    a penalised problem starts from :meth:`_unpenalised_start`. A fresh
    fit's encoding and strata come from the engine's ``_across_ranks``
    (all the data, in a data-parallel fit).
    """

    _penalty_constraints = {
        "fairness_penalty": [
            None,
            DependencePenalty,
            Hidden(StrOptions(set(KINDS))),
        ],
        "fairness_strength": _deprecated(
            [Interval(numbers.Real, 0, None, closed="left")]
        ),
        "jdcov_c": _deprecated([Interval(numbers.Real, 0, None, closed="neither")]),
        "categorical_features": _deprecated(
            [StrOptions({"auto", "all"}), "array-like"]
        ),
        "scale_continuous": _deprecated(["boolean"]),
    }
    #: Deprecated parameter -> DependencePenalty parameter.
    _deprecated_penalty = {
        "fairness_strength": "strength",
        "jdcov_c": "c",
        "categorical_features": "categorical_features",
        "scale_continuous": "scale_continuous",
    }
    #: The strength a deprecated string ``fairness_penalty`` had by default.
    _deprecated_strength = 1.0
    #: What the penalty sees, for error messages.
    _penalised = "scores"
    #: Whether training units are single rows (the U-statistic needs them).
    _penalty_row_units = False

    # ------------------------------------------------------------ the object
    def _unpenalised_params(self):
        """Parameters that turn the penalty off (for the unpenalised start)."""
        return {
            "fairness_penalty": None,
            **{name: _DEPRECATED for name in self._deprecated_penalty},
        }

    def _old_penalty_params(self):
        given = {
            name: getattr(self, name)
            for name in self._deprecated_penalty
            if not (
                isinstance(getattr(self, name), str)
                and getattr(self, name) == _DEPRECATED
            )
        }
        if isinstance(self.fairness_penalty, str):
            given["fairness_penalty"] = self.fairness_penalty
        return given

    def _resolved_penalty(self):
        """The :class:`DependencePenalty` of this estimator, or ``None``.

        The deprecated parameters build one with ``normalize=False`` (their
        former meaning) and warn; combined with a ``DependencePenalty``
        they are an error.
        """
        old = self._old_penalty_params()
        penalty = self.fairness_penalty
        if isinstance(penalty, DependencePenalty):
            if old:
                raise ValueError(
                    f"{type(self).__name__} got fairness_penalty="
                    f"{penalty!r} and the deprecated {sorted(old)}; set "
                    "everything on the DependencePenalty."
                )
            penalty._validate_params()
            return penalty
        if not old:
            return None
        warnings.warn(
            f"The parameters {', '.join(sorted(old))} of {type(self).__name__} "
            "are deprecated since 0.3 and will be removed in 0.4: pass "
            "fairness_penalty=DependencePenalty(kind=..., strength=..., "
            "normalize=False) for the same model (normalize=True, the default, "
            "is scale-free).",
            FutureWarning,
            stacklevel=4,
        )
        return self._penalty_from_old(old)

    def _penalty_from_old(self, old):
        kind = old.pop("fairness_penalty", None)
        if kind is None:
            return None
        old.setdefault("fairness_strength", self._deprecated_strength)
        return DependencePenalty(
            kind,
            normalize=False,
            **{self._deprecated_penalty[k]: v for k, v in old.items()},
        )

    # ------------------------------------------------------ the problem part
    def _penalty_targets(
        self,
        sensitive_features,
        n_samples,
        *,
        constants,
        target=None,
        discrete_target=False,
        scale=1.0,
        validate_unused=True,
    ):
        """Encode the attributes: ``(per-row targets or None, config)``.

        The per-row targets are ``attributes`` and, for separation,
        ``strata`` (from ``target``: class codes when ``discrete_target``,
        else a continuous target or grades). ``config`` (``None`` when the
        penalty is off) is the penalty's configuration, a constant of the
        problem; ``scale`` is the loss of the best constant prediction for
        a normalised penalty. A continued fit (``constants`` not ``None``)
        must have the fitted configuration, and keeps its scale and strata.
        Sets ``sensitive_attributes_`` on a fresh fit. Given attributes are
        validated even when the penalty is off, unless
        ``validate_unused=False`` (an estimator that validates them for
        another use).
        """
        penalty = self._resolved_penalty()
        encoded = None
        if penalty is not None or (validate_unused and sensitive_features is not None):
            encoded = encode_for_penalty(
                sensitive_features,
                n_samples,
                strength=penalty.strength if penalty is not None else 0.0,
                categorical_features="auto"
                if penalty is None
                else penalty.categorical_features,
                scale_continuous=True if penalty is None else penalty.scale_continuous,
                penalised=self._penalised,
            )
        config, rows = None, None
        if encoded is not None and penalty is not None and penalty.active:
            mine = None
            if constants is None:
                # A fresh fit's encoding (the scale of continuous attributes)
                # and strata (the bins of a continuous target) are those of
                # all the data: of every rank's shard in a data-parallel fit.
                (everyone, target), n_all, mine = self._across_ranks(
                    n_samples, sensitive_features, target
                )
                if mine is not None:
                    encoded = encode_for_penalty(
                        everyone,
                        n_all,
                        strength=penalty.strength,
                        categorical_features=penalty.categorical_features,
                        scale_continuous=penalty.scale_continuous,
                        penalised=self._penalised,
                    )
            separation = penalty.criterion == "separation"
            if penalty.statistic == "u" and (separation or not self._penalty_row_units):
                raise ValueError(
                    "DependencePenalty(statistic='u') needs row-wise training "
                    "and criterion='independence'; "
                    f"{type(self).__name__} with criterion={penalty.criterion!r} "
                    "takes statistic='v'."
                )
            fitted = constants["penalty"] if constants is not None else None
            config = dict(
                strength=float(penalty.strength),
                kind=penalty.kind,
                sizes=tuple(int(size) for size in encoded.sizes),
                categorical=tuple(bool(c) for c in encoded.categorical),
                c=float(penalty.c),
                statistic=penalty.statistic,
                normalize=bool(penalty.normalize),
                scale=float(scale) if fitted is None else fitted["scale"],
                n_strata=0,
                edges=None,
            )
            rows = {"attributes": _rows_of(encoded.values, mine)}
            if separation:
                if target is None:
                    raise ValueError(
                        f"{type(self).__name__} has no target to condition on; "
                        "use criterion='independence'."
                    )
                codes, edges, n_strata = strata(
                    target,
                    penalty.n_bins,
                    discrete_target,
                    None if fitted is None else fitted["edges"],
                )
                if fitted is not None:
                    n_strata = fitted["n_strata"]
                    codes = np.minimum(codes, n_strata - 1)
                config.update(n_strata=n_strata, edges=edges)
                rows["strata"] = _rows_of(codes, mine)
        if constants is not None:
            if _spec(config) != _spec(constants["penalty"]):
                raise ValueError(
                    "The fairness penalty of this call (fairness_penalty, or the "
                    "encoded columns of sensitive_features) differs from the one "
                    "the model was fitted with; fit it afresh (warm_start=False)."
                )
        else:
            self.sensitive_attributes_ = () if encoded is None else encoded.names
        return rows, config

    @staticmethod
    def _penalty_term(config):
        """The penalty of ``config`` as a function of ``(pred, attributes,
        weight, mask, row=None, strata=None)``, or ``None`` when it is off."""
        if config is None:
            return None
        options = {k: v for k, v in config.items() if k != "edges"}
        return functools.partial(unit_dependence_penalty, **options)

    @staticmethod
    def _penalty_lbfgs(config, n_rows, *, univariate=True):
        """Whether ``optimizer="auto"`` fits a penalised linear model by
        full-batch L-BFGS: when every term has an exact ``O(n log n)`` path
        (a univariate prediction, ``kind="dcov"`` or a single attribute, and
        each attribute categorical or one continuous column), at any size;
        otherwise up to ``LBFGS_MATRIX_ROWS`` rows, where the whole-data
        distance matrices stay small."""
        if n_rows <= LBFGS_MATRIX_ROWS:
            return True
        if config is None:
            return False
        single = len(config["sizes"]) == 1
        fast = univariate and (config["kind"] == "dcov" or single)
        return fast and all(
            cat or size == 1
            for cat, size in zip(config["categorical"], config["sizes"])
        )

    def _unpenalised_start(self, formulation, config, X, y, **fit_params):
        """The problem's ``initial_state``: a penalised fit of a smooth
        linear model starts from the unpenalised optimum (see
        :func:`unpenalised_state`), whichever optimiser then runs."""
        if config is None:
            return None
        linear_auto = self.optimizer == "auto" and isinstance(
            self._resolved_scorer(), LinearScorer
        )
        if not (linear_auto or self._uses_full_batch_solver(formulation)):
            return None
        return functools.partial(unpenalised_state, self, X, y, **fit_params)


def _rows_of(values, rows):
    """This rank's ``rows`` of values pooled over the ranks (``None``: all)."""
    return values if rows is None else values[rows]


def _spec(config):
    """The part of a configuration that a continued fit must repeat."""
    if config is None:
        return None
    return {k: v for k, v in config.items() if k not in ("scale", "edges")}
