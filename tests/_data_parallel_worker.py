"""One process of the data-parallel tests (tests/test_data_parallel.py).

Run as ``python -m tests._data_parallel_worker SCENARIO OUT`` with the
environment ``torchrun`` sets (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``,
``MASTER_PORT``): it joins a gloo process group, fits on its shard of whole
groups and writes what the test checks under the folder ``OUT``. The data
and the estimators are defined here once, for the workers and for the
single-process fits the test compares them with.
"""

import json
import os
import signal
import sys
import time
import warnings
from datetime import timedelta
from pathlib import Path

import joblib
import numpy as np
import skops.io as sio
import torch
import torch.distributed as dist
from skorch.callbacks import Callback

from skalign.calibration import TemperatureScaling, VectorScaling
from skalign.datasets import make_miscalibrated_logits
from skalign.distributed import data_parallel, shard_groups
from skalign.exceptions import ConvergenceWarning
from skalign.fairness import DependencePenalty, FairClassifier, FairRegressor
from skalign.nn import LinearScorer, MLPScorer
from skalign.ordinal import PrestoClassifier
from skalign.preference import PreferenceRewardRegressor
from skalign.ranking import PlackettLuceRanker
from skalign.utils import iter_group_blocks, pairs_to_long

#: How long a rank waits for a lost peer before its collective fails.
TIMEOUT_S = 6


def pairs():
    """Bradley-Terry pairs on unscaled features (a column in hundreds)."""
    rng = np.random.default_rng(0)
    n_pairs = 500
    X_a, X_b = rng.normal(size=(2, n_pairs, 5)) * [1.0, 1.0, 100.0, 0.1, 1.0]
    coef = np.array([1.5, -1.0, 0.01, 3.0, 0.0])
    won = rng.random(n_pairs) < 1 / (1 + np.exp(-(X_a - X_b) @ coef))
    X, y, groups = pairs_to_long(X_a, X_b, won * 1.0)
    return X, y, {"groups": groups}


def lists():
    """Rankings of 3 to 6 items, rows of a group not contiguous."""
    rng = np.random.default_rng(1)
    sizes = rng.integers(3, 7, size=120)
    groups = rng.permutation(np.repeat(np.arange(sizes.size), sizes))
    X = rng.normal(size=(groups.size, 4))
    y = X @ [1.0, -0.5, 0.25, 0.0] + rng.gumbel(size=groups.size)
    return X, y, {"groups": groups}


def rows():
    """Regression rows with a sensitive attribute; each row its own group."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 3))
    sensitive = (rng.random(400) < 0.5).astype(float)
    y = X @ [1.0, 2.0, -1.0] + sensitive + rng.normal(size=400)
    return X, y, {"sensitive_features": sensitive}


def rated_lists():
    """Rankings with a protected attribute per item: every item is in
    several pairs of its list (the penalty counts it once)."""
    X, y, metadata = lists()
    sensitive = (X[:, 1] + np.random.default_rng(3).normal(size=len(y)) > 0) * 1.0
    return X, y, {**metadata, "sensitive_features": sensitive}


def many_rows():
    """Regression rows with a continuous protected attribute, enough of them
    for the O(n log n) distance covariance (from 1024 rows)."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(1100, 3))
    sensitive = X[:, 1] + rng.normal(size=1100)
    y = X @ [1.0, 2.0, -1.0] + 0.5 * sensitive + rng.normal(size=1100)
    return X, y, {"sensitive_features": sensitive}


def labelled_rows():
    """Binary classes that depend on the protected attribute."""
    X, y, metadata = rows()
    return X, (y > np.median(y)).astype(int), metadata


def logits():
    """A calibration set: logits of three classes, too confident."""
    scores, y, _ = make_miscalibrated_logits(600, 3, random_state=5)
    return scores, y, {}


def grades():
    """Ordinal grades 0-3 from a latent linear score."""
    rng = np.random.default_rng(6)
    X = rng.normal(size=(500, 4))
    latent = X @ [1.0, -1.0, 0.5, 0.0] + rng.logistic(size=500)
    return X, np.digitize(latent, [-1.5, 0.0, 1.5]), {}


