"""Torch tensors as input, for every estimator of the registry and every
public metric.

scikit-learn's estimators take a CPU tensor as they take any array-like (via
``np.asarray``); skalign's also take a tensor that requires grad, lives on a
GPU, is not contiguous or has a dtype numpy lacks (bfloat16 becomes
float32), and under ``array_api_dispatch=True`` they convert tensors to numpy
as estimators without array API support must. Each case is compared with the
fit on the numpy array that holds the same values: same ``random_state``,
same predictions.
"""

import inspect
import json
import os
import subprocess
import sys
import traceback
import warnings
from pathlib import Path

import numpy as np
import pytest
import sklearn
import torch
from sklearn.dummy import DummyRegressor

import skalign
from skalign import metrics
from skalign.utils import comparisons_to_long, pairs_to_long
from skalign.utils._validation import check_features, from_torch

from .. import _registry as registry
from ._fitting import fit_data

_METHODS = ("predict", "predict_proba", "decision_function", "transform")


def _numeric_fit_data(name):
    """``fit_data(name)`` with sample weights where ``fit`` takes them, and
    string sensitive features as integer codes (a tensor holds numbers)."""
    X, y, kwargs = fit_data(name)
    kwargs = {
        key: np.unique(value, return_inverse=True)[1]
        if value.dtype.kind == "U"
        else value
        for key, value in kwargs.items()
    }
    fit = inspect.signature(registry.entry(name).estimator.fit).parameters
    if "sample_weight" in fit:
        kwargs["sample_weight"] = np.random.default_rng(1).uniform(0.5, 2.0, X.shape[0])
    return X, y, kwargs


def _fit_outputs(name, convert):
    """Outputs of estimator ``name`` fitted on ``convert(a)`` for every array
    ``a`` of its fit data, and predicting on ``convert(X)``."""
    X, y, kwargs = _numeric_fit_data(name)
    kwargs = {key: convert(value) for key, value in kwargs.items()}
    with warnings.catch_warnings():
        # A few epochs on tiny data: not converging is expected.
        warnings.simplefilter("ignore", category=Warning)
        model = registry.make(name)
        model = (
            model.fit(convert(X), **kwargs)
            if y is None
            else model.fit(convert(X), convert(y), **kwargs)
        )
        X = convert(X)
        # As returned, not through np.asarray: outputs must be numpy arrays.
        return {m: getattr(model, m)(X) for m in _METHODS if hasattr(model, m)}


def _assert_same_outputs(got, want):
    assert got.keys() == want.keys()
    for method, values in want.items():
        assert type(got[method]) is np.ndarray, method
        np.testing.assert_array_equal(got[method], values, err_msg=method)


# Each variant maps a numpy array of fit data to ``(tensor, equivalent)``:
# the tensor passed to skalign and the numpy array holding the same values.
def _plain(a):
    return torch.from_numpy(a), a


def _requires_grad(a):
    if a.dtype.kind != "f":
        return _plain(a)
    return torch.tensor(a, requires_grad=True), a


def _float32(a):
    if a.dtype.kind != "f":
        return _plain(a)
    a = a.astype(np.float32)
    return torch.from_numpy(a), a


def _non_contiguous(a):
    # Every other element of a tensor twice as long along the last axis.
    tensor = torch.from_numpy(np.repeat(a, 2, axis=-1))[..., ::2]
    assert not tensor.is_contiguous()
    return tensor, a


def _bfloat16(a):
    if a.dtype.kind != "f":
        return _plain(a)
    tensor = torch.from_numpy(a).bfloat16()
    return tensor, tensor.float().numpy()


