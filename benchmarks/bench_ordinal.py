"""Ordinal benchmarks: PRESTO and proportional odds next to statsmodels.

Fit times on ``n`` rows, ``p`` standardised features and 5 ordered classes
drawn from a cumulative logit model whose top threshold has two weights of
its own (so PRESTO has something to find), all in one process:

- ``PrestoClassifier`` (FISTA, float64) at one strength, and
  ``presto_path`` over 10 strengths (warm-started);
- ``ProportionalOddsClassifier`` (L-BFGS through the skorch engine, float64,
  linear scorer without intercept);
- statsmodels' ``OrderedModel(distr="logit").fit(method="bfgs")``, the
  maximum-likelihood proportional odds model, as the anchor.

The proportional-odds fits are checked to agree (max coefficient gap), and
every time is the best of ``--repeats`` runs. Run
``python benchmarks/bench_ordinal.py`` (100,000 x 50, a few minutes) or
``--quick`` (20,000 x 20, under a minute); ``--json PATH`` writes every
number. Wall-clock times depend on the
load of the machine: the load average is printed with them.
"""

import argparse
import json
import os
import platform
import time
import warnings

import numpy as np
import torch
from statsmodels.miscmodels.ordinal_model import OrderedModel
from threadpoolctl import threadpool_limits

from skalign.ordinal import PrestoClassifier, ProportionalOddsClassifier, presto_path

SIZES = {"full": (100_000, 50), "quick": (20_000, 20)}
CUTS = (-2.0, -0.5, 1.0, 2.5)


def make_data(n, p, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    coef = np.zeros(p)
    coef[: min(p, 10)] = np.linspace(1.0, -1.0, min(p, 10))
    top = coef.copy()
    top[[0, 1]] += [0.8, -0.8]
    u = rng.logistic(size=n)
    y = np.digitize(X @ coef + u, CUTS[:3])
    y = np.where((y == 3) & (X @ top + u > CUTS[3]), 4, y)
    return X, y


def best_time(fit, repeats):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fit()
        times.append(time.perf_counter() - start)
    return min(times), result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch and BLAS threads (default 1: on a shared machine, more "
        "threads than idle cores make every small tensor operation wait)",
    )
    args = parser.parse_args(argv)
    n, p = SIZES["quick" if args.quick else "full"]
    repeats = args.repeats or (1 if args.quick else 2)
    threads = args.threads
    torch.set_num_threads(threads)
    print(
        f"python {platform.python_version()}, torch {torch.__version__}, "
        f"{threads} threads, load average {os.getloadavg()[0]:.2f}"
    )
    X, y = make_data(n, p)
    print(f"data: {n} x {p}, 5 classes, counts {np.bincount(y).tolist()}")
    warnings.simplefilter("ignore")

    rows = []
    with threadpool_limits(threads):
        t, presto = best_time(lambda: PrestoClassifier(alpha=1e-3).fit(X, y), repeats)
        rows.append(("PrestoClassifier(alpha=1e-3)", t, f"{presto.n_iter_} iter"))
        t, _ = best_time(lambda: presto_path(X, y, alphas=10), 1)
        rows.append(("presto_path, 10 strengths", t, ""))
        t, po = best_time(
            lambda: ProportionalOddsClassifier(dtype="float64", tol=1e-6).fit(X, y),
            repeats,
        )
        rows.append(("ProportionalOddsClassifier", t, f"{po.n_iter_} epochs"))
        t, sm = best_time(
            lambda: OrderedModel(y, X, distr="logit").fit(
                method="bfgs", disp=False, maxiter=1000
            ),
            repeats,
        )
        rows.append(("statsmodels OrderedModel (bfgs)", t, ""))

    reference = rows[-1][1]
    print(f"\n{'fit':36s} {'seconds':>9s} {'/ statsmodels':>14s}  notes")
    for name, seconds, note in rows:
        print(f"{name:36s} {seconds:9.2f} {seconds / reference:14.2f}  {note}")
    gap = np.abs(po.coef_ - sm.params[:p]).max()
    print(f"\nproportional odds vs statsmodels: max |coef gap| = {gap:.2e}")
    print(
        "PRESTO at alpha=1e-3: "
        f"{np.count_nonzero(np.diff(presto.coef_, axis=0))} non-zero differences "
        f"of {(presto.coef_.shape[0] - 1) * p}"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                dict(
                    n=n,
                    p=p,
                    fits={name: seconds for name, seconds, _ in rows},
                    reference="statsmodels OrderedModel (bfgs)",
                    max_coef_gap=float(gap),
                ),
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
