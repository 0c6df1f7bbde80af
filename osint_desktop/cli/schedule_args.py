"""add-task and update-schedule's --at, --weekday, --proxy and --user-agent: grammar and checks."""

from __future__ import annotations

import argparse

from osint_desktop.core.crawl.proxy import NO_PROXY, validate_proxy_url, validate_user_agent
from osint_desktop.core.time_of_day import WEEKDAYS
from osint_desktop.core.validation import (
    ValidationError,
    validate_schedule_time,
    validate_time_of_day,
    validate_weekday,
)

# --at none drops a task's time of day; --proxy/--user-agent default: the global setting again.
NONE_WORD = "none"
DEFAULT_WORD = "default"


def add_schedule_network_arguments(parser: argparse.ArgumentParser, new: bool) -> None:
    """The time of day and the task's own network settings."""
    clear = "" if new else f"; {NONE_WORD}: no time of day any more"
    parser.add_argument(
        "--at", metavar="HH:MM",
        help=f"daily and weekly tasks: run at this time of day, in this machine's time zone{clear}",
    )
    parser.add_argument(
        "--weekday", metavar="DAY", help=f"weekly tasks: the day to run at --at ({', '.join(WEEKDAYS)})"
    )
    parser.add_argument(
        "--proxy", metavar="URL",
        help="this task's proxy: http://, https://, socks5:// or socks5h://host:port (socks5h "
        f"resolves names through the proxy, as Tor needs); {NO_PROXY}: no proxy even when "
        f"Settings has one; {DEFAULT_WORD}: Settings' proxy",
    )
    parser.add_argument(
        "--user-agent", metavar="TEXT", help=f"this task's User-Agent; {DEFAULT_WORD}: Settings' one"
    )


def schedule_network_given(args: argparse.Namespace) -> bool:
    """Whether any of these arguments was given (after validation: --at none is clear_at)."""
    given = (args.at, args.weekday, args.proxy, args.user_agent)
    return getattr(args, "clear_at", False) or any(value is not None for value in given)


def validate_schedule_network_args(args: argparse.Namespace, frequency: str | None, new: bool) -> None:
    """Turn the arguments into values (args.at a time or None, args.clear_at, args.weekday 0-6).

    Raises ValidationError before the database is opened; what depends on the task's stored
    frequency (update-schedule without --frequency) is checked by update_task.
    """
    args.clear_at = args.at is not None and args.at.strip().lower() == NONE_WORD
    if args.clear_at and args.weekday is not None:
        raise ValidationError("--at none and --weekday contradict: a weekday needs a time of day")
    args.at = None if args.at is None or args.clear_at else validate_time_of_day(args.at)
    args.weekday = None if args.weekday is None else validate_weekday(args.weekday)
    if frequency is not None:
        validate_schedule_time(frequency, args.at, args.weekday)
    if new and args.weekday is not None and args.at is None:
        raise ValidationError("--weekday needs a time of day too (--at HH:MM)")  # a new task has none
    if args.proxy is not None and args.proxy.strip().lower() not in (NO_PROXY, DEFAULT_WORD):
        args.proxy = validate_proxy_url(args.proxy)
    if args.user_agent is not None:
        args.user_agent = validate_user_agent(args.user_agent)

