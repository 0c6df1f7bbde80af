"""Team mode: three headless collectors on one PostgreSQL database run every due slot exactly once.

Real processes (`python -m osint_desktop --db <url> headless`), a real server, loopback feeds.
Each collector poses as its own machine ($OSINT_DESKTOP_HOST), so a killed one is judged by
its stale heartbeat, as on another host; the heartbeat interval is shortened to keep it quick.
"""

from __future__ import annotations

import functools
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from osint_desktop.app.context import AppContext
from osint_desktop.app.recovery import HEARTBEAT_ENV, HOST_ENV
from osint_desktop.app.scheduling import CLOCK_CHECK_S
from osint_desktop.app.tasks import create_task
from osint_desktop.core.db.engine import Database
from osint_desktop.core.timeutil import utcnow
from tests.conftest import REPO, MemoryKeyring
from tests.e2e.conftest import cli_env, command
from tests.feedserver import FeedServer
from tests.helpers import FAST_SETTINGS, wait_until, write_settings

COLLECTORS = 3
TASKS = 60
ROUNDS = 3
ITEMS_PER_FEED = 3
HEARTBEAT_S = 4.0
WORKERS_PER_COLLECTOR = 4
# In the kill round every feed answers this late, so that runs are in flight when one dies.
SLOW_FEED_S = 3.0
ROUND_TIMEOUT_S = 60.0
# A round of 60 loopback runs takes a few seconds; without the server's notifications the
# collectors would notice the tasks due only at their next clock check (CLOCK_CHECK_S, 60 s).
ROUND_WITHIN_S = 20.0
# The kill round makes as many tasks due as the collectors have workers: all run at once, so
# the survivors have a free worker when the dead one's tasks are freed. (When every worker is
# busy, a freed task waits for one, as any due task does.)
KILL_ROUND_TASKS = COLLECTORS * WORKERS_PER_COLLECTOR
# Two heartbeat intervals (README), plus the moment a notification, a look at the database and
# a claim take on a busy test machine.
RECOVERED_WITHIN_S = 2 * HEARTBEAT_S + 1.0
RERUN_WITHIN_S = 2 * HEARTBEAT_S + 2.0

pytestmark = [pytest.mark.slow]


@dataclass
class Collector:
    """One headless collector process, its host name and its console."""

    host: str
    process: subprocess.Popen[str]
    console: Path

    def stop(self) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        stdout, _ = self.process.communicate(timeout=60)
        return self.process.returncode, stdout


def feed(task: int, round_: int) -> bytes:
    """A small RSS feed whose entries are new in each round (so each run stores items)."""
    entries = "".join(
        f"<item><title>Task {task} round {round_} entry {n}</title>"
        f"<link>https://team.example.org/{task}/{round_}/{n}</link>"
        f"<guid isPermaLink='false'>urn:team:{task}:{round_}:{n}</guid></item>"
        for n in range(ITEMS_PER_FEED)
    )
    return (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>Feed {task}</title>"
        f"<link>https://team.example.org/{task}</link><description>d</description>{entries}"
        "</channel></rss>"
    ).encode()


def serve_round(server: FeedServer, round_: int, slow: bool = False) -> None:
    for task in range(TASKS):
        body = feed(task, round_)
        if slow:
            server.add_slow(f"/feed{task}.xml", body, delay_s=SLOW_FEED_S)
        else:
            server.add_bytes(f"/feed{task}.xml", body)


def start_collector(tmp_path: Path, url: str, number: int) -> Collector:
    home = tmp_path / f"collector-{number}"
    # One parser in-process: three collectors with a process pool each would crowd the machine.
    write_settings(
        home,
        **{**FAST_SETTINGS, "read_timeout_s": SLOW_FEED_S * 3, "target_deadline_s": SLOW_FEED_S * 5},
        max_concurrent_crawls=WORKERS_PER_COLLECTOR,
        parse_workers=1,
    )
    host = f"collector-{number}"
    env = cli_env(home, **{HEARTBEAT_ENV: str(HEARTBEAT_S), HOST_ENV: host})
    console = home / "console.txt"
    with console.open("w") as stderr:
        process = subprocess.Popen(
            command("--db", url, "headless"), cwd=REPO, env=env,
            stdout=subprocess.PIPE, stderr=stderr, text=True,
        )
    return Collector(host, process, console)


