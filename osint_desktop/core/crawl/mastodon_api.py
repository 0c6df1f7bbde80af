"""Mastodon through Mastodon.py: instance policy, since_id paging, rate limits deferred, never slept on."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import nh3
import requests
from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonUnauthorizedError,
)

from osint_desktop.core.crawl.abortable import ConnectionTracker, tracking_adapter
from osint_desktop.core.crawl.capture import ExchangeKeeper, capture_exchange
from osint_desktop.core.crawl.http import USER_AGENT as USER_AGENT
from osint_desktop.core.crawl.http import (
    CancelledError,
    FetchLimits,
    HostPoliteness,
    describe_exception,
    is_unreachable,
    shared_politeness,
)
from osint_desktop.core.crawl.mastodon_targets import (
    InstanceMapError,
    MastodonTarget,
    TargetKind,
    api_base,
    instance_map,
)
from osint_desktop.core.crawl.proxy import configure_session
from osint_desktop.core.crawl.records import ItemRecord, StateUpdate, TargetOutcome
from osint_desktop.core.secrets import redact, remember_secret
from osint_desktop.core.timeutil import as_utc, parse_iso, utcnow
from osint_desktop.core.vocabulary import FailureKind, HeldBack, Source

if TYPE_CHECKING:
    # Type-only: the writer (and warcio) is loaded by the run that switched capture on.
    from osint_desktop.core.evidence.capture import CaptureRef, EvidenceWriter

log = logging.getLogger(__name__)

# The API's largest page for timelines and account statuses.
PAGE_SIZE = 40
# Stop asking an instance when fewer requests than this remain in its window (Mastodon
# allows 300 requests per 5 minutes and IP or token): the rest wait for the reset.
RATE_LIMIT_RESERVE = 5
# When a 429 names no reset time: Mastodon's windows are 5 minutes long.
DEFAULT_RATE_WINDOW = timedelta(minutes=5)
MAX_CONTENT_HTML = 20_000
MAX_TITLE = 140
_REQUIRES_USER = "requires an authenticated user"

_ALLOWED_TAGS = {
    "p", "br", "a", "span", "strong", "b", "em", "i", "u", "del", "s", "ul", "ol", "li",
    "blockquote", "code", "pre",
}  # fmt: skip


@dataclass(frozen=True)
class TargetState:
    """What earlier runs left for one target."""

    since_id: str | None = None
    retry_after: datetime | None = None  # only after a 429


@dataclass
class InstancePolicy:
    """What /api/v2/instance says about reading this instance."""

    # configuration.timelines_access.hashtag_feeds (Mastodon 4.5): public, authenticated, disabled.
    hashtag_local: str = "public"
    hashtag_remote: str = "public"
    # 401 "This API requires an authenticated user": the instance allows no anonymous API use.
    requires_user: bool = False


class _BodyTooLarge(Exception):
    """The answer is larger than the body cap."""


class _DeadlinePassed(Exception):
    """The answer did not arrive within the per-request deadline."""


class ApiSession(requests.Session):
    """The session Mastodon.py sends through: the app's User-Agent, timeouts, body cap, deadline, cancel."""

    def __init__(self, limits: FetchLimits, politeness: HostPoliteness | None = None) -> None:
        super().__init__()
        self.limits = limits
        self.politeness = politeness or shared_politeness(limits.per_host_in_flight, limits.per_host_delay_s)
        self.headers["Accept"] = "application/json"
        configure_session(self, limits.network)
        self.max_redirects = 5
        self.tracker = ConnectionTracker()
        adapter = tracking_adapter(self.tracker, pool_size=16)
        self.mount("http://", adapter)
        self.mount("https://", adapter)
        self.aborted = False
        self.cancel: threading.Event | None = None
        # Each thread's last answer, for the crawler to capture the page it read (capture on).
        self.exchanges = ExchangeKeeper()
        self._local = threading.local()

    def last_error(self) -> str:
        """The API's "error" text of this thread's last failed answer (Mastodon.py may lose it)."""
        return str(getattr(self._local, "error", "") or "")

    def abort(self) -> None:
        """Cut every request in flight; later requests fail at once."""
        self.aborted = True
        self.tracker.cut()

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        """One request within the limits; the body is read here, capped, before Mastodon.py sees it."""
        if self.aborted:
            raise CancelledError
        kwargs["timeout"] = (self.limits.connect_timeout_s, self.limits.read_timeout_s)
        kwargs["stream"] = True
        text_url = url.decode() if isinstance(url, bytes) else url
        host = (urlsplit(text_url).hostname or "").lower()
        with self.politeness.slot(host, self.cancel):
            started = time.monotonic()
            # The read timeout applies per socket read: a trickling server is cut at the deadline.
            watchdog = threading.Timer(
                self.limits.deadline_s, self.tracker.cut, args=(threading.get_ident(),)
            )
            watchdog.daemon = True
            watchdog.start()
            try:
                response = super().request(method, url, *args, **kwargs)
                retrieved_at = utcnow()
                try:
                    body = self._read_capped(response, started)
                finally:
                    response.close()
            except Exception:
                if self.aborted:
                    raise CancelledError from None
                if time.monotonic() - started >= self.limits.deadline_s:
                    raise _DeadlinePassed(
                        f"no complete answer within the {self.limits.deadline_s:g} s deadline"
                    ) from None
                raise
            finally:
                watchdog.cancel()
        # Mastodon.py reads .content and .json(): hand it the body read within the cap.
        response._content = body
        self._local.error = _error_text(body) if response.status_code >= 400 else ""
        self.exchanges.keep(response, retrieved_at, body)
        return response

    def _read_capped(self, response: requests.Response, started: float) -> bytes:
        cap = self.limits.max_body_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise _BodyTooLarge
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > cap:
                raise _BodyTooLarge
            if time.monotonic() - started > self.limits.deadline_s:
                raise _DeadlinePassed(
                    f"the body trickled in slower than the {self.limits.deadline_s:g} s deadline"
                )
            chunks.append(chunk)
        return b"".join(chunks)


