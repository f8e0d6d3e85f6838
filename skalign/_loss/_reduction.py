"""The one reduction of the loss layer: a weighted mean over masked entries.

Also the loss layer's evaluation mode (thread-local): :func:`unfused` turns
off the fused value-and-gradient shortcuts (which have no second
derivative) and records the denominator of every :func:`weighted_mean`, so
that likelihood inference can differentiate a loss twice and turn its mean
back into a sum.
"""

import contextlib
import threading

import torch

__all__ = ["fused_allowed", "unfused", "weighted_mean"]

_mode = threading.local()


def fused_allowed():
    """Whether losses may take their fused, once-differentiable shortcuts."""
    return getattr(_mode, "normalisers", None) is None


@contextlib.contextmanager
def unfused():
    """Evaluate losses twice differentiably, recording their denominators.

    Yields a list that receives the denominator (``Σ_m n``, a tensor, with
    its graph: the mean times it is the weighted sum) of every
    :func:`weighted_mean` computed inside the block, in this thread.
    """
    previous = getattr(_mode, "normalisers", None)
    _mode.normalisers = recorded = []
    try:
        yield recorded
    finally:
        _mode.normalisers = previous


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
    recorded = getattr(_mode, "normalisers", None)
    if recorded is not None:
        recorded.append(total)
    return weighted.sum() / total.clamp_min(torch.finfo(total.dtype).tiny)
