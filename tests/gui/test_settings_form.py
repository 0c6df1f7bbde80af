"""The Settings form's one list of fields: every entry is a real setting, edited by the right widget."""

from __future__ import annotations

import dataclasses

from pytestqt.qtbot import QtBot

from osint_desktop.core.config import Settings
from osint_desktop.gui.settings_form import FIELDS, PAGES, Kind, SettingsForm

TYPES = {Kind.CHECK: bool, Kind.WHOLE: int, Kind.DECIMAL: float}


def test_every_field_is_a_setting_of_the_type_its_widget_edits() -> None:
    defaults = Settings()
    names = {field.name for field in dataclasses.fields(Settings)}
    titles = {page.title for page in PAGES}
    for field in FIELDS:
        assert field.key in names, field.key
        assert type(getattr(defaults, field.key)) is TYPES[field.kind], field.key
        assert field.page in titles, field.page
        if field.kind is not Kind.CHECK:
            assert field.minimum <= getattr(defaults, field.key) <= field.maximum, field.key
    assert len({field.key for field in FIELDS}) == len(FIELDS)


def test_values_go_in_and_come_back_out(qtbot: QtBot) -> None:
    form = SettingsForm()
    pages = [form.build_page(page) for page in PAGES]  # kept: the widgets live as long as their pages
    for page in pages:
        qtbot.addWidget(page)
    changed = dataclasses.replace(
        Settings(),
        max_concurrent_crawls=5,
        per_host_delay_s=1.35,
        read_timeout_s=45.0,
        notify_failures=False,
        start_minimized=True,
        log_retention_days=0,
        backup_interval_hours=6,
    )
    form.load(changed)
    assert form.read(Settings()) == changed
    assert form.widget("log_retention_days").text() == "Keep forever"  # type: ignore[attr-defined]


def test_read_rounds_decimals_to_what_the_widget_shows(qtbot: QtBot) -> None:
    form = SettingsForm()
    pages = [form.build_page(page) for page in PAGES]  # kept: the widgets live as long as their pages
    for page in pages:
        qtbot.addWidget(page)
    form.load(dataclasses.replace(Settings(), per_host_delay_s=0.123456))
    assert form.read(Settings()).per_host_delay_s == 0.12
