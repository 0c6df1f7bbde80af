"""The Settings form: each setting declared once, and its widgets built, filled and read from that list."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum
from typing import Any

from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QFormLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from osint_desktop.core.config import Settings


class Kind(Enum):
    """The widget a setting is edited with."""

    CHECK = "check"  # bool
    WHOLE = "whole"  # int
    DECIMAL = "decimal"  # float


@dataclass(frozen=True)
class Field:
    """One setting on the form."""

    key: str  # its attribute of core Settings
    page: str  # the tab it is on
    label: str  # the row's label, or a check box's text
    kind: Kind
    minimum: float = 0
    maximum: float = 0
    step: float = 1
    decimals: int = 0  # DECIMAL: shown, and the value is rounded to them when read
    suffix: str = ""
    special: str = ""  # shown instead of the minimum, which then means "never" or "forever"
    tooltip: str = ""


@dataclass(frozen=True)
class Page:
    """A tab of the form, with a note under its fields."""

    title: str
    note: str = ""


PAGES = (
    Page("Crawling", "Changes apply to runs that start after you press OK."),
    Page("Notifications"),
    Page(
        "Source health",
        "A source is judged after each run that asks it; a change (failing, quiet, recovered) "
        "is reported once. A source that has given too few items to know its usual interval "
        "is never called quiet.",
    ),
    Page("Window"),
    Page(
        "Evidence",
        "Each answer items come from (feed documents, API responses, linked pages) is kept "
        "byte for byte in WARC files, with its time, address and SHA-256, so that it can be "
        "exported and verified. Changes apply to runs that start after you press OK.",
    ),
    Page("Maintenance"),
)

FIELDS = (
    Field(
        key="max_concurrent_crawls", page="Crawling", label="Maximum concurrent crawls:",
        kind=Kind.WHOLE, minimum=1, maximum=16,
        tooltip="How many tasks may crawl at the same time.",
    ),
    Field(
        key="per_host_delay_s", page="Crawling", label="Delay between requests to one site:",
        kind=Kind.DECIMAL, minimum=0.0, maximum=60.0, step=0.05, decimals=2, suffix=" s",
        tooltip="Pause between two requests to the same web site, to be polite.",
    ),
    Field(
        key="read_timeout_s", page="Crawling", label="Request timeout:",
        kind=Kind.DECIMAL, minimum=1.0, maximum=300.0, step=1.0, decimals=1, suffix=" s",
        tooltip="Give up on a server that sends nothing for this long.",
    ),
    # X bills each post read: the minimum is X's smallest request (10 posts).
    Field(
        key="x_max_posts_per_run", page="Crawling", label="X: posts read per run, at most:",
        kind=Kind.WHOLE, minimum=10, maximum=100000, step=10, suffix=" posts",
        tooltip="X bills every post read (about $0.005 each). A run of all X tasks stops asking "
        "when this many were read.",
    ),
    Field(
        key="x_max_posts_per_day", page="Crawling", label="X: posts read per day, at most:",
        kind=Kind.WHOLE, minimum=10, maximum=1000000, step=10, suffix=" posts",
        tooltip="All X runs of a day (UTC) together read no more than this.",
    ),
    Field(
        key="notify_failures", page="Notifications", label="Notify me when a run fails",
        kind=Kind.CHECK,
    ),
    Field(
        key="notify_new_items", page="Notifications",
        label="Notify me when a run finds new items (one notification per run)", kind=Kind.CHECK,
    ),
    Field(
        key="health_failing_after", page="Source health", label="A source is failing after:",
        kind=Kind.WHOLE, minimum=1, maximum=100, suffix=" failed fetches in a row",
        tooltip="Consecutive failed fetches of one feed or query before it is reported failing.",
    ),
    Field(
        key="health_quiet_factor", page="Source health", label="A source is quiet after:",
        kind=Kind.DECIMAL, minimum=1.0, maximum=50.0, step=0.5, decimals=1,
        suffix=" times its usual interval with nothing new",
        tooltip="The usual interval is the typical time between the source's items, learned from them.",
    ),
    Field(
        key="health_quiet_floor_hours", page="Source health", label="…but never sooner than:",
        kind=Kind.DECIMAL, minimum=1.0, maximum=24.0 * 60, step=1.0, decimals=0, suffix=" hours",
        tooltip="A source that publishes every few minutes is not quiet after one quiet hour.",
    ),
    Field(
        key="notify_health", page="Source health",
        label="Notify me when a source starts failing, goes quiet or recovers", kind=Kind.CHECK,
    ),
    Field(
        key="outbound_health", page="Source health",
        label="Also send these through the outbound channel (Apprise)", kind=Kind.CHECK,
    ),
    Field(
        key="close_to_tray", page="Window",
        label="Closing the window keeps collecting in the system tray", kind=Kind.CHECK,
    ),
    Field(key="start_minimized", page="Window", label="Start minimized to the tray", kind=Kind.CHECK),
    Field(key="start_at_login", page="Window", label="Start at login (minimized)", kind=Kind.CHECK),
    Field(
        key="catch_up_missed_runs", page="Window",
        label="At start, run once the tasks whose run was missed", kind=Kind.CHECK,
    ),
    Field(
        key="mark_read_on_select", page="Window",
        label="Mark an item read when it has been shown for a second", kind=Kind.CHECK,
        tooltip="Selecting an item in Items shows it; after a second it is no longer bold. "
        "Otherwise items are marked read only with Mark read or Mark all read.",
    ),
    Field(
        key="view_only", page="Window",
        label="View only: this window runs no scheduled task (from the next start)", kind=Kind.CHECK,
        tooltip="For a shared database where headless collectors run the tasks: the window shows "
        "their runs and items, and runs a task only when you ask.",
    ),
    Field(
        key="capture_evidence", page="Evidence",
        label="Keep every fetch that produced items as evidence (WARC)", kind=Kind.CHECK,
    ),
    Field(
        key="evidence_retention_days", page="Evidence", label="Keep evidence for:",
        kind=Kind.WHOLE, minimum=0, maximum=36500, suffix=" days", special="Keep forever",
        tooltip="WARC files whose captures are all older than this are deleted, and each deletion "
        "is written to the custody log. Items are never deleted with them.",
    ),
    Field(
        key="log_retention_days", page="Maintenance", label="Keep run logs for:",
        kind=Kind.WHOLE, minimum=0, maximum=3650, suffix=" days", special="Keep forever",
        tooltip="Run logs older than this are deleted; collected items are kept.",
    ),
    Field(
        key="backup_keep", page="Maintenance", label="Backups kept:", kind=Kind.WHOLE, minimum=1, maximum=100
    ),
    Field(
        key="backup_interval_hours", page="Maintenance", label="Back up automatically every:",
        kind=Kind.WHOLE, minimum=0, maximum=24 * 30, suffix=" hours", special="Never (only by hand)",
    ),
)


class SettingsForm:
    """The widgets of FIELDS: built page by page, filled from Settings, read back into a copy."""

    def __init__(self, fields: tuple[Field, ...] = FIELDS) -> None:
        self.fields = fields
        self._checks: dict[str, QCheckBox] = {}
        self._wholes: dict[str, QSpinBox] = {}
        self._decimals: dict[str, QDoubleSpinBox] = {}

    def build_page(self, page: Page, extra: QWidget | None = None) -> QWidget:
        """The tab of one page: its fields in a form, its note, then extra (if any) below."""
        widget = QWidget()
        layout = QVBoxLayout(widget)
        form = QFormLayout()
        for field in self.fields:
            if field.page != page.title:
                continue
            if field.kind is Kind.CHECK:
                form.addRow(self._make_check(field, widget))
            else:
                form.addRow(field.label, self._make_spin(field, widget))
        layout.addLayout(form)
        if page.note:
            note = QLabel(page.note, widget)
            note.setWordWrap(True)
            layout.addWidget(note)
        if extra is not None:
            layout.addWidget(extra)
        layout.addStretch(1)
        return widget

    def _make_check(self, field: Field, parent: QWidget) -> QCheckBox:
        check = QCheckBox(field.label, parent)
        check.setToolTip(field.tooltip)
        self._checks[field.key] = check
        return check

    def _make_spin(self, field: Field, parent: QWidget) -> QWidget:
        spin: QSpinBox | QDoubleSpinBox
        if field.kind is Kind.WHOLE:
            spin = QSpinBox(parent)
            spin.setRange(int(field.minimum), int(field.maximum))
            self._wholes[field.key] = spin
        else:
            spin = QDoubleSpinBox(parent)
            spin.setDecimals(field.decimals)
            spin.setRange(field.minimum, field.maximum)
            spin.setSingleStep(field.step)
            self._decimals[field.key] = spin
        spin.setSuffix(field.suffix)
        spin.setSpecialValueText(field.special)
        spin.setToolTip(field.tooltip)
        return spin

    def widget(self, key: str) -> QWidget:
        """The widget of the setting called key."""
        if key in self._checks:
            return self._checks[key]
        if key in self._wholes:
            return self._wholes[key]
        return self._decimals[key]

    def check(self, key: str) -> QCheckBox:
        """The check box of a yes/no setting."""
        return self._checks[key]

    def load(self, settings: Settings) -> None:
        """Show the values of settings."""
        for key, check in self._checks.items():
            check.setChecked(bool(getattr(settings, key)))
        for key, whole in self._wholes.items():
            whole.setValue(int(getattr(settings, key)))
        for key, decimal in self._decimals.items():
            decimal.setValue(float(getattr(settings, key)))

    def read(self, settings: Settings) -> Settings:
        """A copy of settings with the form's values; settings itself is left as it is."""
        # Any: each key is a Settings attribute of the type its kind edits.
        values: dict[str, Any] = {}
        for key, check in self._checks.items():
            values[key] = check.isChecked()
        for key, whole in self._wholes.items():
            values[key] = whole.value()
        for field in self.fields:
            if field.key in self._decimals:
                values[field.key] = round(self._decimals[field.key].value(), field.decimals)
        return dataclasses.replace(settings, **values)
