"""Preference benchmarks: skalign next to its anchors, in one process.

a) **Featureless Bradley–Terry (item strengths) against choix.** Strengths
   ``θ ~ N(0, 1)`` for ``n_items`` items, random pairs of distinct items, the
   winner drawn from the Bradley–Terry model. skalign fits
   ``PreferenceRewardRegressor(scorer=LinearScorer(fit_intercept=False))`` on
   the one-hot long format of ``comparisons_to_long(identity, comparisons)``
   (full-batch L-BFGS); choix runs ``ilsr_pairwise`` (iterative Luce Spectral
   Ranking, Maystre and Grossglauser, 2015).

   Both are compared **at equal log-likelihood**, without regularisation:
   choix's ``alpha`` in ``ilsr_pairwise`` seeds the rates of its Markov chain
   (a pseudo-count prior) and is *not* the L2 penalty ``alpha_choix ||θ||²``
   of ``choix.opt_pairwise``, so only ``alpha=0`` gives both the same
   objective. The time of each is the time to bring the log-likelihood within
   ``--rel-gap`` (relative) of the best one found: for skalign, the loosest
   L-BFGS tolerance of a sweep that gets there (float32 and float64); for
   choix, the elapsed time of the first I-LSR iteration that gets there. To
   read the log-likelihood after every iteration, choix's own I-LSR loop is
   driven here: ``choix.lsr_pairwise(initial_params=previous)`` and choix's
   ``NormOfDifferenceTest``, which is all ``ilsr_pairwise`` does (checked
   against ``choix.ilsr_pairwise`` on a small problem, and the
   log-likelihood against ``choix.log_likelihood_pairwise``); evaluating the
   log-likelihood is not timed. The loop also runs on to choix's own
   convergence (its default ``tol=1e-8``) unless that exceeds
   ``--choix-budget`` seconds, which the output then says. The conversion to
   the long format is timed apart.

a') **L2-penalised item strengths against ``choix.opt_pairwise``**, whose
   ``alpha_choix`` is an L2 penalty: skalign with
   ``alpha = 2 alpha_choix / n_comparisons`` maximises the same penalised
   log-likelihood. choix's optimiser loops over comparisons in Python, so this
   runs on a small problem; it checks the ``alpha`` mapping and shows how far
   ``ilsr_pairwise(alpha=alpha_choix)`` lands from that optimum.

b) **Bradley–Terry with features against LogisticRegression** on difference
   features at equal loss: ``bench_foundation.bench_bt_full_batch`` (see that
   script), reused as is.

Run ``python benchmarks/bench_preference.py`` (full sizes: 1,000,000
comparisons over 10,000 and over 5,000 items, and 1,000,000 pairs x 32
features; 10 to 15 minutes on 2 cores, mostly choix) or ``--quick`` (about a
minute).
``--json PATH`` writes every number. Timings depend on the load of the
machine: the load average is printed before and after.
"""

import argparse
import json
import os
import sys
import time

import choix
import numpy as np
import scipy.sparse as sp
from choix.convergence import NormOfDifferenceTest
from scipy.special import expit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_foundation as foundation

from skalign.utils import comparisons_to_long

SIZES = {
    "full": dict(
        # (n_items, n_comparisons): the size, then one where choix's
        # I-LSR runs to its own convergence within the budget.
        items=((10_000, 1_000_000), (5_000, 1_000_000)),
        l2_items=(1_000, 20_000),
        bt_pairs=1_000_000,
        bt_repeats=2,
        bt_tols=(1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8),
    ),
    "quick": dict(
        items=((1_000, 30_000),),
        l2_items=(200, 3_000),
        bt_pairs=20_000,
        bt_repeats=1,
        bt_tols=(1e-3, 1e-4, 1e-5, 1e-6, 1e-7),
    ),
}
# From loose to tight; the sweep stops at the first that reaches the target.
ITEM_TOLS = (1e-4, 1e-5, 3e-6, 1e-6, 3e-7, 1e-7, 3e-8, 1e-8)
CHECK_SIZE = (200, 10_000)


