"""The Items search box as a user types in it: the query language, and what a malformed query shows."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from osint_desktop.app.tasks import create_task
from osint_desktop.core.db.models import Item
from osint_desktop.core.query import QUERY_HELP
from osint_desktop.core.timeutil import utcnow
from osint_desktop.gui.application import DesktopApp
from osint_desktop.gui.items_page import ItemsPage

TITLES = ["Harbour strike in Gdansk", "Harbour cranes delivered", "Strike at the harbour gates"]


def _titles(page: ItemsPage) -> list[str]:
    rows = (page.model.row_at(row) for row in range(page.model.rowCount()))
    return sorted(row.title for row in rows if row is not None)


def _type(qtbot: QtBot, page: ItemsPage, text: str) -> None:
    page.search_edit.setFocus()
    qtbot.keyClick(page.search_edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(page.search_edit, text)


def test_a_malformed_search_says_why_and_keeps_the_rows(qtbot: QtBot, desktop: DesktopApp) -> None:
    db = desktop.ctx.db
    task = create_task(db, "Ports", "news", "daily", ["https://example.org/feed.xml"], active=False)
    with db.write() as session:
        for n, title in enumerate(TITLES):
            session.add(Item(task_id=task.id, source="news", dedup_key=f"k{n}", title=title, summary="",
                             origin="https://example.org/feed.xml",
                             collected_at=utcnow() - timedelta(seconds=n)))
    desktop.window.reload_all()
    page = desktop.window.items_page
    assert page.search_edit.toolTip() == QUERY_HELP
    assert '"phrase"' in page.search_edit.placeholderText()
    assert page.model.rowCount() == 3
    assert page.search_error.isHidden()

    _type(qtbot, page, "harbour NOT cranes")
    qtbot.waitUntil(lambda: page.model.rowCount() == 2)
    assert page.search_error.isHidden()

    _type(qtbot, page, 'harbour "harbour strike')
    qtbot.waitUntil(lambda: not page.search_error.isHidden())
    assert page.search_error.text() == (
        'Search: unbalanced quote: the phrase starting at character 9 has no closing "'
    )
    # Not an empty list that looks like "nothing found": the last valid search's rows stay.
    assert _titles(page) == ["Harbour strike in Gdansk", "Strike at the harbour gates"]

    qtbot.keyClicks(page.search_edit, '"')
    qtbot.waitUntil(lambda: page.search_error.isHidden())
    assert page.search_error.text() == ""
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    assert _titles(page) == ["Harbour strike in Gdansk"]

    _type(qtbot, page, "NOT harbour")
    qtbot.waitUntil(lambda: not page.search_error.isHidden())
    assert page.search_error.text().startswith("Search: NOT needs something before it to exclude from")
    page.reload()  # a reload (new database, start-up) keeps the last valid search too
    assert _titles(page) == ["Harbour strike in Gdansk"]

    page.search_edit.clear()
    qtbot.waitUntil(lambda: page.search_error.isHidden())
    qtbot.waitUntil(lambda: page.model.rowCount() == 3)
