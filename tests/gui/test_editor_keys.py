"""The task and watch editors at the keyboard: Tab leaves the targets, Ctrl+Enter saves, Esc asks first."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox
from pytestqt.qtbot import QtBot

from osint_desktop.app.context import AppContext
from osint_desktop.app.tasks import create_task, get_task, list_tasks
from osint_desktop.app.watches import list_watches
from osint_desktop.gui.task_dialog import TaskDialog
from osint_desktop.gui.watch_dialog import WatchDialog

CTRL = Qt.KeyboardModifier.ControlModifier
FEED = "https://example.org/feed.xml"


def _shown(qtbot: QtBot, dialog: QDialog) -> QDialog:
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    return dialog


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every question asked; answered with what answers[0] names ("Cancel" until a test changes it)."""
    asked: list[str] = ["Cancel"]

    def question(_parent: object, _title: str, text: str, *_args: object) -> QMessageBox.StandardButton:
        asked.append(text)
        buttons = QMessageBox.StandardButton
        return buttons.Discard if asked[0] == "Discard" else buttons.Cancel

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


def test_tab_leaves_the_targets_box_without_typing_a_tab(
    qtbot: QtBot, gui_ctx: AppContext, answers: list[str]
) -> None:
    dialog = _shown(qtbot, TaskDialog(gui_ctx))
    assert isinstance(dialog, TaskDialog)
    dialog.targets_edit.setPlainText(FEED)
    dialog.targets_edit.setFocus()
    qtbot.waitUntil(dialog.targets_edit.hasFocus)
    qtbot.keyClick(dialog.targets_edit, Qt.Key.Key_Tab)
    assert dialog.targets_edit.toPlainText() == FEED
    assert not dialog.targets_edit.hasFocus()
    assert dialog.focusWidget() is not None and dialog.focusWidget() is not dialog.targets_edit

    dialog.targets_edit.setFocus()
    qtbot.waitUntil(dialog.targets_edit.hasFocus)
    qtbot.keyClick(dialog.targets_edit, Qt.Key.Key_Tab, CTRL)
    assert "\t" not in dialog.targets_edit.toPlainText()
    qtbot.keyClick(dialog.targets_edit, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert "\t" not in dialog.targets_edit.toPlainText()
    assert dialog.focusWidget() is not dialog.targets_edit
    dialog.done(0)


@pytest.mark.parametrize("key", [Qt.Key.Key_Return, Qt.Key.Key_Enter])
def test_ctrl_enter_saves_the_task_from_the_targets_box(
    qtbot: QtBot, gui_ctx: AppContext, answers: list[str], key: Qt.Key
) -> None:
    dialog = _shown(qtbot, TaskDialog(gui_ctx))
    assert isinstance(dialog, TaskDialog)
    qtbot.keyClicks(dialog.name_edit, "Keyboard task")
    dialog.targets_edit.setFocus()
    qtbot.keyClicks(dialog.targets_edit, FEED)
    qtbot.keyClick(dialog.targets_edit, key, CTRL)
    assert dialog.result() == QDialog.DialogCode.Accepted and not dialog.isVisible()
    assert dialog.saved_task_id is not None
    saved = get_task(gui_ctx.db, dialog.saved_task_id)
    assert (saved.name, list(saved.targets)) == ("Keyboard task", [FEED])
    assert answers == ["Cancel"]  # saving asks nothing


def test_ctrl_enter_on_an_invalid_task_keeps_the_editor_open(
    qtbot: QtBot, gui_ctx: AppContext, answers: list[str]
) -> None:
    dialog = _shown(qtbot, TaskDialog(gui_ctx))
    assert isinstance(dialog, TaskDialog)
    qtbot.keyClicks(dialog.name_edit, "No targets")
    qtbot.keyClick(dialog.name_edit, Qt.Key.Key_Return, CTRL)
    assert dialog.isVisible() and dialog.targets_error.isVisible()
    assert list_tasks(gui_ctx.db) == []
    answers[0] = "Discard"
    dialog.reject()


def test_escape_on_a_changed_task_editor_asks_before_discarding(
    qtbot: QtBot, gui_ctx: AppContext, answers: list[str]
) -> None:
    untouched = _shown(qtbot, TaskDialog(gui_ctx))
    qtbot.keyClick(untouched, Qt.Key.Key_Escape)
    assert not untouched.isVisible() and answers == ["Cancel"]  # nothing typed: closes without a word

    task = create_task(gui_ctx.db, "Existing", "news", "daily", [FEED])
    dialog = _shown(qtbot, TaskDialog(gui_ctx, task))
    assert isinstance(dialog, TaskDialog)
    dialog.targets_edit.setFocus()
    dialog.targets_edit.moveCursor(dialog.targets_edit.textCursor().MoveOperation.End)
    qtbot.keyClicks(dialog.targets_edit, "x")
    qtbot.keyClick(dialog.targets_edit, Qt.Key.Key_Escape)
    assert answers[1:] == ["Discard the changes to this task?"]
    assert dialog.isVisible()  # Cancel: back to editing, the change still there
    assert dialog.targets_edit.toPlainText().endswith("x")

    answers[0] = "Discard"
    qtbot.keyClick(dialog.name_edit, Qt.Key.Key_Escape)
    assert not dialog.isVisible() and dialog.result() == QDialog.DialogCode.Rejected
    assert list(get_task(gui_ctx.db, task.id).targets) == [FEED]


def test_watch_editor_ctrl_enter_saves_and_escape_asks(
    qtbot: QtBot, gui_ctx: AppContext, answers: list[str]
) -> None:
    dialog = _shown(qtbot, WatchDialog(gui_ctx, None, []))
    assert isinstance(dialog, WatchDialog)
    qtbot.keyClicks(dialog.name_edit, "Keys")
    qtbot.keyClick(dialog.name_edit, Qt.Key.Key_Escape)
    assert answers[1:] == ["Discard the changes to this watch?"] and dialog.isVisible()
    qtbot.keyClicks(dialog.query_edit, "acme")
    dialog.backfill_check.setChecked(False)
    qtbot.keyClick(dialog.query_edit, Qt.Key.Key_Enter, CTRL)
    qtbot.waitUntil(lambda: dialog.saved_watch is not None and not dialog.isVisible())
    assert [watch.name for watch in list_watches(gui_ctx.db)] == ["Keys"]
    QApplication.processEvents()
