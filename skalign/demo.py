"""An end-to-end tour of skalign on real data, one step per family.

Run it with::

    python -m skalign.demo [--out DIR] [--full] [--n-students N] [--quiet]

Each family meets a real data set and the model a scikit-learn user would
reach for first:

- **preference**: InstEval lecture ratings
  (:func:`~skalign.datasets.load_inst_eval`): Bradley-Terry reward models
  against ridge regression on the raw ratings, scored by held-out pairwise
  accuracy within students;
- **ranking**: Fishing mode choices (:func:`~skalign.datasets.load_fishing`):
  Plackett-Luce choice models against a per-row logistic regression, scored
  by NDCG and top-1 accuracy on held-out anglers;
- **fairness**: CPS1985 wages (:func:`~skalign.datasets.load_cps1985`): a
  joint distance-covariance penalty against plain linear regression,
  out-of-fold R² next to three measures of dependence on gender, ethnicity
  and age;
- **calibration**: résumé callbacks (:func:`~skalign.datasets.load_resume`):
  an over-confident gradient-boosted classifier before and after post-hoc
  calibration, scored by ECE, log-loss and Brier score on held-out résumés;
- **ordinal**: wine bitterness ratings
  (:func:`~skalign.datasets.load_wine_ratings`): proportional odds against a
  multinomial classifier and a rounded regression, cross-validated ordinal
  MAE and ranked probability score.

It prints one block of the results table per family on stdout and writes at
least one plot per family to ``--out`` (a new temporary directory by
default). ``--full`` uses all InstEval students and adds the larger runs.

The tour is a list of steps, :data:`STEPS`: each step takes the shared
:class:`Tour` and returns rows for the results table (possibly none). A step
tags its rows with a family of :data:`FAMILIES`, which names the columns of
that family's block, and a family's figures are in :data:`PLOTS`.
"""

import argparse
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
from sklearn import config_context
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import (
    GroupShuffleSplit,
    KFold,
    StratifiedKFold,
    cross_val_predict,
    train_test_split,
)
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .calibration import CalibratedEstimator, ReliabilityDiagramDisplay
from .datasets import (
    load_cps1985,
    load_fishing,
    load_inst_eval,
    load_resume,
    load_wine_ratings,
)
from .fairness import FairRegressor
from .metrics import (
    brier_score,
    distance_correlation,
    expected_calibration_error,
    group_js_divergence,
    grouped_ndcg_score,
    negative_log_likelihood,
    ordinal_mae,
    pairwise_accuracy,
    ranked_probability_score,
    unfairness_ratio,
)
from .nn import LinearScorer, MLPScorer
from .ordinal import HLGaussRegressor, ProportionalOddsClassifier
from .preference import PreferenceRewardRegressor
from .ranking import PlackettLuceRanker
from .utils._extras import install_hint

__all__ = [
    "FAMILIES",
    "PLOTS",
    "STEPS",
    "Family",
    "Step",
    "Tour",
    "format_results",
    "format_table",
    "main",
    "run_tour",
]

_DEFAULT_STUDENTS = 1000
_TEST_SIZE = 0.25
_DENSE_MAX_COLUMNS = 256
_SEED = 0
_WIDTH = 100
_LECTURE = ("studage", "lectage", "service", "dept")
_FEATURE_SETS = {"lecture": _LECTURE, "lecture + lecturer": (*_LECTURE, "d")}
_FAIRNESS_STRENGTH = 1.0
_FAIRNESS_PATH = (0.3, 1.0, 3.0)
_CALIBRATORS = {
    # method: (label, the classifier's output the calibrator reads)
    "temperature": ("temperature scaling", "decision_function"),
    "sigmoid": ("Platt scaling", "decision_function"),
    "beta": ("beta calibration", "predict_proba"),
}
_WINE_REPEATS = {False: 5, True: 20}


class Family(NamedTuple):
    """A family's block of the results table.

    ``columns`` are ``(key, header, format)`` for the keys of its rows after
    the shared role, model and fit-time columns.
    """

    title: str
    columns: tuple


