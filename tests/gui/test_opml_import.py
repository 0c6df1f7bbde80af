"""Feeds in and out: OPML import into new and existing news tasks without duplicates, and export."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from osint_desktop.app.context import AppContext
from osint_desktop.app.opml import OpmlFeed, parse_opml
from osint_desktop.app.tasks import create_task, get_task, list_tasks
from osint_desktop.core.validation import ValidationError
from osint_desktop.gui import opml_dialogs
from osint_desktop.gui.opml_dialogs import (
    EXPORT_FILE_NAME,
    OpmlImportDialog,
    apply_opml_import,
    export_opml,
    import_opml,
    unique_task_name,
)
from tests.conftest import FEEDS

SAMPLE = FEEDS / "opml_sample.opml"
SAMPLE_URLS = [
    "https://news.example.org/world/rss.xml",
    "https://sec.example.net/feed.atom",
    "https://gazette.example.com/rss",
]


@pytest.fixture
def opml_ctx(home: Path) -> Iterator[AppContext]:
    """A fresh data folder opened the way the app opens it."""
    context = AppContext.open(console_log=None)
    yield context
    context.close()


@pytest.fixture
def parent(qtbot: QtBot) -> Iterator[QWidget]:
    """A window for the dialogs to belong to."""
    widget = QWidget()
    qtbot.addWidget(widget)
    yield widget
    # Dead dialogs are freed here, on the GUI thread, not by a collection on some pool thread.
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


@pytest.fixture
def messages(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Message boxes recorded instead of shown: (kind, text)."""
    shown: list[tuple[str, str]] = []

    def record(kind: str) -> Any:
        def show(_parent: QWidget | None, _title: str, text: str, *_args: Any) -> QMessageBox.StandardButton:
            shown.append((kind, text))
            return QMessageBox.StandardButton.Ok

        return show

    monkeypatch.setattr(QMessageBox, "warning", record("warning"))
    monkeypatch.setattr(QMessageBox, "information", record("information"))
    return shown


def _feeds() -> list[OpmlFeed]:
    return parse_opml(SAMPLE.read_bytes()).feeds


def _choose_file(monkeypatch: pytest.MonkeyPatch, path: Path | str) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []

    def fake(*args: Any, **_kwargs: Any) -> tuple[str, str]:
        calls.append(args)
        return str(path), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", fake)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", fake)
    return calls


# the non-interactive core ------------------------------------------------------------


def test_import_into_a_new_task(opml_ctx: AppContext) -> None:
    task_id = apply_opml_import(opml_ctx.db, _feeds(), new_task_name="Monitoring feeds")

    task = get_task(opml_ctx.db, task_id)
    assert task.name == "Monitoring feeds"
    assert task.source == "news"
    assert task.frequency == "daily"
    assert list(task.targets) == SAMPLE_URLS
    assert task.active and task.next_run is not None


def test_import_into_an_existing_task_adds_only_the_missing_feeds(opml_ctx: AppContext) -> None:
    existing = create_task(
        opml_ctx.db,
        "World",
        "news",
        "hourly",
        ["https://other.example.org/feed", "HTTPS://News.Example.org/world/rss.xml"],
    )

    task_id = apply_opml_import(opml_ctx.db, _feeds(), existing_task_id=existing.id)

    assert task_id == existing.id
    task = get_task(opml_ctx.db, task_id)
    assert list(task.targets) == [
        "https://other.example.org/feed",
        "HTTPS://News.Example.org/world/rss.xml",
        "https://sec.example.net/feed.atom",
        "https://gazette.example.com/rss",
    ]
    assert task.frequency == "hourly"
    # A second import of the same file changes nothing.
    apply_opml_import(opml_ctx.db, _feeds(), existing_task_id=existing.id)
    assert get_task(opml_ctx.db, task_id).targets == task.targets


