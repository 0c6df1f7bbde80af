"""The Settings dialog: X token, crawl limits, notifications, window behaviour and maintenance."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from osint_desktop.app import autostart
from osint_desktop.app.context import AppContext
from osint_desktop.app.maintenance import backup_now
from osint_desktop.app.restore import RestoreResult, restore_backup
from osint_desktop.core.config import Settings
from osint_desktop.core.db.backup import list_backups
from osint_desktop.core.db.engine import sqlite_path
from osint_desktop.core.secrets import (
    TOKEN_ENV,
    TOKEN_FILE,
    clear_token,
    keyring_available,
    load_token,
    mask,
    redact,
    save_token,
    token_source,
)

log = logging.getLogger("osint_desktop.gui.settings")

KEYRING_MISSING_TEXT = (
    "No system keyring is available on this machine, so the token cannot be stored securely. "
    "Choose how to keep it:"
)
TOKEN_MAX_LENGTH = 1024
_KEYRING_ERROR = "KeyringUnavailableError"
_STORAGE_WORDS = {
    "keyring": "in the OS keyring",
    "session": "for this session only (forgotten when the app quits)",
    "file": "in a local file",
}


@dataclass(frozen=True)
class TokenStatus:
    """What the dialog may know about the token: never the token itself."""

    keyring_available: bool
    source: str
    masked: str | None
    from_environment: bool


def read_token_status(home: Path) -> TokenStatus:
    """Ask the keyring and the data folder about the token (slow with some keyrings: off the GUI thread)."""
    token = load_token(home)
    return TokenStatus(
        keyring_available=keyring_available(),
        source=token_source(home),
        masked=mask(token) if token else None,
        from_environment=bool(os.environ.get(TOKEN_ENV, "").strip()),
    )


def _save_token_job(token: str, home: Path, storage: str) -> tuple[str, TokenStatus]:
    save_token(token, home, storage)
    return storage, read_token_status(home)


def _clear_token_job(home: Path) -> TokenStatus:
    clear_token(home)
    return read_token_status(home)


def _copy_settings(source: Settings, target: Settings) -> None:
    for field in dataclasses.fields(Settings):
        setattr(target, field.name, getattr(source, field.name))


@dataclass(frozen=True)
class _JobOutcome:
    """What a job hands back: its value, or the exception's class name and masked message."""

    value: object = None
    error_kind: str | None = None
    error: str = ""


@dataclass(frozen=True)
class _PendingJob:
    signals: _JobSignals
    on_success: Callable[[object], None]
    on_failure: Callable[[str, str], None]


class _JobSignals(QObject):
    """Created in the GUI thread, so the worker's emission reaches the dialog there (queued)."""

    # One signal per job, so the job is forgotten before its result is announced.
    done = Signal(int, object)  # job number, _JobOutcome


class _Job(QRunnable):
    """Runs one blocking call (keyring, backup, restore) on a pool thread; touches no widget."""

    def __init__(self, number: int, name: str, work: Callable[[], object], signals: _JobSignals) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._number = number
        self._name = name
        self._work = work
        self._signals = signals

    def run(self) -> None:
        try:
            outcome = _JobOutcome(value=self._work())
        except Exception as exc:
            message = redact(str(exc) or type(exc).__name__)
            log.warning("%s failed: %s: %s", self._name, type(exc).__name__, message)
            outcome = _JobOutcome(error_kind=type(exc).__name__, error=message)
        self._signals.done.emit(self._number, outcome)


