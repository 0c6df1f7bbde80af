"""The X token page of Settings: where the bearer token is kept, saved and removed at once, never shown."""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from osint_desktop.app.context import AppContext
from osint_desktop.core.crawl import social
from osint_desktop.core.secrets import (
    TOKEN_ENV,
    TOKEN_FILE,
    KeyringUnavailableError,
    clear_token,
    keyring_available,
    load_token,
    mask,
    save_token,
    token_source,
)
from osint_desktop.gui.background import Failure, run_in_background
from osint_desktop.gui.widgets import grow_to_fit

log = logging.getLogger(__name__)

KEYRING_MISSING_TEXT = (
    "No system keyring is available on this machine, so the token cannot be stored securely. "
    "Choose how to keep it:"
)
TOKEN_MAX_LENGTH = 1024
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


def _usage_job(ctx: AppContext) -> social.XUsage:
    """The saved token's month of usage; the token never leaves this call."""
    return social.fetch_usage(ctx.x_token() or "", ctx.run_options().limits)


def _clear_token_job(home: Path) -> TokenStatus:
    clear_token(home)
    return read_token_status(home)


class TokenSection(QWidget):
    """Saves or removes the token as soon as asked, off the GUI thread; the keyring may be slow."""

    saved = Signal(str)  # storage used: keyring, session or file
    # A token job ended, or a save was refused at once: True when it worked. The dialog waits
    # for it to finish pressing OK, and shows this page when something went wrong.
    settled = Signal(bool)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._status: TokenStatus | None = None
        self._keyring_refused = False
        self._job: str | None = None  # "status", "save" or "remove" while one runs
        self._build()
        self._update_widgets()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        intro = QLabel(
            "The bearer token of your X (Twitter) API v2 app, used by social media tasks. "
            "It is saved as soon as you press Save token, and never shown back in full.",
            self,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)

        form = QFormLayout()
        self.edit = QLineEdit(self)
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.edit.setMaxLength(TOKEN_MAX_LENGTH)
        self.edit.setClearButtonEnabled(True)
        self.edit.textChanged.connect(self._on_text_changed)
        form.addRow("Bearer token:", self.edit)
        self.source_label = QLabel("Checking where the token is kept…", self)
        self.source_label.setWordWrap(True)
        form.addRow("Current token:", self.source_label)
        layout.addLayout(form)

        self.env_override_label = QLabel(
            f"The token in the environment variable {TOKEN_ENV} is in use: it overrides any token "
            "saved here. Unset the variable to use the saved one.",
            self,
        )
        self.env_override_label.setWordWrap(True)
        layout.addWidget(self.env_override_label)

        self.keyring_warning_label = QLabel(KEYRING_MISSING_TEXT, self)
        self.keyring_warning_label.setWordWrap(True)
        layout.addWidget(self.keyring_warning_label)

        self.storage_group = QGroupBox("Keep the token", self)
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
        self.save_button = QPushButton("Save token", self)
        self.save_button.setAutoDefault(False)
        self.save_button.clicked.connect(self.save_token)
        self.remove_button = QPushButton("Remove token", self)
        self.remove_button.setAutoDefault(False)
        self.remove_button.clicked.connect(self.remove_token)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.remove_button)
        self.usage_button = QPushButton("Check usage", self)
        self.usage_button.setAutoDefault(False)
        self.usage_button.setToolTip("Ask X how many posts this project read this month (the saved token)")
        self.usage_button.clicked.connect(self.check_usage)
        buttons.addWidget(self.usage_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)

        self.usage_label = QLabel("", self)
        self.usage_label.setWordWrap(True)
        self.usage_label.setHidden(True)
        layout.addWidget(self.usage_label)

        self.message_label = QLabel("", self)
        self.message_label.setWordWrap(True)
        layout.addWidget(self.message_label)
        layout.addStretch(1)

    # --- state ---------------------------------------------------------------------------------

    @property
    def status(self) -> TokenStatus | None:
        """The latest token status read from the keyring and data folder, None before the first read."""
        return self._status

    @property
    def busy(self) -> bool:
        """Whether a token job (status, save or remove) is running."""
        return self._job is not None

    @property
    def saving(self) -> bool:
        """Whether the token is being saved."""
        return self._job == "save"

    def typed(self) -> bool:
        """Whether a token is typed and not yet saved."""
        return bool(self.edit.text().strip())

    # --- jobs ----------------------------------------------------------------------------------

    @Slot()
    def refresh_status(self) -> None:
        """Ask (on a pool thread) where the token is kept."""
        self._job = "status"
        self._update_widgets()
        run_in_background(
            functools.partial(read_token_status, self._ctx.home),
            self._on_status,
            owner=self,
            on_error=self._on_job_failed,
        )

    @Slot()
    def save_token(self) -> bool:
        """Save the typed token in the keyring, or where the user chose when there is none.

        False when it was refused at once (nothing typed, spaces in it).
        """
        token = self.edit.text().strip()
        if token.lower().startswith("bearer "):
            # Pasted from an Authorization header.
            token = token[len("bearer ") :].strip()
        if not token:
            self.message_label.setText("Type or paste the token first.")
            self.settled.emit(False)
            return False
        if any(ch.isspace() for ch in token):
            self.message_label.setText("A bearer token has no spaces: check what was pasted.")
            self.settled.emit(False)
            return False
        storage = self._chosen_storage()
        self._job = "save"
        self._update_widgets()
        self.message_label.setText("Saving the token…")
        run_in_background(
            functools.partial(_save_token_job, token, self._ctx.home, storage),
            self._on_saved,
            owner=self,
            on_error=self._on_save_failed,
        )
        return True

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
        self._job = "remove"
        self._update_widgets()
        run_in_background(
            functools.partial(_clear_token_job, self._ctx.home),
            self._on_removed,
            owner=self,
            on_error=self._on_job_failed,
        )

    def _keyring_usable(self) -> bool:
        status = self._status
        return status is not None and status.keyring_available and not self._keyring_refused

    def _chosen_storage(self) -> str:
        if self._keyring_usable():
            return "keyring"
        return "file" if self.file_radio.isChecked() else "session"

    def _on_status(self, status: TokenStatus) -> None:
        self._job = None
        self._show_status(status)
        self.settled.emit(True)

    def _on_saved(self, result: tuple[str, TokenStatus]) -> None:
        storage, status = result
        self._job = None
        self.edit.clear()
        self._show_status(status)
        where = _STORAGE_WORDS.get(storage, storage)
        if storage == "file":
            where = f"in the file {self._ctx.home / TOKEN_FILE}"
        self.message_label.setText(f"Token saved {where}.")
        if self._ctx.settings.token_storage != storage:
            self._ctx.settings.token_storage = storage
            try:
                # The token is already stored, so where it went is saved now too, not on OK.
                self._ctx.settings.save(self._ctx.home)
            except OSError as exc:
                log.warning("settings not saved: %s", exc)
        self.saved.emit(storage)
        self.settled.emit(True)

    def _on_save_failed(self, failure: Failure) -> None:
        self._job = None
        if failure.kind == KeyringUnavailableError.__name__:
            # The keyring looked usable but refused (locked, D-Bus gone): offer the fallbacks.
            self._keyring_refused = True
            self.message_label.setText(
                f"The system keyring refused the token ({failure.message}). Choose below where to "
                "keep it, then press Save token again."
            )
        else:
            self.message_label.setText(f"The token could not be saved: {failure.message}")
        self._update_widgets()
        self.settled.emit(False)

    def _on_removed(self, status: TokenStatus) -> None:
        self._job = None
        self._show_status(status)
        text = "Token removed."
        if status.from_environment:
            text += f" The token from {TOKEN_ENV} is still used."
        self.message_label.setText(text)
        self.settled.emit(True)

    def _on_job_failed(self, failure: Failure) -> None:
        self._job = None
        self.message_label.setText(f"The token store could not be read: {failure.message}")
        self._update_widgets()
        self.settled.emit(False)

    @Slot()
    def check_usage(self) -> None:
        """Ask X for this month's usage with the saved token, on a pool thread."""
        self.usage_button.setEnabled(False)
        self.usage_label.setText("Asking X…")
        self.usage_label.setHidden(False)
        run_in_background(
            functools.partial(_usage_job, self._ctx),
            self._on_usage,
            owner=self,
            on_error=self._on_usage_failed,
            on_finished=functools.partial(self.usage_button.setEnabled, True),
        )

    def _on_usage(self, usage: social.XUsage) -> None:
        text = f"This month: {usage.project_usage:,} posts read"
        if usage.project_cap is not None:
            text += f" of the project's cap of {usage.project_cap:,}"
        if usage.cap_reset_day is not None:
            text += f" (the count starts again on day {usage.cap_reset_day} of the month)"
        self.usage_label.setText(text + ".")
        grow_to_fit(self.window())

    def _on_usage_failed(self, failure: Failure) -> None:
        # XUsageError texts are X's own reason, already masked; Failure masks anything else.
        self.usage_label.setText(f"Usage not available: {failure.message}")
        grow_to_fit(self.window())

    # --- widgets -------------------------------------------------------------------------------

    def _show_status(self, status: TokenStatus) -> None:
        self._status = status
        if status.masked is None:
            self.source_label.setText("None saved")
            self.edit.setPlaceholderText("Paste the bearer token from the X developer portal")
        else:
            self.source_label.setText(f"{status.masked} ({status.source})")
            self.edit.setPlaceholderText(status.masked)
        self._update_widgets()

    def _update_widgets(self) -> None:
        status = self._status
        known = status is not None
        fallback = known and not self._keyring_usable()
        self.env_override_label.setHidden(not (status is not None and status.from_environment))
        self.keyring_warning_label.setHidden(not fallback)
        self.storage_group.setHidden(not fallback)
        self.file_warning_label.setHidden(not self.file_radio.isChecked())
        idle = known and self._job is None
        self.save_button.setEnabled(idle and self.typed())
        self.remove_button.setEnabled(idle and status is not None and status.source != "not set")
        grow_to_fit(self.window())

    @Slot(str)
    def _on_text_changed(self, text: str) -> None:
        self._update_widgets()
        # Enter in the token field saves the token (the dialog's OK stops being the default).
        self.save_button.setDefault(bool(text.strip()))

    @Slot(bool)
    def _on_storage_choice_changed(self, _checked: bool) -> None:
        self._update_widgets()
