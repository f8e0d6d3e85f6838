"""The one registry of estimator instances that every common test draws from.

Every estimator of :func:`skalign.utils.all_estimators` has an :class:`Entry`
here, and every entry names an estimator that exists
(``tests/test_registry.py`` fails otherwise, so a new estimator cannot slip
through the common tests). An entry states, for one estimator:

- ``kind``: the data it is fitted on (see :data:`KINDS`);
- the small and fast instances of scikit-learn's checks
  (``tests/test_common.py``): float64 with a tight tolerance (plus the
  entry's ``linear`` parameters, a linear scorer where the default is an
  MLP) and, when it takes a ``scorer``, once more with an MLP scorer
  trained by Adam;
- ``expected_failed_checks``: the scikit-learn checks that fail, each with
  its reason; a reason given as :class:`OnlyFor` holds for some of the
  check instances only (``"linear"`` or ``"mlp"``). Expected failures are
  strict (``xfail_strict`` in ``pyproject.toml``): a check that starts to
  pass fails the suite until its mark is removed;
- ``reliability``: the parameters of the bad-input, fault, persistence and
  determinism suite (``tests/reliability``);
- ``exact`` and ``invariances``: the float64, tightly converged instance and
  the invariance checks of :mod:`skalign.testing` that it passes
  (``tests/testing/test_skalign_estimators.py``).

Tests use :func:`names`, :func:`entry`, :func:`make`, :func:`instances`,
:func:`expected_failed_checks` and :func:`invariances`.
"""

from dataclasses import dataclass, field

from skalign.fairness import DependencePenalty
from skalign.nn import LinearScorer, MLPScorer
from skalign.utils import all_estimators

ESTIMATORS = dict(all_estimators())

KINDS = {
    "grouped": "grades and ``groups``",
    "binary": "two classes",
    "classes": "three classes",
    "ordinal": "three ordered classes",
    "continuous": "a continuous target",
    "fair": "a continuous target and ``sensitive_features``",
    "fair_classes": "three classes and ``sensitive_features``",
    "scores": "binary logits as ``X``",
    "rewards": "``X`` only",
}
CHECKS = ("reward", "ranker", "calibrator")

# scikit-learn's checks compare fits: float64 and a tight tolerance, so that
# they test the model, not float32 round-off. Each setting is applied where
# the estimator accepts it; the MLP one only to estimators with a scorer.
# A small L2 penalty gives the linear fits a unique, finite optimum: the
# checks' data (15 rows, up to 30 features) are separable or underdetermined,
# and without it two fits that the checks compare (weighted against repeated
# rows) head off towards infinity or along a flat valley, and where each
# stops says nothing about the estimator.
_LINEAR = dict(max_epochs=30, dtype="float64", tol=1e-12, alpha=1e-2)
# For the estimators whose default scorer is an MLP (an entry's ``linear``).
_LINEAR_SCORER = dict(scorer=LinearScorer())
# The MLP at Adam's default learning rate for a scorer that standardises
# its inputs (issue 18: the check_*_train checks pass at this budget). Those
# checks score the fit on its own training rows, so it trains on all of
# them: nothing held out (HLGaussRegressor's early_stopping="auto" would
# stop on 20 held-out rows of the checks' 200, a loss too noisy to judge
# the training fit by).
_MLP = dict(
    scorer=MLPScorer(hidden_units=(8,)),
    max_epochs=50,
    batch_size=None,
    dtype="float64",
    early_stopping=False,
)

_ENGINE = dict(max_epochs=5, dtype="float64", random_state=0)
_CALIBRATOR = dict(max_epochs=5, dtype="float64")

# Invariance checks compare fits to each other: float64, full-batch L-BFGS (or
# small Adam problems) with a small tol, and reward models and rankers carry
# a little L2 (alpha) so that separable data, which hypothesis draws often,
# still have a unique optimum.
_EXACT = dict(alpha=1e-2, dtype="float64", tol=1e-10, max_epochs=300)
_EXACT_CALIBRATOR = dict(dtype="float64", tol=1e-10)


