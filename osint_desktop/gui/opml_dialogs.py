"""Feeds in and out: import an OPML file into a new or existing news task, export news tasks as OPML."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt, Slot
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from osint_desktop.app.opml import (
    OpmlError,
    OpmlFeed,
    OpmlImport,
    apply_opml_import,
    feed_key,
    new_feeds,
    read_opml_file,
    write_opml,
)
from osint_desktop.app.tasks import TaskInfo, list_tasks
from osint_desktop.core.db.engine import Database
from osint_desktop.core.validation import MAX_NAME_LENGTH, ValidationError
from osint_desktop.core.vocabulary import RunStatus, Source
from osint_desktop.core.wording import count_text
from osint_desktop.gui.formatting import status_hex, text_style

__all__ = ["OpmlImportDialog", "apply_opml_import", "export_opml", "import_opml", "unique_task_name"]

log = logging.getLogger(__name__)

EXPORT_FILE_NAME = "osint-desktop-feeds.opml"
FILE_FILTER = "OPML files (*.opml *.xml);;All files (*)"
FREQUENCIES = (("hourly", "Hourly"), ("daily", "Daily"), ("weekly", "Weekly"))
ERROR_STYLE = text_style(status_hex(RunStatus.FAILED))
MAX_SKIPPED_IN_MESSAGE = 10


def import_opml(parent: QWidget, db: Database) -> list[int] | None:
    """Ask for an OPML file and where its feeds go; returns the changed task ids, or None if cancelled."""
    start = _documents_dir()
    chosen, _filter = QFileDialog.getOpenFileName(parent, "Import feeds from OPML", str(start), FILE_FILTER)
    if not chosen:
        return None
    path = Path(chosen)
    try:
        result = read_opml_file(path)
    except (OpmlError, OSError) as exc:
        log.warning("OPML import of %s refused: %s", path, exc)
        _warn(parent, "Import feeds", f"{path.name} cannot be imported: {_reason(exc)}.")
        return None
    if not result.feeds:
        text = f"{path.name} lists no feed that can be imported."
        if result.skipped:
            text += "\n\n" + _skipped_text(result.skipped)
        _inform(parent, "Import feeds", text)
        return None
    tasks = list_tasks(db)
    news_tasks = [task for task in tasks if task.source == Source.NEWS]
    name = unique_task_name(result.title or path.stem, {task.name for task in tasks})
    dialog = OpmlImportDialog(db, result, news_tasks, default_name=name, parent=parent)
    dialog.setWindowTitle(f"Import feeds from {path.name}")
    accepted = dialog.exec() == QDialog.DialogCode.Accepted
    task_id = dialog.task_id
    # The parent owns the dialog: without this it would live as long as the main window.
    dialog.deleteLater()
    if not accepted or task_id is None:
        return None
    return [task_id]


def export_opml(parent: QWidget, db: Database) -> Path | None:
    """Ask where to save, then write every news task's feeds as OPML; returns the file, or None."""
    tasks = [task for task in list_tasks(db) if task.source == Source.NEWS]
    if not tasks:
        _inform(parent, "Export feeds", "There is no news task, so there are no feeds to export.")
        return None
    default = _documents_dir() / EXPORT_FILE_NAME
    chosen, _filter = QFileDialog.getSaveFileName(
        parent, "Export feeds as OPML", str(default), "OPML files (*.opml);;All files (*)"
    )
    if not chosen:
        return None
    path = Path(chosen)
    if not path.suffix:
        path = path.with_suffix(".opml")
    try:
        _write_atomically(path, write_opml(tasks))
    except OSError as exc:
        log.warning("OPML export to %s failed: %s", path, exc)
        _warn(parent, "Export feeds", f"The feeds could not be written to {path}: {_reason(exc)}.")
        return None
    feeds = sum(len(task.targets) for task in tasks)
    log.info("exported %d feeds of %d news tasks to %s", feeds, len(tasks), path)
    return path


