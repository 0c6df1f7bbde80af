"""Opening links in the web browser: web addresses only, a question for a deceptive link, failures said."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QMessageBox, QWidget

from osint_desktop.core.bidi import show_bidi_controls
from osint_desktop.core.links import is_web_link, misleading_text

log = logging.getLogger(__name__)

TITLE = "Open link"
# A link may be any length; a message box is not the place to read ten kilobytes of it.
MAX_SHOWN = 300


def open_link(parent: QWidget | None, url: QUrl | str, shown_texts: Iterable[str] = ()) -> bool:
    """Open an http(s) link in the browser; True when the browser was started.

    Any other scheme (javascript:, file:, data:…) is refused with a message. When a text the
    link is shown as reads as another site's address (phishing-style), the user is asked
    first. A browser that cannot be started is said in a message box, not only in the log.
    """
    address = url.toString() if isinstance(url, QUrl) else url
    if not is_web_link(address):
        log.info("link not opened (not http or https): %.200s", address)
        QMessageBox.warning(
            parent,
            TITLE,
            "This link is not opened: only web addresses (http:// and https://) go to the browser.\n\n"
            f"It leads to:\n{_shown(address)}",
        )
        return False
    for text in shown_texts:
        site = misleading_text(text, address)
        if site is not None:
            if not _confirm_other_site(parent, text, address):
                return False
            break
    if QDesktopServices.openUrl(QUrl(address)):
        return True
    log.warning("no web browser could be started for %.200s", address)
    _say_no_browser(parent, address)
    return False


def _confirm_other_site(parent: QWidget | None, text: str, address: str) -> bool:
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        TITLE,
        f"The link reads “{_shown(text)}”, but it leads to another site:\n\n{_shown(address)}\n\n"
        "Links that show one address and lead to another are a phishing trick. Open it anyway?",
        parent=parent,
    )
    opener = box.addButton("Open anyway", QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    box.exec()
    return box.clickedButton() is opener


def _say_no_browser(parent: QWidget | None, address: str) -> None:
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        TITLE,
        f"No web browser could be started to open:\n\n{_shown(address)}\n\n"
        "Set a default web browser in the system's settings, or copy the address and paste it "
        "into a browser.",
        parent=parent,
    )
    copy = box.addButton("Copy address", QMessageBox.ButtonRole.ActionRole)
    box.addButton(QMessageBox.StandardButton.Close)
    box.exec()
    if box.clickedButton() is copy:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(address)


def _shown(text: str) -> str:
    """Text from a feed as a message shows it: its bidi controls visible, of bounded length."""
    visible = show_bidi_controls(text)
    return visible if len(visible) <= MAX_SHOWN else visible[: MAX_SHOWN - 1] + "…"
