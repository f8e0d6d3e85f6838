"""Run every benchmark script and write the benchmark results page.

Each ``benchmarks/bench_<family>.py`` runs in a process of its own with
``--quick`` (or full sizes with ``--full``) and ``--json``; this script
collects skalign's time and its anchor's from each, as ratios, and writes
``docs/benchmarks.rst`` with a description of the machine. The page is
generated: regenerate it with::

    python benchmarks/report.py            # --quick sizes, a few minutes
    python benchmarks/report.py --full     # full sizes, tens of minutes

``--out`` writes the page elsewhere, ``--keep DIR`` keeps each script's JSON
and output there, and ``--only`` runs some of the families. The docs build
never runs it.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAMILIES = ("foundation", "preference", "ranking", "fairness", "calibration", "ordinal")
TITLES = {
    "foundation": "Training engine",
    "preference": "Preference",
    "ranking": "Ranking",
    "fairness": "Fairness",
    "calibration": "Calibration",
    "ordinal": "Ordinal",
}


# A fixed section at the end of the page: benchmarks/bench_core.py prints its
# own table and is run by hand (it is not one of FAMILIES).
CORE_SECTION = """\
Core comparisons at default settings
------------------------------------

``benchmarks/bench_core.py`` runs skalign next to its anchors in one
process, on the same data, at **default settings** (estimator defaults;
skalign's default ``alpha`` is 0, so every anchor is an unpenalised
maximum likelihood fit), with **one thread on both sides**
(``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and ``OPENBLAS_NUM_THREADS`` set
to 1 before any import, ``torch.set_num_threads(1)`` and threadpoolctl's
``threadpool_limits(1)``). Run it with::

    python benchmarks/bench_core.py --quick              # small sizes, under a minute
    python benchmarks/bench_core.py --json core.json     # full sizes, a few minutes
    python benchmarks/bench_core.py --demo               # also time the demo

It compares:

1. featureless Plackett-Luce (``PlackettLuceRanker`` on one-hot CSR rows)
   with scipy's L-BFGS-B on a vectorised numpy likelihood and with
   ``choix.ilsr_rankings``;
2. featureless Bradley-Terry (``PreferenceRewardRegressor`` on
   ``comparisons_to_long``) with scipy's L-BFGS-B and ``choix.ilsr_pairwise``
   (on a smaller problem of the same density at full size: choix factorises
   a dense item-by-item matrix per iteration);
3. linear Bradley-Terry with ``LogisticRegression(fit_intercept=False)``
   on difference features, unpenalised as skalign's default;
4. the time per epoch of an ``MLPScorer(hidden_units=(64,))`` trained with
   Adam against a plain torch loop doing the same work;
5. the time to the first fit in a fresh process (import, first fit,
   repeated fit), with a profile of the first fit's extra time;
6. with ``--demo``, the wall-clock time of ``python -m skalign.demo``.

**The objective must match.** One shared numpy function per model computes
the objective of every solution from the scores it implies (item strengths,
or the margins of the winners), so feature scaling, intercepts and the gauge
of the anchors (item 0 fixed at 0) play no part. The script reports each
side's relative gap to the best side and marks a comparison **objective
mismatch** when skalign's objective is more than 1e-5 (relative) worse than
the anchor's: the ratio is still printed, but it is not a comparison at
equal quality. Timings are the best of 3 runs (1 for choix), sides
alternating, and the load average is recorded before and after each case.
``asv_bench/benchmarks/core.py`` runs cases 1-3 at moderate sizes
(``time_fit``, ``peakmem_fit``, ``track_objective_gap``) with the same
problems and objective functions; asv imports the installed skalign.
"""


def _row(what, skalign_s, anchor, anchor_s, goal="", note=""):
    """One line of a family's table; the ratio is anchor time / skalign time."""
    return dict(
        what=what,
        skalign_s=skalign_s,
        anchor=anchor,
        anchor_s=anchor_s,
        ratio=anchor_s / skalign_s,
        goal=goal,
        note=note,
    )


# Each extractor reads one script's JSON and returns the rows of its table.
# Ratios are always anchor / skalign: above 1, skalign is faster.
def _foundation(res):
    rows = []
    if "epoch" in res:
        epoch = res["epoch"]
        rows.append(
            _row(
                f"engine epoch, MLP(64) + Adam, {epoch['n_rows']:,} rows (median)",
                epoch["skalign_epoch_median"],
                "plain torch loop",
                epoch["plain_epoch_median"],
                "≥ 0.77 (skalign ≤ 1.3x plain)",
            )
        )
    rows += _bt_rows(res.get("bt"))
    return rows