FAMILIES = {
    "preference": Family(
        "preference: reward models, held-out InstEval students",
        (
            ("features", "features", "{}"),
            ("pairwise_accuracy", "pairwise acc.", "{:.3f}"),
        ),
    ),
    "ranking": Family(
        "ranking: choice models, held-out Fishing anglers",
        (("ndcg", "NDCG", "{:.3f}"), ("top1", "top-1 acc.", "{:.3f}")),
    ),
    "fairness": Family(
        "fairness: log wage of CPS1985, 5-fold out of fold (fit: all folds)",
        (
            ("r2", "R²", "{:.3f}"),
            ("js", "JS div.", "{:.3f}"),
            ("eta2", "unfairness ratio", "{:.3f}"),
            ("dcor", "dCor", "{:.3f}"),
        ),
    ),
    "calibration": Family(
        "calibration: résumé callbacks, held-out quarter, ECE of P(callback) "
        "(fit: the map only)",
        (
            ("ece", "ECE", "{:.3f}"),
            ("nll", "log-loss", "{:.3f}"),
            ("brier", "Brier", "{:.4f}"),
        ),
    ),
    "ordinal": Family(
        "ordinal: wine bitterness, repeated 4-fold CV (fit: all folds)",
        (
            ("ordinal_mae", "ordinal MAE", "{:.3f}"),
            ("rps", "RPS", "{:.3f}"),
        ),
    ),
}
"""The blocks of the results table, in order; lower is better for every
metric except accuracy, NDCG and R²."""

_SHARED_COLUMNS = (("role", "", "{}"), ("model", "model", "{}"))
_FIT_COLUMN = ("fit_seconds", "fit [s]", "{:.2f}")


@dataclass
class Tour:
    """State shared by the steps of the tour.

    Steps read the data and split set by the first steps and record what
    later steps (plots, the report) need: ``models`` and ``results`` hold
    what the figures draw, ``summary`` maps a family to lines describing its
    data.
    """

    n_students: int | None
    out: Path
    full: bool = False
    bunch: object = None
    train: np.ndarray | None = None
    test: np.ndarray | None = None
    models: dict = field(default_factory=dict)
    results: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    plots: list = field(default_factory=list)

    def split(self, part, columns=None):
        """``(X, y, groups)`` of InstEval's ``part`` ("train" or "test")."""
        rows = getattr(self, part)
        data = self.bunch.data if columns is None else self.bunch.data[list(columns)]
        return (
            data.iloc[rows],
            self.bunch.target.to_numpy()[rows],
            self.bunch.groups.to_numpy()[rows],
        )

    def describe(self, family, line):
        """Add a line to the description of ``family``'s data."""
        self.summary.setdefault(family, []).append(line)


class Step(NamedTuple):
    """One step of the tour: a label for the progress bar and a function."""

    label: str
    run: Callable[[Tour], list]


def _row(family, model, fit_seconds, *, baseline=False, **metrics):
    role = "baseline" if baseline else "skalign"
    return {
        "family": family,
        "role": role,
        "model": model,
        "fit_seconds": fit_seconds,
        **metrics,
    }


