"""The window's crawls go through the same RunService as headless: same maintenance, same reports."""

from __future__ import annotations

from datetime import datetime

from pytestqt.qtbot import QtBot

from osint_desktop.app.headless import HeadlessRunner
from osint_desktop.app.run_service import (
    MAINTENANCE_EVERY,
    MAINTENANCE_FIRST_AFTER,
    MAINTENANCE_JOB,
    RunService,
)
from osint_desktop.core.timeutil import utcnow
from osint_desktop.core.vocabulary import Trigger
from osint_desktop.gui.application import DesktopApp


def maintenance_next_run(service: RunService) -> datetime:
    job = service.scheduler._scheduler.get_job(MAINTENANCE_JOB)
    assert job is not None
    assert job.trigger.interval == MAINTENANCE_EVERY
    when: datetime = job.next_run_time
    return when


def test_the_window_and_headless_plan_maintenance_alike(desktop: DesktopApp) -> None:
    before = utcnow()
    desktop.start()
    runner = HeadlessRunner(desktop.ctx)
    runner.service.start()
    try:
        window_first = maintenance_next_run(desktop.service)
        headless_first = maintenance_next_run(runner.service)
    finally:
        runner.shutdown()
    assert before + MAINTENANCE_FIRST_AFTER <= window_first <= utcnow() + MAINTENANCE_FIRST_AFTER
    assert abs((window_first - headless_first).total_seconds()) < 5


def test_a_run_of_a_deleted_task_says_it_could_not_start(qtbot: QtBot, desktop: DesktopApp) -> None:
    with qtbot.waitSignal(desktop.controller.run_failed, timeout=10_000) as blocker:
        assert desktop.controller.start_run(4242, Trigger.MANUAL)
    assert blocker.args == [4242, "no task with id 4242"]
    assert not desktop.controller.is_running(4242)
    assert desktop.controller.running == frozenset()
