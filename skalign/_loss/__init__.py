"""Pure torch losses: the bottom layer of skalign.

One module per kind of loss, each a set of functions
``loss(scores, ..., mask, weight) -> tensor`` that every family and
:mod:`skalign.metrics` import from:

- :mod:`~skalign._loss.pairwise`: Bradley–Terry and its variants, ties
  (Rao–Kupper, Davidson), general preference models, binary feedback.
- :mod:`~skalign._loss.listwise`: Plackett–Luce with ties and partial
  rankings, ListNet, RankNet, LiPO-λ, expected exposure.
- :mod:`~skalign._loss.dependence`: distance-covariance dependence measures
  and the penalised objectives built on them.
- :mod:`~skalign._loss.calibration`: log losses of calibration maps, ODIR,
  h-calibration.
- :mod:`~skalign._loss.ordinal`: cumulative-logit and HL-Gauss losses.

The losses average over rows, pairs, lists or choices through one
reduction, :func:`~skalign._loss._reduction.weighted_mean`.
This package imports only torch, numpy and the standard library: no
scikit-learn, no skorch, nothing else from skalign.
"""
