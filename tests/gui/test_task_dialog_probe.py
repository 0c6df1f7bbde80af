"""The task editor's Test targets with saved credentials, and each source's hint, example and checks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from osint_desktop.app.context import AppContext
from osint_desktop.core.secrets import clear_credential, save_credential
from osint_desktop.core.sources.registry import all_providers
from osint_desktop.gui.task_dialog import TaskDialog
from tests.mastodon_server import FakeMastodon

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")

TOKEN = "mastodon-editor-token-Pq71Zx0pLk2Jh9"
WAIT_MS = 20_000


@pytest.fixture
def mastodon() -> Iterator[FakeMastodon]:
    with FakeMastodon() as server:
        yield server


def results_of(qtbot: QtBot, dialog: TaskDialog) -> list[str]:
    dialog.test_targets()
    qtbot.waitUntil(dialog.probe_finished, timeout=WAIT_MS)
    return [dialog.test_results.item(i).text() for i in range(dialog.test_results.count())]


def test_test_targets_uses_the_saved_mastodon_instance_token(
    qtbot: QtBot, gui_ctx: AppContext, mastodon: FakeMastodon
) -> None:
    mastodon.token = TOKEN
    mastodon.search_results = [mastodon.status("found by the editor", "dave")]
    mastodon.add_tag_posts("osint", 1)
    dialog = TaskDialog(gui_ctx)
    qtbot.addWidget(dialog)
    dialog.source_combo.setCurrentIndex(dialog.source_combo.findData("mastodon"))
    search, tag = f"{mastodon.base}/search?q=osint", f"{mastodon.base}/tags/osint"
    dialog.targets_edit.setPlainText(f"{search}\n{tag}")

    before = results_of(qtbot, dialog)
    assert len(before) == 2
    failed = next(line for line in before if "search" in line)
    assert failed.startswith("✘") and f"add one for {mastodon.netloc} in Settings" in failed
    assert next(line for line in before if "/tags/" in line).startswith("✔")

    name = f"mastodon-token:{mastodon.netloc}"
    save_credential(name, TOKEN, gui_ctx.home, "keyring")
    try:
        after = results_of(qtbot, dialog)
        assert all(line.startswith("✔") for line in after), after
        assert TOKEN not in "\n".join(after)
    finally:
        clear_credential(name, gui_ctx.home)


def test_each_source_shows_its_hint_and_example_and_checks_its_own_targets(
    qtbot: QtBot, gui_ctx: AppContext
) -> None:
    dialog = TaskDialog(gui_ctx)
    qtbot.addWidget(dialog)
    offered = [dialog.source_combo.itemData(i) for i in range(dialog.source_combo.count())]
    assert offered == [provider.source.value for provider in all_providers()]
    for provider in all_providers():
        dialog.source_combo.setCurrentIndex(dialog.source_combo.findData(provider.source.value))
        assert dialog.targets_hint.text() == provider.target_hint
        assert dialog.targets_edit.placeholderText() == provider.example_target
        # The example is a valid target of its own source.
        dialog.targets_edit.setPlainText(provider.example_target)
        assert dialog._target_problems(require_one=True) == [], provider.source
    # A Bluesky query is no Mastodon page: refused with the line number.
    dialog.source_combo.setCurrentIndex(dialog.source_combo.findData("mastodon"))
    dialog.targets_edit.setPlainText("ransomware lang:en")
    problems = dialog._target_problems(require_one=True)
    assert problems and problems[0].startswith("line 1:")
