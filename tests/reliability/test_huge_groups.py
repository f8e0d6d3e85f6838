"""One very long group: bounded memory at the defaults, a clear error when an
exact computation that cannot fit is forced, and the exactness of the
blocked and sampled pair computations behind both.

A group of ``L`` rows holds ``L (L - 1) / 2`` pairs (two hundred million for
20,000 rows). Every pairwise and listwise estimator of the registry fits one
group of 20,000 rows in a fresh process whose address space is capped at
``LIMIT`` (``RLIMIT_AS``), so an ``O(L²)`` allocation fails there whatever
the machine; the child reports its peak resident memory.
"""

import json
import os
import pickle
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

import skalign
from skalign._loss import listwise, pairwise
from skalign.preference import GeneralPreferenceModel, PreferenceRewardRegressor
from skalign.utils._groups import (
    AUTO_PAIR_BUDGET,
    AUTO_PAIRS_PER_ROW,
    enumerate_pairs,
    pack_groups,
    pair_cap,
    pair_draws,
)
from skalign.utils._units import pair_units

from .. import _registry as registry

N_ROWS = 20_000
# torch alone maps about 1 GiB of address space; an O(L²) pair tensor of
# 20,000 rows needs several more.
LIMIT = 3 * 2**30

_LAMBDA_LOSSES = ("lipo_lambda", "listnet", "ranknet")
CASES = [
    (name, {"loss": loss} if name == "LambdaRanker" else {})
    for name in registry.names(kind="grouped")
    for loss in (_LAMBDA_LOSSES if name == "LambdaRanker" else (None,))
]

_CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
import json, pickle, time, warnings
import numpy as np
estimator = pickle.loads(sys.stdin.buffer.read())
rng = np.random.default_rng(0)
X = rng.normal(size=({n}, 8))
y = X @ rng.normal(size=8) + rng.logistic(size={n})
result = {{}}
start = time.perf_counter()
try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X, y)  # groups=None: all rows are one group
    result["finite"] = bool(np.isfinite(estimator.predict(X[:500])).all())
except Exception as exc:
    result["error"] = f"{{type(exc).__name__}}: {{exc}}"
