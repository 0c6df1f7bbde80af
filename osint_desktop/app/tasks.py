"""Task management: create, change, delete and list crawl tasks, and the defaults."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from osint_desktop.app.proxies import task_proxy_value, task_user_agent_value
from osint_desktop.app.target_names import (
    clean_folders,
    clean_titles,
    stored_folders,
    stored_titles,
    update_names,
)
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.models import CrawlTask, Watch
from osint_desktop.core.intervals import interval
from osint_desktop.core.localzone import is_zone_name, local_zone_name
from osint_desktop.core.time_of_day import TimeOfDay, from_columns, weekday_word
from osint_desktop.core.timeutil import iso, utcnow
from osint_desktop.core.validation import (
    DEFAULT_LINKED_PAGES_PER_RUN,
    ValidationError,
    validate_frequency,
    validate_linked_pages,
    validate_name,
    validate_post_caps,
    validate_schedule_time,
    validate_source,
)
from osint_desktop.core.vocabulary import Frequency, Source, TaskStatus

log = logging.getLogger(__name__)

NO_TOKEN_NOTE = (
    "Inactive until an X bearer token is configured: add one in Settings (or set "
    "OSINT_DESKTOP_X_BEARER_TOKEN), then activate this task."
)
X_EXAMPLE_NOTE = (
    "An example: X bills every post read. Activate it when you accept the cost; the posts "
    "read per run and per day are capped in Settings."
)


class UnknownTaskError(LookupError):
    """No task has that id."""

    def __init__(self, task_id: int) -> None:
        super().__init__(f"no task with id {task_id}")
        self.task_id = task_id


@dataclass(frozen=True)
class TaskInfo:
    """A task as plain data, safe to hand to another thread."""

    id: int
    name: str
    source: Source
    frequency: Frequency
    status: TaskStatus
    active: bool
    last_run: datetime | None
    next_run: datetime | None
    targets: tuple[str, ...]
    consecutive_failures: int
    last_error: str | None
    last_items_new: int | None
    note: str | None
    created_at: datetime
    updated_at: datetime
    # X only: this task's caps on posts read per run and per UTC day; None: the global setting.
    x_max_posts_per_run: int | None = None
    x_max_posts_per_day: int | None = None
    # News only: fetch each new item's link once, index its main text and keep it as evidence;
    # at most this many pages a run.
    capture_linked_pages: bool = False
    linked_pages_per_run: int = DEFAULT_LINKED_PAGES_PER_RUN
    # Daily and weekly tasks: the wall-clock time "HH:MM" (weekly: and weekday, 0 = Monday) in
    # the IANA zone it was given in; None: the task steps by its interval from its last slot.
    at: str | None = None
    weekday: int | None = None
    timezone: str | None = None
    # The task's own proxy (NO_PROXY: none at all) and User-Agent; None: the global settings.
    proxy_url: str | None = None
    user_agent: str | None = None

    @property
    def time_of_day(self) -> TimeOfDay | None:
        """When the task runs, if a time of day was given."""
        return from_columns(self.at, self.weekday, self.timezone)
    # Names by target: those the user gave (an OPML import) and the sources' own (a feed's
    # title, learned by runs); the user's win (title_of). Folders: the OPML folder path a feed
    # came from, which an export writes back. Left out of the hash: a dict has none.
    target_titles: Mapping[str, str] = field(default_factory=dict, hash=False)
    feed_titles: Mapping[str, str] = field(default_factory=dict, hash=False)
    target_folders: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)

    def title_of(self, target: str) -> str | None:
        """The target's name: the one the user gave, else the source's own; None when unknown."""
        return self.target_titles.get(target) or self.feed_titles.get(target) or None

    def titles(self) -> dict[str, str]:
        """Every target that has a name, with it."""
        named = ((target, self.title_of(target)) for target in self.targets)
        return {target: title for target, title in named if title}

    @classmethod
    def from_row(cls, row: CrawlTask) -> TaskInfo:
        """Copy an ORM row into plain data."""
        return cls(
            id=row.id,
            name=row.name,
            source=Source(row.source),
            frequency=Frequency(row.frequency),
            status=TaskStatus(row.status),
            active=row.active,
            last_run=row.last_run,
            next_run=row.next_run,
            targets=tuple(row.targets or ()),
            consecutive_failures=row.consecutive_failures,
            last_error=row.last_error,
            last_items_new=row.last_items_new,
            note=row.note,
            created_at=row.created_at,
            updated_at=row.updated_at,
            x_max_posts_per_run=row.x_max_posts_per_run,
            x_max_posts_per_day=row.x_max_posts_per_day,
            capture_linked_pages=bool(row.capture_linked_pages),
            linked_pages_per_run=row.linked_pages_per_run or DEFAULT_LINKED_PAGES_PER_RUN,
            at=row.run_at,
            weekday=row.run_weekday,
            timezone=row.run_timezone,
            proxy_url=row.proxy_url,
            user_agent=row.user_agent,
            target_titles=stored_titles(row.target_titles, row.targets),
            feed_titles=stored_titles(row.feed_titles, row.targets),
            target_folders=stored_folders(row.target_folders, row.targets),
        )

    def to_json(self) -> dict[str, Any]:
        """The command line's representation."""
        data = asdict(self)
        data["targets"] = list(self.targets)
        data["weekday"] = weekday_word(self.weekday)
        data["target_titles"] = dict(self.target_titles)
        data["feed_titles"] = dict(self.feed_titles)
        data["target_folders"] = {target: list(path) for target, path in self.target_folders.items()}
        for key in ("last_run", "next_run", "created_at", "updated_at"):
            data[key] = iso(data[key])
        return data


