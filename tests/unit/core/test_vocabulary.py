"""The vocabulary's stored words: renaming one needs a data migration, so they are pinned here."""

from __future__ import annotations

import json

import pytest

from osint_desktop.core.vocabulary import (
    FREQUENCIES,
    LOG_STATUSES,
    RUN_OUTCOMES,
    SOURCES,
    TASK_STATUSES,
    TRIGGERS,
    Frequency,
    RunStatus,
    Source,
    TaskStatus,
    Trigger,
)


def test_the_stored_words_are_those_of_the_database() -> None:
    assert SOURCES == ("news", "x", "mastodon", "bluesky", "telegram")
    assert Source.X == "x"
    # The seed's word for X is still understood wherever a source is read.
    assert Source("social") is Source.X
    with pytest.raises(ValueError):
        Source("twitter")
    assert FREQUENCIES == ("hourly", "daily", "weekly")
    assert LOG_STATUSES == ("running", "success", "partial", "failed", "interrupted", "skipped", "deferred")
    assert RUN_OUTCOMES == ("success", "partial", "failed", "interrupted")
    assert TASK_STATUSES == ("pending", "running", "success", "partial", "failed", "interrupted")
    assert TRIGGERS == ("scheduled", "manual", "catch-up", "cli")


def test_a_member_is_its_word_in_text_and_json() -> None:
    assert f"{Trigger.CATCH_UP}" == "catch-up" and str(RunStatus.DEFERRED) == "deferred"
    text = json.dumps({"status": TaskStatus.PENDING, "source": Source.X})
    assert text == '{"status": "pending", "source": "x"}'
    assert Frequency("daily") is Frequency.DAILY
    # A task's status after a run is that run's own word.
    assert {TaskStatus(outcome) for outcome in RUN_OUTCOMES} <= set(TaskStatus)
