"""Tests of the one restore: backups kept, backup files untouched, refusals before any change."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest
from sqlalchemy import update

from osint_desktop.app.context import AppContext
from osint_desktop.app.maintenance import backup_now
from osint_desktop.app.recovery import current_owner
from osint_desktop.app.restore import RestoreError, restore_backup
from osint_desktop.app.tasks import create_task, list_tasks
from osint_desktop.core.db.backup import list_backups, prune_backups
from osint_desktop.core.db.engine import Database, sqlite_path
from osint_desktop.core.db.models import CrawlLog, CrawlTask

FEED = "https://feeds.example.org/world.xml"


def database_of(ctx: AppContext) -> Path:
    path = sqlite_path(ctx.db.url)
    assert path is not None
    return path


def names(ctx: AppContext) -> list[str]:
    return [task.name for task in list_tasks(ctx.db)]


def fingerprint(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def four_backups(ctx: AppContext) -> list[Path]:
    """Four backups, oldest first; each holds one more task than the one before."""
    made = []
    for n in range(4):
        create_task(ctx.db, f"Task {n}", "news", "daily", [FEED])
        made.append(backup_now(ctx.db, ctx.backup_dir, keep=7))
    return made


@pytest.fixture
def live_process() -> Iterator[int]:
    """Another process of this machine that stays alive for the test (a collector, say)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield child.pid
    finally:
        child.kill()
        child.wait()


def start_run_of(ctx: AppContext, task_id: int, pid: int) -> None:
    """Record a run of task_id as another live process does when it claims one."""
    now = datetime.now(UTC)
    with ctx.db.write() as session:
        session.execute(update(CrawlTask).where(CrawlTask.id == task_id).values(status="running"))
        session.add(
            CrawlLog(
                task_id=task_id, started_at=now, status="running", trigger="scheduled", items_found=0,
                items_new=0, details=[], targets_total=1, targets_done=0, owner_host=current_owner().host,
                owner_pid=pid, owner_started=psutil.Process(pid).create_time(), heartbeat_at=now,
            )
        )


def test_restore_keeps_the_chosen_backup_whatever_keep_says(ctx: AppContext) -> None:
    backups = four_backups(ctx)
    oldest = backups[0]
    before = fingerprint(oldest)
    create_task(ctx.db, "Added later", "news", "daily", [FEED])

    result = restore_backup(oldest, ctx.db, ctx.backup_dir, keep=2)

    assert names(ctx) == ["Task 0"]
    assert oldest.is_file() and fingerprint(oldest) == before
    assert result.restored == oldest
    assert result.database == database_of(ctx)
    assert result.safety_backup is not None and result.previous == result.safety_backup
    assert "pre-restore" in result.safety_backup.name and result.safety_backup.is_file()
    assert result.set_aside is None
    # The setting is still honoured for every other backup.
    assert set(list_backups(ctx.backup_dir)) == {result.safety_backup, backups[3], oldest}


def test_safety_backup_holds_the_state_before_the_restore(ctx: AppContext) -> None:
    backups = four_backups(ctx)
    create_task(ctx.db, "Added later", "news", "daily", [FEED])
    result = restore_backup(backups[1], ctx.db, ctx.backup_dir, keep=1)
    assert result.safety_backup is not None
    restore_backup(result.safety_backup, ctx.db, ctx.backup_dir, keep=1)
    assert names(ctx) == ["Task 0", "Task 1", "Task 2", "Task 3", "Added later"]


def test_restore_leaves_no_wal_or_shm_beside_the_backups(ctx: AppContext) -> None:
    backups = four_backups(ctx)
    for backup in backups[:2]:
        restore_backup(backup, ctx.db, ctx.backup_dir, keep=7)
    leftovers = [p.name for p in ctx.backup_dir.iterdir() if p.name.endswith(("-wal", "-shm"))]
    assert leftovers == []


