"""The subcommands of the command line: one function each, printing one JSON object."""

from __future__ import annotations

import argparse
import gc
import io
import logging
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DBAPIError

from osint_desktop import APP_ID
from osint_desktop.app.context import AppContext, DatabaseProblemError, explain_database_error
from osint_desktop.app.tasks import (
    UnknownTaskError,
    create_task,
    ensure_default_tasks,
    list_tasks,
    update_task,
)
from osint_desktop.cli.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from osint_desktop.cli.output import emit, error, success
from osint_desktop.core.db.backup import list_backups
from osint_desktop.core.intervals import is_due
from osint_desktop.core.secrets import KeyringUnavailableError, redact
from osint_desktop.core.timeutil import utcnow
from osint_desktop.core.validation import ValidationError
from osint_desktop.core.vocabulary import HealthState, RunStatus, Trigger
from osint_desktop.core.wording import count_text

# What only some commands need is imported inside them: a command that lists tasks must
# start without the crawl (requests, feedparser), the evidence tools or the watches.
if TYPE_CHECKING:
    from osint_desktop.app.runs import RunResult

log = logging.getLogger(__name__)



# One output format for every subcommand, those in other modules included.
_emit, _success, _error = emit, success, error


def cmd_init_tasks(ctx: AppContext, args: argparse.Namespace) -> int:
    """Create the default tasks that are missing."""
    created = ensure_default_tasks(ctx.db, have_x_token=bool(ctx.x_token()))
    total = len(list_tasks(ctx.db))
    names = ", ".join(task.name for task in created) or "none"
    _emit(
        _success(
            f"created {len(created)} default task(s): {names}; {total} task(s) in all",
            created=[task.to_json() for task in created],
        )
    )
    return EXIT_OK


def cmd_list_tasks(ctx: AppContext, args: argparse.Namespace) -> int:
    """Every task."""
    tasks = list_tasks(ctx.db)
    _emit(_success(f"{len(tasks)} task(s)", tasks=[task.to_json() for task in tasks]))
    return EXIT_OK


def cmd_add_task(ctx: AppContext, args: argparse.Namespace) -> int:
    """Create a task."""
    task = create_task(
        ctx.db, args.name, args.source, args.frequency, args.target, active=not args.inactive,
        x_max_posts_per_run=args.max_posts_per_run, x_max_posts_per_day=args.max_posts_per_day,
        capture_linked_pages=bool(args.capture_linked_pages), linked_pages_per_run=args.linked_pages_per_run,
        at=args.at, weekday=args.weekday, proxy_url=_task_proxy(ctx, args.proxy), user_agent=args.user_agent,
    )
    _emit(_success(f"task {task.id} {task.name!r} created", task_id=task.id, task=task.to_json()))
    return EXIT_OK


def _task_proxy(ctx: AppContext, proxy: str | None) -> str | None:
    """--proxy as a task stores it: a password moves to the credentials (keyring, file) first."""
    if proxy is None:
        return None
    from osint_desktop.app.proxies import keep_proxy_password

    try:
        return keep_proxy_password(proxy, ctx.home, ctx.settings.token_storage)
    except KeyringUnavailableError as exc:
        raise ValidationError(
            f"the proxy's password cannot be kept: {exc}; choose another credential storage in Settings",
            "proxy",
        ) from None


def _run_payload(result: RunResult) -> dict[str, Any]:
    payload = _success if result.ok else _error
    return payload(result.message, **result.to_json())


def cmd_run_task(ctx: AppContext, args: argparse.Namespace) -> int:
    """Run one task now in this process."""
    from osint_desktop.app.runs import run_task

    result = run_task(ctx.db, args.task_id, Trigger.CLI, ctx.run_options())
    _emit(_run_payload(result))
    return EXIT_OK if result.ok else EXIT_FAILED


def cmd_run_scheduled(ctx: AppContext, args: argparse.Namespace) -> int:
    """Run the due active tasks (or all active tasks), a few at a time."""
    from osint_desktop.app.runs import run_task

    now = utcnow()
    tasks = [t for t in list_tasks(ctx.db) if t.active and (args.all or is_due(t.next_run, now))]
    options = ctx.run_options()

    def run(task_id: int, due: bool) -> RunResult:
        return run_task(ctx.db, task_id, Trigger.CLI, options, advance_schedule=due)

    with ThreadPoolExecutor(max_workers=max(1, ctx.settings.max_concurrent_crawls)) as pool:
        futures = [pool.submit(run, t.id, is_due(t.next_run, now)) for t in tasks]
        results = [future.result() for future in futures]
    # A task skipped because another process is running it is not a failure of this command.
    failed = [r for r in results if not r.ok and r.status != RunStatus.SKIPPED]
    runs = [{"task_id": r.task_id, "message": r.message, **r.to_json()} for r in results]
    summary = (
        f"ran {len(results)} task(s): {len(results) - len(failed)} worked, {len(failed)} failed"
        if results
        else "no active task is due"
    )
    payload = _error if failed else _success
    _emit(
        payload(
            summary,
            runs=runs,
            items_found=sum(r.items_found for r in results),
            items_new=sum(r.items_new for r in results),
        )
    )
    return EXIT_FAILED if failed else EXIT_OK