def _error_text(body: bytes) -> str:
    try:
        answer = json.loads(body)
    except ValueError:
        return ""
    return str(answer.get("error") or "") if isinstance(answer, dict) else ""


def make_client(base: str, token: str | None, session: requests.Session, limits: FetchLimits) -> Any:
    """A Mastodon.py client that throws on a rate limit (never sleeps) and sends through session."""
    return Mastodon(
        api_base_url=base,
        access_token=token,
        ratelimit_method="throw",
        request_timeout=limits.read_timeout_s,  # the session sets (connect, read) itself
        session=session,
        user_agent=limits.network.agent,
        version_check_mode="none",  # no extra request to learn the version
    )


ClientFactory = Callable[[str, "str | None", requests.Session, FetchLimits], Any]


# --- items ---------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    """A post's HTML as plain text: paragraphs and line breaks kept, links as their full address."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._link: str | None = None  # a web link's href, written instead of its shortened text

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("p", "blockquote", "ul", "ol") and self.parts:
            self.parts.append("\n\n")
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag == "a":
            values = dict(attrs)
            classes = (values.get("class") or "").split()
            href = values.get("href") or ""
            # Mentions and hashtags read as their text; other links show their address,
            # which Mastodon shortens in invisible spans.
            if href.startswith(("http://", "https://")) and not {"mention", "hashtag"} & set(classes):
                self._link = href

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._link is not None:
            self.parts.append(self._link)
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._link is None:
            self.parts.append(data)


def html_to_text(content: str) -> str:
    """Plain text of a post's HTML."""
    parser = _TextExtractor()
    parser.feed(content)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).split("\n")]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()


def sanitize_html(content: str) -> str:
    """The post's HTML, kept short and safe for the preview (no scripts, styles or foreign attributes)."""
    return nh3.clean(
        content[:MAX_CONTENT_HTML],
        tags=_ALLOWED_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow",
    )


def _published(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, str) and value:
        with contextlib.suppress(ValueError, OverflowError):
            return parse_iso(value)
    return None


