"""Leaderboards from pairwise outcomes: Bradley–Terry strengths with
intervals, rank intervals, ties and style control."""

import numpy as np
from scipy import sparse, stats

from ._inference import _GroupResample
from .preference import PreferenceRewardRegressor
from .utils._extras import install_hint

__all__ = ["leaderboard"]

_A_WINS = ("a", "model_a", "1", "a_wins")
_B_WINS = ("b", "model_b", "0", "b_wins")
_TIES = ("tie", "draw", "0.5", "tie (bothbad)", "both_bad")


def _outcome_codes(values):
    """1 (a won), 0 (b won) or 0.5 (tie) per comparison."""
    values = np.asarray(values)
    if values.dtype.kind in "biuf":
        out = values.astype(float)
        bad = ~np.isin(out, (0.0, 0.5, 1.0))
    else:
        text = np.char.lower(np.char.strip(values.astype(str)))
        out = np.full(text.shape, np.nan)
        out[np.isin(text, _A_WINS)] = 1.0
        out[np.isin(text, _B_WINS)] = 0.0
        out[np.isin(text, _TIES)] = 0.5
        bad = np.isnan(out)
    if np.any(bad):
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"outcome must be 1 / 'a' (the first item won), 0 / 'b' (the "
            f"second won) or 0.5 / 'tie', got {values[k]!r} in row {k}."
        )
    return out


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
    # Hashing, then sorting the distinct names only: a sort of two million
    # strings takes seconds.
    codes, items = pandas.factorize(np.concatenate([a, b]))
    order = np.argsort(items)
    items = np.asarray(items)[order]
    codes = np.argsort(order)[codes]
    n, n_items = len(a), len(items)
    ia, ib = codes[:n], codes[n:]
    control_names = [f"{first}-{second}" for first, second in controls]
    if controls or cov_type == "cluster":
        # Every comparison its own row (distinct controls; per-comparison
        # clusters).
        cell_of, first_of = np.arange(n), np.arange(n)
    else:
        # Identical battles (same items, same order, same outcome) become
        # one weighted row: the likelihood is the same, and the bootstrap
        # refits run on the distinct battles only.
        key = (ia * n_items + ib) * 3 + np.rint(2 * result).astype(np.int64)
        _, first_of, cell_of = np.unique(key, return_index=True, return_inverse=True)
    n_cells = first_of.size
    count = np.bincount(cell_of, minlength=n_cells).astype(float)
    # Sparse rows: the item's indicator, then the controls. A dense design
    # of 2 million rows over 1,000 items would take 16 GB.
    n_controls = len(controls)
    values = np.ones((2 * n_cells, 1 + n_controls))
    columns = np.empty((2 * n_cells, 1 + n_controls), dtype=np.int64)
    columns[0::2, 0], columns[1::2, 0] = ia[first_of], ib[first_of]
    columns[:, 1:] = n_items + np.arange(n_controls)
    for j, (first, second) in enumerate(controls):
        values[0::2, 1 + j] = comparisons[first].to_numpy(dtype=float)
        values[1::2, 1 + j] = comparisons[second].to_numpy(dtype=float)
    if not np.all(np.isfinite(values)):
        raise ValueError("the controls hold NaN or infinite values.")
    X = sparse.csr_matrix(
        (
            values.ravel(),
            columns.ravel(),
            np.arange(0, values.size + 1, 1 + n_controls),
        ),
        shape=(2 * n_cells, n_items + n_controls),
    )
    cell_result = result[first_of]
    y = np.column_stack([cell_result, 1.0 - cell_result]).ravel()
    groups = np.repeat(np.arange(n_cells), 2)
    ties = "davidson" if np.any(result == 0.5) else "ignore"
    X = pandas.DataFrame.sparse.from_spmatrix(X, columns=[*items, *control_names])
    model = PreferenceRewardRegressor(ties=ties)
    # Wald intervals need the covariance: the fit computes it beyond the
    # budget of a plain fit (up to a few seconds); a bootstrap does not.
    model._covariance_requested = not n_resamples
    try:
        model.fit(X, y, groups=groups, sample_weight=np.repeat(count, 2))
    finally:
        del model._covariance_requested
    # Strengths sum to zero: each item's coefficient minus the items' mean
    # (the controls and a tie parameter as they are). Built here, not from
    # the information, which a very large fit does not compute.
    names = model.parameter_names_
    shown = np.isin(names, items)
    transform = np.eye(len(names))
    transform[np.ix_(shown, shown)] -= 1.0 / shown.sum()
    estimates = transform @ model.parameters_
    rng = check_random_state(random_state)
    if n_resamples:
        # Resample comparisons (not cells): a cell's count in a resample of
        # the n comparisons is multinomial with probability count / n.
        draw = _GroupResample(
            np.repeat(np.arange(n_cells), 2),
            count / n,
            rng.randint(np.iinfo(np.int32).max),
            total=n,
        )
        draws = model._refits(
            X,
            y,
            draw,
            n_resamples,
            n_jobs,
            {"groups": groups, "sample_weight": np.repeat(count, 2)},
        )
        draws = draws @ transform.T
        std_error = draws.std(axis=0, ddof=1)
        tail = (1 - level) / 2
        lower, upper = np.quantile(draws, [tail, 1 - tail], axis=0)
    else:
        if model._null_direction is None:
            raise ValueError(
                "Wald intervals need the covariance of the strengths, which "
                f"this fit did not compute ({model._covariance_reason}); "
                "pass n_resamples (e.g. 1000) for bootstrap intervals."
            )
        covariance = (
            transform
            @ model._covariance_up_to_shift(cov_type, "leaderboard")
            @ transform.T
        )
        std_error = np.sqrt(np.diag(covariance))
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
            "n_comparisons": counts[np.searchsorted(items, names[shown])],
        },
        index=pandas.Index([str(name) for name in names[shown]], name="item"),
    ).sort_values("strength", ascending=False)
    table.attrs["model"] = model
    position = {name: k for k, name in enumerate(names)}
    table.attrs["controls"] = {
        name: float(estimates[position[name]]) for name in control_names
    }
    return table
