"""Core benchmarks: skalign at its defaults next to its anchors, in one process.

Every comparison runs skalign and its anchors side by side in this process,
on the same data, **at default settings** (estimator defaults; skalign's
default ``alpha`` is 0, so the anchors are unpenalised maximum likelihood),
with **one thread on both sides**: ``OMP/MKL/OPENBLAS_NUM_THREADS=1`` before
any import, ``torch.set_num_threads(1)`` and threadpoolctl's
``threadpool_limits(1)`` for the BLAS that numpy and scipy use.

**Objective match.** Each solution's objective is computed by one shared,
independent numpy function (:func:`pl_objective`, :func:`bt_objective`) from
the scores it implies: the item strengths that skalign's ``predict`` gives
on the identity matrix, or the anchor's parameters. Scores are all these
functions see, so skalign's feature scaling and intercept and the anchors'
gauge (item 0's log-worth fixed at 0) do not matter: both likelihoods are
invariant to adding a constant to every score. Each side's relative gap to
the best side is reported; a comparison whose skalign objective is more than
``OBJECTIVE_RTOL = 1e-5`` (relative) worse than the anchor's is marked
**objective mismatch**. Its ratio is still printed, but it is not a
comparison at equal quality.

Cases (full sizes; ``--quick`` shrinks them):

1. Featureless Plackett–Luce: 50,000 full rankings of 8 of 1,500 items.
   ``PlackettLuceRanker()`` on one-hot CSR rows (``groups`` = ranking) vs
   scipy's L-BFGS-B on a vectorised numpy Plackett–Luce likelihood
   (:func:`scipy_plackett_luce`) and ``choix.ilsr_rankings``.
2. Featureless Bradley–Terry: 1,000,000 comparisons of 10,000 items.
   ``PreferenceRewardRegressor()`` on ``comparisons_to_long(identity)`` vs
   scipy's L-BFGS-B on a vectorised numpy likelihood
   (:func:`scipy_bradley_terry`) and ``choix.ilsr_pairwise``, which
   factorises a dense ``n_items``-square matrix per iteration (about 20 s
   per iteration at 10,000 items, so it is timed once, in a few minutes).
   At full size a smaller problem of the same density (2,000 items, 200,000
   comparisons) is timed too, where choix's factorisation is cheap and
   skalign's fixed costs weigh more.
3. Linear Bradley–Terry: 1,000,000 pairs x 32 features.
   ``PreferenceRewardRegressor()`` (default ``LinearScorer``) on long-format
   rows vs ``LogisticRegression(fit_intercept=False, C=inf)`` on the
   differences ``X_a - X_b`` with labels "a preferred" (``C = inf``: no
   penalty, as skalign's default ``alpha = 0``; a nonzero ``alpha`` would
   map to ``C = 1 / (alpha * n_pairs)``). Building the differences is timed
   apart.
4. Engine epoch: ``MLPScorer(hidden_units=(64,))``, 100,000 rows x 32
   (50,000 pairs), ``optimizer="adam"``, ``batch_size=1024`` pairs, 3 epochs,
   vs a plain torch loop doing the same work (same architecture, Bradley–Terry
   loss on pairs, Adam, 1,024 shuffled pairs per batch). Time per epoch: the
   median of the run's epochs (skalign's from ``history_``).
5. Time to first fit, in fresh subprocesses: ``import skalign``, then the
   first ``PreferenceRewardRegressor().fit`` of 1,000 rows, then the same fit
   repeated. The extra of the first fit is profiled (cProfile, top 15 lines
   by cumulative time) and the modules it imports are listed, with the call
   stack that first imports ``torch._dynamo``, if any.
6. ``--demo``: the wall-clock time of ``python -m skalign.demo`` (off by
   default and with ``--quick``).

Ratios are anchor time / skalign time: above 1, skalign is faster. Timings
are the best of ``--repeats`` runs (5 at full sizes, 3 at quick ones; 1 for
choix, the slow anchor), the least disturbed of several runs on a shared
machine, sides alternating in order. The load average (``os.getloadavg()``) is recorded
before and after every case: the machine may be shared.

Run ``python benchmarks/bench_core.py`` (full sizes, a few minutes) or
``--quick`` (under a minute); ``--json PATH`` writes every number;
``--only`` runs some cases. skalign is imported from ``sys.path`` as usual
(``PYTHONPATH=.`` for a checkout); its location is printed.
"""

import os

# One thread on both sides: set before numpy, scipy and torch start pools.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import sklearn  # noqa: E402
import skorch  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from report import cpu_name, subprocess_env  # noqa: E402
from scipy.optimize import minimize  # noqa: E402
from scipy.special import expit  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

import skalign  # noqa: E402
from skalign.nn import MLPScorer  # noqa: E402
from skalign.preference import PreferenceRewardRegressor  # noqa: E402
from skalign.ranking import PlackettLuceRanker  # noqa: E402
from skalign.utils import comparisons_to_long  # noqa: E402

