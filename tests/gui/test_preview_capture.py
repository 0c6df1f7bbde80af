"""The Items preview says when, from where and with which SHA-256 an item's source answer was captured."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from osint_desktop.app.context import AppContext, shared_evidence_writer
from osint_desktop.app.runs import run_task
from osint_desktop.app.tasks import create_task
from osint_desktop.core.db.models import Item
from osint_desktop.core.evidence.capture import CaptureRef
from osint_desktop.gui.items_page import ItemsPage
from osint_desktop.gui.preview import capture_line
from tests.feedserver import FeedServer
from tests.helpers import WORLD, fast_options


@pytest.fixture
def server() -> Iterator[FeedServer]:
    """A loopback feed server on 127.0.0.1."""
    with FeedServer() as srv:
        yield srv


def test_the_preview_shows_the_capture_of_the_selected_item(
    qtbot: QtBot, gui_ctx: AppContext, server: FeedServer
) -> None:
    server.add_file("/world.xml", WORLD)
    task = create_task(gui_ctx.db, "World", "news", "hourly", [server.url("/world.xml")])
    options = replace(fast_options(), evidence=shared_evidence_writer(gui_ctx.evidence_dir))
    assert run_task(gui_ctx.db, task.id, "manual", options).ok
    page = ItemsPage(gui_ctx.db)
    qtbot.addWidget(page)
    page.reload()
    page.table.selectRow(0)
    qtbot.waitUntil(lambda: page.previewed_id is not None)
    with gui_ctx.db.read() as session:
        stored = session.scalar(select(Item.capture).where(Item.id == page.previewed_id))
    assert stored is not None
    ref = CaptureRef.from_dict(stored)
    shown = page.preview.toPlainText()
    stamp = ref.retrieved_at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    assert f"Captured {stamp} UTC from {server.url('/world.xml')}, SHA-256 {ref.payload_sha256}" in shown


def test_an_item_without_a_capture_shows_no_capture_line() -> None:
    assert capture_line(None) == ""
    assert "unreadable" in capture_line({"retrieved_at": "yesterday"})