#: Name -> (estimator factory, data, fit calls): what every rank fits, and
#: what the test fits in one process to compare.
CASES = {
    "pairs_lbfgs": (lambda: PreferenceRewardRegressor(random_state=0), pairs, 1),
    "pairs_adam": (
        lambda: PreferenceRewardRegressor(
            optimizer="adam",
            batch_size=64,
            max_epochs=6,
            dtype="float64",
            random_state=0,
        ),
        pairs,
        1,
    ),
    "mlp_adam": (
        lambda: PlackettLuceRanker(
            scorer=MLPScorer(hidden_units=(8,)),
            optimizer="adam",
            lr=1e-2,
            batch_size=16,
            max_epochs=4,
            dtype="float64",
            random_state=0,
        ),
        lists,
        1,
    ),
    "lists_lbfgs": (lambda: PlackettLuceRanker(random_state=0), lists, 1),
    "rows_lbfgs": (lambda: FairRegressor(random_state=0), rows, 1),
    "fair_rows_lbfgs": (
        lambda: FairRegressor(
            fairness_penalty=DependencePenalty(strength=1.0), random_state=0
        ),
        rows,
        1,
    ),
    "fair_fast_lbfgs": (
        lambda: FairRegressor(
            fairness_penalty=DependencePenalty(strength=5.0, normalize=False),
            random_state=0,
        ),
        many_rows,
        1,
    ),
    "fair_classes_lbfgs": (
        lambda: FairClassifier(
            fairness_penalty=DependencePenalty(strength=1.0), random_state=0
        ),
        labelled_rows,
        1,
    ),
    "fair_pairs_lbfgs": (
        lambda: PreferenceRewardRegressor(
            fairness_penalty=DependencePenalty(strength=1.0), random_state=0
        ),
        rated_lists,
        1,
    ),
    # Mini-batches from the unpenalised fit (optimizer="auto" with a batch
    # size): at the constant predictions of zero weights the penalty's
    # gradient depends on how the tied predictions are ordered. No
    # intercept: list scores are shift-invariant, so its gradient is
    # rounding noise, which Adam's normalised steps would follow.
    "fair_lists_adam": (
        lambda: PlackettLuceRanker(
            scorer=LinearScorer(fit_intercept=False),
            fairness_penalty=DependencePenalty(strength=1.0, criterion="separation"),
            batch_size=16,
            max_epochs=4,
            dtype="float64",
            random_state=0,
        ),
        rated_lists,
        1,
    ),
    # Batches of 3 rows: many hold rows of one rank only, and the other
    # joins the penalty's collectives without rows.
    "fair_rows_adam": (
        lambda: FairRegressor(
            fairness_penalty=DependencePenalty(strength=1.0),
            batch_size=3,
            max_epochs=1,
            dtype="float64",
            random_state=0,
        ),
        rows,
        1,
    ),
    "pairs_early": (
        lambda: PreferenceRewardRegressor(
            optimizer="adam",
            batch_size=64,
            early_stopping=True,
            validation_fraction=0.2,
            n_iter_no_change=2,
            tol=1e-3,
            max_epochs=40,
            dtype="float64",
            random_state=0,
        ),
        pairs,
        1,
    ),
    "fair_rows_early": (
        lambda: FairRegressor(
            fairness_penalty=DependencePenalty(strength=1.0),
            early_stopping=True,
            random_state=0,
        ),
        rows,
        1,
    ),
    "temperature_newton": (
        lambda: TemperatureScaling(solver="newton"),
        logits,
        1,
    ),
    "vector_scaling": (VectorScaling, logits, 1),
    "presto": (lambda: PrestoClassifier(alpha=0.05), grades, 1),
    "partial_fit": (
        lambda: PreferenceRewardRegressor(
            optimizer="adam", batch_size=64, dtype="float64", random_state=0
        ),
        pairs,
        2,
    ),
}


def stream(rank=None, world_size=None):
    """A reward model trained by partial_fit on streamed blocks of whole
    groups: this rank's (in a data-parallel fit), or, with ``rank=None``,
    each call on the union of every rank's block of that call, as one
    process would see it."""
    X, y, metadata = pairs()
    model = PreferenceRewardRegressor(
        optimizer="adam", batch_size=32, dtype="float64", random_state=0
    )
    if rank is not None:
        blocks = iter_group_blocks(
            X, y, metadata["groups"], block_rows=150, rank=rank, world_size=world_size
        )
    else:
        per_rank = [
            list(
                iter_group_blocks(
                    X,
                    y,
                    metadata["groups"],
                    block_rows=150,
                    rank=r,
                    world_size=world_size,
                )
            )
            for r in range(world_size)
        ]
        blocks = (
            (
                np.concatenate([b[0] for b in parts]),
                np.concatenate([b[1] for b in parts]),
                {"groups": np.concatenate([b[2]["groups"] for b in parts])},
            )
            for parts in zip(*per_rank, strict=True)
        )
    for X_b, y_b, params in blocks:
        model.partial_fit(X_b, y_b, **params)
    return model


def fit_case(name, fit_rows=None):
    """Fit case ``name`` on ``fit_rows`` of its data (``None``: all)."""
    factory, data, n_calls = CASES[name]
    X, y, metadata = data()
    if fit_rows is not None:
        X, y = X[fit_rows], y[fit_rows]
        metadata = {k: v[fit_rows] for k, v in metadata.items()}
    model = factory()
    with warnings.catch_warnings():
        # The mini-batch cases stop at a small max_epochs on purpose.
        warnings.simplefilter("ignore", ConvergenceWarning)
        if n_calls == 1:
            return model.fit(X, y, **metadata)
        for _ in range(n_calls):
            model.partial_fit(X, y, **metadata)
    return model


