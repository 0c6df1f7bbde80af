"""The task editor's own network settings: the global proxy, no proxy, or this proxy; its User-Agent."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QWidget

from osint_desktop.app.tasks import TaskInfo
from osint_desktop.core.config import Settings
from osint_desktop.core.crawl.proxy import (
    NO_PROXY,
    USER_AGENT,
    shown_proxy,
    validate_proxy_url,
    validate_user_agent,
)
from osint_desktop.core.validation import ValidationError
from osint_desktop.core.vocabulary import RunStatus
from osint_desktop.core.wording import sentence
from osint_desktop.gui.formatting import status_hex, text_style

GLOBAL, DIRECT, OWN = "global", "direct", "own"


class TaskNetworkFields(QWidget):
    """Proxy mode (with the URL for "This proxy:") and User-Agent (empty: the global one)."""

    def __init__(self, settings: Settings, task: TaskInfo | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        global_proxy = shown_proxy(settings.proxy_url) if settings.proxy_url else "none"
        self.mode_combo = QComboBox(self)
        self.mode_combo.addItem(f"Use the global proxy ({global_proxy})", GLOBAL)
        self.mode_combo.addItem("No proxy", DIRECT)
        self.mode_combo.addItem("This proxy:", OWN)
        self.proxy_edit = QLineEdit(self)
        self.proxy_edit.setPlaceholderText("socks5h://127.0.0.1:9050 (Tor: socks5h resolves names there)")
        stored = task.proxy_url if task else None
        mode = GLOBAL if stored is None else DIRECT if stored == NO_PROXY else OWN
        self.mode_combo.setCurrentIndex(self.mode_combo.findData(mode))
        if mode == OWN and stored:
            self.proxy_edit.setText(stored)
        self.agent_edit = QLineEdit((task.user_agent or "") if task else "", self)
        self.agent_edit.setPlaceholderText(f"the global one: {settings.user_agent or USER_AGENT}")
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setStyleSheet(text_style(status_hex(RunStatus.FAILED)))
        self.error.setVisible(False)
        form.addRow("Proxy", self.mode_combo)
        form.addRow("", self.proxy_edit)
        form.addRow("User-Agent", self.agent_edit)
        form.addRow("", self.error)
        self.mode_combo.currentIndexChanged.connect(self._check)
        self.proxy_edit.textChanged.connect(self._check)
        self.agent_edit.textChanged.connect(self._check)
        self._check()

    def values(self) -> tuple[str, str]:
        """(proxy, User-Agent) as a task stores them: proxy "" (global), "none" or a URL; "" the global agent.

        Raises ValidationError for a URL or agent that cannot be used.
        """
        agent = validate_user_agent(self.agent_edit.text())
        mode = self.mode_combo.currentData()
        if mode == DIRECT:
            return NO_PROXY, agent
        if mode == OWN:
            url = validate_proxy_url(self.proxy_edit.text())
            if not url:
                raise ValidationError("type the task's proxy URL, or choose the global one or none", "proxy")
            return url, agent
        return "", agent

    def show_error(self, message: str) -> None:
        """Say what is wrong under the fields."""
        self.error.setText(message)
        self.error.setVisible(True)

    @Slot()
    def _check(self) -> None:
        """Checked as typed; the URL field only where it counts."""
        self.proxy_edit.setEnabled(self.mode_combo.currentData() == OWN)
        try:
            self.values()
            self.error.setVisible(False)
        except ValidationError as exc:
            empty = self.mode_combo.currentData() == OWN and not self.proxy_edit.text().strip()
            if empty:  # not an error yet while the user is about to type it
                self.error.setVisible(False)
            else:
                self.show_error(sentence(str(exc)))
