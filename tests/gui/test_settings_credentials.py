"""Settings' Bluesky and Mastodon page as a user drives it: save, show masked, remove, keyring fallbacks."""

from __future__ import annotations

import json
import logging
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import keyring
import keyring.backends.fail
import pytest
from keyring.backend import KeyringBackend
from PySide6.QtCore import Qt, QThreadPool
from PySide6.QtWidgets import QDialogButtonBox, QLabel, QMessageBox
from pytestqt.qtbot import QtBot

from osint_desktop.app.context import AppContext
from osint_desktop.core import secrets as secrets_module
from osint_desktop.core.config import SETTINGS_FILE, Settings
from osint_desktop.core.secrets import KEYRING_SERVICE, load_credential, save_credential
from osint_desktop.gui.settings_credentials import APP_PASSWORD_TEXT, CredentialsSection
from osint_desktop.gui.settings_dialog import SettingsDialog
from tests.conftest import MemoryKeyring

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")

WAIT_MS = 10_000
APP_PASSWORD = "abcd-efgh-ijkl-mn7p"
MASTODON_TOKEN = "mastodon-settings-token-Hq81Zt0pLx2Jw7"
SESSION = "threatintel.bsky.social:::access-jwt-Zq8pX3:::refresh-jwt-Wk2"


@pytest.fixture
def xdg_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private $XDG_CONFIG_HOME: the real autostart folder is never touched."""
    folder = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    return folder


@pytest.fixture
def ctx(home: Path, xdg_config: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppContext]:
    """An opened context; session-only credentials are process-wide, so each test gets its own."""
    monkeypatch.setattr(secrets_module, "_session", {})
    for env in ("OSINT_DESKTOP_BLUESKY_HANDLE", "OSINT_DESKTOP_BLUESKY_APP_PASSWORD"):
        monkeypatch.delenv(env, raising=False)
    context = AppContext.open(console_log=None)
    yield context
    context.close()


@pytest.fixture
def no_keyring() -> Iterator[KeyringBackend]:
    """A machine without a keyring: keyring's own fail backend."""
    previous = keyring.get_keyring()
    backend = keyring.backends.fail.Keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def open_dialog(qtbot: QtBot, ctx: AppContext) -> Iterator[Callable[[], SettingsDialog]]:
    """Open Settings on the Bluesky & Mastodon page, once it has read what is saved."""

    def make() -> SettingsDialog:
        dialog = SettingsDialog(ctx)
        qtbot.addWidget(dialog)
        dialog.show()
        dialog.tabs.setCurrentWidget(dialog.credentials_section)
        qtbot.waitUntil(
            lambda: dialog.credentials_section.status is not None and not dialog.busy, timeout=WAIT_MS
        )
        return dialog

    yield make
    assert QThreadPool.globalInstance().waitForDone(WAIT_MS)


def answer_questions(monkeypatch: pytest.MonkeyPatch, answer: QMessageBox.StandardButton) -> list[str]:
    asked: list[str] = []

    def question(_parent: Any, title: str, text: str, *_a: Any, **_k: Any) -> QMessageBox.StandardButton:
        asked.append(f"{title}: {text}")
        return answer

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


def record_warnings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    shown: list[str] = []

    def warning(_parent: Any, title: str, text: str, *_a: Any, **_k: Any) -> QMessageBox.StandardButton:
        shown.append(f"{title}: {text}")
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "warning", warning)
    return shown


def shown_text(dialog: SettingsDialog) -> str:
    """Everything the page shows in words: labels and the token table."""
    section = dialog.credentials_section
    texts = [label.text() for label in section.findChildren(QLabel)]
    table = section.mastodon_table
    for row in range(table.rowCount()):
        for column in range(table.columnCount()):
            item = table.item(row, column)
            texts.append(item.text() if item else "")
    return "\n".join(texts)


def click_and_settle(qtbot: QtBot, section: CredentialsSection, button: Any) -> bool:
    with qtbot.waitSignal(section.settled, timeout=WAIT_MS) as settled:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    return bool(settled.args[0])


def test_page_says_what_to_use_and_when_tokens_are_needed(open_dialog: Callable[[], SettingsDialog]) -> None:
    dialog = open_dialog()
    text = " ".join(shown_text(dialog).split())
    assert APP_PASSWORD_TEXT in text and "never your account password" in text
    assert "needed only for keyword search and for instances that require a login" in text
    assert "removing the login also forgets the session" in text
    assert dialog.tabs.tabText(dialog.tabs.indexOf(dialog.credentials_section)) == "Bluesky && Mastodon"


