"""Every subcommand of the command line run as a subprocess, with its JSON, exit codes and refusals."""

from __future__ import annotations

import csv
import io
import json
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from osint_desktop.core.db.queries import ITEM_FIELDS
from osint_desktop.core.timeutil import parse_iso
from tests.conftest import REPO
from tests.e2e.conftest import Cli, cli_env, command
from tests.feedserver import FeedServer
from tests.helpers import (
    FAKE_TOKEN,
    FAST_SETTINGS,
    RDF,
    RDF_ENTRIES,
    REFUSED_URL,
    SECURITY,
    SECURITY_ENTRIES,
    WORLD,
    WORLD_ENTRIES,
    db_file,
    query_db,
    wait_until,
    write_settings,
)

# DESIGN.md's three, then those added when issue 11 split the social default by source.
DEFAULT_NAMES = [
    "Hourly News Crawl",
    "Daily Social Media Crawl",
    "Weekly Security News Crawl",
    "Daily Telegram Security Channels",
    "X searches",
]
TASK_KEYS = {"id", "name", "source", "frequency", "status", "active", "last_run", "next_run", "targets"}
LOG_KEYS = {"id", "task_id", "started_at", "finished_at", "duration_s", "status", "trigger",
            "items_found", "items_new", "error", "details"}
DETAIL_KEYS = {"target", "status", "items", "error", "elapsed_s"}
ITEM_KEYS = {"id", "task_id", "source", "url", "title", "summary", "author", "published_at",
             "collected_at", "origin"}


def add_news_task(cli: Cli, name: str, *urls: str, frequency: str = "hourly") -> int:
    args = ["add-task", "--name", name, "--source", "news", "--frequency", frequency]
    for url in urls:
        args += ["--target", url]
    result = cli(*args)
    assert result.code == 0, result.stderr
    data = result.json
    assert data["status"] == "success"
    task_id = data["task_id"]
    assert isinstance(task_id, int)
    assert data["task"]["id"] == task_id
    return task_id


def tasks_by_name(cli: Cli) -> dict[str, dict[str, Any]]:
    result = cli("list-tasks")
    assert result.code == 0
    return {task["name"]: task for task in result.json["tasks"]}


def database_rows(home: Path) -> tuple[list[tuple[Any, ...]], ...]:
    if not db_file(home).exists():
        return ([], [], [])
    return (
        query_db(home, "SELECT * FROM crawl_tasks ORDER BY id"),
        query_db(home, "SELECT * FROM crawl_logs ORDER BY id"),
        query_db(home, "SELECT * FROM items ORDER BY id"),
    )


def assert_iso_utc(value: object) -> None:
    assert isinstance(value, str) and value.endswith("Z"), value
    parse_iso(value)


# init-tasks, list-tasks, add-task -----------------------------------------------------------


def test_init_tasks_twice_leaves_exactly_the_defaults(cli: Cli) -> None:
    first = cli("init-tasks")
    assert first.code == 0
    assert first.json["status"] == "success"
    assert [task["name"] for task in first.json["created"]] == DEFAULT_NAMES
    second = cli("init-tasks")
    assert second.code == 0
    assert second.json["created"] == []
    tasks = tasks_by_name(cli)
    assert list(tasks) == DEFAULT_NAMES
    for task in tasks.values():
        assert set(task) >= TASK_KEYS
    # Works with no key: public Mastodon hashtag pages.
    social = tasks["Daily Social Media Crawl"]
    assert (social["source"], social["active"]) == ("mastodon", True)
    assert_iso_utc(social["next_run"])
    assert tasks["Daily Telegram Security Channels"]["source"] == "telegram"
    x = tasks["X searches"]
    assert (x["source"], x["active"], x["next_run"]) == ("x", False, None)
    assert "OSINT_DESKTOP_X_BEARER_TOKEN" in x["note"]
    hourly = tasks["Hourly News Crawl"]
    assert hourly["active"] is True and hourly["source"] == "news" and hourly["frequency"] == "hourly"
    assert_iso_utc(hourly["next_run"])
    assert tasks["Weekly Security News Crawl"]["frequency"] == "weekly"


