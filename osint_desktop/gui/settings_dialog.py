"""The Settings dialog: X token, Bluesky and Mastodon logins, crawling, alerts, window, evidence, upkeep."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMessageBox, QTabWidget, QVBoxLayout, QWidget

from osint_desktop.app import autostart
from osint_desktop.app.context import AppContext
from osint_desktop.core.config import Settings
from osint_desktop.core.validation import ValidationError
from osint_desktop.core.wording import sentence
from osint_desktop.gui.settings_backup import BackupSection
from osint_desktop.gui.settings_credentials import CredentialsSection
from osint_desktop.gui.settings_evidence import EvidenceSection
from osint_desktop.gui.settings_form import PAGES, SettingsForm
from osint_desktop.gui.settings_network import NetworkSection
from osint_desktop.gui.settings_notifications import NotificationsSection
from osint_desktop.gui.settings_token import TokenSection


def _copy_settings(source: Settings, target: Settings) -> None:
    for field in dataclasses.fields(Settings):
        setattr(target, field.name, getattr(source, field.name))


class SettingsDialog(QDialog):
    """Edits ctx.settings; OK saves them, Cancel discards. Token, backup and restore act at once."""

    settings_changed = Signal()
    token_saved = Signal(str)  # storage used: keyring, session or file
    restore_started = Signal()
    restored = Signal()
    restore_failed = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        self._ctx = ctx
        self._accept_after_token_job = False
        self._accept_after_credentials_job = False

        self.token_section = TokenSection(ctx, self)
        self.credentials_section = CredentialsSection(ctx, self)
        self.backup_section = BackupSection(ctx, self)
        self.notifications_section = NotificationsSection(ctx, self)
        self.evidence_section = EvidenceSection(ctx, self)
        self.form = SettingsForm()
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.token_section, "X / Twitter")
        self.tabs.addTab(self.credentials_section, "Bluesky && Mastodon")
        extras: dict[str, QWidget] = {
            "Maintenance": self.backup_section,
            "Notifications": self.notifications_section,
            "Evidence": self.evidence_section,
        }
        for page in PAGES:
            self.tabs.addTab(self.form.build_page(page, extras.get(page.title)), page.title)
        self.network_section = NetworkSection(ctx, self)
        self.tabs.addTab(self.network_section, "Network")
        self._accept_after_network_job = False
        self.network_section.settled.connect(self._on_network_settled)

        self.button_box = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.button_box.accepted.connect(self.accept)
        self.button_box.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.button_box)

        self.token_section.saved.connect(self.token_saved)
        self.token_section.settled.connect(self._on_token_settled)
        self.token_section.edit.textChanged.connect(self._on_token_typed)
        self.credentials_section.settled.connect(self._on_credentials_settled)
        self.backup_section.restore_started.connect(self.restore_started)
        self.backup_section.restore_started.connect(self._on_restore_started)
        self.backup_section.restored.connect(self.restored)
        self.backup_section.restored.connect(self._on_restore_ended)
        self.backup_section.restore_failed.connect(self.restore_failed)
        self.backup_section.restore_failed.connect(self._on_restore_ended)

        self.form.load(ctx.settings)
        # The entry on disk is the truth: the user may have removed it with the desktop's tools.
        self.form.check("start_at_login").setChecked(autostart.is_enabled())
        self.token_section.refresh_status()
        self.credentials_section.refresh_status()

    @property
    def busy(self) -> bool:
        """Whether a token, backup or restore job is still running."""
        return self.token_section.busy or self.credentials_section.busy or self.backup_section.busy

    def settings_from_form(self) -> Settings:
        """A copy of ctx.settings with the form's values; ctx.settings is left as it is."""
        return self.form.read(self._ctx.settings)

    # --- OK / Cancel -------------------------------------------------------------------------

    def accept(self) -> None:
        """Apply and close; a token typed but not yet saved is saved first."""
        if self.backup_section.restoring:
            return
        token = self.token_section
        typed = token.typed()
        if token.saving or (typed and token.busy):
            # Finish what is under way with the token first; it settles back here.
            self._accept_after_token_job = True
            return
        if typed:
            self._accept_after_token_job = True
            token.save_token()
            return
        credentials = self.credentials_section
        if credentials.saving or (credentials.typed() and credentials.busy):
            self._accept_after_credentials_job = True
            return
        if credentials.typed():
            # A login or token typed but not saved is saved first, as the X token is.
            self._accept_after_credentials_job = True
            credentials.save_typed()
            return
        network = self.network_section
        if network.busy or (network.problem() is None and network.has_password()):
            # A proxy password goes to the credentials (keyring) first, off the GUI thread.
            self._accept_after_network_job = True
            if not network.busy:
                network.save_password()
            return
        self._apply_and_close()

    def reject(self) -> None:
        """Discard the form; not while a restore is replacing the database."""
        if self.backup_section.restoring:
            return
        super().reject()

    @Slot(bool)
    def _on_token_settled(self, ok: bool) -> None:
        if not ok:
            self.tabs.setCurrentWidget(self.token_section)
        resume, self._accept_after_token_job = self._accept_after_token_job, False
        if resume and ok:
            self.accept()

    @Slot(bool)
    def _on_credentials_settled(self, ok: bool) -> None:
        if not ok:
            self.tabs.setCurrentWidget(self.credentials_section)
        resume, self._accept_after_credentials_job = self._accept_after_credentials_job, False
        if resume and ok:
            self.accept()

    @Slot(bool)
    def _on_network_settled(self, ok: bool) -> None:
        if not ok:
            self.tabs.setCurrentWidget(self.network_section)
        resume, self._accept_after_network_job = self._accept_after_network_job, False
        if resume and ok:
            self.accept()

    @Slot(str)
    def _on_token_typed(self, text: str) -> None:
        # Enter in the token field saves the token instead of pressing OK.
        ok = self.button_box.button(QDialogButtonBox.StandardButton.Ok)
        if ok is not None:
            ok.setDefault(not text.strip())

    @Slot()
    def _on_restore_started(self) -> None:
        # The dialog stays open while the database is replaced under it.
        self.button_box.setEnabled(False)

    @Slot()
    def _on_restore_ended(self) -> None:
        self.button_box.setEnabled(True)

    def _apply_and_close(self) -> None:
        new = self.settings_from_form()
        try:
            new.bluesky_service_url = self.credentials_section.service_url()
        except ValidationError as exc:
            self.tabs.setCurrentWidget(self.credentials_section)
            QMessageBox.warning(self, "Settings", sentence(str(exc)))
            return
        problem = self.network_section.problem()
        if problem is not None:
            self.tabs.setCurrentWidget(self.network_section)
            QMessageBox.warning(self, "Settings", problem)
            return
        new.proxy_url = self.network_section.proxy_url()
        new.user_agent = self.network_section.user_agent()
        new.operator_name = self.evidence_section.operator()
        new.start_at_login = self._apply_start_at_login(new.start_at_login)
        settings = self._ctx.settings
        before = dataclasses.replace(settings)
        # Copy into the same object: the scheduler, the tray and workers hold a reference to it.
        _copy_settings(new, settings)
        try:
            settings.save(self._ctx.home)
        except OSError as exc:
            _copy_settings(before, settings)
            QMessageBox.warning(self, "Settings", f"The settings could not be saved: {exc}")
            return
        self.settings_changed.emit()
        super().accept()

    def _apply_start_at_login(self, wanted: bool) -> bool:
        """Create or remove the login entry; returns whether it is on afterwards."""
        try:
            if wanted:
                # Rewritten every time it is on, so it follows the app when the bundle moves.
                autostart.enable(autostart.launch_command(), autostart.launch_directory())
            elif autostart.is_enabled():
                autostart.disable()
        except (OSError, ValueError) as exc:
            action = "turned on" if wanted else "turned off"
            QMessageBox.warning(self, "Start at login", f"Start at login could not be {action}: {exc}")
            return autostart.is_enabled()
        return wanted
