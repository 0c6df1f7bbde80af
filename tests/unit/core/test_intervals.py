"""Tests of the schedule arithmetic: whole intervals on a fixed grid, never drifting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osint_desktop.core.intervals import interval, is_due, next_after
from osint_desktop.core.timeutil import as_utc, iso, parse_iso

BASE = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def test_intervals() -> None:
    assert interval("hourly") == timedelta(hours=1)
    assert interval("daily") == timedelta(days=1)
    assert interval("weekly") == timedelta(weeks=1)
    with pytest.raises(KeyError):
        interval("monthly")


def test_a_late_run_keeps_the_grid() -> None:
    # Planned for 09:00, ran at 09:07: the next hourly run is 10:00, not 10:07.
    assert next_after(BASE, "hourly", BASE + timedelta(minutes=7)) == BASE + timedelta(hours=1)


def test_missed_slots_are_skipped_not_replayed() -> None:
    now = BASE + timedelta(hours=5, minutes=30)
    assert next_after(BASE, "hourly", now) == BASE + timedelta(hours=6)
    assert next_after(BASE, "daily", BASE + timedelta(days=3)) == BASE + timedelta(days=4)


def test_run_exactly_on_time_moves_one_interval() -> None:
    assert next_after(BASE, "weekly", BASE) == BASE + timedelta(weeks=1)


def test_a_future_plan_is_kept() -> None:
    later = BASE + timedelta(minutes=30)
    assert next_after(later, "hourly", BASE) == later


@given(
    offset=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
    frequency=st.sampled_from(["hourly", "daily", "weekly"]),
)
def test_next_run_is_the_first_future_slot_on_the_grid(offset: timedelta, frequency: str) -> None:
    now = BASE + offset
    result = next_after(BASE, frequency, now)
    step = interval(frequency)
    assert result > now
    assert result - now <= step
    assert (result - BASE) % step == timedelta(0)


def test_is_due() -> None:
    assert is_due(BASE, BASE)
    assert is_due(BASE, BASE + timedelta(seconds=1))
    assert not is_due(BASE + timedelta(seconds=1), BASE)
    assert not is_due(None, BASE)


def test_times_are_utc_iso() -> None:
    assert iso(BASE) == "2025-01-06T09:00:00Z"
    assert iso(None) is None
    assert parse_iso("2025-01-06T09:00:00Z") == BASE
    assert parse_iso("2025-01-06T10:00:00+01:00") == BASE
    assert parse_iso("2025-01-06T09:00:00") == BASE  # no zone: UTC
    assert as_utc(datetime(2025, 1, 6, 9, 0)) == BASE