def test_init_tasks_with_a_token_leaves_the_x_example_inactive(cli: Cli, cli_home: Path) -> None:
    # X bills every post read: nothing is spent until the user activates the example.
    env = cli_env(cli_home, OSINT_DESKTOP_X_BEARER_TOKEN=FAKE_TOKEN)
    result = cli("init-tasks", env=env)
    assert result.code == 0
    assert FAKE_TOKEN not in result.stdout + result.stderr
    x = tasks_by_name(cli)["X searches"]
    assert x["active"] is False and x["next_run"] is None
    assert "bills every post read" in x["note"]


def test_add_task_and_list_it(cli: Cli) -> None:
    result = cli("add-task", "--name", "X watch", "--source", "social", "--frequency", "daily",
                 "--target", "#osint -is:retweet", "--target", "ransomware", "--inactive")
    assert result.code == 0
    data = result.json
    assert data["task"]["active"] is False
    task = tasks_by_name(cli)["X watch"]
    assert task["id"] == data["task_id"]
    assert task["targets"] == ["#osint -is:retweet", "ransomware"]
    # "social", the seed's word, is still accepted; the source is x from then on.
    assert (task["source"], task["frequency"], task["status"]) == ("x", "daily", "pending")
    assert task["next_run"] is None and task["last_run"] is None


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--source", "rss", "--frequency", "hourly", "--target", "https://a.example/rss"],
         "unknown source 'rss'"),
        (["--source", "news", "--frequency", "monthly", "--target", "https://a.example/rss"],
         "unknown frequency 'monthly'"),
        (["--source", "news", "--frequency", "hourly", "--target", "ftp://a.example/feed"],
         "is not an http(s) URL"),
        (["--source", "news", "--frequency", "hourly", "--target", "https://a.example/rss",
          "--target", "a.example/rss"], "is not an http(s) URL"),
        (["--source", "social", "--frequency", "daily", "--target", "   "], "the search query is empty"),
        (["--source", "news", "--frequency", "hourly"], "--target"),
        (["--source", "news", "--frequency", "hourly", "--target", "https://a.example/rss",
          "--max-posts-per-run", "10"], "X tasks only"),
        (["--source", "x", "--frequency", "daily", "--target", "osint", "--max-posts-per-day", "0"],
         "1 or more"),
        (["--source", "x", "--frequency", "daily", "--target", "osint", "--max-posts-per-run", "-5"],
         "not a number of posts"),
    ],
    ids=["source", "frequency", "ftp-target", "schemeless-target", "empty-query", "no-target",
         "cap-on-news", "zero-cap", "negative-cap"],
)
def test_rejected_add_task_writes_nothing(cli: Cli, seeded: Path, args: list[str], reason: str) -> None:
    before = database_rows(seeded)
    assert len(before[0]) == len(DEFAULT_NAMES) + 1  # the defaults and "Existing"
    result = cli("add-task", "--name", "Refused", *args)
    assert result.code == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert reason in result.stderr
    assert database_rows(seeded) == before


def test_rejected_first_command_does_not_even_create_the_database(cli: Cli, cli_home: Path) -> None:
    result = cli("add-task", "--name", "x", "--source", "news", "--frequency", "hourly", "--target", "x")
    assert result.code == 2
    assert not db_file(cli_home).exists()


def test_duplicate_task_name_is_refused(cli: Cli, seeded: Path) -> None:
    before = database_rows(seeded)
    result = cli("add-task", "--name", "Existing", "--source", "news", "--frequency", "daily",
                 "--target", "https://b.example/rss")
    assert result.code == 2
    assert result.json["status"] == "error"
    assert "exists already" in result.json["message"]
    assert "exists already" in result.stderr
    assert database_rows(seeded) == before


# run-task, logs, items ----------------------------------------------------------------------


