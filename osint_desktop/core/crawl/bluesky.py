"""Bluesky over XRPC: a small session-keeping client on requests, post search and author feeds into outcomes.

Not the atproto SDK: its import pulls pydantic-core, zstandard, libipld, dnspython, websockets
and httpx (over 20 MB in the bundle, whose headroom is 1.5 MB) for three GET endpoints and two
session calls. The session logic copies the SDK's: one createSession, then the exported session
string (the SDK's own "handle:::did:::access:::refresh:::pds" format) is reused and refreshed
15 minutes before the access token expires, because createSession is limited to 30 per 5
minutes and 300 per day.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import nh3
import requests

from osint_desktop.core.crawl.capture import Exchange, capture_exchange, exchange_of, with_capture
from osint_desktop.core.crawl.http import FetchLimits, describe_exception, is_unreachable
from osint_desktop.core.crawl.proxy import configure_session
from osint_desktop.core.crawl.records import ItemRecord, StateUpdate, TargetMemory, TargetOutcome
from osint_desktop.core.secrets import redact, remember_secret
from osint_desktop.core.timeutil import iso, parse_iso, utcnow
from osint_desktop.core.vocabulary import FailureKind, HeldBack, Source

if TYPE_CHECKING:
    # Type-only: the writer (and warcio) is loaded by the run that switched capture on.
    from osint_desktop.core.evidence.capture import EvidenceWriter

log = logging.getLogger(__name__)

SESSION_SEPARATOR = ":::"
# The SDK refreshes this long before the access token's expiry, so that no request meets it.
REFRESH_MARGIN = timedelta(minutes=15)
PAGE_SIZE_MAX = 100
TITLE_LENGTH = 140
# Without a reset header: Bluesky's windows are at most five minutes long for reads.
DEFAULT_RATE_WAIT = timedelta(minutes=5)

NO_LOGIN_MESSAGE = "Bluesky search needs a login: add your handle and an app password in Settings"
REFUSED_LOGIN_MESSAGE = (
    "Bluesky refused the login: check the handle and the app password in Settings "
    "(an app password from Settings > Privacy and security > App passwords, not the account password)"
)
EXPIRED_MESSAGE = "the Bluesky session expired and could not be renewed: check the app password in Settings"
_TOKEN_ERRORS = ("ExpiredToken", "InvalidToken", "AuthenticationRequired", "AuthMissing")


class XrpcError(Exception):
    """The server answered with an error status (and usually {"error", "message"})."""

    def __init__(self, status: int, error: str, message: str, headers: Any) -> None:
        super().__init__(f"HTTP {status} {error}: {message}")
        self.status, self.error, self.message, self.headers = status, error, message, headers


class XrpcParseError(Exception):
    """The server answered 2xx with something that is not a JSON object."""


class LoginError(Exception):
    """No session could be had: a failed outcome is ready in .outcome_kind/.message/.status."""

    def __init__(self, kind: FailureKind, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind, self.message, self.status = kind, message, status


@dataclass
class AtSession:
    """A login: what the SDK's Session holds, in the same exported form."""

    handle: str
    did: str
    access_jwt: str = field(repr=False)
    refresh_jwt: str = field(repr=False)
    pds_endpoint: str

    def encode(self) -> str:
        """The session string kept in the keyring."""
        return SESSION_SEPARATOR.join(
            (self.handle, self.did, self.access_jwt, self.refresh_jwt, self.pds_endpoint)
        )

    @classmethod
    def decode(cls, text: str, default_pds: str) -> AtSession | None:
        """A stored session string, or None when it is not one (old SDK strings carry no PDS)."""
        parts = text.strip().split(SESSION_SEPARATOR)
        if len(parts) == 4:
            parts.append(default_pds)
        if len(parts) != 5 or not all(parts):
            return None
        return cls(*parts)

    def remember(self) -> None:
        """Register every secret part so logs and messages mask it."""
        for secret in (self.access_jwt, self.refresh_jwt, self.encode()):
            remember_secret(secret)


