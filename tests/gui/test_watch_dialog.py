"""The watch editor on a real database: live checks, scope, backfill, editing, the Apprise URL a secret."""

from __future__ import annotations

from pathlib import Path

import keyring
import pytest
from keyring.backends.fail import Keyring as NoKeyring
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QMessageBox
from pytestqt.qtbot import QtBot

from osint_desktop import APP_ID
from osint_desktop.app.alerts import list_alerts
from osint_desktop.app.context import AppContext
from osint_desktop.app.outbound import apprise_watch_credential
from osint_desktop.app.tasks import create_task
from osint_desktop.app.watches import WatchInfo, WatchSpec, create_watch, get_watch, list_watches
from osint_desktop.core.query import QUERY_HELP
from osint_desktop.core.vocabulary import Source
from osint_desktop.gui.watch_dialog import SCOPE_SOURCES, SCOPE_TASKS, WatchDialog
from tests.conftest import MemoryKeyring
from tests.gui.test_alerts_page import collect
from tests.helpers import db_file

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints\(\)|raise\(\))")

APPRISE_URL = "ntfy://ntfy.sh/acme-watch-Zq81xTopSecret77"


def _dialog(qtbot: QtBot, ctx: AppContext, watch: WatchInfo | None = None) -> WatchDialog:
    dialog = WatchDialog(ctx, watch)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.tasks_loaded and dialog.apprise_loaded, timeout=5000)
    return dialog


def _save(qtbot: QtBot, dialog: WatchDialog) -> None:
    dialog.save()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)


def _tick_task(dialog: WatchDialog, name: str) -> None:
    for row in range(dialog.task_list.count()):
        item = dialog.task_list.item(row)
        if item.text() == name:
            item.setCheckState(Qt.CheckState.Checked)
            return
    raise AssertionError(f"no task {name!r} offered")


def test_a_malformed_query_says_why_and_nothing_is_saved(qtbot: QtBot, gui_ctx: AppContext) -> None:
    dialog = _dialog(qtbot, gui_ctx)
    assert dialog.query_edit.toolTip() == QUERY_HELP
    assert dialog.query_edit.placeholderText() == '"zero-day" OR ransomware*'
    dialog.name_edit.setText("Broken")
    dialog.query_edit.setText('"zero-day OR ransomware')
    assert not dialog.query_message.isHidden()
    assert "Unbalanced quote" in dialog.query_message.text()
    dialog.regex_edit.setText("CVE-(")
    assert not dialog.regex_message.isHidden()
    assert dialog.regex_message.text().startswith("Regular expression")

    _save(qtbot, dialog)
    assert dialog.saved_watch is None and dialog.result() == 0
    assert list_watches(gui_ctx.db) == []
    # Corrected, the same dialog saves: nothing typed was lost.
    dialog.query_edit.setText('"zero-day" OR ransomware*')
    assert dialog.query_message.isHidden()
    dialog.regex_edit.setText(r"CVE-\d{4}-\d+")
    dialog.backfill_check.setChecked(False)
    _save(qtbot, dialog)
    assert dialog.result() == QDialog.DialogCode.Accepted
    saved = get_watch(gui_ctx.db, dialog.saved_watch.id)  # type: ignore[union-attr]
    assert (saved.name, saved.query, saved.regex) == ("Broken", '"zero-day" OR ransomware*', r"CVE-\d{4}-\d+")


def test_a_name_taken_is_refused_in_the_dialog(qtbot: QtBot, gui_ctx: AppContext) -> None:
    create_watch(gui_ctx.db, WatchSpec(name="Acme", query="acme"))
    dialog = _dialog(qtbot, gui_ctx)
    dialog.name_edit.setText("Acme")
    dialog.query_edit.setText("globex")
    _save(qtbot, dialog)
    assert dialog.saved_watch is None
    assert not dialog.name_error.isHidden() and "exists already" in dialog.name_error.text()
    assert dialog.query_edit.text() == "globex"