def rows(db: Database, sql: str, **params: Any) -> list[Any]:
    with db.read() as session:
        return list(session.execute(text(sql), params).all())


def listening(db: Database) -> int:
    [(count,)] = rows(
        db,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND query LIKE 'LISTEN osint_desktop_changes%'",
    )
    return int(count)


def make_due(db: Database, count: int = TASKS) -> datetime:
    """The first count tasks due at one slot, as if an hour had passed; returns when.

    One statement, so one notification; the runs of this round are those started since then.
    """
    now = utcnow()
    with db.write() as session:
        session.execute(
            text(
                "UPDATE crawl_tasks SET next_run = :slot"
                " WHERE id IN (SELECT id FROM crawl_tasks ORDER BY id LIMIT :count)"
            ),
            {"slot": (now - timedelta(seconds=1)).replace(tzinfo=None), "count": count},
        )
    return now


def round_done(db: Database, since: datetime, due: int = TASKS) -> bool:
    [(running, finished, moved_on)] = rows(
        db,
        "SELECT (SELECT count(*) FROM crawl_logs WHERE status = 'running'),"
        " (SELECT count(DISTINCT task_id) FROM crawl_logs WHERE started_at >= :since AND status = 'success'),"
        " (SELECT count(*) FROM crawl_tasks WHERE next_run > :since)",
        since=since.replace(tzinfo=None),
    )
    return bool(running == 0 and finished == due and moved_on == TASKS)


def runs_per_task(db: Database, since: datetime) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = {}
    for task_id, status, host in rows(
        db,
        "SELECT task_id, status, owner_host FROM crawl_logs WHERE started_at >= :since ORDER BY id",
        since=since.replace(tzinfo=None),
    ):
        found.setdefault(int(task_id), []).append((str(status), str(host)))
    return found


@pytest.fixture
def team_db(pg_url: str, home: Path, memory_keyring: MemoryKeyring) -> Iterator[Database]:
    """The shared database, migrated as a first start does; the test's own connections to it."""
    ctx = AppContext.open(pg_url, console_log=None)
    ctx.close()
    db = Database(pg_url)
    yield db
    db.dispose()