def test_bluesky_login_saved_in_keyring_shown_masked_and_removed_with_its_session(
    qtbot: QtBot,
    ctx: AppContext,
    memory_keyring: MemoryKeyring,
    open_dialog: Callable[[], SettingsDialog],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # A session of an earlier login: a new login must not reuse it.
    save_credential("bluesky-session", SESSION, ctx.home, "keyring")
    dialog = open_dialog()
    section = dialog.credentials_section
    assert section.keyring_warning_label.isHidden() and section.storage_group.isHidden()
    assert not section.bluesky_save_button.isEnabled()

    qtbot.keyClicks(section.handle_edit, "@ThreatIntel.bsky.social")
    qtbot.keyClicks(section.password_edit, APP_PASSWORD)
    assert click_and_settle(qtbot, section, section.bluesky_save_button)

    store = memory_keyring.store
    assert store[(KEYRING_SERVICE, "bluesky-handle")] == "threatintel.bsky.social"
    assert store[(KEYRING_SERVICE, "bluesky-app-password")] == APP_PASSWORD
    assert (KEYRING_SERVICE, "bluesky-session") not in store
    assert section.password_edit.text() == ""
    shown = shown_text(dialog)
    assert "@threatintel.bsky.social" in shown and "••••••••mn7p" in shown and "OS keyring" in shown
    assert APP_PASSWORD not in shown and APP_PASSWORD not in caplog.text
    assert "saved in the OS keyring" in section.message_label.text()

    # The provider logs in and keeps its session; removing the login forgets it too.
    save_credential("bluesky-session", SESSION, ctx.home, "keyring")
    section.refresh_status()
    qtbot.waitUntil(lambda: not section.busy, timeout=WAIT_MS)
    assert "logged in" in section.bluesky_status_label.text()
    asked = answer_questions(monkeypatch, QMessageBox.StandardButton.Yes)
    assert click_and_settle(qtbot, section, section.bluesky_remove_button)
    assert asked and "session" in asked[0]
    assert not [key for key in store if key[1].startswith("bluesky-")]
    assert section.bluesky_status_label.text() == "None saved"
    assert not section.bluesky_remove_button.isEnabled()


def test_an_account_password_or_a_bad_handle_is_refused_and_nothing_is_stored(
    qtbot: QtBot, memory_keyring: MemoryKeyring, open_dialog: Callable[[], SettingsDialog]
) -> None:
    dialog = open_dialog()
    section = dialog.credentials_section
    qtbot.keyClicks(section.handle_edit, "threatintel.bsky.social")
    qtbot.keyClicks(section.password_edit, "my real password 123")
    assert not click_and_settle(qtbot, section, section.bluesky_save_button)
    assert "not an app password" in section.message_label.text()
    assert "my real password" not in section.message_label.text()
    section.handle_edit.setText("threatintel")
    section.password_edit.setText(APP_PASSWORD)
    assert not click_and_settle(qtbot, section, section.bluesky_save_button)
    assert "threatintel.bsky.social" in section.message_label.text()  # says how to write it
    assert memory_keyring.store == {}


def test_mastodon_tokens_per_instance_are_listed_masked_and_removed(
    qtbot: QtBot,
    ctx: AppContext,
    home: Path,
    memory_keyring: MemoryKeyring,
    open_dialog: Callable[[], SettingsDialog],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dialog = open_dialog()
    section = dialog.credentials_section
    qtbot.keyClicks(section.instance_edit, "https://Infosec.Exchange/tags/osint")
    qtbot.keyClicks(section.mastodon_token_edit, MASTODON_TOKEN)
    assert click_and_settle(qtbot, section, section.mastodon_add_button)
    qtbot.keyClicks(section.instance_edit, "127.0.0.1:8443")
    qtbot.keyClicks(section.mastodon_token_edit, "Bearer second-token-Qz91xx")
    assert click_and_settle(qtbot, section, section.mastodon_add_button)

    store = memory_keyring.store
    assert store[(KEYRING_SERVICE, "mastodon-token:infosec.exchange")] == MASTODON_TOKEN
    assert store[(KEYRING_SERVICE, "mastodon-token:127.0.0.1:8443")] == "second-token-Qz91xx"
    table = section.mastodon_table
    rows = {
        table.item(r, 0).text(): (table.item(r, 1).text(), table.item(r, 2).text())  # type: ignore[union-attr]
        for r in range(table.rowCount())
    }
    assert rows == {
        "infosec.exchange": ("••••••••2Jw7", "OS keyring"),
        "127.0.0.1:8443": ("••••••••91xx", "OS keyring"),
    }
    assert MASTODON_TOKEN not in shown_text(dialog)
    # Settings keeps the instances' names, never their tokens.
    saved = json.loads((home / SETTINGS_FILE).read_text(encoding="utf-8"))
    assert saved["mastodon_token_instances"] == ["infosec.exchange", "127.0.0.1:8443"]
    assert MASTODON_TOKEN not in (home / SETTINGS_FILE).read_text(encoding="utf-8")

    # Shown again in a new dialog (the keyring cannot be listed: the names come from Settings).
    dialog.reject()
    again = open_dialog()
    assert again.credentials_section.mastodon_table.rowCount() == 2

    section = again.credentials_section
    section.mastodon_table.selectRow(0)
    answer_questions(monkeypatch, QMessageBox.StandardButton.Yes)
    assert click_and_settle(qtbot, section, section.mastodon_remove_button)
    assert (KEYRING_SERVICE, "mastodon-token:infosec.exchange") not in store
    assert ctx.settings.mastodon_token_instances == ["127.0.0.1:8443"]
    assert Settings.load(home).mastodon_token_instances == ["127.0.0.1:8443"]
    assert section.mastodon_table.rowCount() == 1


def test_without_a_keyring_logins_go_to_the_session_or_a_private_file(
    qtbot: QtBot,
    ctx: AppContext,
    home: Path,
    no_keyring: KeyringBackend,
    open_dialog: Callable[[], SettingsDialog],
) -> None:
    dialog = open_dialog()
    section = dialog.credentials_section
    assert not section.keyring_warning_label.isHidden() and not section.storage_group.isHidden()
    assert section.session_radio.isChecked()

    qtbot.keyClicks(section.handle_edit, "threatintel.bsky.social")
    qtbot.keyClicks(section.password_edit, APP_PASSWORD)
    assert click_and_settle(qtbot, section, section.bluesky_save_button)
    assert "for this session only" in section.message_label.text()
    assert load_credential("bluesky-app-password", home) == APP_PASSWORD
    assert not list(home.glob("bluesky*"))  # nothing written to disk
    assert "this session only" in section.bluesky_status_label.text()

    section.file_radio.setChecked(True)
    assert not section.file_warning_label.isHidden()
    qtbot.keyClicks(section.instance_edit, "infosec.exchange")
    qtbot.keyClicks(section.mastodon_token_edit, MASTODON_TOKEN)
    assert click_and_settle(qtbot, section, section.mastodon_add_button)
    [path] = home.glob("mastodon-token*")
    assert path.read_text(encoding="utf-8").strip() == MASTODON_TOKEN
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ctx.settings.token_storage == "file"
    item = section.mastodon_table.item(0, 2)
    assert item is not None and "local file" in item.text()
    assert MASTODON_TOKEN not in shown_text(dialog)


def test_ok_saves_a_typed_login_first_and_the_service_url_with_the_settings(
    qtbot: QtBot,
    ctx: AppContext,
    home: Path,
    memory_keyring: MemoryKeyring,
    open_dialog: Callable[[], SettingsDialog],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dialog = open_dialog()
    section = dialog.credentials_section
    warnings = record_warnings(monkeypatch)
    section.service_edit.setText("bsky social")
    ok = dialog.button_box.button(QDialogButtonBox.StandardButton.Ok)
    assert ok is not None
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and warnings and "http(s) address" in warnings[0]
    assert ctx.settings.bluesky_service_url == "https://bsky.social"

    section.service_edit.setText("https://pds.example.org/")
    qtbot.keyClicks(section.handle_edit, "threatintel.bsky.social")
    qtbot.keyClicks(section.password_edit, APP_PASSWORD)
    with qtbot.waitSignal(dialog.accepted, timeout=WAIT_MS):
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert memory_keyring.store[(KEYRING_SERVICE, "bluesky-app-password")] == APP_PASSWORD
    assert ctx.settings.bluesky_service_url == "https://pds.example.org"
    assert Settings.load(home).bluesky_service_url == "https://pds.example.org"


def test_a_damaged_instance_list_in_the_settings_file_falls_back_to_none(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / SETTINGS_FILE).write_text(json.dumps({"mastodon_token_instances": ["a.example", 3]}))
    assert Settings.load(home).mastodon_token_instances == []
    (home / SETTINGS_FILE).write_text(json.dumps({"mastodon_token_instances": ["a.example"]}))
    assert Settings.load(home).mastodon_token_instances == ["a.example"]
