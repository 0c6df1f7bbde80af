"""What the import graph cannot show: a subcommand never loads Qt (the window's import is lazy).

The layers, Qt-free core and app, and the absence of import cycles are import-linter's
contracts (pyproject.toml, run by .ci/run); a lazy import counts there as any other.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_a_subcommand_runs_without_loading_qt(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from osint_desktop.cli import main\n"
        "assert main(['init-tasks']) == 0\n"
        "assert main(['list-tasks']) == 0\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6'))\n"
        "assert not loaded, loaded\n"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("OSINT_DESKTOP_")}
    env["OSINT_DESKTOP_HOME"] = str(tmp_path / "data")
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
