"""The Settings dialog driven as a user would: token storage, settings, start at login, backups."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from PySide6.QtCore import Qt, QThreadPool
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFileDialog, QLabel, QLineEdit, QMessageBox
from pytestqt.qtbot import QtBot
from sqlalchemy import update

from osint_desktop.app import autostart
from osint_desktop.app.context import AppContext
from osint_desktop.app.maintenance import backup_now
from osint_desktop.app.recovery import current_owner, register_active, unregister_active
from osint_desktop.app.tasks import create_task, delete_task, ensure_default_tasks, list_tasks
from osint_desktop.core import secrets as secrets_module
from osint_desktop.core.config import SETTINGS_FILE, Settings
from osint_desktop.core.db.backup import list_backups
from osint_desktop.core.db.models import CrawlLog, CrawlTask
from osint_desktop.core.secrets import KEYRING_SERVICE, KEYRING_USER, TOKEN_ENV, TOKEN_FILE, mask, save_token
from osint_desktop.core.timeutil import utcnow
from osint_desktop.gui.settings_dialog import SettingsDialog

# Qt's offscreen platform (used where there is no display) cannot pass size hints of a shown
# dialog to a window system; that limitation is not a fault of the dialog.
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")

# Shaped like a real app-only bearer token (made up).
TOKEN = (
    "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI%3D"
    "EUifiRBkKG5E2XzMDjRfl76ZC9Ub0wnz4XsNiRVBChTYbJcE3F"
)
WAIT_MS = 10_000


class FailingKeyring(KeyringBackend):
    """A machine without a keyring: every call fails as keyring's fail backend does."""

    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.NoKeyringError("no keyring on this test machine")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.NoKeyringError("no keyring on this test machine")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.NoKeyringError("no keyring on this test machine")


class LockedKeyring(KeyringBackend):
    """A keyring that looks present but refuses to store (locked, or its D-Bus service went away)."""

    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("the collection is locked")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.PasswordDeleteError("nothing stored")


def _install_keyring(backend: KeyringBackend) -> Iterator[KeyringBackend]:
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def failing_keyring() -> Iterator[KeyringBackend]:
    """No usable keyring."""
    yield from _install_keyring(FailingKeyring())


@pytest.fixture
def locked_keyring() -> Iterator[KeyringBackend]:
    """A keyring that refuses to store."""
    yield from _install_keyring(LockedKeyring())


@pytest.fixture
def xdg_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private $XDG_CONFIG_HOME: the real autostart folder is never touched."""
    folder = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    return folder


@pytest.fixture
def ctx(home: Path, xdg_config: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppContext]:
    """An opened application context on a fresh data folder."""
    # A session-only token is process-wide: keep one test's from leaking into the next.
    monkeypatch.setattr(secrets_module, "_session", {})
    context = AppContext.open(console_log=None)
    yield context
    context.close()


@pytest.fixture
def open_dialog(qtbot: QtBot, ctx: AppContext) -> Iterator[Callable[[], SettingsDialog]]:
    """Open a Settings dialog and wait until it has read the token status."""

    def make() -> SettingsDialog:
        dialog = SettingsDialog(ctx)
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitUntil(lambda: dialog.token_section.status is not None and not dialog.busy, timeout=WAIT_MS)
        return dialog

    yield make
    # No job may outlive the test (it would talk to the next test's keyring or data folder).
    assert QThreadPool.globalInstance().waitForDone(WAIT_MS)


def answer_questions(monkeypatch: pytest.MonkeyPatch, answer: QMessageBox.StandardButton) -> list[str]:
    """Replace the modal question box (it would block the test) with a fixed answer."""
    asked: list[str] = []

    def question(
        _parent: Any, title: str, text: str, *_args: Any, **_kwargs: Any
    ) -> QMessageBox.StandardButton:
        asked.append(f"{title}: {text}")
        return answer

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


def record_warnings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace the modal warning box with a recorder."""
    shown: list[str] = []

    def warning(
        _parent: Any, title: str, text: str, *_args: Any, **_kwargs: Any
    ) -> QMessageBox.StandardButton:
        shown.append(f"{title}: {text}")
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "warning", warning)
    return shown


