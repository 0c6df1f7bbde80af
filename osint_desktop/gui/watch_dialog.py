"""The watch editor: name, query, regex, scope, notifying, active; checked live, saved in the background."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressDialog,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from osint_desktop.app.context import AppContext
from osint_desktop.app.matching import backfill_watch
from osint_desktop.app.outbound import apprise_watch_credential, split_urls
from osint_desktop.app.tasks import TaskInfo, list_tasks
from osint_desktop.app.watches import (
    MAX_REGEX_LENGTH,
    WatchError,
    WatchInfo,
    WatchSpec,
    create_watch,
    update_watch,
)
from osint_desktop.core.db.engine import Database
from osint_desktop.core.query import QUERY_HELP, QueryError, compile_regex, parse_query
from osint_desktop.core.secrets import (
    KeyringUnavailableError,
    clear_credential,
    load_credential,
    save_credential,
)
from osint_desktop.core.vocabulary import RunStatus, Source
from osint_desktop.gui.background import BackgroundCall, Failure, run_in_background, run_with_progress
from osint_desktop.gui.dialog_keys import add_save_keys, confirm_discard
from osint_desktop.gui.formatting import HINT_COLOUR, SOURCE_LABELS, status_hex, text_style
from osint_desktop.gui.widgets import grow_to_fit

ERROR_STYLE = text_style(status_hex(RunStatus.FAILED))
HINT_STYLE = text_style(HINT_COLOUR)
QUERY_PLACEHOLDER = '"zero-day" OR ransomware*'
REGEX_TOOLTIP = (
    "Optional. A regular expression (case ignored) for indicators such as CVE-\\d{4}-\\d{4,}.\n"
    "With a query, it is checked on the items the query matched; alone, on every item in scope."
)
APPRISE_TOOLTIP = (
    "This watch's own Apprise URL(s), one a line or separated by spaces, e.g. ntfy://ntfy.sh/my-topic.\n"
    "Empty: the Apprise URL in Settings is used. Kept with your other secrets, never in the database."
)
SCOPE_ALL, SCOPE_TASKS, SCOPE_SOURCES = range(3)


@dataclass(frozen=True)
class SaveOutcome:
    """What a save did: the watch as stored, and why its Apprise URL could not be kept, if so."""

    watch: WatchInfo
    secret_problem: str | None = None


def _save_job(
    db: Database,
    home: Path,
    storage: str,
    watch_id: int | None,
    spec: WatchSpec,
    apprise_url: str | None,
) -> SaveOutcome:
    """Store the watch, then its Apprise URL (None: unchanged, "": forgotten); on a pool thread."""
    watch = create_watch(db, spec) if watch_id is None else update_watch(db, watch_id, spec)
    if apprise_url is None:
        return SaveOutcome(watch)
    name = apprise_watch_credential(watch.id)
    if not apprise_url:
        clear_credential(name, home)
        return SaveOutcome(watch)
    try:
        save_credential(name, apprise_url, home, storage)
    except KeyringUnavailableError as exc:
        # The watch is stored already: the dialog stays open to say so, and the URL is kept
        # typed for another attempt once a place for secrets is chosen in Settings.
        return SaveOutcome(watch, f"The watch is saved, but not its Apprise URL: {exc}. "
                           "Choose where secrets are kept in Settings, then save again.")
    return SaveOutcome(watch)


def _load_apprise_url(home: Path, watch_id: int) -> str:
    """The watch's own Apprise URL as stored ("" without one); the keyring may be slow."""
    return load_credential(apprise_watch_credential(watch_id), home) or ""


def _backfill_job(db: Database, watch_id: int, cancel: threading.Event, report: Callable[[Any], None]) -> int:
    """Search what is already collected for the watch, reporting (windows done, windows in all)."""
    return backfill_watch(db, watch_id, lambda done, total: report((done, total)), cancel)


def backfill_message(added: int, stopped: bool = False) -> str:
    """What a search of the collected items found, in words."""
    noun = "match" if added == 1 else "matches"
    if stopped:
        return f"Search stopped: {added} {noun} so far among the items already collected."
    return f"{added} {noun} among the items already collected."


