"""The task editor's "Capture linked pages" and its per-run limit: news only, saved and shown again."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from osint_desktop.app.context import AppContext
from osint_desktop.app.tasks import create_task, get_task
from osint_desktop.gui.task_dialog import TaskDialog

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")


def choose(dialog: TaskDialog, source: str) -> None:
    dialog.source_combo.setCurrentIndex(dialog.source_combo.findData(source))


def rows_shown(dialog: TaskDialog) -> bool:
    return not dialog.linked_pages_check.isHidden() and not dialog.linked_pages_spin.isHidden()


def test_the_option_shows_for_news_only_and_is_off_by_default(qtbot: QtBot, gui_ctx: AppContext) -> None:
    dialog = TaskDialog(gui_ctx)
    qtbot.addWidget(dialog)
    choose(dialog, "news")
    assert rows_shown(dialog)
    assert not dialog.linked_pages_check.isChecked()
    assert dialog.linked_pages_spin.value() == 20 and not dialog.linked_pages_spin.isEnabled()
    assert (dialog.linked_pages_spin.minimum(), dialog.linked_pages_spin.maximum()) == (1, 500)
    dialog.linked_pages_check.setChecked(True)
    assert dialog.linked_pages_spin.isEnabled()
    choose(dialog, "mastodon")
    assert not rows_shown(dialog)
    assert dialog.linked_pages() == (False, 20)  # a checked box on a hidden row does not count


def test_the_option_round_trips_through_save_and_edit(qtbot: QtBot, gui_ctx: AppContext) -> None:
    dialog = TaskDialog(gui_ctx)
    qtbot.addWidget(dialog)
    dialog.name_edit.setText("Gazette")
    choose(dialog, "news")
    dialog.targets_edit.setPlainText("https://gazette.example/feed.xml")
    dialog.active_check.setChecked(False)
    dialog.linked_pages_check.setChecked(True)
    dialog.linked_pages_spin.setValue(7)
    dialog.save()
    assert dialog.saved_task_id is not None
    task = get_task(gui_ctx.db, dialog.saved_task_id)
    assert (task.capture_linked_pages, task.linked_pages_per_run) == (True, 7)

    editor = TaskDialog(gui_ctx, task)
    qtbot.addWidget(editor)
    assert editor.linked_pages_check.isChecked() and editor.linked_pages_spin.value() == 7
    editor.linked_pages_check.setChecked(False)
    editor.linked_pages_spin.setValue(300)
    editor.save()
    task = get_task(gui_ctx.db, task.id)
    assert (task.capture_linked_pages, task.linked_pages_per_run) == (False, 300)


def test_moving_a_task_off_news_switches_the_option_off(qtbot: QtBot, gui_ctx: AppContext) -> None:
    task = create_task(gui_ctx.db, "Gazette", "news", "daily", ["https://gazette.example/feed.xml"],
                       active=False, capture_linked_pages=True)
    editor = TaskDialog(gui_ctx, task)
    qtbot.addWidget(editor)
    choose(editor, "mastodon")
    editor.targets_edit.setPlainText("https://infosec.exchange/tags/osint")
    editor.save()
    assert editor.saved_task_id == task.id
    assert get_task(gui_ctx.db, task.id).capture_linked_pages is False
