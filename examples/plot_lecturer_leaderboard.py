"""
A leaderboard with intervals and a style control: lecturers
===========================================================

Leaderboards built from pairwise judgements ("arena" comparisons of
chatbots, products, players) need more than an order: how sure is each
strength, which ranks are plausible, and how much of a lead comes from
something the ranking should not reward (longer answers, a nicer format).
:func:`skalign.inference.leaderboard` fits a Bradley–Terry model with
Davidson's ties to the outcomes, adjusts for *control* covariates measured
on each side (fitted, then held equal), and reports sum-to-zero strengths
with confidence intervals and rank intervals.

The data: students at ETH Zürich rated lectures from 1 to 5 (``InstEval``
of R's ``lme4``, through :func:`skalign.datasets.load_inst_eval`). Two
lectures rated by one student are a comparison: the higher rating wins,
equal ratings tie. The control: whether the lecture was a *service* course
(taught to another department's students), which students may rate lower
whatever the lecturer.
"""

# %%
# Battles from ratings
# --------------------
# We keep the 25 lecturers with the most ratings and pair the lectures of
# each student among them.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from skalign.datasets import load_inst_eval
from skalign.inference import leaderboard

frame = load_inst_eval(include_lecturer=True).frame
top = frame["d"].value_counts().index[:25]
rated = frame[frame["d"].isin(top)].copy()
rated["service"] = rated["service"].astype(int)
first = rated.merge(rated, on="s", suffixes=("_a", "_b"))
first = first[first["d_a"].astype(int) < first["d_b"].astype(int)]
battles = pd.DataFrame(
    {
        "model_a": "L" + first["d_a"].astype(str),
        "model_b": "L" + first["d_b"].astype(str),
        "winner": np.select(
            [first["y_a"] > first["y_b"], first["y_a"] < first["y_b"]],
            ["a", "b"],
            "tie",
        ),
        "service_a": first["service_a"],
        "service_b": first["service_b"],
    }
)
lecturers = pd.unique(battles[["model_a", "model_b"]].to_numpy().ravel())
print(f"{len(battles):,} comparisons of {len(lecturers)} lecturers")
print(battles["winner"].value_counts(normalize=True).round(3).to_dict())

# %%
# The leaderboard, with and without the control
# ---------------------------------------------
controlled = leaderboard(battles, controls=[("service_a", "service_b")], random_state=0)
naive = leaderboard(battles, random_state=0)
print(controlled.head(8).round(3))
print(
    "service course effect:",
    round(controlled.attrs["controls"]["service_a-service_b"], 3),
)
moved = int((naive["rank"] != controlled.loc[naive.index, "rank"]).sum())
print(f"lecturers whose rank changes with the control: {moved} of {len(naive)}")

# %%
# Strengths and rank intervals
# ----------------------------
# Each bar is a 95% interval of the strength (log-odds of winning against
# an average lecturer); the right panel shows the plausible ranks. Where
# intervals overlap, the order is not settled by these data. The pairs of
# one student are not independent (the same student judged both); the
# bootstrap of :func:`~skalign.inference.leaderboard` resamples comparisons,
# and a student-level resampling would widen the intervals somewhat.
order = controlled.index[::-1]
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 6), sharey=True)
y = np.arange(len(order))
left.errorbar(
    controlled.loc[order, "strength"],
    y,
    xerr=[
        controlled.loc[order, "strength"] - controlled.loc[order, "lower"],
        controlled.loc[order, "upper"] - controlled.loc[order, "strength"],
    ],
    fmt="o",
    color="tab:blue",
    label="with the service control",
)
left.plot(naive.loc[order, "strength"], y + 0.25, "x", color="grey", label="without")
left.axvline(0.0, color="black", linewidth=0.8)
left.set_yticks(y, order)
left.set_xlabel("strength (sum to zero)")
left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, frameon=False)
right.hlines(
    y,
    controlled.loc[order, "rank_lower"],
    controlled.loc[order, "rank_upper"],
    color="tab:blue",
    linewidth=3,
)
right.plot(controlled.loc[order, "rank"], y, "o", color="black")
right.set_xlim(0.5, len(order) + 0.5)
right.invert_xaxis()
right.set_xlabel("rank (95% interval)")
fig.tight_layout()
plt.show()
