"""The command line: argument parsing and validation, then one subcommand (or the window)."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from typing import NoReturn

from osint_desktop import APP_ID, __version__

# Heavy modules (SQLAlchemy, Alembic, feedparser, tweepy) load only once a command runs,
# so --help, --version and refused arguments answer at once.
from osint_desktop.cli.evidence_args import add_evidence_parsers, validate_evidence_args
from osint_desktop.cli.exit_codes import EXIT_USAGE
from osint_desktop.cli.schedule_args import (
    add_schedule_network_arguments,
    schedule_network_given,
    validate_schedule_network_args,
)
from osint_desktop.cli.watch_args import add_watch_parsers, validate_watch_args
from osint_desktop.core.query import QueryError, parse_query
from osint_desktop.core.validation import (
    DEFAULT_LINKED_PAGES_PER_RUN,
    MAX_LINKED_PAGES_PER_RUN,
    MIN_LINKED_PAGES_PER_RUN,
    ValidationError,
    validate_datetime,
    validate_linked_pages,
    validate_name,
    validate_post_caps,
)
from osint_desktop.core.vocabulary import FREQUENCIES, HEALTH_STATES, SOURCE_ALIASES, SOURCES, Source

MAX_LIMIT = 100_000


class UsageError(Exception):
    """Invalid arguments: exit 2 with a one-line reason."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} must be greater than zero")
    return value


