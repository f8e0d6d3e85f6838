"""Calibration benchmarks: skalign next to its anchors, in one process.

a) **Temperature scaling.** :class:`~skalign.calibration.TemperatureScaling`
   (full-batch L-BFGS in torch) against scikit-learn's
   ``CalibratedClassifierCV(FrozenEstimator(clf), method="temperature")``
   (a bounded scalar search over the multinomial loss in numpy) on
   ``n x 100`` logits whose labels are drawn from ``softmax(logits / 2.5)``,
   so both should find ``T = 2.5``. Both are timed on the same data size
   (``--sklearn-rows``, 200k by default) and skalign also on ``--rows``
   (1M); the temperatures are printed next to the times. Target: skalign at
   least 5x faster at the same temperature.

b) **ECE.** :func:`skalign.metrics.expected_calibration_error` on
   ``--ece-rows`` (10M) binary predictions and top-label predictions of 10
   classes, and ``netcal.metrics.ECE`` on ``--netcal-rows`` of the same
   data (it bins with ``np.histogramdd`` and ``binned_statistic_dd``);
   the ratio is taken on equal sizes.

Run ``python benchmarks/bench_calibration.py`` (full sizes, a few minutes) or
``--quick`` (small sizes, under a minute); ``--json PATH`` writes every
number. Each timing is the best of
``--repeats``; the load average is printed because the machine may be
shared. torch runs on ``--threads`` threads, one by default, as scikit-learn's
multinomial loss does, so that the comparison is like for like (and because
on a shared machine torch's thread pool can be slower than one thread).
"""

import argparse
import json
import os
import platform
import time
import warnings

import numpy as np
import sklearn
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator

import skalign
from skalign.calibration import TemperatureScaling
from skalign.metrics import expected_calibration_error

SIZES = {
    "full": dict(
        rows=1_000_000,
        sklearn_rows=200_000,
        classes=100,
        ece_rows=10_000_000,
        netcal_rows=1_000_000,
        repeats=2,
    ),
    "quick": dict(
        rows=200_000,
        sklearn_rows=50_000,
        classes=100,
        ece_rows=1_000_000,
        netcal_rows=200_000,
        repeats=1,
    ),
}
TRUE_TEMPERATURE = 2.5


