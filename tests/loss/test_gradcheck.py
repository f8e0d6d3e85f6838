"""Float64 ``gradcheck`` of every public function of the loss layer.

Small random inputs with padding (``mask`` False) and uneven weights. Each
case builds the function of the differentiable inputs and those inputs; a
test checks that every public callable of ``skalign._loss`` has a case or a
reason why it has no gradient.
"""

import functools
import inspect

import pytest
import torch

from skalign._loss import calibration, dependence, listwise, ordinal, pairwise

MODULES = [pairwise, listwise, dependence, calibration, ordinal]

#: Public callables without a gradient to check, and why.
NOT_DIFFERENTIABLE = {
    "grade_ordered_pairs": "indices, signs and weights of pairs: no scores in",
    "plackett_luce_choices": "tie blocks and choices from the grades only",
    "blockwise_dcov_stats": "an evaluation statistic, computed without grad",
    "circulant_offsets": "integer offsets of a pair sample: no scores in",
    "general_preference_accuracy": "a step function of the logits, without grad",
}


def _double(*shape, low=None):
    values = torch.randn(*shape, dtype=torch.float64)
    if low is not None:
        values = values.abs() + low
    return values.requires_grad_()


def _padded(n_groups=3, max_len=4, seed=0):
    """Scores, grades (with ties), a mask with padding, positive weights."""
    torch.manual_seed(seed)
    scores = _double(n_groups, max_len)
    grades = torch.randint(0, 3, (n_groups, max_len)).double()
    mask = torch.ones(n_groups, max_len, dtype=torch.bool)
    mask[0, -1] = mask[1, -2:] = False
    weight = torch.rand(n_groups, max_len, dtype=torch.float64) + 0.5
    return scores, grades, mask, weight


def _rows(n=8, k=None, seed=0):
    """Row units: scores ``(n, 1)`` or ``(n, 1, k)``, one masked-out row."""
    torch.manual_seed(seed)
    scores = _double(n, 1) if k is None else _double(n, 1, k)
    mask = torch.ones(n, 1, dtype=torch.bool)
    mask[-1] = False
    weight = torch.rand(n, 1, dtype=torch.float64) + 0.5
    return scores, mask, weight


def _pairwise_cases():
    s, g, m, w = _padded()
    log_param = torch.tensor(0.4, dtype=torch.float64, requires_grad=True)
    embeddings = _double(3, 4, 4)
    v_a, v_b = _double(5, 4), _double(5, 4)
    diff = _double(6)
    label = torch.randint(0, 2, g.shape).double()
    shift = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    return {
        "bradley_terry_loss": (
            lambda x: pairwise.bradley_terry_loss(x, g, m, w),
            (s,),
        ),
        "margin_loss": (
            lambda x: pairwise.margin_loss(x, g, m, w, margin_scale=0.5),
            (s,),
        ),
        "scaled_bradley_terry_loss": (
            lambda x: pairwise.scaled_bradley_terry_loss(x, g, m, w),
            (s,),
        ),
        "regression_loss": (lambda x: pairwise.regression_loss(x, g, m, w), (s,)),
        "rao_kupper_loss": (
            lambda x, t: pairwise.rao_kupper_loss(x, g, m, w, log_theta=t),
            (s, log_param),
        ),
        "rao_kupper_log_proba": (pairwise.rao_kupper_log_proba, (diff, log_param)),
        "davidson_loss": (
            lambda x, nu: pairwise.davidson_loss(x, g, m, w, log_nu=nu),
            (s, log_param),
        ),
        "davidson_log_proba": (pairwise.davidson_log_proba, (diff, log_param)),
        "general_preference_logits": (
            lambda a, b: pairwise.general_preference_logits(a, b, temperature=0.7),
            (v_a, v_b),
        ),
        "general_preference_loss": (
            lambda e: pairwise.general_preference_loss(e, g, m, w, temperature=0.7),
            (embeddings,),
        ),
        "general_preference_win_rate": (
            lambda e: pairwise.general_preference_win_rate(e, m, temperature=0.7),
            (embeddings,),
        ),
        "binary_feedback_loss": (
            lambda x, d: pairwise.binary_feedback_loss(x, label, m, w, shift=d),
            (s, shift),
        ),
        **_pluralistic_cases(g, m, w),
    }


