"""Evidence in the window: Settings → Evidence, "Show raw capture", and a capture that retention deleted."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialogButtonBox, QSpinBox
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from osint_desktop.app.context import AppContext, close_evidence_writer, shared_evidence_writer
from osint_desktop.app.evidence import apply_evidence_retention
from osint_desktop.app.runs import run_task
from osint_desktop.app.tasks import create_task
from osint_desktop.core.config import SETTINGS_FILE
from osint_desktop.core.db.models import CustodyEntry, Item
from osint_desktop.core.evidence.capture import CaptureRef
from osint_desktop.gui.items_page import ItemsPage
from osint_desktop.gui.raw_capture_dialog import RawCaptureDialog
from osint_desktop.gui.settings_dialog import SettingsDialog
from tests.feedserver import FeedServer
from tests.helpers import WORLD, fast_options

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")
WAIT_MS = 10_000


def _collect_with_capture(ctx: AppContext, feeds: FeedServer) -> CaptureRef:
    feeds.add_file("/world.xml", WORLD)
    task = create_task(ctx.db, "World", "news", "hourly", [feeds.url("/world.xml")])
    options = replace(fast_options(), evidence=shared_evidence_writer(ctx.evidence_dir))
    assert run_task(ctx.db, task.id, "manual", options).ok
    close_evidence_writer(ctx.evidence_dir)
    with ctx.db.read() as session:
        stored = session.scalars(select(Item.capture).order_by(Item.id)).first()
    assert stored is not None
    return CaptureRef.from_dict(stored)


def _open_raw_capture(qtbot: QtBot, ctx: AppContext) -> tuple[ItemsPage, RawCaptureDialog]:
    page = ItemsPage(ctx.db, evidence_dir=ctx.evidence_dir)
    qtbot.addWidget(page)
    page.reload()
    page.table.selectRow(0)
    qtbot.waitUntil(lambda: page.raw_capture_button.isEnabled(), timeout=WAIT_MS)
    dialog = page.show_raw_capture()
    assert isinstance(dialog, RawCaptureDialog)
    return page, dialog


def test_settings_evidence_page_saves_capture_retention_and_operator(
    qtbot: QtBot, gui_ctx: AppContext, feeds: FeedServer
) -> None:
    _collect_with_capture(gui_ctx, feeds)
    dialog = SettingsDialog(gui_ctx)
    qtbot.addWidget(dialog)
    section = dialog.evidence_section
    # The disk usage is counted on a pool thread and then shown.
    qtbot.waitUntil(lambda: "WARC file" in section.usage_label.text(), timeout=WAIT_MS)
    assert section.usage_label.text().startswith("1 WARC file, ")
    assert str(gui_ctx.evidence_dir) == section.folder_label.text()
    dialog.form.check("capture_evidence").setChecked(True)
    retention = dialog.form.widget("evidence_retention_days")
    assert isinstance(retention, QSpinBox)
    retention.setValue(30)
    section.operator_edit.setText("  A. Analyst  ")
    dialog.button_box.button(QDialogButtonBox.StandardButton.Ok).click()
    saved = json.loads((gui_ctx.home / SETTINGS_FILE).read_text())
    assert (saved["capture_evidence"], saved["evidence_retention_days"], saved["operator_name"]) == (
        True,
        30,
        "A. Analyst",
    )
    assert gui_ctx.operator == "A. Analyst"


def test_show_raw_capture_shows_the_stored_exchange_and_its_hash(
    qtbot: QtBot, gui_ctx: AppContext, feeds: FeedServer
) -> None:
    ref = _collect_with_capture(gui_ctx, feeds)
    _page, dialog = _open_raw_capture(qtbot, gui_ctx)
    qtbot.waitUntil(lambda: dialog.save_button.isEnabled(), timeout=WAIT_MS)
    expected = f"The payload hashes to the item's stored SHA-256 {ref.payload_sha256}"
    assert dialog.status_label.text().startswith(expected)
    text = dialog.text.toPlainText()
    assert f"WARC-Record-ID: {ref.record_id}" in text
    # The loopback server answers in HTTP/1.0; the app asked in HTTP/1.1, as urllib3 always does.
    assert "\nHTTP/1.0 200 OK\n" in text and "\nGET /world.xml HTTP/1.1\n" in text
    assert "<rss" in text
    target = Path(gui_ctx.home) / "payload.xml"
    dialog.save_to(target)
    qtbot.waitUntil(lambda: target.exists() and "Saved" in dialog.status_label.text(), timeout=WAIT_MS)
    assert target.read_bytes() == WORLD.read_bytes()
    dialog.close()


def test_a_capture_deleted_by_retention_names_its_custody_entry(
    qtbot: QtBot, gui_ctx: AppContext, feeds: FeedServer
) -> None:
    ref = _collect_with_capture(gui_ctx, feeds)
    # Make the file look 40 days old: retention of 30 days removes it and logs what it was.
    evidence = gui_ctx.evidence_dir
    aged = evidence / ref.warc_file.replace(ref.warc_file[14:22], "20200101")
    (evidence / ref.warc_file).rename(aged)
    with gui_ctx.db.write() as session:
        for item in session.scalars(select(Item)):
            data = dict(item.capture or {})
            data["warc_file"] = aged.name
            item.capture = data
    removed = apply_evidence_retention(gui_ctx.db, evidence, 30, operator="Retention Tester")
    assert [f.name for f in removed] == [aged.name]
    with gui_ctx.db.read() as session:
        entry = session.scalars(select(CustodyEntry).where(CustodyEntry.action == "delete")).one()
        assert entry.operator == "Retention Tester"
        assert entry.detail["files"][0]["sha256"] == removed[0].sha256
    _page, dialog = _open_raw_capture(qtbot, gui_ctx)
    qtbot.waitUntil(lambda: "was deleted" in dialog.status_label.text(), timeout=WAIT_MS)
    assert "by Retention Tester (retention: captures older than 30 days)" in dialog.status_label.text()
    assert not dialog.save_button.isEnabled()
    dialog.close()
