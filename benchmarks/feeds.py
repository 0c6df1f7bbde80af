"""Deterministic, realistic RSS 2.0 and Atom feeds (seeded) shared by the benchmarks."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape, quoteattr

FEED_COUNT = 200
ENTRIES_PER_FEED = 50
SEED = 20240501
# Entries are dated before this instant, so every date is plausible whenever the benchmark runs.
NEWEST = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

# Ordinary news vocabulary; ui_scale.py reuses it so searches hit common and rare words.
_WORD_TEXT = """
    the of and to in a is that for on with as was by it at from are be this have has an
    not but they their which were been more after about new also said will year two one
    government minister police report security attack cyber data network breach company
    officials ministry border election court military defence intelligence agency sources
    people city region country state president parliament statement according week month
    system services infrastructure energy power grid water transport port airport bridge
    ransomware malware phishing vulnerability patch exploit campaign group actor hackers
    sanctions trade export import market prices inflation economy bank currency shipping
    protest rally strike union workers students hospital health outbreak vaccine virus
    weather storm flood drought wildfire earthquake emergency relief aid convoy refugees
    satellite imagery drone missile aircraft vessel navy army troops exercise deployment
    investigation prosecutors charges arrested suspects trial verdict appeal judge lawyers
    journalists media platform accounts posts channel network disinformation narrative
    analysts researchers experts university institute think tank study survey findings
    local national international regional foreign domestic public private federal capital
    announced confirmed denied warned claimed reported published released disclosed leaked
    monday tuesday wednesday thursday friday saturday sunday morning evening overnight
