"""Invariance checks for reward models, rankers and calibrators.

Each check fits clones of an estimator on transformed copies of the data
(rows permuted, groups relabelled, grades transformed, groups duplicated)
and asserts that what the data identify does not change. They compare fits
numerically, so the estimator should fit deterministically to a tight
optimum: a fixed ``random_state``, ``dtype="float64"``, a small ``tol`` and
a convex objective (full-batch L-BFGS) or small data. Convergence warnings of
the fits are silenced: the checks test invariances, not convergence.
"""

import inspect
import warnings

import numpy as np
import scipy.sparse as sp
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array

from ..metrics._calibration import looks_like_probabilities

__all__ = [
    "check_calibrator_invariances",
    "check_ranker_invariances",
    "check_reward_model_invariances",
]

# The logit magnitude at which a naive exp overflows in float64 (e^710).
_EXTREME_LOGIT = 1e4
_OBJECTIVES = ("pairwise", "rowwise", "other")


class _Check:
    """Shared plumbing: seeded clones, quiet fits and clear failures."""

    def __init__(self, name, estimator, random_state, rtol, atol):
        for value, label in ((rtol, "rtol"), (atol, "atol")):
            if not (np.isscalar(value) and np.isfinite(value) and value >= 0):
                raise ValueError(
                    f"{label} must be a finite non-negative number; got {value!r}."
                )
        if not hasattr(estimator, "fit"):
            raise TypeError(
                f"{name} needs an estimator with a fit method; got "
                f"{type(estimator).__name__}."
            )
        self.name = name
        self.estimator = estimator
        self.rng = check_random_state(random_state)
        self.seed = int(self.rng.randint(np.iinfo(np.int32).max))
        self.rtol = rtol
        self.atol = atol

    def require(self, *methods):
        missing = [m for m in methods if not hasattr(self.estimator, m)]
        if missing:
            raise TypeError(
                f"{self.name} needs an estimator with {', '.join(methods)}; "
                f"{type(self.estimator).__name__} has no {', '.join(missing)}."
            )

    def accepts(self, parameter):
        """Whether ``fit`` takes the keyword argument ``parameter``."""
        fit = inspect.signature(self.estimator.fit).parameters
        return parameter in fit or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in fit.values()
        )

    def fit(self, *args, **kwargs):
        """A clone, seeded when its ``random_state`` is ``None``, fitted."""
        estimator = clone(self.estimator)
        params = estimator.get_params(deep=False)
        if "random_state" in params and params["random_state"] is None:
            estimator.set_params(random_state=self.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return estimator.fit(*args, **kwargs)

    def fail(self, invariance, detail):
        raise AssertionError(
            f"{self.name}: {type(self.estimator).__name__} violates the "
            f"invariance '{invariance}'.\n{detail}"
        )

    def assert_close(self, actual, desired, invariance, *, tight=False):
        """``actual`` equals ``desired`` up to the check's tolerances
        (``tight``: up to rounding, for computations that do not refit)."""
        actual, desired = np.asarray(actual), np.asarray(desired)
        if actual.shape != desired.shape:
            self.fail(
                invariance,
                f"shapes differ: {actual.shape} instead of {desired.shape}.",
            )
        rtol, atol = (1e-9, 1e-12) if tight else (self.rtol, self.atol)
        try:
            assert_allclose(actual, desired, rtol=rtol, atol=atol)
        except AssertionError as exc:
            self.fail(invariance, str(exc).strip())


def _rows(X):
    """``X`` as something indexable by row (ndarray or CSR)."""
    return check_array(
        X, accept_sparse="csr", dtype=None, ensure_min_samples=2, input_name="X"
    )


def _check_y(y, n_samples, name="y"):
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != n_samples:
        raise ValueError(
            f"{name} must be 1-D with one entry per row of X ({n_samples}); "
            f"got shape {y.shape}."
        )
    return y


def _check_group_ids(groups, n_samples):
    """``groups`` as an array (``None``: one group) and its integer codes."""
    if groups is None:
        groups = np.zeros(n_samples, dtype=np.int64)
    groups = np.asarray(groups)
    if groups.ndim != 1 or groups.shape[0] != n_samples:
        raise ValueError(
            f"groups must be 1-D with one id per row of X ({n_samples}); got "
            f"shape {groups.shape}."
        )
    codes = np.unique(groups, return_inverse=True)[1].ravel()
    return groups, codes


def _relabelled(codes, rng):
    """New string ids for the groups, in a random order of their codes, so
    that sorting the ids also reorders the groups."""
    n_groups = codes.max() + 1
    new = rng.permutation(n_groups)
    if n_groups > 1 and np.array_equal(new, np.arange(n_groups)):
        new = np.roll(new, 1)
    # Zero-padded, so that the ids sort in the order of ``new``.
    return np.array([f"relabelled-{i:09d}" for i in new], dtype=object)[codes]


def _with_group_copies(X, y, groups, copied):
    """The data plus a copy of the rows of each group in ``copied``, as new
    groups (``("copy", id)`` cannot collide with an original id)."""
    rows = np.flatnonzero(np.isin(groups, copied))
    if sp.issparse(X):
        X_out = sp.vstack([X, X[rows]], format="csr")
    else:
        X_out = np.concatenate([X, X[rows]])
    ids = np.array([str(g) for g in groups], dtype=object)
    copies = np.array([f"copy-{g}" for g in groups[rows]], dtype=object)
    return X_out, np.concatenate([y, y[rows]]), np.concatenate([ids, copies]), rows


def check_reward_model_invariances(
    estimator,
    X,
    y,
    groups=None,
    *,
    objective="pairwise",
    random_state=0,
    rtol=1e-5,
    atol=1e-6,
):
    """Check that a reward model respects the invariances of preference data.

    Fits clones of ``estimator`` with ``fit(X, y, groups=groups)`` and
    compares them through ``predict_pair_proba`` on pairs of rows of ``X``
    (what the data identify: a reward is defined up to a constant). Checked:

    - pair probabilities are complementary: ``P(a ≻ b) = 1 - P(b ≻ a)``
      (with a tie column, ``a ≻ b`` and ``b ≻ a`` swap and the tie
      probability is symmetric), in ``[0, 1]``;
    - permuting the rows leaves the fit unchanged;
    - relabelling the groups (new ids that also sort in another order)
      leaves the fit unchanged;
    - duplicating every group leaves the fit unchanged (the loss is a
      weighted mean over pairs or rows);
    - for ``objective="pairwise"``: shifting the grades of each group by its
      own constant leaves the fit unchanged;
    - for ``objective="pairwise"`` and ``"rowwise"``: duplicating some groups
      equals weighting their rows by 2 (a weight written on every row of a
      group counts the group that many times), when ``fit`` takes
      ``sample_weight``.

    Parameters
    ----------
    estimator : estimator
        An unfitted reward model with ``fit(X, y, groups=...)`` and
        ``predict_pair_proba(X_a, X_b)``; it is cloned, never modified. A
        ``random_state`` of ``None`` is replaced by a seed drawn from
        ``random_state``, the same for every fit.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Grades.
    groups : array-like of shape (n_samples,), default=None
        Group ids; ``None`` is one group.
    objective : {"pairwise", "rowwise", "other"}, default="pairwise"
        How the estimator's loss uses the grades. ``"pairwise"``: through
        within-group comparisons (Bradley–Terry, margin and scaled
        objectives, the General Preference Model). ``"rowwise"``: one term
        per row (rating
        regression). ``"other"`` (e.g. a mixture of both): neither grade
        shifts nor group copies are checked.
    random_state : int, RandomState instance or None, default=0
        Draws the permutations, labels, shifts and copied groups.
    rtol, atol : float, default=1e-5, 1e-6
        Tolerances when comparing two fits.

    Raises
    ------
    AssertionError
        Naming the invariance that does not hold and the largest difference.

    See Also
    --------
    preference_data : A hypothesis strategy for pairwise data.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.preference import PreferenceRewardRegressor
    >>> from skalign.testing import check_reward_model_invariances
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 3))
    >>> y = (X @ [1.0, -1.0, 0.5] > 0).astype(float)
    >>> groups = np.repeat(np.arange(20), 2)
    >>> model = PreferenceRewardRegressor(alpha=1e-2, dtype="float64", tol=1e-9)
    >>> check_reward_model_invariances(model, X, y, groups)
    """
    check = _Check(
        "check_reward_model_invariances", estimator, random_state, rtol, atol
    )
    check.require("predict_pair_proba")
    if objective not in _OBJECTIVES:
        raise ValueError(f"objective must be one of {_OBJECTIVES}; got {objective!r}.")
    X = _rows(X)
    n = X.shape[0]
    y = _check_y(y, n)
    groups, codes = _check_group_ids(groups, n)
    rng = check.rng
    first, second = np.arange(n), rng.permutation(n)
    X_a, X_b = X[first], X[second]

    def fingerprint(model):
        return np.asarray(model.predict_pair_proba(X_a, X_b), dtype=np.float64)

    base = check.fit(X, y, groups=groups)
    forward = fingerprint(base)
    backward = np.asarray(base.predict_pair_proba(X_b, X_a), dtype=np.float64)
    invariance = "pair probabilities are complementary, P(a > b) = 1 - P(b > a)"
    if forward.ndim == 2 and forward.shape[1] == 3:
        check.assert_close(backward[:, ::-1], forward, invariance, tight=True)
        check.assert_close(forward.sum(axis=1), np.ones(n), invariance, tight=True)
    elif forward.ndim == 1:
        check.assert_close(1.0 - backward, forward, invariance, tight=True)
    else:
        check.fail(
            invariance,
            "predict_pair_proba must return shape (n_pairs,) or (n_pairs, 3); "
            f"got {forward.shape}.",
        )
    if not (np.all(np.isfinite(forward)) and forward.min() >= 0 and forward.max() <= 1):
        check.fail(invariance, "probabilities outside [0, 1] or not finite.")

    perm = rng.permutation(n)
    permuted = check.fit(X[perm], y[perm], groups=groups[perm])
    check.assert_close(
        fingerprint(permuted), forward, "permuting the rows leaves the fit unchanged"
    )
    relabelled = check.fit(X, y, groups=_relabelled(codes, rng))
    check.assert_close(
        fingerprint(relabelled),
        forward,
        "relabelling the groups leaves the fit unchanged",
    )
    X_all, y_all, groups_all, _ = _with_group_copies(X, y, groups, np.unique(groups))
    check.assert_close(
        fingerprint(check.fit(X_all, y_all, groups=groups_all)),
        forward,
        "duplicating every group leaves the fit unchanged",
    )
    if objective == "pairwise":
        shift = rng.randint(-100, 101, size=codes.max() + 1).astype(np.float64)
        shifted = check.fit(X, y + shift[codes], groups=groups)
        check.assert_close(
            fingerprint(shifted),
            forward,
            "shifting the grades within each group leaves the fit unchanged",
        )
    if objective != "other" and check.accepts("sample_weight"):
        unique = np.unique(groups)
        copied = unique[
            rng.permutation(unique.shape[0])[: max(1, unique.shape[0] // 2)]
        ]
        X_dup, y_dup, groups_dup, rows = _with_group_copies(X, y, groups, copied)
        weight = np.ones(n)
        weight[rows] = 2.0
        duplicated = check.fit(X_dup, y_dup, groups=groups_dup)
        weighted = check.fit(X, y, groups=groups, sample_weight=weight)
        check.assert_close(
            fingerprint(duplicated),
            fingerprint(weighted),
            "duplicating a group equals weighting its rows by 2",
        )


def _dense_ranks(y, codes):
    """Rank of each grade among the distinct grades of its group (1 lowest)."""
    pairs, inverse = np.unique(np.column_stack([codes, y]), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    first = np.searchsorted(pairs[:, 0], pairs[:, 0], side="left")
    return (inverse - first[inverse] + 1).astype(np.float64)


def _check_ranking(check, scores, ranks, codes):
    """``ranks`` number each group 1, 2, ... by decreasing score."""
    invariance = "predict_ranking ranks each group by decreasing predict score"
    ranks = np.asarray(ranks)
    if ranks.shape != scores.shape:
        check.fail(invariance, f"shape {ranks.shape} instead of {scores.shape}.")
    order = np.lexsort((ranks, codes))
    sorted_codes = codes[order]
    sizes = np.bincount(codes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    expected = np.arange(codes.shape[0]) - starts[sorted_codes] + 1
    if not np.array_equal(ranks[order], expected):
        check.fail(invariance, "the ranks of a group are not 1, 2, ..., its size.")
    same = sorted_codes[1:] == sorted_codes[:-1]
    rise = np.diff(scores[order])[same]
    scale = check.atol + check.rtol * np.abs(scores).max(initial=0.0)
    if np.any(rise > scale):
        worst = int(np.argmax(rise))
        check.fail(
            invariance,
            f"a row ranked below another of its group scores {rise[worst]:.6g} higher.",
        )


def check_ranker_invariances(
    estimator,
    X,
    y,
    groups=None,
    *,
    ordinal_grades=True,
    random_state=0,
    rtol=1e-5,
    atol=1e-6,
):
    """Check that a ranker respects the invariances of graded lists.

    Fits clones of ``estimator`` with ``fit(X, y, groups=groups)`` and
    compares their ``predict`` scores on ``X``, centred (a common shift of
    every score changes no ranking). Checked:

    - ``predict`` scores each row on its own: predicting permuted rows
      permutes the scores;
    - ``predict_ranking(X, groups)`` numbers the rows of each group 1, 2,
      ... by decreasing ``predict`` score (ties in any order), and
      ``predict_ranking(X)`` does so for all rows together;
    - permuting the rows, within and across groups, leaves the fit
      unchanged;
    - relabelling the groups (new ids that also sort in another order)
      leaves the fit unchanged;
    - with ``ordinal_grades``: a strictly increasing transform of the grades,
      a different one in each group, leaves the fit unchanged (the
      Plackett–Luce likelihood and RankNet depend only on the order of the
      grades within a list, ties included).

    Parameters
    ----------
    estimator : estimator
        An unfitted ranker with ``fit(X, y, groups=...)``, ``predict(X)`` and
        ``predict_ranking(X, groups)``; it is cloned, never modified. A
        ``random_state`` of ``None`` is replaced by a seed drawn from
        ``random_state``, the same for every fit.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Grades.
    groups : array-like of shape (n_samples,), default=None
        List ids; ``None`` is one list.
    ordinal_grades : bool, default=True
        Whether the loss uses only the order of the grades within a list
        (``False`` for gain-weighted losses such as LiPO-λ and ListNet).
    random_state : int, RandomState instance or None, default=0
        Draws the permutations, labels and grade transforms.
    rtol, atol : float, default=1e-5, 1e-6
        Tolerances when comparing two fits.

    Raises
    ------
    AssertionError
        Naming the invariance that does not hold and the largest difference.

    See Also
    --------
    ranking_data : A hypothesis strategy for graded lists.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.ranking import PlackettLuceRanker
    >>> from skalign.testing import check_ranker_invariances
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 3))
    >>> y = rng.integers(0, 3, size=40).astype(float)
    >>> groups = np.repeat(np.arange(10), 4)
    >>> ranker = PlackettLuceRanker(alpha=1e-2, dtype="float64", tol=1e-9)
    >>> check_ranker_invariances(ranker, X, y, groups)
    """
    check = _Check("check_ranker_invariances", estimator, random_state, rtol, atol)
    check.require("predict", "predict_ranking")
    X = _rows(X)
    n = X.shape[0]
    y = _check_y(y, n)
    groups, codes = _check_group_ids(groups, n)
    rng = check.rng

    def fingerprint(model):
        scores = np.asarray(model.predict(X), dtype=np.float64)
        return scores - scores.mean()

    base = check.fit(X, y, groups=groups)
    scores = np.asarray(base.predict(X), dtype=np.float64)
    perm = rng.permutation(n)
    check.assert_close(
        base.predict(X[perm]),
        scores[perm],
        "predicting permuted rows permutes the scores",
        tight=True,
    )
    _check_ranking(check, scores, base.predict_ranking(X, groups), codes)
    _check_ranking(check, scores, base.predict_ranking(X), np.zeros(n, np.int64))

    centred = scores - scores.mean()
    permuted = check.fit(X[perm], y[perm], groups=groups[perm])
    check.assert_close(
        fingerprint(permuted), centred, "permuting the rows leaves the fit unchanged"
    )
    relabelled = check.fit(X, y, groups=_relabelled(codes, rng))
    check.assert_close(
        fingerprint(relabelled),
        centred,
        "relabelling the groups leaves the fit unchanged",
    )
    if ordinal_grades:
        n_groups = codes.max() + 1
        scale = rng.uniform(0.1, 10.0, size=n_groups)
        shift = rng.uniform(-100.0, 100.0, size=n_groups)
        # Squared dense ranks, scaled and shifted per group: strictly
        # increasing within each group, and exact (equal grades stay equal).
        transformed = shift[codes] + scale[codes] * _dense_ranks(y, codes) ** 2
        refit = check.fit(X, transformed, groups=groups)
        check.assert_close(
            fingerprint(refit),
            centred,
            "a strictly increasing transform of the grades within each group "
            "leaves the fit unchanged",
        )


def _extreme_scores(scores, probabilities):
    """Valid scores at the edge: one-hot probabilities or logits of ±1e4."""
    if scores.ndim == 1:
        edge = [0.0, 1.0, 0.5] if probabilities else [-1.0, 1.0, 0.0]
        values = np.array(edge) * (1.0 if probabilities else _EXTREME_LOGIT)
        return values.astype(scores.dtype)
    k = scores.shape[1]
    if probabilities:
        values = np.vstack([np.eye(k), np.full((1, k), 1.0 / k)])
    else:
        signs = np.vstack([2 * np.eye(k) - 1, np.ones((1, k)), -np.ones((1, k))])
        values = _EXTREME_LOGIT * signs
    return values.astype(scores.dtype)


def _positive_class_path(scores, probabilities):
    """Scores along which the evidence for the positive class increases."""
    if scores.ndim == 2:
        evidence = scores[:, 1] if probabilities else scores[:, 1] - scores[:, 0]
    else:
        evidence = scores
    if probabilities:
        grid = np.concatenate([evidence, np.linspace(0.0, 1.0, 65)])
    else:
        low, high = evidence.min() - 1.0, evidence.max() + 1.0
        edge = [-_EXTREME_LOGIT, _EXTREME_LOGIT]
        grid = np.concatenate([evidence, np.linspace(low, high, 65), edge])
    grid = np.unique(grid)
    if scores.ndim == 2:
        grid = (
            np.column_stack([1.0 - grid, grid])
            if probabilities
            else np.column_stack([np.zeros_like(grid), grid])
        )
    return grid.astype(scores.dtype)


def _check_proba(check, calibrator, scores, n_classes, what):
    invariance = (
        "predict_proba gives one probability per class, in [0, 1], summing to 1"
    )
    proba = np.asarray(calibrator.predict_proba(scores), dtype=np.float64)
    n = scores.shape[0]
    if proba.shape != (n, n_classes):
        check.fail(invariance, f"{what}: shape {proba.shape}, not {(n, n_classes)}.")
    if not np.all(np.isfinite(proba)):
        check.fail(invariance, f"{what}: predict_proba is not finite.")
    if proba.min() < 0 or proba.max() > 1:
        check.fail(
            invariance,
            f"{what}: values in [{proba.min():.6g}, {proba.max():.6g}].",
        )
    check.assert_close(proba.sum(axis=1), np.ones(n), f"{invariance} ({what})")
    return proba


def check_calibrator_invariances(
    calibrator,
    scores,
    y,
    *,
    monotone=False,
    random_state=0,
    rtol=1e-5,
    atol=1e-6,
):
    """Check that a calibrator's probabilities are valid and order-free.

    Fits clones of ``calibrator`` with ``fit(scores, y)``. Checked:

    - ``predict_proba`` gives one column per class of ``y``, finite, in
      ``[0, 1]``, rows summing to 1; ``predict_log_proba`` (if any) is its
      logarithm and ``predict`` (if any) its most probable class;
    - predicting permuted rows permutes the probabilities;
    - permuting the rows leaves the fit unchanged;
    - the probabilities stay valid on extreme scores: logits of ``±1e4``
      (or one-hot probabilities when the scores are probabilities);
    - with ``monotone`` and two classes: the positive class's probability
      does not decrease as the positive class's score (its log-odds, logit
      or probability) increases, from ``-1e4`` to ``1e4``.

    Parameters
    ----------
    calibrator : estimator
        An unfitted calibrator with ``fit(scores, y)`` and
        ``predict_proba(scores)``; it is cloned, never modified.
    scores : array-like of shape (n_samples,) or (n_samples, n_columns)
        Logits or probabilities of the classifier to calibrate (1-D: the
        positive class's score of a binary problem).
    y : array-like of shape (n_samples,)
        True labels.
    monotone : bool, default=False
        Whether the calibrator promises a non-decreasing binary map
        (temperature scaling, beta calibration, isotonic regression).
    random_state : int, RandomState instance or None, default=0
        Draws the permutations.
    rtol, atol : float, default=1e-5, 1e-6
        Tolerances when comparing two fits (``atol`` also bounds the
        deviation of the row sums from 1 and the decrease of a monotone map).

    Raises
    ------
    AssertionError
        Naming the invariance that does not hold.

    See Also
    --------
    logits_and_labels : A hypothesis strategy for calibration sets.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.calibration import TemperatureScaling
    >>> from skalign.testing import check_calibrator_invariances
    >>> rng = np.random.default_rng(0)
    >>> logits = 3 * rng.normal(size=(60, 3))
    >>> y = np.arange(60) % 3
    >>> ts = TemperatureScaling(dtype="float64", tol=1e-9)
    >>> check_calibrator_invariances(ts, logits, y, monotone=True)
    """
    check = _Check("check_calibrator_invariances", calibrator, random_state, rtol, atol)
    check.require("predict_proba")
    scores = check_array(
        scores,
        ensure_2d=False,
        dtype=(np.float64, np.float32),
        ensure_min_samples=2,
        input_name="scores",
    )
    if scores.ndim not in (1, 2):
        raise ValueError(f"scores must be 1-D or 2-D; got shape {scores.shape}.")
    n = scores.shape[0]
    y = _check_y(y, n)
    n_classes = np.unique(y).shape[0]
    rng = check.rng

    fitted = check.fit(scores, y)
    proba = _check_proba(check, fitted, scores, n_classes, "on the training scores")
    if hasattr(fitted, "predict_log_proba"):
        with np.errstate(divide="ignore"):
            log_proba = np.asarray(fitted.predict_log_proba(scores), np.float64)
        check.assert_close(
            np.exp(log_proba), proba, "predict_log_proba is the log of predict_proba"
        )
    if hasattr(fitted, "predict") and hasattr(fitted, "classes_"):
        predicted = np.asarray(fitted.predict(scores))
        expected = np.asarray(fitted.classes_)[np.argmax(proba, axis=1)]
        if not np.array_equal(predicted, expected):
            check.fail(
                "predict is the most probable class of predict_proba",
                f"{int(np.sum(predicted != expected))} of {n} rows differ.",
            )
    perm = rng.permutation(n)
    check.assert_close(
        fitted.predict_proba(scores[perm]),
        proba[perm],
        "predicting permuted rows permutes the probabilities",
        tight=True,
    )
    refit = check.fit(scores[perm], y[perm])
    check.assert_close(
        refit.predict_proba(scores),
        proba,
        "permuting the rows leaves the fit unchanged",
    )
    kind = getattr(fitted, "input_", None)
    probabilities = (
        kind == "probabilities"
        if kind is not None
        else looks_like_probabilities(scores)
    )
    extreme = _extreme_scores(scores, probabilities)
    _check_proba(check, fitted, extreme, n_classes, "on extreme scores")
    if monotone and n_classes == 2:
        path = _positive_class_path(scores, probabilities)
        positive = np.asarray(fitted.predict_proba(path), dtype=np.float64)[:, 1]
        drop = -np.diff(positive)
        if np.any(drop > atol):
            worst = int(np.argmax(drop))
            check.fail(
                "the positive class's probability does not decrease as its "
                "score increases",
                f"it drops by {drop[worst]:.6g} between scores "
                f"{path[worst].tolist()} and {path[worst + 1].tolist()}.",
            )
