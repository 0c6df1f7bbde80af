"""Targets' names where targets are listed: Sources, the task editor, the tasks table, Items, Logs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from osint_desktop.app.context import AppContext
from osint_desktop.app.runs import run_task
from osint_desktop.app.tasks import TaskInfo, create_task, get_task, list_tasks
from osint_desktop.core.db.queries import get_log, list_logs
from osint_desktop.core.vocabulary import Trigger
from osint_desktop.gui.health_page import HealthPage
from osint_desktop.gui.items_page import ItemsPage
from osint_desktop.gui.logs_page import LogsPage, details_html
from osint_desktop.gui.models.health import COL_NAME, COL_TARGET, HEADERS
from osint_desktop.gui.models.tasks import COL_NAME as COL_TASK_NAME
from osint_desktop.gui.models.tasks import TaskTableModel
from osint_desktop.gui.task_dialog import TaskDialog
from osint_desktop.gui.tooltips import plain_tooltip
from tests.feedserver import FeedServer
from tests.helpers import SECURITY, WORLD, fast_options


@pytest.fixture
def named(gui_ctx: AppContext, feeds: FeedServer) -> Iterator[tuple[TaskInfo, str, str]]:
    """A task whose first feed the user named and whose second has only its own title, after a run."""
    feeds.add_file("/world.xml", WORLD)
    feeds.add_file("/security.xml", SECURITY, content_type="application/atom+xml")
    world, security = feeds.url("/world.xml"), feeds.url("/security.xml")
    task = create_task(
        gui_ctx.db, "Named feeds", "news", "hourly", [world, security], target_titles={world: "Bars feed 5"}
    )
    run_task(gui_ctx.db, task.id, Trigger.MANUAL, fast_options())
    yield get_task(gui_ctx.db, task.id), world, security


def test_the_sources_page_has_a_name_column(
    qtbot: QtBot, gui_ctx: AppContext, named: tuple[TaskInfo, str, str]
) -> None:
    _task, world, security = named
    page = HealthPage(gui_ctx.db)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: page.loaded and not page.loading, timeout=10_000)
    assert HEADERS[COL_NAME] == "Name" and HEADERS[COL_TARGET] == "Target"
    rows = {page.proxy.index(r, COL_TARGET).data(): r for r in range(page.proxy.rowCount())}
    assert page.proxy.index(rows[world], COL_NAME).data() == "Bars feed 5"
    assert page.proxy.index(rows[security], COL_NAME).data() == "Threat Intel Weekly"
    tip = page.proxy.index(rows[world], COL_NAME).data(Qt.ItemDataRole.ToolTipRole)
    assert tip == plain_tooltip("Bars feed 5", world)
    page.wait_idle()


def test_the_task_editor_names_the_line_under_the_mouse(
    qtbot: QtBot, gui_ctx: AppContext, named: tuple[TaskInfo, str, str]
) -> None:
    task, world, security = named
    dialog = TaskDialog(gui_ctx, task)
    qtbot.addWidget(dialog)
    dialog.show()
    edit = dialog.targets_edit
    cursor = edit.textCursor()
    cursor.movePosition(cursor.MoveOperation.Start)
    first = edit.cursorRect(cursor)
    cursor.movePosition(cursor.MoveOperation.NextBlock)
    second = edit.cursorRect(cursor)
    assert dialog.target_tooltip_at(QPoint(5, first.center().y())) == plain_tooltip("Bars feed 5", world)
    second_tip = dialog.target_tooltip_at(QPoint(5, second.center().y()))
    assert second_tip == plain_tooltip("Threat Intel Weekly", security)
    # Below the last line no line is pointed at.
    assert dialog.target_tooltip_at(QPoint(5, second.bottom() + 40)) is None
    assert "Rest the mouse on a line" in dialog.targets_hint.text()
    dialog.reject()


def test_the_tasks_table_tooltip_names_the_targets(
    named: tuple[TaskInfo, str, str], gui_ctx: AppContext
) -> None:
    _task, world, security = named
    model = TaskTableModel(gui_ctx.db)
    model.reload()
    tip = model.index(0, COL_TASK_NAME).data(Qt.ItemDataRole.ToolTipRole)
    assert tip == plain_tooltip(f"Bars feed 5 — {world}", f"Threat Intel Weekly — {security}")


def test_the_items_origin_tooltip_names_the_feed(
    qtbot: QtBot, gui_ctx: AppContext, named: tuple[TaskInfo, str, str]
) -> None:
    _task, world, security = named
    page = ItemsPage(gui_ctx.db)
    qtbot.addWidget(page)
    page.set_tasks(list_tasks(gui_ctx.db))
    page.reload()
    origin = [c.header for c in page.model.columns].index("Origin")
    tips = {
        page.model.index(row, origin).data(): page.model.index(row, origin).data(Qt.ItemDataRole.ToolTipRole)
        for row in range(page.model.rowCount())
    }
    assert tips[world] == plain_tooltip("Bars feed 5", world)
    assert tips[security] == plain_tooltip("Threat Intel Weekly", security)


def test_the_run_details_name_each_target(
    qtbot: QtBot, gui_ctx: AppContext, named: tuple[TaskInfo, str, str]
) -> None:
    task, world, security = named
    page = LogsPage(gui_ctx.db)
    qtbot.addWidget(page)
    page.set_tasks(list_tasks(gui_ctx.db))
    page.select_log(list_logs(gui_ctx.db, task_id=task.id)[0].id)
    text = page.details.toPlainText()
    assert f"Bars feed 5\n{world}" in text
    assert f"Threat Intel Weekly\n{security}" in text
    # Without names (a task deleted since, say) the addresses alone, as before.
    entry = get_log(gui_ctx.db, list_logs(gui_ctx.db, task_id=task.id)[0].id)
    assert entry is not None and "Bars feed 5" not in details_html(entry)


def test_a_name_is_shown_as_written_never_as_html() -> None:
    tip = plain_tooltip("Deep <b>core</b> & \u202etxt.exe", "https://a.example/?x=1&y=2")
    assert tip.startswith("<qt") and tip.endswith("</qt>")
    assert "&lt;b&gt;core&lt;/b&gt; &amp;" in tip and "<b>" not in tip
    assert "\u202e" not in tip  # the bidi control is shown as a marker, not obeyed
    assert "<br>https://a.example/?x=1&amp;y=2" in tip
