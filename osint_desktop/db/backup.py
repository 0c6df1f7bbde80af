"""Database backups through SQLite's online backup API, kept to a fixed count."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger("osint_desktop.db")

BACKUP_GLOB = "osint-desktop-*.sqlite3"


def backup_sqlite(db_file: Path, backup_dir: Path, reason: str, keep: int = 7) -> Path:
    """Copy a live database consistently (readers and writers may be active) and prune old copies."""
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = backup_dir / f"osint-desktop-{stamp}-{reason}.sqlite3"
    source = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=30)
    try:
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)
        finally:
            dest.close()
    finally:
        source.close()
    target.chmod(0o600)
    prune_backups(backup_dir, keep)
    log.info("database backed up to %s (%s)", target, reason)
    return target


def list_backups(backup_dir: Path) -> list[Path]:
    """Backups, newest first."""
    if not backup_dir.is_dir():
        return []
    return sorted(backup_dir.glob(BACKUP_GLOB), key=lambda p: p.name, reverse=True)


def prune_backups(backup_dir: Path, keep: int) -> None:
    """Delete all but the newest keep backups."""
    for old in list_backups(backup_dir)[max(keep, 1) :]:
        old.unlink(missing_ok=True)


def restore_sqlite(backup_file: Path, db_file: Path) -> None:
    """Replace the database's content with a backup's, through the backup API."""
    source = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    try:
        check = source.execute("PRAGMA integrity_check").fetchone()
        if not check or check[0] != "ok":
            raise ValueError(f"backup {backup_file.name} is damaged: {check}")
        dest = sqlite3.connect(db_file, timeout=30)
        try:
            source.backup(dest)
        finally:
            dest.close()
    finally:
        source.close()
