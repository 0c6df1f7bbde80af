"""The keyboard shortcuts: one list that the window, the editors and the help's table all read."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

# Where a shortcut works, as the help's table groups them.
WINDOW = "Anywhere in the window"
TASKS_TABLE = "Tasks table"
TABLES = "Any table"
SEARCH = "Search and filter boxes"
EDITORS = "Task and watch editors"


@dataclass(frozen=True)
class Shortcut:
    """What a shortcut does, its keys and where it works.

    Keys are portable QKeySequence strings, or a standard key that each platform binds its own
    way (Delete is Backspace on macOS): made a sequence only when asked, as that needs the app.
    """

    action: str
    keys: tuple[str | QKeySequence.StandardKey, ...]
    where: str = WINDOW

    def sequences(self) -> list[QKeySequence]:
        """The keys as Qt sequences, the first being the one menus show."""
        found: list[QKeySequence] = []
        for key in self.keys:
            if isinstance(key, str):
                found.append(QKeySequence(key))
            else:
                # The platform's first binding only: Delete's others (Ctrl+D on Linux) stay free.
                found.append(QKeySequence(key))
        return found

    def key_text(self) -> str:
        """The keys as this platform writes them (Ctrl on Linux and Windows, ⌘ on macOS)."""
        native = QKeySequence.SequenceFormat.NativeText
        return ", ".join(sequence.toString(native) for sequence in self.sequences())


# The window's actions.
NEW_TASK = Shortcut("New task", ("Ctrl+N",))
EDIT_TASK = Shortcut("Edit the selected task", ("F2",))
EDIT_TASK_ENTER = Shortcut("Edit the selected task", ("Return",), TASKS_TABLE)
DELETE_TASK = Shortcut("Delete the selected task", (QKeySequence.StandardKey.Delete,))
RUN_NOW = Shortcut("Run the selected task now", ("Ctrl+R",))
RUN_ALL = Shortcut("Run every active task now", ("F5",))
PAUSE = Shortcut("Pause or resume the scheduler", ("Ctrl+P",))
SETTINGS = Shortcut("Settings", ("Ctrl+,",))
QUIT = Shortcut("Quit (stop crawling)", ("Ctrl+Q",))
NEW_WATCH = Shortcut("New watch", ("Ctrl+Shift+N",))
SHOW_ALERTS = Shortcut("Show the alerts", ("Ctrl+Shift+A",))
# Ctrl+Tab as in a browser; Ctrl+PgDn/PgUp where Ctrl+Tab is taken by the desktop.
NEXT_PAGE = Shortcut("Next page", ("Ctrl+Tab", "Ctrl+PgDown"))
PREVIOUS_PAGE = Shortcut("Previous page", ("Ctrl+Shift+Tab", "Ctrl+PgUp"))
FIND = Shortcut("Search or filter on this page", ("Ctrl+F",))
HELP_SHORTCUTS = Shortcut("This list of shortcuts", ("F1",))

# Where Qt's own keys are kept on purpose (listed so that the help is complete).
TABLE_ROWS = Shortcut(
    "Move between rows and cells", ("Up", "Down", "Left", "Right", "PgUp", "PgDown"), TABLES
)
TABLE_LEAVE = Shortcut("Move to the next or previous control", ("Tab", "Shift+Tab"), TABLES)
CLEAR_SEARCH = Shortcut("Clear the search or filter", ("Esc",), SEARCH)

# The editors.
SAVE_EDITOR = Shortcut("Save and close", ("Ctrl+Return", "Ctrl+Enter"), EDITORS)
CLOSE_EDITOR = Shortcut("Close (asks first when something was changed)", ("Esc",), EDITORS)
LEAVE_TARGETS = Shortcut("Leave the targets box (one target a line)", ("Tab", "Shift+Tab"), EDITORS)

# Not bound by the window: the help's table lists them after the window's own.
OUTSIDE_WINDOW = (TABLE_ROWS, TABLE_LEAVE, CLEAR_SEARCH, SAVE_EDITOR, CLOSE_EDITOR, LEAVE_TARGETS)


def page_shortcut(index: int, page: str) -> Shortcut:
    """Alt+1 … Alt+9 for the first nine pages, in tab order."""
    return Shortcut(f"Show {page}", (f"Alt+{index + 1}",))


def bind(action: QAction, shortcut: Shortcut) -> QAction:
    """Give an action a shortcut's keys (the first one shown in menus), working anywhere in its window."""
    action.setShortcuts(shortcut.sequences())
    action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    return action
