"""group_js_divergence, unfairness_ratio and distance_correlation."""

import dcor
import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, mean_prediction
from scipy.integrate import quad
from scipy.spatial.distance import jensenshannon
from scipy.stats import norm
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import OneHotEncoder

from skalign.fairness import encode_sensitive_features
from skalign.metrics import distance_correlation, group_js_divergence, unfairness_ratio


def _js_of_shifted_normals(shift):
    """JS divergence (bits) of N(0, 1) and N(shift, 1), by quadrature."""

    def integrand(x):
        p, q = norm.pdf(x), norm.pdf(x, shift)
        m = 0.5 * (p + q)
        return 0.5 * p * np.log2(p / m) + 0.5 * q * np.log2(q / m)

    return quad(integrand, -12, 12 + shift)[0]


@pytest.mark.parametrize("shift", [1.0, 3.0])
def test_kde_divergence_approaches_the_true_value(shift):
    rng = np.random.default_rng(0)
    group = np.repeat(["a", "b"], 10_000)
    values = rng.normal(size=20_000) + shift * (group == "b")
    assert group_js_divergence(values, group) == pytest.approx(
        _js_of_shifted_normals(shift), abs=0.02
    )


def test_label_divergence_is_exact():
    rng = np.random.default_rng(1)
    group = np.repeat(["a", "b"], [300, 300])
    labels = np.concatenate([rng.choice(3, 300, p=[0.2, 0.3, 0.5]), rng.choice(3, 300)])
    p = np.bincount(labels[:300], minlength=3) / 300
    q = np.bincount(labels[300:], minlength=3) / 300
    expected = jensenshannon(p, q, base=2) ** 2
    assert group_js_divergence(labels, group) == pytest.approx(expected, abs=1e-12)
    strings = np.array(["x", "y", "z"])[labels]
    assert group_js_divergence(strings, group) == pytest.approx(expected, abs=1e-12)


def test_group_weights_and_zero_cases():
    labels = np.array([1, 1, 1, 0, 0, 1, 0, 1])
    group = np.array(["a"] * 6 + ["b"] * 2)
    proportional = group_js_divergence(labels, group)
    uniform = group_js_divergence(labels, group, group_weights="uniform")
    p, q = np.array([2, 4]) / 6, np.array([1, 1]) / 2
    m = 0.75 * p + 0.25 * q
    kl = lambda a, b: np.sum(a * np.log2(a / b))  # noqa: E731
    assert proportional == pytest.approx(0.75 * kl(p, m) + 0.25 * kl(q, m))
    assert uniform == pytest.approx(jensenshannon(p, q, base=2) ** 2)
    assert group_js_divergence(np.full(8, 2.5), group) == 0.0
    with pytest.raises(ValueError, match="group_weights"):
        group_js_divergence(labels, group, group_weights="equal")
    with pytest.raises(ValueError, match="bandwidth"):
        group_js_divergence(labels.astype(float), group, bandwidth=-1.0)


def test_divergence_of_probability_columns_is_their_mean():
    rng = np.random.default_rng(2)
    group = np.repeat(["a", "b"], 200)
    p = rng.uniform(size=(400, 2))
    both = group_js_divergence(p, group, bandwidth=0.05)
    each = [group_js_divergence(p[:, j], group, bandwidth=0.05) for j in (0, 1)]
    assert both == pytest.approx(np.mean(each))


def test_unfairness_ratio_is_r2_on_the_intersectional_groups():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "race": rng.choice(["a", "b", "c"], 500),
            "gender": rng.choice(["f", "m"], 500),
        }
    )
    pred = rng.normal(size=500) + ((frame["race"] == "a") & (frame["gender"] == "f"))
    pred = pred.to_numpy()
    dummies = OneHotEncoder().fit_transform(
        (frame["race"] + frame["gender"]).to_frame()
    )
    r2 = LinearRegression().fit(dummies, pred).score(dummies, pred)
    assert unfairness_ratio(pred, frame) == pytest.approx(r2, abs=1e-10)
    # The group means are fairlearn's disaggregated mean predictions.
    means = MetricFrame(
        metrics=mean_prediction,
        y_true=pred,
        y_pred=pred,
        sensitive_features=frame,
    ).by_group
    between = sum(
        ((frame["race"] == r) & (frame["gender"] == g)).mean() * (m - pred.mean()) ** 2
        for (r, g), m in means.items()
    )
    assert unfairness_ratio(pred, frame) == pytest.approx(
        between / np.var(pred), abs=1e-10
    )


def test_unfairness_ratio_bins_continuous_attributes():
    age = np.arange(100.0)
    # Quartile bins of 0..99 have means 12, 37, 62 and 87.
    between = np.var([12.0, 37.0, 62.0, 87.0])
    assert unfairness_ratio(age, age, continuous_bins=4) == pytest.approx(
        between / age.var(), abs=1e-12
    )
    assert unfairness_ratio(np.ones(100), age) == 0.0
    two = np.column_stack([age, -age])
    assert unfairness_ratio(two, age) == pytest.approx(unfairness_ratio(age, age))


@pytest.mark.parametrize("categorical", [False, True])
def test_distance_correlation_matches_dcor(categorical):
    rng = np.random.default_rng(4)
    age = rng.uniform(20, 60, size=300)
    pred = np.sin(age / 5) + rng.normal(size=300)
    if categorical:
        sensitive = pd.DataFrame({"race": rng.choice(list("abc"), 300), "age": age})
        encoded = encode_sensitive_features(sensitive).values
    else:
        sensitive, encoded = age, (age - age.mean()) / age.std()
    assert distance_correlation(pred, sensitive) == pytest.approx(
        dcor.distance_correlation(pred, encoded), abs=1e-10
    )
    assert distance_correlation(np.ones(300), sensitive) == 0.0


@pytest.mark.parametrize(
    "metric", [group_js_divergence, unfairness_ratio, distance_correlation]
)
def test_bad_input(metric):
    with pytest.raises(ValueError, match="missing values"):
        metric(np.ones(4), np.array(["a", None, "b", "a"], dtype=object))
    with pytest.raises(ValueError, match="3 rows but X has 4"):
        metric(np.arange(4.0), ["a", "b", "a"])
    with pytest.raises(ValueError, match="single group"):
        metric(np.arange(4.0), ["a"] * 4)
    with pytest.raises(ValueError, match="y_pred"):
        metric(np.array([1.0, np.nan, 2.0, 3.0]), ["a", "b"] * 2)


def test_distance_correlation_agrees_with_dcor_unscaled_and_says_when_not():
    import dcor
    from sklearn.datasets import load_iris

    from skalign.metrics import distance_correlation

    X = load_iris().data
    y, S = X[:, 0], X[:, 1:]
    reference = dcor.distance_correlation(y, S)
    assert distance_correlation(
        y, S, categorical_features=[], scale_continuous=False
    ) == pytest.approx(reference, rel=1e-10)
    # The default standardises each column: a different, documented value.
    scaled = distance_correlation(y, S, categorical_features=[])
    assert scaled == pytest.approx(dcor.distance_correlation(y, S / S.std(0)), rel=1e-6)
    # One column: the same either way.
    assert distance_correlation(y, S[:, 0], categorical_features=[]) == pytest.approx(
        dcor.distance_correlation(y, S[:, 0]), rel=1e-10
    )