def _timed(function, *args, **kwargs):
    """``function(*args, **kwargs)`` and its wall time in seconds."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


# ---------------------------------------------------------- preference steps
def _load(tour):
    tour.bunch = load_inst_eval(
        n_students=tour.n_students, random_state=_SEED, include_lecturer=True
    )
    n_total = load_inst_eval().groups.nunique() if tour.n_students else None
    kept = tour.bunch.groups.nunique()
    of = f"{kept:,} of {n_total:,}" if n_total else f"all {kept:,}"
    tour.describe(
        "preference",
        f"InstEval (R package lme4): {of} students, {len(tour.bunch.target):,} "
        "ratings on a 1-5 scale, each student's ratings one group",
    )
    return []


def _split(tour):
    splitter = GroupShuffleSplit(n_splits=1, test_size=_TEST_SIZE, random_state=_SEED)
    bunch = tour.bunch
    tour.train, tour.test = next(splitter.split(bunch.data, groups=bunch.groups))
    for part in ("train", "test"):
        _, y, groups = tour.split(part)
        n_students, n_informative, n_pairs = _pair_counts(y, groups)
        tour.describe(
            "preference",
            f"{part:5s}: {n_students:,} students, {n_informative:,} informative "
            f"(two different ratings or more), {n_pairs:,} grade-ordered pairs",
        )
    return []


def _pair_counts(y, groups):
    """Students, students with a preference, and pairs with different grades."""
    _, group_codes = np.unique(groups, return_inverse=True)
    _, grade_codes = np.unique(y, return_inverse=True)
    n_grades = grade_codes.max() + 1
    counts = np.bincount(
        group_codes * n_grades + grade_codes,
        minlength=(group_codes.max() + 1) * n_grades,
    ).reshape(-1, n_grades)
    sizes = counts.sum(axis=1)
    pairs = (sizes * (sizes - 1) - (counts * (counts - 1)).sum(axis=1)) // 2
    return sizes.size, int((pairs > 0).sum()), int(pairs.sum())


def _encoder(X):
    # The levels come from the categorical dtypes, i.e. from the full data
    # set, so a level missing from the training students is still known.
    categories = [X[name].cat.categories.to_numpy() for name in X.columns]
    # A few dozen one-hot columns train faster dense; the lecturer's 1,128
    # levels stay sparse.
    n_columns = sum(map(len, categories))
    return OneHotEncoder(
        categories=categories,
        handle_unknown="ignore",
        sparse_output=n_columns > _DENSE_MAX_COLUMNS,
    )


def _fit_and_score(tour, model, features, estimator, *, grouped):
    """Fit ``encoder + estimator`` on the training students; one table row.

    ``grouped`` estimators receive ``groups`` through scikit-learn's metadata
    routing, which a :class:`~sklearn.pipeline.Pipeline` needs to pass
    metadata to its steps.
    """
    X, y, groups = tour.split("train", _FEATURE_SETS[features])
    with config_context(enable_metadata_routing=True):
        if grouped:
            estimator.set_fit_request(groups=True)
        pipe = Pipeline([("encode", _encoder(X)), ("model", estimator)])
        _, fit_seconds = _timed(
            pipe.fit, X, y, **({"groups": groups} if grouped else {})
        )
    X_test, y_test, groups_test = tour.split("test", _FEATURE_SETS[features])
    accuracy = pairwise_accuracy(y_test, pipe.predict(X_test), groups=groups_test)
    tour.models[model, features] = pipe
    return [
        _row(
            "preference",
            model,
            fit_seconds,
            baseline=not grouped,
            features=features,
            pairwise_accuracy=accuracy,
        )
    ]


def _ridge(features):
    def run(tour):
        # Regression on the raw ratings ignores who gave them: a student who
        # rates everything high pulls the fit as much as a discriminating one.
        return _fit_and_score(tour, "Ridge", features, Ridge(), grouped=False)

    return Step(f"Ridge ({features})", run)


def _bradley_terry(features):
    def run(tour):
        # A small L2 keeps lecturers whose every comparison went one way finite.
        model = PreferenceRewardRegressor(alpha=1e-4, random_state=_SEED)
        return _fit_and_score(tour, "Bradley-Terry", features, model, grouped=True)

    return Step(f"Bradley-Terry ({features})", run)


# -------------------------------------------------------------- ranking step
def _fishing_features(data):
    """Price, catch, the mode constants and income per mode.

    Income is the angler's, the same for all four modes, so it only moves a
    choice through its interaction with the mode (beach is the reference).
    """
    X = data.copy()
    for mode in ("pier", "boat", "charter"):
        X[f"income x {mode}"] = X["income"] * X[f"mode_{mode}"]
    return X


def _chosen_rank_one(y, scores, n_modes):
    """Share of choice situations whose chosen row has the top score."""
    top = scores.reshape(-1, n_modes).argmax(axis=1)
    return float(np.mean(y.reshape(-1, n_modes)[np.arange(top.size), top] == 1))


def _ranking(tour):
    bunch = load_fishing()
    n_modes = bunch.frame["mode"].cat.categories.size
    X = _fishing_features(bunch.data)
    y, groups = bunch.target.to_numpy(), bunch.groups.to_numpy()
    train, test = next(
        GroupShuffleSplit(n_splits=1, test_size=0.3, random_state=_SEED).split(
            X, y, groups
        )
    )
    tour.describe(
        "ranking",
        f"Fishing (R package Ecdat): {np.unique(groups).size:,} anglers "
        f"each chose one of {n_modes} modes; {test.size // n_modes:,} held out",
    )
    # A per-row classifier ignores which alternatives competed in a choice;
    # the choice models normalise over each angler's four modes.
    models = {
        "LogisticRegression per row": LogisticRegression(max_iter=1000),
        "Plackett-Luce, linear": PlackettLuceRanker(
            top_k=1,
            scorer=LinearScorer(fit_intercept=False),
            alpha=1e-4,
            random_state=_SEED,
        ),
        "Plackett-Luce, MLP (16)": PlackettLuceRanker(
            top_k=1,
            scorer=MLPScorer(hidden_units=(16,)),
            alpha=1e-3,
            lr=1e-2,
            max_epochs=400 if tour.full else 200,
            random_state=_SEED,
        ),
    }
    rows, scores = [], {}
    for name, estimator in models.items():
        baseline = isinstance(estimator, LogisticRegression)
        pipe = make_pipeline(StandardScaler(), estimator)
        fit_params = {} if baseline else {"plackettluceranker__groups": groups[train]}
        _, fit_seconds = _timed(pipe.fit, X.iloc[train], y[train], **fit_params)
        if baseline:
            score = pipe.decision_function(X.iloc[test])
        else:
            score = pipe.predict(X.iloc[test])
        scores[name] = score
        rows.append(
            _row(
                "ranking",
                name,
                fit_seconds,
                baseline=baseline,
                ndcg=grouped_ndcg_score(y[test], score, groups=groups[test]),
                top1=_chosen_rank_one(y[test], score, n_modes),
            )
        )
    tour.results["ranking"] = {
        "modes": bunch.frame["mode"].cat.categories.to_numpy(),
        "chosen": y[test].reshape(-1, n_modes),
        "scores": {name: s.reshape(-1, n_modes) for name, s in scores.items()},
    }
    return rows


# ------------------------------------------------------------- fairness step
def _fairness(tour):
    bunch = load_cps1985(log_wage=True)
    y = bunch.target.to_numpy()
    sensitive = bunch.sensitive_features
    # Education and experience standardised, the job categoricals one-hot;
    # the protected attributes are never inputs, only penalised.
    categorical = bunch.data.select_dtypes("category").columns.tolist()
    encode = _column_encoder(categorical)
    cv = KFold(n_splits=5, shuffle=True, random_state=_SEED)
    tour.describe(
        "fairness",
        f"CPS1985 (R package AER): {len(y):,} workers; protected: "
        + ", ".join(sensitive.columns)
        + " (jointly, age in quartiles for JS divergence and unfairness ratio)",
    )
    strengths = _FAIRNESS_PATH if tour.full else (_FAIRNESS_STRENGTH,)
    models = {"LinearRegression": LinearRegression()}
    for strength in strengths:
        models[f"FairRegressor (JdCov, λ={strength:g})"] = FairRegressor(
            penalty="jdcov",
            fairness_strength=strength,
            optimizer="lbfgs",
            random_state=_SEED,
        )
    rows, predictions = [], {}
    with config_context(enable_metadata_routing=True):
        for name, estimator in models.items():
            baseline = isinstance(estimator, LinearRegression)
            params = {}
            if not baseline:
                estimator.set_fit_request(sensitive_features=True)
                params = {"sensitive_features": sensitive}
            pipe = make_pipeline(encode, estimator)
            prediction, fit_seconds = _timed(
                cross_val_predict, pipe, bunch.data, y, cv=cv, params=params
            )
            predictions[name] = prediction
            rows.append(
                _row(
                    "fairness",
                    name,
                    fit_seconds,
                    baseline=baseline,
                    r2=r2_score(y, prediction),
                    js=group_js_divergence(prediction, sensitive),
                    eta2=unfairness_ratio(prediction, sensitive),
                    dcor=distance_correlation(prediction, sensitive),
                )
            )
    tour.results["fairness"] = {
        "predictions": predictions,
        "groups": sensitive["gender"].astype(str)
        + ", "
        + sensitive["ethnicity"].astype(str),
        "observed": y,
    }
    return rows


def _column_encoder(categorical):
    """One-hot for ``categorical`` columns, standardisation for the rest."""
    return make_column_transformer(
        (OneHotEncoder(drop="first", sparse_output=False), categorical),
        remainder=StandardScaler(),
    )


# ---------------------------------------------------------- calibration step
def _calibration(tour):
    bunch = load_resume()
    X, y = bunch.data, bunch.target.to_numpy()
    # Half trains the classifier, a quarter fits the calibration maps (on
    # scores the classifier never trained on), a quarter measures.
    X_train, X_rest, y_train, y_rest = train_test_split(
        X, y, test_size=0.5, stratify=y, random_state=_SEED
    )
    X_cal, X_test, y_cal, y_test = train_test_split(
        X_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=_SEED
    )
    tour.describe(
        "calibration",
        f"résumé callbacks (R package openintro): {len(y):,} résumés, "
        f"{y.mean():.1%} called back; {len(y_train):,} train, {len(y_cal):,} "
        f"calibrate, {len(y_test):,} test",
    )
    # Many deep trees at a high learning rate: a strong but over-confident
    # classifier, the usual case for post-hoc calibration.
    classifier = HistGradientBoostingClassifier(
        max_iter=300,
        learning_rate=0.2,
        max_leaf_nodes=63,
        early_stopping=False,
        random_state=_SEED,
    )
    _, fit_seconds = _timed(classifier.fit, X_train, y_train)
    probabilities = {"uncalibrated": classifier.predict_proba(X_test)}
    fit_times = {"uncalibrated": fit_seconds}
    for method, (label, response) in _CALIBRATORS.items():
        calibrated = CalibratedEstimator(
            FrozenEstimator(classifier), method=method, response_method=response
        )
        _, fit_times[label] = _timed(calibrated.fit, X_cal, y_cal)
        probabilities[label] = calibrated.predict_proba(X_test)
    rows = [
        _row(
            "calibration",
            "gradient boosting" if name == "uncalibrated" else f"+ {name}",
            fit_times[name],
            baseline=name == "uncalibrated",
            ece=expected_calibration_error(y_test, proba[:, 1]),
            nll=negative_log_likelihood(y_test, proba),
            brier=brier_score(y_test, proba),
        )
        for name, proba in probabilities.items()
    ]
    tour.results["calibration"] = {"y": y_test, "probabilities": probabilities}
    return rows


# -------------------------------------------------------------- ordinal step
def _ordinal(tour):
    bunch = load_wine_ratings()
    frame = bunch.frame
    # The judge enters as a fixed effect: judges use the scale differently.
    X = OneHotEncoder(drop="first", sparse_output=False).fit_transform(
        frame[["temp", "contact", "judge"]].astype(str)
    )
    y = frame["rating"].to_numpy()
    labels = np.unique(y)
    n_repeats = _WINE_REPEATS[tour.full]
    tour.describe(
        "ordinal",
        f"wine (R package ordinal): {len(y)} bitterness ratings 1-5 by "
        f"{frame['judge'].nunique()} judges; temperature x skin contact, judge "
        f"effect; {n_repeats} x 4-fold CV",
    )
    models = {
        "LogisticRegression (multinomial)": LogisticRegression(max_iter=2000),
        "Ridge, rounded": Ridge(),
        # The median class minimises the expected distance in categories,
        # the quantity ordinal MAE measures.
        "ProportionalOddsClassifier": ProportionalOddsClassifier(
            prediction="median", dtype="float64"
        ),
    }
    if tour.full:
        models["HLGaussRegressor, rounded"] = HLGaussRegressor(random_state=_SEED)
    folds = [
        StratifiedKFold(n_splits=4, shuffle=True, random_state=repeat)
        for repeat in range(n_repeats)
    ]
    rows, distributions = [], {}
    for name, estimator in models.items():
        maes, rpss, first = [], [], None
        start = time.perf_counter()
        for cv in folds:
            if hasattr(estimator, "predict_proba"):
                proba = cross_val_predict(
                    estimator, X, y, cv=cv, method="predict_proba"
                )
                rpss.append(ranked_probability_score(y, proba, labels=labels))
                predicted = _ordinal_prediction(estimator, proba, labels)
                first = proba if first is None else first
            else:
                predicted = np.clip(
                    np.rint(cross_val_predict(estimator, X, y, cv=cv)),
                    labels[0],
                    labels[-1],
                ).astype(y.dtype)
            maes.append(ordinal_mae(y, predicted, labels=labels))
        fit_seconds = time.perf_counter() - start
        if first is not None:
            distributions[name] = first
        rows.append(
            _row(
                "ordinal",
                name,
                fit_seconds,
                baseline=isinstance(estimator, (LogisticRegression, Ridge)),
                ordinal_mae=float(np.mean(maes)),
                rps=float(np.mean(rpss)) if rpss else None,
            )
        )
    tour.results["ordinal"] = {
        "labels": labels,
        "y": y,
        "condition": (
            frame["temp"].astype(str) + ", contact " + frame["contact"].astype(str)
        ).to_numpy(),
        "distributions": distributions,
    }
    return rows


def _ordinal_prediction(estimator, proba, labels):
    """Median class for ordinal models, the most probable one otherwise."""
    if isinstance(estimator, ProportionalOddsClassifier):
        below_half = np.cumsum(proba, axis=1)[:, :-1] < 0.5
        return labels[np.count_nonzero(below_half, axis=1)]
    return labels[proba.argmax(axis=1)]


# --------------------------------------------------------------------- plots
def _family_rows(tour, family):
    return [row for row in tour.rows if row["family"] == family]


def _plot_accuracy(tour, figure):
    """Held-out pairwise accuracy of every reward model, against chance (0.5)."""
    rows = _family_rows(tour, "preference")
    labels = [f"{row['model']}\n({row['features']})" for row in rows]
    scores = [row["pairwise_accuracy"] for row in rows]
    figure.set_size_inches(7, 1.2 + 0.6 * len(rows))
    ax = figure.subplots()
    bars = ax.barh(labels, scores, color="tab:blue")
    ax.bar_label(bars, fmt="%.3f", padding=3)
    ax.axvline(0.5, color="grey", linestyle="--", label="chance (constant scores)")
    ax.set_xlim(0.45, max(scores) + 0.05)
    ax.invert_yaxis()
    ax.set_xlabel("held-out pairwise accuracy within students")
    ax.set_title("Which lecture does a student rate higher?")
    figure.legend(loc="outside lower center", frameon=False)
    return "pairwise_accuracy.png"


def _department_effect(pipe, X, column="dept"):
    """Mean prediction with every row moved to each level of ``column``.

    The partial dependence of the prediction on ``column``, centred; for a
    linear model it is that column's coefficients, centred.
    """
    levels = X[column].cat.categories
    stacked = X.iloc[np.tile(np.arange(len(X)), len(levels))].copy()
    stacked[column] = np.repeat(levels.to_numpy(), len(X))
    stacked[column] = stacked[column].astype(X[column].dtype)
    effect = pipe.predict(stacked).reshape(len(levels), len(X)).mean(axis=1)
    return levels.to_numpy(), effect - effect.mean()


def _plot_department(tour, figure):
    """Learned reward per department, next to Ridge's rating effect."""
    features = "lecture"
    X, _, _ = tour.split("test", _FEATURE_SETS[features])
    figure.set_size_inches(10, 4)
    axes = figure.subplots(1, 2, sharey=True)
    order = None
    for ax, (model, unit) in zip(
        axes, (("Bradley-Terry", "reward (log-odds)"), ("Ridge", "rating points"))
    ):
        levels, effect = _department_effect(tour.models[model, features], X)
        if order is None:
            order = np.argsort(effect)
        ax.barh([str(level) for level in levels[order]], effect[order])
        ax.axvline(0, color="grey", linewidth=0.8)
        ax.set_xlabel(f"{unit}, centred")
        ax.set_title(model)
    axes[0].set_ylabel("department (anonymous code)")
    figure.suptitle("Effect of the lecture's department (held-out students)")
    return "reward_by_department.png"


