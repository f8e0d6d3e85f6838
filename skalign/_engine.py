"""The training engine shared by every torch estimator.

A family estimator subclasses :class:`TorchEstimator` and states its training
problem once (template method): ``_problem(X, y, **metadata)`` returns a
:class:`Problem` (the training units and the :class:`Formulation`: loss
phases, module around the scorer, outputs, convexity, solver preference,
initial state), and ``_formulation(**constants)`` rebuilds the formulation
from the data-derived constants alone (for a saved model). The engine does
the rest once: parameter validation,
seeding, device and dtype handling, batching by slicing tensors, the skorch
net, convergence and divergence checks, early stopping, ``warm_start`` and
``partial_fit``, and prediction.

Training units are rows for row-wise objectives, pairs of rows for pairwise
ones and padded groups for listwise ones. Every target is a tensor of shape
``(n_units, unit_len, ...)`` and an ``index`` of the same leading shape names
the row of ``X`` at each position. A full batch scores every row once and
gathers the scores by ``index``; a mini-batch is an ``index_select`` of the
targets and of the rows its units use. Nothing is collated per sample.
"""

import copy
import dataclasses
import functools
import math
import numbers
import threading
import warnings
from contextlib import contextmanager, nullcontext, suppress

import joblib
import numpy as np
import scipy.sparse as sp
import skorch
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch.callbacks import Callback, LRScheduler
from skorch.helper import predefined_split
from skorch.history import History

from ._config import get_config, torch_threads
from ._distributed import alone as _alone
from ._distributed import current as _data_parallel
from ._inference import (
    INFORMATION_BUDGET,
    LikelihoodInferenceMixin,
    _flat_named,
    likelihood_statistics,
    linear_score_rows,
)
from ._loss._reduction import fused_allowed
from ._solver import FullBatchLBFGS
from .exceptions import ConvergenceWarning, DeviceWarning
from .nn import LinearScorer, Scorer
from .utils._persistence import VersionedStateMixin
from .utils._units import Units, row_weights
from .utils._validation import (
    check_features,
    column_moments,
    from_torch,
    resolve_device,
)

__all__ = ["Formulation", "Problem", "TorchEstimator", "TrainingData", "to_torch"]

_LBFGS_ITER_PER_EPOCH = 20
_PREDICT_CHUNK = 1 << 16
_OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "lbfgs": FullBatchLBFGS,
}
_DEFAULT_LR = {FullBatchLBFGS: 1.0, torch.optim.LBFGS: 1.0, torch.optim.SGD: 1e-2}
#: Adam's default step on a scorer that standardises its inputs: every
#: first-layer weight then acts on a unit-scale feature, so a step of 1e-2
#: (halved on plateaus by the monitor) is safe, and ten times faster than
#: the 1e-3 kept for weights on raw features, whose scale is unknown.
_STANDARDIZED_ADAM_LR = 1e-2
_ADAM = (torch.optim.Adam, torch.optim.AdamW)
_FULL_BATCH = (FullBatchLBFGS, torch.optim.LBFGS)
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def to_torch(X, dtype, device):
    """Dense ndarray or scipy sparse matrix -> torch tensor (sparse: COO).

    Canonical CSR input (sorted indices, no duplicates, as scikit-learn's
    validation leaves it) is already in COO order and is not sorted again.
    """
    if sp.issparse(X):
        canonical = X.format == "csr" and X.has_canonical_format
        coo = X.tocoo()
        indices = np.vstack([coo.row, coo.col]).astype(np.int64)
        tensor = torch.sparse_coo_tensor(
            torch.from_numpy(indices),
            torch.from_numpy(coo.data).to(dtype),
            coo.shape,
            check_invariants=False,
            is_coalesced=canonical or None,
        )
        return (tensor if canonical else tensor.coalesce()).to(device)
    if not X.flags.f_contiguous:
        X = np.ascontiguousarray(X)
    if not X.flags.writeable:
        # torch cannot wrap read-only memory (e.g. a memmap); copy it.
        X = X.copy()
    return torch.as_tensor(X, dtype=dtype, device=device)


@dataclasses.dataclass(frozen=True)
class Formulation:
    """What is trained: the family's objective, independent of the rows.

    Built by ``TorchEstimator._formulation(**constants)`` from the
    estimator's parameters and the constants a :class:`Problem` derived
    from its data, so that a saved model rebuilds exactly the net it was
    trained as.

    Attributes
    ----------
    losses : tuple of callables
        The loss phases, trained one after the other (a curriculum); each
        is a pure torch function ``loss(scores, **targets)`` or a module.
    n_outputs : int
        Score columns the scorer produces per row.
    module : callable or None
        ``module(scorer_module, **init)`` returns the module the net trains
        around the scorer (e.g. ordinal thresholds, tie weights); learned
        parameters of the loss live there. ``init`` holds a fresh fit's
        data-derived initial values and is empty when a saved model is
        rebuilt (its weights are then loaded). ``None``: the scorer alone.
    convex : bool
        The objective is convex in a linear scorer's weights.
    lbfgs : bool or None
        Whether ``optimizer="auto"`` picks full-batch L-BFGS for a linear
        scorer; ``None`` means ``convex``.
    shift_invariant : bool
        The loss of a unit sees only differences of its scores, so linear
        pair units may be stored as difference features.
    smooth : bool
        The objective is differentiable everywhere, convex or not. A
        distance-covariance penalty (``|ŷ_i - ŷ_j|`` at every pair of tied
        predictions) or an absolute error is not: its gradient need not
        become small at the optimum, and L-BFGS also ends when its steps
        gain little of what the fit has gained (see
        :class:`~skalign._solver.FullBatchLBFGS`).
    scorer : Scorer or None
        The scorer this problem trains when the estimator's ``scorer`` is
        ``None`` (e.g. a calibration map with data-derived knots); ``None``:
        ``_default_scorer()``.
    likelihood : bool
        The objective is a mean negative log-likelihood (one weighted mean
        of ``-log p``): with a linear scorer and ``alpha=0``, the fit
        computes the likelihood statistics of
        :mod:`skalign._inference`.
    solve : callable or None
        A solver of this objective's own, used instead of the engine's
        optimisers (e.g. Newton's method on a one-parameter convex loss):
        ``solve(module, X, targets, *, max_iter, tol, record)`` with the
        built module (at its starting weights), the training rows and
        targets of the full batch, sets the module's parameters to the
        solution in place and returns whether its convergence test held.
        It calls ``record(objective)`` once per iteration, with the
        objective at the weights that iteration leaves: the engine writes
        ``history_`` from it. Everything else (validation, the problem, the
        module, dtype and device, the finite check, saving) is the
        engine's, as for any fit.
    penalize_biases : bool
        ``alpha`` penalises every parameter of the module, biases included,
        not only its weight matrices: where a bias acts as a weight (a
        bilinear form of embeddings), an unpenalised one leaves the
        penalised objective without a minimiser.
    """

    losses: tuple
    n_outputs: int = 1
    module: object = None
    convex: bool = False
    lbfgs: object = None
    shift_invariant: bool = False
    smooth: bool = True
    scorer: object = None
    solve: object = None
    likelihood: bool = False
    penalize_biases: bool = False

    def prefers_lbfgs(self, scorer):
        """Whether ``optimizer="auto"`` trains ``scorer`` by L-BFGS."""
        lbfgs = self.convex if self.lbfgs is None else self.lbfgs
        return bool(lbfgs) and isinstance(scorer, LinearScorer)

    def build(self, scorer_module, init=None):
        """The trained module around a built scorer."""
        if self.module is None:
            return scorer_module
        return self.module(scorer_module, **(init or {}))


@dataclasses.dataclass
class Problem:
    """A family's training problem, stated once by ``_problem``.

    Attributes
    ----------
    units : Units
        The rows and per-unit targets, from the unit builder
        :mod:`skalign.utils._units`.
    formulation : Formulation
    constants : dict
        The data-derived constants the formulation was built from
        (``formulation == estimator._formulation(**constants)``); saved with
        the model, and handed back to ``_problem`` by a continued fit, whose
        problem must keep them.
    init : dict
        Data-derived initial values for ``formulation.module`` (fresh fits).
    initial_state : callable or None
        ``initial_state()`` returns the state of the trained module (the
        scorer, or ``formulation.module`` around it) to start a fresh full
        fit from (e.g. the unpenalised optimum of a penalised objective).
    """

    units: Units
    formulation: Formulation
    constants: dict = dataclasses.field(default_factory=dict)
    init: dict = dataclasses.field(default_factory=dict)
    initial_state: object = None


def _same_constants(a, b):
    """Whether two problems' constants are equal (arrays elementwise)."""
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            x, y = np.asarray(x), np.asarray(y)
            if x.shape != y.shape or not np.array_equal(x, y):
                return False
        elif x != y:
            return False
    return True


def _own_row_then_zero(index, n_rows):
    """Whether unit ``k`` is rows ``(k, n_rows - 1)`` for every ``k``: the
    layout of difference units (:func:`_cheapest_layout`)."""
    n_units = index.shape[0]
    if index.ndim != 2 or index.shape[1] != 2 or n_rows != n_units + 1:
        return False
    own = torch.arange(n_units, device=index.device)
    return bool((index[:, 0] == own).all() and (index[:, 1] == n_units).all())