def press_ok(qtbot: QtBot, dialog: SettingsDialog) -> None:
    ok = dialog.button_box.button(QDialogButtonBox.StandardButton.Ok)
    assert ok is not None
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)


def all_visible_text(dialog: SettingsDialog) -> str:
    texts = [label.text() for label in dialog.findChildren(QLabel)]
    for edit in dialog.findChildren(QLineEdit):
        texts += [edit.text(), edit.placeholderText(), edit.displayText()]
    return "\n".join(texts)


# --- the token -------------------------------------------------------------------------------


def test_token_saved_in_keyring_and_never_shown_in_full(
    qtbot: QtBot, ctx: AppContext, memory_keyring: Any, open_dialog: Callable[[], SettingsDialog]
) -> None:
    dialog = open_dialog()
    assert dialog.windowTitle() == "Settings"
    assert dialog.token_section.keyring_warning_label.isHidden()
    assert dialog.token_section.storage_group.isHidden()
    assert dialog.token_section.env_override_label.isHidden()
    assert dialog.token_section.edit.echoMode() == QLineEdit.EchoMode.Password
    assert not dialog.token_section.save_button.isEnabled()

    qtbot.keyClicks(dialog.token_section.edit, TOKEN)
    with qtbot.waitSignal(dialog.token_saved, timeout=WAIT_MS) as saved:
        qtbot.mouseClick(dialog.token_section.save_button, Qt.MouseButton.LeftButton)

    assert saved.args == ["keyring"]
    assert memory_keyring.store[(KEYRING_SERVICE, KEYRING_USER)] == TOKEN
    assert ctx.x_token() == TOKEN
    assert dialog.token_section.edit.text() == ""
    assert dialog.token_section.edit.placeholderText() == mask(TOKEN)
    assert "OS keyring" in dialog.token_section.source_label.text()
    assert TOKEN not in all_visible_text(dialog)
    assert TOKEN[-4:] in dialog.token_section.source_label.text()

    again = open_dialog()
    assert again.token_section.edit.text() == ""
    assert again.token_section.edit.placeholderText() == mask(TOKEN)
    assert TOKEN not in all_visible_text(again)
    assert again.token_section.remove_button.isEnabled()


def test_enter_in_the_token_field_saves_the_token_without_closing(
    qtbot: QtBot, memory_keyring: Any, open_dialog: Callable[[], SettingsDialog]
) -> None:
    dialog = open_dialog()
    qtbot.keyClicks(dialog.token_section.edit, TOKEN)
    with qtbot.waitSignal(dialog.token_saved, timeout=WAIT_MS):
        qtbot.keyClick(dialog.token_section.edit, Qt.Key.Key_Return)
    assert dialog.isVisible()
    assert memory_keyring.store[(KEYRING_SERVICE, KEYRING_USER)] == TOKEN


def test_ok_saves_a_typed_token_before_closing(
    qtbot: QtBot, memory_keyring: Any, open_dialog: Callable[[], SettingsDialog]
) -> None:
    dialog = open_dialog()
    qtbot.keyClicks(dialog.token_section.edit, "Bearer " + TOKEN)  # pasted with the header's prefix
    with qtbot.waitSignals([dialog.token_saved, dialog.settings_changed], timeout=WAIT_MS):
        press_ok(qtbot, dialog)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert memory_keyring.store[(KEYRING_SERVICE, KEYRING_USER)] == TOKEN


