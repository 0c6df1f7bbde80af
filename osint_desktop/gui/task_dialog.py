"""The task editor: name, source, frequency, targets and active, validated before saving, with a live test."""

from __future__ import annotations

import functools
import threading
from datetime import timedelta

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Slot
from PySide6.QtGui import QHelpEvent, QIntValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from osint_desktop.app.context import AppContext
from osint_desktop.app.probe import ProbeResult, probe_for_context
from osint_desktop.app.proxies import keep_proxy_password
from osint_desktop.app.tasks import NO_TOKEN_NOTE, TaskInfo, create_task, list_tasks, update_task
from osint_desktop.core.intervals import interval
from osint_desktop.core.secrets import TOKEN_ENV, KeyringUnavailableError
from osint_desktop.core.sources.registry import all_providers, provider_for
from osint_desktop.core.validation import (
    DEFAULT_LINKED_PAGES_PER_RUN,
    MAX_LINKED_PAGES_PER_RUN,
    MIN_LINKED_PAGES_PER_RUN,
    ValidationError,
    validate_name,
)
from osint_desktop.core.vocabulary import RunStatus, Source, TaskStatus
from osint_desktop.core.wording import sentence
from osint_desktop.gui.background import BackgroundCall, Failure, run_in_background, run_with_progress
from osint_desktop.gui.dialog_keys import add_save_keys, confirm_discard
from osint_desktop.gui.formatting import (
    HINT_COLOUR,
    NOTICE_COLOUR,
    status_colour,
    status_hex,
    text_style,
)
from osint_desktop.gui.task_network_fields import TaskNetworkFields
from osint_desktop.gui.task_schedule_fields import TimeOfDayFields
from osint_desktop.gui.tooltips import plain_tooltip

SOURCES = tuple((provider.source.value, provider.display_name) for provider in all_providers())
FREQUENCIES = (("hourly", "Hourly"), ("daily", "Daily"), ("weekly", "Weekly"))
ERROR_STYLE = text_style(status_hex(RunStatus.FAILED))
NOTICE_STYLE = text_style(NOTICE_COLOUR)
NO_TOKEN_NOTICE = (
    "No X bearer token is set: this task will fail until you add one in Settings "
    f"(or set {TOKEN_ENV})."
)


