"""The shared training engine, exercised through PreferenceRewardRegressor."""

import pickle

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from skorch.callbacks import Callback, Checkpoint

from skalign._solver import FullBatchLBFGS
from skalign.exceptions import ConvergenceWarning
from skalign.nn import LinearScorer, MLPScorer
from skalign.preference import PreferenceRewardRegressor


def _mlp(**params):
    defaults = dict(
        scorer=MLPScorer(hidden_units=(16,), dropout=0.1),
        max_epochs=5,
        batch_size=64,
        lr=1e-2,
        random_state=0,
    )
    return PreferenceRewardRegressor(**{**defaults, **params})


pytestmark = pytest.mark.filterwarnings("ignore::skalign.exceptions.ConvergenceWarning")


def test_same_seed_gives_bit_identical_predictions(pair_data):
    X, y, groups, _ = pair_data
    first = _mlp().fit(X, y, groups=groups).predict(X)
    second = _mlp().fit(X, y, groups=groups).predict(X)
    assert_array_equal(first, second)
    other = _mlp(random_state=1).fit(X, y, groups=groups).predict(X)
    assert not np.array_equal(first, other)


def test_fit_does_not_touch_the_global_torch_rng(pair_data):
    X, y, groups, _ = pair_data
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    _mlp().fit(X, y, groups=groups)
    assert_array_equal(torch.rand(3), expected)


def test_pickle_round_trip(pair_data):
    X, y, groups, _ = pair_data
    model = _mlp().fit(X, y, groups=groups)
    restored = pickle.loads(pickle.dumps(model))
    assert_array_equal(restored.predict(X), model.predict(X))
    restored.partial_fit(X, y, groups=groups)


def test_scorer_param_is_not_modified_by_fit(pair_data):
    X, y, groups, _ = pair_data
    scorer = MLPScorer(hidden_units=(8,))
    model = PreferenceRewardRegressor(scorer=scorer, max_epochs=2).fit(
        X, y, groups=groups
    )
    assert model.scorer is scorer
    assert not list(scorer.parameters())
    assert model.scorer_ is not scorer and list(model.scorer_.parameters())


def test_user_module_is_pluggable_and_seeded(pair_data):
    X, y, groups, _ = pair_data

    def make():
        return torch.nn.Sequential(
            torch.nn.Linear(X.shape[1], 8),
            torch.nn.Tanh(),
            torch.nn.Linear(8, 1),
            torch.nn.Flatten(0),
        )

    model = _mlp(scorer=make()).fit(X, y, groups=groups)
    again = _mlp(scorer=make()).fit(X, y, groups=groups)
    assert_array_equal(model.predict(X), again.predict(X))
    assert model.score(X, y, groups=groups) > 0.7


def test_user_module_with_sparse_X_gets_a_clear_error(pair_data):
    import scipy.sparse as sp

    X, y, groups, _ = pair_data
    model = _mlp(scorer=torch.nn.Linear(X.shape[1], 1))
    with pytest.raises(TypeError, match=r"[Ss]parse"):
        model.fit(sp.csr_matrix(X), y, groups=groups)


def test_warm_start_continues_training(pair_data):
    X, y, groups, _ = pair_data
    model = _mlp(warm_start=True, max_epochs=3).fit(X, y, groups=groups)
    weights = model.scorer_.input_layer.weight.detach().clone()
    model.fit(X, y, groups=groups)
    assert len(model.history_) == 6
    assert not torch.equal(weights, model.scorer_.input_layer.weight)
    cold = _mlp(max_epochs=3).fit(X, y, groups=groups)
    cold.fit(X, y, groups=groups)
    assert len(cold.history_) == 3


@pytest.mark.parametrize(
    "change",
    [{"alpha": 1.0}, {"lr": 0.5}, {"scorer__hidden_units": (3,)}, {"dtype": "float64"}],
)
def test_continued_fit_refuses_changed_objective_parameters(pair_data, change):
    # The fitted net keeps its loss, optimiser and dtype: a changed
    # parameter would otherwise be silently ignored.
    X, y, groups, _ = pair_data
    model = _mlp(warm_start=True, max_epochs=2).fit(X, y, groups=groups)
    model.set_params(**change)
    with pytest.raises(ValueError, match="changed since it was fitted"):
        model.fit(X, y, groups=groups)
    with pytest.raises(ValueError, match="warm_start=False"):
        model.partial_fit(X, y, groups=groups)
    model.set_params(warm_start=False).fit(X, y, groups=groups)
    assert len(model.history_) == 2


