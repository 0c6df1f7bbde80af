"""A database that is missing, read-only, locked, damaged or on a full disk: a clear way out, nothing lost."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli
from tests.feedserver import FeedServer
from tests.helpers import FAST_SETTINGS, WORLD, WORLD_ENTRIES, db_file, write_settings


def _chattr(path: Path, flag: str) -> bool:
    if shutil.which("chattr") is None:
        return False
    return subprocess.run(["chattr", flag, str(path)], capture_output=True, check=False).returncode == 0


def test_missing_database_is_reported_not_replaced(cli: Cli, seeded: Path) -> None:
    database = db_file(seeded)
    database.unlink()
    for suffix in ("-wal", "-shm"):
        Path(str(database) + suffix).unlink(missing_ok=True)
    result = cli("list-tasks")
    assert result.code == 1
    message = result.json["message"]
    assert "missing" in message and "backup" in message and "--new-database" in message
    assert not database.exists(), "an empty database was created over the user's data"
    fresh = cli("--new-database", "list-tasks")
    assert fresh.code == 0 and fresh.json["tasks"] == []


def test_backup_then_restore_brings_the_data_back(cli: Cli, seeded: Path) -> None:
    backup = cli("backup")
    assert backup.code == 0
    saved = Path(backup.json["path"])
    assert saved.exists() and saved.parent == seeded / "backups"
    assert cli("add-task", "--name", "Later", "--source", "news", "--frequency", "daily",
               "--target", "https://later.example/rss").code == 0
    before = len(cli("list-tasks").json["tasks"])  # the seeded ones and "Later"
    restored = cli("restore")
    assert restored.code == 0, restored.stdout
    names = [task["name"] for task in cli("list-tasks").json["tasks"]]
    assert "Later" not in names and len(names) == before - 1
    assert Path(restored.json["previous"]).exists()


def test_damaged_database_gets_a_clear_message(cli: Cli, seeded: Path) -> None:
    database = db_file(seeded)
    data = bytearray(database.read_bytes())
    data[4096:] = b"\x41" * (len(data) - 4096)
    database.write_bytes(bytes(data))
    Path(str(database) + "-wal").unlink(missing_ok=True)
    result = cli("list-tasks")
    assert result.code == 1
    assert "damaged" in result.json["message"] and "backup" in result.json["message"]


def test_not_a_database_file_is_refused(cli: Cli, cli_home: Path) -> None:
    other = cli_home / "notes.sqlite3"
    other.write_text("these are my notes, not a database\n" * 10)
    result = cli("--db", str(other), "list-tasks")
    assert result.code == 1
    assert "not a SQLite file" in result.json["message"]
    assert other.read_text().startswith("these are my notes")


def test_locked_database_is_reported(cli: Cli, seeded: Path) -> None:
    holder = sqlite3.connect(db_file(seeded), isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        result = cli("list-tasks")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.code == 1
    assert "locked by another program" in result.json["message"]


@pytest.fixture
def immutable_db(seeded: Path) -> Iterator[Path]:
    database = db_file(seeded)
    # Root ignores file modes; the immutable attribute stops even root from writing.
    if not _chattr(database, "+i"):
        pytest.skip("chattr +i is not available on this file system")
    try:
        yield database
    finally:
        _chattr(database, "-i")


def test_read_only_database_is_reported(cli: Cli, immutable_db: Path) -> None:
    result = cli("list-tasks")
    assert result.code == 1
    assert "read-only" in result.json["message"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small-disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small file system needs root")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
                          capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot mount tmpfs: {made.stderr!r}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_fails_the_run_cleanly_and_keeps_earlier_data(
    cli: Cli, cli_home: Path, small_disk: Path, server: FeedServer
) -> None:
    database = small_disk / "osint.sqlite3"
    write_settings(cli_home, **FAST_SETTINGS)
    server.add_file("/world.xml", WORLD)
    first = cli("--db", str(database), "add-task", "--name", "World", "--source", "news",
                "--frequency", "hourly", "--target", server.url("/world.xml"))
    task_id = first.json["task_id"]
    assert cli("--db", str(database), "run-task", str(task_id)).json["items_new"] == WORLD_ENTRIES
    # Leave the start-up room to breathe (the -shm file), not the run room for its items.
    filler = small_disk / "filler"
    with filler.open("wb", buffering=0) as handle:
        while os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize > 160 * 1024:
            handle.write(b"\0" * 4096)
    big_entries = "".join(
        f"<item><title>Big {n}</title><guid>big-{n}</guid><description>{'x' * 2000}</description></item>"
        for n in range(200)
    )
    big_feed = f"<rss version='2.0'><channel><title>t</title>{big_entries}</channel></rss>"
    server.add_bytes("/world.xml", big_feed.encode())
    full = cli("--db", str(database), "run-task", str(task_id))
    assert full.code == 1
    assert "disk is full" in full.json["message"] or "disk is full" in (full.json.get("error") or "")
    filler.unlink()
    listed = cli("--db", str(database), "list-tasks")
    assert listed.code == 0
    assert listed.json["tasks"][0]["status"] != "running"
    conn = sqlite3.connect(database)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (WORLD_ENTRIES,)
    finally:
        conn.close()