class TaskDialog(QDialog):
    """Creates a task (task=None) or edits one; saved_task_id is set after a successful save."""

    def __init__(self, ctx: AppContext, task: TaskInfo | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._task = task
        self.saved_task_id: int | None = None
        self._probe: BackgroundCall[list[ProbeResult]] | None = None
        self._probe_cancel = threading.Event()
        # Whether an X token is set, looked up off the GUI thread (the keyring may be slow):
        # None until known.
        self.token_present: bool | None = None
        self._token_lookup: BackgroundCall[bool] | None = None
        self.setWindowTitle("Edit task" if task else "New task")
        self.setMinimumWidth(560)

        self.name_edit = QLineEdit(task.name if task else "")
        self.name_edit.setPlaceholderText("e.g. Baltic shipping news")
        self.source_combo = QComboBox()
        for value, label in SOURCES:
            self.source_combo.addItem(label, value)
        self.frequency_combo = QComboBox()
        for value, label in FREQUENCIES:
            self.frequency_combo.addItem(label, value)
        self.targets_edit = QPlainTextEdit("\n".join(task.targets) if task else "")
        self.targets_edit.setMinimumHeight(140)
        # The targets' names (an OPML title, a feed's own): the box holds addresses, one a
        # line, so a line's name is its tooltip.
        self.target_titles = task.titles() if task else {}
        self.targets_edit.viewport().installEventFilter(self)
        # One target a line: a tab is never part of one, so Tab moves on as in every other field.
        self.targets_edit.setTabChangesFocus(True)
        self.active_check = QCheckBox("Active (runs on schedule)")
        self.active_check.setChecked(task.active if task else True)
        if task:
            self.source_combo.setCurrentIndex(max(0, self.source_combo.findData(task.source)))
            self.frequency_combo.setCurrentIndex(max(0, self.frequency_combo.findData(task.frequency)))
            if task.status == TaskStatus.RUNNING:
                self.source_combo.setEnabled(False)

        self.name_error = self._error_label()
        self.targets_error = self._error_label()
        self.targets_hint = QLabel()
        self.targets_hint.setStyleSheet(text_style(HINT_COLOUR))
        self.targets_hint.setWordWrap(True)
        self.token_notice = self._error_label()
        self.token_notice.setStyleSheet(NOTICE_STYLE)

        # X bills every post read: the task's own caps (empty: the global setting) and what
        # they would cost at most.
        settings = ctx.settings
        self.max_run_edit = self._cap_edit(
            task.x_max_posts_per_run if task else None, settings.x_max_posts_per_run
        )
        self.max_day_edit = self._cap_edit(
            task.x_max_posts_per_day if task else None, settings.x_max_posts_per_day
        )
        self.cost_label = QLabel()
        self.cost_label.setStyleSheet(text_style(HINT_COLOUR))
        self.cost_label.setWordWrap(True)

        # News: fetch each new item's link once, so that search and watches see the article.
        self.linked_pages_check = QCheckBox("Capture linked pages")
        self.linked_pages_check.setToolTip(
            "Fetch each new item's link once, keep the page as evidence and make its main text "
            "searchable, so watches see the article and not only the feed's summary"
        )
        self.linked_pages_check.setChecked(task.capture_linked_pages if task else False)
        self.linked_pages_spin = QSpinBox()
        self.linked_pages_spin.setRange(MIN_LINKED_PAGES_PER_RUN, MAX_LINKED_PAGES_PER_RUN)
        self.linked_pages_spin.setValue(task.linked_pages_per_run if task else DEFAULT_LINKED_PAGES_PER_RUN)
        self.linked_pages_spin.setToolTip("Each page is one more request to the news site, beside its feed")

        self.test_button = QPushButton("Test targets")
        self.test_button.setToolTip("Fetch each target once, without storing anything")
        self.test_button.clicked.connect(self.test_targets)
        self.test_results = QListWidget()
        self.test_results.setMaximumHeight(150)
        self.test_results.setVisible(False)

        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("", self.name_error)
        form.addRow("Source", self.source_combo)
        form.addRow("Frequency", self.frequency_combo)
        self.schedule_fields = TimeOfDayFields(task, self)
        form.addRow("", self.schedule_fields)
        form.addRow("Targets", self.targets_edit)
        form.addRow("", self.targets_hint)
        form.addRow("", self.targets_error)
        form.addRow("", self.active_check)
        form.addRow("", self.token_notice)
        form.addRow("X posts per run, at most", self.max_run_edit)
        form.addRow("X posts per day, at most", self.max_day_edit)
        form.addRow("", self.cost_label)
        form.addRow("", self.linked_pages_check)
        form.addRow("Linked pages per run, at most", self.linked_pages_spin)
        self.network_fields = TaskNetworkFields(ctx.settings, task, self)
        form.addRow("Network", self.network_fields)
        self._form = form

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.test_button, alignment=Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.test_results)
        layout.addWidget(self.buttons)

        self.source_combo.currentIndexChanged.connect(self._on_source_changed)
        self.active_check.toggled.connect(self._update_token_notice)
        self.name_edit.textChanged.connect(self._clear_name_error)
        self.targets_edit.textChanged.connect(self._clear_targets_error)
        self.frequency_combo.currentIndexChanged.connect(self._update_cost)
        self.frequency_combo.currentIndexChanged.connect(
            lambda: self.schedule_fields.set_frequency(str(self.frequency_combo.currentData()))
        )
        self.max_run_edit.textChanged.connect(self._update_cost)
        self.max_day_edit.textChanged.connect(self._update_cost)
        self.linked_pages_check.toggled.connect(self._update_linked_pages)
        add_save_keys(self, self.save)
        self._update_hint()
        self._update_cost()
        self._update_linked_pages()
        self._initial = self.form_state()
        if self.source() == Source.X:
            self._look_up_token()

    @staticmethod
    def _cap_edit(value: int | None, setting: int) -> QLineEdit:
        edit = QLineEdit("" if value is None else str(value))
        edit.setValidator(QIntValidator(1, 10_000_000))
        edit.setPlaceholderText(f"the setting: {setting}")
        edit.setToolTip("Empty: the global cap in Settings applies. The smaller of the two wins.")
        return edit

    def caps(self) -> tuple[int | None, int | None]:
        """The task's own read caps as typed; None where empty (the global setting)."""
        return _cap_value(self.max_run_edit), _cap_value(self.max_day_edit)

    @Slot()
    def _update_cost(self) -> None:
        """Show the cap fields and the spending ceiling for an X task only, kept current."""
        is_x = self.source() == Source.X
        for widget in (self.max_run_edit, self.max_day_edit, self.cost_label):
            self._form.setRowVisible(widget, is_x)
        if not is_x:
            return
        settings = self._ctx.settings
        per_run, per_day = self.caps()
        run_cap = min(c for c in (per_run, settings.x_max_posts_per_run) if c is not None)
        day_cap = min(c for c in (per_day, settings.x_max_posts_per_day) if c is not None)
        runs_per_day = timedelta(days=1) / interval(str(self.frequency_combo.currentData()))
        # Here, not at the top: the X client (tweepy) is not worth loading at every start.
        from osint_desktop.core.crawl.social import cost_estimate

        estimate = cost_estimate(run_cap, day_cap, runs_per_day)
        self.cost_label.setText(
            f"Up to {estimate.posts_per_run} posts a run ≈ ${estimate.run_usd:.2f}; "
            f"up to {estimate.posts_per_day} a day ≈ ${estimate.month_usd:.2f} a month"
        )

    @Slot()
    def _update_linked_pages(self) -> None:
        """The linked-page rows for a news task only (a post's link is the post itself)."""
        is_news = self.source() == Source.NEWS
        for widget in (self.linked_pages_check, self.linked_pages_spin):
            self._form.setRowVisible(widget, is_news)
        self.linked_pages_spin.setEnabled(self.linked_pages_check.isChecked())

    def linked_pages(self) -> tuple[bool, int]:
        """Whether the task captures linked pages, and at most how many a run."""
        captures = self.source() == Source.NEWS and self.linked_pages_check.isChecked()
        return captures, self.linked_pages_spin.value()

    @staticmethod
    def _error_label() -> QLabel:
        label = QLabel()
        label.setStyleSheet(ERROR_STYLE)
        label.setWordWrap(True)
        label.setVisible(False)
        return label

    @Slot()
    def _clear_name_error(self) -> None:
        self.name_error.setVisible(False)

    @Slot()
    def _clear_targets_error(self) -> None:
        self.targets_error.setVisible(False)

    @Slot()
    def _on_source_changed(self) -> None:
        """Say at once what the targets are worth for the new source, and whether it can run."""
        self._update_hint()
        self._update_cost()
        self._update_linked_pages()
        problems = self._target_problems(require_one=False)
        if problems:
            self._show_error(self.targets_error, _summary(problems))
        else:
            self.targets_error.setVisible(False)
        if self.source() == Source.X:
            self._look_up_token()
        self._update_token_notice()

    def _look_up_token(self) -> None:
        if self._token_lookup is not None and self._token_lookup.running:
            return
        self._token_lookup = run_in_background(
            functools.partial(_token_is_set, self._ctx), self._on_token_known, owner=self
        )

    def _on_token_known(self, present: bool) -> None:
        self.token_present = present
        self._update_token_notice()

    @Slot()
    def _update_token_notice(self) -> None:
        needed = self.source() == Source.X and self.active_check.isChecked()
        if needed and self.token_present is False:
            self._show_error(self.token_notice, NO_TOKEN_NOTICE)
        else:
            self.token_notice.setVisible(False)

    def ask_without_token(self) -> str:
        """An active social task and no token: "inactive", "active" (anyway) or "cancel"."""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "No X bearer token",
            f"{NO_TOKEN_NOTICE}\n\nSave the task inactive? You can activate it once the token is set.",
            parent=self,
        )
        inactive = box.addButton("Save inactive", QMessageBox.ButtonRole.AcceptRole)
        active = box.addButton("Save active anyway", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(inactive)
        box.exec()
        clicked = box.clickedButton()
        return "inactive" if clicked is inactive else "active" if clicked is active else "cancel"

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """A tooltip over the targets box names the target on the line under the mouse."""
        if event.type() == QEvent.Type.ToolTip and watched is self.targets_edit.viewport():
            assert isinstance(event, QHelpEvent)
            text = self.target_tooltip_at(event.pos())
            if text:
                QToolTip.showText(event.globalPos(), text, self.targets_edit.viewport())
            else:
                QToolTip.hideText()
            return True
        return super().eventFilter(watched, event)

    def target_tooltip_at(self, position: QPoint) -> str | None:
        """The name and address of the target on the line at a point of the box, or None."""
        cursor = self.targets_edit.cursorForPosition(position)
        rect = self.targets_edit.cursorRect(cursor)
        if not rect.top() <= position.y() <= rect.bottom():
            return None  # below the last line: no line is pointed at
        line = cursor.block().text().strip()
        title = self.target_titles.get(line)
        return plain_tooltip(title, line) if title else None

    @Slot()
    def _update_hint(self) -> None:
        provider = provider_for(self.source())
        hint = provider.target_hint
        if self.target_titles:
            hint += " Rest the mouse on a line to see its name."
        self.targets_hint.setText(hint)
        self.targets_edit.setPlaceholderText(provider.example_target)

    def source(self) -> str:
        """The chosen source."""
        return str(self.source_combo.currentData())

    def target_lines(self) -> list[str]:
        """The non-empty lines of the targets box."""
        return [line.strip() for line in self.targets_edit.toPlainText().splitlines() if line.strip()]

    def _show_error(self, label: QLabel, message: str) -> None:
        label.setText(message)
        label.setVisible(True)
        self._grow_to_fit()

    def _grow_to_fit(self) -> None:
        # A word-wrapped label shown after the dialog opened needs the height its text takes
        # at the dialog's width; a window is never given that by itself, so it was clipped.
        if not self.isVisible():
            return
        layout = self.layout()
        if layout is not None:
            layout.activate()
        wanted = self.heightForWidth(self.width()) if self.hasHeightForWidth() else self.sizeHint().height()
        screen = self.screen()
        if screen is not None:
            wanted = min(wanted, screen.availableGeometry().height())
        if wanted > self.height():
            self.resize(self.width(), wanted)

    def validate(self) -> bool:
        """Check every field; show the reason next to the field that is wrong."""
        ok = True
        try:
            name = validate_name(self.name_edit.text())
            clash = [
                t
                for t in list_tasks(self._ctx.db)
                if t.name == name and (not self._task or t.id != self._task.id)
            ]
            if clash:
                raise ValidationError(f"a task named {name!r} exists already", "name")
        except ValidationError as exc:
            self._show_error(self.name_error, sentence(str(exc)))
            ok = False
        problems = self._target_problems(require_one=True)
        if problems:
            self._show_error(self.targets_error, _summary(problems))
            ok = False
        return ok

    def _target_problems(self, require_one: bool) -> list[str]:
        """What is wrong with each line for the chosen source (a feed URL is no X query)."""
        lines = self.target_lines()
        provider = provider_for(self.source())
        problems = []
        for number, line in enumerate(lines, start=1):
            try:
                provider.validate_target(line, strict=True)
            except ValidationError as exc:
                problems.append(f"line {number}: {exc}")
        if not lines and require_one:
            problems.append("Add at least one target")
        return problems

    @Slot()
    def save(self) -> None:
        """Validate, then create or update; stays open with reasons when something is wrong."""
        if not self.validate():
            return
        active = self.active_check.isChecked()
        note = None
        # Asked now, not from the background look-up: the token may have been set meanwhile.
        if active and self.source() == Source.X and not self._ctx.x_token():
            choice = self.ask_without_token()
            if choice == "cancel":
                return
            if choice == "inactive":
                active, note = False, NO_TOKEN_NOTE
                self.active_check.setChecked(False)
        frequency = str(self.frequency_combo.currentData())
        is_x = self.source() == Source.X
        per_run, per_day = self.caps() if is_x else (None, None)
        is_news = self.source() == Source.NEWS
        capture_pages, pages_per_run = self.linked_pages()
        at, weekday = self.schedule_fields.values()
        try:
            proxy, agent = self.network_fields.values()
            # A password typed in the URL goes to the credentials, as the X token is looked up here.
            proxy = keep_proxy_password(proxy, self._ctx.home, self._ctx.settings.token_storage)
        except (ValidationError, KeyringUnavailableError) as exc:
            self.network_fields.show_error(sentence(str(exc)))
            return
        try:
            if self._task is None:
                task = create_task(
                    self._ctx.db,
                    self.name_edit.text(),
                    self.source(),
                    frequency,
                    self.target_lines(),
                    active=active,
                    # The window offers to activate such tasks once a token is saved.
                    note=note,
                    x_max_posts_per_run=per_run,
                    x_max_posts_per_day=per_day,
                    capture_linked_pages=capture_pages,
                    linked_pages_per_run=pages_per_run if is_news else None,
                    at=at, weekday=weekday, timezone=self.schedule_fields.zone,
                    proxy_url=proxy, user_agent=agent,
                )
            else:
                task = update_task(
                    self._ctx.db,
                    self._task.id,
                    name=self.name_edit.text(),
                    source=self.source(),
                    frequency=frequency,
                    targets=self.target_lines(),
                    active=active,
                    # An emptied field is 0 here: back to the setting.
                    x_max_posts_per_run=(per_run or 0) if is_x else None,
                    x_max_posts_per_day=(per_day or 0) if is_x else None,
                    # Off the news source, update_task switches the option off itself.
                    capture_linked_pages=capture_pages if is_news else None,
                    linked_pages_per_run=pages_per_run if is_news else None,
                    at=at, weekday=weekday, clear_time_of_day=at is None, timezone=self.schedule_fields.zone,
                    proxy_url=proxy, user_agent=agent,
                )
        except ValidationError as exc:
            if exc.field in ("proxy", "user_agent", "at", "weekday", "timezone"):
                self.network_fields.show_error(sentence(str(exc)))
                return
            label = self.name_error if exc.field == "name" else self.targets_error
            self._show_error(label, sentence(str(exc)))
            return
        self.saved_task_id = task.id
        self.accept()

    @Slot()
    def test_targets(self) -> None:
        """Try each target once in the background and list whether it works."""
        lines = self.target_lines()
        self.test_results.clear()
        self.test_results.setVisible(True)
        if not lines:
            self._show_error(self.targets_error, "Add at least one target to test")
            return
        self.test_button.setEnabled(False)
        self.test_button.setText(f"Testing 0/{len(lines)}…")
        source = self.source()
        try:
            proxy, agent = self.network_fields.values()
        except ValidationError as exc:
            self.network_fields.show_error(sentence(str(exc)))
            self._reset_test_button()
            return
        self._probe_cancel = threading.Event()
        cancel = self._probe_cancel

        # The credentials a run of these targets would use (X token, Mastodon instance
        # tokens, Bluesky login), looked up on the pool thread: the keyring may be slow.
        self._probe = run_with_progress(
            # The editor's proxy and User-Agent as they are now, saved or not ("": Settings').
            functools.partial(
                probe_for_context, self._ctx, source, lines, cancel=cancel,
                proxy_url=proxy or None, user_agent=agent or None,
            ),
            self._on_probe_result,
            self._on_probe_finished,
            owner=self,
            on_error=self._on_probe_error,
            key="probe",
        )

    def _on_probe_result(self, result: ProbeResult) -> None:
        mark = "✔" if result.ok else "✘"
        item = QListWidgetItem(f"{mark} {result.target} — {result.message}")
        item.setForeground(status_colour(RunStatus.SUCCESS if result.ok else RunStatus.FAILED))
        item.setToolTip(result.message)
        self.test_results.addItem(item)
        self.test_button.setText(f"Testing {self.test_results.count()}/{len(self.target_lines())}…")

    def _on_probe_finished(self, _results: list[ProbeResult]) -> None:
        # Each result was listed as it came.
        self._reset_test_button()

    def _on_probe_error(self, failure: Failure) -> None:
        self.test_results.addItem(f"✘ test failed: {failure.message}")
        self._reset_test_button()

    def _reset_test_button(self) -> None:
        self.test_button.setEnabled(True)
        self.test_button.setText("Test targets")

    def probe_finished(self) -> bool:
        """Whether the last test has reported everything."""
        return self._probe is not None and not self._probe.running

    def form_state(self) -> dict[str, object]:
        """Everything the user can change about the task, to tell whether they did."""
        return {
            "name": self.name_edit.text(),
            "source": self.source(),
            "frequency": self.frequency_combo.currentData(),
            "targets": self.targets_edit.toPlainText(),
            "active": self.active_check.isChecked(),
            "caps": (self.max_run_edit.text(), self.max_day_edit.text()),
            "linked_pages": (self.linked_pages_check.isChecked(), self.linked_pages_spin.value()),
        }

    @property
    def changed(self) -> bool:
        """Whether anything was changed since the dialog opened."""
        return self.form_state() != self._initial

    def reject(self) -> None:
        """Escape, Cancel or the close button: ask before the changes typed are thrown away."""
        if self.changed and not confirm_discard(self, "Discard the changes to this task?"):
            return
        super().reject()

    def done(self, result: int) -> None:
        """Closing stops a test still running."""
        self._probe_cancel.set()
        super().done(result)


def _token_is_set(ctx: AppContext) -> bool:
    """Whether an X token is set (the keyring may be slow: off the GUI thread)."""
    return bool(ctx.x_token())


def _cap_value(edit: QLineEdit) -> int | None:
    text = edit.text().strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def _summary(problems: list[str]) -> str:
    """The first problems, one a line, and how many more there are."""
    shown = problems[:5] + ([f"… and {len(problems) - 5} more"] if len(problems) > 5 else [])
    return "\n".join(shown)
