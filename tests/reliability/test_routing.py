"""Every estimator's default score inside a routed ``Pipeline`` and
``GridSearchCV``: ``Pipeline.score`` passes ``sample_weight=None`` when
metadata routing is on, so every ``score`` must take it (the rankers' did
not, and every score of a search silently became NaN)."""

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skalign.exceptions import ConvergenceWarning

from .. import _registry as registry
from ._fitting import fit_data

GROUPED = registry.names(kind="grouped")


@pytest.mark.parametrize("name", GROUPED)
def test_default_score_in_a_routed_pipeline_and_search(name):
    X, y, kwargs = fit_data(name)
    groups = kwargs["groups"]
    # Negative grades too: fit accepts them, so the default score must.
    y = y - 5.0
    with sklearn.config_context(enable_metadata_routing=True):
        model = registry.make(name)
        model.set_fit_request(groups=True, sample_weight=True)
        model.set_score_request(groups=True, sample_weight=True)
        pipe = make_pipeline(FunctionTransformer(), model)
        search = GridSearchCV(
            pipe,
            {"functiontransformer__validate": [False, True]},
            cv=GroupKFold(n_splits=2),
            error_score="raise",
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            search.fit(X, y, groups=groups, sample_weight=np.ones(len(y)))
            score = search.best_estimator_.score(X, y, groups=groups)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert np.isfinite(score)
