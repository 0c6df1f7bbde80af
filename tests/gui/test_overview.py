"""The overview page: loads off the GUI thread, draws three charts, reloads per period, handles no data."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCharts import QBarSet, QDateTimeAxis, QLineSeries, QScatterSeries, QStackedBarSeries
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtGui import QPainter
from pytestqt.qtbot import QtBot

from osint_desktop.app.context import AppContext
from osint_desktop.core.db import stats as stats_module
from osint_desktop.core.db.models import CrawlLog, CrawlTask, Item
from osint_desktop.core.timeutil import utcnow
from osint_desktop.gui import overview as overview_module
from osint_desktop.gui.overview import OverviewWidget

LOAD_TIMEOUT_MS = 10_000


@pytest.fixture
def overview_ctx(home: Path) -> Iterator[AppContext]:
    """A fresh data folder opened the way the app opens it."""
    context = AppContext.open(console_log=None)
    yield context
    context.close()


def _collect_garbage_here() -> None:
    """Free dead widgets on the GUI thread.

    Python's cyclic GC runs in whichever thread happens to allocate; a widget left in a
    reference cycle by an earlier test, freed on the stats pool thread, crashes the process.
    """
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


@pytest.fixture
def make_widget(qtbot: QtBot, overview_ctx: AppContext) -> Iterator[Callable[[], OverviewWidget]]:
    """Build overview widgets that are waited for and closed after the test."""
    widgets: list[OverviewWidget] = []
    _collect_garbage_here()

    def make() -> OverviewWidget:
        widget = OverviewWidget(overview_ctx.db)
        qtbot.addWidget(widget)
        widget.resize(1200, 700)
        widgets.append(widget)
        return widget

    yield make
    for widget in widgets:
        assert widget.wait_idle(LOAD_TIMEOUT_MS)
        widget.close()
        widget.deleteLater()
    widgets.clear()
    _collect_garbage_here()


def _refresh(qtbot: QtBot, widget: OverviewWidget) -> None:
    with qtbot.waitSignal(widget.refreshed, timeout=LOAD_TIMEOUT_MS):
        widget.refresh()


def _fill(ctx: AppContext) -> dict[str, int]:
    """Two tasks with runs of every outcome over the last days, and their items."""
    now = utcnow()
    counts = {"success": 0, "partial": 0, "failed": 0, "other": 0, "items": 0}
    with ctx.db.write() as session:
        tasks = [
            CrawlTask(name=name, source="news", frequency="hourly", targets=["https://e.example.org/rss"])
            for name in ("World news", "Security news")
        ]
        session.add_all(tasks)
        session.flush()
        for day in range(5):
            for task in tasks:
                started = now - timedelta(days=day, hours=1)
                for status in ("success", "success", "partial", "failed", "interrupted"):
                    session.add(
                        CrawlLog(
                            task_id=task.id,
                            started_at=started,
                            finished_at=started + timedelta(seconds=3),
                            duration_s=3.0,
                            status=status,
                            trigger="scheduled",
                        )
                    )
                    counts[status if status in ("success", "partial", "failed") else "other"] += 1
                for n in range(4):
                    session.add(
                        Item(
                            task_id=task.id,
                            source="news",
                            dedup_key=f"{task.id}-{day}-{n}",
                            title="t",
                            origin="https://e.example.org/rss",
                            collected_at=started,
                        )
                    )
                    counts["items"] += 1
    return counts


def _bar_sets(widget: OverviewWidget) -> dict[str, QBarSet]:
    (series,) = widget.runs_panel.chart().series()
    assert isinstance(series, QStackedBarSeries)
    return {bar_set.label(): bar_set for bar_set in series.barSets()}


def test_an_empty_database_shows_charts_with_a_friendly_note(
    qtbot: QtBot, make_widget: Callable[[], OverviewWidget]
) -> None:
    widget = make_widget()
    _refresh(qtbot, widget)

    assert widget.stats is not None and widget.stats.empty
    assert not widget.runs_panel.note.isHidden()
    assert "No runs yet" in widget.runs_panel.note.text()
    bars = _bar_sets(widget)
    assert list(bars) == ["Success", "Partial", "Failed", "Other"]
    assert all(bar_set.count() == 30 and bar_set.sum() == 0 for bar_set in bars.values())
    assert widget.runs_card.value.text() == "0"
    assert widget.success_card.value.text() == "—"
    assert widget.items_card.value.text() == "0"
    assert widget.duration_card.value.text() == "—"
    assert widget.items_panel.chart().axes()
    assert isinstance(widget.durations_panel.chart().axes(Qt.Orientation.Horizontal)[0], QDateTimeAxis)
    assert not widget.grab().isNull()


def test_the_charts_show_runs_items_and_durations(
    qtbot: QtBot, overview_ctx: AppContext, make_widget: Callable[[], OverviewWidget]
) -> None:
    counts = _fill(overview_ctx)
    widget = make_widget()
    _refresh(qtbot, widget)

    bars = _bar_sets(widget)
    assert bars["Success"].sum() == counts["success"]
    assert bars["Partial"].sum() == counts["partial"]
    assert bars["Failed"].sum() == counts["failed"]
    assert bars["Other"].sum() == counts["other"]
    assert bars["Success"].color().name() == "#1e9e5a"
    assert bars["Partial"].color().name() == "#d98a00"
    assert bars["Failed"].color().name() == "#d93f3f"
    assert widget.runs_panel.note.isHidden()

    lines = [s for s in widget.items_panel.chart().series() if isinstance(s, QLineSeries)]
    assert sorted(line.name() for line in lines) == ["Security news", "World news"]
    assert sum(point.y() for line in lines for point in line.points()) == counts["items"]

    scatter = [s for s in widget.durations_panel.chart().series() if isinstance(s, QScatterSeries)]
    assert sorted(s.name() for s in scatter) == ["Security news", "World news"]
    finished = counts["success"] + counts["partial"] + counts["failed"] + counts["other"]
    assert sum(s.count() for s in scatter) == finished
    assert isinstance(widget.durations_panel.chart().axes(Qt.Orientation.Horizontal)[0], QDateTimeAxis)

    runs = finished
    assert widget.runs_card.value.text() == f"{runs:,}"
    # Partial runs collected too: they count toward the rate and are named beside it.
    collected = counts["success"] + counts["partial"]
    assert widget.success_card.value.text() == f"{collected / runs * 100:.1f} %"
    assert widget.success_card.detail.text() == f"{counts['partial']} partial · {counts['failed']} failed"
    assert widget.items_card.value.text() == f"{counts['items']:,}"
    assert widget.duration_card.value.text() == "3.0 s"
    assert "World&nbsp;news" in widget.task_legend.text()
    assert widget.runs_panel.view.renderHints() & QPainter.RenderHint.Antialiasing


def test_the_period_selector_reloads_with_that_many_days(
    qtbot: QtBot, overview_ctx: AppContext, make_widget: Callable[[], OverviewWidget]
) -> None:
    _fill(overview_ctx)
    widget = make_widget()
    _refresh(qtbot, widget)

    with qtbot.waitSignal(widget.refreshed, timeout=LOAD_TIMEOUT_MS):
        qtbot.mouseClick(widget._period_group.button(7), Qt.MouseButton.LeftButton)

    assert widget.days == 7
    assert widget.stats is not None and widget.stats.days == 7
    assert all(bar_set.count() == 7 for bar_set in _bar_sets(widget).values())

    with qtbot.waitSignal(widget.refreshed, timeout=LOAD_TIMEOUT_MS):
        widget.set_days(90)
    assert widget._period_group.button(90).isChecked()
    assert all(bar_set.count() == 90 for bar_set in _bar_sets(widget).values())
    with pytest.raises(ValueError, match="days"):
        widget.set_days(14)


def test_statistics_are_read_off_the_gui_thread(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, make_widget: Callable[[], OverviewWidget]
) -> None:
    threads: list[threading.Thread] = []
    real = stats_module.load_overview

    def recording(*args: Any, **kwargs: Any) -> stats_module.OverviewStats:
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(overview_module, "load_overview", recording)
    widget = make_widget()
    delivered_on: list[threading.Thread] = []
    widget.refreshed.connect(lambda: delivered_on.append(threading.current_thread()))
    _refresh(qtbot, widget)

    assert threads and threads[0] is not threading.main_thread()
    assert delivered_on == [threading.main_thread()]


def test_a_refresh_during_a_load_loads_again_and_shows_only_the_fresh_figures(
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    overview_ctx: AppContext,
    make_widget: Callable[[], OverviewWidget],
) -> None:
    release = threading.Event()
    calls: list[int] = []
    real = stats_module.load_overview

    def slow_first(*args: Any, **kwargs: Any) -> stats_module.OverviewStats:
        calls.append(1)
        if len(calls) == 1:
            release.wait(LOAD_TIMEOUT_MS / 1000)
        return real(*args, **kwargs)

    monkeypatch.setattr(overview_module, "load_overview", slow_first)
    widget = make_widget()
    emitted: list[int] = []
    widget.refreshed.connect(lambda: emitted.append(1))

    widget.refresh()
    assert widget.loading
    counts = _fill(overview_ctx)  # data arrives while the first load is under way
    widget.refresh()
    with qtbot.waitSignal(widget.refreshed, timeout=LOAD_TIMEOUT_MS):
        release.set()

    assert len(calls) == 2
    assert emitted == [1]
    assert widget.stats is not None and widget.stats.summary.items == counts["items"]
    assert not widget.loading


def test_a_failed_load_is_shown_not_raised(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, make_widget: Callable[[], OverviewWidget]
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> stats_module.OverviewStats:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(overview_module, "load_overview", broken)
    widget = make_widget()
    widget.refresh()
    qtbot.waitUntil(lambda: not widget.loading, timeout=LOAD_TIMEOUT_MS)

    assert "could not be loaded" in widget.runs_panel.note.text()
    assert "RuntimeError: database is locked" in widget.runs_panel.note.text()
    assert widget.status_label.text() == "Not updated"


def test_showing_the_page_loads_it_once(qtbot: QtBot, make_widget: Callable[[], OverviewWidget]) -> None:
    widget = make_widget()
    with qtbot.waitSignal(widget.refreshed, timeout=LOAD_TIMEOUT_MS):
        widget.show()
    assert widget.stats is not None
    assert not widget.grab().isNull()


def test_a_narrow_chart_labels_fewer_days_than_a_wide_one(
    qtbot: QtBot, overview_ctx: AppContext, make_widget: Callable[[], OverviewWidget]
) -> None:
    """At 800 pixels the eight date labels of each half-window chart were elided to "No… No…"."""
    from PySide6.QtCharts import QCategoryAxis
    from PySide6.QtGui import QFontMetrics

    from osint_desktop.gui.overview import day_label_step

    assert day_label_step(30, 2000, 45) == 4  # eight labels at most
    assert day_label_step(30, 300, 45) == 10  # three fit
    assert day_label_step(7, 120, 45) == 4  # never fewer than two
    _fill(overview_ctx)
    widget = make_widget()
    widget.show()
    _refresh(qtbot, widget)

    def labels(width: int) -> list[str]:
        widget.resize(width, 700)
        qtbot.wait(10)
        [axis] = [a for a in widget.runs_panel.chart().axes(Qt.Orientation.Horizontal)]
        assert isinstance(axis, QCategoryAxis)
        return axis.categoriesLabels()

    wide, narrow = labels(1800), labels(560)
    assert len(narrow) < len(wide) <= 8
    metrics = QFontMetrics(widget.runs_panel.chart().axes(Qt.Orientation.Horizontal)[0].labelsFont())
    room = widget.runs_panel.view.width()
    assert sum(metrics.horizontalAdvance(label) + 12 for label in narrow) < room
