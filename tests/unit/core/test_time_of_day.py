"""A task's time of day: its next occurrence in a named zone, across DST, weekly, and the machine's zone."""

from __future__ import annotations

import itertools
import os
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from osint_desktop.core import localzone
from osint_desktop.core.intervals import next_after
from osint_desktop.core.time_of_day import TimeOfDay, from_columns
from osint_desktop.core.validation import (
    ValidationError,
    validate_schedule_time,
    validate_time_of_day,
    validate_weekday,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


BERLIN_9 = TimeOfDay(time(9, 0), "Europe/Berlin")


def test_next_occurrence_is_the_local_time_today_or_tomorrow() -> None:
    # 08:59 in Berlin (winter, UTC+1) → today 09:00; 09:00 itself → tomorrow (strictly after).
    assert BERLIN_9.next_after(utc(2026, 1, 10, 7, 59)) == utc(2026, 1, 10, 8, 0)
    assert BERLIN_9.next_after(utc(2026, 1, 10, 8, 0)) == utc(2026, 1, 11, 8, 0)


def test_the_local_time_stays_across_the_change_to_summer_time() -> None:
    # Summer time starts on 2026-03-29: 09:00 is 08:00 UTC before, 07:00 UTC from that day on.
    assert BERLIN_9.next_after(utc(2026, 3, 28, 9, 0)) == utc(2026, 3, 29, 7, 0)
    new_york = TimeOfDay(time(9, 0), "America/New_York")
    # New York changes on 2026-03-08 and back on 2026-11-01.
    assert new_york.next_after(utc(2026, 3, 7, 15, 0)) == utc(2026, 3, 8, 13, 0)
    assert new_york.next_after(utc(2026, 10, 31, 14, 0)) == utc(2026, 11, 1, 14, 0)


def test_a_time_the_clock_skips_runs_at_the_first_valid_time_after() -> None:
    # 02:30 does not exist on 2026-03-29 in Berlin (02:00 → 03:00): 03:00 CEST is 01:00 UTC.
    at = TimeOfDay(time(2, 30), "Europe/Berlin")
    assert at.next_after(utc(2026, 3, 28, 12, 0)) == utc(2026, 3, 29, 1, 0)
    # The next day it is 02:30 again.
    assert at.next_after(utc(2026, 3, 29, 1, 0)) == utc(2026, 3, 30, 0, 30)
    ny = TimeOfDay(time(2, 30), "America/New_York")
    assert ny.next_after(utc(2026, 3, 7, 12, 0)) == utc(2026, 3, 8, 7, 0)  # 03:00 EDT


def test_a_time_the_clock_passes_twice_runs_at_the_first() -> None:
    # 02:30 happens twice on 2026-10-25 in Berlin: first in summer time (00:30 UTC), once only.
    at = TimeOfDay(time(2, 30), "Europe/Berlin")
    assert at.next_after(utc(2026, 10, 24, 12, 0)) == utc(2026, 10, 25, 0, 30)
    assert at.next_after(utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 26, 1, 30)
    ny = TimeOfDay(time(1, 30), "America/New_York")
    assert ny.next_after(utc(2026, 10, 31, 12, 0)) == utc(2026, 11, 1, 5, 30)  # 01:30 EDT


def test_weekly_runs_on_its_weekday() -> None:
    monday = TimeOfDay(time(9, 0), "Europe/Berlin", weekday=0)
    # From Wednesday 2026-01-14 to Monday 2026-01-19; from Monday 09:00 itself, a week later.
    assert monday.next_after(utc(2026, 1, 14, 12, 0)) == utc(2026, 1, 19, 8, 0)
    assert monday.next_after(utc(2026, 1, 19, 8, 0)) == utc(2026, 1, 26, 8, 0)
    # The weekday is the local one: Sunday 23:30 UTC is already Monday 00:30 in Berlin.
    early = TimeOfDay(time(0, 45), "Europe/Berlin", weekday=0)
    assert early.next_after(utc(2026, 1, 18, 23, 30)) == utc(2026, 1, 18, 23, 45)


def test_next_after_uses_the_time_of_day_for_daily_and_weekly_only() -> None:
    now = utc(2026, 1, 10, 12, 0)
    planned = utc(2026, 1, 10, 11, 17)
    assert next_after(planned, "daily", now, BERLIN_9) == utc(2026, 1, 11, 8, 0)
    assert next_after(planned, "weekly", now, TimeOfDay(time(9, 0), "Europe/Berlin", 0)) == utc(
        2026, 1, 12, 8, 0
    )
    # Hourly ignores it: the grid from the planned slot, as without one.
    assert next_after(planned, "hourly", now, BERLIN_9) == utc(2026, 1, 10, 12, 17)
    # Without a time of day the grid stays as it was; a slot still ahead is kept either way.
    assert next_after(planned, "daily", now) == utc(2026, 1, 11, 11, 17)
    ahead = utc(2026, 1, 10, 15, 0)
    assert next_after(ahead, "daily", now, BERLIN_9) == ahead


def test_a_missed_slot_days_ago_moves_to_the_next_occurrence_not_one_per_day() -> None:
    now = utc(2026, 1, 10, 12, 0)
    assert next_after(utc(2026, 1, 3, 8, 0), "daily", now, BERLIN_9) == utc(2026, 1, 11, 8, 0)


def test_stored_columns_make_a_time_of_day() -> None:
    assert from_columns(None, None, None) is None
    assert from_columns("07:05", 2, "Asia/Tokyo") == TimeOfDay(time(7, 5), "Asia/Tokyo", 2)


@pytest.mark.parametrize("text", ["25:00", "24:00", "12:60", "noon", "9", "", "12:5"])
def test_times_of_day_out_of_range_are_refused_with_the_format(text: str) -> None:
    with pytest.raises(ValidationError, match=r"is not a time of day \(HH:MM, 00:00-23:59\)"):
        validate_time_of_day(text)


def test_the_refusal_names_what_was_typed() -> None:
    with pytest.raises(ValidationError) as refused:
        validate_time_of_day("25:00")
    assert str(refused.value) == "25:00 is not a time of day (HH:MM, 00:00-23:59)"
    assert validate_time_of_day(" 7:30 ") == time(7, 30)


def test_weekdays_and_where_they_apply() -> None:
    assert [validate_weekday(w) for w in ("mon", "Tue", "sunday")] == [0, 1, 6]
    with pytest.raises(ValidationError, match="not a weekday: choose one of mon, tue"):
        validate_weekday("funday")
    with pytest.raises(ValidationError, match=r"^--weekday is only for weekly tasks$"):
        validate_schedule_time("daily", time(9, 0), 0)
    with pytest.raises(ValidationError, match=r"^--at is only for daily and weekly tasks"):
        validate_schedule_time("hourly", time(9, 0), None)
    validate_schedule_time("weekly", time(9, 0), 3)


class TestLocalZone:
    def test_tz_names_the_zone(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TZ", "America/New_York")
        assert localzone.local_zone_name() == "America/New_York"
        monkeypatch.setenv("TZ", ":Europe/Berlin")
        assert localzone.local_zone_name() == "Europe/Berlin"

    def test_a_tz_rule_without_a_name_falls_back_to_utc(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3")
        assert localzone.local_zone_name() == "UTC"

    def test_the_localtime_link_names_the_zone(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        monkeypatch.delenv("TZ", raising=False)
        link = tmp_path / "localtime"
        os.symlink("/usr/share/zoneinfo/Asia/Tokyo", link)
        monkeypatch.setattr(localzone, "LOCALTIME_LINK", link)
        monkeypatch.setattr(localzone, "TIMEZONE_FILE", tmp_path / "no-such-file")
        assert localzone.local_zone_name() == "Asia/Tokyo"

    def test_etc_timezone_then_utc(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        monkeypatch.delenv("TZ", raising=False)
        monkeypatch.setattr(localzone, "LOCALTIME_LINK", tmp_path / "not-a-link")
        written = tmp_path / "timezone"
        written.write_text("Europe/Lisbon\n", encoding="utf-8")
        monkeypatch.setattr(localzone, "TIMEZONE_FILE", written)
        assert localzone.local_zone_name() == "Europe/Lisbon"
        written.write_text("Not/AZone\n", encoding="utf-8")
        assert localzone.local_zone_name() == "UTC"


def test_every_day_of_a_dst_year_gives_one_run_a_day_at_the_local_time() -> None:
    # A year of daily runs in Berlin: 365 runs, each at 09:00 local, none skipped or doubled.
    moment = utc(2026, 1, 1, 0, 0)
    runs = []
    for _ in range(365):
        moment = BERLIN_9.next_after(moment)
        runs.append(moment)
    from zoneinfo import ZoneInfo

    local = [run.astimezone(ZoneInfo("Europe/Berlin")) for run in runs]
    assert all((t.hour, t.minute) == (9, 0) for t in local)
    assert len({t.date() for t in local}) == 365
    assert {run - previous for previous, run in itertools.pairwise(runs)} == {
        timedelta(hours=23), timedelta(hours=24), timedelta(hours=25)
    }