result["seconds"] = time.perf_counter() - start
result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
"""


def _fit_in_child(estimator, n=N_ROWS):
    """Fit ``estimator`` on one group of ``n`` rows in a fresh process with
    an address-space limit; returns what the child reports."""
    root = str(Path(skalign.__file__).resolve().parents[1])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
    }
    child = subprocess.run(
        [sys.executable, "-c", _CHILD.format(limit=LIMIT, n=n)],
        input=pickle.dumps(estimator),
        capture_output=True,
        env=env,
        # python -c puts the working directory first on sys.path.
        cwd=root,
        timeout=300,
    )
    lines = child.stdout.decode().strip().splitlines()
    assert child.returncode == 0 and lines, child.stderr.decode()[-2000:]
    return json.loads(lines[-1])


def _case_id(case):
    name, params = case
    return "-".join([name, *params.values()])


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_one_long_group_fits_in_bounded_memory(case):
    name, params = case
    result = _fit_in_child(registry.make(name, **params))
    assert "error" not in result, result
    assert result["finite"], result


@pytest.mark.parametrize(
    "estimator", [PreferenceRewardRegressor, GeneralPreferenceModel]
)
def test_forced_exact_pairs_raise_before_allocating(estimator):
    # 100,000 rows: five billion pairs, far beyond any machine. The error
    # comes from the counts alone, before anything of size O(L²) exists.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100_000, 2))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"max_pairs_per_group=None") as error:
            estimator(max_pairs_per_group=None).fit(X, X[:, 0])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "4,999,950,000 pairs" in str(error.value)
    assert "max_pairs_per_group='auto'" in str(error.value)
    assert peak < 64 * 2**20


def test_forced_exact_pairs_error_reads_the_address_space_limit():
    # 20,000 rows need about 19 GiB of pair units: more than the child's
    # limit, though less than some machines have.
    result = _fit_in_child(PreferenceRewardRegressor(max_pairs_per_group=None))
    assert result["error"].startswith("ValueError: max_pairs_per_group=None"), result
    assert "GiB of memory available" in result["error"]


@pytest.mark.parametrize(
    "name, params",
    [
        # Every pair of the list: the pair losses of LambdaRanker.
        ("LambdaRanker", dict(max_pairs_per_group=None)),
        # Whole groups: the scaled Bradley-Terry term of "joint".
        ("PreferenceRewardRegressor", dict(objective="joint", optimizer="adam")),
    ],
    ids=["LambdaRanker-every-pair", "PreferenceRewardRegressor-joint"],
)
def test_exact_pairs_of_a_long_list_run_in_row_blocks(name, params):
    # 72 million pairs of a 12,000-row list, several GiB as dense tensors,
    # within the limit: one epoch of every pair.
    estimator = registry.make(name, dtype="float32", max_epochs=1, **params)
    result = _fit_in_child(estimator, n=12_000)
    assert "error" not in result, result
    assert result["finite"], result


# ------------------------------------------------------------ pair budget
def test_auto_cap_keeps_short_groups_whole_and_the_total_in_budget():
    lengths = np.array([2] * 5000 + [30] * 100 + [20_000])
    n_samples = int(lengths.sum())
    cap = pair_cap(lengths, "auto", n_samples)
    draws, n_pairs = pair_draws(lengths, cap)
    budget = max(AUTO_PAIR_BUDGET, AUTO_PAIRS_PER_ROW * n_samples)
    assert list(np.flatnonzero(draws)) == [len(lengths) - 1]
    assert n_pairs[:-1].tolist() == (lengths[:-1] * (lengths[:-1] - 1) // 2).tolist()
    assert n_pairs.sum() <= budget * 1.01
    # Small data, and groups of up to 33 rows, are never sampled.
    assert pair_cap(np.array([600]), "auto", 600) is None
    assert pair_cap(np.full(100_000, 33), "auto", 3_300_000) is None
    assert pair_cap(lengths, None, n_samples) is None
    assert pair_cap(lengths, 7, n_samples) == 7


def test_auto_samples_one_long_group_with_every_row():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N_ROWS, 2))
    index = pair_units(X, X[:, 0], None, None, random_state=0).index
    assert len(index) <= max(AUTO_PAIR_BUDGET, AUTO_PAIRS_PER_ROW * N_ROWS)
    # Each row is in the same number of sampled pairs.
    assert np.unique(np.bincount(index.ravel(), minlength=N_ROWS)).size == 1


class _Start(np.random.RandomState):
    """A random state whose draws of integers are all ``start``."""

    def __init__(self, start):
        super().__init__(0)
        self.start = start

    def randint(self, high, size=None, dtype=int):
        return np.full(size, self.start)


@pytest.mark.parametrize("keep_ties", [False, True])
def test_sampled_pairs_are_unbiased(keep_ties):
    # Averaged over every random start, the weighted sum over sampled pairs
    # of any pair function equals its sum over all pairs, exactly.
    rng = np.random.default_rng(0)
    length, cap = 13, 20
    y = rng.integers(0, 4, size=length).astype(float)
    value = rng.normal(size=(length, length))
    packed = pack_groups(y, keep_tied_groups=keep_ties)
    rows, _, _ = enumerate_pairs(packed, y, keep_ties=keep_ties)
    exact = value[rows[:, 0], rows[:, 1]].sum()
    sums = []
    for start in range(length - 1):
        rows, _, scale = enumerate_pairs(
            packed, y, keep_ties=keep_ties, max_pairs=cap, random_state=_Start(start)
        )
        assert len(rows) <= round(cap / length) * length
        sums.append((scale * value[rows[:, 0], rows[:, 1]]).sum())
    assert_allclose(np.mean(sums), exact, rtol=1e-12)


# --------------------------------------------------- blocked list pair losses
def _lists():
    """Three lists with ties, padding in the middle and unequal weights."""
    torch.manual_seed(0)
    n_lists, max_len = 3, 40
    scores = torch.randn(n_lists, max_len, dtype=torch.float64, requires_grad=True)
    grades = torch.randint(0, 4, (n_lists, max_len)).double()
    mask = torch.arange(max_len)[None] < torch.tensor([40, 17, 3])[:, None]
    mask = mask.gather(1, torch.stack([torch.randperm(max_len) for _ in range(3)]))
    weight = torch.rand(n_lists, max_len, dtype=torch.float64) + 0.5
    return scores, grades, mask, weight


@pytest.mark.parametrize(
    "loss",
    [
        listwise.ranknet_loss,
        listwise.lipo_lambda_loss,
        pairwise.scaled_bradley_terry_loss,
    ],
)
def test_blocked_pair_loss_equals_the_dense_one(loss, monkeypatch):
    scores, grades, mask, weight = _lists()
    dense = loss(scores, grades, mask, weight)
    (dense_grad,) = torch.autograd.grad(dense, scores)
    # No dense pair tensor, and blocks of 50 pairs: many blocks per list.
    monkeypatch.setattr(pairwise, "_DENSE_PAIRS", 0)
    monkeypatch.setattr(pairwise, "_PAIR_BLOCK", 50)
    blocked = loss(scores, grades, mask, weight)
    (blocked_grad,) = torch.autograd.grad(blocked, scores)
    assert_allclose(blocked.item(), dense.item(), rtol=1e-13)
    assert_allclose(blocked_grad.numpy(), dense_grad.numpy(), atol=1e-15)
    assert torch.autograd.gradcheck(lambda s: loss(s, grades, mask, weight), scores)


@pytest.mark.parametrize("loss", [listwise.ranknet_loss, listwise.lipo_lambda_loss])
def test_sampled_list_pairs_are_unbiased(loss):
    # Numerator and normaliser of the loss, averaged over every start of a
    # list's systematic sample, are those of all its pairs.
    scores, grades, mask, weight = _lists()
    scores, grades, mask, weight = (t[:1] for t in (scores, grades, mask, weight))
    factors = listwise._lambda_factors(scores, grades, mask)
    factors = None if loss is listwise.ranknet_loss else factors
    sort = pairwise._sort_by_grade(grades, mask, scores, weight, *(factors or ()))
    grades, mask, scores, weight, *factors = (t.detach() for t in sort)
    delta = listwise._lambda_delta if factors else None
    exact = pairwise._blocked_pair_sums(scores, grades, mask, weight, delta, factors)
    factors = tuple(factors) or None
    sampled = [
        listwise._sampled_pair_sums(
            scores, grades, mask, weight, factors, torch.tensor([[3, start]])
        )
        for start in range(39)
    ]
    assert_allclose(torch.tensor(sampled).mean(0).numpy(), exact[:2], rtol=1e-12)


def test_win_rate_blocks_equal_the_dense_win_rate(monkeypatch):
    torch.manual_seed(0)
    embeddings = torch.randn(3, 9, 4, dtype=torch.float64)
    mask = torch.rand(3, 9) > 0.3
    logits = pairwise.general_preference_logits(
        embeddings[:, :, None], embeddings[:, None, :], 0.7
    )
    others = mask[:, :, None] & mask[:, None, :] & ~torch.eye(9, dtype=torch.bool)
    count = others.sum(-1)
    dense = torch.where(
        count > 0, (torch.sigmoid(logits) * others).sum(-1) / count.clamp_min(1), 0.5
    )
    monkeypatch.setattr(pairwise, "_WIN_RATE_BLOCK", 5)
    blocked = pairwise.general_preference_win_rate(embeddings, mask, 0.7)
    assert_allclose(blocked.numpy(), dense.numpy(), rtol=1e-13)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_gpm_score_in_blocks_equals_the_pairwise_count(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = rng.integers(0, 4, size=60).astype(float)
    groups = np.repeat([0, 1, 2], [35, 20, 5])
    weight = rng.uniform(0.5, 2.0, size=60)
    model = GeneralPreferenceModel(max_epochs=3, random_state=0)
    model.fit(X, y, groups=groups)
    v = model.transform(X)
    rows, _, _ = enumerate_pairs(pack_groups(y, groups), y)
    logits = pairwise.general_preference_logits(
        torch.as_tensor(v[rows[:, 0]]), torch.as_tensor(v[rows[:, 1]])
    ).numpy()
    # A pair weighs w_i w_j / w̄, w̄ its group's mean weight.
    mean = np.bincount(groups, weight) / np.bincount(groups)
    pair_weight = weight[rows[:, 0]] * weight[rows[:, 1]] / mean[groups[rows[:, 0]]]
    agree = np.where(logits > 0, 1.0, np.where(logits == 0, 0.5, 0.0))
    expected = (agree * pair_weight).sum() / pair_weight.sum()
    monkeypatch.setattr(pairwise, "_WIN_RATE_BLOCK", 50)
    score = model.score(X, y, groups=groups, sample_weight=weight)
    assert_allclose(score, expected, rtol=1e-12)
