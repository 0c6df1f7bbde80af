"""The Bluesky and Mastodon page of Settings: logins and instance tokens, saved at once, shown masked."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from osint_desktop.app.context import AppContext
from osint_desktop.core.crawl.mastodon_targets import TOKEN_NAME_PREFIX, parse_target, token_name
from osint_desktop.core.secrets import (
    KeyringUnavailableError,
    clear_credential,
    credential_names_stored,
    credential_source,
    keyring_available,
    load_credential,
    mask,
    redact,
    save_credential,
)
from osint_desktop.core.sources.bluesky import APP_PASSWORD, HANDLE, SESSION, BlueskyProvider
from osint_desktop.core.validation import ValidationError
from osint_desktop.core.wording import sentence
from osint_desktop.gui.background import Failure, run_in_background
from osint_desktop.gui.widgets import grow_to_fit

log = logging.getLogger(__name__)
T = TypeVar("T")

APP_PASSWORD_TEXT = (
    "Use an app password (Settings → Privacy and security → App passwords on Bluesky), "
    "never your account password."
)
MASTODON_TEXT = (
    "Access tokens per instance: needed only for keyword search and for instances that require "
    "a login. Create one on the instance under Preferences → Development → New application, "
    "with the read scope only."
)
KEYRING_MISSING_TEXT = (
    "No system keyring is available on this machine, so logins and tokens cannot be stored "
    "securely. Choose how to keep them:"
)
SECRET_MAX_LENGTH = 1024
# Bluesky app passwords are four groups of four letters or digits: an account password is
# refused here, so that it never lands in the keyring by mistake.
_APP_PASSWORD = re.compile(r"^[A-Za-z0-9]{4}(-[A-Za-z0-9]{4}){3}$")


@dataclass(frozen=True)
class InstanceToken:
    """One Mastodon instance's saved token, as the page may show it."""

    instance: str  # host[:port]
    masked: str
    source: str


@dataclass(frozen=True)
class CredentialsStatus:
    """What the page may know of the saved credentials: never a secret in full."""

    keyring_available: bool
    bluesky_handle: str | None  # a handle is public
    bluesky_password: str | None  # masked
    bluesky_source: str
    bluesky_session: bool
    mastodon: tuple[InstanceToken, ...]


def normalise_instance(text: str) -> str:
    """An instance as typed ("infosec.exchange", "https://host:8443/") as its "host[:port]"."""
    cleaned = text.strip()
    if not cleaned:
        raise ValidationError("type the instance's address first, e.g. infosec.exchange", "instance")
    url = cleaned if "://" in cleaned else "https://" + cleaned
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError(f"{cleaned[:80]!r} is not an instance address", "instance")
    # The instance alone: the page's path, if a page address was pasted, does not matter.
    return parse_target(f"{parts.scheme}://{parts.netloc}/tags/osint").netloc


def normalise_handle(text: str) -> str:
    """A Bluesky handle without its "@", checked as Bluesky checks handles."""
    cleaned = text.strip().lstrip("@")
    if not cleaned:
        raise ValidationError("type your Bluesky handle, e.g. name.bsky.social", "handle")
    return BlueskyProvider().validate_target("@" + cleaned, strict=True).lstrip("@")


def _instances_of(names: list[str]) -> list[str]:
    return [name[len(TOKEN_NAME_PREFIX) :] for name in names if name.startswith(TOKEN_NAME_PREFIX)]


def read_credentials_status(home: Path, instances: list[str]) -> CredentialsStatus:
    """Ask the keyring and the data folder (slow with some keyrings: off the GUI thread)."""
    handle = load_credential(HANDLE.name, home, HANDLE.env)
    password = load_credential(APP_PASSWORD.name, home, APP_PASSWORD.env)
    session = load_credential(SESSION.name, home)
    known = list(dict.fromkeys(instances))
    # Tokens kept for this session or in files are found even if Settings forgot their names.
    seen = {re.sub(r"[^A-Za-z0-9._-]", "_", name) for name in known}
    for extra in _instances_of(credential_names_stored(TOKEN_NAME_PREFIX, home)):
        if re.sub(r"[^A-Za-z0-9._-]", "_", extra) not in seen:
            known.append(extra)
    tokens = []
    for instance in known:
        name = token_name(instance)
        value = load_credential(name, home)
        if value:
            tokens.append(InstanceToken(instance, mask(value), credential_source(name, home)))
    return CredentialsStatus(
        keyring_available=keyring_available(),
        bluesky_handle=handle,
        bluesky_password=mask(password) if password else None,
        bluesky_source=credential_source(APP_PASSWORD.name, home, APP_PASSWORD.env),
        bluesky_session=bool(session),
        mastodon=tuple(tokens),
    )


