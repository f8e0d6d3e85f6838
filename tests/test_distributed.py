"""Scaling out a search, and a data-parallel fit, on clusters.

The recipes of docs/scaling_out.rst: scikit-learn's searches parallelise
through joblib, and a joblib backend (Dask's, Ray's, joblibspark's) sends
every (candidate, fold) fit to a worker of a cluster. skalign estimators
pickle to the workers, metadata (``groups``) is routed there, and with
fixed seeds the search gives the same scores as on the default backend.
Ray Train's ``TorchTrainer`` and Spark's ``TorchDistributor`` host a
data-parallel fit (:func:`skalign.distributed.data_parallel`). Each
cluster's tests are skipped where its optional package is missing.
"""

import os
import shutil
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import psutil
import pytest
import sklearn
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold, StratifiedKFold

from skalign.calibration import MatrixScaling
from skalign.datasets import make_miscalibrated_logits
from skalign.metrics import make_grouped_scorer, preference_log_loss
from skalign.preference import PreferenceRewardRegressor

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
#: What the worker processes of a cluster need: this checkout's skalign
#: (and the tests' helpers), and one thread each.
WORKER_ENV = {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip(
        "dask.distributed",
        reason='needs dask.distributed (pip install -e ".[distributed]")',
    )
    # Process workers, as on a real cluster: every fit runs in another
    # interpreter, so estimators, data and metadata all travel by pickle.
    # dashboard_address=":0": no web server (and no port) for a test.
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _end_leftover_processes(before, timeout=5.0):
    """Wait for the processes a cluster started (children of this process
    that were not there before) to exit, then end those left: a cluster's
    shutdown may leave workers behind. Returns the ones that had to be
    ended."""
    deadline = time.monotonic() + timeout
    left = []
    while time.monotonic() < deadline:
        left = [
            p for p in psutil.Process().children(recursive=True) if p.pid not in before
        ]
        if not left:
            return []
        time.sleep(0.5)
    for process in left:
        process.terminate()
    _, alive = psutil.wait_procs(left, timeout=5)
    for process in alive:
        process.kill()
    return left


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason='needs Ray (pip install -e ".[ray]")')
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": WORKER_ENV},
    )
    try:
        yield ray
    finally:
        ray.shutdown()
        _end_leftover_processes(before)


@pytest.fixture(scope="module")
def spark_session():
    pytest.importorskip("pyspark", reason='needs PySpark (pip install -e ".[spark]")')
    pytest.importorskip("joblibspark", reason='needs joblibspark (".[spark]" extra)')
    if shutil.which("java") is None:
        pytest.skip("PySpark needs a Java runtime (java not found)")
    from pyspark.sql import SparkSession

    # Spark starts its Python workers (and TorchDistributor its processes)
    # with PYSPARK_PYTHON and the environment of this process.
    saved = {k: os.environ.get(k) for k in ("PYSPARK_PYTHON", *WORKER_ENV)}
    os.environ.update(PYSPARK_PYTHON=sys.executable, **WORKER_ENV)
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("skalign-tests")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    try:
        yield spark
    finally:
        spark.stop()
        _end_leftover_processes(before)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _reward_search():
    """Bradley-Terry vs margin objective and two L2 strengths, folds by group."""
    rng = np.random.default_rng(0)
    n_pairs = 150
    X = rng.normal(size=(2 * n_pairs, 4))
    groups = np.repeat(np.arange(n_pairs), 2)
    utility = X @ [2.0, -1.0, 0.5, 0.0] + rng.logistic(size=2 * n_pairs)
    a_wins = utility[0::2] > utility[1::2]
    y = np.column_stack([a_wins, ~a_wins]).astype(float).ravel()
    reward = PreferenceRewardRegressor(dtype="float64", random_state=0)
    reward.set_fit_request(groups=True)
    # The held-out Bradley-Terry log-loss within groups: a continuous score
    # that tells every candidate apart; the scorer requests groups itself.
    search = GridSearchCV(
        reward,
        {"objective": ["bradley_terry", "margin"], "alpha": [1e-4, 1e-1]},
        scoring=make_grouped_scorer(preference_log_loss, greater_is_better=False),
        cv=GroupKFold(n_splits=3),
    )
    return search, (X, y), {"groups": groups}


def _calibration_search():
    """Matrix scaling of over-confident logits at three L2 strengths."""
    logits, labels, _ = make_miscalibrated_logits(
        600, 4, temperature=2.5, random_state=0
    )
    search = GridSearchCV(
        MatrixScaling(dtype="float64"),
        {"reg_lambda": [0.0, 1e-2, 1e-1]},
        scoring="neg_log_loss",
        cv=StratifiedKFold(n_splits=3, shuffle=True, random_state=0),
    )
    return search, (logits, labels), {}


