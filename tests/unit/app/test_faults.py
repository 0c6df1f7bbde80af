"""Faults inside one process: many runs at once, a lost final write, retention, backups, secrets, privacy."""

from __future__ import annotations

import os
import stat
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import responses
from sqlalchemy import func, select

from osint_desktop.app.context import AppContext
from osint_desktop.app.maintenance import backup_now, prune_logs, run_maintenance
from osint_desktop.app.recovery import recover_dead_runs
from osint_desktop.app.restore import restore_backup
from osint_desktop.app.runs import RunResult, run_task
from osint_desktop.app.tasks import create_task, list_tasks
from osint_desktop.core.db.backup import list_backups
from osint_desktop.core.db.models import CrawlLog, CrawlTask, Item
from osint_desktop.core.db.queries import list_logs
from osint_desktop.core.timeutil import utcnow
from tests.feedserver import FeedServer
from tests.helpers import FAKE_TOKEN, WORLD, add_x_response, fast_options


def test_twenty_tasks_at_once_lose_nothing(ctx: AppContext, server: FeedServer) -> None:
    for n in range(20):
        text = WORLD.read_text(encoding="utf-8")
        body = text.replace("urn:news-example:world:", f"urn:news-example:task{n}:")
        server.add_bytes(f"/feed{n}.xml", body.encode())
    # Each task has a dead target of its own (a shared one would back off after the first run).
    targets = [[server.url(f"/feed{n}.xml"), server.url(f"/missing{n}")] for n in range(20)]
    tasks = [create_task(ctx.db, f"Task {n}", "news", "hourly", targets[n]) for n in range(20)]
    results: list[RunResult] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(task_id: int) -> None:
        try:
            result = run_task(ctx.db, task_id, "scheduled", fast_options())
            with lock:
                results.append(result)
        except BaseException as exc:  # collected, so a failure names itself
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(task.id,)) for task in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(results) == 20
    assert all(r.status == "partial" for r in results), {r.status: r.error for r in results}
    assert not any("locked" in (r.error or "") for r in results)
    with ctx.db.read() as session:
        assert session.scalar(select(func.count(CrawlLog.id))) == 20
        assert session.scalar(select(func.count(CrawlLog.id)).where(CrawlLog.status == "running")) == 0
    assert sum(r.items_new for r in results) == len(list_tasks(ctx.db)) * 12


def test_a_run_whose_final_write_was_lost_is_freed_while_the_app_lives(
    ctx: AppContext, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.add_file("/world.xml", WORLD)
    task = create_task(ctx.db, "World", "news", "hourly", [server.url("/world.xml")])
    import osint_desktop.app.runs as runs

    def broken_finish(*_args: object, **_kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(runs, "_finish", broken_finish)
    monkeypatch.setattr(runs, "_fail_run", lambda *a, **k: None)  # nothing can be written
    result = run_task(ctx.db, task.id, "manual", fast_options())
    assert result.error and "disk full" in result.error
    assert [entry.status for entry in list_logs(ctx.db, task_id=task.id)] == ["running"]
    # The periodic recovery of a long-lived app frees it: the run's thread is gone.
    assert recover_dead_runs(ctx.db) != []
    assert [entry.status for entry in list_logs(ctx.db, task_id=task.id)] == ["interrupted"]
    assert next(t for t in list_tasks(ctx.db) if t.id == task.id).status != "running"


def test_retention_prunes_old_logs_and_keeps_items(ctx: AppContext, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    task = create_task(ctx.db, "World", "news", "hourly", [server.url("/world.xml")])
    run_task(ctx.db, task.id, "manual", fast_options())
    with ctx.db.write() as session:
        for days in (200, 100, 10):
            session.add(
                CrawlLog(task_id=task.id, started_at=utcnow() - timedelta(days=days), status="success",
                         trigger="scheduled", items_found=0, items_new=0, details=[], targets_total=1,
                         targets_done=1)
            )
    assert prune_logs(ctx.db, 90) == 2
    assert len(list_logs(ctx.db, task_id=task.id)) == 2
    with ctx.db.read() as session:
        assert session.scalar(select(func.count(Item.id))) == 12
    assert prune_logs(ctx.db, 0) == 0  # 0 keeps logs forever


def test_backups_are_kept_to_the_count_and_restore(ctx: AppContext) -> None:
    create_task(ctx.db, "Before", "news", "daily", ["https://example.org/a.xml"])
    first = backup_now(ctx.db, ctx.backup_dir, keep=3)
    for _ in range(4):
        backup_now(ctx.db, ctx.backup_dir, keep=3)
    backups = list_backups(ctx.backup_dir)
    assert len(backups) == 3 and first not in backups
    assert stat.S_IMODE(backups[0].stat().st_mode) == 0o600
    create_task(ctx.db, "After", "news", "daily", ["https://example.org/b.xml"])
    restore_backup(backups[0], ctx.db, ctx.backup_dir, keep=3)
    assert [t.name for t in list_tasks(ctx.db)] == ["Before"]


def test_scheduled_backup_runs_when_due(ctx: AppContext) -> None:
    ctx.settings.backup_interval_hours = 24
    run_maintenance(ctx.db, ctx.backup_dir, ctx.settings)
    run_maintenance(ctx.db, ctx.backup_dir, ctx.settings)
    assert len(list_backups(ctx.backup_dir)) == 1  # the second was not due yet


def test_token_never_reaches_database_logs_or_output(ctx: AppContext, home: Path) -> None:
    task = create_task(ctx.db, "X", "social", "daily", ["#osint", "ransomware"])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        add_x_response(mock, "search_page1.json")
        add_x_response(mock, "search_page2.json")
        add_x_response(mock, "error_401.json", status=401)
        first = run_task(ctx.db, task.id, "manual", fast_options(token=FAKE_TOKEN))
        second = run_task(ctx.db, task.id, "manual", fast_options(token=FAKE_TOKEN))
        sent = [call.request.headers.get("Authorization") for call in mock.calls]
    assert sent and all(header == f"Bearer {FAKE_TOKEN}" for header in sent)  # it was really used
    assert first.items_new > 0 and second.status == "failed"
    ctx.db.dispose()
    for path in home.rglob("*"):
        if path.is_file():
            assert FAKE_TOKEN.encode() not in path.read_bytes(), f"token found in {path}"
    for result in (first, second):
        assert FAKE_TOKEN not in repr(result.to_json()) + result.message


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_data_folder_and_files_are_private(ctx: AppContext, home: Path) -> None:
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    ctx.settings.save(home)
    assert stat.S_IMODE((home / "settings.json").stat().st_mode) == 0o600


def test_task_rows_are_not_left_running_after_recovery(ctx: AppContext) -> None:
    task = create_task(ctx.db, "Stuck", "news", "daily", ["https://example.org/a.xml"])
    with ctx.db.write() as session:
        row = session.get(CrawlTask, task.id)
        assert row is not None
        row.status = "running"
    recover_dead_runs(ctx.db)
    assert next(t for t in list_tasks(ctx.db) if t.id == task.id).status == "interrupted"
