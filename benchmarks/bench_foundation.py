"""Foundation benchmarks: skalign next to its anchors, in one process.

Two measurements, each run side by side with its anchor so that both see the
same machine state, and reported as ratios:

a) **Engine epoch time.** :class:`~skalign.preference.PreferenceRewardRegressor`
   with ``MLPScorer(hidden_units=(64,))`` and Adam, against the tightest
   reasonable plain torch loop on the *same* module (same initial weights),
   the *same* data, the *same* Bradley–Terry loss and the *same* shuffled
   mini-batches (the plain loop replays the engine's seed, so both runs follow
   one trajectory; the per-epoch training losses are compared as a check).
   Target: skalign / plain <= 1.3.

b) **Full-batch linear Bradley–Terry at equal loss.** skalign (L-BFGS, linear
   scorer without intercept) against ``LogisticRegression(solver="lbfgs",
   fit_intercept=False)`` on winner − loser differences (half of them flipped,
   with flipped labels). Both minimise ``mean softplus(-(s_w - s_l)) +
   alpha / 2 ||w||^2`` (``C = 1 / (alpha * n_pairs)``). Each solver's tolerance
   is swept from loose to tight and the loosest one that brings the training
   objective within ``--rel-gap`` (relative) of the optimum is timed. Run for
   ``dtype="float32"`` and ``dtype="float64"``. Target: skalign / sklearn <= 1.0.

Run ``python benchmarks/bench_foundation.py`` (full sizes, a few minutes) or
``--quick`` (small sizes, under a minute). ``--json PATH`` writes every number.
Wall-clock times depend on the load of the machine: the load average is
printed before and after, each timing is the best of ``--repeats`` runs, and
process CPU times (per epoch, per fit) are reported next to wall-clock, being
less sensitive to other processes. ``--threads N`` gives torch and the BLAS /
OpenMP pools scikit-learn uses the same thread budget (default: torch's).
"""

import argparse
import json
import os
import platform
import sys
import time
import warnings

import numpy as np
import sklearn
import skorch
import torch
import torch.nn.functional as F
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.utils import check_random_state
from skorch.callbacks import Callback
from threadpoolctl import threadpool_limits

import skalign
from skalign.exceptions import ConvergenceWarning
from skalign.nn import LinearScorer, MLPScorer
from skalign.preference import PreferenceRewardRegressor

SIZES = {
    "full": dict(
        epoch_rows=100_000,
        epoch_epochs=5,
        bt_pairs=1_000_000,
        repeats=3,
        tols=(1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8),
    ),
    "quick": dict(
        epoch_rows=20_000,
        epoch_epochs=2,
        bt_pairs=50_000,
        repeats=1,
        tols=(1e-3, 1e-4, 1e-5, 1e-6, 1e-7),
    ),
}


# --------------------------------------------------------------------- machine
def machine_info():
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "usable_cores": usable,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "skorch": skorch.__version__,
        "skalign": skalign.__version__,
    }


def load_average():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# ---------------------------------------------------------------------- data
def make_pairs(n_pairs, n_features, seed, *, nonlinear):
    """Long-format pairs: rows ``2k`` and ``2k + 1`` form group ``k``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((2 * n_pairs, n_features))
    w = rng.standard_normal(n_features) * (2.0 / np.sqrt(n_features))
    utility = X @ w
    if nonlinear:
        utility = np.tanh(utility) + 0.5 * X[:, 0] * X[:, 1]
    y = utility + rng.logistic(size=2 * n_pairs)
    groups = np.repeat(np.arange(n_pairs), 2)
    pair_y = y.reshape(n_pairs, 2)
    if np.any(pair_y[:, 0] == pair_y[:, 1]):
        raise RuntimeError("tied pair drawn; change the seed")
    return X, y, groups


def winner_first(X, y):
    """``(n_pairs, 2, n_features)`` with the preferred row of each pair first."""
    n_pairs = X.shape[0] // 2
    pairs = X.reshape(n_pairs, 2, -1)
    swap = y.reshape(n_pairs, 2)[:, 1] > y.reshape(n_pairs, 2)[:, 0]
    out = pairs.copy()
    out[swap] = pairs[swap, ::-1]
    return out


def engine_seed(random_state):
    """The torch seed that skalign's engine draws from ``random_state``."""
    return check_random_state(random_state).randint(np.iinfo(np.int32).max)