def cmd_update_schedule(ctx: AppContext, args: argparse.Namespace) -> int:
    """Change frequency, next run or the active flag."""
    task = update_task(
        ctx.db, args.task_id, frequency=args.frequency, next_run=args.next_run, active=args.active,
        x_max_posts_per_run=args.max_posts_per_run, x_max_posts_per_day=args.max_posts_per_day,
        capture_linked_pages=args.capture_linked_pages, linked_pages_per_run=args.linked_pages_per_run,
        at=args.at, weekday=args.weekday, clear_time_of_day=args.clear_at,
        proxy_url=_task_proxy(ctx, args.proxy), user_agent=args.user_agent,
    )
    _emit(_success(f"task {task.id} {task.name!r} updated", task_id=task.id, task=task.to_json()))
    return EXIT_OK


def cmd_logs(ctx: AppContext, args: argparse.Namespace) -> int:
    """Run logs, newest first."""
    from osint_desktop.core.db.queries import list_logs

    if args.task is not None:
        _require_task(ctx, args.task)
    logs = list_logs(ctx.db, task_id=args.task, limit=args.limit)
    extra = {"task_id": args.task} if args.task is not None else {}
    _emit(_success(f"{len(logs)} log(s)", logs=[entry.to_json() for entry in logs], **extra))
    return EXIT_OK


def cmd_items(ctx: AppContext, args: argparse.Namespace) -> int:
    """Collected items, as JSON or CSV."""
    from osint_desktop.core.db.queries import list_items

    if args.task is not None:
        _require_task(ctx, args.task)
    items = list_items(
        ctx.db, task_id=args.task, search=args.search, limit=args.limit,
        unread=args.unread, starred=args.starred,
    )
    if args.format == "csv":
        # The window's export writer: the same columns, line ends and formula-safe cells.
        from osint_desktop.app.export import ItemCsvWriter

        buffer = io.StringIO()
        writer = ItemCsvWriter(buffer)
        for item in items:
            writer.write(item)
        if isinstance(sys.stdout, io.TextIOWrapper):
            # The writer ends its lines itself: Windows' text mode must not add a second "\r".
            sys.stdout.reconfigure(newline="")
        sys.stdout.write(buffer.getvalue())
        sys.stdout.flush()
        return EXIT_OK
    rows = [item.to_json() for item in items]
    _emit(_success(f"{len(rows)} item(s)", items=rows))
    return EXIT_OK


def cmd_sources(ctx: AppContext, args: argparse.Namespace) -> int:
    """Every target of every task (or of one task) with its health: ok, failing or quiet."""
    from osint_desktop.app.health import list_source_health

    if args.task is not None:
        _require_task(ctx, args.task)
    state = HealthState(args.state) if args.state is not None else None
    sources = list_source_health(ctx.db, task_id=args.task, state=state)
    counts = Counter(entry.state for entry in sources)
    summary = ", ".join(f"{counts[word]} {word}" for word in HealthState if counts[word])
    extra = {"task_id": args.task} if args.task is not None else {}
    _emit(
        _success(
            count_text(len(sources), "source") + (f": {summary}" if summary else ""),
            sources=[entry.to_json() for entry in sources],
            **extra,
        )
    )
    return EXIT_OK


def cmd_headless(ctx: AppContext, args: argparse.Namespace) -> int:
    """Run the scheduler until SIGINT or SIGTERM."""
    from osint_desktop.app.headless import HeadlessRunner
    from osint_desktop.app.recovery import current_owner

    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %d received: stopping", signum)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    runner = HeadlessRunner(ctx)
    # Never the password: a URL given with one is shown without it.
    sys.stderr.write(
        f"{APP_ID}: headless scheduler running on {current_owner().host} (database "
        f"{ctx.db.display_url}); stop with Ctrl+C or SIGTERM\n"
    )
    sys.stderr.flush()
    runner.serve(stop)
    # Scheduled runs another collector got first ran nowhere here: counted, not listed.
    results = [r for r in runner.results if not r.lost_claim]
    lost = runner.service.lost_claims
    _emit(
        _success(
            f"headless scheduler stopped after {len(results)} run(s)",
            runs=[{"task_id": r.task_id, **r.to_json()} for r in results],
            lost_claims=lost,
        )
    )
    return EXIT_OK


