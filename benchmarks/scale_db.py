"""Builds large OSINT Desktop databases fast (bulk executemany, FTS5 rebuilt once) for the benchmarks."""

from __future__ import annotations

import bisect
import itertools
import json
import logging
import os
import random
import sqlite3
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.feeds import AUTHORS, RARE_WORDS, WORDS, article_html

GENERATOR_VERSION = 3  # 2: items belong to their tasks through item_tasks; 3: watches and alerts
SEED = 7_000_001
CHUNK = 50_000
FTS_TRIGGERS = ("items_fts_insert", "items_fts_delete", "items_fts_update")
# Items cover three years of collection, newest now-ish; ids grow with collection time.
SPAN = timedelta(days=3 * 365)
# Tasks point at the discard port on loopback: nothing here is ever fetched, and a run that
# slipped through could not reach the network.
DEAD_TARGET = "http://127.0.0.1:9/feeds/{task}-{number}.xml"
# The columns each builder fills, in its rows' order; later migrations' columns keep their defaults.
TASK_COLUMNS = (
    "id", "name", "source", "frequency", "targets", "active", "status", "last_run", "next_run",
    "created_at", "updated_at", "consecutive_failures", "last_error", "last_items_new", "note",
)
LOG_COLUMNS = (
    "id", "task_id", "started_at", "finished_at", "duration_s", "status", "trigger", "items_found",
    "items_new", "error", "details", "targets_total", "targets_done", "owner_host", "owner_pid",
    "owner_started", "heartbeat_at",
)
ITEM_COLUMNS = (
    "id", "task_id", "source", "dedup_key", "url", "title", "summary", "content_html", "author",
    "published_at", "collected_at", "origin",
)
WATCH_COLUMNS = (
    "id", "name", "query", "regex", "task_ids", "sources", "notify", "outbound", "active", "created_at",
    "updated_at",
)
ALERT_COLUMNS = ("id", "watch_id", "item_id", "log_id", "matched_at", "seen")
# About one item in 1,500 gets a rare word, so each rare word matches some tens of items.
RARE_CHANCE = 1 / 1500


@dataclass(frozen=True)
class ScaleSpec:
    """How big the database is."""

    tasks: int = 500
    logs: int = 100_000
    items: int = 1_000_000
    watches: int = 1_000
    alerts: int = 100_000