# ---------------------------------------------------------------------- data
def make_comparisons(n_items, n_comparisons, seed=0):
    """``(winner, loser)`` rows of random item pairs, outcomes by Bradley–Terry."""
    rng = np.random.default_rng(seed)
    strength = rng.standard_normal(n_items)
    pairs = rng.integers(0, n_items - 1, size=(n_comparisons, 2))
    pairs[:, 1] += pairs[:, 1] >= pairs[:, 0]  # distinct items, uniformly
    first_wins = rng.random(n_comparisons) < expit(
        strength[pairs[:, 0]] - strength[pairs[:, 1]]
    )
    return np.where(first_wins[:, None], pairs, pairs[:, ::-1])


def penalised_loglik(comparisons, theta, alpha_choix=0.0):
    """choix's objective, vectorised: ``loglik - alpha_choix ||θ||²``."""
    theta = np.asarray(theta, dtype=np.float64).ravel()
    margin = theta[comparisons[:, 0]] - theta[comparisons[:, 1]]
    return float(-np.logaddexp(0.0, -margin).sum() - alpha_choix * theta @ theta)


def to_long(n_items, comparisons):
    start = time.perf_counter()
    X, y, groups = comparisons_to_long(sp.identity(n_items, format="csr"), comparisons)
    return X, y, groups, time.perf_counter() - start


# --------------------------------------------------------------------- choix
def choix_ilsr_trace(n_items, comparisons, *, tol, budget, log):
    """choix's I-LSR loop, timing each ``lsr_pairwise`` step.

    Stops at choix's own convergence test or once ``budget`` seconds of
    iterations have run. The log-likelihood is evaluated between steps,
    outside the timing.
    """
    converged_test = NormOfDifferenceTest(tol, order=1)
    params, elapsed, cpu, rows = None, 0.0, 0.0, []
    while True:
        start, cpu_start = time.perf_counter(), time.process_time()
        params = choix.lsr_pairwise(n_items, comparisons, initial_params=params)
        done = converged_test(params)
        elapsed += time.perf_counter() - start
        cpu += time.process_time() - cpu_start
        rows.append(
            {
                "iteration": len(rows) + 1,
                "time": elapsed,
                "cpu": cpu,
                "loglik": penalised_loglik(comparisons, params),
                "converged": done,
            }
        )
        log(rows[-1])
        if done or elapsed >= budget:
            return rows, params


def check_choix_equivalence():
    """The driven loop is ``ilsr_pairwise``; our log-likelihood is choix's."""
    n_items, n_comparisons = CHECK_SIZE
    comparisons = make_comparisons(n_items, n_comparisons, seed=1)
    reference = choix.ilsr_pairwise(n_items, comparisons)
    _, params = choix_ilsr_trace(
        n_items, comparisons, tol=1e-8, budget=np.inf, log=lambda row: None
    )
    return {
        "size": CHECK_SIZE,
        "max_abs_param_diff": float(np.max(np.abs(params - reference))),
        "loglik_abs_diff": abs(
            penalised_loglik(comparisons, params)
            - choix.log_likelihood_pairwise(comparisons, params)
        ),
    }


# ----------------------------------------------------------- a) item strengths
def skalign_items_sweep(X, y, groups, comparisons, *, dtype, alpha, alpha_choix):
    """skalign at each tolerance, loose to tight: yields (time, objective) rows."""
    for tol in ITEM_TOLS:
        wall, coef, info = foundation.skalign_linear_fit(
            X, y, groups, alpha=alpha, tol=tol, dtype=dtype
        )
        yield {
            "tol": tol,
            "time": wall,
            "loglik": penalised_loglik(comparisons, coef, alpha_choix),
            **info,
        }


def until_target(rows, best, target):
    """Consume a sweep until a row is within ``target`` of the best so far."""
    out = []
    for row in rows:
        out.append(row)
        best = max(best, row["loglik"])
        if (best - row["loglik"]) / abs(best) <= target:
            break
    return out, best


def logged(rows, log):
    """Pass the rows of a sweep through, printing each as it comes."""
    for row in rows:
        log(row)
        yield row


def reaching(rows, best, target, key="loglik"):
    """The first row whose objective is within ``target`` (relative) of ``best``."""
    for row in rows:
        row["rel_gap"] = (best - row[key]) / abs(best)
    ok = [row for row in rows if row["rel_gap"] <= target]
    return dict(ok[0] if ok else rows[-1], reached=bool(ok))