class TrainingData(torch.utils.data.Dataset):
    """Training units: feature rows plus an index and targets per unit.

    Parameters
    ----------
    X : tensor of shape (n_rows, n_features), dense or sparse COO
        Each row once; units point into it.
    targets : dict of str -> tensor of shape (n_units, unit_len, ...)
        Passed as keyword arguments to the family's loss. Must contain
        ``"mask"`` (bool, ``True`` on real positions) and ``"weight"``.
    index : tensor of shape (n_units, unit_len), default=None
        Row of ``X`` at each position (any row where ``mask`` is ``False``).
        ``None`` means ``X`` is laid out unit-major, ``unit_len`` rows per unit.
    """

    def __init__(self, X, targets, index=None):
        self.X = X
        self.targets = targets
        mask = targets["mask"]
        self.n_units, self.unit_len = mask.shape[0], mask.shape[1]
        unit_major = index is None
        if unit_major:
            index = torch.arange(X.shape[0], device=mask.device).view(mask.shape[:2])
        elif _own_row_then_zero(index, X.shape[0]):
            # Difference units (unit k: row k, then the last row): scored by
            # a slice and a broadcast instead of a gather and its scatter.
            index = index.clone()
            index._skalign_own_row_then_last = True
        self.index = index
        # Unit-major rows are already laid out per unit: no gather needed.
        self._full = (X, targets if unit_major else {**targets, "index": index})
        # Targets equal for every unit (an all-True mask, equal weights) are
        # broadcast into a batch instead of gathered.
        self._constant = {
            name
            for name, value in targets.items()
            if value.shape[0] > 0 and bool((value == value[:1]).all())
        }
        # One broadcast view per target and batch length, the same object at
        # every batch: what the loss derives from constant targets (the pairs
        # of the grades, their weights) is cached on them, once per fit.
        self._views = {}

    def __len__(self):
        return self.n_units

    def full(self):
        """The whole data set as one batch: rows are scored once each."""
        return self._full

    def batch(self, units):
        """The rows and targets of ``units``; the rows come unit-major."""
        index = self.index.index_select(0, units)
        targets = {
            k: self._broadcast(k, len(units))
            if k in self._constant
            else v.index_select(0, units)
            for k, v in self.targets.items()
        }
        return self.X.index_select(0, index.reshape(-1)), targets

    def _broadcast(self, name, n_units):
        view = self._views.get((name, n_units))
        if view is None:
            value = self.targets[name]
            view = value[:1].expand(n_units, *value.shape[1:])
            self._views[name, n_units] = view
        return view

    def subset(self, units):
        """A new :class:`TrainingData` holding only ``units``."""
        return TrainingData(*self.batch(units))


class _BatchIterator:
    """Yields batches of units (the whole set when it fits in one batch)."""

    def __init__(self, dataset, batch_size, shuffle=False):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle

    def __iter__(self):
        data = self.dataset
        # A data-parallel fit's shard: batches of the global units.
        shard = getattr(data, "shard", None)
        n, size = len(data) if shard is None else shard.n_units, self.batch_size
        if size >= n:
            yield data.full()
            return
        device = data.targets["mask"].device
        # The fit's own generator: threads cannot interleave their draws.
        generator = getattr(data, "generator", None)
        if shard is not None:
            yield from data.communicator.batches(data, size, generator, self.shuffle)
            return
        if self.shuffle:
            order = torch.randperm(n, device=device, generator=generator)
        else:
            order = torch.arange(n, device=device)
        for start in range(0, n, size):
            yield data.batch(order[start : start + size])


class _OwnRowThenLast(torch.autograd.Function):
    """Scores of difference units: unit ``k`` is rows ``(k, n_rows - 1)``.
    A slice and a broadcast, and a backward that writes each gradient once
    (no scatter into zero-filled copies)."""

    @staticmethod
    def forward(ctx, scores):
        own = scores[:-1]
        return torch.stack((own, scores[-1].expand_as(own)), 1)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        out = grad.new_empty((grad.shape[0] + 1, *grad.shape[2:]))
        out[:-1] = grad[:, 0]
        out[-1] = grad[:, 1].sum(0)
        return out


class _Objective(torch.nn.Module):
    """skorch criterion: the family loss on per-unit scores, plus L2.

    ``loss`` is a pure function or an ``nn.Module`` holding the loss's own
    learnable parameters (e.g. a tie parameter); skorch optimises criterion
    parameters together with the module's. Only the module's weight matrices
    get the L2 penalty, or every parameter of the module with ``biases``.
    """

    def __init__(self, loss, alpha, biases=False):
        super().__init__()
        self.loss = loss
        self.alpha = alpha
        self.biases = biases

    def forward(self, scores, targets, module):
        # Scores are per row of the batch. A full batch scores each row once
        # and its index lays the scores out per unit; a mini-batch's rows are
        # already unit-major.
        targets = dict(targets)
        index = targets.pop("index", None)
        layout = targets["mask"].shape + scores.shape[1:]
        if getattr(index, "_skalign_own_row_then_last", False) and fused_allowed():
            scores = _OwnRowThenLast.apply(scores)
        elif index is not None:
            scores = scores.index_select(0, index.reshape(-1))
        scores = scores.reshape(layout)
        value = self.loss(scores, **targets)
        if self.alpha:
            # Weight matrices only: biases and intercepts stay unpenalised,
            # as in scikit-learn's linear models and MLPs, unless the
            # formulation's biases act as weights.
            penalty = sum(
                (p * p).sum() for p in module.parameters() if self.biases or p.ndim >= 2
            )
            value = value + 0.5 * self.alpha * penalty
        return value


class _Net(skorch.NeuralNet):
    """skorch net whose loss sees the module (for the L2 penalty), and whose
    full-batch L-BFGS epochs report the objective at the weights they leave.

    While a data-parallel fit trains it, ``data_parallel`` is the fit's
    :class:`~skalign._distributed.Communicator`, which takes each step and
    records each epoch with global values.
    """

    data_parallel = None

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return self.criterion_(y_pred, y_true, self.module_)

    def _set_training(self, training=True):
        # skorch sets the mode before every step; ``Module.train`` assigns
        # ``training`` on every submodule through ``Module.__setattr__``,
        # whose isinstance checks cost more than a small full-batch
        # evaluation. Modules already in the mode are left alone.
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_")
            if isinstance(module, torch.nn.Module) and any(
                part.training != training for part in module.modules()
            ):
                module.train(training)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if self.data_parallel is None or iterator is None:
            return super().run_single_epoch(
                iterator, training, prefix, step_fn, **fit_params
            )
        if not training:
            # The global validation loss, batch by global batch.
            step_fn = functools.partial(self.data_parallel.validation_step, self)
        return self.data_parallel.run_epoch(
            self, iterator, prefix, step_fn, training=training, **fit_params
        )

    def train_step(self, batch, **fit_params):
        if self.data_parallel is not None:
            return self.data_parallel.train_step(self, batch, **fit_params)
        if not isinstance(self.optimizer_, FullBatchLBFGS):
            return super().train_step(batch, **fit_params)

        def closure():
            self._zero_grad_optimizer()
            return self.train_step_single(batch, **fit_params)["loss"]

        # skorch's own train_step would report the loss of the first closure
        # call, i.e. before the step.
        return {"loss": self.optimizer_.step(closure), "y_pred": None}