@dataclass(frozen=True)
class DefaultTask:
    """One of the tasks every new installation starts with."""

    name: str
    source: Source
    frequency: Frequency
    targets: tuple[str, ...]
    active: bool = True


DEFAULT_TASKS = (
    DefaultTask(
        "Hourly News Crawl",
        Source.NEWS,
        Frequency.HOURLY,
        (
            "https://feeds.bbci.co.uk/news/world/rss.xml",
            "https://www.theguardian.com/world/rss",
            "https://rss.nytimes.com/services/xml/rss/nyt/World.xml",
            "https://www.aljazeera.com/xml/rss/all.xml",
            "https://feeds.npr.org/1004/rss.xml",
            "https://rss.dw.com/rdf/rss-en-world",
        ),
    ),
    # Works on a first start with no key: public Mastodon hashtag pages a security analyst
    # follows. A task has one source, so the seed's one "social" default is split by source.
    DefaultTask(
        "Daily Social Media Crawl",
        Source.MASTODON,
        Frequency.DAILY,
        (
            "https://infosec.exchange/tags/osint",
            "https://infosec.exchange/tags/threatintel",
            "https://infosec.exchange/tags/cybersecurity",
        ),
    ),
    DefaultTask(
        "Weekly Security News Crawl",
        Source.NEWS,
        Frequency.WEEKLY,
        (
            "https://krebsonsecurity.com/feed/",
            "https://www.schneier.com/feed/atom/",
            "https://www.bleepingcomputer.com/feed/",
            "https://feeds.feedburner.com/TheHackersNews",
            "https://www.cisa.gov/cybersecurity-advisories/all.xml",
            "https://www.ncsc.gov.uk/api/1/services/v1/report-rss-feed.xml",
            "https://isc.sans.edu/rssfeed_full.xml",
        ),
    ),
    # Public channels, read through their t.me/s/ web previews: no account needed.
    DefaultTask(
        "Daily Telegram Security Channels",
        Source.TELEGRAM,
        Frequency.DAILY,
        ("thehackernews", "vxunderground", "CyberSecurityNews"),
    ),
    # X reads are billed per post: an example to activate deliberately, never on by default.
    DefaultTask(
        "X searches",
        Source.X,
        Frequency.DAILY,
        (
            "#OSINT -is:retweet lang:en",
            '(CVE OR "zero-day") exploited -is:retweet lang:en',
            "ransomware (attack OR breach) -is:retweet lang:en",
            "#threatintel -is:retweet",
        ),
        active=False,
    ),
)
# The seed's X default: a database that has it as an X task already holds the X queries,
# so "X searches" is not added beside it on upgrade.
SEED_X_DEFAULT = "Daily Social Media Crawl"


def _get(session: Session, task_id: int) -> CrawlTask:
    task = session.get(CrawlTask, task_id)
    if task is None:
        raise UnknownTaskError(task_id)
    return task


