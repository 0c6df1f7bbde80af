"""OPML in and out: read the feeds of a feed reader's export safely, write news tasks as OPML 2.0."""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit
from xml.parsers import expat

import defusedxml.ElementTree as SafeET
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from osint_desktop.app.tasks import TaskInfo, create_task, get_task, update_task
from osint_desktop.core.db.engine import Database
from osint_desktop.core.timeutil import as_utc, utcnow
from osint_desktop.core.validation import ValidationError, validate_feed_url
from osint_desktop.core.vocabulary import Frequency, Source

log = logging.getLogger(__name__)

MAX_OPML_BYTES = 10 * 1024 * 1024
MAX_LABEL_LENGTH = 200
DEFAULT_TITLE = "OSINT Desktop feeds"
NOT_A_FEED = "no feed address (xmlUrl): not a feed"
# XML 1.0 allows tab, newline and carriage return but no other control character.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class OpmlError(ValueError):
    """The file cannot be read as OPML; the message says why in one line."""


@dataclass(frozen=True)
class OpmlFeed:
    """One feed outline: its name, where the feed is, and the folders it sits in."""

    title: str
    xml_url: str
    html_url: str | None = None
    category: tuple[str, ...] = ()
    # Whether the file names the feed (text or title): title is then that name, else the URL.
    named: bool = True


@dataclass(frozen=True)
class OpmlImport:
    """What a file offers: its feeds, and each outline left out with the reason."""

    feeds: list[OpmlFeed]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    title: str | None = None

    @property
    def urls(self) -> list[str]:
        """The feed addresses, in file order."""
        return [feed.xml_url for feed in self.feeds]


