"""Which proxy and User-Agent a run uses, the task's own or Settings'; proxy passwords kept as credentials."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from osint_desktop.core.crawl.proxy import (
    NO_PROXY,
    NetworkOptions,
    password_name,
    shown_proxy,
    split_password,
    validate_proxy_url,
    validate_user_agent,
    with_password,
)
from osint_desktop.core.secrets import redact, remember_secret, save_credential
from osint_desktop.core.validation import ValidationError, validate_feed_url

if TYPE_CHECKING:
    from osint_desktop.core.sources.registry import CredentialLookup

# What a person types for "the global setting" (a task's proxy or User-Agent) and for "no proxy".
DEFAULT_WORD = "default"


def task_proxy_value(text: str) -> str | None:
    """A task's proxy as stored: None (Settings' proxy), NO_PROXY, or a URL without its password."""
    cleaned = text.strip()
    if cleaned.lower() in ("", DEFAULT_WORD):
        return None
    if cleaned.lower() == NO_PROXY:
        return NO_PROXY
    url = validate_proxy_url(cleaned)
    if split_password(url)[1] is not None:
        # The database is shared and backed up: a password there would travel with it.
        raise ValidationError(
            "a proxy password is kept as a credential, never in the database: save it with "
            "keep_proxy_password first",
            "proxy",
        )
    return url


def task_user_agent_value(text: str) -> str | None:
    """A task's User-Agent as stored: None (Settings' one) or the text."""
    cleaned = validate_user_agent(text)
    return None if cleaned.lower() in ("", DEFAULT_WORD) else cleaned


def keep_proxy_password(url: str, home: Path, storage: str) -> str:
    """Store a proxy URL's password as the credential "proxy-password:user@host:port"; the URL without it.

    Raises KeyringUnavailableError when storage is the keyring and there is none.
    """
    bare, password = split_password(url)
    name = password_name(bare)
    if password is not None and name is not None:
        save_credential(name, password, home, storage)
    return bare


def _completed(url: str, lookup: CredentialLookup | None) -> str:
    """The proxy URL with its stored password put back (load_credential masks it in logs)."""
    remember_secret(split_password(url)[1])  # one written into the URL by hand is masked too
    name = password_name(url)
    if name is None or lookup is None:
        return url
    return with_password(url, lookup(name, None))


def global_network(proxy_url: str, user_agent: str, lookup: CredentialLookup | None) -> NetworkOptions:
    """Settings' proxy and User-Agent, the password looked up now."""
    return NetworkOptions(_completed(proxy_url.strip(), lookup), user_agent.strip())


def task_network(
    base: NetworkOptions, proxy_url: str | None, user_agent: str | None, lookup: CredentialLookup | None
) -> NetworkOptions:
    """A task's network: its own proxy ("none": direct) and User-Agent over Settings' (base)."""
    agent = user_agent or base.user_agent
    if proxy_url == NO_PROXY:
        return NetworkOptions("", agent, direct=True)
    if proxy_url:
        return NetworkOptions(_completed(proxy_url, lookup), agent)
    return NetworkOptions(base.proxy_url, agent, base.direct)


def try_network(url: str, network: NetworkOptions) -> tuple[bool, str]:
    """Fetch url once with these options: (whether it worked, what happened, in words).

    Blocks for up to the limits' deadline: call it off the GUI thread.
    """
    # core.crawl.http (requests) is imported here: tasks.py imports this module, and a
    # command that only lists tasks must not load the HTTP stack.
    from osint_desktop.core.crawl.http import FeedFetcher, FetchLimits

    target = validate_feed_url(url)
    # Settings' "Test": short limits, so a dead proxy is said within seconds.
    limits = FetchLimits(connect_timeout_s=8, read_timeout_s=15, deadline_s=25, network=network)
    fetcher = FeedFetcher(limits)
    try:
        fetched = fetcher.fetch(target)
    finally:
        fetcher.close()
    way = f"through {shown_proxy(network.proxy_url)}" if network.proxy_url else "directly (no proxy)"
    if fetched.error is not None:
        return False, redact(f"{target} failed {way}: {fetched.error}")
    size = len(fetched.body or b"")
    took = f"{size:,} bytes in {fetched.elapsed_s:.1f} s"
    return True, f"HTTP {fetched.status} from {fetched.final_url} {way}: {took}"