def test_a_watch_saves_with_chosen_tasks_or_sources(qtbot: QtBot, gui_ctx: AppContext) -> None:
    create_task(gui_ctx.db, "Baltic news", "news", "hourly", ["https://example.org/a.xml"])
    chosen = create_task(gui_ctx.db, "Security news", "news", "daily", ["https://example.org/b.xml"])
    dialog = _dialog(qtbot, gui_ctx)
    dialog.name_edit.setText("Ports")
    dialog.query_edit.setText("port*")
    dialog.backfill_check.setChecked(False)
    dialog.scope_group.button(SCOPE_TASKS).setChecked(True)
    _save(qtbot, dialog)
    assert dialog.saved_watch is None and "Tick at least one task" in dialog.scope_error.text()
    _tick_task(dialog, "Security news")
    dialog.notify_check.setChecked(False)
    _save(qtbot, dialog)
    watch = get_watch(gui_ctx.db, dialog.saved_watch.id)  # type: ignore[union-attr]
    assert (watch.task_ids, watch.sources, watch.notify, watch.active) == ((chosen.id,), (), False, True)

    by_source = _dialog(qtbot, gui_ctx)
    by_source.name_edit.setText("Fediverse")
    by_source.query_edit.setText("acme")
    by_source.scope_group.button(SCOPE_SOURCES).setChecked(True)
    by_source.source_checks[Source.MASTODON].setChecked(True)
    by_source.source_checks[Source.BLUESKY].setChecked(True)
    by_source.backfill_check.setChecked(False)
    _save(qtbot, by_source)
    watch = get_watch(gui_ctx.db, by_source.saved_watch.id)  # type: ignore[union-attr]
    assert (watch.task_ids, watch.sources) == ((), (Source.MASTODON, Source.BLUESKY))


def test_searching_what_is_collected_finds_the_existing_matches(qtbot: QtBot, gui_ctx: AppContext) -> None:
    collect(gui_ctx)
    dialog = _dialog(qtbot, gui_ctx)
    assert dialog.backfill_check.isChecked()  # on by default for a new watch
    dialog.name_edit.setText("Ransomware")
    dialog.query_edit.setText("ransom*")
    _save(qtbot, dialog)
    qtbot.waitUntil(dialog.backfill_finished, timeout=10_000)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.backfill_added == 2
    assert dialog.result_message == "2 matches among the items already collected."
    watch_id = dialog.saved_watch.id  # type: ignore[union-attr]
    assert len(list_alerts(gui_ctx.db, watch_id)) == 2


def test_editing_shows_and_keeps_every_value(qtbot: QtBot, gui_ctx: AppContext) -> None:
    task = create_task(gui_ctx.db, "Security news", "news", "daily", ["https://example.org/b.xml"])
    watch = create_watch(
        gui_ctx.db,
        WatchSpec(
            name="Acme", query="acme NOT test", regex=r"CVE-\d+", task_ids=[task.id],
            notify=False, outbound=True, active=False,
        ),
    )
    dialog = _dialog(qtbot, gui_ctx, watch)
    assert dialog.windowTitle() == "Edit watch"
    assert (dialog.name_edit.text(), dialog.query_edit.text(), dialog.regex_edit.text()) == (
        "Acme", "acme NOT test", r"CVE-\d+",
    )
    assert dialog.scope_group.checkedId() == SCOPE_TASKS and dialog.chosen_task_ids() == (task.id,)
    assert not dialog.notify_check.isChecked() and dialog.outbound_check.isChecked()
    assert not dialog.active_check.isChecked() and not dialog.backfill_check.isChecked()
    assert not dialog.changed

    _save(qtbot, dialog)
    again = get_watch(gui_ctx.db, watch.id)
    assert (again.query, again.regex, again.task_ids, again.notify, again.outbound, again.active) == (
        watch.query, watch.regex, watch.task_ids, watch.notify, watch.outbound, watch.active,
    )

    # Clearing the regular expression removes it; the query stays.
    edit = _dialog(qtbot, gui_ctx, again)
    edit.regex_edit.clear()
    _save(qtbot, edit)
    assert get_watch(gui_ctx.db, watch.id).regex is None


