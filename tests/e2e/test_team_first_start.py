"""Several processes starting at once on an empty PostgreSQL database: all work, one schema."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text

from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.migrate import head_revision
from osint_desktop.core.db.notify import ALL_TABLES
from tests.conftest import REPO
from tests.e2e.conftest import CLI_TIMEOUT_S, CliResult, cli_env, command

PROCESSES = 5


@pytest.mark.slow
def test_first_starts_on_an_empty_server_database_at_the_same_moment_all_succeed(
    tmp_path: Path, pg_url: str
) -> None:
    # Each on its own data folder, as collectors on several machines would be.
    processes = []
    for number in range(PROCESSES):
        env = cli_env(tmp_path / f"machine-{number}")
        processes.append(
            subprocess.Popen(
                command("--db", pg_url, "list-tasks"), cwd=REPO, env=env,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
        )
    results = []
    for process in processes:
        try:
            stdout, stderr = process.communicate(timeout=CLI_TIMEOUT_S * 2)
        finally:
            process.kill()
        assert "Traceback" not in stderr, stderr
        results.append(CliResult(["list-tasks"], process.returncode, stdout, stderr))
    for result in results:
        assert result.code == 0, (result.stdout, result.stderr)
        assert result.json["tasks"] == []
    db = Database(pg_url)
    try:
        with db.read() as session:
            versions = session.execute(text("SELECT version_num FROM alembic_version")).all()
            # Migrated once: each trigger of the change notifications exists once, not five times.
            triggers = session.scalars(
                text(
                    "SELECT event_object_table FROM information_schema.triggers"
                    " WHERE trigger_name LIKE '%notify%'"
                )
            ).all()
    finally:
        db.dispose()
    assert versions == [(head_revision(),)]
    assert sorted(triggers) == sorted(table for table in ALL_TABLES for _ in ("insert", "update", "delete"))
