"""Fixtures of the GUI tests: the whole desktop app on a fresh data folder, offscreen."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from osint_desktop.app.context import AppContext
from osint_desktop.gui.application import DesktopApp
from tests.conftest import MemoryKeyring
from tests.feedserver import FeedServer


@pytest.fixture(autouse=True)
def collect_on_the_gui_thread() -> Iterator[None]:
    """No automatic garbage collection during a GUI test, a full one on the GUI thread after.

    As in the app: the collector may otherwise run on a worker thread and free Qt objects there.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.collect()
        gc.enable()


@pytest.fixture
def gui_ctx(home: Path, memory_keyring: MemoryKeyring) -> Iterator[AppContext]:
    """An opened context with loopback-friendly limits (no politeness delay, short timeouts)."""
    ctx = AppContext.open(console_log=None)
    ctx.settings.per_host_delay_s = 0.0
    ctx.settings.connect_timeout_s = 2.0
    ctx.settings.read_timeout_s = 3.0
    ctx.settings.target_deadline_s = 5.0
    yield ctx
    ctx.close()


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    """A loopback feed server."""
    with FeedServer() as server:
        yield server


@pytest.fixture
def desktop(qtbot: QtBot, qapp: object, gui_ctx: AppContext) -> Iterator[DesktopApp]:
    """The app as a user starts it, minus the single-instance socket; shut down afterwards."""
    from PySide6.QtWidgets import QApplication

    assert isinstance(qapp, QApplication)
    app = DesktopApp(qapp, gui_ctx, start_minimized=False)
    qtbot.addWidget(app.window)
    yield app
    app.shutdown()