@dataclass(frozen=True)
class OnlyFor:
    """An expected failure of some check instances only: ``variants`` are
    among ``"linear"`` (the linear-scorer or scorer-less instance) and
    ``"mlp"`` (the instance with an MLP scorer)."""

    variants: tuple
    reason: str

    def __post_init__(self):
        unknown = set(self.variants) - {"linear", "mlp"}
        if unknown:
            raise ValueError(f"unknown variants {sorted(unknown)}")


def variant(estimator):
    """``"mlp"`` for the check instance with an MLP scorer, else ``"linear"``."""
    scorer = estimator.get_params().get("scorer")
    return "mlp" if isinstance(scorer, MLPScorer) else "linear"


@dataclass(frozen=True)
class Invariance:
    """One run of an invariance check of :mod:`skalign.testing`.

    ``check`` is ``"reward"``, ``"ranker"`` or ``"calibrator"``; ``params``
    are set on top of the entry's ``exact`` ones; ``options`` are keywords of
    the check. ``data`` are the keywords of the hypothesis strategy the sweep
    draws data from (only the calibrator sweep takes any), or ``None`` when
    the check holds only on the well-determined fixed data of
    ``tests/testing/test_skalign_estimators.py``.
    """

    check: str
    params: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    data: dict | None = field(default_factory=dict)

    def __post_init__(self):
        if self.check not in CHECKS:
            raise ValueError(f"check {self.check!r} is not one of {CHECKS}")


@dataclass(frozen=True)
class Entry:
    """What the common tests need to know about one estimator."""

    name: str
    kind: str
    reliability: dict = field(default_factory=dict)
    expected_failed_checks: dict = field(default_factory=dict)
    exact: dict | None = None
    invariances: tuple = ()
    #: Added to the linear setting of scikit-learn's checks.
    linear: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind {self.kind!r} is not in KINDS")
        if self.invariances and self.exact is None:
            raise ValueError(f"{self.name}: invariance checks need exact params")

    @property
    def estimator(self):
        """The estimator class."""
        return ESTIMATORS[self.name]

    def accepts(self, param):
        """Whether the estimator has parameter ``param``."""
        return param in self.estimator().get_params()

    @property
    def common(self):
        """The parameter sets of scikit-learn's checks."""
        accepted = self.estimator().get_params()
        linear = {**_LINEAR, **self.linear}
        settings = (linear, _MLP) if "scorer" in accepted else (linear,)
        return [{k: v for k, v in s.items() if k in accepted} for s in settings]


def _on_dense_and_sparse(reason, data=("dense", "sparse")):
    return {f"check_sample_weight_equivalence_on_{d}_data": reason for d in data}


def _reward(objective, /, **params):
    return Invariance("reward", params, dict(objective=objective))


def _ranker(ordinal_grades, /, **params):
    return Invariance("ranker", params, dict(ordinal_grades=ordinal_grades))


# Likelihood-fitted maps need non-separable sets to have an optimum
# (overlap=True). Platt, vector and matrix scaling take the logits as
# features (Dirichlet calibration their logarithms), and L-BFGS on features
# of magnitude 1e4 stops short of the optimum (see
# test_platt_on_badly_scaled_constant_logits in
# tests/testing/test_skalign_estimators.py), so they are fitted on logits up
# to 10; their extreme-logit predictions are still checked. On nearly
# constant logits, which hypothesis favours, the maps with several parameters
# are badly conditioned and L-BFGS stops about 1e-4 from the optimum in
# probability: two fits are compared to 1e-3 (loose).
def _calibration(*, monotone, loose, **data):
    tolerance = 1e-3 if loose else 1e-6
    options = dict(monotone=monotone, rtol=tolerance, atol=tolerance)
    return Invariance("calibrator", options=options, data=data)


