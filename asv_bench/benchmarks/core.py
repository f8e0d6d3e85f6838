"""Core benchmarks: skalign at its defaults next to its anchors.

Cases 1–3 of ``benchmarks/bench_core.py`` at moderate sizes: featureless
Plackett–Luce (``PlackettLuceRanker`` vs scipy L-BFGS-B on a numpy likelihood
and ``choix.ilsr_rankings``), featureless Bradley–Terry
(``PreferenceRewardRegressor`` vs scipy L-BFGS-B and ``choix.ilsr_pairwise``)
and linear Bradley–Terry (``PreferenceRewardRegressor`` vs
``LogisticRegression`` on difference features). The problems, the anchors
and the shared numpy objectives are imported from that script, so asv and
the script measure the same thing: estimator defaults, one thread on both
sides (torch, BLAS and OpenMP pools).

``time_fit`` and ``peakmem_fit`` measure one solver; ``track_objective_gap``
fits every solver of the problem and returns this one's objective relative
to the best of them (above ``1e-5`` for skalign: an objective mismatch, the
timings are then not at equal quality).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

# Importing the script sets OMP/MKL/OPENBLAS_NUM_THREADS=1.
import bench_core as core


class _Problem:
    timeout = 300
    param_names = ["solver"]

    def _problem(self):
        raise NotImplementedError

    def setup(self, solver):
        core.pin_threads()
        core.warm_up()  # first-fit costs (imports) stay out of the timings
        self.sides, self.objective, _ = self._problem()

    def time_fit(self, solver):
        self.sides[solver]()

    def peakmem_fit(self, solver):
        self.sides[solver]()

    def track_objective_gap(self, solver):
        objectives = {
            name: self.objective(fit()[0]) for name, fit in self.sides.items()
        }
        return core.gaps(objectives)[solver]

    track_objective_gap.unit = "relative gap to the best solver"


class PlackettLuceItems(_Problem):
    """Featureless Plackett–Luce: 10,000 full rankings of 8 of 500 items."""

    params = ["skalign", "scipy L-BFGS-B", "choix.ilsr_rankings"]

    def _problem(self):
        return core.pl_problem(n_items=500, n_rankings=10_000, length=8)


class BradleyTerryItems(_Problem):
    """Featureless Bradley–Terry: 100,000 comparisons of 1,000 items."""

    params = ["skalign", "scipy L-BFGS-B", "choix.ilsr_pairwise"]

    def _problem(self):
        return core.bt_items_problem(n_items=1_000, n_comparisons=100_000)


class BradleyTerryLinear(_Problem):
    """Linear Bradley–Terry: 100,000 pairs x 32 features, vs LogisticRegression
    (``fit_intercept=False``, ``C=inf``) on the differences."""

    params = ["skalign", "LogisticRegression"]

    def _problem(self):
        return core.bt_linear_problem(n_pairs=100_000, n_features=32)
