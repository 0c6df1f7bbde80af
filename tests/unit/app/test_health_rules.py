"""Source health's arithmetic at a fixed moment: usual interval, items a week, history, and the verdict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from osint_desktop.app.health import (
    HISTORY_LIMIT,
    HealthChange,
    HealthSettings,
    items_per_week,
    judge_health,
    merge_history,
    quiet_threshold,
    span_text,
    usual_interval,
)
from osint_desktop.core.vocabulary import HealthState

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
SETTINGS = HealthSettings()


def moments(*ages: timedelta) -> list[float]:
    """Epoch seconds of moments that long before NOW, oldest first."""
    return sorted((NOW - age).timestamp() for age in ages)


def daily(count: int, newest_age: timedelta = timedelta(0)) -> list[float]:
    return moments(*(newest_age + DAY * n for n in range(count)))


def judge(**overrides: object) -> tuple[HealthState, str]:
    values: dict[str, object] = {
        "consecutive_failures": 0,
        "last_error": None,
        "last_new_at": NOW,
        "first_success_at": NOW - 30 * DAY,
        "history": daily(10),
        "crawl_interval": HOUR,
        "settings": SETTINGS,
        "now": NOW,
    }
    values.update(overrides)
    return judge_health(**values)  # type: ignore[arg-type]


# usual interval --------------------------------------------------------------------------


def test_usual_interval_is_the_median_gap() -> None:
    assert usual_interval(daily(5)) == DAY
    # One long holiday does not move the median.
    assert usual_interval(moments(0 * DAY, 1 * DAY, 2 * DAY, 3 * DAY, 30 * DAY)) == DAY


def test_usual_interval_needs_three_distinct_moments() -> None:
    assert usual_interval([]) is None
    assert usual_interval(daily(1)) is None
    assert usual_interval(daily(2)) is None
    assert usual_interval(daily(3)) == DAY


def test_gaps_under_a_minute_are_one_batch_not_an_interval() -> None:
    # Undated items all stamped with their collection moment: one run, one moment.
    batch = [NOW.timestamp()] * 20
    assert usual_interval(batch) is None
    # A daily digest of five items published seconds apart: the interval is a day.
    digest = [(NOW - DAY * day).timestamp() + second for day in range(4) for second in range(0, 50, 10)]
    usual = usual_interval(digest)
    assert usual is not None and abs(usual - DAY) < timedelta(minutes=1)


def test_usual_interval_does_not_depend_on_order() -> None:
    assert usual_interval(list(reversed(daily(6)))) == DAY


# items per week ---------------------------------------------------------------------------


def test_items_per_week_over_the_last_four_weeks() -> None:
    # Daily for 60 days: 28 in the window (the one exactly 28 days old is in).
    assert items_per_week(daily(60, newest_age=HOUR), NOW) == pytest.approx(28 / 4, rel=0.05)
    # Nothing in the last four weeks, but items before: none a week.
    assert items_per_week(daily(10, newest_age=40 * DAY), NOW) == 0


def test_items_per_week_over_the_span_the_kept_moments_cover() -> None:
    # A busy source: its 50 kept moments cover two days; over 28 days it would read 12 a week.
    busy = moments(*(HOUR * n for n in range(48)))
    assert items_per_week(busy, NOW) == pytest.approx(48 * 7 / (47 / 24), rel=0.01)


def test_items_per_week_unknown_without_items_and_never_from_minutes() -> None:
    assert items_per_week([], NOW) is None
    # One item an hour ago is one item over at least a day, not 168 a week.
    assert items_per_week(moments(HOUR), NOW) == pytest.approx(7.0)


# history ----------------------------------------------------------------------------------


def test_history_merges_sorted_clamps_the_future_and_keeps_the_newest() -> None:
    history = daily(3, newest_age=DAY)
    merged = merge_history(history, [NOW + 5 * DAY, NOW - 10 * DAY, NOW - HOUR], NOW)
    assert merged == sorted(merged)
    assert merged[-1] == NOW.timestamp()  # the future counted as now
    assert len(merged) == 6
    full = merge_history(daily(HISTORY_LIMIT, newest_age=DAY), [NOW], NOW)
    assert len(full) == HISTORY_LIMIT
    assert full[-1] == NOW.timestamp() and full[0] == (NOW - (HISTORY_LIMIT - 1) * DAY).timestamp()


def test_naive_publication_moments_are_utc() -> None:
    [moment] = merge_history([], [datetime(2025, 3, 1, 8, 0)], NOW)
    assert moment == datetime(2025, 3, 1, 8, 0, tzinfo=UTC).timestamp()


# the verdict ------------------------------------------------------------------------------


def test_quiet_threshold_is_the_largest_of_factor_crawl_interval_and_floor() -> None:
    assert quiet_threshold(DAY, HOUR, SETTINGS) == 3 * DAY
    assert quiet_threshold(2 * timedelta(minutes=1), HOUR, SETTINGS) == DAY  # the floor
    assert quiet_threshold(DAY, timedelta(weeks=1), SETTINGS) == 2 * timedelta(weeks=1)


def test_failing_after_the_set_number_of_failures_in_a_row() -> None:
    state, reason = judge(consecutive_failures=2, last_error="HTTP 500 Internal Server Error")
    assert state == HealthState.OK
    assert reason == "2 failures in a row, last: HTTP 500 Internal Server Error"
    state, reason = judge(consecutive_failures=3, last_error="HTTP 500 Internal Server Error")
    assert state == HealthState.FAILING
    assert reason == "3 failures in a row, last: HTTP 500 Internal Server Error"
    assert judge(consecutive_failures=2, settings=HealthSettings(failing_after=2))[0] == HealthState.FAILING
    # 0 is read as 1: a target that works is never failing.
    assert judge(consecutive_failures=0, settings=HealthSettings(failing_after=0))[0] == HealthState.OK


def test_quiet_after_several_usual_intervals_without_anything_new() -> None:
    history = daily(10, newest_age=3 * DAY)
    assert judge(history=history, last_new_at=NOW - 3 * DAY + HOUR)[0] == HealthState.OK
    state, reason = judge(history=history, last_new_at=NOW - 4 * DAY)
    assert (state, reason) == (HealthState.QUIET, "nothing new for 4 days (usually every 1 day)")


def test_failing_wins_over_quiet() -> None:
    state, _ = judge(consecutive_failures=5, last_error="timed out", last_new_at=NOW - 30 * DAY)
    assert state == HealthState.FAILING


def test_never_quiet_without_a_usual_interval() -> None:
    # Two items ever, the last a year ago: too little to know its rhythm, so no alarm.
    state, reason = judge(history=daily(2, newest_age=365 * DAY), last_new_at=NOW - 365 * DAY)
    assert state == HealthState.OK
    assert "too few items" in reason
    assert judge(history=[], last_new_at=None)[1] == "working; nothing new from it yet"


def test_a_target_that_never_gave_anything_new_counts_from_its_first_answer() -> None:
    history = daily(5, newest_age=100 * DAY)
    assert judge(history=history, last_new_at=None, first_success_at=NOW - HOUR)[0] == HealthState.OK
    assert judge(history=history, last_new_at=None, first_success_at=NOW - 5 * DAY)[0] == HealthState.QUIET


def test_ok_reasons_hold_no_time_that_goes_stale() -> None:
    assert judge() == (HealthState.OK, "working; new items usually every 1 day")


def test_span_text() -> None:
    assert span_text(timedelta(seconds=20)) == "less than a minute"
    assert span_text(timedelta(minutes=20)) == "20 min"
    assert span_text(2 * HOUR) == "2 h"
    assert span_text(DAY) == "1 day"
    assert span_text(4 * DAY + 2 * HOUR) == "4 days"
    assert span_text(timedelta(weeks=3)) == "3 weeks"


def test_change_messages_name_the_target_and_say_why() -> None:
    def change(previous: HealthState, state: HealthState, reason: str = "") -> HealthChange:
        return HealthChange(1, "World", "news", "https://feeds.example/rss", previous, state, reason, NOW)

    failing = change(HealthState.OK, HealthState.FAILING, "3 failures in a row, last: HTTP 500")
    assert failing.message() == (
        "Feed https://feeds.example/rss is failing: 3 failures in a row, last: HTTP 500"
    )
    quiet = change(HealthState.OK, HealthState.QUIET, "nothing new for 4 days (usually every 1 day)")
    assert quiet.message() == (
        "Feed https://feeds.example/rss has gone quiet: nothing new for 4 days (usually every 1 day)"
    )
    assert change(HealthState.FAILING, HealthState.OK).message().endswith("has recovered: it answers again")
    assert change(HealthState.QUIET, HealthState.OK).message().endswith("has recovered: new items again")
    data = failing.to_json()
    assert data["state"] == "failing" and data["previous"] == "ok" and data["at"] == "2025-03-10T12:00:00Z"
    assert data["message"] == failing.message()
