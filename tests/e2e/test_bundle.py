"""The PyInstaller bundle as a user starts it: self-check and command line (skipped when it is not built)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.e2e.conftest import cli_env
from tests.e2e.test_cli import DEFAULT_NAMES, TASK_KEYS

# `pyinstaller --noconfirm --clean osint_desktop.spec` puts it here; OSINT_DESKTOP_BUNDLE points elsewhere.
BUNDLE = Path(os.environ.get("OSINT_DESKTOP_BUNDLE") or REPO / "dist" / "osint-desktop" / "osint-desktop")
SMOKE_STEPS = {
    "open database (migrations)",
    "default tasks",
    "crawl a loopback feed",
    "watch search and Apprise",
    "linked page text extraction",
    "scheduler trigger fires",
    "keyring backend",
    "Qt locale data (ICU)",
    "main window",
}

pytestmark = pytest.mark.skipif(not BUNDLE.is_file(), reason=f"no bundle at {BUNDLE} (build it first)")


def run_bundle(home: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    """Run the bundled binary in a private data folder, offscreen; its exit code, JSON and stderr."""
    env = cli_env(home, QT_QPA_PLATFORM="offscreen")
    completed = subprocess.run(
        [str(BUNDLE), *args],
        env=env,
        cwd=home.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in completed.stderr, completed.stderr
    data = json.loads(completed.stdout)
    assert isinstance(data, dict), completed.stdout
    return completed.returncode, data, completed.stderr


def test_smoke_test_passes_in_the_bundle(cli_home: Path) -> None:
    code, report, stderr = run_bundle(cli_home, "--smoke-test")
    failed = [step for step in report["steps"] if not step["ok"]]
    assert code == 0 and report["status"] == "success", (failed, stderr)
    assert report["frozen"] is True
    assert {step["name"] for step in report["steps"]} == SMOKE_STEPS
    # The self-check works in a temporary folder of its own, never in the user's data folder.
    assert not any(cli_home.glob("*.sqlite3"))


def test_bundle_serves_the_command_line(cli_home: Path) -> None:
    code, created, _ = run_bundle(cli_home, "init-tasks")
    assert code == 0 and created["status"] == "success", created
    assert isinstance(created["message"], str) and created["message"]

    code, listed, _ = run_bundle(cli_home, "list-tasks")
    assert code == 0 and listed["status"] == "success", listed
    tasks = listed["tasks"]
    assert [task["name"] for task in tasks] == DEFAULT_NAMES
    for task in tasks:
        assert set(task) >= TASK_KEYS
    assert [(task["source"], task["frequency"]) for task in tasks] == [
        ("news", "hourly"),
        ("mastodon", "daily"),
        ("news", "weekly"),
        ("telegram", "daily"),
        ("x", "daily"),
    ]
