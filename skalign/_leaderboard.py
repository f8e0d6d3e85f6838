"""Leaderboards from pairwise outcomes: Bradley–Terry strengths with
intervals, rank intervals, ties and style control."""

import numbers

import numpy as np

from .preference import PreferenceRewardRegressor
from .utils._extras import install_hint

__all__ = ["leaderboard"]

_A_WINS = ("a", "model_a", "1", "a_wins")
_B_WINS = ("b", "model_b", "0", "b_wins")
_TIES = ("tie", "draw", "0.5", "tie (bothbad)", "both_bad")


def _outcome_codes(values):
    """1 (a won), 0 (b won) or 0.5 (tie) per comparison."""
    out = np.empty(len(values))
    for k, value in enumerate(values):
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            if value not in (0, 0.5, 1):
                break
            out[k] = float(value)
            continue
        text = str(value).strip().lower()
        if text in _A_WINS:
            out[k] = 1.0
        elif text in _B_WINS:
            out[k] = 0.0
        elif text in _TIES:
            out[k] = 0.5
        else:
            break
    else:
        return out
    raise ValueError(
        f"outcome must be 1 / 'a' (the first item won), 0 / 'b' (the second "
        f"won) or 0.5 / 'tie', got {values[k]!r} in row {k}."
    )


