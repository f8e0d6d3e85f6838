"""Fit one reward model data-parallel under ``torchrun``.

    torchrun --standalone --nproc-per-node=2 benchmarks/torchrun_reward_model.py
    torchrun --nnodes=4 --nproc-per-node=8 --rdzv-backend=c10d \\
        --rdzv-endpoint=HOST:29500 benchmarks/torchrun_reward_model.py \\
        --n-pairs 10000000

Every process joins the process group that ``torchrun`` describes in its
environment (gloo on CPUs, NCCL on GPUs, one GPU per process), takes its
shard of whole groups, fits inside :func:`skalign.distributed.data_parallel`
and ends with the same model; rank 0 saves it and prints one JSON line (the
fit's wall time, objective, epochs and coefficients) that
``benchmarks/bench_distributed.py`` reads.

The data here are synthetic Bradley-Terry comparisons that every rank
generates alike and then shards; a real job has each rank read only its own
files (for example with :func:`skalign.distributed.shard_groups` on the
group ids, or one file per rank of whole groups).
"""

import argparse
import json
import os
import time

import joblib
import numpy as np
import torch
import torch.distributed as dist

from skalign.distributed import data_parallel, shard_groups
from skalign.preference import PreferenceRewardRegressor
from skalign.utils import pairs_to_long


def make_pairs(n_pairs, n_features, seed=0):
    """Long-format Bradley-Terry comparisons, two rows per group."""
    rng = np.random.default_rng(seed)
    coef = rng.normal(size=n_features)
    X_a = rng.normal(size=(n_pairs, n_features)).astype(np.float32)
    X_b = rng.normal(size=(n_pairs, n_features)).astype(np.float32)
    won = rng.random(n_pairs) < 1 / (1 + np.exp(-(X_a - X_b) @ coef))
    return pairs_to_long(X_a, X_b, won * 1.0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-pairs", type=int, default=20_000)
    parser.add_argument("--n-features", type=int, default=64)
    parser.add_argument(
        "--optimizer",
        default="auto",
        help="'auto' (full-batch L-BFGS for this convex model) or 'adam'",
    )
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--out", default=None, help="where rank 0 saves the model")
    args = parser.parse_args(argv)

    cuda = torch.cuda.is_available()
    if cuda:
        # One GPU per process: torchrun numbers the processes of a node.
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group("nccl" if cuda else "gloo")
    rank = dist.get_rank()

    X, y, groups = make_pairs(args.n_pairs, args.n_features)
    rows = shard_groups(groups)
    X, y, groups = X[rows], y[rows], groups[rows]
    adam = args.optimizer == "adam"
    model = PreferenceRewardRegressor(
        optimizer=args.optimizer,
        batch_size=args.batch_size if adam else "auto",
        max_epochs=args.max_epochs,
        device="cuda" if cuda else "cpu",
        random_state=0,
    )

    dist.barrier()
    start = time.perf_counter()
    with data_parallel():
        model.fit(X, y, groups=groups)
    seconds = time.perf_counter() - start

    if rank == 0:
        if args.out:
            joblib.dump(model, args.out)
        print(
            json.dumps(
                {
                    "world_size": dist.get_world_size(),
                    "fit_s": seconds,
                    "objective": model.objective_,
                    "n_iter": model.n_iter_,
                    "converged": model.converged_,
                    "coef": model.scorer_.linear.weight.detach()
                    .cpu()
                    .double()
                    .numpy()
                    .ravel()
                    .tolist(),
                }
            ),
            flush=True,
        )
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
