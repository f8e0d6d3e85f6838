"""Coverage of skalign's 95% confidence intervals on simulated data.

Bradley–Terry on pairs drawn from ranked triples (3 items per group, ranked
by Gumbel utilities with coefficients ``beta = (0.7, -0.4)``): the 3 pairs
of a triple share items and outcomes, so they are not independent. For each
of ``--replications`` data sets of ``--groups`` triples, the script fits
``PreferenceRewardRegressor()`` at its defaults and records whether each
interval covers the true coefficient:

- Wald, observed information (``cov_type="observed"``; too narrow here, by
  design of the data);
- Wald, cluster-robust by group (``cov_type="cluster"``);
- group bootstrap, percentile (``kind="bootstrap"``, ``--resamples``).

Run ``python benchmarks/coverage_study.py`` (400 replications, 150 triples,
200 resamples: about 7 minutes on one core) or ``--quick``.
"""

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from skalign.preference import PreferenceRewardRegressor

BETA = np.array([0.7, -0.4])


def ranked_triples(n_groups, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_groups * 3, BETA.size))
    utility = X @ BETA + rng.gumbel(size=n_groups * 3)
    groups = np.repeat(np.arange(n_groups), 3)
    y = np.concatenate([np.argsort(np.argsort(u)) for u in utility.reshape(-1, 3)])
    return X, y.astype(float), groups


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=400)
    parser.add_argument("--groups", type=int, default=150, help="triples per data set")
    parser.add_argument(
        "--resamples", type=int, default=200, help="bootstrap resamples"
    )
    parser.add_argument(
        "--quick", action="store_true", help="40 replications, 50 resamples"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.replications, args.resamples = 40, 50
    covered = {"observed": [], "cluster": [], "bootstrap": []}
    start = time.perf_counter()
    for seed in range(args.replications):
        X, y, groups = ranked_triples(args.groups, seed)
        model = PreferenceRewardRegressor().fit(X, y, groups=groups)
        for kind in ("observed", "cluster"):
            bounds = model.confidence_intervals(cov_type=kind).to_numpy()
            covered[kind].append((bounds[:, 0] <= BETA) & (BETA <= bounds[:, 1]))
        bounds = model.confidence_intervals(
            kind="bootstrap",
            X=X,
            y=y,
            groups=groups,
            n_resamples=args.resamples,
            random_state=seed,
        ).to_numpy()
        covered["bootstrap"].append((bounds[:, 0] <= BETA) & (BETA <= bounds[:, 1]))
    n = 2 * args.replications
    print(
        f"{args.replications} replications x {args.groups} triples, "
        f"{args.resamples} resamples, {time.perf_counter() - start:.0f} s; "
        f"load average {os.getloadavg()}"
    )
    for kind, hits in covered.items():
        rate = float(np.mean(hits))
        se = (rate * (1 - rate) / n) ** 0.5
        print(f"  {kind:9s} coverage {rate:.3f} (± {1.96 * se:.3f}) of {n} intervals")


if __name__ == "__main__":
    main()