# The subprocesses (cases 5 and 6) import skalign from where this process does.
SKALIGN_HOME = Path(skalign.__file__).resolve().parent.parent
OBJECTIVE_RTOL = 1e-5
CASES = ("pl", "bt_items", "bt_linear", "epoch", "first_fit", "demo")
SIZES = {
    "full": dict(
        pl=dict(n_items=1_500, n_rankings=50_000, length=8),
        bt_items=dict(n_items=10_000, n_comparisons=1_000_000),
        # choix's I-LSR factorises a dense n_items x n_items matrix per
        # iteration: the smaller problem shows the ratio where that is cheap.
        bt_choix=dict(n_items=2_000, n_comparisons=200_000),
        bt_linear=dict(n_pairs=1_000_000, n_features=32),
        epoch=dict(n_rows=100_000, n_features=32, batch_pairs=1_024, epochs=3),
        first_fit=dict(n_rows=1_000, n_features=8, runs=3),
        repeats=5,
    ),
    "quick": dict(
        pl=dict(n_items=300, n_rankings=5_000, length=8),
        bt_items=dict(n_items=1_000, n_comparisons=50_000),
        bt_choix=None,  # no second, smaller problem
        bt_linear=dict(n_pairs=50_000, n_features=32),
        epoch=dict(n_rows=20_000, n_features=32, batch_pairs=1_024, epochs=3),
        first_fit=dict(n_rows=1_000, n_features=8, runs=1),
        repeats=3,
    ),
}


# --------------------------------------------------------------------- setup
def pin_threads():
    torch.set_num_threads(1)
    threadpool_limits(limits=1)


def load_average():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine_info():
    cpu = cpu_name()
    try:
        import choix

        choix_version = getattr(choix, "__version__", "installed")
    except ImportError:
        choix_version = None
    return {
        "cpu": cpu,
        "usable_cores": len(os.sched_getaffinity(0)),
        "torch_threads": torch.get_num_threads(),
        "blas_threads": sorted({pool["num_threads"] for pool in threadpool_info()}),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "skorch": skorch.__version__,
        "choix": choix_version,
        "skalign": skalign.__version__,
        "skalign_path": str(SKALIGN_HOME),
    }


def default_alpha():
    """skalign's default L2 strength; the anchors here assume 0."""
    alphas = {
        cls.__name__: cls().get_params()["alpha"]
        for cls in (PlackettLuceRanker, PreferenceRewardRegressor)
    }
    if any(alphas.values()):
        raise SystemExit(
            f"skalign's default alpha is no longer 0 ({alphas}): the anchors here "
            "are unpenalised MLEs, so the objectives would differ. Add the "
            "penalty to the anchors and to the shared objective functions."
        )
    return alphas


# ----------------------------------------------------------------- objectives
def pl_objective(rankings, strengths):
    """Mean Plackett–Luce negative log-likelihood per ranking.

    ``rankings`` is ``(n_rankings, length)`` item ids, best first;
    ``strengths`` one log-worth per item. Invariant to adding a constant to
    ``strengths`` (the gauge).
    """
    s = np.asarray(strengths, dtype=np.float64)[rankings]
    tail = np.logaddexp.accumulate(s[:, ::-1], axis=1)[:, ::-1]
    return float((tail - s).sum(axis=1).mean())


def bt_objective(margins):
    """Mean Bradley–Terry negative log-likelihood of winner − loser margins.

    skalign's default ``alpha`` is 0 (checked by :func:`default_alpha`), so
    no penalty term is needed for equal objectives.
    """
    return float(np.mean(np.logaddexp(0.0, -np.asarray(margins, dtype=np.float64))))


def bt_items_objective(comparisons, strengths):
    """:func:`bt_objective` of ``(winner, loser)`` rows under item strengths."""
    strengths = np.asarray(strengths, dtype=np.float64)
    return bt_objective(strengths[comparisons[:, 0]] - strengths[comparisons[:, 1]])


def gaps(objectives):
    """Each side's relative gap to the best (lowest) objective."""
    best = min(objectives.values())
    return {name: (value - best) / abs(best) for name, value in objectives.items()}


def mismatch(objectives, anchor):
    """skalign more than ``OBJECTIVE_RTOL`` (relative) worse than ``anchor``."""
    ours, theirs = objectives["skalign"], objectives[anchor]
    return bool((ours - theirs) / abs(theirs) > OBJECTIVE_RTOL)


# -------------------------------------------------------------------- anchors
def scipy_plackett_luce(rankings, n_items):
    """Plackett–Luce MLE as a competent user writes it: L-BFGS-B (scipy's
    defaults) on the vectorised negative log-likelihood and its gradient.

    Item 0's log-worth is fixed at 0 (the gauge). For each ranking, stage
    ``j`` picks item ``j`` among items ``j..L-1``: log-likelihood
    ``s_j - logsumexp(s_j..s_{L-1})``.
    """
    length = rankings.shape[1]
    later = np.triu(np.ones((length, length)))  # [j, k]: item k is left at stage j
    flat = rankings.ravel()

    def nll(free):
        theta = np.concatenate(([0.0], free))
        s = theta[rankings]
        tail = np.logaddexp.accumulate(s[:, ::-1], axis=1)[:, ::-1]
        # P(stage j picks k), summed over stages, minus 1 for the item picked.
        grad_s = (np.exp(s[:, None, :] - tail[:, :, None]) * later).sum(axis=1) - 1.0
        grad = np.bincount(flat, weights=grad_s.ravel(), minlength=n_items)
        return (tail - s).sum(), grad[1:]

    res = minimize(nll, np.zeros(n_items - 1), jac=True, method="L-BFGS-B")
    info = {"nit": int(res.nit), "nfev": int(res.nfev), "message": str(res.message)}
    return np.concatenate(([0.0], res.x)), info


