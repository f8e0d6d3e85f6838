"""Synthetic data with known structure: preferences, rankings, fairness, calibration.

Every generator is vectorised over groups and rows and takes ``random_state``.
The preference and ranking generators return ``(X, y, groups, coef)`` in the
long format (one row per item, ``groups`` naming its comparison or list, ``y``
a grade, higher is better), the fairness generators ``(X, y,
sensitive_features)`` and the calibration generator ``(logits, y, proba)``.
The pluralistic generator adds the judge of each row: ``(X, y, groups,
users, truth)``.
"""

import numbers

import numpy as np
from scipy.special import expit, softmax
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..utils._extras import install_hint

__all__ = [
    "make_fair_classification",
    "make_fair_regression",
    "make_miscalibrated_logits",
    "make_pluralistic_preferences",
    "make_preferences",
    "make_rankings",
]

# Finite bounds, so that an infinite scale cannot slip through and give NaNs.
_NON_NEGATIVE = Interval(numbers.Real, 0, np.inf, closed="left")
_POSITIVE = Interval(numbers.Real, 0, np.inf, closed="neither")


def _unit_coef(rng, n_features):
    """Coefficients drawn uniformly on the unit sphere: ``X @ coef ~ N(0, 1)``."""
    coef = rng.standard_normal(n_features)
    return coef / np.linalg.norm(coef)


def _tied_grades(order, starts_block):
    """Grades of rows from their sorted order and the tie blocks of that order.

    Parameters
    ----------
    order : ndarray of shape (n_groups, size)
        Column of each position, best first.
    starts_block : ndarray of shape (n_groups, size), dtype bool
        True where a position is not tied with the one above it (always True
        at position 0).

    Returns
    -------
    grades : ndarray of shape (n_groups, size)
        Reversed positions (``size - 1`` for the best, 0 for the worst); tied
        rows share the mean of the positions they span, as
        ``scipy.stats.rankdata(method="average") - 1``.
    """
    n_groups, size = order.shape
    reversed_position = np.broadcast_to(np.arange(size - 1, -1, -1.0), order.shape)
    block = np.cumsum(starts_block, axis=1) - 1 + size * np.arange(n_groups)[:, None]
    total = np.bincount(block.ravel(), weights=reversed_position.ravel())
    count = np.bincount(block.ravel())
    grades = np.empty(order.shape)
    np.put_along_axis(grades, order, (total / np.maximum(count, 1))[block], axis=1)
    return grades


def _long_format(X, grades):
    """Flatten ``(n_groups, size, ...)`` arrays to rows, with group ids."""
    n_groups, size = grades.shape
    return (
        X.reshape(n_groups * size, -1),
        grades.ravel(),
        np.repeat(np.arange(n_groups, dtype=np.int64), size),
    )