class _Monitor(Callback):
    """Convergence, divergence and early-stopping bookkeeping.

    Stops training by raising ``KeyboardInterrupt``, which skorch turns into a
    clean end of ``fit`` (as its own ``EarlyStopping`` does). With the
    full-batch solver, convergence is the solver's test on the objective and
    its gradient; otherwise, ``n_iter_no_change`` epochs without an
    improvement of the monitored loss by ``tol``.
    """

    def __init__(self, *, monitor, tol, n_iter_no_change, restore_best, schedule=False):
        self.monitor = monitor
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.restore_best = restore_best
        self.schedule = schedule

    def initialize(self):
        self.converged_ = False
        self.diverged_ = None
        self._best = np.inf
        self._stall = 0
        self._best_state = None
        self._last_good = None
        return self

    def on_train_begin(self, net, X=None, **kwargs):
        self.initialize()
        self._last_good = _state_copy(net)
        if self.schedule:
            # Every call (fit, phase, warm start, partial_fit) starts from
            # the net's learning rate; plateaus within the call lower it.
            for group in net.optimizer_.param_groups:
                group["lr"] = net.lr
        if isinstance(net.optimizer_, FullBatchLBFGS):
            # A new solve (fit, phase, warm start or partial_fit call). The
            # gradient test stays relative to the gradient where this
            # optimiser first started (a fresh one for a fresh fit or phase).
            net.optimizer_.reset(keep_reference=True)
            net.optimizer_.param_groups[0]["tol"] = self.tol
            net.optimizer_.set_scales(
                _feature_scales(
                    net.module_,
                    X.X,
                    communicator=net.data_parallel,
                    zero_row=getattr(X.index, "_skalign_own_row_then_last", False),
                )
            )

    def on_epoch_end(self, net, dataset_train=None, **kwargs):
        loss = net.history[-1, self.monitor]
        train_loss = net.history[-1, "train_loss"]
        if not (np.isfinite(loss) and np.isfinite(train_loss) and _finite(net)):
            self.diverged_ = (len(net.history), self.monitor, loss)
            _load_state(net, self._last_good)
            raise KeyboardInterrupt
        start, self._last_good = self._last_good, _state_copy(net)
        if (
            self.schedule
            and self.monitor == "train_loss"
            and loss < self._best
            and not isinstance(net.optimizer_, FullBatchLBFGS)
        ):
            # Once its training loss has stalled, a stochastic optimiser
            # returns the weights of its lowest training loss: near the
            # optimum, Adam's normalised steps keep moving on gradients at
            # rounding level. (A fit cut short, by its epoch budget or an
            # interrupt, keeps its last weights.) A full-batch epoch's loss
            # is that of the weights it started from, a mini-batch epoch's
            # the mean along its steps (the weights it ends at).
            one_step = dataset_train is not None and net.batch_size >= len(
                dataset_train
            )
            self._best_state = start if one_step else self._last_good
        solver = net.optimizer_
        if isinstance(solver, FullBatchLBFGS):
            if solver.converged:
                self.converged_ = True
                raise KeyboardInterrupt
            if self.monitor == "train_loss":
                return
        if loss < self._best - self.tol:
            self._stall = 0
        else:
            self._stall += 1
        if loss < self._best:
            self._best = loss
            if self.restore_best:
                self._best_state = _state_copy(net)
        if self._stall >= self.n_iter_no_change:
            self.converged_ = True
            raise KeyboardInterrupt
        if self.schedule and self._stall and self._stall % self._patience() == 0:
            # Reduce on plateau: a stalled stochastic loss is often a step
            # too large for the noise of its mini-batches. Halved at half
            # the stopping patience, so that training stops only once the
            # smaller step has stalled too.
            for group in net.optimizer_.param_groups:
                group["lr"] *= 0.5

    def _patience(self):
        return max(1, self.n_iter_no_change // 2)

    def on_train_end(self, net, **kwargs):
        if len(net.history) and "train_loss" not in net.history[-1]:
            # Interrupted (KeyboardInterrupt) inside an epoch: back to the
            # end of the last completed one, and drop the unfinished row.
            _load_state(net, self._last_good)
            del net.history[-1]
        if self._best_state is not None and (self.restore_best or self.converged_):
            _load_state(net, self._best_state)
        # The copies of the weights are only needed while training; dropped,
        # they cannot keep GPU memory alive or end up in a saved model.
        self._last_good = self._best_state = None


_NET_STATE_KEYS = (
    "module",
    "criterion",
    "optimizer",
    "history",
    "device",
    "batch_size",
)


def _net_state(net):
    """A trained net as plain Python and numpy: what a saved model holds."""
    return {
        "module": _as_arrays(net.module_.state_dict()),
        "criterion": _as_arrays(net.criterion_.state_dict()),
        "optimizer": _as_arrays(net.optimizer_.state_dict()),
        "history": _as_arrays(list(net.history)),
        "device": str(net.device),
        "batch_size": net.batch_size,
    }


def _as_arrays(tree):
    """Tensors in nested dicts, lists and tuples -> numpy arrays."""
    if isinstance(tree, torch.Tensor):
        return tree.detach().to("cpu").numpy().copy()
    if isinstance(tree, dict):
        return {key: _as_arrays(value) for key, value in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_as_arrays(value) for value in tree)
    return tree


def _as_tensors(tree):
    """The inverse of :func:`_as_arrays` (CPU tensors: ``load_state_dict``
    moves them to the parameters' device)."""
    if isinstance(tree, np.ndarray):
        return torch.from_numpy(np.array(tree))
    if isinstance(tree, dict):
        return {key: _as_tensors(value) for key, value in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_as_tensors(value) for value in tree)
    return tree


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _numeric_array(value):
    return isinstance(value, np.ndarray) and (
        np.issubdtype(value.dtype, np.number) or value.dtype == np.bool_
    )


def _plain(tree):
    """Whether ``tree`` is plain data: numbers, strings, ``None``, numeric
    arrays, and dicts, lists and tuples of them."""
    if tree is None or isinstance(tree, (bool, numbers.Number, str)):
        return True
    if isinstance(tree, np.ndarray):
        return _numeric_array(tree)
    if isinstance(tree, dict):
        return all(
            isinstance(k, (str, numbers.Number)) and _plain(v) for k, v in tree.items()
        )
    if isinstance(tree, (list, tuple)):
        return all(_plain(v) for v in tree)
    return False


#: What every torch module holds (hooks, registries): not saved by
#: :func:`_module_tree`, rebuilt by ``nn.Module.__init__``.
_MODULE_INTERNALS = frozenset(vars(torch.nn.Module()))


def _module_tree(module):
    """A torch module as plain data: its class, its own attributes, its
    parameters and buffers as numpy arrays, its children as trees.

    This is how a user's module (the ``scorer`` parameter) is saved, so that
    skops can store it: skops needs to trust only the module classes. Hooks
    are not saved.
    """
    attributes = {
        key: _as_arrays(value)
        for key, value in vars(module).items()
        if key not in _MODULE_INTERNALS
    }
    return {
        "class": type(module),
        "training": bool(module.training),
        "attributes": attributes,
        "parameters": {
            key: None
            if p is None
            else (p.detach().cpu().numpy().copy(), p.requires_grad)
            for key, p in module._parameters.items()
        },
        "buffers": {
            key: None if b is None else b.detach().cpu().numpy().copy()
            for key, b in module._buffers.items()
        },
        "non_persistent": sorted(module._non_persistent_buffers_set),
        "modules": {
            key: None if child is None else _module_tree(child)
            for key, child in module._modules.items()
        },
    }


def _tree_module(tree):
    """The inverse of :func:`_module_tree`; only a torch module class is
    instantiated (without calling its ``__init__``)."""
    cls = tree["class"]
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        raise TypeError(f"{cls!r} is not a torch module class")
    module = cls.__new__(cls)
    torch.nn.Module.__init__(module)
    module.training = bool(tree["training"])
    for key, value in tree["attributes"].items():
        module.__dict__[key] = value
    for key, value in tree["parameters"].items():
        module._parameters[key] = (
            None
            if value is None
            else torch.nn.Parameter(
                torch.from_numpy(np.array(value[0])), requires_grad=bool(value[1])
            )
        )
    for key, value in tree["buffers"].items():
        module._buffers[key] = (
            None if value is None else torch.from_numpy(np.array(value))
        )
    module._non_persistent_buffers_set.update(tree["non_persistent"])
    for key, child in tree["modules"].items():
        module._modules[key] = None if child is None else _tree_module(child)
    return module


def _use_validation(net, valid):
    """Make an initialised net validate on ``valid`` (``None``: on nothing)
    from its next epoch on, and its monitor watch the matching loss."""
    monitor = dict(net.callbacks_)["skalign_monitor"]
    net.train_split = predefined_split(valid) if valid is not None else None
    monitor.monitor = "valid_loss" if valid is not None else "train_loss"
    monitor.restore_best = valid is not None


def _state_copy(net):
    """The learnable state of a net: its module's and its criterion's."""
    return {
        name: {k: v.detach().clone() for k, v in part.state_dict().items()}
        for name, part in (("module", net.module_), ("criterion", net.criterion_))
    }


def _load_state(net, state):
    net.module_.load_state_dict(state["module"])
    net.criterion_.load_state_dict(state["criterion"])


#: Targets kept in float64 whatever the model's dtype: orderings, ties and
#: gaps of grades must come from the grades as given (in float32, grades
#: of 1e8 + 1 and 1e8 are tied).
_EXACT_TARGETS = frozenset({"grades"})


def _target_dtype(name, values, dtype):
    if values.dtype.kind != "f":
        return None
    return torch.float64 if name in _EXACT_TARGETS else dtype


def _cheapest_layout(X, index, *, differences=False):
    """Rows and unit index in their cheapest exact form.

    An index that lists the rows in order is dropped (the rows are already
    unit-major). Rows with one stored entry each (one-hot items) are laid
    out unit-major along the index, so that scoring a unit is one id gather
    rather than a gather of the items and then of the rows. With
    ``differences`` (pair units whose loss sees only the score difference,
    under an affine scorer), dense rows become one difference row per pair
    plus a zero row, ``s(x_w - x_l) - s(0) = s(x_w) - s(x_l)``, when that
    is no larger than the rows themselves: half the work per evaluation.
    Every unit is then its own row (the winner's features minus the
    loser's) and the zero row last, which :class:`TrainingData` scores
    without a gather.
    """
    if index is None:
        return X, None
    if (
        differences
        and not sp.issparse(X)
        and index.ndim == 2
        and index.shape[1] == 2
        and index.shape[0] <= X.shape[0]
    ):
        n_pairs = index.shape[0]
        # Column-major: the gradient X^T g of a linear score then reads the
        # matrix in its storage order, 1.7 times faster than row-major.
        rows = np.empty((n_pairs + 1, X.shape[1]), dtype=X.dtype, order="F")
        rows[n_pairs] = 0
        first = np.minimum(index[:, 0], index[:, 1])
        pairs = np.column_stack([np.arange(n_pairs), np.full(n_pairs, n_pairs)])
        if (
            X.shape[0] == 2 * n_pairs
            and np.array_equal(first, np.arange(0, X.shape[0], 2))
            and np.all(np.abs(index[:, 0] - index[:, 1]) == 1)
        ):
            # Each pair is two adjacent rows (pairs_to_long's layout): a
            # difference of strided views, no gather.
            # Where the second row won, the row is negated (times -1, exact):
            # every row is the winner's features minus the loser's.
            np.subtract(X[0::2], X[1::2], out=rows[:n_pairs])
            sign = np.where(index[:, 0] > index[:, 1], -1.0, 1.0).astype(X.dtype)
            np.multiply(rows[:n_pairs], sign[:, None], out=rows[:n_pairs])
        else:
            np.subtract(X[index[:, 0]], X[index[:, 1]], out=rows[:n_pairs])
        return rows, pairs
    flat = index.reshape(-1)
    if flat.size == X.shape[0] and np.array_equal(flat, np.arange(flat.size)):
        return X, None
    if sp.issparse(X) and X.format == "csr" and np.all(np.diff(X.indptr) == 1):
        return X[flat], None
    return X, index


def _standardizes_inputs(module):
    """Whether ``module`` holds a scorer that standardises its inputs
    (``standardizes_inputs``, e.g. :class:`~skalign.nn.MLPScorer`)."""
    return any(getattr(m, "standardizes_inputs", False) for m in module.modules())


def _set_input_scaling(module, X, weight, communicator=None):
    """Give the standardising scorers of a freshly built ``module`` the
    training rows' column means and standard deviations, each row counted
    with its ``weight`` in the training units (in a data-parallel fit, of
    every rank's rows together)."""
    scorers = [
        m
        for m in module.modules()
        if getattr(m, "standardizes_inputs", False)
        and getattr(m, "n_features_in_", None) == X.shape[1]
    ]
    if scorers:
        if communicator is None:
            mean, scale = column_moments(X, weight)
        else:
            mean, scale = communicator.column_moments(X, weight)
        for scorer in scorers:
            scorer.set_input_scaling(mean, scale)


def _feature_scales(module, X, *, communicator=None, zero_row=False):
    """Solver scales of the weights of the linear scorers that read ``X``:
    the inverse root mean square of the feature each weight multiplies (1
    for an all-zero feature). For losses of a linear score, the Hessian's
    diagonal grows as the feature's mean square, so in these units every
    weight has about the same curvature: unscaled features (costs in
    dollars next to indicators) and one-hot items of very different
    frequencies are as well conditioned as standardised features. Only the
    iterates are rescaled: the objective is unchanged. A data-parallel fit
    (``communicator``) uses the global root mean squares; ``zero_row``: the
    rows end with the zero row of the difference layout."""
    linear = [
        m.linear
        for m in module.modules()
        if isinstance(m, LinearScorer) and m.linear.in_features == X.shape[1]
    ]
    if not linear or (X.shape[0] < 2 and communicator is None):
        return {}
    if X.layout == torch.strided:
        # In row chunks: a column reduction of a whole row-major matrix is
        # ten times slower.
        squares = sum(chunk.square().sum(0) for chunk in X.split(8192))
    else:
        X = X if X.is_coalesced() else X.coalesce()
        col, values = X.indices()[1], X.values()
        zeros = torch.zeros(X.shape[1], dtype=values.dtype, device=values.device)
        squares = zeros.index_add(0, col, values * values)
    n_rows = X.shape[0]
    if communicator is not None:
        squares, n_rows = communicator.feature_moments(squares, n_rows, zero_row)
    rms = (squares / n_rows).sqrt()
    scale = torch.where(rms > 0, 1 / rms, torch.ones_like(rms))
    return {layer.weight: scale[None, :] for layer in linear}


_GLOBAL_RNG_LOCK = threading.RLock()


def _linear_scorer(module):
    """The one-output :class:`LinearScorer` a trained module scores with
    (itself, or the ``scorer`` it wraps), or ``None``."""
    scorer = (
        module if isinstance(module, LinearScorer) else getattr(module, "scorer", None)
    )
    if isinstance(scorer, LinearScorer) and scorer.linear.weight.shape[0] == 1:
        return scorer
    return None


#: Under ``covariance="auto"``, the information of a linear scorer on sparse
#: rows beyond :data:`INFORMATION_BUDGET` is computed when its estimated
#: cost, ``n_params ** 3`` for the eigendecomposition plus, per unit-major
#: row, the square of its stored entries for ``X^T B X``, stays within this
#: many passes over the rows' stored entries: a fit makes tens of passes (a
#: few per evaluation), so the statistics cost at most a few fits. A million
#: comparisons of 1,000 items qualify; 50,000 rankings of 1,500 items (whose
#: statistics took 15 times the fit) do not.
FIT_PASSES = 1000

#: The cost limit of the same when the caller needs the covariance (the Wald
#: intervals of ``leaderboard``): a few seconds of eigendecomposition.
FAST_INFORMATION_BUDGET = 2e10


def _reweighted(X, targets, factor):
    """``X`` and ``targets`` with each unit's weights times ``factor``."""
    weight = targets["weight"]
    shape = (-1,) + (1,) * (weight.ndim - 1)
    factor = torch.as_tensor(factor, dtype=weight.dtype, device=weight.device)
    return X, {**targets, "weight": weight * factor.view(shape)}


def _information_affordable(X, n_rows, n_params, setting):
    """Whether the fit computes its information (``n_rows`` unit-major rows
    of ``X``) under the ``covariance`` ``setting`` of
    :func:`skalign.set_config` (or ``"requested"``: a caller that needs the
    covariance). Within :data:`INFORMATION_BUDGET` (parameters x rows, the
    rule of dense rows, whose ``X^T B X`` costs as much as several passes of
    the fit itself), always; beyond, only sparse rows, whose cost
    (``n_params ** 3`` plus the squared entries per row) stays within
    :data:`FIT_PASSES` passes over the stored entries (``"auto"``) or within
    :data:`FAST_INFORMATION_BUDGET` (``"requested"``)."""
    if setting in ("always", "never"):
        return setting == "always"
    if n_params * n_rows <= INFORMATION_BUDGET:
        return True
    if X.layout == torch.strided:
        return False
    per_row = X._nnz() / max(X.shape[0], 1) + 1
    cost = float(n_params) ** 3 + n_rows * per_row**2
    if setting == "requested":
        return cost <= FAST_INFORMATION_BUDGET
    return cost <= FIT_PASSES * n_rows * per_row


def _linear_score_rows(module, criterion, params, train, cluster, weight_shape):
    """The fast second derivatives of a fit with a linear scorer (see
    :func:`~skalign._inference.linear_score_rows`): a function of the cluster
    multipliers, on the training units laid out unit-major."""
    scorer = _linear_scorer(module)
    if scorer is None:
        return None
    linear = [p for p in scorer.linear.parameters() if p.requires_grad]
    if not linear or train.X.device.type != "cpu":
        return None
    units = torch.arange(train.n_units, device=train.X.device)
    X, targets = train.batch(units)
    X = X.to(torch.float64)
    targets = {
        k: v.to(torch.float64) if v.is_floating_point() else v
        for k, v in targets.items()
    }
    unit_len = targets["mask"].shape[1]
    if X.layout == torch.strided:
        design = X.detach().numpy()
    else:
        X = X.coalesce()
        row, col = X.indices().numpy()
        design = sp.csr_matrix((X.values().numpy(), (row, col)), shape=tuple(X.shape))
    bias = scorer.linear.bias
    if bias is not None and bias.requires_grad:
        ones = np.ones((design.shape[0], 1))
        design = (
            sp.hstack([design, ones], format="csr")
            if sp.issparse(design)
            else np.hstack([design, ones])
        )
    with torch.no_grad():
        scores = scorer(X)
    weight = targets["weight"]
    row_cluster = (
        None if cluster is None else cluster.repeat_interleave(unit_len).numpy()
    )

    def objective(multipliers, scores):
        weighted = dict(targets)
        if multipliers is not None:
            weighted["weight"] = weight * multipliers[cluster].view(weight_shape)
        handle = scorer.register_forward_hook(lambda m, i, out: scores.view_as(out))
        try:
            return criterion(module(X), weighted, module)
        finally:
            handle.remove()

    return lambda multipliers: linear_score_rows(
        objective,
        design,
        params,
        linear,
        multipliers,
        scores=scores,
        unit_len=unit_len,
        row_cluster=row_cluster,
    )


@contextmanager
def _global_rng(seed, device):
    """torch's global generators seeded with ``seed`` for the body and
    restored after it, under a process-wide lock: concurrent fits cannot
    draw from each other's seeded state."""
    forked = [device.index or 0] if device.type == "cuda" else []
    with (
        _GLOBAL_RNG_LOCK,
        torch.random.fork_rng(devices=forked, device_type="cuda"),
    ):
        torch.manual_seed(seed)
        yield


def _draws_random_numbers(module):
    """Whether training ``module`` draws from torch's global generator:
    dropout with a positive rate, or any module skalign did not write."""
    for layer in module.modules():
        if isinstance(layer, torch.nn.modules.dropout._DropoutNd) and layer.p > 0:
            return True
        if not type(layer).__module__.startswith(("skalign.", "torch.nn.")):
            return True
    return False


def _finite(net):
    """Whether every parameter of the module and criterion is finite."""
    params = [*net.module_.parameters(), *net.criterion_.parameters()]
    return all(bool(torch.isfinite(p).all()) for p in params)


class _EpochProgressBar(Callback):
    """A tqdm bar over epochs (``verbose=1``)."""

    def __init__(self, total):
        self.total = total

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=self.total, desc=type(net).__name__, unit="epoch")

    def on_epoch_end(self, net, **kwargs):
        self.bar_.update(1)
        self.bar_.set_postfix(loss=f"{net.history[-1, 'train_loss']:.4g}")

    def on_train_end(self, net, **kwargs):
        self.bar_.close()