def _check_unique_name(session: Session, name: str, task_id: int | None = None) -> None:
    existing = session.scalar(select(CrawlTask.id).where(CrawlTask.name == name))
    if existing is not None and existing != task_id:
        raise ValidationError(f"a task named {name!r} exists already", "name")


def get_task(db: Database, task_id: int) -> TaskInfo:
    """One task, or UnknownTaskError."""
    with db.read() as session:
        return TaskInfo.from_row(_get(session, task_id))


def list_tasks(db: Database) -> list[TaskInfo]:
    """Every task, by id."""
    with db.read() as session:
        rows = session.scalars(select(CrawlTask).order_by(CrawlTask.id)).all()
        return [TaskInfo.from_row(row) for row in rows]


def create_task(
    db: Database,
    name: str,
    source: str,
    frequency: str,
    targets: list[str],
    active: bool = True,
    note: str | None = None,
    x_max_posts_per_run: int | None = None,
    x_max_posts_per_day: int | None = None,
    capture_linked_pages: bool = False,
    linked_pages_per_run: int | None = None,
    *,
    at: time | None = None,
    weekday: int | None = None,
    timezone: str | None = None,
    proxy_url: str | None = None,
    user_agent: str | None = None,
    target_titles: Mapping[str, str] | None = None,
    target_folders: Mapping[str, Sequence[str]] | None = None,
) -> TaskInfo:
    """Validate and store a new task; an active one is due at once, or at its time of day.

    linked_pages_per_run None: the default (DEFAULT_LINKED_PAGES_PER_RUN). at (and weekday,
    weekly) is meant in timezone, by default the machine's. proxy_url and user_agent: None or
    "default" for the global settings, proxy_url "none" for no proxy (a URL without password).
    target_titles and target_folders: names and OPML folder paths by target (entries for
    other targets are dropped).
    """
    # The source providers (their target rules) load with the first task written, not with
    # every command that only reads tasks.
    from osint_desktop.core.sources.registry import validate_targets

    name = validate_name(name)
    source = validate_source(source)
    frequency = validate_frequency(frequency)
    cleaned_targets = validate_targets(source, targets)
    validate_post_caps(source, x_max_posts_per_run, x_max_posts_per_day)
    validate_linked_pages(source, capture_linked_pages, linked_pages_per_run)
    validate_schedule_time(frequency, at, weekday)
    proxy = task_proxy_value(proxy_url) if proxy_url is not None else None
    agent = task_user_agent_value(user_agent) if user_agent is not None else None
    now = utcnow()
    with db.write() as session:
        _check_unique_name(session, name)
        task = CrawlTask(
            name=name,
            source=source,
            frequency=frequency,
            targets=cleaned_targets,
            active=active,
            status=TaskStatus.PENDING,
            # Like a feed reader fetching a feed the moment it is added.
            next_run=now if active else None,
            created_at=now,
            updated_at=now,
            consecutive_failures=0,
            note=note,
            # 0 (update_task's "clear") stored as no cap of the task's own.
            x_max_posts_per_run=x_max_posts_per_run or None,
            x_max_posts_per_day=x_max_posts_per_day or None,
            capture_linked_pages=capture_linked_pages,
            linked_pages_per_run=linked_pages_per_run or DEFAULT_LINKED_PAGES_PER_RUN,
            proxy_url=proxy,
            user_agent=agent,
            target_titles=clean_titles(target_titles or {}, cleaned_targets),
            feed_titles={},
            target_folders=clean_folders(target_folders or {}, cleaned_targets),
        )
        if _set_time_of_day(task, at, weekday, False, timezone, now) and active:
            # Asked to run at a time of day: its first run is then, not at once.
            task.next_run = recomputed_next_run(None, frequency, now, _time_of_day(task))
        session.add(task)
        session.flush()
        info = TaskInfo.from_row(task)
    log.info("task %d %r created (%s, %s)", info.id, info.name, source, frequency)
    return info


def recomputed_next_run(
    last_run: datetime | None, frequency: str, now: datetime, at: TimeOfDay | None = None
) -> datetime:
    """Next run after a schedule change or re-activation: last run + interval, or now if passed.

    With a time of day (daily, weekly): its next occurrence after now.
    """
    if at is not None and frequency != Frequency.HOURLY:
        return at.next_after(now)
    if last_run is None:
        return now
    return max(last_run + interval(frequency), now)


