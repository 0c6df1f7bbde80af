"""How times, durations and statuses read in the window."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from PySide6.QtGui import QColor, QIcon, QPixmap

from osint_desktop.core.timeutil import utcnow

STATUS_COLOURS = {
    "pending": "#8a94a6",
    "running": "#1f7ae0",
    "success": "#1e9e5a",
    "partial": "#d98a00",
    "failed": "#d93f3f",
    "interrupted": "#a0527a",
    "skipped": "#8a94a6",
    "inactive": "#b0b6c0",
    "deferred": "#6b7a90",
}
STATUS_SWATCH_PX = 12


def status_colour(status: str) -> QColor:
    """The colour of a status indicator."""
    return QColor(STATUS_COLOURS.get(status, "#8a94a6"))


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
    """A UTC time in local time with seconds and zone, for tooltips."""
    if value is None:
        return ""
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


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
