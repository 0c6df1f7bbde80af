"""The window's side of times of day and network settings: editor, Settings' Network page, local times."""

from __future__ import annotations

import json
import time as time_module
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from PySide6.QtCore import Qt, QThreadPool, QTime
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot
from sqlalchemy import update

from osint_desktop.app.context import AppContext
from osint_desktop.app.tasks import create_task, get_task
from osint_desktop.core.config import SETTINGS_FILE
from osint_desktop.core.db.models import CrawlTask
from osint_desktop.core.secrets import load_credential
from osint_desktop.gui.formatting import compact_time
from osint_desktop.gui.models.tasks import COL_FREQUENCY, COL_NEXT, TaskTableModel
from osint_desktop.gui.settings_dialog import SettingsDialog
from osint_desktop.gui.task_dialog import TaskDialog
from osint_desktop.gui.task_network_fields import DIRECT, GLOBAL, OWN
from tests.feedserver import FeedServer
from tests.helpers import WORLD
from tests.proxyserver import HttpProxy, refused_port

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")

WAIT_MS = 20_000
AGENT = "Analyst/3.0"


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """This process's local time is New York's (TZ and the C library's idea of it)."""
    monkeypatch.setenv("TZ", "America/New_York")
    time_module.tzset()
    yield "America/New_York"
    monkeypatch.undo()
    time_module.tzset()


@pytest.fixture
def proxy() -> Iterator[HttpProxy]:
    with HttpProxy() as running:
        yield running


@pytest.fixture(autouse=True)
def no_job_outlives_the_test() -> Iterator[None]:
    yield
    assert QThreadPool.globalInstance().waitForDone(WAIT_MS)


def open_settings(qtbot: QtBot, ctx: AppContext) -> SettingsDialog:
    dialog = SettingsDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=WAIT_MS)
    return dialog


# Tasks table ----------------------------------------------------------------------------