def bench_items(n_items, n_comparisons, *, target, budget):
    comparisons = make_comparisons(n_items, n_comparisons)
    X, y, groups, convert = to_long(n_items, comparisons)
    print(
        f"\na) featureless Bradley-Terry: {n_items:,} items, {n_comparisons:,} "
        f"comparisons; comparisons_to_long took {convert:.3f}s",
        flush=True,
    )

    def log(name):
        def _log(row):
            extra = ", ".join(
                f"{k}={v}"
                for k, v in row.items()
                if k in ("epochs", "converged", "lbfgs_iter", "func_evals")
            )
            if "tol" in row:
                step = f"tol={row['tol']:<7.0e}"
            else:
                step = f"iteration {row['iteration']:<3d}"
            print(
                f"    {name:<16} {step} time={row['time']:8.2f}s "
                f"cpu={row['cpu']:8.2f}s loglik={row['loglik']:.6f}  {extra}",
                flush=True,
            )

        return _log

    # A tight float64 fit gives the reference optimum (the others may beat it).
    _, coef, _ = foundation.skalign_linear_fit(
        X, y, groups, alpha=0.0, tol=1e-10, dtype="float64", max_epochs=1000
    )
    best = penalised_loglik(comparisons, coef)
    sweeps = {}
    for dtype in ("float32", "float64"):
        sweep = skalign_items_sweep(
            X, y, groups, comparisons, dtype=dtype, alpha=0.0, alpha_choix=0.0
        )
        sweeps[f"skalign_{dtype}"], best = until_target(
            logged(sweep, log(f"skalign {dtype}")), best, target
        )
    choix_rows, _ = choix_ilsr_trace(
        n_items, comparisons, tol=1e-8, budget=budget, log=log("choix I-LSR")
    )
    best = max(best, max(row["loglik"] for row in choix_rows))
    chosen = {name: reaching(rows, best, target) for name, rows in sweeps.items()}
    chosen["choix"] = reaching(choix_rows, best, target)
    last = choix_rows[-1]
    res = {
        "n_items": n_items,
        "n_comparisons": n_comparisons,
        "conversion_time": convert,
        "best_loglik": best,
        "target_rel_gap": target,
        "sweeps": sweeps,
        "choix_trace": choix_rows,
        "choix_own_convergence": {
            "converged": bool(last["converged"]),
            "iterations": last["iteration"],
            "time": last["time"],
            "budget": budget,
        },
        "chosen": chosen,
    }
    for dtype in ("float32", "float64"):
        sk = chosen[f"skalign_{dtype}"]
        res[f"ratio_{dtype}"] = chosen["choix"]["time"] / sk["time"]
        res[f"ratio_{dtype}_cpu"] = chosen["choix"]["cpu"] / sk["cpu"]
        res[f"ratio_{dtype}_incl_conversion"] = chosen["choix"]["time"] / (
            sk["time"] + convert
        )
    return res


def print_items(res):
    print(
        f"  best log-likelihood {res['best_loglik']:.6f}; target: within "
        f"{res['target_rel_gap']:g} (relative)"
    )
    print(
        f"  {'':<17} {'time':>9} {'CPU time':>9} {'log-likelihood':>20} "
        f"{'rel gap':>10}  details"
    )
    for name, row in res["chosen"].items():
        detail = (
            f"tol={row['tol']:g}, L-BFGS iterations={row['lbfgs_iter']}, "
            f"setup={row['setup_time']:.2f}s"
            if "tol" in row
            else f"I-LSR iteration {row['iteration']}"
        )
        flag = "" if row["reached"] else "  (target NOT reached)"
        print(
            f"  {name:<17} {row['time']:8.2f}s {row['cpu']:8.2f}s "
            f"{row['loglik']:20.6f} {row['rel_gap']:10.1e}  {detail}{flag}"
        )
    own = res["choix_own_convergence"]
    if own["converged"]:
        print(
            f"  choix.ilsr_pairwise (tol=1e-8) converged after {own['iterations']} "
            f"iterations, {own['time']:.1f}s"
        )
    else:
        print(
            f"  choix.ilsr_pairwise (tol=1e-8) had NOT converged after "
            f"{own['iterations']} iterations, {own['time']:.1f}s "
            f"(budget {own['budget']:.0f}s)"
        )
    for dtype in ("float32", "float64"):
        print(
            f"  ratio choix / skalign {dtype}: {res[f'ratio_{dtype}']:.2f} "
            f"(CPU time {res[f'ratio_{dtype}_cpu']:.2f}; skalign incl. "
            f"{res['conversion_time']:.2f}s conversion: "
            f"{res[f'ratio_{dtype}_incl_conversion']:.2f})"
        )


