"""Database backups through SQLite's online backup API, kept to a fixed count."""

from __future__ import annotations

import itertools
import logging
import os
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from osint_desktop.core.db.engine import BUSY_TIMEOUT_MS
from osint_desktop.core.private_files import PRIVATE_FOLDER, create_private

log = logging.getLogger(__name__)

BACKUP_GLOB = "osint-desktop-*.sqlite3"


def backup_sqlite(
    db_file: Path, backup_dir: Path, reason: str, keep: int = 7, protect: Iterable[Path] = ()
) -> Path:
    """Copy a live database consistently (readers and writers may be active) and prune old copies.

    Pruning never deletes the new copy nor any file in protect (a backup being restored).
    """
    backup_dir.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
    target = _new_backup_file(backup_dir, reason)
    try:
        source = sqlite3.connect(f"{db_file.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            dest = sqlite3.connect(target)
            try:
                source.backup(dest)
            finally:
                dest.close()
        finally:
            source.close()
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    prune_backups(backup_dir, keep, protect=[*protect, target])
    log.info("database backed up to %s (%s)", target, reason)
    return target


def _new_backup_file(backup_dir: Path, reason: str) -> Path:
    """Create an empty file of a name no other process holds, readable by the owner alone."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    for attempt in itertools.count():
        suffix = f"-{attempt}" if attempt else ""
        target = backup_dir / f"osint-desktop-{stamp}-{reason}{suffix}.sqlite3"
        try:
            # O_EXCL: two processes backing up in the same microsecond never share a file,
            # and the mode is private from the first byte (no window before a chmod).
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        os.close(fd)
        return target
    raise AssertionError("unreachable")


def list_backups(backup_dir: Path) -> list[Path]:
    """Backups, newest first."""
    if not backup_dir.is_dir():
        return []
    return sorted(backup_dir.glob(BACKUP_GLOB), key=lambda p: p.name, reverse=True)


def prune_backups(backup_dir: Path, keep: int, protect: Iterable[Path] = ()) -> list[Path]:
    """Delete all but the newest keep backups, never one in protect; returns those deleted."""
    kept = {path.resolve() for path in protect}
    deleted = []
    for old in list_backups(backup_dir)[max(keep, 1) :]:
        if old.resolve() in kept:
            continue
        old.unlink(missing_ok=True)
        deleted.append(old)
    return deleted


def open_read_only(path: Path) -> sqlite3.Connection:
    """Open a database file as a document nobody changes: no lock, no -wal or -shm beside it."""
    # mode=ro alone still creates -wal and -shm next to a WAL-mode file (and cannot remove
    # them), which littered backups/ after every restore; immutable=1 writes nothing at all.
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)


def copy_database(source: sqlite3.Connection, db_file: Path) -> None:
    """Replace db_file's content with source's in one write transaction (the backup API)."""
    # A restore where the database file is gone must not create it with the umask's mode.
    create_private(db_file)
    dest = sqlite3.connect(db_file, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        source.backup(dest)
    finally:
        dest.close()
