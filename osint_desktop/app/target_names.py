"""Targets' names and OPML folders as crawl_tasks stores them (JSON by target), read and written. Qt-free.

Three columns (migration 0012): target_titles, the names the user gave (an OPML import),
which win; feed_titles, the sources' own names (a feed's title), written by runs alone, so a
run never races an edit; target_folders, the OPML folder path a feed came from. Each keeps
entries for the task's current targets only: a target removed takes its name with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from osint_desktop.core.db.models import CrawlTask
from osint_desktop.core.validation import clean_title

UNTITLED_FOLDER = "(untitled)"


def stored_title(row: CrawlTask, target: str) -> str | None:
    """A stored task's name for one of its targets: the user's, else the source's own, else None."""
    for names in (row.target_titles, row.feed_titles):
        title = names.get(target) if isinstance(names, dict) else None
        if isinstance(title, str) and title:
            return title
    return None


def stored_titles(value: object, targets: Sequence[str] | None) -> dict[str, str]:
    """A titles column as read: the current targets' names, whatever else the cell holds."""
    if not isinstance(value, dict):
        return {}
    current = set(targets or ())
    return {t: v for t, v in value.items() if t in current and isinstance(v, str) and v}


def stored_folders(value: object, targets: Sequence[str] | None) -> dict[str, tuple[str, ...]]:
    """The folders column as read: the current targets' folder paths."""
    if not isinstance(value, dict):
        return {}
    current = set(targets or ())
    return {
        t: tuple(v)
        for t, v in value.items()
        if t in current and isinstance(v, list) and all(isinstance(part, str) for part in v)
    }


def clean_titles(titles: Mapping[str, str], targets: Sequence[str]) -> dict[str, str]:
    """The names given for targets the task has, each on one line and of bounded length."""
    current = set(targets)
    cleaned = {target: clean_title(title) for target, title in titles.items() if target in current}
    return {target: title for target, title in cleaned.items() if title}


def clean_folders(folders: Mapping[str, Sequence[str]], targets: Sequence[str]) -> dict[str, list[str]]:
    """The folder paths given for targets the task has; an empty path is the file's top level."""
    current = set(targets)
    return {
        target: [clean_title(part) or UNTITLED_FOLDER for part in path]
        for target, path in folders.items()
        if target in current
    }


def update_names(
    task: CrawlTask,
    titles: Mapping[str, str] | None,
    folders: Mapping[str, Sequence[str]] | None,
) -> None:
    """Store the names and folders given, else keep those of the targets the task still has."""
    targets = list(task.targets or [])
    new_titles = clean_titles(titles, targets) if titles is not None else _kept(task.target_titles, targets)
    if new_titles != (task.target_titles or {}):
        task.target_titles = new_titles
    kept_folders = _kept(task.target_folders, targets)
    new_folders = clean_folders(folders, targets) if folders is not None else kept_folders
    if new_folders != (task.target_folders or {}):
        task.target_folders = new_folders


def remember_source_titles(task: CrawlTask, found: Mapping[str, str]) -> None:
    """Keep the names a run's sources gave their targets (a feed's title), for the targets the task has.

    Written by runs alone, and a task's runs never overlap: no edit is lost to a race. The
    names the user gave (target_titles) are never touched: they win wherever names are shown.
    """
    targets = set(task.targets or [])
    stored = {t: v for t, v in (task.feed_titles or {}).items() if t in targets}
    for target, title in found.items():
        cleaned = clean_title(title)
        if cleaned and target in targets:
            stored[target] = cleaned
    if stored != (task.feed_titles or {}):
        task.feed_titles = stored


def _kept(stored: dict[str, Any] | None, targets: Sequence[str]) -> dict[str, Any]:
    """What a JSON column by target keeps when the targets change: the entries of those still there."""
    current = set(targets)
    return {target: value for target, value in (stored or {}).items() if target in current}
