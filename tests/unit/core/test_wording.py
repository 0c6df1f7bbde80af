"""Messages in words: singular and plural counts, names kept as typed, the target limit's count."""

from __future__ import annotations

import pytest

from osint_desktop.core.sources.registry import validate_targets
from osint_desktop.core.validation import ValidationError
from osint_desktop.core.wording import count_text, sentence


def test_counts_are_singular_for_one_only() -> None:
    assert count_text(0, "target") == "0 targets"
    assert count_text(1, "target") == "1 target"
    assert count_text(2, "target") == "2 targets"
    assert count_text(1, "feed") == "1 feed"
    assert count_text(3, "match", "matches") == "3 matches"


def test_a_sentence_keeps_the_case_of_what_follows_its_first_letter() -> None:
    message = "a task named 'OSINT Feeds' exists already"
    assert sentence(message) == "A task named 'OSINT Feeds' exists already"
    assert sentence("") == ""


def test_the_target_limit_says_how_many_were_entered() -> None:
    with pytest.raises(ValidationError) as raised:
        validate_targets("news", [f"https://a.example/{n}" for n in range(1204)] + ["https://a.example/0"])
    assert str(raised.value) == (
        "a task can hold at most 1000 targets; 1204 were entered (duplicates counted once): "
        "split them into several tasks"
    )
    assert raised.value.field == "targets"
