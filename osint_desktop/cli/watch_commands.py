"""The watch and alerts subcommands: one function each, printing one JSON object (or CSV)."""

from __future__ import annotations

import argparse
import io
import sys
from typing import Any

from osint_desktop.app.alerts import list_alerts, mark_seen, write_alerts_csv
from osint_desktop.app.context import AppContext
from osint_desktop.app.matching import backfill_watch
from osint_desktop.app.watches import (
    UnknownWatchError,
    WatchError,
    WatchInfo,
    WatchSpec,
    create_watch,
    delete_watch,
    get_watch,
    list_watches,
    update_watch,
)
from osint_desktop.cli.exit_codes import EXIT_FAILED, EXIT_OK
from osint_desktop.cli.output import emit, error, success


def cmd_watch(ctx: AppContext, args: argparse.Namespace) -> int:
    """watch add | list | update | remove."""
    try:
        if args.watch_command == "list":
            watches = list_watches(ctx.db)
            emit(success(f"{len(watches)} watch(es)", watches=[w.to_json() for w in watches]))
            return EXIT_OK
        if args.watch_command == "remove":
            removed = delete_watch(ctx.db, args.watch_id)
            emit(success(f"watch {removed.name!r} removed", watch_id=removed.id))
            return EXIT_OK
        if args.watch_command == "add":
            watch = create_watch(ctx.db, _spec(args, active=not args.inactive))
            verb = "created"
        else:
            watch = update_watch(ctx.db, args.watch_id, _spec(args, active=args.active))
            verb = "updated"
    except UnknownWatchError as exc:
        emit(error(str(exc), watch_id=exc.watch_id))
        return EXIT_FAILED
    except WatchError as exc:
        emit(error(str(exc)))
        return EXIT_FAILED
    extra: dict[str, Any] = {}
    if args.backfill:
        extra["backfill_matches"] = backfill_watch(ctx.db, watch.id)
    emit(success(f"watch {watch.name!r} {verb}", watch_id=watch.id, watch=watch.to_json(), **extra))
    return EXIT_OK


def _spec(args: argparse.Namespace, active: bool | None) -> WatchSpec:
    all_tasks = getattr(args, "all_tasks", False)
    return WatchSpec(
        name=args.name,
        query=args.query,
        regex=args.regex,
        task_ids=[] if all_tasks else args.task,
        sources=[] if all_tasks else args.source,
        notify=args.notify,
        outbound=args.outbound,
        active=active,
    )


def cmd_alerts(ctx: AppContext, args: argparse.Namespace) -> int:
    """alerts [--watch ID] [--unseen] [--limit N] [--format json|csv]; alerts seen [--watch ID] [ID ...]."""
    if args.watch is not None:
        try:
            watch: WatchInfo | None = get_watch(ctx.db, args.watch)
        except UnknownWatchError as exc:
            emit(error(str(exc), watch_id=exc.watch_id))
            return EXIT_FAILED
    else:
        watch = None
    if args.action == "seen":
        changed = mark_seen(ctx.db, alert_ids=args.alert_ids or None, watch_id=args.watch)
        emit(success(f"{changed} alert(s) marked seen", changed=changed))
        return EXIT_OK
    alerts = list_alerts(ctx.db, watch_id=args.watch, unseen=args.unseen, limit=args.limit)
    if args.format == "csv":
        buffer = io.StringIO()
        write_alerts_csv(alerts, buffer)
        if isinstance(sys.stdout, io.TextIOWrapper):
            sys.stdout.reconfigure(newline="")
        sys.stdout.write(buffer.getvalue())
        sys.stdout.flush()
        return EXIT_OK
    extra = {"watch_id": watch.id} if watch is not None else {}
    emit(success(f"{len(alerts)} alert(s)", alerts=[a.to_json() for a in alerts], **extra))
    return EXIT_OK
