"""What every subcommand prints: one JSON object per command, secrets masked."""

from __future__ import annotations

import json
import sys
from typing import Any

from osint_desktop.core.secrets import redact


def emit(payload: dict[str, Any]) -> None:
    """Print one JSON object on standard output."""
    sys.stdout.write(redact(json.dumps(payload, ensure_ascii=False)) + "\n")
    sys.stdout.flush()


def success(message: str, **extra: Any) -> dict[str, Any]:
    """A success payload."""
    return {"status": "success", "message": message, **extra}


def error(message: str, **extra: Any) -> dict[str, Any]:
    """An error payload."""
    return {"status": "error", "message": message, **extra}
