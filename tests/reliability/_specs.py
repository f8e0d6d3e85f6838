"""Per-estimator fit data for the reliability suite.

Every estimator of :func:`skalign.utils.all_estimators` needs a spec here:
the data it is fitted on differ by family (rankers and reward models take
``groups``, fairness estimators ``sensitive_features``, calibrators take
scores as ``X``, ordinal estimators ordered labels). An estimator without a
spec makes :func:`spec` raise, so a new estimator cannot slip through the
suite unchecked.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np

from skalign.exceptions import ConvergenceWarning
from skalign.utils import all_estimators

N_ROWS = 40
N_FEATURES = 3


@dataclass
class Spec:
    """How to fit one estimator on small data.

    ``kind`` names the data: ``"grouped"`` (grades and ``groups``),
    ``"binary"``, ``"classes"``, ``"ordinal"``, ``"continuous"``, ``"fair"``
    (continuous target and ``sensitive_features``), ``"fair_classes"``,
    ``"scores"`` (binary logits as ``X``) or ``"rewards"`` (``X`` only).
    """

    kind: str
    params: dict = field(default_factory=dict)

    @property
    def metadata(self):
        """Per-row fit keywords that this kind passes."""
        return {
            "grouped": ("groups", "sample_weight"),
            "fair": ("sensitive_features", "sample_weight"),
            "fair_classes": ("sensitive_features", "sample_weight"),
            "rewards": (),
        }.get(self.kind, ("sample_weight",))


_ENGINE = dict(max_epochs=5, dtype="float64", random_state=0)
_CALIBRATOR = dict(max_epochs=5, dtype="float64")

SPECS = {
    "PreferenceRewardRegressor": Spec("grouped", _ENGINE),
    "GeneralPreferenceModel": Spec("grouped", _ENGINE),
    "PlackettLuceRanker": Spec("grouped", _ENGINE),
    "LambdaRanker": Spec("grouped", _ENGINE),
    "BinaryFeedbackRewardRegressor": Spec("binary", _ENGINE),
    "FairRegressor": Spec("fair", {**_ENGINE, "fairness_strength": 1.0}),
    "FairClassifier": Spec("fair_classes", {**_ENGINE, "fairness_strength": 1.0}),
    "HLGaussRegressor": Spec("continuous", _ENGINE),
    "ProportionalOddsClassifier": Spec("ordinal", _ENGINE),
    "PrestoClassifier": Spec("ordinal", dict(alpha=0.1, max_iter=50)),
    "PrestoClassifierCV": Spec("ordinal", dict(alphas=[1.0, 0.1], cv=2, max_iter=50)),
    "CalibratedEstimator": Spec("classes", dict(cv=2)),
    "TemperatureScaling": Spec("scores", _CALIBRATOR),
    "VectorScaling": Spec("scores", _CALIBRATOR),
    "MatrixScaling": Spec("scores", _CALIBRATOR),
    "DirichletCalibrator": Spec("scores", _CALIBRATOR),
    "PlattCalibrator": Spec("scores", _CALIBRATOR),
    "BetaCalibrator": Spec("scores", _CALIBRATOR),
    "HCalibrator": Spec("scores", _CALIBRATOR),
    "HistogramBinningCalibrator": Spec("scores", {}),
    "IsotonicCalibrator": Spec("scores", {}),
    "RewardTransformer": Spec("rewards", {}),
}

ESTIMATORS = dict(all_estimators())
NAMES = sorted(ESTIMATORS)


def spec(name):
    """The :class:`Spec` of estimator ``name``; fails loudly without one."""
    if name not in SPECS:
        raise LookupError(
            f"{name} is exported by skalign but tests/reliability/_specs.py "
            "has no fit data for it; add a Spec to SPECS."
        )
    return SPECS[name]


def make(name, **params):
    """A fresh, small and fast instance of estimator ``name``."""
    return ESTIMATORS[name](**{**spec(name).params, **params})


def fit_data(name, n=N_ROWS, seed=0):
    """``(X, y, fit_kwargs)`` of estimator ``name``: ``n`` rows, signal in
    the first feature, every class present."""
    kind = spec(name).kind
    rng = np.random.default_rng(seed)
    if kind == "scores":
        y = np.arange(n) % 2
        X = (2.0 * y - 1.0 + rng.normal(size=n))[:, None]
        return X, y, {}
    X = rng.normal(size=(n, N_FEATURES))
    signal = X[:, 0] + 0.5 * rng.normal(size=n)
    if kind == "rewards":
        return X, None, {}
    if kind == "grouped":
        groups = np.arange(n) // 4
        return X, np.round(signal, 1), {"groups": groups}
    if kind in ("continuous", "fair"):
        y = signal
    elif kind == "binary":
        y = (np.argsort(np.argsort(signal)) >= n // 2).astype(int)
    else:
        # Three classes by rank, so every class is present at any seed.
        y = np.argsort(np.argsort(signal)) * 3 // n
    kwargs = {}
    if kind.startswith("fair"):
        kwargs["sensitive_features"] = np.where(np.arange(n) % 2 == 0, "a", "b")
    return X, y, kwargs


def fitted(name, **params):
    """A fitted instance with its fit data: ``(estimator, X, y, kwargs)``."""
    X, y, kwargs = fit_data(name)
    with warnings.catch_warnings():
        # A few epochs on tiny data: not converging is expected.
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        model = make(name, **params)
        model = model.fit(X, **kwargs) if y is None else model.fit(X, y, **kwargs)
    return model, X, y, kwargs


def outputs(estimator, X):
    """Every prediction the estimator offers on ``X``, as a dict of arrays."""
    out = {}
    for method in ("predict", "predict_proba", "decision_function", "transform"):
        if hasattr(estimator, method):
            out[method] = np.asarray(getattr(estimator, method)(X))
    return out
