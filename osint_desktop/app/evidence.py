"""Evidence exports of chosen items (by id, a watch's matches or a task's items), with custody entries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from osint_desktop import __version__
from osint_desktop.app.tasks import UnknownTaskError
from osint_desktop.app.watches import UnknownWatchError
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.models import Alert, CrawlTask, CustodyEntry, Item, ItemTask, Watch
from osint_desktop.core.evidence.capture import CaptureRef, warc_date
from osint_desktop.core.evidence.package import export_package
from osint_desktop.core.timeutil import utcnow

if TYPE_CHECKING:
    from osint_desktop.core.evidence.retention import RemovedFile

CUSTODY_ACTIONS = ("capture", "export", "delete")


class EvidenceExportError(Exception):
    """The export was refused (no such item, items without a capture); nothing was written."""


@dataclass
class ExportResult:
    """What an export wrote, and which chosen items it left out for having no capture."""

    path: Path
    item_ids: list[int]
    without_capture: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The command line's representation."""
        return {
            "path": str(self.path),
            "item_ids": self.item_ids,
            "items": len(self.item_ids),
            "without_capture": self.without_capture,
        }


def append_custody(
    session: Session, operator: str, action: str, detail: dict[str, Any], at: datetime
) -> None:
    """Add one line to the custody log (never changed or removed afterwards)."""
    if action not in CUSTODY_ACTIONS:
        raise ValueError(f"unknown custody action {action!r}")
    session.add(CustodyEntry(at=at, operator=operator[:200], action=action, detail=detail))


def export_evidence(
    db: Database,
    evidence_dir: Path,
    out: Path,
    *,
    operator: str,
    item_ids: Sequence[int] = (),
    watch_id: int | None = None,
    task_id: int | None = None,
    as_zip: bool = False,
) -> ExportResult:
    """Export the chosen items with their WARC records, and log the export in custody_log.

    Items named one by one must all have a capture (else EvidenceExportError names those
    that do not); of a watch's matches or a task's items, those without one are left out
    and listed in the result, and an export with none left is refused.
    """
    with db.read() as session:
        rows = _chosen(session, item_ids, watch_id, task_id)
        if item_ids:
            missing = sorted(set(item_ids) - {row.id for row in rows})
            if missing:
                raise EvidenceExportError(f"no item with id {', '.join(map(str, missing))}")
        without = [row.id for row in rows if not row.capture]
        if item_ids and without:
            raise EvidenceExportError(
                f"item(s) {', '.join(map(str, without))} have no capture (collected before evidence "
                "was kept, by a source that is not captured, or the capture failed): not exported"
            )
        captured = [row for row in rows if row.capture]
        if not captured:
            raise EvidenceExportError("none of the chosen items has a capture: nothing to export")
        refs = {row.id: CaptureRef.from_dict(row.capture or {}) for row in captured}
        # The linked page each item's text was extracted from, when the task captured it.
        pages = {row.id: CaptureRef.from_dict(row.page_capture) for row in captured if row.page_capture}
        items = [_item_data(row) for row in captured]
        every = [*refs.values(), *pages.values()]
        files = {ref.warc_file for ref in every}
        files |= {ref.revisit_of_file for ref in every if ref.revisit_of_file}
        custody = [_custody_data(entry) for entry in _custody_for(session, files)]
    now = utcnow()
    path = export_package(
        evidence_dir, refs, items, out, app_version=__version__, operator=operator,
        custody=custody, as_zip=as_zip, exported_at=now, page_refs_by_item=pages,
    )
    exported = [row.id for row in captured]
    with db.write() as session:
        append_custody(
            session, operator, "export",
            {"path": str(path), "zip": as_zip, "item_ids": exported, "warc_files": sorted(files)},
            now,
        )
    return ExportResult(path, exported, without)


def _chosen(
    session: Session, item_ids: Sequence[int], watch_id: int | None, task_id: int | None
) -> list[Item]:
    query = (
        select(Item)
        .options(undefer(Item.capture), undefer(Item.page_capture), undefer(Item.article_text))
        .order_by(Item.id)
    )
    if item_ids:
        query = query.where(Item.id.in_(list(item_ids)))
    elif watch_id is not None:
        if session.get(Watch, watch_id) is None:
            raise UnknownWatchError(watch_id)
        query = query.join(Alert, Alert.item_id == Item.id).where(Alert.watch_id == watch_id)
    elif task_id is not None:
        if session.get(CrawlTask, task_id) is None:
            raise UnknownTaskError(task_id)
        query = query.join(ItemTask, ItemTask.item_id == Item.id).where(ItemTask.task_id == task_id)
    else:
        raise EvidenceExportError("choose items, a watch or a task")
    return list(session.scalars(query).unique())


def _item_data(row: Item) -> dict[str, Any]:
    return {
        "id": row.id,
        "source": row.source,
        "dedup_key": row.dedup_key,
        "origin": row.origin,
        "url": row.url,
        "title": row.title,
        "summary": row.summary,
        "author": row.author,
        "published_at": warc_date(row.published_at) if row.published_at else None,
        "collected_at": warc_date(row.collected_at),
        "language": row.language,
        # The main text of the linked page ("capture linked pages"); its bytes are in the WARC.
        "article_text": row.article_text,
    }


def _custody_for(session: Session, files: set[str]) -> list[CustodyEntry]:
    """The custody entries that concern these WARC files: their captures and earlier exports."""
    entries = session.scalars(select(CustodyEntry).order_by(CustodyEntry.at, CustodyEntry.id))
    return [e for e in entries if files & set((e.detail or {}).get("warc_files") or ())]


def _custody_data(entry: CustodyEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": warc_date(entry.at),
        "operator": entry.operator,
        "action": entry.action,
        "detail": entry.detail,
    }


def apply_evidence_retention(
    db: Database,
    evidence_dir: Path,
    keep_days: int,
    *,
    operator: str,
    in_use: Sequence[Path] = (),
) -> list[RemovedFile]:
    """Delete WARC files older than the retention period and log each deletion in custody_log.

    The items that pointed at those files keep their capture reference: the preview and an
    export then say the capture was deleted, and the custody log says when, by whom and what
    the file hashed to.
    """
    from osint_desktop.core.evidence.retention import remove_expired

    removed = remove_expired(evidence_dir, keep_days, utcnow().date(), protect=in_use)
    if removed:
        with db.write() as session:
            append_custody(
                session,
                operator,
                "delete",
                {
                    "reason": f"retention: captures older than {keep_days} days",
                    "warc_files": [file.name for file in removed],
                    "files": [
                        {
                            "name": f.name,
                            "bytes": f.size,
                            "sha256": f.sha256,
                            "started_on": f.started_on.isoformat(),
                        }
                        for f in removed
                    ],
                },
                utcnow(),
            )
    return removed


def deletion_of(db: Database, warc_file: str) -> CustodyEntry | None:
    """The custody entry that records the deletion of warc_file, if it was deleted."""
    with db.read() as session:
        entries = session.scalars(
            select(CustodyEntry).where(CustodyEntry.action == "delete").order_by(CustodyEntry.at.desc())
        )
        for entry in entries:
            if warc_file in ((entry.detail or {}).get("warc_files") or ()):
                session.expunge(entry)
                return entry
    return None
