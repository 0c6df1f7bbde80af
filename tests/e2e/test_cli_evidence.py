"""`evidence export` then `verify` as a user types them, over runs of loopback feeds."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli
from tests.feedserver import FeedServer
from tests.helpers import FAST_SETTINGS, SECURITY, WORLD, WORLD_ENTRIES, write_settings
from tests.unit.core.evidence.support import warcio_check


def add_news_task(cli: Cli, name: str, url: str) -> int:
    added = cli("add-task", "--name", name, "--source", "news", "--frequency", "daily", "--target", url)
    assert added.code == 0, added.stdout
    task_id = added.json["task_id"]
    assert isinstance(task_id, int)
    return task_id


def item_ids(cli: Cli, task_id: int) -> list[int]:
    return sorted(int(row["id"]) for row in cli("items", "--task", str(task_id)).json["items"])


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.fixture(autouse=True)
def capture_on(cli_home: Path) -> None:
    """Capture is on by default; these runs say so anyway, beside the loopback-friendly settings."""
    write_settings(cli_home, **FAST_SETTINGS, capture_evidence=True)


def test_export_verifies_and_any_flipped_byte_is_named(
    cli: Cli, cli_home: Path, server: FeedServer, tmp_path: Path
) -> None:
    server.add_file("/world.xml", WORLD)
    task_id = add_news_task(cli, "World", server.url("/world.xml"))
    ran = cli("run-task", str(task_id))
    assert ran.code == 0, ran.stdout
    warcs = sorted((cli_home / "evidence").glob("*.warc.gz"))
    assert warcs and warcio_check(*warcs).returncode == 0

    out = tmp_path / "package"
    exported = cli("evidence", "export", "--task", str(task_id), "--out", str(out))
    assert exported.code == 0, exported.stdout
    assert exported.json["items"] == WORLD_ENTRIES
    assert exported.json["item_ids"] == item_ids(cli, task_id)
    custody = json.loads((out / "custody.json").read_text(encoding="utf-8"))
    assert [entry["action"] for entry in custody] == ["capture"]

    verified = cli("verify", str(out))
    assert verified.code == 0, verified.stdout
    assert verified.json["message"].startswith("OK")
    assert verified.json["items_checked"] == WORLD_ENTRIES

    for name in ("items.json", "items.csv", "custody.json", "evidence.warc.gz", "manifest.json"):
        copy = tmp_path / f"flipped-{name}"
        exported = cli("evidence", "export", "--task", str(task_id), "--out", str(copy))
        assert exported.code == 0, exported.stdout
        target = copy / name
        flip_byte(target, target.stat().st_size // 2)
        broken = cli("verify", str(copy))
        assert broken.code == 1, (name, broken.stdout)
        assert broken.json["status"] == "error"
        assert any(name in problem for problem in broken.json["problems"]), (name, broken.json)


def test_a_zip_export_of_chosen_items_verifies(
    cli: Cli, server: FeedServer, tmp_path: Path
) -> None:
    server.add_file("/world.xml", WORLD)
    task_id = add_news_task(cli, "World", server.url("/world.xml"))
    assert cli("run-task", str(task_id)).code == 0
    chosen = item_ids(cli, task_id)[:2]
    out = tmp_path / "package.zip"
    exported = cli("evidence", "export", "--item", *map(str, chosen), "--out", str(out), "--zip")
    assert exported.code == 0, exported.stdout
    assert exported.json["item_ids"] == chosen
    with zipfile.ZipFile(out) as package:
        assert "manifest.json" in {Path(name).name for name in package.namelist()}
    verified = cli("verify", str(out))
    assert verified.code == 0, verified.stdout
    again = cli("evidence", "export", "--item", str(chosen[0]), "--out", str(out))
    assert again.code == 2 and "already exists" in again.stderr


def test_items_without_a_capture_are_refused(
    cli: Cli, cli_home: Path, server: FeedServer, tmp_path: Path
) -> None:
    server.add_file("/world.xml", WORLD)
    server.add_file("/security.xml", SECURITY, content_type="application/atom+xml")
    write_settings(cli_home, **FAST_SETTINGS, capture_evidence=False)
    plain = add_news_task(cli, "Not captured", server.url("/world.xml"))
    assert cli("run-task", str(plain)).code == 0
    write_settings(cli_home, **FAST_SETTINGS, capture_evidence=True)
    captured = add_news_task(cli, "Captured", server.url("/security.xml"))
    assert cli("run-task", str(captured)).code == 0

    uncaptured = item_ids(cli, plain)[0]
    refused = cli("evidence", "export", "--item", str(uncaptured), "--out", str(tmp_path / "a"))
    assert refused.code == 1
    assert f"item(s) {uncaptured} have no capture" in refused.json["message"]
    assert not (tmp_path / "a").exists()
    whole_task = cli("evidence", "export", "--task", str(plain), "--out", str(tmp_path / "b"))
    assert whole_task.code == 1 and "nothing to export" in whole_task.json["message"]
    unknown = cli("evidence", "export", "--watch", "99", "--out", str(tmp_path / "c"))
    assert unknown.code == 1 and unknown.json["watch_id"] == 99
    missing = cli("verify", str(tmp_path / "nowhere"))
    assert missing.code == 1 and missing.json["problems"]
