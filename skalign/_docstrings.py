"""Docstring fragments shared by every torch estimator (written once)."""

import inspect
import textwrap

__all__ = ["fill_doc"]

_FRAGMENTS = {
    "scorer_param": """\
scorer : torch.nn.Module, default=None
    Maps ``(n, n_features)`` to scores. ``None`` means the estimator's
    default (a :class:`~skalign.nn.LinearScorer`). skalign scorers expose
    their hyperparameters (``scorer__hidden_units``); any other module is
    deep-copied and has its parameters re-initialised at fit.""",
    "mlp_scorer_param": """\
scorer : torch.nn.Module, default=None
    Maps ``(n, n_features)`` to scores. ``None`` means an
    :class:`~skalign.nn.MLPScorer` with its defaults (one hidden layer of
    64 ReLU units), trained by Adam on standardised inputs (see
    ``lr``). skalign scorers expose their hyperparameters
    (``scorer__hidden_units``); any other module is deep-copied and has its
    parameters re-initialised at fit.""",
    "engine_params": """\
alpha : float, default=0.0
    L2 strength: ``alpha / 2`` times the squared norm of the scorer's weight
    matrices is added to the mean loss (biases are not penalised).
optimizer : {"auto", "lbfgs", "adam", "adamw", "sgd"} or optimizer class, \
        default="auto"
    ``"auto"`` is full-batch L-BFGS when the problem is convex (a linear
    scorer with a convex loss) and Adam otherwise.
lr : float, default=None
    Learning rate; ``None`` is 1.0 for L-BFGS (the initial trial step of
    its backtracking line search), 1e-2 for SGD, 1e-2 for Adam on a scorer
    that trains on standardised inputs (:class:`~skalign.nn.MLPScorer`) and
    1e-3 otherwise. Stochastic optimisers halve it whenever the monitored
    loss has not improved by ``tol`` for ``max(1, n_iter_no_change // 2)``
    epochs (reduce on plateau), unless ``callbacks`` holds a skorch
    ``LRScheduler``; every call to ``fit`` or ``partial_fit`` starts again
    from ``lr``.
max_epochs : int, default={default_max_epochs}
    Maximum passes over the training units (for L-BFGS, each epoch runs up
    to 20 iterations, and the fit usually ends long before); a bound, not a
    schedule: training ends when the convergence test holds.
batch_size : int, "auto" or None, default="auto"
    Training units (groups, or rows for row-wise objectives) per mini-batch.
    ``None`` is full batch; ``"auto"`` is full batch for L-BFGS and
    ``min(256, n_units)`` otherwise.
early_stopping : bool or "auto", default={default_early_stopping}
    Hold out ``validation_fraction`` of the units and stop when their loss
    stops improving, restoring the best weights. ``"auto"`` holds out only
    when a stochastic optimiser trains a non-convex model (a neural scorer,
    whose training optimum overfits small data) and the held-out part has
    at least 10 units; a convex model then trains to its optimum on all the
    units. No data are held out when this is ``False``.
validation_fraction : float, default=0.1
    Fraction of units held out when ``early_stopping=True``.
n_iter_no_change : int, default=10
    Epochs without an improvement of at least ``tol`` before stopping
    (stochastic optimisers and early stopping); the learning rate is halved
    after half of them.
tol : float, default=1e-4
    Improvement threshold of the monitored loss for stochastic optimisers.
    For L-BFGS (which solves in float64), the fit has converged when the
    largest gradient entry of the objective, with every weight of a linear
    scorer measured in units of its feature's root mean square, has fallen
    to ``tol`` times its size at the start, and the objective changed by at
    most ``tol ** 3`` (relative) in the last iteration, or when no step
    lowers the objective at float64 precision any more. Judged on the full
    objective, never on iteration counts; a smaller ``tol`` never gives a
    worse objective.
device : {"cpu", "cuda", "auto"} or torch.device, default="cpu"
    Where data and model live during ``fit``; data are moved once.
dtype : {"float32", "float64"}, default="float32"
    Floating point precision of the fitted model, and of training with
    stochastic optimisers; full-batch L-BFGS always solves in float64.
callbacks : list of skorch callbacks, default=None
    Extra skorch callbacks (e.g. ``skorch.callbacks.Checkpoint``), given as
    instances or ``(name, instance)`` tuples.
warm_start : bool, default=False
    Continue from the previous fit's weights and optimiser state (also what
    :meth:`partial_fit` does, where the estimator has it). The objective and
    optimiser are those of the first fit: changing any parameter other than
    ``max_epochs``, ``tol``, ``n_iter_no_change``, ``early_stopping``,
    ``validation_fraction``, ``verbose``, ``callbacks`` (the net keeps
    those it was built with) and ``random_state`` before a continued fit
    raises a ``ValueError``.
verbose : int, default=0
    0 silent, 1 a progress bar over epochs, 2 skorch's epoch table.
random_state : int, RandomState instance or None, default=None
    Seeds parameter initialisation, shuffling and dropout; the same seed
    gives bit-identical predictions on CPU.""",
    "engine_attributes": """\
net_ : skorch.NeuralNet
    The trained net; ``net_.module_`` (also ``scorer_``) is the fitted
    scorer.
history_ : skorch.History
    Per-epoch training history (``history_[:, "train_loss"]``).
n_iter_ : int
    Epochs run by the last call to ``fit`` or ``partial_fit``.
converged_ : bool
    Whether training stopped by its convergence criterion (see ``tol``);
    ``False`` comes with a :class:`~skalign.exceptions.ConvergenceWarning`.
objective_ : float
    The training objective (mean loss plus penalties) at the returned
    weights; also ``history_[-1, "train_loss"]`` for L-BFGS.
n_features_in_ : int
    Number of features seen during fit.
feature_names_in_ : ndarray of shape (`n_features_in_`,)
    Names of features seen during fit, when ``X`` has string column names.""",
    "likelihood_attributes": """\
log_likelihood_ : float
    The log-likelihood at the fitted parameters (sample weights count as
    repeated observations). Set, with the attributes below, when the
    objective is a likelihood, the scorer a ``LinearScorer`` and
    ``alpha=0`` (see :ref:`inference`).
n_params_ : int
    Parameters the likelihood identifies (an intercept that cancels within
    every group is not one).
nobs_ : int
    Training units of positive weight (comparisons, lists or rows): the
    ``n`` of ``bic_``.
aic_, bic_ : float
    ``2 k - 2 log L`` and ``k log n - 2 log L``.
parameter_names_ : ndarray of str
    The reported parameters: the features (``feature_names_in_`` or
    ``x0, x1, ...``), ``intercept`` where identified, then the loss's own
    parameters.
parameters_ : ndarray of float
    Their estimates.
covariance_ : ndarray of shape (n, n) or None
    Their covariance, the inverse observed information (exact Hessian by
    automatic differentiation); ``None`` when the parameters are not
    identified or the problem was too large to compute it at fit time.
robust_covariance_ : ndarray of shape (n, n) or None
    The cluster-robust (sandwich) covariance, clustered by ``groups`` (by
    row for models without groups); ``None`` with fewer than two clusters or
    when ``early_stopping`` held some out.""",
}


def fill_doc(obj):
    """Replace ``{scorer_param}``, ``{mlp_scorer_param}``,
    ``{engine_params}``, ``{engine_attributes}`` and
    ``{likelihood_attributes}`` in ``obj.__doc__``, indented like the
    placeholder."""
    doc = obj.__doc__
    for key, text in _FRAGMENTS.items():
        placeholder = "{" + key + "}"
        while placeholder in doc:
            start = doc.index(placeholder)
            line_start = doc.rfind("\n", 0, start) + 1
            indent = doc[line_start:start]
            doc = doc.replace(
                indent + placeholder,
                textwrap.indent(text, indent),
                1,
            )
    # The estimator's own defaults (an estimator of neural scorers allows
    # more epochs, its stopping rule deciding how many it uses, and holds
    # out data to stop on).
    for name in ("max_epochs", "early_stopping"):
        placeholder = "{default_" + name + "}"
        if placeholder in doc:
            default = inspect.signature(obj.__init__).parameters[name].default
            text = f'"{default}"' if isinstance(default, str) else str(default)
            doc = doc.replace(placeholder, text)
    obj.__doc__ = doc
    return obj
