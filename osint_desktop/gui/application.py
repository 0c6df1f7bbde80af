"""Application start-up and shutdown, in a fixed order, around the Qt event loop."""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from types import TracebackType

from PySide6.QtCore import QObject, Qt, QThreadPool, QTimer, Slot
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox, QSystemTrayIcon

from osint_desktop import APP_ID, APP_NAME, __version__
from osint_desktop.app.context import AppContext, DatabaseProblemError
from osint_desktop.app.fresh_start import FreshStart, FreshStartError, plan_fresh_start, start_fresh
from osint_desktop.app.notify import HEALTH_KEY, WATCH_KEY_PREFIX
from osint_desktop.app.restore import RestoreError, restore_backup
from osint_desktop.app.tasks import ensure_default_tasks, list_tasks
from osint_desktop.core.config import Settings, data_dir, database_url
from osint_desktop.core.db.backup import list_backups
from osint_desktop.core.db.engine import Database, sqlite_path
from osint_desktop.core.secrets import redact
from osint_desktop.core.wording import sentence
from osint_desktop.gui.background import end_pool_threads
from osint_desktop.gui.crawls import CrawlController
from osint_desktop.gui.garbage import GuiThreadCollector
from osint_desktop.gui.icons import app_icon
from osint_desktop.gui.main_window import MainWindow
from osint_desktop.gui.notifications import Notifier
from osint_desktop.gui.scheduler_bridge import SchedulerBridge
from osint_desktop.gui.single_instance import InstanceServer, ask_running_instance_to_show, server_name
from osint_desktop.gui.tray import Tray

log = logging.getLogger(__name__)

# The GUI thread's one blocking wait: crawls that do not stop by then are marked interrupted.
SHUTDOWN_WAIT_S = 6.0


class DesktopApp(QObject):
    """Owns everything the window needs and tears it down in reverse order."""

    def __init__(
        self, qt_app: QApplication, ctx: AppContext, start_minimized: bool, *, collect: bool = True
    ) -> None:
        super().__init__()
        self.qt_app = qt_app
        self.ctx = ctx
        # collect=False: view only (--no-collect or the setting), for a shared database.
        self.controller = CrawlController(ctx, self, collect=collect)
        # Dispatch, runs in flight, cancel, the scheduler, maintenance and shutdown.
        self.service = self.controller.service
        self.bridge = SchedulerBridge(self.controller, self)
        self.tray: Tray | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = Tray(ctx.db, lambda: self.bridge.scheduler.paused, self)
            self.tray.show()
        self.notifier = Notifier(ctx.settings, self.tray.icon if self.tray else None, self)
        self.window = MainWindow(ctx, self.controller, self.bridge, self.notifier, self.tray)
        self.notifier.opened.connect(self.open_notification)
        if self.tray is not None:
            self.window.alerts_page.unseen_changed.connect(self.tray.set_unseen_alerts)
            self.tray.alerts_requested.connect(lambda: self.window.show_alerts(None))
        self.window.quit_requested.connect(self.quit)
        self.instance_server: InstanceServer | None = None
        self._start_minimized = start_minimized and self.tray is not None
        self._stopped = False

    def start(self) -> None:
        """Show the window (unless starting in the tray), then start the scheduler."""
        if not self._start_minimized:
            self.window.show()
        self.service.start()
        self.window.update_status()

    @Slot(str)
    def open_notification(self, key: str) -> None:
        """A notification was clicked: the watch's alerts, the sources' health, or the window."""
        if key.startswith(WATCH_KEY_PREFIX):
            self.window.show_alerts(int(key[len(WATCH_KEY_PREFIX) :]))
        elif key == HEALTH_KEY:
            self.window.show_and_raise()
            self.window.tabs.setCurrentWidget(self.window.health_page)
        else:
            self.window.show_and_raise()

    @Slot()
    def bring_forward(self) -> None:
        """A second launch asked for the window."""
        self.window.show_and_raise()

    @Slot()
    def quit(self) -> None:
        """Leave the event loop; shutdown() runs after it."""
        self.qt_app.quit()

    def shutdown(self) -> None:
        """The window's watchers, then the service (scheduler, crawls, bounded wait), then the database."""
        if self._stopped:
            return
        self._stopped = True
        self.window.save_ui_state()
        self.window.stop_watching()
        self.window.overview.wait_idle()
        self.service.shutdown(SHUTDOWN_WAIT_S)
        # Runs that ended during the shutdown may have asked pages to reload: those background
        # reads end before the database closes, and waitForDone also ends each pool's idle
        # threads instead of leaving them 30 s to expire.
        self.window.wait_for_pages()
        end_pool_threads(QThreadPool.globalInstance())
        if self.tray is not None:
            self.tray.hide()
        if self.instance_server is not None:
            self.instance_server.close()
        self.ctx.close()


def _install_excepthook() -> None:
    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        text = redact("".join(traceback.format_exception(kind, value, tb)))
        log.error("unexpected error:\n%s", text)
        app = QApplication.instance()
        if app is None:
            sys.__excepthook__(kind, value, tb)
            return
        # The platform adds the app's name to the title: "Unexpected error — OSINT Desktop".
        box = QMessageBox(QMessageBox.Icon.Critical, "Unexpected error", redact(f"{kind.__name__}: {value}"))
        box.setInformativeText("The app keeps running. The details were written to the log file.")
        box.setDetailedText(text)
        box.exec()

    sys.excepthook = hook


