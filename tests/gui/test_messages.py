"""Exact texts of the window's messages: names as typed, counts in proper English."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from osint_desktop.app.context import AppContext
from osint_desktop.app.tasks import create_task
from osint_desktop.gui.application import DesktopApp
from osint_desktop.gui.task_dialog import TaskDialog


def test_the_duplicate_name_message_keeps_the_names_case(
    qtbot: QtBot, gui_ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_task(gui_ctx.db, "OSINT Feeds of ACME", "news", "daily", ["https://a.example.org/rss"])
    dialog = TaskDialog(gui_ctx)
    qtbot.addWidget(dialog)
    dialog.name_edit.setText("OSINT Feeds of ACME")
    dialog.targets_edit.setPlainText("https://b.example.org/rss")
    assert not dialog.validate()
    assert dialog.name_error.text() == "A task named 'OSINT Feeds of ACME' exists already"
    # The editor was changed: closing it asks before discarding (a modal box would wait forever).
    monkeypatch.setattr(QMessageBox, "question", lambda *_args: QMessageBox.StandardButton.Discard)
    dialog.reject()


@pytest.mark.parametrize(("targets", "words"), [(1, "its 1 target?"), (2, "its 2 targets?")])
def test_the_delete_question_counts_targets_in_proper_english(
    desktop: DesktopApp, monkeypatch: pytest.MonkeyPatch, targets: int, words: str
) -> None:
    task = create_task(
        desktop.ctx.db, "One feed", "news", "daily", [f"https://a.example.org/{n}" for n in range(targets)]
    )
    desktop.window.task_model.reload()
    desktop.window.select_task(task.id)
    asked: list[str] = []

    def question(_parent: Any, _title: str, text: str, *_args: Any) -> QMessageBox.StandardButton:
        asked.append(text)
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", question)
    desktop.window.delete_task()
    assert asked == [
        f"Delete 'One feed' and {words}\n\nIts run logs are deleted too; the items it collected are kept."
    ]
