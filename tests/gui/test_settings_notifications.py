"""Settings → Notifications: the global Apprise URLs saved as a secret, refused when unreadable, tested."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from osint_desktop.app.context import AppContext
from osint_desktop.app.outbound import APPRISE_GLOBAL
from osint_desktop.core import secrets
from osint_desktop.core.secrets import load_credential
from osint_desktop.gui.settings_dialog import SettingsDialog
from osint_desktop.gui.settings_notifications import TEST_TITLE, NotificationsSection
from tests.conftest import MemoryKeyring
from tests.helpers import db_file
from tests.unit.app.test_outbound import FAKE_TOKEN, Endpoint

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")


@pytest.fixture(autouse=True)
def no_session_credentials() -> Iterator[None]:
    secrets._session.clear()
    yield
    secrets._session.clear()


def section(qtbot: QtBot, ctx: AppContext) -> NotificationsSection:
    page = NotificationsSection(ctx)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: page.status_label.text() != "Checking…")
    return page


def test_urls_are_saved_in_the_keyring_tested_and_removed(
    qtbot: QtBot, gui_ctx: AppContext, memory_keyring: MemoryKeyring
) -> None:
    page = section(qtbot, gui_ctx)
    assert page.status_label.text() == "none: outbound notifications are off"
    with Endpoint() as endpoint:
        page.edit.setText(endpoint.url())
        page.test_button.click()
        qtbot.waitUntil(lambda: page.result_label.text().startswith("Test notification sent"), timeout=10_000)
        assert endpoint.bodies[0]["title"] == TEST_TITLE
        page.storage.setCurrentIndex(page.storage.findData("keyring"))
        page.save_button.click()
        qtbot.waitUntil(lambda: page.result_label.text() == "Saved.")
        assert page.status_label.text() == "1 URL; kept: OS keyring"
        assert page.edit.text() == ""
        assert load_credential(APPRISE_GLOBAL, gui_ctx.home) == endpoint.url()
        page.test_button.click()  # nothing typed: the saved URLs
        qtbot.waitUntil(lambda: len(endpoint.bodies) == 2, timeout=10_000)
    assert FAKE_TOKEN.encode() not in db_file(gui_ctx.home).read_bytes()
    page.remove_button.click()
    qtbot.waitUntil(lambda: page.status_label.text() == "none: outbound notifications are off")
    assert load_credential(APPRISE_GLOBAL, gui_ctx.home) is None


def test_an_unreadable_url_is_refused_without_showing_it(qtbot: QtBot, gui_ctx: AppContext) -> None:
    page = section(qtbot, gui_ctx)
    page.edit.setText(f"ntfy://topic nosuchservice://user:{FAKE_TOKEN}@host/")
    page.storage.setCurrentIndex(page.storage.findData("session"))
    page.save_button.click()
    qtbot.waitUntil(lambda: page.result_label.text().startswith("Not done"))
    assert "URL #2 of 2" in page.result_label.text() and FAKE_TOKEN not in page.result_label.text()
    assert load_credential(APPRISE_GLOBAL, gui_ctx.home) is None
    assert page.edit.text()  # nothing typed is lost


def test_the_settings_dialog_shows_it_on_the_notifications_page(qtbot: QtBot, gui_ctx: AppContext) -> None:
    dialog = SettingsDialog(gui_ctx)
    qtbot.addWidget(dialog)
    titles = [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())]
    page = dialog.tabs.widget(titles.index("Notifications"))
    assert dialog.notifications_section.isAncestorOf(page) or page.isAncestorOf(dialog.notifications_section)
