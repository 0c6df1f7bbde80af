"""The Items page's Task column and its filter by feed or target."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from osint_desktop.app.tasks import create_task
from osint_desktop.core.db.models import Item, ItemTask
from osint_desktop.core.timeutil import utcnow
from osint_desktop.gui.application import DesktopApp
from osint_desktop.gui.items_welcome import ALL_FEEDS
from osint_desktop.gui.models.items import COL_TASK

WORLD = "https://feeds.example.org/world.xml"
PORTS = "https://ports.example.net/rss"


def _fill(desktop: DesktopApp) -> None:
    db = desktop.ctx.db
    world = create_task(db, "World news", "news", "hourly", [WORLD])
    shipping = create_task(db, "Shipping", "news", "daily", [PORTS, WORLD])
    now = utcnow()
    with db.write() as session:
        for n, (task_id, origin) in enumerate(((world.id, WORLD), (shipping.id, PORTS), (world.id, WORLD))):
            session.add(Item(task_id=task_id, source="news", dedup_key=f"k{n}", title=f"Item {n}",
                             summary="", collected_at=now + timedelta(seconds=n), origin=origin))
    with db.write() as session:
        oldest = session.query(Item).filter_by(dedup_key="k0").one()
        session.add(ItemTask(item_id=oldest.id, task_id=shipping.id))
    desktop.window.reload_all()


def test_the_task_column_names_every_task_an_item_belongs_to(desktop: DesktopApp) -> None:
    _fill(desktop)
    model = desktop.window.items_page.model
    assert model.headerData(COL_TASK, Qt.Orientation.Horizontal) == "Task"
    shown = {model.index(row, 1).data(): model.index(row, COL_TASK).data() for row in range(model.rowCount())}
    assert shown == {"Item 2": "World news", "Item 1": "Shipping", "Item 0": "Shipping, World news"}
    oldest = next(row for row in range(model.rowCount()) if model.index(row, 1).data() == "Item 0")
    assert model.index(oldest, COL_TASK).data(Qt.ItemDataRole.ToolTipRole) == "Shipping\nWorld news"


def test_the_feed_filter_offers_every_target_and_narrows_the_list(qtbot: QtBot, desktop: DesktopApp) -> None:
    _fill(desktop)
    page = desktop.window.items_page
    combo = page.origin_filter
    assert [combo.itemText(i) for i in range(combo.count())] == [ALL_FEEDS, WORLD, PORTS]
    combo.setCurrentIndex(combo.findText(PORTS))
    combo.activated.emit(combo.currentIndex())
    assert page.model.filter.origin == PORTS
    assert [page.model.index(r, 1).data() for r in range(page.model.rowCount())] == ["Item 1"]
    assert page.count_label.text() == "1 item"
    # Typed (pasted: typing would pop the completer's list up) and Enter: what is typed applies.
    combo.lineEdit().setText(WORLD)
    qtbot.keyClick(combo.lineEdit(), Qt.Key.Key_Return)
    assert page.model.filter.origin == WORLD and page.model.rowCount() == 2
    # With a task: that task's items of that feed.
    page.task_filter.setCurrentIndex(page.task_filter.findText("Shipping"))
    assert page.model.rowCount() == 1
    page.clear_filters()
    assert page.model.filter.origin is None and page.model.rowCount() == 3
    assert combo.currentText() == ALL_FEEDS


def test_a_feed_typed_that_no_task_has_still_filters(desktop: DesktopApp) -> None:
    _fill(desktop)
    page = desktop.window.items_page
    page.origin_filter.setEditText("https://gone.example/feed.xml")
    page.apply_filters()
    assert page.model.filter.origin == "https://gone.example/feed.xml" and page.model.rowCount() == 0
    assert "No items match" in page.empty_state.text()
    # New tasks do not throw away what was typed.
    create_task(desktop.ctx.db, "Later", "news", "daily", ["https://later.example/feed"])
    desktop.window.reload_all()
    assert page.origin_filter.currentText() == "https://gone.example/feed.xml"
