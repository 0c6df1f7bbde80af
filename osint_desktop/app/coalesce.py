"""Notification coalescing: at most one notice per key per window, the rest merged and shown later."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# A notice lists a few titles; the count says how many there were in all.
MAX_TITLES = 3


@dataclass(frozen=True)
class Notice:
    """One notification to show: what it is about (label), how many items, and the first titles."""

    key: str
    label: str
    count: int
    titles: tuple[str, ...]


def _first_distinct(titles: Sequence[str], limit: int = MAX_TITLES) -> tuple[str, ...]:
    kept: list[str] = []
    for title in titles:
        if title and title not in kept:
            kept.append(title)
            if len(kept) == limit:
                break
    return tuple(kept)


def _merge(held: Notice, count: int, titles: Sequence[str], label: str) -> Notice:
    # The latest label wins: a watch renamed meanwhile is shown by its new name.
    return Notice(held.key, label, held.count + count, _first_distinct([*held.titles, *titles]))


class NotificationCoalescer:
    """Shows the first notice for a key at once and merges the ones that follow within the window.

    A merged notice becomes due window_s after the last notice shown for its key; the caller
    collects due notices by polling due() (the window with a timer, headless in its loop).
    """

    def __init__(self, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last_shown: dict[str, float] = {}
        self._held: dict[str, Notice] = {}

    def add(self, key: str, count: int, titles: Sequence[str], label: str) -> list[Notice]:
        """The notices to show now for this addition: itself, merged with any held, or none (held)."""
        with self._lock:
            now = self._clock()
            held = self._held.pop(key, None)
            notice = (
                _merge(held, count, titles, label)
                if held is not None
                else Notice(key, label, count, _first_distinct(titles))
            )
            last = self._last_shown.get(key)
            if last is not None and now - last < self._window_s:
                self._held[key] = notice
                return []
            self._last_shown[key] = now
            return [notice]

    def due(self, force: bool = False) -> list[Notice]:
        """The held notices whose window has expired (every held one when forced), removed."""
        with self._lock:
            now = self._clock()
            ready = [
                notice
                for key, notice in self._held.items()
                if force or now - self._last_shown.get(key, now - self._window_s) >= self._window_s
            ]
            for notice in ready:
                del self._held[notice.key]
                self._last_shown[notice.key] = now
            # Keys quiet for a whole window need no memory: their next notice is immediate anyway.
            for key in [key for key, last in self._last_shown.items() if now - last >= self._window_s]:
                if key not in self._held:
                    del self._last_shown[key]
            return ready

    def pending(self) -> int:
        """How many merged notices are held, waiting for their window to expire."""
        with self._lock:
            return len(self._held)


def _plural(noun: str) -> str:
    return noun + ("es" if noun.endswith(("s", "x", "z", "ch", "sh")) else "s")


def describe(notice: Notice, noun: str = "match", plural: str | None = None) -> tuple[str, str]:
    """A notice as (title, body) text: "Watch 'Acme': 3 new matches" and its titles one a line."""
    word = noun if notice.count == 1 else (plural or _plural(noun))
    title = f"{notice.label}: {notice.count} new {word}"
    lines = list(notice.titles)
    hidden = notice.count - len(lines)
    if lines and hidden > 0:
        lines.append(f"… and {hidden} more")
    return title, "\n".join(lines)