def test_restore_applies_a_copied_wal(ctx: AppContext, tmp_path: Path) -> None:
    create_task(ctx.db, "Old name", "news", "daily", [FEED])
    backup = backup_now(ctx.db, ctx.backup_dir, keep=7)
    copy = tmp_path / "copy.sqlite3"
    shutil.copyfile(backup, copy)
    writer = sqlite3.connect(copy, isolation_level=None)
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("UPDATE crawl_tasks SET name = 'New name'")
    assert copy.with_name(copy.name + "-wal").stat().st_size > 0
    # Copy the pair while the writer still holds the change in its -wal only.
    held = tmp_path / "held"
    held.mkdir()
    shutil.copyfile(copy, held / copy.name)
    shutil.copyfile(copy.with_name(copy.name + "-wal"), held / (copy.name + "-wal"))
    writer.close()
    create_task(ctx.db, "Later", "news", "daily", [FEED])
    before = [fingerprint(path) for path in sorted(held.iterdir())]

    restore_backup(held / copy.name, ctx.db, ctx.backup_dir, keep=7)

    assert names(ctx) == ["New name"]
    assert [fingerprint(path) for path in sorted(held.iterdir())] == before


def test_refused_while_another_process_is_crawling(ctx: AppContext, live_process: int) -> None:
    task = create_task(ctx.db, "Busy", "news", "daily", [FEED])
    backup = backup_now(ctx.db, ctx.backup_dir, keep=7)
    create_task(ctx.db, "Added later", "news", "daily", [FEED])
    start_run_of(ctx, task.id, live_process)

    with pytest.raises(RestoreError, match=r"crawl is running \('Busy'\).*nothing was changed"):
        restore_backup(backup, ctx.db, ctx.backup_dir, keep=7)

    assert names(ctx) == ["Busy", "Added later"]
    assert list_backups(ctx.backup_dir) == [backup]  # no pre-restore backup either


def test_run_of_a_dead_process_does_not_block_a_restore(ctx: AppContext) -> None:
    task = create_task(ctx.db, "Was busy", "news", "daily", [FEED])
    backup = backup_now(ctx.db, ctx.backup_dir, keep=7)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        start_run_of(ctx, task.id, child.pid)
    finally:
        child.kill()
        child.wait()
    restore_backup(backup, ctx.db, ctx.backup_dir, keep=7)
    assert names(ctx) == ["Was busy"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"these are my notes, not a database\n" * 50, "not a SQLite file"),
        (b"", "not a SQLite file"),
        (b"SQLite format 3\x00" + b"\x41" * 8000, "damaged"),
    ],
)
def test_what_is_not_a_backup_is_refused_before_any_change(
    ctx: AppContext, tmp_path: Path, content: bytes, message: str
) -> None:
    create_task(ctx.db, "Mine", "news", "daily", [FEED])
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(content)
    with pytest.raises(RestoreError, match=message):
        restore_backup(junk, ctx.db, ctx.backup_dir, keep=7)
    assert names(ctx) == ["Mine"]
    assert list_backups(ctx.backup_dir) == []
    assert junk.read_bytes() == content


def test_damaged_pages_are_found_before_any_change(ctx: AppContext, tmp_path: Path) -> None:
    for n in range(30):
        create_task(ctx.db, f"Task {n}", "news", "daily", [f"{FEED}?n={n}" + "x" * 500])
    backup = backup_now(ctx.db, ctx.backup_dir, keep=7)
    damaged = tmp_path / "damaged.sqlite3"
    data = bytearray(backup.read_bytes())
    data[4096 * 3 : 4096 * 5] = b"\x41" * (4096 * 2)
    damaged.write_bytes(bytes(data))
    create_task(ctx.db, "Later", "news", "daily", [FEED])
    with pytest.raises(RestoreError, match="damaged"):
        restore_backup(damaged, ctx.db, ctx.backup_dir, keep=7)
    assert "Later" in names(ctx)