def test_escape_on_a_changed_dialog_asks_first(
    qtbot: QtBot, gui_ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    answer = QMessageBox.StandardButton.Cancel

    def ask(_parent: object, _title: str, text: str, *_args: object) -> QMessageBox.StandardButton:
        asked.append(text)
        return answer

    monkeypatch.setattr(QMessageBox, "question", ask)
    dialog = _dialog(qtbot, gui_ctx)
    dialog.show()
    dialog.reject()
    assert asked == [] and not dialog.isVisible()  # nothing typed: it closes without a word

    typed = _dialog(qtbot, gui_ctx)
    typed.show()
    typed.name_edit.setText("Half typed")
    typed.reject()
    assert asked == ["Discard the changes to this watch?"] and typed.isVisible()
    answer = QMessageBox.StandardButton.Discard
    typed.reject()
    assert not typed.isVisible() and list_watches(gui_ctx.db) == []


def test_ctrl_enter_saves(qtbot: QtBot, gui_ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
    # Closed at the end of the test with its changes, if it failed: never a question that waits.
    monkeypatch.setattr(QMessageBox, "question", lambda *_args: QMessageBox.StandardButton.Discard)
    dialog = _dialog(qtbot, gui_ctx)
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    dialog.name_edit.setText("Quick")
    dialog.query_edit.setText("acme")
    dialog.backfill_check.setChecked(False)
    dialog.query_edit.setFocus()
    qtbot.keyClick(dialog.query_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: dialog.saved_watch is not None, timeout=5000)
    assert [w.name for w in list_watches(gui_ctx.db)] == ["Quick"]


def test_the_apprise_url_is_a_secret_never_in_the_database(
    qtbot: QtBot, gui_ctx: AppContext, memory_keyring: MemoryKeyring, home: Path
) -> None:
    dialog = _dialog(qtbot, gui_ctx)
    assert dialog.apprise_edit.echoMode() == dialog.apprise_edit.EchoMode.Password
    dialog.name_edit.setText("Loud")
    dialog.query_edit.setText("acme")
    dialog.outbound_check.setChecked(True)
    dialog.apprise_edit.setText(APPRISE_URL)
    dialog.backfill_check.setChecked(False)
    _save(qtbot, dialog)
    watch = dialog.saved_watch
    assert watch is not None and watch.outbound
    name = apprise_watch_credential(watch.id)
    assert memory_keyring.store[(APP_ID, name)] == APPRISE_URL

    gui_ctx.db.engine.dispose()  # every write checkpointed into the file
    stored = b"".join(path.read_bytes() for path in db_file(home).parent.glob(db_file(home).name + "*"))
    assert b"acme-watch-Zq81x" not in stored and b"ntfy://" not in stored

    # Edited, the URL is shown masked; emptied, the watch goes back to the global one.
    edit = _dialog(qtbot, gui_ctx, watch)
    assert edit.apprise_edit.text() == APPRISE_URL and not edit.changed
    edit.apprise_edit.clear()
    _save(qtbot, edit)
    assert (APP_ID, name) not in memory_keyring.store


def test_a_missing_keyring_keeps_the_dialog_open_and_says_so(qtbot: QtBot, gui_ctx: AppContext) -> None:
    gui_ctx.settings.token_storage = "keyring"
    previous = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())
    try:
        dialog = _dialog(qtbot, gui_ctx)
        dialog.name_edit.setText("Loud")
        dialog.query_edit.setText("acme")
        dialog.apprise_edit.setText(APPRISE_URL)
        dialog.backfill_check.setChecked(False)
        _save(qtbot, dialog)
    finally:
        keyring.set_keyring(previous)
    assert dialog.saved_watch is not None and dialog.result() == 0
    assert "not its Apprise URL" in dialog.apprise_message.text()
    assert dialog.apprise_edit.text() == APPRISE_URL
    assert [w.name for w in list_watches(gui_ctx.db)] == ["Loud"]