# ------------------------------------------------- a') L2-penalised strengths
OPT_TOLS = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-8)


def choix_opt_sweep(n_items, comparisons, *, alpha_choix):
    """``choix.opt_pairwise`` at each tolerance, loose to tight."""
    for tol in OPT_TOLS:
        start, cpu = time.perf_counter(), time.process_time()
        theta = choix.opt_pairwise(n_items, comparisons, alpha=alpha_choix, tol=tol)
        yield {
            "tol": tol,
            "time": time.perf_counter() - start,
            "cpu": time.process_time() - cpu,
            "loglik": penalised_loglik(comparisons, theta, alpha_choix),
        }


def bench_items_l2(n_items, n_comparisons, *, alpha_choix, target):
    comparisons = make_comparisons(n_items, n_comparisons, seed=2)
    X, y, groups, _ = to_long(n_items, comparisons)
    alpha = 2 * alpha_choix / n_comparisons
    print(
        f"\na') L2-penalised item strengths: {n_items:,} items, "
        f"{n_comparisons:,} comparisons, alpha_choix={alpha_choix:g} "
        f"(skalign alpha={alpha:.3g}); each at the loosest tolerance that "
        "reaches the target",
        flush=True,
    )
    _, coef, _ = foundation.skalign_linear_fit(
        X, y, groups, alpha=alpha, tol=1e-10, dtype="float64", max_epochs=1000
    )
    best = penalised_loglik(comparisons, coef, alpha_choix)
    sweeps = {}
    sweeps["choix.opt_pairwise"], best = until_target(
        choix_opt_sweep(n_items, comparisons, alpha_choix=alpha_choix), best, target
    )
    for dtype in ("float32", "float64"):
        sweeps[f"skalign {dtype}"], best = until_target(
            skalign_items_sweep(
                X,
                y,
                groups,
                comparisons,
                dtype=dtype,
                alpha=alpha,
                alpha_choix=alpha_choix,
            ),
            best,
            target,
        )
    chosen = {name: reaching(rows, best, target) for name, rows in sweeps.items()}
    start = time.perf_counter()
    theta_ilsr = choix.ilsr_pairwise(n_items, comparisons, alpha=alpha_choix)
    ilsr_time = time.perf_counter() - start
    ilsr = penalised_loglik(comparisons, theta_ilsr, alpha_choix)
    res = {
        "n_items": n_items,
        "n_comparisons": n_comparisons,
        "alpha_choix": alpha_choix,
        "alpha": alpha,
        "best": best,
        "sweeps": sweeps,
        "chosen": chosen,
        "ilsr_pairwise_same_alpha": {
            "time": ilsr_time,
            "objective": ilsr,
            "rel_gap": (best - ilsr) / abs(best),
        },
    }
    print(f"  best penalised log-likelihood {best:.6f}")
    anchor = chosen["choix.opt_pairwise"]
    for name, row in chosen.items():
        flag = "" if row["reached"] else "  (target NOT reached)"
        print(
            f"  {name:<19} tol={row['tol']:<7.0e} time {row['time']:7.2f}s "
            f"cpu {row['cpu']:7.2f}s  {row['loglik']:.6f}  rel gap "
            f"{row['rel_gap']:.1e}{flag}"
        )
    for dtype in ("float32", "float64"):
        row = chosen[f"skalign {dtype}"]
        res[f"ratio_{dtype}"] = anchor["time"] / row["time"]
        res[f"ratio_{dtype}_cpu"] = anchor["cpu"] / row["cpu"]
        print(
            f"  ratio opt_pairwise / skalign {dtype}: {res[f'ratio_{dtype}']:.1f} "
            f"(CPU time {res[f'ratio_{dtype}_cpu']:.1f})"
        )
    print(
        f"  choix.ilsr_pairwise(alpha={alpha_choix:g}): {ilsr_time:.2f}s, "
        f"{ilsr:.6f}, rel gap {res['ilsr_pairwise_same_alpha']['rel_gap']:.1e}: "
        "its alpha is not this L2 penalty"
    )
    return res