_LIKELIHOOD_MAP = _calibration(monotone=False, loose=True, overlap=True, max_abs=10.0)


def _scaling(name, invariance, **fields):
    """A calibrator trained by the engine, on scores."""
    return Entry(
        name,
        "scores",
        _CALIBRATOR,
        exact=_EXACT_CALIBRATOR,
        invariances=(invariance,),
        **fields,
    )


_ENTRIES = (
    # ---------------------------------------------------------- preference
    Entry(
        "PreferenceRewardRegressor",
        "grouped",
        _ENGINE,
        exact=_EXACT,
        invariances=(
            _reward("pairwise"),
            _reward("pairwise", objective="margin"),
            _reward("pairwise", objective="scaled"),
            _reward("pairwise", ties="rao_kupper"),
            _reward("pairwise", ties="davidson"),
            _reward("rowwise", objective="regression"),
            _reward("other", objective="joint"),
            _reward("other", objective="regression_then_scaled"),
        ),
    ),
    Entry(
        "GeneralPreferenceModel",
        "grouped",
        _ENGINE,
        linear=_LINEAR_SCORER,
        expected_failed_checks={
            "check_methods_subset_invariance": (
                "predict is each row's expected win rate against the other "
                "rows of its group, so it depends on which rows are predicted "
                "together; transform and predict_pair_proba are row-wise and "
                "pass."
            ),
            # Both instances: the MLP one, now started from Bradley-Terry and
            # trained until its loss stalls, also ends at other points.
            **_on_dense_and_sparse(
                "the bilinear embedding objective is not convex: the weighted "
                "and the repeated-rows fits, both converged, reach different "
                "stationary points (the linear embedding's predictions differ "
                "by ~3e-2); weights are exact multiplicities of the loss "
                "itself (tests/loss)."
            ),
        },
        # The tightly converged instance is the linear embedding (fits
        # compared with each other from one seed): the default MLP, trained
        # by Adam until its loss stalls, lands 1e-2 to 2e-1 apart (in win
        # rate) when a group's count is given as a weight instead of copies.
        exact={**_EXACT, "scorer": LinearScorer(), "random_state": 0},
        # The linear embedding, whose fit starts from Bradley-Terry and whose
        # penalty covers the biases (they act as weights of the bilinear
        # form); the default MLP embedding is checked to issue 18's 1e-2 in
        # tests/testing/test_skalign_estimators.py.
        invariances=(
            _reward("pairwise", n_components=1, scorer=LinearScorer()),
            # Two planes on well-determined data (the drawn data rarely hold
            # a second direction for them to find).
            Invariance(
                "reward",
                dict(scorer=LinearScorer()),
                dict(objective="pairwise"),
                data=None,
            ),
        ),
    ),
    Entry(
        "PluralisticRewardModel",
        "grouped",
        _ENGINE,
        exact=_EXACT,
        # The MLP instance (full-batch Adam from the same start) passes.
        expected_failed_checks=_on_dense_and_sparse(
            OnlyFor(
                ("linear",),
                "the objective is bilinear in the embedding and the "
                "prototypes, so not convex: the weighted and the repeated-rows "
                "fits, both converged, reach different stationary points; the "
                "weights are exact multiplicities of the objective itself "
                "(tests/preference/test_pluralistic.py).",
            )
        ),
        # Fitted without users, it is one user's mixture of prototypes: a
        # reward model of the long format, but a bilinear, non-convex one
        # (as the General Preference Model): well-determined data only.
        invariances=(Invariance("reward", dict(n_prototypes=1), data=None),),
    ),
    # Not a pairwise reward model: it learns from unpaired thumbs-up/down
    # labels and has no predict_pair_proba, so the reward check does not apply.
    Entry(
        "BinaryFeedbackRewardRegressor",
        "binary",
        # Its default reward_shift='running_mean' trains with mini-batch Adam;
        # the weight checks' 15 rows fit in one batch, so weighted and repeated
        # rows see the same batches and both instances pass.
        _ENGINE,
    ),
    Entry("RewardTransformer", "rewards"),
    # ------------------------------------------------------------- ranking
    Entry(
        "PlackettLuceRanker",
        "grouped",
        _ENGINE,
        # Only the linear instance on sparse data fails; its dense twin and the
        # MLP instance pass.
        expected_failed_checks=_on_dense_and_sparse(
            OnlyFor(
                ("linear",),
                "weights are exact multiplicities (with ties='breslow' the "
                "gradient equals that of the repeated rows, see "
                "tests/loss/test_listwise.py), but the check's 15 rows and 30 "
                "features leave directions curved only by the check's L2 "
                "penalty (alpha=1e-2): at float64's resolution of the "
                "objective the weights are known to about sqrt(2e-16 / 1e-2) "
                "~ 1e-7, the check's tolerance, and the sparse fit misses it "
                "on one of 15 predictions (1.2e-7 relative).",
            ),
            data=("sparse",),
        ),
        exact=_EXACT,
        invariances=(
            _ranker(True),
            _ranker(True, ties="efron"),
            _ranker(True, ties="davidson_luce"),
            _ranker(True, top_k=2),
        ),
    ),
    Entry(
        "LambdaRanker",
        "grouped",
        _ENGINE,
        expected_failed_checks=_on_dense_and_sparse(
            "LiPO-λ weighs each pair by the change in DCG between rank "
            "positions; repeating a row shifts the positions of the rows "
            "below it, a weight does not."
        ),
        exact=_EXACT,
        invariances=(
            _ranker(False),
            _ranker(True, loss="ranknet"),
            _ranker(False, loss="listnet"),
        ),
    ),
    # ------------------------------------------------------------ fairness
    Entry(
        "FairRegressor",
        "fair",
        {**_ENGINE, "fairness_penalty": DependencePenalty(strength=1.0)},
    ),
    Entry(
        "FairClassifier",
        "fair_classes",
        {**_ENGINE, "fairness_penalty": DependencePenalty(strength=1.0)},
    ),
    # ------------------------------------------------------------- ordinal
    Entry(
        "HLGaussRegressor",
        "continuous",
        _ENGINE,
        linear=_LINEAR_SCORER,
        # The MLP instance (Adam) passes.
        expected_failed_checks=_on_dense_and_sparse(
            OnlyFor(
                ("linear",),
                "weights are exact multiplicities (see "
                "tests/ordinal/test_hlgauss.py), but with 50 bins over the "
                "check's 15 targets most bins get target mass ~1e-60, so the "
                "cross-entropy's optimum sends their logits towards -inf and "
                "where L-BFGS stops depends on float rounding.",
            )
        ),
    ),
    Entry("ProportionalOddsClassifier", "ordinal", _ENGINE),
    Entry("PrestoClassifier", "ordinal", dict(alpha=0.1, max_iter=50)),
    Entry(
        "PrestoClassifierCV",
        "ordinal",
        dict(alphas=[1.0, 0.1], cv=2, max_iter=50),
    ),
    # --------------------------------------------------------- calibration
    # Calibrates a classifier of features rather than scores: the calibrator
    # check does not apply.
    Entry(
        "CalibratedEstimator",
        "classes",
        dict(cv=2),
        expected_failed_checks={
            "check_fit2d_1feature": (
                "10 rows of 3 classes with 3 members cannot fill the default 5 "
                "cross-validation folds (the same check passes with cv=3, which "
                "is how scikit-learn tests CalibratedClassifierCV); fit raises a "
                "ValueError naming the folds instead."
            ),
        },
    ),
    _scaling(
        "TemperatureScaling", _calibration(monotone=True, loose=False, overlap=True)
    ),
    _scaling("VectorScaling", _LIKELIHOOD_MAP),
    _scaling("MatrixScaling", _LIKELIHOOD_MAP),
    _scaling(
        "DirichletCalibrator",
        _LIKELIHOOD_MAP,
        expected_failed_checks={
            "check_sample_weight_equivalence_on_dense_data": (
                "the check's probabilities reach 1e-17, so the log-probability "
                "features span ~40 units; both fits stop at float64's "
                "resolution of this ODIR-penalised objective and agree to "
                "5e-8 (2e-7 relative on one entry), just outside the check's "
                "1e-7."
            ),
        },
    ),
    _scaling("PlattCalibrator", _LIKELIHOOD_MAP),
    _scaling("BetaCalibrator", _calibration(monotone=True, loose=True, overlap=True)),
    _scaling(
        "HCalibrator",
        # Tied scores keep their row order in its sorted windows, so the fit
        # depends on it (an xfail in tests/testing/test_skalign_estimators.py):
        # scores without ties only.
        Invariance("calibrator", options=dict(monotone=True), data=None),
        # The weight check passes: a duplicated row adds a pair to the sorted
        # windows where a weight of 2 does not, but on the check's data the
        # two fits agree within its tolerance.
    ),
    Entry(
        "HistogramBinningCalibrator",
        "scores",
        exact={},
        invariances=(_calibration(monotone=False, loose=False),),
    ),
    Entry(
        "IsotonicCalibrator",
        "scores",
        exact={},
        invariances=(_calibration(monotone=True, loose=False),),
    ),
)

