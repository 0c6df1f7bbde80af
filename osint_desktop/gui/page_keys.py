"""Moving between the window's pages from the keyboard, and Ctrl+F into the page's search box."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLineEdit, QTabWidget, QWidget

from osint_desktop.gui.shortcuts import FIND, NEXT_PAGE, PREVIOUS_PAGE, Shortcut, bind, page_shortcut


def search_box_of(page: QWidget | None) -> QLineEdit | None:
    """The page's search or filter box (its search_box attribute), if it has one that can take focus."""
    box = getattr(page, "search_box", None)
    return box if isinstance(box, QLineEdit) and box.isEnabled() else None


class PageKeys(QObject):
    """Ctrl+Tab / Ctrl+PgDn, Ctrl+Shift+Tab / Ctrl+PgUp, Alt+1 … Alt+n and Ctrl+F over a tab widget."""

    def __init__(self, window: QWidget, tabs: QTabWidget, names: Sequence[str]) -> None:
        super().__init__(window)
        self._tabs = tabs
        self.shortcuts: list[Shortcut] = [NEXT_PAGE, PREVIOUS_PAGE]
        self.next_action = self._action(window, "&Next page", NEXT_PAGE)
        self.next_action.triggered.connect(self.next_page)
        self.previous_action = self._action(window, "&Previous page", PREVIOUS_PAGE)
        self.previous_action.triggered.connect(self.previous_page)
        self.page_actions: list[QAction] = []
        for index, name in enumerate(names[:9]):
            shortcut = page_shortcut(index, name)
            self.shortcuts.append(shortcut)
            action = self._action(window, f"&{index + 1} {name}", shortcut)
            action.triggered.connect(functools.partial(self.show_page, index))
            self.page_actions.append(action)
        self.shortcuts.append(FIND)
        self.find_action = self._action(window, "&Find", FIND)
        self.find_action.setStatusTip("Focus the search or filter box of the page shown")
        self.find_action.triggered.connect(self.find)

    @staticmethod
    def _action(window: QWidget, text: str, shortcut: Shortcut) -> QAction:
        action = bind(QAction(text, window), shortcut)
        window.addAction(action)
        return action

    @Slot()
    def next_page(self) -> None:
        """The page to the right, round to the first after the last."""
        count = self._tabs.count()
        if count:
            self.show_page((self._tabs.currentIndex() + 1) % count)

    @Slot()
    def previous_page(self) -> None:
        """The page to the left, round to the last before the first."""
        count = self._tabs.count()
        if count:
            self.show_page((self._tabs.currentIndex() - 1) % count)

    def show_page(self, index: int) -> None:
        """Show a page; the keyboard follows into it (QStackedLayout moves the focus over)."""
        if 0 <= index < self._tabs.count():
            self._tabs.setCurrentIndex(index)

    @Slot()
    def find(self) -> bool:
        """Put the keyboard in the page's search box, its text selected; False on a page without one."""
        box = search_box_of(self._tabs.currentWidget())
        if box is None:
            return False
        box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        box.selectAll()
        return True
