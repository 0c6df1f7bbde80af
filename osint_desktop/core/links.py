"""Links a person may follow from collected text: web addresses only, and text that names another site."""

from __future__ import annotations

import contextlib
import ipaddress
import re
from urllib.parse import unquote, urlsplit

WEB_SCHEMES = ("http", "https")
# A bare address as link text: dotted host (its last label letters, a TLD), optional port and path.
_BARE_ADDRESS = re.compile(r"^[\w.-]+\.[^\W\d_]{2,63}\.?(?::\d{1,5})?(?:[/?#]\S*)?$", re.UNICODE)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def is_web_link(url: str | None) -> bool:
    """Whether an address may be handed to the web browser: http or https with a host, nothing else."""
    if not url:
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in WEB_SCHEMES and bool(parts.hostname)


def shown_host(text: str) -> str | None:
    """The site a link's visible text names, when the text reads as an address; None for words.

    "https://bank.example/login", "www.bank.example" and "bank.example/login" all name
    bank.example; "Read more" or "the report" name none.
    """
    candidate = text.strip().strip("<>()[]\"'").strip()
    if not candidate or any(ch.isspace() for ch in candidate):
        return None
    if not _SCHEME.match(candidate):
        if not (candidate.lower().startswith("www.") or _BARE_ADDRESS.match(candidate)):
            return None
        candidate = "http://" + candidate
    try:
        host = urlsplit(candidate).hostname
    except ValueError:
        return None
    if not host or ("." not in host and not _is_ip(host)):
        return None
    return _site(host)


def misleading_text(text: str, href: str) -> str | None:
    """The site the text shows when the link leads to another one (phishing-style); else None.

    A link is fine when its text is no address, names the site it leads to (or a parent
    domain of it: "example.org" for news.example.org), or is the file name the address ends with.
    """
    shown = shown_host(text)
    if shown is None:
        return None
    try:
        parts = urlsplit(href.strip())
    except ValueError:
        return shown
    target = _site(parts.hostname or "")
    if target and (target == shown or target.endswith("." + shown)):
        return None
    name = text.strip()
    if "://" not in name and "/" not in name and unquote(parts.path).rsplit("/", 1)[-1] == name:
        return None  # "report.pdf" linking to …/report.pdf names the file, not a site
    return shown


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _site(host: str) -> str:
    """A host as compared: lower case, in its ASCII (IDNA) form, without "www." and a final dot."""
    host = host.lower().rstrip(".")
    # A host with no ASCII form is compared as written: no one's bank has such a name.
    with contextlib.suppress(UnicodeError):
        host = host.encode("idna").decode("ascii")
    return host[4:] if host.startswith("www.") else host