def _within_group_softmax(scores):
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _plot_mode_shares(tour, figure):
    """Predicted share of each fishing mode among held-out anglers."""
    result = tour.results["ranking"]
    modes = result["modes"]
    shares = {"observed": result["chosen"].mean(axis=0)}
    for name, scores in result["scores"].items():
        # Choice probabilities are the softmax of the scores over an angler's
        # modes; the logistic baseline's log-odds are normalised the same way.
        shares[name] = _within_group_softmax(scores).mean(axis=0)
    figure.set_size_inches(8, 4)
    ax = figure.subplots()
    width = 0.8 / len(shares)
    positions = np.arange(len(modes))
    for i, (name, share) in enumerate(shares.items()):
        ax.bar(
            positions + (i - (len(shares) - 1) / 2) * width,
            share,
            width,
            label=name,
            color="black" if name == "observed" else None,
        )
    ax.set_xticks(positions, [str(mode) for mode in modes])
    ax.set_ylabel("share of held-out anglers")
    ax.set_title("Fishing mode shares: observed and predicted")
    ax.legend(fontsize=8)
    return "fishing_mode_shares.png"


def _plot_fairness(tour, figure):
    """Dependence on the protected attributes, and group means, before/after."""
    rows = _family_rows(tour, "fairness")
    result = tour.results["fairness"]
    figure.set_size_inches(11, 4)
    left, right = figure.subplots(1, 2, width_ratios=(2, 3))
    measures = [(key, header) for key, header, _ in FAMILIES["fairness"].columns[1:]]
    width = 0.8 / len(rows)
    positions = np.arange(len(measures))
    for i, row in enumerate(rows):
        left.bar(
            positions + (i - (len(rows) - 1) / 2) * width,
            [row[key] for key, _ in measures],
            width,
            label=row["model"],
        )
    left.set_xticks(positions, [header for _, header in measures])
    left.set_ylabel("dependence on gender, ethnicity, age")
    left.set_title("Out-of-fold dependence (lower is fairer)")
    left.legend(fontsize=8)

    groups = result["groups"].to_numpy()
    levels = np.unique(groups)
    positions = np.arange(len(levels))
    series = {"observed": result["observed"], **result["predictions"]}
    means = {
        name: np.array([values[groups == level].mean() for level in levels])
        for name, values in series.items()
    }
    width = 0.8 / len(series)
    for i, (name, mean) in enumerate(means.items()):
        right.barh(
            positions + (i - (len(series) - 1) / 2) * width,
            mean,
            width,
            label=name,
            color="black" if name == "observed" else None,
        )
    right.set_yticks(positions, levels)
    right.set_xlabel("mean log hourly wage")
    # Group means differ by tenths of a log point: start the axis near them.
    low, high = min(map(np.min, means.values())), max(map(np.max, means.values()))
    right.set_xlim(low - 0.1 * (high - low) - 0.05, high + 0.05)
    right.legend(fontsize=8)
    right.set_title("By gender and ethnicity (out of fold)")
    figure.suptitle("Fair wage regression on CPS1985")
    return "fairness_before_after.png"


