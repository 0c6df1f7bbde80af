"""A cheap answer to "has another process changed the database?", for windows that poll it."""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from osint_desktop.core.db.engine import Database, sqlite_path

log = logging.getLogger(__name__)

# One row of indexed look-ups (max/min of primary keys, a tiny tasks table, the running runs
# through ix_crawl_logs_status): the same SQL on SQLite and PostgreSQL, milliseconds at most.
FINGERPRINT_SQL = """
SELECT
    (SELECT count(*) FROM crawl_tasks),
    (SELECT max(updated_at) FROM crawl_tasks),
    (SELECT min(id) FROM crawl_logs),
    (SELECT max(id) FROM crawl_logs),
    (SELECT count(*) FROM crawl_logs WHERE status = 'running'),
    (SELECT coalesce(sum(targets_done), 0) FROM crawl_logs WHERE status = 'running'),
    (SELECT min(id) FROM items),
    (SELECT max(id) FROM items)
"""
# The GUI thread asks; it must never wait long for a lock (a restore holds one for a while).
PROBE_BUSY_TIMEOUT_MS = 50


@dataclass(frozen=True)
class Changes:
    """What changed since the last look: each flag tells a page whether to refresh."""

    tasks: bool = False  # a task was added, changed, deleted, or ran
    logs: bool = False  # a run started, progressed, finished, or logs were pruned
    runs: bool = False  # a run started or finished (what the overview counts)
    items: bool = False  # items were stored (or a task ran: it may have joined stored items)

    @property
    def any(self) -> bool:
        """Whether anything changed."""
        return self.tasks or self.logs or self.runs or self.items


NOTHING = Changes()


@dataclass(frozen=True)
class _Fingerprint:
    tasks: tuple[Any, ...]
    runs: tuple[Any, ...]
    progress: tuple[Any, ...]
    items: tuple[Any, ...]

    @classmethod
    def from_row(cls, row: tuple[Any, ...] | Any) -> _Fingerprint:
        tasks, updated, first_log, last_log, running, done, first_item, last_item = row
        return cls((tasks, str(updated)), (first_log, last_log, running), (done,), (first_item, last_item))

    def compared_to(self, before: _Fingerprint | None) -> Changes:
        if before is None:
            return Changes(True, True, True, True)
        tasks = self.tasks != before.tasks
        runs = self.runs != before.runs
        return Changes(
            tasks=tasks,
            logs=runs or self.progress != before.progress,
            runs=runs,
            # A run that only found items stored before adds them to its task (no new item
            # id); it also updates its task, so a task change refreshes the items too.
            items=self.items != before.items or tasks,
        )


class ChangeProbe:
    """Tells whether the database changed since the previous call, as cheaply as it can.

    On a SQLite file: PRAGMA data_version on a connection of its own, which changes when
    any other connection commits (other processes, and this one's other connections), and
    costs microseconds; only then the fingerprint query says what changed. Elsewhere: the
    fingerprint query itself, a handful of index look-ups.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._conn: Any = None
        self._version: int | None = None
        self._last: _Fingerprint | None = None
        self._use_data_version = sqlite_path(db.url) is not None
        self._finalizer: weakref.finalize[Any, ChangeProbe] | None = None
        try:
            self._last = self._fingerprint()
        except Exception as exc:
            log.warning("the database cannot be watched for changes yet: %s", exc)

    @property
    def cheap(self) -> bool:
        """Whether a call costs microseconds (fine on the GUI thread) rather than a round trip."""
        return self._use_data_version

    def changes(self) -> Changes:
        """What changed since the previous call (or creation); raises if the database cannot tell."""
        if self._use_data_version:
            try:
                version = self._data_version()
            except Exception:
                # A broken connection (the file was replaced, say): a new one next time.
                self.close()
                raise
            if version == self._version:
                return NOTHING
            self._version = version
        now = self._fingerprint()
        changed = now.compared_to(self._last)
        self._last = now
        return changed

    def close(self) -> None:
        """Let go of the probe's connection."""
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None
        self._conn = None
        self._version = None

    def _fingerprint(self) -> _Fingerprint:
        if self._use_data_version:
            cursor = self._connection().cursor()
            try:
                return _Fingerprint.from_row(cursor.execute(FINGERPRINT_SQL).fetchone())
            finally:
                cursor.close()
        with self._db.read() as session:
            return _Fingerprint.from_row(tuple(session.execute(text(FINGERPRINT_SQL)).one()))

    def _data_version(self) -> int:
        cursor = self._connection().cursor()
        try:
            return int(cursor.execute("PRAGMA data_version").fetchone()[0])
        finally:
            cursor.close()

    def _connection(self) -> Any:
        # Its own connection, kept open: data_version compares commits with what THIS
        # connection saw last. Detached from the pool, so its short busy timeout stays its own.
        if self._conn is None:
            proxy = self._db.engine.raw_connection()
            proxy.detach()
            # Closed with the probe at the latest, never left to the garbage collector's thread.
            self._finalizer = weakref.finalize(self, proxy.close)
            conn: Any = proxy.dbapi_connection
            conn.execute(f"PRAGMA busy_timeout={PROBE_BUSY_TIMEOUT_MS}")
            self._conn = conn
        return self._conn
