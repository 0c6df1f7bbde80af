"""`osint-desktop restore` as a user types it: the chosen backup survives, whatever is kept."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from osint_desktop.app.recovery import current_owner
from tests.e2e.conftest import Cli
from tests.helpers import db_file, query_db


def lower_backup_keep(home: Path, keep: int) -> None:
    settings_file = home / "settings.json"
    settings = json.loads(settings_file.read_text(encoding="utf-8"))
    settings["backup_keep"] = keep
    settings_file.write_text(json.dumps(settings), encoding="utf-8")


def write_db(home: Path, sql: str, *params: Any) -> None:
    """Write to the database file directly, the way another process would."""
    conn = sqlite3.connect(db_file(home), timeout=30)
    try:
        with conn:
            conn.execute(sql, params)
    finally:
        conn.close()


def task_names(cli: Cli) -> list[str]:
    return [task["name"] for task in cli("list-tasks").json["tasks"]]


def add_task(cli: Cli, name: str) -> None:
    added = cli("add-task", "--name", name, "--source", "news", "--frequency", "daily",
                "--target", f"https://{name.lower()}.example/rss")
    assert added.code == 0, added.stdout


def test_restore_with_fewer_backups_kept_keeps_the_chosen_one(cli: Cli, seeded: Path) -> None:
    backups = []
    for n in range(4):
        add_task(cli, f"Batch{n}")
        made = cli("backup")
        assert made.code == 0, made.stdout
        backups.append(Path(made.json["path"]))
    chosen = backups[0]  # the oldest: the first one a prune to the setting deletes
    before = chosen.read_bytes(), chosen.stat().st_mtime_ns
    lower_backup_keep(seeded, 2)
    add_task(cli, "Later")

    restored = cli("restore", str(chosen))

    assert restored.code == 0, restored.stdout
    data = restored.json
    assert data["status"] == "success"
    assert data["path"] == str(chosen)
    previous = Path(data["previous"])
    assert previous.is_file() and "pre-restore" in previous.name
    assert chosen.is_file(), "the backup being restored was deleted"
    assert (chosen.read_bytes(), chosen.stat().st_mtime_ns) == before
    names = task_names(cli)
    assert "Batch0" in names and "Batch1" not in names and "Later" not in names
    backup_folder = seeded / "backups"
    assert [p.name for p in backup_folder.iterdir() if p.name.endswith(("-wal", "-shm"))] == []


def test_restore_of_a_file_that_is_no_backup_changes_nothing(cli: Cli, seeded: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.sqlite3"
    notes.write_text("these are my notes\n" * 50)
    names = task_names(cli)
    result = cli("restore", str(notes))
    assert result.code == 1
    assert "not a SQLite file" in result.json["message"]
    assert task_names(cli) == names
    assert not list((seeded / "backups").glob("*pre-restore*"))


def test_restore_is_refused_while_a_collector_is_crawling(cli: Cli, seeded: Path) -> None:
    made = cli("backup")
    assert made.code == 0
    add_task(cli, "Later")
    collector = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = psutil.Process(collector.pid).create_time()
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        task_id = query_db(seeded, "SELECT id FROM crawl_tasks WHERE name = 'Later'")[0][0]
        # What a headless collector on this machine writes when it claims a run.
        write_db(seeded, "UPDATE crawl_tasks SET status = 'running' WHERE id = ?", task_id)
        write_db(
            seeded,
            "INSERT INTO crawl_logs (task_id, started_at, status, trigger, items_found, items_new, "
            "details, targets_total, targets_done, owner_host, owner_pid, owner_started, heartbeat_at) "
            "VALUES (?, ?, 'running', 'scheduled', 0, 0, '[]', 1, 0, ?, ?, ?, ?)",
            task_id, now, current_owner().host, collector.pid, started, now,
        )
        result = cli("restore")
    finally:
        collector.kill()
        collector.wait()
    assert result.code == 1
    assert "crawl is running ('Later')" in result.json["message"]
    assert "Later" in [row[0] for row in query_db(seeded, "SELECT name FROM crawl_tasks")]
    assert not list((seeded / "backups").glob("*pre-restore*"))
    assert db_file(seeded).exists()