class OpmlImportDialog(QDialog):
    """Where the feeds of a file go: a new news task or an existing one; task_id is set on success."""

    def __init__(
        self,
        db: Database,
        result: OpmlImport,
        news_tasks: list[TaskInfo],
        default_name: str = "Imported feeds",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._db = db
        self._feeds: list[OpmlFeed] = list(result.feeds)
        self._tasks = {task.id: task for task in news_tasks}
        self.task_id: int | None = None
        self.setWindowTitle("Import feeds from OPML")
        self.setMinimumWidth(620)

        count = len(self._feeds)
        heading = QLabel(f"The file lists <b>{count} feed{'s' if count != 1 else ''}</b>. Add them to:")

        self.new_radio = QRadioButton("A new news task")
        self.name_edit = QLineEdit(default_name)
        self.name_edit.setMaxLength(MAX_NAME_LENGTH)
        self.frequency_combo = QComboBox()
        for value, label in FREQUENCIES:
            self.frequency_combo.addItem(label, value)
        self.frequency_combo.setCurrentIndex(self.frequency_combo.findData("daily"))
        new_form = QFormLayout()
        new_form.setContentsMargins(24, 0, 0, 0)
        new_form.addRow("Name:", self.name_edit)
        new_form.addRow("Frequency:", self.frequency_combo)

        self.existing_radio = QRadioButton("An existing news task")
        self.task_combo = QComboBox()
        for task in news_tasks:
            self.task_combo.addItem(f"{task.name}  ({count_text(len(task.targets), 'feed')})", task.id)
        existing_form = QFormLayout()
        existing_form.setContentsMargins(24, 0, 0, 0)
        existing_form.addRow("Task:", self.task_combo)
        if not news_tasks:
            self.existing_radio.setEnabled(False)
            self.existing_radio.setToolTip("There is no news task yet")
            self.task_combo.setEnabled(False)

        self._choice = QButtonGroup(self)
        self._choice.addButton(self.new_radio)
        self._choice.addButton(self.existing_radio)
        self.new_radio.setChecked(True)

        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        self.feeds_view = QTreeWidget()
        self.feeds_view.setHeaderLabels(["Feed", "Address", "Folder"])
        self.feeds_view.setRootIsDecorated(False)
        self.feeds_view.setAlternatingRowColors(True)
        self._feed_rows: list[QTreeWidgetItem] = []
        for feed in self._feeds:
            row = QTreeWidgetItem([feed.title, feed.xml_url, " / ".join(feed.category)])
            row.setToolTip(1, feed.xml_url)
            # Every feed is imported unless unticked: a file of 200 feeds rarely wants all of them.
            row.setFlags(row.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            row.setCheckState(0, Qt.CheckState.Checked)
            self.feeds_view.addTopLevelItem(row)
            self._feed_rows.append(row)
        self.check_all_button = QPushButton("Tick all")
        self.check_none_button = QPushButton("Untick all")
        self.feeds_view.setColumnWidth(0, 180)
        self.feeds_view.setColumnWidth(1, 300)
        self.feeds_view.setMinimumHeight(120)

        skipped = list(result.skipped)
        self.skipped_label = QLabel(
            f"{len(skipped)} outline{'s' if len(skipped) != 1 else ''} of the file will be left out:"
        )
        self.skipped_view = QTreeWidget()
        self.skipped_view.setHeaderLabels(["Outline", "Reason"])
        self.skipped_view.setRootIsDecorated(False)
        for text, reason in skipped:
            row = QTreeWidgetItem([text, reason])
            row.setToolTip(1, reason)
            self.skipped_view.addTopLevelItem(row)
        self.skipped_view.setColumnWidth(0, 220)
        self.skipped_view.setMaximumHeight(110)
        self.skipped_label.setVisible(bool(skipped))
        self.skipped_view.setVisible(bool(skipped))

        self.error_label = QLabel()
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)
        self.error_label.hide()

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button: QPushButton = self.buttons.addButton(
            "Import", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.import_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.new_radio)
        layout.addLayout(new_form)
        layout.addWidget(self.existing_radio)
        layout.addLayout(existing_form)
        layout.addSpacing(4)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.feeds_view, 1)
        ticks = QHBoxLayout()
        ticks.addWidget(self.check_all_button)
        ticks.addWidget(self.check_none_button)
        ticks.addStretch(1)
        layout.addLayout(ticks)
        layout.addWidget(self.skipped_label)
        layout.addWidget(self.skipped_view)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

        self.new_radio.toggled.connect(self._update)
        self.task_combo.currentIndexChanged.connect(self._update)
        self.name_edit.textChanged.connect(self._update)
        self.feeds_view.itemChanged.connect(self._update)
        self.check_all_button.clicked.connect(lambda: self.set_all_checked(True))
        self.check_none_button.clicked.connect(lambda: self.set_all_checked(False))
        self._update()

    def checked_feeds(self) -> list[OpmlFeed]:
        """The feeds ticked for import, in file order."""
        return [
            feed
            for row, feed in zip(self._feed_rows, self._feeds, strict=True)
            if row.checkState(0) == Qt.CheckState.Checked
        ]

    def set_all_checked(self, checked: bool) -> None:
        """Tick or untick every feed."""
        state = Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
        # One summary update, not one per row.
        self.feeds_view.blockSignals(True)
        try:
            for row in self._feed_rows:
                row.setCheckState(0, state)
        finally:
            self.feeds_view.blockSignals(False)
        self._update()

    def added_feeds(self) -> list[str]:
        """The URLs of the ticked feeds the import would add with the current choice."""
        urls = [feed.xml_url for feed in self.checked_feeds()]
        if self.new_radio.isChecked():
            return new_feeds([], urls)
        task = self._tasks.get(self.task_combo.currentData())
        return new_feeds(task.targets if task else [], urls)

    @Slot()
    def _update(self) -> None:
        into_new = self.new_radio.isChecked()
        self.name_edit.setEnabled(into_new)
        self.frequency_combo.setEnabled(into_new)
        self.task_combo.setEnabled(not into_new and bool(self._tasks))
        self.error_label.hide()
        total = len(self.checked_feeds())
        added = len(self.added_feeds())
        # "ticked" only once the user has unticked some: until then they are the file's feeds.
        feeds = "feeds" if total == len(self._feeds) else "ticked feeds"
        if total == 0:
            text = "No feed is ticked: tick the feeds to import."
        elif into_new:
            text = f"{count_text(added, 'feed')} will go into the new task."
        elif added == 0:
            text = (
                "The feed is in this task already: there is nothing to add."
                if total == 1
                else f"All {total} {feeds} are in this task already: there is nothing to add."
            )
        elif added == total:
            text = f"{count_text(added, 'feed')} will be added to this task."
        else:
            present = total - added
            verb = "is" if present == 1 else "are"
            text = f"{added} of the {total} {feeds} will be added; {present} {verb} in this task already."
        self.summary_label.setText(text)
        self._mark_present()
        self.import_button.setEnabled(added > 0 and (not into_new or bool(self.name_edit.text().strip())))

    def _mark_present(self) -> None:
        # Feeds the task has already are greyed out, so the list shows what will change.
        muted = self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        normal = self.palette().color(QPalette.ColorRole.Text)
        existing = self._tasks.get(self.task_combo.currentData()) if self.existing_radio.isChecked() else None
        known = {feed_key(url) for url in existing.targets} if existing is not None else set()
        # Colours set here fire itemChanged: without this, each would update the summary again.
        self.feeds_view.blockSignals(True)
        try:
            for item, feed in zip(self._feed_rows, self._feeds, strict=True):
                present = feed_key(feed.xml_url) in known
                for column in range(self.feeds_view.columnCount()):
                    item.setForeground(column, muted if present else normal)
                item.setToolTip(0, "Already in this task" if present else "")
        finally:
            self.feeds_view.blockSignals(False)

    def accept(self) -> None:
        """Apply the import; a refusal is shown in the dialog, which stays open."""
        try:
            if self.new_radio.isChecked():
                task_id = apply_opml_import(
                    self._db,
                    self.checked_feeds(),
                    new_task_name=self.name_edit.text(),
                    frequency=str(self.frequency_combo.currentData()),
                )
            else:
                task_id = apply_opml_import(
                    self._db, self.checked_feeds(), existing_task_id=int(self.task_combo.currentData())
                )
        except ValidationError as exc:
            self._show_error(str(exc), exc.field)
            return
        except Exception as exc:
            log.exception("OPML import failed")
            self._show_error(f"The import failed: {_reason(exc)}", None)
            return
        self.task_id = task_id
        super().accept()

    def _show_error(self, message: str, field: str | None) -> None:
        self.error_label.setText(message[:1].upper() + message[1:])
        self.error_label.show()
        if field == "name" and self.new_radio.isChecked():
            self.name_edit.setFocus()
            self.name_edit.selectAll()