def test_import_refusals(opml_ctx: AppContext) -> None:
    social = create_task(opml_ctx.db, "Searches", "social", "daily", ["#osint"])
    create_task(opml_ctx.db, "Taken", "news", "daily", ["https://t.example.org/rss"])
    with pytest.raises(ValidationError, match="social"):
        apply_opml_import(opml_ctx.db, _feeds(), existing_task_id=social.id)
    with pytest.raises(ValidationError, match="exists already"):
        apply_opml_import(opml_ctx.db, _feeds(), new_task_name="Taken")
    with pytest.raises(ValidationError, match="no feeds"):
        apply_opml_import(opml_ctx.db, [], new_task_name="Empty")
    with pytest.raises(ValueError, match="either"):
        apply_opml_import(opml_ctx.db, _feeds())
    with pytest.raises(ValueError, match="either"):
        apply_opml_import(opml_ctx.db, _feeds(), new_task_name="Both", existing_task_id=social.id)
    assert [task.name for task in list_tasks(opml_ctx.db)] == ["Searches", "Taken"]


def test_unique_task_name() -> None:
    assert unique_task_name("Feeds", set()) == "Feeds"
    assert unique_task_name("  Feeds \n", {"Feeds", "Feeds (2)"}) == "Feeds (3)"
    assert unique_task_name("", set()) == "Imported feeds"


# the dialog --------------------------------------------------------------------------


def test_the_dialog_imports_into_a_new_task(qtbot: QtBot, opml_ctx: AppContext, parent: QWidget) -> None:
    result = parse_opml(SAMPLE.read_bytes())
    dialog = OpmlImportDialog(opml_ctx.db, result, [], default_name="Monitoring", parent=parent)
    qtbot.addWidget(dialog)

    assert dialog.new_radio.isChecked()
    assert not dialog.existing_radio.isEnabled()
    assert dialog.name_edit.text() == "Monitoring"
    assert "3 feeds" in dialog.summary_label.text()
    assert dialog.feeds_view.topLevelItemCount() == 3
    assert dialog.skipped_view.topLevelItemCount() == 1
    assert "xmlUrl" in dialog.skipped_view.topLevelItem(0).text(1)

    dialog.frequency_combo.setCurrentIndex(dialog.frequency_combo.findData("weekly"))
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)

    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.task_id is not None
    task = get_task(opml_ctx.db, dialog.task_id)
    assert (task.name, task.frequency, list(task.targets)) == ("Monitoring", "weekly", SAMPLE_URLS)


def test_the_dialog_merges_into_an_existing_task(qtbot: QtBot, opml_ctx: AppContext, parent: QWidget) -> None:
    other = create_task(opml_ctx.db, "Other news", "news", "daily", ["https://x.example.org/rss"])
    world = create_task(opml_ctx.db, "World", "news", "hourly", [SAMPLE_URLS[0]])
    result = parse_opml(SAMPLE.read_bytes())
    dialog = OpmlImportDialog(opml_ctx.db, result, [other, world], parent=parent)
    qtbot.addWidget(dialog)

    dialog.existing_radio.setChecked(True)
    dialog.task_combo.setCurrentIndex(dialog.task_combo.findData(world.id))

    assert not dialog.name_edit.isEnabled()
    assert "2 of the 3 feeds" in dialog.summary_label.text()
    assert dialog.added_feeds() == SAMPLE_URLS[1:]
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)

    assert dialog.task_id == world.id
    assert list(get_task(opml_ctx.db, world.id).targets) == SAMPLE_URLS
    assert list(get_task(opml_ctx.db, other.id).targets) == ["https://x.example.org/rss"]


def test_the_dialog_says_when_there_is_nothing_to_add(
    qtbot: QtBot, opml_ctx: AppContext, parent: QWidget
) -> None:
    full = create_task(opml_ctx.db, "Full", "news", "daily", SAMPLE_URLS)
    dialog = OpmlImportDialog(opml_ctx.db, parse_opml(SAMPLE.read_bytes()), [full], parent=parent)
    qtbot.addWidget(dialog)
    dialog.existing_radio.setChecked(True)
    assert "already" in dialog.summary_label.text()
    assert not dialog.import_button.isEnabled()


def test_a_refused_name_is_shown_and_the_dialog_stays_open(
    qtbot: QtBot, opml_ctx: AppContext, parent: QWidget
) -> None:
    taken = create_task(opml_ctx.db, "Taken", "news", "daily", ["https://t.example.org/rss"])
    dialog = OpmlImportDialog(opml_ctx.db, parse_opml(SAMPLE.read_bytes()), [taken], parent=parent)
    qtbot.addWidget(dialog)
    dialog.name_edit.setText("Taken")

    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)

    assert dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.task_id is None
    assert not dialog.error_label.isHidden()
    assert "exists already" in dialog.error_label.text()
    dialog.name_edit.clear()
    assert not dialog.import_button.isEnabled()