class _PrecomputedLogits(ClassifierMixin, BaseEstimator):
    """A 'classifier' whose decision function returns the rows of X, so that
    scikit-learn calibrates exactly the logits skalign sees."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def decision_function(self, X):
        return X

    def predict(self, X):
        return self.classes_[np.argmax(X, axis=1)]


def best_of(repeats, fn):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def make_logits(n, k, seed):
    rng = np.random.default_rng(seed)
    logits = (3.0 * rng.standard_normal((n, k))).astype(np.float32)
    scaled = logits / TRUE_TEMPERATURE
    proba = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    y = (rng.uniform(size=(n, 1)) > np.cumsum(proba, axis=1)).sum(axis=1)
    return logits, np.minimum(y, k - 1)


def bench_temperature(sizes, repeats):
    k = sizes["classes"]
    logits, y = make_logits(sizes["rows"], k, seed=0)
    small = slice(0, sizes["sklearn_rows"])
    print(f"\n[a] temperature scaling, {k} classes, true T = {TRUE_TEMPERATURE}")

    def skalign_fit(rows):
        return TemperatureScaling(input="logits").fit(logits[rows], y[rows])

    def sklearn_fit(rows):
        frozen = FrozenEstimator(_PrecomputedLogits().fit(logits[rows], y[rows]))
        model = CalibratedClassifierCV(frozen, method="temperature")
        return model.fit(logits[rows].astype(np.float64), y[rows])

    skalign_fit(slice(0, 1000))  # torch/skorch start-up, not part of the fit
    n_small = sizes["sklearn_rows"]
    t_sk, ref = best_of(repeats, lambda: sklearn_fit(small))
    t_small, ours_small = best_of(repeats, lambda: skalign_fit(small))
    t_big, ours_big = best_of(repeats, lambda: skalign_fit(slice(None)))
    beta = float(ref.calibrated_classifiers_[0].calibrators[0].beta_)
    rows = [
        ("scikit-learn", n_small, t_sk, 1.0 / beta),
        ("skalign", n_small, t_small, ours_small.temperature_),
        ("skalign", sizes["rows"], t_big, ours_big.temperature_),
    ]
    for name, n, seconds, temperature in rows:
        print(f"  {name:<13} {n:>9,} x {k}: {seconds:8.2f} s   T = {temperature:.6f}")
    print(f"  speed-up at {n_small:,} rows: {t_sk / t_small:.1f}x")
    per_row = (t_sk / n_small) / (t_big / sizes["rows"])
    print(f"  speed-up per row, skalign at {sizes['rows']:,} rows: {per_row:.1f}x")
    rel = abs(ours_small.temperature_ * beta - 1.0)
    print(f"  relative temperature difference at equal data: {rel:.2e}")
    return dict(
        classes=k,
        rows=sizes["rows"],
        sklearn_rows=n_small,
        sklearn_s=t_sk,
        skalign_s=t_small,
        skalign_big_s=t_big,
        ratio=t_sk / t_small,
        ratio_per_row=per_row,
        temperature_rel_diff=rel,
    )


def bench_ece(sizes, repeats):
    from netcal.metrics import ECE

    rng = np.random.default_rng(1)
    n, n_ref = sizes["ece_rows"], sizes["netcal_rows"]
    p = rng.uniform(size=n)
    y = (rng.uniform(size=n) < p**1.2).astype(np.int64)
    logits = rng.standard_normal((n_ref, 10))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = rng.integers(0, 10, size=n_ref)
    print("\n[b] expected calibration error, 15 uniform bins")
    t_big, ece_big = best_of(repeats, lambda: expected_calibration_error(y, p))
    print(f"  skalign binary {n:>11,}: {t_big:8.3f} s   ECE = {ece_big:.6f}")
    results = dict(rows=n, netcal_rows=n_ref, skalign_big_s=t_big)
    for name, args in (
        ("binary", (y[:n_ref], p[:n_ref])),
        ("top-label 10", (labels, proba)),
    ):
        t_ours, ours = best_of(repeats, lambda a=args: expected_calibration_error(*a))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_ref, ref = best_of(
                repeats, lambda a=args: ECE(bins=15).measure(a[1], a[0])
            )
        print(
            f"  {name:<13} {n_ref:>11,}: skalign {t_ours:7.3f} s, netcal "
            f"{t_ref:7.3f} s, ratio {t_ref / t_ours:6.1f}x, |diff| "
            f"{abs(ours - ref):.1e}"
        )
        results[name] = dict(
            skalign_s=t_ours, netcal_s=t_ref, ratio=t_ref / t_ours, diff=abs(ours - ref)
        )
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (< 60 s)")
    parser.add_argument("--rows", type=int)
    parser.add_argument("--sklearn-rows", type=int)
    parser.add_argument("--ece-rows", type=int)
    parser.add_argument("--netcal-rows", type=int)
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: scikit-learn's loss runs on one thread)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sizes = dict(SIZES["quick" if args.quick else "full"])
    for key in ("rows", "sklearn_rows", "ece_rows", "netcal_rows", "repeats"):
        if getattr(args, key) is not None:
            sizes[key] = getattr(args, key)
    print(
        f"skalign {skalign.__version__}, scikit-learn {sklearn.__version__}, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"{platform.processor() or platform.machine()}, "
        f"load {os.getloadavg() if hasattr(os, 'getloadavg') else 'n/a'}"
    )
    temperature = bench_temperature(sizes, sizes["repeats"])
    ece = bench_ece(sizes, sizes["repeats"])
    if hasattr(os, "getloadavg"):
        print(f"\nload after: {os.getloadavg()}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(sizes=sizes, temperature=temperature, ece=ece), f, indent=2)


if __name__ == "__main__":
    main()
