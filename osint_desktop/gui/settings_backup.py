"""The database backups box of Settings: back up now and restore from a backup, off the GUI thread."""

from __future__ import annotations

import functools
from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from osint_desktop.app.context import AppContext
from osint_desktop.app.maintenance import backup_now
from osint_desktop.app.restore import RestoreResult, restore_backup
from osint_desktop.core.db.backup import list_backups
from osint_desktop.core.db.engine import sqlite_path
from osint_desktop.gui.background import Failure, run_in_background
from osint_desktop.gui.widgets import grow_to_fit


class BackupSection(QGroupBox):
    """Backs the SQLite database up, or replaces its content with a backup's; says why not for a server."""

    restore_started = Signal()
    restored = Signal()
    restore_failed = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__("Database backups", parent)
        self._ctx = ctx
        self._backing_up = False
        self._restoring = False
        self._db_file = sqlite_path(ctx.db.url)

        layout = QVBoxLayout(self)
        self.folder_label = QLabel(f"Backups are kept in {ctx.backup_dir}", self)
        self.folder_label.setWordWrap(True)
        self.latest_label = QLabel("", self)
        self.latest_label.setWordWrap(True)
        self.unavailable_label = QLabel(
            "This database is not a SQLite file, so the app cannot back it up or restore it: "
            "use the database server's own backup tools.",
            self,
        )
        self.unavailable_label.setWordWrap(True)
        buttons = QHBoxLayout()
        self.backup_button = QPushButton("Back up now", self)
        self.backup_button.setAutoDefault(False)
        self.backup_button.clicked.connect(self.start_backup)
        self.restore_button = QPushButton("Restore from backup…", self)
        self.restore_button.setAutoDefault(False)
        self.restore_button.clicked.connect(self.choose_backup_to_restore)
        buttons.addWidget(self.backup_button)
        buttons.addWidget(self.restore_button)
        buttons.addStretch(1)
        self.message_label = QLabel("", self)
        self.message_label.setWordWrap(True)
        layout.addWidget(self.folder_label)
        layout.addWidget(self.latest_label)
        layout.addWidget(self.unavailable_label)
        layout.addLayout(buttons)
        layout.addWidget(self.message_label)
        self._update_widgets()

    @property
    def busy(self) -> bool:
        """Whether a backup or a restore is running."""
        return self._backing_up or self._restoring

    @property
    def restoring(self) -> bool:
        """Whether a restore is replacing the database."""
        return self._restoring

    @Slot()
    def start_backup(self) -> None:
        """Back the database up on a pool thread; the result shows below the buttons."""
        if self.busy or self._db_file is None:
            return
        self._backing_up = True
        self._update_widgets()
        self.message_label.setText("Backing up…")
        ctx = self._ctx
        run_in_background(
            functools.partial(backup_now, ctx.db, ctx.backup_dir, ctx.settings.backup_keep),
            self._on_backed_up,
            owner=self,
            on_error=self._on_backup_error,
        )

    @Slot()
    def choose_backup_to_restore(self) -> None:
        """Pick a backup file, confirm, then restore it."""
        folder = self._ctx.backup_dir if self._ctx.backup_dir.is_dir() else self._ctx.home
        chosen, _filter = QFileDialog.getOpenFileName(
            self,
            "Restore from backup",
            str(folder),
            "Database backups (*.sqlite3 *.db);;All files (*)",
        )
        if not chosen:
            return
        answer = QMessageBox.question(
            self,
            "Restore from backup",
            f"Replace all current data (tasks, run logs and collected items) with the content of "
            f"{Path(chosen).name}?\n\nA backup of the current data is made first, in {self._ctx.backup_dir}. "
            "The app reloads its tables when the restore is done.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.restore_from(Path(chosen))

    def restore_from(self, backup_file: Path) -> None:
        """Replace the database's content with backup_file's, on a pool thread, without asking."""
        if self._db_file is None or self.busy:
            return
        self._restoring = True
        self._update_widgets()
        self.message_label.setText(f"Restoring {backup_file.name}…")
        self.restore_started.emit()
        ctx = self._ctx
        # The same restore as the command line's: checks, refusals and the pre-restore backup.
        run_in_background(
            functools.partial(restore_backup, backup_file, ctx.db, ctx.backup_dir, ctx.settings.backup_keep),
            self._on_restored,
            owner=self,
            on_error=self._on_restore_error,
        )

    def _on_backed_up(self, path: Path) -> None:
        self._backing_up = False
        self.message_label.setText(f"Backed up to {path}")
        self._update_widgets()

    def _on_backup_error(self, failure: Failure) -> None:
        self._backing_up = False
        self.message_label.setText(f"The backup failed: {failure.message}")
        self._update_widgets()

    def _on_restored(self, result: RestoreResult) -> None:
        self._restoring = False
        previous = result.previous
        self.message_label.setText(
            f"Restored. The data as it was before is kept in {previous.name}." if previous else "Restored."
        )
        self._update_widgets()
        self.restored.emit()

    def _on_restore_error(self, failure: Failure) -> None:
        self._restoring = False
        self.message_label.setText(f"The restore failed: {failure.message}")
        self._update_widgets()
        self.restore_failed.emit(failure.message)

    def _update_widgets(self) -> None:
        sqlite = self._db_file is not None
        idle = sqlite and not self.busy
        self.unavailable_label.setHidden(sqlite)
        self.backup_button.setEnabled(idle)
        self.restore_button.setEnabled(idle)
        newest = next(iter(list_backups(self._ctx.backup_dir)), None) if sqlite else None
        self.latest_label.setText(f"Latest backup: {newest.name}" if newest else "No backup yet.")
        self.latest_label.setHidden(not sqlite)
        grow_to_fit(self.window())