def _pluralistic_cases(g, m, w):
    """PAL's prototype rewards, user mixtures, pair loss and prior, on the
    padded groups of :func:`_pairwise_cases` (3 prototypes, 2 users)."""
    embeddings, prototypes = _double(3, 4, 4), _double(3, 4)
    prototype_scores, logits = _double(3, 4, 3), _double(2, 3)
    users = torch.tensor([0, 1, 0]).view(3, 1).expand(3, 4)
    share = torch.rand(3, 4, dtype=torch.float64) + 0.5
    return {
        f"prototype_rewards[{distance}]": (
            lambda e, p, distance=distance: pairwise.prototype_rewards(
                e, p, distance=distance
            ),
            (embeddings, prototypes),
        )
        for distance in (True, False)
    } | {
        "mixture_rewards": (
            pairwise.mixture_rewards,
            (prototype_scores, _double(3, 4, 3)),
        ),
        "mixture_rewards[users]": (
            lambda x, t: pairwise.mixture_rewards(x, t, users),
            (prototype_scores, logits),
        ),
        "pluralistic_loss": (
            lambda x, t: pairwise.pluralistic_loss(
                x, g, m, w, users=users, mixture_logits=t
            ),
            (prototype_scores, logits),
        ),
        "mixture_prior_penalty": (
            lambda t: pairwise.mixture_prior_penalty(t, users, share, w, m),
            (logits,),
        ),
    }


def _listwise_cases():
    s, g, m, w = _padded(max_len=5)
    # Lists sorted by decreasing grade, padding last, as the rankers keep them.
    sorted_grades = torch.tensor([[2.0, 2, 1, 0, 0], [3, 2, 2, 1, 0], [1, 1, 1, 0, 0]])
    start, size, choice = listwise.plackett_luce_choices(sorted_grades, m, ties="efron")
    tie_grades = torch.tensor([[2.0, 2, 1, 1, 1], [3, 2, 2, 0, 0], [1, 1, 0, 0, 0]])
    log_delta = torch.tensor([-1.0, -2.0], dtype=torch.float64, requires_grad=True)
    exposure = _double(3, 5, low=0.1)
    sensitive = torch.randint(0, 2, (3, 5))
    ranks = torch.tensor([1.0, 2.0, 3.5, 10.0], dtype=torch.float64)
    # Per list: number of offsets (0: every pair) and their start.
    pair_sample = torch.tensor([[1, 0], [0, 0], [2, 2]])
    cases = {
        f"plackett_luce_loss[{ties}]": (
            lambda x, ties=ties: listwise.plackett_luce_loss(x, g, m, w, ties=ties),
            (s,),
        )
        # Davidson–Luce needs tie weights for the tied grades: see below.
        for ties in ("breslow", "efron")
    }
    return {
        **cases,
        "plackett_luce_loss[top_k]": (
            lambda x: listwise.plackett_luce_loss(x, g, m, w, top_k=2),
            (s,),
        ),
        "plackett_luce_loss[tie_weights]": (
            lambda x, d: listwise.plackett_luce_loss(
                x,
                tie_grades.double(),
                m,
                w,
                ties="davidson_luce",
                tie_orders=(2, 3),
                log_tie_weights=d,
            ),
            (s, log_delta),
        ),
        "plackett_luce_sorted_loss": (
            lambda x: listwise.plackett_luce_sorted_loss(
                x, m, w, start, size, choice, ties="efron"
            ),
            (s,),
        ),
        "listnet_loss": (lambda x: listwise.listnet_loss(x, g, m, w), (s,)),
        "ranknet_loss": (lambda x: listwise.ranknet_loss(x, g, m, w), (s,)),
        "lipo_lambda_loss": (lambda x: listwise.lipo_lambda_loss(x, g, m, w), (s,)),
        # List 0 sampled with one offset, list 1 whole (summed in row blocks),
        # list 2 sampled with two.
        "ranknet_loss[pair_sample]": (
            lambda x: listwise.ranknet_loss(x, g, m, w, pair_sample=pair_sample),
            (s,),
        ),
        "lipo_lambda_loss[pair_sample]": (
            lambda x: listwise.lipo_lambda_loss(x, g, m, w, pair_sample=pair_sample),
            (s,),
        ),
        "expected_exposure": (lambda x: listwise.expected_exposure(x, m), (s,)),
        "exposure_disparity_penalty": (
            lambda e: listwise.exposure_disparity_penalty(e, sensitive, m),
            (exposure,),
        ),
        "position_weights": (listwise.position_weights, (ranks.requires_grad_(),)),
    }


