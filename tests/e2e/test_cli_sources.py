"""`sources` as a user runs it: every target with its health, filtered by state, after real runs."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from osint_desktop.core.timeutil import utcnow
from tests.e2e.conftest import Cli
from tests.feedserver import FeedServer
from tests.helpers import db_file

DAY = timedelta(days=1)


def daily_feed(count: int, newest: datetime) -> bytes:
    """An RSS feed of count entries published a day apart."""
    entries = "".join(
        f"<item><title>Entry {n}</title><link>https://daily.example/{n}</link>"
        f"<guid isPermaLink='false'>urn:daily:{n}</guid>"
        f"<pubDate>{format_datetime(newest - DAY * n, usegmt=True)}</pubDate></item>"
        for n in range(count)
    )
    return (
        "<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel><title>Daily</title>"
        f"<link>https://daily.example/</link><description>d</description>{entries}</channel></rss>"
    ).encode()


def backdate_last_new(home: Path, target: str, by: timedelta) -> None:
    """What another program could do to the file: the target's last new item, days earlier."""
    # The stored form of a time: naive UTC, as SQLAlchemy writes it to SQLite.
    moment = (utcnow() - by).replace(tzinfo=None).isoformat(sep=" ")
    conn = sqlite3.connect(db_file(home), timeout=30)
    try:
        with conn:
            conn.execute("UPDATE target_states SET last_new_at = ? WHERE target = ?", (moment, target))
    finally:
        conn.close()


def targets_of(cli: Cli, *args: str) -> list[str]:
    result = cli("sources", *args)
    assert result.code == 0, result.stderr
    data = result.json
    assert data["status"] == "success"
    return [entry["target"] for entry in data["sources"]]


def test_sources_lists_every_target_and_filters_by_state(
    cli: Cli, cli_home: Path, server: FeedServer
) -> None:
    server.add_bytes("/daily.xml", daily_feed(6, utcnow() - timedelta(hours=3)))
    server.add_status("/down.xml", 500)
    daily, down = server.url("/daily.xml"), server.url("/down.xml")
    never = server.url("/never.xml")
    added = cli("add-task", "--name", "Watched", "--source", "news", "--frequency", "hourly",
                "--target", daily, "--target", down)
    assert added.code == 0, added.stderr
    task_id = added.json["task_id"]
    # This task never runs: its target must be listed all the same.
    other = cli("add-task", "--name", "Later", "--source", "news", "--frequency", "daily",
                "--target", never, "--inactive")
    other_id = other.json["task_id"]

    listed = cli("sources")
    assert listed.code == 0
    data = listed.json
    assert data["status"] == "success"
    assert [(e["task_id"], e["target"]) for e in data["sources"]] == [
        (task_id, daily), (task_id, down), (other_id, never),
    ]
    assert {e["state"] for e in data["sources"]} == {"ok"}
    assert {e["reason"] for e in data["sources"]} == {"not fetched yet"}
    assert set(data["sources"][0]) == {
        "task_id", "task_name", "source", "target", "title", "state", "reason", "last_success_at",
        "last_new_at", "consecutive_failures", "items_per_week", "usual_interval_s", "last_error",
        "changed_at",
    }

    # run-task from the command line asks every target each time: three failures in a row.
    for _ in range(3):
        assert cli("run-task", str(task_id)).code in (0, 1)
    assert targets_of(cli, "--state", "failing") == [down]
    assert targets_of(cli, "--state", "quiet") == []

    backdate_last_new(cli_home, daily, 4 * DAY)
    cli("run-task", str(task_id))
    quiet = cli("sources", "--task", str(task_id), "--state", "quiet")
    assert quiet.code == 0
    [entry] = quiet.json["sources"]
    assert entry["target"] == daily and entry["task_name"] == "Watched"
    assert entry["reason"] == "nothing new for 4 days (usually every 1 day)"
    assert entry["usual_interval_s"] == 86400
    assert entry["last_new_at"].endswith("Z") and entry["changed_at"].endswith("Z")
    assert quiet.json["task_id"] == task_id
    assert targets_of(cli, "--state", "failing") == [down]
    failing = cli("sources", "--state", "failing").json["sources"][0]
    assert failing["consecutive_failures"] == 4
    assert failing["last_error"].startswith("HTTP 500")
    assert targets_of(cli, "--task", str(other_id)) == [never]
    everything = cli("sources").json
    assert "1 failing" in everything["message"] and "1 quiet" in everything["message"]


def test_a_state_that_is_none_of_the_words_is_a_usage_error(cli: Cli, cli_home: Path) -> None:
    result = cli("sources", "--state", "broken")
    assert result.code == 2
    assert result.stdout == ""
    assert "invalid choice" in result.stderr and "failing" in result.stderr
    assert not db_file(cli_home).exists()  # refused before the database is opened


def test_an_unknown_task_is_the_same_error_as_elsewhere(cli: Cli, cli_home: Path) -> None:
    result = cli("sources", "--task", "999")
    assert result.code == 1
    data = result.json
    assert data["status"] == "error"
    assert data["task_id"] == 999
    assert data["message"] == cli("items", "--task", "999").json["message"]