def scipy_bradley_terry(comparisons, n_items):
    """Bradley–Terry MLE: L-BFGS-B (scipy's defaults) on the vectorised
    negative log-likelihood; ``comparisons`` is ``(winner, loser)`` rows and
    item 0's log-worth is fixed at 0."""
    winners, losers = comparisons[:, 0], comparisons[:, 1]

    def nll(free):
        theta = np.concatenate(([0.0], free))
        margin = theta[winners] - theta[losers]
        slope = -expit(-margin)  # d softplus(-margin) / d margin
        grad = np.bincount(winners, slope, n_items) - np.bincount(
            losers, slope, n_items
        )
        return np.logaddexp(0.0, -margin).sum(), grad[1:]

    res = minimize(nll, np.zeros(n_items - 1), jac=True, method="L-BFGS-B")
    info = {"nit": int(res.nit), "nfev": int(res.nfev), "message": str(res.message)}
    return np.concatenate(([0.0], res.x)), info


# ---------------------------------------------------------------------- data
def make_rankings(n_items, n_rankings, length, seed=0):
    """Full Plackett–Luce rankings (best first) of random ``length``-subsets."""
    rng = np.random.default_rng(seed)
    strength = rng.standard_normal(n_items)
    items = rng.integers(0, n_items, size=(n_rankings, length))
    while True:  # redraw the rows that picked an item twice
        ordered = np.sort(items, axis=1)
        dup = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
        if not dup.any():
            break
        items[dup] = rng.integers(0, n_items, size=(int(dup.sum()), length))
    utility = strength[items] + rng.gumbel(size=items.shape)
    return np.take_along_axis(items, np.argsort(-utility, axis=1), axis=1)


def rankings_to_long(rankings, n_items):
    """One-hot CSR rows, one per (ranking, item); grade ``length - position``."""
    n_rankings, length = rankings.shape
    n_rows = n_rankings * length
    X = sp.csr_matrix(
        (np.ones(n_rows), rankings.ravel(), np.arange(n_rows + 1)),
        shape=(n_rows, n_items),
    )
    grades = np.tile(np.arange(length, 0, -1, dtype=np.float64), n_rankings)
    return X, grades, np.repeat(np.arange(n_rankings), length)


def make_comparisons(n_items, n_comparisons, seed=0):
    """``(winner, loser)`` rows of random pairs of distinct items."""
    rng = np.random.default_rng(seed)
    strength = rng.standard_normal(n_items)
    pairs = rng.integers(0, n_items - 1, size=(n_comparisons, 2))
    pairs[:, 1] += pairs[:, 1] >= pairs[:, 0]
    first_wins = rng.random(n_comparisons) < expit(
        strength[pairs[:, 0]] - strength[pairs[:, 1]]
    )
    return np.where(first_wins[:, None], pairs, pairs[:, ::-1])