def author_of(account: Mapping[str, Any], base_host: str) -> str | None:
    """@user@instance: a local account's acct has no domain, so add its instance's."""
    acct = str(account.get("acct") or account.get("username") or "")
    if not acct:
        return None
    if "@" not in acct:
        domain = urlsplit(str(account.get("url") or "")).netloc or base_host
        acct = f"{acct}@{domain}"
    return "@" + acct


def item_from_status(status: Mapping[str, Any], target: MastodonTarget) -> ItemRecord:
    """One post as an item; a boost is stored as the post it boosts."""
    post = status.get("reblog") or status
    uri = str(post.get("uri") or post.get("url") or "")
    if not uri:
        raise KeyError("uri")
    author = author_of(post.get("account") or {}, target.netloc)
    content = str(post.get("content") or "")
    text = html_to_text(content)
    spoiler = " ".join(str(post.get("spoiler_text") or "").split())
    summary = f"CW: {spoiler}\n\n{text}".strip() if spoiler else text
    # A content warning is the post's own headline: the text behind it stays in the summary.
    first_line = f"CW: {spoiler}" if spoiler else next((ln for ln in text.splitlines() if ln.strip()), "")
    if not first_line:
        first_line = f"Post by {author}" if author else "Post"
    title = first_line if len(first_line) <= MAX_TITLE else first_line[: MAX_TITLE - 1] + "…"
    return ItemRecord(
        source=Source.MASTODON,
        dedup_key=uri,
        origin=target.canonical(),
        url=str(post.get("url") or uri),
        title=title,
        summary=summary,
        content_html=sanitize_html(content) if content else None,
        author=author,
        published_at=_published(post.get("created_at")),
        language=_language(post.get("language")),
    )


def _language(value: object) -> str | None:
    """The post's declared language, when it is a plausible tag ("en", "pt-BR")."""
    text = str(value or "").strip()
    return text[:35] if text and len(text) <= 35 and text.replace("-", "").isalnum() else None


# --- errors ----------------------------------------------------------------------------


def _id_key(value: str) -> tuple[int, str]:
    # Mastodon's ids are numeric strings of growing length; compare them as numbers.
    return (len(value), value) if value.isdigit() else (len(value) + 100, value)


def _newest(ids: list[str]) -> str:
    return max(ids, key=_id_key)


def _oldest(ids: list[str]) -> str:
    return min(ids, key=_id_key)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _api_error(exc: MastodonAPIError, client: Any = None) -> tuple[int | None, str]:
    # Mastodon.py raises ('Mastodon API returned error', status, reason, the API's "error"),
    # but loses the "error" when the answer does not fit the endpoint's return type.
    args = exc.args
    code = args[1] if len(args) > 1 and isinstance(args[1], int) else None
    message = str(args[3]) if len(args) > 3 and isinstance(args[3], str) and args[3] else ""
    session = getattr(client, "session", None)
    if not message and code is not None and isinstance(session, ApiSession):
        message = session.last_error()
    if not message and len(args) > 2:
        message = str(args[2])
    return code, " ".join(message.split())[:300]


@dataclass
class Failure:
    """A request that went wrong, as the outcome records it."""

    kind: FailureKind
    message: str
    http_status: int | None = None
    rate_limited_until: datetime | None = None


def _rate_reset(client: Any) -> datetime:
    reset = getattr(client, "ratelimit_reset", None)
    now = utcnow()
    if isinstance(reset, int | float) and reset > time.time():
        return min(datetime.fromtimestamp(reset, UTC), now + timedelta(days=1))
    return now + DEFAULT_RATE_WINDOW


