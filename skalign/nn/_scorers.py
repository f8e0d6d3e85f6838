"""Scorer modules: ``(n, n_features) -> (n,)`` or ``(n, n_outputs)``.

A scorer is a :class:`torch.nn.Module` whose hyperparameters are exposed
through ``get_params`` / ``set_params`` in the scikit-learn way, so an
estimator's ``scorer__hidden_units`` can be tuned by ``GridSearchCV``. Its
layers are created by :meth:`Scorer.build` once the number of input features
is known; the estimator always builds a fresh clone, never the object it was
given.
"""

import inspect
import itertools

import torch
from torch import nn

__all__ = ["LinearScorer", "MLPScorer", "Scorer"]

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "logistic": nn.Sigmoid,
    "identity": nn.Identity,
}


def _linear(layer, X):
    """Apply ``layer`` (an ``nn.Linear``) to dense or torch-sparse COO ``X``."""
    return _affine(layer.weight, layer.bias, X)


def _affine(weight, bias, X):
    """``X @ weight.T + bias`` for dense or torch-sparse COO ``X``."""
    out_features = weight.shape[0]
    if X.layout == torch.strided:
        return torch.nn.functional.linear(X, weight, bias)
    # Gather the weights of the non-zeros and add them up per row: several
    # times faster than torch.sparse.mm forward and backward on CPU.
    # ``index_select`` rather than indexing: its backward is an index_add,
    # where an indexing backward sorts the indices at every evaluation.
    X = X if X.is_coalesced() else X.coalesce()
    row, col = X.indices()
    if out_features == 1:
        # A 1-d gather: its backward is a 1-d index_add, twice as fast as
        # that of a gather of rows of the transposed weight.
        weights = weight[0].index_select(0, col)
        values = X.values()
    else:
        weights = weight.t().index_select(0, col)
        values = X.values()[:, None]
    # Whether X holds one entry per row (one-hot items), and all ones: read
    # once per tensor (a full batch is the same tensor at every evaluation).
    layout = getattr(X, "_skalign_one_hot", None)
    if layout is None:
        one_entry = row.numel() == X.shape[0] and bool(
            (row == torch.arange(row.numel(), device=row.device)).all()
        )
        layout = (one_entry, one_entry and bool((values == 1).all()))
        X._skalign_one_hot = layout
    if layout[0]:
        # One stored entry per row: a plain id gather.
        out = weights if layout[1] else values * weights
    else:
        out = torch.zeros(
            (X.shape[0], *weights.shape[1:]), dtype=weights.dtype, device=X.device
        ).index_add(0, row, values * weights)
    if bias is not None:
        # ``out`` is a fresh tensor, not a view (a gather, a product or a
        # sum), and none of their backward passes reads it: adding in place
        # saves allocating (and page-faulting) another score-sized tensor.
        out = out.add_(bias)
    return out.view(X.shape[0], out_features)


class Scorer(nn.Module):
    """Base class of skalign's scorers.

    Subclasses list their hyperparameters as keyword arguments of
    ``__init__``, store them unchanged, and create their layers in
    :meth:`_build`. ``get_params`` / ``set_params`` follow scikit-learn, so
    :func:`sklearn.base.clone` gives an unbuilt copy with the same settings.
    """

    accepts_sparse = True
    #: Whether the scorer standardises its inputs by moments the estimator
    #: gives it from the training rows (:meth:`set_input_scaling`).
    standardizes_inputs = False

    def __init__(self):
        super().__init__()
        self.n_features_in_ = None

    @classmethod
    def _get_param_names(cls):
        signature = inspect.signature(cls.__init__)
        return sorted(
            name
            for name, p in signature.parameters.items()
            if name != "self" and p.kind != p.VAR_KEYWORD
        )

    def get_params(self, deep=True):
        """Hyperparameters of this scorer, as in scikit-learn."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set hyperparameters, as in scikit-learn. Returns ``self``."""
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for scorer {type(self).__name__}. "
                    f"Valid parameters are: {valid}."
                )
            setattr(self, name, value)
        return self

    def build(self, n_features, n_outputs=1):
        """Create the layers for ``n_features`` inputs and ``n_outputs`` outputs.

        Returns ``self``. With ``n_outputs=1`` the forward pass returns a
        1-D tensor of shape ``(n,)``; otherwise ``(n, n_outputs)``.
        """
        self.n_features_in_ = int(n_features)
        self.n_outputs_ = int(n_outputs)
        self._build(self.n_features_in_, self.n_outputs_)
        return self

    def _build(self, n_features, n_outputs):
        raise NotImplementedError

    def zero_output_(self):
        """Set the weights and bias of the output layer to zero, in place:
        the scorer then starts at the constant score 0, and a family
        starts a fit from the scores its loss prefers before any feature
        is seen (e.g. the marginal histogram of HL-Gauss). Returns
        ``self``."""
        layer = self._output_layer()
        with torch.no_grad():
            layer.weight.zero_()
            if layer.bias is not None:
                layer.bias.zero_()
        return self

    def _output_layer(self):
        raise NotImplementedError

    def _squeeze(self, out):
        return out.squeeze(-1) if self.n_outputs_ == 1 else out

    def extra_repr(self):
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return params


