"""How times, durations and statuses read in the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

from PySide6.QtGui import QColor, QIcon, QPixmap

from osint_desktop.core.localzone import local_zone_name
from osint_desktop.core.timeutil import utcnow
from osint_desktop.core.vocabulary import RunStatus, Source, TaskStatus

# Run and task statuses share their words (a task's status is its last run's).
STATUS_COLOURS: dict[str, str] = {
    TaskStatus.PENDING: "#8a94a6",
    RunStatus.RUNNING: "#1f7ae0",
    RunStatus.SUCCESS: "#1e9e5a",
    RunStatus.PARTIAL: "#d98a00",
    RunStatus.FAILED: "#d93f3f",
    RunStatus.INTERRUPTED: "#a0527a",
    RunStatus.SKIPPED: "#8a94a6",
    "inactive": "#b0b6c0",
    RunStatus.DEFERRED: "#6b7a90",
}
UNKNOWN_STATUS_COLOUR = "#8a94a6"
WEEKDAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Text, not indicators: the amber of "partial" is too light to read as words on a light window.
NOTICE_COLOUR = "#b06f00"
HINT_COLOUR = "#6b7280"
STATUS_SWATCH_PX = 12
# A source in the Tasks table: short, so the column stays narrow (the editor shows more).
SOURCE_LABELS = {
    Source.NEWS: "News (RSS/Atom)",
    Source.X: "X",
    Source.MASTODON: "Mastodon",
    Source.BLUESKY: "Bluesky",
    Source.TELEGRAM: "Telegram",
}


def status_hex(status: str) -> str:
    """The colour of a status as #rrggbb, for style sheets and rich text."""
    return STATUS_COLOURS.get(status, UNKNOWN_STATUS_COLOUR)


def status_colour(status: str) -> QColor:
    """The colour of a status indicator."""
    return QColor(status_hex(status))


def text_style(colour: str) -> str:
    """A label's style sheet that writes its text in colour."""
    return f"color: {colour};"


@cache
def status_icon(status: str) -> QIcon:
    """A swatch of the status colour, made once per status.

    A QColor as decoration makes the item delegate paint a new pixmap with a new
    cache key on every repaint; they pile up in QPixmapCache (up to its 10 MB limit),
    which a long soak sees as a leak of several KB per run.
    """
    swatch = QPixmap(STATUS_SWATCH_PX, STATUS_SWATCH_PX)
    swatch.fill(status_colour(status))
    return QIcon(swatch)


def local_time(value: datetime | None) -> str:
    """A UTC time shown in the user's local zone, to the minute."""
    if value is None:
        return "—"
    return value.astimezone().strftime("%Y-%m-%d %H:%M")


def local_time_full(value: datetime | None) -> str:
    """A UTC time in local time with seconds and zone, and the UTC it is stored as, for tooltips.

    "2026-03-01 10:00:00 CET (09:00:00 UTC)": reports and other tools quote times in UTC.
    """
    if value is None:
        return ""
    local = value.astimezone()
    shown = local.strftime("%Y-%m-%d %H:%M:%S %Z")
    if local.utcoffset() == timedelta(0):
        return shown
    return f"{shown} ({value.astimezone(UTC):%H:%M:%S} UTC)"


def schedule_text(frequency: str, at: str | None, weekday: int | None, zone: str | None) -> str:
    """"Daily at 09:00", "Weekly, Fri 18:30"; the zone named when it is not this machine's."""
    label = frequency.capitalize()
    if not at:
        return label
    when = f"{WEEKDAY_LABELS[weekday]} {at}" if weekday is not None else at
    text = f"{label}, {when}" if weekday is not None else f"{label} at {when}"
    if zone and zone != local_zone_name():
        text += f" ({zone})"
    return text


def relative(value: datetime | None, now: datetime | None = None) -> str:
    """'in 12 min', '3 h ago', 'now'."""
    if value is None:
        return ""
    seconds = (value - (now or utcnow())).total_seconds()
    future = seconds > 0
    span = abs(seconds)
    if span < 45:
        return "now"
    if span < 3600:
        amount = f"{round(span / 60)} min"
    elif span < 86400 * 2:
        amount = f"{span / 3600:.0f} h"
    else:
        amount = f"{span / 86400:.0f} days"
    return f"in {amount}" if future else f"{amount} ago"


def duration(seconds: float | None) -> str:
    """'0.8 s', '2 min 5 s'."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s"


def compact_time(value: datetime | None, now: datetime | None = None) -> str:
    """A time as short as it can be told apart in a narrow column.

    "21:07" today, "Dec 8 21:07" this year, "2024-11-18" before; the tooltip gives it in full.
    """
    if value is None:
        return "—"
    local = value.astimezone()
    today = (now or utcnow()).astimezone()
    if local.date() == today.date():
        return local.strftime("%H:%M")
    if local.year == today.year:
        return f"{local.strftime('%b')} {local.day} {local.strftime('%H:%M')}"
    return local.strftime("%Y-%m-%d")