def leaderboard(
    comparisons,
    *,
    item_a="model_a",
    item_b="model_b",
    outcome="winner",
    controls=(),
    level=0.95,
    cov_type="observed",
    n_resamples=0,
    n_rank_draws=2000,
    n_jobs=None,
    random_state=None,
):
    """A ranked table of items from pairwise outcomes.

    Fits a Bradley–Terry model (Davidson's ties when there are ties) to the
    comparisons, with one indicator column per item and the ``controls``
    (style covariates, such as response length, measured on each side) as
    further features. Strengths are the items' coefficients with the
    controls held equal (the controls are fitted, then neutralised), summing
    to zero; their intervals come from the observed information, the
    cluster-robust covariance, or a bootstrap of comparisons. Rank
    intervals: ranks of draws of the strengths (from their asymptotic normal
    law, or the bootstrap refits).

    Parameters
    ----------
    comparisons : pandas.DataFrame
        One row per comparison.
    item_a, item_b : str, default="model_a", "model_b"
        Columns naming the two items compared.
    outcome : str, default="winner"
        Column of outcomes: 1 or ``"a"`` / ``"model_a"`` (``item_a`` won), 0
        or ``"b"`` / ``"model_b"``, 0.5 or ``"tie"``.
    controls : sequence of (str, str), default=()
        Pairs of columns ``(value for item_a, value for item_b)`` of
        covariates to adjust for, e.g. ``[("length_a", "length_b")]``.
    level : float, default=0.95
        Level of the strength and rank intervals.
    cov_type : {"observed", "cluster"}, default="observed"
        Covariance of the Wald intervals (``n_resamples=0``): the inverse
        observed information, or the sandwich with each comparison its own
        cluster (robust to a misspecified model).
    n_resamples : int, default=0
        Bootstrap resamples of the comparisons; 0 uses Wald intervals.
    n_rank_draws : int, default=2000
        Draws of the strengths from their asymptotic normal law, for the
        rank intervals when ``n_resamples=0``.
    n_jobs : int, default=None
        Parallel bootstrap refits.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    table : pandas.DataFrame
        One row per item, best first: ``strength`` (log-worth, summing to
        zero), ``std_error``, ``lower``, ``upper``, ``rank``, ``rank_lower``,
        ``rank_upper`` and ``n_comparisons``. ``table.attrs["model"]`` is the
        fitted :class:`~skalign.preference.PreferenceRewardRegressor` and
        ``table.attrs["controls"]`` the controls' coefficients.

    Examples
    --------
    >>> import pandas as pd
    >>> from skalign.inference import leaderboard
    >>> games = pd.DataFrame(
    ...     {
    ...         "model_a": ["x", "x", "y", "z", "y", "z", "x", "z"],
    ...         "model_b": ["y", "z", "z", "x", "x", "y", "y", "x"],
    ...         "winner": ["a", "a", "b", "b", "a", "tie", "a", "a"],
    ...     }
    ... )
    >>> table = leaderboard(games, random_state=0)
    >>> list(table.index)
    ['x', 'z', 'y']
    """
    try:
        import pandas
    except ImportError as error:  # pragma: no cover - pandas is in the extras
        raise ImportError(
            f"leaderboard() works on pandas DataFrames: {install_hint('inference')}"
        ) from error
    from sklearn.utils import check_random_state

    if not isinstance(comparisons, pandas.DataFrame):
        raise TypeError(
            "comparisons must be a pandas DataFrame with one row per "
            f"comparison, got {type(comparisons).__name__}."
        )
    for name in (item_a, item_b, outcome, *(c for pair in controls for c in pair)):
        if name not in comparisons.columns:
            raise ValueError(
                f"comparisons has no column {name!r}; its columns are "
                f"{list(comparisons.columns)}."
            )
    if len(comparisons) == 0:
        raise ValueError("comparisons is empty.")
    a = comparisons[item_a].astype(str).to_numpy()
    b = comparisons[item_b].astype(str).to_numpy()
    if np.any(a == b):
        row = int(np.flatnonzero(a == b)[0])
        raise ValueError(f"row {row} compares {a[row]!r} with itself.")
    result = _outcome_codes(comparisons[outcome].to_numpy())
    items = np.unique(np.concatenate([a, b]))
    code = {item: k for k, item in enumerate(items)}
    ia = np.fromiter((code[v] for v in a), dtype=np.int64, count=len(a))
    ib = np.fromiter((code[v] for v in b), dtype=np.int64, count=len(b))
    n, n_items = len(a), len(items)
    control_names = [f"{first}-{second}" for first, second in controls]
    X = np.zeros((2 * n, n_items + len(controls)))
    X[2 * np.arange(n), ia] = 1.0
    X[2 * np.arange(n) + 1, ib] = 1.0
    for j, (first, second) in enumerate(controls):
        X[0::2, n_items + j] = comparisons[first].to_numpy(dtype=float)
        X[1::2, n_items + j] = comparisons[second].to_numpy(dtype=float)
    if not np.all(np.isfinite(X)):
        raise ValueError("the controls hold NaN or infinite values.")
    y = np.column_stack([result, 1.0 - result]).ravel()
    groups = np.repeat(np.arange(n), 2)
    ties = "davidson" if np.any(result == 0.5) else "ignore"
    X = pandas.DataFrame(X, columns=[*items, *control_names])
    model = PreferenceRewardRegressor(ties=ties).fit(X, y, groups=groups)
    names, transform = model._contrast_transform("sum")
    shown = np.isin(names, items)
    estimates = transform @ model.parameters_
    rng = check_random_state(random_state)
    if n_resamples:
        draws = (
            model.bootstrap_parameters(
                X,
                y,
                groups=groups,
                n_resamples=n_resamples,
                n_jobs=n_jobs,
                random_state=rng,
            ).to_numpy()
            @ transform.T
        )
        std_error = draws.std(axis=0, ddof=1)
        tail = (1 - level) / 2
        lower, upper = np.quantile(draws, [tail, 1 - tail], axis=0)
    else:
        _, _, covariance = model._contrasts(cov_type, "sum")
        std_error = np.sqrt(np.diag(covariance))
        from scipy import stats

        half = stats.norm.ppf(0.5 + level / 2) * std_error
        lower, upper = estimates - half, estimates + half
        # The covariance of sum-to-zero strengths is singular: eigh draws.
        generator = np.random.default_rng(rng.randint(np.iinfo(np.int32).max))
        draws = generator.multivariate_normal(
            estimates, covariance, size=n_rank_draws, method="eigh"
        )
    strengths = draws[:, shown]
    ranks = 1 + np.argsort(np.argsort(-strengths, axis=1), axis=1)
    tail = (1 - level) / 2
    rank_lower, rank_upper = np.quantile(ranks, [tail, 1 - tail], axis=0)
    point_rank = 1 + np.argsort(np.argsort(-estimates[shown]))
    counts = np.bincount(np.concatenate([ia, ib]), minlength=n_items)
    table = pandas.DataFrame(
        {
            "strength": estimates[shown],
            "std_error": std_error[shown],
            "lower": lower[shown],
            "upper": upper[shown],
            "rank": point_rank,
            "rank_lower": np.floor(rank_lower).astype(int),
            "rank_upper": np.ceil(rank_upper).astype(int),
            "n_comparisons": counts[[code[i] for i in names[shown]]],
        },
        index=pandas.Index([str(name) for name in names[shown]], name="item"),
    ).sort_values("strength", ascending=False)
    table.attrs["model"] = model
    position = {name: k for k, name in enumerate(names)}
    table.attrs["controls"] = {
        name: float(estimates[position[name]]) for name in control_names
    }
    return table
