"""Argument grammar and early checks of the watch and alerts subcommands (light imports only)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from osint_desktop.core.query import QUERY_HELP, QueryError, compile_regex, parse_query
from osint_desktop.core.validation import ValidationError, validate_name
from osint_desktop.core.vocabulary import SOURCE_ALIASES, SOURCES, Source


def add_watch_parsers(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    positive_int: Callable[[str], int],
    limit: Callable[[str], int],
) -> None:
    """Add `watch add|list|update|remove` and `alerts [seen]` to the subcommands."""
    watch = commands.add_parser(
        "watch",
        help="watchlists: alert when collected items match a query",
        description="Query language:\n" + QUERY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = watch.add_subparsers(dest="watch_command", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="create a watch")
    add.add_argument("--name", required=True)
    _add_definition_arguments(add, positive_int)
    add.add_argument("--no-notify", dest="notify", action="store_false", help="record matches silently")
    add.add_argument("--outbound", action="store_true", help="also send matches through Apprise")
    add.add_argument("--inactive", action="store_true", help="create it switched off")
    add.add_argument("--backfill", action="store_true", help="also search what is already collected")

    actions.add_parser("list", help="list every watch")

    update = actions.add_parser("update", help="change a watch")
    update.add_argument("watch_id", type=positive_int, metavar="ID")
    update.add_argument("--name")
    _add_definition_arguments(update, positive_int)
    update.add_argument("--all-tasks", action="store_true", help="scope: every task and source again")
    _add_switch(update, "notify", "notify", "no-notify")
    _add_switch(update, "outbound", "outbound", "no-outbound")
    _add_switch(update, "active", "active", "inactive")
    update.add_argument("--backfill", action="store_true", help="also search what is already collected")

    remove = actions.add_parser("remove", help="delete a watch and its alerts")
    remove.add_argument("watch_id", type=positive_int, metavar="ID")

    alerts = commands.add_parser("alerts", help="matches of watches, newest first; `alerts seen` marks them")
    alerts.add_argument("action", nargs="?", choices=("seen",), help="mark alerts seen")
    alerts.add_argument("alert_ids", nargs="*", type=positive_int, metavar="ID", help="alerts to mark seen")
    alerts.add_argument("--watch", type=positive_int, metavar="ID")
    alerts.add_argument("--unseen", action="store_true", help="only those not seen yet")
    alerts.add_argument("--limit", type=limit, default=50)
    alerts.add_argument("--format", choices=("json", "csv"), default="json")


def _add_definition_arguments(parser: argparse.ArgumentParser, positive_int: Callable[[str], int]) -> None:
    parser.add_argument("--query", metavar="Q", help="what to look for (see `watch --help`)")
    parser.add_argument("--regex", metavar="R", help="a regular expression an item must also match")
    parser.add_argument("--task", type=positive_int, action="append", metavar="ID", help="scope: this task")
    parser.add_argument("--source", action="append", metavar="S", help="scope: items from this source")


def _add_switch(parser: argparse.ArgumentParser, dest: str, on: str, off: str) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(f"--{on}", dest=dest, action="store_const", const=True)
    group.add_argument(f"--{off}", dest=dest, action="store_const", const=False)


def validate_watch_args(args: argparse.Namespace) -> None:
    """Refuse a malformed watch or alerts command before the database is opened (ValueError)."""
    if args.command == "alerts":
        if args.alert_ids and args.action != "seen":
            raise ValidationError("alert ids are for `alerts seen ID ...`")
        if args.action == "seen" and (args.unseen or args.format != "json"):
            raise ValidationError("`alerts seen` takes alert ids or --watch, not --unseen or --format")
        return
    if args.watch_command not in ("add", "update"):
        return
    if args.name is not None:
        args.name = validate_name(args.name)
    if args.query is not None and args.query.strip():
        try:
            parse_query(args.query)
        except QueryError as exc:
            raise ValidationError(f"--query: {exc}") from None
    if args.regex is not None and args.regex.strip():
        try:
            compile_regex(args.regex)
        except QueryError as exc:
            raise ValidationError(f"--regex: {exc}") from None
    if args.watch_command == "add" and not (args.query or "").strip() and not (args.regex or "").strip():
        raise ValidationError("a watch needs --query, --regex, or both")
    if args.source:
        for word in args.source:
            if word not in SOURCES and word not in SOURCE_ALIASES:
                raise ValidationError(f"unknown source {word!r}: choose among {', '.join(SOURCES)}")
        args.source = [Source(word).value for word in args.source]
    if args.watch_command == "update":
        if args.all_tasks and (args.task or args.source):
            raise ValidationError("--all-tasks and --task/--source contradict")
        changes = [args.name, args.query, args.regex, args.task, args.source]
        changes += [args.notify, args.outbound, args.active]
        if all(value is None for value in changes) and not args.all_tasks and not args.backfill:
            raise ValidationError(
                "nothing to change: give --name, --query, --regex, --task, --source, --all-tasks, "
                "--notify/--no-notify, --outbound/--no-outbound, --active/--inactive or --backfill"
            )
