"""Data folder, user settings and the limits every crawl obeys."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, fields
from dataclasses import field as default_factory_field
from pathlib import Path
from typing import Any

import platformdirs

from osint_desktop import APP_ID

log = logging.getLogger(__name__)

HOME_ENV = "OSINT_DESKTOP_HOME"
DB_ENV = "OSINT_DESKTOP_DB"
SETTINGS_FILE = "settings.json"


def data_dir() -> Path:
    """Return the data folder, creating it readable by the user alone."""
    override = os.environ.get(HOME_ENV)
    path = Path(override) if override else Path(platformdirs.user_data_dir(APP_ID, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    _restrict_to_owner(path, 0o700)
    return path


def _restrict_to_owner(path: Path, mode: int) -> None:
    # Collected intelligence and tokens are private: other local users must not read them.
    try:
        if os.name == "posix" and (path.stat().st_mode & 0o777) != mode:
            path.chmod(mode)
    except OSError as exc:  # a folder we do not own: say so, carry on
        log.warning("cannot restrict permissions of %s: %s", path, exc)


def database_url(db_option: str | None = None, home: Path | None = None) -> str:
    """Resolve the database: --db, then $OSINT_DESKTOP_DB, then the data folder's file."""
    value = db_option or os.environ.get(DB_ENV)
    if value:
        if "://" in value:
            return value
        return "sqlite:///" + str(Path(value).expanduser().resolve())
    base = home if home is not None else data_dir()
    return "sqlite:///" + str(base / "osint-desktop.sqlite3")


@dataclass
class Settings:
    """User-adjustable settings, kept as JSON in the data folder."""

    max_concurrent_crawls: int = 2
    # A ceiling only: a run starts as many fetch threads as its hosts' in-flight caps allow
    # (hosts x per_host_in_flight), so politeness, not a thread count, bounds a crawl. Threads
    # mostly wait on the network (parsing runs in other processes). The old key,
    # max_parallel_fetches (16), is ignored: it held crawls of many hosts to 16 requests at once.
    max_fetch_threads: int = 128
    # Feed parsing in worker processes: 0 = one per CPU, 1 = in the crawling process.
    parse_workers: int = 0
    per_host_in_flight: int = 2
    # Politeness is at most per_host_in_flight requests per host, Retry-After and back-off;
    # a fixed gap on top made every crawl of 25 feeds from one host last 6 s, fed or not.
    # Raise it in Settings for hosts that ask for slower clients.
    per_host_delay_s: float = 0.0
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    target_deadline_s: float = 60.0
    max_body_bytes: int = 15 * 1024 * 1024
    x_max_results_per_query: int = 100
    # X bills every post read: caps on the posts all X tasks together read per run and per
    # (UTC) day, enforced before asking.
    x_max_posts_per_run: int = 100
    x_max_posts_per_day: int = 500
    # Where Bluesky logs in (a self-hosted PDS, say); $OSINT_DESKTOP_BLUESKY_SERVICE overrides it.
    bluesky_service_url: str = "https://bsky.social"
    # The Mastodon instances ("host[:port]") whose access token Settings saved: the keyring
    # cannot be listed, so Settings keeps the names (never the tokens) to show them again.
    mastodon_token_instances: list[str] = default_factory_field(default_factory=list)
    notify_failures: bool = True
    notify_new_items: bool = True
    # Source health (app.health): failing after this many failed fetches in a row; quiet
    # after nothing new for quiet_factor times its usual interval, and never sooner than the floor.
    health_failing_after: int = 3
    health_quiet_factor: float = 3.0
    health_quiet_floor_hours: float = 24.0
    # A tray notification when a source starts failing, goes quiet or recovers...
    notify_health: bool = True
    # ...and the same message through the outbound channel (Apprise).
    outbound_health: bool = False
    close_to_tray: bool = True
    start_minimized: bool = False
    start_at_login: bool = False
    catch_up_missed_runs: bool = True
    # Items: the one selected is marked read once it has been shown a moment (gui.items_page).
    mark_read_on_select: bool = True
    # Team mode: the window shows the shared database and runs no scheduled task, so that
    # analysts' desktops do not compete with the collectors (--no-collect: this session only).
    view_only: bool = False
    log_retention_days: int = 90
    backup_keep: int = 7
    backup_interval_hours: int = 24
    close_to_tray_hint_shown: bool = False
    token_storage: str = "keyring"  # keyring | session | file
    defaults_created: bool = False
    # Evidence: every answer items come from is captured as WARC in <data folder>/evidence/.
    # On by default: an item that cannot be traced to its bytes is not evidence. Its cost was
    # measured: the soak window grows by 0.1-0.5 KB a run with capture on (as with it off, once
    # malloc arenas are limited: core/memory.py), a crawl by +2.7 % (benchmarks/capture_cost.py).
    capture_evidence: bool = True
    # WARC files whose captures are all older than this many days are deleted (and the
    # deletion logged in the custody log); 0 keeps evidence forever, the default: deleting
    # evidence must be a decision, not a side effect.
    evidence_retention_days: int = 0
    # Who is named in the custody log and in evidence packages; empty: the system user name.
    operator_name: str = ""
    # Every request goes through this proxy (http://, https://, socks5://, socks5h://host:port);
    # empty: none. Its password is a credential (app.proxies), never in this file.
    proxy_url: str = ""
    # Sent as User-Agent by every client; empty: the app's own (core.crawl.proxy.USER_AGENT).
    user_agent: str = ""

    @classmethod
    def load(cls, folder: Path | None = None) -> Settings:
        """Read settings; unknown keys are ignored and bad values fall back to defaults."""
        path = (folder or data_dir()) / SETTINGS_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            log.warning("settings file %s unreadable (%s); using defaults", path, exc)
            return cls()
        settings = cls()
        if not isinstance(raw, dict):
            return settings
        for field in fields(cls):
            if field.name in raw:
                value = raw[field.name]
                default = getattr(settings, field.name)
                if isinstance(default, bool):
                    ok = isinstance(value, bool)
                elif isinstance(default, (int, float)):
                    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
                    value = type(default)(value) if ok else value
                elif isinstance(default, list):
                    ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
                else:
                    ok = isinstance(value, type(default))
                if ok:
                    setattr(settings, field.name, value)
        return settings

    def save(self, folder: Path | None = None) -> None:
        """Write settings atomically so a crash never leaves half a file."""
        target = (folder or data_dir()) / SETTINGS_FILE
        write_private_file(target, json.dumps(asdict(self), indent=2, sort_keys=True))

    def as_dict(self) -> dict[str, Any]:
        """Plain-data copy, for crossing threads."""
        return asdict(self)


def write_private_file(target: Path, text: str) -> None:
    """Atomically replace target with text, readable by the owner only."""
    fd, tmp = tempfile.mkstemp(prefix=target.name, dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if os.name == "posix":
            os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
