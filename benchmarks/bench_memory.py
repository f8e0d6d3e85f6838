"""Memory benchmark: one very long group, for every pairwise and listwise model.

A group of ``L`` rows holds ``L (L - 1) / 2`` pairs: two hundred million for
20,000 rows, five billion for 100,000. This script fits every pairwise and
listwise estimator **at its default settings** on **one group** of 20,000
rows and one of 100,000 rows (``--sizes`` changes them), each fit in a
**fresh subprocess** pinned to **one thread** (``OMP_NUM_THREADS``,
``MKL_NUM_THREADS`` and ``OPENBLAS_NUM_THREADS`` set to 1 before any import,
``torch.set_num_threads(1)`` and threadpoolctl's ``threadpool_limits(1)``),
and reports for each:

- the wall time of ``fit`` (data already built, imports paid);
- the child's **peak resident memory** (``resource.getrusage`` ``ru_maxrss``
  at the end of the child, so imports and data are included) and the
  resident memory just before ``fit`` (imports and data alone);
- the epochs run, whether the fit converged, and whether the predictions of
  500 rows are finite.

Estimators: ``PreferenceRewardRegressor``, ``GeneralPreferenceModel``,
``LambdaRanker`` with each loss, ``PlackettLuceRanker`` (all on ``groups``
of one id), and ``BinaryFeedbackRewardRegressor`` (thumbs-up for the upper
half of the utilities; a row-wise objective, for reference: at its defaults
it does not read ``groups``). Data: ``X`` of 8 standard normal features,
grades ``X @ w`` plus logistic noise, so every pair is informative.

Each child runs under an address-space limit (``RLIMIT_AS``,
``--limit-gib``, 4 GiB by default) so that a regression to ``O(L²)`` memory
fails with a ``MemoryError`` in its row of the table instead of exhausting
a shared machine; ``--limit-gib 0`` removes it. A child that runs past
``--timeout`` seconds is stopped and reported as such.

Run ``python benchmarks/bench_memory.py`` (both sizes, a few minutes),
``--quick`` (20,000 rows only) or ``--only`` some estimators; ``--json PATH``
writes every number. skalign is imported from ``sys.path`` as usual
(``PYTHONPATH=.`` for a checkout); its location is printed.
"""

import os

# One thread: set before numpy, scipy and torch start pools.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from report import cpu_name, subprocess_env  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import skalign  # noqa: E402

SKALIGN_HOME = Path(skalign.__file__).resolve().parent.parent
N_FEATURES = 8
N_PREDICT = 500

#: label -> (class path, constructor keywords).
ESTIMATORS = {
    "PreferenceRewardRegressor": ("skalign.preference.PreferenceRewardRegressor", {}),
    "GeneralPreferenceModel": ("skalign.preference.GeneralPreferenceModel", {}),
    "LambdaRanker(lipo_lambda)": ("skalign.ranking.LambdaRanker", {}),
    "LambdaRanker(ranknet)": ("skalign.ranking.LambdaRanker", {"loss": "ranknet"}),
    "LambdaRanker(listnet)": ("skalign.ranking.LambdaRanker", {"loss": "listnet"}),
    "PlackettLuceRanker": ("skalign.ranking.PlackettLuceRanker", {}),
    "BinaryFeedbackRewardRegressor": (
        "skalign.preference.BinaryFeedbackRewardRegressor",
        {},
    ),
}
SIZES = {"full": (20_000, 100_000), "quick": (20_000,)}


def pin_threads():
    torch.set_num_threads(1)
    threadpool_limits(limits=1)


def make_problem(label, n_rows, seed=0):
    """``(estimator, X, y, groups)``: estimator ``label`` at its defaults and
    one group of ``n_rows`` rows."""
    path, params = ESTIMATORS[label]
    module, _, name = path.rpartition(".")
    estimator = getattr(importlib.import_module(module), name)(**params)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, N_FEATURES))
    utility = X @ rng.standard_normal(N_FEATURES) + rng.logistic(size=n_rows)
    if name == "BinaryFeedbackRewardRegressor":
        y = (utility > np.median(utility)).astype(int)
    else:
        y = utility
    return estimator, X, y, np.zeros(n_rows, dtype=np.int64)