def parse_opml(data: bytes) -> OpmlImport:
    """Read the feeds of an OPML file; raises OpmlError for a file that is not safe, valid OPML."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(
            f"the file is {len(data) / 1024 / 1024:.1f} MiB; OPML files over "
            f"{MAX_OPML_BYTES // 1024 // 1024} MiB are refused"
        )
    root = _parse_xml(data)
    if _local_name(root.tag) != "opml":
        raise OpmlError(f"this is XML but not OPML (its root element is <{root.tag}>, not <opml>)")
    body = _child(root, "body")
    if body is None:
        raise OpmlError("the OPML file has no <body>, so it lists no feeds")
    head = _child(root, "head")
    title_element = _child(head, "title") if head is not None else None
    title = _clean_label(title_element.text or "") if title_element is not None else ""

    feeds: list[OpmlFeed] = []
    skipped: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    # An explicit stack instead of recursion: a hostile file may nest outlines very deeply.
    stack: list[tuple[ET.Element, tuple[str, ...]]] = [
        (child, ()) for child in reversed(_outlines(body))
    ]
    while stack:
        outline, path = stack.pop()
        attrs = {key.lower(): value for key, value in outline.attrib.items()}
        label = _clean_label(attrs.get("text") or attrs.get("title") or "")
        children = _outlines(outline)
        xml_url = (attrs.get("xmlurl") or "").strip()
        stack.extend((child, (*path, label or "(untitled)")) for child in reversed(children))
        if not xml_url:
            if not children:
                skipped.append((label or "(untitled outline)", NOT_A_FEED))
            continue
        shown = label or xml_url
        try:
            url = validate_feed_url(xml_url)
        except ValidationError as exc:
            skipped.append((shown, str(exc)))
            continue
        key = feed_key(url)
        if key in seen:
            skipped.append((shown, f"the same feed is listed earlier, as {seen[key]!r}"))
            continue
        seen[key] = shown
        html_url = _web_url(attrs.get("htmlurl"))
        feeds.append(
            OpmlFeed(title=shown, xml_url=url, html_url=html_url, category=path, named=bool(label))
        )
    log.info("OPML: %d feeds, %d outlines skipped", len(feeds), len(skipped))
    return OpmlImport(feeds=feeds, skipped=skipped, title=title or None)


def read_opml_file(path: Path) -> OpmlImport:
    """Parse an OPML file from disk; a file over the size limit is refused before it is read."""
    size = path.stat().st_size
    if size > MAX_OPML_BYTES:
        raise OpmlError(
            f"the file is {size / 1024 / 1024:.1f} MiB; OPML files over "
            f"{MAX_OPML_BYTES // 1024 // 1024} MiB are refused"
        )
    with path.open("rb") as handle:
        # Read one byte past the limit: the file may have grown since stat().
        return parse_opml(handle.read(MAX_OPML_BYTES + 1))


_REFUSED = "the file {}, which OPML never needs; it is refused for safety"


def _parse_xml(data: bytes) -> ET.Element:
    """Parse with defusedxml, refusing any document type declaration.

    Entity expansion bombs and external entities both need a DOCTYPE, and OPML never has one,
    so refusing it in the parser (whatever the file's encoding) closes both doors; the entity
    and external-reference guards stay on behind it.
    """
    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DTDForbidden:
        raise OpmlError(_REFUSED.format("declares a DOCTYPE")) from None
    except EntitiesForbidden:
        raise OpmlError(_REFUSED.format("declares XML entities")) from None
    except ExternalReferenceForbidden:
        raise OpmlError("the file refers to an external entity; it is refused for safety") from None
    except ET.ParseError as exc:
        line, column = exc.position
        reason = expat.ErrorString(exc.code) if exc.code else str(exc)
        raise OpmlError(
            f"the file is not well-formed XML ({reason}, line {line}, column {column + 1})"
        ) from None
    except (LookupError, UnicodeError) as exc:
        raise OpmlError(f"the file's text encoding cannot be read ({exc})") from None


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1].lower()


def _child(parent: ET.Element, name: str) -> ET.Element | None:
    return next((child for child in parent if _local_name(child.tag) == name), None)


def _outlines(parent: ET.Element) -> list[ET.Element]:
    return [child for child in parent if _local_name(child.tag) == "outline"]


def _clean_label(text: str) -> str:
    cleaned = " ".join(_XML_INVALID.sub("", text).split())
    return cleaned if len(cleaned) <= MAX_LABEL_LENGTH else cleaned[: MAX_LABEL_LENGTH - 1] + "…"


def _web_url(value: str | None) -> str | None:
    # The page address is only shown, never fetched; keep it when it is a plain web link.
    if not value:
        return None
    try:
        return validate_feed_url(value)
    except ValidationError:
        return None


def feed_key(url: str) -> str:
    """A feed address reduced to what identifies it: case of scheme and host, default port, fragment."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    query = f"?{parts.query}" if parts.query else ""
    return f"{scheme}://{host}{parts.path or '/'}{query}"


def feed_label(url: str) -> str:
    """Host and path of a feed address, the short name an export gives it."""
    parts = urlsplit(url)
    host = parts.hostname or url
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None:
        host = f"{host}:{port}"
    path = parts.path if parts.path not in ("", "/") else ""
    return f"{host}{path}"


def write_opml(
    tasks: Sequence[TaskInfo], *, title: str = DEFAULT_TITLE, now: datetime | None = None
) -> bytes:
    """OPML 2.0 of the news tasks' feeds, by name, in folders; social tasks are left out.

    A feed imported from OPML goes back into the folder it came from (nested folders too, the
    file's top level included); any other feed goes into a folder named after its task. Each
    feed is written with its name (the one the user gave, else the feed's own title, else its
    host and path): import, export and import again give the same folders, names and URLs.
    """
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = _xml_text(title)
    ET.SubElement(head, "dateCreated").text = format_datetime(as_utc(now or utcnow()), usegmt=True)
    ET.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = ET.SubElement(root, "body")
    # Folders by path, made on first use, so feeds of one folder from several tasks stay together.
    folders: dict[tuple[str, ...], ET.Element] = {(): body}
    for task in tasks:
        if task.source != Source.NEWS:
            continue
        for url in task.targets:
            path = task.target_folders.get(url, (task.name,))
            label = _xml_text(task.title_of(url) or feed_label(url))
            ET.SubElement(
                _folder(folders, path), "outline", type="rss", text=label, title=label, xmlUrl=_xml_text(url)
            )
    ET.indent(root, space="  ")
    out = BytesIO()
    # ElementTree escapes &, <, >, quotes and newlines in attributes itself.
    ET.ElementTree(root).write(out, encoding="UTF-8", xml_declaration=True)
    return out.getvalue() + b"\n"


def _folder(folders: dict[tuple[str, ...], ET.Element], path: tuple[str, ...]) -> ET.Element:
    """The outline of a folder path, with the outlines of its parents, made when first needed."""
    found = folders.get(path)
    if found is not None:
        return found
    parent = _folder(folders, path[:-1])
    name = _xml_text(path[-1])
    folder = ET.SubElement(parent, "outline", text=name, title=name)
    folders[path] = folder
    return folder


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub("", text)


def apply_opml_import(
    db: Database,
    feeds: Sequence[OpmlFeed],
    new_task_name: str | None = None,
    frequency: str = Frequency.DAILY,
    existing_task_id: int | None = None,
) -> int:
    """Put the feeds into a new news task or add the missing ones to an existing one; returns its id.

    Each feed keeps the name and the folder path the file gives it, so an export writes them
    back. A feed the task has already is left as it is.
    """
    if (new_task_name is None) == (existing_task_id is None):
        raise ValueError("give either a name for a new task or the id of an existing task")
    urls = [feed.xml_url for feed in feeds]
    if not urls:
        raise ValidationError("the file lists no feeds to import", "targets")
    titles = {feed.xml_url: feed.title for feed in feeds if feed.named}
    folders = {feed.xml_url: feed.category for feed in feeds}
    if new_task_name is not None:
        task = create_task(
            db, new_task_name, Source.NEWS, frequency, urls, target_titles=titles, target_folders=folders
        )
        log.info("OPML import: new task %d %r with %d feeds", task.id, task.name, len(task.targets))
        return task.id
    assert existing_task_id is not None
    current = get_task(db, existing_task_id)
    if current.source != Source.NEWS:
        raise ValidationError(f"{current.name!r} is a social media task: feeds go into news tasks", "task")
    added = new_feeds(current.targets, urls)
    if added:
        update_task(
            db,
            current.id,
            targets=[*current.targets, *added],
            target_titles={**current.target_titles, **{url: titles[url] for url in added if url in titles}},
            target_folders={**current.target_folders, **{url: folders[url] for url in added}},
        )
    log.info("OPML import: %d feeds added to task %d %r", len(added), current.id, current.name)
    return current.id


def new_feeds(existing: Sequence[str], urls: Sequence[str]) -> list[str]:
    """The URLs not yet among the existing targets (compared by feed_key), in order, once each."""
    known = {feed_key(url) for url in existing}
    added: list[str] = []
    for url in urls:
        key = feed_key(url)
        if key not in known:
            known.add(key)
            added.append(url)
    return added