def jwt_expiry(token: str) -> datetime | None:
    """The exp claim of a JWT, unverified (the server verifies; this only times the refresh)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return datetime.fromtimestamp(int(claims["exp"]), UTC)
    except (IndexError, ValueError, KeyError, TypeError, binascii.Error, OverflowError):
        return None


def pds_from_did_doc(doc: Any) -> str | None:
    """The #atproto_pds endpoint of a DID document (the SDK's DidDocument.get_pds_endpoint)."""
    if not isinstance(doc, dict):
        return None
    for service in doc.get("service") or []:
        if not isinstance(service, dict):
            continue
        ident = str(service.get("id", ""))
        if ident.endswith("#atproto_pds") and service.get("type") == "AtprotoPersonalDataServer":
            endpoint = service.get("serviceEndpoint")
            if isinstance(endpoint, str) and urlsplit(endpoint).scheme in ("http", "https"):
                return endpoint.rstrip("/")
    return None


def _reset_time(headers: Any) -> datetime:
    value = str(headers.get("ratelimit-reset", "") if headers is not None else "").strip()
    if value.isdigit():
        try:
            return datetime.fromtimestamp(int(value), UTC)
        except (OverflowError, OSError, ValueError):
            pass
    return utcnow() + DEFAULT_RATE_WAIT


