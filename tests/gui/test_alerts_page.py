"""The Alerts inbox on a real database: counts, filters, marking, export, marked preview, Items by watch."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from osint_desktop.app.alerts import ALERT_CSV_FIELDS, list_alerts, unseen_counts
from osint_desktop.app.context import AppContext
from osint_desktop.app.matching import backfill_watch
from osint_desktop.app.tasks import create_task
from osint_desktop.app.watches import WatchSpec, create_watch, list_watches
from osint_desktop.core.db.models import Item
from osint_desktop.core.timeutil import utcnow
from osint_desktop.gui.alerts_page import AlertsPage, alert_preview_html
from osint_desktop.gui.application import DesktopApp
from osint_desktop.gui.background import run_inline
from osint_desktop.gui.items_page import ItemsPage
from osint_desktop.gui.models.alerts import PAGE_SIZE, AlertTableModel

# The offscreen platform cannot raise or size a window: show_alerts brings the window up.
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints\(\)|raise\(\))")

TITLES = (
    ("Ransomware gang hits Acme hospital", "The attackers demanded a ransom; CVE-2026-1234 was used."),
    ("Acme ships a zero-day fix", "A patch for CVE-2026-9999 is out."),
    ("Weather over the Baltic", "Sunny, light winds."),
    ("Port of Gdansk extends its quay", "Nothing about ransomware here? Yes: ransomware."),
)


@dataclass(frozen=True)
class Inbox:
    """What a test collected and which watches matched it."""

    task_id: int
    item_ids: list[int]
    ransomware_watch: int
    acme_watch: int


def collect(
    ctx: AppContext, titles: tuple[tuple[str, str], ...] = TITLES, task: str = "News"
) -> tuple[int, list[int]]:
    """Store items as a news task's run does; triggers add their membership and full-text index rows."""
    task_id = create_task(ctx.db, task, "news", "hourly", ["https://example.org/feed.xml"]).id
    with ctx.db.write() as session:
        rows = [
            Item(
                task_id=task_id,
                source="news",
                dedup_key=f"{task}-{number}",
                url=f"https://example.org/{task}/{number}",
                title=title,
                summary=summary,
                author="Desk",
                origin="https://example.org/feed.xml",
                collected_at=utcnow(),
            )
            for number, (title, summary) in enumerate(titles)
        ]
        session.add_all(rows)
        session.flush()
        ids = [row.id for row in rows]
    # Membership (item_tasks) is written by the database's trigger, as for a run.
    return task_id, ids


def make_inbox(ctx: AppContext) -> Inbox:
    """Two watches over four items: ransomware* matches two, Acme two (one of them shared)."""
    task_id, ids = collect(ctx)
    ransomware = create_watch(ctx.db, WatchSpec(name="Ransomware", query="ransom*")).id
    acme = create_watch(ctx.db, WatchSpec(name="Acme", query="acme", regex=r"CVE-\d{4}-\d{4}")).id
    assert backfill_watch(ctx.db, ransomware) == 2
    assert backfill_watch(ctx.db, acme) == 2
    return Inbox(task_id, ids, ransomware, acme)


def _page(qtbot: QtBot, ctx: AppContext) -> AlertsPage:
    page = AlertsPage(ctx)
    qtbot.addWidget(page)
    page.reload()
    _settle(qtbot, page)
    return page


def _settle(qtbot: QtBot, page: AlertsPage) -> None:
    qtbot.waitUntil(lambda: page.loaded and not page.model.loading, timeout=5000)


def _titles(model: AlertTableModel) -> list[str]:
    return [model.index(row, 2).data() for row in range(model.rowCount())]


def test_the_alerts_model_passes_the_model_tester(
    qtmodeltester: ModelTester, qapp: object, gui_ctx: AppContext
) -> None:
    make_inbox(gui_ctx)
    model = AlertTableModel(gui_ctx.db)
    with run_inline():
        model.reload()
        qtmodeltester.check(model)
    assert model.rowCount() == 4
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())] == [
        "Matched", "Watch", "Title", "Source", "Origin / URL", "Published",
    ]