# the whole flow ----------------------------------------------------------------------


def test_import_opml_asks_for_a_file_then_imports(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, opml_ctx: AppContext, parent: QWidget
) -> None:
    _choose_file(monkeypatch, SAMPLE)
    create_task(opml_ctx.db, "OSINT Desktop subscriptions (test fixture)", "news", "daily", [SAMPLE_URLS[0]])
    seen: dict[str, Any] = {}

    def accept_as_is(dialog: OpmlImportDialog) -> int:
        seen["name"] = dialog.name_edit.text()
        seen["skipped"] = dialog.skipped_view.topLevelItemCount()
        dialog.accept()
        return int(dialog.result())

    monkeypatch.setattr(OpmlImportDialog, "exec", accept_as_is)

    changed = import_opml(parent, opml_ctx.db)

    # The file's title is the default name, numbered because a task has it already.
    assert seen == {"name": "OSINT Desktop subscriptions (test fixture) (2)", "skipped": 1}
    assert changed is not None and len(changed) == 1
    assert list(get_task(opml_ctx.db, changed[0]).targets) == SAMPLE_URLS


def test_import_opml_cancelled(
    monkeypatch: pytest.MonkeyPatch, opml_ctx: AppContext, parent: QWidget, messages: list[tuple[str, str]]
) -> None:
    _choose_file(monkeypatch, "")
    assert import_opml(parent, opml_ctx.db) is None
    _choose_file(monkeypatch, SAMPLE)
    monkeypatch.setattr(OpmlImportDialog, "exec", lambda _self: int(QDialog.DialogCode.Rejected))
    assert import_opml(parent, opml_ctx.db) is None
    assert list_tasks(opml_ctx.db) == []
    assert messages == []


def test_import_opml_explains_a_refused_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    opml_ctx: AppContext,
    parent: QWidget,
    messages: list[tuple[str, str]],
) -> None:
    hostile = tmp_path / "hostile.opml"
    hostile.write_text('<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x "y">]><opml><body/></opml>')
    _choose_file(monkeypatch, hostile)
    assert import_opml(parent, opml_ctx.db) is None
    assert messages[-1][0] == "warning"
    assert "hostile.opml" in messages[-1][1] and "DOCTYPE" in messages[-1][1]

    _choose_file(monkeypatch, tmp_path / "missing.opml")
    assert import_opml(parent, opml_ctx.db) is None
    assert "no such file" in messages[-1][1]

    no_feeds = tmp_path / "bookmarks.opml"
    no_feeds.write_text(
        '<opml version="2.0"><body><outline text="A page" htmlUrl="https://e.example.org/"/>'
        '<outline text="Script" xmlUrl="javascript:alert(1)"/></body></opml>'
    )
    _choose_file(monkeypatch, no_feeds)
    assert import_opml(parent, opml_ctx.db) is None
    kind, text = messages[-1]
    assert kind == "information"
    assert "no feed" in text and "A page" in text and "Script" in text
    assert list_tasks(opml_ctx.db) == []


def test_export_opml_writes_the_news_tasks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opml_ctx: AppContext, parent: QWidget
) -> None:
    create_task(opml_ctx.db, "World", "news", "hourly", SAMPLE_URLS[:2])
    create_task(opml_ctx.db, "Searches", "social", "daily", ["#osint"])
    create_task(opml_ctx.db, "Local & regional", "news", "daily", [SAMPLE_URLS[2]])
    calls = _choose_file(monkeypatch, tmp_path / "feeds")  # no suffix: .opml is added

    path = export_opml(parent, opml_ctx.db)

    assert path == tmp_path / "feeds.opml"
    assert Path(calls[0][2]).name == EXPORT_FILE_NAME
    result = parse_opml(path.read_bytes())
    assert result.urls == SAMPLE_URLS
    assert [feed.category for feed in result.feeds] == [("World",), ("World",), ("Local & regional",)]
    assert not list(tmp_path.glob(".*.part"))


