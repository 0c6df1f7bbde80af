"""Text cut to fit says so ("…") and shows itself whole on hover: cells, labels, the tray's failures."""

from __future__ import annotations

from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QTableView
from pytestqt.qtbot import QtBot

from osint_desktop.app.context import AppContext
from osint_desktop.app.tasks import create_task
from osint_desktop.core.db.models import CrawlLog
from osint_desktop.core.timeutil import utcnow
from osint_desktop.gui.eliding import MENU_TEXT_WIDTH, ElidedLabel
from osint_desktop.gui.table_look import text_is_cut
from osint_desktop.gui.tray import Tray

REASON = "HTTP 500 Internal Server Error from https://feeds.example.org/very/long/path/to/a/feed.xml"


def test_a_cell_too_narrow_for_its_text_is_known_to_be_cut(qtbot: QtBot) -> None:
    model = QStandardItemModel(1, 2)
    model.setItem(0, 0, QStandardItem("running 999/1000 " * 4))
    model.setItem(0, 1, QStandardItem("ok"))
    table = QTableView()
    qtbot.addWidget(table)
    table.setModel(model)
    from osint_desktop.gui.table_look import style_table

    style_table(table)
    table.setColumnWidth(0, 60)
    table.setColumnWidth(1, 200)
    table.show()
    assert text_is_cut(table, model.index(0, 0))
    assert not text_is_cut(table, model.index(0, 1))


def test_an_elided_label_keeps_its_text_and_tooltips_it_when_cut(qtbot: QtBot) -> None:
    label = ElidedLabel("Next run: Weekly Security News Crawl at Dec 14 21:07 (in 7 days)")
    qtbot.addWidget(label)
    label.resize(80, 20)
    label.show()
    assert label.is_elided() and label.elided().endswith("…")
    assert label.toolTip() == label.text()
    label.resize(2000, 20)
    assert not label.is_elided() and label.toolTip() == ""
    assert label.minimumSizeHint().width() < 80


def test_tray_failures_are_cut_with_an_ellipsis_and_shown_whole_on_hover(gui_ctx: AppContext) -> None:
    task = create_task(gui_ctx.db, "A long-named task about Baltic shipping", "news", "daily",
                       ["https://feeds.example.org/a.xml"])
    now = utcnow()
    with gui_ctx.db.write() as session:
        session.add(CrawlLog(task_id=task.id, started_at=now, finished_at=now, status="failed",
                             trigger="scheduled", items_found=0, items_new=0, details=[],
                             targets_total=1, targets_done=1, error=REASON + "\nsecond line"))
    tray = Tray(gui_ctx.db, lambda: False)
    try:
        tray.menu.aboutToShow.emit()
        [entry] = [a for a in tray.menu.actions() if a.data() is not None]
        assert entry.text().endswith("…")
        assert "HTTP 500 Internal" in entry.text()
        assert tray.menu.fontMetrics().horizontalAdvance(entry.text()) <= MENU_TEXT_WIDTH
        assert REASON in entry.toolTip() and "second line" in entry.toolTip()
        assert tray.menu.toolTipsVisible()
    finally:
        tray.hide()
        tray.menu.deleteLater()
        tray.deleteLater()
