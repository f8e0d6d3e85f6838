"""Distance-covariance penalties: reference values, identities, invariants."""

import contextlib
import itertools

import dcor
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose
from scipy.stats import ortho_group

from skalign._loss.dependence import (
    blockwise_dcov_stats,
    concatenated_distance_covariance,
    dependence_penalty,
    distance_covariance,
    fast_distance_covariance,
    joint_distance_covariance,
    pooled_rows,
    unit_dependence_penalty,
)

REFERENCE = {"v": dcor.distance_covariance_sqr, "u": dcor.u_distance_covariance_sqr}


def _sample(n, p, q, seed, ties=False):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, p))
    b = a[:, :1] ** 2 + rng.normal(size=(n, q))
    if ties:
        a, b = np.round(a), np.round(b)
    return a, b


@pytest.mark.parametrize("statistic", ["v", "u"])
@pytest.mark.parametrize("n", [4, 5, 17, 130])
@pytest.mark.parametrize("ties", [False, True])
def test_univariate_matches_dcor_naive_and_fast(statistic, n, ties):
    a, b = _sample(n, 1, 1, seed=n, ties=ties)
    expected = REFERENCE[statistic](a[:, 0], b[:, 0])
    for method in ("naive", "fast"):
        value = distance_covariance(a[:, 0], b[:, 0], statistic, method=method)
        assert value.dtype == torch.float64
        assert abs(float(value) - expected) < 1e-10


@pytest.mark.parametrize("statistic", ["v", "u"])
@pytest.mark.parametrize(("p", "q"), [(3, 1), (2, 4)])
def test_multivariate_matches_dcor(statistic, p, q):
    a, b = _sample(60, p, q, seed=p + q)
    expected = REFERENCE[statistic](a, b)
    assert abs(float(distance_covariance(a, b, statistic)) - expected) < 1e-10


@pytest.mark.parametrize("statistic", ["v", "u"])
def test_fast_path_equals_naive_on_larger_data(statistic):
    a, b = _sample(3000, 1, 1, seed=1)
    a[::7] = a[1::7][: len(a[::7])]  # repeated values: ties in x
    naive = distance_covariance(a, b, statistic, method="naive")
    fast = distance_covariance(a, b, statistic, method="fast")
    auto = distance_covariance(a, b, statistic)
    assert abs(float(fast) - float(naive)) < 1e-10
    assert float(auto) == float(fast)


def test_fast_path_gradient_equals_naive():
    a, b = (torch.tensor(v[:, 0], requires_grad=True) for v in _sample(50, 1, 1, 3))
    grads = [
        torch.autograd.grad(distance_covariance(a, b, method=m), (a, b))
        for m in ("naive", "fast")
    ]
    for g_naive, g_fast in zip(*grads):
        assert_allclose(g_fast.numpy(), g_naive.numpy(), atol=1e-12)
    assert torch.autograd.gradcheck(
        lambda x, y: distance_covariance(x, y, "u", method="fast"), (a, b)
    )


@pytest.mark.parametrize("kind", ["dcov", "ccdcov", "jdcov"])
def test_penalty_gradcheck(kind):
    rng = np.random.default_rng(0)
    pred = torch.tensor(rng.normal(size=(9, 2)), requires_grad=True)
    attributes = torch.tensor(rng.normal(size=(9, 3)))
    assert torch.autograd.gradcheck(
        lambda p: dependence_penalty(p, attributes, kind=kind, sizes=(2, 1)), (pred,)
    )


def test_gradient_is_zero_for_constant_predictions():
    # A linear scorer starts at zero weights: every prediction is equal and
    # every distance zero, where the Euclidean norm has no derivative.
    for k in (1, 3):
        pred = torch.zeros(6, k, dtype=torch.float64, requires_grad=True)
        attributes = torch.arange(6.0, dtype=torch.float64)
        value = dependence_penalty(pred, attributes[:, None], kind="jdcov")
        (grad,) = torch.autograd.grad(value, pred)
        assert torch.isfinite(grad).all()


