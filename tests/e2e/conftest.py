"""The command line as a user types it: `python -m osint_desktop ...` in a private data folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.feedserver import FeedServer
from tests.helpers import FAST_SETTINGS, write_settings

CLI_TIMEOUT_S = 60


@dataclass
class CliResult:
    """What one command printed and returned."""

    args: list[str]
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict[str, Any]:
        """The one JSON object a subcommand prints on stdout."""
        lines = self.stdout.splitlines()
        assert len(lines) == 1, f"expected one line of JSON from {self.args}, got: {self.stdout!r}"
        data = json.loads(lines[0])
        assert isinstance(data, dict)
        assert data["status"] in ("success", "error")
        assert isinstance(data["message"], str) and data["message"]
        return data


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user with a fresh data folder and no token, keyring or display."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("OSINT_DESKTOP_") and key not in ("PYTHONWARNINGS",)
    }
    env["OSINT_DESKTOP_HOME"] = str(home)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    # Whatever keyring the machine has, these runs never see it.
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    env.update(extra)
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "osint_desktop", *args]


Cli = Callable[..., CliResult]


@pytest.fixture
def cli_home(tmp_path: Path) -> Path:
    """The data folder the commands use, with fast network settings for loopback feeds."""
    folder = tmp_path / "data"
    write_settings(folder, **FAST_SETTINGS)
    return folder


def run_cli(home: Path, *args: str, env: dict[str, str] | None = None) -> CliResult:
    """Run one subcommand in a data folder and wait for it."""
    completed = subprocess.run(
        command(*args),
        cwd=REPO,
        env=env or cli_env(home),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    assert "Traceback" not in completed.stderr, completed.stderr
    return CliResult(list(args), completed.returncode, completed.stdout, completed.stderr)


@pytest.fixture
def cli(cli_home: Path) -> Cli:
    """Run one subcommand in this test's data folder."""

    def run(*args: str, env: dict[str, str] | None = None) -> CliResult:
        return run_cli(cli_home, *args, env=env)

    return run


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder where `init-tasks` and one `add-task` have run (made once, copied per test)."""
    folder = tmp_path_factory.mktemp("seeded") / "data"
    write_settings(folder, **FAST_SETTINGS)
    assert run_cli(folder, "init-tasks").code == 0
    added = run_cli(folder, "add-task", "--name", "Existing", "--source", "news", "--frequency", "hourly",
                    "--target", "https://existing.example/rss")
    assert added.code == 0
    return folder


@pytest.fixture
def seeded(cli_home: Path, seeded_template: Path) -> Path:
    """This test's data folder, holding the tasks of the template (the defaults and "Existing")."""
    shutil.copytree(seeded_template, cli_home, dirs_exist_ok=True)
    return cli_home


@pytest.fixture
def server() -> Iterator[FeedServer]:
    """A loopback feed server on 127.0.0.1."""
    with FeedServer() as srv:
        yield srv
