"""Data-parallel fits on ``torch.distributed``: one fit over many processes.

Inside :func:`data_parallel`, a fit of any engine estimator runs on every
process of an initialised process group, each process holding a shard of
*whole* groups. The engine stays what it is in one process; this module adds
what makes the processes one fit:

- one agreement before training (:meth:`Communicator.agree`): the shards'
  problems must be the same problem (formulation, classes, features), a
  failure on any rank before training fails every rank with its message,
  and the ranks share a seed, the global weight normalisation and the
  global numbering of their units;
- every evaluation of the objective is the exact global one: each rank
  turns its weighted mean back into a weighted sum (its denominator is
  recorded by the loss layer, :func:`skalign._loss._reduction.recording`),
  and one all-reduce of the gradients, the sum and the denominator gives
  the global mean and its gradient, ``Σ_r s_r / Σ_r n_r``; the L2 term,
  added to every rank's mean, comes out once (``Σ_r n_r P / Σ_r n_r``);
- mini-batches are drawn from one permutation of the global units (the same
  generator on every rank), and each rank takes the units of a batch it
  holds, so a step sees the batch a single process would see;
- every rank applies the same update to the same weights (initial weights
  broadcast from rank 0), and rank 0's final weights are broadcast again;
- a term of all rows together (the dependence penalty) is evaluated on
  every rank on the rows of every rank's part of the batch
  (:func:`~skalign._loss.dependence.pooled_rows`), its gradient flowing
  through the rank's own rows, weighted so that it counts once;
- estimators whose fit is not a sum over units (the calibrators, a
  formulation's own solver) fit as one process on the union of the shards,
  on every rank.

The full-batch solver then sees global values only, so its convergence test
decides alike on every rank, and the number of collectives per epoch is the
same everywhere.
"""

import signal
import threading
from contextlib import contextmanager
from typing import NamedTuple

import joblib
import numpy as np
import scipy.sparse as sp
import torch
import torch.distributed as dist
from skorch.utils import TeeGenerator

from ._loss._reduction import recording
from ._loss.dependence import pooled_rows
from ._solver import FullBatchLBFGS
from .utils._penalty import FairnessPenaltyMixin

__all__ = ["Communicator", "alone", "current", "data_parallel", "shard_groups"]

_local = threading.local()

#: Fitted attributes that the engine writes after training (equal on every
#: rank by construction) and so are not part of the agreement on the problem.
_RESULTS = frozenset({"net_", "history_", "n_iter_", "converged_", "objective_"})


def current():
    """The :class:`Communicator` of the enclosing :func:`data_parallel`
    block in this thread, or ``None``."""
    return getattr(_local, "communicator", None)


@contextmanager
def alone():
    """Inside the block, fits in this thread are ordinary one-process fits,
    even within :func:`data_parallel` (on data every rank holds)."""
    previous = current()
    _local.communicator = None
    try:
        yield
    finally:
        _local.communicator = previous


