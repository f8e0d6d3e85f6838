"""hypothesis is imported by skalign.testing only, and its absence is
reported by naming the extra to install."""

import os
import subprocess
import sys
from pathlib import Path

import skalign


def _run(code):
    root = str(Path(skalign.__file__).resolve().parents[1])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root
    )


def test_importing_skalign_does_not_import_hypothesis():
    result = _run(
        "import sys, skalign, skalign.preference, skalign.ranking, "
        "skalign.calibration, skalign.utils; "
        "assert 'hypothesis' not in sys.modules, 'hypothesis was imported'"
    )
    assert result.returncode == 0, result.stderr


def test_skalign_testing_without_hypothesis_names_the_extra():
    result = _run(
        "import sys; sys.modules['hypothesis'] = None\n"
        "try:\n"
        "    import skalign.testing\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
        "else:\n"
        "    raise SystemExit('no ImportError')\n"
    )
    assert result.returncode == 0, result.stderr
    assert ".[testing]" in result.stdout and "hypothesis" in result.stdout