def make_pairs(n_pairs, n_features, seed=0, *, nonlinear=False, dtype=np.float64):
    """Pairs ``(a, b)``: features ``(n_pairs, 2, n_features)`` and ``a_wins``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_pairs, 2, n_features)).astype(dtype)
    w = rng.standard_normal(n_features) * (2.0 / np.sqrt(n_features))
    utility = X @ w
    if nonlinear:
        utility = np.tanh(utility) + 0.5 * X[..., 0] * X[..., 1]
    a_wins = rng.random(n_pairs) < expit(utility[:, 0] - utility[:, 1])
    return X, a_wins


# -------------------------------------------------------------------- timing
def timed(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - start
    messages = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    return seconds, out, messages


def side_by_side(sides, repeats):
    """Best of ``repeats`` runs of each side, alternating their order.

    ``sides`` maps a name to ``(fit, repeats_or_None)``; ``fit()`` returns
    ``(solution, info)``. Returns ``name -> {"seconds", "times", "solution",
    "info", "warnings"}`` (the solution of the last run).
    """
    names = list(sides)
    out = {name: {"times": [], "warnings": []} for name in names}
    for r in range(repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            fit, limit = sides[name]
            if limit is not None and len(out[name]["times"]) >= limit:
                continue
            seconds, (solution, info), messages = timed(fit)
            out[name]["times"].append(seconds)
            out[name]["solution"], out[name]["info"] = solution, info
            out[name]["warnings"] = sorted(set(out[name]["warnings"]) | set(messages))
    for res in out.values():
        res["seconds"] = min(res["times"])
    return out


def skalign_info(model):
    return {
        "n_iter_": int(model.n_iter_),
        "converged_": bool(model.converged_),
        "train_loss": float(model.history_[-1, "train_loss"]),
    }


def summarise(runs, objectives, anchors, *, slow=()):
    """Per side: time, objective, gap; per anchor: ratio and mismatch flag."""
    gap = gaps(objectives)
    sides = {
        name: {
            "seconds": run["seconds"],
            "times": run["times"],
            "objective": objectives[name],
            "rel_gap_to_best": gap[name],
            "info": run["info"],
            "warnings": run["warnings"],
        }
        for name, run in runs.items()
    }
    comparisons = {
        anchor: {
            "ratio": runs[anchor]["seconds"] / runs["skalign"]["seconds"],
            "skalign_rel_gap_to_anchor": (objectives["skalign"] - objectives[anchor])
            / abs(objectives[anchor]),
            "objective_mismatch": mismatch(objectives, anchor),
            "anchor_runs": len(runs[anchor]["times"]),
            "slow_anchor": anchor in slow,
        }
        for anchor in anchors
    }
    return {"sides": sides, "comparisons": comparisons}


def show(title, res):
    print(f"\n{title}", flush=True)
    for name, side in res["sides"].items():
        print(
            f"  {name:<22} {side['seconds']:9.3f} s (best of {len(side['times'])})"
            f"  objective {side['objective']:.10f}  gap {side['rel_gap_to_best']:8.1e}"
            f"  {json.dumps(side['info'])}"
        )
        for message in side["warnings"]:
            print(f"  {'':<22} warning: {message[:150]}")
    for anchor, comp in res["comparisons"].items():
        flag = "  OBJECTIVE MISMATCH" if comp["objective_mismatch"] else ""
        print(
            f"  {anchor} / skalign = {comp['ratio']:.2f}  (skalign's objective "
            f"{comp['skalign_rel_gap_to_anchor']:+.1e} relative to {anchor}){flag}"
        )


# ------------------------------------------- cases 1-3: problems, then benches
# Each ``*_problem`` returns ``(sides, objective, extra)``: ``sides`` maps a
# solver's name to a no-argument fit returning ``(solution, info)``,
# ``objective(solution)`` is the shared numpy objective and ``extra`` holds
# data-preparation times. asv_bench/benchmarks/core.py uses them too.
SLOW_ANCHORS = ("choix.ilsr_rankings", "choix.ilsr_pairwise")


def pl_problem(n_items, n_rankings, length, *, with_choix=True, seed=0):
    """1. Featureless Plackett–Luce: solutions are item strengths."""
    rankings = make_rankings(n_items, n_rankings, length, seed)
    X, grades, groups = rankings_to_long(rankings, n_items)
    identity = sp.identity(n_items, format="csr")

    def fit_skalign():
        model = PlackettLuceRanker().fit(X, grades, groups=groups)
        return model.predict(identity), skalign_info(model)

    sides = {
        "skalign": fit_skalign,
        "scipy L-BFGS-B": lambda: scipy_plackett_luce(rankings, n_items),
    }
    if with_choix:
        import choix

        sides["choix.ilsr_rankings"] = lambda: (
            choix.ilsr_rankings(n_items, rankings),
            {},
        )
    return sides, lambda strengths: pl_objective(rankings, strengths), {}


def bt_items_problem(n_items, n_comparisons, *, with_choix=True, seed=0):
    """2. Featureless Bradley–Terry: solutions are item strengths."""
    comparisons = make_comparisons(n_items, n_comparisons, seed)
    identity = sp.identity(n_items, format="csr")
    start = time.perf_counter()
    X, y, groups = comparisons_to_long(identity, comparisons)
    extra = {"comparisons_to_long_seconds": time.perf_counter() - start}

    def fit_skalign():
        model = PreferenceRewardRegressor().fit(X, y, groups=groups)
        return model.predict(identity), skalign_info(model)

    sides = {
        "skalign": fit_skalign,
        "scipy L-BFGS-B": lambda: scipy_bradley_terry(comparisons, n_items),
    }
    if with_choix:
        import choix

        sides["choix.ilsr_pairwise"] = lambda: (
            choix.ilsr_pairwise(n_items, comparisons),
            {},
        )
    return sides, lambda strengths: bt_items_objective(comparisons, strengths), extra


def bt_linear_problem(n_pairs, n_features, *, seed=0):
    """3. Linear Bradley–Terry: solutions are the winners' margins."""
    pairs, a_wins = make_pairs(n_pairs, n_features, seed)
    # skalign: long format, rows 2k (a) and 2k + 1 (b) are group k.
    X = pairs.reshape(2 * n_pairs, n_features)
    y = np.stack([a_wins, ~a_wins], axis=1).ravel().astype(np.float64)
    groups = np.repeat(np.arange(n_pairs), 2)
    # LogisticRegression: differences a − b, label "a preferred".
    start = time.perf_counter()
    D = pairs[:, 0] - pairs[:, 1]
    extra = {"difference_features_seconds": time.perf_counter() - start}
    labels = a_wins.astype(np.int64)
    sign = np.where(a_wins, 1.0, -1.0)  # winner − loser = sign * (a − b)

    def fit_skalign():
        model = PreferenceRewardRegressor().fit(X, y, groups=groups)
        scores = model.predict(X).astype(np.float64)
        return sign * (scores[0::2] - scores[1::2]), skalign_info(model)

    def fit_sklearn():
        # alpha = 0: no penalty (alpha > 0 would be C = 1 / (alpha * n_pairs)).
        model = LogisticRegression(fit_intercept=False, C=np.inf).fit(D, labels)
        return sign * (D @ model.coef_.ravel()), {"n_iter_": int(model.n_iter_[0])}

    sides = {"skalign": fit_skalign, "LogisticRegression": fit_sklearn}
    return sides, bt_objective, extra