def _time_of_day(task: CrawlTask) -> TimeOfDay | None:
    return from_columns(task.run_at, task.run_weekday, task.run_timezone)


def _set_time_of_day(
    task: CrawlTask, at: time | None, weekday: int | None, clear: bool, zone: str | None, now: datetime
) -> bool:
    """Apply a time of day (and weekday) to the task as its frequency allows; True if it changed.

    A time is stored as given, with the zone it is meant in (the machine's unless told). A
    task moved to hourly drops its time, one moved off weekly its weekday; a weekly task
    given a time but no weekday keeps the weekday it would have run on.
    """
    before = (task.run_at, task.run_weekday, task.run_timezone)
    validate_schedule_time(task.frequency, at, weekday)
    if zone is not None and not is_zone_name(zone):
        raise ValidationError(f"{zone!r} is not a time zone name (for example Europe/Berlin)", "timezone")
    if clear:
        task.run_at = task.run_weekday = task.run_timezone = None
    if at is not None:
        task.run_at = f"{at:%H:%M}"
        task.run_timezone = zone or local_zone_name()
    if weekday is not None:
        if task.run_at is None:
            raise ValidationError("--weekday needs a time of day too (--at HH:MM)", "weekday")
        task.run_weekday = weekday
    if task.frequency == Frequency.HOURLY:
        task.run_at = task.run_weekday = task.run_timezone = None
    elif task.frequency != Frequency.WEEKLY:
        task.run_weekday = None
    elif task.run_at is not None and task.run_weekday is None:
        basis = task.next_run or now
        task.run_weekday = basis.astimezone(ZoneInfo(task.run_timezone or "UTC")).weekday()
    return (task.run_at, task.run_weekday, task.run_timezone) != before


def update_task(
    db: Database,
    task_id: int,
    *,
    name: str | None = None,
    source: str | None = None,
    frequency: str | None = None,
    targets: list[str] | None = None,
    active: bool | None = None,
    next_run: datetime | None = None,
    x_max_posts_per_run: int | None = None,
    x_max_posts_per_day: int | None = None,
    capture_linked_pages: bool | None = None,
    linked_pages_per_run: int | None = None,
    at: time | None = None,
    weekday: int | None = None,
    clear_time_of_day: bool = False,
    timezone: str | None = None,
    proxy_url: str | None = None,
    user_agent: str | None = None,
    target_titles: Mapping[str, str] | None = None,
    target_folders: Mapping[str, Sequence[str]] | None = None,
) -> TaskInfo:
    """Change a task; frequency, time of day or activation changes recompute its next run.

    A read cap of None leaves the task's cap as it is; 0 clears it (the global setting again).
    The linked-page option and limit: None leaves them as they are. So do at and weekday
    (clear_time_of_day drops them), proxy_url and user_agent ("" or "default": the global
    setting again; proxy_url "none": no proxy). target_titles and target_folders replace the
    names and folders given; None keeps those of the targets that stay (a target removed
    takes its name with it).
    """
    if name is not None:
        name = validate_name(name)
    if source is not None:
        source = validate_source(source)  # "social" is stored as "x"
    if frequency is not None:
        validate_frequency(frequency)
    if active is False and next_run is not None:
        raise ValidationError("an inactive task has no next run", "next_run")
    now = utcnow()
    with db.write() as session:
        task = _get(session, task_id)
        if name is not None and name != task.name:
            _check_unique_name(session, name, task_id)
            task.name = name
        new_source = source or task.source
        if targets is not None or (source is not None and source != task.source):
            from osint_desktop.core.sources.registry import validate_targets

            task.targets = validate_targets(new_source, list(targets or task.targets))
        update_names(task, target_titles, target_folders)
        task.source = new_source
        validate_post_caps(new_source, x_max_posts_per_run, x_max_posts_per_day)
        if x_max_posts_per_run is not None:
            task.x_max_posts_per_run = x_max_posts_per_run or None
        if x_max_posts_per_day is not None:
            task.x_max_posts_per_day = x_max_posts_per_day or None
        if Source(new_source) is not Source.X:
            # A task moved off X keeps no caps that could never apply.
            task.x_max_posts_per_run = task.x_max_posts_per_day = None
        validate_linked_pages(new_source, capture_linked_pages, linked_pages_per_run)
        if capture_linked_pages is not None:
            task.capture_linked_pages = capture_linked_pages
        if linked_pages_per_run is not None:
            task.linked_pages_per_run = linked_pages_per_run
        if Source(new_source) is not Source.NEWS:
            # Likewise a task moved off news: its posts' links are the posts themselves.
            task.capture_linked_pages = False
        schedule_changed = False
        if frequency is not None and frequency != task.frequency:
            task.frequency = frequency
            schedule_changed = True
        if _set_time_of_day(task, at, weekday, clear_time_of_day, timezone, now):
            schedule_changed = True
        if proxy_url is not None:
            task.proxy_url = task_proxy_value(proxy_url)
        if user_agent is not None:
            task.user_agent = task_user_agent_value(user_agent)
        if active is not None and active != task.active:
            task.active = active
            schedule_changed = True
            if active:
                task.note = None
        if not task.active:
            if next_run is not None:
                raise ValidationError(
                    "the task is inactive, so it has no next run: activate it too", "next_run"
                )
            task.next_run = None
        elif next_run is not None:
            task.next_run = next_run
        elif schedule_changed or task.next_run is None:
            task.next_run = recomputed_next_run(task.last_run, task.frequency, now, _time_of_day(task))
        task.updated_at = now
        session.flush()
        info = TaskInfo.from_row(task)
    log.info("task %d updated", task_id)
    return info


