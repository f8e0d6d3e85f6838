"""Leaderboard with bootstrap intervals: skalign next to a plain bootstrap loop.

Arena-style battles between ``--items`` items (true log-strengths evenly
spread over [-2, 2]), ``--comparisons`` of them, without ties (so that both
sides fit the same model). Both sides compute the same thing: Bradley–Terry
strengths (compared) and their standard errors from ``--resamples``
bootstrap resamples of the comparisons.

- skalign: ``skalign.inference.leaderboard(frame, n_resamples=B)``: one fit,
  then B refits on integer resample weights, each continued from the fit.
- anchor, what a leaderboard builder writes by hand: for each resample,
  ``np.bincount`` of the resampled battles into win counts per ordered pair,
  then scipy's L-BFGS-B on a vectorised numpy Bradley–Terry likelihood of
  those counts (summed, not averaged: averaged, L-BFGS-B's default
  tolerances stop far from the optimum for many items), from the full
  fit.

One thread on both sides (``OMP/MKL/OPENBLAS_NUM_THREADS=1`` before any
import, ``torch.set_num_threads(1)``, threadpoolctl). Prints both times, the
ratio (anchor / skalign; above 1 skalign is faster), the largest difference
of the bootstrap standard errors, and the load average.

Run ``python benchmarks/bench_leaderboard.py`` for the size a leaderboard
must handle on a laptop: 1,000,000 comparisons of 1,000 items, 1,000
resamples (about ten minutes, both sides), or ``--quick`` (100,000
comparisons of 100 items, 100 resamples: seconds).
"""

import argparse
import json
import os
import time

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_name] = "1"

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from scipy.optimize import minimize  # noqa: E402
from scipy.special import log_expit  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from skalign.inference import leaderboard  # noqa: E402


def battles(n_items, n_comparisons, seed=0):
    rng = np.random.default_rng(seed)
    strength = np.linspace(-2.0, 2.0, n_items)
    a = rng.integers(0, n_items, n_comparisons)
    b = (a + rng.integers(1, n_items, n_comparisons)) % n_items
    p = 1.0 / (1.0 + np.exp(-(strength[a] - strength[b])))
    score = (rng.random(n_comparisons) < p).astype(float)
    return a, b, score


def plain_bootstrap(a, b, score, n_items, n_resamples, seed=0):
    """The hand-written anchor: counts per ordered pair, scipy L-BFGS-B."""
    rng = np.random.default_rng(seed)
    n = len(a)
    pair = a * n_items + b

    def fit(weight, start):
        wins = np.bincount(pair, weight * score, n_items * n_items)
        losses = np.bincount(pair, weight * (1 - score), n_items * n_items)
        seen = np.flatnonzero(wins + losses)
        i, j = np.divmod(seen, n_items)
        w, lo = wins[seen], losses[seen]

        # The summed negative log-likelihood: with the mean, L-BFGS-B's
        # default tolerances (on the projected gradient, 1e-5) stop a fit of
        # 1,000 items long before the optimum (1e-3 relative in the
        # objective, strengths off by 2).
        def nll(free):
            theta = np.r_[0.0, free]
            d = theta[i] - theta[j]
            value = -(w * log_expit(d) + lo * log_expit(-d)).sum()
            g = w * (1 - 1 / (1 + np.exp(-d))) - lo / (1 + np.exp(-d))
            grad = np.bincount(i, -g, n_items) - np.bincount(j, -g, n_items)
            return value, grad[1:]

        res = minimize(nll, start[1:] - start[0], jac=True, method="L-BFGS-B")
        theta = np.r_[0.0, res.x]
        return theta - theta.mean()

    full = fit(np.ones(n), np.zeros(n_items))
    # Each resample starts from the full fit, as skalign's refits do.
    draws = np.array(
        [
            fit(rng.multinomial(n, np.full(n, 1.0 / n)).astype(float), full)
            for _ in range(n_resamples)
        ]
    )
    return full, draws


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comparisons", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=1_000)
    parser.add_argument("--resamples", type=int, default=1_000)
    parser.add_argument(
        "--quick", action="store_true", help="100,000 comparisons of 100, 100 resamples"
    )
    parser.add_argument("--json", metavar="PATH", help="write the numbers here")
    args = parser.parse_args(argv)
    if args.quick:
        args.comparisons, args.items, args.resamples = 100_000, 100, 100
    torch.set_num_threads(1)
    threadpool_limits(1)
    a, b, score = battles(args.items, args.comparisons)
    names = np.array([f"m{k:04d}" for k in range(args.items)])
    frame = pd.DataFrame({"model_a": names[a], "model_b": names[b], "winner": score})
    load_before = os.getloadavg()
    start = time.perf_counter()
    table = leaderboard(frame, n_resamples=args.resamples, random_state=0)
    skalign_seconds = time.perf_counter() - start
    start = time.perf_counter()
    full, draws = plain_bootstrap(a, b, score, args.items, args.resamples)
    anchor_seconds = time.perf_counter() - start
    ours = table.loc[names]
    print(
        f"{args.comparisons:,} comparisons of {args.items:,} items, "
        f"{args.resamples} bootstrap resamples; load average before "
        f"{load_before}, after {os.getloadavg()}"
    )
    print(f"  skalign leaderboard     {skalign_seconds:8.2f} s")
    print(f"  plain bootstrap loop    {anchor_seconds:8.2f} s")
    print(f"  ratio (anchor / skalign) {anchor_seconds / skalign_seconds:.2f}")
    gap = np.abs(ours["strength"].to_numpy() - full).max()

    def nll(theta):
        d = theta[a] - theta[b]
        return -(score * log_expit(d) + (1 - score) * log_expit(-d)).mean()

    mine, theirs = nll(ours["strength"].to_numpy()), nll(full)
    ratio = ours["std_error"].to_numpy() / draws.std(0, ddof=1)
    spread = np.max(np.abs(ratio - 1))
    # Both sides' bootstrap standard errors are noisy (independent draws):
    # their ratio's median shows agreement, its extremes the noise.
    median_ratio = float(np.median(ratio))
    print(
        f"  objective: skalign {mine:.10f}, anchor {theirs:.10f} "
        f"(anchor {theirs / mine - 1:+.1e} relative); largest |strength "
        f"difference| {gap:.2e}"
    )
    print(
        f"  bootstrap standard errors: median ratio {median_ratio:.3f}, "
        f"largest relative difference {spread:.2f}"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "size": {
                        "comparisons": args.comparisons,
                        "items": args.items,
                        "resamples": args.resamples,
                    },
                    "skalign_s": skalign_seconds,
                    "anchor_s": anchor_seconds,
                    "objective_skalign": mine,
                    "objective_anchor": theirs,
                    "max_strength_difference": float(gap),
                    "max_std_error_relative_difference": float(spread),
                    "median_std_error_ratio": median_ratio,
                },
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