def classify(
    exc: BaseException, client: Any, target: MastodonTarget, token: str | None, limits: FetchLimits
) -> Failure:
    """What went wrong, in words a user can act on (never showing the token)."""
    where = target.netloc
    if isinstance(exc, MastodonRatelimitError):
        until = _rate_reset(client)
        return Failure(
            FailureKind.RATE_LIMIT,
            f"{where} rate limit reached (HTTP 429): next request allowed after "
            f"{until:%Y-%m-%d %H:%M:%S} UTC",
            429,
            until,
        )
    if isinstance(exc, MastodonNetworkError):
        for inner in _chain(exc):
            if isinstance(inner, CancelledError):
                return Failure(FailureKind.CANCELLED, "cancelled")
            if isinstance(inner, _BodyTooLarge):
                return Failure(FailureKind.NETWORK, f"the answer from {where} is larger than the body cap")
            if isinstance(inner, _DeadlinePassed):
                return Failure(FailureKind.TIMEOUT, f"{where}: {inner}")
            if isinstance(inner, requests.exceptions.RequestException):
                if is_unreachable(inner):
                    kind = FailureKind.UNREACHABLE
                elif isinstance(inner, requests.exceptions.Timeout):
                    kind = FailureKind.TIMEOUT
                else:
                    kind = FailureKind.NETWORK
                return Failure(kind, f"{where}: {describe_exception(inner, limits)}")
        return Failure(FailureKind.NETWORK, f"{where}: the request failed")
    if isinstance(exc, MastodonAPIError):
        code, error = _api_error(exc, client)
        said = f": {error}" if error else ""
        if code is None:
            # Mastodon.py could not read the answer as JSON; its text may be anything.
            return Failure(FailureKind.PARSE, f"the answer from {where} is not valid JSON")
        if code == 401 or (code == 422 and _REQUIRES_USER in error.lower()):
            return Failure(FailureKind.AUTH, _auth_message(target, token, code, error), code)
        if code == 403:
            return Failure(FailureKind.AUTH, f"{where} refused access (HTTP 403{said})", code)
        if code in (404, 410):
            return Failure(FailureKind.NOT_FOUND, _not_found_message(target, code, error), code)
        if code == 422:
            return Failure(FailureKind.HTTP, f"{where} rejected the request (HTTP 422{said})", code)
        if code >= 500:
            return Failure(
                FailureKind.HTTP, f"{where} server error (HTTP {code}{said}); try again later", code
            )
        return Failure(FailureKind.HTTP, f"{where} answered HTTP {code}{said}", code)
    if isinstance(exc, MastodonError):
        return Failure(FailureKind.INTERNAL, f"internal error: {type(exc).__name__}: {exc}"[:300])
    if isinstance(exc, KeyError | TypeError | AttributeError | ValueError):
        return Failure(FailureKind.PARSE, f"the answer from {where} does not look like Mastodon's API")
    return Failure(FailureKind.INTERNAL, f"internal error: {type(exc).__name__}: {exc}"[:300])


def _auth_message(target: MastodonTarget, token: str | None, code: int, error: str) -> str:
    where = target.netloc
    quoted = f': "{error}"' if error else ""
    if token:
        return (
            f"{where} refused the access token (HTTP {code}{quoted}): check or replace the token "
            f"for {where} in Settings"
        )
    if _REQUIRES_USER in error.lower():
        if code == 401:
            return (
                f"{where} allows its API only to signed-in users (HTTP 401{quoted}): add an access token "
                f"for {where} in Settings"
            )
        return (
            f"{where} asks for a signed-in user here (HTTP {code}{quoted}): add an access token "
            f"for {where} in Settings"
        )
    return f"{where} asks for an access token (HTTP {code}{quoted}): add one for {where} in Settings"


def _not_found_message(target: MastodonTarget, code: int, error: str) -> str:
    said = f": {error}" if error else ""
    what = {
        TargetKind.HASHTAG: f"hashtag #{target.value}",
        TargetKind.ACCOUNT: f"account @{target.value}",
        TargetKind.SEARCH: "search",
    }[target.kind]
    if code == 410:
        return f"{what} is gone from {target.netloc} (HTTP 410{said}): suspended or deleted"
    return f"{what} not found on {target.netloc} (HTTP 404{said})"


# --- instance policy ----------------------------------------------------------------------


