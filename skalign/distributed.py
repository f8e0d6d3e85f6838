"""One fit over many processes: data-parallel training on ``torch.distributed``.

See :ref:`scaling_out` for launching the processes (``torchrun``, Ray
Train's ``TorchTrainer``, Spark's ``TorchDistributor``).
"""

from ._distributed import data_parallel, shard_groups

__all__ = ["data_parallel", "shard_groups"]
