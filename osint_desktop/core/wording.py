"""Messages in words: counts ("1 target", never "1 targets") and sentences that keep names as written."""

from __future__ import annotations


def count_text(count: int, noun: str, plural: str | None = None) -> str:
    """The count and the noun, singular for exactly one: count_text(1, "target") == "1 target"."""
    word = noun if count == 1 else (plural or f"{noun}s")
    return f"{count} {word}"


def sentence(message: str) -> str:
    """A message as a sentence: its first letter upper-case, the rest as written.

    str.capitalize() lowercases the rest too: "a task named 'OSINT Feeds' exists already"
    would read "… 'osint feeds' …", not the name the user typed.
    """
    return message[:1].upper() + message[1:]
