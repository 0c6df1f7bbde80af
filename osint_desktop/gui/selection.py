"""Keeps a paged table's selection on the same records, by id, while its rows move or go."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QObject, Signal, Slot
from PySide6.QtWidgets import QTableView

from osint_desktop.gui.models.paged import PagedTableModel

# A bigger selection (Ctrl+A over many rows) is not carried through a reset: finding each
# record again would cost a page read per record.
MAX_KEPT = 500


class SelectionKeeper(QObject):
    """Remembers the ids of the selected rows and selects those records again after a refresh.

    New rows at the top, another sort order or another filter move records to other rows
    (or out of the table); the selection model only knows row numbers, and a model reset
    clears it without a word. restored is emitted after every refresh of the model, so the
    page can make what it shows (details, preview, actions) match the selection again.
    """

    restored = Signal()

    def __init__(self, table: QTableView, model: PagedTableModel[Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._table = table
        self._model = model
        self._keys: list[int] = []
        self._restoring = False
        table.selectionModel().selectionChanged.connect(self._remember)
        model.refreshed.connect(self._restore)

    @property
    def keys(self) -> list[int]:
        """The ids of the records selected, in table order."""
        return list(self._keys)

    @Slot(QItemSelection, QItemSelection)
    def _remember(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        if self._restoring:
            return
        rows = sorted(index.row() for index in self._table.selectionModel().selectedRows())
        if len(rows) > MAX_KEPT:
            self._keys = []
            return
        self._keys = [self._model.row_key(row) for row in map(self._model.row_at, rows) if row is not None]

    @Slot()
    def _restore(self) -> None:
        selection_model = self._table.selectionModel()
        hints = sorted(index.row() for index in selection_model.selectedRows())
        found: list[int] = []
        for position, key in enumerate(self._keys):
            hint = hints[position] if position < len(hints) else (hints[-1] if hints else None)
            row = self._model.find_row(key, hint)
            if row is not None:
                found.append(row)
        if sorted(found) != hints:
            selection = QItemSelection()
            last_column = self._model.columnCount() - 1
            for row in found:
                selection.select(self._model.index(row, 0), self._model.index(row, last_column))
            self._restoring = True
            try:
                flag = QItemSelectionModel.SelectionFlag
                selection_model.select(selection, flag.ClearAndSelect | flag.Rows)
                if found:
                    selection_model.setCurrentIndex(
                        self._model.index(min(found), 0), QItemSelectionModel.SelectionFlag.NoUpdate
                    )
            finally:
                self._restoring = False
        # Records that are gone are forgotten: they must not come back with a later refresh.
        self._keys = [
            self._model.row_key(row) for row in map(self._model.row_at, sorted(found)) if row is not None
        ]
        self.restored.emit()