def test_alerts_are_read_in_pages_and_new_ones_slide_in_on_top(qapp: object, gui_ctx: AppContext) -> None:
    many = tuple((f"Acme report {n}", "acme") for n in range(PAGE_SIZE + 50))
    collect(gui_ctx, many)
    watch = create_watch(gui_ctx.db, WatchSpec(name="Acme", query="acme"))
    backfill_watch(gui_ctx.db, watch.id)
    model = AlertTableModel(gui_ctx.db)
    resets: list[bool] = []
    inserted: list[tuple[int, int]] = []
    model.modelReset.connect(lambda: resets.append(True))
    model.rowsInserted.connect(lambda _parent, first, last: inserted.append((first, last)))
    with run_inline():
        model.reload()
        assert model.rowCount() == PAGE_SIZE and model.canFetchMore()
        model.fetchMore()
        assert model.rowCount() == PAGE_SIZE + 50 and not model.canFetchMore()
        ids = [model.alert_at(row).id for row in range(model.rowCount())]  # type: ignore[union-attr]
        assert ids == sorted(ids, reverse=True)

        collect(gui_ctx, (("Acme again", "acme"), ("Acme once more", "acme")), task="Later")
        backfill_watch(gui_ctx.db, watch.id)
        resets.clear()
        model.refresh()
    assert resets == [] and inserted[-1] == (0, 1)
    assert model.rowCount() == PAGE_SIZE + 52
    assert model.index(0, 2).data() == "Acme once more"


def test_unseen_alerts_are_bold_and_counted_on_the_tab(qtbot: QtBot, desktop: DesktopApp) -> None:
    window = desktop.window
    make_inbox(desktop.ctx)
    window.reload_all()
    page = window.alerts_page
    _settle(qtbot, page)
    tab = window.tabs.indexOf(page)
    assert tab == window.tabs.indexOf(window.items_page) + 1
    qtbot.waitUntil(lambda: window.tabs.tabText(tab) == "Alerts (4)", timeout=5000)
    font = page.model.index(0, 2).data(Qt.ItemDataRole.FontRole)
    assert font is not None and font.bold()
    assert page.watch_list.item(0).text() == "All watches (4)"
    assert sorted(page.watch_list.item(r).text() for r in (1, 2)) == ["Acme (2)", "Ransomware (2)"]

    window.show_alerts(None)
    assert window.tabs.currentWidget() is page
    page.mark_all_seen()
    qtbot.waitUntil(lambda: window.tabs.tabText(tab) == "Alerts", timeout=5000)
    qtbot.waitUntil(lambda: page.model.index(0, 2).data(Qt.ItemDataRole.FontRole) is None, timeout=5000)


def test_a_watch_lists_only_its_matches_and_says_when_it_has_none(qtbot: QtBot, gui_ctx: AppContext) -> None:
    inbox = make_inbox(gui_ctx)
    quiet = create_watch(gui_ctx.db, WatchSpec(name="Quiet", query="volcano", active=False)).id
    page = _page(qtbot, gui_ctx)
    assert page.model.rowCount() == 4

    page.show_watch(inbox.acme_watch)
    _settle(qtbot, page)
    assert sorted(_titles(page.model)) == ["Acme ships a zero-day fix", "Ransomware gang hits Acme hospital"]
    assert {page.model.alert_at(r).watch for r in range(page.model.rowCount())} == {"Acme"}  # type: ignore[union-attr]

    page.show_watch(quiet)
    _settle(qtbot, page)
    assert page.model.rowCount() == 0
    assert page.stack.currentWidget() is page.empty_label
    assert "No matches for watch 'Quiet'" in page.empty_label.text()
    row = next(r for r in range(page.watch_list.count()) if page.watch_list.item(r).text() == "Quiet")
    assert page.watch_list.item(row).foreground().color().name() == "#b0b6c0"  # inactive: greyed

    page.show_watch(None)
    _settle(qtbot, page)
    assert page.model.rowCount() == 4 and page.stack.currentWidget() is page.table


def test_without_watches_the_page_invites_to_make_one(qtbot: QtBot, gui_ctx: AppContext) -> None:
    page = _page(qtbot, gui_ctx)
    assert page.stack.currentWidget() is page.empty_label
    assert "Follow names, terms and indicators" in page.empty_label.text()
    assert not page.edit_button.isEnabled() and not page.delete_button.isEnabled()