def read_policy(client: Any) -> InstancePolicy:
    """The instance's reading policy from /api/v2/instance; raises what Mastodon.py raises for a failure."""
    policy = InstancePolicy()
    try:
        info = client.instance_v2()
    except MastodonNotFoundError:
        # Before Mastodon 4.0, or another server: no policy to read, so none to respect.
        _cache_instance(client, {})
        return policy
    except MastodonUnauthorizedError as exc:
        _code, error = _api_error(exc, client)
        _cache_instance(client, {})
        if _REQUIRES_USER in error.lower():
            policy.requires_user = True
            return policy
        raise
    except MastodonAPIError as exc:
        code, _error = _api_error(exc, client)
        if code is None or code >= 500:
            # A broken instance page need not stop the reading itself: try the target.
            _cache_instance(client, {})
            return policy
        raise
    _cache_instance(client, info)
    try:
        feeds = info["configuration"]["timelines_access"]["hashtag_feeds"]
        policy.hashtag_local = str(feeds.get("local") or "public")
        policy.hashtag_remote = str(feeds.get("remote") or "public")
    except (KeyError, TypeError, AttributeError):
        pass  # before Mastodon 4.5: hashtag feeds are public
    return policy


def _cache_instance(client: Any, info: Any) -> None:
    # Mastodon.py's timeline() reads /api/v2/instance again to warn about closed feeds
    # unless its (private) cache holds an answer: the instance is read once per run.
    with contextlib.suppress(AttributeError):
        client._Mastodon__instance_v2_cache = info


def _hashtag_access(
    policy: InstancePolicy, target: MastodonTarget, token: str | None
) -> tuple[dict[str, bool], str | None, str | None]:
    """The local/remote parameters that the policy lets this run ask for; or the refusal in words."""

    def allowed(setting: str) -> bool:
        return setting == "public" or (setting == "authenticated" and bool(token))

    local, remote = allowed(policy.hashtag_local), allowed(policy.hashtag_remote)
    where = target.netloc
    if local and remote:
        return {}, None, None
    settings = f"(timelines_access: local {policy.hashtag_local}, remote {policy.hashtag_remote})"
    if local:
        return (
            {"local": True},
            None,
            f"only {where}'s own posts: remote posts need a signed-in user {settings}",
        )
    if remote:
        return (
            {"remote": True},
            None,
            f"only posts from other servers: {where}'s own need a signed-in user {settings}",
        )
    if "disabled" in (policy.hashtag_local, policy.hashtag_remote) and not (
        "authenticated" in (policy.hashtag_local, policy.hashtag_remote) and not token
    ):
        return {}, f"{where} has disabled its hashtag feeds {settings}", None
    return (
        {},
        (
            f"{where} lets only signed-in users read hashtag feeds {settings}: add an access token "
            f"for {where} in Settings"
        ),
        None,
    )


# --- crawling ---------------------------------------------------------------------------------


@dataclass
class _InstanceRun:
    """One instance's targets in one run: one client, one policy read, one rate-limit window."""

    base: str
    token: str | None
    client: Any
    limits: FetchLimits
    cap: int
    page_size: int
    cancel: threading.Event | None
    probe: bool = False
    policy: InstancePolicy | None = None
    account_ids: dict[str, str] = field(default_factory=dict)
    # Where the pages that gave posts are captured, and the session that kept them; None: off.
    evidence: EvidenceWriter | None = None
    session: ApiSession | None = None

    def capture_page(self, outcome: TargetOutcome) -> CaptureRef | None:
        """Capture the answer this thread just read (the page _fetch returned); None when off or failed."""
        if self.evidence is None:
            return None
        exchange = self.session.exchanges.take() if self.session is not None else None
        return capture_exchange(self.evidence, exchange, outcome)

    def low_on_requests(self) -> datetime | None:
        """The reset time when the window is nearly used up; None while requests remain."""
        remaining = getattr(self.client, "ratelimit_remaining", None)
        reset = getattr(self.client, "ratelimit_reset", None)
        if isinstance(remaining, int) and remaining <= RATE_LIMIT_RESERVE and reset is not None:
            return _rate_reset(self.client)
        return None


