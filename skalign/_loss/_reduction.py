"""The one reduction of the loss layer: a weighted mean over masked entries."""

import torch

__all__ = ["weighted_mean"]


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
    return weighted.sum() / total.clamp_min(torch.finfo(total.dtype).tiny)
