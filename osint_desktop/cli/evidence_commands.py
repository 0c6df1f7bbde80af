"""The evidence export and verify subcommands: one function each, printing one JSON object."""

from __future__ import annotations

import argparse

from osint_desktop.app.context import AppContext
from osint_desktop.app.evidence import EvidenceExportError, export_evidence
from osint_desktop.app.watches import UnknownWatchError
from osint_desktop.cli.exit_codes import EXIT_FAILED, EXIT_OK
from osint_desktop.cli.output import emit, error, success
from osint_desktop.core.evidence.package import verify_package
from osint_desktop.core.evidence.reader import EvidenceError


def cmd_evidence(ctx: AppContext, args: argparse.Namespace) -> int:
    """evidence export (--item ID ... | --watch ID | --task ID) --out PATH [--zip]."""
    try:
        result = export_evidence(
            ctx.db,
            ctx.evidence_dir,
            args.out,
            operator=ctx.operator,
            item_ids=args.item or (),
            watch_id=args.watch,
            task_id=args.task,
            as_zip=args.zip,
        )
    except UnknownWatchError as exc:
        emit(error(str(exc), watch_id=exc.watch_id))
        return EXIT_FAILED
    except (EvidenceExportError, EvidenceError, FileExistsError) as exc:
        emit(error(str(exc)))
        return EXIT_FAILED
    left_out = f"; {len(result.without_capture)} without a capture left out" if result.without_capture else ""
    emit(success(f"exported {len(result.item_ids)} item(s) to {result.path}{left_out}", **result.to_json()))
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    """verify PATH: OK, or exit 1 with every problem, each naming its file."""
    report = verify_package(args.path)
    counts = {
        "path": str(args.path),
        "files_checked": report.files_checked,
        "records_checked": report.records_checked,
        "items_checked": report.items_checked,
    }
    if report.ok:
        emit(success(report.summary(), **counts))
        return EXIT_OK
    emit(error(report.summary(), problems=report.problems, **counts))
    return EXIT_FAILED