def _bt_rows(bt):
    if not bt:
        return []
    reference = bt["chosen"]["sklearn"]
    return [
        _row(
            f"linear Bradley-Terry, {bt['n_pairs']:,} pairs x {bt['n_features']}, "
            f"{dtype}, equal loss",
            bt["chosen"][f"skalign_{dtype}"]["time"],
            "LogisticRegression (lbfgs)",
            reference["time"],
            "≥ 1",
            "anchor on precomputed difference features",
        )
        for dtype in ("float32", "float64")
    ]


def _preference(res):
    rows = []
    for items in res.get("items", []):
        choix = items["chosen"]["choix"]
        rows += [
            _row(
                f"item strengths, {items['n_comparisons']:,} comparisons of "
                f"{items['n_items']:,} items, {dtype}, equal log-likelihood",
                items["chosen"][f"skalign_{dtype}"]["time"],
                "choix.ilsr_pairwise",
                choix["time"],
            )
            for dtype in ("float32", "float64")
        ]
    l2 = res.get("items_l2")
    if l2:
        anchor = l2["chosen"]["choix.opt_pairwise"]
        rows += [
            _row(
                f"L2 item strengths, {l2['n_comparisons']:,} comparisons of "
                f"{l2['n_items']:,} items, {dtype}",
                l2["chosen"][f"skalign {dtype}"]["time"],
                "choix.opt_pairwise",
                anchor["time"],
            )
            for dtype in ("float32", "float64")
        ]
    return rows + _bt_rows(res.get("bt"))


def _ranking(res):
    size, choix = res["size"], res.get("choix") or {}
    rows = [
        _row(
            f"featureless Plackett-Luce, {size['rankings']:,} rankings of "
            f"{size['length']} of {size['items']:,} items, {dtype}",
            choix[dtype]["seconds"],
            "choix.ilsr_rankings",
            choix["choix_seconds"],
            "≥ 20",
        )
        for dtype in ("float32", "float64")
        if choix.get(dtype) and "seconds" in choix[dtype]
    ]
    return rows


def _fairness(res):
    rows = []
    fast = res.get("fast_dcov")
    if fast:
        rows.append(
            _row(
                f"distance covariance, n = {fast['n']:,} (CPU time)",
                fast["skalign_s"],
                "dcor (avl)",
                fast["dcor_avl_s"],
            )
        )
    summary = res.get("resume", {}).get("summary", {})
    for match in res.get("resume", {}).get("matches", []):
        ours = summary[f"skalign:{match['strength']}"]
        anchor = summary[f"fairlearn:{match['eps']}"]
        rows.append(
            _row(
                f"résumé demographic parity, eps={match['eps']:g} vs "
                f"λ={match['strength']:g} (fit CPU time per fold)",
                ours["fit_s"],
                "fairlearn ExponentiatedGradient",
                anchor["fit_s"],
                "≥ 5 at equal or better accuracy",
                f"balanced accuracy {match['balanced_accuracy_skalign']:.3f} vs "
                f"{match['balanced_accuracy_fairlearn']:.3f}",
            )
        )
    return rows


def _calibration(res):
    temperature, ece = res["temperature"], res["ece"]
    rows = [
        _row(
            f"temperature scaling, {temperature['sklearn_rows']:,} x "
            f"{temperature['classes']} logits",
            temperature["skalign_s"],
            "CalibratedClassifierCV(temperature)",
            temperature["sklearn_s"],
            "≥ 5",
            f"temperatures differ by {temperature['temperature_rel_diff']:.0e}",
        )
    ]
    for name in ("binary", "top-label 10"):
        rows.append(
            _row(
                f"ECE, {name}, {ece['netcal_rows']:,} rows",
                ece[name]["skalign_s"],
                "netcal.metrics.ECE",
                ece[name]["netcal_s"],
                note=f"values differ by {ece[name]['diff']:.0e}",
            )
        )
    return rows


def _ordinal(res):
    fits, reference = res["fits"], res["reference"]
    return [
        _row(
            f"{name}, {res['n']:,} x {res['p']}, 5 classes",
            seconds,
            reference,
            fits[reference],
            note=(
                f"coefficients differ by {res['max_coef_gap']:.0e}"
                if name == "ProportionalOddsClassifier"
                else ""
            ),
        )
        for name, seconds in fits.items()
        if name != reference
    ]


EXTRACT = {
    "foundation": _foundation,
    "preference": _preference,
    "ranking": _ranking,
    "fairness": _fairness,
    "calibration": _calibration,
    "ordinal": _ordinal,
}


def subprocess_env(skalign_home):
    """This process's environment, with ``skalign_home`` first on
    ``PYTHONPATH`` so that a child process imports the same skalign."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(skalign_home), env.get("PYTHONPATH")])
    )
    return env


def cpu_name():
    """The CPU's model name (from ``/proc/cpuinfo`` where there is one)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(
                line.split(":", 1)[1].strip()
                for line in f
                if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    return cpu


