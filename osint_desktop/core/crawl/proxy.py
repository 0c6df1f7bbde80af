"""Network options every HTTP client honours: the proxy (HTTP(S) or SOCKS) and the User-Agent."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from osint_desktop import APP_NAME, __version__
from osint_desktop.core.validation import ValidationError

if TYPE_CHECKING:  # the command line validates a proxy URL before requests is loaded
    import requests

USER_AGENT = f"{APP_NAME.replace(' ', '')}/{__version__} (+https://github.com/osint-desktop)"
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
SOCKS_SCHEMES = ("socks5", "socks5h")
# A task's proxy_url that means "no proxy, even when Settings has one".
NO_PROXY = "none"
MAX_USER_AGENT_LENGTH = 512
_SCHEME_HINT = (
    "use http://, https://, socks5:// or socks5h:// (socks5h resolves host names through the "
    "proxy, which Tor needs: socks5h://127.0.0.1:9050)"
)
# The CA bundle variables requests reads from the environment: kept when the environment's
# proxy variables are not (trust_env off), so a company's own CA still verifies.
_CA_BUNDLE_ENV = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@dataclass(frozen=True)
class NetworkOptions:
    """How a client reaches the network: through proxy_url ("" none) and with user_agent ("" the app's).

    direct: no proxy at all, not even the environment's HTTP_PROXY (a task's "No proxy").
    The proxy URL may carry a password: never log this object's URL (see core.secrets).
    """

    proxy_url: str = ""
    user_agent: str = ""
    direct: bool = False

    @property
    def agent(self) -> str:
        """The User-Agent header to send."""
        return self.user_agent or USER_AGENT

    def proxies(self) -> dict[str, str]:
        """requests' proxies mapping: every scheme through the proxy, or none."""
        return {"http": self.proxy_url, "https": self.proxy_url} if self.proxy_url else {}

    def __repr__(self) -> str:
        # Dataclass reprs end up in logs and tracebacks: the URL's password must not.
        return f"NetworkOptions(proxy={shown_proxy(self.proxy_url)!r}, user_agent={self.user_agent!r})"


def shown_proxy(url: str) -> str:
    """The proxy URL as the window and logs may show it: any password replaced by ••••."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"{parts.username}:••••@{host}", parts.path, "", ""))


def configure_session(session: requests.Session, network: NetworkOptions) -> None:
    """Send a session's requests with the User-Agent and through the proxy (or directly)."""
    session.headers["User-Agent"] = network.agent
    if not network.proxy_url and not network.direct:
        return  # as before: requests follows the environment's proxy variables
    session.proxies.clear()
    session.proxies.update(network.proxies())
    # requests lets the environment's HTTP_PROXY override a session's own proxies; the
    # proxy the user chose here (or "no proxy") must win, so the environment is not read.
    session.trust_env = False
    bundle = next((os.environ[name] for name in _CA_BUNDLE_ENV if os.environ.get(name)), None)
    if bundle:
        session.verify = bundle


def validate_proxy_url(text: str) -> str:
    """"" (no proxy), or scheme://[user[:password]@]host:port with a scheme requests can use."""
    url = text.strip()
    if not url:
        return ""
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise ValidationError("the proxy URL contains spaces or control characters", "proxy")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValidationError(f"the proxy URL is not valid ({exc})", "proxy") from None
    shown = shown_proxy(url)
    if parts.scheme.lower() not in PROXY_SCHEMES:
        raise ValidationError(f"{shown!r} is not a proxy URL: {_SCHEME_HINT}", "proxy")
    if not parts.hostname:
        raise ValidationError(f"{shown!r} has no host: for example socks5h://127.0.0.1:9050", "proxy")
    if port is None or port == 0:
        raise ValidationError(
            f"{shown!r} has no port: for example http://proxy.example:3128 or socks5h://127.0.0.1:9050",
            "proxy",
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValidationError(f"{shown!r}: a proxy URL has no path, query or fragment", "proxy")
    if parts.scheme.lower() in SOCKS_SCHEMES and importlib.util.find_spec("socks") is None:
        # Looked up, not imported: PySocks is loaded by urllib3 only when a SOCKS proxy is used.
        raise ValidationError("a SOCKS proxy needs the PySocks package (pip install PySocks)", "proxy")
    return urlunsplit((parts.scheme.lower(), parts.netloc, "", "", ""))


def validate_user_agent(text: str) -> str:
    """"" (the app's own), or one line of printable ASCII: what an HTTP header carries safely."""
    agent = text.strip()
    if len(agent) > MAX_USER_AGENT_LENGTH:
        raise ValidationError(
            f"the User-Agent is longer than {MAX_USER_AGENT_LENGTH} characters", "user_agent"
        )
    if not (agent.isascii() and agent.isprintable()):
        raise ValidationError("the User-Agent must be one line of printable ASCII characters", "user_agent")
    return agent


def split_password(url: str) -> tuple[str, str | None]:
    """(the URL without its password, the password): the password is kept as a credential."""
    parts = urlsplit(url)
    if parts.password is None:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit((parts.scheme, f"{user}@{host}", parts.path, "", "")), userinfo.partition(":")[2]


def with_password(url: str, password: str | None) -> str:
    """The URL with the password put back after its user name (as split_password took it)."""
    parts = urlsplit(url)
    if not password or not parts.username or parts.password is not None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    return urlunsplit((parts.scheme, f"{user}:{password}@{host}", parts.path, "", ""))


def password_name(url: str) -> str | None:
    """The credential name of a proxy's password, "proxy-password:user@host:port"; None without a user."""
    parts = urlsplit(url)
    if not parts.username:
        return None
    host = parts.netloc.rpartition("@")[2]
    return f"proxy-password:{parts.username}@{host.lower()}"