def best(values):
    return float(np.min(values))


# ------------------------------------------------------- a) engine epoch time
class EpochCPUTime(Callback):
    """Records the process CPU time of each epoch (less sensitive to load)."""

    def initialize(self):
        self.times_ = []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self._start = time.process_time()

    def on_epoch_end(self, net, **kwargs):
        self.times_.append(time.process_time() - self._start)


def skalign_mlp_fit(X, y, groups, *, epochs, batch_pairs, seed):
    model = PreferenceRewardRegressor(
        scorer=MLPScorer(hidden_units=(64,)),
        optimizer="adam",
        lr=1e-3,
        batch_size=batch_pairs,  # groups (pairs) per batch: 2 rows each
        max_epochs=epochs,
        tol=0.0,
        n_iter_no_change=10**9,
        random_state=seed,
        callbacks=[("cpu_time", EpochCPUTime())],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X, y, groups=groups)
        wall = time.perf_counter() - start
    if model.n_iter_ != epochs or model.converged_:
        raise RuntimeError(
            f"skalign stopped early: n_iter_={model.n_iter_}, "
            f"converged_={model.converged_}"
        )
    return {
        "wall": wall,
        "epoch_times": [float(t) for t in model.history_[:, "dur"]],
        "epoch_cpu_times": dict(model.net_.callbacks_)["cpu_time"].times_,
        "train_loss": [float(v) for v in model.history_[:, "train_loss"]],
    }


def plain_mlp_fit(X_pairs, *, epochs, batch_pairs, seed):
    """The tightest reasonable torch loop on the same module, data and batches."""
    start = time.perf_counter()
    n_pairs, _, n_features = X_pairs.shape
    data = torch.from_numpy(np.ascontiguousarray(X_pairs, dtype=np.float32))
    torch.manual_seed(engine_seed(seed))
    module = MLPScorer(hidden_units=(64,)).build(n_features)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    epoch_times, epoch_cpu_times, train_loss = [], [], []
    for _ in range(epochs):
        t0, c0 = time.perf_counter(), time.process_time()
        perm = torch.randperm(n_pairs)
        losses = []
        for begin in range(0, n_pairs, batch_pairs):
            batch = data.index_select(0, perm[begin : begin + batch_pairs])
            scores = module(batch.view(-1, n_features)).view(-1, 2)
            loss = F.softplus(scores[:, 1] - scores[:, 0]).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.detach())
        epoch_times.append(time.perf_counter() - t0)
        epoch_cpu_times.append(time.process_time() - c0)
        sizes = torch.tensor(
            [min(batch_pairs, n_pairs - b) for b in range(0, n_pairs, batch_pairs)],
            dtype=torch.float64,
        )
        train_loss.append(float((torch.stack(losses).double() * sizes).sum() / n_pairs))
    return {
        "wall": time.perf_counter() - start,
        "epoch_times": epoch_times,
        "epoch_cpu_times": epoch_cpu_times,
        "train_loss": train_loss,
    }