def _plot_reliability(tour, figure):
    """Reliability diagrams of the classifier before and after calibration."""
    result = tour.results["calibration"]
    probabilities = result["probabilities"]
    figure.set_size_inches(4 * len(probabilities), 4)
    axes = figure.subplots(1, len(probabilities), sharey=True)
    for ax, (name, proba) in zip(axes, probabilities.items()):
        ReliabilityDiagramDisplay.from_predictions(
            result["y"], proba[:, 1], name=name, ax=ax, show_counts=False
        )
        ax.set_title(name)
    figure.suptitle("Résumé callbacks: predicted probability of a callback")
    return "calibration_reliability.png"


def _plot_ordinal(tour, figure):
    """Predicted distribution of the ratings of each wine, against observed."""
    result = tour.results["ordinal"]
    labels, y, condition = result["labels"], result["y"], result["condition"]
    levels = sorted(set(condition))
    figure.set_size_inches(12, 3.5)
    axes = figure.subplots(1, len(levels), sharey=True)
    for ax, level in zip(axes, levels):
        rows = condition == level
        observed = (y[rows][:, None] == labels).mean(axis=0)
        ax.bar(labels, observed, color="lightgrey", label="observed")
        for name, proba in result["distributions"].items():
            ax.plot(labels, proba[rows].mean(axis=0), marker="o", label=name)
        ax.set_title(level)
        ax.set_xlabel("bitterness rating")
    axes[0].set_ylabel("share of ratings (out of fold)")
    figure.legend(
        *axes[0].get_legend_handles_labels(),
        loc="outside lower center",
        ncols=len(result["distributions"]) + 1,
        frameon=False,
    )
    figure.suptitle("Wine bitterness: predicted rating distributions")
    return "ordinal_wine_ratings.png"


