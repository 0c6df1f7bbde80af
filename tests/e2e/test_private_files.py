"""The database, its -wal and -shm, logs, backups and evidence are created user-only (0600; 0400 sealed)."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from osint_desktop.app.context import AppContext
from osint_desktop.app.tasks import create_task
from osint_desktop.core.evidence.capture import EvidenceWriter
from tests.conftest import MemoryKeyring
from tests.e2e.conftest import run_cli

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[int]:
    """The umask most desktops have (022): without the app's care, new files would be 0644."""
    previous = os.umask(0o022)
    yield previous
    os.umask(previous)


def test_a_first_start_from_the_command_line_creates_private_files(
    tmp_path: Path, usual_umask: int
) -> None:
    home = tmp_path / "fresh"  # does not exist: the command makes everything itself
    assert run_cli(home, "init-tasks").code == 0
    assert run_cli(home, "backup").code == 0

    assert mode(home) == 0o700
    assert mode(home / "osint-desktop.sqlite3") == 0o600
    assert mode(home / "logs") == 0o700
    assert mode(home / "logs" / "osint-desktop.log") == 0o600
    assert mode(home / "backups") == 0o700
    [backup] = (home / "backups").glob("osint-desktop-*.sqlite3")
    assert mode(backup) == 0o600
    others = [p for p in home.rglob("*") if p.is_file() and mode(p) & 0o077]
    assert others == [], f"readable by others: {others}"


def test_the_wal_and_shm_of_a_live_database_are_private(
    home: Path, memory_keyring: MemoryKeyring, usual_umask: int
) -> None:
    ctx = AppContext.open(console_log=None)
    try:
        create_task(ctx.db, "Writes to the WAL", "news", "daily", ["https://example.org/rss"])
        database = home / "osint-desktop.sqlite3"
        wal, shm = (database.with_name(database.name + end) for end in ("-wal", "-shm"))
        assert wal.exists() and shm.exists()  # the connections are open: the journal is there
        assert (mode(database), mode(wal), mode(shm)) == (0o600, 0o600, 0o600)
    finally:
        ctx.close()


def test_files_an_older_version_left_readable_are_tightened_at_start(
    home: Path, memory_keyring: MemoryKeyring, usual_umask: int
) -> None:
    AppContext.open(console_log=None).close()
    database, log = home / "osint-desktop.sqlite3", home / "logs" / "osint-desktop.log"
    log.parent.mkdir(exist_ok=True)
    log.touch()
    for path in (database, log):
        path.chmod(0o644)
    (home / "logs").chmod(0o755)

    ctx = AppContext.open(console_log=None)
    ctx.close()
    assert (mode(database), mode(log), mode(home / "logs")) == (0o600, 0o600, 0o700)


def test_evidence_files_are_private_while_written_and_sealed_read_only_after(
    tmp_path: Path, usual_umask: int
) -> None:
    evidence = tmp_path / "evidence"
    with EvidenceWriter(evidence) as writer:
        writer.capture_response(
            "https://example.org/feed", "https://example.org/feed", {"User-Agent": "ua"}, 200, "OK",
            [("Content-Type", "text/xml")], io.BytesIO(b"<rss/>"), datetime.now(UTC), "ua",
        )
        current = writer.current_file
        assert current is not None and mode(current) == 0o600
        assert mode(evidence) == 0o700
    assert mode(current) == 0o400