def bench_problem(problem, repeats):
    """Time a problem's sides side by side and compare their objectives."""
    sides, objective, extra = problem
    runs = side_by_side(
        {
            name: (fit, 1 if name in SLOW_ANCHORS else None)
            for name, fit in sides.items()
        },
        repeats,
    )
    objectives = {name: objective(run["solution"]) for name, run in runs.items()}
    res = summarise(runs, objectives, tuple(sides)[1:], slow=SLOW_ANCHORS)
    res.update(extra)
    return res


def bench_pl(n_items, n_rankings, length, repeats):
    res = bench_problem(pl_problem(n_items, n_rankings, length), repeats)
    res["size"] = {"n_items": n_items, "n_rankings": n_rankings, "length": length}
    return res


def bench_bt_items(n_items, n_comparisons, repeats, *, with_choix):
    problem = bt_items_problem(n_items, n_comparisons, with_choix=with_choix)
    res = bench_problem(problem, repeats)
    res["size"] = {"n_items": n_items, "n_comparisons": n_comparisons}
    return res


def bench_bt_linear(n_pairs, n_features, repeats):
    res = bench_problem(bt_linear_problem(n_pairs, n_features), repeats)
    res["size"] = {"n_pairs": n_pairs, "n_features": n_features}
    return res


# ------------------------------------------------------------ 4. engine epoch
def plain_torch_fit(pairs_t, *, epochs, batch_pairs, hidden=64, seed=0):
    """Plain torch: MLP(64) + ReLU, Bradley–Terry loss on winner-first pairs,
    Adam (lr 1e-3), ``batch_pairs`` shuffled pairs per step."""
    torch.manual_seed(seed)
    n_pairs, _, n_features = pairs_t.shape
    model = torch.nn.Sequential(
        torch.nn.Linear(n_features, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, 1),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    epoch_times, losses = [], []
    for _ in range(epochs):
        start = time.perf_counter()
        total = torch.zeros(())
        for index in torch.randperm(n_pairs).split(batch_pairs):
            scores = model(pairs_t[index].view(-1, n_features)).view(-1, 2)
            loss = F.softplus(scores[:, 1] - scores[:, 0]).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(index)
        epoch_times.append(time.perf_counter() - start)
        losses.append(float(total) / n_pairs)
    return epoch_times, losses


def bench_epoch(n_rows, n_features, batch_pairs, epochs, repeats):
    n_pairs = n_rows // 2
    pairs, a_wins = make_pairs(n_pairs, n_features, nonlinear=True, dtype=np.float32)
    X = pairs.reshape(2 * n_pairs, n_features)
    y = np.stack([a_wins, ~a_wins], axis=1).ravel().astype(np.float64)
    groups = np.repeat(np.arange(n_pairs), 2)
    winner_first = np.where(a_wins[:, None, None], pairs, pairs[:, ::-1])
    pairs_t = torch.from_numpy(np.ascontiguousarray(winner_first))

    def fit_skalign():
        model = PreferenceRewardRegressor(
            scorer=MLPScorer(hidden_units=(64,)),
            optimizer="adam",
            batch_size=batch_pairs,  # groups (pairs) per batch
            max_epochs=epochs,
            early_stopping=False,
        ).fit(X, y, groups=groups)
        if model.n_iter_ != epochs:
            raise RuntimeError(f"skalign ran {model.n_iter_} epochs, not {epochs}")
        times = [float(t) for t in model.history_[:, "dur"]]
        return times, [float(v) for v in model.history_[:, "train_loss"]]

    def fit_plain():
        return plain_torch_fit(pairs_t, epochs=epochs, batch_pairs=batch_pairs)

    runs = {"skalign": [], "plain torch": []}
    for r in range(repeats):
        for name in (
            ("skalign", "plain torch") if r % 2 == 0 else ("plain torch", "skalign")
        ):
            seconds, (times, losses), _ = timed(
                fit_skalign if name == "skalign" else fit_plain
            )
            runs[name].append(
                {"fit_seconds": seconds, "epoch_times": times, "train_loss": losses}
            )
    res = {
        "size": {
            "n_rows": 2 * n_pairs,
            "n_pairs": n_pairs,
            "n_features": n_features,
            "batch_pairs": batch_pairs,
            "epochs": epochs,
        },
        "runs": runs,
    }
    for name, rs in runs.items():
        res[name] = {
            "epoch_seconds": min(float(np.median(r["epoch_times"])) for r in rs),
            "fit_seconds": min(r["fit_seconds"] for r in rs),
            "final_train_loss": rs[-1]["train_loss"][-1],
        }
    res["ratio_epoch"] = (
        res["plain torch"]["epoch_seconds"] / res["skalign"]["epoch_seconds"]
    )
    res["skalign_over_plain_epoch"] = 1.0 / res["ratio_epoch"]
    res["ratio_fit"] = res["plain torch"]["fit_seconds"] / res["skalign"]["fit_seconds"]
    return res


def show_epoch(res):
    size = res["size"]
    print(
        f"\n4. Engine epoch, MLPScorer(64), Adam: {size['n_rows']:,} rows x "
        f"{size['n_features']} ({size['n_pairs']:,} pairs), {size['batch_pairs']} "
        f"pairs per batch, {size['epochs']} epochs",
        flush=True,
    )
    for name in ("skalign", "plain torch"):
        r = res[name]
        print(
            f"  {name:<12} epoch {r['epoch_seconds']:.3f} s, "
            f"fit {r['fit_seconds']:.3f} s, "
            f"final train loss {r['final_train_loss']:.4f}"
        )
    print(
        f"  skalign / plain epoch time = {res['skalign_over_plain_epoch']:.2f}"
        f" (plain / skalign = {res['ratio_epoch']:.2f})"
    )


# ---------------------------------------------------------- 5. first fit
FIRST_FIT_CODE = """
import json, os, sys, time, traceback

class _Watch:
    # Records the call stack that first imports torch._dynamo.
    stack = None
    def find_spec(self, name, path=None, target=None):
        if name == "torch._dynamo" and _Watch.stack is None:
            _Watch.stack = [
                f"{f.filename}:{f.lineno} {f.name}"
                for f in traceback.extract_stack()[:-1]
                if "importlib" not in f.filename
            ][-14:]
        return None

sys.meta_path.insert(0, _Watch())
start = time.perf_counter()
import skalign
from skalign.preference import PreferenceRewardRegressor
import_seconds = time.perf_counter() - start
import numpy as np
import torch
from threadpoolctl import threadpool_limits
torch.set_num_threads(1)
threadpool_limits(limits=1)
N_ROWS, N_FEATURES, PROFILE = __N_ROWS__, __N_FEATURES__, __PROFILE__
rng = np.random.default_rng(0)
X = rng.standard_normal((N_ROWS, N_FEATURES))
y = X @ rng.standard_normal(N_FEATURES) + rng.logistic(size=N_ROWS)
groups = np.repeat(np.arange(N_ROWS // 2), 2)
dynamo_after_import = "torch._dynamo" in sys.modules
before = set(sys.modules)
if PROFILE:
    import cProfile, io, pstats
    profiler = cProfile.Profile()
    profiler.enable()
start = time.perf_counter()
PreferenceRewardRegressor().fit(X, y, groups=groups)
first = time.perf_counter() - start
if PROFILE:
    profiler.disable()
new = sorted(set(sys.modules) - before)
repeated = []
for _ in range(3):
    start = time.perf_counter()
    PreferenceRewardRegressor().fit(X, y, groups=groups)
    repeated.append(time.perf_counter() - start)
families = {}
for name in new:
    key = ".".join(name.split(".")[:2])
    families[key] = families.get(key, 0) + 1
out = dict(
    import_seconds=import_seconds,
    first_fit_seconds=first,
    repeated_fit_seconds=repeated,
    dynamo_after_import=dynamo_after_import,
    dynamo_after_first_fit="torch._dynamo" in sys.modules,
    dynamo_import_stack=_Watch.stack,
    modules_imported_by_first_fit=len(new),
    module_families=dict(sorted(families.items(), key=lambda kv: -kv[1])[:15]),
)
if PROFILE:
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(15)
    lines = text.getvalue().splitlines()
    head = next(i for i, line in enumerate(lines) if "ncalls" in line)
    out["profile_top15"] = [line.rstrip() for line in lines[head : head + 16]]
    stats = pstats.Stats(profiler).stats
    out["profile_import_seconds"] = max(
        (
            entry[3]
            for (filename, _, function), entry in stats.items()
            if function == "_find_and_load" and "importlib" in filename
        ),
        default=0.0,
    )
    out["profile_total_line"] = next(
        (line.strip() for line in lines if "function calls" in line), ""
    )
print("RESULT " + json.dumps(out))
"""


def run_first_fit(n_rows, n_features, profile):
    code = (
        FIRST_FIT_CODE.replace("__N_ROWS__", str(n_rows))
        .replace("__N_FEATURES__", str(n_features))
        .replace("__PROFILE__", str(bool(profile)))
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=subprocess_env(SKALIGN_HOME),
        check=False,
    )
    wall = time.perf_counter() - start
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        raise RuntimeError(f"first-fit subprocess failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(lines[-1][len("RESULT ") :]), process_wall_seconds=wall)


def bench_first_fit(n_rows, n_features, runs):
    timings = [run_first_fit(n_rows, n_features, profile=False) for _ in range(runs)]
    best = min(timings, key=lambda t: t["first_fit_seconds"])
    profiled = run_first_fit(n_rows, n_features, profile=True)
    return {
        "size": {"n_rows": n_rows, "n_features": n_features, "processes": runs},
        "import_seconds": min(t["import_seconds"] for t in timings),
        "first_fit_seconds": best["first_fit_seconds"],
        "repeated_fit_seconds": min(min(t["repeated_fit_seconds"]) for t in timings),
        "first_fit_extra_seconds": min(
            t["first_fit_seconds"] - min(t["repeated_fit_seconds"]) for t in timings
        ),
        "processes": timings,
        "profiled": profiled,
    }


def show_first_fit(res):
    print(
        f"\n5. Time to first fit (fresh processes, best of "
        f"{res['size']['processes']}): {res['size']['n_rows']:,} rows x "
        f"{res['size']['n_features']}",
        flush=True,
    )
    print(
        f"  import skalign {res['import_seconds']:.2f} s; first fit "
        f"{res['first_fit_seconds']:.3f} s; repeated fit "
        f"{res['repeated_fit_seconds']:.3f} s; first-fit extra "
        f"{res['first_fit_extra_seconds']:.3f} s (goal <= 0.5 s)"
    )
    prof = res["profiled"]
    print(
        f"  torch._dynamo imported: after import {prof['dynamo_after_import']}, "
        f"after first fit {prof['dynamo_after_first_fit']}; the first fit imports "
        f"{prof['modules_imported_by_first_fit']} modules: "
        + ", ".join(f"{k} {v}" for k, v in list(prof["module_families"].items())[:8])
    )
    if prof.get("dynamo_import_stack"):
        print("  first import of torch._dynamo from:")
        for frame in prof["dynamo_import_stack"][-6:]:
            print(f"    {frame}")
    print(
        f"  profile of the first fit ({prof.get('profile_total_line', '')}; "
        f"{prof.get('profile_import_seconds', 0.0):.2f} s of it importing modules):"
    )
    for line in prof.get("profile_top15", []):
        print(f"    {line[:140]}")


# ---------------------------------------------------------------- 6. demo
def bench_demo():
    with tempfile.TemporaryDirectory() as out:
        load_before = load_average()
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "skalign.demo", "--out", out],
            capture_output=True,
            text=True,
            env=subprocess_env(SKALIGN_HOME),
            check=False,
        )
        wall = time.perf_counter() - start
    res = {
        "wall_seconds": wall,
        "returncode": done.returncode,
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "stdout_tail": done.stdout.splitlines()[-3:],
    }
    if done.returncode:
        res["stderr_tail"] = done.stderr[-2000:]
    print(
        f"\n6. python -m skalign.demo: {wall:.1f} s wall clock (exit "
        f"{done.returncode}; load average {load_before} -> "
        f"{res['load_average_after']})",
        flush=True,
    )
    return res