@contextmanager
def data_parallel(group=None):
    """Fit data-parallel across the processes of a ``torch.distributed`` group.

    Inside the block, ``fit`` and ``partial_fit`` of every engine
    estimator (every torch estimator of skalign) run as one fit over all
    processes of ``group``: each process passes its own shard of whole
    groups (see :func:`shard_groups`), and every process ends with the same
    fitted estimator, which is an ordinary estimator afterwards (predict,
    pickle, skops). Full-batch L-BFGS sees the exact global objective and
    its gradient; mini-batch optimisers see batches drawn from one global
    shuffle of the units.

    Every process of the group must enter the block and call ``fit`` with
    the same parameters. The process group is the caller's: start it with
    :func:`torch.distributed.init_process_group` (``torchrun``, Ray Train and
    Spark's ``TorchDistributor`` set the environment it reads), with the
    ``timeout`` after which a rank that waits for a failed one gives up.

    Parameters
    ----------
    group : ProcessGroup, default=None
        The processes that fit together; ``None``: the default group.

    Yields
    ------
    communicator
        The fit's collectives, with this process's ``rank`` and the number
        of processes, ``size``.

    Raises
    ------
    RuntimeError
        If no process group is initialised.

    Notes
    -----
    A ``fairness_penalty`` (a distance covariance, which couples every pair
    of rows) is exact: every rank gathers the predictions, protected
    attributes and weights of every rank's part of the batch (the whole
    data at full batch, a global mini-batch with Adam; the constant columns
    once per fit at full batch), evaluates the penalty on all of them and
    backpropagates through its own predictions only, and the penalty
    counts once in the global objective. Its data-derived constants (the
    target's scale, the strata of separation, the standardisation of
    continuous attributes, the row count that picks the solver) are those
    of all the data. Each rank then holds ``n x (outputs + attributes)``
    numbers of all the data, and computes the penalty of all the rows.

    ``early_stopping`` holds out whole groups drawn from every rank's
    groups, numbered rank by rank (with :func:`shard_groups`, the split one
    process makes of all the data); the validation loss is the global one,
    so every rank stops at the same epoch.

    The calibrators and the estimators that train with a solver of their
    own (``TemperatureScaling(solver="newton")``, ``PrestoClassifier``'s
    FISTA) gather every rank's shard and fit, as one process, on their
    union on every rank: each rank holds all the data, which for these
    (calibration sets, problems solved by second-order or proximal steps)
    is small by nature.

    Likelihood statistics (``log_likelihood_``, ``covariance_``,
    ``robust_covariance_``) are those of all the data: the log-likelihood,
    the information and the clusters' score products are sums over units
    and whole groups, all-reduced. Profile-likelihood intervals refit on
    one process's data: ask for them outside the block.

    Mini-batches are drawn from one global shuffle of the units numbered
    rank by rank: the steps are those of one process whose units come in
    that order. An interrupt (SIGINT) stops every rank at the end of the
    same epoch's batches, back at the last complete epoch. See
    :ref:`scaling_out` for launchers, faults and timeouts.

    Examples
    --------
    >>> import torch.distributed as dist
    >>> from skalign.distributed import data_parallel
    >>> dist.is_initialized()
    False
    >>> with data_parallel():
    ...     pass
    Traceback (most recent call last):
    ...
    RuntimeError: data_parallel needs an initialised torch.distributed process group...
    """
    if not (dist.is_available() and dist.is_initialized()):
        raise RuntimeError(
            "data_parallel needs an initialised torch.distributed process "
            "group: call torch.distributed.init_process_group(...) on every "
            "process first (torchrun, Ray Train's TorchTrainer and Spark's "
            "TorchDistributor set the environment variables it reads)."
        )
    previous = current()
    _local.communicator = communicator = Communicator(group)
    try:
        yield communicator
    finally:
        _local.communicator = previous


def shard_groups(groups, rank=None, world_size=None):
    """The rows of this rank's shard: whole groups, about equal row counts.

    The sorted distinct group ids are cut into ``world_size`` contiguous
    blocks of about equal numbers of rows, so that no group is split
    across ranks and the ranks' units, taken in rank order, are in the
    order a single process builds them.

    Parameters
    ----------
    groups : array-like of shape (n_samples,)
        The group id of every row (as passed to ``fit``).
    rank, world_size : int, default=None
        This process's rank and the number of processes; ``None``: those of
        the default process group.

    Returns
    -------
    rows : ndarray of int64
        Indices of the rows of this rank's shard, in their original order.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.distributed import shard_groups
    >>> groups = np.array([3, 3, 1, 1, 1, 2, 2, 0])
    >>> shard_groups(groups, rank=0, world_size=2)
    array([2, 3, 4, 7])
    >>> shard_groups(groups, rank=1, world_size=2)
    array([0, 1, 5, 6])
    """
    if rank is None or world_size is None:
        if not (dist.is_available() and dist.is_initialized()):
            raise RuntimeError(
                "shard_groups needs rank and world_size, or an initialised "
                "torch.distributed process group to read them from."
            )
        rank = dist.get_rank() if rank is None else rank
        world_size = dist.get_world_size() if world_size is None else world_size
    if not (0 <= rank < world_size):
        raise ValueError(f"rank must be in [0, world_size={world_size}); got {rank}.")
    groups = np.asarray(groups)
    if groups.ndim != 1:
        raise ValueError(f"groups must be one-dimensional; got shape {groups.shape}.")
    _, codes, counts = np.unique(groups, return_inverse=True, return_counts=True)
    if counts.size < world_size:
        raise ValueError(
            f"groups has {counts.size} distinct groups, fewer than the "
            f"{world_size} processes: every rank needs at least one group."
        )
    # Group k goes to the rank in whose equal share of the rows its first
    # row falls: contiguous blocks in sorted id order, never a split group.
    start = np.cumsum(counts) - counts
    owner = start * world_size // codes.size
    # Then no rank is skipped (a large group can span a whole share): the
    # owner rises by at most one per group, and the last groups reach the
    # last ranks.
    steps = np.arange(counts.size)
    owner = np.minimum.accumulate(owner - steps) + steps
    owner = np.maximum(owner, steps - counts.size + world_size)
    return np.flatnonzero(owner[codes.ravel()] == rank)