def _fetch(
    run: _InstanceRun, target: MastodonTarget, params: dict[str, Any], limit: int, **ids: Any
) -> list[Any]:
    client = run.client
    if target.kind is TargetKind.HASHTAG:
        return list(client.timeline_hashtag(target.value, limit=limit, **params, **ids))
    if target.kind is TargetKind.ACCOUNT:
        account_id = run.account_ids.get(target.value)
        if account_id is None:
            account = client.account_lookup(target.value)
            account_id = run.account_ids[target.value] = str(account["id"])
        return list(client.account_statuses(account_id, limit=limit, **ids))
    answer = client.search_v2(
        target.value, resolve=False, result_type="statuses", limit=limit, exclude_unreviewed=False, **ids
    )
    return list(answer["statuses"])


def crawl_target(run: _InstanceRun, target: MastodonTarget, state: TargetState) -> TargetOutcome:
    """Every new post of one target since the last run, up to the cap; errors become the outcome."""
    started = time.monotonic()
    outcome = TargetOutcome(target.canonical(), pages=0)
    try:
        _crawl_into(run, target, state, outcome)
    except Exception as exc:
        failure = classify(exc, run.client, target, run.token, run.limits)
        if failure.kind is FailureKind.INTERNAL:
            log.exception("target %s could not be crawled", target.canonical())
        _fail(outcome, failure)
    outcome.elapsed_s = time.monotonic() - started
    if outcome.failed:
        log.warning("target %s failed: %s", outcome.target, outcome.error)
    return outcome


def _crawl_into(
    run: _InstanceRun, target: MastodonTarget, state: TargetState, outcome: TargetOutcome
) -> None:
    policy = run.policy or InstancePolicy()
    if policy.requires_user and not run.token:
        where = target.netloc
        _fail(
            outcome,
            Failure(
                FailureKind.AUTH,
                f'{where} allows its API only to signed-in users (HTTP 401: "This API requires an '
                f'authenticated user"): add an access token for {where} in Settings',
                401,
            ),
        )
        return
    params: dict[str, Any] = {}
    if target.kind is TargetKind.HASHTAG:
        params, refusal, warning = _hashtag_access(policy, target, run.token)
        if refusal:
            _fail(outcome, Failure(FailureKind.AUTH, refusal))
            return
        outcome.warning = warning
    # Each post with the captured page it came from (None while capture is off).
    statuses: list[tuple[Any, CaptureRef | None]] = []
    seen: set[str] = set()
    cursor = state.since_id
    older_than: str | None = None
    newest = state.since_id
    while len(statuses) < run.cap:
        if run.cancel is not None and run.cancel.is_set():
            _fail(outcome, Failure(FailureKind.CANCELLED, "cancelled"))
            break
        # After a first run, walk forward from the last post seen (min_id: the page just
        # after it), so a busy hour is caught up over runs without a gap; the first run
        # reads back from the newest.
        ids = {"min_id": cursor} if cursor else ({"max_id": older_than} if older_than else {})
        limit = min(run.page_size, run.cap - len(statuses))
        page = _fetch(run, target, params, limit, **ids)
        outcome.pages = (outcome.pages or 0) + 1
        outcome.http_status = 200
        page_ids = [str(status["id"]) for status in page]
        fresh = [s for s, sid in zip(page, page_ids, strict=True) if sid not in seen]
        if not fresh:
            break
        # The page gave posts: its answer is their evidence (an empty page is not kept).
        ref = run.capture_page(outcome)
        seen.update(page_ids)
        statuses.extend((status, ref) for status in fresh)
        newest = _newest([*page_ids, *([newest] if newest else [])])
        if run.probe or len(page) < limit:
            break
        if cursor:
            cursor = _newest(page_ids)
        else:
            older_than = _oldest(page_ids)
        if run.low_on_requests() is not None:
            outcome.warning = f"{target.netloc} rate limit nearly used up: the rest waits for the next run"
            break
    if outcome.failure is FailureKind.CANCELLED:
        return
    for status, ref in statuses:
        try:
            item = item_from_status(status, target)
        except (KeyError, TypeError, AttributeError, ValueError):
            log.warning("a post from %s could not be read", target.netloc)
            continue
        outcome.items.append(item if ref is None else replace(item, capture=ref))
    if statuses and not outcome.items:
        _fail(outcome, Failure(FailureKind.PARSE, f"the posts from {target.netloc} could not be read", 200))
        return
    outcome.state = StateUpdate(since_id=newest if newest != state.since_id else None, clear_retry_after=True)


