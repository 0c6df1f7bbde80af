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


# What a command that only reads the database must not load (issue 16: it starts in about a
# third of a second, of which SQLAlchemy's ORM is most): the window, the crawl's HTTP and
# parsing stacks, the scheduler, Alembic (the schema is current) and the PostgreSQL dialect.
NOT_FOR_LISTING_TASKS = (
    "PySide6",
    "shiboken6",
    "tweepy",
    "feedparser",
    "requests",
    "apscheduler",
    "alembic",
    "sqlalchemy.dialects.postgresql",
)


def _imported_modules(importtime_stderr: str) -> set[str]:
    """Every module a `python -X importtime` process imported, from its stderr report."""
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip())
    names.discard("imported package")  # the report's header
    return names


def test_listing_tasks_on_a_current_database_loads_only_what_it_needs(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OSINT_DESKTOP_")}
    env["OSINT_DESKTOP_HOME"] = str(tmp_path / "data")
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    runs = []
    for flags in ([], ["-X", "importtime"]):  # the first creates the database (with Alembic)
        completed = subprocess.run(
            [sys.executable, *flags, "-m", "osint_desktop", "list-tasks"], cwd=REPO, env=env,
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert completed.returncode == 0, completed.stderr[-3000:]
        runs.append(completed)
    imported = _imported_modules(runs[1].stderr)
    assert "osint_desktop.app.tasks" in imported and "sqlalchemy.orm" in imported  # the report is read
    loaded = sorted(
        name for name in imported
        if any(name == heavy or name.startswith(heavy + ".") for heavy in NOT_FOR_LISTING_TASKS)
    )
    assert not loaded, loaded
