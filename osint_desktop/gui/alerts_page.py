"""The alerts inbox: the watches, their matches newest first, and the item with the matched terms marked."""

from __future__ import annotations

import contextlib
import functools
import html
import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelection, QPoint, Qt, Signal, Slot
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from osint_desktop.app.alerts import (
    AlertInfo,
    count_alerts,
    list_alerts,
    mark_seen,
    unseen_counts,
    write_alerts_csv,
)
from osint_desktop.app.context import AppContext
from osint_desktop.app.outbound import apprise_watch_credential
from osint_desktop.app.watches import WatchInfo, delete_watch, list_watches
from osint_desktop.core.bidi import show_bidi_controls
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.queries import get_item_content
from osint_desktop.core.links import is_web_link
from osint_desktop.core.query import QueryError, compile_regex, parse_query
from osint_desktop.core.secrets import clear_credential
from osint_desktop.gui.background import BackgroundCall, Failure, run_in_background, run_with_progress
from osint_desktop.gui.flow_layout import FlowLayout
from osint_desktop.gui.formatting import HINT_COLOUR, STATUS_COLOURS, local_time_full, text_style
from osint_desktop.gui.links import open_link
from osint_desktop.gui.models.alerts import AlertTableModel, source_label
from osint_desktop.gui.preview import ItemPreview
from osint_desktop.gui.table_look import size_columns
from osint_desktop.gui.watch_dialog import WatchDialog
from osint_desktop.gui.widgets import data_table

log = logging.getLogger(__name__)

NO_WATCHES_TEXT = "Follow names, terms and indicators: <a href='new-watch'>New watch…</a>"
EXPORT_PAGE = 1000
# A hostile title could make a watch's regular expression crawl: marking its matches gives up
# after this long (the alert was recorded, only the highlight is missing), and after this many.
REGEX_TIMEOUT_S = 0.25
MAX_REGEX_SPANS = 500
_TAGS = re.compile(r"<[^>]*>")
INACTIVE_COLOUR = STATUS_COLOURS["inactive"]
# Qt's rich text knows no <mark>: without a style of its own the marked words would not stand
# out. Dark text on yellow, readable in a dark theme too.
MARK_STYLE = "background-color:#ffe58a;color:#1f2937;font-weight:600"
# The title takes what the others leave; a link is cut in its middle.
COL_TITLE, COL_LINK = 2, 4
COLUMN_SAMPLES = {
    0: "Sep 30 23:59",
    1: "Ransomware watch",
    3: "News (RSS/Atom)",
    COL_LINK: "https://feeds.example.org/news/world/rss.xml",
    5: "Sep 30 23:59",
}


@dataclass(frozen=True)
class Overview:
    """The watches and their unseen counts, read together off the GUI thread."""

    watches: list[WatchInfo]
    unseen: dict[int, int]

    @property
    def total_unseen(self) -> int:
        """Every watch's unseen alerts together."""
        return sum(self.unseen.values())


def _read_overview(db: Database) -> Overview:
    return Overview(list_watches(db), unseen_counts(db))


