"""The Notifications page of Settings: the global Apprise URLs, kept as a secret, and a test send."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from osint_desktop.app.context import AppContext
from osint_desktop.app.outbound import APPRISE_GLOBAL, apprise_understands, send_with_apprise, split_urls
from osint_desktop.core.secrets import (
    KeyringUnavailableError,
    clear_credential,
    credential_source,
    load_credential,
    save_credential,
)
from osint_desktop.gui.background import Failure, run_in_background

URLS_MAX_LENGTH = 8192
TEST_TITLE = "OSINT Desktop: test notification"
TEST_BODY = "If you read this, watch alerts and source health can reach you here."
STORAGE_CHOICES = (
    ("keyring", "In the OS keyring"),
    ("session", "For this session only"),
    ("file", "In a private file in the data folder"),
)


@dataclass(frozen=True)
class UrlStatus:
    """Where the global URLs are kept and how many there are: never the URLs themselves."""

    source: str
    count: int


def read_status(home: Path) -> UrlStatus:
    """Ask the keyring and the data folder (slow with some keyrings: off the GUI thread)."""
    stored = load_credential(APPRISE_GLOBAL, home)
    return UrlStatus(credential_source(APPRISE_GLOBAL, home), len(split_urls(stored)))


def _save(home: Path, value: str, storage: str) -> UrlStatus:
    urls = split_urls(value)
    unknown = [index for index, url in enumerate(urls, start=1) if not apprise_understands(url)]
    if unknown:
        # Which one, never what it says: the URL carries its password.
        raise ValueError(f"Apprise does not understand URL #{unknown[0]} of {len(urls)}: check its scheme")
    try:
        save_credential(APPRISE_GLOBAL, " ".join(urls), home, storage)
    except KeyringUnavailableError:
        raise ValueError("no OS keyring here: keep the URLs for this session or in a private file") from None
    return read_status(home)


def _clear(home: Path) -> UrlStatus:
    clear_credential(APPRISE_GLOBAL, home)
    return read_status(home)


def _send_test(home: Path, typed: str) -> str:
    urls = split_urls(typed) or split_urls(load_credential(APPRISE_GLOBAL, home))
    if not urls:
        raise ValueError("no Apprise URL typed or saved")
    send_with_apprise(urls, TEST_TITLE, TEST_BODY)
    return f"Test notification sent to {len(urls)} URL{'s' * (len(urls) != 1)}"


class NotificationsSection(QWidget):
    """Saves, removes and tests the global Apprise URLs at once, off the GUI thread."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._home = ctx.home
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Outbound notifications go through Apprise to any service an Apprise URL names: "
            "e-mail (mailtos://), ntfy (ntfy://), Matrix (matrix://), Slack, Telegram (tgram://), "
            "Discord, a JSON webhook (json://)… Separate several URLs with spaces. Watches marked "
            "“send through Apprise” use these unless they have URLs of their own; source health "
            "changes use them when Source health asks for it. URLs carry passwords and tokens: "
            "they are kept like credentials and never shown back.",
            self,
        )
        intro.setWordWrap(True)
        intro.setOpenExternalLinks(False)
        layout.addWidget(intro)
        form = QFormLayout()
        self.edit = QLineEdit(self)
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.edit.setMaxLength(URLS_MAX_LENGTH)
        self.edit.setClearButtonEnabled(True)
        self.edit.setPlaceholderText("ntfy://my-topic  mailtos://user:app-password@example.com")
        form.addRow("Apprise URLs:", self.edit)
        self.storage = QComboBox(self)
        for value, text in STORAGE_CHOICES:
            self.storage.addItem(text, value)
        storage_index = self.storage.findData(ctx.settings.token_storage)
        self.storage.setCurrentIndex(max(0, storage_index))
        form.addRow("Keep them:", self.storage)
        self.status_label = QLabel("Checking…", self)
        self.status_label.setWordWrap(True)
        form.addRow("Saved URLs:", self.status_label)
        layout.addLayout(form)
        buttons = QHBoxLayout()
        self.save_button = QPushButton("Save URLs", self)
        self.remove_button = QPushButton("Remove saved URLs", self)
        self.test_button = QPushButton("Send a test notification", self)
        for button in (self.save_button, self.remove_button, self.test_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.result_label = QLabel(self)
        self.result_label.setWordWrap(True)
        layout.addWidget(self.result_label)
        layout.addStretch(1)
        self.save_button.clicked.connect(self.save)
        self.remove_button.clicked.connect(self.remove)
        self.test_button.clicked.connect(self.send_test)
        self.edit.textChanged.connect(self._update_buttons)
        self._update_buttons()
        self.refresh_status()

    def refresh_status(self) -> None:
        """Read where the URLs are kept, in the background."""
        home = self._home
        run_in_background(lambda: read_status(home), self._show_status, owner=self, key="status",
                          on_error=self._show_failure)

    @Slot()
    def save(self) -> None:
        """Store the typed URLs where chosen; refused with the reason if Apprise cannot read one."""
        home, value, storage = self._home, self.edit.text(), str(self.storage.currentData())
        self._busy("Saving…")
        run_in_background(lambda: _save(home, value, storage), self._on_saved, owner=self, key="job",
                          on_error=self._show_failure)

    @Slot()
    def remove(self) -> None:
        """Forget the saved URLs."""
        home = self._home
        self._busy("Removing…")
        run_in_background(lambda: _clear(home), self._show_status, owner=self, key="job",
                          on_error=self._show_failure)

    @Slot()
    def send_test(self) -> None:
        """Send a test message to the typed URLs, or else the saved ones."""
        home, typed = self._home, self.edit.text()
        self._busy("Sending…")
        run_in_background(lambda: _send_test(home, typed), self._show_result, owner=self, key="job",
                          on_error=self._show_failure)

    def _busy(self, text: str) -> None:
        self.result_label.setText(text)
        for button in (self.save_button, self.remove_button, self.test_button):
            button.setEnabled(False)

    def _on_saved(self, status: UrlStatus) -> None:
        self.edit.clear()
        self._show_status(status)
        self.result_label.setText("Saved.")

    def _show_status(self, status: UrlStatus) -> None:
        if status.count:
            plural = "s" if status.count != 1 else ""
            self.status_label.setText(f"{status.count} URL{plural}; kept: {status.source}")
        else:
            self.status_label.setText("none: outbound notifications are off")
        self.result_label.clear()
        self._update_buttons()

    def _show_result(self, text: str) -> None:
        self.result_label.setText(text)
        self._update_buttons()

    def _show_failure(self, failure: Failure) -> None:
        self.result_label.setText(f"Not done: {failure.message}")
        self._update_buttons()

    @Slot()
    def _update_buttons(self) -> None:
        typed = bool(self.edit.text().strip())
        self.save_button.setEnabled(typed)
        self.remove_button.setEnabled(True)
        self.test_button.setEnabled(True)