@validate_params(
    {
        "n_groups": [Interval(numbers.Integral, 1, None, closed="left")],
        "group_size": [Interval(numbers.Integral, 2, None, closed="left")],
        "n_features": [Interval(numbers.Integral, 1, None, closed="left")],
        "noise": [_NON_NEGATIVE],
        "tie_threshold": [_NON_NEGATIVE],
        "cycle_strength": [Interval(numbers.Real, -np.inf, np.inf, closed="neither")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_preferences(
    n_groups=200,
    group_size=2,
    n_features=5,
    *,
    noise=1.0,
    tie_threshold=0.0,
    cycle_strength=0.0,
    random_state=None,
):
    """Generate pairwise (or small-group) preferences with ties and cycles.

    Items have standard normal features ``x`` and the utility ``x @ coef``.
    Each item's perceived utility adds a cycle term ``c`` and Gumbel noise,
    ``v = x @ coef + c + noise * G``, and the items of a group are graded by
    ``v``; items whose ``v`` lie within ``tie_threshold`` of each other are
    tied. For a pair this is Bradley–Terry with a skew-symmetric term and
    Rao–Kupper threshold ties (Rao and Kupper, 1967)::

        P(a ≻ b) = σ((u_a - u_b + s · (x_a0 x_b1 - x_a1 x_b0) - t) / noise),
        P(a ~ b) = 1 - P(a ≻ b) - P(b ≻ a),

    with ``u = x @ coef``, ``s = cycle_strength`` and ``t = tie_threshold``.

    The cycle term ``s · (x_a0 x_b1 - x_a1 x_b0)`` is the signed area spanned
    by the two items' first two features. It is skew-symmetric, so it favours
    neither item on average, but it makes preferences rotate around the
    origin of that plane: three items of equal utility on the unit circle,
    at 0°, 120° and 240°, beat each other in a rock–paper–scissors cycle,
    each with probability ``σ(s · sin 120° / noise)``. No scalar reward can
    represent it; the :class:`~skalign.preference.GeneralPreferenceModel`
    with a linear scorer can (Zhang et al., 2024). In a group of ``k > 2``
    items, an item's cycle term is ``s / 2`` times its mean signed area with
    the other items, ``c_i = s / (2 (k - 1)) · Σ_j (x_i0 x_j1 - x_i1 x_j0)``,
    which for ``k = 2`` gives the pairwise model above.

    Parameters
    ----------
    n_groups : int, default=200
        Number of comparisons (groups).
    group_size : int, default=2
        Items per group; 2 gives pairwise comparisons graded 1 (winner) and 0
        (loser), or 0.5 each for a tie.
    n_features : int, default=5
        Number of features; at least 2 when ``cycle_strength`` is not 0.
    noise : float, default=1.0
        Scale of the Gumbel noise; 0 grades by the noiseless utility. The
        utility ``x @ coef`` has unit variance, so ``noise`` is the inverse
        signal-to-noise ratio.
    tie_threshold : float, default=0.0
        Items whose perceived utilities differ by at most this much (in a
        chain, after sorting) are tied. 0 gives ties only between equal
        utilities, which have probability 0 when ``noise > 0``.
    cycle_strength : float, default=0.0
        ``s``, the weight of the intransitive term; its sign sets the
        direction of the cycles.
    random_state : int, RandomState instance or None, default=None
        Draws the features, the coefficients and the noise.

    Returns
    -------
    X : ndarray of shape (n_groups * group_size, n_features)
        Features, standard normal; rows of group ``g`` are rows
        ``g * group_size`` to ``(g + 1) * group_size - 1``, in no particular
        order of preference.
    y : ndarray of shape (n_groups * group_size,)
        Grades, float64: the reversed position of the item in its group
        (``group_size - 1`` for the best, 0 for the worst); tied items share
        the mean of the positions they span.
    groups : ndarray of shape (n_groups * group_size,)
        Group id, int64 in ``[0, n_groups)``.
    coef : ndarray of shape (n_features,)
        The true utility coefficients, of unit norm.

    Raises
    ------
    ValueError
        If ``cycle_strength`` is not 0 and ``n_features < 2``.

    See Also
    --------
    make_rankings : Plackett–Luce lists, partial lists and ties.
    skalign.utils.pairs_to_long : The pairwise long format of ``y``.

    References
    ----------
    Rao, P. V. and Kupper, L. L. (1967). Ties in paired-comparison
    experiments: a generalization of the Bradley–Terry model. Journal of the
    American Statistical Association, 62(317), 194-204.

    Zhang, Y., Zhang, G., Wu, Y., Xu, K. and Gu, Q. (2024). General
    preference modeling with preference representations for aligning language
    models. arXiv:2410.02197.

    Examples
    --------
    >>> from skalign.datasets import make_preferences
    >>> X, y, groups, coef = make_preferences(
    ...     n_groups=4, n_features=2, tie_threshold=1.0, random_state=0
    ... )
    >>> X.shape, coef.shape
    ((8, 2), (2,))
    >>> y, groups
    (array([1. , 0. , 1. , 0. , 0.5, 0.5, 1. , 0. ]), array([0, 0, 1, 1, 2, 2, 3, 3]))
    """
    if cycle_strength != 0 and n_features < 2:
        raise ValueError(
            "cycle_strength needs n_features >= 2: the cycle term lives in the "
            f"plane of the first two features; got n_features={n_features}."
        )
    rng = check_random_state(random_state)
    X = rng.standard_normal((n_groups, group_size, n_features))
    coef = _unit_coef(rng, n_features)
    utility = X @ coef
    if cycle_strength != 0:
        # Σ_j x_i × x_j over the group equals x_i × Σ_j x_j (x_i × x_i = 0).
        total = X[:, :, :2].sum(axis=1, keepdims=True)
        area = X[:, :, 0] * total[:, :, 1] - X[:, :, 1] * total[:, :, 0]
        utility = utility + cycle_strength / (2 * (group_size - 1)) * area
    perceived = utility + noise * rng.gumbel(size=utility.shape)
    order = np.argsort(-perceived, axis=1, kind="stable")
    ranked = np.take_along_axis(perceived, order, axis=1)
    starts_block = np.ones(order.shape, dtype=bool)
    starts_block[:, 1:] = ranked[:, :-1] - ranked[:, 1:] > tie_threshold
    X, y, groups = _long_format(X, _tied_grades(order, starts_block))
    return X, y, groups, coef


@validate_params(
    {
        "n_groups": [Interval(numbers.Integral, 1, None, closed="left")],
        "list_size": [Interval(numbers.Integral, 2, None, closed="left")],
        "n_features": [Interval(numbers.Integral, 1, None, closed="left")],
        "top_k": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "tie_probability": [Interval(numbers.Real, 0, 1, closed="both")],
        "noise": [_NON_NEGATIVE],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_rankings(
    n_groups=100,
    list_size=5,
    n_features=5,
    *,
    top_k=None,
    tie_probability=0.0,
    noise=1.0,
    random_state=None,
):
    """Generate Plackett–Luce rankings of items with linear utilities.

    Items have standard normal features ``x`` and the utility
    ``u = x @ coef``. Each list is an exact draw from the Plackett–Luce model
    with worths ``exp(u / noise)`` (Luce, 1959; Plackett, 1975), by the
    Gumbel-max trick: sorting ``u + noise * G`` with independent standard
    Gumbel ``G`` gives the order of probability

    .. math::

        P(\\pi) = \\prod_{r=1}^{L} \\frac{\\exp(u_{\\pi_r} / \\text{noise})}
        {\\sum_{s \\ge r} \\exp(u_{\\pi_s} / \\text{noise})}.

    ``top_k`` keeps only the top of each list (a top-k partial ranking, also
    exactly Plackett–Luce), the other items tied at the bottom.
    ``tie_probability`` coarsens the ranked part: each position is tied with
    the one above it with that probability. The ties are thus added after an
    exact Plackett–Luce draw; they do not follow a model of ties.

    Parameters
    ----------
    n_groups : int, default=100
        Number of lists (groups).
    list_size : int, default=5
        Items per list.
    n_features : int, default=5
        Number of features.
    top_k : int, default=None
        Rank only the best ``top_k`` items of each list; the others share the
        lowest grade. ``None`` (or ``top_k >= list_size - 1``) ranks them all.
    tie_probability : float, default=0.0
        Probability that a ranked position is tied with the one above it.
    noise : float, default=1.0
        Scale of the Gumbel noise, the Plackett–Luce temperature; 0 sorts by
        utility.
    random_state : int, RandomState instance or None, default=None
        Draws the features, the coefficients and the rankings.

    Returns
    -------
    X : ndarray of shape (n_groups * list_size, n_features)
        Features, standard normal; rows of list ``g`` are rows
        ``g * list_size`` to ``(g + 1) * list_size - 1``, in no particular
        order of rank.
    y : ndarray of shape (n_groups * list_size,)
        Grades, float64: the reversed position (``list_size - 1`` for the
        first, 0 for the last); tied items (including the unranked bottom of
        a partial list) share the mean of the positions they span. Without
        ties each list's grades are a permutation of ``0, ..., list_size - 1``.
    groups : ndarray of shape (n_groups * list_size,)
        List id, int64 in ``[0, n_groups)``.
    coef : ndarray of shape (n_features,)
        The true utility coefficients, of unit norm.

    Raises
    ------
    ValueError
        If ``top_k > list_size``.

    See Also
    --------
    make_preferences : Pairwise comparisons with threshold ties and cycles.

    References
    ----------
    Luce, R. D. (1959). Individual Choice Behavior. Wiley.

    Plackett, R. L. (1975). The analysis of permutations. Journal of the
    Royal Statistical Society C, 24(2), 193-202.

    Examples
    --------
    >>> from skalign.datasets import make_rankings
    >>> X, y, groups, coef = make_rankings(
    ...     n_groups=2, list_size=4, n_features=3, random_state=0
    ... )
    >>> y.reshape(2, 4)
    array([[3., 2., 0., 1.],
           [2., 0., 1., 3.]])

    The top two of the same lists, the other two tied at the bottom:

    >>> _, y_top2, _, _ = make_rankings(
    ...     n_groups=2, list_size=4, n_features=3, top_k=2, random_state=0
    ... )
    >>> y_top2.reshape(2, 4)
    array([[3. , 2. , 0.5, 0.5],
           [2. , 0.5, 0.5, 3. ]])
    """
    if top_k is not None and top_k > list_size:
        raise ValueError(
            f"top_k={top_k} exceeds list_size={list_size}; pass top_k=None to "
            "rank every item."
        )
    n_ranked = list_size if top_k is None else top_k
    rng = check_random_state(random_state)
    X = rng.standard_normal((n_groups, list_size, n_features))
    coef = _unit_coef(rng, n_features)
    perceived = X @ coef + noise * rng.gumbel(size=(n_groups, list_size))
    order = np.argsort(-perceived, axis=1, kind="stable")
    # Drawn for every position whatever top_k, so that lists of one seed
    # differ in top_k and tie_probability only by their coarsening.
    tied_above = rng.random((n_groups, list_size)) < tie_probability
    position = np.arange(list_size)
    starts_block = np.where(position < n_ranked, ~tied_above, position == n_ranked)
    starts_block[:, 0] = True
    X, y, groups = _long_format(X, _tied_grades(order, starts_block))
    return X, y, groups, coef


# Group "a", "b", "c" with these probabilities; its effect on proxies and the
# target is the group index standardised to mean 0 and variance 1.
_GROUP_LEVELS = ("a", "b", "c")
_GROUP_PROBABILITIES = np.array([0.5, 0.3, 0.2])
_AGE_RANGE = (18.0, 65.0)


def _import_pandas(caller):
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError(
            f"{caller} returns sensitive_features as a pandas DataFrame and needs "
            "pandas, which is not installed. Install it with: "
            f"{install_hint('datasets')}"
        ) from exc
    return pd


def _fair_design(
    caller, n_samples, n_features, n_proxies, proxy_strength, bias_strength, rng
):
    """Features, the target's signal and the protected attributes (a DataFrame).

    The protected attributes are a categorical ``group`` and a continuous
    ``age``, each turned into a standardised effect: the group's index and the
    age, scaled to mean 0 and variance 1. The signal is
    ``X @ coef + bias_strength * (group_effect + age_effect) / sqrt(2)``.
    """
    if n_proxies > n_features:
        raise ValueError(
            f"n_proxies={n_proxies} exceeds n_features={n_features}: the proxies "
            "are among the features."
        )
    pd = _import_pandas(caller)
    index = rng.choice(len(_GROUP_LEVELS), size=n_samples, p=_GROUP_PROBABILITIES)
    levels = np.arange(len(_GROUP_LEVELS))
    mean = _GROUP_PROBABILITIES @ levels
    std = np.sqrt(_GROUP_PROBABILITIES @ (levels - mean) ** 2)
    group_effect = (index - mean) / std
    low, high = _AGE_RANGE
    age = rng.uniform(low, high, size=n_samples)
    age_effect = (age - (low + high) / 2) / ((high - low) / np.sqrt(12))

    X = rng.standard_normal((n_samples, n_features))
    # Even-numbered proxies carry the group, odd-numbered ones the age, so
    # that a fair model must handle both attribute types.
    effects = np.column_stack([group_effect, age_effect])
    X[:, :n_proxies] += proxy_strength * effects[:, np.arange(n_proxies) % 2]
    coef = _unit_coef(rng, n_features)
    # Positive proxy coefficients make the paths through the proxies add to
    # the direct effect rather than cancel it.
    coef[:n_proxies] = np.abs(coef[:n_proxies])
    signal = X @ coef + bias_strength * (group_effect + age_effect) / np.sqrt(2)
    sensitive_features = pd.DataFrame(
        {
            "group": pd.Categorical.from_codes(index, categories=_GROUP_LEVELS),
            "age": age,
        }
    )
    return X, signal, sensitive_features


_FAIR_CONSTRAINTS = {
    "n_samples": [Interval(numbers.Integral, 1, None, closed="left")],
    "n_features": [Interval(numbers.Integral, 1, None, closed="left")],
    "n_proxies": [Interval(numbers.Integral, 0, None, closed="left")],
    "proxy_strength": [_NON_NEGATIVE],
    "bias_strength": [_NON_NEGATIVE],
    "random_state": ["random_state"],
}

_FAIR_DOC = """
    The protected attributes are of mixed types: a categorical ``group``
    (levels ``a``, ``b``, ``c`` with probabilities 0.5, 0.3, 0.2) and a
    continuous ``age``, uniform on [18, 65]. Each enters as a standardised
    effect (mean 0, variance 1): ``e_group``, the group's index 0, 1, 2
    standardised, and ``e_age``, the standardised age. The features are
    standard normal, except the first ``n_proxies``, which are proxies:
    ``proxy_strength * e_group`` is added to features 0, 2, 4, ... and
    ``proxy_strength * e_age`` to features 1, 3, 5, .... The target depends on
    the attributes directly and through the proxies, with the signal

    .. math::

        f = X \\beta + \\text{bias\\_strength} \\cdot
        (e_\\text{group} + e_\\text{age}) / \\sqrt{2}

    and ``β`` of unit norm, positive on the proxies, so that the paths
    through the proxies add to the direct effect. With ``proxy_strength =
    bias_strength = 0`` the features and the target are independent of the
    attributes."""

_FAIR_PARAMS = """
    n_samples : int, default=1000
        Number of rows.
    n_features : int, default=5
        Number of features.
    n_proxies : int, default=2
        Number of features that depend on a protected attribute (at most
        ``n_features``).
    proxy_strength : float, default=1.0
        How strongly the proxies depend on the attributes.
    bias_strength : float, default=1.0
        The direct effect of the attributes on the target's signal."""

_FAIR_SENSITIVE = """
    sensitive_features : DataFrame of shape (n_samples, 2)
        ``group`` (categorical: a, b, c) and ``age`` (float64)."""


def _fill_fair_doc(function):
    """Insert the text shared by the two fairness generators in the docstring."""
    for placeholder, text in (
        ("{fair_doc}", _FAIR_DOC),
        ("{fair_params}", _FAIR_PARAMS),
        ("{fair_sensitive}", _FAIR_SENSITIVE),
    ):
        function.__doc__ = function.__doc__.replace(placeholder, text)
    return function


@validate_params(
    {**_FAIR_CONSTRAINTS, "noise": [_NON_NEGATIVE]},
    prefer_skip_nested_validation=True,
)
@_fill_fair_doc
def make_fair_regression(
    n_samples=1000,
    n_features=5,
    *,
    n_proxies=2,
    proxy_strength=1.0,
    bias_strength=1.0,
    noise=1.0,
    random_state=None,
):
    """Generate a regression problem with planted protected-attribute dependence.
    {fair_doc}
    The target is ``y = f + noise * ε`` with standard normal ``ε``.

    Use it to test fair regressors, which should lower the dependence of
    their predictions on ``sensitive_features`` (e.g. the distance
    covariance of Székely, Rizzo and Bakirov, 2007) at a small cost in fit.

    Parameters
    ----------{fair_params}
    noise : float, default=1.0
        Standard deviation of the Gaussian noise on the target.
    random_state : int, RandomState instance or None, default=None
        Draws the attributes, the features, the coefficients and the noise.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Features, float64.
    y : ndarray of shape (n_samples,)
        Target, float64.{fair_sensitive}

    Raises
    ------
    ImportError
        If pandas is not installed.
    ValueError
        If ``n_proxies > n_features``.

    See Also
    --------
    make_fair_classification : The same design with a binary target.

    References
    ----------
    Székely, G. J., Rizzo, M. L. and Bakirov, N. K. (2007). Measuring and
    testing dependence by correlation of distances. Annals of Statistics,
    35(6), 2769-2794.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.datasets import make_fair_regression
    >>> X, y, sensitive = make_fair_regression(n_samples=2000, random_state=0)
    >>> X.shape, list(sensitive.columns)
    ((2000, 5), ['group', 'age'])
    >>> bool(np.corrcoef(X[:, 1], sensitive["age"])[0, 1] > 0.5)
    True
    """
    rng = check_random_state(random_state)
    X, signal, sensitive_features = _fair_design(
        "make_fair_regression",
        n_samples,
        n_features,
        n_proxies,
        proxy_strength,
        bias_strength,
        rng,
    )
    return X, signal + noise * rng.standard_normal(n_samples), sensitive_features


@validate_params(_FAIR_CONSTRAINTS, prefer_skip_nested_validation=True)
@_fill_fair_doc
def make_fair_classification(
    n_samples=1000,
    n_features=5,
    *,
    n_proxies=2,
    proxy_strength=1.0,
    bias_strength=1.0,
    random_state=None,
):
    """Generate a binary classification problem with planted protected dependence.
    {fair_doc}
    The label is drawn from a logistic model, ``y ~ Bernoulli(σ(f))``.

    Use it to test fair classifiers, whose positive rates should depend less
    on ``sensitive_features`` than those of a plain classifier.

    Parameters
    ----------{fair_params}
    random_state : int, RandomState instance or None, default=None
        Draws the attributes, the features, the coefficients and the labels.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Features, float64.
    y : ndarray of shape (n_samples,)
        Labels, int64 in {0, 1}.{fair_sensitive}

    Raises
    ------
    ImportError
        If pandas is not installed.
    ValueError
        If ``n_proxies > n_features``.

    See Also
    --------
    make_fair_regression : The same design with a continuous target.

    Examples
    --------
    >>> import pandas as pd
    >>> from skalign.datasets import make_fair_classification
    >>> X, y, sensitive = make_fair_classification(n_samples=2000, random_state=0)
    >>> rates = pd.Series(y).groupby(sensitive["group"], observed=True).mean()
    >>> bool(rates["a"] < rates["b"] < rates["c"])
    True
    """
    rng = check_random_state(random_state)
    X, signal, sensitive_features = _fair_design(
        "make_fair_classification",
        n_samples,
        n_features,
        n_proxies,
        proxy_strength,
        bias_strength,
        rng,
    )
    y = (rng.random(n_samples) < expit(signal)).astype(np.int64)
    return X, y, sensitive_features


@validate_params(
    {
        "n_samples": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_classes": [Interval(numbers.Integral, 2, None, closed="left")],
        "temperature": [_POSITIVE],
        "scale": [_NON_NEGATIVE],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_miscalibrated_logits(
    n_samples=1000, n_classes=3, *, temperature=2.0, scale=2.0, random_state=None
):
    """Generate logits miscalibrated by a known temperature, with true labels.

    True logits ``z`` are normal with standard deviation ``scale``; the true
    class probabilities are ``softmax(z)`` and the labels are drawn from them.
    The returned logits are ``temperature * z``: dividing them by
    ``temperature``, as temperature scaling does (Guo et al., 2017), gives
    back the true probabilities exactly. ``temperature > 1`` makes the logits
    overconfident (the usual case for deep networks), ``temperature < 1``
    underconfident; the maximum-likelihood temperature on ``(logits, y)``
    tends to ``temperature`` as ``n_samples`` grows.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    n_classes : int, default=3
        Number of classes, at least 2.
    temperature : float, default=2.0
        The factor the calibrated logits are multiplied by; must be positive.
    scale : float, default=2.0
        Standard deviation of the true logits: larger values give more
        confident true probabilities.
    random_state : int, RandomState instance or None, default=None
        Draws the logits and the labels.

    Returns
    -------
    logits : ndarray of shape (n_samples, n_classes)
        Miscalibrated logits, float64. For a binary problem the margin is
        ``logits[:, 1] - logits[:, 0]``.
    y : ndarray of shape (n_samples,)
        Labels, int64 in ``[0, n_classes)``, drawn from ``proba``.
    proba : ndarray of shape (n_samples, n_classes)
        True class probabilities, ``softmax(logits / temperature)``.

    References
    ----------
    Guo, C., Pleiss, G., Sun, Y. and Weinberger, K. Q. (2017). On calibration
    of modern neural networks. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.special import softmax
    >>> from skalign.datasets import make_miscalibrated_logits
    >>> logits, y, proba = make_miscalibrated_logits(
    ...     n_samples=5, temperature=3.0, random_state=0
    ... )
    >>> logits.shape, y.shape, proba.shape
    ((5, 3), (5,), (5, 3))
    >>> np.allclose(softmax(logits / 3.0, axis=1), proba)
    True
    """
    rng = check_random_state(random_state)
    true_logits = scale * rng.standard_normal((n_samples, n_classes))
    proba = softmax(true_logits, axis=1)
    # Inverse-CDF sampling of one label per row; the clip guards against the
    # last cumulative sum rounding to just below 1.
    draw = rng.random((n_samples, 1))
    y = np.minimum((np.cumsum(proba, axis=1) < draw).sum(axis=1), n_classes - 1)
    return temperature * true_logits, y.astype(np.int64), proba


@validate_params(
    {
        "n_users": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_comparisons": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_types": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_features": [Interval(numbers.Integral, 1, None, closed="left")],
        "variant": [StrOptions({"distance", "reward"})],
        "separation": [_NON_NEGATIVE],
        "noise": [_NON_NEGATIVE],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_pluralistic_preferences(
    n_users=60,
    n_comparisons=50,
    *,
    n_types=3,
    n_features=5,
    variant="reward",
    separation=2.0,
    noise=1.0,
    random_state=None,
):
    """Generate pairwise preferences of users of several latent types.

    Each user belongs to one of ``n_types`` types (as evenly as possible, in
    random order), and each type ``t`` has an ideal point ``c_t`` in feature
    space, drawn uniformly on the sphere of radius ``separation``. Every
    comparison shows its user two fresh items with standard normal features,
    and the user prefers ``a`` to ``b`` with the Bradley–Terry probability
    ``σ((u_t(a) - u_t(b)) / noise)`` of their type's utility:

    - ``variant="distance"`` (PAL-A's ideal-point model): ``u_t(x) = -‖x -
      c_t‖²``, the closer item wins;
    - ``variant="reward"`` (PAL-B's): ``u_t(x) = ⟨x, c_t⟩``.

    Types disagree through their ideal points: with ``"reward"``, the
    utilities of two types are uncorrelated on average (random directions)
    and opposed where the directions are; with ``"distance"`` they share the
    ``-‖x‖²`` part. This is the setting of the pluralistic reward model
    :class:`~skalign.preference.PluralisticRewardModel`.

    Parameters
    ----------
    n_users : int, default=60
        Number of users (judges).
    n_comparisons : int, default=50
        Comparisons per user.
    n_types : int, default=3
        Number of latent user types; 1 gives homogeneous preferences.
    n_features : int, default=5
        Number of item features.
    variant : {"distance", "reward"}, default="reward"
        The utility of a type (see above).
    separation : float, default=2.0
        Norm of every ideal point.
    noise : float, default=1.0
        Temperature of the Bradley–Terry choice; 0 makes every user choose
        by their utility alone.
    random_state : int, RandomState instance or None, default=None
        Draws the types, ideal points, items and choices.

    Returns
    -------
    X : ndarray of shape (2 * n_users * n_comparisons, n_features)
        Item features; comparison ``g`` is rows ``2 g`` and ``2 g + 1``.
    y : ndarray of shape (2 * n_users * n_comparisons,)
        1.0 for the preferred item of a comparison, 0.0 for the other.
    groups : ndarray of shape (2 * n_users * n_comparisons,)
        Comparison id, int64.
    users : ndarray of shape (2 * n_users * n_comparisons,)
        User id of each row, int64 in ``[0, n_users)``; the comparisons of
        user ``u`` are consecutive.
    truth : Bunch
        ``user_types`` (ndarray of shape (n_users,), each user's type),
        ``ideal_points`` (ndarray of shape (n_types, n_features)) and
        ``variant``, ``noise``: what an oracle knows.

    References
    ----------
    Chen, D., Chen, Y., Rege, A. and Vinayak, R. K. (2024). PAL: Pluralistic
    alignment framework for learning from heterogeneous preferences.
    arXiv:2406.08469.

    Examples
    --------
    >>> from skalign.datasets import make_pluralistic_preferences
    >>> X, y, groups, users, truth = make_pluralistic_preferences(
    ...     n_users=4, n_comparisons=3, n_types=2, random_state=0
    ... )
    >>> X.shape, truth.ideal_points.shape, truth.user_types.shape
    ((24, 5), (2, 5), (4,))
    >>> users[:6]
    array([0, 0, 0, 0, 0, 0])
    """
    rng = check_random_state(random_state)
    user_types = rng.permutation(np.arange(n_users) % n_types)
    ideal_points = np.array([_unit_coef(rng, n_features) for _ in range(n_types)])
    ideal_points *= separation
    n_pairs = n_users * n_comparisons
    X = rng.standard_normal((n_pairs, 2, n_features))
    pair_user = np.repeat(np.arange(n_users, dtype=np.int64), n_comparisons)
    centre = ideal_points[user_types[pair_user]][:, None, :]
    if variant == "distance":
        utility = -np.square(X - centre).sum(-1)
    else:
        utility = (X * centre).sum(-1)
    margin = utility[:, 0] - utility[:, 1]
    if noise > 0:
        first_wins = rng.random_sample(n_pairs) < expit(margin / noise)
    else:
        first_wins = margin > 0
    grades = np.column_stack([first_wins, ~first_wins]).astype(np.float64)
    X, y, groups = _long_format(X, grades)
    truth = Bunch(
        user_types=user_types, ideal_points=ideal_points, variant=variant, noise=noise
    )
    return X, y, groups, np.repeat(pair_user, 2), truth
