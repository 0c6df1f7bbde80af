"""The overview page: runs, items and durations over the last days, as charts loaded off the GUI thread."""

from __future__ import annotations

import functools
import html
import math
from datetime import date, datetime

from PySide6.QtCharts import (
    QAbstractAxis,
    QAbstractSeries,
    QBarSet,
    QCategoryAxis,
    QChart,
    QChartView,
    QDateTimeAxis,
    QLineSeries,
    QScatterSeries,
    QStackedBarSeries,
    QValueAxis,
    QXYSeries,
)
from PySide6.QtCore import (
    QDate,
    QDateTime,
    QLocale,
    QMargins,
    QPointF,
    Qt,
    QThreadPool,
    QTime,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QColor,
    QCursor,
    QFont,
    QFontMetrics,
    QPainter,
    QPalette,
    QPen,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStackedLayout,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.stats import (
    DEFAULT_DAYS,
    MAX_DURATION_POINTS,
    OTHER_TASKS,
    OverviewStats,
    load_overview,
)
from osint_desktop.core.vocabulary import RunStatus
from osint_desktop.gui.background import Failure, run_in_background
from osint_desktop.gui.formatting import STATUS_COLOURS, duration

PERIODS = (7, 30, 90)
OTHER_OUTCOMES = "other"  # interrupted, skipped and the like, lumped together on the chart
OUTCOME_COLOURS = {
    RunStatus.SUCCESS: STATUS_COLOURS[RunStatus.SUCCESS],
    RunStatus.PARTIAL: STATUS_COLOURS[RunStatus.PARTIAL],
    RunStatus.FAILED: STATUS_COLOURS[RunStatus.FAILED],
    OTHER_OUTCOMES: "#9aa3ad",
}
OUTCOME_LABELS = {
    RunStatus.SUCCESS: "Success",
    RunStatus.PARTIAL: "Partial",
    RunStatus.FAILED: "Failed",
    OTHER_OUTCOMES: "Other",
}
# Tableau 10 without its grey, which marks "Other": distinct hues that survive a projector.
TASK_COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1", "#edc948", "#9c755f")
OTHER_COLOUR = "#a5acb5"
TARGET_DAY_LABELS = 8
# Room beside each date label, and what the axes and margins take from a chart's width: at
# 800 pixels, eight dates per half-window chart were elided to "No… No…".
LABEL_GAP = 18
CHART_FURNITURE = 70


class _StatCard(QFrame):
    """One figure of the summary row: a caption, a big value and a line of detail."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statCard")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.caption = QLabel(caption.upper())
        self.value = QLabel("—")
        self.detail = QLabel("")
        caption_font = self.caption.font()
        caption_font.setPointSizeF(caption_font.pointSizeF() * 0.85)
        caption_font.setWeight(QFont.Weight.DemiBold)
        caption_font.setLetterSpacing(QFont.SpacingType.PercentageSpacing, 106)
        self.caption.setFont(caption_font)
        value_font = self.value.font()
        value_font.setPointSizeF(value_font.pointSizeF() * 1.9)
        value_font.setWeight(QFont.Weight.DemiBold)
        self.value.setFont(value_font)
        self.value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for label in (self.caption, self.detail):
            label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(2)
        layout.addWidget(self.caption)
        layout.addWidget(self.value)
        layout.addWidget(self.detail)

    def show_value(self, value: str, detail: str = "", colour: str | None = None) -> None:
        """Set the figure, its detail line and, optionally, a colour for the figure."""
        self.value.setText(value)
        self.detail.setText(detail)
        self.value.setStyleSheet(f"color: {colour};" if colour else "")


class _ChartPanel(QFrame):
    """A chart view with a note laid over it for when there is nothing to draw."""

    resized = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chartCard")
        self.view = QChartView()
        self.view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.view.setFrameShape(QFrame.Shape.NoFrame)
        # Small enough for a 1024x600 screen; the page scrolls below this.
        self.view.setMinimumSize(260, 200)
        # The card paints the background; the view and the chart stay see-through on it.
        self.view.setBackgroundBrush(self.palette().brush(QPalette.ColorRole.Base))
        self.note = QLabel()
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.note.setWordWrap(True)
        self.note.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.note.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        note_font = self.note.font()
        note_font.setPointSizeF(note_font.pointSizeF() * 1.15)
        self.note.setFont(note_font)
        self.note.hide()
        stack = QStackedLayout(self)
        stack.setStackingMode(QStackedLayout.StackingMode.StackAll)
        stack.setContentsMargins(1, 1, 1, 1)
        stack.addWidget(self.note)
        stack.addWidget(self.view)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.resized.emit()

    def chart(self) -> QChart:
        """The chart on show."""
        return self.view.chart()

    def set_chart(self, chart: QChart) -> None:
        """Show a new chart and let the old one go (the view hands its ownership back)."""
        old = self.view.chart()
        self.view.setChart(chart)
        if old is not None and old is not chart:
            old.deleteLater()

    def show_note(self, text: str | None) -> None:
        """Lay a note over the chart, or remove it with None."""
        self.note.setText(text or "")
        self.note.setVisible(bool(text))
        if text:
            self.note.raise_()


class OverviewWidget(QWidget):
    """Task performance at a glance: runs by outcome, items per task, run durations."""

    refreshed = Signal()  # the charts show freshly loaded figures

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._db = db
        # A pool of its own, so wait_idle() waits for this page's load alone; as a child it is
        # destroyed (waiting for its job) with the page.
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._days = DEFAULT_DAYS
        self._busy = False
        self._again = False
        self._stats: OverviewStats | None = None
        self._locale = _display_locale()
        self._task_colours: dict[str, str] = {}
        self._run_days: list[date] = []
        self._run_counts: dict[str, list[int]] = {}
        self._item_days: list[date] = []
        self._wanted_ticks = 7
        self._build()
        self._draw_placeholder()

    # public ------------------------------------------------------------------------

    @property
    def days(self) -> int:
        """The period shown, in days."""
        return self._days

    @property
    def stats(self) -> OverviewStats | None:
        """The figures on show, once loaded."""
        return self._stats

    @property
    def loading(self) -> bool:
        """Whether a load is under way."""
        return self._busy

    def set_days(self, days: int) -> None:
        """Show another period (7, 30 or 90 days) and reload."""
        if days not in PERIODS:
            raise ValueError(f"the overview shows {', '.join(map(str, PERIODS))} days, not {days}")
        button = self._period_group.button(days)
        if not button.isChecked():
            button.setChecked(True)  # its toggled signal reloads
        elif days != self._days:
            self._days = days
            self.refresh()

    @Slot()
    def refresh(self) -> None:
        """Reload the figures in the background; the charts update when they arrive."""
        if self._busy:
            # One load at a time; the one under way is stale, so load again when it ends.
            self._again = True
            return
        self._busy = True
        self._again = False
        self.status_label.setText("Loading…")
        run_in_background(
            # tz=None: days are the analyst's local calendar days.
            functools.partial(load_overview, self._db, self._days, tz=None),
            self._on_loaded,
            owner=self,
            on_error=self._on_failed,
            pool=self._pool,
        )

    def wait_idle(self, timeout_ms: int = 5000) -> bool:
        """Block until no load is running (shutdown); False when the timeout passed first."""
        self._pool.clear()
        return bool(self._pool.waitForDone(timeout_ms))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stats is None and not self._busy:
            self.refresh()

    # results -----------------------------------------------------------------------

    def _on_loaded(self, stats: OverviewStats) -> None:
        self._busy = False
        if self._again:
            # The figures changed while these were read: read them again.
            self.refresh()
            return
        self._stats = stats
        self._draw(stats)
        self.status_label.setText(f"Updated {self._locale.toString(QTime.currentTime(), 'HH:mm')}")
        self.refreshed.emit()

    def _on_failed(self, failure: Failure) -> None:
        self._busy = False
        if self._again:
            self.refresh()
            return
        self.status_label.setText("Not updated")
        for panel in self._panels:
            panel.show_note(f"The statistics could not be loaded:\n{failure.kind}: {failure.message}")

    # layout ------------------------------------------------------------------------

    def _build(self) -> None:
        title = QLabel("Overview")
        title_font = title.font()
        title_font.setPointSizeF(title_font.pointSizeF() * 1.45)
        title_font.setWeight(QFont.Weight.DemiBold)
        title.setFont(title_font)
        self.status_label = QLabel("")
        self.status_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        self._period_group = QButtonGroup(self)
        self._period_group.setExclusive(True)
        period_box = QHBoxLayout()
        period_box.setSpacing(0)
        for days in PERIODS:
            button = QPushButton(f"{days} days")
            button.setObjectName("periodButton")
            button.setCheckable(True)
            button.setChecked(days == self._days)
            button.setToolTip(f"Show the last {days} days")
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            self._period_group.addButton(button, days)
            period_box.addWidget(button)
        self._period_group.idToggled.connect(self._on_period_toggled)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Load the figures again")
        self.refresh_button.clicked.connect(self.refresh)

        header = QHBoxLayout()
        header.addWidget(title)
        header.addSpacing(12)
        header.addWidget(self.status_label, 0, Qt.AlignmentFlag.AlignBottom)
        header.addStretch(1)
        header.addWidget(QLabel("Period:"))
        header.addLayout(period_box)
        header.addSpacing(8)
        header.addWidget(self.refresh_button)

        self.runs_card = _StatCard("Runs")
        self.success_card = _StatCard("Success rate")
        self.success_card.setToolTip(
            "Share of finished runs that collected: successful runs and partial ones "
            "(some targets failed, the others worked)"
        )
        self.items_card = _StatCard("Items collected")
        self.duration_card = _StatCard("Mean duration")
        cards = QHBoxLayout()
        cards.setSpacing(10)
        for card in (self.runs_card, self.success_card, self.items_card, self.duration_card):
            cards.addWidget(card)

        self.runs_panel = _ChartPanel()
        self.items_panel = _ChartPanel()
        self.durations_panel = _ChartPanel()
        self._panels = (self.runs_panel, self.items_panel, self.durations_panel)
        for panel in self._panels:
            panel.resized.connect(self._relabel_days)
        grid = QGridLayout()
        grid.setSpacing(10)
        grid.addWidget(self.runs_panel, 0, 0)
        grid.addWidget(self.items_panel, 0, 1)
        # One legend for both per-task charts: the charts' own legends would cut task names
        # short in half a window, and a task has the same colour in both.
        self.task_legend = QLabel()
        self.task_legend.setObjectName("taskLegend")
        self.task_legend.setTextFormat(Qt.TextFormat.RichText)
        self.task_legend.setWordWrap(True)
        self.task_legend.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.task_legend.setFont(self._small_font())
        grid.addWidget(self.task_legend, 1, 0, 1, 2)
        grid.addWidget(self.durations_panel, 2, 0, 1, 2)
        grid.setRowStretch(0, 1)
        grid.setRowStretch(2, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 12)
        layout.setSpacing(10)
        layout.addLayout(header)
        layout.addLayout(cards)
        layout.addLayout(grid, 1)
        self._apply_style()

    def _apply_style(self) -> None:
        palette = self.palette()
        border = palette.color(QPalette.ColorRole.Mid).name()
        accent = palette.color(QPalette.ColorRole.Highlight).name()
        accent_text = palette.color(QPalette.ColorRole.HighlightedText).name()
        # palette() keeps the cards right under a dark desktop theme too.
        self.setStyleSheet(
            f"""
            QFrame#statCard, QFrame#chartCard {{
                background: palette(base);
                border: 1px solid {border};
                border-radius: 6px;
            }}
            QFrame#statCard QLabel {{ background: transparent; border: none; }}
            QPushButton#periodButton {{
                padding: 4px 12px;
                border: 1px solid {border};
                background: palette(button);
            }}
            QPushButton#periodButton:checked {{
                background: {accent};
                color: {accent_text};
                border-color: {accent};
            }}
            """
        )

    def _dark(self) -> bool:
        return self.palette().color(QPalette.ColorRole.Base).lightness() < 128

    @Slot(int, bool)
    def _on_period_toggled(self, days: int, checked: bool) -> None:
        if checked and days != self._days:
            self._days = days
            self.refresh()

    # drawing -----------------------------------------------------------------------

    def _new_chart(self, title: str) -> QChart:
        chart = QChart()
        theme = QChart.ChartTheme
        chart.setTheme(theme.ChartThemeDark if self._dark() else theme.ChartThemeLight)
        chart.setBackgroundVisible(False)
        chart.setMargins(QMargins(6, 4, 6, 2))
        chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        chart.setTitle(title)
        title_font = QFont(self.font())
        title_font.setPointSizeF(title_font.pointSizeF() * 1.05)
        title_font.setWeight(QFont.Weight.DemiBold)
        chart.setTitleFont(title_font)
        chart.setTitleBrush(self.palette().color(QPalette.ColorRole.Text))
        legend = chart.legend()
        legend.setAlignment(Qt.AlignmentFlag.AlignBottom)
        legend.setFont(self._small_font())
        legend.setLabelColor(self.palette().color(QPalette.ColorRole.Text))
        return chart

    def _small_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 0.9)
        return font

    def _style_axis(self, axis: QAbstractAxis) -> None:
        axis.setLabelsFont(self._small_font())
        axis.setLabelsColor(self.palette().color(QPalette.ColorRole.Text))
        grid = QColor(self.palette().color(QPalette.ColorRole.Mid))
        grid.setAlpha(90)
        axis.setGridLineColor(grid)
        axis.setMinorGridLineVisible(False)

    def _count_axis(self, maximum: float, title: str = "") -> QValueAxis:
        axis = QValueAxis()
        self._style_axis(axis)
        axis.setRange(0, _nice_ceiling(maximum))
        axis.setTickCount(6)
        axis.setLabelFormat("%d")
        if title:
            axis.setTitleText(title)
            axis.setTitleFont(self._small_font())
        return axis

    def _day_axis(self, days: list[date], panel: _ChartPanel) -> QCategoryAxis:
        """An axis over day indexes labelled with as many dates as fit, the last one always."""
        axis = QCategoryAxis()
        self._style_axis(axis)
        axis.setLabelsPosition(QCategoryAxis.AxisLabelsPosition.AxisLabelsPositionOnValue)
        axis.setRange(-0.5, len(days) - 0.5)
        axis.setStartValue(-0.5)
        self._label_days(axis, days, panel.view.width())
        axis.setGridLineVisible(False)
        return axis

    def _label_days(self, axis: QCategoryAxis, days: list[date], width: int) -> None:
        for label in axis.categoriesLabels():
            axis.remove(label)
        step = day_label_step(len(days), width, self._day_label_width())
        for index, day in enumerate(days):
            if (len(days) - 1 - index) % step == 0:
                axis.append(self._day_label(day), index)

    def _day_label_width(self) -> int:
        # The widest date label, as "Sep 30" in English: what two neighbours must not overlap.
        return QFontMetrics(self._small_font()).horizontalAdvance(self._day_label(date(2000, 9, 30)))

    def _relabel_days(self) -> None:
        """Fewer dates on a narrow chart, more on a wide one, never cut to "No…"."""
        for panel, days in ((self.runs_panel, self._run_days), (self.items_panel, self._item_days)):
            for axis in panel.chart().axes(Qt.Orientation.Horizontal):
                if isinstance(axis, QCategoryAxis):
                    self._label_days(axis, days, panel.view.width())
        for axis in self.durations_panel.chart().axes(Qt.Orientation.Horizontal):
            if isinstance(axis, QDateTimeAxis):
                axis.setTickCount(self._time_ticks(self._wanted_ticks))

    def _time_ticks(self, wanted: int) -> int:
        """As many ticks of the duration chart's time axis as fit its width, at most wanted."""
        room = max(0, self.durations_panel.view.width() - CHART_FURNITURE)
        fits = room // (self._day_label_width() + LABEL_GAP) + 1
        return max(2, min(wanted, fits))

    def _day_label(self, day: date) -> str:
        return self._locale.toString(QDate(day.year, day.month, day.day), "MMM d")

    def _draw_placeholder(self) -> None:
        today = date.today()
        days = [date.fromordinal(today.toordinal() - self._days + 1 + i) for i in range(self._days)]
        self._draw_runs(days, {key: [0] * len(days) for key in OUTCOME_COLOURS}, "")
        self._draw_items(days, {}, "")
        self._draw_durations(None, None, {}, "")

    def _draw(self, stats: OverviewStats) -> None:
        self._update_cards(stats)
        self._assign_colours(stats)
        self._update_task_legend(stats)
        days = [d.date for d in stats.runs_per_day]
        outcomes = {
            RunStatus.SUCCESS: [d.success for d in stats.runs_per_day],
            RunStatus.PARTIAL: [d.partial for d in stats.runs_per_day],
            RunStatus.FAILED: [d.failed for d in stats.runs_per_day],
            OTHER_OUTCOMES: [d.other for d in stats.runs_per_day],
        }
        period = f"the last {stats.days} days"
        if not stats.any_runs_ever:
            runs_note = "No runs yet.\nRuns appear here once a task has been run."
        elif stats.summary.runs == 0:
            runs_note = f"No runs in {period}."
        else:
            runs_note = ""
        self._draw_runs(days, outcomes, runs_note)
        items_note = "" if stats.summary.items else f"No items collected in {period}."
        if not stats.any_runs_ever:
            items_note = "No items yet."
        self._draw_items(days, stats.items_per_day, items_note)
        durations_note = "" if stats.durations else f"No finished runs in {period}."
        if not stats.any_runs_ever:
            durations_note = "No runs yet."
        self._draw_durations(stats.since, stats.until, stats.durations, durations_note, stats.days)

    def _update_cards(self, stats: OverviewStats) -> None:
        s = stats.summary
        number = self._locale.toString
        self.runs_card.show_value(number(s.runs), f"in the last {stats.days} days")
        # A partial run collected (some targets failed, the others worked): counting it as a
        # failure showed "0.0 %" for a task with one dead feed while its items arrived. The
        # partial runs are counted in, and named in the detail line.
        rate = (s.success + s.partial) / s.finished if s.finished else None
        if rate is None:
            self.success_card.show_value("—", "no finished runs")
        else:
            colour = (
                OUTCOME_COLOURS[RunStatus.SUCCESS] if rate >= 0.9
                else OUTCOME_COLOURS[RunStatus.PARTIAL] if rate >= 0.7
                else OUTCOME_COLOURS[RunStatus.FAILED]
            )
            self.success_card.show_value(
                f"{rate * 100:.1f} %", f"{number(s.partial)} partial · {number(s.failed)} failed", colour
            )
        tasks = sum(1 for name in stats.items_per_day if name != OTHER_TASKS)
        if not s.items:
            detail = f"in the last {stats.days} days"
        elif OTHER_TASKS in stats.items_per_day:
            detail = f"by {tasks} tasks and more"
        else:
            detail = f"by {tasks} task{'s' if tasks != 1 else ''}"
        self.items_card.show_value(number(s.items), detail)
        if s.mean_duration_s is None:
            self.duration_card.show_value("—", "no finished runs")
        else:
            self.duration_card.show_value(duration(s.mean_duration_s), "per finished run")

    def _assign_colours(self, stats: OverviewStats) -> None:
        # A task keeps its colour in both per-task charts and across reloads.
        names = [n for n in (*stats.items_per_day, *stats.durations) if n != OTHER_TASKS]
        used = {self._task_colours[n] for n in names if n in self._task_colours}
        free = [c for c in TASK_COLOURS if c not in used]
        for name in names:
            if name not in self._task_colours:
                self._task_colours[name] = free.pop(0) if free else TASK_COLOURS[len(self._task_colours) % 8]
                used.add(self._task_colours[name])

    def _update_task_legend(self, stats: OverviewStats) -> None:
        names = list(dict.fromkeys(n for n in (*stats.items_per_day, *stats.durations) if n != OTHER_TASKS))
        entries = [
            f'<span style="color:{self._task_colours[n]}; font-size:large">&#9679;</span>'
            f"&nbsp;{html.escape(n).replace(' ', '&nbsp;')}"
            for n in names
        ]
        if OTHER_TASKS in stats.items_per_day:
            entries.append(
                f'<span style="color:{OTHER_COLOUR}; font-size:large">&#9679;</span>&nbsp;'
                "Other&nbsp;tasks&nbsp;(summed)"
            )
        self.task_legend.setText(" &nbsp;&nbsp; ".join(entries))
        self.task_legend.setVisible(bool(entries))

    def _colour(self, name: str) -> QColor:
        return QColor(OTHER_COLOUR if name == OTHER_TASKS else self._task_colours.get(name, OTHER_COLOUR))

    def _draw_runs(self, days: list[date], outcomes: dict[str, list[int]], note: str) -> None:
        chart = self._new_chart("Runs per day by outcome")
        series = QStackedBarSeries()
        series.setBarWidth(0.72)
        for key, counts in outcomes.items():
            bar_set = QBarSet(OUTCOME_LABELS[key])
            colour = QColor(OUTCOME_COLOURS[key])
            bar_set.setColor(colour)
            bar_set.setBorderColor(colour)
            bar_set.append([float(c) for c in counts])
            series.append(bar_set)
        series.hovered.connect(self._on_bar_hovered)
        chart.addSeries(series)
        totals = [sum(day) for day in zip(*outcomes.values(), strict=True)] or [0]
        self._run_days = days
        self._attach(chart, series, self._day_axis(days, self.runs_panel), self._count_axis(max(totals)))
        self._run_counts = outcomes
        self.runs_panel.set_chart(chart)
        self.runs_panel.show_note(note)

    def _draw_items(self, days: list[date], per_task: dict[str, list[tuple[date, int]]], note: str) -> None:
        chart = self._new_chart("Items collected per day")
        peak = 0
        show_points = len(days) <= 31
        first: QLineSeries | None = None
        chart.legend().hide()
        for name, points in per_task.items():
            series = QLineSeries()
            series.setName(name)
            pen = QPen(self._colour(name), 2.2 if name != OTHER_TASKS else 1.6)
            if name == OTHER_TASKS:
                pen.setStyle(Qt.PenStyle.DashLine)
            series.setPen(pen)
            series.setPointsVisible(show_points)
            series.setMarkerSize(5)
            series.append([QPointF(i, count) for i, (_day, count) in enumerate(points)])
            series.hovered.connect(self._on_line_hovered)
            chart.addSeries(series)
            peak = max(peak, *(count for _day, count in points))
            first = first or series
        if first is None:
            # An empty chart still shows its axes, so the page keeps its shape.
            first = QLineSeries()
            chart.addSeries(first)
        self._item_days = days
        x_axis = self._day_axis(days, self.items_panel)
        y_axis = self._count_axis(peak)
        chart.addAxis(x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y_axis, Qt.AlignmentFlag.AlignLeft)
        for series_item in chart.series():
            series_item.attachAxis(x_axis)
            series_item.attachAxis(y_axis)
        self.items_panel.set_chart(chart)
        self.items_panel.show_note(note)

    def _draw_durations(
        self,
        since: datetime | None,
        until: datetime | None,
        per_task: dict[str, list[tuple[datetime, float]]],
        note: str,
        days: int | None = None,
    ) -> None:
        chart = self._new_chart("Run duration per task")
        longest = 0.0
        for name, points in per_task.items():
            series = QScatterSeries()
            series.setName(name)
            series.setMarkerShape(QScatterSeries.MarkerShape.MarkerShapeCircle)
            series.setMarkerSize(7.0)
            colour = self._colour(name)
            fill = QColor(colour)
            fill.setAlpha(190)
            series.setColor(fill)
            series.setBorderColor(colour.darker(115))
            series.append(
                [QPointF(float(started.timestamp() * 1000), seconds) for started, seconds in points]
            )
            series.hovered.connect(self._on_point_hovered)
            chart.addSeries(series)
            longest = max(longest, *(seconds for _started, seconds in points))
        if not per_task:
            chart.addSeries(QScatterSeries())
        chart.legend().hide()
        if any(len(points) >= MAX_DURATION_POINTS for points in per_task.values()):
            chart.setTitle(f"Run duration per task (latest {MAX_DURATION_POINTS} runs of each)")
        x_axis = QDateTimeAxis()
        self._style_axis(x_axis)
        span_days = days or self._days
        end = until.timestamp() if until else QDateTime.currentSecsSinceEpoch()
        start = since.timestamp() if since else end - span_days * 86400
        x_axis.setRange(
            QDateTime.fromMSecsSinceEpoch(int(start * 1000)), QDateTime.fromMSecsSinceEpoch(int(end * 1000))
        )
        # Tick counts that divide the period into whole days: 7 -> 1, 30 -> 5, 90 -> 10 days.
        self._wanted_ticks = {7: 8, 30: 7, 90: 10}.get(span_days, 7)
        x_axis.setTickCount(self._time_ticks(self._wanted_ticks))
        x_axis.setFormat("MMM d" if span_days > 1 else "HH:mm")
        y_axis = QValueAxis()
        self._style_axis(y_axis)
        top = _nice_ceiling(longest * 1.08) if longest else 10.0
        y_axis.setRange(0, top)
        y_axis.setTickCount(6)
        y_axis.setLabelFormat("%.1f s" if top < 10 else "%.0f s")
        chart.addAxis(x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y_axis, Qt.AlignmentFlag.AlignLeft)
        for series_item in chart.series():
            series_item.attachAxis(x_axis)
            series_item.attachAxis(y_axis)
        self.durations_panel.set_chart(chart)
        self.durations_panel.show_note(note)

    @staticmethod
    def _attach(chart: QChart, series: QAbstractSeries, x_axis: QAbstractAxis, y_axis: QAbstractAxis) -> None:
        chart.addAxis(x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y_axis, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(x_axis)
        series.attachAxis(y_axis)

    # tooltips ----------------------------------------------------------------------

    @Slot(bool, int, QBarSet)
    def _on_bar_hovered(self, status: bool, index: int, _bar_set: QBarSet) -> None:
        if not status or not 0 <= index < len(self._run_days):
            QToolTip.hideText()
            return
        parts = [
            f"{self._locale.toString(self._run_counts[key][index])} {OUTCOME_LABELS[key].lower()}"
            for key in OUTCOME_COLOURS
            if self._run_counts[key][index]
        ]
        total = sum(self._run_counts[key][index] for key in OUTCOME_COLOURS)
        day = self._locale.toString(_qdate(self._run_days[index]), QLocale.FormatType.LongFormat)
        QToolTip.showText(QCursor.pos(), f"<b>{day}</b><br>{total} runs: {', '.join(parts) or 'none'}")

    @Slot(QPointF, bool)
    def _on_line_hovered(self, point: QPointF, state: bool) -> None:
        series = self.sender()
        index = round(point.x())
        if not state or not isinstance(series, QXYSeries) or not 0 <= index < len(self._item_days):
            QToolTip.hideText()
            return
        count = int(series.at(index).y()) if index < series.count() else 0
        day = self._locale.toString(_qdate(self._item_days[index]), QLocale.FormatType.ShortFormat)
        QToolTip.showText(QCursor.pos(), f"<b>{series.name()}</b><br>{day}: {count} items")

    @Slot(QPointF, bool)
    def _on_point_hovered(self, point: QPointF, state: bool) -> None:
        series = self.sender()
        if not state or not isinstance(series, QXYSeries):
            QToolTip.hideText()
            return
        started = QDateTime.fromMSecsSinceEpoch(round(point.x()))
        when = self._locale.toString(started, QLocale.FormatType.ShortFormat)
        QToolTip.showText(
            QCursor.pos(), f"<b>{series.name()}</b><br>started {when}<br>took {duration(point.y())}"
        )


def day_label_step(days: int, width: int, label_width: int) -> int:
    """Label every step-th day: at most TARGET_DAY_LABELS, and no more than fit the chart's width."""
    room = max(0, width - CHART_FURNITURE)
    fits = max(2, room // (label_width + LABEL_GAP))
    return max(1, math.ceil(days / min(fits, TARGET_DAY_LABELS)))


def _qdate(day: date) -> QDate:
    # Spelled out: PySide6 accepts a date, but its type stubs do not say so.
    return QDate(day.year, day.month, day.day)


def _display_locale() -> QLocale:
    """The user's locale, or US English under the C locale, which would print 1234567 bare."""
    locale = QLocale()
    if locale.language() == QLocale.Language.C:
        return QLocale(QLocale.Language.English, QLocale.Country.UnitedStates)
    return locale


def _nice_ceiling(value: float) -> float:
    """The next round number at or above value (1, 2, 2.5 or 5 times a power of ten), at least 5."""
    if value <= 5:
        return 5.0
    magnitude = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * magnitude:
            return float(factor * magnitude)
    return float(10 * magnitude)