def test_run_task_logs_and_items(cli: Cli, cli_home: Path, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    server.add_file("/security.xml", SECURITY, content_type="application/atom+xml")
    server.add_file("/gazette.rdf", RDF, content_type="application/rdf+xml")
    server.add_status("/broken.xml", 500)
    urls = [server.url(p) for p in ("/world.xml", "/security.xml", "/gazette.rdf", "/broken.xml")]
    task_id = add_news_task(cli, "Local news", *urls, REFUSED_URL)
    total = WORLD_ENTRIES + SECURITY_ENTRIES + RDF_ENTRIES

    first = cli("run-task", str(task_id))
    assert first.code == 0  # some targets failed: a partial run is a success of the command
    data = first.json
    assert data["status"] == "success"
    assert data["task_id"] == task_id
    assert isinstance(data["log_id"], int)
    assert (data["items_found"], data["items_new"]) == (total, total)
    assert "2 of 5 targets failed" in data["message"]

    second = cli("run-task", str(task_id))
    assert second.code == 0
    assert (second.json["items_found"], second.json["items_new"]) == (0, 0)
    assert second.json["log_id"] != data["log_id"]

    logs = cli("logs", "--task", str(task_id))
    assert logs.code == 0
    assert logs.json["task_id"] == task_id
    entries = logs.json["logs"]
    assert [entry["id"] for entry in entries] == [second.json["log_id"], data["log_id"]]  # newest first
    for entry in entries:
        assert set(entry) >= LOG_KEYS
        assert (entry["status"], entry["trigger"]) == ("partial", "cli")
        assert_iso_utc(entry["started_at"])
        assert_iso_utc(entry["finished_at"])
        assert isinstance(entry["duration_s"], float)
        assert [detail["target"] for detail in entry["details"]] == [*urls, REFUSED_URL]
        for detail in entry["details"]:
            assert set(detail) >= DETAIL_KEYS
    newest, oldest = entries
    assert (oldest["items_found"], oldest["items_new"]) == (total, total)
    assert [d["status"] for d in newest["details"]][:3] == ["304 not modified"] * 3
    assert newest["details"][3]["status"] == "500"
    assert newest["details"][3]["error"] == "HTTP 500 Internal Server Error"
    assert newest["details"][4]["error"] == "connection refused"
    assert newest["details"][0]["error"] is None
    world_requests = [r for r in server.requests if r.path == "/world.xml"]
    assert len(world_requests) == 2
    assert world_requests[1].headers["if-none-match"].startswith('"')

    limited = cli("logs", "--limit", "1")
    assert [entry["id"] for entry in limited.json["logs"]] == [second.json["log_id"]]

    items = cli("items", "--task", str(task_id), "--limit", "100")
    assert items.code == 0
    rows = items.json["items"]
    assert len(rows) == total
    assert len({row["url"] for row in rows}) == total
    for row in rows:
        assert set(row) >= ITEM_KEYS
        assert row["task_id"] == task_id and row["source"] == "news"
        assert_iso_utc(row["collected_at"])
    assert {row["origin"] for row in rows} == set(urls[:3])

    found = cli("items", "--search", "ransomware hospital")
    titles = [row["title"] for row in found.json["items"]]
    assert titles == ["Ransomware group leaks data from regional hospital network"]
    assert len(cli("items", "--limit", "5").json["items"]) == 5

    exported = cli("items", "--task", str(task_id), "--format", "csv", "--limit", "100")
    assert exported.code == 0
    table = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert exported.stdout.splitlines()[0] == ",".join(ITEM_FIELDS)
    assert list(ITEM_FIELDS) == ["id", "task_id", "source", "url", "title", "summary", "author",
                                 "published_at", "collected_at", "origin"]
    assert len(table) == total
    assert {row["title"] for row in table} == {row["title"] for row in rows}


def test_run_task_where_every_target_fails_exits_1(cli: Cli, server: FeedServer) -> None:
    server.add_status("/gone.xml", 404)
    task_id = add_news_task(cli, "Dead feeds", server.url("/gone.xml"), REFUSED_URL)
    result = cli("run-task", str(task_id))
    assert result.code == 1
    data = result.json
    assert data["status"] == "error"
    assert data["task_id"] == task_id
    assert (data["items_found"], data["items_new"]) == (0, 0)
    assert "all 2 targets failed" in data["message"]
    [entry] = cli("logs", "--task", str(task_id)).json["logs"]
    assert entry["status"] == "failed"
    assert {d["error"] for d in entry["details"]} == {"HTTP 404 Not Found", "connection refused"}
    assert tasks_by_name(cli)["Dead feeds"]["status"] == "failed"


def test_social_task_without_a_token_fails_at_once(cli: Cli) -> None:
    result = cli("add-task", "--name", "X", "--source", "social", "--frequency", "daily",
                 "--target", "#osint")
    run = cli("run-task", str(result.json["task_id"]))
    assert run.code == 1
    assert run.json["status"] == "error"
    assert "Settings" in run.json["message"]
    assert "OSINT_DESKTOP_X_BEARER_TOKEN" in run.json["message"]


def test_token_stays_out_of_output_log_and_database(cli: Cli, cli_home: Path) -> None:
    created = cli("add-task", "--name", "X", "--source", "social", "--frequency", "daily",
                  "--target", "#osint", "--target", "ransomware")
    task_id = str(created.json["task_id"])
    # No network here: every request goes to a proxy on a closed loopback port and fails.
    env = cli_env(cli_home, OSINT_DESKTOP_X_BEARER_TOKEN=FAKE_TOKEN,
                  HTTPS_PROXY="http://127.0.0.1:1", HTTP_PROXY="http://127.0.0.1:1", NO_PROXY="")
    run = cli("run-task", task_id, env=env)
    assert run.code == 1
    assert run.json["status"] == "error"
    assert run.json["details"][0]["status"] == "network error"
    logs = cli("logs", env=env)
    listed = cli("list-tasks", env=env)
    stored = b"".join(p.read_bytes() for p in cli_home.iterdir() if p.name.startswith(db_file(cli_home).name))
    log_text = (cli_home / "logs" / "osint-desktop.log").read_text(encoding="utf-8")
    for text in (run.stdout, run.stderr, logs.stdout, listed.stdout, log_text):
        assert FAKE_TOKEN not in text
        assert "FakeBearerToken" not in text
    assert b"FakeBearerToken" not in stored


@pytest.mark.parametrize(
    "args",
    [["run-task", "999"], ["update-schedule", "999", "--frequency", "daily"], ["logs", "--task", "999"],
     ["items", "--task", "999"]],
    ids=["run-task", "update-schedule", "logs", "items"],
)
def test_unknown_task_id_exits_1_with_a_json_error(cli: Cli, seeded: Path, args: list[str]) -> None:
    before = database_rows(seeded)
    result = cli(*args)
    assert result.code == 1
    data = result.json
    assert data["status"] == "error"
    assert data["task_id"] == 999
    assert "999" in data["message"]
    assert database_rows(seeded) == before


@pytest.mark.parametrize(
    "args",
    [
        ["logs", "--limit", "0"],
        ["items", "--limit", "0"],
        ["items", "--format", "xml"],
        ["items", "--search", "  "],
        ["run-task", "first"],
        ["update-schedule", "1"],
        ["update-schedule", "1", "--frequency", "monthly"],
        ["update-schedule", "1", "--next-run", "next tuesday"],
        ["update-schedule", "1", "--next-run", "2031-01-01T00:00:00Z", "--inactive"],
        ["frobnicate"],
    ],
    ids=lambda args: "-".join(a.strip("-") for a in args)[:40],
)
def test_invalid_arguments_exit_2_with_one_line(cli: Cli, cli_home: Path, args: list[str]) -> None:
    result = cli(*args)
    assert result.code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("osint-desktop: error: ")
    # Refused before the database is opened: not even the file is created.
    assert not db_file(cli_home).exists()


# update-schedule, run-scheduled -------------------------------------------------------------


def test_x_read_caps_are_set_changed_cleared_and_refused_for_news(cli: Cli) -> None:
    result = cli("add-task", "--name", "X capped", "--source", "x", "--frequency", "daily",
                 "--target", "#osint", "--inactive", "--max-posts-per-run", "40")
    assert result.code == 0, result.stderr
    task = result.json["task"]
    assert (task["x_max_posts_per_run"], task["x_max_posts_per_day"]) == (40, None)
    result = cli("update-schedule", str(task["id"]), "--max-posts-per-day", "300")
    assert result.code == 0, result.stderr
    changed = result.json["task"]
    assert (changed["x_max_posts_per_run"], changed["x_max_posts_per_day"]) == (40, 300)
    # 0: back to the setting.
    cli("update-schedule", str(task["id"]), "--max-posts-per-run", "0")
    task = tasks_by_name(cli)["X capped"]
    assert (task["x_max_posts_per_run"], task["x_max_posts_per_day"]) == (None, 300)

    news_id = add_news_task(cli, "World", "https://a.example/rss")
    result = cli("update-schedule", str(news_id), "--max-posts-per-run", "10")
    assert result.code == 2
    assert "X tasks only" in result.stderr
    assert tasks_by_name(cli)["World"]["x_max_posts_per_run"] is None


def test_update_schedule_changes_frequency_next_run_and_active(cli: Cli) -> None:
    task_id = add_news_task(cli, "World", "https://a.example/rss")
    result = cli("update-schedule", str(task_id), "--frequency", "weekly")
    assert result.code == 0
    assert result.json["task_id"] == task_id
    assert result.json["task"]["frequency"] == "weekly"

    when = "2031-03-01T08:30:00Z"
    result = cli("update-schedule", str(task_id), "--next-run", "2031-03-01T09:30:00+01:00")
    assert result.json["task"]["next_run"] == when

    result = cli("update-schedule", str(task_id), "--inactive")
    assert result.json["task"]["active"] is False and result.json["task"]["next_run"] is None

    result = cli("update-schedule", str(task_id), "--active", "--frequency", "daily")
    task = tasks_by_name(cli)["World"]
    assert (task["active"], task["frequency"]) == (True, "daily")
    assert task["next_run"] is not None  # never ran: due again
    assert parse_iso(task["next_run"]) <= datetime.now(UTC)


def test_run_scheduled_runs_only_due_tasks_and_all_runs_every_active_one(
    cli: Cli, server: FeedServer
) -> None:
    server.add_file("/due.xml", WORLD)
    server.add_file("/later.xml", SECURITY, content_type="application/atom+xml")
    server.add_file("/off.xml", RDF, content_type="application/rdf+xml")
    due = add_news_task(cli, "Due", server.url("/due.xml"))
    later = add_news_task(cli, "Later", server.url("/later.xml"))
    off = add_news_task(cli, "Off", server.url("/off.xml"))
    future = (datetime.now(UTC) + timedelta(hours=5)).replace(microsecond=0)
    assert cli("update-schedule", str(later), "--next-run", future.isoformat()).code == 0
    assert cli("update-schedule", str(off), "--inactive").code == 0

    result = cli("run-scheduled")
    assert result.code == 0
    data = result.json
    assert [run["task_id"] for run in data["runs"]] == [due]
    assert (data["items_found"], data["items_new"]) == (WORLD_ENTRIES, WORLD_ENTRIES)
    assert server.count("/due.xml") == 1
    assert server.count("/later.xml") == 0 and server.count("/off.xml") == 0
    tasks = tasks_by_name(cli)
    # The due task moved one interval on; the other kept its time.
    assert parse_iso(tasks["Due"]["next_run"]) > datetime.now(UTC)
    assert parse_iso(tasks["Later"]["next_run"]) == future

    nothing = cli("run-scheduled")
    assert nothing.code == 0
    assert nothing.json["runs"] == []
    assert nothing.json["message"] == "no active task is due"

    everything = cli("run-scheduled", "--all")
    assert everything.code == 0
    assert sorted(run["task_id"] for run in everything.json["runs"]) == [due, later]
    assert server.count("/later.xml") == 1 and server.count("/off.xml") == 0
    assert everything.json["items_new"] == SECURITY_ENTRIES
    tasks = tasks_by_name(cli)
    assert parse_iso(tasks["Later"]["next_run"]) == future  # not due: --all does not move it


def test_run_scheduled_with_a_failing_task_exits_1(cli: Cli) -> None:
    add_news_task(cli, "Dead", REFUSED_URL)
    result = cli("run-scheduled")
    assert result.code == 1
    assert result.json["status"] == "error"
    assert result.json["runs"][0]["run_status"] == "failed"


# headless, the window, a broken database ----------------------------------------------------


def test_headless_runs_due_tasks_until_sigterm(cli: Cli, cli_home: Path, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    task_id = add_news_task(cli, "World", server.url("/world.xml"))
    process = subprocess.Popen(
        command("headless"), cwd=REPO, env=cli_env(cli_home),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        def finished() -> bool:
            rows = query_db(cli_home, "SELECT status FROM crawl_logs WHERE task_id = ?", task_id)
            return bool(rows) and rows[0][0] not in ("running",)

        assert wait_until(finished, timeout_s=30, interval_s=0.1)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "headless scheduler running" in stderr
    lines = stdout.splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert data["status"] == "success"
    assert [run["task_id"] for run in data["runs"]] == [task_id]
    assert data["runs"][0]["items_new"] == WORLD_ENTRIES
    [entry] = cli("logs").json["logs"]
    assert (entry["status"], entry["trigger"]) == ("success", "scheduled")
    task = tasks_by_name(cli)["World"]
    assert task["status"] == "success"
    assert parse_iso(task["next_run"]) > datetime.now(UTC)


def test_headless_stops_promptly_in_the_middle_of_a_crawl(
    cli: Cli, cli_home: Path, server: FeedServer
) -> None:
    write_settings(cli_home, **{**FAST_SETTINGS, "read_timeout_s": 60.0, "target_deadline_s": 120.0})
    server.add_hang("/world.xml")
    task_id = add_news_task(cli, "World", server.url("/world.xml"))
    process = subprocess.Popen(
        command("headless"), cwd=REPO, env=cli_env(cli_home),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert wait_until(lambda: server.count("/world.xml") == 1, timeout_s=30)
        stopping = time.monotonic()
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
        stop_s = time.monotonic() - stopping
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert json.loads(stdout.splitlines()[-1])["status"] == "success"
    # The hanging request is cut, not waited out (the read timeout is a minute).
    assert stop_s < 15
    [entry] = cli("logs").json["logs"]
    assert entry["status"] == "interrupted"
    [task] = cli("list-tasks").json["tasks"]
    assert task["id"] == task_id and task["status"] == "interrupted"  # cut by SIGTERM: not failed


def test_no_display_is_explained_without_a_traceback(cli_home: Path) -> None:
    env = cli_env(cli_home)
    for key in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(key, None)
    started = time.monotonic()
    completed = subprocess.run(command(), cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
                               check=False)
    assert completed.returncode != 0
    assert "Traceback" not in completed.stderr
    assert "no graphical display" in completed.stderr
    assert "headless" in completed.stderr
    assert completed.stdout == ""
    assert time.monotonic() - started < 30


def test_a_broken_database_file_is_a_json_error(cli: Cli, tmp_path: Path) -> None:
    bogus = tmp_path / "notes.sqlite3"
    bogus.write_text("not a database at all\n" * 5, encoding="utf-8")
    result = cli("--db", str(bogus), "list-tasks")
    assert result.code == 1
    assert result.json["status"] == "error"
    assert "not an OSINT Desktop database" in result.json["message"]
    assert bogus.read_text(encoding="utf-8").startswith("not a database")


def test_db_option_uses_another_database(cli: Cli, cli_home: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite3"
    created = cli("--db", str(other), "init-tasks")
    assert created.code == 0 and len(created.json["created"]) == len(DEFAULT_NAMES)
    assert other.exists()
    assert cli("list-tasks").json["tasks"] == []  # the data folder's database is another one