def test_a_database_of_another_program_is_refused(ctx: AppContext, tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE notes (text)")
    conn.commit()
    conn.close()
    with pytest.raises(RestoreError, match="not a backup of OSINT Desktop"):
        restore_backup(other, ctx.db, ctx.backup_dir, keep=7)


def test_a_backup_of_a_newer_version_is_refused(ctx: AppContext) -> None:
    backup = backup_now(ctx.db, ctx.backup_dir, keep=7)
    conn = sqlite3.connect(backup)
    conn.execute("UPDATE alembic_version SET version_num = 'from-the-future'")
    conn.commit()
    conn.close()
    with pytest.raises(RestoreError, match="newer version"):
        restore_backup(backup, ctx.db, ctx.backup_dir, keep=7)


def test_the_database_itself_is_not_a_backup(ctx: AppContext) -> None:
    with pytest.raises(RestoreError, match="database in use"):
        restore_backup(database_of(ctx), ctx.db, ctx.backup_dir, keep=7)


def test_a_missing_backup_is_reported(ctx: AppContext, tmp_path: Path) -> None:
    with pytest.raises(RestoreError, match="does not exist"):
        restore_backup(tmp_path / "gone.sqlite3", ctx.db, ctx.backup_dir, keep=7)


def test_restore_works_on_sqlite_only(ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
    backup = backup_now(ctx.db, ctx.backup_dir, keep=7)
    monkeypatch.setattr(ctx.db, "url", "postgresql://analyst@db.example.org/osint")
    with pytest.raises(RestoreError, match="SQLite databases only"):
        restore_backup(backup, ctx.db, ctx.backup_dir, keep=7)


def test_a_damaged_database_is_set_aside_and_the_backup_restored(ctx: AppContext) -> None:
    create_task(ctx.db, "Saved", "news", "daily", [FEED])
    backup = backup_now(ctx.db, ctx.backup_dir, keep=7)
    database = database_of(ctx)
    url = ctx.db.url
    damaged_bytes = b"SQLite format 3\x00" + b"\x41" * 8000
    for round_ in range(2):
        ctx.db.dispose()  # as at start-up: nothing else has the file open
        database.write_bytes(damaged_bytes + bytes([round_]))
        database.with_name(database.name + "-wal").write_bytes(b"wal of the damaged file")
        db = Database(url)
        try:
            result = restore_backup(backup, db, ctx.backup_dir, keep=7, set_aside_current=True)
        finally:
            db.dispose()
        assert result.safety_backup is None
        assert result.set_aside is not None and result.previous == result.set_aside
        # Each damaged file is kept, the second beside the first, each with its -wal.
        assert result.set_aside.read_bytes() == damaged_bytes + bytes([round_])
        assert result.set_aside.with_name(result.set_aside.name + "-wal").read_bytes() == (
            b"wal of the damaged file"
        )
        assert names(ctx) == ["Saved"]
    kept = [p for p in database.parent.glob(database.name + ".damaged*") if not p.name.endswith("-wal")]
    assert len(kept) == 2


def test_a_missing_database_is_restored_without_a_safety_backup(ctx: AppContext) -> None:
    create_task(ctx.db, "Saved", "news", "daily", [FEED])
    backup = backup_now(ctx.db, ctx.backup_dir, keep=7)
    database = database_of(ctx)
    ctx.db.dispose()
    for suffix in ("", "-wal", "-shm"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)
    result = restore_backup(backup, ctx.db, ctx.backup_dir, keep=7, set_aside_current=True)
    assert result.previous is None
    assert names(ctx) == ["Saved"]


def test_pruning_never_deletes_a_protected_backup(ctx: AppContext) -> None:
    backups = four_backups(ctx)
    deleted = prune_backups(ctx.backup_dir, keep=1, protect=[backups[0]])
    assert set(deleted) == {backups[1], backups[2]}
    assert list_backups(ctx.backup_dir) == [backups[3], backups[0]]
