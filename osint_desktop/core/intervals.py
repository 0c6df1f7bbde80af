"""Pure schedule arithmetic: intervals and the next planned run, without drift."""

from __future__ import annotations

from datetime import datetime, timedelta

from osint_desktop.core.time_of_day import TimeOfDay
from osint_desktop.core.vocabulary import Frequency

# Keyed by the member; a stored word finds its entry all the same (a StrEnum is its word).
INTERVALS: dict[str, timedelta] = {
    Frequency.HOURLY: timedelta(hours=1),
    Frequency.DAILY: timedelta(days=1),
    Frequency.WEEKLY: timedelta(weeks=1),
}


def interval(frequency: str) -> timedelta:
    """The period of a frequency."""
    return INTERVALS[frequency]


def next_after(
    planned: datetime, frequency: str, now: datetime, at: TimeOfDay | None = None
) -> datetime:
    """The first slot strictly after now on the grid planned + k * interval.

    Stepping from the planned time rather than from when the run ended keeps an
    hourly task at :00 even when runs take minutes or are late. A daily or weekly task
    with a time of day runs at its next occurrence instead (hourly ones ignore it): a
    fixed step would drift by an hour at every change to or from summer time.
    """
    if planned > now:
        return planned
    if at is not None and frequency != Frequency.HOURLY:
        return at.next_after(now)
    step = interval(frequency)
    missed = (now - planned) // step + 1
    return planned + step * missed


def is_due(next_run: datetime | None, now: datetime) -> bool:
    """A task is due when its next run is set and has come."""
    return next_run is not None and next_run <= now
