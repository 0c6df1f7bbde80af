"""The fixed words of the domain as enums: sources, frequencies, statuses, triggers, failure kinds.

Each enum's values are the words the database stores and the command line prints, so a
member can be written and compared as the string it stands for; text for people is made
from them only at the edges.
"""

from __future__ import annotations

from enum import StrEnum

# Older words still accepted as input, by the word they stand for now.
SOURCE_ALIASES = {"social": "x"}


class Source(StrEnum):
    """Where a task's targets are crawled from."""

    NEWS = "news"
    X = "x"  # X/Twitter; the seed stored it as "social" (migration 0004 renamed it)
    MASTODON = "mastodon"
    BLUESKY = "bluesky"
    TELEGRAM = "telegram"

    @classmethod
    def _missing_(cls, value: object) -> Source | None:
        # Scripts written for the seed say "social": Source("social") is Source.X, so every
        # place that takes a source word accepts it, and every output says "x".
        alias = SOURCE_ALIASES.get(value) if isinstance(value, str) else None
        return cls(alias) if alias is not None else None


class Frequency(StrEnum):
    """How often an active task runs."""

    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"


class RunStatus(StrEnum):
    """How a run (one log row) stands or ended."""

    RUNNING = "running"
    SUCCESS = "success"
    PARTIAL = "partial"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    SKIPPED = "skipped"
    # The machine was offline: the run is owed and runs when the network is back.
    DEFERRED = "deferred"


class TaskStatus(StrEnum):
    """A task's status: pending until it first runs, then how its last run ended.

    After a run the task takes the run's own word, so the Tasks table, the logs, the tray
    and the command line never describe one run in two ways.
    """

    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    PARTIAL = "partial"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class Trigger(StrEnum):
    """What started a run."""

    SCHEDULED = "scheduled"
    MANUAL = "manual"
    CATCH_UP = "catch-up"
    CLI = "cli"


class FailureKind(StrEnum):
    """Why one target of a run failed, whatever its source."""

    HTTP = "http"  # an HTTP error status that none of the kinds below covers
    NETWORK = "network"  # the exchange broke down: refused, reset, TLS, deadline, body cap
    UNREACHABLE = "unreachable"  # no server reached (name did not resolve, no route): maybe offline
    OFFLINE = "offline"  # unreachable, and the machine itself turned out to be offline
    TIMEOUT = "timeout"
    PARSE = "parse"  # an answer came, but no feed or post could be read from it
    AUTH = "auth"  # credentials missing, refused, or without access
    RATE_LIMIT = "rate_limit"  # asked to wait (429, or 503 with a retry time)
    CREDITS = "credits"  # a paid API's credits or spending cap ran out (402): the user must act
    NOT_FOUND = "not_found"
    CANCELLED = "cancelled"  # the run was stopped (Quit): the target did nothing wrong
    INTERNAL = "internal"  # a bug or an answer the code could not handle


class HealthState(StrEnum):
    """How one target of a task stands (app.health): working, failing, or gone quiet."""

    OK = "ok"
    FAILING = "failing"  # its last few fetches in a row failed
    QUIET = "quiet"  # it answers, but nothing new for several times its usual interval


class HeldBack(StrEnum):
    """Why a target was not asked at all in a run (it keeps its state)."""

    DEFERRED = "deferred"  # waiting out a back-off or a rate limit from an earlier run
    NOT_SENT = "not sent"  # this run stopped asking: no credentials, or the token was refused or limited


# The words as plain tuples, for membership tests, choices and messages.
SOURCES = tuple(s.value for s in Source)
FREQUENCIES = tuple(f.value for f in Frequency)
LOG_STATUSES = tuple(s.value for s in RunStatus)
# How a run that ran ended; a task's status after a run is this same word.
RUN_OUTCOMES = tuple(
    s.value for s in (RunStatus.SUCCESS, RunStatus.PARTIAL, RunStatus.FAILED, RunStatus.INTERRUPTED)
)
TASK_STATUSES = tuple(s.value for s in TaskStatus)
TRIGGERS = tuple(t.value for t in Trigger)
HEALTH_STATES = tuple(h.value for h in HealthState)