PLOTS = [
    _plot_accuracy,
    _plot_department,
    _plot_mode_shares,
    _plot_fairness,
    _plot_reliability,
    _plot_ordinal,
]
"""Figure functions ``plot(tour, figure) -> file name``, drawn by the last step."""


def _plots(tour):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        tour.notes.append(
            f"matplotlib is not installed, so no plots: {install_hint('plot')}"
        )
        return []
    tour.out.mkdir(parents=True, exist_ok=True)
    for plot in PLOTS:
        # A bare Figure renders with Agg and leaves pyplot's state alone.
        figure = Figure(layout="constrained")
        name = plot(tour, figure)
        figure.savefig(tour.out / name, dpi=100)
        tour.plots.append(tour.out / name)
    return []


STEPS = [
    Step("load InstEval", _load),
    Step("split by student", _split),
    *(
        make(features)
        for features in _FEATURE_SETS
        for make in (_ridge, _bradley_terry)
    ),
    Step("ranking: Fishing choices", _ranking),
    Step("fairness: CPS1985 wages", _fairness),
    Step("calibration: résumé callbacks", _calibration),
    Step("ordinal: wine ratings", _ordinal),
    Step("plots", _plots),
]
"""The tour, in order. Each step's function returns rows for the table."""


# -------------------------------------------------------------------- report
def format_table(rows, columns):
    """Rows (dicts) as a plain-text table with aligned columns.

    ``columns`` is a sequence of ``(key, header, format)``; text is aligned
    left and numbers right, and a missing value (``None``) shows as ``-``.
    """
    cells = [
        ["-" if row[key] is None else fmt.format(row[key]) for key, _, fmt in columns]
        for row in rows
    ]
    numeric = [
        all(not isinstance(row[key], str) for row in rows) for key, _, _ in columns
    ]
    headers = [header for _, header, _ in columns]
    widths = [max(map(len, column)) for column in zip(headers, *cells)]

    def line(values):
        return "  ".join(
            value.rjust(width) if right else value.ljust(width)
            for value, width, right in zip(values, widths, numeric)
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *map(line, cells)])


