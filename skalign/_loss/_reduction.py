"""The one reduction of the loss layer: a weighted mean over masked entries.

Also the loss layer's evaluation mode (thread-local), for likelihood
inference: :func:`recording` collects the denominator of every mean a loss
computes (so that the mean can be turned back into a sum), and
:func:`unfused` also turns off the fused value-and-gradient shortcuts,
which have no second derivative.
"""

import contextlib
import threading

import torch

__all__ = [
    "fused_allowed",
    "record_normaliser",
    "recording",
    "unfused",
    "weighted_mean",
]

_mode = threading.local()


def fused_allowed():
    """Whether losses may take their fused, once-differentiable shortcuts."""
    return not getattr(_mode, "unfused", False)


def record_normaliser(total):
    """Record a mean's denominator (a tensor), inside :func:`recording`."""
    recorded = getattr(_mode, "normalisers", None)
    if recorded is not None:
        recorded.append(total)


@contextlib.contextmanager
def recording():
    """Yield a list that receives the denominator (``Σ_m n``, a tensor, with
    its graph: the mean times it is the weighted sum) of every mean a loss
    computes inside the block, in this thread (:func:`weighted_mean`, and
    the fused losses' own)."""
    previous = getattr(_mode, "normalisers", None)
    _mode.normalisers = recorded = []
    try:
        yield recorded
    finally:
        _mode.normalisers = previous


@contextlib.contextmanager
def unfused():
    """:func:`recording`, with every loss twice differentiable (no fused
    shortcut)."""
    previous = getattr(_mode, "unfused", False)
    _mode.unfused = True
    try:
        with recording() as recorded:
            yield recorded
    finally:
        _mode.unfused = previous


def weighted_mean(values, weight=None, mask=None, *, normaliser=None):
    """``Σ_m w v / Σ_m n``: the weighted mean of ``values`` where ``mask`` holds.

    Parameters
    ----------
    values : tensor
    weight : tensor, default=None
        Broadcast against ``values``; ``None`` weighs every entry 1.
    mask : bool tensor, default=None
        Entries that count; ``None`` counts all. Masked-out entries add to
        neither sum whatever their value (padding may hold ``inf``).
    normaliser : tensor, default=None
        What the denominator sums (``n``), when it is not ``weight`` itself:
        for terms that carry a factor of their own (a pair weight times a
        grade gap, over the total pair weight). Of the shape of ``mask``.

    Returns
    -------
    tensor of shape ()
        0, not NaN, when the denominator is 0.
    """
    if weight is None:
        weight = torch.ones_like(values)
    if normaliser is None:
        normaliser = weight
    weighted = weight * values
    if mask is not None:
        weighted = torch.where(mask, weighted, 0.0)
        normaliser = torch.where(mask, normaliser, 0.0)
    total = normaliser.sum()
    record_normaliser(total)
    return weighted.sum() / total.clamp_min(torch.finfo(total.dtype).tiny)