def _fail(outcome: TargetOutcome, failure: Failure) -> None:
    outcome.failure = failure.kind
    outcome.error = redact(failure.message)
    if failure.http_status is not None:
        outcome.http_status = failure.http_status
    if failure.rate_limited_until is not None:
        outcome.rate_limited_until = failure.rate_limited_until
        outcome.state = StateUpdate(retry_after=failure.rate_limited_until)


def _held(target: MastodonTarget, failure: Failure, held_back: HeldBack, prefix: str = "") -> TargetOutcome:
    outcome = TargetOutcome(target.canonical(), held_back=held_back)
    _fail(outcome, Failure(failure.kind, prefix + failure.message, None, failure.rate_limited_until))
    return outcome


def crawl_instance(
    base: str,
    targets: Sequence[MastodonTarget],
    token: str | None,
    states: Mapping[str, TargetState],
    limits: FetchLimits,
    cap: int,
    session: ApiSession,
    report: Callable[[TargetOutcome], None],
    client_factory: ClientFactory = make_client,
    probe: bool = False,
    evidence: EvidenceWriter | None = None,
) -> None:
    """Crawl one instance's targets in turn: one policy read, one client, one rate-limit window.

    With evidence, every page that gave posts is captured (session keeps the answers).
    """
    cancel = session.cancel
    if token:
        remember_secret(token)
    pending = list(targets)

    def finish_rest(failure: Failure, held_back: HeldBack | None, prefix: str = "") -> None:
        for target in pending:
            if held_back is None:
                outcome = TargetOutcome(target.canonical())
                _fail(outcome, failure)
                report(outcome)
            else:
                report(_held(target, failure, held_back, prefix))
        pending.clear()

    if cancel is not None and cancel.is_set():
        finish_rest(Failure(FailureKind.CANCELLED, "cancelled"), None)
        return
    now = utcnow()
    # A rate limit belongs to the instance (per IP or token), not to one target.
    waits = [
        s.retry_after
        for s in (states.get(t.canonical()) for t in targets)
        if s and s.retry_after and s.retry_after > now
    ]
    if waits and not probe:
        until = max(w for w in waits if w is not None)
        finish_rest(
            Failure(
                FailureKind.RATE_LIMIT,
                f"{targets[0].netloc} rate limit: not sent before {until:%Y-%m-%d %H:%M:%S} UTC",
                rate_limited_until=until,
            ),
            HeldBack.DEFERRED,
        )
        return
    # A search needs a token on every instance: refuse it before anything is sent.
    if not token:
        for target in [t for t in pending if t.kind is TargetKind.SEARCH]:
            pending.remove(target)
            report(
                _held(
                    target,
                    Failure(
                        FailureKind.AUTH,
                        f"searching posts on {target.netloc} needs an access token for that instance: "
                        f"add one for {target.netloc} in Settings",
                    ),
                    HeldBack.NOT_SENT,
                )
            )
        if not pending:
            return
    run = _InstanceRun(
        base,
        token,
        client_factory(base, token, session, limits),
        limits,
        cap,
        1 if probe else min(PAGE_SIZE, cap),
        cancel,
        probe,
        evidence=evidence,
        session=session,
    )
    try:
        run.policy = read_policy(run.client)
    except Exception as exc:
        failure = classify(exc, run.client, pending[0], token, limits)
        if failure.kind is FailureKind.RATE_LIMIT:
            finish_rest(failure, None)
            return
        if failure.kind in (FailureKind.AUTH, FailureKind.CANCELLED) or failure.kind in _NETWORK_KINDS:
            # The same answer awaits every target of this instance: ask no more.
            finish_rest(failure, None)
            return
        run.policy = InstancePolicy()
    while pending:
        target = pending.pop(0)
        if cancel is not None and cancel.is_set():
            pending.insert(0, target)
            finish_rest(Failure(FailureKind.CANCELLED, "cancelled"), None)
            return
        outcome = crawl_target(run, target, states.get(target.canonical(), TargetState()))
        report(outcome)
        if outcome.failure is FailureKind.RATE_LIMIT:
            finish_rest(
                Failure(FailureKind.RATE_LIMIT, outcome.error or "", None, outcome.rate_limited_until),
                HeldBack.NOT_SENT,
                "not sent: ",
            )
            return
        if outcome.failure is FailureKind.AUTH and token and outcome.http_status == 401:
            finish_rest(Failure(FailureKind.AUTH, outcome.error or ""), HeldBack.NOT_SENT, "not sent: ")
            return
        low = run.low_on_requests()
        if low is not None and pending:
            finish_rest(
                Failure(
                    FailureKind.RATE_LIMIT,
                    f"{target.netloc} rate limit nearly used up: not sent before {low:%Y-%m-%d %H:%M:%S} UTC",
                    rate_limited_until=low,
                ),
                HeldBack.DEFERRED,
            )
            return