def highlight_html(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """Text escaped, its bidi controls visible, each span wrapped in <mark>."""
    parts: list[str] = []
    position = 0
    for start, end in spans:
        if start < position:
            continue
        parts.append(_escaped(text[position:start]))
        parts.append(f"<mark style='{MARK_STYLE}'>{_escaped(text[start:end])}</mark>")
        position = end
    parts.append(_escaped(text[position:]))
    return "".join(parts)


def _escaped(text: str) -> str:
    return html.escape(show_bidi_controls(text), quote=False)


def match_spans(text: str, query: str, regex: str | None) -> list[tuple[int, int]]:
    """Where a watch's query terms (not those under NOT) and regex matches are in text, merged."""
    spans: list[tuple[int, int]] = []
    if query.strip():
        # A query stored before the language changed has nothing to mark; the rest still shows.
        with contextlib.suppress(QueryError):
            spans.extend(parse_query(query).highlight_spans(text))
    if regex:
        try:
            compiled = compile_regex(regex)
            for number, found in enumerate(compiled.finditer(text, timeout=REGEX_TIMEOUT_S)):
                if number >= MAX_REGEX_SPANS:
                    break
                if found.end() > found.start():
                    spans.append(found.span())
        except (QueryError, TimeoutError):
            log.debug("regular expression spans not marked")
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def plain_text(fragment: str) -> str:
    """Collected HTML as the words it shows, for an item with no summary."""
    return " ".join(html.unescape(_TAGS.sub(" ", fragment)).split())


def alert_preview_html(
    alert: AlertInfo, summary: str, author: str | None, query: str, regex: str | None
) -> str:
    """The matched item's title and text with the watch's terms marked, and the facts of the match.

    Built from plain text only, everything escaped: nothing the feed wrote is markup here.
    """
    title = alert.title or "(untitled)"
    meta = [source_label(alert.source), author or "", local_time_full(alert.published_at)]
    parts = [
        f"<h2>{highlight_html(title, match_spans(title, query, regex))}</h2>",
        f"<p style='color:{HINT_COLOUR}'>{_escaped(' · '.join(m for m in meta if m))}</p>",
        f"<p>Matched by watch <b>{_escaped(alert.watch)}</b> at {_escaped(local_time_full(alert.matched_at))}"
        + ("" if alert.seen else " (new)")
        + "</p>",
    ]
    if alert.url:
        parts.append(f"<p><a href='{html.escape(alert.url, quote=True)}'>{_escaped(alert.url)}</a></p>")
    elif alert.origin:
        parts.append(f"<p style='color:{HINT_COLOUR}'>From {_escaped(alert.origin)}</p>")
    parts.append("<hr>")
    if summary:
        marked = highlight_html(summary, match_spans(summary, query, regex))
        parts.append(f"<p style='white-space:pre-wrap'>{marked}</p>")
    else:
        parts.append(f"<p style='color:{HINT_COLOUR}'>No text was collected with this item.</p>")
    return "".join(parts)


def _preview_job(db: Database, alert: AlertInfo, query: str, regex: str | None) -> str:
    """The preview of an alert's item (on a pool thread: the database, and a regex that may be slow)."""
    found = get_item_content(db, alert.item_id)
    if found is None:
        return alert_preview_html(alert, "", None, query, regex)
    item, content_html = found
    summary = item.summary or (plain_text(content_html) if content_html else "")
    return alert_preview_html(alert, summary, item.author, query, regex)


def _export_job(
    db: Database, watch_id: int | None, unseen_only: bool, path: Path, report: Callable[[Any], None]
) -> int:
    """Write the filter's alerts as CSV to path, atomically, page by page; reports (written, total)."""
    total = count_alerts(db, watch_id, unseen_only)
    report((0, total))

    def pages() -> Any:
        before: int | None = None
        written = 0
        while True:
            page = list_alerts(db, watch_id, unseen_only, limit=EXPORT_PAGE, before_id=before)
            if not page:
                return
            yield from page
            written += len(page)
            report((written, total))
            before = page[-1].id

    temporary = path.with_name(path.name + ".part")
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        count = write_alerts_csv(pages(), handle)
    os.replace(temporary, path)
    return count


def _delete_job(db: Database, home: Path, watch_id: int) -> WatchInfo:
    """Delete a watch with its alerts, and forget its own Apprise URL (on a pool thread)."""
    watch = delete_watch(db, watch_id)
    clear_credential(apprise_watch_credential(watch_id), home)
    return watch


class AlertsPage(QWidget):
    """Watches with their unseen counts on the left; the chosen watch's alerts and a preview on the right."""

    unseen_changed = Signal(int)  # every watch's unseen alerts together
    watches_changed = Signal(object)  # list[WatchInfo], by name
    show_items_requested = Signal(int, int)  # watch id, item id

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._db = ctx.db
        self.model = AlertTableModel(ctx.db, self)
        self.watches: list[WatchInfo] = []
        self.unseen: dict[int, int] = {}
        self.loaded = False  # the watches have been read once
        # The watch to show once the list holds it (a watch just made, a notification clicked).
        self._wanted_watch: int | None = None
        # The alert in the preview and its document, and the alerts selected, by id: kept across reloads.
        self.previewed_id: int | None = None
        self.preview_document = ""
        self._selected_ids: list[int] = []
        # Selecting again after a reload is no reading: an alert marked unseen stays unseen.
        self._restoring = False
        self._export: BackgroundCall[int] | None = None
        self._export_path: Path | None = None
        self._progress: QProgressDialog | None = None
        self._build()
        self._connect()
        self._update_actions()
        self._update_empty_state()

    # construction ------------------------------------------------------------------

    def _build(self) -> None:
        self.watch_list = QListWidget()
        self.watch_list.setMinimumWidth(180)
        self.new_button = QPushButton("New…")
        self.new_button.setToolTip("Follow names, terms and indicators in what is collected")
        self.edit_button = QPushButton("Edit…")
        self.delete_button = QPushButton("Delete")
        # Rows of buttons wrap when narrow instead of widening the window past a small screen.
        watch_buttons = FlowLayout()
        for button in (self.new_button, self.edit_button, self.delete_button):
            watch_buttons.addWidget(button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("Watches"))
        left_layout.addWidget(self.watch_list, 1)
        left_layout.addLayout(watch_buttons)

        self.unseen_only = QCheckBox("Unseen only")
        self.count_label = QLabel()
        self.info_label = QLabel()
        self.info_label.setStyleSheet(text_style(HINT_COLOUR))
        self.info_label.setWordWrap(True)
        self.info_label.setVisible(False)
        self.mark_seen_button = QPushButton("Mark seen")
        self.mark_all_button = QPushButton("Mark all seen")
        self.mark_unseen_button = QPushButton("Mark unseen")
        self.open_button = QPushButton("Open in browser")
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Write the alerts listed (this watch, or all) to a CSV file")
        actions = FlowLayout()
        actions.addWidget(self.unseen_only)
        actions.addWidget(self.count_label)
        actions.addStretch()
        for button in (
            self.mark_seen_button,
            self.mark_all_button,
            self.mark_unseen_button,
            self.open_button,
            self.export_button,
        ):
            actions.addWidget(button)

        self.table = self._make_table()
        self.empty_label = QLabel()
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet(text_style(HINT_COLOUR))
        self.empty_label.setTextFormat(Qt.TextFormat.RichText)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty_label)
        self.preview = ItemPreview()
        self.preview.setPlaceholderText("Select an alert to see the item with what the watch matched marked.")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.stack)
        splitter.addWidget(self.preview)
        splitter.setSizes([380, 260])
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(actions)
        right_layout.addWidget(self.info_label)
        right_layout.addWidget(splitter, 1)

        outer = QSplitter(Qt.Orientation.Horizontal)
        outer.addWidget(left)
        outer.addWidget(right)
        outer.setSizes([230, 900])
        layout = QVBoxLayout(self)
        layout.addWidget(outer)

    def _make_table(self) -> QTableView:
        table = data_table(self.model, multi_select=True, middle_elided=(COL_LINK,))
        size_columns(table, (COL_TITLE,), COLUMN_SAMPLES)
        # Always newest first: the inbox has no other order to offer, so no sort indicator.
        table.setSortingEnabled(False)
        table.horizontalHeader().setSortIndicatorShown(False)
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        return table

    def _connect(self) -> None:
        self.watch_list.currentRowChanged.connect(self._on_watch_chosen)
        self.watch_list.itemDoubleClicked.connect(lambda _item: self.edit_watch())
        self.new_button.clicked.connect(self.new_watch)
        self.edit_button.clicked.connect(self.edit_watch)
        self.delete_button.clicked.connect(self.delete_watch)
        self.unseen_only.toggled.connect(self.apply_filter)
        self.mark_seen_button.clicked.connect(self.mark_selected_seen)
        self.mark_all_button.clicked.connect(self.mark_all_seen)
        self.mark_unseen_button.clicked.connect(self.mark_selected_unseen)
        self.open_button.clicked.connect(self.open_selected)
        self.export_button.clicked.connect(self.export)
        self.empty_label.linkActivated.connect(lambda _link: self.new_watch())
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.table.doubleClicked.connect(lambda _index: self.open_selected())
        self.table.customContextMenuRequested.connect(self._show_context_menu)
        self.model.loaded.connect(self._on_rows_loaded)
        self.model.rowsInserted.connect(self._update_empty_state)

    # reading -------------------------------------------------------------------------

    @Slot()
    def reload(self) -> None:
        """Read the watches, their counts and the alerts again from scratch."""
        self._read_overview()
        self.model.reload()

    @Slot()
    def refresh(self) -> None:
        """New alerts may have come (a run, another process): counts again, new rows on top."""
        self._read_overview()
        self.model.refresh()

    def _read_overview(self) -> None:
        run_in_background(
            functools.partial(_read_overview, self._db),
            self._on_overview,
            owner=self,
            on_error=self._on_read_failed,
            key="overview",
        )

    def _on_overview(self, overview: Overview) -> None:
        same_watches = self.loaded and overview.watches == self.watches
        unchanged = same_watches and overview.unseen == self.unseen
        self.watches = overview.watches
        self.unseen = overview.unseen
        self.loaded = True
        # Rebuilt only when it changed: a periodic refresh must not disturb the list under the mouse.
        # New matches change counts only: a thousand watches' rows keep their items, their
        # texts change in place.
        if self._wanted_watch is not None or not same_watches:
            self._fill_watch_list()
        elif not unchanged:
            self._show_counts()
        if not same_watches:
            # The Items page's watch filter lists them: rebuilt only when they changed.
            self.watches_changed.emit(list(self.watches))
        self.unseen_changed.emit(overview.total_unseen)
        self._update_actions()
        self._update_empty_state()

    def _on_read_failed(self, failure: Failure) -> None:
        self._show_info(f"The alerts could not be read: {failure.message}")

    def total_unseen(self) -> int:
        """Every watch's unseen alerts together, as last read."""
        return sum(self.unseen.values())

    def _fill_watch_list(self) -> None:
        current = self.current_watch_id()
        wanted = self._wanted_watch if self._wanted_watch is not None else current
        self.watch_list.blockSignals(True)
        self.watch_list.clear()
        all_item = QListWidgetItem(_with_count("All watches", self.total_unseen()))
        all_item.setData(Qt.ItemDataRole.UserRole, None)
        _set_bold(all_item, self.total_unseen() > 0)
        self.watch_list.addItem(all_item)
        row_wanted = 0
        for watch in self.watches:
            count = self.unseen.get(watch.id, 0)
            item = QListWidgetItem(_with_count(watch.name, count))
            item.setData(Qt.ItemDataRole.UserRole, watch.id)
            _set_bold(item, count > 0)
            tip = [f"Query: {watch.query}" if watch.query else "No query"]
            if watch.regex:
                tip.append(f"Regular expression: {watch.regex}")
            tip.append(f"Scope: {watch.scope_text()}")
            if not watch.active:
                item.setForeground(QColor(INACTIVE_COLOUR))
                tip.append("Inactive: new items are not matched")
            item.setToolTip("\n".join(tip))
            self.watch_list.addItem(item)
            if watch.id == wanted:
                row_wanted = self.watch_list.count() - 1
        self.watch_list.setCurrentRow(row_wanted)
        self.watch_list.blockSignals(False)
        chosen = self.current_watch_id()
        if self._wanted_watch is not None and chosen == self._wanted_watch:
            self._wanted_watch = None
        if chosen != self.model.filter.watch_id:
            # The chosen watch is gone (or one was asked for): show what the list now says.
            self.apply_filter()

    def _show_counts(self) -> None:
        """The unseen counts on the watches' rows, the rows kept (the watches are the same)."""
        if self.watch_list.count() != len(self.watches) + 1:
            self._fill_watch_list()
            return
        rows = [("All watches", self.total_unseen())]
        rows += [(watch.name, self.unseen.get(watch.id, 0)) for watch in self.watches]
        for row, (name, count) in enumerate(rows):
            item = self.watch_list.item(row)
            text = _with_count(name, count)
            if item.text() != text:
                item.setText(text)
                _set_bold(item, count > 0)

    # choosing what is listed -----------------------------------------------------------

    def current_watch_id(self) -> int | None:
        """The watch chosen on the left; None for all watches."""
        item = self.watch_list.currentItem()
        value = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return int(value) if value is not None else None

    def current_watch(self) -> WatchInfo | None:
        """The chosen watch's details, None for all watches."""
        return self.watch_by_id(self.current_watch_id())

    def watch_by_id(self, watch_id: int | None) -> WatchInfo | None:
        """A watch as last read, by id."""
        return next((w for w in self.watches if w.id == watch_id), None)

    def show_watch(self, watch_id: int | None) -> None:
        """Choose a watch on the left (None: all) and list its alerts; read again if it is not known yet."""
        if watch_id is None:
            self.watch_list.setCurrentRow(0)
            return
        for row in range(self.watch_list.count()):
            if self.watch_list.item(row).data(Qt.ItemDataRole.UserRole) == watch_id:
                self.watch_list.setCurrentRow(row)
                return
        self._wanted_watch = watch_id
        self.refresh()

    @Slot(int)
    def _on_watch_chosen(self, _row: int) -> None:
        self.apply_filter()

    @Slot()
    def apply_filter(self) -> None:
        """List the chosen watch's alerts (or all), perhaps only the unseen."""
        self.model.set_filter(self.current_watch_id(), self.unseen_only.isChecked())
        self._update_actions()
        self._update_empty_state()

    @Slot()
    def _on_rows_loaded(self) -> None:
        self._restore_selection()
        self._update_empty_state()
        self._update_actions()

    def _restore_selection(self) -> None:
        """Select the same alerts again after the rows were read again (they may have moved)."""
        rows = [row for row in map(self.model.row_of, self._selected_ids) if row is not None]
        selection_model = self.table.selectionModel()
        current = sorted(index.row() for index in selection_model.selectedRows())
        if sorted(rows) == current:
            return
        selection = QItemSelection()
        for row in rows:
            selection.select(self.model.index(row, 0), self.model.index(row, self.model.columnCount() - 1))
        flag = selection_model.SelectionFlag
        self._restoring = True
        try:
            selection_model.select(selection, flag.ClearAndSelect | flag.Rows)
        finally:
            self._restoring = False

    @Slot()
    def _update_empty_state(self) -> None:
        watch = self.current_watch()
        if self.loaded and not self.watches:
            self.empty_label.setText(NO_WATCHES_TEXT)
            self.stack.setCurrentWidget(self.empty_label)
        elif self.model.rowCount() == 0 and not self.model.loading:
            which = f"watch {html.escape(watch.name)!r}" if watch else "any watch"
            kind = "unseen matches" if self.unseen_only.isChecked() else "matches"
            self.empty_label.setText(f"No {kind} for {which} yet.")
            self.stack.setCurrentWidget(self.empty_label)
        else:
            self.stack.setCurrentWidget(self.table)
        unseen = self.unseen.get(watch.id, 0) if watch else self.total_unseen()
        self.count_label.setText(f"{unseen:,} unseen" if unseen else "")

    # selection and preview ---------------------------------------------------------------

    def selected_alerts(self) -> list[AlertInfo]:
        """The alerts whose rows are selected, in table order."""
        rows = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        return [alert for alert in map(self.model.alert_at, rows) if alert is not None]

    @Slot(QItemSelection, QItemSelection)
    def _on_selection(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        alerts = self.selected_alerts()
        self._selected_ids = [alert.id for alert in alerts]
        self._update_actions()
        current = alerts[0] if len(alerts) == 1 else None
        if current is None:
            self.previewed_id = None
            self.preview_document = ""
            self.preview.clear()
            return
        if current.id != self.previewed_id:
            self.previewed_id = current.id
            self._show_preview(current)
        if not current.seen and not self._restoring:
            # As in a mail client: an alert read in the preview is seen.
            self._mark([current.id], seen=True)

    def _show_preview(self, alert: AlertInfo) -> None:
        watch = self.watch_by_id(alert.watch_id)
        query, regex = (watch.query, watch.regex) if watch else ("", None)
        run_in_background(
            functools.partial(_preview_job, self._db, alert, query, regex),
            functools.partial(self._on_preview, alert.id),
            owner=self,
            on_error=self._on_preview_failed,
            key="preview",
        )

    def _on_preview(self, alert_id: int, document: str) -> None:
        if alert_id == self.previewed_id:
            self.preview_document = document
            self.preview.setHtml(document)

    def _on_preview_failed(self, failure: Failure) -> None:
        self.preview.setPlainText(f"The item could not be read: {failure.message}")

    def _update_actions(self) -> None:
        alerts = self.selected_alerts()
        self.mark_seen_button.setEnabled(any(not a.seen for a in alerts))
        self.mark_unseen_button.setEnabled(any(a.seen for a in alerts))
        self.open_button.setEnabled(len(alerts) == 1 and is_web_link(alerts[0].url))
        watch = self.current_watch()
        unseen = self.unseen.get(watch.id, 0) if watch else self.total_unseen()
        self.mark_all_button.setEnabled(unseen > 0)
        self.mark_all_button.setToolTip(
            f"Mark every alert of {watch.name!r} seen" if watch else "Mark every alert of every watch seen"
        )
        self.edit_button.setEnabled(watch is not None)
        self.delete_button.setEnabled(watch is not None)
        self.export_button.setEnabled(self.model.rowCount() > 0)

    # marking ---------------------------------------------------------------------------

    @Slot()
    def mark_selected_seen(self) -> None:
        """Mark the selected alerts seen."""
        self._mark([a.id for a in self.selected_alerts()], seen=True)

    @Slot()
    def mark_selected_unseen(self) -> None:
        """Mark the selected alerts unseen again."""
        self._mark([a.id for a in self.selected_alerts()], seen=False)

    @Slot()
    def mark_all_seen(self) -> None:
        """Mark every alert of the chosen watch (or of all watches) seen."""
        watch_id = self.current_watch_id()
        run_in_background(
            functools.partial(mark_seen, self._db, None, watch_id, True),
            lambda _count: self.refresh(),
            owner=self,
            on_error=self._on_mark_failed,
        )

    def _mark(self, alert_ids: list[int], seen: bool) -> None:
        if not alert_ids:
            return
        # Shown at once; the counts follow once the database has it.
        self.model.set_seen(alert_ids, seen)
        self._update_actions()
        run_in_background(
            functools.partial(mark_seen, self._db, alert_ids, None, seen),
            lambda _count: self._read_overview(),
            owner=self,
            on_error=self._on_mark_failed,
        )

    def _on_mark_failed(self, failure: Failure) -> None:
        self._show_info(f"Could not mark the alerts: {failure.message}")
        self.refresh()

    # opening -------------------------------------------------------------------------

    @Slot()
    def open_selected(self) -> None:
        """Open the selected alert's item in the web browser (http and https links only)."""
        alerts = self.selected_alerts()
        if len(alerts) == 1 and is_web_link(alerts[0].url):
            open_link(self, alerts[0].url or "")

    @Slot(QPoint)
    def _show_context_menu(self, position: QPoint) -> None:
        index = self.table.indexAt(position)
        selected_rows = {i.row() for i in self.table.selectionModel().selectedRows()}
        if index.isValid() and index.row() not in selected_rows:
            # A right click outside the selection acts on the row clicked, as in a mail client.
            self.table.selectRow(index.row())
        alerts = self.selected_alerts()
        if not alerts:
            return
        menu = QMenu(self)
        menu.addAction("Mark seen", self.mark_selected_seen).setEnabled(any(not a.seen for a in alerts))
        menu.addAction("Mark unseen", self.mark_selected_unseen).setEnabled(any(a.seen for a in alerts))
        menu.addSeparator()
        single = alerts[0] if len(alerts) == 1 else None
        opener = menu.addAction("Open in browser", self.open_selected)
        opener.setEnabled(single is not None and is_web_link(single.url))
        if single is not None:
            menu.addAction(
                "Show in Items",
                functools.partial(self.show_items_requested.emit, single.watch_id, single.item_id),
            )
        menu.exec(self.table.viewport().mapToGlobal(position))
        menu.deleteLater()

    # watches -------------------------------------------------------------------------

    @Slot()
    def new_watch(self) -> None:
        """Open the editor for a new watch."""
        self._edit(None)

    @Slot()
    def edit_watch(self) -> None:
        """Open the editor on the chosen watch."""
        watch = self.current_watch()
        if watch is not None:
            self._edit(watch)

    def _edit(self, watch: WatchInfo | None) -> None:
        dialog = WatchDialog(self._ctx, watch, None, self)
        dialog.exec()
        # Saved even when closed afterwards (its Apprise URL refused, then Cancel): show it.
        if dialog.saved_watch is not None:
            self.watch_saved(dialog.saved_watch, dialog.result_message)
        dialog.deleteLater()

    def watch_saved(self, watch: WatchInfo, message: str = "") -> None:
        """A watch was added or changed: list it, chosen, with what searching the past found."""
        self._show_info(f"Watch {watch.name!r} saved. {message}".strip())
        self._wanted_watch = watch.id
        self.refresh()

    @Slot()
    def delete_watch(self) -> None:
        """Delete the chosen watch and its alerts, after saying how many and asking."""
        watch = self.current_watch()
        if watch is None:
            return
        run_in_background(
            functools.partial(count_alerts, self._db, watch.id),
            functools.partial(self._confirm_delete, watch),
            owner=self,
            on_error=self._on_delete_failed,
        )

    def _confirm_delete(self, watch: WatchInfo, alerts: int) -> None:
        noun = "alert" if alerts == 1 else "alerts"
        answer = QMessageBox.question(
            self,
            "Delete watch",
            f"Delete the watch {watch.name!r} and its {alerts:,} {noun}?\n\nThe items it matched are kept.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        run_in_background(
            functools.partial(_delete_job, self._db, self._ctx.home, watch.id),
            self._on_deleted,
            owner=self,
            on_error=self._on_delete_failed,
        )

    def _on_deleted(self, watch: WatchInfo) -> None:
        self._show_info(f"Watch {watch.name!r} deleted.")
        self.watch_list.setCurrentRow(0)
        self.refresh()

    def _on_delete_failed(self, failure: Failure) -> None:
        QMessageBox.warning(self, "Cannot delete", f"The watch could not be deleted: {failure.message}")
        self.refresh()

    # export ----------------------------------------------------------------------------

    @Slot()
    def export(self) -> None:
        """Ask where, then write the alerts listed to CSV."""
        watch = self.current_watch()
        which = f"the alerts of {watch.name!r}" if watch else "every alert"
        chosen, _ = QFileDialog.getSaveFileName(
            self, f"Export {which} as CSV", "osint-alerts.csv", "CSV files (*.csv)"
        )
        if chosen:
            self.start_export(Path(chosen))

    def start_export(self, path: Path) -> BackgroundCall[int]:
        """Write the current filter's alerts to path in the background, with a progress dialog."""
        where = self.model.filter
        progress = QProgressDialog(f"Exporting alerts to {path.name}…", "", 0, 0, self)
        progress.setCancelButton(None)
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(500)
        self._progress = progress
        self._export_path = path
        self._export = run_with_progress(
            functools.partial(_export_job, self._db, where.watch_id, where.unseen_only, path),
            self._on_export_progress,
            self._on_exported,
            owner=self,
            on_error=self._on_export_failed,
            on_finished=progress.close,
        )
        return self._export

    def _on_export_progress(self, value: tuple[int, int]) -> None:
        written, total = value
        if self._progress is not None:
            self._progress.setMaximum(max(total, 1))
            self._progress.setValue(written)

    def _on_exported(self, count: int) -> None:
        self._show_info(f"Exported {count:,} alerts to {self._export_path}")

    def _on_export_failed(self, failure: Failure) -> None:
        QMessageBox.warning(
            self, "Export failed", f"The export to {self._export_path} failed:\n{failure.message}"
        )

    # messages --------------------------------------------------------------------------

    def _show_info(self, message: str) -> None:
        self.info_label.setText(message)
        self.info_label.setVisible(bool(message))
        status = getattr(self.window(), "statusBar", None)
        if callable(status) and self.window() is not self:
            status().showMessage(message, 10_000)


def _with_count(name: str, unseen: int) -> str:
    return f"{name} ({unseen:,})" if unseen else name


def _set_bold(item: QListWidgetItem, bold: bool) -> None:
    font = QFont(item.font())
    font.setBold(bold)
    item.setFont(font)