@pytest.mark.parametrize(
    "make_search", [_reward_search, _calibration_search], ids=["reward", "calibration"]
)
def test_grid_search_on_dask_matches_the_default_backend(dask_client, make_search):
    with sklearn.config_context(enable_metadata_routing=True):
        search, args, params = make_search()
        # The default backend, in this process (n_jobs=1 spares the start of
        # loky's worker processes; the results do not depend on n_jobs).
        local = clone(search).fit(*args, **params)
        with (
            joblib.parallel_backend("dask"),
            pytest.importorskip("dask.distributed").get_task_stream(
                dask_client
            ) as tasks,
        ):
            remote = clone(search).set_params(n_jobs=-1).fit(*args, **params)

    # The (candidate, fold) fits ran as tasks on the worker processes (joblib
    # may batch several fits into one task, so there can be fewer tasks).
    n_fits = len(remote.cv_results_["params"]) * remote.n_splits_
    assert n_fits >= 8
    assert len(tasks.data) >= 1
    assert {task["worker"] for task in tasks.data} <= set(
        dask_client.scheduler_info()["workers"]
    )
    # Distinct candidates, so that equal scores say more than equal ranks.
    assert np.unique(local.cv_results_["mean_test_score"]).size > 1
    for key in local.cv_results_:
        if key.startswith(("split", "mean_test", "rank_test")):
            np.testing.assert_allclose(
                remote.cv_results_[key], local.cv_results_[key], rtol=1e-12
            )
    assert remote.best_params_ == local.best_params_
    assert remote.best_estimator_.n_features_in_ == args[0].shape[1]
    method = "predict_proba" if hasattr(local, "predict_proba") else "predict"
    np.testing.assert_allclose(
        getattr(remote, method)(args[0][:10]),
        getattr(local, method)(args[0][:10]),
        rtol=1e-10,
    )


def _assert_same_search(remote, local):
    assert np.unique(local.cv_results_["mean_test_score"]).size > 1
    for key in local.cv_results_:
        if key.startswith(("split", "mean_test", "rank_test")):
            np.testing.assert_allclose(
                remote.cv_results_[key], local.cv_results_[key], rtol=1e-12
            )
    assert remote.best_params_ == local.best_params_


def test_grid_search_on_ray_matches_the_default_backend(ray_cluster):
    from ray.util.joblib import register_ray

    register_ray()
    with sklearn.config_context(enable_metadata_routing=True):
        search, args, params = _reward_search()
        local = clone(search).fit(*args, **params)
        with joblib.parallel_backend("ray"):
            remote = clone(search).set_params(n_jobs=2).fit(*args, **params)
    _assert_same_search(remote, local)


def _ray_train_loop(config):
    """One Ray Train worker: the process group is Ray's."""
    import torch.distributed as dist

    from skalign.distributed import data_parallel
    from tests._data_parallel_worker import fit_case, shard

    rank, world_size = dist.get_rank(), dist.get_world_size()
    with data_parallel():
        model = fit_case("pairs_lbfgs", shard("pairs_lbfgs", rank, world_size))
    if rank == 0:
        joblib.dump(model, config["out"])


def test_ray_train_torch_trainer_fits_what_one_process_fits(ray_cluster, tmp_path):
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    from tests._data_parallel_worker import fit_case, pairs

    out = tmp_path / "model.joblib"
    result = TorchTrainer(
        _ray_train_loop,
        train_loop_config={"out": str(out)},
        scaling_config=ScalingConfig(num_workers=2, use_gpu=False),
        run_config=RunConfig(storage_path=str(tmp_path / "ray")),
    ).fit()
    assert result.error is None
    model, single = joblib.load(out), fit_case("pairs_lbfgs")
    np.testing.assert_allclose(
        model.scorer_.linear.weight.detach().numpy(),
        single.scorer_.linear.weight.detach().numpy(),
        rtol=0,
        atol=1e-6,
    )
    X = pairs()[0]
    np.testing.assert_allclose(model.predict(X), single.predict(X), atol=1e-6)


def test_grid_search_on_spark_matches_the_default_backend(spark_session):
    from joblibspark import register_spark

    register_spark()
    with sklearn.config_context(enable_metadata_routing=True):
        search, args, params = _reward_search()
        local = clone(search).fit(*args, **params)
        with joblib.parallel_backend("spark", n_jobs=2):
            remote = clone(search).set_params(n_jobs=2).fit(*args, **params)
    _assert_same_search(remote, local)


def _spark_train():
    """One TorchDistributor process: it sets the environment, the function
    starts the process group."""
    import torch.distributed as dist

    from skalign.distributed import data_parallel
    from tests._data_parallel_worker import fit_case, shard

    dist.init_process_group("gloo")
    try:
        rank, world_size = dist.get_rank(), dist.get_world_size()
        with data_parallel():
            model = fit_case("pairs_lbfgs", shard("pairs_lbfgs", rank, world_size))
    finally:
        dist.destroy_process_group()
    # Every process writes its result to one file: return the model from
    # each (they are equal), not None from all but rank 0.
    return model


def test_spark_torch_distributor_fits_what_one_process_fits(spark_session):
    from pyspark.ml.torch.distributor import TorchDistributor

    from tests._data_parallel_worker import fit_case, pairs

    model = TorchDistributor(num_processes=2, local_mode=True, use_gpu=False).run(
        _spark_train
    )
    single = fit_case("pairs_lbfgs")
    np.testing.assert_allclose(
        model.scorer_.linear.weight.detach().numpy(),
        single.scorer_.linear.weight.detach().numpy(),
        rtol=0,
        atol=1e-6,
    )
    X = pairs()[0]
    np.testing.assert_allclose(model.predict(X), single.predict(X), atol=1e-6)