def _open_context(args: argparse.Namespace) -> AppContext | None:
    """Open the database, offering a way out when it cannot be opened."""
    db_option: str | None = args.db
    allow_new = False
    while True:
        try:
            return AppContext.open(db_option, console_log=None, allow_new_database=allow_new)
        except DatabaseProblemError as exc:
            home = data_dir()
            fresh = plan_fresh_start(database_url(db_option, home), home)
            choice = _ask_database_way_out(str(exc), exc.kind, fresh)
            if choice == "new":
                if not _start_fresh(fresh):
                    continue
                db_option, allow_new = fresh.db_option, True
            elif choice == "restore":
                if not _restore_latest(db_option):
                    continue
            elif choice == "choose":
                chosen, _ = QFileDialog.getSaveFileName(
                    None,
                    "Choose a database file",
                    str(data_dir()),
                    "SQLite databases (*.sqlite3 *.db);;All files (*)",
                    options=QFileDialog.Option.DontConfirmOverwrite,
                )
                if chosen:
                    db_option = chosen
            else:
                return None


# The window's own title: the platform adds the app's name after it ("Database problem — OSINT
# Desktop"), so neither the title nor the text repeats it.
DATABASE_PROBLEM = "Database problem"
START_NEW = "Start a new database"


def _ask_database_way_out(message: str, kind: str, fresh: FreshStart | None = None) -> str:
    """Ask what to do about a database that cannot be opened: restore, choose, new or quit.

    fresh: what "Start a new database" would do (plan_fresh_start); None: it is not offered.
    """
    box = QMessageBox(QMessageBox.Icon.Critical, DATABASE_PROBLEM, sentence(message))
    restore = box.addButton("Restore latest backup", QMessageBox.ButtonRole.AcceptRole)
    choose = box.addButton("Choose another file…", QMessageBox.ButtonRole.ActionRole)
    new = box.addButton(START_NEW, QMessageBox.ButtonRole.DestructiveRole) if fresh is not None else None
    box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
    if fresh is not None:
        box.setInformativeText(fresh.description)
    if not list_backups(data_dir() / "backups"):
        restore.setEnabled(False)
        restore.setToolTip("There is no backup yet")
    elif kind == "locked":
        # Restoring under the program holding the file would hand it a database changed
        # behind its back; the restore itself refuses too.
        restore.setEnabled(False)
        restore.setToolTip("Another program is using the database: close it first")
    if new is not None and fresh is not None and kind == "locked" and not fresh.instead_of_server:
        # Moved aside under the program holding it, the file would go on changing there.
        new.setEnabled(False)
        new.setToolTip("Another program is using the database: close it first")
    box.exec()
    clicked = box.clickedButton()
    if new is not None and clicked is new:
        return "new"
    return "restore" if clicked is restore else "choose" if clicked is choose else "quit"


def _start_fresh(plan: FreshStart) -> bool:
    """Move the old database aside for a new one; False (after saying why) when it cannot be."""
    try:
        start_fresh(plan)
    except FreshStartError as exc:
        QMessageBox.critical(None, START_NEW, f"No new database was started: {exc}.")
        return False
    return True


def _restore_latest(db_option: str | None) -> bool:
    """Restore the newest backup over a database that cannot be opened; True when it worked."""
    home = data_dir()
    backups = list_backups(home / "backups")
    url = database_url(db_option, home)
    if not backups or sqlite_path(url) is None:
        return False
    db = Database(url)
    try:
        # The damaged file is moved aside, not backed up: it is the user's data, a tool may
        # still save some of it, and the backup API cannot read it anyway.
        result = restore_backup(
            backups[0], db, home / "backups", Settings.load(home).backup_keep, set_aside_current=True
        )
    except RestoreError as exc:
        QMessageBox.critical(None, APP_NAME, f"Restoring {backups[0].name} failed: {exc}")
        return False
    finally:
        db.dispose()
    kept = f" The damaged file was kept as {result.set_aside.name}." if result.set_aside else ""
    QMessageBox.information(None, APP_NAME, f"Restored {backups[0].name}.{kept}")
    return True


def run_application(args: argparse.Namespace) -> int:
    """Start-up sequence, event loop, shutdown sequence."""
    QApplication.setApplicationName(APP_ID)
    QApplication.setApplicationDisplayName(APP_NAME)
    QApplication.setApplicationVersion(__version__)
    QApplication.setDesktopFileName(APP_ID)
    qt_app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(qt_app, QApplication)
    qt_app.setWindowIcon(app_icon())
    # The app lives on in the tray when its window closes.
    qt_app.setQuitOnLastWindowClosed(False)

    name = server_name(data_dir())
    if ask_running_instance_to_show(name):
        sys.stderr.write(f"{APP_ID}: already running; brought its window forward\n")
        return 0
    collector = GuiThreadCollector()
    collector.start()
    ctx = _open_context(args)
    if ctx is None:
        return 1
    _install_excepthook()
    if not list_tasks(ctx.db) and not ctx.settings.defaults_created:
        ensure_default_tasks(ctx.db, have_x_token=bool(ctx.x_token()))
        ctx.settings.defaults_created = True
        ctx.settings.save(ctx.home)
    minimized = bool(args.minimized or ctx.settings.start_minimized)
    collect = not (getattr(args, "no_collect", False) or ctx.settings.view_only)
    app = DesktopApp(qt_app, ctx, minimized, collect=collect)
    server = InstanceServer(name, app)
    server.show_requested.connect(app.bring_forward)
    server.listen()
    app.instance_server = server
    QTimer.singleShot(0, app.start)
    qt_app.aboutToQuit.connect(app.shutdown, Qt.ConnectionType.DirectConnection)
    code = qt_app.exec()
    app.shutdown()
    collector.stop()
    return int(code)
