"""The Source health settings on the Settings form: their own tab, each value in and back out."""

from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QSpinBox
from pytestqt.qtbot import QtBot

from osint_desktop.core.config import Settings
from osint_desktop.gui.settings_form import FIELDS, PAGES, SettingsForm

HEALTH_KEYS = {
    "health_failing_after", "health_quiet_factor", "health_quiet_floor_hours",
    "notify_health", "outbound_health",
}


def test_the_health_settings_have_a_tab_of_their_own() -> None:
    assert "Source health" in [page.title for page in PAGES]
    assert {field.key for field in FIELDS if field.page == "Source health"} == HEALTH_KEYS


def test_health_values_go_in_and_come_back_out(qtbot: QtBot) -> None:
    form = SettingsForm()
    pages = [form.build_page(page) for page in PAGES]  # kept: the widgets live as long as their pages
    for page in pages:
        qtbot.addWidget(page)
    assert isinstance(form.widget("health_failing_after"), QSpinBox)
    assert isinstance(form.widget("health_quiet_factor"), QDoubleSpinBox)
    assert isinstance(form.widget("notify_health"), QCheckBox)
    changed = dataclasses.replace(
        Settings(),
        health_failing_after=5,
        health_quiet_factor=4.5,
        health_quiet_floor_hours=72.0,
        notify_health=False,
        outbound_health=True,
    )
    form.load(changed)
    assert form.read(Settings()) == changed


def test_a_failing_threshold_below_one_cannot_be_entered(qtbot: QtBot) -> None:
    form = SettingsForm()
    pages = [form.build_page(page) for page in PAGES]
    for page in pages:
        qtbot.addWidget(page)
    form.load(dataclasses.replace(Settings(), health_failing_after=0, health_quiet_factor=0.2))
    settings = form.read(Settings())
    assert (settings.health_failing_after, settings.health_quiet_factor) == (1, 1.0)