@pytest.mark.parametrize("method", ["naive", "fast"])
def test_weights_equal_repeated_rows(method):
    a, b = _sample(40, 1, 1, seed=4)
    counts = np.random.default_rng(4).integers(0, 4, size=40)
    counts[0] = 1
    rows = np.repeat(np.arange(40), counts)
    weighted = distance_covariance(
        a, b, weight=torch.tensor(counts, dtype=torch.float64), method=method
    )
    assert abs(float(weighted) - dcor.distance_covariance_sqr(a[rows], b[rows])) < 1e-10


def test_weighted_jdcov_equals_repeated_rows():
    rng = np.random.default_rng(5)
    pred, s1, s2 = rng.normal(size=(3, 30))
    counts = rng.integers(1, 4, size=30)
    rows = np.repeat(np.arange(30), counts)
    weighted = joint_distance_covariance(
        pred, s1, s2, statistic="v", weight=torch.tensor(counts, dtype=torch.float64)
    )
    repeated = joint_distance_covariance(pred[rows], s1[rows], s2[rows], statistic="v")
    assert abs(float(weighted) - float(repeated)) < 1e-10


def _jdcov_by_definition(variables, c, statistic):
    """JdCov² from Chakraborty & Zhang's formulas, entry by entry."""
    n = len(variables[0])
    prod = np.ones((n, n))
    for x in variables:
        x = np.asarray(x, dtype=float).reshape(n, -1)
        d = np.array(
            [[np.linalg.norm(x[k] - x[m]) for m in range(n)] for k in range(n)]
        )
        u = np.zeros((n, n))
        for k, m in itertools.product(range(n), range(n)):
            if statistic == "v":
                u[k, m] = d[k].mean() + d[:, m].mean() - d[k, m] - d.mean()
            elif k != m:
                u[k, m] = (
                    d[k].sum() / (n - 2)
                    + d[:, m].sum() / (n - 2)
                    - d[k, m]
                    - d.sum() / ((n - 1) * (n - 2))
                )
        prod *= u + c
    d = len(variables)
    if statistic == "v":
        return prod.mean() - c**d
    return prod.sum() / (n * (n - 3)) - c**d * n / (n - 3)


@pytest.mark.parametrize("statistic", ["u", "v"])
@pytest.mark.parametrize("c", [0.5, 1.0, 3.0])
def test_jdcov_equals_its_definition(statistic, c):
    rng = np.random.default_rng(6)
    pred = rng.normal(size=(12, 2))
    s1 = rng.normal(size=12)
    s2 = np.eye(3)[rng.integers(0, 3, size=12)]
    value = joint_distance_covariance(pred, s1, s2, c=c, statistic=statistic)
    expected = _jdcov_by_definition([pred, s1, s2], c, statistic)
    assert abs(float(value) - expected) < 1e-10


@pytest.mark.parametrize("statistic", ["u", "v"])
def test_jdcov_of_two_variables_is_dcov(statistic):
    # Π (U_i + c) - c² = U_1 U_2 + c (U_1 + U_2), and the centred
    # matrices sum to zero: only the dCov² term is left, whatever c.
    a, b = _sample(25, 2, 1, seed=7)
    for c in (0.1, 1.0, 10.0):
        jd = joint_distance_covariance(a, b, c=c, statistic=statistic)
        dc = distance_covariance(a, b, statistic)
        assert abs(float(jd) - float(dc)) < 1e-10


def test_jdcov_sees_joint_but_not_pairwise_dependence():
    rng = np.random.default_rng(8)
    s1, s2 = rng.choice([-1.0, 1.0], size=(2, 400))
    pred = s1 * s2 + 0.1 * rng.normal(size=400)
    joint = float(joint_distance_covariance(pred, s1, s2))
    pairwise = float(
        distance_covariance(pred, s1, "u") + distance_covariance(pred, s2, "u")
    )
    assert joint > 0.5
    assert abs(pairwise) < 0.02


@pytest.mark.parametrize("statistic", ["u", "v"])
def test_ccdcov_with_one_attribute_is_dcov(statistic):
    a, b = _sample(30, 1, 3, seed=9)
    assert float(concatenated_distance_covariance(a, b, statistic)) == pytest.approx(
        float(distance_covariance(a, b, statistic)), abs=1e-12
    )
    assert float(
        concatenated_distance_covariance(a, [b[:, 0], b[:, 1:]], statistic)
    ) == pytest.approx(float(distance_covariance(a, b, statistic)), abs=1e-12)


