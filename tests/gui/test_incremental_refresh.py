"""The window's tables refresh incrementally: new rows inserted, changed rows repainted, nothing reset.

What keeps the window answering while a run lands thousands of items (benchmarks/gui_stall.py
measures it): the reads happen on pool threads, and the GUI thread only inserts or repaints.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from osint_desktop.app.alerts import unseen_counts
from osint_desktop.app.tasks import TaskInfo, create_task, update_task
from osint_desktop.app.watches import WatchSpec, create_watch
from osint_desktop.core.config import Settings
from osint_desktop.core.db.changes import Changes
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.models import Alert, Item
from osint_desktop.core.timeutil import utcnow
from osint_desktop.gui.application import DesktopApp
from osint_desktop.gui.main_window import TAB_ALERTS, TAB_ITEMS
from osint_desktop.gui.models.paged import PAGE_SIZE
from osint_desktop.gui.models.tasks import COL_LAST, COL_NEXT, COL_STATUS
from osint_desktop.gui.notifications import SHOWN_PER_TURN, Notification, Notifier

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")


def _add_items(db: Database, task: TaskInfo, count: int, prefix: str, hours_ago: int = 0) -> list[int]:
    """Items collected a second apart, hours ago, the last one newest."""
    now = utcnow() - timedelta(hours=hours_ago)
    with db.write() as session:
        rows = [
            Item(
                task_id=task.id,
                source="news",
                dedup_key=f"{prefix}-{n}",
                url=f"https://example.org/{prefix}/{n}",
                title=f"{prefix} {n}",
                summary=f"{prefix} {n}, in full",
                origin="https://example.org/feed.xml",
                collected_at=now - timedelta(seconds=count - n),
            )
            for n in range(count)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


class Recorder:
    """What a model told its views."""

    def __init__(self, model: Any) -> None:
        self.inserted: list[tuple[int, int]] = []
        self.resets = 0
        self.changed: list[tuple[int, int, int, int]] = []
        model.rowsInserted.connect(lambda _p, first, last: self.inserted.append((first, last)))
        model.modelReset.connect(self._reset)
        model.dataChanged.connect(
            lambda a, b, _roles=None: self.changed.append((a.row(), a.column(), b.row(), b.column()))
        )

    def _reset(self) -> None:
        self.resets += 1


def test_new_items_are_inserted_on_top_read_off_the_gui_thread_and_the_selection_stays(
    qtbot: QtBot, desktop: DesktopApp
) -> None:
    db = desktop.ctx.db
    task = create_task(db, "Wire", "news", "hourly", ["https://example.org/feed.xml"])
    ids = _add_items(db, task, 450, "old", hours_ago=1)
    window = desktop.window
    window.reload_all()
    window.tabs.setCurrentIndex(TAB_ITEMS)
    window.show()
    page = window.items_page
    model = page.model
    assert model.rowCount() == 450
    page.table.selectRow(3)
    selected = model.row_at(3)
    assert selected is not None and selected.id == ids[-4]
    recorder = Recorder(model)
    reads_here: list[int] = []
    original = model.fetch_page

    def counted(offset: int, limit: int) -> Any:
        reads_here.append(offset)  # a page read on the GUI thread
        return original(offset, limit)

    model.fetch_page = counted  # type: ignore[method-assign]

    new_ids = _add_items(db, task, 300, "new")
    window.on_database_changed(Changes(items=True))
    assert model.rowCount() == 450  # nothing yet: the count and the pages are read on a pool thread
    qtbot.waitUntil(lambda: model.rowCount() == 750)
    assert recorder.inserted == [(0, 299)]
    assert recorder.resets == 0
    # The same item stays selected, 300 rows further down.
    assert [index.row() for index in page.table.selectionModel().selectedRows()] == [303]
    assert page.selected_items()[0].id == selected.id
    # The top page came with the count: painting the new rows reads nothing here.
    page.table.viewport().repaint()
    assert model.index(0, 1).data() == "new 299"
    assert reads_here == []
    assert model.row_at(0) is not None and model.row_at(0).id == new_ids[-1]  # type: ignore[union-attr]


def test_a_refresh_with_nothing_new_resets_nothing_and_a_newer_one_wins(
    qtbot: QtBot, desktop: DesktopApp
) -> None:
    db = desktop.ctx.db
    task = create_task(db, "Wire", "news", "hourly", ["https://example.org/feed.xml"])
    _add_items(db, task, 2 * PAGE_SIZE + 10, "old", hours_ago=1)
    window = desktop.window
    window.reload_all()
    model = window.items_page.model
    recorder = Recorder(model)
    # A burst of refreshes (a run's progress, its end, the change probe): only the last lands.
    for _ in range(5):
        model.refresh_in_background()
    qtbot.waitUntil(lambda: not model.refreshing)
    qtbot.wait(50)
    assert recorder.resets == 0 and recorder.inserted == []
    assert len(recorder.changed) == 1
    # A filter chosen meanwhile makes a refresh on its way stale: its rows never land.
    _add_items(db, task, 5, "new")
    model.refresh_in_background()
    window.items_page.search_edit.setText("nothing-matches-this")
    window.items_page.apply_filters()
    qtbot.waitUntil(lambda: not model.refreshing)
    qtbot.wait(50)
    assert model.rowCount() == 0


def test_only_the_running_tasks_row_repaints(qtbot: QtBot, desktop: DesktopApp) -> None:
    db = desktop.ctx.db
    tasks = [
        create_task(db, f"Task {n}", "news", "hourly", [f"https://example.org/{n}.xml"]) for n in range(5)
    ]
    window = desktop.window
    window.reload_all()
    model = window.task_model
    recorder = Recorder(model)
    row = model.row_of(tasks[2].id)
    assert row is not None

    window.on_run_progress(tasks[2].id, 3, 10)
    assert recorder.changed == [(row, COL_STATUS, row, COL_STATUS)]
    assert model.index(row, COL_STATUS).data() == "running 3/10"

    # Another process changed one task: only its row repaints, nothing is reset.
    recorder.changed.clear()
    update_task(db, tasks[4].id, name="Renamed")
    window.on_database_changed(Changes(tasks=True))
    last = model.columnCount() - 1
    changed_row = model.row_of(tasks[4].id)
    assert recorder.changed == [(changed_row, 0, changed_row, last)]
    assert recorder.resets == 0 and recorder.inserted == []

    # The periodic refresh repaints the relative times of every row, and only those columns.
    recorder.changed.clear()
    window.periodic_refresh()
    assert (0, COL_LAST, len(tasks) - 1, COL_NEXT) in recorder.changed


def test_new_matches_update_the_watch_list_in_place(qtbot: QtBot, desktop: DesktopApp) -> None:
    db = desktop.ctx.db
    watches = [create_watch(db, WatchSpec(name=f"Watch {n}", query=f"word{n}")) for n in range(3)]
    task = create_task(db, "Wire", "news", "hourly", ["https://example.org/feed.xml"])
    window = desktop.window
    page = window.alerts_page
    window.tabs.setCurrentIndex(TAB_ALERTS)
    page.reload()
    qtbot.waitUntil(lambda: page.loaded and page.watch_list.count() == 4)
    rows_before = [page.watch_list.item(n) for n in range(4)]
    rebuilt: list[object] = []
    page.watches_changed.connect(rebuilt.append)
    filter_before = window.items_page.watch_filter.count()

    item_ids = _add_items(db, task, 2, "hit")
    with db.write() as session:
        session.add_all(
            Alert(watch_id=watches[1].id, item_id=item_id, matched_at=utcnow()) for item_id in item_ids
        )
    assert unseen_counts(db) == {watches[1].id: 2}
    page.refresh()
    qtbot.waitUntil(lambda: page.watch_list.item(2).text() == "Watch 1 (2)")
    assert [page.watch_list.item(n) for n in range(4)] == rows_before  # the same rows, new texts
    assert page.watch_list.item(0).text() == "All watches (2)"
    assert page.watch_list.item(2).font().bold()
    assert rebuilt == []  # the Items page's watch filter was not rebuilt
    assert window.items_page.watch_filter.count() == filter_before


def test_many_notifications_are_shown_a_few_per_turn_all_in_order(qtbot: QtBot) -> None:
    shown: list[Notification] = []
    notifier = Notifier(Settings(), None, display=shown.append)
    notes = [Notification("watch", f"Watch {n}", "", f"watch:{n}") for n in range(3 * SHOWN_PER_TURN + 2)]
    notifier._show_soon(notes)
    assert shown == notes[:SHOWN_PER_TURN]
    qtbot.waitUntil(lambda: len(shown) == len(notes))
    assert shown == notes