class LinearScorer(Scorer):
    """Linear scorer ``s(x) = x @ w (+ b)``.

    Accepts dense and sparse (torch COO) input, so a one-hot ``X`` gives
    featureless item-strength models. A single output is initialised at
    zero; several outputs use torch's default random initialisation.

    Parameters
    ----------
    fit_intercept : bool, default=True
        Whether to learn a bias. For pairwise objectives the bias cancels in
        every score difference and is left at its initial value.

    Examples
    --------
    >>> import torch
    >>> from skalign.nn import LinearScorer
    >>> scorer = LinearScorer(fit_intercept=False).build(n_features=3)
    >>> scorer(torch.ones(2, 3)).shape
    torch.Size([2])
    """

    def __init__(self, *, fit_intercept=True):
        super().__init__()
        self.fit_intercept = fit_intercept

    def _build(self, n_features, n_outputs):
        self.linear = nn.Linear(n_features, n_outputs, bias=bool(self.fit_intercept))
        if n_outputs == 1:
            # A scalar score starts at zero, as scikit-learn's linear models
            # do. Several outputs keep torch's random initialisation: zero is
            # a saddle point of bilinear objectives (preference embeddings).
            nn.init.zeros_(self.linear.weight)
            if self.linear.bias is not None:
                nn.init.zeros_(self.linear.bias)

    def _output_layer(self):
        return self.linear

    def forward(self, X):
        return self._squeeze(_linear(self.linear, X))


class MLPScorer(Scorer):
    """Multi-layer perceptron scorer.

    Parameters
    ----------
    hidden_units : tuple of int, default=(64,)
        Width of each hidden layer.
    activation : {"relu", "tanh", "gelu", "logistic", "identity"}, default="relu"
        Non-linearity after each hidden layer.
    dropout : float, default=0.0
        Dropout probability after each hidden activation (training only).

    Notes
    -----
    Its initialisation and Adam's default learning rate assume inputs of
    unit scale, so it standardises its inputs: a fresh fit of an estimator
    stores the training rows' column means and standard deviations in the
    buffers ``input_mean`` and ``input_scale`` (0 and 1 until then), and
    the first layer applies ``input_layer`` to ``(x - input_mean) /
    input_scale``. That is computed as an affine map of the raw features
    (``input_layer.weight / input_scale`` and a bias shifted by the means,
    :meth:`raw_input_weights`), so sparse input stays sparse, and the
    scorer takes raw features wherever it is used.

    Examples
    --------
    >>> import torch
    >>> from skalign.nn import MLPScorer
    >>> scorer = MLPScorer(hidden_units=(8, 4)).build(n_features=3)
    >>> scorer(torch.ones(5, 3)).shape
    torch.Size([5])
    """

    standardizes_inputs = True

    def __init__(self, *, hidden_units=(64,), activation="relu", dropout=0.0):
        super().__init__()
        self.hidden_units = hidden_units
        self.activation = activation
        self.dropout = dropout

    def _build(self, n_features, n_outputs):
        units = tuple(self.hidden_units)
        if not units or any(int(u) != u or u < 1 for u in units):
            raise ValueError(
                "scorer hidden_units must be a non-empty tuple of positive "
                f"integers; got {self.hidden_units!r}."
            )
        if self.activation not in _ACTIVATIONS:
            raise ValueError(
                f"scorer activation must be one of {sorted(_ACTIVATIONS)}; "
                f"got {self.activation!r}."
            )
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"scorer dropout must be in [0, 1); got {self.dropout!r}.")
        sizes = (n_features, *(int(u) for u in units))
        self.register_buffer("input_mean", torch.zeros(n_features))
        self.register_buffer("input_scale", torch.ones(n_features))
        self.input_layer = nn.Linear(sizes[0], sizes[1])
        layers = [_ACTIVATIONS[self.activation](), nn.Dropout(float(self.dropout))]
        for n_in, n_out in itertools.pairwise(sizes[1:]):
            layers += [
                nn.Linear(n_in, n_out),
                _ACTIVATIONS[self.activation](),
                nn.Dropout(float(self.dropout)),
            ]
        layers.append(nn.Linear(sizes[-1], n_outputs))
        self.body = nn.Sequential(*layers)

    def _output_layer(self):
        return self.body[-1]

    def set_input_scaling(self, mean, scale):
        """Standardise inputs as ``(x - mean) / scale`` from now on.

        Parameters
        ----------
        mean, scale : array-like of shape (n_features,)
            Column means and (positive) standard deviations of the training
            rows.

        Returns
        -------
        self : MLPScorer
        """
        with torch.no_grad():
            self.input_mean.copy_(torch.as_tensor(mean))
            self.input_scale.copy_(torch.as_tensor(scale))
        return self

    def raw_input_weights(self):
        """Weight and bias of the first layer on raw (unstandardised)
        features: ``input_layer.weight / input_scale`` and
        ``input_layer.bias - weight @ input_mean``."""
        weight = self.input_layer.weight / self.input_scale
        return weight, self.input_layer.bias - weight @ self.input_mean

    def forward(self, X):
        if X.layout == torch.strided:
            # Dense rows are standardised themselves: two elementwise passes
            # over a batch that needs no gradient, where folding the scaling
            # into the weights adds three nodes to every backward pass.
            standardized = (X - self.input_mean) / self.input_scale
            return self._squeeze(self.body(self.input_layer(standardized)))
        # Sparse rows stay sparse: the scaling is folded into the weights.
        return self._squeeze(self.body(_affine(*self.raw_input_weights(), X)))