def test_penalty_kinds():
    a, b = _sample(40, 1, 3, seed=10)
    pred, attributes = torch.tensor(a), torch.tensor(b)
    by_attribute = sum(
        float(distance_covariance(pred, attributes[:, j])) for j in range(3)
    )
    assert float(
        dependence_penalty(pred, attributes, kind="dcov", sizes=(1, 1, 1))
    ) == pytest.approx(by_attribute, abs=1e-12)
    for kind in ("dcov", "ccdcov"):
        assert float(dependence_penalty(pred, attributes, kind=kind)) == pytest.approx(
            float(distance_covariance(pred, attributes)), abs=1e-12
        )
    assert float(
        dependence_penalty(pred, attributes, kind="jdcov", sizes=(2, 1), c=2.0)
    ) == pytest.approx(
        float(
            joint_distance_covariance(
                pred, attributes[:, :2], attributes[:, 2], c=2.0, statistic="v"
            )
        ),
        abs=1e-12,
    )


@pytest.mark.parametrize("n", [40, 1500])
@pytest.mark.parametrize("statistic", ["v", "u"])
def test_fast_paths_of_the_penalty_equal_distance_matrices(n, statistic):
    # One-hot (3 levels), two levels as one column, and a continuous column.
    rng = np.random.default_rng(13)
    levels = rng.integers(0, 3, size=n)
    attributes = np.column_stack(
        [np.eye(3)[levels], np.sqrt(2) * rng.integers(0, 2, size=n), rng.normal(size=n)]
    )
    pred = torch.tensor(np.sin(levels) + rng.normal(size=n), requires_grad=True)
    attributes = torch.tensor(attributes)
    weight = None if statistic == "u" else torch.tensor(rng.uniform(0, 2, size=n))
    sizes, flags = (3, 1, 1), (True, True, False)
    for kind in ("dcov", "ccdcov"):
        parts = (sizes, flags) if kind == "dcov" else ((3,), (True,))
        columns = attributes if kind == "dcov" else attributes[:, :3]
        fast = dependence_penalty(
            pred,
            columns,
            kind=kind,
            sizes=parts[0],
            categorical=parts[1],
            statistic=statistic,
            weight=weight,
        )
        naive = sum(
            distance_covariance(pred, part, statistic, weight=weight, method="naive")
            for part in torch.split(columns, parts[0], dim=1)
        )
        assert fast.item() == pytest.approx(naive.item(), abs=1e-10)
        (g_fast,) = torch.autograd.grad(fast, pred)
        (g_naive,) = torch.autograd.grad(naive, pred)
        assert_allclose(g_fast.numpy(), g_naive.numpy(), atol=1e-10)


