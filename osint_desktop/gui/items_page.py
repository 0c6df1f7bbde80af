"""The items browser: full-text search, filters, a safe preview, read/unread and stars, open and export."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelection, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from osint_desktop.app.export import export_items, iter_filtered_items
from osint_desktop.app.tasks import TaskInfo
from osint_desktop.app.watches import WatchInfo
from osint_desktop.core.config import Settings
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.paging import ItemFilter
from osint_desktop.core.db.queries import ItemInfo, get_item_capture, get_item_content, get_item_page
from osint_desktop.core.db.reading import ReadingCounts, mark_all_read, mark_read, reading_counts, set_starred
from osint_desktop.core.query import QUERY_HELP, QueryError, parse_query
from osint_desktop.core.vocabulary import RunStatus, Source
from osint_desktop.gui.background import BackgroundCall, Failure, run_in_background, run_with_progress
from osint_desktop.gui.empty_state import EmptyState
from osint_desktop.gui.flow_layout import FlowLayout
from osint_desktop.gui.formatting import status_hex, text_style
from osint_desktop.gui.items_welcome import ALL_FEEDS, empty_items_text, feed_choices
from osint_desktop.gui.links import open_link
from osint_desktop.gui.models.items import COL_ORIGIN, COL_TASK, COL_TITLE, ItemTableModel
from osint_desktop.gui.preview import ItemPreview
from osint_desktop.gui.selection import SelectionKeeper
from osint_desktop.gui.table_look import size_columns
from osint_desktop.gui.widgets import clear_on_escape, compact_combo, data_table, refill_task_filter

SEARCH_DELAY_MS = 250
# The item shown is marked read after this long, as feed readers do: one only passed over on
# the way to another (arrow keys down the list) stays unread.
MARK_READ_DELAY_MS = 1000
# Refreshes come in bursts (a run's end touches several pages): the unread are counted once.
COUNTS_DELAY_MS = 200
# The read-state filter's choices (its item data); None: every item.
UNREAD, STARRED = "unread", "starred"
# The title takes what the others leave; a feed URL is cut in its middle.
COLUMN_SAMPLES = {
    0: "Sep 30 23:59",
    2: "Source",
    3: "Author Name Here",
    4: "Sep 30 23:59",
    COL_ORIGIN: "https://feeds.example.org/news/world/rss.xml",
    COL_TASK: "Weekly Security News Crawl",
}


class ItemsPage(QWidget):
    """Search and filters on top, the table on the left, the preview on the right."""

    # The unread per task and in all (ReadingCounts), after every refresh: the Tasks table shows them.
    reading_counts_changed = Signal(object)
    # A link of the empty page's text (new-task, import-opml, run-all, data-folder) was clicked.
    link_activated = Signal(str)

    def __init__(
        self,
        db: Database,
        parent: QWidget | None = None,
        evidence_dir: Path | None = None,
        settings: Settings | None = None,
        home: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self._db = db
        # Read when needed: a change in Settings applies to the next item shown.
        self._settings = settings or Settings()
        # Where the data lives, said on the first start's welcome.
        self._home = home
        self._tasks: list[TaskInfo] = []
        # Where the captures the preview names are kept; None: this window shows no raw captures.
        self._evidence_dir = evidence_dir
        self._previewed_capture: dict[str, Any] | None = None
        self.model = ItemTableModel(db, self)
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText('Search: words, "phrase", OR, NOT, prefix*')
        self.search_edit.setToolTip(QUERY_HELP)
        self.search_edit.setClearButtonEnabled(True)
        clear_on_escape(self.search_edit)
        # A malformed query says what is wrong here, and the last valid search stays listed.
        self.search_error = QLabel()
        self.search_error.setStyleSheet(text_style(status_hex(RunStatus.FAILED)))
        self.search_error.setWordWrap(True)
        self.search_error.setVisible(False)
        self._valid_search = ""
        self.task_filter = compact_combo(QComboBox())
        self.task_filter.addItem("All tasks", None)
        # One feed or target (the items' origin): typed or chosen, a part of it finds it.
        self.origin_filter = compact_combo(QComboBox())
        self.origin_filter.setEditable(True)
        self.origin_filter.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.origin_filter.addItem(ALL_FEEDS, None)
        self.origin_filter.setToolTip("Show only the items of one feed or target")
        completer = QCompleter(self.origin_filter.model(), self.origin_filter)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.origin_filter.setCompleter(completer)
        self.source_filter = compact_combo(QComboBox(), 5)
        self.source_filter.addItem("All sources", None)
        self.source_filter.addItem("News", Source.NEWS.value)
        self.source_filter.addItem("X", Source.X.value)
        # Only the items a watch matched (Alerts, "Show in Items"): filled by set_watches.
        self.watch_filter = compact_combo(QComboBox())
        self.watch_filter.addItem("Any watch", None)
        self.watch_filter.setToolTip("Show only the items a watch matched")
        self.state_filter = compact_combo(QComboBox(), 5)
        self.state_filter.addItem("All items", None)
        self.state_filter.addItem("Unread", UNREAD)
        self.state_filter.addItem("Starred", STARRED)
        self.state_filter.setToolTip("Show every item, only those not read yet, or only the starred ones")
        self.counts = ReadingCounts()
        self.count_label = QLabel()
        self.table = data_table(self.model, multi_select=True, middle_elided=(COL_ORIGIN,))
        size_columns(self.table, (COL_TITLE,), COLUMN_SAMPLES)
        self.empty_state = EmptyState(self.table, self._empty_text)
        self.empty_state.link_activated.connect(self._on_empty_link)
        self.preview = ItemPreview()
        self.open_button = QPushButton("Open in browser")
        self.raw_capture_button = QPushButton("Show raw capture…")
        self.raw_capture_button.setToolTip(
            "The WARC records and the exact bytes the source served for this item"
        )
        self.raw_capture_button.setEnabled(False)
        self.export_csv_button = QPushButton("Export CSV…")
        self.export_json_button = QPushButton("Export JSON…")
        for button in (self.open_button,):
            button.setEnabled(False)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._export: BackgroundCall[int] | None = None
        self._progress: QProgressDialog | None = None
        # The item in the preview: the selected one's id, or None when not exactly one is.
        self.previewed_id: int | None = None
        # After a reset (a restored database may reuse an id) the preview is drawn again.
        self._preview_stale = True
        self._keeper = SelectionKeeper(self.table, self.model, self)
        self._make_reading_actions()

        top = QHBoxLayout()
        top.addWidget(self.search_edit, 3)
        top.addWidget(self.task_filter, 2)
        top.addWidget(self.origin_filter, 2)
        top.addWidget(self.source_filter, 1)
        top.addWidget(self.state_filter, 1)
        top.addWidget(self.watch_filter, 1)
        top.addWidget(self.count_label)
        # Wraps under a narrow preview rather than widening the window past a small screen.
        buttons = FlowLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.raw_capture_button)
        for action in (self.star_action, self.read_action, self.mark_all_read_action):
            tool = QToolButton()
            tool.setDefaultAction(action)
            buttons.addWidget(tool)
        buttons.addStretch()
        buttons.addWidget(self.export_csv_button)
        buttons.addWidget(self.export_json_button)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.preview)
        right_layout.addLayout(buttons)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(right)
        # The table first: the preview shows one item, the table the many.
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([720, 480])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.search_error)
        layout.addWidget(splitter, 1)

        self.search_edit.textChanged.connect(self._search_timer.start)
        self._search_timer.timeout.connect(self.apply_filters)
        self.task_filter.currentIndexChanged.connect(self.apply_filters)
        self.origin_filter.activated.connect(self.apply_filters)
        origin_line = self.origin_filter.lineEdit()
        if origin_line is not None:  # editable: it has one
            origin_line.editingFinished.connect(self.apply_filters)
        self.source_filter.currentIndexChanged.connect(self.apply_filters)
        self.watch_filter.currentIndexChanged.connect(self.apply_filters)
        self.state_filter.currentIndexChanged.connect(self.apply_filters)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        # After a search, a filter or new items: the same items selected if still listed,
        # else an empty preview and no action on an item that is not there.
        self._keeper.restored.connect(self.show_selected)
        self.table.doubleClicked.connect(self.open_selected)
        self.open_button.clicked.connect(self.open_selected)
        self.raw_capture_button.clicked.connect(self.show_raw_capture)
        self.export_csv_button.clicked.connect(self.export_csv)
        self.export_json_button.clicked.connect(self.export_json)
        self.model.modelReset.connect(self._update_count)
        self.model.modelReset.connect(self._mark_preview_stale)
        self.model.rowsInserted.connect(self._update_count)
        # New items or a restored database: the unread may have changed (another filter alone
        # changes no count: with a million unread, counting costs a second of a core).
        self._filtering = False
        self.model.refreshed.connect(self._on_refreshed)

    def _make_reading_actions(self) -> None:
        """Star, read and mark-all-read: buttons under the preview, the table's menu and keys."""
        self.open_action = QAction("Open in browser", self)
        self.open_action.triggered.connect(self.open_selected)
        self.star_action = QAction("Star", self)
        self.star_action.setShortcut(QKeySequence("Ctrl+D"))
        self.star_action.setToolTip("Star the selected items to keep them at hand (Ctrl+D)")
        self.star_action.triggered.connect(self.toggle_star)
        self.read_action = QAction("Mark read", self)
        self.read_action.setShortcut(QKeySequence("M"))
        self.read_action.setToolTip("Mark the selected items read, or unread again (M)")
        self.read_action.triggered.connect(self.toggle_read)
        self.mark_all_read_action = QAction("Mark all read", self)
        self.mark_all_read_action.setToolTip("Mark every item listed (with these filters) read")
        self.mark_all_read_action.triggered.connect(self.mark_all_read)
        separator = QAction(self)
        separator.setSeparator(True)
        actions = [self.open_action, self.star_action, self.read_action, separator, self.mark_all_read_action]
        for action in actions:
            # On the table only: M typed in the search box is text.
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.table.addAction(action)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self._read_timer = QTimer(self)
        self._read_timer.setSingleShot(True)
        self._read_timer.setInterval(MARK_READ_DELAY_MS)
        self._read_timer.timeout.connect(self._mark_shown_read)
        # The item waiting to be marked read once shown long enough.
        self._read_pending: int | None = None
        # Items the user marked unread while looking at them: never marked read behind their back.
        self._kept_unread: set[int] = set()
        self._counts_timer = QTimer(self)
        self._counts_timer.setSingleShot(True)
        self._counts_timer.setInterval(COUNTS_DELAY_MS)
        self._counts_timer.timeout.connect(self._count_unread)
        # After stop(): the database is closing, and nothing more is read or written from here.
        self._stopped = False
        self._update_reading_actions([])

    def stop(self) -> None:
        """Nothing more counted or marked read in the background (the window is closing the database)."""
        self._stopped = True
        self._read_timer.stop()
        self._counts_timer.stop()

    def set_watches(self, watches: list[WatchInfo]) -> None:
        """Keep the watch filter's choices in step with the watches; a deleted one falls back to any."""
        current = self.watch_filter.currentData()
        self.watch_filter.blockSignals(True)
        self.watch_filter.clear()
        self.watch_filter.addItem("Any watch", None)
        for watch in watches:
            self.watch_filter.addItem(watch.name, watch.id)
        index = self.watch_filter.findData(current)
        self.watch_filter.setCurrentIndex(max(0, index))
        self.watch_filter.blockSignals(False)
        if index < 0 and current is not None:
            self.apply_filters()

    def show_watch_matches(self, watch_id: int, item_id: int | None = None) -> None:
        """List only the items a watch matched (other filters cleared), the given item selected."""
        index = self.watch_filter.findData(watch_id)
        if index < 0:
            self.watch_filter.addItem(f"Watch {watch_id}", watch_id)  # the list arrives later
            index = self.watch_filter.count() - 1
        for combo, position in (
            (self.task_filter, 0),
            (self.source_filter, 0),
            (self.origin_filter, 0),
            (self.state_filter, 0),
            (self.watch_filter, index),
        ):
            combo.blockSignals(True)
            combo.setCurrentIndex(position)
            combo.blockSignals(False)
        self.search_edit.blockSignals(True)
        self.search_edit.clear()
        self.search_edit.blockSignals(False)
        self.apply_filters()
        row = self.model.find_row(item_id) if item_id is not None else None
        if row is not None:
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))

    @property
    def search_box(self) -> QLineEdit:
        """Where Ctrl+F puts the keyboard."""
        return self.search_edit

    def set_tasks(self, tasks: list[TaskInfo]) -> None:
        """Keep the task and feed filters' choices and the origins' names in step with the tasks."""
        self.model.set_tasks(tasks)
        self._tasks = list(tasks)
        self._refill_origins()
        if refill_task_filter(self.task_filter, tasks):
            self.apply_filters()
        self.empty_state.update_state()

    def _refill_origins(self) -> None:
        """Offer every task's targets; a feed typed that no task has any more stays as typed."""
        typed = self.origin_filter.currentText()
        wanted = feed_choices(self._tasks)
        present = [self.origin_filter.itemText(i) for i in range(1, self.origin_filter.count())]
        if present == wanted:
            return
        self.origin_filter.blockSignals(True)
        while self.origin_filter.count() > 1:
            self.origin_filter.removeItem(1)
        for target in wanted:
            self.origin_filter.addItem(target, target)
        self.origin_filter.setCurrentIndex(max(0, self.origin_filter.findText(typed)))
        self.origin_filter.setEditText(typed)
        self.origin_filter.blockSignals(False)

    def origin(self) -> str | None:
        """The feed or target chosen or typed; None for all."""
        text = self.origin_filter.currentText().strip()
        return None if text in ("", ALL_FEEDS) else text

    def filtered(self) -> bool:
        """Whether a search or filter narrows the list."""
        where = self.model.filter
        narrowing = (where.task_id, where.source, where.search, where.watch_id, where.origin)
        return any(value is not None for value in narrowing)

    def _empty_text(self) -> str:
        return empty_items_text(self.filtered(), self._tasks, self._home)

    @Slot(str)
    def _on_empty_link(self, link: str) -> None:
        if link == "clear-filters":
            self.clear_filters()
        else:
            self.link_activated.emit(link)

    def clear_filters(self) -> None:
        """Every item again: no search, any task, feed, source and watch."""
        for combo in (self.task_filter, self.source_filter, self.watch_filter, self.origin_filter):
            combo.blockSignals(True)
            combo.setCurrentIndex(0)
            combo.blockSignals(False)
        self.search_edit.blockSignals(True)
        self.search_edit.clear()
        self.search_edit.blockSignals(False)
        self.apply_filters()

    @Slot()
    def apply_filters(self) -> None:
        """Re-query with the search text and filters, when they changed."""
        self._apply_filters(force=False)

    def reload(self) -> None:
        """Read everything again (start-up, a restored database)."""
        self._apply_filters(force=True)
        self.refresh_counts()

    @Slot()
    def _on_refreshed(self) -> None:
        if not self._filtering:
            self.refresh_counts()

    def _apply_filters(self, force: bool) -> None:
        self._search_timer.stop()
        self._check_search()
        state = self.state_filter.currentData()
        self._filtering = True
        try:
            self.model.set_filter(
                self.task_filter.currentData(),
                self.source_filter.currentData(),
                self._valid_search,
                force,
                watch_id=self.watch_filter.currentData(),
                unread_only=state == UNREAD,
                starred_only=state == STARRED,
                origin=self.origin(),
            )
        finally:
            self._filtering = False
        self._label_states()

    def _check_search(self) -> None:
        """Take the search text if it parses, else say why and keep the last one that did."""
        text = self.search_edit.text()
        try:
            if text.strip():
                parse_query(text)
        except QueryError as exc:
            self.search_error.setText(f"Search: {exc}")
            self.search_error.setVisible(True)
            return
        self.search_error.setVisible(False)
        self.search_error.clear()
        self._valid_search = text

    @Slot()
    def refresh(self) -> None:
        """New items arrived: insert them, keeping the selected items selected.

        Counted and read on a pool thread; the rows go in when the read is back.
        """
        self.model.refresh_in_background()

    @Slot()
    def _update_count(self) -> None:
        count = self.model.rowCount()
        self.count_label.setText(f"{count:,} item{'s' * (count != 1)}")

    def selected_items(self) -> list[ItemInfo]:
        """The items whose rows are selected, in table order."""
        rows = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        return [item for item in (self.model.row_at(row) for row in rows) if item is not None]

    @Slot()
    def _mark_preview_stale(self) -> None:
        self._preview_stale = True

    @Slot(QItemSelection, QItemSelection)
    def _on_selection(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self.show_selected()

    @Slot()
    def show_selected(self) -> None:
        """Preview the selected item and enable what applies to it; nothing when none is selected."""
        items = self.selected_items()
        current = items[0] if len(items) == 1 else None
        self.open_button.setEnabled(bool(current and current.url))
        self.open_action.setEnabled(bool(current and current.url))
        self._update_reading_actions(items)
        wanted = current.id if current is not None else None
        if wanted == self.previewed_id and not self._preview_stale:
            return  # items do not change once stored: keep the preview where it is scrolled to
        self._schedule_read(current)
        self.previewed_id = wanted
        self._preview_stale = False
        self._previewed_capture = None
        self.raw_capture_button.setEnabled(False)
        if current is None:
            self.preview.show_item(None, None)
            return
        found = get_item_content(self._db, current.id)
        if found is None:
            self.preview.show_item(None, None)
            return
        self._previewed_capture = get_item_capture(self._db, current.id)
        self.preview.show_item(*found, self._previewed_capture, get_item_page(self._db, current.id))
        self.raw_capture_button.setEnabled(bool(self._previewed_capture) and self._evidence_dir is not None)

    # read, unread, starred ------------------------------------------------------------

    def _update_reading_actions(self, items: list[ItemInfo]) -> None:
        """Star or Unstar, Mark read or Mark unread: what the entry would do to the selection."""
        self.star_action.setEnabled(bool(items))
        self.read_action.setEnabled(bool(items))
        self.star_action.setText("Unstar" if items and all(item.starred for item in items) else "Star")
        all_read = bool(items) and not any(item.unread for item in items)
        self.read_action.setText("Mark unread" if all_read else "Mark read")

    def _schedule_read(self, current: ItemInfo | None) -> None:
        """Mark the item now shown read in a moment, if it is unread and the setting says so."""
        wanted = None
        if current is not None and current.unread and current.id not in self._kept_unread:
            wanted = current.id if self._settings.mark_read_on_select else None
        self._read_pending = wanted
        if wanted is None or self._stopped:
            self._read_timer.stop()
        else:
            self._read_timer.start()

    @Slot()
    def _mark_shown_read(self) -> None:
        item_id, self._read_pending = self._read_pending, None
        if item_id is not None and item_id == self.previewed_id:
            self._write_state([item_id], functools.partial(mark_read, self._db, [item_id]), read=True)

    @Slot()
    def toggle_star(self) -> None:
        """Star the selected items, or unstar them when all are starred (Ctrl+D)."""
        items = self.selected_items()
        if items:
            starred = not all(item.starred for item in items)
            ids = [item.id for item in items]
            self._write_state(ids, functools.partial(set_starred, self._db, ids, starred), starred=starred)

    @Slot()
    def toggle_read(self) -> None:
        """Mark the selected items read, or unread when all are read (M)."""
        items = self.selected_items()
        if not items:
            return
        read = any(item.unread for item in items)
        ids = [item.id for item in items]
        if read:
            self._kept_unread.difference_update(ids)
        else:
            self._kept_unread.update(ids)
            self._read_timer.stop()
        self._write_state(ids, functools.partial(mark_read, self._db, ids, read), read=read)

    def _write_state(self, ids: list[int], write: Callable[[], int], **shown: bool) -> None:
        """Write on a pool thread; then show the rows so and count the unread again."""

        def written(_changed: int) -> None:
            self.model.set_item_state(set(ids), **shown)
            self._update_reading_actions(self.selected_items())
            self.refresh_counts()

        run_in_background(write, written, owner=self, on_error=self._on_write_error)

    @Slot()
    def mark_all_read(self) -> None:
        """Mark every item listed read, after asking (it cannot be undone as a whole)."""
        count = self.model.rowCount()
        if not count:
            return
        answer = QMessageBox.question(
            self,
            "Mark all read",
            f"Mark the {count:,} item{'s' * (count != 1)} listed with these filters as read?",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self._read_timer.stop()
        run_in_background(
            functools.partial(mark_all_read, self._db, self.model.filter),
            self._all_marked_read,
            owner=self,
            on_error=self._on_write_error,
        )

    def _all_marked_read(self, changed: int) -> None:
        # Re-read: under the Unread filter the list empties, elsewhere the bold goes.
        self.model.refresh()
        self._say(f"Marked {changed:,} item{'s' * (changed != 1)} read")

    def _on_write_error(self, failure: Failure) -> None:
        self._say(f"Could not save the items' state: {failure.message}")

    @Slot()
    def refresh_counts(self) -> None:
        """Count the unread again soon, in the background (the Unread filter, the Tasks table)."""
        if not self._stopped:
            self._counts_timer.start()

    @Slot()
    def _count_unread(self) -> None:
        run_in_background(
            functools.partial(reading_counts, self._db), self._on_counts, owner=self, key="reading-counts"
        )

    def _on_counts(self, counts: ReadingCounts) -> None:
        self.counts = counts
        self._label_states()
        self.reading_counts_changed.emit(counts)

    def _label_states(self) -> None:
        """The filter's choices with their counts: the unread of the task chosen (or of all)."""
        task_id = self.task_filter.currentData()
        unread = self.counts.of_task(task_id) if task_id is not None else self.counts.unread
        self.state_filter.setItemText(1, f"Unread ({unread:,})" if unread else "Unread")
        # Starred items are counted over all tasks only.
        starred = self.counts.starred if task_id is None else 0
        self.state_filter.setItemText(2, f"Starred ({starred:,})" if starred else "Starred")

    def _say(self, message: str) -> None:
        status = getattr(self.window(), "statusBar", None)
        if callable(status):
            status().showMessage(message, 8000)

    @Slot()
    def show_raw_capture(self) -> QDialog | None:
        """Open the raw capture of the previewed item (its WARC records and payload)."""
        from osint_desktop.core.evidence.capture import CaptureRef
        from osint_desktop.gui.raw_capture_dialog import RawCaptureDialog

        items = self.selected_items()
        if not self._previewed_capture or self._evidence_dir is None or len(items) != 1:
            return None
        try:
            ref = CaptureRef.from_dict(self._previewed_capture)
        except (KeyError, TypeError, ValueError) as exc:
            message = f"The item's reference to its capture is unreadable: {exc}"
            QMessageBox.warning(self, "Raw capture", message)
            return None
        dialog = RawCaptureDialog(self._db, self._evidence_dir, ref, items[0].title, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    @Slot()
    def open_selected(self) -> None:
        """Open the selected item's link in the user's web browser."""
        items = self.selected_items()
        if len(items) == 1 and items[0].url:
            open_link(self, items[0].url)

    @Slot()
    def export_csv(self) -> None:
        """Export the selection (or everything shown) to CSV."""
        self._export_to("csv")

    @Slot()
    def export_json(self) -> None:
        """Export the selection (or everything shown) to JSON."""
        self._export_to("json")

    def _export_to(self, fmt: str, path: Path | None = None) -> None:
        selected = self.selected_items()
        scope = (
            f"the {len(selected)} selected items"
            if selected
            else f"all {self.model.rowCount():,} items shown"
        )
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self,
                f"Export {scope} as {fmt.upper()}",
                f"osint-items.{fmt}",
                f"{fmt.upper()} files (*.{fmt})",
            )
            if not chosen:
                return
            path = Path(chosen)
        self.start_export(fmt, path, selected or None)

    def start_export(self, fmt: str, path: Path, items: list[ItemInfo] | None) -> BackgroundCall[int]:
        """Write in the background with a progress dialog; items=None exports the current filter."""
        work = functools.partial(_export, self._db, self.model.filter, items, path, fmt)
        total = len(items) if items is not None else self.model.rowCount()
        progress = QProgressDialog(f"Exporting {total:,} items to {path.name}…", "", 0, max(total, 1), self)
        progress.setCancelButton(None)
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(500)
        self._progress = progress
        self._export_path = path
        self._export = run_with_progress(
            work,
            progress.setValue,
            self._on_export_done,
            owner=self,
            on_error=self._on_export_error,
            on_finished=progress.close,
        )
        return self._export

    def _on_export_done(self, count: int) -> None:
        self._say(f"Exported {count} items to {self._export_path}")

    def _on_export_error(self, failure: Failure) -> None:
        QMessageBox.warning(
            self, "Export failed", f"The export to {self._export_path} failed:\n{failure.message}"
        )


def _export(
    db: Database,
    where: ItemFilter,
    items: list[ItemInfo] | None,
    path: Path,
    fmt: str,
    report: Callable[[int], None],
) -> int:
    """Write the items, or those the filter finds, to path (on a pool thread)."""
    source = items if items is not None else iter_filtered_items(db, where)
    return export_items(source, path, fmt, report)