CHILD_CODE = """
import resource, sys
LIMIT = __LIMIT__
if LIMIT:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))
sys.path.insert(0, __BENCHMARKS__)
import json, os, time, warnings
import numpy as np
import bench_memory as memory  # one thread: sets the variables before numpy


def rss_mib():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


memory.pin_threads()
estimator, X, y, groups = memory.make_problem(__LABEL__, __N_ROWS__)
out = {"rss_before_fit_mib": rss_mib()}
start = time.perf_counter()
try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X, y, groups=groups)
    out["fit_seconds"] = time.perf_counter() - start
    out["n_iter"] = int(estimator.n_iter_)
    out["converged"] = bool(estimator.converged_)
    predictions = estimator.predict(X[: memory.N_PREDICT])
    out["finite"] = bool(np.isfinite(predictions).all())
except Exception as exc:
    out["fit_seconds"] = time.perf_counter() - start
    out["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("RESULT " + json.dumps(out))
"""


def fit_in_child(label, n_rows, limit_bytes, timeout):
    """Fit estimator ``label`` on one group of ``n_rows`` in a new process."""
    code = (
        CHILD_CODE.replace("__LIMIT__", str(limit_bytes))
        .replace("__BENCHMARKS__", repr(str(Path(__file__).resolve().parent)))
        .replace("__LABEL__", repr(label))
        .replace("__N_ROWS__", str(n_rows))
    )
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=subprocess_env(SKALIGN_HOME),
            # python -c puts the working directory first on sys.path.
            cwd=SKALIGN_HOME,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"stopped after {timeout} s", "process_seconds": timeout}
    wall = time.perf_counter() - start
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        # Killed (e.g. out of memory) before it could report.
        tail = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        return {"error": f"child failed: {tail[0][:200]}", "process_seconds": wall}
    return dict(json.loads(lines[-1][len("RESULT ") :]), process_seconds=wall)


def _mib(value):
    return "" if value is None else f"{value:,.0f} MiB"


def _seconds(value):
    return "" if value is None else f"{value:.2f} s"


def show(rows):
    header = (
        "estimator",
        "rows",
        "fit time",
        "peak RSS",
        "RSS before fit",
        "epochs",
        "status",
    )
    cells = [header]
    for row in rows:
        if "error" in row:
            status = row["error"]
        else:
            status = "converged" if row["converged"] else "max_epochs"
            status += "" if row["finite"] else ", NON-FINITE predictions"
        cells.append(
            (
                row["estimator"],
                f"{row['n_rows']:,}",
                _seconds(row.get("fit_seconds")),
                _mib(row.get("peak_rss_mib")),
                _mib(row.get("rss_before_fit_mib")),
                str(row.get("n_iter", "")),
                status,
            )
        )
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    for i, cell in enumerate(cells):
        print("  ".join(value.ljust(width) for value, width in zip(cell, widths)))
        if i == 0:
            print("  ".join("-" * width for width in widths))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 rows only")
    parser.add_argument("--sizes", type=int, nargs="+", help="rows of the group")
    parser.add_argument(
        "--only", nargs="+", choices=list(ESTIMATORS), help="these estimators"
    )
    parser.add_argument(
        "--limit-gib",
        type=float,
        default=4.0,
        help="address-space limit of each child (0: none); default 4",
    )
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds per child; default 600"
    )
    parser.add_argument("--json", metavar="PATH", help="write every number here")
    args = parser.parse_args(argv)
    sizes = args.sizes or SIZES["quick" if args.quick else "full"]
    labels = args.only or list(ESTIMATORS)
    limit = int(args.limit_gib * 2**30)

    print(
        f"{cpu_name()}, {len(os.sched_getaffinity(0))} usable cores, one thread "
        f"per fit; python {platform.python_version()}; skalign "
        f"{skalign.__version__} from {SKALIGN_HOME}; address-space limit "
        f"{f'{args.limit_gib:g} GiB' if limit else 'none'}; load average "
        f"{[round(x, 2) for x in os.getloadavg()]}"
    )
    rows = []
    for n_rows in sizes:
        for label in labels:
            result = fit_in_child(label, n_rows, limit, args.timeout)
            rows.append({"estimator": label, "n_rows": n_rows, **result})
            print(f"  {label}, {n_rows:,} rows: {json.dumps(result)}", flush=True)
    print()
    show(rows)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "sizes": sizes,
                    "limit_bytes": limit,
                    "load_average_after": os.getloadavg(),
                    "rows": rows,
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