def test_without_keyring_the_warning_shows_and_session_and_file_storage_work(
    qtbot: QtBot, ctx: AppContext, home: Path, failing_keyring: Any, open_dialog: Callable[[], SettingsDialog]
) -> None:
    dialog = open_dialog()
    assert not dialog.token_section.keyring_warning_label.isHidden()
    token = dialog.token_section
    assert token.keyring_warning_label.text().startswith("No system keyring is available on this machine")
    assert not dialog.token_section.storage_group.isHidden()
    assert dialog.token_section.session_radio.isChecked()
    assert dialog.token_section.file_warning_label.isHidden()

    qtbot.keyClicks(dialog.token_section.edit, TOKEN)
    with qtbot.waitSignal(dialog.token_saved, timeout=WAIT_MS) as saved:
        qtbot.mouseClick(dialog.token_section.save_button, Qt.MouseButton.LeftButton)
    assert saved.args == ["session"]
    assert ctx.x_token() == TOKEN
    assert not (home / TOKEN_FILE).exists()
    assert "this session only" in dialog.token_section.source_label.text()

    # A mouse click at its centre may miss a wide radio button's label.
    dialog.token_section.file_radio.click()
    assert dialog.token_section.file_radio.isChecked()
    assert not dialog.token_section.file_warning_label.isHidden()
    assert str(home) in dialog.token_section.file_warning_label.text()
    warning = token.file_warning_label.text()
    assert "readable" in warning or "can read" in warning

    second = TOKEN[::-1]
    qtbot.keyClicks(dialog.token_section.edit, second)
    with qtbot.waitSignal(dialog.token_saved, timeout=WAIT_MS) as saved:
        qtbot.mouseClick(dialog.token_section.save_button, Qt.MouseButton.LeftButton)
    assert saved.args == ["file"]
    token_file = home / TOKEN_FILE
    assert token_file.read_text(encoding="utf-8") == second
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert ctx.x_token() == second
    assert Settings.load(home).token_storage == "file"
    assert second not in all_visible_text(dialog)

    # Next time the dialog opens, the file choice is remembered.
    assert open_dialog().token_section.file_radio.isChecked()