class SettingsDialog(QDialog):
    """Edits ctx.settings; OK saves them, Cancel discards. Token, backup and restore act at once."""

    settings_changed = Signal()
    token_saved = Signal(str)  # storage used: keyring, session or file
    token_removed = Signal()
    token_status_changed = Signal()
    backup_finished = Signal(str)  # path of the new backup
    backup_failed = Signal(str)
    restore_started = Signal()
    restored = Signal()
    restore_failed = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        self._ctx = ctx
        self._pool = QThreadPool.globalInstance()
        self._jobs: dict[int, _PendingJob] = {}
        self._job_numbers = itertools.count(1)
        self._token_status: TokenStatus | None = None
        self._keyring_refused = False
        self._token_job: str | None = None  # "status", "save" or "remove" while one runs
        self._accept_after_token_job = False
        self._backup_busy = False
        self._restoring = False
        self._db_file = sqlite_path(ctx.db.url)

        self.tabs = QTabWidget(self)
        self.tabs.addTab(self._build_token_tab(), "X / Twitter")
        self.tabs.addTab(self._build_crawling_tab(), "Crawling")
        self.tabs.addTab(self._build_notifications_tab(), "Notifications")
        self.tabs.addTab(self._build_window_tab(), "Window")
        self.tabs.addTab(self._build_maintenance_tab(), "Maintenance")

        self.button_box = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.button_box.accepted.connect(self.accept)
        self.button_box.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.button_box)

        self._load_form(ctx.settings)
        self._update_token_widgets()
        self._update_maintenance_widgets()
        self.refresh_token_status()

    # --- building ----------------------------------------------------------------------------

    def _build_token_tab(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)

        intro = QLabel(
            "The bearer token of your X (Twitter) API v2 app, used by social media tasks. "
            "It is saved as soon as you press Save token, and never shown back in full.",
            page,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)

        form = QFormLayout()
        self.token_edit = QLineEdit(page)
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setMaxLength(TOKEN_MAX_LENGTH)
        self.token_edit.setClearButtonEnabled(True)
        self.token_edit.textChanged.connect(self._on_token_text_changed)
        form.addRow("Bearer token:", self.token_edit)
        self.token_source_label = QLabel("Checking where the token is kept…", page)
        self.token_source_label.setWordWrap(True)
        form.addRow("Current token:", self.token_source_label)
        layout.addLayout(form)

        self.env_override_label = QLabel(
            f"The token in the environment variable {TOKEN_ENV} is in use: it overrides any token "
            "saved here. Unset the variable to use the saved one.",
            page,
        )
        self.env_override_label.setWordWrap(True)
        layout.addWidget(self.env_override_label)

        self.keyring_warning_label = QLabel(KEYRING_MISSING_TEXT, page)
        self.keyring_warning_label.setWordWrap(True)
        layout.addWidget(self.keyring_warning_label)

        self.storage_group = QGroupBox("Keep the token", page)
        storage_layout = QVBoxLayout(self.storage_group)
        self.session_radio = QRadioButton(
            "For this session only (forgotten when the app quits)", self.storage_group
        )
        self.file_radio = QRadioButton("In a local file in the data folder", self.storage_group)
        self._storage_buttons = QButtonGroup(self)
        self._storage_buttons.addButton(self.session_radio)
        self._storage_buttons.addButton(self.file_radio)
        if self._ctx.settings.token_storage == "file":
            self.file_radio.setChecked(True)
        else:
            self.session_radio.setChecked(True)
        self.file_radio.toggled.connect(self._on_storage_choice_changed)
        token_file = self._ctx.home / TOKEN_FILE
        self.file_warning_label = QLabel(
            f"Warning: the file {token_file} is not encrypted. Anyone with access to your user "
            f"account or to the data folder {self._ctx.home} can read the token. Use it only on a "
            "machine you trust.",
            self.storage_group,
        )
        self.file_warning_label.setWordWrap(True)
        storage_layout.addWidget(self.session_radio)
        storage_layout.addWidget(self.file_radio)
        storage_layout.addWidget(self.file_warning_label)
        layout.addWidget(self.storage_group)

        buttons = QHBoxLayout()
        self.save_token_button = QPushButton("Save token", page)
        self.save_token_button.setAutoDefault(False)
        self.save_token_button.clicked.connect(self.save_token)
        self.remove_token_button = QPushButton("Remove token", page)
        self.remove_token_button.setAutoDefault(False)
        self.remove_token_button.clicked.connect(self.remove_token)
        buttons.addWidget(self.save_token_button)
        buttons.addWidget(self.remove_token_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)

        self.token_message_label = QLabel("", page)
        self.token_message_label.setWordWrap(True)
        layout.addWidget(self.token_message_label)
        layout.addStretch(1)
        return page

    def _build_crawling_tab(self) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        self.max_crawls_spin = QSpinBox(page)
        self.max_crawls_spin.setRange(1, 16)
        self.max_crawls_spin.setToolTip("How many tasks may crawl at the same time.")
        form.addRow("Maximum concurrent crawls:", self.max_crawls_spin)

        self.per_host_delay_spin = QDoubleSpinBox(page)
        self.per_host_delay_spin.setRange(0.0, 60.0)
        self.per_host_delay_spin.setDecimals(2)
        self.per_host_delay_spin.setSingleStep(0.05)
        self.per_host_delay_spin.setSuffix(" s")
        self.per_host_delay_spin.setToolTip("Pause between two requests to the same web site, to be polite.")
        form.addRow("Delay between requests to one site:", self.per_host_delay_spin)

        self.read_timeout_spin = QDoubleSpinBox(page)
        self.read_timeout_spin.setRange(1.0, 300.0)
        self.read_timeout_spin.setDecimals(1)
        self.read_timeout_spin.setSingleStep(1.0)
        self.read_timeout_spin.setSuffix(" s")
        self.read_timeout_spin.setToolTip("Give up on a server that sends nothing for this long.")
        form.addRow("Request timeout:", self.read_timeout_spin)

        note = QLabel("Changes apply to runs that start after you press OK.", page)
        note.setWordWrap(True)
        form.addRow(note)
        return page

    def _build_notifications_tab(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        self.notify_failures_check = QCheckBox("Notify me when a run fails", page)
        self.notify_new_items_check = QCheckBox(
            "Notify me when a run finds new items (one notification per run)", page
        )
        layout.addWidget(self.notify_failures_check)
        layout.addWidget(self.notify_new_items_check)
        layout.addStretch(1)
        return page

    def _build_window_tab(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        self.close_to_tray_check = QCheckBox("Closing the window keeps collecting in the system tray", page)
        self.start_minimized_check = QCheckBox("Start minimized to the tray", page)
        self.start_at_login_check = QCheckBox("Start at login (minimized)", page)
        self.catch_up_check = QCheckBox("At start, run once the tasks whose run was missed", page)
        for check in (
            self.close_to_tray_check,
            self.start_minimized_check,
            self.start_at_login_check,
            self.catch_up_check,
        ):
            layout.addWidget(check)
        layout.addStretch(1)
        return page

    def _build_maintenance_tab(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        form = QFormLayout()
        self.log_retention_spin = QSpinBox(page)
        self.log_retention_spin.setRange(0, 3650)
        self.log_retention_spin.setSuffix(" days")
        self.log_retention_spin.setSpecialValueText("Keep forever")
        self.log_retention_spin.setToolTip("Run logs older than this are deleted; collected items are kept.")
        form.addRow("Keep run logs for:", self.log_retention_spin)

        self.backup_keep_spin = QSpinBox(page)
        self.backup_keep_spin.setRange(1, 100)
        form.addRow("Backups kept:", self.backup_keep_spin)

        self.backup_interval_spin = QSpinBox(page)
        self.backup_interval_spin.setRange(0, 24 * 30)
        self.backup_interval_spin.setSuffix(" hours")
        self.backup_interval_spin.setSpecialValueText("Never (only by hand)")
        form.addRow("Back up automatically every:", self.backup_interval_spin)
        layout.addLayout(form)

        group = QGroupBox("Database backups", page)
        group_layout = QVBoxLayout(group)
        self.backup_folder_label = QLabel(f"Backups are kept in {self._ctx.backup_dir}", group)
        self.backup_folder_label.setWordWrap(True)
        self.latest_backup_label = QLabel("", group)
        self.latest_backup_label.setWordWrap(True)
        self.backup_unavailable_label = QLabel(
            "This database is not a SQLite file, so the app cannot back it up or restore it: "
            "use the database server's own backup tools.",
            group,
        )
        self.backup_unavailable_label.setWordWrap(True)
        buttons = QHBoxLayout()
        self.backup_now_button = QPushButton("Back up now", group)
        self.backup_now_button.setAutoDefault(False)
        self.backup_now_button.clicked.connect(self.start_backup)
        self.restore_button = QPushButton("Restore from backup…", group)
        self.restore_button.setAutoDefault(False)
        self.restore_button.clicked.connect(self.choose_backup_to_restore)
        buttons.addWidget(self.backup_now_button)
        buttons.addWidget(self.restore_button)
        buttons.addStretch(1)
        self.backup_message_label = QLabel("", group)
        self.backup_message_label.setWordWrap(True)
        group_layout.addWidget(self.backup_folder_label)
        group_layout.addWidget(self.latest_backup_label)
        group_layout.addWidget(self.backup_unavailable_label)
        group_layout.addLayout(buttons)
        group_layout.addWidget(self.backup_message_label)
        layout.addWidget(group)
        layout.addStretch(1)
        return page

    # --- form <-> settings -------------------------------------------------------------------

    def _load_form(self, s: Settings) -> None:
        self.max_crawls_spin.setValue(s.max_concurrent_crawls)
        self.per_host_delay_spin.setValue(s.per_host_delay_s)
        self.read_timeout_spin.setValue(s.read_timeout_s)
        self.notify_failures_check.setChecked(s.notify_failures)
        self.notify_new_items_check.setChecked(s.notify_new_items)
        self.close_to_tray_check.setChecked(s.close_to_tray)
        self.start_minimized_check.setChecked(s.start_minimized)
        # The entry on disk is the truth: the user may have removed it with the desktop's tools.
        self.start_at_login_check.setChecked(autostart.is_enabled())
        self.catch_up_check.setChecked(s.catch_up_missed_runs)
        self.log_retention_spin.setValue(s.log_retention_days)
        self.backup_keep_spin.setValue(s.backup_keep)
        self.backup_interval_spin.setValue(s.backup_interval_hours)

    def settings_from_form(self) -> Settings:
        """A copy of ctx.settings with the form's values; ctx.settings is left as it is."""
        return dataclasses.replace(
            self._ctx.settings,
            max_concurrent_crawls=self.max_crawls_spin.value(),
            per_host_delay_s=round(self.per_host_delay_spin.value(), 2),
            read_timeout_s=round(self.read_timeout_spin.value(), 1),
            notify_failures=self.notify_failures_check.isChecked(),
            notify_new_items=self.notify_new_items_check.isChecked(),
            close_to_tray=self.close_to_tray_check.isChecked(),
            start_minimized=self.start_minimized_check.isChecked(),
            start_at_login=self.start_at_login_check.isChecked(),
            catch_up_missed_runs=self.catch_up_check.isChecked(),
            log_retention_days=self.log_retention_spin.value(),
            backup_keep=self.backup_keep_spin.value(),
            backup_interval_hours=self.backup_interval_spin.value(),
        )

    # --- OK / Cancel -------------------------------------------------------------------------

    def accept(self) -> None:
        """Apply and close; a token typed but not yet saved is saved first."""
        if self._restoring:
            return
        typed = bool(self.token_edit.text().strip())
        if self._token_job == "save" or (typed and self._token_job is not None):
            # Finish what is under way with the token first; its result slot comes back here.
            self._accept_after_token_job = True
            return
        if typed:
            self._accept_after_token_job = True
            self.save_token()
            return
        self._apply_and_close()

    def reject(self) -> None:
        """Discard the form; not while a restore is replacing the database."""
        if self._restoring:
            return
        super().reject()

    def _apply_and_close(self) -> None:
        new = self.settings_from_form()
        new.start_at_login = self._apply_start_at_login(new.start_at_login)
        settings = self._ctx.settings
        before = dataclasses.replace(settings)
        # Copy into the same object: the scheduler, the tray and workers hold a reference to it.
        _copy_settings(new, settings)
        try:
            settings.save(self._ctx.home)
        except OSError as exc:
            _copy_settings(before, settings)
            QMessageBox.warning(self, "Settings", f"The settings could not be saved: {exc}")
            return
        self.settings_changed.emit()
        super().accept()

    def _apply_start_at_login(self, wanted: bool) -> bool:
        """Create or remove the login entry; returns whether it is on afterwards."""
        try:
            if wanted:
                # Rewritten every time it is on, so it follows the app when the bundle moves.
                autostart.enable(autostart.launch_command(), autostart.launch_directory())
            elif autostart.is_enabled():
                autostart.disable()
        except (OSError, ValueError) as exc:
            action = "turned on" if wanted else "turned off"
            QMessageBox.warning(self, "Start at login", f"Start at login could not be {action}: {exc}")
            return autostart.is_enabled()
        return wanted

    # --- token ---------------------------------------------------------------------------------

    @property
    def token_status(self) -> TokenStatus | None:
        """The latest token status read from the keyring and data folder, None before the first read."""
        return self._token_status

    @Slot()
    def refresh_token_status(self) -> None:
        """Ask (on a pool thread) where the token is kept."""
        self._token_job = "status"
        self._update_token_widgets()
        self._run_job(
            "token status",
            functools.partial(read_token_status, self._ctx.home),
            self._on_token_status,
            self._on_token_job_failed,
        )

    @Slot()
    def save_token(self) -> None:
        """Save the typed token in the keyring, or where the user chose when there is none."""
        token = self.token_edit.text().strip()
        if token.lower().startswith("bearer "):
            # Pasted from an Authorization header.
            token = token[len("bearer ") :].strip()
        if not token:
            self._accept_after_token_job = False
            self.token_message_label.setText("Type or paste the token first.")
            return
        if any(ch.isspace() for ch in token):
            self._accept_after_token_job = False
            self.tabs.setCurrentIndex(0)
            self.token_message_label.setText("A bearer token has no spaces: check what was pasted.")
            return
        storage = self._chosen_storage()
        self._token_job = "save"
        self._update_token_widgets()
        self.token_message_label.setText("Saving the token…")
        self._run_job(
            "saving the token",
            functools.partial(_save_token_job, token, self._ctx.home, storage),
            self._on_token_saved,
            self._on_token_save_failed,
        )

    @Slot()
    def remove_token(self) -> None:
        """Forget the saved token everywhere the app keeps it, after asking."""
        answer = QMessageBox.question(
            self,
            "Remove token",
            "Remove the saved X bearer token? Social media tasks stop working until you save one again.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self._token_job = "remove"
        self._update_token_widgets()
        self._run_job(
            "removing the token",
            functools.partial(_clear_token_job, self._ctx.home),
            self._on_token_removed,
            self._on_token_job_failed,
        )

    def _keyring_usable(self) -> bool:
        status = self._token_status
        return status is not None and status.keyring_available and not self._keyring_refused

    def _chosen_storage(self) -> str:
        if self._keyring_usable():
            return "keyring"
        return "file" if self.file_radio.isChecked() else "session"

    def _on_token_status(self, status: object) -> None:
        assert isinstance(status, TokenStatus)
        self._token_job = None
        self._show_token_status(status)
        self._resume_accept()

    def _on_token_saved(self, result: object) -> None:
        assert isinstance(result, tuple)
        storage, status = result
        assert isinstance(storage, str) and isinstance(status, TokenStatus)
        self._token_job = None
        self.token_edit.clear()
        self._show_token_status(status)
        where = _STORAGE_WORDS.get(storage, storage)
        if storage == "file":
            where = f"in the file {self._ctx.home / TOKEN_FILE}"
        self.token_message_label.setText(f"Token saved {where}.")
        if self._ctx.settings.token_storage != storage:
            self._ctx.settings.token_storage = storage
            try:
                # The token is already stored, so where it went is saved now too, not on OK.
                self._ctx.settings.save(self._ctx.home)
            except OSError as exc:
                log.warning("settings not saved: %s", exc)
        self.token_saved.emit(storage)
        self._resume_accept()

    def _on_token_save_failed(self, kind: str, message: str) -> None:
        self._token_job = None
        self._accept_after_token_job = False
        self.tabs.setCurrentIndex(0)
        if kind == _KEYRING_ERROR:
            # The keyring looked usable but refused (locked, D-Bus gone): offer the fallbacks.
            self._keyring_refused = True
            self.token_message_label.setText(
                f"The system keyring refused the token ({message}). Choose below where to keep it, "
                "then press Save token again."
            )
        else:
            self.token_message_label.setText(f"The token could not be saved: {message}")
        self._update_token_widgets()

    def _on_token_removed(self, status: object) -> None:
        assert isinstance(status, TokenStatus)
        self._token_job = None
        self._show_token_status(status)
        text = "Token removed."
        if status.from_environment:
            text += f" The token from {TOKEN_ENV} is still used."
        self.token_message_label.setText(text)
        self.token_removed.emit()
        self._resume_accept()

    def _on_token_job_failed(self, _kind: str, message: str) -> None:
        self._token_job = None
        self._accept_after_token_job = False
        self.token_message_label.setText(f"The token store could not be read: {message}")
        self._update_token_widgets()

    def _resume_accept(self) -> None:
        if self._accept_after_token_job:
            self._accept_after_token_job = False
            self.accept()

    def _show_token_status(self, status: TokenStatus) -> None:
        self._token_status = status
        if status.masked is None:
            self.token_source_label.setText("None saved")
            self.token_edit.setPlaceholderText("Paste the bearer token from the X developer portal")
        else:
            self.token_source_label.setText(f"{status.masked} ({status.source})")
            self.token_edit.setPlaceholderText(status.masked)
        self._update_token_widgets()
        self.token_status_changed.emit()

    def _update_token_widgets(self) -> None:
        status = self._token_status
        known = status is not None
        fallback = known and not self._keyring_usable()
        self.env_override_label.setHidden(not (status is not None and status.from_environment))
        self.keyring_warning_label.setHidden(not fallback)
        self.storage_group.setHidden(not fallback)
        self.file_warning_label.setHidden(not self.file_radio.isChecked())
        idle = known and self._token_job is None
        self.save_token_button.setEnabled(idle and bool(self.token_edit.text().strip()))
        self.remove_token_button.setEnabled(idle and status is not None and status.source != "not set")
        self._grow_to_fit()

    @Slot(str)
    def _on_token_text_changed(self, text: str) -> None:
        self._update_token_widgets()
        # Enter in the token field saves the token instead of pressing OK.
        self.save_token_button.setDefault(bool(text.strip()))
        ok = self.button_box.button(QDialogButtonBox.StandardButton.Ok)
        if ok is not None:
            ok.setDefault(not text.strip())

    @Slot(bool)
    def _on_storage_choice_changed(self, _checked: bool) -> None:
        self._update_token_widgets()

    # --- backup and restore --------------------------------------------------------------------

    @Slot()
    def start_backup(self) -> None:
        """Back the database up on a pool thread; the result shows below the buttons."""
        if self._backup_busy or self._restoring or self._db_file is None:
            return
        self._backup_busy = True
        self._update_maintenance_widgets()
        self.backup_message_label.setText("Backing up…")
        ctx = self._ctx
        self._run_job(
            "backup",
            functools.partial(backup_now, ctx.db, ctx.backup_dir, ctx.settings.backup_keep),
            self._on_backup_done,
            self._on_backup_error,
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
        if self._db_file is None or self._restoring or self._backup_busy:
            return
        self._restoring = True
        self._update_maintenance_widgets()
        self.backup_message_label.setText(f"Restoring {backup_file.name}…")
        self.restore_started.emit()
        ctx = self._ctx
        # The same restore as the command line's: checks, refusals and the pre-restore backup.
        self._run_job(
            "restore",
            functools.partial(restore_backup, backup_file, ctx.db, ctx.backup_dir, ctx.settings.backup_keep),
            self._on_restore_done,
            self._on_restore_error,
        )

    def _on_backup_done(self, path: object) -> None:
        self._backup_busy = False
        self.backup_message_label.setText(f"Backed up to {path}")
        self._update_maintenance_widgets()
        self.backup_finished.emit(str(path))

    def _on_backup_error(self, _kind: str, message: str) -> None:
        self._backup_busy = False
        self.backup_message_label.setText(f"The backup failed: {message}")
        self._update_maintenance_widgets()
        self.backup_failed.emit(message)

    def _on_restore_done(self, result: object) -> None:
        self._restoring = False
        previous = result.previous if isinstance(result, RestoreResult) else None
        self.backup_message_label.setText(
            f"Restored. The data as it was before is kept in {previous.name}." if previous else "Restored."
        )
        self._update_maintenance_widgets()
        self.restored.emit()

    def _on_restore_error(self, _kind: str, message: str) -> None:
        self._restoring = False
        self._report_restore_error(message)

    def _report_restore_error(self, message: str) -> None:
        self.backup_message_label.setText(f"The restore failed: {message}")
        self._update_maintenance_widgets()
        self.restore_failed.emit(message)

    def _update_maintenance_widgets(self) -> None:
        sqlite = self._db_file is not None
        idle = sqlite and not self._backup_busy and not self._restoring
        self.backup_unavailable_label.setHidden(sqlite)
        self.backup_now_button.setEnabled(idle)
        self.restore_button.setEnabled(idle)
        self.button_box.setEnabled(not self._restoring)
        newest = next(iter(list_backups(self._ctx.backup_dir)), None) if sqlite else None
        self.latest_backup_label.setText(f"Latest backup: {newest.name}" if newest else "No backup yet.")
        self.latest_backup_label.setHidden(not sqlite)
        self._grow_to_fit()

    def _grow_to_fit(self) -> None:
        # Word-wrapped labels revealed after the dialog opened do not enlarge it by themselves,
        # and the tab widget would squeeze them into one clipped line.
        if not self.isVisible():
            return
        layout = self.layout()
        if layout is not None:
            layout.activate()
        # The height the wrapped text takes at this width: sizeHint() wraps at a width of its
        # own choosing, too short a guess with larger fonts (the token-file warning was cut).
        wanted = max(self.sizeHint().height(), self.heightForWidth(self.width()))
        screen = self.screen()
        if screen is not None:
            wanted = min(wanted, screen.availableGeometry().height())
        if wanted > self.height():
            self.resize(self.width(), wanted)

    # --- background jobs -----------------------------------------------------------------------

    def _run_job(
        self,
        name: str,
        work: Callable[[], object],
        on_success: Callable[[object], None],
        on_failure: Callable[[str, str], None],
    ) -> None:
        # No parent: the signals object must outlive this dialog if it closes mid-job.
        signals = _JobSignals()
        signals.done.connect(self._on_job_done)
        number = next(self._job_numbers)
        self._jobs[number] = _PendingJob(signals, on_success, on_failure)
        self._pool.start(_Job(number, name, work, signals))

    @Slot(int, object)
    def _on_job_done(self, number: int, outcome: object) -> None:
        pending = self._jobs.pop(number, None)
        if pending is None or not isinstance(outcome, _JobOutcome):
            return
        pending.signals.deleteLater()
        if outcome.error_kind is None:
            pending.on_success(outcome.value)
        else:
            pending.on_failure(outcome.error_kind, outcome.error)

    @property
    def busy(self) -> bool:
        """Whether a token, backup or restore job is still running."""
        return bool(self._jobs)