def delete_task(db: Database, task_id: int) -> TaskInfo:
    """Delete a task and its logs; its items stay (their task becomes unknown)."""
    with db.write() as session:
        task = _get(session, task_id)
        if task.status == TaskStatus.RUNNING:
            raise ValidationError("the task is running: wait for it to finish", "status")
        info = TaskInfo.from_row(task)
        session.delete(task)
        _forget_in_watches(session, task_id)
    log.info("task %d %r deleted", task_id, info.name)
    return info


def _forget_in_watches(session: Session, task_id: int) -> None:
    """Drop a deleted task from the watches scoped to it.

    Its id could be given to the next task created (SQLite reuses the highest id): a watch
    must not start following a stranger. A watch left with no scope would silently widen to
    every task, so it is switched off instead, and says why in the log.
    """
    for watch in session.scalars(select(Watch)):
        if task_id not in (watch.task_ids or []):
            continue
        watch.task_ids = [t for t in watch.task_ids if t != task_id]
        if not watch.task_ids and not watch.sources:
            watch.active = False
            log.warning("watch %r followed only the deleted task %d: switched off", watch.name, task_id)


def ensure_default_tasks(db: Database, have_x_token: bool) -> list[TaskInfo]:
    """Create the default tasks that are missing (by name); returns those created.

    Idempotent, and never duplicating on upgrade: a task already holding a default's name is
    left as the user has it, whatever its source, and a database whose "Daily Social Media
    Crawl" is the seed's X task does not get the X example beside it. A default whose source
    this build has no provider for is skipped.
    """
    from osint_desktop.core.sources.registry import UnknownSourceError, provider_for

    tasks = list_tasks(db)
    existing = {task.name for task in tasks}
    seed_x = any(task.name == SEED_X_DEFAULT and task.source is Source.X for task in tasks)
    created = []
    for default in DEFAULT_TASKS:
        if default.name in existing or (default.source is Source.X and seed_x):
            continue
        try:
            provider_for(default.source)
        except UnknownSourceError:
            log.warning("default task %r skipped: no provider for %s", default.name, default.source)
            continue
        active = default.active and not (default.source is Source.X and not have_x_token)
        note = None
        if default.source is Source.X:
            note = X_EXAMPLE_NOTE if have_x_token else NO_TOKEN_NOTE
        try:
            task = create_task(
                db,
                default.name,
                default.source,
                default.frequency,
                list(default.targets),
                active=active,
                note=note,
            )
        except (ValidationError, IntegrityError):
            # Another process (several first starts at once) created it since `existing`
            # was read: the unique name refused this copy. Anything else is a real error.
            if not _name_exists(db, default.name):
                raise
            continue
        created.append(task)
    return created


def _name_exists(db: Database, name: str) -> bool:
    with db.read() as session:
        return session.scalar(select(CrawlTask.id).where(CrawlTask.name == name)) is not None