class WatchDialog(QDialog):
    """Creates a watch (watch=None) or edits one; saved_watch is set once the database holds it.

    With "Also search what is already collected" the save is followed by a backfill with a
    progress dialog that can be stopped; result_message then says what it found.
    """

    def __init__(
        self,
        ctx: AppContext,
        watch: WatchInfo | None = None,
        tasks: Sequence[TaskInfo] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._watch = watch
        self.saved_watch: WatchInfo | None = None
        self.backfill_added: int | None = None
        self.result_message = ""
        self._busy = False
        self._cancel_backfill = threading.Event()
        self._backfill: BackgroundCall[int] | None = None
        self._progress: QProgressDialog | None = None
        # The tasks chosen before the task list has arrived (a watch being edited).
        self._pending_task_ids: tuple[int, ...] = watch.task_ids if watch else ()
        self._tasks_loaded = False
        self._apprise_loaded = watch is None
        # The URL as stored: a save writes or forgets it only when the field differs.
        self._stored_url = ""
        self.setWindowTitle("Edit watch" if watch else "New watch")
        self.setMinimumWidth(580)
        self._build(watch)
        self._initial = self.form_state()
        self._connect()
        self._check_query()
        self._check_regex()
        self._update_scope_widgets()
        if tasks is not None:
            self._on_tasks(list(tasks))
        else:
            run_in_background(functools.partial(list_tasks, ctx.db), self._on_tasks, owner=self)
        if watch is not None:
            run_in_background(
                functools.partial(_load_apprise_url, ctx.home, watch.id),
                self._on_apprise_url,
                owner=self,
                on_error=self._on_apprise_unreadable,
            )

    # construction ------------------------------------------------------------------

    def _build(self, watch: WatchInfo | None) -> None:
        self.name_edit = QLineEdit(watch.name if watch else "")
        self.name_edit.setPlaceholderText("e.g. Acme breach")
        self.name_error = _message_label()
        self.query_edit = QLineEdit(watch.query if watch else "")
        self.query_edit.setPlaceholderText(QUERY_PLACEHOLDER)
        self.query_edit.setToolTip(QUERY_HELP)
        self.query_message = _message_label()
        self.regex_edit = QLineEdit((watch.regex or "") if watch else "")
        self.regex_edit.setPlaceholderText(r"optional, e.g. CVE-\d{4}-\d{4,}")
        self.regex_edit.setToolTip(REGEX_TOOLTIP)
        self.regex_message = _message_label()

        self.scope_all = QRadioButton("All tasks")
        self.scope_tasks = QRadioButton("Chosen tasks")
        self.scope_sources = QRadioButton("Chosen sources")
        self.scope_group = QButtonGroup(self)
        for scope_id, radio in enumerate((self.scope_all, self.scope_tasks, self.scope_sources)):
            self.scope_group.addButton(radio, scope_id)
        self.task_list = QListWidget()
        self.task_list.setMaximumHeight(120)
        self.task_list.addItem("Loading the tasks…")
        self.source_checks: dict[Source, QCheckBox] = {
            source: QCheckBox(SOURCE_LABELS[source]) for source in Source
        }
        chosen_sources = set(watch.sources) if watch else set()
        for source, check in self.source_checks.items():
            check.setChecked(source in chosen_sources)
        if watch is not None and watch.task_ids:
            self.scope_tasks.setChecked(True)
        elif watch is not None and watch.sources:
            self.scope_sources.setChecked(True)
        else:
            self.scope_all.setChecked(True)
        self.scope_error = _message_label()

        self.notify_check = QCheckBox("Notify me (tray)")
        self.notify_check.setChecked(watch.notify if watch else True)
        self.outbound_check = QCheckBox("Send through Apprise")
        self.outbound_check.setChecked(watch.outbound if watch else False)
        self.apprise_edit = QLineEdit()
        self.apprise_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.apprise_edit.setPlaceholderText("Empty: the Apprise URL in Settings")
        self.apprise_edit.setToolTip(APPRISE_TOOLTIP)
        self.apprise_message = _message_label()
        if watch is not None:
            # Read from the keyring in the background: typing waits until it is known.
            self.apprise_edit.setEnabled(False)
            self.apprise_edit.setPlaceholderText("Looking for this watch's Apprise URL…")
        self.active_check = QCheckBox("Active (matches new items as they are collected)")
        self.active_check.setChecked(watch.active if watch else True)
        self.backfill_check = QCheckBox("Also search what is already collected")
        self.backfill_check.setChecked(watch is None)
        self.error_label = _message_label()

        sources = QGridLayout()
        for position, check in enumerate(self.source_checks.values()):
            sources.addWidget(check, position // 3, position % 3)
        scope = QVBoxLayout()
        scope.addWidget(self.scope_all)
        scope.addWidget(self.scope_tasks)
        scope.addWidget(self.task_list)
        scope.addWidget(self.scope_sources)
        scope.addLayout(sources)
        scope.addWidget(self.scope_error)

        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("", self.name_error)
        form.addRow("Query", self.query_edit)
        form.addRow("", self.query_message)
        form.addRow("Regular expression", self.regex_edit)
        form.addRow("", self.regex_message)
        form.addRow("Scope", scope)
        form.addRow("", self.notify_check)
        form.addRow("", self.outbound_check)
        form.addRow("Apprise URL(s)", self.apprise_edit)
        form.addRow("", self.apprise_message)
        form.addRow("", self.active_check)
        form.addRow("", self.backfill_check)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    def _connect(self) -> None:
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        # Ctrl+Enter saves from any field, the query line included (Enter alone may be typing).
        add_save_keys(self, self.save)
        self.name_edit.textChanged.connect(lambda: self.name_error.setVisible(False))
        self.query_edit.textChanged.connect(self._check_query)
        self.regex_edit.textChanged.connect(self._check_regex)
        self.scope_group.idToggled.connect(self._update_scope_widgets)
        self.task_list.itemChanged.connect(lambda _item: self.scope_error.setVisible(False))
        for check in self.source_checks.values():
            check.toggled.connect(lambda _on: self.scope_error.setVisible(False))
        self.outbound_check.toggled.connect(lambda _on: self.apprise_message.setVisible(False))
        self.apprise_edit.textChanged.connect(lambda: self.apprise_message.setVisible(False))

    # loading -------------------------------------------------------------------------

    def _on_tasks(self, tasks: list[TaskInfo]) -> None:
        chosen = set(self._pending_task_ids)
        unchanged = self.form_state() == self._initial
        self.task_list.blockSignals(True)
        self.task_list.clear()
        for task in tasks:
            item = QListWidgetItem(task.name)
            item.setData(Qt.ItemDataRole.UserRole, task.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if task.id in chosen else Qt.CheckState.Unchecked)
            self.task_list.addItem(item)
        if not tasks:
            self.task_list.addItem("No tasks yet")
        self.task_list.blockSignals(False)
        self._tasks_loaded = True
        # A task deleted since the watch was saved is no longer offered; it is not a change.
        if unchanged:
            self._initial = self.form_state()
        self._update_scope_widgets()

    def _on_apprise_url(self, url: str) -> None:
        self._stored_url = url
        self._apprise_loaded = True
        self.apprise_edit.setEnabled(True)
        self.apprise_edit.setPlaceholderText("Empty: the Apprise URL in Settings")
        if not self.apprise_edit.text():
            self.apprise_edit.setText(url)
        # The stored URL is where the form started, not a change of the user's.
        self._initial["apprise_url"] = url

    def _on_apprise_unreadable(self, failure: Failure) -> None:
        self._apprise_loaded = True
        self.apprise_edit.setEnabled(True)
        self.apprise_edit.setPlaceholderText("Empty: the Apprise URL in Settings")
        self._show(self.apprise_message, f"This watch's Apprise URL could not be read: {failure.message}")

    # what the form says ---------------------------------------------------------------

    def form_state(self) -> dict[str, object]:
        """Everything the user can change about the watch, to tell whether they did."""
        return {
            "name": self.name_edit.text(),
            "query": self.query_edit.text(),
            "regex": self.regex_edit.text(),
            "scope": self.scope_group.checkedId(),
            "task_ids": self.chosen_task_ids(),
            "sources": self.chosen_sources(),
            "notify": self.notify_check.isChecked(),
            "outbound": self.outbound_check.isChecked(),
            "active": self.active_check.isChecked(),
            "apprise_url": self.apprise_edit.text(),
        }

    @property
    def changed(self) -> bool:
        """Whether anything was changed since the dialog opened or last saved."""
        return self.form_state() != self._initial

    @property
    def tasks_loaded(self) -> bool:
        """Whether the task list has arrived (it is read in the background)."""
        return self._tasks_loaded

    @property
    def apprise_loaded(self) -> bool:
        """Whether the watch's own Apprise URL is known (read in the background)."""
        return self._apprise_loaded

    @property
    def busy(self) -> bool:
        """Whether a save or a search of the collected items is running."""
        return self._busy

    def chosen_task_ids(self) -> tuple[int, ...]:
        """The ticked tasks (those of the watch until the list has arrived)."""
        if not self._tasks_loaded:
            return self._pending_task_ids
        ids = []
        for row in range(self.task_list.count()):
            item = self.task_list.item(row)
            task_id = item.data(Qt.ItemDataRole.UserRole)
            if task_id is not None and item.checkState() == Qt.CheckState.Checked:
                ids.append(int(task_id))
        return tuple(ids)

    def chosen_sources(self) -> tuple[str, ...]:
        """The ticked sources, as stored."""
        return tuple(source.value for source, check in self.source_checks.items() if check.isChecked())

    def spec(self) -> WatchSpec:
        """The watch as the form describes it; only the chosen kind of scope counts."""
        scope = self.scope_group.checkedId()
        return WatchSpec(
            name=self.name_edit.text(),
            query=self.query_edit.text().strip(),
            # "" (not None) so an update removes a regular expression that was cleared.
            regex=self.regex_edit.text().strip(),
            task_ids=list(self.chosen_task_ids()) if scope == SCOPE_TASKS else [],
            sources=list(self.chosen_sources()) if scope == SCOPE_SOURCES else [],
            notify=self.notify_check.isChecked(),
            outbound=self.outbound_check.isChecked(),
            active=self.active_check.isChecked(),
        )

    # live checks ----------------------------------------------------------------------

    @Slot()
    def _check_query(self) -> bool:
        text = self.query_edit.text().strip()
        if not text:
            self._hint(self.query_message, "Empty: the regular expression alone decides what matches.")
            return True
        try:
            parse_query(text)
        except QueryError as exc:
            self._show(self.query_message, _sentence(str(exc)))
            return False
        self.query_message.setVisible(False)
        return True

    @Slot()
    def _check_regex(self) -> bool:
        text = self.regex_edit.text().strip()
        if not text:
            self.regex_message.setVisible(False)
            return True
        problem = None
        if len(text) > MAX_REGEX_LENGTH:
            problem = f"Longer than {MAX_REGEX_LENGTH} characters"
        else:
            try:
                compile_regex(text)
            except QueryError as exc:
                problem = _sentence(str(exc))
        if problem is not None:
            self._show(self.regex_message, problem)
            return False
        self.regex_message.setVisible(False)
        return True

    @Slot()
    def _update_scope_widgets(self) -> None:
        scope = self.scope_group.checkedId()
        self.task_list.setEnabled(scope == SCOPE_TASKS and self._tasks_loaded)
        for check in self.source_checks.values():
            check.setEnabled(scope == SCOPE_SOURCES)
        self.scope_error.setVisible(False)

    def _validate(self) -> bool:
        """Check what needs no database; each problem is shown next to its field."""
        ok = self._check_query() and self._check_regex()
        if not self.name_edit.text().strip():
            self._show(self.name_error, "Give the watch a name.")
            ok = False
        if not self.query_edit.text().strip() and not self.regex_edit.text().strip():
            self._show(self.query_message, "Write a query, a regular expression, or both.")
            ok = False
        scope = self.scope_group.checkedId()
        if scope == SCOPE_TASKS and not self.chosen_task_ids():
            self._show(self.scope_error, "Tick at least one task, or choose All tasks.")
            ok = False
        if scope == SCOPE_SOURCES and not self.chosen_sources():
            self._show(self.scope_error, "Tick at least one source, or choose All tasks.")
            ok = False
        url = self.apprise_edit.text().strip()
        if url and not all("://" in part for part in split_urls(url)):
            self._show(self.apprise_message, "An Apprise URL reads like ntfy://ntfy.sh/my-topic.")
            ok = False
        return ok

    # saving ----------------------------------------------------------------------------

    @Slot()
    def save(self) -> None:
        """Validate, then store in the background; the dialog stays open with the reason if refused."""
        if self._busy:
            return
        self.error_label.setVisible(False)
        if not self._validate():
            return
        url = self.apprise_edit.text().strip()
        # Until the stored URL is known, an empty field must not be taken for "forget it".
        apprise_url = url if self._apprise_loaded and url != self._stored_url else None
        self._set_busy(True)
        self._show_hint(self.error_label, "Saving…")
        run_in_background(
            functools.partial(
                _save_job,
                self._ctx.db,
                self._ctx.home,
                self._ctx.settings.token_storage,
                self._watch.id if self._watch else None,
                self.spec(),
                apprise_url,
            ),
            functools.partial(self._on_saved, url if apprise_url is not None else self._stored_url),
            owner=self,
            on_error=self._on_save_failed,
        )

    def _on_saved(self, url: str, outcome: SaveOutcome) -> None:
        self.saved_watch = outcome.watch
        # From now on a save changes this watch (a new one is not created twice).
        self._watch = outcome.watch
        self.setWindowTitle("Edit watch")
        self.error_label.setVisible(False)
        if outcome.secret_problem is not None:
            self._initial = self.form_state()
            self._initial["apprise_url"] = self._stored_url  # typed, still not stored
            self._set_busy(False)
            self._show(self.apprise_message, outcome.secret_problem)
            return
        self._stored_url = url
        self._initial = self.form_state()
        if self.backfill_check.isChecked():
            self._start_backfill(outcome.watch)
            return
        self._set_busy(False)
        self.accept()

    def _on_save_failed(self, failure: Failure) -> None:
        self._set_busy(False)
        # The name rules are the tasks'; their words say "task name".
        message = failure.message.replace("task name", "name")
        if failure.kind != WatchError.__name__:
            self._show(self.error_label, f"The watch could not be saved: {message}")
        elif message.startswith("query:"):
            self._show(self.query_message, _sentence(message.removeprefix("query:").strip()))
        elif message.startswith("regular expression"):
            self._show(self.regex_message, _sentence(message))
        elif "name" in message:
            self._show(self.name_error, _sentence(message))
        elif "task" in message:
            self._show(self.scope_error, _sentence(message))
        else:
            self._show(self.error_label, _sentence(message))

    def _start_backfill(self, watch: WatchInfo) -> None:
        self._cancel_backfill = threading.Event()
        progress = QProgressDialog("Searching the items already collected…", "Stop", 0, 0, self)
        progress.setWindowTitle(f"Watch {watch.name!r}")
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(400)
        progress.setAutoClose(False)
        progress.setAutoReset(False)
        progress.canceled.connect(self._cancel_backfill.set)
        self._progress = progress
        self._backfill = run_with_progress(
            functools.partial(_backfill_job, self._ctx.db, watch.id, self._cancel_backfill),
            self._on_backfill_progress,
            self._on_backfill_done,
            owner=self,
            on_error=self._on_backfill_failed,
            on_finished=progress.close,
        )

    def _on_backfill_progress(self, value: tuple[int, int]) -> None:
        done, total = value
        if self._progress is not None:
            self._progress.setMaximum(max(total, 1))
            self._progress.setValue(done)

    def _on_backfill_done(self, added: int) -> None:
        self.backfill_added = added
        self.result_message = backfill_message(added, stopped=self._cancel_backfill.is_set())
        self._set_busy(False)
        self.accept()

    def _on_backfill_failed(self, failure: Failure) -> None:
        # The watch is saved: only the search of the past failed, and it can be asked for again.
        self._set_busy(False)
        self.result_message = f"The watch is saved; searching the collected items failed: {failure.message}"
        self._show(self.error_label, self.result_message)

    def backfill_finished(self) -> bool:
        """Whether the search of the collected items has ended (or never began)."""
        return self._backfill is None or not self._backfill.running

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.buttons.setEnabled(not busy)

    # closing ----------------------------------------------------------------------------

    def reject(self) -> None:
        """Escape or Cancel: stop a running search; ask before changes typed are thrown away."""
        if self._busy:
            if self._backfill is not None and self._backfill.running:
                self._cancel_backfill.set()
            return
        if self.changed and not confirm_discard(self, "Discard the changes to this watch?"):
            return
        super().reject()

    # messages -------------------------------------------------------------------------

    def _show(self, label: QLabel, message: str) -> None:
        label.setStyleSheet(ERROR_STYLE)
        label.setText(message)
        label.setVisible(True)
        grow_to_fit(self)

    def _hint(self, label: QLabel, message: str) -> None:
        label.setStyleSheet(HINT_STYLE)
        label.setText(message)
        label.setVisible(True)

    def _show_hint(self, label: QLabel, message: str) -> None:
        self._hint(label, message)
        grow_to_fit(self)


def _message_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setVisible(False)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def _sentence(message: str) -> str:
    """A backend message ("unbalanced quote: …") as the start of a sentence."""
    return message[:1].upper() + message[1:] if message else message
