"""Housekeeping: log and evidence retention, clearing logs, and database backups on a schedule."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete

from osint_desktop.core.config import Settings
from osint_desktop.core.db.backup import backup_sqlite, list_backups
from osint_desktop.core.db.engine import Database, sqlite_path
from osint_desktop.core.db.models import CrawlLog
from osint_desktop.core.timeutil import utcnow
from osint_desktop.core.vocabulary import RunStatus

log = logging.getLogger(__name__)


def prune_logs(db: Database, older_than_days: int) -> int:
    """Delete finished logs older than the retention period; items are kept."""
    if older_than_days <= 0:
        return 0
    cutoff = utcnow() - timedelta(days=older_than_days)
    with db.write() as session:
        result = session.execute(
            delete(CrawlLog).where(CrawlLog.started_at < cutoff, CrawlLog.status != RunStatus.RUNNING)
        )
        count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        log.info("pruned %d logs older than %d days", count, older_than_days)
    return count


def clear_task_logs(db: Database, task_id: int) -> int:
    """Delete every finished log of one task."""
    with db.write() as session:
        result = session.execute(
            delete(CrawlLog).where(CrawlLog.task_id == task_id, CrawlLog.status != RunStatus.RUNNING)
        )
        return int(getattr(result, "rowcount", 0) or 0)


def backup_now(db: Database, backup_dir: Path, keep: int, reason: str = "manual") -> Path:
    """An online backup of the SQLite database; other databases are backed up by their server."""
    path = sqlite_path(db.url)
    if path is None:
        raise ValueError(
            "backups are made for SQLite databases only; back up a database server with its own tools"
        )
    return backup_sqlite(path, backup_dir, reason, keep)


def backup_if_due(db: Database, backup_dir: Path, keep: int, interval_hours: int) -> Path | None:
    """Make the scheduled backup when the newest one is older than the interval."""
    if interval_hours <= 0 or sqlite_path(db.url) is None:
        return None
    newest = next(iter(list_backups(backup_dir)), None)
    if newest is not None:
        age_s = utcnow().timestamp() - newest.stat().st_mtime
        if age_s < interval_hours * 3600:
            return None
    return backup_now(db, backup_dir, keep, reason="scheduled")


def run_maintenance(
    db: Database,
    backup_dir: Path,
    settings: Settings,
    evidence: Callable[[], None] | None = None,
) -> None:
    """The hourly housekeeping of a long-running app: retention, then a backup when due.

    evidence applies the evidence retention (it needs the context's folder, writer and
    operator); a failure there is logged like the others and stops nothing else.
    """
    if evidence is not None:
        try:
            evidence()
        except Exception:  # as below: housekeeping never takes the scheduler down
            log.exception("evidence retention failed")
    try:
        prune_logs(db, settings.log_retention_days)
        backup_if_due(db, backup_dir, settings.backup_keep, settings.backup_interval_hours)
    except Exception:  # housekeeping must never take the scheduler down; the log says why
        log.exception("maintenance failed")
