"""The main window: tasks, logs, items and overview, with the actions, menus, toolbar and status bar."""

from __future__ import annotations

import logging

from PySide6.QtCore import QSettings, Qt, QThreadPool, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices
from PySide6.QtWidgets import (
    QFrame,
    QInputDialog,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSystemTrayIcon,
    QTabWidget,
    QWidget,
)

from osint_desktop import APP_NAME, __version__
from osint_desktop.app.context import AppContext
from osint_desktop.app.maintenance import clear_task_logs, prune_logs
from osint_desktop.app.runs import RunResult
from osint_desktop.app.tasks import TaskInfo, delete_task, update_task
from osint_desktop.core.db.changes import Changes
from osint_desktop.core.validation import ValidationError
from osint_desktop.core.vocabulary import Source, TaskStatus, Trigger
from osint_desktop.core.wording import count_text
from osint_desktop.gui import shortcuts as keys
from osint_desktop.gui.alerts_page import AlertsPage
from osint_desktop.gui.background import end_pool_threads
from osint_desktop.gui.crawls import CrawlController
from osint_desktop.gui.db_watch import DatabaseWatcher
from osint_desktop.gui.eliding import ElidedLabel, StatusBar
from osint_desktop.gui.formatting import local_time, relative
from osint_desktop.gui.health_page import HealthPage
from osint_desktop.gui.icons import app_icon
from osint_desktop.gui.items_page import ItemsPage
from osint_desktop.gui.logs_page import LogsPage
from osint_desktop.gui.models.tasks import has_failing_source
from osint_desktop.gui.notifications import Notifier
from osint_desktop.gui.overview import OverviewWidget
from osint_desktop.gui.page_keys import PageKeys
from osint_desktop.gui.scheduler_bridge import OFFLINE_TEXT, PAUSED_TEXT, VIEW_ONLY_TEXT, SchedulerBridge
from osint_desktop.gui.table_columns import TableColumns
from osint_desktop.gui.task_dialog import TaskDialog
from osint_desktop.gui.tasks_page import TasksPage
from osint_desktop.gui.tray import Tray
from osint_desktop.gui.window_geometry import WindowGeometry

log = logging.getLogger(__name__)

TAB_TASKS, TAB_LOGS, TAB_ITEMS, TAB_ALERTS, TAB_OVERVIEW, TAB_SOURCES = range(6)
PAGE_NAMES = ("Tasks", "Logs", "Items", "Alerts", "Overview", "Sources")
REFRESH_INTERVAL_MS = 30_000


