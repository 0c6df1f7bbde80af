"""A crawl killed with SIGKILL leaves nothing running after the next start; a live crawl is left alone."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import REPO
from tests.e2e.conftest import Cli, cli_env, command
from tests.feedserver import FeedServer
from tests.helpers import (
    FAST_SETTINGS,
    SECURITY,
    SECURITY_ENTRIES,
    WORLD,
    WORLD_ENTRIES,
    db_file,
    query_db,
    wait_until,
    write_settings,
)


def add_task(cli: Cli, *urls: str) -> int:
    args = ["add-task", "--name", "World", "--source", "news", "--frequency", "hourly"]
    for url in urls:
        args += ["--target", url]
    result = cli(*args)
    assert result.code == 0
    task_id = result.json["task_id"]
    assert isinstance(task_id, int)
    return task_id


def log_statuses(home: Path, task_id: int) -> list[str]:
    return [row[0] for row in query_db(home, "SELECT status FROM crawl_logs WHERE task_id = ? ORDER BY id",
                                       task_id)]


@contextmanager
def crawling(home: Path, task_id: int) -> Iterator[subprocess.Popen[str]]:
    """`run-task` in its own process, yielded once its log says it is running."""
    process = subprocess.Popen(
        command("run-task", str(task_id)), cwd=REPO, env=cli_env(home),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert wait_until(
            lambda: db_file(home).exists() and log_statuses(home, task_id) == ["running"], timeout_s=30
        ), f"the crawl did not start (exit code {process.poll()})"
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def test_killed_run_is_interrupted_at_the_next_start(cli: Cli, cli_home: Path, server: FeedServer) -> None:
    # Long timeouts, so the crawl is still waiting on the hanging feed when it is killed.
    write_settings(cli_home, **{**FAST_SETTINGS, "read_timeout_s": 60.0, "target_deadline_s": 120.0})
    server.add_file("/security.xml", SECURITY, content_type="application/atom+xml")
    server.add_hang("/world.xml")
    task_id = add_task(cli, server.url("/security.xml"), server.url("/world.xml"))

    with crawling(cli_home, task_id) as process:
        assert wait_until(lambda: server.count("/world.xml") == 1)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
    # Nothing came back to say the run ended: the database still says running.
    assert log_statuses(cli_home, task_id) == ["running"]
    assert query_db(cli_home, "SELECT status FROM crawl_tasks WHERE id = ?", task_id) == [("running",)]

    listed = cli("list-tasks")  # the next start of any entry point
    assert listed.code == 0
    [task] = listed.json["tasks"]
    assert task["status"] == "interrupted"  # its run died: not a failed run
    assert query_db(cli_home, "SELECT count(*) FROM crawl_logs WHERE status = 'running'") == [(0,)]
    [entry] = cli("logs").json["logs"]
    assert entry["status"] == "interrupted"
    assert entry["finished_at"] is not None
    assert "ended before the run finished" in entry["error"]
    conn = sqlite3.connect(db_file(cli_home))
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        conn.close()

    # The task is not stuck: it runs again, and twice stores each entry once.
    server.add_file("/world.xml", WORLD)
    write_settings(cli_home, **FAST_SETTINGS)
    first = cli("run-task", str(task_id))
    assert first.code == 0, first.stdout
    assert first.json["items_new"] == WORLD_ENTRIES + SECURITY_ENTRIES
    second = cli("run-task", str(task_id))
    assert second.json["items_new"] == 0
    assert query_db(cli_home, "SELECT count(*), count(DISTINCT dedup_key) FROM items") == [
        (WORLD_ENTRIES + SECURITY_ENTRIES, WORLD_ENTRIES + SECURITY_ENTRIES)
    ]
    assert log_statuses(cli_home, task_id) == ["interrupted", "success", "success"]


def test_a_live_crawl_in_another_process_is_left_alone(cli: Cli, cli_home: Path, server: FeedServer) -> None:
    write_settings(cli_home, **{**FAST_SETTINGS, "read_timeout_s": 10.0, "target_deadline_s": 20.0})
    # Slow enough for two more commands to start and finish while it crawls, even on a busy machine.
    server.add_slow("/world.xml", WORLD.read_bytes(), delay_s=5.0)
    task_id = add_task(cli, server.url("/world.xml"))

    with crawling(cli_home, task_id) as process:
        listed = cli("list-tasks")  # typed while the other process is crawling
        assert listed.code == 0
        assert listed.json["tasks"][0]["status"] == "running"
        assert log_statuses(cli_home, task_id) == ["running"]
        # Running it a second time meanwhile is refused, not run twice.
        again = cli("run-task", str(task_id))
        assert again.code == 1
        assert again.json["status"] == "error"
        assert again.json["run_status"] == "skipped"
        assert "already running" in again.json["message"]
        assert log_statuses(cli_home, task_id) == ["running", "skipped"]
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stdout + stderr
    assert json.loads(stdout)["items_new"] == WORLD_ENTRIES
    assert log_statuses(cli_home, task_id) == ["success", "skipped"]
    assert server.count("/world.xml") == 1