def _stamp(value: datetime) -> str:
    # SQLAlchemy's SQLite DATETIME storage format, naive UTC (see db.models.UTCDateTime).
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class _Words:
    """Zipf-weighted ordinary words (a few are in nearly every item, most in a few percent)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        weights = [1.0 / (rank + 1) for rank in range(len(WORDS))]
        self.cumulative = list(itertools.accumulate(weights))

    def text(self, count: int) -> list[str]:
        total = self.cumulative[-1]
        return [
            WORDS[bisect.bisect(self.cumulative, self.rng.random() * total)] for _ in range(count)
        ]


def _sentence(words: _Words, low: int, high: int) -> str:
    chosen = words.text(words.rng.randint(low, high))
    if words.rng.random() < RARE_CHANCE:
        chosen[words.rng.randrange(len(chosen))] = words.rng.choice(RARE_WORDS)
    text = " ".join(chosen)
    return text[0].upper() + text[1:]


def future_next_runs(count: int, now: datetime, rng: random.Random) -> list[str]:
    """Next runs spread over the coming days, none sooner than an hour from now."""
    return [_stamp(now + timedelta(hours=1, seconds=rng.randint(0, 6 * 86400))) for _ in range(count)]


def _task_rows(spec: ScaleSpec, rng: random.Random, now: datetime) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    next_runs = future_next_runs(spec.tasks, now, rng)
    for number in range(1, spec.tasks + 1):
        social = number % 10 == 0
        targets = (
            [f"{rng.choice(WORDS)} {rng.choice(WORDS)} lang:en" for _ in range(rng.randint(1, 4))]
            if social
            else [DEAD_TARGET.format(task=number, number=n) for n in range(rng.randint(2, 20))]
        )
        created = now - SPAN - timedelta(days=rng.randint(0, 30))
        rows.append(
            (
                number, f"Task {number:03d} {rng.choice(WORDS)} {rng.choice(WORDS)}",
                "social" if social else "news", rng.choice(("hourly", "hourly", "daily", "weekly")),
                json.dumps(targets), 1, "success", _stamp(now - timedelta(minutes=rng.randint(5, 600))),
                next_runs[number - 1], _stamp(created), _stamp(created), 0, None, rng.randint(0, 40), None,
            )
        )
    return rows


def _log_rows(spec: ScaleSpec, rng: random.Random, now: datetime, targets: dict[int, list[str]]) -> Iterator[
    tuple[object, ...]
]:
    start = now - SPAN
    step = SPAN / max(1, spec.logs)
    for number in range(1, spec.logs + 1):
        task_id = rng.randint(1, spec.tasks)
        started = start + step * number
        duration = rng.uniform(0.5, 40.0)
        roll = rng.random()
        status = "success" if roll < 0.9 else ("partial" if roll < 0.97 else "failed")
        task_targets = targets[task_id]
        details: list[dict[str, object]] = []
        new = 0
        for target in task_targets:
            # Same order of draws as ever, so a cached database stays the one this code builds.
            fresh = rng.randint(0, 5)
            details.append(
                {"target": target, "status": "200", "items": 20, "new": fresh, "error": None,
                 "elapsed_s": round(rng.uniform(0.1, 3.0), 3)}
            )
            new += fresh
        error = None
        if status != "success":
            details[0]["status"], details[0]["error"] = "error", "connection timed out after 10 s"
            error = f"1 of {len(task_targets)} targets failed: {task_targets[0]}: connection timed out"
        found = 20 * len(task_targets)
        yield (
            number, task_id, _stamp(started), _stamp(started + timedelta(seconds=duration)), duration,
            status, "scheduled" if rng.random() < 0.9 else "manual", found, new, error, json.dumps(details),
            len(task_targets), len(task_targets), "bench-host", 4242, 1.0, _stamp(started),
        )


def _item_rows(spec: ScaleSpec, rng: random.Random, now: datetime, targets: dict[int, list[str]]) -> Iterator[
    tuple[object, ...]
]:
    words = _Words(rng)
    start = now - SPAN
    step = SPAN / max(1, spec.items)
    # Article bodies come from a pool: building a million distinct ones would take minutes
    # and no query of the window reads them.
    pool = [article_html(rng, "pool.example.org", f"pool-{n}") for n in range(2000)]
    for number in range(1, spec.items + 1):
        task_id = rng.randint(1, spec.tasks)
        social = task_id % 10 == 0
        collected = start + step * number
        published = collected - timedelta(minutes=rng.randint(1, 600))
        origin = targets[task_id][0]
        title = _sentence(words, 6, 12)
        summary = ". ".join(_sentence(words, 8, 16) for _ in range(2)) + "."
        yield (
            number, task_id, "social" if social else "news", f"https://bench.example.org/a/{number}",
            f"https://bench.example.org/a/{number}", title, summary,
            None if social else pool[number % len(pool)], rng.choice(AUTHORS),
            _stamp(published), _stamp(collected), origin,
        )


def _watch_rows(spec: ScaleSpec, rng: random.Random, now: datetime) -> list[tuple[object, ...]]:
    """The watch_matching benchmark's mix of kinds; some scoped to tasks or a source, a few inactive."""
    from benchmarks.watch_matching import make_watches  # the app's imports: not in ui_scale's child

    rows: list[tuple[object, ...]] = []
    for number, watch in enumerate(make_watches(spec.watches), start=1):
        roll = rng.random()
        task_ids = sorted(rng.sample(range(1, spec.tasks + 1), rng.randint(1, 5))) if roll < 0.2 else []
        sources = ["social"] if 0.2 <= roll < 0.25 else []
        created = _stamp(now - SPAN + timedelta(days=rng.randint(0, 900)))
        rows.append(
            (
                number, watch.name, watch.query or "", watch.regex, json.dumps(task_ids), json.dumps(sources),
                int(rng.random() < 0.8), int(rng.random() < 0.05), int(rng.random() < 0.9), created, created,
            )
        )
    return rows


