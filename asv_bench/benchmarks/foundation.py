"""Foundation benchmarks: the training engine and the Bradley–Terry regressor.

Each class times skalign and its anchor on the same data, so asv shows them
side by side; the ``track_*`` benchmarks record losses, evaluation counts and
the skalign / anchor ratio measured within one call. Sizes are kept moderate
(each benchmark well under a few seconds); ``benchmarks/bench_foundation.py``
runs the full sizes. Set ``SKALIGN_BENCH_THREADS=1`` for stable numbers on a
busy machine.
"""

import os
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from skalign.nn import LinearScorer, MLPScorer
from skalign.preference import PreferenceRewardRegressor


def _pairs(n_pairs, n_features, seed=0, nonlinear=False):
    """Long-format pairs (rows ``2k`` and ``2k + 1`` are group ``k``)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((2 * n_pairs, n_features))
    w = rng.standard_normal(n_features) * (2.0 / np.sqrt(n_features))
    utility = X @ w
    if nonlinear:
        utility = np.tanh(utility) + 0.5 * X[:, 0] * X[:, 1]
    y = utility + rng.logistic(size=2 * n_pairs)
    groups = np.repeat(np.arange(n_pairs), 2)
    return X, y, groups


def _set_threads():
    """``SKALIGN_BENCH_THREADS=N`` pins torch and the BLAS pools to N threads.

    On a small shared machine, torch's default intra-op pool can slow down by
    an order of magnitude when other processes compete for the cores; one
    thread gives stable numbers there. Default: leave torch's setting.
    """
    threads = os.environ.get("SKALIGN_BENCH_THREADS")
    if threads:
        torch.set_num_threads(int(threads))
        threadpool_limits(limits=int(threads))


def _warm_up():
    """Pay one-time costs outside the timings (the first torch optimiser in a
    process imports ``torch._dynamo``, which takes seconds)."""
    _set_threads()
    X, y, groups = _pairs(50, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for scorer in (LinearScorer(), MLPScorer(hidden_units=(4,))):
            PreferenceRewardRegressor(scorer=scorer, max_epochs=2).fit(
                X, y, groups=groups
            )
        LogisticRegression().fit(X, (y > 0).astype(int))


def _differences(X, y):
    """Winner − loser rows of each pair."""
    D = X[0::2] - X[1::2]
    D *= np.where(y[0::2] > y[1::2], 1.0, -1.0)[:, None]
    return D


def _bt_objective(D, coef, alpha):
    coef = np.asarray(coef, dtype=np.float64).ravel()
    return float(np.mean(np.logaddexp(0.0, -(D @ coef))) + 0.5 * alpha * coef @ coef)


class _BradleyTerryData:
    n_pairs = 100_000
    n_features = 32
    alpha = 1e-6
    tol = 1e-4
    timeout = 120

    def setup(self, *params):
        _warm_up()
        self.X, self.y, self.groups = _pairs(self.n_pairs, self.n_features)
        self.D = _differences(self.X, self.y)
        flip = np.random.default_rng(1).random(self.n_pairs) < 0.5
        self.D_flipped = np.where(flip[:, None], -self.D, self.D)
        self.labels = (~flip).astype(np.int64)

    def _fit(self, solver):
        """Fit one solver; returns ``(coef, lbfgs_iterations)``."""
        if solver == "sklearn-lbfgs":
            model = LogisticRegression(
                C=1.0 / (self.alpha * self.n_pairs),
                solver="lbfgs",
                fit_intercept=False,
                tol=self.tol,
                max_iter=1000,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SklearnConvergenceWarning)
                model.fit(self.D_flipped, self.labels)
            return model.coef_.ravel(), int(model.n_iter_[0])
        model = PreferenceRewardRegressor(
            scorer=LinearScorer(fit_intercept=False),
            alpha=self.alpha,
            tol=self.tol,
            dtype=solver.split("-")[1],
            max_epochs=100,
        )
        model.fit(self.X, self.y, groups=self.groups)
        coef = model.scorer_.linear.weight.detach().to(torch.float64).numpy()
        return coef.ravel(), int(model.net_.optimizer_.n_iter)


class BradleyTerryLinearFullBatch(_BradleyTerryData):
    """Linear Bradley–Terry by full-batch L-BFGS, next to LogisticRegression.

    100,000 pairs x 32 features, ``alpha = 1e-6`` per pair (matched by
    ``C = 1 / (alpha * n_pairs)``); every solver stops at ``tol = 1e-4``, where
    all are within 1e-6 (relative) of the optimum on this problem. skalign
    gets long-format rows and groups, LogisticRegression the winner − loser
    differences (half flipped, with flipped labels).
    """

    params = ["skalign-float32", "skalign-float64", "sklearn-lbfgs"]
    param_names = ["solver"]

    def time_fit(self, solver):
        self._fit(solver)

    def peakmem_fit(self, solver):
        self._fit(solver)

    def track_train_loss(self, solver):
        return _bt_objective(self.D, self._fit(solver)[0], self.alpha)

    track_train_loss.unit = "mean BT log-loss + L2"

    def track_lbfgs_iterations(self, solver):
        return self._fit(solver)[1]

    track_lbfgs_iterations.unit = "iterations"


class BradleyTerryLinearRatio(_BradleyTerryData):
    """skalign / LogisticRegression fit time, both measured in one call."""

    params = ["float32", "float64"]
    param_names = ["dtype"]

    def track_time_ratio_vs_sklearn(self, dtype):
        start = time.perf_counter()
        self._fit(f"skalign-{dtype}")
        skalign_time = time.perf_counter() - start
        start = time.perf_counter()
        self._fit("sklearn-lbfgs")
        return skalign_time / (time.perf_counter() - start)

    track_time_ratio_vs_sklearn.unit = "skalign / sklearn"


class _EngineData:
    n_pairs = 25_000
    n_features = 32
    batch_pairs = 512
    epochs = 3
    seed = 0
    timeout = 120

    def setup(self, *params):
        _warm_up()
        X, y, groups = _pairs(self.n_pairs, self.n_features, nonlinear=True)
        self.X = X.astype(np.float32)
        self.y, self.groups = y, groups
        pairs = self.X.reshape(self.n_pairs, 2, -1).copy()
        swap = y[1::2] > y[0::2]
        pairs[swap] = pairs[swap, ::-1]
        self.pairs = torch.from_numpy(pairs)

    def _fit(self, impl):
        """Train; returns ``(epoch wall-clock times, last epoch's mean loss)``."""
        if impl == "skalign":
            model = PreferenceRewardRegressor(
                scorer=MLPScorer(hidden_units=(64,)),
                optimizer="adam",
                lr=1e-3,
                batch_size=self.batch_pairs,  # pairs per batch: 2 rows each
                max_epochs=self.epochs,
                tol=0.0,
                n_iter_no_change=10**9,
                random_state=self.seed,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SklearnConvergenceWarning)
                model.fit(self.X, self.y, groups=self.groups)
            return list(model.history_[:, "dur"]), model.history_[-1, "train_loss"]
        # The plain loop replays the engine's seed: same initial weights, same
        # shuffled batches, same loss.
        n_pairs, _, n_features = self.pairs.shape
        torch.manual_seed(check_random_state(self.seed).randint(np.iinfo(np.int32).max))
        module = MLPScorer(hidden_units=(64,)).build(n_features)
        optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
        times, losses = [], []
        for _ in range(self.epochs):
            start = time.perf_counter()
            perm = torch.randperm(n_pairs)
            losses = []
            size = self.batch_pairs
            for begin in range(0, n_pairs, size):
                batch = self.pairs.index_select(0, perm[begin : begin + size])
                scores = module(batch.view(-1, n_features)).view(-1, 2)
                loss = F.softplus(scores[:, 1] - scores[:, 0]).mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(loss.detach() * len(batch))
            times.append(time.perf_counter() - start)
        return times, float(torch.stack(losses).sum()) / n_pairs


class EngineEpochMLP(_EngineData):
    """Adam epochs with ``MLPScorer(hidden_units=(64,))``, next to plain torch.

    50,000 rows x 32 (25,000 pairs), 512 pairs (1,024 rows) per batch, three
    epochs: same module, data, Bradley–Terry loss and mini-batches.
    """

    params = ["skalign", "plain-torch"]
    param_names = ["impl"]

    def time_fit(self, impl):
        self._fit(impl)

    def peakmem_fit(self, impl):
        self._fit(impl)

    def track_epoch_time(self, impl):
        return float(np.median(self._fit(impl)[0][1:]))

    track_epoch_time.unit = "seconds"

    def track_train_loss(self, impl):
        return float(self._fit(impl)[1])

    track_train_loss.unit = "mean BT log-loss"


class EngineEpochRatio(_EngineData):
    """skalign / plain median epoch time (after the first), in one call."""

    def track_epoch_time_ratio_vs_plain(self):
        skalign_epoch = np.median(self._fit("skalign")[0][1:])
        plain_epoch = np.median(self._fit("plain-torch")[0][1:])
        return float(skalign_epoch / plain_epoch)

    track_epoch_time_ratio_vs_plain.unit = "skalign / plain"