def test_the_tasks_table_shows_local_times_and_the_schedule(gui_ctx: AppContext, new_york: str) -> None:
    from datetime import time

    task = create_task(gui_ctx.db, "Morning", "news", "daily", ["https://a.example/f"], at=time(8, 0))
    other = create_task(
        gui_ctx.db, "Berlin", "news", "weekly", ["https://b.example/f"], at=time(9, 30), weekday=4,
        timezone="Europe/Berlin",
    )
    with gui_ctx.db.write() as session:
        session.execute(
            update(CrawlTask)
            .where(CrawlTask.id == task.id)
            .values(next_run=datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
        )
    model = TaskTableModel(gui_ctx.db)
    model.reload()
    assert model.index(0, COL_FREQUENCY).data() == "Daily at 08:00"
    assert model.index(1, COL_FREQUENCY).data() == "Weekly, Fri 09:30 (Europe/Berlin)"
    # 12:00 UTC on 1 July is 08:00 in New York (EDT); the tooltip also says it in UTC.
    # The cell is short ("Jul 1 08:00" in 2026, "2026-07-01" after), in local time; the tooltip
    # has it in full, and in UTC.
    shown = compact_time(datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
    assert shown in ("Jul 1 08:00", "2026-07-01")
    assert model.index(0, COL_NEXT).data().startswith(shown)
    tooltip = model.index(0, COL_NEXT).data(Qt.ItemDataRole.ToolTipRole)
    assert tooltip.startswith("2026-07-01 08:00:00 EDT (12:00:00 UTC)")
    assert get_task(gui_ctx.db, other.id).timezone == "Europe/Berlin"


# Task editor ----------------------------------------------------------------------------


def test_the_editor_round_trips_a_time_of_day_and_network_override(
    qtbot: QtBot, gui_ctx: AppContext, new_york: str, proxy: HttpProxy
) -> None:
    dialog = TaskDialog(gui_ctx)
    qtbot.addWidget(dialog)
    dialog.name_edit.setText("Weekly brief")
    dialog.targets_edit.setPlainText("https://a.example/feed.xml")
    fields = dialog.schedule_fields
    dialog.frequency_combo.setCurrentIndex(dialog.frequency_combo.findData("hourly"))
    assert not fields.at_check.isEnabled()  # hourly tasks run every hour
    dialog.frequency_combo.setCurrentIndex(dialog.frequency_combo.findData("weekly"))
    assert fields.at_check.isEnabled() and not fields.day_combo.isHidden()
    fields.at_check.setChecked(True)
    fields.time_edit.setTime(QTime(18, 45))
    fields.day_combo.setCurrentIndex(4)
    network = dialog.network_fields
    network.mode_combo.setCurrentIndex(network.mode_combo.findData(OWN))
    network.proxy_edit.setText("gopher://nowhere:70")
    assert "is not a proxy URL" in network.error.text() and not network.error.isHidden()
    network.proxy_edit.setText(proxy.url)
    network.agent_edit.setText(AGENT)
    assert network.error.isHidden()
    dialog.save()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.saved_task_id is not None
    task = get_task(gui_ctx.db, dialog.saved_task_id)
    assert (task.at, task.weekday, task.timezone) == ("18:45", 4, new_york)
    assert (task.proxy_url, task.user_agent) == (proxy.url, AGENT)
    assert task.next_run is not None
    local = task.next_run.astimezone()
    assert (local.weekday(), local.hour, local.minute) == (4, 18, 45)

    again = TaskDialog(gui_ctx, task)
    qtbot.addWidget(again)
    assert again.schedule_fields.at_check.isChecked()
    assert again.schedule_fields.time_edit.time() == QTime(18, 45)
    assert again.schedule_fields.day_combo.currentIndex() == 4
    assert again.network_fields.mode_combo.currentData() == OWN
    assert again.network_fields.proxy_edit.text() == proxy.url
    # Daily now, no proxy, the global User-Agent: the weekday and the override go.
    again.frequency_combo.setCurrentIndex(again.frequency_combo.findData("daily"))
    assert again.schedule_fields.day_combo.isHidden()
    again.network_fields.mode_combo.setCurrentIndex(again.network_fields.mode_combo.findData(DIRECT))
    again.network_fields.agent_edit.clear()
    again.save()
    changed = get_task(gui_ctx.db, task.id)
    assert (changed.frequency, changed.at, changed.weekday) == ("daily", "18:45", None)
    assert (changed.proxy_url, changed.user_agent) == ("none", None)
    last = TaskDialog(gui_ctx, changed)
    qtbot.addWidget(last)
    last.schedule_fields.at_check.setChecked(False)
    last.network_fields.mode_combo.setCurrentIndex(last.network_fields.mode_combo.findData(GLOBAL))
    last.save()
    assert (get_task(gui_ctx.db, task.id).at, get_task(gui_ctx.db, task.id).proxy_url) == (None, None)


def test_test_targets_uses_the_editor_proxy_before_saving(
    qtbot: QtBot, gui_ctx: AppContext, feeds: FeedServer, proxy: HttpProxy
) -> None:
    feeds.add_file("/world.xml", WORLD)
    gui_ctx.settings.proxy_url = f"http://127.0.0.1:{refused_port()}"  # the global one is dead
    dialog = TaskDialog(gui_ctx)
    qtbot.addWidget(dialog)
    dialog.targets_edit.setPlainText(feeds.url("/world.xml"))
    network = dialog.network_fields

    def results() -> list[str]:
        dialog.test_targets()
        qtbot.waitUntil(dialog.probe_finished, timeout=WAIT_MS)
        return [dialog.test_results.item(i).text() for i in range(dialog.test_results.count())]

    [through_global] = results()
    assert through_global.startswith("✘") and "proxy failed" in through_global
    network.mode_combo.setCurrentIndex(network.mode_combo.findData(OWN))
    network.proxy_edit.setText(proxy.url)
    network.agent_edit.setText(AGENT)
    [through_own] = results()
    assert through_own.startswith("✔"), through_own
    assert [r.headers["user-agent"] for r in proxy.requests] == [AGENT]
    network.mode_combo.setCurrentIndex(network.mode_combo.findData(DIRECT))
    [direct] = results()
    assert direct.startswith("✔") and len(proxy.requests) == 1


# Settings' Network page -----------------------------------------------------------------


def test_the_network_page_checks_as_typed_and_keeps_the_password_out_of_the_file(
    qtbot: QtBot, gui_ctx: AppContext
) -> None:
    dialog = open_settings(qtbot, gui_ctx)
    page = dialog.network_section
    page.proxy_edit.setText("socks4://127.0.0.1:9050")
    assert not page.proxy_error.isHidden() and "socks5h://" in page.proxy_error.text()
    page.proxy_edit.setText("socks5h://tor:pa55-w0rd@127.0.0.1:9050")
    page.agent_edit.setText(AGENT)
    assert page.proxy_error.isHidden()
    dialog.accept()
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=WAIT_MS)
    assert gui_ctx.settings.proxy_url == "socks5h://tor@127.0.0.1:9050"
    assert gui_ctx.settings.user_agent == AGENT
    saved = (gui_ctx.home / SETTINGS_FILE).read_text(encoding="utf-8")
    assert "pa55-w0rd" not in saved
    assert json.loads(saved)["proxy_url"] == "socks5h://tor@127.0.0.1:9050"
    assert load_credential("proxy-password:tor@127.0.0.1:9050", gui_ctx.home) == "pa55-w0rd"
    # Runs get the whole URL back, from the credentials.
    assert gui_ctx.run_options().limits.network.proxy_url == "socks5h://tor:pa55-w0rd@127.0.0.1:9050"
    reopened = open_settings(qtbot, gui_ctx)
    assert reopened.network_section.proxy_edit.text() == "socks5h://tor@127.0.0.1:9050"
    hint = reopened.network_section.hint.text()
    assert "password of tor@127.0.0.1:9050 is used from your credentials" in hint


def test_the_network_page_test_fetches_through_the_typed_proxy(
    qtbot: QtBot, gui_ctx: AppContext, feeds: FeedServer, proxy: HttpProxy
) -> None:
    feeds.add_file("/world.xml", WORLD)
    dialog = open_settings(qtbot, gui_ctx)
    page = dialog.network_section
    page.proxy_edit.setText(proxy.url)
    page.agent_edit.setText(AGENT)
    page.test_url_edit.setText(feeds.url("/world.xml"))
    page.test_button.click()
    qtbot.waitUntil(lambda: page.test_button.isEnabled(), timeout=WAIT_MS)
    assert page.test_result.text().startswith("✔ HTTP 200"), page.test_result.text()
    assert f"through {proxy.url}" in page.test_result.text()
    assert [r.headers["user-agent"] for r in feeds.requests] == [AGENT]
    page.proxy_edit.setText(f"http://127.0.0.1:{refused_port()}")
    page.test_button.click()
    qtbot.waitUntil(lambda: page.test_button.isEnabled(), timeout=WAIT_MS)
    assert page.test_result.text().startswith("✘") and "proxy failed" in page.test_result.text()