def test_export_opml_without_news_tasks_or_a_writable_place(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    opml_ctx: AppContext,
    parent: QWidget,
    messages: list[tuple[str, str]],
) -> None:
    assert export_opml(parent, opml_ctx.db) is None
    assert messages[-1] == ("information", "There is no news task, so there are no feeds to export.")

    create_task(opml_ctx.db, "World", "news", "hourly", SAMPLE_URLS)
    _choose_file(monkeypatch, tmp_path / "no such folder" / "feeds.opml")
    assert export_opml(parent, opml_ctx.db) is None
    assert messages[-1][0] == "warning"
    assert "could not be written" in messages[-1][1]

    _choose_file(monkeypatch, "")
    assert export_opml(parent, opml_ctx.db) is None


def test_the_public_names_are_reexported() -> None:
    assert opml_dialogs.apply_opml_import is apply_opml_import


# a checkbox per feed, names and folders -------------------------------------------------


def test_each_feed_has_a_checkbox_and_only_the_ticked_ones_are_imported(
    qtbot: QtBot, opml_ctx: AppContext, parent: QWidget
) -> None:
    result = parse_opml(SAMPLE.read_bytes())
    dialog = OpmlImportDialog(opml_ctx.db, result, [], default_name="Picked", parent=parent)
    qtbot.addWidget(dialog)
    rows = [dialog.feeds_view.topLevelItem(n) for n in range(dialog.feeds_view.topLevelItemCount())]
    # Every feed is ticked to begin with.
    assert [row.checkState(0) for row in rows] == [Qt.CheckState.Checked] * 3
    assert all(row.flags() & Qt.ItemFlag.ItemIsUserCheckable for row in rows)

    rows[1].setCheckState(0, Qt.CheckState.Unchecked)
    assert dialog.summary_label.text() == "2 feeds will go into the new task."
    assert [feed.xml_url for feed in dialog.checked_feeds()] == [SAMPLE_URLS[0], SAMPLE_URLS[2]]

    qtbot.mouseClick(dialog.check_none_button, Qt.MouseButton.LeftButton)
    assert dialog.summary_label.text() == "No feed is ticked: tick the feeds to import."
    assert not dialog.import_button.isEnabled()
    qtbot.mouseClick(dialog.check_all_button, Qt.MouseButton.LeftButton)
    assert dialog.summary_label.text() == "3 feeds will go into the new task."
    rows[0].setCheckState(0, Qt.CheckState.Unchecked)
    assert dialog.summary_label.text() == "2 feeds will go into the new task."

    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)

    assert dialog.result() == QDialog.DialogCode.Accepted and dialog.task_id is not None
    task = get_task(opml_ctx.db, dialog.task_id)
    assert list(task.targets) == SAMPLE_URLS[1:]
    # Each keeps the name and the folder the file gives it.
    assert task.titles() == {SAMPLE_URLS[1]: "Threat Intel Weekly", SAMPLE_URLS[2]: "Regional Gazette"}
    assert task.target_folders == {url: ("Monitoring",) for url in SAMPLE_URLS[1:]}


def test_an_unticked_feed_is_not_added_to_an_existing_task(
    qtbot: QtBot, opml_ctx: AppContext, parent: QWidget
) -> None:
    world = create_task(opml_ctx.db, "World", "news", "hourly", [SAMPLE_URLS[0]])
    dialog = OpmlImportDialog(opml_ctx.db, parse_opml(SAMPLE.read_bytes()), [world], parent=parent)
    qtbot.addWidget(dialog)
    dialog.existing_radio.setChecked(True)
    assert dialog.task_combo.currentText() == "World  (1 feed)"
    dialog.feeds_view.topLevelItem(2).setCheckState(0, Qt.CheckState.Unchecked)
    assert dialog.summary_label.text() == "1 of the 2 ticked feeds will be added; 1 is in this task already."
    # The feed the task has is greyed, ticked or not.
    assert dialog.feeds_view.topLevelItem(0).toolTip(0) == "Already in this task"
    assert dialog.feeds_view.topLevelItem(2).toolTip(0) == ""

    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)

    assert list(get_task(opml_ctx.db, world.id).targets) == SAMPLE_URLS[:2]
