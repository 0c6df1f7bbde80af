"""The machine's time zone as an IANA name (Europe/Berlin), read without tzlocal."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger(__name__)

FALLBACK_ZONE = "UTC"
LOCALTIME_LINK = Path("/etc/localtime")
TIMEZONE_FILE = Path("/etc/timezone")
_ZONEINFO_DIR = "zoneinfo/"
# The window asks on every repaint of a schedule: each fallback is logged once, not each time.
_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning("%s", message)


def is_zone_name(name: str) -> bool:
    """Whether name is an IANA zone this machine's tz database knows."""
    if not name or name.startswith("/") or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _key_from_path(path: str) -> str | None:
    # /usr/share/zoneinfo/Europe/Berlin (Linux), /var/db/timezone/zoneinfo/Europe/Berlin (macOS).
    _, found, key = path.rpartition(_ZONEINFO_DIR)
    return key if found and is_zone_name(key) else None


def local_zone_name() -> str:
    """The IANA name of the zone local times are meant in: $TZ, /etc/localtime, /etc/timezone.

    time.tzname gives abbreviations (CET), which name no zone, and tzlocal is only here as
    APScheduler's dependency. $TZ wins, as it does for the C library; a $TZ that names no zone
    (a POSIX rule such as "CET-1CEST") and a machine without these files (Windows) fall back
    to UTC, said once in the log.
    """
    tz = os.environ.get("TZ", "").strip()
    if tz:
        name = tz.removeprefix(":")
        if is_zone_name(name):
            return name
        from_path = _key_from_path(name)
        if from_path:
            return from_path
        _warn_once(f"TZ={tz!r} names no IANA time zone: times of day are taken as {FALLBACK_ZONE}")
        return FALLBACK_ZONE
    try:
        # The link is what timedatectl changes; /etc/timezone (Debian) can be left stale.
        from_link = _key_from_path(os.readlink(LOCALTIME_LINK))
    except OSError:
        from_link = None
    if from_link:
        return from_link
    try:
        written = TIMEZONE_FILE.read_text(encoding="utf-8").strip()
    except OSError:
        written = ""
    if is_zone_name(written):
        return written
    _warn_once(f"the machine's time zone has no IANA name here: times of day are taken as {FALLBACK_ZONE}")
    return FALLBACK_ZONE