def format_results(rows, summary=None):
    """The results table: one block per family of :data:`FAMILIES`.

    Each block has a title, the lines of ``summary[family]`` describing the
    data (if given), and a table of the family's rows with its own metric
    columns. Families without rows are left out.
    """
    summary = summary or {}
    blocks = []
    for name, family in FAMILIES.items():
        family_rows = [row for row in rows if row["family"] == name]
        if not family_rows:
            continue
        columns = (*_SHARED_COLUMNS, *family.columns, _FIT_COLUMN)
        lines = [f"== {family.title}"]
        for line in summary.get(name, []):
            lines += textwrap.wrap(
                line, _WIDTH, initial_indent="   ", subsequent_indent="     "
            )
        blocks.append("\n".join([*lines, format_table(family_rows, columns)]))
    return "\n\n".join(blocks)


def run_tour(*, n_students=_DEFAULT_STUDENTS, out=None, full=False, progress=True):
    """Run every step of :data:`STEPS`; returns the finished :class:`Tour`.

    Parameters
    ----------
    n_students : int or None, default=1000
        Students of InstEval to use; ``None`` uses all of them.
    out : path-like, default=None
        Folder for the plots; ``None`` makes a new temporary directory.
    full : bool, default=False
        The larger runs: a fairness path over three strengths, twenty
        repetitions of the ordinal cross-validation with HL-Gauss regression
        added, and longer training of the neural choice model.
    progress : bool, default=True
        Show a progress bar over the steps (on stderr).

    Returns
    -------
    tour : Tour
        ``tour.rows`` holds the results table, ``tour.plots`` the files
        written.

    Examples
    --------
    >>> from skalign.demo import FAMILIES, STEPS
    >>> list(FAMILIES)
    ['preference', 'ranking', 'fairness', 'calibration', 'ordinal']
    >>> STEPS[-1].label
    'plots'
    """
    from tqdm.auto import tqdm

    out = Path(tempfile.mkdtemp(prefix="skalign-demo-") if out is None else out)
    tour = Tour(n_students=n_students, out=out, full=full)
    with tqdm(STEPS, disable=not progress, unit="step", file=sys.stderr) as bar:
        for step in bar:
            bar.set_description(step.label)
            tour.rows += step.run(tour)
    return tour


def main(argv=None):
    """Command-line entry point of ``python -m skalign.demo``."""
    parser = argparse.ArgumentParser(
        prog="python -m skalign.demo",
        description="A tour of skalign's five families on real data.",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="folder for the plots (default: temp)"
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--full",
        action="store_true",
        help="the larger runs: all 2,972 InstEval students, a fairness path, "
        "more cross-validation repeats",
    )
    size.add_argument(
        "--n-students",
        type=int,
        default=_DEFAULT_STUDENTS,
        metavar="N",
        help=f"InstEval students to draw (default: {_DEFAULT_STUDENTS})",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.n_students < 1:
        parser.error(f"--n-students must be at least 1; got {args.n_students}")

    start = time.perf_counter()
    tour = run_tour(
        n_students=None if args.full else args.n_students,
        out=args.out,
        full=args.full,
        progress=not args.quiet,
    )
    print(format_results(tour.rows, tour.summary))
    print()
    for note in tour.notes:
        print(textwrap.fill(f"note: {note}", _WIDTH, subsequent_indent="      "))
    if tour.plots:
        print(f"plots written to {tour.out}:")
        for path in tour.plots:
            print(f"  {path.name}")
    print(f"total time: {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