def _alert_rows(spec: ScaleSpec, rng: random.Random, now: datetime) -> list[tuple[object, ...]]:
    """Alerts skewed over the watches (Zipf: a few with thousands, most with a few dozen or none).

    Ids grow with matched_at, matched soon after the item was collected, by the run that
    collected it. Older alerts are mostly seen, the last weeks' mostly not, and one watch in
    twenty was never looked at (all unseen).
    """
    weights = [1.0 / (rank + 1) ** 1.1 for rank in range(spec.watches)]
    watch_ids = list(range(1, spec.watches + 1))
    rng.shuffle(watch_ids)
    neglected = set(rng.sample(watch_ids, spec.watches // 20))
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < min(spec.alerts, spec.watches * spec.items):
        watch = rng.choices(watch_ids, weights, k=1)[0]
        # Newer items a little more often: watches are younger than the collection.
        item = spec.items - int(spec.items * rng.random() ** 1.3)
        pairs.add((item, watch))
    start = now - SPAN
    step = SPAN / max(1, spec.items)
    recent = now - timedelta(days=21)
    rows: list[tuple[object, ...]] = []
    for number, (item, watch) in enumerate(sorted(pairs), start=1):
        matched = start + step * item + timedelta(seconds=rng.randint(1, 60))
        log_id = max(1, min(spec.logs, item * spec.logs // spec.items)) if spec.logs else None
        unseen = watch in neglected or rng.random() < (0.8 if matched > recent else 0.03)
        rows.append((number, watch, item, log_id, _stamp(matched), int(not unseen)))
    return rows


def _insert(
    conn: sqlite3.Connection, table: str, columns: Sequence[str], rows: Sequence[tuple[object, ...]]
) -> None:
    names, marks = ", ".join(columns), ", ".join("?" * len(columns))
    conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


def _chunks(rows: Iterator[tuple[object, ...]], size: int) -> Iterator[list[tuple[object, ...]]]:
    while True:
        chunk = list(itertools.islice(rows, size))
        if not chunk:
            return
        yield chunk


def _migrate(path: Path, home: Path) -> None:
    """Create the schema exactly as the app does (Alembic migrations)."""
    os.environ["OSINT_DESKTOP_HOME"] = str(home)
    from osint_desktop.app.context import AppContext

    ctx = AppContext.open(str(path), console_log=None, allow_new_database=True)
    ctx.close()


def build(path: Path, spec: ScaleSpec, home: Path, log: logging.Logger | None = None) -> float:
    """Create path with spec's rows; returns the seconds it took."""
    say = (log or logging.getLogger("bench")).info
    started = time.perf_counter()
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    _migrate(path, home)
    rng = random.Random(SEED)
    now = datetime.now(UTC)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")
        triggers = [
            sql for (sql,) in conn.execute(
                "SELECT sql FROM sqlite_master WHERE type='trigger' AND name IN (?, ?, ?) ORDER BY name",
                FTS_TRIGGERS,
            )
        ]
        if len(triggers) != len(FTS_TRIGGERS):
            raise RuntimeError(f"expected the FTS triggers of the initial migration, found {len(triggers)}")
        for name in FTS_TRIGGERS:
            conn.execute(f"DROP TRIGGER {name}")
        tasks = _task_rows(spec, rng, now)
        targets = {int(str(row[0])): json.loads(str(row[4])) for row in tasks}
        conn.execute("BEGIN")
        _insert(conn, "crawl_tasks", TASK_COLUMNS, tasks)
        conn.execute("COMMIT")
        say("tasks: %d", len(tasks))
        for chunk in _chunks(_log_rows(spec, rng, now, targets), CHUNK):
            conn.execute("BEGIN")
            _insert(conn, "crawl_logs", LOG_COLUMNS, chunk)
            conn.execute("COMMIT")
        say("logs: %d (%.0f s)", spec.logs, time.perf_counter() - started)
        done = 0
        for chunk in _chunks(_item_rows(spec, rng, now, targets), CHUNK):
            conn.execute("BEGIN")
            _insert(conn, "items", ITEM_COLUMNS, chunk)
            conn.execute("COMMIT")
            done += len(chunk)
            if done % 200_000 == 0:
                say("items: %d (%.0f s)", done, time.perf_counter() - started)
        # Each item belongs to the task that collected it, as a run records it (one task each).
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO item_tasks (item_id, task_id, first_seen_at) "
            "SELECT id, task_id, collected_at FROM items ORDER BY id"
        )
        conn.execute("COMMIT")
        say("item memberships (%.0f s)", time.perf_counter() - started)
        conn.execute("INSERT INTO items_fts(items_fts) VALUES('rebuild')")
        say("full-text index rebuilt (%.0f s)", time.perf_counter() - started)
        if spec.watches:
            conn.execute("BEGIN")
            _insert(conn, "watches", WATCH_COLUMNS, _watch_rows(spec, rng, now))
            for chunk in _chunks(iter(_alert_rows(spec, rng, now)), CHUNK):
                _insert(conn, "alerts", ALERT_COLUMNS, chunk)
            conn.execute("COMMIT")
            say("watches: %d, alerts: %d (%.0f s)", spec.watches, spec.alerts, time.perf_counter() - started)
        # The very statements the migration created, so the database is as the app left it.
        for sql in triggers:
            conn.execute(sql)
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    seconds = time.perf_counter() - started
    _meta_path(path).write_text(
        json.dumps({"version": GENERATOR_VERSION, "spec": asdict(spec), "build_s": round(seconds, 1)}),
        encoding="utf-8",
    )
    return seconds


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".bench.json")


def is_built(path: Path, spec: ScaleSpec) -> bool:
    """Whether path holds a finished database of this generator and spec."""
    try:
        meta = json.loads(_meta_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return path.exists() and meta.get("version") == GENERATOR_VERSION and meta.get("spec") == asdict(spec)


def reschedule_tasks(path: Path, now: datetime | None = None) -> int:
    """Move every task's next run into the future (a cached database ages between benchmarks)."""
    rng = random.Random(SEED + 1)
    now = now or datetime.now(UTC)
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        ids = [row[0] for row in conn.execute("SELECT id FROM crawl_tasks ORDER BY id")]
        stamps = future_next_runs(len(ids), now, rng)
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "UPDATE crawl_tasks SET next_run = ?, status = 'success', active = 1 WHERE id = ?",
            list(zip(stamps, ids, strict=True)),
        )
        conn.execute("COMMIT")
        return len(ids)
    finally:
        conn.close()


def log_to_stderr() -> None:
    """Show the builder's progress on stderr (and nothing from the app's loggers)."""
    bench = logging.getLogger("bench")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("  %(message)s"))
    bench.addHandler(handler)
    bench.setLevel(logging.INFO)
    bench.propagate = False



def counts(path: Path) -> dict[str, int]:
    """Rows per table."""
    conn = sqlite3.connect(path)
    try:
        return {
            table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in ("crawl_tasks", "crawl_logs", "items", "watches", "alerts")
        }
    finally:
        conn.close()


def ensure(path: Path, spec: ScaleSpec, home: Path, rebuild: bool = False) -> tuple[bool, float]:
    """Build path unless a finished one is cached there; returns (built now, seconds)."""
    if not rebuild and is_built(path, spec):
        to_head(path)
        return False, 0.0
    return True, build(path, spec, home)


def to_head(path: Path) -> bool:
    """Migrate a cached database to the app's schema (a new index, say); True if it moved.

    Without a backup: it is the benchmark's, and the next build makes it again.
    """
    from osint_desktop.core.db.engine import Database
    from osint_desktop.core.db.migrate import upgrade_to_head

    database = Database(f"sqlite:///{path}")
    try:
        return upgrade_to_head(database, None)
    finally:
        database.dispose()


def main(argv: Sequence[str] | None = None) -> None:
    """Build a database from the command line (the benchmarks call build/ensure themselves)."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("db", type=Path)
    parser.add_argument("--tasks", type=int, default=ScaleSpec.tasks)
    parser.add_argument("--logs", type=int, default=ScaleSpec.logs)
    parser.add_argument("--items", type=int, default=ScaleSpec.items)
    parser.add_argument("--watches", type=int, default=ScaleSpec.watches)
    parser.add_argument("--alerts", type=int, default=ScaleSpec.alerts)
    args = parser.parse_args(argv)
    log_to_stderr()
    with tempfile.TemporaryDirectory() as home:
        spec = ScaleSpec(args.tasks, args.logs, args.items, args.watches, args.alerts)
        seconds = build(args.db, spec, Path(home))
    print(f"built {args.db} in {seconds:.0f} s: {counts(args.db)}")


if __name__ == "__main__":
    main()
