"""Bad input to the ordinal estimators: clear errors, never a torch crash."""

import numpy as np
import pytest

from skalign.ordinal import PrestoClassifier, PrestoClassifierCV, presto_path

from .. import _registry as registry

# Every classifier of ordered labels, small and fast, from the registry.
CLASSIFIERS = registry.names(kind="ordinal")


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    return X, rng.integers(0, 3, size=40)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_single_observed_class(name, data):
    X, _ = data
    with pytest.raises(ValueError, match="at least two classes; y has only one"):
        registry.make(name).fit(X, np.full(40, 2))


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_only_one_class_with_positive_weight(name, data):
    X, y = data
    weight = (y == 1).astype(float)
    with pytest.raises(ValueError, match="positive on rows of only one class"):
        registry.make(name).fit(X, y, sample_weight=weight)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_labels_that_cannot_be_ordered(name, data):
    X, _ = data
    y = np.array([1, "a"] * 20, dtype=object)
    with pytest.raises(
        ValueError, match=r"y labels cannot be ordered.*\['int', 'str'\]"
    ):
        registry.make(name).fit(X, y)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_continuous_labels(name, data):
    X, _ = data
    y = np.linspace(0, 1, 40)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        registry.make(name).fit(X, y)


@pytest.mark.parametrize("name", CLASSIFIERS)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_X_and_y(name, data, bad):
    X, y = data
    X_bad = X.copy()
    X_bad[3, 1] = bad
    with pytest.raises(ValueError, match=r"Input X contains (NaN|infinity)"):
        registry.make(name).fit(X_bad, y)
    with pytest.raises(ValueError, match=r"Input y contains (NaN|infinity)"):
        registry.make(name).fit(X, np.where(np.arange(40) == 0, bad, y))


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_wrong_lengths_and_feature_counts(name, data):
    X, y = data
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        registry.make(name).fit(X, y[:-1])
    with pytest.raises(ValueError, match=r"sample_weight\.shape"):
        registry.make(name).fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="Negative values in data passed to"):
        registry.make(name).fit(X, y, sample_weight=-np.ones(40))
    model = registry.make(name).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features"):
        model.predict(np.ones((2, 3)))


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_score_with_unknown_label(name, data):
    X, y = data
    model = registry.make(name).set_params(scoring="neg_ordinal_mae").fit(X, y)
    with pytest.raises(ValueError, match="contains labels not in labels"):
        model.score(X, np.where(y == 0, 7, y))


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(alpha=-1.0), "'alpha' parameter"),
        (dict(alpha_first=-0.1), "'alpha_first' parameter"),
        (dict(prediction="mean"), "'prediction' parameter"),
        (dict(scoring="f1"), "'scoring' parameter"),
        (dict(max_iter=0), "'max_iter' parameter"),
        (dict(dtype="float16"), "'dtype' parameter"),
    ],
)
def test_presto_bad_parameters(params, match, data):
    X, y = data
    with pytest.raises(ValueError, match=match):
        PrestoClassifier(**params).fit(X, y)


def test_presto_cv_bad_alphas(data):
    X, y = data
    with pytest.raises(ValueError, match="non-negative finite strengths"):
        PrestoClassifierCV(alphas=[0.1, -1.0]).fit(X, y)
    with pytest.raises(ValueError, match="'alphas' parameter"):
        PrestoClassifierCV(alphas=0).fit(X, y)
    with pytest.raises(ValueError, match="'eps' parameter"):
        presto_path(X, y, eps=2.0)


def test_cuda_without_cuda(data, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    X, y = data
    with pytest.raises(ValueError, match="CUDA is not available"):
        PrestoClassifier(device="cuda").fit(X, y)


def test_unfitted_prediction(data):
    from sklearn.exceptions import NotFittedError

    X, _ = data
    for name in CLASSIFIERS:
        with pytest.raises(NotFittedError):
            registry.make(name).predict_proba(X)
