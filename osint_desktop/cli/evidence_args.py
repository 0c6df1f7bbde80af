"""Argument grammar and early checks of the evidence export and verify subcommands (light imports only)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from osint_desktop.core.validation import ValidationError


def add_evidence_parsers(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    positive_int: Callable[[str], int],
) -> None:
    """Add `evidence export` and `verify` to the subcommands."""
    evidence = commands.add_parser("evidence", help="evidence packages of collected items")
    actions = evidence.add_subparsers(dest="evidence_command", metavar="ACTION", required=True)
    export = actions.add_parser(
        "export", help="write chosen items with their WARC records and a hashed manifest"
    )
    chosen = export.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--item", type=positive_int, nargs="+", metavar="ID", help="these items")
    chosen.add_argument("--watch", type=positive_int, metavar="ID", help="the items a watch matched")
    chosen.add_argument("--task", type=positive_int, metavar="ID", help="the items of a task")
    export.add_argument("--out", required=True, type=Path, metavar="PATH", help="a new folder (or zip file)")
    export.add_argument("--zip", action="store_true", help="write one zip file instead of a folder")

    verify = commands.add_parser(
        "verify", help="recompute every hash and WARC digest of an evidence package (exit 1 if any differs)"
    )
    verify.add_argument("path", type=Path, metavar="PATH", help="an evidence package: folder or zip")


def validate_evidence_args(args: argparse.Namespace) -> None:
    """Refuse an export that would overwrite something, before the database is opened."""
    if args.command == "evidence" and args.evidence_command == "export" and args.out.exists():
        raise ValidationError(f"--out: {args.out} already exists; an export never overwrites")