"""
WORDS: tuple[str, ...] = tuple(_WORD_TEXT.split())
RARE_WORDS: tuple[str, ...] = (
    "quokka", "zephyrine", "obsidianite", "marmalith", "tessellon", "vireoscope", "quillfeather",
    "brontide", "halcyonet", "petrichora", "susurrant", "limerence", "apricity", "hiraeth",
)
AUTHORS: tuple[str, ...] = (
    "Anna Keller", "Brian O'Neill", "Chen Wei", "Dalia Haddad", "Erik Lindqvist", "Fatima Diallo",
    "Giulia Romano", "Hiro Tanaka", "Ines Moreau", "Jonas Becker", "Karim Benali", "Lena Novak",
    "Marta Kowalska", "Nikhil Rao", "Olga Petrova", "Pablo Ruiz", "Quentin Dubois", "Rosa Alvarez",
)
CATEGORIES: tuple[str, ...] = (
    "World", "Security", "Politics", "Economy", "Technology", "Cyber", "Defence", "Energy", "Health",
)


@dataclass(frozen=True)
class Feed:
    """One generated feed: where it is served, its bytes, and the identities of its entries."""

    index: int
    path: str
    kind: str  # "rss" or "atom"
    content_type: str
    body: bytes
    guids: tuple[str, ...]


def sentence(rng: random.Random, low: int = 8, high: int = 22, rare_chance: float = 0.0) -> str:
    """A capitalised sentence of ordinary words (with an occasional rare one)."""
    count = rng.randint(low, high)
    words = [rng.choice(WORDS) for _ in range(count)]
    if rare_chance and rng.random() < rare_chance:
        words[rng.randrange(count)] = rng.choice(RARE_WORDS)
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def title(rng: random.Random) -> str:
    """A headline."""
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 12))]
    return " ".join(word.capitalize() if i == 0 or len(word) > 3 else word for i, word in enumerate(words))


def article_html(rng: random.Random, site: str, slug: str) -> str:
    """About 1.2 KB of article HTML: paragraphs, links (some relative), emphasis, a list, an image."""
    parts: list[str] = []
    parts.append(
        f'<p><img src="/images/{slug}.jpg" alt="{escape(title(rng))}" width="640" height="360"></p>'
    )
    for paragraph in range(4):
        sentences = [sentence(rng, 6, 16, rare_chance=0.02) for _ in range(2)]
        if paragraph == 1:
            sentences[0] = f'<a href="/{slug}/related">{sentences[0]}</a>'
        if paragraph == 2:
            sentences[-1] = f"<strong>{sentences[-1]}</strong>"
        if paragraph == 3:
            sentences[0] = f'<em>{sentences[0]}</em> <a href="https://{site}/topics/">More</a>'
        parts.append("<p>" + " ".join(sentences) + "</p>")
    items = "".join(f"<li>{sentence(rng, 3, 6)}</li>" for _ in range(2))
    parts.append(f"<ul>{items}</ul>")
    return "\n".join(parts)


def _entry_common(rng: random.Random, feed_index: int, entry_index: int, site: str) -> dict[str, str]:
    when = NEWEST - timedelta(minutes=feed_index * 7 + entry_index * 53 + rng.randint(0, 40))
    headline = title(rng)
    slug = "-".join(headline.lower().split()[:6]) + f"-{feed_index}-{entry_index}"
    return {
        "title": headline,
        "slug": slug,
        "link": f"https://{site}/{when:%Y/%m}/{slug}",
        "summary": sentence(rng, 12, 24),
        "content": article_html(rng, site, slug),
        "author": rng.choice(AUTHORS),
        "category": rng.choice(CATEGORIES),
        "rfc822": format_datetime(when),
        "iso": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def rss_feed(rng: random.Random, index: int, entries: int) -> tuple[bytes, tuple[str, ...]]:
    """An RSS 2.0 feed with content:encoded, dc:creator and permalink guids."""
    site = f"news{index:03d}.example.org"
    items: list[str] = []
    guids: list[str] = []
    for number in range(entries):
        e = _entry_common(rng, index, number, site)
        guids.append(e["link"])
        items.append(
            "<item>"
            f"<title>{escape(e['title'])}</title>"
            f"<link>{escape(e['link'])}</link>"
            f'<guid isPermaLink="true">{escape(e["link"])}</guid>'
            f"<pubDate>{e['rfc822']}</pubDate>"
            f"<dc:creator>{escape(e['author'])}</dc:creator>"
            f"<category>{escape(e['category'])}</category>"
            f"<description>{escape('<p>' + e['summary'] + '</p>')}</description>"
            f"<content:encoded><![CDATA[{e['content']}]]></content:encoded>"
            "</item>\n"
        )
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">\n'
        "<channel>"
        f"<title>News {index:03d} — {escape(title(rng))}</title>"
        f"<link>https://{site}/</link>"
        f'<atom:link href="https://{site}/feed.xml" rel="self" type="application/rss+xml"/>'
        f"<description>{escape(sentence(rng))}</description>"
        "<language>en</language>"
        f"<lastBuildDate>{format_datetime(NEWEST)}</lastBuildDate>\n"
    )
    return (head + "".join(items) + "</channel></rss>\n").encode("utf-8"), tuple(guids)


def atom_feed(rng: random.Random, index: int, entries: int) -> tuple[bytes, tuple[str, ...]]:
    """An Atom 1.0 feed with tag: ids, html summaries and html content."""
    site = f"press{index:03d}.example.net"
    parts: list[str] = []
    guids: list[str] = []
    for number in range(entries):
        e = _entry_common(rng, index, number, site)
        entry_id = f"tag:{site},2024:article-{index}-{number}"
        guids.append(entry_id)
        parts.append(
            "<entry>"
            f'<title type="text">{escape(e["title"])}</title>'
            f'<link rel="alternate" type="text/html" href={quoteattr(e["link"])}/>'
            f"<id>{entry_id}</id>"
            f"<published>{e['iso']}</published><updated>{e['iso']}</updated>"
            f"<author><name>{escape(e['author'])}</name></author>"
            f'<category term={quoteattr(e["category"])}/>'
            f'<summary type="html">{escape("<p>" + e["summary"] + "</p>")}</summary>'
            f'<content type="html">{escape(e["content"])}</content>'
            "</entry>\n"
        )
    head = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">'
        f"<title>Press {index:03d} — {escape(title(rng))}</title>"
        f"<subtitle>{escape(sentence(rng))}</subtitle>"
        f'<link rel="self" href="https://{site}/atom.xml"/>'
        f'<link rel="alternate" href="https://{site}/"/>'
        f"<id>tag:{site},2024:feed</id>"
        f"<updated>{NEWEST:%Y-%m-%dT%H:%M:%SZ}</updated>\n"
    )
    return (head + "".join(parts) + "</feed>\n").encode("utf-8"), tuple(guids)


def make_feeds(count: int = FEED_COUNT, entries: int = ENTRIES_PER_FEED, seed: int = SEED) -> list[Feed]:
    """The benchmark's feeds: about one in three is Atom, the rest RSS 2.0; same seed, same bytes."""
    rng = random.Random(seed)
    feeds: list[Feed] = []
    for index in range(count):
        if rng.random() < 0.35:
            body, guids = atom_feed(rng, index, entries)
            kind, content_type = "atom", "application/atom+xml; charset=utf-8"
        else:
            body, guids = rss_feed(rng, index, entries)
            kind, content_type = "rss", "application/rss+xml; charset=utf-8"
        feeds.append(Feed(index, f"/feeds/{index:03d}.xml", kind, content_type, body, guids))
    return feeds


def main() -> None:
    """Print a summary of the generated feeds (sizes, kinds, distinct guids)."""
    feeds = make_feeds()
    sizes = sorted(len(f.body) for f in feeds)
    guids = {g for f in feeds for g in f.guids}
    kinds = {k: sum(1 for f in feeds if f.kind == k) for k in ("rss", "atom")}
    print(
        f"{len(feeds)} feeds ({kinds['rss']} RSS 2.0, {kinds['atom']} Atom), "
        f"{sum(len(f.guids) for f in feeds)} entries, {len(guids)} distinct guids; "
        f"size min/median/max {sizes[0] / 1024:.1f}/{sizes[len(sizes) // 2] / 1024:.1f}/"
        f"{sizes[-1] / 1024:.1f} KiB"
    )


if __name__ == "__main__":
    main()