class MainWindow(QMainWindow):
    """Everything the analyst sees; it reacts to the controller's and scheduler's signals."""

    quit_requested = Signal()

    def __init__(
        self,
        ctx: AppContext,
        controller: CrawlController,
        bridge: SchedulerBridge,
        notifier: Notifier,
        tray: Tray | None,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.controller = controller
        self.bridge = bridge
        self.notifier = notifier
        self.tray = tray
        self.quitting = False
        self.ui_state = QSettings(str(ctx.home / "window.ini"), QSettings.Format.IniFormat)
        self.geometry_keeper = WindowGeometry(self, self.ui_state)
        # Every shortcut the window binds, in menu order: Help > Keyboard shortcuts lists these.
        self.shortcut_list: list[keys.Shortcut] = []
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())
        self.setStatusBar(StatusBar(self))

        self.tasks_page = TasksPage(ctx.db, self)
        # The window works on the page's model and table throughout: short names for them.
        self.task_model = self.tasks_page.model
        self.tasks_table = self.tasks_page.table
        self.task_model.on_toggle_active = self.set_task_active
        self.logs_page = LogsPage(ctx.db, self)
        self.items_page = ItemsPage(
            ctx.db, self, evidence_dir=ctx.evidence_dir, settings=ctx.settings, home=ctx.home
        )
        # The unread per task, counted by the items page after every refresh of its list.
        self.items_page.reading_counts_changed.connect(self.task_model.set_unread_counts)
        self.alerts_page = AlertsPage(ctx, self)
        self.overview = OverviewWidget(ctx.db, self)
        self.health_page = HealthPage(ctx.db, self)
        self.tabs = QTabWidget()
        # The charts scroll below their smallest readable size rather than make the window taller
        # than a 600-pixel screen.
        overview_scroll = QScrollArea()
        overview_scroll.setWidget(self.overview)
        overview_scroll.setWidgetResizable(True)
        overview_scroll.setFrameShape(QFrame.Shape.NoFrame)
        pages: tuple[QWidget, ...] = (self.tasks_page, self.logs_page, self.items_page, self.alerts_page)
        pages += (overview_scroll, self.health_page)
        for page, name in zip(pages, PAGE_NAMES, strict=True):
            self.tabs.addTab(page, name)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.setCentralWidget(self.tabs)
        # Right-click a header to show the columns hidden at first: the items' source (its filter,
        # the task and the origin say it too, and the table is narrow beside the preview), a
        # run's finish (its start and duration give it) and host (the details have it), a
        # source's kind (its task says it) and usual interval (its reason says it).
        self.columns = {
            name: TableColumns(table, name, self.ui_state, hidden)
            for name, table, hidden in (
                ("tasks", self.tasks_table, ()),
                ("logs", self.logs_page.table, ("Finished", "Host")),
                ("items", self.items_page.table, ("Source",)),
                ("alerts", self.alerts_page.table, ()),
                ("sources", self.health_page.table, ("Source", "Usual interval")),
            )
        }

        self._make_actions()
        self._connect_tasks_page()
        self._connect_alerts_page()
        self._make_menus_and_toolbar()
        self._make_status_bar()
        self._connect()

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setInterval(REFRESH_INTERVAL_MS)
        self._refresh_timer.timeout.connect(self.periodic_refresh)
        self._refresh_timer.start()
        # Runs of the command line or a headless collector, tasks changed elsewhere: within a
        # second or two on every page, at the cost of a PRAGMA when nothing changed.
        # On PostgreSQL the server announces each commit (LISTEN/NOTIFY): no waiting for a poll.
        self.db_watch = DatabaseWatcher(ctx.db, self, changes=ctx.changes)
        self.db_watch.changed.connect(self.on_database_changed)
        self.db_watch.start()
        self.reload_all()
        self._restore_ui_state()

    # construction ---------------------------------------------------------------

    def _action(
        self, text: str, slot: object, shortcut: keys.Shortcut | None = None, tip: str = ""
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            keys.bind(action, shortcut)
            self.shortcut_list.append(shortcut)
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(f"{tip} ({action.shortcut().toString()})" if shortcut else tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _make_actions(self) -> None:
        self.new_action = self._action("&New task…", self.new_task, keys.NEW_TASK, "Create a crawl task")
        self.edit_action = self._action(
            "&Edit task…", self.edit_task, keys.EDIT_TASK, "Edit the selected task"
        )
        self.edit_enter_action = self._action(
            "Edit task (Enter)", self.edit_task_if_table_focused, keys.EDIT_TASK_ENTER
        )
        self.delete_action = self._action(
            "&Delete task", self.delete_task, keys.DELETE_TASK, "Delete the selected task"
        )
        self.run_action = self._action(
            "&Run now", self.run_selected, keys.RUN_NOW, "Run the selected task now"
        )
        self.run_all_action = self._action(
            "Run &all", self.run_all, keys.RUN_ALL, "Run every active task now"
        )
        self.stop_action = self._action(
            "&Stop", self.stop_selected, tip="Stop the selected task's run; what it collected so far is kept"
        )
        self.pause_action = self._action(
            "&Pause scheduler", self.toggle_pause, keys.PAUSE, "Pause or resume scheduled runs"
        )
        self.pause_action.setCheckable(True)
        self.settings_action = self._action(
            "&Settings…", self.open_settings, keys.SETTINGS, "Token, limits, notifications"
        )
        self.quit_action = self._action("&Quit", self.request_quit, keys.QUIT, "Stop crawling and quit")
        self.import_opml_action = self._action("&Import feeds (OPML)…", self.import_opml)
        self.export_opml_action = self._action("E&xport feeds (OPML)…", self.export_opml)
        self.clear_logs_action = self._action("&Clear old logs…", self.clear_old_logs)
        self.about_action = self._action("&About", self.about)
        self.new_watch_action = self._action(
            "New &watch…", self.new_watch, keys.NEW_WATCH, "Follow names, terms and indicators"
        )
        self.show_alerts_action = self._action(
            "&Alerts", lambda: self.show_alerts(None), keys.SHOW_ALERTS, "The matches of your watches"
        )
        self.page_keys = PageKeys(self, self.tabs, PAGE_NAMES)
        self.shortcut_list.extend(self.page_keys.shortcuts)
        self.shortcuts_action = self._action(
            "&Keyboard shortcuts", self.show_shortcuts, keys.HELP_SHORTCUTS, "Every keyboard shortcut"
        )

    def _connect_alerts_page(self) -> None:
        page = self.alerts_page
        page.unseen_changed.connect(self._on_unseen_changed)
        page.watches_changed.connect(self.items_page.set_watches)
        page.show_items_requested.connect(self._show_watch_items)

    def _connect_tasks_page(self) -> None:
        page = self.tasks_page
        page.set_menu_actions(self.new_action, self.run_action, self.edit_action, self.delete_action)
        page.set_stop_action(self.stop_action)
        page.edit_requested.connect(self.edit_task)
        page.active_change_requested.connect(self.set_task_active)
        page.show_logs_requested.connect(self._show_task_logs)
        page.show_items_requested.connect(self._show_task_items)
        page.clear_logs_requested.connect(self.clear_task_logs)

    def _make_menus_and_toolbar(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addActions([self.import_opml_action, self.export_opml_action])
        file_menu.addSeparator()
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        task_menu = self.menuBar().addMenu("&Tasks")
        task_menu.addActions([self.new_action, self.edit_action, self.delete_action])
        task_menu.addSeparator()
        task_menu.addActions([self.run_action, self.run_all_action, self.stop_action])
        task_menu.addSeparator()
        task_menu.addAction(self.clear_logs_action)
        task_menu.addSeparator()
        task_menu.addAction(self.new_watch_action)
        view_menu = self.menuBar().addMenu("&View")
        view_menu.addActions([self.page_keys.next_action, self.page_keys.previous_action])
        view_menu.addSeparator()
        view_menu.addActions(self.page_keys.page_actions)
        view_menu.addSeparator()
        view_menu.addActions([self.page_keys.find_action, self.show_alerts_action])
        scheduler_menu = self.menuBar().addMenu("&Scheduler")
        scheduler_menu.addAction(self.pause_action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self.shortcuts_action)
        help_menu.addSeparator()
        help_menu.addAction(self.about_action)
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.addActions([self.new_action, self.edit_action, self.delete_action])
        toolbar.addSeparator()
        toolbar.addActions([self.run_action, self.run_all_action, self.stop_action])
        toolbar.addSeparator()
        toolbar.addActions([self.pause_action, self.settings_action])

    def _make_status_bar(self) -> None:
        # They elide when the window is narrow (hover shows them whole): the message beside
        # them elides first, as it takes what they leave.
        self.scheduler_label = ElidedLabel()
        self.running_label = ElidedLabel()
        self.next_run_label = ElidedLabel()
        bar = self.statusBar()
        bar.addPermanentWidget(self.running_label)
        bar.addPermanentWidget(self.next_run_label)
        bar.addPermanentWidget(self.scheduler_label)

    def _connect(self) -> None:
        self.controller.run_started.connect(self.on_run_started)
        self.controller.run_progress.connect(self.on_run_progress)
        self.controller.run_finished.connect(self.on_run_finished)
        self.controller.run_failed.connect(self.on_run_failed)
        self.controller.busy_changed.connect(self.update_status)
        self.bridge.state_changed.connect(self.update_status)
        self.bridge.job_error.connect(self.on_job_error)
        self.tasks_table.selectionModel().selectionChanged.connect(self._update_actions)
        # The empty pages' texts link to what fills them.
        self.tasks_page.empty_state.link_activated.connect(self.open_page_link)
        self.logs_page.empty_state.link_activated.connect(self.open_page_link)
        self.items_page.link_activated.connect(self.open_page_link)
        if self.tray is not None:
            self.tray.show_hide_requested.connect(self.toggle_visible)
            self.tray.run_all_requested.connect(self.run_all)
            self.tray.stop_all_requested.connect(self.stop_all)
            self.tray.pause_requested.connect(self.toggle_pause)
            self.tray.quit_requested.connect(self.request_quit)
            self.tray.failure_selected.connect(self.show_log)

    # state -----------------------------------------------------------------------

    def _restore_ui_state(self) -> None:
        # The last place on this screen, never off it; a first start fits the screen it opens on.
        self.geometry_keeper.restore()
        for columns in self.columns.values():
            columns.restore()

    def save_ui_state(self) -> None:
        """Remember window geometry (for the screen it is on) and the tables' columns."""
        self.geometry_keeper.save()
        for columns in self.columns.values():
            columns.save()
        self.ui_state.sync()

    def selected_task(self) -> TaskInfo | None:
        """The task on the selected row."""
        return self.tasks_page.selected_task()

    def select_task(self, task_id: int) -> None:
        """Select a task's row."""
        self.tasks_page.select_task(task_id)

    @Slot()
    def _update_actions(self) -> None:
        task = self.selected_task()
        for action in (self.edit_action, self.delete_action, self.run_action):
            action.setEnabled(task is not None)
        self._update_stop_action()

    def _update_stop_action(self) -> None:
        # Only a run of this app can be stopped here (another process's shows running too).
        task = self.selected_task()
        self.stop_action.setEnabled(task is not None and self.controller.is_running(task.id))

    @Slot()
    def reload_all(self) -> None:
        """Read tasks, logs and items again (start-up, restore, another process's changes)."""
        self.task_model.reload()
        tasks = self.task_model.tasks
        self.logs_page.set_tasks(tasks)
        self.items_page.set_tasks(tasks)
        self.logs_page.apply_filters()
        # Forced: the filters are unchanged at start-up, and the table must still be read.
        self.items_page.reload()
        self.alerts_page.reload()
        self._update_actions()
        self.update_status()

    @Slot()
    def periodic_refresh(self) -> None:
        """Keep relative times ("in 5 min") current."""
        self._reload_tasks()
        self.task_model.times_passed()
        # Alerts marked seen elsewhere (the command line) change nothing the change probe sees.
        self.alerts_page.refresh()
        self.update_status()

    def _reload_tasks(self) -> None:
        """Read the tasks again, keeping the selected task selected (by id)."""
        selected = self.selected_task()
        self.task_model.reload()
        tasks = self.task_model.tasks
        self.logs_page.set_tasks(tasks)
        self.items_page.set_tasks(tasks)
        if selected is not None and not self.tasks_table.selectionModel().selectedRows():
            self.select_task(selected.id)
        self._update_actions()

    @Slot(object)
    def on_database_changed(self, changes: Changes) -> None:
        """Another process (or another part of this one) committed: refresh what it touched."""
        if changes.tasks:
            self._reload_tasks()
        if changes.logs:
            self.logs_page.refresh()
        if changes.items:
            self.items_page.refresh()
            # A run's matches are stored with its items.
            self.alerts_page.refresh()
        if changes.runs and self.tabs.currentIndex() == TAB_OVERVIEW:
            self.overview.refresh()
        if changes.tasks or changes.runs:
            # Loads now when on screen, else when next shown.
            self.health_page.refresh()
            self.update_status()

    def stop_watching(self) -> None:
        """Stop polling the database (before it is closed)."""
        self.db_watch.stop()
        self.items_page.stop()
        self._refresh_timer.stop()
        self.health_page.wait_idle()

    def wait_for_pages(self) -> None:
        """Wait for the reads of the pages that have pools of their own; end those pools' threads."""
        for pool in self.findChildren(QThreadPool):
            pool.clear()
            end_pool_threads(pool)

    @Slot()
    def update_status(self) -> None:
        """Scheduler state, crawls running, the next run; and the tray's look."""
        state = self.bridge.state()
        paused, offline = state.paused, state.offline
        self.scheduler_label.setText(
            VIEW_ONLY_TEXT
            if not state.collecting
            else "Scheduler: paused" if paused else "Scheduler: offline" if offline else "Scheduler: running"
        )
        # View only: nothing is scheduled here to pause.
        self.pause_action.setEnabled(state.collecting)
        self.pause_action.setChecked(paused)
        self.pause_action.setText("Resume scheduler" if paused else "Pause scheduler")
        running = len(self.controller.running)
        self.running_label.setText(f"Crawls running: {running}")
        self._update_stop_action()
        next_task = min(
            (t for t in self.task_model.tasks if t.active and t.next_run is not None),
            key=lambda t: t.next_run or 0,
            default=None,
        )
        if paused or offline:
            # A "Next run … in 5 min" that will not happen would mislead: say why instead.
            self.next_run_label.setText(PAUSED_TEXT if paused else OFFLINE_TEXT)
        elif next_task is not None and next_task.next_run is not None:
            when = f"{local_time(next_task.next_run)} ({relative(next_task.next_run)})"
            self.next_run_label.setText(f"Next run: {next_task.name} at {when}")
        else:
            self.next_run_label.setText("Next run: none scheduled")
        # A task whose last run was partial has a failing source too: the tray says so.
        failing = sum(1 for t in self.task_model.tasks if t.active and has_failing_source(t))
        if self.tray is not None:
            self.tray.update_status(running, paused, failing, offline=offline)

    # run signals ------------------------------------------------------------------

    @Slot(int, str)
    def on_run_started(self, task_id: int, trigger: str) -> None:
        """A run began: its row shows running, a log row appears."""
        row = self.task_model.row_of(task_id)
        task = self.task_model.task_at(row) if row is not None else None
        self.task_model.set_progress(task_id, 0, len(task.targets) if task else 0)
        self.task_model.refresh_task(task_id)
        self.logs_page.model.refresh()
        self.update_status()

    @Slot(int, int, int)
    def on_run_progress(self, task_id: int, done: int, total: int) -> None:
        """Targets done of total."""
        self.task_model.set_progress(task_id, done, total)

    @Slot(object)
    def on_run_finished(self, result: RunResult) -> None:
        """Update the task's row, the logs, the items, notify and re-plan the job."""
        self.task_model.clear_progress(result.task_id)
        self.task_model.refresh_task(result.task_id)
        self.logs_page.model.refresh()
        if result.items_new:
            # Read on a pool thread: 10,000 new rows go in at once when it is back.
            self.items_page.refresh()
            self.alerts_page.refresh()
        if self.tabs.currentIndex() == TAB_OVERVIEW:
            self.overview.refresh()
        self.health_page.refresh()
        self.notifier.run_finished(result)
        if not result.lost_claim:  # another collector ran it: nothing happened here to tell
            self.statusBar().showMessage(result.message, 10_000)
        self.update_status()

    @Slot(int, str)
    def on_run_failed(self, task_id: int, reason: str) -> None:
        """A run could not even start."""
        self.task_model.clear_progress(task_id)
        self.task_model.refresh_task(task_id)
        row = self.task_model.row_of(task_id)
        task = self.task_model.task_at(row) if row is not None else None
        self.notifier.run_could_not_start(task.name if task else f"Task {task_id}", reason)
        self.statusBar().showMessage(f"Run could not start: {reason}", 10_000)
        self.update_status()

    @Slot(str)
    def on_job_error(self, message: str) -> None:
        """A scheduler job raised: never swallowed."""
        self.statusBar().showMessage(message, 15_000)
        self.notifier.run_could_not_start("Scheduler", message)

    # actions -----------------------------------------------------------------------

    @Slot()
    def new_task(self) -> None:
        """Open the editor for a new task."""
        dialog = TaskDialog(self.ctx, None, self)
        if dialog.exec() and dialog.saved_task_id is not None:
            self._task_saved(dialog.saved_task_id)

    @Slot()
    def edit_task(self) -> None:
        """Open the editor on the selected task."""
        task = self.selected_task()
        if task is None:
            return
        dialog = TaskDialog(self.ctx, task, self)
        if dialog.exec() and dialog.saved_task_id is not None:
            self._task_saved(dialog.saved_task_id)

    @Slot()
    def edit_task_if_table_focused(self) -> None:
        """Enter edits only where it means it: on the tasks table."""
        if self.tasks_table.hasFocus():
            self.edit_task()

    def _task_saved(self, task_id: int) -> None:
        self.task_model.refresh_task(task_id)
        self.bridge.task_changed(task_id)
        self.task_model.refresh_task(task_id)
        tasks = self.task_model.tasks
        self.logs_page.set_tasks(tasks)
        self.items_page.set_tasks(tasks)
        self.select_task(task_id)
        self.update_status()

    @Slot()
    def delete_task(self) -> None:
        """Delete the selected task after asking."""
        task = self.selected_task()
        if task is None:
            return
        if self.controller.is_running(task.id) or task.status == TaskStatus.RUNNING:
            QMessageBox.information(
                self, "Task is running", f"{task.name!r} is running. Delete it when it has finished."
            )
            return
        answer = QMessageBox.question(
            self,
            "Delete task",
            f"Delete {task.name!r} and its {count_text(len(task.targets), 'target')}?\n\n"
            "Its run logs are deleted too; the items it collected are kept.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            delete_task(self.ctx.db, task.id)
        except (ValidationError, LookupError) as exc:
            QMessageBox.warning(self, "Cannot delete", str(exc))
        self._task_saved(task.id)

    @Slot()
    def run_selected(self) -> None:
        """Run the selected task now, unless it is already running."""
        task = self.selected_task()
        if task is None:
            return
        self.run_task_now(task.id)

    def run_task_now(self, task_id: int) -> bool:
        """Start a manual run; says so when the task is already running."""
        row = self.task_model.row_of(task_id)
        task = self.task_model.task_at(row) if row is not None else None
        name = task.name if task else f"Task {task_id}"
        if self.controller.is_running(task_id) or (task is not None and task.status == TaskStatus.RUNNING):
            self.statusBar().showMessage(f"{name} is already running", 8000)
            return False
        started = self.controller.start_run(task_id, Trigger.MANUAL)
        if started:
            self.statusBar().showMessage(f"Running {name}…", 5000)
        return started

    @Slot()
    def run_all(self) -> None:
        """Run every active task that is not already running."""
        started = self.controller.run_all_active()
        self.statusBar().showMessage(
            f"Running {len(started)} active task{'s' * (len(started) != 1)}"
            if started
            else "No active task to run",
            8000,
        )

    @Slot()
    def stop_selected(self) -> None:
        """Stop the selected task's run (the toolbar's and the context menu's Stop)."""
        task = self.selected_task()
        if task is not None:
            self.stop_task(task.id)

    def stop_task(self, task_id: int) -> bool:
        """Stop a run of this app: it ends interrupted with what it collected so far."""
        row = self.task_model.row_of(task_id)
        task = self.task_model.task_at(row) if row is not None else None
        name = task.name if task else f"Task {task_id}"
        stopped = self.controller.stop(task_id)
        self.statusBar().showMessage(f"Stopping {name}…" if stopped else f"{name} is not running here", 8000)
        return stopped

    @Slot()
    def stop_all(self) -> None:
        """Stop every run of this app (the tray's "Stop all running crawls")."""
        stopped = self.controller.stop_all()
        count = len(stopped)
        self.statusBar().showMessage(
            f"Stopping {count} crawl{'s' * (count != 1)}…" if stopped else "No crawl is running", 8000
        )

    @Slot()
    def toggle_pause(self) -> None:
        """Pause or resume the scheduler."""
        paused = self.bridge.toggle_pause()
        self.statusBar().showMessage("Scheduler paused" if paused else "Scheduler resumed", 5000)
        self.update_status()

    @Slot(int, bool)
    def set_task_active(self, task_id: int, active: bool) -> None:
        """The Active checkbox: takes effect at once."""
        try:
            update_task(self.ctx.db, task_id, active=active)
        except (ValidationError, LookupError) as exc:
            QMessageBox.warning(self, "Cannot change task", str(exc))
        self._task_saved(task_id)

    @Slot()
    def open_settings(self) -> None:
        """The settings dialog; applies limits and schedules after it is saved."""
        from osint_desktop.gui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.ctx, self)
        dialog.settings_changed.connect(self._on_settings_changed)
        dialog.restore_started.connect(self._on_restore_started)
        dialog.restored.connect(self._on_restored)
        dialog.restore_failed.connect(self._on_restore_failed)
        dialog.token_saved.connect(self._on_token_saved)
        dialog.exec()
        dialog.deleteLater()

    @Slot()
    def _on_restore_started(self) -> None:
        # Scheduled runs must not write into the database while it is being replaced.
        self._paused_for_restore = not self.bridge.scheduler.paused
        if self._paused_for_restore:
            self.bridge.scheduler.pause()
        self.controller.cancel_pending()

    @Slot()
    def _on_restored(self) -> None:
        self.reload_all()
        self.bridge.scheduler.sync()
        self._resume_after_restore()
        self.statusBar().showMessage("Backup restored", 8000)

    @Slot(str)
    def _on_restore_failed(self, _reason: str) -> None:
        self._resume_after_restore()

    def _resume_after_restore(self) -> None:
        if getattr(self, "_paused_for_restore", False):
            self.bridge.scheduler.resume()
            self._paused_for_restore = False
        self.update_status()

    @Slot(str)
    def _on_token_saved(self, _storage: str) -> None:
        """Offer to switch on the social tasks that waited for a token."""
        waiting = [t for t in self.task_model.tasks if t.source == Source.X and not t.active and t.note]
        if not waiting:
            return
        names = ", ".join(repr(t.name) for t in waiting)
        answer = QMessageBox.question(
            self, "Activate social tasks", f"The X token is saved. Activate {names} now?"
        )
        if answer == QMessageBox.StandardButton.Yes:
            for task in waiting:
                self.set_task_active(task.id, True)

    @Slot()
    def _on_settings_changed(self) -> None:
        self.controller.set_max_concurrent(self.ctx.settings.max_concurrent_crawls)
        self.bridge.scheduler.set_catch_up(self.ctx.settings.catch_up_missed_runs)
        self.update_status()

    @Slot()
    def import_opml(self) -> None:
        """Add the feeds of an OPML file to a new or existing news task."""
        from osint_desktop.gui.opml_dialogs import import_opml

        changed = import_opml(self, self.ctx.db)
        for task_id in changed or []:
            self._task_saved(task_id)

    @Slot()
    def export_opml(self) -> None:
        """Write the news tasks' feeds to an OPML file."""
        from osint_desktop.gui.opml_dialogs import export_opml

        path = export_opml(self, self.ctx.db)
        if path is not None:
            self.statusBar().showMessage(f"Feeds exported to {path}", 8000)

    @Slot()
    def clear_old_logs(self) -> None:
        """Delete logs older than N days, after asking."""
        days, ok = QInputDialog.getInt(
            self,
            "Clear old logs",
            "Delete run logs older than this many days:",
            self.ctx.settings.log_retention_days,
            1,
            3650,
        )
        if not ok:
            return
        answer = QMessageBox.question(
            self, "Clear old logs", f"Delete every run log older than {days} days? Collected items are kept."
        )
        if answer == QMessageBox.StandardButton.Yes:
            count = prune_logs(self.ctx.db, days)
            self.logs_page.model.reload()
            self.statusBar().showMessage(f"Deleted {count} old logs", 8000)

    @Slot(int)
    def clear_task_logs(self, task_id: int) -> None:
        """Delete all logs of one task, after asking."""
        row = self.task_model.row_of(task_id)
        task = self.task_model.task_at(row) if row is not None else None
        if task is None:
            return
        answer = QMessageBox.question(self, "Clear logs", f"Delete every run log of {task.name!r}?")
        if answer == QMessageBox.StandardButton.Yes:
            count = clear_task_logs(self.ctx.db, task.id)
            self.logs_page.model.reload()
            self.statusBar().showMessage(f"Deleted {count} logs of {task.name}", 8000)

    @Slot(int)
    def show_log(self, log_id: int) -> None:
        """Bring the window up on one run's details."""
        self.show_and_raise()
        self.tabs.setCurrentIndex(TAB_LOGS)
        self.logs_page.select_log(log_id)

    @Slot()
    def show_shortcuts(self) -> None:
        """Help > Keyboard shortcuts: the window's, then the tables', search boxes' and editors'."""
        from osint_desktop.gui.shortcuts_dialog import ShortcutsDialog

        dialog = ShortcutsDialog([*self.shortcut_list, *keys.OUTSIDE_WINDOW], self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.shortcuts_dialog = dialog
        dialog.show()

    @Slot(str)
    def open_page_link(self, link: str) -> None:
        """A link in an empty page's text: add a task, import feeds, run them, open the data folder."""
        if link == "new-task":
            self.new_task()
        elif link == "import-opml":
            self.import_opml()
        elif link == "run-all":
            self.run_all()
        elif link == "data-folder":
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.ctx.home)))

    @Slot()
    def about(self) -> None:
        """Version and where the data lives."""
        QMessageBox.about(
            self,
            f"About {APP_NAME}",
            f"<b>{APP_NAME}</b> {__version__}<br>Scheduled collection of open-source intelligence."
            f"<br><br>Data folder: {self.ctx.home}<br>Database: {self.ctx.db.display_url}",
        )

    @Slot(int)
    def _show_task_logs(self, task_id: int) -> None:
        self.tabs.setCurrentIndex(TAB_LOGS)
        self.logs_page.show_task(task_id)

    @Slot(int)
    def _show_task_items(self, task_id: int) -> None:
        self.tabs.setCurrentIndex(TAB_ITEMS)
        index = self.items_page.task_filter.findData(task_id)
        self.items_page.task_filter.setCurrentIndex(max(0, index))

    @Slot()
    def new_watch(self) -> None:
        """Open the watch editor on the Alerts tab, where the new watch's matches then show."""
        self.tabs.setCurrentIndex(TAB_ALERTS)
        self.alerts_page.new_watch()

    def show_alerts(self, watch_id: int | None) -> None:
        """Bring the window up on the Alerts tab, one watch's alerts (None: every watch's)."""
        self.show_and_raise()
        self.tabs.setCurrentIndex(TAB_ALERTS)
        self.alerts_page.show_watch(watch_id)

    @Slot(int)
    def _on_unseen_changed(self, unseen: int) -> None:
        index = self.tabs.indexOf(self.alerts_page)
        self.tabs.setTabText(index, f"Alerts ({unseen:,})" if unseen else "Alerts")
        self.tabs.setTabToolTip(index, f"{unseen:,} unseen alerts" if unseen else "No unseen alerts")

    @Slot(int, int)
    def _show_watch_items(self, watch_id: int, item_id: int) -> None:
        self.tabs.setCurrentIndex(TAB_ITEMS)
        self.items_page.show_watch_matches(watch_id, item_id)

    @Slot(int)
    def _on_tab_changed(self, index: int) -> None:
        if index == TAB_OVERVIEW:
            self.overview.refresh()

    # showing, hiding, quitting -----------------------------------------------------

    def show_and_raise(self) -> None:
        """Bring the window forward (tray click, second launch, a notification)."""
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.show()
        self.raise_()
        self.activateWindow()

    @Slot()
    def toggle_visible(self) -> None:
        """Show or hide from the tray."""
        if self.isVisible() and not self.isMinimized():
            self.hide()
        else:
            self.show_and_raise()

    @Slot()
    def request_quit(self) -> None:
        """Quit from the menu, the tray or Ctrl+Q."""
        self.quitting = True
        self.save_ui_state()
        self.quit_requested.emit()

    def tray_available(self) -> bool:
        """Whether closing can keep the app running in the tray."""
        return self.tray is not None and self.tray.icon.isVisible()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Close keeps collecting in the tray where there is one; otherwise it quits, after asking."""
        self.save_ui_state()
        if self.quitting:
            event.accept()
            return
        if self.tray_available() and self.ctx.settings.close_to_tray:
            event.ignore()
            self.hide()
            if not self.ctx.settings.close_to_tray_hint_shown and self.tray is not None:
                self.tray.icon.showMessage(
                    APP_NAME,
                    "OSINT Desktop keeps collecting in the tray. Use Quit in the tray menu to stop it.",
                    QSystemTrayIcon.MessageIcon.Information,
                    8000,
                )
                self.ctx.settings.close_to_tray_hint_shown = True
                self.ctx.settings.save(self.ctx.home)
            return
        running = len(self.controller.running)
        if running:
            answer = QMessageBox.question(
                self,
                "Crawls are running",
                f"{running} crawl{'s are' if running != 1 else ' is'} running. Quit anyway? "
                "Unfinished runs are marked interrupted.",
            )
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        event.accept()
        self.request_quit()
