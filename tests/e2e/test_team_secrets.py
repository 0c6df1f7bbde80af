"""A team database's password, given in the URL, appears in no console line, log file or error."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.conftest import REPO
from tests.e2e.conftest import cli_env, command, run_cli
from tests.helpers import FAST_SETTINGS, write_settings

# The test server trusts every local connection: the password is carried, never checked.
PASSWORD = "Tr0ub4dor-and-3"


def with_password(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(password=PASSWORD)
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def test_a_collector_names_its_database_without_the_password(tmp_path: Path, pg_url: str) -> None:
    home = tmp_path / "collector"
    write_settings(home, **FAST_SETTINGS)
    console = tmp_path / "console.txt"
    with console.open("w") as stderr:
        process = subprocess.Popen(
            command("--db", with_password(pg_url), "headless"), cwd=REPO, env=cli_env(home),
            stdout=subprocess.PIPE, stderr=stderr, text=True,
        )
    try:
        deadline = time.monotonic() + 60
        while "headless scheduler running" not in console.read_text():
            assert process.poll() is None and time.monotonic() < deadline, console.read_text()
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        stdout, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)
    assert process.returncode == 0
    shown = console.read_text()
    assert ":***@" in shown
    logged = "".join(path.read_text() for path in (home / "logs").glob("*.log"))
    for text in (shown, stdout, logged):
        assert PASSWORD not in text


def test_a_refused_connection_says_why_without_the_password(tmp_path: Path, pg_url: str) -> None:
    home = tmp_path / "data"
    write_settings(home, **FAST_SETTINGS)
    result = run_cli(home, "--db", with_password(pg_url, database="no_such_db"), "list-tasks")
    assert result.code == 1
    message = result.json["message"]
    assert "no_such_db" in message and "does not exist" in message
    assert PASSWORD not in result.stdout + result.stderr