def test_continued_fit_takes_new_stopping_parameters(pair_data):
    X, y, groups, _ = pair_data
    model = _mlp(warm_start=True, max_epochs=2).fit(X, y, groups=groups)
    # A huge tol: no epoch counts as an improvement, so it stops early.
    model.set_params(max_epochs=8, tol=1e9, n_iter_no_change=1, verbose=0)
    model.fit(X, y, groups=groups)
    assert model.converged_
    assert len(model.history_) < 2 + 8


def test_partial_fit_runs_one_epoch_each_call(pair_data):
    X, y, groups, _ = pair_data
    model = _mlp()
    for _ in range(3):
        model.partial_fit(X, y, groups=groups)
    assert len(model.history_) == 3
    losses = model.history_[:, "train_loss"]
    assert losses[-1] < losses[0]


def test_partial_fit_rejects_a_new_number_of_features(pair_data):
    X, y, groups, _ = pair_data
    model = _mlp().partial_fit(X, y, groups=groups)
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:, :2], y, groups=groups)


def test_no_silent_hold_out(pair_data):
    X, y, groups, _ = pair_data
    model = _mlp().fit(X, y, groups=groups)
    assert "valid_loss" not in model.history_[-1]


def test_early_stopping_holds_out_groups_and_restores_best(pair_data):
    X, y, groups, _ = pair_data

    class Snapshots(Callback):
        def initialize(self):
            self.states = []
            return self

        def on_epoch_end(self, net, **kwargs):
            self.states.append(
                {k: v.clone() for k, v in net.module_.state_dict().items()}
            )

    snapshots = Snapshots()
    model = _mlp(
        early_stopping=True,
        max_epochs=200,
        n_iter_no_change=3,
        tol=1e-3,
        callbacks=[snapshots],
    ).fit(X, y, groups=groups)
    valid = model.history_[:, "valid_loss"]
    assert model.converged_ and len(valid) < 200
    best_epoch = int(np.argmin(valid))
    assert best_epoch < len(valid) - 1, "the last epoch should not be the best here"
    best = snapshots.states[best_epoch]
    final = model.scorer_.state_dict()
    assert all(torch.equal(final[k], best[k]) for k in best)


def test_auto_early_stopping_holds_out_only_for_neural_fits(pair_data):
    # early_stopping="auto": a non-convex model trained by Adam holds out
    # validation_fraction of the groups (here 30 of 300 pairs), the same
    # fit as early_stopping=True;
    X, y, groups, _ = pair_data
    neural = _mlp(early_stopping="auto").fit(X, y, groups=groups)
    assert "valid_loss" in neural.history_[-1]
    explicit = _mlp(early_stopping=True).fit(X, y, groups=groups)
    assert_array_equal(neural.predict(X), explicit.predict(X))
    # not with fewer than 10 units to hold out (99 groups: 10% rounds to 10,
    # 94 groups: to 9),
    kept = groups < 94
    small = _mlp(early_stopping="auto").fit(X[kept], y[kept], groups=groups[kept])
    assert "valid_loss" not in small.history_[-1]
    kept = groups < 99
    small = _mlp(early_stopping="auto").fit(X[kept], y[kept], groups=groups[kept])
    assert "valid_loss" in small.history_[-1]
    # and never for a convex model: L-BFGS, or a linear scorer under Adam,
    # trains to its optimum on every unit.
    for params in (dict(), dict(optimizer="adam", max_epochs=5)):
        linear = PreferenceRewardRegressor(early_stopping="auto", **params)
        linear.fit(X, y, groups=groups)
        assert "valid_loss" not in linear.history_[-1]


def test_skorch_callbacks_pass_through(pair_data, tmp_path):
    X, y, groups, _ = pair_data

    class Count(Callback):
        def initialize(self):
            self.epochs = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs += 1

    counter = Count()
    checkpoint = Checkpoint(monitor="train_loss_best", dirname=str(tmp_path))
    model = _mlp(callbacks=[counter, ("checkpoint", checkpoint)]).fit(
        X, y, groups=groups
    )
    assert dict(model.net_.callbacks_)["Count"].epochs == 5
    assert (tmp_path / "params.pt").exists()