def cmd_backup(ctx: AppContext, args: argparse.Namespace) -> int:
    """An on-demand backup, kept with the scheduled ones."""
    from osint_desktop.app.maintenance import backup_now

    path = backup_now(ctx.db, ctx.backup_dir, ctx.settings.backup_keep)
    _emit(_success(f"database backed up to {path}", path=str(path)))
    return EXIT_OK


def cmd_restore(ctx: AppContext, args: argparse.Namespace) -> int:
    """Replace the database's content with a backup (the current state is backed up first)."""
    from osint_desktop.app.restore import RestoreError, restore_backup

    backups = list_backups(ctx.backup_dir)
    chosen = Path(args.backup_file).expanduser() if args.backup_file else (backups[0] if backups else None)
    if chosen is None:
        _emit(_error(f"there is no backup in {ctx.backup_dir}"))
        return EXIT_FAILED
    try:
        result = restore_backup(chosen, ctx.db, ctx.backup_dir, ctx.settings.backup_keep)
    except RestoreError as exc:
        _emit(_error(str(exc), path=str(chosen)))
        return EXIT_FAILED
    previous = result.previous
    saved = f"; the previous state was saved as {previous.name}" if previous else ""
    _emit(
        _success(
            f"restored {chosen.name}{saved}",
            path=str(chosen),
            previous=str(previous) if previous else None,
        )
    )
    return EXIT_OK


def _require_task(ctx: AppContext, task_id: int) -> None:
    if not any(task.id == task_id for task in list_tasks(ctx.db)):
        raise UnknownTaskError(task_id)


def cmd_watch(ctx: AppContext, args: argparse.Namespace) -> int:
    """Manage watches (cli/watch_commands.py)."""
    from osint_desktop.cli.watch_commands import cmd_watch as run

    return run(ctx, args)


def cmd_alerts(ctx: AppContext, args: argparse.Namespace) -> int:
    """List or mark alerts (cli/watch_commands.py)."""
    from osint_desktop.cli.watch_commands import cmd_alerts as run

    return run(ctx, args)


def cmd_evidence(ctx: AppContext, args: argparse.Namespace) -> int:
    """Export evidence (cli/evidence_commands.py)."""
    from osint_desktop.cli.evidence_commands import cmd_evidence as run

    return run(ctx, args)


COMMANDS: dict[str, Callable[[AppContext, argparse.Namespace], int]] = {
    "init-tasks": cmd_init_tasks,
    "list-tasks": cmd_list_tasks,
    "add-task": cmd_add_task,
    "run-task": cmd_run_task,
    "run-scheduled": cmd_run_scheduled,
    "update-schedule": cmd_update_schedule,
    "logs": cmd_logs,
    "items": cmd_items,
    "sources": cmd_sources,
    "headless": cmd_headless,
    "backup": cmd_backup,
    "restore": cmd_restore,
    "watch": cmd_watch,
    "alerts": cmd_alerts,
    "evidence": cmd_evidence,
}


def _resume_garbage_collection() -> None:
    """Collection back on after start-up (cli.main turned it off while the modules loaded).

    What start-up made is frozen first (gc.freeze): it lives as long as the process, and
    later collections need not walk it. The few cycles start-up left unreachable stay
    uncollected: a one-off of about 1,400 objects.
    """
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def run_command(args: argparse.Namespace) -> int:
    """Open the context and run one subcommand with uniform error handling."""
    try:
        ctx = AppContext.open(args.db, allow_new_database=args.new_database)
    except DatabaseProblemError as exc:
        _emit(_error(str(exc)))
        return EXIT_FAILED
    finally:
        _resume_garbage_collection()
    try:
        return COMMANDS[args.command](ctx, args)
    except UnknownTaskError as exc:
        _emit(_error(str(exc), task_id=exc.task_id))
        return EXIT_FAILED
    except ValidationError as exc:
        _emit(_error(str(exc)))
        sys.stderr.write(f"{APP_ID}: error: {exc}\n")
        return EXIT_USAGE
    except DBAPIError as exc:
        log.exception("command %s failed", args.command)
        _emit(_error(explain_database_error(ctx.db.url, exc)[0]))
        return EXIT_FAILED
    except Exception as exc:
        log.exception("command %s failed", args.command)
        _emit(_error(redact(f"{type(exc).__name__}: {exc}")))
        return EXIT_FAILED
    finally:
        ctx.close()
