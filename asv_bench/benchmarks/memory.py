"""Memory with one very long group: ``benchmarks/bench_memory.py`` under asv.

Every pairwise and listwise estimator at its defaults fits one group of
20,000 rows (two hundred million pairs), one thread pinned. asv runs each
benchmark in a process of its own, so ``peakmem_fit`` is the peak resident
memory of that process during the fit (imports and data included);
``time_fit`` its wall time. The estimators and the data are those of the
script (:func:`bench_memory.make_problem`), which also runs 100,000 rows,
each fit in a fresh process under an address-space limit.
"""

import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

# Importing the script sets OMP/MKL/OPENBLAS_NUM_THREADS=1.
import bench_memory as memory


class OneLongGroup:
    timeout = 300
    params = (list(memory.ESTIMATORS), [20_000])
    param_names = ["estimator", "n_rows"]

    def setup(self, label, n_rows):
        memory.pin_threads()
        self.estimator, self.X, self.y, self.groups = memory.make_problem(label, n_rows)

    def _fit(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.estimator.fit(self.X, self.y, groups=self.groups)

    def time_fit(self, label, n_rows):
        self._fit()

    def peakmem_fit(self, label, n_rows):
        self._fit()