def test_verbose_progress_bar(pair_data, capsys):
    X, y, groups, _ = pair_data
    _mlp(verbose=0).fit(X, y, groups=groups)
    silent = capsys.readouterr()
    assert silent.out == "" and silent.err == ""
    _mlp(verbose=1).fit(X, y, groups=groups)
    assert "epoch" in capsys.readouterr().err


def test_float64_on_request(pair_data):
    X, y, groups, _ = pair_data
    model = PreferenceRewardRegressor(dtype="float64").fit(X, y, groups=groups)
    assert model.scorer_.linear.weight.dtype == torch.float64
    default = PreferenceRewardRegressor().fit(X, y, groups=groups)
    assert default.scorer_.linear.weight.dtype == torch.float32
    assert default.predict(X).dtype == np.float64


def test_lbfgs_is_the_default_for_linear_scorers(pair_data):
    X, y, groups, _ = pair_data
    linear = PreferenceRewardRegressor().fit(X, y, groups=groups)
    assert isinstance(linear.net_.optimizer_, FullBatchLBFGS)
    assert linear.converged_
    mlp = _mlp().fit(X, y, groups=groups)
    assert isinstance(mlp.net_.optimizer_, torch.optim.Adam)
    custom = _mlp(optimizer=torch.optim.RMSprop).fit(X, y, groups=groups)
    assert isinstance(custom.net_.optimizer_, torch.optim.RMSprop)


def test_convergence_warning_at_max_epochs(pair_data):
    X, y, groups, _ = pair_data
    with pytest.warns(ConvergenceWarning, match="max_epochs"):
        PreferenceRewardRegressor(
            scorer=LinearScorer(), optimizer="sgd", max_epochs=2
        ).fit(X, y, groups=groups)


def test_diverging_training_raises_and_names_the_learning_rate(pair_data):
    X, y, groups, _ = pair_data
    X = X * 1e30
    model = PreferenceRewardRegressor(optimizer="sgd", lr=1e30, max_epochs=5)
    with pytest.raises(FloatingPointError, match="lower lr"):
        model.fit(X, y, groups=groups)
    assert not hasattr(model, "net_")


def test_cuda_requested_without_cuda(pair_data):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available")
    X, y, groups, _ = pair_data
    with pytest.raises(ValueError, match="CUDA is not available"):
        PreferenceRewardRegressor(device="cuda").fit(X, y, groups=groups)
    model = PreferenceRewardRegressor(device="auto").fit(X, y, groups=groups)
    assert model.net_.device == torch.device("cpu")


@pytest.mark.gpu
def test_cuda_fit_matches_cpu(pair_data):
    X, y, groups, _ = pair_data
    cpu = PreferenceRewardRegressor(dtype="float64").fit(X, y, groups=groups)
    gpu = PreferenceRewardRegressor(dtype="float64", device="cuda").fit(
        X, y, groups=groups
    )
    assert_allclose(gpu.predict(X), cpu.predict(X), rtol=1e-5, atol=1e-6)
    restored = pickle.loads(pickle.dumps(gpu))
    assert_allclose(restored.predict(X), gpu.predict(X))


def test_invalid_parameters_are_rejected_by_constraints(pair_data):
    X, y, groups, _ = pair_data
    with pytest.raises(ValueError, match="alpha"):
        PreferenceRewardRegressor(alpha=-1).fit(X, y, groups=groups)
    with pytest.raises(ValueError, match="optimizer"):
        PreferenceRewardRegressor(optimizer="newton").fit(X, y, groups=groups)
    with pytest.raises(ValueError, match="hidden_units"):
        PreferenceRewardRegressor(scorer=MLPScorer(hidden_units=())).fit(
            X, y, groups=groups
        )


