"""Pluralistic reward model (PAL) benchmarks, in one process.

a) **Fit time.** :class:`~skalign.preference.PluralisticRewardModel` at its
   defaults (3 prototypes, linear embedding), PAL-B and PAL-A, each on
   data of its own model from
   :func:`~skalign.datasets.make_pluralistic_preferences` (3 types),
   against :class:`~skalign.preference.PreferenceRewardRegressor` (one
   Bradley-Terry reward, on features in which every type's utility is
   linear: ``x``, and ``[x, ‖x‖²]`` for the distance model) on the same
   comparisons. The two models differ, so their objectives differ; the
   held-out accuracy is printed next to the times. As the like-for-like
   anchor, PAL-B with one prototype and ``alpha=0`` (a linear reward,
   factorised) is timed
   against the same Bradley-Terry model on ``x``: their optima are the same
   likelihood, and the objectives are required to match.

b) **Few-shot users.** A model fitted on 60 users; 30 new users of the
   same 3 types are fitted by ``fit_new_users`` from 5, 10 and 20 of their
   comparisons and scored on 40 others, against the population mixture
   (no comparisons) and the oracle that knows each new user's type (the
   mean weights of the fitted users of that type). Printed as the table of
   the user guide.

Run ``python benchmarks/bench_pluralistic.py`` (or ``--quick``). torch runs
on one thread; the load average is printed because the machine may be
shared. Each timing is the best of ``--repeats``.
"""

import argparse
import os
import time

import numpy as np
import torch
from sklearn.base import clone

from skalign.datasets import make_pluralistic_preferences
from skalign.metrics import per_user_pairwise_accuracy
from skalign.preference import PluralisticRewardModel, PreferenceRewardRegressor


def best_time(estimator, repeats, *args, **fit_params):
    """The best of ``repeats`` fit times of fresh clones, and the last fit."""
    times = []
    for _ in range(repeats):
        model = clone(estimator)
        start = time.perf_counter()
        model.fit(*args, **fit_params)
        times.append(time.perf_counter() - start)
    return min(times), model


def fit_times(n_users, n_comparisons, repeats):
    for variant in ("reward", "distance"):
        X, y, groups, users, _ = make_pluralistic_preferences(
            n_users=n_users,
            n_comparisons=2 * n_comparisons,
            variant=variant,
            random_state=0,
        )
        train = groups % (2 * n_comparisons) < n_comparisons
        test = ~train
        # Features in which every type's utility is linear.
        F = np.column_stack([X, (X**2).sum(1)]) if variant == "distance" else X
        t_pal, pal = best_time(
            PluralisticRewardModel(variant=variant, random_state=0),
            repeats,
            X[train],
            y[train],
            groups=groups[train],
            users=users[train],
        )
        t_bt, bt = best_time(
            PreferenceRewardRegressor(),
            repeats,
            F[train],
            y[train],
            groups=groups[train],
        )
        acc_pal = pal.score(X[test], y[test], groups=groups[test], users=users[test])
        acc_bt = bt.score(F[test], y[test], groups=groups[test])
        print(
            f"{n_users:>5} users x {n_comparisons} | {variant:>8} | PAL K=3 "
            f"{t_pal:7.3f} s ({pal.n_iter_} epochs, acc {acc_pal:.3f}) | one BT "
            f"{t_bt:6.3f} s (acc {acc_bt:.3f}) | ratio {t_pal / t_bt:6.1f}"
        )
    # Like for like, on the reward data (X): PAL-B with one prototype is
    # Bradley-Terry on x.
    X, y, groups, users, _ = make_pluralistic_preferences(
        n_users=n_users, n_comparisons=n_comparisons, random_state=0
    )
    t_one, one = best_time(
        PluralisticRewardModel(1, alpha=0.0, random_state=0),
        repeats,
        X,
        y,
        groups=groups,
        users=users,
    )
    t_lin, lin = best_time(PreferenceRewardRegressor(), repeats, X, y, groups=groups)
    assert abs(one.objective_ - lin.objective_) <= 1e-3 * lin.objective_, (
        one.objective_,
        lin.objective_,
    )
    print(
        f"{'':>21} | PAL-B K=1 alpha=0 {t_one:7.3f} s | BT {t_lin:6.3f} s "
        f"| ratio {t_one / t_lin:5.1f} | objectives {one.objective_:.5f} "
        f"{lin.objective_:.5f}"
    )


def few_shot_table(shots, n_test=40):
    X, y, groups, users, truth = make_pluralistic_preferences(
        n_users=90, n_comparisons=max(shots) + n_test, random_state=1
    )
    per_user = max(shots) + n_test
    old = users < 60
    model = PluralisticRewardModel(random_state=0)
    model.fit(X[old], y[old], groups=groups[old], users=users[old])
    position = groups % per_user
    test = ~old & (position >= max(shots))
    types = truth.user_types
    fitted = model.mixture_weights(np.arange(60))
    type_weights = np.array([fitted[types[:60] == t].mean(0) for t in range(3)])

    def accuracy(rewards):
        _, acc = per_user_pairwise_accuracy(
            y[test], rewards, groups=groups[test], users=users[test]
        )
        return acc.mean()

    scores = model.predict_prototype_rewards(X[test])
    population = accuracy(model.predict(X[test]))
    oracle_w = type_weights[types[users[test]]]
    oracle = accuracy((oracle_w * scores).sum(1))
    rows = []
    for n in shots:
        shot = ~old & (position < n)
        model.fit_new_users(X[shot], y[shot], groups=groups[shot], users=users[shot])
        rows.append((n, accuracy(model.predict(X[test], users=users[test]))))
    print("\ncomparisons | population | PAL few-shot | oracle (type known)")
    for n, acc in rows:
        print(f"{n:>11} | {population:10.3f} | {acc:12.3f} | {oracle:.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"load average {os.getloadavg()}, torch threads 1")
    sizes = [(60, 40)] if args.quick else [(60, 40), (300, 40)]
    for n_users, n_comparisons in sizes:
        fit_times(n_users, n_comparisons, 1 if args.quick else args.repeats)
    few_shot_table((5, 10, 20))


if __name__ == "__main__":
    main()
