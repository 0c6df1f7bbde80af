"""Every table model passes Qt's model tester, and pages rows in rather than loading them all."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from osint_desktop.app.context import AppContext
from osint_desktop.app.tasks import create_task
from osint_desktop.core.bidi import BIDI_CONTROLS
from osint_desktop.core.db.models import CrawlLog, Item, ItemTask
from osint_desktop.core.db.queries import get_item_content
from osint_desktop.core.timeutil import utcnow
from osint_desktop.core.vocabulary import Source
from osint_desktop.gui.formatting import SOURCE_LABELS
from osint_desktop.gui.models.items import ItemTableModel
from osint_desktop.gui.models.logs import LogTableModel
from osint_desktop.gui.models.paged import PAGE_SIZE
from osint_desktop.gui.models.tasks import TaskTableModel
from osint_desktop.gui.preview import ItemPreview


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
    model.set_filter(None, "x", None)
    assert model.rowCount() == 0


def test_item_model_filters_a_task_by_membership(qtmodeltester: ModelTester, gui_ctx: AppContext) -> None:
    first = _fill(gui_ctx, items=300, logs=1)
    second = create_task(gui_ctx.db, "Same feed", "news", "hourly", ["https://example.org/feed.xml"])
    with gui_ctx.db.write() as session:
        # The second task found the 250 newest items later (stored once, by the first).
        ids = session.scalars(select(Item.id).order_by(Item.id.desc()).limit(250)).all()
        session.add_all(ItemTask(item_id=item_id, task_id=second.id) for item_id in ids)
    model = ItemTableModel(gui_ctx.db)
    model.set_filter(second.id, None, None)
    qtmodeltester.check(model)
    assert model.rowCount() == 250
    assert [model.row_at(r).id for r in range(3)] == list(ids[:3])  # type: ignore[union-attr]
    model.set_filter(first, None, None)
    assert model.rowCount() == 300
    model.set_filter(second.id, None, "ports")
    assert model.rowCount() == 125


def test_bidi_overrides_are_shown_not_obeyed(qtbot: QtBot, gui_ctx: AppContext) -> None:
    task = create_task(gui_ctx.db, "Hostile", "news", "hourly", ["https://hostile.example/rss"])
    title = "report\u202etxt.exe " + "padding " * 10  # long enough for a tooltip
    with gui_ctx.db.write() as session:
        session.add(Item(task_id=task.id, source="news", dedup_key="rlo", title=title,
                         summary="see inv\u2067oice\u2069\u200f", author="\u202bdesk", collected_at=utcnow(),
                         origin="https://hostile.example/rss"))
    model = ItemTableModel(gui_ctx.db)
    model.reload()
    title_cell = model.index(0, 1)
    shown = model.data(title_cell, Qt.ItemDataRole.DisplayRole)
    assert shown.startswith("report\u27e8U+202E\u27e9txt.exe")
    tooltip = model.data(title_cell, Qt.ItemDataRole.ToolTipRole)
    assert model.data(model.index(0, 3), Qt.ItemDataRole.DisplayRole) == "\u27e8U+202B\u27e9desk"
    for text in (shown, tooltip, model.data(model.index(0, 3), Qt.ItemDataRole.DisplayRole)):
        assert not BIDI_CONTROLS & set(text)

    row = model.row_at(0)
    assert row is not None and row.title == title  # the data stays as collected
    found = get_item_content(gui_ctx.db, row.id)
    assert found is not None
    preview = ItemPreview()
    qtbot.addWidget(preview)
    preview.show_item(*found)
    text = preview.toPlainText()
    assert "report\u27e8U+202E\u27e9txt.exe" in text
    assert "\u27e8U+2067\u27e9oice\u27e8U+2069\u27e9\u27e8U+200F\u27e9" in text
    assert not BIDI_CONTROLS & set(text)


def test_tasks_table_names_each_source(gui_ctx: AppContext) -> None:
    """Mastodon and Telegram tasks were shown as "Social (X)" after the new sources arrived."""
    create_task(gui_ctx.db, "Toots", "mastodon", "daily", ["https://infosec.exchange/tags/osint"])
    create_task(gui_ctx.db, "Channels", "telegram", "daily", ["@vxunderground"])
    create_task(gui_ctx.db, "Queries", "social", "daily", ["ransomware"], active=False)
    model = TaskTableModel(gui_ctx.db)
    model.reload()
    shown = {model.index(row, 0).data(): model.index(row, 1).data() for row in range(model.rowCount())}
    assert shown == {"Toots": "Mastodon", "Channels": "Telegram", "Queries": "X"}
    assert set(SOURCE_LABELS) == set(Source)
