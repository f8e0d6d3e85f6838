"""Leaderboard benchmarks: ``skalign.inference.leaderboard`` next to the
plain bootstrap loop a leaderboard builder writes by hand.

The problem and the anchor are imported from
``benchmarks/bench_leaderboard.py`` (its ``--quick`` size: 100,000
comparisons of 100 items, 100 bootstrap resamples), so asv and the script
measure the same thing; one thread on both sides. ``track_objective_gap``
returns skalign's objective relative to the anchor's (both fit the same
Bradley–Terry likelihood; above ``1e-5`` the timings are not at equal
quality).
"""

import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

# Importing the script sets OMP/MKL/OPENBLAS_NUM_THREADS=1.
import bench_leaderboard as lb
import numpy as np
import pandas as pd
import torch
from scipy.special import log_expit
from threadpoolctl import threadpool_limits

N_COMPARISONS, N_ITEMS, N_RESAMPLES = 100_000, 100, 100


class Leaderboard:
    timeout = 300
    params = ["skalign", "plain bootstrap loop"]
    param_names = ["side"]

    def setup(self, side):
        torch.set_num_threads(1)
        threadpool_limits(1)
        self.a, self.b, self.score = lb.battles(N_ITEMS, N_COMPARISONS)
        names = np.array([f"m{k:04d}" for k in range(N_ITEMS)])
        self.names = names
        self.frame = pd.DataFrame(
            {"model_a": names[self.a], "model_b": names[self.b], "winner": self.score}
        )
        # First-fit costs (imports) stay out of the timings; a slice this
        # small may leave an item unbeaten (a warning about its strength).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lb.leaderboard(self.frame.iloc[:1000], random_state=0)

    def _run(self, side):
        if side == "skalign":
            table = lb.leaderboard(self.frame, n_resamples=N_RESAMPLES, random_state=0)
            return table.loc[self.names, "strength"].to_numpy()
        full, _ = lb.plain_bootstrap(self.a, self.b, self.score, N_ITEMS, N_RESAMPLES)
        return full

    def time_leaderboard(self, side):
        self._run(side)

    def peakmem_leaderboard(self, side):
        self._run(side)

    def track_objective_gap(self, side):
        def nll(theta):
            d = theta[self.a] - theta[self.b]
            return -(
                self.score * log_expit(d) + (1 - self.score) * log_expit(-d)
            ).mean()

        mine = nll(self._run("skalign"))
        theirs = nll(self._run("plain bootstrap loop"))
        best = min(mine, theirs)
        return (mine if side == "skalign" else theirs) / best - 1

    track_objective_gap.unit = "relative gap to the better side"