class Shard(NamedTuple):
    """What the ranks agreed on before training (:meth:`Communicator.agree`)."""

    seed: int
    weight_scale: float
    offset: int
    n_units: int
    #: Whether the objective holds a term of every rank's rows together
    #: (the dependence penalty), which each rank evaluates on all of them.
    coupled: bool = False


class Communicator:
    """The collectives of a data-parallel fit over one process group.

    Every collective goes through :meth:`_call`, which turns a lost peer
    (a rank that failed, exited or timed out) into one clear
    ``RuntimeError`` on the ranks that are left.
    """

    def __init__(self, group=None):
        self.group = group
        self.rank = dist.get_rank(group)
        self.size = dist.get_world_size(group)
        backend = dist.get_backend(group)
        self.device = (
            torch.device("cuda", torch.cuda.current_device())
            if backend == "nccl"
            else torch.device("cpu")
        )
        # Whether this rank owes the others the agreement of the fit it is in.
        self.pending = False
        # Whether an interrupt (SIGINT) arrived during this rank's training.
        self.interrupted = False
        # Whether the fit in training has a term coupling every rank's rows.
        self.coupled = False

    def __repr__(self):
        return f"Communicator(rank={self.rank}, size={self.size})"

    # ------------------------------------------------------------ collectives
    def _call(self, what, function, *args, **kwargs):
        try:
            return function(*args, group=self.group, **kwargs)
        except RuntimeError as error:
            raise RuntimeError(
                f"The data-parallel fit lost the other processes while "
                f"{what} (rank {self.rank} of {self.size}): another rank "
                "failed or exited, or the process group's timeout ran out "
                f"waiting for it. Their own errors say why. ({error})"
            ) from error

    def all_reduce(self, tensor, what):
        """Sum ``tensor`` over the ranks, in place (moved to the group's
        device and back when it lives elsewhere)."""
        work = tensor.to(self.device)
        self._call(what, dist.all_reduce, work)
        if work is not tensor:
            tensor.copy_(work)
        return tensor

    def broadcast_state(self, modules):
        """Every rank takes rank 0's parameters and buffers of ``modules``."""
        for module in modules:
            # state_dict's tensors share the parameters' storage.
            for value in module.state_dict().values():
                work = value.to(self.device)
                self._call("broadcasting the weights", dist.broadcast, work, src=0)
                if work.data_ptr() != value.data_ptr():
                    value.copy_(work)

    def _gather(self, obj, what):
        out = [None] * self.size
        self._call(what, dist.all_gather_object, out, obj)
        return out

    # ------------------------------------------------------------- agreement
    def begin(self):
        """A fit starts: this rank owes the agreement."""
        self.pending = True

    def fail(self, error):
        """Join the exchange the other ranks are in with this rank's
        ``error`` (raised before the agreement): they fail with its message
        instead of waiting for this rank."""
        self.pending = False
        self._gather({"error": f"{type(error).__name__}: {error}"}, "failing")

    def _exchange(self, payload, what):
        """Every rank's ``payload``; raises if a rank sent its failure."""
        infos = self._gather({"error": None, **payload}, what)
        failed = [(r, i["error"]) for r, i in enumerate(infos) if i["error"]]
        if failed:
            self.pending = False
            rank, message = failed[0]
            raise RuntimeError(
                f"The data-parallel fit failed on rank {rank} before training "
                f"(this is rank {self.rank}): {message}"
            )
        return infos

    def constants(self, constants):
        """Rank 0's data-derived constants of the problem (e.g. a target's
        centring, a row count), or ``None`` where they are this rank's own.
        A rank whose shard derived others states its problem again with
        rank 0's, as a continued fit keeps the fitted ones: one problem."""
        infos = self._exchange(
            {"constants": constants, "key": joblib.hash(constants)},
            "sharing the problem's constants",
        )
        if infos[self.rank]["key"] == infos[0]["key"]:
            return None
        return infos[0]["constants"]

    def agree(self, estimator, problem, *, weight, n_units, seed):
        """The agreement before training; returns the :class:`Shard`.

        Checks that every rank's shard states the same problem, then
        shares the seed of rank 0, the global maximum weight and every
        rank's unit count. A local failure here is raised, and the engine
        sends it to the other ranks (:meth:`fail`).
        """
        if n_units < 1:
            raise ValueError(
                f"rank {self.rank}'s shard holds no training unit (no group "
                "with preference information): give every rank whole "
                "groups that carry some (skalign.distributed.shard_groups)."
            )
        infos = self._exchange(
            {
                "problem": _problem_key(estimator, problem),
                "seed": int(seed),
                "weight_max": float(weight.max()),
                "n_units": int(n_units),
            },
            "agreeing on the problem before training",
        )
        self.pending = False
        differ = [r for r, i in enumerate(infos) if i["problem"] != infos[0]["problem"]]
        if differ:
            raise ValueError(
                f"The shards of ranks {differ} state another problem than rank "
                f"0's for {type(estimator).__name__} (its formulation, classes "
                "or features differ): every shard must see every class and "
                "the same feature columns. Shard whole groups with "
                "skalign.distributed.shard_groups after encoding the features "
                "once for all ranks."
            )
        weight_scale = max(i["weight_max"] for i in infos)
        if not weight_scale > 0:
            raise ValueError(
                "sample_weight is zero on every row that carries information, "
                "on every rank; nothing can be learned."
            )
        counts = [i["n_units"] for i in infos]
        return Shard(
            seed=infos[0]["seed"],
            weight_scale=weight_scale,
            offset=sum(counts[: self.rank]),
            n_units=sum(counts),
            coupled=_penalised(estimator, problem),
        )

    def split(self, shard, n_train, n_valid):
        """The shards of the training and of the validation units of an
        early-stopping split: each part numbered rank by rank, so that its
        global batches are those of one process."""
        infos = self._exchange(
            {"n_train": int(n_train), "n_valid": int(n_valid)},
            "numbering the units of the validation split",
        )
        parts = []
        for key in ("n_train", "n_valid"):
            counts = [i[key] for i in infos]
            if sum(counts) < 1:
                raise ValueError(
                    "early_stopping: the validation split left no "
                    f"{'training' if key == 'n_train' else 'validation'} unit "
                    "on any rank."
                )
            parts.append(
                shard._replace(offset=sum(counts[: self.rank]), n_units=sum(counts))
            )
        return tuple(parts)

    def pooled(self, n_rows, values, what):
        """``values`` (per-row arrays of this rank's ``n_rows`` rows, or
        ``None``) concatenated over the ranks in rank order, and the slice
        of this rank's rows in them (with the total row count between):
        for the data-derived constants of a
        fresh fit, which are those of all the data (a target's scale,
        quantile bins, the standardisation of protected attributes, the row
        count). A rank that failed before joining makes every rank fail
        with its message."""
        infos = self._exchange({"n_rows": n_rows, "values": values}, what)
        given = [
            [i["values"][j] is not None for i in infos] for j in range(len(values))
        ]
        if any(any(g) and not all(g) for g in given):
            raise ValueError(
                "A data-parallel fit got metadata (sensitive_features, "
                "sample_weight...) on some ranks and not on others: pass "
                "the same arguments to fit on every rank."
            )
        counts = [i["n_rows"] for i in infos]
        start = sum(counts[: self.rank])
        pooled = [
            None if values[j] is None else _concatenate([i["values"][j] for i in infos])
            for j in range(len(values))
        ]
        return pooled, sum(counts), slice(start, start + n_rows)

    # --------------------------------------------------------------- training
    @contextmanager
    def training(self, net, shard):
        """``net`` trains data-parallel on ``shard`` inside the block.

        An interrupt (Ctrl-C, SIGINT) does not stop a rank where it lands,
        which would leave the others in a collective: it is noted, the
        ranks agree at the end of every epoch's batches, and if any was
        interrupted, all stop there together, as one process stops inside
        an epoch (back to the last complete epoch). Only in the main
        thread, where Python delivers signals.
        """
        net.data_parallel = self
        self.interrupted = False
        coupled, self.coupled = self.coupled, shard.coupled
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, self._note_interrupt) if main else None
        try:
            yield
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)
            del net.data_parallel
            self.coupled = coupled

    def _note_interrupt(self, signum, frame):
        self.interrupted = True

    def column_moments(self, X, weight):
        """Weighted column means and standard deviations of every rank's rows
        together, as :func:`~skalign.utils._validation.column_moments`
        computes them on one process's rows (dense columns in two passes:
        the mean, then the spread about it; sparse ones uncentred)."""
        n_rows = X.shape[0]
        weight = np.ones(n_rows) if weight is None else np.asarray(weight, np.float64)

        def summed(values, what):
            buffer = torch.as_tensor(np.asarray(values, dtype=np.float64))
            return self.all_reduce(buffer.clone(), what).numpy()

        total, count = summed([weight.sum(), n_rows], "computing the input scaling")
        if not total > 0:
            weight, total = np.ones(n_rows), count
        # Weights normalised first, as on one process.
        weight = weight / total
        if sp.issparse(X):
            sums = summed(
                np.concatenate([X.T @ weight, X.multiply(X).T @ weight]).ravel(),
                "computing the input scaling",
            )
            mean, square = np.split(sums, 2)
            variance = np.maximum(square - mean**2, 0.0)
        else:
            X = np.ascontiguousarray(X)
            mean = summed(weight @ X, "computing the input scaling")
            variance = summed(
                weight @ np.square(X - mean, dtype=np.float64),
                "computing the input scaling",
            )
        scale = np.sqrt(variance)
        return mean, np.where(scale > 0, scale, 1.0)

    def feature_moments(self, squares, n_rows, zero_row):
        """Global column sums of squares and row count for the solver's
        feature scales. A rank whose rows end with the zero row of the
        difference layout does not count it; the global count does once,
        as the single-process layout would."""
        buffer = torch.cat(
            [
                squares.reshape(-1),
                squares.new_tensor([n_rows - int(zero_row), float(zero_row)]),
            ]
        )
        self.all_reduce(buffer, "computing the feature scales")
        return buffer[:-2], float(buffer[-2]) + float(buffer[-1] > 0)

    def train_step(self, net, batch, **fit_params):
        """One step of ``net`` on the global batch of which ``batch`` is
        this rank's part: the full-batch solver's step, with a global
        objective and gradient in its closure, or one optimiser step."""
        seen = {}

        def closure():
            net._zero_grad_optimizer()
            loss, n_rows = self._global_gradient(net, batch, **fit_params)
            seen["loss"], seen["n_rows"] = loss, n_rows
            net.notify(
                "on_grad_computed",
                named_parameters=TeeGenerator(net.get_all_learnable_params()),
                batch=batch,
                training=True,
            )
            return loss

        if isinstance(net.optimizer_, FullBatchLBFGS):
            loss = net.optimizer_.step(closure)
        else:
            net._step_optimizer(closure)
            loss = seen["loss"]
        return {"loss": loss, "y_pred": None, "n_rows": seen["n_rows"]}

    def _global_gradient(self, net, batch, **fit_params):
        """Backward of this rank's weighted sum, then one all-reduce of the
        gradients, the sums and the denominators: the global mean's
        gradient in every parameter's ``grad``; returns the global mean
        and the batch's global row count."""
        X, targets = batch
        params = [p for _, p in net.get_all_learnable_params() if p.requires_grad]
        dtype = params[0].dtype if params else torch.float64
        if targets["mask"].shape[0] == 0:
            # No unit of this global batch lives on this rank.
            value = torch.zeros((), dtype=dtype)
            total = torch.zeros((), dtype=dtype)
            if self.coupled:
                # The others' penalty needs this rank in its collectives.
                self._pool_rows(None, None, None, None, None, None)
                self.all_reduce(total.clone(), "summing the denominators")
        else:
            net._set_training(True)
            with recording() as normalisers, pooled_rows(self._pool_rows) as coupled:
                value = net.get_loss(net.infer(X, **fit_params), targets, training=True)
            if len(normalisers) != 1:
                raise NotImplementedError(
                    f"The objective of {type(net).__name__} is not one weighted "
                    "mean over its units, so it does not split into shards "
                    "exactly; fit it in one process."
                )
            total = normalisers[0].detach().to(value.dtype)
            summed = value * total
            if self.coupled:
                # The penalty P of all rows is in every rank's value: the
                # sum Σ_r n_r (D_r + P) counts it once in the global mean,
                # but its gradient through this rank's rows must enter
                # with the global denominator N, not n_r.
                n_all = self.all_reduce(total.clone(), "summing the denominators")
                summed = summed + sum(coupled) * (n_all - total)
            summed.backward()
            value = value.detach()
        device = params[0].device if params else value.device
        buffer = torch.cat(
            [
                *(
                    (torch.zeros_like(p) if p.grad is None else p.grad).reshape(-1)
                    for p in params
                ),
                torch.stack(
                    [
                        (value * total).to(device, dtype),
                        total.to(device, dtype),
                        torch.tensor(float(X.shape[0]), dtype=dtype, device=device),
                    ]
                ),
            ]
        )
        self.all_reduce(buffer, "reducing the gradient")
        denominator = buffer[-2].clamp_min(torch.finfo(dtype).tiny)
        offset = 0
        for p in params:
            n = p.numel()
            p.grad = (buffer[offset : offset + n] / denominator).view_as(p).clone()
            offset += n
        return buffer[-3] / denominator, int(buffer[-1])

    def objective(self, net, X, targets):
        """The global training objective at the current weights."""
        return self._global_value(net, X, targets, "computing the objective")[0]

    def validation_step(self, net, batch, **fit_params):
        """The global loss of the validation batch of which ``batch`` is
        this rank's part (skorch's ``validation_step``)."""
        net._set_training(False)
        with torch.no_grad():
            loss, n_rows = self._global_value(
                net, *batch, "computing the validation loss", **fit_params
            )
        return {"loss": loss, "y_pred": None, "n_rows": n_rows}

    def _global_value(self, net, X, targets, what, **fit_params):
        """The objective of every rank's part of a batch together, and the
        batch's global row count; a rank may hold no unit of it."""
        if targets["mask"].shape[0] == 0:
            summed = torch.zeros(3, dtype=torch.float64)
            if self.coupled:
                self._pool_rows(None, None, None, None, None, None)
        else:
            with recording() as normalisers, pooled_rows(self._pool_rows):
                value = net.get_loss(net.infer(X, **fit_params), targets)
            total = normalisers[0] if normalisers else value.new_ones(())
            summed = torch.stack(
                [value * total, total.to(value.dtype), value.new_tensor(X.shape[0])]
            ).to(torch.float64)
        self.all_reduce(summed, what)
        tiny = torch.finfo(torch.float64).tiny
        return float(summed[0] / summed[1].clamp_min(tiny)), int(summed[2])

    def _pool_rows(self, pred, attributes, weight, mask, row, strata):
        """The dependence penalty's rows of every rank's part of the batch
        (see :func:`~skalign._loss.dependence.pooled_rows`), in rank order,
        with this rank's predictions in their place (the others' as
        constants: the all-reduced gradient is then the global one). Row
        ids are made global; the constant columns of a full batch are
        gathered once per fit, kept with its attribute tensor. ``pred``
        ``None``: a rank without units in the batch takes part in the
        collectives only."""
        what = "pooling the rows of the dependence penalty"
        n = 0 if pred is None else mask.numel()
        k = 0 if pred is None else (pred.shape[-1] if pred.ndim == 3 else 1)
        constant = (weight, mask, row, strata)
        kept = None if pred is None else getattr(attributes, "_skalign_pooled", None)
        known = kept is not None and all(a is b for a, b in zip(kept[0], constant))
        columns = None
        if pred is not None:
            # Built even where kept: a rank that keeps none (one without
            # units in the batch) makes every rank send them again.
            zeros = torch.zeros(n, 1, dtype=torch.float64, device=pred.device)
            columns = torch.cat(
                [
                    attributes.reshape(n, -1).to(torch.float64),
                    weight.reshape(n, 1).to(torch.float64),
                    mask.reshape(n, 1).to(torch.float64),
                    zeros if row is None else row.reshape(n, 1).to(torch.float64),
                    zeros if strata is None else strata.reshape(n, 1).to(torch.float64),
                ],
                1,
            )
        head = torch.tensor(
            [n, k, 0 if columns is None else columns.shape[1], int(known)],
            dtype=torch.int64,
        )
        heads = self._all_gather(head, what)
        counts = [int(h[0]) for h in heads]
        k_all, width = max(int(h[1]) for h in heads), max(int(h[2]) for h in heads)
        everywhere = all(int(h[3]) for h in heads)
        size = k_all + (0 if everywhere else width)
        buffer = torch.zeros(max(counts), size, dtype=torch.float64)
        if pred is not None:
            buffer[:n, :k] = pred.detach().reshape(n, k).to(torch.float64).cpu()
            if not everywhere:
                buffer[:n, k:] = columns.cpu()
        parts = [
            part[:count] for part, count in zip(self._all_gather(buffer, what), counts)
        ]
        if pred is None:
            return None
        device, dtype = pred.device, pred.dtype
        pieces = [part[:, :k].to(device, dtype) for part in parts]
        pieces[self.rank] = pred.reshape(n, k)
        pooled_pred = torch.cat(pieces)
        pooled_pred = pooled_pred.reshape(-1, 1, k) if pred.ndim == 3 else pooled_pred
        if everywhere:
            rest = kept[1]
        else:
            table = torch.cat([part[:, k:] for part in parts]).to(device)
            c = table.shape[1] - 4
            global_row = torch.cat(
                [part[:, k + c + 2] * self.size + r for r, part in enumerate(parts)]
            ).to(device)
            rest = (
                table[:, :c].to(attributes.dtype).reshape(-1, 1, c),
                table[:, c].to(weight.dtype).reshape(-1, 1),
                (table[:, c + 1] > 0.5).reshape(-1, 1),
                None if row is None else global_row.to(row.dtype).reshape(-1, 1),
                None
                if strata is None
                else table[:, c + 3].to(strata.dtype).reshape(-1, 1),
            )
            attributes._skalign_pooled = (constant, rest)
        return (pooled_pred.reshape(-1, 1) if pred.ndim != 3 else pooled_pred, *rest)

    def union(self, X, y, metadata):
        """Every rank's ``X``, ``y`` and ``metadata`` (per-row arrays or
        ``None``) concatenated in rank order, on every rank: the data of an
        estimator that trains with a solver of its own (a calibrator's
        Newton steps, FISTA), which is not a sum of per-unit gradients and
        so fits on all the data on every rank, as one process does. A rank
        that failed before joining makes every rank fail with its
        message."""
        infos = self._exchange(
            {"X": X, "y": y, "metadata": metadata},
            "gathering the data of an estimator with a solver of its own",
        )
        self.pending = False
        parts = [i["X"] for i in infos]
        X = sp.vstack(parts, format="csr") if sp.issparse(X) else np.concatenate(parts)
        y = np.concatenate([i["y"] for i in infos])

        def per_row(key):
            # Metadata with an entry per row on every rank; other
            # arguments (a flag, a class order) are the same everywhere.
            return all(
                i["metadata"][key] is not None
                and np.ndim(i["metadata"][key]) > 0
                and len(i["metadata"][key]) == i["X"].shape[0]
                for i in infos
            )

        return (
            X,
            y,
            {
                key: _concatenate([i["metadata"][key] for i in infos])
                if per_row(key)
                else value
                for key, value in metadata.items()
            },
        )

    def _all_gather(self, tensor, what):
        """Every rank's ``tensor`` (of one shape on every rank)."""
        work = tensor.to(self.device)
        out = [torch.empty_like(work) for _ in range(self.size)]
        self._call(what, dist.all_gather, out, work)
        return [part.cpu() for part in out]

    def batches(self, data, batch_size, generator, shuffle):
        """This rank's part of every batch of the global units (in one
        global shuffle with ``shuffle``): as many batches on every rank,
        some of them possibly empty here."""
        shard = data.shard
        device = data.targets["mask"].device
        if shuffle:
            order = torch.randperm(shard.n_units, device=device, generator=generator)
        else:
            order = torch.arange(shard.n_units, device=device)
        local = order - shard.offset
        mine = (local >= 0) & (local < len(data))
        for start in range(0, shard.n_units, batch_size):
            part = slice(start, start + batch_size)
            yield data.batch(local[part][mine[part]])

    def run_epoch(self, net, iterator, prefix, step_fn, *, training=True, **fit_params):
        """skorch's epoch, with each batch's loss and size the global ones,
        so that every rank records the same history."""
        n_batches = 0
        for batch in iterator:
            net.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            n_rows = step.pop("n_rows")
            net.history.record_batch(prefix + "_loss", float(step["loss"]))
            net.history.record_batch(prefix + "_batch_size", n_rows)
            net.notify("on_batch_end", batch=batch, training=training, **step)
            n_batches += 1
        net.history.record(prefix + "_batch_count", n_batches)
        if not training:
            return
        stop = torch.tensor([float(self.interrupted)], dtype=torch.float64)
        self.all_reduce(stop, "agreeing whether to stop")
        if stop.item() > 0:
            # Every rank at the same point: skorch ends the fit, and the
            # monitor goes back to the end of the last complete epoch.
            raise KeyboardInterrupt


def _penalised(estimator, problem):
    """Whether the objective holds the dependence penalty (a function of
    all rows together)."""
    return (
        isinstance(estimator, FairnessPenaltyMixin)
        and problem.constants.get("penalty") is not None
    )


def _concatenate(parts):
    if hasattr(parts[0], "iloc"):
        # DataFrames and Series (protected attributes by column name): pandas
        # is there, since the caller's data are its objects.
        import pandas as pd

        return pd.concat(parts, ignore_index=True)
    return np.concatenate([np.asarray(part) for part in parts])


def _problem_key(estimator, problem):
    """A hash of what must be equal on every rank: the formulation (its
    losses, outputs, module) and the fitted attributes the problem set
    (``classes_``, ``n_features_in_``...)."""
    form = problem.formulation
    attributes = {
        key: value
        for key, value in vars(estimator).items()
        if key.endswith("_") and not key.startswith("_") and key not in _RESULTS
    }
    try:
        formulation = joblib.hash(form)
    except Exception:
        # Something unpicklable (a closure) has no content hash, and its
        # repr holds an address that differs between processes: compare
        # the attributes alone.
        formulation = None
    return joblib.hash((formulation, attributes))
