"""Every table model passes Qt's model tester, and pages rows in rather than loading them all."""

from __future__ import annotations

from datetime import timedelta

from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from osint_desktop.context import AppContext
from osint_desktop.db.models import CrawlLog, Item
from osint_desktop.gui.models.items import ItemTableModel
from osint_desktop.gui.models.logs import LogTableModel
from osint_desktop.gui.models.paged import PAGE_SIZE
from osint_desktop.gui.models.tasks import TaskTableModel
from osint_desktop.tasks import create_task
from osint_desktop.timeutil import utcnow


def _fill(ctx: AppContext, items: int, logs: int) -> int:
    task = create_task(ctx.db, "Filled", "news", "hourly", ["https://example.org/feed.xml"])
    now = utcnow()
    with ctx.db.write() as session:
        session.add_all(
            Item(
                task_id=task.id,
                source="news",
                dedup_key=f"key-{n}",
                url=f"https://example.org/{n}",
                title=f"Item number {n} about {'ports' if n % 2 else 'ships'}",
                summary="summary",
                origin="https://example.org/feed.xml",
                collected_at=now - timedelta(seconds=items - n),
            )
            for n in range(items)
        )
        session.add_all(
            CrawlLog(
                task_id=task.id,
                started_at=now - timedelta(minutes=logs - n),
                finished_at=now - timedelta(minutes=logs - n) + timedelta(seconds=3),
                duration_s=3.0,
                status="success" if n % 3 else "failed",
                trigger="scheduled",
                items_found=5,
                items_new=n % 5,
                details=[],
                targets_total=1,
                targets_done=1,
                error=None if n % 3 else "HTTP 500 Internal Server Error",
            )
            for n in range(logs)
        )
    return task.id


def test_task_model_passes_the_model_tester(qtmodeltester: ModelTester, gui_ctx: AppContext) -> None:
    create_task(gui_ctx.db, "One", "news", "hourly", ["https://example.org/a.xml"])
    create_task(gui_ctx.db, "Two", "social", "daily", ["#osint"], active=False)
    model = TaskTableModel(gui_ctx.db)
    model.reload()
    qtmodeltester.check(model)
    assert model.rowCount() == 2


def test_log_model_passes_the_model_tester_and_filters(
    qtmodeltester: ModelTester, gui_ctx: AppContext
) -> None:
    task_id = _fill(gui_ctx, items=10, logs=450)
    model = LogTableModel(gui_ctx.db)
    model.reload()
    qtmodeltester.check(model)
    assert model.rowCount() == 450
    model.set_filter(task_id, ("failed",))
    assert model.rowCount() == 150
    assert all(model.row_at(r).status == "failed" for r in range(model.rowCount()))  # type: ignore[union-attr]


def test_item_model_pages_and_searches(qtbot: QtBot, qtmodeltester: ModelTester, gui_ctx: AppContext) -> None:
    _fill(gui_ctx, items=5000, logs=1)
    model = ItemTableModel(gui_ctx.db)
    model.reload()
    qtmodeltester.check(model)
    assert model.rowCount() == 5000
    last = model.row_at(4999)
    assert last is not None and last.title == "Item number 0 about ships"
    first = model.row_at(0)
    assert first is not None and first.title == "Item number 4999 about ports"
    # Jumping to the end read two pages, not the 25 pages between.
    assert model.loaded_rows <= 3 * PAGE_SIZE
    model.set_filter(None, None, "ports")
    assert model.rowCount() == 2500
    model.set_filter(None, "social", None)
    assert model.rowCount() == 0