#: The fewest held-out units with which ``early_stopping="auto"`` holds
#: any out (10 units: 100 at the default ``validation_fraction=0.1``).
MIN_AUTO_VALIDATION = 10


#: Parameters that may change between calls that continue a fit.
_CONTINUATION_PARAMS = frozenset(
    {
        "max_epochs",
        "warm_start",
        "verbose",
        "callbacks",
        "tol",
        "n_iter_no_change",
        "early_stopping",
        "validation_fraction",
        "random_state",
    }
)


#: The engine settings of a family that trains one full-batch problem and
#: exposes none of the optimiser's parameters (the calibrators, PRESTO): no
#: scorer choice or L2 of the engine's (regularisers are the family's own),
#: full-batch L-BFGS or the formulation's own solver, nothing held out, no
#: callbacks, and a fixed seed, so that fitting never draws from numpy's
#: global random state. A family adds ``warm_start=False`` if it has none.
FULL_BATCH_SETTINGS = dict(
    scorer=None,
    alpha=0.0,
    optimizer="lbfgs",
    lr=None,
    batch_size=None,
    early_stopping=False,
    validation_fraction=0.1,
    n_iter_no_change=10,
    callbacks=None,
    random_state=0,
)


class TorchEstimator(VersionedStateMixin, BaseEstimator):
    """Base class of skalign's torch estimators (not for direct use).

    Subclasses implement:

    - ``_problem(X, y, *, constants, **metadata) -> Problem``: validate ``y``
      and the metadata and build the training units (with
      :mod:`skalign.utils._units`) and the :class:`Formulation`.
      ``constants`` is ``None`` for a fresh fit and, for a continued one
      (``warm_start``, ``partial_fit``), the constants of the fitted
      problem, which the new problem must keep (or raise a clear error);
    - ``_formulation(**constants) -> Formulation``: the objective from the
      parameters and the problem's constants alone (a saved model is
      rebuilt from it);
    - optionally ``_default_scorer()``.

    Engine settings that a family does not expose as parameters (e.g. a
    calibrator's fixed full-batch L-BFGS) are declared in
    ``_fixed_settings``; the engine reads every setting through
    :meth:`_setting`.

    Saved (pickle, joblib, skops), a fitted estimator holds no torch object:
    the net is stored as numpy arrays (module, criterion and optimiser state)
    plus its history, and rebuilt on load by the same code that built it for
    ``fit``, on the device it was trained on (on the CPU, with a
    :class:`~skalign.exceptions.DeviceWarning`, when that was a GPU and none
    is available).
    """

    _input_name = "X"
    _required_fitted_state = ("net_", "n_features_in_", "n_iter_", "converged_")
    #: Whether a data-parallel fit gathers every rank's shard and fits, as
    #: one process, on their union on every rank: for estimators whose data
    #: are small by nature and whose fitted statistics are not sums over
    #: units (the calibrators). So does every formulation with a solver of
    #: its own.
    _fits_union = False

    _parameter_constraints = {
        "scorer": [None, torch.nn.Module],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "optimizer": [StrOptions({"auto", *_OPTIMIZERS}), callable],
        "lr": [None, Interval(numbers.Real, 0, None, closed="neither")],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            None,
            Interval(numbers.Integral, 1, None, closed="left"),
        ],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "device": [str, torch.device],
        "dtype": [StrOptions(set(_DTYPES))],
        "callbacks": [None, list],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    #: Engine settings fixed by the family rather than exposed as parameters.
    _fixed_settings = {}
    #: Engine settings a family exposes under another name (e.g. PRESTO's
    #: ``max_iter`` for ``max_epochs``).
    _setting_names = {}
    #: Parameters that may change between calls that continue a fit.
    _continuation_params = _CONTINUATION_PARAMS

    # ------------------------------------------------------------------ hooks
    def _default_scorer(self):
        return LinearScorer()

    def _problem(self, X, y, *, constants, **metadata):
        raise NotImplementedError

    def _formulation(self, **constants):
        raise NotImplementedError

    def _setting(self, name):
        """An engine setting: the parameter, or the family's fixed value."""
        if name in self._fixed_settings:
            return self._fixed_settings[name]
        return getattr(self, self._setting_names.get(name, name))

    # ------------------------------------------------------------- resolution
    def _resolved_device(self):
        return resolve_device(self.device)

    def _resolved_scorer(self, formulation=None):
        """The scorer to train: the ``scorer`` setting, else the problem's
        own, else the family's default."""
        scorer = self._setting("scorer")
        if scorer is not None:
            return scorer
        if formulation is not None and formulation.scorer is not None:
            return formulation.scorer
        return self._default_scorer()

    def _resolved_optimizer(self, formulation):
        """The optimiser class of a fresh fit of ``formulation``."""
        optimizer = self._setting("optimizer")
        if optimizer != "auto":
            return _OPTIMIZERS.get(optimizer, optimizer)
        full_batch = self._setting("batch_size") in ("auto", None)
        if full_batch and formulation.prefers_lbfgs(self._resolved_scorer(formulation)):
            return FullBatchLBFGS
        return torch.optim.Adam

    def _uses_full_batch_solver(self, formulation):
        """Whether a fresh fit of ``formulation`` trains full batch."""
        return self._resolved_optimizer(formulation) in _FULL_BATCH

    def _resolved_batch_size(self, optimizer, n_units):
        batch_size = self._setting("batch_size")
        if batch_size is None or optimizer in _FULL_BATCH:
            return n_units
        if batch_size == "auto":
            return min(256, n_units)
        return batch_size

    # -------------------------------------------------------------- training
    def _validate_X(self, X, *, reset):
        X = check_features(X, input_name=self._input_name)
        X = validate_data(self, X, **self._check_X_params(), reset=reset)
        return X.tocsr() if sp.issparse(X) else X

    def _check_X_params(self, min_samples=1):
        sparse = ("csr", "csc", "coo") if self._accepts_sparse() else False
        # Other sparse formats are converted to CSR by check_array.
        # float32 input stays float32 (no upcast and copy); the model's dtype
        # is applied once when the data become tensors.
        return dict(
            accept_sparse=sparse,
            dtype=[np.float64, np.float32],
            ensure_min_samples=min_samples,
        )

    def _accepts_sparse(self):
        return getattr(self._resolved_scorer(), "accepts_sparse", False)

    def _fit(self, X, y, *, epochs=None, incremental=False, **metadata):
        """Validate, pack, and train. ``epochs=None`` means ``max_epochs``.

        Transactional: when anything fails (bad input, divergence), the
        estimator is left exactly as it was before the call.
        """
        resume = (incremental or self._setting("warm_start")) and hasattr(self, "net_")
        before = dict(self.__dict__)
        if resume:
            # A continued fit changes the fitted net in place.
            before["net_"] = copy.deepcopy(self.net_)
            before["history_"] = before["net_"].history
        communicator = _data_parallel()
        if communicator is not None:
            communicator.begin()
        try:
            return self._fit_once(X, y, epochs=epochs, resume=resume, **metadata)
        except BaseException as error:
            if communicator is not None and communicator.pending:
                # Failed before the ranks' agreement: the others learn why
                # there instead of waiting for this rank.
                with suppress(RuntimeError):
                    communicator.fail(error)
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _fit_once(self, X, y, *, epochs, resume, **metadata):
        X = check_features(X, input_name=self._input_name)
        y = from_torch(y, "y")
        metadata = {key: from_torch(value, key) for key, value in metadata.items()}
        X, y = validate_data(
            self, X, y, reset=not resume, y_numeric=False, **self._check_X_params(2)
        )
        if sp.issparse(X):
            X = X.tocsr()
        dtype = _DTYPES[self.dtype]
        device = self._resolved_device()
        fitted = self._fitted_constants if resume else None
        problem = self._problem(X, y, constants=fitted, **metadata)
        communicator = _data_parallel()
        if communicator is not None and not resume:
            shared = communicator.constants(problem.constants)
            if shared is not None:
                problem = self._problem(X, y, constants=shared, **metadata)
        form = problem.formulation
        if communicator is not None and (self._fits_union or form.solve is not None):
            # A solver of the formulation's own is not a sum of per-unit
            # gradients: every rank fits, as one process, on the union of
            # the shards (small by nature, as calibration sets), with the
            # same result everywhere.
            X, y, metadata = communicator.union(X, y, metadata)
            with _alone():
                return self._fit_once(X, y, epochs=epochs, resume=resume, **metadata)
        # After the families' own, more specific, checks of a continued fit.
        objective_key = self._objective_key()
        if resume:
            self._check_continuation(objective_key, problem.constants)
            optimizer = type(self.net_.optimizer_)
        else:
            optimizer = self._resolved_optimizer(form)
        # The full-batch solver works in float64, as scikit-learn's linear
        # models do: its convergence test asks for more than float32 can
        # resolve. The fitted model is stored in ``dtype``.
        # A formulation's own solver works in ``dtype`` (summing in float64
        # where it needs to).
        lbfgs = optimizer is FullBatchLBFGS and form.solve is None
        solve_dtype = torch.float64 if lbfgs else dtype
        targets, split_group = dict(problem.units.targets), problem.units.split_group
        module = self.net_.module_ if resume else self._resolved_scorer(form)
        X_rows, index = _cheapest_layout(
            problem.units.X,
            problem.units.index,
            differences=type(module) is LinearScorer
            and form.n_outputs == 1
            and form.shift_invariant,
        )
        shard = None
        if communicator is not None:
            # Before training, every rank agrees on the problem, the seed and
            # the weights' global scale (or all fail with one rank's error).
            shard = communicator.agree(
                self,
                problem,
                weight=targets["weight"],
                n_units=targets["mask"].shape[0],
                seed=self._fit_seed(),
            )
        elif not np.any(targets["weight"] > 0):
            raise ValueError(
                "sample_weight is zero on every row that carries information; "
                "nothing can be learned."
            )
        # Every loss is a weighted mean: relative weights, in [0, 1], cannot
        # overflow a float32 sum.
        weight_scale = (
            float(targets["weight"].max()) if shard is None else shard.weight_scale
        )
        targets["weight"] = targets["weight"] / weight_scale
        data = TrainingData(
            to_torch(X_rows, solve_dtype, device),
            {
                # torch cannot share read-only memory: copied only then.
                k: torch.as_tensor(
                    np.require(v, requirements="W"),
                    device=device,
                    dtype=_target_dtype(k, v, solve_dtype),
                )
                for k, v in targets.items()
            },
            None if index is None else torch.as_tensor(index, device=device),
        )
        # The row of the data behind each unit (its first position): what
        # row-level weight multipliers (a group bootstrap) act through.
        data.unit_rows = (
            np.arange(targets["mask"].shape[0]) * targets["mask"].shape[1]
            if problem.units.index is None
            else np.asarray(problem.units.index)[:, 0]
        )
        initial_state = None
        if problem.initial_state is not None and not resume and epochs is None:
            # Before any generator is taken: it fits a clone of this estimator.
            initial_state = problem.initial_state()
        work = X_rows.nnz if sp.issparse(X_rows) else X_rows.size
        seed = self._fit_seed() if shard is None else shard.seed
        with torch_threads(work):
            # Splits and shuffles draw from generators of this fit alone, so
            # fits in threads reproduce sequential ones; initial weights (and
            # dropout) come from torch's global generator, seeded and
            # restored under a process-wide lock.
            train, valid = self._split(data, split_group, seed, form, communicator)
            train.generator = torch.Generator(device=device).manual_seed(seed + 1)
            if shard is not None:
                if valid is not None:
                    # Global batches of each part, numbered rank by rank.
                    shard, valid_shard = communicator.split(
                        shard, len(train), len(valid)
                    )
                    valid.shard, valid.communicator = valid_shard, communicator
                train.shard, train.communicator = shard, communicator
            with _global_rng(seed, device):
                if resume:
                    net, phases = self.net_, []
                    net.module_.to(dtype=solve_dtype)
                    net.criterion_.to(dtype=solve_dtype)
                    # Validate on the held-out part of the data of this call,
                    # and stop by this call's convergence settings.
                    _use_validation(net, valid)
                    monitor = dict(net.callbacks_)["skalign_monitor"]
                    monitor.tol = self.tol
                    monitor.n_iter_no_change = self._setting("n_iter_no_change")
                else:
                    phases = list(form.losses[1:])
                    net = self._build_net(
                        X.shape[1],
                        solve_dtype,
                        device,
                        len(train) if shard is None else shard.n_units,
                        valid,
                        form,
                        init=problem.init,
                        initial_state=initial_state,
                    )
            trained = getattr(net, "module_", net.module)
            if not resume and initial_state is None:
                # Scorers that need it (an MLP: its initialisation and
                # learning rate assume unit-scale inputs) standardise their
                # inputs by the training rows' moments, kept with the model.
                _set_input_scaling(
                    trained,
                    X_rows,
                    row_weights(
                        index, targets["weight"], targets["mask"], X_rows.shape[0]
                    ),
                    communicator,
                )
            if communicator is not None:
                # Every rank starts from rank 0's weights.
                initialised = getattr(net, "initialized_", False)
                communicator.broadcast_state(
                    [net.module_, net.criterion_]
                    if initialised
                    else [net.module, net.criterion]
                )
            random_layers = _draws_random_numbers(trained)
            if form.solve is not None:
                interrupted = False
                objective, converged = self._solve(net, train, form.solve, epochs)
            else:
                with (
                    _global_rng(seed + 2, device) if random_layers else nullcontext(),
                    nullcontext()
                    if communicator is None
                    else communicator.training(net, shard),
                ):
                    interrupted, objective = self._train_phases(
                        net, train, phases, epochs, solve_dtype
                    )
                    if communicator is not None:
                        # The same model on every rank, bit for bit: rank 0's.
                        communicator.broadcast_state([net.module_, net.criterion_])
                converged = dict(net.callbacks_)["skalign_monitor"].converged_
        net.module_.to(dtype=dtype)
        net.criterion_.to(dtype=dtype)
        if not _finite(net):
            raise FloatingPointError(
                f"Training {type(self).__name__} produced non-finite weights; "
                f"the estimator is left as it was before this call. Lower lr "
                f"(currently {net.lr}), raise alpha, or standardise X."
            )
        # The constants of this fit before its statistics, which report
        # parameters through them (a regressor's centring of y).
        self._fitted_constants = problem.constants
        statistics = self._likelihood_statistics(
            net,
            train,
            form,
            weight_scale,
            split_group if train is data else None,
            communicator,
        )
        self.net_ = net
        self._fitted_objective_key = objective_key
        self._fitted_constants = problem.constants
        self.history_ = net.history
        self.n_iter_ = len(net.history)
        self.converged_ = bool(converged)
        self.objective_ = objective
        if isinstance(self, LikelihoodInferenceMixin):
            self._set_likelihood_statistics(statistics)
        if interrupted:
            warnings.warn(
                f"{type(self).__name__}.fit was interrupted (KeyboardInterrupt) "
                f"after {self.n_iter_} completed epochs; the model holds the "
                "weights of the last completed epoch. Call partial_fit, or fit "
                "with warm_start=True, to resume training.",
                ConvergenceWarning,
                stacklevel=4,
            )
        elif epochs is None and not self.converged_:
            budget = self._setting_names.get("max_epochs", "max_epochs")
            warnings.warn(
                f"{type(self).__name__} stopped at {budget}="
                f"{self._setting('max_epochs')} before converging "
                f"(tol={self.tol}); raise {budget} or tol.",
                ConvergenceWarning,
                stacklevel=4,
            )
        return self

    def _across_ranks(self, n_rows, *values):
        """The data-derived constants' view of the data of this call.

        ``values`` are per-row arrays (or ``None``) of this call's
        ``n_rows`` rows. In a data-parallel fit, returns them concatenated
        over every rank's shard in rank order, the total row count, and the
        slice of this rank's rows in them, so that a fresh fit's constants
        (a target's scale, quantile bins, the standardisation of protected
        attributes) are those of all the data, as in one process; otherwise
        ``values``, ``n_rows`` and ``None``. A collective: called only from
        a fresh fit's ``_problem``, the same way on every rank.
        """
        communicator = _data_parallel()
        if communicator is None:
            return list(values), n_rows, None
        return communicator.pooled(n_rows, list(values), "pooling the data's constants")

    def _fit_seed(self):
        """The seed of a fit's generators, drawn from ``random_state``."""
        return check_random_state(self._setting("random_state")).randint(
            np.iinfo(np.int32).max
        )

    def _likelihood_statistics(
        self, net, train, form, weight_scale, unit_group, communicator=None
    ):
        """:func:`~skalign._inference.likelihood_statistics` of this fit, or
        ``None`` (not a likelihood, a nonlinear scorer, or ``alpha > 0``).
        ``unit_group``: the group of each training unit (clusters of the
        sandwich covariance; ``None``: each unit its own cluster). In a
        data-parallel fit (``communicator``), the statistics of all the
        shards: their sums over units and clusters (whole groups on each
        rank) are all-reduced."""
        if not (form.likelihood and isinstance(self, LikelihoodInferenceMixin)):
            return None
        if not self._parametric_module(net.module_) or getattr(self, "alpha", 0.0):
            return None
        # A float64 copy: the fitted net is left as it is.
        module = copy.deepcopy(net.module_).to(torch.float64)
        criterion = copy.deepcopy(net.criterion_).to(torch.float64)
        X, targets = train.full()
        X = X.to(torch.float64)
        targets = {
            k: v.to(torch.float64) if v.is_floating_point() else v
            for k, v in targets.items()
        }
        params = [
            p
            for p in [*module.parameters(), *criterion.parameters()]
            if p.requires_grad
        ]
        mask = targets["mask"]
        unit_weight = (targets["weight"] * mask).reshape(mask.shape[0], -1).sum(1)
        n_rows = max(X.shape[0], mask.numel())
        reduce = None
        if communicator is not None:

            def reduce(tensor):
                return communicator.all_reduce(
                    tensor, "computing the likelihood statistics"
                )

        # The cost budget of all the rows, alike on every rank.
        all_rows = n_rows
        if reduce is not None:
            all_rows = int(reduce(torch.tensor([float(n_rows)], dtype=torch.float64)))
        setting = get_config()["covariance"]
        if getattr(self, "_estimates_only", False):
            setting = "never"
        elif getattr(self, "_covariance_requested", False) and setting == "auto":
            setting = "requested"
        covariance = _information_affordable(
            X, all_rows, sum(p.numel() for p in params), setting
        )
        n_clusters = cluster = None
        if covariance:
            if unit_group is None:
                unit_group = np.arange(mask.shape[0])
            unit_group = np.unique(np.asarray(unit_group), return_inverse=True)[1]
            n_clusters = int(unit_group.max()) + 1 if unit_group.size else None
            cluster = torch.as_tensor(unit_group.ravel(), device=mask.device)
        weight = targets["weight"]
        shape = (-1,) + (1,) * (weight.ndim - 1)

        def objective(multipliers):
            weighted = dict(targets)
            if multipliers is not None:
                weighted["weight"] = weight * multipliers[cluster].view(shape)
            return criterion(module(X), weighted, module)

        second_derivatives = None
        if covariance:
            second_derivatives = _linear_score_rows(
                module, criterion, params, train, cluster, shape
            )
        with torch.enable_grad():
            statistics = likelihood_statistics(
                objective,
                params,
                lambda: self._inference_parameters(module, criterion),
                weight_scale=weight_scale,
                n_obs=int((unit_weight > 0).sum()),
                n_rows=n_rows,
                n_clusters=n_clusters,
                covariance=covariance,
                second_derivatives=second_derivatives,
                reduce=reduce,
                budget=math.inf if setting == "always" else INFORMATION_BUDGET,
            )
            # A bootstrap request (confidence_intervals(kind="bootstrap"),
            # leaderboard()) re-solves this fit's problem under each
            # resample's weights.
            request = getattr(self, "_bootstrap_request", None)
            if request is not None:
                request["draws"] = self._weighted_solves(
                    net, form, module, criterion, params, X, targets, train, request
                )
            # A profile-likelihood request (confidence_intervals(kind=
            # "profile")) works on this fit's objective (one process's).
            hook = getattr(self, "_profile_request", None)
            if hook is not None and reduce is not None:
                raise NotImplementedError(
                    "confidence_intervals(kind='profile') refits on one "
                    "process's data: call it outside data_parallel, with all "
                    "the data (or use kind='wald', which a data-parallel fit "
                    "computes from all the shards)."
                )
            if hook is not None and statistics is not None:
                hook(
                    lambda: objective(None),
                    params,
                    lambda: self._inference_parameters(module, criterion),
                    statistics,
                    weight_scale,
                )
            return statistics

    def _weighted_solves(
        self, net, form, module, criterion, params, X, targets, train, request
    ):
        """The reported parameters re-solved under each of
        ``request["multipliers"]`` (per-row factors of the sample weights,
        equal within a unit), from this fit's solution, by the fit's own
        solver and convergence test; ``None`` where the fit is more than
        that one solve (a family's own solver or phases, a constraint
        applied around the solve, units held out), so the caller refits.
        Returns ``(names, draws, converged)``."""
        unit_rows = getattr(train, "unit_rows", None)
        optimizer = getattr(net, "optimizer_", None)
        if (
            unit_rows is None
            or not isinstance(optimizer, FullBatchLBFGS)
            or form.solve is not None
            or len(form.losses) != 1
            or _linear_scorer(net.module_) is None
        ):
            return None
        solver = FullBatchLBFGS(
            params,
            tol=self.tol,
            max_iter=optimizer.param_groups[0]["max_iter"],
            history_size=optimizer.param_groups[0]["history_size"],
        )
        # As a continued fit: the gradient test relative to the gradient at
        # the start of this fit's first solve.
        reference = optimizer.param_groups[0]["reference_gradient"]
        solver.set_scales(
            _feature_scales(
                module,
                X,
                zero_row=getattr(train.index, "_skalign_own_row_then_last", False),
            )
        )
        start = [p.detach().clone() for p in params]
        names, draws, converged = None, [], []
        for multipliers in request["multipliers"]:
            factor = np.asarray(multipliers, dtype=np.float64)[unit_rows]
            rows, weighted = _reweighted(X, targets, factor)
            with torch.no_grad():
                finite = math.isfinite(float(criterion(module(rows), weighted, module)))
            if not finite:
                # The units a resample leaves out are dropped rather than
                # weighted 0 (a Plackett-Luce list takes the logarithm of
                # its weights).
                units = np.flatnonzero(factor > 0)
                rows, kept = train.batch(torch.as_tensor(units, device=X.device))
                if rows.layout != torch.strided:
                    rows = rows.coalesce()
                rows, weighted = _reweighted(rows, kept, factor[units])
            with torch.no_grad():
                for p, value in zip(params, start):
                    p.copy_(value)
            solver.reset()
            solver.param_groups[0]["reference_gradient"] = reference

            def closure(rows=rows, weighted=weighted):
                solver.zero_grad()
                loss = criterion(module(rows), weighted, module)
                loss.backward()
                return loss

            for _ in range(self._setting("max_epochs")):
                solver.step(closure)
                if solver.converged:
                    break
            if not math.isfinite(solver.f):
                # Not a smooth re-solve of this fit: the caller refits.
                return None
            with torch.no_grad():
                names, values = _flat_named(
                    self._inference_parameters(module, criterion)
                )
            draws.append(values.detach().to("cpu", torch.float64).numpy())
            converged.append(solver.converged)
        with torch.no_grad():
            for p, value in zip(params, start):
                p.copy_(value)
        return names, np.array(draws), np.array(converged)

    def _parametric_module(self, module):
        """Whether the trained ``module`` is a model of fixed, finite
        dimension whose likelihood statistics mean something: a linear
        scorer (an MLP's weights are not identified). Families whose own
        modules are such models (a calibration map, PRESTO's non-parallel
        cumulative logits) say so, and name their parameters in
        :meth:`_inference_parameters`."""
        return _linear_scorer(module) is not None

    def _inference_parameters(self, module, criterion, *, intercept=True):
        """The reported parameters as functions of the module's, in blocks
        ``(names, 1-d tensor)``: the linear scorer's coefficients (named by
        ``feature_names_in_``) and intercept. Families add their loss's
        parameters. ``intercept=False``: a likelihood that sees scores only
        through their differences within a unit (comparisons, lists), where
        the intercept cancels and is no parameter of it, whether or not the
        fit computes the information that shows so."""
        linear = _linear_scorer(module).linear
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = [f"x{j}" for j in range(linear.weight.shape[1])]
        blocks = [([str(name) for name in names], linear.weight[0])]
        if linear.bias is not None and intercept:
            blocks.append((["intercept"], linear.bias.reshape(1)))
        return blocks

    def _train_phases(self, net, train, phases, epochs, solve_dtype):
        """Train the first phase, then each later one from its weights.
        Returns whether an interrupt cut training short, and the final
        objective."""
        n_epochs = self._setting("max_epochs") if epochs is None else epochs
        interrupted = self._train(net, train, n_epochs)
        for loss in phases:
            if interrupted:
                break
            # A new objective on the trained module: a fresh criterion (and
            # so a fresh optimiser state) for the next phase.
            net.set_params(
                criterion=_Objective(
                    loss, float(self._setting("alpha")), net.criterion_.biases
                )
            )
            net.criterion_.to(dtype=solve_dtype)
            interrupted = self._train(net, train, n_epochs)
        return interrupted, self._final_objective(net, train)

    def _solve(self, net, train, solve, epochs):
        """Run the formulation's own solver on the full batch; one history
        entry per iteration. Returns the final objective and whether the
        solver converged."""
        if not getattr(net, "initialized_", False):
            net.initialize()
        history = net.history

        def record(objective):
            history.new_epoch()
            history.record("epoch", len(history))
            history.record("train_loss", float(objective))
            if self.verbose:
                print(f"iteration {len(history)}: objective {float(objective):.10g}")

        X, targets = train.full()
        targets = dict(targets)
        index = targets.pop("index", None)
        if index is not None:
            X = X.index_select(0, index.reshape(-1))
        start = len(history)
        converged = solve(
            net.module_,
            X,
            targets,
            max_iter=self._setting("max_epochs") if epochs is None else epochs,
            tol=self.tol,
            record=record,
        )
        if len(history) == start:
            # Already at the solution: the objective at the start.
            record(self._final_objective(net, train))
        if not math.isfinite(history[-1, "train_loss"]):
            raise FloatingPointError(
                f"{type(self).__name__}'s solver reached a non-finite objective; "
                "the estimator is left as it was before this call."
            )
        return history[-1, "train_loss"], bool(converged)

    def _final_objective(self, net, train):
        """The training objective at the returned weights (``objective_``)."""
        solver = net.optimizer_
        restored = dict(net.callbacks_)["skalign_monitor"].restore_best
        if isinstance(solver, FullBatchLBFGS) and solver.f is not None and not restored:
            return float(solver.f)
        # Evaluation mode for the module and the criterion: dropout off, and
        # a loss with running statistics must not update them here.
        parts = (net.module_, net.criterion_)
        modes = [part.training for part in parts]
        for part in parts:
            part.eval()
        try:
            with torch.no_grad():
                X, targets = train.full()
                if net.data_parallel is not None:
                    return net.data_parallel.objective(net, X, targets)
                return float(net.get_loss(net.infer(X), targets))
        finally:
            for part, mode in zip(parts, modes):
                part.train(mode)

    def _objective_key(self):
        """A hash of the parameters that a continued fit cannot change.

        ``warm_start`` and ``partial_fit`` continue the fitted net, whose
        objective (loss, penalties, ``alpha``), optimiser (``lr``), batch
        size, device and dtype were fixed when it was built; only the
        parameters of ``_continuation_params`` may differ between calls.
        ``callbacks`` is among them because callbacks keep state from the
        fit (and so never hash alike twice); the net keeps those it was built
        with.
        """
        params = {
            # A module by its content, which a saved and loaded copy keeps.
            name: _module_tree(value) if isinstance(value, torch.nn.Module) else value
            for name, value in self.get_params(deep=True).items()
            if name.split("__")[0] not in self._continuation_params
        }
        return joblib.hash(params)

    def _check_continuation(self, key, constants):
        """Refuse to continue a fit whose objective parameters or
        data-derived constants changed, rather than silently keep the old
        ones."""
        if not _same_constants(constants, self._fitted_constants):
            raise ValueError(
                f"The data of this call change the objective this "
                f"{type(self).__name__} was fitted with (its "
                f"{', '.join(sorted(constants)) or 'constants'}), which "
                "warm_start=True and partial_fit continue as it was built. Fit "
                "it afresh with warm_start=False, or use a clone."
            )
        fitted = getattr(self, "_fitted_objective_key", None)
        if fitted is not None and fitted != key:
            raise ValueError(
                f"The parameters of this {type(self).__name__} changed since it "
                "was fitted, but warm_start=True and partial_fit continue the "
                "fitted objective and optimiser as they were built (only "
                f"{', '.join(sorted(self._continuation_params))} may change between "
                "calls). Fit it afresh with warm_start=False, or use a clone."
            )

    def _train(self, net, train, n_epochs):
        """Up to ``n_epochs`` epochs of ``net`` on ``train``; raise if the
        loss diverged. Returns whether a ``KeyboardInterrupt`` cut it short.

        skorch ends ``partial_fit`` quietly on a ``KeyboardInterrupt``, which
        is also how the monitor stops at convergence: an interrupt is a run
        that ended early without the monitor having stopped it.
        """
        start = len(net.history) if getattr(net, "initialized_", False) else 0
        net.partial_fit(train, epochs=n_epochs)
        monitor = dict(net.callbacks_)["skalign_monitor"]
        if monitor.diverged_ is not None:
            # Diverged in the first epoch, the net is back at the weights it
            # started from, where the loss had not been evaluated yet.
            at_start = monitor.diverged_[0] == start + 1
            self._raise_diverged(net, train, monitor.diverged_, at_start)
        return not monitor.converged_ and len(net.history) - start < n_epochs

    def _raise_diverged(self, net, train, diverged, at_start):
        epoch, name, value = diverged
        if at_start:
            X, targets = train.full()
            with torch.no_grad():
                initial = net.get_loss(net.infer(X), targets)
            if not torch.isfinite(initial):
                # Not finite before any update: the data overflow the
                # training precision, and no learning rate can help.
                raise ValueError(
                    f"The training loss of {type(self).__name__} is not finite "
                    f"({name} became {value} at epoch {epoch}) even before the "
                    f"first update: X or y are too large for dtype="
                    f"{self.dtype!r}. Standardise X, rescale y, or use "
                    "dtype='float64'."
                )
        raise FloatingPointError(
            f"Training diverged at epoch {epoch}: {name} became {value}. "
            f"The {type(self).__name__} is left as it was before this call; "
            f"lower lr (currently {net.lr}), raise alpha, or standardise X."
        )

    def _split(self, data, split_group, seed, form, communicator=None):
        """Hold out ``validation_fraction`` of the units, whole ``split_group``
        at a time (so pairs of one group never straddle the split). In a
        data-parallel fit (``communicator``) the groups are numbered across
        the ranks, in rank order, and the held-out ones drawn from all of
        them: with shards of whole groups in sorted order
        (:func:`~skalign.distributed.shard_groups`), the split one process
        makes of all the data. ``"auto"``: see :meth:`_auto_early_stopping`."""
        early_stopping = self._setting("early_stopping")
        if not early_stopping:
            return data, None
        device = data.targets["mask"].device
        if split_group is None:
            split_group = np.arange(len(data))
        split_group = np.unique(split_group, return_inverse=True)[1].ravel()
        n_ids = int(split_group.max()) + 1 if split_group.size else 0
        if communicator is not None:
            _, n_ids, mine = communicator.pooled(
                n_ids, [], "numbering the groups of the validation split"
            )
            split_group = split_group + mine.start
        fraction = self._setting("validation_fraction")
        n_valid = round(fraction * n_ids)
        if early_stopping == "auto" and not self._auto_early_stopping(form, n_valid):
            return data, None
        if n_valid < 1 or n_valid >= n_ids:
            raise ValueError(
                f"early_stopping needs at least one training and one validation "
                f"group; validation_fraction={fraction} of "
                f"{n_ids} gives {n_valid} for validation."
            )
        generator = torch.Generator().manual_seed(seed)
        held_out = torch.randperm(n_ids, generator=generator)[:n_valid].numpy()
        is_valid = torch.as_tensor(np.isin(split_group, held_out), device=device)
        units = torch.arange(len(data), device=device)
        return data.subset(units[~is_valid]), data.subset(units[is_valid])

    def _auto_early_stopping(self, form, n_valid):
        """What ``early_stopping="auto"`` resolves to: hold out when a
        stochastic optimiser trains a model that is not convex (a neural
        scorer, whose training optimum overfits), and the held-out part has
        at least :data:`MIN_AUTO_VALIDATION` units (fewer give too noisy a
        loss to pick the stopping epoch from)."""
        if self._uses_full_batch_solver(form):
            return False
        if form.prefers_lbfgs(self._resolved_scorer(form)):
            return False
        return n_valid >= MIN_AUTO_VALIDATION

    def _build_net(
        self,
        n_features,
        dtype,
        device,
        n_units,
        valid,
        form,
        *,
        loss=None,
        init=None,
        initial_state=None,
    ):
        """The skorch net of ``form``, criterion of ``loss`` (by default the
        first phase), its module started from ``initial_state`` if given."""
        scorer = self._resolved_scorer(form)
        module = self._build_module(n_features, form, init)
        if initial_state is not None:
            module.load_state_dict(initial_state)
        module = module.to(dtype=dtype)
        optimizer = self._resolved_optimizer(form)
        full_batch = optimizer in _FULL_BATCH
        lr = self._setting("lr")
        if lr is None:
            standardized = optimizer in _ADAM and _standardizes_inputs(module)
            lr = _STANDARDIZED_ADAM_LR if standardized else 1e-3
            lr = _DEFAULT_LR.get(optimizer, lr)
        extra = {}
        if optimizer is FullBatchLBFGS:
            extra = dict(
                optimizer__tol=self.tol,
                optimizer__max_iter=_LBFGS_ITER_PER_EPOCH,
                optimizer__convex=form.convex and isinstance(scorer, LinearScorer),
                optimizer__smooth=form.smooth,
            )
        monitor = _Monitor(
            monitor="valid_loss" if valid is not None else "train_loss",
            tol=self.tol,
            n_iter_no_change=self._setting("n_iter_no_change"),
            restore_best=valid is not None,
            # The plateau schedule of stochastic optimisers, unless the user
            # brings a schedule of their own.
            schedule=not full_batch
            and not any(
                isinstance(c[1] if isinstance(c, tuple) else c, LRScheduler)
                for c in self._setting("callbacks") or []
            ),
        )
        callbacks = []
        if self.verbose == 1:
            callbacks.append(
                ("skalign_progress", _EpochProgressBar(self._setting("max_epochs")))
            )
        # The monitor goes last: it stops training by raising at the end of
        # an epoch, and the user's callbacks (e.g. a Checkpoint) must see
        # that epoch first.
        callbacks += [*(self._setting("callbacks") or []), ("skalign_monitor", monitor)]
        return _Net(
            module=module,
            criterion=_Objective(
                form.losses[0] if loss is None else loss,
                float(self._setting("alpha")),
                form.penalize_biases,
            ).to(dtype=dtype),
            optimizer=optimizer,
            lr=lr,
            max_epochs=self._setting("max_epochs"),
            batch_size=self._resolved_batch_size(optimizer, n_units),
            iterator_train=_BatchIterator,
            iterator_train__shuffle=not full_batch,
            iterator_valid=_BatchIterator,
            train_split=predefined_split(valid) if valid is not None else None,
            callbacks=callbacks,
            device=device,
            verbose=int(self.verbose >= 2),
            **extra,
        )

    def _build_module(self, n_features, form, init=None):
        """The module ``form`` trains: the scorer built for ``n_features``
        inputs, inside ``form.module``."""
        scorer = self._resolved_scorer(form)
        if isinstance(scorer, Scorer):
            module = clone(scorer).build(n_features, form.n_outputs)
        else:
            module = copy.deepcopy(scorer)
            # A user module arrives initialised; re-draw its parameters from
            # the seeded generator so random_state decides them.
            for layer in module.modules():
                if hasattr(layer, "reset_parameters"):
                    layer.reset_parameters()
        return form.build(module, init)

    # ------------------------------------------------------------ prediction
    def _raw_scores(self, X):
        """Scorer output for each row of validated ``X``, as float64 numpy."""
        check_is_fitted(self, "net_")
        X = self._validate_X(X, reset=False)
        module = self.net_.module_
        param = next(module.parameters(), None)
        dtype = param.dtype if param is not None else _DTYPES[self.dtype]
        device = torch.device(self.net_.device)
        was_training = module.training
        module.eval()
        out = []
        work = X.nnz if sp.issparse(X) else X.size
        try:
            with torch.no_grad(), torch_threads(work):
                for start in range(0, X.shape[0], _PREDICT_CHUNK):
                    chunk = to_torch(X[start : start + _PREDICT_CHUNK], dtype, device)
                    out.append(module(chunk).detach().to("cpu", torch.float64))
        finally:
            module.train(was_training)
        return torch.cat(out).numpy()

    # ----------------------------------------------------------- persistence
    def __getstate__(self):
        state = super().__getstate__()
        if isinstance(state.get("scorer"), torch.nn.Module):
            state["scorer"] = _module_tree(state["scorer"])
        if isinstance(state.get("net_"), skorch.NeuralNet):
            state["net_"] = _net_state(state["net_"])
            state.pop("history_", None)
        return state

    def __setstate__(self, state):
        if isinstance(state.get("scorer"), dict):
            state = {**state, "scorer": self._module_from_tree(state["scorer"])}
        saved = state.get("net_")
        if isinstance(saved, dict):
            missing = [f"net_[{k!r}]" for k in _NET_STATE_KEYS if k not in saved]
            if "_fitted_constants" not in state:
                missing.append("_fitted_constants")
            if missing:
                raise self._incompatible_state(state.get("_skalign_version"), missing)
            self._check_saved_state(state)
        super().__setstate__(state)
        if isinstance(saved, dict):
            self.net_ = self._restore_net(saved)
            self.history_ = self.net_.history

    def _module_from_tree(self, tree):
        try:
            return _tree_module(tree)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self._corrupt_state(f"the scorer module: {exc}") from exc

    def _corrupt_state(self, what):
        return ValueError(
            f"Cannot load this {type(self).__name__}: its saved state is "
            f"inconsistent ({what}). The file is damaged or was not written by "
            "skalign; load only files from sources you trust."
        )

    def _check_saved_state(self, state):
        """Check the types of a saved fitted state against each other before
        anything is built from it; nothing stored is called."""
        saved = state["net_"]
        n_features = state.get("n_features_in_")
        if not _is_int(n_features) or n_features < 1:
            raise self._corrupt_state(f"n_features_in_={n_features!r}")
        if state.get("dtype", self._fixed_settings.get("dtype")) not in _DTYPES:
            raise self._corrupt_state(f"dtype={state.get('dtype')!r}")
        if not isinstance(state["_fitted_constants"], dict) or not _plain(
            state["_fitted_constants"]
        ):
            raise self._corrupt_state("_fitted_constants is not plain data")
        for key in ("module", "criterion"):
            arrays = saved[key]
            if not isinstance(arrays, dict) or not all(
                isinstance(name, str) and _numeric_array(value)
                for name, value in arrays.items()
            ):
                raise self._corrupt_state(f"net_[{key!r}] is not numeric arrays")
        if not isinstance(saved["optimizer"], dict) or not _plain(saved["optimizer"]):
            raise self._corrupt_state("net_['optimizer'] is not plain data")
        if not _is_int(saved["batch_size"]) or saved["batch_size"] < 1:
            raise self._corrupt_state(f"net_['batch_size']={saved['batch_size']!r}")
        if not isinstance(saved["device"], str):
            raise self._corrupt_state(f"net_['device']={saved['device']!r}")
        if not isinstance(saved["history"], list) or not _plain(saved["history"]):
            raise self._corrupt_state("net_['history'] is not plain data")
        optimizer = state.get("optimizer", self._fixed_settings.get("optimizer"))
        if not (
            (isinstance(optimizer, str) and optimizer in {"auto", *_OPTIMIZERS})
            or (
                isinstance(optimizer, type)
                and issubclass(optimizer, torch.optim.Optimizer)
            )
        ):
            raise self._corrupt_state(f"optimizer={optimizer!r}")
        scorer = state.get("scorer", self._fixed_settings.get("scorer"))
        if scorer is not None and not isinstance(scorer, torch.nn.Module):
            raise self._corrupt_state(f"scorer is a {type(scorer).__name__}")
        callbacks = state.get("callbacks", self._fixed_settings.get("callbacks"))
        if callbacks is not None and not isinstance(callbacks, list):
            raise self._corrupt_state(f"callbacks is a {type(callbacks).__name__}")

    def _check_saved_shapes(self, saved):
        """The saved arrays' shapes against the model the saved parameters
        and constants describe, built on torch's meta device (which
        allocates nothing)."""
        try:
            with torch.device("meta"):
                form = self._formulation(**self._fitted_constants)
                parts = {
                    "module": self._build_module(self.n_features_in_, form),
                    "criterion": _Objective(form.losses[-1], 0.0),
                }
        except Exception as exc:
            raise self._corrupt_state(
                f"its parameters and constants do not describe a model: {exc}"
            ) from exc
        for key, part in parts.items():
            expected = {k: tuple(v.shape) for k, v in part.state_dict().items()}
            stored = {k: tuple(np.shape(v)) for k, v in saved[key].items()}
            if expected != stored:
                raise self._corrupt_state(
                    f"net_[{key!r}] holds the shapes {stored}, but its "
                    f"parameters (n_features_in_={self.n_features_in_}) "
                    f"describe {expected}"
                )

    def _restore_net(self, saved):
        """The net of a saved state, rebuilt as ``fit`` builds it."""
        with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[]):
            self._check_saved_shapes(saved)
        device = torch.device(saved["device"])
        if device.type == "cuda" and not torch.cuda.is_available():
            warnings.warn(
                f"This {type(self).__name__} was trained on {device}, but CUDA "
                "is not available here: it is loaded on the CPU. Set "
                "device='cpu' before training it further.",
                DeviceWarning,
                stacklevel=3,
            )
            device = torch.device("cpu")
        # Building draws initial weights; keep the caller's generator as is.
        with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[]):
            form = self._formulation(**self._fitted_constants)
            net = self._build_net(
                self.n_features_in_,
                _DTYPES[self.dtype],
                device,
                saved["batch_size"],
                None,
                form,
                loss=form.losses[-1],
            )
            net.initialize()
        net.batch_size = saved["batch_size"]
        net.module_.load_state_dict(_as_tensors(saved["module"]))
        net.criterion_.load_state_dict(_as_tensors(saved["criterion"]))
        net.optimizer_.load_state_dict(_as_tensors(saved["optimizer"]))
        net.history = History(saved["history"])
        return net

    @property
    def scorer_(self):
        """The fitted module: the scorer, or the family's module around it."""
        check_is_fitted(self, "net_")
        return self.net_.module_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self._accepts_sparse()
        return tags