# -------------------------------------------------------------------- report
def print_summary(results):
    print("\nSummary (ratios > 1: skalign faster; at equal objective)")
    print(f"  {'benchmark':<52} {'float32':>8} {'float64':>8}")
    for res in results.get("items", []):
        name = (
            f"a) choix I-LSR / skalign, {res['n_items']:,} items x "
            f"{res['n_comparisons']:,}"
        )
        print(f"  {name:<52} {res['ratio_float32']:8.2f} {res['ratio_float64']:8.2f}")
    if "items_l2" in results:
        res = results["items_l2"]
        name = f"a') choix opt_pairwise / skalign, {res['n_items']:,} items (L2)"
        print(f"  {name:<52} {res['ratio_float32']:8.2f} {res['ratio_float64']:8.2f}")
    if "bt" in results:
        res = results["bt"]
        name = (
            f"b) LogisticRegression / skalign, {res['n_pairs']:,} pairs x "
            f"{res['n_features']}"
        )
        print(
            f"  {name:<52} {1 / res['ratio_float32']:8.2f} "
            f"{1 / res['ratio_float64']:8.2f}"
        )


def warm_up():
    """Import and first-call costs, paid once before anything is timed."""
    foundation.warm_up()
    comparisons = make_comparisons(50, 500)
    X, y, groups, _ = to_long(50, comparisons)
    foundation.skalign_linear_fit(X, y, groups, alpha=0.0, tol=1e-6, dtype="float32")
    choix.ilsr_pairwise(50, comparisons)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--json", metavar="PATH", help="write all results as JSON")
    parser.add_argument(
        "--only", choices=("items", "l2", "bt"), help="run one benchmark only"
    )
    parser.add_argument(
        "--rel-gap", type=float, default=1e-6, help="equal-objective target"
    )
    parser.add_argument(
        "--choix-budget",
        type=float,
        default=300.0,
        help="seconds of I-LSR iterations before giving up on choix's own "
        "convergence (the equal-log-likelihood time is kept if reached)",
    )
    parser.add_argument(
        "--alpha-choix",
        type=float,
        default=1.0,
        help="L2 penalty of the item-strength comparison with choix.opt_pairwise",
    )
    parser.add_argument(
        "--bt-alpha",
        type=float,
        default=1e-6,
        help="L2 strength per pair of the linear Bradley-Terry comparison (0: none)",
    )
    args = parser.parse_args(argv)
    size = SIZES["quick" if args.quick else "full"]

    start = time.perf_counter()
    info = foundation.machine_info()
    load_before = foundation.load_average()
    foundation.print_machine(info, load_before)
    warm_up()
    results = {"machine": info, "mode": "quick" if args.quick else "full"}
    if args.only in (None, "items"):
        results["choix_check"] = check_choix_equivalence()
        check = results["choix_check"]
        print(
            f"\ncheck on {check['size'][0]} items x {check['size'][1]:,}: driven "
            f"I-LSR vs choix.ilsr_pairwise, max |d theta| "
            f"{check['max_abs_param_diff']:.1e}; log-likelihood vs "
            f"choix.log_likelihood_pairwise, |diff| {check['loglik_abs_diff']:.1e}"
        )
        results["items"] = []
        for n_items, n_comparisons in size["items"]:
            res = bench_items(
                n_items, n_comparisons, target=args.rel_gap, budget=args.choix_budget
            )
            print_items(res)
            results["items"].append(res)
    if args.only in (None, "l2"):
        results["items_l2"] = bench_items_l2(
            *size["l2_items"], alpha_choix=args.alpha_choix, target=args.rel_gap
        )
    if args.only in (None, "bt"):
        print("\nb) sweeps (loose to tight tolerance; each time is the best of runs)")
        results["bt"] = foundation.bench_bt_full_batch(
            size["bt_pairs"],
            size["bt_tols"],
            size["bt_repeats"],
            args.bt_alpha,
            args.rel_gap,
        )
        foundation.print_bt(results["bt"])
    print_summary(results)
    results["load_average_before"] = load_before
    results["load_average_after"] = foundation.load_average()
    results["total_time"] = time.perf_counter() - start
    print(
        f"\nload average after {results['load_average_after']}; "
        f"total {results['total_time']:.1f}s"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2, default=float)
        print(f"wrote {args.json}")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
