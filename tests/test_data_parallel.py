"""Data-parallel fits on torch.distributed: two gloo processes on the CPU.

Each test launches two worker processes (``tests/_data_parallel_worker.py``,
with the environment ``torchrun`` would set) that fit on their shards of
whole groups, and compares what they wrote with fits in this process. NCCL
needs GPUs and is not tested here.
"""

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import pytest
import skops.io as sio
import torch.distributed as dist

from skalign.distributed import data_parallel, shard_groups
from skalign.exceptions import ConvergenceWarning
from skalign.preference import PreferenceRewardRegressor
from tests._data_parallel_worker import (
    CASES,
    TIMEOUT_S,
    fit_case,
    interrupted_model,
    pairs,
    stream,
)

pytestmark = pytest.mark.skipif(
    not dist.is_available() or not dist.is_gloo_available(),
    reason="needs torch.distributed with the gloo backend",
)

ROOT = Path(__file__).resolve().parents[1]
WORLD_SIZE = 2
#: A launch that takes longer than this has hung.
LAUNCH_TIMEOUT_S = 150


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _launch(scenario, out):
    """Run ``scenario`` on two ranks; their return codes and stderr."""
    env = {
        **os.environ,
        "WORLD_SIZE": str(WORLD_SIZE),
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(_free_port()),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests._data_parallel_worker", scenario, str(out)],
            cwd=ROOT,
            env={**env, "RANK": str(rank)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in range(WORLD_SIZE)
    ]
    deadline = time.monotonic() + LAUNCH_TIMEOUT_S
    errors = []
    try:
        for rank, p in enumerate(procs):
            # Once rank 0 is done, the others get a grace period: a rank
            # that lingers after failing (the "stall" scenario) is ended.
            limit = deadline - time.monotonic() if rank == 0 else TIMEOUT_S
            errors.append(p.communicate(timeout=max(1.0, limit))[1])
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
            p.communicate()
        if rank == 0:
            pytest.fail(f"the {scenario!r} launch hung past {LAUNCH_TIMEOUT_S} s")
        errors.append("(ended after rank 0 finished)")
    return [p.returncode for p in procs], errors


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """Every case fitted on two ranks (models saved by rank 0)."""
    out = tmp_path_factory.mktemp("fits")
    codes, errors = _launch("fits", out)
    assert codes == [0, 0], "\n".join(errors)
    return out


def _coefficients(model):
    return np.concatenate(
        [p.detach().double().numpy().ravel() for p in model.scorer_.parameters()]
    )


@pytest.mark.parametrize(
    "name",
    [
        "pairs_lbfgs",
        "lists_lbfgs",
        "rows_lbfgs",
        "fair_rows_lbfgs",
        "fair_fast_lbfgs",
        "fair_classes_lbfgs",
        "fair_pairs_lbfgs",
    ],
)
def test_lbfgs_equals_single_process_fit(fitted, name):
    # Full-batch L-BFGS sees the global objective and gradient: the same
    # solve as one process on all the data. The dependence penalty (of
    # every rank's rows together) is evaluated on every rank on all rows,
    # with its data-derived constants (the target's scale, the strata, the
    # attribute's standardisation) those of all the data.
    model = joblib.load(fitted / "models.joblib")[name]
    single = fit_case(name)
    assert model.converged_ and single.converged_
    np.testing.assert_allclose(
        model.scorer_.linear.weight.detach().numpy(),
        single.scorer_.linear.weight.detach().numpy(),
        rtol=0,
        atol=1e-6,
    )
    X = CASES[name][1]()[0]
    np.testing.assert_allclose(model.predict(X), single.predict(X), atol=1e-6)
    assert model.objective_ == pytest.approx(single.objective_, rel=1e-10)


@pytest.mark.parametrize(
    "name",
    ["pairs_adam", "mlp_adam", "partial_fit", "fair_lists_adam", "fair_rows_adam"],
)
def test_minibatch_equals_single_process_run_of_the_same_batches(fitted, name):
    # One global shuffle of the units; each rank steps on its part of each
    # batch with the all-reduced gradient: the single process's steps.
    model = joblib.load(fitted / "models.joblib")[name]
    single = fit_case(name)
    assert model.n_iter_ == single.n_iter_
    # An MLP standardises its inputs by the training rows' moments, summed
    # rank by rank here: they differ from one process's in the last bit,
    # and Adam (which divides each step by the root of its squared
    # gradients) carries that further on the weights of smallest gradient.
    # So the tolerance is 1e-9 of the weights' scale, not of each weight.
    coefficients = _coefficients(single)
    np.testing.assert_allclose(
        _coefficients(model),
        coefficients,
        rtol=1e-9,
        atol=1e-9 * np.abs(coefficients).max(),
    )
    np.testing.assert_allclose(
        model.history_[:, "train_loss"], single.history_[:, "train_loss"], rtol=1e-9
    )


@pytest.mark.parametrize("name", ["pairs_lbfgs", "lists_lbfgs"])
def test_likelihood_statistics_are_those_of_all_the_data(fitted, name):
    # The log-likelihood, the information and the clusters' score products
    # are sums over units and whole groups: all-reduced, they are the
    # single-process statistics (at weights equal to 1e-6).
    model = joblib.load(fitted / "models.joblib")[name]
    single = fit_case(name)
    assert model.nobs_ == single.nobs_ and model.n_params_ == single.n_params_
    assert model.log_likelihood_ == pytest.approx(single.log_likelihood_, rel=1e-9)
    for statistic in ("covariance_", "robust_covariance_"):
        expected = getattr(single, statistic)
        assert expected is not None
        np.testing.assert_allclose(getattr(model, statistic), expected, rtol=1e-5)


@pytest.mark.parametrize("name", ["pairs_early", "fair_rows_early"])
def test_early_stopping_holds_out_the_split_of_one_process(fitted, name):
    # The held-out groups are drawn from all ranks' groups, numbered rank
    # by rank (the single process's split of shards of sorted whole
    # groups); the validation loss is the global one, so every rank stops
    # at the epoch one process stops at, with its weights.
    model = joblib.load(fitted / "models.joblib")[name]
    single = fit_case(name)
    assert "valid_loss" in single.history_[-1]
    assert single.converged_ and model.converged_
    assert 1 < model.n_iter_ == single.n_iter_
    np.testing.assert_allclose(
        model.history_[:, "valid_loss"], single.history_[:, "valid_loss"], rtol=1e-9
    )
    coefficients = _coefficients(single)
    np.testing.assert_allclose(
        _coefficients(model),
        coefficients,
        rtol=1e-9,
        atol=1e-9 * np.abs(coefficients).max(),
    )


@pytest.mark.parametrize("name", ["temperature_newton", "vector_scaling", "presto"])
def test_calibrators_and_own_solvers_fit_the_union_on_every_rank(fitted, name):
    # Newton steps and FISTA are not sums of per-unit gradients, and a
    # calibrator's feature scale is a statistic of all its rows: every rank
    # gathers all the shards and fits as one process on their union.
    model = joblib.load(fitted / "models.joblib")[name]
    single = fit_case(name)
    assert model.converged_ and single.converged_
    assert model.n_iter_ == single.n_iter_
    X = CASES[name][1]()[0]
    np.testing.assert_allclose(
        model.predict_proba(X), single.predict_proba(X), rtol=0, atol=1e-10
    )
    if name == "temperature_newton":
        assert model.temperature_ == pytest.approx(single.temperature_, rel=1e-10)


def test_streamed_blocks_train_as_one_process_on_their_union(fitted):
    # Each rank streams its own blocks of whole groups from
    # iter_group_blocks; every partial_fit call is one global epoch over
    # the ranks' blocks of that call.
    model = joblib.load(fitted / "models.joblib")["stream"]
    single = stream(world_size=WORLD_SIZE)
    assert model.n_iter_ == single.n_iter_ > 2
    np.testing.assert_allclose(
        _coefficients(model), _coefficients(single), rtol=1e-9, atol=1e-12
    )


def test_every_rank_holds_the_model_rank0_saved(fitted):
    models = joblib.load(fitted / "models.joblib")
    rank1 = np.load(fitted / "predictions1.npz")
    for name, model in models.items():
        X = (CASES[name][1] if name in CASES else pairs)()[0]
        # Rank 1's own model predicts bit for bit what rank 0 saved.
        np.testing.assert_array_equal(model.predict(X), rank1[name])
    # Afterwards an ordinary estimator: it trains on in one process.
    X, y, metadata = CASES["partial_fit"][1]()
    models["partial_fit"].partial_fit(X, y, **metadata)
    path = fitted / "pairs_lbfgs.skops"
    loaded = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    np.testing.assert_array_equal(
        loaded.predict(CASES["pairs_lbfgs"][1]()[0]), rank1["pairs_lbfgs"]
    )


def _error(out, rank):
    return json.loads((out / f"error{rank}.json").read_text())


def test_bad_input_on_one_rank_fails_every_rank(tmp_path):
    codes, _ = _launch("bad_input", tmp_path)
    assert codes[0] != 0 and codes[1] != 0
    assert _error(tmp_path, 1)["type"] == "ValueError"
    error = _error(tmp_path, 0)
    assert error["type"] == "RuntimeError"
    assert "failed on rank 1 before training" in error["message"]
    assert "NaN" in error["message"]


@pytest.mark.parametrize("scenario", ["raise", "exit", "stall"])
def test_a_worker_that_fails_in_training_fails_every_rank(tmp_path, scenario):
    # Rank 1 raises and exits, dies at once, or raises and lingers: rank 0
    # is left waiting in a collective and must fail with a clear error
    # (at the latest after the process group's timeout), not hang.
    codes, errors = _launch(scenario, tmp_path)
    assert codes[0] != 0 and codes[1] != 0
    error = _error(tmp_path, 0)
    assert error["type"] == "RuntimeError", errors[0]
    assert "lost the other processes" in error["message"]
    assert error["seconds"] < 5 * TIMEOUT_S
    if scenario != "exit":
        assert "worker failure injected" in _error(tmp_path, 1)["message"]


def test_torchrun_script_fits_what_one_process_fits(tmp_path):
    # The real launcher: torchrun starts two processes of the script.
    script = ROOT / "benchmarks" / "torchrun_reward_model.py"
    spec = importlib.util.spec_from_file_location("torchrun_reward_model", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    args = ["--n-pairs=3000", "--n-features=6", f"--out={tmp_path / 'model.joblib'}"]
    result = subprocess.run(
        [*launcher, f"--nproc-per-node={WORLD_SIZE}", str(script), *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=LAUNCH_TIMEOUT_S,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run = json.loads(result.stdout.strip().splitlines()[-1])
    assert run["world_size"] == WORLD_SIZE and run["converged"]
    X, y, groups = module.make_pairs(3000, 6)
    single = PreferenceRewardRegressor(random_state=0).fit(X, y, groups=groups)
    coef = single.scorer_.linear.weight.detach().double().numpy().ravel()
    np.testing.assert_allclose(run["coef"], coef, rtol=0, atol=1e-6)
    saved = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_allclose(saved.predict(X), single.predict(X), atol=1e-6)


def test_an_interrupt_on_every_rank_keeps_the_last_complete_epoch(tmp_path):
    # Ctrl-C lands on the ranks at different points (rank 0 after epoch 2,
    # rank 1 inside epoch 3): they stop together, back at the end of epoch
    # 2, with the warning of an interrupted fit, as one process does.
    codes, errors = _launch("interrupt", tmp_path)
    assert codes == [0, 0], "\n".join(errors)
    single = interrupted_model(max_epochs=2)
    X, y, metadata = pairs()
    with pytest.warns(ConvergenceWarning, match="max_epochs=2"):
        single.fit(X, y, **metadata)
    for rank in range(WORLD_SIZE):
        model = joblib.load(tmp_path / f"interrupted{rank}.joblib")
        warned = json.loads((tmp_path / f"interrupt{rank}.json").read_text())
        assert len(warned["warnings"]) == 1
        assert "after 2 completed epochs" in warned["warnings"][0]
        assert model.n_iter_ == 2
        np.testing.assert_allclose(
            _coefficients(model), _coefficients(single), rtol=1e-9, atol=1e-12
        )


def test_data_parallel_needs_a_process_group():
    with pytest.raises(RuntimeError, match="init_process_group"):
        with data_parallel():
            pass


def test_shard_groups_keeps_groups_whole_and_covers_every_row():
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 50, size=1000).astype(str)
    shards = [shard_groups(groups, rank, 3) for rank in range(3)]
    assert np.array_equal(np.sort(np.concatenate(shards)), np.arange(1000))
    owners = [set(groups[rows]) for rows in shards]
    assert all(owners) and not (owners[0] & owners[1] or owners[1] & owners[2])
    # One huge group still leaves every rank a group.
    huge = np.repeat([0, 1, 2, 3], [1, 100, 1, 1])
    assert [np.unique(huge[shard_groups(huge, r, 3)]).tolist() for r in range(3)] == [
        [0, 1],
        [2],
        [3],
    ]
    with pytest.raises(ValueError, match="fewer than the 4 processes"):
        shard_groups([0, 0, 1], 0, 4)
    with pytest.raises(ValueError, match="rank must be in"):
        shard_groups([0, 1], 2, 2)
