"""A daily or weekly task's wall-clock time (and weekday) in a named zone, and its next occurrence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Enough days to reach any weekday, plus one for a slot pushed past midnight by a DST gap.
_SEARCH_DAYS = 9
# A DST gap is at most two hours (and minute-aligned everywhere): walked a minute at a time.
_MAX_GAP_MINUTES = 180


def weekday_word(weekday: int | None) -> str | None:
    """0 → "mon"."""
    return None if weekday is None else WEEKDAYS[weekday]


@dataclass(frozen=True)
class TimeOfDay:
    """When a task runs: at a wall-clock time (on a weekday, weekly) in an IANA zone.

    Kept as the user gave it, not as a UTC instant: 09:00 in Berlin stays 09:00 across the
    change to summer time, when its UTC moment moves by an hour.
    """

    at: time
    zone: str
    weekday: int | None = None  # 0 = Monday; weekly tasks only

    @property
    def text(self) -> str:
        """"09:00"."""
        return f"{self.at:%H:%M}"

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after moment, in UTC."""
        tz = ZoneInfo(self.zone)
        start = moment.astimezone(tz).date()
        for offset in range(_SEARCH_DAYS):
            day = start + timedelta(days=offset)
            if self.weekday is not None and day.weekday() != self.weekday:
                continue
            candidate = _occurrence(day, self.at, tz)
            if candidate > moment:
                return candidate
        raise AssertionError("no occurrence within nine days")  # pragma: no cover - unreachable


def _occurrence(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC moment of a wall-clock time on a day, in spite of DST changes.

    The first of two when the clock falls back; the first valid minute after it when the
    clock skips it (spring forward).
    """
    wall = datetime.combine(day, at, tzinfo=tz)  # fold=0: the earlier of an ambiguous pair
    for _ in range(_MAX_GAP_MINUTES):
        moment = wall.astimezone(UTC)
        if moment.astimezone(tz).replace(tzinfo=None) == wall.replace(tzinfo=None):
            return moment
        wall += timedelta(minutes=1)  # wall-clock arithmetic: the next minute on the clock
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)  # pragma: no cover - no such zone


def from_columns(run_at: str | None, weekday: int | None, zone: str | None) -> TimeOfDay | None:
    """A task's stored "HH:MM", weekday and zone as a TimeOfDay; None without a time."""
    if not run_at:
        return None
    return TimeOfDay(time.fromisoformat(run_at), zone or "UTC", weekday)
