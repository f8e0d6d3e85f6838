"""The benchmark page is what ``benchmarks/report.py`` renders from the
stored results, and its verdicts follow from the numbers."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _report():
    spec = importlib.util.spec_from_file_location(
        "skalign_benchmark_report", ROOT / "benchmarks" / "report.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


report = _report()


def test_the_page_is_rendered_from_the_stored_results():
    page = (ROOT / "docs" / "benchmarks.rst").read_text()
    rendered = report.render(*report.load_results())
    assert page == rendered, (
        "docs/benchmarks.rst differs from what benchmarks/report.py renders "
        "from benchmarks/results: rerun `python benchmarks/report.py --render` "
        "(or the benchmarks themselves) instead of editing the page"
    )


def test_every_script_has_a_stored_run():
    runs, _ = report.load_results()
    assert set(runs["scripts"]) == set(report.SCRIPTS)
    for run in runs["scripts"].values():
        assert run["mode"] in ("quick", "full")
        assert len(run["load_before"]) == len(run["load_after"]) == 3


@pytest.mark.parametrize(
    "ratio, target, ok, expected",
    [
        (6.0, (5.0, "≥ 5"), True, "≥ 5: met"),
        (5.0, (5.0, "≥ 5"), True, "≥ 5: met"),
        (4.9, (5.0, "≥ 5"), True, "≥ 5: **missed**"),
        # A fast answer with the wrong objective misses, whatever its speed.
        (60.0, (50.0, "≥ 50"), False, "≥ 50: **missed**"),
        (None, (5.0, "≥ 5"), True, "≥ 5: **missed**"),
        (3.0, None, True, "none set"),
    ],
)
def test_verdicts(ratio, target, ok, expected):
    assert report.verdict(ratio, target, ok=ok) == expected


def test_ratios_are_anchor_over_skalign_everywhere():
    _, results = report.load_results()
    for name, extract in report.EXTRACT.items():
        for row in extract(results[name]):
            assert row["ratio"] == pytest.approx(row["anchor_s"] / row["skalign_s"])
            verdict = row["verdict"]
            assert verdict == "none set" or verdict.split(": ", 1)[1].startswith(
                ("met", "**missed**")
            )


def test_a_core_objective_mismatch_misses_its_target():
    case = {
        "size": {"n_pairs": 10, "n_features": 2},
        "sides": {"skalign": {"seconds": 1.0}, "LogisticRegression": {"seconds": 9.0}},
        "comparisons": {
            "LogisticRegression": {
                "ratio": 9.0,
                "skalign_rel_gap_to_anchor": 1e-3,
                "objective_mismatch": True,
                "anchor_runs": 3,
            }
        },
    }
    (row,) = report._core({"bt_linear": case})
    assert row["ratio"] == 9.0
    assert "**missed**" in row["verdict"]
    assert "objective mismatch" in row["verdict"]