def _with_other_rows(pred, attributes, weight, mask, row, strata):
    """A pool of :func:`dependence.pooled_rows`: another process's rows
    (fixed predictions, the batch's other columns reversed) after the
    batch's own."""
    other = torch.arange(pred.numel(), dtype=pred.dtype).reshape(pred.shape)
    return (
        torch.cat([pred, torch.sin(other)]),
        torch.cat([attributes, attributes.flip(0)]),
        torch.cat([weight, weight.flip(0)]),
        torch.cat([mask, mask.flip(0)]),
        torch.cat([row, row + 100]),
        None if strata is None else torch.cat([strata, strata.flip(0)]),
    )


def _pooled_penalty(*args, **options):
    with dependence.pooled_rows(_with_other_rows):
        return dependence.unit_dependence_penalty(*args, **options)


def _dependence_cases():
    torch.manual_seed(0)
    pred, a, b = _double(9, 2), _double(9, 1), _double(9, 1)
    attributes = _double(9, 3).detach()
    weight = torch.rand(9, dtype=torch.float64) + 0.1
    weight = weight / weight.sum()
    codes = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 1])
    scores, mask, row_weight = _rows(9)
    target = torch.randn(9, 1, dtype=torch.float64)
    counts = torch.randint(0, 4, (9, 1)).double()
    encoded = attributes[:, None, :]
    config = dict(kind="dcov", sizes=(2, 1), categorical=(False, False), c=1.0)
    unit_scores = _double(3, 3)
    unit_mask = torch.ones(3, 3, dtype=torch.bool)
    unit_mask[2, 2] = False
    row = torch.tensor([[0, 1, 2], [1, 3, 4], [0, 5, 0]])
    strata = torch.tensor([[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    cases = {
        f"distance_covariance[{method}-{statistic}]": (
            lambda x, y, m=method, s=statistic: dependence.distance_covariance(
                x, y, s, method=m
            ),
            (a, b),
        )
        for method in ("naive", "fast")
        for statistic in ("v", "u")
    }
    cases.update(
        {
            f"dependence_penalty[{kind}]": (
                lambda p, kind=kind: dependence.dependence_penalty(
                    p, attributes, kind=kind, sizes=(2, 1), weight=weight
                ),
                (pred,),
            )
            for kind in dependence.KINDS
        }
    )
    return {
        **cases,
        "distance_covariance[weighted]": (
            lambda x, y: dependence.distance_covariance(x, y, weight=weight),
            (pred, b),
        ),
        "joint_distance_covariance": (
            lambda p, x: dependence.joint_distance_covariance(p, x, attributes, c=0.5),
            (pred, a),
        ),
        "concatenated_distance_covariance": (
            lambda p: dependence.concatenated_distance_covariance(
                p, [attributes[:, :1], attributes[:, 1:]], weight=weight
            ),
            (pred,),
        ),
        "fast_distance_covariance": (
            lambda x, y: dependence.fast_distance_covariance(x, y, weight=weight),
            (_double(9), _double(9)),
        ),
        "categorical_distance_covariance": (
            lambda x: dependence.categorical_distance_covariance(
                x, codes, 2**0.5, weight=weight
            ),
            (_double(9),),
        ),
        "half_squared_error": (
            lambda s: dependence.half_squared_error(s, target, mask, row_weight),
            (scores,),
        ),
        "half_poisson_deviance": (
            lambda s: dependence.half_poisson_deviance(s, counts, mask, row_weight),
            (scores,),
        ),
        "absolute_error": (
            lambda s: dependence.absolute_error(s, target, mask, row_weight),
            (scores,),
        ),
        "penalised_loss": (
            lambda s: dependence.penalised_loss(
                s,
                target=target,
                weight=row_weight,
                mask=mask,
                attributes=encoded,
                attribute_weight=row_weight,
                loss="squared_error",
                penalty=functools.partial(
                    dependence.unit_dependence_penalty, strength=2.0, **config
                ),
            ),
            (scores,),
        ),
        "unit_dependence_penalty": (
            lambda s: dependence.unit_dependence_penalty(
                s,
                attributes[:9].reshape(3, 3, 3),
                row_weight[:9].reshape(3, 3),
                unit_mask,
                row,
                strength=1.5,
                **config,
            ),
            (unit_scores,),
        ),
        # Evaluated on the rows of every process of a data-parallel fit, the
        # gradient through this process's predictions only.
        "pooled_rows": (
            lambda s: _pooled_penalty(
                s,
                attributes[:9].reshape(3, 3, 3),
                row_weight[:9].reshape(3, 3),
                unit_mask,
                row,
                strata,
                strength=1.5,
                **config,
                normalize=True,
                scale=0.7,
                n_strata=2,
            ),
            (unit_scores,),
        ),
        # Scale-free (each variable over its distance standard deviation)
        # and conditional on strata of the target (separation).
        **{
            f"unit_dependence_penalty[normalize-{kind}-strata={n}]": (
                lambda s, kind=kind, n=n: dependence.unit_dependence_penalty(
                    s,
                    attributes[:9].reshape(3, 3, 3),
                    row_weight[:9].reshape(3, 3),
                    unit_mask,
                    row,
                    strata if n else None,
                    strength=1.5,
                    **{**config, "kind": kind},
                    normalize=True,
                    scale=0.7,
                    n_strata=n,
                ),
                (unit_scores,),
            )
            for kind in dependence.KINDS
            for n in (0, 2)
        },
    }


def _calibration_cases():
    logit, mask, weight = _rows()
    logits, _, _ = _rows(k=3, seed=1)
    torch.manual_seed(2)
    soft = torch.rand(8, 1, dtype=torch.float64)
    classes = torch.randint(0, 3, (8, 1))
    one_vs_rest = torch.rand(8, 1, 3, dtype=torch.float64)
    matrix, bias = _double(3, 3), _double(3)
    with_column = torch.cat([logits.detach(), torch.full((8, 1, 1), 0.3)], -1)
    return {
        "binary_nll": (
            lambda s: calibration.binary_nll(s, soft, mask, weight),
            (logit,),
        ),
        "multinomial_nll": (
            lambda s: calibration.multinomial_nll(s, classes, mask, weight),
            (logits,),
        ),
        "one_vs_rest_nll": (
            lambda s: calibration.one_vs_rest_nll(s, one_vs_rest, mask, weight),
            (logits,),
        ),
        "odir_penalty": (
            lambda W, b: calibration.odir_penalty(W, b, 0.5, 2.0),
            (matrix, bias),
        ),
        "PenaltyColumnLoss": (
            lambda s: calibration.PenaltyColumnLoss(calibration.multinomial_nll)(
                s, target=classes, mask=mask, weight=weight
            ),
            (with_column.requires_grad_(),),
        ),
        "h_calibration_loss": (
            lambda s: calibration.h_calibration_loss(
                s, classes, mask, weight, window=3, epsilon=0.01
            ),
            (logits,),
        ),
    }


def _ordinal_cases():
    torch.manual_seed(0)
    eta = torch.sort(torch.randn(3, 4, 3, dtype=torch.float64), -1).values
    eta.requires_grad_()
    label = torch.randint(0, 4, (3, 4))
    mask = torch.ones(3, 4, dtype=torch.bool)
    mask[2, 2:] = False
    weight = torch.rand(3, 4, dtype=torch.float64) + 0.5
    lower = _double(5)
    upper = (lower.detach() + torch.rand(5, dtype=torch.float64) + 0.1).requires_grad_()
    bins = _double(3, 4, 6)
    y = torch.rand(3, 4, dtype=torch.float64)
    edges = torch.linspace(0, 1, 7, dtype=torch.float64)
    return {
        "log_interval_proba": (ordinal.log_interval_proba, (lower, upper)),
        "class_log_proba": (ordinal.class_log_proba, (eta,)),
        "cumulative_logit_loss": (
            lambda e: ordinal.cumulative_logit_loss(e, label, mask, weight),
            (eta,),
        ),
        "hl_gauss_target": (
            lambda t: ordinal.hl_gauss_target(t, edges, 0.2),
            (y.clone().requires_grad_(),),
        ),
        "hl_gauss_loss": (
            lambda s: ordinal.hl_gauss_loss(s, y, mask, weight, sigma=0.2),
            (bins,),
        ),
    }


def _two_row_cases():
    """Pair units (two rows, no padding): their score differences take a
    custom backward (``score_differences``)."""
    s, g, _, _ = _padded(n_groups=6, max_len=2, seed=3)
    g = torch.tensor([[1.0, 0], [0, 1], [1, 1], [2, 0], [0, 0], [3, 1]])
    m = torch.ones(6, 2, dtype=torch.bool)
    w = torch.rand(6, 1, dtype=torch.float64).add(0.5).expand(6, 2).contiguous()
    log_param = torch.tensor(0.4, dtype=torch.float64, requires_grad=True)
    return {
        "bradley_terry_loss[pairs]": (
            lambda x: pairwise.bradley_terry_loss(x, g, m, w),
            (s,),
        ),
        "rao_kupper_loss[pairs]": (
            lambda x, t: pairwise.rao_kupper_loss(x, g, m, w, log_theta=t),
            (s, log_param),
        ),
        "davidson_loss[pairs]": (
            lambda x, nu: pairwise.davidson_loss(x, g, m, w, log_nu=nu),
            (s, log_param),
        ),
        "lipo_lambda_loss[pairs]": (
            lambda x: listwise.lipo_lambda_loss(x, g, m, w),
            (s,),
        ),
    }


CASES = {
    **_pairwise_cases(),
    **_two_row_cases(),
    **_listwise_cases(),
    **_dependence_cases(),
    **_calibration_cases(),
    **_ordinal_cases(),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    function, inputs = CASES[name]
    assert torch.autograd.gradcheck(function, inputs)


def test_every_public_function_has_a_gradcheck():
    checked = {name.split("[")[0] for name in CASES}
    public = {
        name
        for module in MODULES
        for name in module.__all__
        if inspect.isfunction(getattr(module, name))
        or inspect.isclass(getattr(module, name))
    }
    assert public - checked - set(NOT_DIFFERENTIABLE) == set()
    assert checked | set(NOT_DIFFERENTIABLE) <= public


def test_two_row_bradley_terry_matches_the_plain_expression_in_float32():
    """The fused two-row Bradley–Terry of a float32 model: the value and
    gradient of the unfused expression (float64 signs and weights)."""
    torch.manual_seed(0)
    scores = torch.randn(50, 2, requires_grad=True)
    grades = torch.randint(0, 3, (50, 2)).double()
    mask = torch.ones(50, 2, dtype=torch.bool)
    weight = torch.rand(50, 1).add(0.5).expand(50, 2).contiguous()
    fused = pairwise.bradley_terry_loss(scores, grades, mask, weight)
    (fused_grad,) = torch.autograd.grad(fused, scores)
    margin, _, pair_weight = pairwise._ordered(scores, grades, mask, weight)
    plain = (
        torch.nn.functional.softplus(-margin) * pair_weight
    ).sum() / pair_weight.sum()
    (plain_grad,) = torch.autograd.grad(plain, scores)
    assert fused.dtype == plain.dtype == torch.float64
    assert fused_grad.dtype == torch.float32
    torch.testing.assert_close(fused, plain)
    torch.testing.assert_close(fused_grad, plain_grad)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("scale", [1.0, 1e3, 1e6])
@pytest.mark.parametrize("padded", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("top_k", [None, 2])
@pytest.mark.parametrize("tied", [True, False])
def test_fused_breslow_plackett_luce_matches_the_autograd_expression(
    dtype, scale, padded, weighted, top_k, tied
):
    """Breslow Plackett–Luce with constant weights runs fused (value and
    gradient in closed form); with weights that require a gradient, through
    autograd. Both agree, ties, padding, weights and top-k included, and at
    score spreads that over- and underflow the fused sums (those lists are
    redone in log space); the error allowed grows with the spread, as float
    rounding of scores of that size does. Untied full unweighted lists take
    the product of their suffix sums (one log per list), which over- and
    underflows at the large spreads, where the logs are summed instead."""
    torch.manual_seed(0)
    n, length = 60, 7
    scores = torch.randn(n, length, dtype=dtype) * scale
    grades = torch.randint(0, 4, (n, length)).double()
    if not tied:
        grades = torch.rand(n, length).argsort(1).double()
    mask = torch.ones(n, length, dtype=torch.bool)
    if padded:
        mask = torch.arange(length) < torch.randint(1, length + 1, (n, 1))
    weight = torch.ones(n, length, dtype=torch.float64)
    if weighted:
        weight = torch.rand(n, length, dtype=torch.float64) + 0.5
    grades, mask, scores, weight = pairwise._sort_by_grade(grades, mask, scores, weight)
    start, size, choice = listwise.plackett_luce_choices(grades, mask, top_k=top_k)
    results = []
    for through_autograd in (False, True):
        x = scores.clone().requires_grad_()
        w = weight.clone().requires_grad_(through_autograd)
        value = listwise.plackett_luce_sorted_loss(
            x, mask, w, start, size, choice, ties="breslow"
        )
        (grad,) = torch.autograd.grad(value, x)
        results.append((value.detach(), grad))
    (fused, fused_grad), (plain, plain_grad) = results
    assert torch.isfinite(fused_grad).all()
    assert fused_grad.dtype == dtype
    eps = torch.finfo(dtype).eps
    torch.testing.assert_close(fused, plain, rtol=64 * eps, atol=0.0)
    torch.testing.assert_close(
        fused_grad, plain_grad, rtol=0.0, atol=64 * eps * scale * plain_grad.abs().max()
    )
