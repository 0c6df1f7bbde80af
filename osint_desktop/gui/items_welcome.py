"""What the Items page says while it is empty: a welcome on the first start, else why nothing is listed."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from osint_desktop.app.tasks import TaskInfo
from osint_desktop.gui.formatting import SOURCE_LABELS

ALL_FEEDS = "All feeds and targets"
# The welcome names this many tasks, then says how many more there are.
LISTED_TASKS = 5


def feed_choices(tasks: Sequence[TaskInfo]) -> list[str]:
    """Every task's targets once, sorted: what the feed filter offers."""
    return sorted({target for task in tasks for target in task.targets}, key=str.casefold)


def empty_items_text(filtered: bool, tasks: Sequence[TaskInfo], home: Path | None) -> str:
    """Rich text for the empty Items page; its links are new-task, import-opml, run-all, data-folder."""
    if filtered:
        return (
            "<p>No items match this search and these filters.</p>"
            "<p><a href='clear-filters'>Show every item</a> (Esc clears the search box).</p>"
        )
    parts = ["<h3>Welcome to OSINT Desktop</h3>", "<p>Nothing has been collected yet.</p>"]
    if tasks:
        shown = [
            f"<li><b>{html.escape(task.name)}</b>: {len(task.targets)} "
            f"{'target' if len(task.targets) == 1 else 'targets'} "
            f"({html.escape(SOURCE_LABELS.get(task.source, str(task.source)))}, "
            f"{html.escape(str(task.frequency))}{'' if task.active else ', inactive'})</li>"
            for task in tasks[:LISTED_TASKS]
        ]
        more = len(tasks) - LISTED_TASKS
        if more > 0:
            shown.append(f"<li>and {more} more</li>")
        parts.append(
            "<p>These tasks collect on their schedule (see the Tasks page); "
            "<a href='run-all'>run them now</a> (F5):</p>"
            f"<ul>{''.join(shown)}</ul>"
        )
    parts.append(
        "<p><a href='new-task'>Add a task</a> (Ctrl+N) with your own feeds, one URL a line, or "
        "<a href='import-opml'>import an OPML file</a> from your feed reader (File menu).</p>"
    )
    if home is not None:
        parts.append(
            "<p>The database (unless it is a shared one), the evidence files, backups and settings "
            f"are kept in <a href='data-folder'>{html.escape(str(home))}</a>.</p>"
        )
    return "".join(parts)