def _save_job(
    items: list[tuple[str, str]], forget: list[str], home: Path, storage: str, instances: list[str]
) -> tuple[str, CredentialsStatus]:
    for name in forget:
        clear_credential(name, home)
    for name, value in items:
        save_credential(name, value, home, storage)
    return storage, read_credentials_status(home, instances)


def _clear_job(names: list[str], home: Path, instances: list[str]) -> CredentialsStatus:
    for name in names:
        clear_credential(name, home)
    return read_credentials_status(home, instances)


class CredentialsSection(QWidget):
    """Bluesky's login and Mastodon's instance tokens: saved or removed at once, off the GUI thread."""

    saved = Signal(str)  # storage used: keyring, session or file
    settled = Signal(bool)  # a job ended (True: it worked), or a save was refused at once

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._status: CredentialsStatus | None = None
        self._keyring_refused = False
        self._job: str | None = None
        self._build()
        self._update_widgets()

    # --- layout --------------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.addWidget(self._build_bluesky())
        layout.addWidget(self._build_mastodon())

        self.keyring_warning_label = QLabel(KEYRING_MISSING_TEXT, self)
        self.keyring_warning_label.setWordWrap(True)
        layout.addWidget(self.keyring_warning_label)
        self.storage_group = QGroupBox("Keep logins and tokens", self)
        storage_layout = QVBoxLayout(self.storage_group)
        self.session_radio = QRadioButton(
            "For this session only (forgotten when the app quits)", self.storage_group
        )
        self.file_radio = QRadioButton("In local files in the data folder", self.storage_group)
        group = QButtonGroup(self)
        group.addButton(self.session_radio)
        group.addButton(self.file_radio)
        if self._ctx.settings.token_storage == "file":
            self.file_radio.setChecked(True)
        else:
            self.session_radio.setChecked(True)
        self.file_radio.toggled.connect(self._on_changed)
        self.file_warning_label = QLabel(
            f"Warning: files in the data folder {self._ctx.home} are not encrypted. Anyone with "
            "access to your user account can read them. Use it only on a machine you trust.",
            self.storage_group,
        )
        self.file_warning_label.setWordWrap(True)
        storage_layout.addWidget(self.session_radio)
        storage_layout.addWidget(self.file_radio)
        storage_layout.addWidget(self.file_warning_label)
        layout.addWidget(self.storage_group)

        self.message_label = QLabel("", self)
        self.message_label.setWordWrap(True)
        layout.addWidget(self.message_label)
        layout.addStretch(1)

    def _build_bluesky(self) -> QGroupBox:
        box = QGroupBox("Bluesky", self)
        layout = QVBoxLayout(box)
        intro = QLabel(
            "Searches need a login; #hashtags and @accounts work without one. " + APP_PASSWORD_TEXT,
            box,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.handle_edit = QLineEdit(box)
        self.handle_edit.setPlaceholderText("name.bsky.social")
        self.handle_edit.setMaxLength(253)
        self.handle_edit.textChanged.connect(self._on_changed)
        form.addRow("Handle:", self.handle_edit)
        self.password_edit = QLineEdit(box)
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText("xxxx-xxxx-xxxx-xxxx")
        self.password_edit.setMaxLength(SECRET_MAX_LENGTH)
        self.password_edit.textChanged.connect(self._on_changed)
        form.addRow("App password:", self.password_edit)
        self.bluesky_status_label = QLabel("Checking what is saved…", box)
        self.bluesky_status_label.setWordWrap(True)
        form.addRow("Saved login:", self.bluesky_status_label)
        self.service_edit = QLineEdit(self._ctx.settings.bluesky_service_url, box)
        self.service_edit.setToolTip(
            "Where the account logs in: https://bsky.social, or your own server. Saved with OK."
        )
        form.addRow("Login service:", self.service_edit)
        layout.addLayout(form)
        note = QLabel(
            "The login session is kept automatically, so the app does not log in on every run; "
            "removing the login also forgets the session.",
            box,
        )
        note.setWordWrap(True)
        layout.addWidget(note)
        buttons = QHBoxLayout()
        self.bluesky_save_button = QPushButton("Save login", box)
        self.bluesky_save_button.setAutoDefault(False)
        self.bluesky_save_button.clicked.connect(self.save_bluesky)
        self.bluesky_remove_button = QPushButton("Remove login", box)
        self.bluesky_remove_button.setAutoDefault(False)
        self.bluesky_remove_button.clicked.connect(self.remove_bluesky)
        buttons.addWidget(self.bluesky_save_button)
        buttons.addWidget(self.bluesky_remove_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        return box

    def _build_mastodon(self) -> QGroupBox:
        box = QGroupBox("Mastodon", self)
        layout = QVBoxLayout(box)
        intro = QLabel(MASTODON_TEXT, box)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.mastodon_table = QTableWidget(0, 3, box)
        self.mastodon_table.setHorizontalHeaderLabels(["Instance", "Token", "Kept"])
        self.mastodon_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.mastodon_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.mastodon_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.mastodon_table.verticalHeader().setVisible(False)
        # Tab moves on to the buttons, as in every table of the app; arrows move inside it.
        self.mastodon_table.setTabKeyNavigation(False)
        header = self.mastodon_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.mastodon_table.setMaximumHeight(140)
        self.mastodon_table.itemSelectionChanged.connect(self._on_changed)
        layout.addWidget(self.mastodon_table)
        row = QHBoxLayout()
        self.instance_edit = QLineEdit(box)
        self.instance_edit.setPlaceholderText("infosec.exchange")
        self.instance_edit.setMaxLength(300)
        self.instance_edit.textChanged.connect(self._on_changed)
        self.mastodon_token_edit = QLineEdit(box)
        self.mastodon_token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.mastodon_token_edit.setPlaceholderText("Access token")
        self.mastodon_token_edit.setMaxLength(SECRET_MAX_LENGTH)
        self.mastodon_token_edit.textChanged.connect(self._on_changed)
        self.mastodon_add_button = QPushButton("Add token", box)
        self.mastodon_add_button.setAutoDefault(False)
        self.mastodon_add_button.clicked.connect(self.add_mastodon_token)
        self.mastodon_remove_button = QPushButton("Remove selected", box)
        self.mastodon_remove_button.setAutoDefault(False)
        self.mastodon_remove_button.clicked.connect(self.remove_mastodon_token)
        row.addWidget(self.instance_edit, 2)
        row.addWidget(self.mastodon_token_edit, 3)
        row.addWidget(self.mastodon_add_button)
        row.addWidget(self.mastodon_remove_button)
        layout.addLayout(row)
        return box

    # --- state ---------------------------------------------------------------------------------

    @property
    def status(self) -> CredentialsStatus | None:
        """The latest status read, None before the first read."""
        return self._status

    @property
    def busy(self) -> bool:
        """Whether a job (status, save or remove) is running."""
        return self._job is not None

    @property
    def saving(self) -> bool:
        """Whether a login or token is being saved."""
        return self._job == "save"

    def typed(self) -> bool:
        """Whether an app password or token is typed and not yet saved."""
        return bool(self.password_edit.text().strip() or self.mastodon_token_edit.text().strip())

    def save_typed(self) -> bool:
        """Save what is typed (the login first, then a token); False when refused at once."""
        if self.password_edit.text().strip():
            return self.save_bluesky()
        if self.mastodon_token_edit.text().strip():
            return self.add_mastodon_token()
        return True

    def service_url(self) -> str:
        """The login service as typed; ValidationError unless it is an http(s) address."""
        text = self.service_edit.text().strip().rstrip("/") or "https://bsky.social"
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in text):
            raise ValidationError(
                f"the Bluesky login service must be an http(s) address, not {text[:80]!r}",
                "bluesky_service_url",
            )
        return text

    def _instances(self) -> list[str]:
        return list(self._ctx.settings.mastodon_token_instances)

    # --- jobs ----------------------------------------------------------------------------------

    @Slot()
    def refresh_status(self) -> None:
        """Ask (on a pool thread) what is saved."""
        self._start(
            "status",
            functools.partial(read_credentials_status, self._ctx.home, self._instances()),
            self._on_status,
        )

    @Slot()
    def save_bluesky(self) -> bool:
        """Save the typed handle and app password; a new login forgets the old session."""
        try:
            handle = normalise_handle(self.handle_edit.text())
        except ValidationError as exc:
            return self._refuse(sentence(str(exc)))
        password = self.password_edit.text().strip()
        if not password:
            return self._refuse("Type the app password too.")
        if not _APP_PASSWORD.match(password):
            return self._refuse(
                "That is not an app password (four groups of four letters or digits, like "
                "abcd-efgh-ijkl-mnop). " + APP_PASSWORD_TEXT
            )
        items = [(HANDLE.name, handle), (APP_PASSWORD.name, password)]
        self._save("bluesky", items, [SESSION.name])
        return True

    @Slot()
    def remove_bluesky(self) -> None:
        """Forget the handle, the app password and the session, after asking."""
        if not self._confirm("Remove the Bluesky login (and its session)? Bluesky searches stop working."):
            return
        names = [HANDLE.name, APP_PASSWORD.name, SESSION.name]
        self._start(
            "remove",
            functools.partial(_clear_job, names, self._ctx.home, self._instances()),
            functools.partial(self._on_removed, "Bluesky login removed."),
        )

    @Slot()
    def add_mastodon_token(self) -> bool:
        """Save the typed token for the typed instance (replacing one saved before)."""
        try:
            instance = normalise_instance(self.instance_edit.text())
        except ValidationError as exc:
            return self._refuse(sentence(str(exc)))
        token = self.mastodon_token_edit.text().strip()
        if token.lower().startswith("bearer "):
            token = token[len("bearer ") :].strip()
        if not token:
            return self._refuse(f"Paste the access token for {instance} first.")
        if any(ch.isspace() for ch in token):
            return self._refuse("An access token has no spaces: check what was pasted.")
        self._remember_instance(instance, True)
        self._save("mastodon", [(token_name(instance), token)], [])
        return True

    @Slot()
    def remove_mastodon_token(self) -> None:
        """Forget the selected instance's token, after asking."""
        rows = self.mastodon_table.selectionModel().selectedRows()
        if not rows:
            return
        item = self.mastodon_table.item(rows[0].row(), 0)
        if item is None:
            return
        instance = item.text()
        if not self._confirm(f"Remove the access token for {instance}?"):
            return
        self._remember_instance(instance, False)
        self._start(
            "remove",
            functools.partial(_clear_job, [token_name(instance)], self._ctx.home, self._instances()),
            functools.partial(self._on_removed, f"Token for {instance} removed."),
        )

    def _save(self, what: str, items: list[tuple[str, str]], forget: list[str]) -> None:
        storage = self._chosen_storage()
        self.message_label.setText("Saving…")
        self._start(
            "save",
            functools.partial(_save_job, items, forget, self._ctx.home, storage, self._instances()),
            functools.partial(self._on_saved, what),
            self._on_save_failed,
        )

    def _start(
        self,
        job: str,
        work: Callable[[], T],
        on_result: Callable[[T], None],
        on_error: Callable[[Failure], None] | None = None,
    ) -> None:
        self._job = job
        self._update_widgets()
        run_in_background(work, on_result, owner=self, on_error=on_error or self._on_job_failed)

    def _refuse(self, message: str) -> bool:
        self.message_label.setText(message)
        self.settled.emit(False)
        return False

    def _confirm(self, question: str) -> bool:
        answer = QMessageBox.question(
            self,
            "Remove",
            question,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _remember_instance(self, instance: str, keep: bool) -> None:
        # Only the instance's name goes in the settings file: the keyring cannot be listed.
        names = [name for name in self._ctx.settings.mastodon_token_instances if name != instance]
        if keep:
            names.append(instance)
        if names != self._ctx.settings.mastodon_token_instances:
            self._ctx.settings.mastodon_token_instances = names
            self._save_settings()

    def _save_settings(self) -> None:
        try:
            self._ctx.settings.save(self._ctx.home)
        except OSError as exc:
            log.warning("settings not saved: %s", exc)

    def _keyring_usable(self) -> bool:
        status = self._status
        return status is not None and status.keyring_available and not self._keyring_refused

    def _chosen_storage(self) -> str:
        if self._keyring_usable():
            return "keyring"
        return "file" if self.file_radio.isChecked() else "session"

    # --- results -------------------------------------------------------------------------------

    def _on_status(self, status: CredentialsStatus) -> None:
        self._job = None
        self._show_status(status)
        self.settled.emit(True)

    def _on_saved(self, what: str, result: tuple[str, CredentialsStatus]) -> None:
        storage, status = result
        self._job = None
        where = {
            "keyring": "in the OS keyring",
            "session": "for this session only (forgotten when the app quits)",
            "file": f"in a local file in {self._ctx.home}",
        }.get(storage, storage)
        if what == "bluesky":
            self.password_edit.clear()
            self.message_label.setText(f"Bluesky login saved {where}.")
        else:
            self.instance_edit.clear()
            self.mastodon_token_edit.clear()
            self.message_label.setText(f"Mastodon token saved {where}.")
        self._show_status(status)
        if self._ctx.settings.token_storage != storage:
            # Stored already, so where it went is saved now too, not on OK.
            self._ctx.settings.token_storage = storage
            self._save_settings()
        self.saved.emit(storage)
        self.settled.emit(True)

    def _on_save_failed(self, failure: Failure) -> None:
        self._job = None
        message = redact(failure.message)
        if failure.kind == KeyringUnavailableError.__name__:
            # The keyring looked usable but refused (locked, D-Bus gone): offer the fallbacks.
            self._keyring_refused = True
            self.message_label.setText(
                f"The system keyring refused ({message}). Choose below where to keep it, then save again."
            )
        else:
            self.message_label.setText(f"Not saved: {message}")
        self._update_widgets()
        self.settled.emit(False)

    def _on_removed(self, text: str, status: CredentialsStatus) -> None:
        self._job = None
        self._show_status(status)
        if status.bluesky_handle and text.startswith("Bluesky"):
            text += " The login from the environment is still used."
        self.message_label.setText(text)
        self.settled.emit(True)

    def _on_job_failed(self, failure: Failure) -> None:
        self._job = None
        self.message_label.setText(f"The credential store could not be read: {redact(failure.message)}")
        self._update_widgets()
        self.settled.emit(False)

    # --- widgets -------------------------------------------------------------------------------

    def _show_status(self, status: CredentialsStatus) -> None:
        self._status = status
        if status.bluesky_password is None:
            text = "None saved"
            if status.bluesky_handle:
                text = f"@{status.bluesky_handle}, no app password saved"
        else:
            handle = status.bluesky_handle or "?"
            text = f"@{handle}, app password {status.bluesky_password} ({status.bluesky_source})"
            if status.bluesky_session:
                text += "; logged in"
        self.bluesky_status_label.setText(text)
        if status.bluesky_handle and not self.handle_edit.text().strip():
            self.handle_edit.setText(status.bluesky_handle)
        self.mastodon_table.setRowCount(len(status.mastodon))
        for row, token in enumerate(status.mastodon):
            for column, value in enumerate((token.instance, token.masked, token.source)):
                self.mastodon_table.setItem(row, column, QTableWidgetItem(value))
        self._update_widgets()

    def _update_widgets(self) -> None:
        status = self._status
        known = status is not None
        fallback = known and not self._keyring_usable()
        self.keyring_warning_label.setHidden(not fallback)
        self.storage_group.setHidden(not fallback)
        self.file_warning_label.setHidden(not self.file_radio.isChecked())
        idle = known and self._job is None
        self.bluesky_save_button.setEnabled(idle and bool(self.password_edit.text().strip()))
        has_login = status is not None and (status.bluesky_password is not None or status.bluesky_session)
        self.bluesky_remove_button.setEnabled(idle and has_login)
        self.mastodon_add_button.setEnabled(
            idle and bool(self.instance_edit.text().strip() and self.mastodon_token_edit.text().strip())
        )
        selection = self.mastodon_table.selectionModel()
        self.mastodon_remove_button.setEnabled(idle and selection is not None and selection.hasSelection())
        grow_to_fit(self.window())

    @Slot()
    def _on_changed(self) -> None:
        self._update_widgets()
