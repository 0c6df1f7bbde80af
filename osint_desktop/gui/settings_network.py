"""The Network page of Settings: the proxy every request goes through, the User-Agent, and a test fetch."""

from __future__ import annotations

import functools

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from osint_desktop.app.context import AppContext
from osint_desktop.app.proxies import global_network, keep_proxy_password, try_network
from osint_desktop.core.crawl.proxy import (
    USER_AGENT,
    password_name,
    split_password,
    validate_proxy_url,
    validate_user_agent,
)
from osint_desktop.core.validation import ValidationError
from osint_desktop.core.vocabulary import RunStatus
from osint_desktop.core.wording import sentence
from osint_desktop.gui.background import BackgroundCall, Failure, run_in_background
from osint_desktop.gui.formatting import HINT_COLOUR, status_hex, text_style

PROXY_HINT = (
    "http://, https://, socks5:// or socks5h://host:port. For Tor use socks5h://127.0.0.1:9050: "
    "socks5h resolves host names through the proxy, socks5 would look them up here, in the clear. "
    "A password in the URL is kept with your credentials (keyring), never in the settings file."
)
DEFAULT_TEST_URL = "https://check.torproject.org/api/ip"


class NetworkSection(QWidget):
    """Proxy URL (checked as typed), User-Agent, and Test: one fetch through them on a pool thread.

    settled(ok) follows save_password(), which OK starts when the URL carries a password.
    """

    settled = Signal(bool)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._save: BackgroundCall[str] | None = None
        self._test: BackgroundCall[tuple[bool, str]] | None = None
        form = QFormLayout(self)
        self.proxy_edit = QLineEdit(ctx.settings.proxy_url, self)
        self.proxy_edit.setPlaceholderText("none (direct)")
        form.addRow("Proxy URL:", self.proxy_edit)
        self.proxy_error = self._label(status_hex(RunStatus.FAILED))
        form.addRow("", self.proxy_error)
        self.hint = self._label(HINT_COLOUR, PROXY_HINT)
        form.addRow("", self.hint)
        self.agent_edit = QLineEdit(ctx.settings.user_agent, self)
        self.agent_edit.setPlaceholderText(USER_AGENT)
        self.agent_edit.setToolTip("Sent to every site and API; empty: the app's own")
        form.addRow("User-Agent:", self.agent_edit)
        self.agent_error = self._label(status_hex(RunStatus.FAILED))
        form.addRow("", self.agent_error)
        test_row = QHBoxLayout()
        self.test_url_edit = QLineEdit(self)
        self.test_url_edit.setPlaceholderText(DEFAULT_TEST_URL)
        self.test_button = QPushButton("Test", self)
        self.test_button.setAutoDefault(False)
        self.test_button.setToolTip("Fetch this address once through the proxy, with the User-Agent")
        self.test_button.clicked.connect(self.test)
        test_row.addWidget(self.test_url_edit, 1)
        test_row.addWidget(self.test_button)
        form.addRow("Test with:", test_row)
        self.test_result = self._label(HINT_COLOUR)
        form.addRow("", self.test_result)
        self.proxy_edit.textChanged.connect(self._check)
        self.agent_edit.textChanged.connect(self._check)
        self._check()

    def _label(self, colour: str, text: str = "") -> QLabel:
        label = QLabel(text, self)
        label.setWordWrap(True)
        label.setStyleSheet(text_style(colour))
        label.setVisible(bool(text))
        return label

    # values ---------------------------------------------------------------------------

    def proxy_url(self) -> str:
        """The proxy as typed, checked (ValidationError), "" for none."""
        return validate_proxy_url(self.proxy_edit.text())

    def user_agent(self) -> str:
        """The User-Agent as typed, checked (ValidationError), "" for the app's own."""
        return validate_user_agent(self.agent_edit.text())

    def problem(self) -> str | None:
        """What is wrong with the page, in a sentence; None when both fields are fine."""
        try:
            self.proxy_url()
            self.user_agent()
        except ValidationError as exc:
            return sentence(str(exc))
        return None

    def has_password(self) -> bool:
        """Whether the URL typed carries a password, which must go to the credentials first."""
        try:
            return split_password(self.proxy_url())[1] is not None
        except ValidationError:
            return False

    @property
    def busy(self) -> bool:
        """Whether the password is being saved (a test may be left to run out)."""
        return self._save is not None and self._save.running

    @Slot()
    def _check(self) -> None:
        for label, read in ((self.proxy_error, self.proxy_url), (self.agent_error, self.user_agent)):
            try:
                read()
                label.setVisible(False)
            except ValidationError as exc:
                label.setText(sentence(str(exc)))
                label.setVisible(True)
        name = password_name(self.proxy_edit.text().strip())
        if name and not self.has_password():
            user = name.partition(":")[2]
            self.hint.setText(f"{PROXY_HINT}\nThe password of {user} is used from your credentials.")
        else:
            self.hint.setText(PROXY_HINT)

    # acting ---------------------------------------------------------------------------

    def save_password(self) -> None:
        """Keep the password as a credential on a pool thread; the field then shows the URL without it."""
        typed = self.proxy_url()
        storage = self._ctx.settings.token_storage
        self.proxy_edit.setEnabled(False)
        self._save = run_in_background(
            functools.partial(keep_proxy_password, typed, self._ctx.home, storage),
            self._on_password_kept,
            owner=self,
            on_error=self._on_password_failed,
            key="save",
        )

    def _on_password_kept(self, bare: str) -> None:
        self.proxy_edit.setEnabled(True)
        self.proxy_edit.setText(bare)
        self.settled.emit(True)

    def _on_password_failed(self, failure: Failure) -> None:
        self.proxy_edit.setEnabled(True)
        self.proxy_error.setText(f"The proxy's password could not be kept: {failure.message}")
        self.proxy_error.setVisible(True)
        self.settled.emit(False)

    @Slot()
    def test(self) -> None:
        """Fetch the test address through what is typed (not yet saved), off the GUI thread."""
        problem = self.problem()
        if problem is not None:
            self._show_result(False, problem)
            return
        url = self.test_url_edit.text().strip() or DEFAULT_TEST_URL
        self.test_button.setEnabled(False)
        self.test_result.setText(f"Fetching {url}…")
        self.test_result.setStyleSheet(text_style(HINT_COLOUR))
        self.test_result.setVisible(True)
        self._test = run_in_background(
            functools.partial(_try, self._ctx, url, self.proxy_url(), self.user_agent()),
            self._on_tested,
            owner=self,
            on_error=self._on_test_failed,
            key="test",
        )

    def _on_tested(self, outcome: tuple[bool, str]) -> None:
        self.test_button.setEnabled(True)
        self._show_result(*outcome)

    def _on_test_failed(self, failure: Failure) -> None:
        self.test_button.setEnabled(True)
        self._show_result(False, failure.message)

    def _show_result(self, ok: bool, message: str) -> None:
        self.test_result.setText(("✔ " if ok else "✘ ") + message)
        self.test_result.setStyleSheet(text_style(status_hex(RunStatus.SUCCESS if ok else RunStatus.FAILED)))
        self.test_result.setVisible(True)


def _try(ctx: AppContext, url: str, proxy_url: str, user_agent: str) -> tuple[bool, str]:
    """On a pool thread: the stored password looked up (keyring), then one fetch."""
    try:
        return try_network(url, global_network(proxy_url, user_agent, ctx.credential))
    except ValidationError as exc:
        return False, sentence(str(exc))
