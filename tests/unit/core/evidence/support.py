"""Helpers of the evidence tests: real fetches over loopback captured, and warcio's own command line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from osint_desktop.core.evidence.capture import CaptureRef, EvidenceWriter

USER_AGENT = "OSINTDesktop/test (+evidence)"


def fetch_and_capture(writer: EvidenceWriter, url: str, previous: CaptureRef | None = None) -> CaptureRef:
    """GET url over loopback with requests, as the app does, and capture what came back."""
    response = requests.get(url, headers={"User-Agent": USER_AGENT}, timeout=30)
    response.raise_for_status()
    return writer.capture_response(
        url,
        response.url,
        dict(response.request.headers),
        response.status_code,
        response.reason,
        list(response.raw.headers.items()),
        response.content,
        datetime.now(UTC),
        USER_AGENT,
        previous=previous,
    )


def warcio_command() -> list[str]:
    """warcio's console script beside this interpreter, else its module (same code)."""
    script = Path(sys.executable).parent / "warcio"
    if script.exists():
        return [str(script)]
    found = shutil.which("warcio")
    return [found] if found else [sys.executable, "-m", "warcio.cli"]


def warcio_check(*paths: Path) -> subprocess.CompletedProcess[str]:
    """`warcio check -v PATH…`: exit 0 when every digest of every record holds."""
    return subprocess.run(
        [*warcio_command(), "check", "-v", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def warcio_index(path: Path) -> list[dict[str, Any]]:
    """`warcio index` of a file as JSON lines, with type, target, id and HTTP status."""
    done = subprocess.run(
        [
            *warcio_command(),
            "index",
            "-f",
            "offset,length,warc-type,warc-target-uri,warc-record-id,http:status,warc-date",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
