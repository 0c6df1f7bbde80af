"""The start-up way out of a broken database: restore the latest backup, keep the damaged file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox

from osint_desktop.app.context import AppContext
from osint_desktop.app.maintenance import backup_now
from osint_desktop.app.tasks import create_task, list_tasks
from osint_desktop.core.config import Settings
from osint_desktop.core.db.backup import list_backups
from osint_desktop.gui import application
from tests.conftest import MemoryKeyring

DAMAGED = b"SQLite format 3\x00" + b"\x41" * 8000


def record_boxes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace the modal information and error boxes (they would block the test) with a recorder."""
    shown: list[str] = []

    def box(kind: str) -> Any:
        def show(_parent: Any, _title: str, text: str, *_args: Any, **_kwargs: Any) -> Any:
            shown.append(f"{kind}: {text}")
            return QMessageBox.StandardButton.Ok

        return show

    monkeypatch.setattr(QMessageBox, "information", box("information"))
    monkeypatch.setattr(QMessageBox, "critical", box("critical"))
    return shown


@pytest.fixture
def broken_home(home: Path, memory_keyring: MemoryKeyring) -> tuple[Path, list[Path]]:
    """A data folder with four backups, two kept by the settings, and a damaged database."""
    ctx = AppContext.open(console_log=None)
    backups = []
    for n in range(4):
        create_task(ctx.db, f"Batch {n}", "news", "daily", [f"https://example.org/{n}.xml"])
        backups.append(backup_now(ctx.db, ctx.backup_dir, keep=7))
    ctx.settings.backup_keep = 2
    ctx.settings.save(ctx.home)
    database = ctx.home / "osint-desktop.sqlite3"
    ctx.close()
    database.write_bytes(DAMAGED)
    database.with_name(database.name + "-wal").unlink(missing_ok=True)
    return database, backups


def test_restore_latest_keeps_every_backup_and_the_damaged_file(
    qapp: object, broken_home: tuple[Path, list[Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    database, backups = broken_home
    latest = backups[-1]
    before = latest.read_bytes(), latest.stat().st_mtime_ns
    shown = record_boxes(monkeypatch)

    assert application._restore_latest(None)

    assert len(shown) == 1 and shown[0].startswith("information: Restored")
    assert f"kept as {database.name}.damaged" in shown[0]
    assert (database.parent / f"{database.name}.damaged").read_bytes() == DAMAGED
    assert set(list_backups(database.parent / "backups")) == set(backups)
    assert (latest.read_bytes(), latest.stat().st_mtime_ns) == before
    backup_folder = database.parent / "backups"
    assert [p.name for p in backup_folder.iterdir() if p.name.endswith(("-wal", "-shm"))] == []
    ctx = AppContext.open(console_log=None)
    try:
        assert [task.name for task in list_tasks(ctx.db)] == [f"Batch {n}" for n in range(4)]
    finally:
        ctx.close()


def test_start_up_way_out_restores_and_opens_the_app(
    qapp: object, broken_home: tuple[Path, list[Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def ask(message: str, kind: str, *_fresh: object) -> str:
        asked.append(kind)
        return "restore"

    monkeypatch.setattr(application, "_ask_database_way_out", ask)
    record_boxes(monkeypatch)
    ctx = application._open_context(argparse.Namespace(db=None))
    assert ctx is not None
    try:
        assert asked == ["damaged"]
        assert len(list_tasks(ctx.db)) == 4
    finally:
        ctx.close()


def test_restore_latest_reports_a_damaged_backup_and_changes_nothing(
    qapp: object, broken_home: tuple[Path, list[Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    database, backups = broken_home
    backups[-1].write_bytes(b"not a database at all" * 100)
    shown = record_boxes(monkeypatch)
    assert not application._restore_latest(None)
    assert len(shown) == 1 and shown[0].startswith("critical:") and "not a SQLite file" in shown[0]
    assert database.read_bytes() == DAMAGED  # not moved aside for nothing
    assert Settings.load(database.parent).backup_keep == 2


def test_restore_is_not_offered_while_another_program_holds_the_database(
    qapp: object, home: Path, monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    ctx = AppContext.open(console_log=None)
    backup_now(ctx.db, ctx.backup_dir, keep=7)
    ctx.close()
    offered: list[tuple[str, bool]] = []

    def exec_(box: QMessageBox) -> int:
        offered.extend((button.text(), button.isEnabled()) for button in box.buttons())
        return 0

    monkeypatch.setattr(QMessageBox, "exec", exec_)
    assert application._ask_database_way_out("the database is locked by another program", "locked") == "quit"
    assert ("Restore latest backup", False) in offered
    offered.clear()
    assert application._ask_database_way_out("the database is damaged", "damaged") == "quit"
    assert ("Restore latest backup", True) in offered