def bench_engine_epoch(n_rows, epochs, repeats, seed=0, n_features=32, batch_pairs=512):
    n_pairs = n_rows // 2
    X, y, groups = make_pairs(n_pairs, n_features, seed, nonlinear=True)
    X = X.astype(np.float32)
    X_pairs = winner_first(X, y)
    total_epochs = epochs + 1  # the first epoch of every run is a warm-up
    sk_epochs, pl_epochs, sk_walls, pl_walls = [], [], [], []
    sk_cpu, pl_cpu = [], []
    loss_diff = 0.0
    for r in range(repeats):
        # Alternate the order so that a drift in machine load hits both.
        order = ("skalign", "plain") if r % 2 == 0 else ("plain", "skalign")
        runs = {}
        for name in order:
            if name == "skalign":
                runs[name] = skalign_mlp_fit(
                    X,
                    y,
                    groups,
                    epochs=total_epochs,
                    batch_pairs=batch_pairs,
                    seed=seed,
                )
            else:
                runs[name] = plain_mlp_fit(
                    X_pairs, epochs=total_epochs, batch_pairs=batch_pairs, seed=seed
                )
        sk_epochs += runs["skalign"]["epoch_times"][1:]
        pl_epochs += runs["plain"]["epoch_times"][1:]
        sk_cpu += runs["skalign"]["epoch_cpu_times"][1:]
        pl_cpu += runs["plain"]["epoch_cpu_times"][1:]
        sk_walls.append(runs["skalign"]["wall"])
        pl_walls.append(runs["plain"]["wall"])
        diff = np.subtract(runs["skalign"]["train_loss"], runs["plain"]["train_loss"])
        loss_diff = max(loss_diff, float(np.abs(diff).max()))
    res = {
        "n_rows": 2 * n_pairs,
        "n_pairs": n_pairs,
        "n_features": n_features,
        "batch_pairs": batch_pairs,
        "batch_rows": 2 * batch_pairs,
        "timed_epochs_per_run": epochs,
        "repeats": repeats,
        "skalign_epoch_times": sk_epochs,
        "plain_epoch_times": pl_epochs,
        "skalign_epoch_median": float(np.median(sk_epochs)),
        "plain_epoch_median": float(np.median(pl_epochs)),
        "skalign_epoch_min": best(sk_epochs),
        "plain_epoch_min": best(pl_epochs),
        "skalign_epoch_cpu_times": sk_cpu,
        "plain_epoch_cpu_times": pl_cpu,
        "skalign_epoch_cpu_median": float(np.median(sk_cpu)),
        "plain_epoch_cpu_median": float(np.median(pl_cpu)),
        "skalign_fit_wall_min": best(sk_walls),
        "plain_fit_wall_min": best(pl_walls),
        "final_train_loss_skalign": runs["skalign"]["train_loss"][-1],
        "final_train_loss_plain": runs["plain"]["train_loss"][-1],
        "max_abs_train_loss_diff": loss_diff,
    }
    res["ratio_epoch_median"] = res["skalign_epoch_median"] / res["plain_epoch_median"]
    res["ratio_epoch_min"] = res["skalign_epoch_min"] / res["plain_epoch_min"]
    res["ratio_epoch_cpu_median"] = (
        res["skalign_epoch_cpu_median"] / res["plain_epoch_cpu_median"]
    )
    res["ratio_fit_wall"] = res["skalign_fit_wall_min"] / res["plain_fit_wall_min"]
    return res


# ------------------------------------------- b) full-batch Bradley–Terry vs LR
def bt_objective(D, coef, alpha):
    """Mean BT log-loss of winner − loser rows ``D`` plus ``alpha / 2 ||w||^2``."""
    coef = np.asarray(coef, dtype=np.float64).ravel()
    return float(np.mean(np.logaddexp(0.0, -(D @ coef))) + 0.5 * alpha * coef @ coef)


def sklearn_fit(D_flipped, labels, *, alpha, tol):
    C = np.inf if alpha == 0 else 1.0 / (alpha * D_flipped.shape[0])
    model = LogisticRegression(
        C=C, solver="lbfgs", fit_intercept=False, tol=tol, max_iter=100_000
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SklearnConvergenceWarning)
        start, cpu = time.perf_counter(), time.process_time()
        model.fit(D_flipped, labels)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return wall, model.coef_.ravel(), {"cpu": cpu, "n_iter": int(model.n_iter_[0])}