def test_three_collectors_run_each_due_slot_once_and_take_over_a_killed_ones_runs(
    tmp_path: Path, pg_url: str, team_db: Database
) -> None:
    with FeedServer() as server, ExitStack() as stack:
        serve_round(server, 0)
        for task in range(TASKS):
            create_task(team_db, f"Feed {task}", "news", "hourly", [server.url(f"/feed{task}.xml")])
        with team_db.write() as session:  # not due before every collector listens
            session.execute(text("UPDATE crawl_tasks SET next_run = :later"),
                            {"later": (utcnow() + timedelta(days=1)).replace(tzinfo=None)})
        collectors = [start_collector(tmp_path, pg_url, n) for n in range(COLLECTORS)]
        for collector in collectors:
            stack.callback(_kill_quietly, collector.process)
        assert wait_until(lambda: listening(team_db) == COLLECTORS, timeout_s=60), _consoles(collectors)

        # Several rounds of "all due": every task runs exactly once per slot, somewhere.
        hosts_used: set[str] = set()
        for round_ in range(ROUNDS):
            serve_round(server, round_)
            began = time.monotonic()
            since = make_due(team_db)
            assert wait_until(functools.partial(round_done, team_db, since), timeout_s=ROUND_TIMEOUT_S), (
                round_, runs_per_task(team_db, since), _consoles(collectors)
            )
            took = time.monotonic() - began
            per_task = runs_per_task(team_db, since)
            assert len(per_task) == TASKS
            not_once = {task: runs for task, runs in per_task.items() if [s for s, _ in runs] != ["success"]}
            assert not_once == {}
            hosts_used |= {host for runs in per_task.values() for _, host in runs}
            assert took < ROUND_WITHIN_S < CLOCK_CHECK_S
        # The work was shared, not done by one collector while the others only lost claims.
        assert len(hosts_used) >= 2
        assert rows(team_db, "SELECT status, count(*) FROM crawl_logs GROUP BY status") == [
            ("success", ROUNDS * TASKS)
        ]
        _assert_items_stored_once(team_db, ROUNDS)

        # A collector dies (SIGKILL) with runs in flight: the others mark them interrupted and
        # run those tasks again within two heartbeat intervals.
        serve_round(server, ROUNDS, slow=True)
        victim, survivors = collectors[0], collectors[1:]
        since = make_due(team_db, KILL_ROUND_TASKS)
        assert wait_until(
            lambda: _running_on(team_db, victim.host) >= 1, timeout_s=ROUND_TIMEOUT_S
        ), _consoles(collectors)
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait(timeout=30)
        killed_at = time.monotonic()
        killed_on_the_clock = utcnow().replace(tzinfo=None)
        assert wait_until(lambda: _running_on(team_db, victim.host) == 0, timeout_s=ROUND_TIMEOUT_S)
        recovered_after = time.monotonic() - killed_at
        assert recovered_after < RECOVERED_WITHIN_S
        done = functools.partial(round_done, team_db, since, KILL_ROUND_TASKS)
        assert wait_until(done, timeout_s=ROUND_TIMEOUT_S), (
            runs_per_task(team_db, since), _consoles(collectors)
        )
        per_task = runs_per_task(team_db, since)
        assert len(per_task) == KILL_ROUND_TASKS
        interrupted = {task for task, runs in per_task.items() if ("interrupted", victim.host) in runs}
        assert interrupted, per_task
        for task, runs in per_task.items():
            if task in interrupted:
                # The dead one's run, then one run by a survivor; nothing else.
                assert len(runs) == 2 and runs[0] == ("interrupted", victim.host), runs
                assert runs[1][0] == "success" and runs[1][1] != victim.host, runs
            else:
                assert [status for status, _ in runs] == ["success"], runs
        reruns = rows(
            team_db,
            "SELECT min(started_at) FROM crawl_logs WHERE started_at >= :since AND status = 'success'"
            " AND task_id IN (SELECT task_id FROM crawl_logs WHERE status = 'interrupted') GROUP BY task_id",
            since=since.replace(tzinfo=None),
        )
        latest_rerun = max(started for (started,) in reruns)
        assert (latest_rerun - killed_on_the_clock).total_seconds() < RERUN_WITHIN_S
        [(message,)] = rows(team_db, "SELECT DISTINCT error FROM crawl_logs WHERE status = 'interrupted'")
        assert f"on {victim.host}" in message

        # Nothing is left running, no skipped row was ever written, each item is stored once.
        left = "SELECT count(*) FROM crawl_logs WHERE status IN ('running', 'skipped')"
        assert rows(team_db, left) == [(0,)]
        assert rows(team_db, "SELECT count(*) FROM crawl_tasks WHERE status = 'running'") == [(0,)]
        _assert_items_stored_once(team_db, ROUNDS, KILL_ROUND_TASKS)
        for collector in survivors:
            code, stdout = collector.stop()
            assert code == 0, _consoles(collectors)
            assert '"lost_claims"' in stdout
            assert "Traceback" not in collector.console.read_text()
        # The console names the database, never a password (there is none here; see test_secrets).
        assert "headless scheduler running on collector-1" in survivors[0].console.read_text()


def _assert_items_stored_once(db: Database, rounds: int, more_tasks: int = 0) -> None:
    expected = (rounds * TASKS + more_tasks) * ITEMS_PER_FEED
    [(items, keys)] = rows(db, "SELECT count(*), count(DISTINCT (source, dedup_key)) FROM items")
    assert (items, keys) == (expected, expected)
    [(memberships,)] = rows(db, "SELECT count(*) FROM item_tasks")
    assert memberships == expected


def _running_on(db: Database, host: str) -> int:
    [(count,)] = rows(db, "SELECT count(*) FROM crawl_logs WHERE status = 'running' AND owner_host = :host",
                      host=host)
    return int(count)


def _consoles(collectors: list[Collector]) -> str:
    return "\n".join(f"--- {c.host}:\n{c.console.read_text()[-3000:]}" for c in collectors)


def _kill_quietly(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
    process.communicate(timeout=30)

