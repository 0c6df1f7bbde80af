"""The task editor's per-task X read caps and its live estimate of what they would cost."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from osint_desktop.app.context import AppContext
from osint_desktop.app.tasks import get_task
from osint_desktop.core.crawl.social import PRICE_PER_POST_READ_USD, cost_estimate
from osint_desktop.gui.task_dialog import TaskDialog

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")


def choose(dialog: TaskDialog, source: str, frequency: str = "daily") -> None:
    dialog.source_combo.setCurrentIndex(dialog.source_combo.findData(source))
    dialog.frequency_combo.setCurrentIndex(dialog.frequency_combo.findData(frequency))


def cap_rows_shown(dialog: TaskDialog) -> bool:
    return not any(w.isHidden() for w in (dialog.max_run_edit, dialog.max_day_edit, dialog.cost_label))


def test_the_caps_and_their_cost_show_for_x_only_and_follow_every_change(
    qtbot: QtBot, gui_ctx: AppContext
) -> None:
    gui_ctx.settings.x_max_posts_per_run, gui_ctx.settings.x_max_posts_per_day = 100, 500
    assert PRICE_PER_POST_READ_USD == 0.005  # the figures below are worked out at this price
    dialog = TaskDialog(gui_ctx)
    qtbot.addWidget(dialog)
    choose(dialog, "news")
    assert not cap_rows_shown(dialog)
    choose(dialog, "x")
    assert cap_rows_shown(dialog)
    assert dialog.max_run_edit.text() == "" and "100" in dialog.max_run_edit.placeholderText()
    assert dialog.cost_label.text() == "Up to 100 posts a run ≈ $0.50; up to 100 a day ≈ $15.00 a month"
    choose(dialog, "x", "hourly")  # 24 runs a day: the daily setting (500) is the ceiling
    assert dialog.cost_label.text() == "Up to 100 posts a run ≈ $0.50; up to 500 a day ≈ $75.00 a month"
    dialog.max_run_edit.setText("20")
    assert dialog.cost_label.text() == "Up to 20 posts a run ≈ $0.10; up to 480 a day ≈ $72.00 a month"
    dialog.max_day_edit.setText("50")
    assert dialog.cost_label.text() == "Up to 20 posts a run ≈ $0.10; up to 50 a day ≈ $7.50 a month"
    # A task cap above the setting does not raise it: the smaller wins.
    dialog.max_run_edit.setText("5000")
    dialog.max_day_edit.setText("")
    choose(dialog, "x", "weekly")
    assert dialog.cost_label.text() == "Up to 100 posts a run ≈ $0.50; up to 100 a day ≈ $2.14 a month"


def test_saved_caps_are_the_tasks_and_an_emptied_field_clears_one(
    qtbot: QtBot, gui_ctx: AppContext
) -> None:
    dialog = TaskDialog(gui_ctx)
    qtbot.addWidget(dialog)
    dialog.name_edit.setText("X capped")
    choose(dialog, "x")
    dialog.targets_edit.setPlainText("#osint -is:retweet")
    dialog.active_check.setChecked(False)
    dialog.max_run_edit.setText("30")
    dialog.max_day_edit.setText("90")
    dialog.save()
    assert dialog.saved_task_id is not None
    task = get_task(gui_ctx.db, dialog.saved_task_id)
    assert (task.x_max_posts_per_run, task.x_max_posts_per_day) == (30, 90)

    editor = TaskDialog(gui_ctx, task)
    qtbot.addWidget(editor)
    assert (editor.max_run_edit.text(), editor.max_day_edit.text()) == ("30", "90")
    editor.max_run_edit.setText("")
    editor.save()
    task = get_task(gui_ctx.db, task.id)
    assert (task.x_max_posts_per_run, task.x_max_posts_per_day) == (None, 90)


def test_the_estimate_never_counts_past_the_daily_cap() -> None:
    estimate = cost_estimate(per_run_cap=300, per_day_cap=200, runs_per_day=1 / 7)
    assert (estimate.posts_per_run, estimate.posts_per_day) == (200, 200)
    assert estimate.month_usd == pytest.approx(30 * 200 / 7 * PRICE_PER_POST_READ_USD)