def test_categorical_path_with_a_single_level_in_the_batch():
    pred = torch.randn(
        600, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    one_hot = torch.zeros(600, 3, dtype=torch.float64)
    one_hot[:, 1] = 1.0
    for attributes, sizes in ((one_hot, (3,)), (torch.zeros(600, 1), (1,))):
        value = dependence_penalty(pred, attributes, sizes=sizes, categorical=(True,))
        assert abs(float(value)) < 1e-12


def test_float32_and_gradients_flow():
    pred = torch.randn(64, requires_grad=True)
    attributes = torch.randn(64, 2)
    for kind in ("dcov", "ccdcov", "jdcov"):
        value = dependence_penalty(pred, attributes, kind=kind, sizes=(1, 1))
        assert value.dtype == torch.float32
        (grad,) = torch.autograd.grad(value, pred)
        assert torch.isfinite(grad).all()


def test_blockwise_statistics_match_dcor():
    a, b = _sample(150, 2, 3, seed=11)
    dcov, dvar_a, dvar_b = blockwise_dcov_stats(torch.tensor(a), torch.tensor(b), 32)
    assert dcov == pytest.approx(dcor.distance_covariance_sqr(a, b), abs=1e-10)
    assert dvar_a == pytest.approx(dcor.distance_covariance_sqr(a, a), abs=1e-10)
    assert dvar_b == pytest.approx(dcor.distance_covariance_sqr(b, b), abs=1e-10)


def test_fast_variance_matches_dcor():
    a, _ = _sample(500, 1, 1, seed=12)
    x = torch.tensor(a[:, 0])
    assert float(fast_distance_covariance(x, x)) == pytest.approx(
        dcor.distance_covariance_sqr(a, a), abs=1e-10
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: distance_covariance(np.ones(5), np.ones(4)), "same number of rows"),
        (lambda: distance_covariance(np.ones(3), np.ones(3), "u"), "at least 4"),
        (lambda: distance_covariance(np.ones(5), np.ones(5), "w"), "statistic"),
        (
            lambda: distance_covariance(np.ones(5), np.ones(5), "u", weight=np.ones(5)),
            "only supported with statistic='v'",
        ),
        (
            lambda: distance_covariance(np.ones((5, 2)), np.ones(5), method="fast"),
            "univariate",
        ),
        (lambda: distance_covariance(np.ones(5), np.ones(5), method="x"), "method"),
        (
            lambda: distance_covariance(np.ones(5), np.ones(5), weight=-np.ones(5)),
            "non-negative",
        ),
        (lambda: distance_covariance(np.ones((2, 2, 2)), np.ones(2)), "1-D"),
        (lambda: distance_covariance([1.0, np.nan, 2.0], np.ones(3)), "NaN"),
        (lambda: joint_distance_covariance(np.ones(5)), "at least one attribute"),
        (lambda: joint_distance_covariance(np.ones(5), np.ones(5), c=0), "c must"),
        (
            lambda: dependence_penalty(np.ones(5), np.ones((5, 2)), sizes=(1, 2)),
            "sizes",
        ),
        (lambda: dependence_penalty(np.ones(5), np.ones(5), kind="hsic"), "kind"),
        (
            lambda: dependence_penalty(
                np.ones(5), np.ones(5), categorical=(True, True)
            ),
            "one entry per attribute",
        ),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------- properties
_finite = st.floats(-10, 10, allow_nan=False, width=64)


def _pairs(min_rows=4):
    return st.integers(min_rows, 12).flatmap(
        lambda n: st.tuples(
            arrays(np.float64, (n, 2), elements=_finite),
            arrays(np.float64, (n, 2), elements=_finite),
        )
    )


@settings(max_examples=40, deadline=None)
@given(_pairs(min_rows=1))
def test_v_statistic_is_non_negative(data):
    a, b = data
    assert float(distance_covariance(a, b)) >= -1e-10
    assert float(distance_covariance(a[:, 0], b[:, 0], method="fast")) >= -1e-10


@settings(max_examples=30, deadline=None)
@given(_pairs(), st.floats(-5, 5))
def test_zero_for_a_constant_attribute(data, value):
    a, _ = data
    constant = np.full((a.shape[0], 2), value)
    for statistic in ("v", "u"):
        assert abs(float(distance_covariance(a, constant, statistic))) < 1e-10
    assert abs(float(joint_distance_covariance(a, constant))) < 1e-9


@settings(max_examples=30, deadline=None)
@given(_pairs(), st.integers(0, 2**31 - 1), arrays(np.float64, 2, elements=_finite))
def test_invariant_to_shifting_and_rotating_attributes(data, seed, shift):
    a, b = data
    rotation = ortho_group.rvs(2, random_state=seed)
    moved = b @ rotation + shift
    for statistic in ("v", "u"):
        before = float(distance_covariance(a, b, statistic))
        after = float(distance_covariance(a, moved, statistic))
        assert after == pytest.approx(before, abs=1e-8 * (1 + abs(before)))


@settings(max_examples=30, deadline=None)
@given(_pairs(), st.floats(-20, 20).filter(lambda s: abs(s) > 1e-3))
def test_scale_equivariant(data, scale):
    a, b = data
    for statistic in ("v", "u"):
        base = float(distance_covariance(a, b, statistic))
        scaled = float(distance_covariance(a, scale * b, statistic))
        assert scaled == pytest.approx(abs(scale) * base, abs=1e-8 * (1 + abs(base)))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n", [2, 7, 1500])
def test_univariate_distance_variance_equals_the_distance_matrices(n, weighted):
    # The normalised penalty's O(n log n) dVar², with ties.
    from skalign._loss.dependence import _normalise, _univariate_distance_variance

    g = torch.Generator().manual_seed(n)
    x = torch.randn(n, 1, dtype=torch.float64, generator=g)
    x[: n // 3] = x[0]
    weight = (
        _normalise(torch.rand(n, dtype=torch.float64, generator=g))
        if weighted
        else None
    )
    expected = distance_covariance(x, x, "v", weight=weight, method="naive")
    got = _univariate_distance_variance(x, weight)
    assert float(got) == pytest.approx(float(expected), rel=1e-10, abs=1e-14)


@pytest.mark.parametrize("levels", [2, 4, 7])
@pytest.mark.parametrize("weighted", [False, True])
def test_categorical_distance_variance_is_the_distance_matrices_one(levels, weighted):
    # The O(n) distance variance of an encoded categorical attribute (the
    # divisor of a normalised penalty) equals the V-statistic from the
    # n x n distances, for a two-valued column and for one-hot levels.
    from skalign._loss.dependence import (
        _attribute_dcov,
        _categorical_distance_variance,
    )

    rng = np.random.default_rng(levels)
    codes = rng.integers(0, levels, 300)
    if levels == 2:
        values = np.where(codes == 1, 3.5, -1.0)[:, None]
    else:
        values = np.eye(levels)[codes] * 0.7
    part = torch.tensor(values, dtype=torch.float64)
    weight = None
    if weighted:
        weight = torch.tensor(rng.random(300))
        weight = weight / weight.sum()
    fast = _categorical_distance_variance(part, weight)
    slow = _attribute_dcov(part, part, False, "v", weight)
    assert float(fast) == pytest.approx(float(slow), rel=1e-12)


def test_pooled_rows_evaluate_the_penalty_once_on_every_process_rows():
    # A data-parallel fit's pool: the batch's rows, then another process's
    # (constants). The penalty is that of all the rows, recorded once.
    torch.manual_seed(1)
    pred = torch.randn(4, 2, dtype=torch.float64, requires_grad=True)
    other = torch.randn(3, 2, dtype=torch.float64)
    attributes = torch.randn(7, 2, 2, dtype=torch.float64)
    weight = torch.rand(7, 2, dtype=torch.float64) + 0.1
    mask = torch.ones(7, 2, dtype=torch.bool)
    row = torch.arange(14).reshape(7, 2) % 9
    config = dict(strength=2.0, kind="ccdcov", sizes=(1, 1), categorical=(False, True))

    def pool(p, a, w, m, r, s):
        return torch.cat([p, other]), attributes, weight, mask, row, s

    with pooled_rows(pool) as values:
        pooled = unit_dependence_penalty(
            pred, attributes[:4], weight[:4], mask[:4], row[:4], **config
        )
    whole = unit_dependence_penalty(
        torch.cat([pred, other]), attributes, weight, mask, row, **config
    )
    assert values == [pooled]
    assert pooled.item() == pytest.approx(whole.item(), rel=1e-12)
    (grad,) = torch.autograd.grad(pooled, pred)
    (expected,) = torch.autograd.grad(whole, pred)
    assert_allclose(grad.numpy(), expected.numpy(), rtol=1e-12, atol=1e-14)
    # Outside the block, the batch's own rows again.
    alone = unit_dependence_penalty(
        pred, attributes[:4], weight[:4], mask[:4], row[:4], **config
    )
    assert alone.item() != pytest.approx(whole.item())


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize(
    "levels, kind", [((2,), "dcov"), ((3,), "ccdcov"), ((2, 4), "dcov")]
)
@pytest.mark.parametrize("n_strata", [0, 2])
@pytest.mark.parametrize("ties", [False, True])
def test_fused_categorical_penalty_matches_the_autograd_expression(
    dtype, levels, kind, n_strata, ties
):
    """A normalised penalty of one prediction and categorical attributes
    runs fused (one sort, value and gradient in closed form). It equals the
    autograd expression (``unfused``), weights of zero, separation strata
    and tied predictions included."""
    from skalign._loss._reduction import unfused

    rng = np.random.default_rng(0)
    n = 700
    values = rng.standard_normal(n)
    if ties:
        values = np.round(values, 1)
    parts = []
    for count in levels:
        codes = rng.integers(0, count, n)
        parts.append(codes[:, None] * 1.0 if count == 2 else np.eye(count)[codes])
    attributes = torch.tensor(np.column_stack(parts), dtype=dtype)[:, None, :]
    weight = torch.tensor(rng.random(n), dtype=dtype)[:, None]
    weight[:20] = 0.0
    mask = torch.ones(n, 1, dtype=torch.bool)
    strata = torch.tensor(rng.integers(0, 2, n))[:, None] if n_strata else None
    config = dict(
        strength=3.0,
        kind=kind,
        sizes=tuple(1 if count == 2 else count for count in levels),
        categorical=(True,) * len(levels),
        normalize=True,
        n_strata=n_strata,
    )
    results = []
    for plain in (False, True):
        pred = torch.tensor(values, dtype=dtype)[:, None, None].requires_grad_()
        if plain:
            with unfused():
                value = unit_dependence_penalty(
                    pred, attributes.clone(), weight, mask, None, strata, **config
                )
        else:
            value = unit_dependence_penalty(
                pred, attributes.clone(), weight, mask, None, strata, **config
            )
        (grad,) = torch.autograd.grad(value, pred)
        results.append((value.item(), grad.numpy().ravel()))
    (fused, fused_grad), (plain, plain_grad) = results
    # In float32 both paths lose about 3e-4 to the cancellations of dCov²
    # (each is that far from the float64 value).
    rtol = 1e-11 if dtype == torch.float64 else 2e-3
    assert fused > 0
    assert fused == pytest.approx(plain, rel=rtol)
    if not ties:
        # With ties, each path's gradient is that of its own order of the
        # tied rows (both valid subgradients).
        scale = np.abs(plain_grad).max()
        assert_allclose(fused_grad, plain_grad, rtol=0, atol=rtol * scale)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(512, 900),
    st.lists(st.integers(2, 6), min_size=1, max_size=3),
    st.floats(1e-3, 1e3),
    st.integers(0, 2**31 - 1),
)
def test_fused_categorical_penalty_agrees_with_autograd_on_random_data(
    n, levels, spread, seed
):
    """The fused path against the autograd expression on random sizes,
    level counts, prediction spreads and weights (some of them zero, some
    levels possibly absent)."""
    from skalign._loss._reduction import unfused

    rng = np.random.default_rng(seed)
    parts = []
    for count in levels:
        codes = rng.integers(0, count, n)
        parts.append(codes[:, None] * 1.0 if count == 2 else np.eye(count)[codes])
    attributes = torch.tensor(np.column_stack(parts))[:, None, :]
    weight = torch.tensor(rng.random(n) * (rng.random(n) > 0.1))[:, None]
    mask = torch.ones(n, 1, dtype=torch.bool)
    config = dict(
        strength=1.0,
        kind="dcov",
        sizes=tuple(1 if count == 2 else count for count in levels),
        categorical=(True,) * len(levels),
        normalize=True,
    )
    values = spread * rng.standard_normal(n)
    results = []
    for plain in (False, True):
        pred = torch.tensor(values)[:, None, None].requires_grad_()
        with unfused() if plain else contextlib.nullcontext():
            value = unit_dependence_penalty(
                pred, attributes.clone(), weight, mask, **config
            )
        (grad,) = torch.autograd.grad(value, pred)
        results.append((value.item(), grad.numpy().ravel()))
    (fused, fused_grad), (plain, plain_grad) = results
    assert fused == pytest.approx(plain, rel=1e-9, abs=1e-15)
    scale = np.abs(plain_grad).max()
    assert_allclose(fused_grad, plain_grad, rtol=0, atol=1e-9 * scale)