# ------------------------------------------------------------------ table
def table(results):
    rows = []
    for case, title in (
        ("pl", "1. featureless Plackett-Luce"),
        ("bt_items", "2. featureless Bradley-Terry"),
        ("bt_choix", "2. featureless BT (smaller)"),
        ("bt_linear", "3. linear Bradley-Terry"),
    ):
        if case not in results:
            continue
        res = results[case]
        for anchor, comp in res["comparisons"].items():
            rows.append(
                (
                    title,
                    res["sides"]["skalign"]["seconds"],
                    anchor + (" (1 run)" if comp["slow_anchor"] else ""),
                    res["sides"][anchor]["seconds"],
                    f"{comp['ratio']:.2f}",
                    f"{comp['skalign_rel_gap_to_anchor']:+.1e}",
                    "OBJECTIVE MISMATCH" if comp["objective_mismatch"] else "ok",
                )
            )
    if "epoch" in results:
        res = results["epoch"]
        rows.append(
            (
                "4. engine epoch (per epoch)",
                res["skalign"]["epoch_seconds"],
                "plain torch loop",
                res["plain torch"]["epoch_seconds"],
                f"{res['ratio_epoch']:.2f}",
                "n/a",
                "stochastic",
            )
        )
    print("\nRatios (anchor time / skalign time; above 1 skalign is faster)")
    header = ("case", "skalign", "anchor", "anchor", "ratio", "obj. gap", "objective")
    widths = (31, 9, 29, 9, 7, 9, 18)
    print("  " + " ".join(h.ljust(w) for h, w in zip(header, widths)))
    for row in rows:
        cells = (
            row[0],
            f"{row[1]:.3f}s",
            row[2],
            f"{row[3]:.3f}s",
            row[4],
            row[5],
            row[6],
        )
        print("  " + " ".join(c.ljust(w) for c, w in zip(cells, widths)))
    print(
        f"  obj. gap: skalign's objective relative to the anchor's (> "
        f"{OBJECTIVE_RTOL:g}: mismatch)"
    )
    if "first_fit" in results:
        res = results["first_fit"]
        print(
            f"  5. first-fit extra {res['first_fit_extra_seconds']:.3f} s "
            f"(first {res['first_fit_seconds']:.3f} s, repeated "
            f"{res['repeated_fit_seconds']:.3f} s; import skalign "
            f"{res['import_seconds']:.2f} s)"
        )
    if "demo" in results:
        print(f"  6. demo {results['demo']['wall_seconds']:.1f} s wall clock")
    return rows