def test_difference_units_score_without_a_gather():
    """Difference units (unit k: row k, then the zero row) are scored by a
    slice and a broadcast whose gradient matches the gather's."""
    from skalign._engine import _OwnRowThenLast

    scores = torch.randn(6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(_OwnRowThenLast.apply, (scores,))
    index = torch.stack([torch.arange(5), torch.full((5,), 5)], 1)
    gathered = scores.index_select(0, index.reshape(-1)).reshape(5, 2)
    assert_array_equal(_OwnRowThenLast.apply(scores).detach(), gathered.detach())


def test_difference_layout_matches_the_row_layout():
    """A linear pairwise fit on pairs_to_long's adjacent rows (difference
    rows, some negated in place) reaches the same optimum as the same pairs
    with their rows in another order (differences of gathered rows)."""
    rng = np.random.default_rng(0)
    n_pairs, d = 300, 4
    X = rng.normal(size=(2 * n_pairs, d)) * [1, 10, 100, 0.1]
    y = rng.integers(0, 2, size=n_pairs)
    y = np.column_stack([y, 1 - y]).ravel().astype(float)
    groups = np.repeat(np.arange(n_pairs), 2)
    adjacent = PreferenceRewardRegressor().fit(X, y, groups=groups)
    order = rng.permutation(2 * n_pairs)
    shuffled = PreferenceRewardRegressor().fit(X[order], y[order], groups=groups[order])
    assert adjacent.converged_ and shuffled.converged_
    assert_allclose(adjacent.objective_, shuffled.objective_, rtol=1e-10)
    assert_allclose(adjacent.predict(X), shuffled.predict(X), atol=1e-6)


def test_constant_targets_are_broadcast_into_batches_not_gathered():
    from skalign._engine import TrainingData

    X = torch.arange(12.0).reshape(6, 2)
    targets = {
        "grades": torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]),
        "mask": torch.ones(3, 2, dtype=torch.bool),
        "weight": torch.full((3, 2), 0.5),
    }
    data = TrainingData(X, targets)
    rows, batch = data.batch(torch.tensor([2, 0]))
    assert_array_equal(rows, X[[4, 5, 0, 1]])
    assert_array_equal(batch["grades"], targets["grades"][[2, 0]])
    for name in ("mask", "weight"):
        assert batch[name].stride(0) == 0
        assert_array_equal(batch[name], targets[name][[2, 0]])


def test_a_kinked_objective_ends_when_a_step_gains_little_of_the_solve():
    """``smooth=False``: least absolute deviations (a kink at every
    residual's zero, where the gradient never becomes small) end when a
    whole step gains at most ``tol`` of what the solve has gained, near the
    optimum (linear programming's), and not before. A smooth objective
    (the default) keeps only the ``tol²`` rule and goes on."""
    from scipy.optimize import linprog

    rng = np.random.default_rng(0)
    A = rng.standard_normal((300, 4))
    b = A @ rng.standard_normal(4) + rng.standard_t(2, 300)
    n, p = A.shape
    # min Σ (u + v) / n subject to A w + u - v = b, u, v >= 0.
    program = linprog(
        np.r_[np.zeros(p), np.ones(2 * n) / n],
        A_eq=np.hstack([A, np.eye(n), -np.eye(n)]),
        b_eq=b,
        bounds=[(None, None)] * p + [(0, None)] * (2 * n),
    )
    best = program.fun
    A_t, b_t = torch.tensor(A), torch.tensor(b)
    tol = 1e-4
    start = float(np.abs(b).mean())

    def solve(smooth):
        w = torch.zeros(p, dtype=torch.float64, requires_grad=True)
        solver = FullBatchLBFGS([w], tol=tol, convex=False, smooth=smooth)

        def closure():
            solver.zero_grad()
            loss = (A_t @ w - b_t).abs().mean()
            loss.backward()
            return loss

        values = [start]
        for _ in range(100):
            values.append(float(solver.step(closure)))
            if solver.converged:
                break
        return solver, values

    solver, values = solve(smooth=False)
    assert solver.converged and not solver.stalled
    gains = -np.diff(values)
    total = start - values[-1]
    assert gains[-1] <= max(tol**2 * values[-1], tol * total)
    so_far = values[0] - np.array(values[1:-1])
    assert np.all(
        gains[:-1] > np.maximum(tol**2 * np.array(values[1:-1]), tol * so_far)
    )
    assert values[-1] - best <= 1e-3 * (start - best)
    _, smooth_values = solve(smooth=True)
    assert len(smooth_values) > len(values)
    assert smooth_values[len(values) - 1] == values[-1]