ENTRIES = {e.name: e for e in _ENTRIES}
assert len(ENTRIES) == len(_ENTRIES), "two entries share a name"


def entry(name):
    """The :class:`Entry` of estimator ``name``; fails loudly without one."""
    if name not in ENTRIES:
        raise LookupError(
            f"{name} is exported by skalign but has no entry in "
            "tests/_registry.py; add one."
        )
    return ENTRIES[name]


def names(*, kind=None, check=None):
    """Sorted names of the registered estimators that exist, optionally only
    those fitted on data ``kind`` or passing invariance check ``check``."""
    return sorted(
        name
        for name, e in ENTRIES.items()
        if name in ESTIMATORS
        and kind in (None, e.kind)
        and (check is None or any(i.check == check for i in e.invariances))
    )


def make(name, purpose="reliability", **params):
    """A fresh instance of estimator ``name`` with the parameters of
    ``purpose`` (``"reliability"`` or ``"exact"``), updated by ``params``."""
    if purpose not in ("reliability", "exact"):
        raise ValueError(f"purpose {purpose!r}: 'reliability' or 'exact'")
    base = getattr(entry(name), purpose)
    if base is None:
        raise LookupError(f"{name} has no {purpose} parameters in the registry")
    return ESTIMATORS[name](**{**base, **params})


def instances():
    """Fresh instances of scikit-learn's checks: one per parameter set of
    every registered estimator."""
    return [
        ESTIMATORS[name](**params)
        for name in names()
        for params in ENTRIES[name].common
    ]


def expected_failed_checks(estimator):
    """``{check name: reason}`` of this check instance, for
    ``parametrize_with_checks``."""
    which = variant(estimator)
    out = {}
    for check, reason in entry(type(estimator).__name__).expected_failed_checks.items():
        if isinstance(reason, OnlyFor):
            if which not in reason.variants:
                continue
            reason = reason.reason
        out[check] = reason
    return out


def invariances(check, *, drawn=True):
    """``(instance, Invariance)`` of every run of invariance check ``check``
    on data drawn by hypothesis, or (``drawn=False``) on fixed data."""
    return [
        (make(name, "exact", **invariance.params), invariance)
        for name in names(check=check)
        for invariance in ENTRIES[name].invariances
        if invariance.check == check and (invariance.data is not None) == drawn
    ]