_NETWORK_KINDS = (FailureKind.NETWORK, FailureKind.UNREACHABLE, FailureKind.TIMEOUT)


def crawl_targets(
    targets: Sequence[MastodonTarget],
    tokens: Mapping[str, str],
    states: Mapping[str, TargetState],
    limits: FetchLimits,
    cap: int,
    cancel: threading.Event | None,
    on_done: Callable[[TargetOutcome], None],
    max_parallel: int = 4,
    client_factory: ClientFactory = make_client,
    probe: bool = False,
    evidence: EvidenceWriter | None = None,
) -> None:
    """Crawl the targets, instance by instance (instances in parallel), reporting each outcome once.

    With evidence, the pages that gave posts are captured and each item points at its page.
    """
    by_instance: dict[str, list[MastodonTarget]] = defaultdict(list)
    for target in targets:
        by_instance[target.base].append(target)
    if not by_instance:
        return
    try:
        # Read at each run, as Telegram's and Bluesky's addresses are: only where requests go moves.
        mapping = instance_map()
    except InstanceMapError as exc:
        for target in targets:
            on_done(TargetOutcome(target.canonical(), failure=FailureKind.INTERNAL, error=str(exc)))
        return
    session = ApiSession(limits)
    session.cancel = cancel
    # Answers are kept for capture only while it is on: otherwise no body outlives its page.
    session.exchanges.enabled = evidence is not None
    finished = threading.Event()
    lock = threading.Lock()
    reported: set[str] = set()

    def report(outcome: TargetOutcome) -> None:
        with lock:  # on_done is called from one thread at a time
            reported.add(outcome.target)
            on_done(outcome)

    if cancel is not None:
        threading.Thread(
            target=_abort_on_cancel, args=(cancel, finished, session), name="mastodon-cancel", daemon=True
        ).start()
    try:
        workers = max(1, min(max_parallel, len(by_instance)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mastodon") as pool:
            futures = {
                pool.submit(
                    crawl_instance,
                    api_base(group[0], mapping),
                    group,
                    tokens.get(group[0].token_name),
                    states,
                    limits,
                    cap,
                    session,
                    report,
                    client_factory,
                    probe,
                    evidence,
                ): group
                for group in by_instance.values()
            }
            for future in as_completed(futures):
                try:
                    future.result()
                except Exception as exc:  # a bug for one instance must not lose the others' outcomes
                    log.exception("instance %s could not be crawled", futures[future][0].base)
                    missing = [t for t in futures[future] if t.canonical() not in reported]
                    for target in missing:
                        report(
                            TargetOutcome(
                                target.canonical(),
                                failure=FailureKind.INTERNAL,
                                error=redact(f"internal error: {type(exc).__name__}"),
                            )
                        )
    finally:
        finished.set()
        session.close()


def _abort_on_cancel(cancel: threading.Event, finished: threading.Event, session: ApiSession) -> None:
    # A blocking read cannot see the cancel flag; cutting its socket ends it at once.
    while not finished.wait(0.1):
        if cancel.is_set():
            session.abort()
            return