# ------------------------------------------------------------------- main
def warm_up():
    """First-call costs of each library, paid before anything is timed (the
    first fit of a process is measured on its own, in case 5)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rankings = make_rankings(20, 50, 4)
        X, grades, groups = rankings_to_long(rankings, 20)
        PlackettLuceRanker().fit(X, grades, groups=groups)
        scipy_plackett_luce(rankings, 20)
        pairs, a_wins = make_pairs(100, 4)
        X = pairs.reshape(200, 4)
        y = np.stack([a_wins, ~a_wins], axis=1).ravel().astype(float)
        groups = np.repeat(np.arange(100), 2)
        PreferenceRewardRegressor().fit(X, y, groups=groups)
        PreferenceRewardRegressor(
            scorer=MLPScorer(hidden_units=(4,)), optimizer="adam", max_epochs=2
        ).fit(X, y, groups=groups)
        LogisticRegression(fit_intercept=False, C=np.inf).fit(
            pairs[:, 0] - pairs[:, 1], a_wins
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (< 1 min)")
    parser.add_argument("--json", metavar="PATH", help="write every number here")
    parser.add_argument("--repeats", type=int, help="runs per timing (best of)")
    parser.add_argument(
        "--demo", action="store_true", help="also time python -m skalign.demo"
    )
    parser.add_argument("--only", nargs="+", choices=CASES, help="run these cases")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    size = SIZES[mode]
    repeats = args.repeats or size["repeats"]
    cases = args.only or [c for c in CASES if c != "demo" or args.demo]

    pin_threads()
    start = time.perf_counter()
    results = {
        "mode": mode,
        "repeats": repeats,
        "objective_rtol": OBJECTIVE_RTOL,
        "machine": machine_info(),
        "default_alpha": default_alpha(),
        "load_average_before": load_average(),
        "load_average": {},
        "case_seconds": {},
    }
    info = results["machine"]
    print(
        f"{info['cpu']}, {info['usable_cores']} usable cores; torch threads "
        f"{info['torch_threads']}, BLAS threads {info['blas_threads']}; "
        f"load average {results['load_average_before']}"
    )
    print(
        f"python {info['python']}, numpy {info['numpy']}, scipy {info['scipy']}, "
        f"torch {info['torch']}, scikit-learn {info['sklearn']}, skorch "
        f"{info['skorch']}, choix {info['choix']}, skalign {info['skalign']} "
        f"from {info['skalign_path']}"
    )
    warm_up()

    def run_case(name, fn, *fn_args, **fn_kwargs):
        load = load_average()
        t0 = time.perf_counter()
        results[name] = fn(*fn_args, **fn_kwargs)
        results["case_seconds"][name] = time.perf_counter() - t0
        results["load_average"][name] = {"before": load, "after": load_average()}
        return results[name]

    if "pl" in cases:
        p = size["pl"]
        res = run_case(
            "pl", bench_pl, p["n_items"], p["n_rankings"], p["length"], repeats
        )
        show(
            f"1. Featureless Plackett-Luce: {p['n_rankings']:,} rankings of "
            f"{p['length']} of {p['n_items']:,} items",
            res,
        )
    if "bt_items" in cases:
        p = size["bt_items"]
        res = run_case(
            "bt_items",
            bench_bt_items,
            p["n_items"],
            p["n_comparisons"],
            repeats,
            with_choix=True,
        )
        show(
            f"2. Featureless Bradley-Terry: {p['n_comparisons']:,} comparisons of "
            f"{p['n_items']:,} items (comparisons_to_long "
            f"{res['comparisons_to_long_seconds']:.2f} s, not in skalign's time)",
            res,
        )
        if size["bt_choix"] is not None:
            p = size["bt_choix"]
            res = run_case(
                "bt_choix",
                bench_bt_items,
                p["n_items"],
                p["n_comparisons"],
                repeats,
                with_choix=True,
            )
            show(
                f"2'. The same, smaller (choix's dense solve cheap): "
                f"{p['n_comparisons']:,} comparisons of {p['n_items']:,} items",
                res,
            )
    if "bt_linear" in cases:
        p = size["bt_linear"]
        res = run_case(
            "bt_linear", bench_bt_linear, p["n_pairs"], p["n_features"], repeats
        )
        show(
            f"3. Linear Bradley-Terry: {p['n_pairs']:,} pairs x {p['n_features']} "
            f"(differences for LogisticRegression "
            f"{res['difference_features_seconds']:.2f} s, not in its time)",
            res,
        )
    if "epoch" in cases:
        p = size["epoch"]
        run_case(
            "epoch",
            bench_epoch,
            p["n_rows"],
            p["n_features"],
            p["batch_pairs"],
            p["epochs"],
            repeats,
        )
        show_epoch(results["epoch"])
    if "first_fit" in cases:
        p = size["first_fit"]
        run_case("first_fit", bench_first_fit, p["n_rows"], p["n_features"], p["runs"])
        show_first_fit(results["first_fit"])
    if "demo" in cases:
        run_case("demo", bench_demo)

    results["table"] = table(results)
    results["load_average_after"] = load_average()
    results["total_seconds"] = time.perf_counter() - start
    print(
        f"\nload average before {results['load_average_before']}, after "
        f"{results['load_average_after']}; total {results['total_seconds']:.1f} s"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2, default=_jsonable)
        print(f"wrote {args.json}")
    return results


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value)}")


if __name__ == "__main__":
    main(sys.argv[1:])