def _limit(text: str) -> int:
    value = _positive_int(text)
    if value > MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"{value} is above the maximum of {MAX_LIMIT}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument grammar of every subcommand."""
    parser = _Parser(
        prog=APP_ID,
        description="Scheduled OSINT collection. Without a subcommand, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--db", metavar="PATH_OR_URL", help="database file or SQLAlchemy URL")
    parser.add_argument("--smoke-test", action="store_true", help="check this installation and exit")
    parser.add_argument(
        "--new-database",
        action="store_true",
        help="start an empty database where a used one has gone missing",
    )
    parser.add_argument("--minimized", action="store_true", help="start the window hidden in the tray")
    parser.add_argument(
        "--no-collect",
        action="store_true",
        help="window only: show the (shared) database and run no scheduled task; collectors do",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    commands.add_parser("init-tasks", help="create the default tasks that are missing")
    commands.add_parser("list-tasks", help="list every task")

    add = commands.add_parser("add-task", help="create a task")
    add.add_argument("--name", required=True)
    add.add_argument(
        "--source", required=True, help="news, x, mastodon, bluesky or telegram (social: old name of x)"
    )
    add.add_argument("--frequency", required=True, help="hourly, daily or weekly")
    add.add_argument("--target", action="append", required=True, help="feed URL or search query")
    add.add_argument("--inactive", action="store_true", help="create it switched off")
    _add_cap_arguments(add, clear="")
    _add_linked_page_arguments(add, default=f"off, {DEFAULT_LINKED_PAGES_PER_RUN} pages a run")
    add_schedule_network_arguments(add, new=True)

    run = commands.add_parser("run-task", help="run one task now and wait")
    run.add_argument("task_id", type=_positive_int, metavar="ID")

    scheduled = commands.add_parser("run-scheduled", help="run the active tasks that are due")
    scheduled.add_argument("--all", action="store_true", help="run every active task")

    upd = commands.add_parser("update-schedule", help="change a task's schedule")
    upd.add_argument("task_id", type=_positive_int, metavar="ID")
    upd.add_argument("--frequency")
    upd.add_argument("--next-run", metavar="ISO8601")
    active = upd.add_mutually_exclusive_group()
    active.add_argument("--active", dest="active", action="store_const", const=True)
    active.add_argument("--inactive", dest="active", action="store_const", const=False)
    _add_cap_arguments(upd, clear="; 0: back to the setting")
    _add_linked_page_arguments(upd, default="as it is")
    add_schedule_network_arguments(upd, new=False)

    logs = commands.add_parser("logs", help="show run logs, newest first")
    logs.add_argument("--task", type=_positive_int, metavar="ID")
    logs.add_argument("--limit", type=_limit, default=50)

    items = commands.add_parser("items", help="show collected items, newest first")
    items.add_argument("--task", type=_positive_int, metavar="ID")
    items.add_argument("--search", metavar="TEXT")
    items.add_argument("--unread", action="store_true", help="only the items not marked read in the window")
    items.add_argument("--starred", action="store_true", help="only the starred items")
    items.add_argument("--limit", type=_limit, default=50)
    items.add_argument("--format", choices=("json", "csv"), default="json")

    sources = commands.add_parser("sources", help="show every task's targets with their health")
    sources.add_argument("--task", type=_positive_int, metavar="ID")
    sources.add_argument("--state", choices=HEALTH_STATES, help="only targets that are ok, failing or quiet")

    add_watch_parsers(commands, _positive_int, _limit)
    add_evidence_parsers(commands, _positive_int)

    commands.add_parser("headless", help="run the scheduler without a window until stopped")

    commands.add_parser("backup", help="back up the database now (SQLite online backup)")
    restore = commands.add_parser("restore", help="replace the database with a backup")
    restore.add_argument(
        "backup_file", nargs="?", metavar="BACKUP", help="a backup file (default: the newest)"
    )
    return parser


def _cap(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is not a number of posts")
    return value


def _add_cap_arguments(parser: argparse.ArgumentParser, clear: str) -> None:
    """The per-task caps on posts an X task reads (X bills every post read)."""
    for flag, what in (("--max-posts-per-run", "per run"), ("--max-posts-per-day", "per UTC day")):
        parser.add_argument(
            flag, type=_cap, metavar="N",
            help=f"X tasks only: read at most N posts {what} (default: the setting{clear})",
        )


def _add_linked_page_arguments(parser: argparse.ArgumentParser, default: str) -> None:
    """A news task's "capture linked pages": each new item's link fetched once, its text searchable."""
    parser.add_argument(
        "--capture-linked-pages", action=argparse.BooleanOptionalAction, default=None,
        help="news tasks only: fetch each new item's link once, keep the page as evidence and "
        f"make its main text searchable (default: {default})",
    )
    parser.add_argument(
        "--linked-pages-per-run", type=_whole_number, metavar="N",
        help=f"news tasks only: fetch at most N linked pages a run, {MIN_LINKED_PAGES_PER_RUN} "
        f"to {MAX_LINKED_PAGES_PER_RUN}",
    )


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _validate_args(args: argparse.Namespace) -> None:
    """Check every argument before the database is opened, so a refusal writes nothing."""
    if args.command == "add-task":
        args.name = validate_name(args.name)
        if args.source not in SOURCES and args.source not in SOURCE_ALIASES:
            raise UsageError(f"unknown source {args.source!r}: choose one of {', '.join(SOURCES)}")
        args.source = Source(args.source).value  # "social" (the seed's word) is stored as "x"
        if args.frequency not in FREQUENCIES:
            raise UsageError(f"unknown frequency {args.frequency!r}: choose one of {', '.join(FREQUENCIES)}")
        from osint_desktop.core.sources.registry import provider_for

        provider = provider_for(args.source)
        args.target = [provider.validate_target(target) for target in args.target]
        if args.max_posts_per_run == 0 or args.max_posts_per_day == 0:
            raise UsageError("a read cap on a new task is a number of posts, 1 or more")
        validate_post_caps(args.source, args.max_posts_per_run, args.max_posts_per_day)
        validate_linked_pages(args.source, args.capture_linked_pages, args.linked_pages_per_run)
        validate_schedule_network_args(args, args.frequency, new=True)
    elif args.command == "update-schedule":
        if args.frequency is not None and args.frequency not in FREQUENCIES:
            raise UsageError(f"unknown frequency {args.frequency!r}: choose one of {', '.join(FREQUENCIES)}")
        validate_schedule_network_args(args, args.frequency, new=False)
        if args.next_run is not None:
            args.next_run = validate_datetime(args.next_run)
            if args.active is False:
                raise UsageError("--next-run and --inactive contradict: an inactive task has no next run")
        caps = (args.max_posts_per_run, args.max_posts_per_day)
        pages = (args.capture_linked_pages, args.linked_pages_per_run)
        unchanged = args.frequency is None and args.next_run is None and args.active is None
        if unchanged and caps == (None, None) and pages == (None, None) and not schedule_network_given(args):
            raise UsageError(
                "nothing to change: give --frequency, --next-run, --active, --inactive, "
                "--max-posts-per-run, --max-posts-per-day, --capture-linked-pages, "
                "--no-capture-linked-pages, --linked-pages-per-run, --at, --weekday, --proxy "
                "or --user-agent"
            )
        if args.linked_pages_per_run is not None:
            # The range now, before the database is opened; whether the task is news, in update_task.
            validate_linked_pages("news", None, args.linked_pages_per_run)
    elif args.command in ("watch", "alerts"):
        validate_watch_args(args)
    elif args.command == "evidence":
        validate_evidence_args(args)
    elif args.command == "items" and args.search is not None:
        if not args.search.strip():
            raise UsageError("--search needs some text")
        try:
            parse_query(args.search)
        except QueryError as exc:
            raise UsageError(f"--search: {exc}") from None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse and validate; raises UsageError."""
    args = build_parser().parse_args(list(argv) if argv is not None else None)
    try:
        _validate_args(args)
    except ValidationError as exc:
        raise UsageError(str(exc)) from None
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the command line; returns the exit code."""
    try:
        args = parse_args(argv)
    except UsageError as exc:
        sys.stderr.write(f"{APP_ID}: error: {exc}\n")
        return EXIT_USAGE
    if args.smoke_test:
        from osint_desktop.gui.smoke import run_smoke_test

        return run_smoke_test()
    if args.command is None:
        from osint_desktop.gui.launch import launch_gui

        return launch_gui(args)
    if args.command == "verify":
        # A package is checked on its own: no database, no data folder needed.
        from osint_desktop.cli.evidence_commands import cmd_verify

        return cmd_verify(args)
    # The command's modules and its context make some hundred thousand objects that live as
    # long as the process (SQLAlchemy's classes, the mappers): the cyclic collector would
    # walk them again and again while they load, for nothing (~25 ms of a 0.3 s start).
    # run_command turns it back on once the context is open, those objects frozen out of it.
    gc.disable()
    from osint_desktop.cli.commands import run_command

    return run_command(args)
