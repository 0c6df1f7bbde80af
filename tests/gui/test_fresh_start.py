"""The database problem dialog: its title once, and "Start a new database" that moves the old file aside."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from osint_desktop import APP_NAME
from osint_desktop.app.context import AppContext
from osint_desktop.app.fresh_start import FreshStart, plan_fresh_start, start_fresh
from osint_desktop.app.tasks import create_task, list_tasks
from osint_desktop.core.db.engine import sqlite_path
from osint_desktop.gui import application
from tests.conftest import MemoryKeyring

DAMAGED = b"this is no database at all " * 100
STAMP = datetime(2026, 3, 1, 9, 30, 5, tzinfo=UTC)
UNREACHABLE = "postgresql://analyst@127.0.0.1:1/osint"


def press(button: str) -> list[QMessageBox]:
    """Press a button of the next message box; the box is kept to be looked at afterwards."""
    seen: list[QMessageBox] = []

    def handle() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(10, handle)
            return
        seen.append(box)
        next(b for b in box.buttons() if b.text() == button).click()

    QTimer.singleShot(0, handle)
    return seen


@pytest.fixture
def damaged(home: Path, memory_keyring: MemoryKeyring) -> Path:
    """A data folder whose database was used (one task) and is now not a database."""
    ctx = AppContext.open(console_log=None)
    create_task(ctx.db, "Kept in the old file", "news", "daily", ["https://example.org/rss"])
    database = sqlite_path(ctx.db.url)
    ctx.close()
    assert database is not None
    database.write_bytes(DAMAGED)
    return database


def test_the_dialog_has_its_title_once_and_offers_a_new_database(qapp: object, damaged: Path) -> None:
    fresh = plan_fresh_start("sqlite:///" + str(damaged), damaged.parent, now=STAMP)
    seen = press("Start a new database")
    message = f"the database {damaged} is damaged: restore the latest backup from the backups folder"
    choice = application._ask_database_way_out(message, "damaged", fresh)
    assert choice == "new"
    [box] = seen
    # The platform adds the app's name to the title; neither title nor text says it again.
    assert box.windowTitle() == "Database problem"
    assert box.text() == "T" + message[1:]  # a sentence, the path as it is
    assert APP_NAME not in box.text() + box.informativeText()
    assert "database problem" not in (box.text() + box.informativeText()).lower()
    assert box.informativeText() == (
        f"Start a new database: osint-desktop.sqlite3 is renamed to "
        f"osint-desktop.sqlite3.set-aside-20260301T093005Z in {damaged.parent} (nothing is deleted: it "
        f"can still be opened, or restored), and a new, empty database is created as {damaged}."
    )


def test_start_a_new_database_moves_the_broken_file_aside_and_opens_an_empty_one(
    qapp: object, damaged: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[str, str]] = []

    def ask(message: str, kind: str, fresh: FreshStart | None = None) -> str:
        asked.append((kind, fresh.description if fresh else ""))
        return "new"

    monkeypatch.setattr(application, "_ask_database_way_out", ask)
    ctx = application._open_context(argparse.Namespace(db=None))
    assert ctx is not None
    try:
        assert [kind for kind, _ in asked] == ["damaged"]
        assert list_tasks(ctx.db) == []
        assert sqlite_path(ctx.db.url) == damaged
    finally:
        ctx.close()
    [aside] = [p for p in damaged.parent.iterdir() if ".set-aside-" in p.name]
    assert aside.read_bytes() == DAMAGED  # kept, byte for byte
    assert aside.name in asked[0][1]


def test_start_a_new_database_keeps_the_wal_with_the_old_file(tmp_path: Path) -> None:
    database = tmp_path / "data.sqlite3"
    database.write_bytes(b"old")
    database.with_name("data.sqlite3-wal").write_bytes(b"journal")
    plan = plan_fresh_start("sqlite:///" + str(database), tmp_path, now=STAMP)
    start_fresh(plan)
    assert not database.exists() and not database.with_name("data.sqlite3-wal").exists()
    assert plan.set_aside_to is not None
    assert plan.set_aside_to.read_bytes() == b"old"
    assert plan.set_aside_to.with_name(plan.set_aside_to.name + "-wal").read_bytes() == b"journal"


def test_an_unreachable_server_can_give_way_to_a_local_file(
    qapp: object, home: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    described: list[str] = []

    def ask(message: str, kind: str, fresh: FreshStart | None = None) -> str:
        assert "cannot be reached" in message
        described.append(fresh.description if fresh else "")
        return "new"

    monkeypatch.setattr(application, "_ask_database_way_out", ask)
    ctx = application._open_context(argparse.Namespace(db=UNREACHABLE))
    assert ctx is not None
    try:
        assert sqlite_path(ctx.db.url) == home / "osint-desktop.sqlite3"
    finally:
        ctx.close()
    assert described == [
        f"Start a new database: this session uses a new, empty database file on this computer, "
        f"{home / 'osint-desktop.sqlite3'}, instead of the server postgresql://analyst@127.0.0.1:1/osint. "
        "Nothing on the server is changed; the next start with the same --db or OSINT_DESKTOP_DB uses "
        "the server again."
    ]


def test_a_local_file_for_a_server_never_reuses_the_data_folders_own(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "osint-desktop.sqlite3").write_bytes(b"someone's data")
    plan = plan_fresh_start(UNREACHABLE, home, now=STAMP)
    assert plan.instead_of_server and plan.set_aside_from is None
    assert plan.db_option == str(home / "osint-desktop-20260301T093005Z.sqlite3")


def test_a_new_database_is_not_offered_over_a_file_another_program_holds(
    qapp: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    offered: list[tuple[str, bool]] = []

    def exec_(box: QMessageBox) -> int:
        offered.extend((button.text(), button.isEnabled()) for button in box.buttons())
        return 0

    monkeypatch.setattr(QMessageBox, "exec", exec_)
    fresh = plan_fresh_start("sqlite:///" + str(tmp_path / "busy.sqlite3"), tmp_path)
    choice = application._ask_database_way_out("the database is locked by another program", "locked", fresh)
    assert choice == "quit"
    assert ("Start a new database", False) in offered


def test_a_file_that_cannot_be_moved_is_said_and_nothing_changes(
    qapp: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "data.sqlite3"
    database.write_bytes(b"old")
    plan = plan_fresh_start("sqlite:///" + str(database), tmp_path, now=STAMP)
    assert plan.set_aside_to is not None
    plan.set_aside_to.write_bytes(b"in the way")
    shown: list[str] = []

    def critical(_parent: Any, title: str, text: str, *_args: Any) -> QMessageBox.StandardButton:
        shown.append(f"{title}: {text}")
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "critical", critical)
    assert not application._start_fresh(plan)
    assert shown == [
        f"Start a new database: No new database was started: {plan.set_aside_to} exists already: "
        "nothing was moved."
    ]
    assert database.read_bytes() == b"old"
