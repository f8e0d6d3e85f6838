"""Scaling out a search: GridSearchCV on a Dask cluster of worker processes.

The recipe of docs/scaling_out.rst: scikit-learn's searches parallelise
through joblib, and ``joblib.parallel_backend("dask")`` sends every
(candidate, fold) fit to a Dask worker. skalign estimators pickle to the
workers, metadata (``groups``) is routed there, and with fixed seeds the
search gives the same scores as on the default backend.
"""

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold, StratifiedKFold

from skalign.calibration import MatrixScaling
from skalign.datasets import make_miscalibrated_logits
from skalign.metrics import make_grouped_scorer, preference_log_loss
from skalign.preference import PreferenceRewardRegressor

distributed = pytest.importorskip(
    "dask.distributed",
    reason='needs dask.distributed (pip install -e ".[distributed]")',
)
joblib = pytest.importorskip("joblib")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dask_client():
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
            distributed.get_task_stream(dask_client) as tasks,
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