def test_marking_seen_unseen_and_all_seen_updates_the_counts(qtbot: QtBot, gui_ctx: AppContext) -> None:
    inbox = make_inbox(gui_ctx)
    page = _page(qtbot, gui_ctx)
    totals: list[int] = []
    page.unseen_changed.connect(totals.append)

    # Selecting an alert reads it, as in a mail client.
    page.table.selectRow(0)
    first = page.model.alert_at(0)
    assert first is not None
    qtbot.waitUntil(lambda: totals[-1:] == [3], timeout=5000)
    assert page.model.alert_at(0).seen  # type: ignore[union-attr]
    assert sum(unseen_counts(gui_ctx.db).values()) == 3

    page.mark_selected_unseen()
    qtbot.waitUntil(lambda: totals[-1:] == [4], timeout=5000)

    page.show_watch(inbox.ransomware_watch)
    _settle(qtbot, page)
    page.mark_all_seen()
    qtbot.waitUntil(lambda: totals[-1:] == [2], timeout=5000)
    assert unseen_counts(gui_ctx.db) == {inbox.acme_watch: 2}
    assert page.count_label.text() == ""

    page.unseen_only.setChecked(True)
    _settle(qtbot, page)
    assert page.model.rowCount() == 0
    page.show_watch(None)
    _settle(qtbot, page)
    assert page.model.rowCount() == 2
    page.table.selectAll()
    page.mark_selected_seen()
    qtbot.waitUntil(lambda: totals[-1:] == [0], timeout=5000)
    assert unseen_counts(gui_ctx.db) == {}


def test_export_writes_the_listed_alerts_as_csv(qtbot: QtBot, gui_ctx: AppContext, tmp_path: Path) -> None:
    inbox = make_inbox(gui_ctx)
    page = _page(qtbot, gui_ctx)
    page.show_watch(inbox.ransomware_watch)
    _settle(qtbot, page)
    target = tmp_path / "alerts.csv"
    call = page.start_export(target)
    qtbot.waitUntil(lambda: not call.running, timeout=10_000)
    with target.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == list(ALERT_CSV_FIELDS)
    assert sorted(row["title"] for row in rows) == [
        "Port of Gdansk extends its quay",
        "Ransomware gang hits Acme hospital",
    ]
    assert {row["watch"] for row in rows} == {"Ransomware"}
    assert not (tmp_path / "alerts.csv.part").exists()
    assert "Exported 2 alerts" in page.info_label.text()


def test_the_preview_marks_the_matched_terms_and_regex(qtbot: QtBot, gui_ctx: AppContext) -> None:
    inbox = make_inbox(gui_ctx)
    page = _page(qtbot, gui_ctx)
    page.show_watch(inbox.acme_watch)
    _settle(qtbot, page)
    row = next(r for r in range(page.model.rowCount()) if "hospital" in page.model.index(r, 2).data())
    page.table.selectRow(row)
    qtbot.waitUntil(lambda: "<mark" in page.preview_document, timeout=5000)
    document = page.preview_document
    assert ">Acme</mark> hospital" in document
    assert ">CVE-2026-1234</mark>" in document
    assert "Matched by watch <b>Acme</b>" in document
    assert "https://example.org/News/0" in document
    # Shown with a highlight (Qt's rich text has no <mark> of its own).
    assert "background-color:#ffe58a" in page.preview.toHtml()


def test_the_preview_escapes_what_the_feed_wrote(gui_ctx: AppContext) -> None:
    inbox = make_inbox(gui_ctx)
    alert = list_alerts(gui_ctx.db, inbox.ransomware_watch)[0]
    hostile = "<img src='https://tracker.example/p.gif'> ransomware <script>x</script>"
    document = alert_preview_html(alert, hostile, "<b>me</b>", "ransom*", None)
    assert "<img" not in document and "<script>" not in document and "<b>me</b>" not in document
    assert "&lt;img src=" in document
    assert ">ransomware</mark>" in document


def test_items_page_lists_only_the_items_a_watch_matched(qtbot: QtBot, gui_ctx: AppContext) -> None:
    inbox = make_inbox(gui_ctx)
    collect(gui_ctx, (("Acme elsewhere", "not matched: collected after the backfill"),), task="Other")
    page = ItemsPage(gui_ctx.db)
    qtbot.addWidget(page)
    page.set_watches(list_watches(gui_ctx.db))
    page.reload()
    assert page.model.rowCount() == 5
    assert [page.watch_filter.itemText(i) for i in range(page.watch_filter.count())] == [
        "Any watch", "Acme", "Ransomware",
    ]
    page.watch_filter.setCurrentIndex(page.watch_filter.findData(inbox.acme_watch))
    titles = sorted(page.model.index(r, 1).data() for r in range(page.model.rowCount()))
    assert titles == ["Acme ships a zero-day fix", "Ransomware gang hits Acme hospital"]

    # With a search as well: both filters apply.
    page.search_edit.setText("hospital")
    page.apply_filters()
    assert [page.model.index(r, 1).data() for r in range(page.model.rowCount())] == [
        "Ransomware gang hits Acme hospital"
    ]

    page.show_watch_matches(inbox.ransomware_watch, inbox.item_ids[3])
    assert page.search_edit.text() == ""
    assert page.model.rowCount() == 2
    assert page.previewed_id == inbox.item_ids[3]