def shard(name, rank, world_size):
    """This rank's rows of case ``name``: whole groups."""
    _, data, _ = CASES[name]
    X, _, metadata = data()
    groups = metadata.get("groups", np.arange(X.shape[0]))
    return shard_groups(groups, rank, world_size)


class FailAt(Callback):
    """At the end of epoch ``epoch``, raise (``how="raise"``) or end the
    process at once (``how="exit"``)."""

    def __init__(self, epoch, how):
        self.epoch = epoch
        self.how = how

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            if self.how == "exit":
                os._exit(3)
            raise RuntimeError(f"worker failure injected at epoch {self.epoch}")


class InterruptAt(Callback):
    """Send this process SIGINT (Ctrl-C) at the end of epoch ``epoch``, or
    after batch ``batch`` of it."""

    def __init__(self, epoch, batch=None):
        self.epoch = epoch
        self.batch = batch

    def on_epoch_end(self, net, **kwargs):
        if self.batch is None and len(net.history) == self.epoch:
            os.kill(os.getpid(), signal.SIGINT)

    def on_batch_end(self, net, **kwargs):
        batches = net.history[-1]["batches"]
        if len(net.history) == self.epoch and len(batches) == self.batch:
            os.kill(os.getpid(), signal.SIGINT)


def interrupted_model(**params):
    """The model the interrupt scenario trains."""
    return PreferenceRewardRegressor(
        optimizer="adam", batch_size=64, dtype="float64", random_state=0, **params
    )


def _interrupt(rank, world_size, out):
    # Ctrl-C reaches the ranks at different points: rank 0 at the end of
    # epoch 2, rank 1 inside epoch 3.
    X, y, metadata = pairs()
    rows_ = shard("pairs_adam", rank, world_size)
    callback = InterruptAt(2) if rank == 0 else InterruptAt(3, batch=1)
    model = interrupted_model(max_epochs=20, callbacks=[callback])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with data_parallel():
            model.fit(X[rows_], y[rows_], groups=metadata["groups"][rows_])
    messages = [str(w.message) for w in caught if "interrupted" in str(w.message)]
    model.set_params(callbacks=None)
    joblib.dump(model, out / f"interrupted{rank}.joblib")
    (out / f"interrupt{rank}.json").write_text(json.dumps({"warnings": messages}))


def _fits(rank, world_size, out):
    models = {}
    for name in CASES:
        with data_parallel():
            models[name] = fit_case(name, shard(name, rank, world_size))
    with data_parallel():
        models["stream"] = stream(rank, world_size)
    if rank == 0:
        # Saved from rank 0 only, as a training script does.
        joblib.dump(models, out / "models.joblib")
        sio.dump(models["pairs_lbfgs"], out / "pairs_lbfgs.skops")
    predictions = {
        name: model.predict((CASES[name][1] if name in CASES else pairs)()[0])
        for name, model in models.items()
    }
    np.savez(out / f"predictions{rank}.npz", **predictions)


def _fault(scenario, rank, out):
    X, y, metadata = pairs()
    rows_ = shard("pairs_adam", rank, 2)
    X, y, metadata = X[rows_], y[rows_], {"groups": metadata["groups"][rows_]}
    model = PreferenceRewardRegressor(
        optimizer="adam", batch_size=64, max_epochs=50, random_state=0
    )
    if rank == 1:
        if scenario == "bad_input":
            X = X.copy()
            X[0, 0] = np.nan
        else:
            how = "exit" if scenario == "exit" else "raise"
            model.set_params(callbacks=[FailAt(2, how)])
    start = time.monotonic()
    try:
        with data_parallel():
            model.fit(X, y, **metadata)
    except Exception as error:
        (out / f"error{rank}.json").write_text(
            json.dumps(
                {
                    "type": type(error).__name__,
                    "message": str(error),
                    "seconds": time.monotonic() - start,
                }
            )
        )
        if scenario == "stall" and rank == 1:
            # Alive, but gone from the fit: the others must time out (the
            # test ends this process afterwards).
            time.sleep(30 * TIMEOUT_S)
        raise


def main(scenario, out):
    out = Path(out)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", timeout=timedelta(seconds=TIMEOUT_S))
    rank, world_size = dist.get_rank(), dist.get_world_size()
    try:
        if scenario == "fits":
            _fits(rank, world_size, out)
        elif scenario == "interrupt":
            _interrupt(rank, world_size, out)
        else:
            _fault(scenario, rank, out)
        # The ranks that succeeded leave together, as a training script
        # does: a rank that destroys its process group and exits while the
        # other is still inside its last collective can die at teardown in
        # gloo's worker threads (SIGABRT, "terminate called without an
        # active exception"; seen once in the interrupt scenario on CI).
        dist.barrier()
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:])