def skalign_linear_fit(X, y, groups, *, alpha, tol, dtype, max_epochs=500):
    model = PreferenceRewardRegressor(
        scorer=LinearScorer(fit_intercept=False),
        alpha=alpha,
        tol=tol,
        dtype=dtype,
        max_epochs=max_epochs,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start, cpu = time.perf_counter(), time.process_time()
        model.fit(X, y, groups=groups)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    optimizer = model.net_.optimizer_
    train = float(np.sum(model.history_[:, "dur"]))
    info = {
        "cpu": cpu,
        "epochs": int(model.n_iter_),
        "converged": bool(model.converged_),
        "lbfgs_iter": int(optimizer.n_iter),
        "func_evals": int(optimizer.n_eval),
        "train_time": train,
        "setup_time": wall - train,
    }
    coef = model.scorer_.linear.weight.detach().to(torch.float64).numpy().ravel()
    return wall, coef, info


def sweep(fit, objective, tols, repeats, target, f_star_box, log):
    """Fit at each tolerance, loose to tight, until the target gap is reached."""
    rows = []
    for tol in tols:
        runs = [fit(tol) for _ in range(repeats)]
        wall, coef, info = min(runs, key=lambda run: run[0])  # details of the best
        f = objective(coef)
        f_star_box[0] = min(f_star_box[0], f)
        rows.append({"tol": tol, "time": wall, "loss": f, **info})
        log(rows[-1], f_star_box[0])
        if (f - f_star_box[0]) / f_star_box[0] <= target:
            break
    return rows


def pick(rows, f_star, target):
    """The loosest tolerance within ``target`` of ``f_star`` (else the tightest)."""
    for row in rows:
        row["rel_gap"] = (row["loss"] - f_star) / f_star
    ok = [row for row in rows if row["rel_gap"] <= target]
    return dict(ok[0] if ok else rows[-1], reached=bool(ok))


def bench_bt_full_batch(n_pairs, tols, repeats, alpha, target, seed=0, n_features=32):
    X, y, groups = make_pairs(n_pairs, n_features, seed, nonlinear=False)
    t0 = time.perf_counter()
    # What a user does to hand long-format pairs to LogisticRegression.
    D = X[0::2] - X[1::2]
    D *= np.where(y[0::2] > y[1::2], 1.0, -1.0)[:, None]
    flip = np.random.default_rng(seed + 1).random(n_pairs) < 0.5
    D_flipped = np.where(flip[:, None], -D, D)
    labels = (~flip).astype(np.int64)
    prep = time.perf_counter() - t0

    def objective(coef):
        return bt_objective(D, coef, alpha)

    # Reference optimum: a very tight float64 solve (the sweeps may only lower it).
    _, coef_ref, info_ref = sklearn_fit(D_flipped, labels, alpha=alpha, tol=1e-10)
    f_star_box = [objective(coef_ref)]

    def log(name):
        def _log(row, f_star):
            gap = (row["loss"] - f_star) / f_star
            extra = ", ".join(
                f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                for k, v in row.items()
                if k not in ("tol", "time", "loss")
            )
            print(
                f"    {name:<16} tol={row['tol']:<7.0e} time={row['time']:8.3f}s "
                f"loss={row['loss']:.10f} gap={gap:9.2e}  {extra}",
                flush=True,
            )

        return _log

    sweeps = {
        "sklearn": sweep(
            lambda tol: sklearn_fit(D_flipped, labels, alpha=alpha, tol=tol),
            objective,
            tols,
            repeats,
            target,
            f_star_box,
            log("sklearn"),
        )
    }
    for dtype in ("float32", "float64"):
        sweeps[f"skalign_{dtype}"] = sweep(
            lambda tol, dtype=dtype: skalign_linear_fit(
                X, y, groups, alpha=alpha, tol=tol, dtype=dtype
            ),
            objective,
            tols,
            repeats,
            target,
            f_star_box,
            log(f"skalign {dtype}"),
        )
    f_star = f_star_box[0]
    chosen = {name: pick(rows, f_star, target) for name, rows in sweeps.items()}
    res = {
        "n_pairs": n_pairs,
        "n_rows": 2 * n_pairs,
        "n_features": n_features,
        "alpha": alpha,
        "C": None if alpha == 0 else 1.0 / (alpha * n_pairs),
        "target_rel_gap": target,
        "f_star": f_star,
        "reference_n_iter": info_ref["n_iter"],
        "difference_features_prep_time": prep,
        "sweeps": sweeps,
        "chosen": chosen,
    }
    for dtype in ("float32", "float64"):
        sk, lr = chosen[f"skalign_{dtype}"], chosen["sklearn"]
        res[f"ratio_{dtype}"] = sk["time"] / lr["time"]
        res[f"ratio_{dtype}_cpu"] = sk["cpu"] / lr["cpu"]
        res[f"ratio_{dtype}_incl_prep"] = sk["time"] / (lr["time"] + prep)
        res[f"loss_rel_diff_{dtype}"] = abs(sk["loss"] - lr["loss"]) / lr["loss"]
    return res


# -------------------------------------------------------------------- report
def print_machine(info, load):
    print("Machine")
    print(f"  CPU            {info['cpu']}")
    print(
        f"  cores          {info['cpu_count']} (usable {info['usable_cores']}), "
        f"torch threads {info['torch_threads']}, load average {load}"
    )
    print(
        f"  versions       python {info['python']}, numpy {info['numpy']}, "
        f"torch {info['torch']}, scikit-learn {info['sklearn']}, "
        f"skorch {info['skorch']}, skalign {info['skalign']}"
    )


def print_epoch(res):
    print()
    print(
        f"a) Engine epoch, MLPScorer(64), Adam: {res['n_rows']:,} rows x "
        f"{res['n_features']} ({res['n_pairs']:,} pairs), batch {res['batch_pairs']} "
        f"pairs = {res['batch_rows']} rows, {res['timed_epochs_per_run']} timed "
        f"epochs x {res['repeats']} runs (after 1 warm-up epoch each)"
    )
    print(
        f"  {'':<10} {'epoch median':>13} {'epoch min':>11} {'epoch CPU med':>14} "
        f"{'fit wall min':>13}"
    )
    for name in ("skalign", "plain"):
        print(
            f"  {name:<10} {res[f'{name}_epoch_median']:12.4f}s "
            f"{res[f'{name}_epoch_min']:10.4f}s "
            f"{res[f'{name}_epoch_cpu_median']:13.4f}s "
            f"{res[f'{name}_fit_wall_min']:12.3f}s"
        )
    print(
        f"  ratio skalign/plain: epoch median {res['ratio_epoch_median']:.3f}, "
        f"epoch min {res['ratio_epoch_min']:.3f}, "
        f"epoch CPU median {res['ratio_epoch_cpu_median']:.3f}, "
        f"fit wall {res['ratio_fit_wall']:.3f}  (target <= 1.3)"
    )
    print(
        f"  same trajectory check: final train loss skalign "
        f"{res['final_train_loss_skalign']:.6f}, plain "
        f"{res['final_train_loss_plain']:.6f}, max |diff| over epochs "
        f"{res['max_abs_train_loss_diff']:.2e}"
    )


def print_bt(res):
    print()
    print(
        f"b) Full-batch Bradley-Terry at equal loss: {res['n_pairs']:,} pairs x "
        f"{res['n_features']} ({res['n_rows']:,} rows), alpha={res['alpha']:g} "
        f"(LogisticRegression C={res['C']}), target rel. gap {res['target_rel_gap']:g}"
    )
    print(f"  optimum f* = {res['f_star']:.12f}")
    print(f"  {'':<17} {'tol':>7} {'time':>9} {'loss':>16} {'rel gap':>10}  details")
    for name, row in res["chosen"].items():
        details = {
            k: v
            for k, v in row.items()
            if k not in ("tol", "time", "loss", "rel_gap", "reached")
        }
        text = ", ".join(
            f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
            for k, v in details.items()
        )
        flag = "" if row["reached"] else "  (target NOT reached)"
        print(
            f"  {name:<17} {row['tol']:7.0e} {row['time']:8.3f}s "
            f"{row['loss']:16.12f} {row['rel_gap']:10.2e}  {text}{flag}"
        )
    for dtype in ("float32", "float64"):
        print(
            f"  ratio skalign {dtype}/sklearn: {res[f'ratio_{dtype}']:.3f} "
            f"(CPU time {res[f'ratio_{dtype}_cpu']:.3f}; "
            f"sklearn incl. {res['difference_features_prep_time']:.3f}s to build "
            f"difference features: {res[f'ratio_{dtype}_incl_prep']:.3f}); "
            f"loss rel. diff {res[f'loss_rel_diff_{dtype}']:.1e}  (target <= 1.0)"
        )


def warm_up():
    """Import and first-call costs, paid once before anything is timed."""
    X, y, groups = make_pairs(200, 4, 0, nonlinear=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        PreferenceRewardRegressor(
            scorer=MLPScorer(hidden_units=(8,)), max_epochs=2
        ).fit(X, y, groups=groups)
        PreferenceRewardRegressor(scorer=LinearScorer(fit_intercept=False)).fit(
            X, y, groups=groups
        )
        LogisticRegression(fit_intercept=False).fit(X, (y > 0).astype(int))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--json", metavar="PATH", help="write all results as JSON")
    parser.add_argument(
        "--only", choices=("epoch", "bt"), help="run one benchmark only"
    )
    parser.add_argument("--repeats", type=int, help="runs per timing (best of)")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads")
    parser.add_argument(
        "--alpha",
        type=float,
        default=1e-6,
        help="L2 strength per pair of the linear Bradley-Terry comparison (0: none)",
    )
    parser.add_argument(
        "--rel-gap",
        type=float,
        default=1e-6,
        help="relative gap to the optimum at which both linear BT fits are timed",
    )
    parser.add_argument(
        "--epoch-rows", type=int, help="training rows of the engine-epoch comparison"
    )
    parser.add_argument(
        "--bt-pairs", type=int, help="pairs of the linear Bradley-Terry comparison"
    )
    args = parser.parse_args(argv)

    size = dict(SIZES["quick" if args.quick else "full"])
    if args.repeats:
        size["repeats"] = args.repeats
    if args.epoch_rows:
        size["epoch_rows"] = args.epoch_rows
    if args.bt_pairs:
        size["bt_pairs"] = args.bt_pairs
    if args.threads:
        # The same budget for torch and for the BLAS/OpenMP pools sklearn uses.
        torch.set_num_threads(args.threads)
        threadpool_limits(limits=args.threads)

    start = time.perf_counter()
    info = machine_info()
    load_before = load_average()
    print_machine(info, load_before)
    warm_up()
    results = {"machine": info, "mode": "quick" if args.quick else "full", **size}
    results["tols"] = list(size["tols"])
    if args.only in (None, "epoch"):
        results["epoch"] = bench_engine_epoch(
            size["epoch_rows"], size["epoch_epochs"], size["repeats"]
        )
        print_epoch(results["epoch"])
    if args.only in (None, "bt"):
        print()
        print("b) sweeps (loose to tight tolerance; each time is the best of runs)")
        results["bt"] = bench_bt_full_batch(
            size["bt_pairs"], size["tols"], size["repeats"], args.alpha, args.rel_gap
        )
        print_bt(results["bt"])
    results["load_average_before"] = load_before
    results["load_average_after"] = load_average()
    results["total_time"] = time.perf_counter() - start
    print()
    print(
        f"load average after {results['load_average_after']}; "
        f"total {results['total_time']:.1f}s"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
        print(f"wrote {args.json}")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