VARIANTS = {
    "plain": _plain,
    "requires_grad": _requires_grad,
    "float32": _float32,
    "non_contiguous": _non_contiguous,
    "bfloat16": _bfloat16,
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", registry.names())
def test_tensor_fit_predicts_as_the_numpy_fit(name, variant):
    make = VARIANTS[variant]
    want = _fit_outputs(name, lambda a: make(a)[1])
    got = _fit_outputs(name, lambda a: make(a)[0])
    _assert_same_outputs(got, want)


@pytest.mark.parametrize("name", registry.names())
def test_tensor_fit_leaves_the_tensors_as_they_were(name):
    X, y, kwargs = _numeric_fit_data(name)
    X_t = torch.tensor(X, requires_grad=True)
    before = X_t.detach().clone()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        model = registry.make(name)
        if y is None:
            model.fit(X_t, **kwargs)
        else:
            model.fit(X_t, torch.from_numpy(y), **kwargs)
        model.predict(X_t) if hasattr(model, "predict") else model.transform(X_t)
    assert X_t.requires_grad and X_t.grad is None
    assert torch.equal(X_t.detach(), before)


def _other_calls(name, convert):
    """Results of the methods besides ``predict``/``transform`` that take
    arrays: pair probabilities, rankings within groups, ``score``."""
    X, y, kwargs = _numeric_fit_data(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        model = registry.make(name)
        model = model.fit(X, **kwargs) if y is None else model.fit(X, y, **kwargs)
    half = X.shape[0] // 2
    out = {}
    if hasattr(model, "predict_pair_proba"):
        out["predict_pair_proba"] = model.predict_pair_proba(
            convert(X[:half]), convert(X[half:])
        )
    if "groups" in kwargs and hasattr(model, "predict_ranking"):
        out["predict_ranking"] = model.predict_ranking(
            convert(X), convert(kwargs["groups"])
        )
    if "groups" in kwargs and hasattr(model, "score"):
        scored = {k: kwargs[k] for k in ("groups", "sample_weight") if k in kwargs}
        out["score"] = model.score(
            convert(X), convert(y), **{k: convert(v) for k, v in scored.items()}
        )
    return out


@pytest.mark.parametrize("name", registry.names(kind="grouped"))
def test_tensor_pairs_groups_and_scores(name):
    want = _other_calls(name, np.asarray)
    got = _other_calls(
        name, lambda a: torch.tensor(a, requires_grad=a.dtype.kind == "f")
    )
    assert got.keys() == want.keys() and want
    for method, values in want.items():
        np.testing.assert_array_equal(got[method], values, err_msg=method)


@pytest.mark.filterwarnings("ignore:ComplexHalf support is experimental")
@pytest.mark.parametrize("name", registry.names())
def test_tensor_dtype_numpy_lacks_is_refused_naming_the_argument(name):
    X, y, kwargs = _numeric_fit_data(name)
    # complex32: neither floating point nor a dtype numpy has.
    unsupported = torch.from_numpy(X).to(torch.complex32)
    model = registry.make(name)
    with pytest.raises(
        TypeError, match=r"(X|scores) is a torch tensor of dtype torch\.complex32"
    ) as info:
        if y is None:
            model.fit(unsupported, **kwargs)
        else:
            model.fit(unsupported, y, **kwargs)
    # Raised by validation, not from inside torch.
    frames = traceback.extract_tb(info.value.__traceback__)
    assert "/torch/" not in frames[-1].filename


def test_from_torch_shares_the_memory_of_a_cpu_tensor():
    tensor = torch.arange(12.0, dtype=torch.float64).reshape(3, 4)
    grad = torch.ones(3, 4, requires_grad=True)
    for values in (tensor, tensor.T, tensor[:, ::2], grad, grad.T):
        array = from_torch(values, "X")
        assert isinstance(array, np.ndarray)
        assert np.shares_memory(array, values.detach().numpy())
        np.testing.assert_array_equal(array, values.detach().numpy())
    X = torch.ones(3, 2, dtype=torch.float64)
    assert np.shares_memory(check_features(X), X.numpy())


def test_from_torch_leaves_other_input_alone():
    for values in (None, [1, 2], np.ones(2), "a"):
        assert from_torch(values, "X") is values


def test_from_torch_refuses_sparse_tensors():
    sparse = torch.eye(3).to_sparse()
    with pytest.raises(TypeError, match=r"groups is a sparse torch tensor.*to_dense"):
        from_torch(sparse, "groups")


def test_converters_take_tensors():
    X_a, X_b = torch.eye(2, requires_grad=True), torch.ones(2, 2)
    got = pairs_to_long(X_a, X_b, torch.tensor([1.0, 0.5]))
    want = pairs_to_long(np.eye(2), np.ones((2, 2)), [1.0, 0.5])
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    got = comparisons_to_long(torch.eye(3).bfloat16(), torch.tensor([[0, 1], [2, 0]]))
    want = comparisons_to_long(np.eye(3), [[0, 1], [2, 0]])
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


# ------------------------------------------------------------------ metrics
def _routed(scorer, *args, **kwargs):
    """A scorer called with metadata, which needs routing enabled."""
    with sklearn.config_context(enable_metadata_routing=True):
        return scorer(*args, **kwargs)


_RNG = np.random.default_rng(0)
_N = 40
_GROUPS = np.arange(_N) // 4
_GRADES = np.round(_RNG.normal(size=_N), 1)
_SCORES = _RNG.normal(size=_N)
_LABELS = np.arange(_N) % 2
_PROBA = _RNG.uniform(0.05, 0.95, size=_N)
_SENSITIVE = np.arange(_N) % 2
_ORDINAL = np.arange(_N) % 3
_ORDINAL_PRED = np.ascontiguousarray(_ORDINAL[::-1])
_PROBA3 = np.full((_N, 3), 0.25) + 0.25 * (np.arange(3) == _ORDINAL[:, None])
_WEIGHT = _RNG.uniform(0.5, 2.0, size=_N)
_X = _RNG.normal(size=(_N, 2))

METRICS = {
    "pairwise_accuracy": lambda t: metrics.pairwise_accuracy(
        t(_GRADES), t(_SCORES), groups=t(_GROUPS), sample_weight=t(_WEIGHT)
    ),
    "preference_log_loss": lambda t: metrics.preference_log_loss(
        t(_GRADES), t(_SCORES), groups=t(_GROUPS), sample_weight=t(_WEIGHT)
    ),
    "grouped_ndcg_score": lambda t: metrics.grouped_ndcg_score(
        t(_GRADES - _GRADES.min()),
        t(_SCORES),
        groups=t(_GROUPS),
        sample_weight=t(_WEIGHT),
    ),
    "exposure_disparity": lambda t: metrics.exposure_disparity(
        t(_SCORES), t(_SENSITIVE), groups=t(_GROUPS), policy="deterministic"
    ),
    "make_grouped_scorer": lambda t: metrics.make_grouped_scorer(
        metrics.grouped_ndcg_score, k=2
    )(
        DummyRegressor().fit(_X, _SCORES),
        t(_X),
        t(_GRADES - _GRADES.min()),
        groups=t(_GROUPS),
    ),
    "expected_calibration_error": lambda t: metrics.expected_calibration_error(
        t(_LABELS), t(_PROBA), n_bins=5
    ),
    "smooth_ece": lambda t: metrics.smooth_ece(t(_LABELS), t(_PROBA)),
    "brier_score": lambda t: metrics.brier_score(
        t(_LABELS), t(_PROBA), sample_weight=t(_WEIGHT)
    ),
    "negative_log_likelihood": lambda t: metrics.negative_log_likelihood(
        t(_LABELS), t(_PROBA), sample_weight=t(_WEIGHT), labels=t(np.arange(2))
    ),
    "calibration_report": lambda t: metrics.calibration_report(
        t(_LABELS), {"model": t(_PROBA)}, n_bins=5, output_dict=True
    ),
    "group_js_divergence": lambda t: metrics.group_js_divergence(
        t(_SCORES), t(_SENSITIVE)
    ),
    "unfairness_ratio": lambda t: metrics.unfairness_ratio(t(_SCORES), t(_SENSITIVE)),
    "distance_correlation": lambda t: metrics.distance_correlation(
        t(_SCORES), t(_SENSITIVE)
    ),
    "conditional_distance_correlation": (
        lambda t: metrics.conditional_distance_correlation(
            t(_LABELS), t(_SCORES), t(_SENSITIVE)
        )
    ),
    "make_fairness_scorer": lambda t: _routed(
        metrics.make_fairness_scorer(),
        DummyRegressor().fit(_X, _SCORES),
        t(_X),
        t(_SCORES),
        sensitive_features=t(_SENSITIVE),
    ),
    # A refit reads scikit-learn's cv_results_ (NumPy arrays), never tensors.
    "best_under_fairness_bound": lambda t: metrics.best_under_fairness_bound(
        "r2", "dcor", 0.5
    )({"mean_test_r2": _SCORES[:4], "mean_test_dcor": -_PROBA[:4]}),
    # Two users, each of two of the groups' comparisons; arrays compare by
    # value as a tuple of lists.
    "per_user_pairwise_accuracy": lambda t: tuple(
        np.asarray(part).tolist()
        for part in metrics.per_user_pairwise_accuracy(
            t(_GRADES),
            t(_SCORES),
            groups=t(_GROUPS),
            users=t(_GROUPS % 2),
            sample_weight=t(_WEIGHT),
        )
    ),
    "ranking_accuracy": lambda t: metrics.ranking_accuracy(
        t(_GRADES),
        t(_SCORES),
        groups=t(_GROUPS),
        reference_log_proba=t(_SCORES / 2),
        sample_weight=t(_WEIGHT),
    ),
    "ordinal_mae": lambda t: metrics.ordinal_mae(
        t(_ORDINAL), t(_ORDINAL_PRED), labels=t(np.arange(3)), sample_weight=t(_WEIGHT)
    ),
    "ranked_probability_score": lambda t: metrics.ranked_probability_score(
        t(_ORDINAL), t(_PROBA3), sample_weight=t(_WEIGHT)
    ),
}


def test_every_public_metric_is_covered():
    assert set(METRICS) == set(metrics.__all__)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("metric", METRICS)
def test_metric_of_tensors_equals_metric_of_arrays(metric, variant):
    make = VARIANTS[variant]
    want = METRICS[metric](lambda a: make(a)[1])
    got = METRICS[metric](lambda a: make(a)[0])
    assert got == want


# --------------------------------------------------------------------- GPU
def _cuda(a):
    return torch.from_numpy(a).cuda()


@pytest.mark.gpu
@pytest.mark.parametrize("name", registry.names())
def test_cuda_tensors_fit_as_the_numpy_fit(name):
    want = _fit_outputs(name, np.asarray)
    got = _fit_outputs(name, _cuda)
    _assert_same_outputs(got, want)


@pytest.mark.gpu
@pytest.mark.parametrize("metric", METRICS)
def test_metric_of_cuda_tensors(metric):
    assert METRICS[metric](_cuda) == METRICS[metric](np.asarray)


# -------------------------------------------------------- array API dispatch
# scipy reads SCIPY_ARRAY_API once, at import, and scikit-learn refuses
# array_api_dispatch=True without it: the check runs in a fresh interpreter.
_DISPATCH_SCRIPT = """
import json, sys, warnings
import numpy as np
import sklearn
import torch

torch.set_num_threads(1)
warnings.simplefilter("ignore")
from tests.reliability import test_tensor_input as t

try:
    sklearn.set_config(array_api_dispatch=True)
except (ImportError, RuntimeError) as exc:
    print(json.dumps({"skip": str(exc)}))
    sys.exit(0)
results = {}
for name in t.registry.names():
    try:
        got = t._fit_outputs(name, torch.from_numpy)
        results[name] = {k: [type(v).__name__, v.tolist()] for k, v in got.items()}
    except Exception as exc:
        results[name] = {"error": repr(exc)}
for metric, call in t.METRICS.items():
    try:
        results[metric] = call(torch.from_numpy)
    except Exception as exc:
        results[metric] = {"error": repr(exc)}
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def dispatched():
    root = Path(__file__).resolve().parents[2]
    path = os.pathsep.join(
        [
            str(Path(skalign.__file__).parents[1]),
            str(root),
            os.environ.get("PYTHONPATH", ""),
        ]
    )
    env = {
        **os.environ,
        "SCIPY_ARRAY_API": "1",
        "PYTHONPATH": path,
        "OMP_NUM_THREADS": "1",
    }
    result = subprocess.run(
        [sys.executable, "-c", _DISPATCH_SCRIPT],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(result.stdout.strip().splitlines()[-1])
    if "skip" in results:
        pytest.skip(f"array API dispatch unavailable: {results['skip']}")
    return results


@pytest.mark.parametrize("name", registry.names())
def test_array_api_dispatch_converts_tensors_to_numpy(dispatched, name):
    # skalign's estimators have no array API support: with dispatch on they
    # work on numpy copies of the tensors and return numpy arrays.
    got = dispatched[name]
    assert "error" not in got, got
    want = _fit_outputs(name, np.asarray)
    assert got.keys() == want.keys()
    for method, values in want.items():
        kind, result = got[method]
        assert kind == "ndarray", method
        np.testing.assert_array_equal(np.asarray(result), values, err_msg=method)


@pytest.mark.parametrize("metric", METRICS)
def test_array_api_dispatch_metrics(dispatched, metric):
    got = dispatched[metric]
    assert not (isinstance(got, dict) and "error" in got), got
    want = json.loads(json.dumps(METRICS[metric](np.asarray)))
    assert got == want
