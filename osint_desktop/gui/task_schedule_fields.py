"""The task editor's time of day (daily, weekly) and weekday (weekly), in the machine's time zone."""

from __future__ import annotations

from datetime import time

from PySide6.QtCore import QTime, Slot
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QTimeEdit, QWidget

from osint_desktop.app.tasks import TaskInfo
from osint_desktop.core.localzone import local_zone_name
from osint_desktop.core.vocabulary import Frequency
from osint_desktop.gui.formatting import HINT_COLOUR, text_style

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DEFAULT_TIME = time(8, 0)


class TimeOfDayFields(QWidget):
    """"At [09:00] on [Monday] (Europe/Berlin)": enabled for daily and weekly tasks, the day for weekly."""

    def __init__(self, task: TaskInfo | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # A stored time keeps the zone it was given in; a new one is meant in this machine's.
        self.zone = (task.timezone if task and task.at else None) or local_zone_name()
        self.at_check = QCheckBox("At", self)
        self.at_check.setToolTip(
            "Run at this time of day instead of every 24 hours (7 days) from the last run; "
            "it stays at this local time when summer time starts or ends"
        )
        self.time_edit = QTimeEdit(self)
        self.time_edit.setDisplayFormat("HH:mm")
        self.day_combo = QComboBox(self)
        for number, name in enumerate(DAY_NAMES):
            self.day_combo.addItem(name, number)
        self.zone_label = QLabel(f"({self.zone})", self)
        self.zone_label.setStyleSheet(text_style(HINT_COLOUR))
        at = time.fromisoformat(task.at) if task and task.at else DEFAULT_TIME
        self.at_check.setChecked(bool(task and task.at))
        self.time_edit.setTime(QTime(at.hour, at.minute))
        self.day_combo.setCurrentIndex(_day_of(task))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.at_check, self.time_edit, self.day_combo, self.zone_label):
            row.addWidget(widget)
        row.addStretch(1)
        self._frequency = str(task.frequency) if task else Frequency.HOURLY.value
        self.at_check.toggled.connect(self._update)
        self.set_frequency(self._frequency)

    @Slot(str)
    def set_frequency(self, frequency: str) -> None:
        """Hourly tasks run every hour: no time; only weekly ones have a day."""
        self._frequency = frequency
        self._update()

    @Slot()
    def _update(self) -> None:
        timed = self._frequency != Frequency.HOURLY
        self.at_check.setEnabled(timed)
        on = timed and self.at_check.isChecked()
        self.time_edit.setEnabled(on)
        self.day_combo.setVisible(self._frequency == Frequency.WEEKLY)
        self.day_combo.setEnabled(on)
        self.zone_label.setEnabled(on)

    def values(self) -> tuple[time | None, int | None]:
        """(the time of day, the weekday 0-6) as the frequency allows; None where not given."""
        if self._frequency == Frequency.HOURLY or not self.at_check.isChecked():
            return None, None
        chosen = self.time_edit.time()
        weekday = int(self.day_combo.currentData()) if self._frequency == Frequency.WEEKLY else None
        return time(chosen.hour(), chosen.minute()), weekday


def _day_of(task: TaskInfo | None) -> int:
    """The stored weekday, else the day of the next run (in local time), else Monday."""
    if task is None:
        return 0
    if task.weekday is not None:
        return task.weekday
    return task.next_run.astimezone().weekday() if task.next_run is not None else 0