class XrpcClient:
    """GET and POST of XRPC methods on one server, with timeouts, never following redirects off it."""

    def __init__(self, base_url: str, limits: FetchLimits, session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = (limits.connect_timeout_s, limits.read_timeout_s)
        self._http = session or requests.Session()
        configure_session(self._http, limits.network)
        self._http.headers["Accept"] = "application/json"

    def call(
        self,
        nsid: str,
        params: dict[str, Any] | None = None,
        *,
        body: dict[str, Any] | None = None,
        token: str | None = None,
        post: bool = False,
    ) -> dict[str, Any]:
        """One XRPC call; XrpcError for an error status, XrpcParseError for a body that is no object."""
        return self._read(nsid, self._send(nsid, params, body, token, post))

    def page(
        self, nsid: str, params: dict[str, Any], *, token: str | None = None
    ) -> tuple[dict[str, Any], Exchange]:
        """One GET of a data method, as call(), with its exchange kept for evidence.

        Only the data methods go through here: a session call's answer holds tokens and is
        never captured.
        """
        response = self._send(nsid, params, None, token, False)
        # requests has read the whole body by now (no streaming): this is when the answer came.
        retrieved_at = utcnow()
        return self._read(nsid, response), exchange_of(response, retrieved_at)

    def _send(
        self,
        nsid: str,
        params: dict[str, Any] | None,
        body: dict[str, Any] | None,
        token: str | None,
        post: bool,
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url = f"{self.base_url}/xrpc/{nsid}"
        if post or body is not None:
            return self._http.post(
                url, json=body, headers=headers, timeout=self._timeout, allow_redirects=False
            )
        return self._http.get(
            url, params=params, headers=headers, timeout=self._timeout, allow_redirects=False
        )

    def _read(self, nsid: str, response: requests.Response) -> dict[str, Any]:
        with response:
            try:
                data = response.json()
            except ValueError:
                data = None
            if not 200 <= response.status_code < 300:
                error = data.get("error", "") if isinstance(data, dict) else ""
                message = data.get("message", "") if isinstance(data, dict) else ""
                raise XrpcError(
                    response.status_code,
                    " ".join(str(error).split())[:80],
                    " ".join(str(message).split())[:300],
                    response.headers,
                )
            if not isinstance(data, dict):
                raise XrpcParseError(f"{nsid} answered with something other than a JSON object")
            return data

    def close(self) -> None:
        """Release the connections."""
        self._http.close()


class BlueskyAuth:
    """One account's session for a run: a saved session first, createSession at most once, refresh as due."""

    def __init__(
        self,
        service_url: str,
        limits: FetchLimits,
        handle: str | None,
        app_password: str | None,
        saved_session: str | None,
        save: Callable[[str], None],
        http: requests.Session | None = None,
    ) -> None:
        self.service_url = service_url.rstrip("/")
        self._limits = limits
        self._http = http
        self._handle = (handle or "").strip().lstrip("@").lower() or None
        self._password = app_password or None
        self._save = save
        self._session: AtSession | None = None
        self._client: XrpcClient | None = None
        self._failure: LoginError | None = None
        self._logins = 0
        remember_secret(self._password)
        if saved_session:
            remember_secret(saved_session)
            session = AtSession.decode(saved_session, self.service_url)
            # A session of another account (the handle changed in Settings) is not reused.
            if session is not None and (self._handle is None or session.handle.lower() == self._handle):
                session.remember()
                self._set(session)

    @property
    def configured(self) -> bool:
        """A login is possible: a saved session, or a handle with an app password."""
        return self._session is not None or bool(self._handle and self._password)

    @property
    def usable(self) -> bool:
        """Configured, and not refused during this run."""
        return self.configured and self._failure is None

    def client(self) -> XrpcClient:
        """The client of the account's PDS, logged in and fresh; LoginError when no session can be had."""
        if self._failure is not None:
            raise self._failure
        if self._session is None:
            self._login()
        assert self._session is not None
        expiry = jwt_expiry(self._session.access_jwt)
        if expiry is not None and utcnow() > expiry - REFRESH_MARGIN:
            self.renew()
        assert self._client is not None
        return self._client

    @property
    def access_token(self) -> str:
        """The current access token (after client())."""
        assert self._session is not None
        return self._session.access_jwt

    def renew(self) -> None:
        """refreshSession; when the refresh token is refused too, one new login with the app password."""
        assert self._session is not None and self._client is not None
        try:
            answer = self._client.call(
                "com.atproto.server.refreshSession", token=self._session.refresh_jwt, post=True
            )
        except XrpcError as exc:
            if exc.status in (400, 401) and self._password and self._handle and self._logins == 0:
                log.info("Bluesky refresh token refused (%s): logging in again", exc.error or exc.status)
                self._session = None
                self._login()
                return
            if exc.status in (400, 401):
                self._failure = LoginError(FailureKind.AUTH, EXPIRED_MESSAGE, exc.status)
                raise self._failure from None
            raise
        self._accept(answer, self._session.pds_endpoint)

    def _login(self) -> None:
        if not (self._handle and self._password):
            self._failure = LoginError(FailureKind.AUTH, NO_LOGIN_MESSAGE)
            raise self._failure
        self._logins += 1
        client = XrpcClient(self.service_url, self._limits, self._http)
        try:
            answer = client.call(
                "com.atproto.server.createSession",
                body={"identifier": self._handle, "password": self._password},
            )
        except XrpcError as exc:
            client.close()
            if exc.status == 429:
                raise
            if exc.status in (400, 401, 403):
                reason = exc.message if exc.error == "AuthFactorTokenRequired" else ""
                message = REFUSED_LOGIN_MESSAGE + (f" ({redact(reason)})" if reason else "")
                self._failure = LoginError(FailureKind.AUTH, message, exc.status)
                raise self._failure from None
            raise
        client.close()
        self._accept(answer, self.service_url)

    def _accept(self, answer: dict[str, Any], current_pds: str) -> None:
        try:
            session = AtSession(
                handle=str(answer["handle"]),
                did=str(answer["did"]),
                access_jwt=str(answer["accessJwt"]),
                refresh_jwt=str(answer["refreshJwt"]),
                pds_endpoint=pds_from_did_doc(answer.get("didDoc")) or current_pds,
            )
        except KeyError as exc:
            raise XrpcParseError(f"the session answer lacks {exc.args[0]}") from None
        session.remember()
        self._set(session)
        self._save(session.encode())

    def _set(self, session: AtSession) -> None:
        self._session = session
        if self._client is None or self._client.base_url != session.pds_endpoint.rstrip("/"):
            if self._client is not None:
                self._client.close()
            self._client = XrpcClient(session.pds_endpoint, self._limits, self._http)

    def close(self) -> None:
        """Release the connections."""
        if self._client is not None:
            self._client.close()


# --- targets


@dataclass(frozen=True)
class Target:
    """A validated target, parsed: a search query, a hashtag or an account."""

    text: str
    kind: str  # "search" | "tag" | "author"
    value: str  # the query, the tag without "#", the handle or DID without "@"


def parse_target(text: str) -> Target:
    """The kind of a normalised target (see BlueskyProvider.validate_target)."""
    if text.startswith("@"):
        return Target(text, "author", text[1:])
    if text.startswith("#") and len(text) > 1 and not any(ch.isspace() for ch in text):
        return Target(text, "tag", text[1:])
    return Target(text, "search", text)


# --- posts into items


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_iso(value)
    except (ValueError, OverflowError):
        return None


def post_sort_time(post: dict[str, Any]) -> datetime | None:
    """The AppView's sortAt: the earlier of createdAt and indexedAt (a backdated or future post)."""
    record = _dict(post.get("record"))
    times = [t for t in (_time(record.get("createdAt")), _time(post.get("indexedAt"))) if t is not None]
    return min(times) if times else None


def _segments(text: str, facets: Any) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """The text cut at its facets (UTF-8 byte ranges), each piece with its first feature."""
    data = text.encode("utf-8")
    spans: list[tuple[int, int, dict[str, Any]]] = []
    for facet in facets if isinstance(facets, list) else []:
        try:
            start, end = int(facet["index"]["byteStart"]), int(facet["index"]["byteEnd"])
            feature = facet["features"][0]
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        if 0 <= start < end <= len(data) and isinstance(feature, dict):
            spans.append((start, end, feature))
    spans.sort(key=lambda span: span[0])
    position = 0
    for start, end, feature in spans:
        if start < position:
            continue  # overlapping facets: keep the first
        yield data[position:start].decode("utf-8", "replace"), None
        yield data[start:end].decode("utf-8", "replace"), feature
        position = end
    yield data[position:].decode("utf-8", "replace"), None


def _feature_link(feature: dict[str, Any]) -> str | None:
    kind = str(feature.get("$type", ""))
    if kind.endswith("#link"):
        uri = feature.get("uri")
        return uri if isinstance(uri, str) and urlsplit(uri).scheme in ("http", "https") else None
    if kind.endswith("#mention") and isinstance(feature.get("did"), str):
        return f"https://bsky.app/profile/{quote(feature['did'], safe=':')}"
    if kind.endswith("#tag") and isinstance(feature.get("tag"), str):
        return f"https://bsky.app/hashtag/{quote(feature['tag'], safe='')}"
    return None


def text_and_html(record: dict[str, Any]) -> tuple[str, str]:
    """The post's text with shortened links written out in full, and simple sanitized HTML."""
    text = str(record.get("text") or "")
    plain: list[str] = []
    markup: list[str] = []
    for piece, feature in _segments(text, record.get("facets")):
        link = _feature_link(feature) if feature is not None else None
        is_web_link = feature is not None and str(feature.get("$type", "")).endswith("#link") and link
        # The app shows links shortened ("example.org/long-pa..."); the facet holds the address.
        plain.append(link if is_web_link and link else piece)
        escaped = html.escape(piece).replace("\n", "<br>")
        markup.append(f'<a href="{html.escape(link)}">{escaped}</a>' if link else escaped)
    return "".join(plain), "<p>" + "".join(markup) + "</p>"


def _external_embed(post: dict[str, Any]) -> str:
    embed = post.get("embed")
    external = embed.get("external") if isinstance(embed, dict) else None
    if not isinstance(external, dict) or not isinstance(external.get("uri"), str):
        return ""
    uri = external["uri"]
    if urlsplit(uri).scheme not in ("http", "https"):
        return ""
    title = str(external.get("title") or uri)
    return f'<p><a href="{html.escape(uri)}">{html.escape(title)}</a></p>'


def post_url(post: dict[str, Any]) -> str | None:
    """https://bsky.app/profile/<handle>/post/<rkey>, from the post's at:// URI."""
    uri = str(post.get("uri", ""))
    if not uri.startswith("at://") or "/app.bsky.feed.post/" not in uri:
        return None
    repo, rkey = uri[5:].split("/", 1)[0], uri.rsplit("/", 1)[-1]
    author = _dict(post.get("author"))
    handle = str(author.get("handle") or "")
    who = handle if handle and handle != "handle.invalid" else repo
    return f"https://bsky.app/profile/{quote(who, safe=':')}/post/{quote(rkey, safe='')}"


def _first_language(langs: object) -> str | None:
    """The first language a post declares in its record's langs, when it is a plausible tag."""
    if not isinstance(langs, list) or not langs:
        return None
    text = str(langs[0] or "").strip()
    return text if text and len(text) <= 35 and text.replace("-", "").isalnum() else None


def post_item(post: dict[str, Any], origin: str) -> ItemRecord | None:
    """One post as an item; None for something that is not a readable post."""
    uri = post.get("uri")
    record = post.get("record")
    if not isinstance(uri, str) or not uri.startswith("at://") or not isinstance(record, dict):
        return None
    author = _dict(post.get("author"))
    handle = str(author.get("handle") or author.get("did") or "")
    name = " ".join(str(author.get("displayName") or "").split())
    summary, body = text_and_html(record)
    first_line = " ".join((summary.strip().splitlines() or [""])[0].split())
    if not first_line:
        first_line = f"Post by {name or '@' + handle}"
    title = first_line[:TITLE_LENGTH] + ("…" if len(first_line) > TITLE_LENGTH else "")
    return ItemRecord(
        source=Source.BLUESKY,
        dedup_key=uri,
        origin=origin,
        url=post_url(post),
        title=title,
        summary=summary,
        content_html=nh3.clean(body + _external_embed(post), tags={"p", "a", "br"}),
        author=f"@{handle}" if handle else None,
        published_at=_time(record.get("createdAt")) or _time(post.get("indexedAt")),
        language=_first_language(record.get("langs")),
    )


# --- crawling


@dataclass
class Clients:
    """Where a crawl sends its requests: the account's session, and the public AppView for feeds."""

    auth: BlueskyAuth
    public: XrpcClient


def _failed(outcome: TargetOutcome, code: int | None, kind: FailureKind, error: str) -> None:
    outcome.http_status, outcome.failure, outcome.error = code, kind, redact(error)


def uses_session(clients: Clients, target: Target) -> bool:
    """Searches need the login; feeds use it when it works, else the public AppView."""
    return target.kind != "author" or clients.auth.usable


def _call(
    clients: Clients, target: Target, nsid: str, params: dict[str, Any]
) -> tuple[dict[str, Any], Exchange]:
    """One page and its exchange: searches with the session; feeds with it if any, else from the AppView."""
    if not uses_session(clients, target):
        return clients.public.page(nsid, params)
    client = clients.auth.client()
    try:
        return client.page(nsid, params, token=clients.auth.access_token)
    except XrpcError as exc:
        if exc.status == 401 or exc.error in _TOKEN_ERRORS:
            # Revoked or expired early: renew once, then ask once more.
            clients.auth.renew()
            return clients.auth.client().page(nsid, params, token=clients.auth.access_token)
        raise


def crawl_target(
    clients: Clients,
    target: Target,
    memory: TargetMemory | None,
    max_results: int,
    limits: FetchLimits,
    cancel: threading.Event | None = None,
    evidence: EvidenceWriter | None = None,
) -> TargetOutcome:
    """New posts of one target since the last run, newest first, up to max_results.

    With evidence, every page that gave posts is captured and its items point at it.
    """
    started = time.monotonic()
    outcome = TargetOutcome(target.text, pages=0)
    since = _time(memory.since_id) if memory is not None and memory.since_id else None
    newest: datetime | None = None
    cursor: str | None = None
    seen: set[str] = set()
    try:
        while True:
            if cancel is not None and cancel.is_set():
                outcome.failure, outcome.error = FailureKind.CANCELLED, "cancelled"
                break
            limit = max(1, min(PAGE_SIZE_MAX, max_results - len(outcome.items)))
            if target.kind == "author":
                params: dict[str, Any] = {"actor": target.value, "limit": limit}
                nsid = "app.bsky.feed.getAuthorFeed"
            else:
                q = f"#{target.value}" if target.kind == "tag" else target.value
                params = {"q": q, "sort": "latest", "limit": limit}
                if target.kind == "tag":
                    params["tag"] = target.value
                if since is not None:
                    params["since"] = iso(since)
                nsid = "app.bsky.feed.searchPosts"
            if cursor:
                params["cursor"] = cursor
            page, exchange = _call(clients, target, nsid, params)
            outcome.pages = (outcome.pages or 0) + 1
            outcome.http_status = 200
            entries = page.get("feed" if target.kind == "author" else "posts")
            if not isinstance(entries, list):
                raise XrpcParseError(f"{nsid} answered without a list of posts")
            reached_old = False
            first_of_page = len(outcome.items)
            for entry in entries:
                post, when = _post_and_time(entry, target.kind)
                if post is None:
                    continue
                if since is not None and when is not None and when < since:
                    reached_old = True  # newest first: the rest is older still
                    continue
                if when is not None and (newest is None or when > newest):
                    newest = when
                item = post_item(post, target.text)
                if item is not None and item.dedup_key not in seen:
                    seen.add(item.dedup_key)
                    outcome.items.append(item)
                if len(outcome.items) >= max_results:
                    break
            if evidence is not None and len(outcome.items) > first_of_page:
                # The page gave posts: its answer is their evidence (a page of old posts is not kept).
                ref = capture_exchange(evidence, exchange, outcome)
                outcome.items[first_of_page:] = with_capture(outcome.items[first_of_page:], ref)
            cursor = page.get("cursor") if isinstance(page.get("cursor"), str) else None
            if not cursor or not entries or reached_old or len(outcome.items) >= max_results:
                break
            if time.monotonic() - started > limits.deadline_s:
                outcome.warning = f"stopped paging after {limits.deadline_s:g} s; the rest comes next run"
                break
        if not outcome.failed:
            outcome.state = StateUpdate(since_id=iso(newest) if newest else None, clear_retry_after=True)
    except LoginError as exc:
        _failed(outcome, exc.status, exc.kind, exc.message)
        if exc.message == NO_LOGIN_MESSAGE:
            outcome.held_back, outcome.pages = HeldBack.NOT_SENT, None
    except XrpcError as exc:
        _xrpc_failure(outcome, target, exc)
    except XrpcParseError as exc:
        _failed(outcome, outcome.http_status, FailureKind.PARSE, f"unreadable answer from Bluesky: {exc}")
    except requests.exceptions.RequestException as exc:
        if cancel is not None and cancel.is_set():
            outcome.failure, outcome.error = FailureKind.CANCELLED, "cancelled"
        else:
            if is_unreachable(exc):
                kind = FailureKind.UNREACHABLE
            elif isinstance(exc, requests.exceptions.Timeout):
                kind = FailureKind.TIMEOUT
            else:
                kind = FailureKind.NETWORK
            _failed(outcome, None, kind, describe_exception(exc, limits))
    outcome.elapsed_s = time.monotonic() - started
    if outcome.failed and outcome.failure is not FailureKind.CANCELLED:
        log.warning("Bluesky target %r failed: %s", target.text, outcome.error)
    return outcome


def _post_and_time(entry: Any, kind: str) -> tuple[dict[str, Any] | None, datetime | None]:
    """The post of a search hit or feed entry, and when it entered the list (a repost: when reposted)."""
    if not isinstance(entry, dict):
        return None, None
    if kind != "author":
        return entry, post_sort_time(entry)
    post = entry.get("post")
    if not isinstance(post, dict):
        return None, None
    reason = entry.get("reason")
    if isinstance(reason, dict) and str(reason.get("$type", "")).endswith("#reasonRepost"):
        # A repost is stored as the original post, but it is new in the feed when reposted.
        return post, _time(reason.get("indexedAt")) or post_sort_time(post)
    return post, post_sort_time(post)


def _xrpc_failure(outcome: TargetOutcome, target: Target, exc: XrpcError) -> None:
    code, detail = exc.status, exc.message or exc.error or "no reason given"
    if code == 429:
        until = _reset_time(exc.headers)
        _failed(
            outcome,
            429,
            FailureKind.RATE_LIMIT,
            "Bluesky rate limit reached (HTTP 429): next request allowed after "
            f"{until:%Y-%m-%d %H:%M:%S} UTC",
        )
        outcome.rate_limited_until = until
        outcome.state = StateUpdate(retry_after=until)
    elif target.kind == "author" and (
        code == 404 or (code == 400 and ("not found" in detail.lower() or exc.error == "ActorNotFound"))
    ):
        _failed(outcome, code, FailureKind.NOT_FOUND, f"no Bluesky account @{target.value}")
    elif code in (401, 403) or exc.error in _TOKEN_ERRORS:
        message = (
            f"Bluesky refused the request (HTTP {code}): {detail}"
            if code == 403
            else EXPIRED_MESSAGE
        )
        _failed(outcome, code, FailureKind.AUTH, message)
    elif code == 400:
        what = "account" if target.kind == "author" else "query"
        _failed(outcome, 400, FailureKind.HTTP, f"Bluesky rejected the {what} (HTTP 400): {detail}")
    elif code >= 500:
        _failed(outcome, code, FailureKind.HTTP, f"Bluesky server error (HTTP {code}); try again later")
    else:
        kind = FailureKind.NOT_FOUND if code in (404, 410) else FailureKind.HTTP
        _failed(outcome, code, kind, f"Bluesky answered HTTP {code}: {detail}")


# After one of these, the targets that would meet the same login or limit are not sent.
_STOPPING = (FailureKind.AUTH, FailureKind.RATE_LIMIT)


def crawl_targets(
    targets: list[str],
    memory: dict[str, TargetMemory],
    clients: Clients,
    limits: FetchLimits,
    max_results: int,
    cancel: threading.Event | None = None,
    on_done: Callable[[TargetOutcome], None] | None = None,
    evidence: EvidenceWriter | None = None,
) -> list[TargetOutcome]:
    """Every target in turn, one outcome each; a refused login or a rate limit holds back the rest.

    With evidence, the pages that gave posts are captured (never a session call's answer).
    """
    outcomes: list[TargetOutcome] = []
    now = utcnow()
    # By route (the account's PDS, or the public AppView): one's limit is not the other's.
    stops: dict[bool, TargetOutcome] = {}
    for text in targets:
        target = parse_target(text)
        route = uses_session(clients, target)
        known = memory.get(text)
        stop = stops.get(route)
        if stop is not None:
            outcome = TargetOutcome.not_sent_after(text, stop)
        elif known and known.last_status == "429" and known.retry_after and known.retry_after > now:
            outcome = TargetOutcome(
                text,
                failure=FailureKind.RATE_LIMIT,
                error=f"Bluesky rate limit: not sent before {known.retry_after:%Y-%m-%d %H:%M:%S} UTC",
                held_back=HeldBack.DEFERRED,
                rate_limited_until=known.retry_after,
            )
        elif cancel is not None and cancel.is_set():
            outcome = TargetOutcome(text, failure=FailureKind.CANCELLED, error="cancelled")
        else:
            try:
                outcome = crawl_target(clients, target, known, max_results, limits, cancel, evidence)
            except Exception as exc:  # an answer this code cannot read must not lose the other targets
                log.exception("Bluesky target %r could not be crawled", text)
                outcome = TargetOutcome(
                    text,
                    failure=FailureKind.INTERNAL,
                    error=redact(f"internal error: {type(exc).__name__}: {exc}")[:300],
                )
            # A refused login is remembered by the BlueskyAuth: the next targets fail at once.
            if outcome.failure in _STOPPING and outcome.http_status is not None:
                stops[route] = outcome
        outcomes.append(outcome)
        if on_done:
            on_done(outcome)
    return outcomes