def machine():
    """CPU, cores, library versions and load: what the timings depend on."""
    import numpy
    import sklearn
    import torch

    cpu = cpu_name()
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    return {
        "CPU": cpu,
        "cores usable": str(cores),
        "platform": platform.platform(),
        "Python": platform.python_version(),
        "torch": torch.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "GPU": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
    }


def run(family, mode, folder):
    """Run one script in a process of its own; returns its JSON and run time."""
    script = ROOT / "benchmarks" / f"bench_{family}.py"
    path = Path(folder) / f"{family}.json"
    command = [sys.executable, str(script), "--json", str(path)]
    if mode == "quick":
        command.append("--quick")
    # The scripts import skalign from this checkout and bench_preference
    # imports bench_foundation next to it.
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), str(ROOT / "benchmarks"), env.get("PYTHONPATH")])
    )
    start = time.perf_counter()
    with open(Path(folder) / f"{family}.txt", "w") as log:
        subprocess.run(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, check=True
        )
    return json.loads(path.read_text()), time.perf_counter() - start


def _seconds(value):
    if value >= 1:
        return f"{value:.2f} s"
    return f"{value * 1000:.1f} ms"


def _table(rows):
    header = ("what", "skalign time", "anchor", "anchor time", "ratio", "goal", "note")
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 30 8 16 8 6 12 20",
        "",
    ]
    cells = [header] + [
        (
            row["what"],
            _seconds(row["skalign_s"]),
            row["anchor"],
            _seconds(row["anchor_s"]),
            f"{row['ratio']:.2f}",
            row["goal"] or "none set",
            row["note"],
        )
        for row in rows
    ]
    for cell in cells:
        lines.append(f"   * - {cell[0]}")
        lines += [f"     - {value}".rstrip() for value in cell[1:]]
    return lines


def render(results, info, *, mode, load_before, load_after, seconds):
    """The reST page of ``results`` (family -> (rows, script seconds))."""
    title = "Benchmark results"
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        ".. This page is generated by benchmarks/report.py; do not edit it by",
        "   hand. Regenerate it with: python benchmarks/report.py",
        "",
        ".. _benchmarks:",
        "",
        title,
        "=" * len(title),
        "",
        "skalign next to the library each of its parts is measured against (its",
        "*anchor*), side by side in one process on the same data. **ratio** is",
        "the anchor's time divided by skalign's: above 1, skalign is faster.",
        "Each comparison is at equal quality (equal loss, log-likelihood or",
        "estimate, as the note or the script says), so a faster but sloppier",
        "solver does not win. The scripts in ``benchmarks/`` describe each",
        "measurement in their docstrings and print more than this page shows.",
        "",
        f"Generated on {now} with the scripts' **{mode}** sizes, in "
        f"{seconds:.0f} s. Regenerate",
        "this page with ``python benchmarks/report.py`` (``--full`` for the full",
        "sizes).",
        "",
        ".. warning::",
        "",
        "   The machine below is shared with other work, and small problems",
        "   (the quick sizes) weigh fixed costs, such as starting a fit, more",
        "   than large ones. Read the ratios as orders of magnitude; the",
        "   scripts' full sizes are the ones the goals refer to.",
        "",
        "The machine",
        "-----------",
        "",
    ]
    for key, value in info.items():
        lines.append(f"- {key}: {value}")
    lines += [
        f"- load average (1, 5, 15 min) before: {_load(load_before)}, "
        f"after: {_load(load_after)}",
        "- torch and BLAS threads: as each script sets them (most use one)",
        "",
    ]
    for family, (rows, script_seconds) in results.items():
        heading = TITLES[family]
        lines += [
            heading,
            "-" * len(heading),
            "",
            f"``benchmarks/bench_{family}.py`` ({script_seconds:.0f} s).",
            "",
        ]
        lines += _table(rows) if rows else ["No comparison was run."]
        lines.append("")
    lines += CORE_SECTION.splitlines()
    return "\n".join(lines)


def _load(values):
    return ", ".join(f"{value:.2f}" for value in values)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--full", action="store_true", help="the scripts' full sizes (slow)"
    )
    parser.add_argument(
        "--only", nargs="+", choices=FAMILIES, help="run these scripts only"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "docs" / "benchmarks.rst",
        help="the page to write (default: docs/benchmarks.rst)",
    )
    parser.add_argument("--keep", type=Path, help="keep each script's output here")
    args = parser.parse_args(argv)
    mode = "full" if args.full else "quick"

    start = time.perf_counter()
    load_before = os.getloadavg()
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for family in args.only or FAMILIES:
            print(f"{family} ...", end=" ", flush=True)
            res, seconds = run(family, mode, folder)
            results[family] = (EXTRACT[family](res), seconds)
            print(f"{seconds:.0f} s")
    page = render(
        results,
        machine(),
        mode=mode,
        load_before=load_before,
        load_after=os.getloadavg(),
        seconds=time.perf_counter() - start,
    )
    args.out.write_text(page)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