def test_a_keyring_that_refuses_falls_back_to_session_storage(
    qtbot: QtBot, ctx: AppContext, locked_keyring: Any, open_dialog: Callable[[], SettingsDialog]
) -> None:
    dialog = open_dialog()
    assert dialog.token_section.keyring_warning_label.isHidden()
    saved: list[str] = []
    dialog.token_saved.connect(saved.append)

    qtbot.keyClicks(dialog.token_section.edit, TOKEN)
    qtbot.mouseClick(dialog.token_section.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.token_section.keyring_warning_label.isHidden(), timeout=WAIT_MS)
    assert saved == []
    assert "refused" in dialog.token_section.message_label.text()
    assert not dialog.token_section.storage_group.isHidden()

    with qtbot.waitSignal(dialog.token_saved, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(dialog.token_section.save_button, Qt.MouseButton.LeftButton)
    assert blocker.args == ["session"]
    assert ctx.x_token() == TOKEN


def test_environment_token_overrides_and_the_dialog_says_so(
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    memory_keyring: Any,
    open_dialog: Callable[[], SettingsDialog],
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    dialog = open_dialog()
    assert not dialog.token_section.env_override_label.isHidden()
    assert TOKEN_ENV in dialog.token_section.env_override_label.text()
    assert TOKEN_ENV in dialog.token_section.source_label.text()
    assert dialog.token_section.edit.placeholderText() == mask(TOKEN)
    assert TOKEN not in all_visible_text(dialog)


def test_remove_token_asks_then_forgets_it(
    qtbot: QtBot,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    memory_keyring: Any,
    open_dialog: Callable[[], SettingsDialog],
) -> None:
    save_token(TOKEN, home, "keyring")
    dialog = open_dialog()
    assert dialog.token_section.edit.placeholderText() == mask(TOKEN)

    asked = answer_questions(monkeypatch, QMessageBox.StandardButton.Cancel)
    qtbot.mouseClick(dialog.token_section.remove_button, Qt.MouseButton.LeftButton)
    assert len(asked) == 1
    assert memory_keyring.store

    answer_questions(monkeypatch, QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(dialog.token_section.settled, timeout=WAIT_MS, check_params_cb=bool):
        qtbot.mouseClick(dialog.token_section.remove_button, Qt.MouseButton.LeftButton)
    assert dialog.token_section.message_label.text() == "Token removed."
    assert memory_keyring.store == {}
    assert dialog.token_section.source_label.text() == "None saved"
    assert not dialog.token_section.remove_button.isEnabled()


# --- settings ----------------------------------------------------------------------------------


def test_inputs_are_bounded_by_their_widgets(open_dialog: Callable[[], SettingsDialog]) -> None:
    dialog = open_dialog()
    def bounds(key: str) -> tuple[float, float]:
        spin: Any = dialog.form.widget(key)
        return spin.minimum(), spin.maximum()

    assert bounds("max_concurrent_crawls") == (1, 16)
    assert bounds("per_host_delay_s") == (0.0, 60.0)
    assert dialog.form.widget("per_host_delay_s").singleStep() == pytest.approx(0.05)
    assert bounds("read_timeout_s") == (1.0, 300.0)
    assert bounds("backup_keep") == (1, 100)
    assert dialog.form.widget("log_retention_days").minimum() == 0
    assert dialog.token_section.edit.maxLength() <= 4096
    dialog.form.widget("max_concurrent_crawls").setValue(99)
    assert dialog.form.widget("max_concurrent_crawls").value() == 16


def test_defaults_are_shown(ctx: AppContext, open_dialog: Callable[[], SettingsDialog]) -> None:
    dialog = open_dialog()
    assert dialog.form.widget("max_concurrent_crawls").value() == ctx.settings.max_concurrent_crawls
    assert dialog.form.widget("notify_failures").isChecked()
    assert dialog.form.widget("notify_new_items").isChecked()
    assert dialog.form.widget("catch_up_missed_runs").isChecked()
    assert not dialog.form.widget("start_at_login").isChecked()


def test_ok_saves_settings_to_json_and_updates_the_same_object(
    qtbot: QtBot, ctx: AppContext, home: Path, open_dialog: Callable[[], SettingsDialog]
) -> None:
    settings = ctx.settings
    dialog = open_dialog()
    dialog.form.widget("max_concurrent_crawls").setValue(5)
    dialog.form.widget("per_host_delay_s").setValue(1.35)
    dialog.form.widget("read_timeout_s").setValue(45)
    qtbot.mouseClick(dialog.form.widget("notify_failures"), Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.form.widget("notify_new_items"), Qt.MouseButton.LeftButton)
    dialog.form.widget("close_to_tray").setChecked(False)
    dialog.form.widget("start_minimized").setChecked(True)
    dialog.form.widget("catch_up_missed_runs").setChecked(False)
    dialog.form.widget("log_retention_days").setValue(0)
    dialog.form.widget("backup_keep").setValue(12)
    dialog.form.widget("backup_interval_hours").setValue(6)

    with qtbot.waitSignal(dialog.settings_changed, timeout=WAIT_MS):
        press_ok(qtbot, dialog)

    assert dialog.result() == QDialog.DialogCode.Accepted
    assert ctx.settings is settings
    on_disk = json.loads((home / SETTINGS_FILE).read_text(encoding="utf-8"))
    for source in (on_disk, settings.as_dict(), Settings.load(home).as_dict()):
        assert source["max_concurrent_crawls"] == 5
        assert source["per_host_delay_s"] == pytest.approx(1.35)
        assert source["read_timeout_s"] == pytest.approx(45.0)
        assert source["notify_failures"] is False
        assert source["notify_new_items"] is False
        assert source["close_to_tray"] is False
        assert source["start_minimized"] is True
        assert source["catch_up_missed_runs"] is False
        assert source["log_retention_days"] == 0
        assert source["backup_keep"] == 12
        assert source["backup_interval_hours"] == 6

    reopened = open_dialog()
    assert reopened.form.widget("max_concurrent_crawls").value() == 5
    assert reopened.form.widget("log_retention_days").text() == "Keep forever"


def test_cancel_discards_changes(
    qtbot: QtBot, ctx: AppContext, home: Path, open_dialog: Callable[[], SettingsDialog]
) -> None:
    before = ctx.settings.as_dict()
    dialog = open_dialog()
    changed: list[bool] = []
    dialog.settings_changed.connect(lambda: changed.append(True))
    dialog.form.widget("max_concurrent_crawls").setValue(9)
    dialog.form.widget("notify_failures").setChecked(False)
    cancel = dialog.button_box.button(QDialogButtonBox.StandardButton.Cancel)
    assert cancel is not None
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Rejected
    assert ctx.settings.as_dict() == before
    assert not (home / SETTINGS_FILE).exists()
    assert changed == []


def test_settings_that_cannot_be_written_are_reported_and_not_applied(
    qtbot: QtBot, ctx: AppContext, monkeypatch: pytest.MonkeyPatch, open_dialog: Callable[[], SettingsDialog]
) -> None:
    def disk_full(_self: Settings, _folder: Path | None = None) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Settings, "save", disk_full)
    shown = record_warnings(monkeypatch)
    before = ctx.settings.as_dict()
    dialog = open_dialog()
    dialog.form.widget("max_concurrent_crawls").setValue(11)
    press_ok(qtbot, dialog)
    assert len(shown) == 1
    assert "No space left" in shown[0]
    assert ctx.settings.as_dict() == before
    assert dialog.isVisible()


# --- start at login --------------------------------------------------------------------------


def test_start_at_login_creates_and_removes_the_autostart_entry(
    qtbot: QtBot, ctx: AppContext, xdg_config: Path, open_dialog: Callable[[], SettingsDialog]
) -> None:
    entry = xdg_config / "autostart" / "osint-desktop.desktop"
    dialog = open_dialog()
    dialog.form.widget("start_at_login").setChecked(True)
    with qtbot.waitSignal(dialog.settings_changed, timeout=WAIT_MS):
        press_ok(qtbot, dialog)

    assert entry.is_file()
    exec_lines = [line for line in entry.read_text(encoding="utf-8").splitlines() if line.startswith("Exec=")]
    assert exec_lines == ["Exec=" + autostart.exec_line([*autostart.launch_command(), "--minimized"])]
    assert exec_lines[0].endswith(" -m osint_desktop --minimized")
    assert ctx.settings.start_at_login is True

    dialog = open_dialog()
    assert dialog.form.widget("start_at_login").isChecked()
    dialog.form.widget("start_at_login").setChecked(False)
    with qtbot.waitSignal(dialog.settings_changed, timeout=WAIT_MS):
        press_ok(qtbot, dialog)
    assert not entry.exists()
    assert ctx.settings.start_at_login is False
    assert Settings.load(ctx.home).start_at_login is False


def test_start_at_login_failure_is_shown_and_not_recorded_as_on(
    qtbot: QtBot, ctx: AppContext, monkeypatch: pytest.MonkeyPatch, open_dialog: Callable[[], SettingsDialog]
) -> None:
    def refuse(_command: list[str], _working_dir: Path | None = None) -> Path:
        raise PermissionError("autostart folder is read-only")

    monkeypatch.setattr(autostart, "enable", refuse)
    shown = record_warnings(monkeypatch)
    dialog = open_dialog()
    dialog.form.widget("start_at_login").setChecked(True)
    dialog.form.widget("max_concurrent_crawls").setValue(3)
    with qtbot.waitSignal(dialog.settings_changed, timeout=WAIT_MS):
        press_ok(qtbot, dialog)
    assert len(shown) == 1
    assert "Start at login" in shown[0]
    assert "read-only" in shown[0]
    assert ctx.settings.start_at_login is False
    assert ctx.settings.max_concurrent_crawls == 3


# --- backup and restore ------------------------------------------------------------------------


def test_back_up_now_creates_a_backup_off_the_gui_thread(
    qtbot: QtBot, ctx: AppContext, open_dialog: Callable[[], SettingsDialog]
) -> None:
    dialog = open_dialog()
    assert dialog.backup_section.unavailable_label.isHidden()
    assert list_backups(ctx.backup_dir) == []
    qtbot.mouseClick(dialog.backup_section.backup_button, Qt.MouseButton.LeftButton)
    assert not dialog.backup_section.backup_button.isEnabled()  # busy while the job runs
    qtbot.waitUntil(lambda: not dialog.busy, timeout=WAIT_MS)
    backups = list_backups(ctx.backup_dir)
    assert len(backups) == 1
    path = backups[0]
    assert path.parent == ctx.backup_dir
    assert path.is_file()
    assert str(path) in dialog.backup_section.message_label.text()
    assert path.name in dialog.backup_section.latest_label.text()
    assert dialog.backup_section.backup_button.isEnabled()


def test_restore_from_backup_replaces_the_data(
    qtbot: QtBot, ctx: AppContext, monkeypatch: pytest.MonkeyPatch, open_dialog: Callable[[], SettingsDialog]
) -> None:
    ensure_default_tasks(ctx.db, have_x_token=False)
    original = [task.name for task in list_tasks(ctx.db)]
    backup = backup_now(ctx.db, ctx.backup_dir, keep=5)
    create_task(ctx.db, "Added later", "news", "daily", ["https://example.org/feed.xml"])
    delete_task(ctx.db, list_tasks(ctx.db)[0].id)
    assert [task.name for task in list_tasks(ctx.db)] != original

    opened_in: list[str] = []

    def choose(_parent: Any, _caption: str, folder: str, _filter: str) -> tuple[str, str]:
        opened_in.append(folder)
        return str(backup), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", choose)
    asked = answer_questions(monkeypatch, QMessageBox.StandardButton.Yes)
    dialog = open_dialog()
    with qtbot.waitSignals([dialog.restore_started, dialog.restored], timeout=WAIT_MS):
        qtbot.mouseClick(dialog.backup_section.restore_button, Qt.MouseButton.LeftButton)

    assert opened_in == [str(ctx.backup_dir)]
    assert len(asked) == 1
    assert "replace" in asked[0].lower()
    assert "reload" in asked[0].lower()
    assert [task.name for task in list_tasks(ctx.db)] == original
    assert backup.is_file()
    safety = [p for p in list_backups(ctx.backup_dir) if "pre-restore" in p.name]
    assert len(safety) == 1
    assert safety[0].name in dialog.backup_section.message_label.text()
    assert dialog.backup_section.restore_button.isEnabled()


def test_restore_cancelled_at_the_question_changes_nothing(
    qtbot: QtBot, ctx: AppContext, monkeypatch: pytest.MonkeyPatch, open_dialog: Callable[[], SettingsDialog]
) -> None:
    ensure_default_tasks(ctx.db, have_x_token=False)
    backup = backup_now(ctx.db, ctx.backup_dir, keep=5)
    create_task(ctx.db, "Added later", "news", "daily", ["https://example.org/feed.xml"])
    names = [task.name for task in list_tasks(ctx.db)]
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_args: (str(backup), ""))
    answer_questions(monkeypatch, QMessageBox.StandardButton.Cancel)
    dialog = open_dialog()
    started: list[bool] = []
    dialog.restore_started.connect(lambda: started.append(True))
    qtbot.mouseClick(dialog.backup_section.restore_button, Qt.MouseButton.LeftButton)
    assert started == []
    assert not dialog.busy
    assert [task.name for task in list_tasks(ctx.db)] == names


def test_restore_of_a_damaged_file_reports_the_error_and_keeps_the_data(
    qtbot: QtBot, ctx: AppContext, tmp_path: Path, open_dialog: Callable[[], SettingsDialog]
) -> None:
    ensure_default_tasks(ctx.db, have_x_token=False)
    names = [task.name for task in list_tasks(ctx.db)]
    junk = tmp_path / "not-a-backup.sqlite3"
    junk.write_bytes(b"this is not a database" * 100)
    dialog = open_dialog()
    with qtbot.waitSignal(dialog.restore_failed, timeout=WAIT_MS):
        dialog.backup_section.restore_from(junk)
    assert "restore failed" in dialog.backup_section.message_label.text()
    assert [task.name for task in list_tasks(ctx.db)] == names
    assert dialog.backup_section.restore_button.isEnabled()


def test_restore_with_fewer_backups_kept_keeps_the_chosen_backup_untouched(
    qtbot: QtBot, ctx: AppContext, open_dialog: Callable[[], SettingsDialog]
) -> None:
    backups = []
    for n in range(4):
        create_task(ctx.db, f"Batch {n}", "news", "daily", [f"https://example.org/{n}.xml"])
        backups.append(backup_now(ctx.db, ctx.backup_dir, keep=7))
    chosen = backups[0]
    before = chosen.read_bytes(), chosen.stat().st_mtime_ns
    create_task(ctx.db, "Later", "news", "daily", ["https://example.org/later.xml"])
    ctx.settings.backup_keep = 2  # lowered and saved earlier
    dialog = open_dialog()
    with qtbot.waitSignal(dialog.restored, timeout=WAIT_MS):
        dialog.backup_section.restore_from(chosen)
    assert [task.name for task in list_tasks(ctx.db)] == ["Batch 0"]
    assert chosen.is_file(), "the backup being restored was deleted"
    assert (chosen.read_bytes(), chosen.stat().st_mtime_ns) == before
    assert [p.name for p in ctx.backup_dir.iterdir() if p.name.endswith(("-wal", "-shm"))] == []
    safety = [p for p in list_backups(ctx.backup_dir) if "pre-restore" in p.name]
    assert len(safety) == 1 and safety[0].name in dialog.backup_section.message_label.text()


def test_restore_is_refused_while_a_crawl_is_running(
    qtbot: QtBot, ctx: AppContext, open_dialog: Callable[[], SettingsDialog]
) -> None:
    task = create_task(ctx.db, "Busy", "news", "daily", ["https://example.org/busy.xml"])
    backup = backup_now(ctx.db, ctx.backup_dir, keep=7)
    create_task(ctx.db, "Later", "news", "daily", ["https://example.org/later.xml"])
    owner = current_owner()
    now = utcnow()
    # A run of this very process, as the window's crawl records it when it starts.
    with ctx.db.write() as session:
        session.execute(update(CrawlTask).where(CrawlTask.id == task.id).values(status="running"))
        run = CrawlLog(
            task_id=task.id, started_at=now, status="running", trigger="manual", items_found=0,
            items_new=0, details=[], targets_total=1, targets_done=0, owner_host=owner.host,
            owner_pid=owner.pid, owner_started=owner.started, heartbeat_at=now,
        )
        session.add(run)
        session.flush()
        register_active(run.id)
    try:
        dialog = open_dialog()
        with qtbot.waitSignal(dialog.restore_failed, timeout=WAIT_MS) as failed:
            dialog.backup_section.restore_from(backup)
    finally:
        unregister_active(run.id)
    assert "crawl is running ('Busy')" in failed.args[0]
    assert "crawl is running" in dialog.backup_section.message_label.text()
    assert [t.name for t in list_tasks(ctx.db)] == ["Busy", "Later"]
    assert list_backups(ctx.backup_dir) == [backup]
    assert dialog.backup_section.restore_button.isEnabled()


def test_backup_and_restore_are_disabled_for_a_database_server(
    ctx: AppContext, monkeypatch: pytest.MonkeyPatch, open_dialog: Callable[[], SettingsDialog]
) -> None:
    monkeypatch.setattr(ctx.db, "url", "postgresql://analyst@db.example.org/osint")
    dialog = open_dialog()
    assert not dialog.backup_section.backup_button.isEnabled()
    assert not dialog.backup_section.restore_button.isEnabled()
    assert not dialog.backup_section.unavailable_label.isHidden()
    assert "not a SQLite" in dialog.backup_section.unavailable_label.text()


# --- X usage ---------------------------------------------------------------------------------


def test_check_usage_shows_the_months_usage_or_xs_reason_and_never_the_token(
    qtbot: QtBot,
    ctx: AppContext,
    home: Path,
    memory_keyring: Any,
    monkeypatch: pytest.MonkeyPatch,
    open_dialog: Callable[[], SettingsDialog],
) -> None:
    from osint_desktop.core.crawl import social

    save_token(TOKEN, home, "keyring")
    asked: list[str] = []

    def usage(token: str, _limits: Any) -> social.XUsage:
        asked.append(token)
        return social.XUsage(project_usage=2236, project_cap=10000, cap_reset_day=19)

    monkeypatch.setattr(social, "fetch_usage", usage)
    dialog = open_dialog()
    section = dialog.token_section
    assert section.usage_label.isHidden()
    qtbot.mouseClick(section.usage_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "posts read" in section.usage_label.text(), timeout=WAIT_MS)
    assert asked == [TOKEN]  # the saved token, read off the GUI thread
    assert "2,236 posts read of the project's cap of 10,000" in section.usage_label.text()
    assert section.usage_button.isEnabled()

    def refused(token: str, _limits: Any) -> social.XUsage:
        raise social.XUsageError(f"X refused the usage request (HTTP 403): Client Forbidden {token}")

    monkeypatch.setattr(social, "fetch_usage", refused)
    qtbot.mouseClick(section.usage_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "not available" in section.usage_label.text(), timeout=WAIT_MS)
    assert "HTTP 403): Client Forbidden" in section.usage_label.text()
    assert TOKEN not in all_visible_text(dialog)
