"""Several commands started at the same moment on an empty data folder: all work, one schema."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from osint_desktop.core.db.migrate import head_revision
from tests.conftest import REPO
from tests.e2e.conftest import CLI_TIMEOUT_S, CliResult, cli_env, command
from tests.helpers import query_db

PROCESSES = 5
DEFAULT_NAMES = {
    "Hourly News Crawl",
    "Daily Social Media Crawl",
    "Weekly Security News Crawl",
    "Daily Telegram Security Channels",
    "X searches",
}


def start_together(home: Path, *commands: list[str]) -> list[CliResult]:
    """Start every command at once (no waiting between them), then collect them all."""
    env = cli_env(home)
    processes = [
        subprocess.Popen(
            command(*args), cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for args in commands
    ]
    results = []
    for args, process in zip(commands, processes, strict=True):
        try:
            stdout, stderr = process.communicate(timeout=CLI_TIMEOUT_S * 2)
        finally:
            process.kill()
        assert "Traceback" not in stderr, stderr
        results.append(CliResult(args, process.returncode, stdout, stderr))
    return results


def assert_one_schema(home: Path) -> None:
    assert query_db(home, "SELECT version_num FROM alembic_version") == [(head_revision(),)]
    tables = {row[0] for row in query_db(home, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"crawl_tasks", "crawl_logs", "items"} <= tables
    # A new database has nothing to lose: no pre-migration backup of an empty file either.
    assert not list((home / "backups").glob("*pre-migration*"))


@pytest.mark.slow
def test_first_starts_at_the_same_moment_all_succeed(tmp_path: Path) -> None:
    home = tmp_path / "fresh"  # not even the folder exists yet
    results = start_together(home, *[["list-tasks"] for _ in range(PROCESSES)])
    for result in results:
        assert result.code == 0, (result.stdout, result.stderr)
        assert result.json["status"] == "success"
        assert result.json["tasks"] == []
    assert_one_schema(home)


@pytest.mark.slow
def test_default_tasks_created_once_by_concurrent_first_starts(tmp_path: Path) -> None:
    home = tmp_path / "fresh"
    results = start_together(home, *[["init-tasks"] for _ in range(PROCESSES)])
    created: list[str] = []
    for result in results:
        assert result.code == 0, (result.stdout, result.stderr)
        assert result.json["status"] == "success"
        created += [task["name"] for task in result.json["created"]]
    assert sorted(created) == sorted(DEFAULT_NAMES)  # each made by exactly one of them
    names = [row[0] for row in query_db(home, "SELECT name FROM crawl_tasks")]
    assert sorted(names) == sorted(DEFAULT_NAMES)
    assert_one_schema(home)
