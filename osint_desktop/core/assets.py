"""Finding shipped files (icons, desktop entry) from source, an installed wheel or the bundle."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

# core/assets.py: the package is two folders up.
_PACKAGE = Path(__file__).resolve().parent.parent


@cache
def resources_root() -> Path:
    """The folder that holds icons/ and the desktop entry, wherever the app runs from."""
    candidates = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.append(Path(bundle) / "resources")
    candidates += [_PACKAGE / "resources", _PACKAGE.parent / "resources"]
    for candidate in candidates:
        if (candidate / "icons").is_dir():
            return candidate
    raise FileNotFoundError("the app's resources folder is missing: reinstall OSINT Desktop")


def resource_path(*parts: str) -> Path:
    """A file under the resources folder."""
    return resources_root().joinpath(*parts)