def unique_task_name(base: str, names: set[str]) -> str:
    """A file's title as a task name, numbered when a task has that name already."""
    base = " ".join(base.split())[: MAX_NAME_LENGTH - 6] or "Imported feeds"
    if base not in names:
        return base
    number = 2
    while f"{base} ({number})" in names:
        number += 1
    return f"{base} ({number})"


def _skipped_text(skipped: list[tuple[str, str]]) -> str:
    lines = [f"• {text}: {reason}" for text, reason in skipped[:MAX_SKIPPED_IN_MESSAGE]]
    if len(skipped) > MAX_SKIPPED_IN_MESSAGE:
        lines.append(f"… and {len(skipped) - MAX_SKIPPED_IN_MESSAGE} more")
    return "Left out:\n" + "\n".join(lines)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


def _documents_dir() -> Path:
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(location) if location and Path(location).is_dir() else Path.home()


def _write_atomically(path: Path, data: bytes) -> None:
    # A crash half-way leaves the old file, not a truncated one; a plain open() keeps the
    # user's umask, which mkstemp's private 0600 would not.
    partial = path.with_name(f".{path.name}.part")
    try:
        with partial.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _warn(parent: QWidget | None, title: str, text: str) -> None:
    QMessageBox.warning(parent, title, text)


def _inform(parent: QWidget | None, title: str, text: str) -> None:
    QMessageBox.information(parent, title, text)

