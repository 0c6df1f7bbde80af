"""SQLite's FTS5 index and PostgreSQL's tsvector find the same items, newest first, for one corpus."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from osint_desktop.app.tasks import create_task
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.migrate import upgrade_to_head
from osint_desktop.core.db.models import Item
from osint_desktop.core.db.paging import ItemFilter, count_items, page_items
from osint_desktop.core.db.queries import list_items
from osint_desktop.core.db.search import CompiledSearch, fts_matches_in_ranges, id_ranges, matcher_for
from osint_desktop.core.query import QueryError, parse_query
from tests.pg import ExternalServer, PostgresServer, create_database

FEED = "https://feeds.example.org/world.xml"
# name: (title, summary, author); stored in this order on both engines.
CORPUS: dict[str, tuple[str, str, str | None]] = {
    "phrase": ("Analysts citing region officials", "", None),
    "reversed": ("Region citing analysts", "", None),
    "apart": ("Citing the region", "", None),
    # "citing" ends the title, "Region" begins the summary: columns are apart, no phrase.
    "across": ("Officials keep citing", "Region sources say more", None),
    "entry-999": ("Entry 999 leaked", "", None),
    "entry-1000": ("Entry 1000 leaked", "", None),
    "ransomware": ("Ransomware hits a port", "", None),
    "ransom": ("Ransom paid", "", None),
    "transom": ("Transom window", "", None),
    "acme-breach": ("Acme breach disclosed", "", None),
    "globex-breach": ("Quarterly report", "Globex confirms a breach", None),
    "acme-merger": ("Acme merger", "", None),
    "initech-breach": ("Initech breach", "", None),
    "cve": ("Patch now", "Fixes CVE-2026-1234 in the parser", None),
    "cve-scattered": ("CVE round-up", "2026 saw 1234 bugs", None),
    "host": ("Phishing via example.com", "Redirects to https://login.example.org/path?id=1", None),
    "email": ("Contact leak", "Write to bob.smith@mail.example.net today", None),
    "hyphen": ("State-sponsored actors", "A well-known group", None),
    "accents": ("Café résumé", "Offices in Zürich", "Dana Müller"),
    "plain": ("Cafe owners", "zurich office", None),
    "decomposed": ("Cafe\u0301 society", "", None),  # the accent as a combining character
    "snake": ("Variable snake_case leaked", "the a_b token", None),
    "percent": ("Uptime 100% restored", "50 % discount", None),
    "symbols": ("Under _ score and % sign", "", None),
    "versions": ("Release 2.0.1 notes", "pi is 3.14, big is 1e5", None),
    "ip": ("10.0.0.1 scanned", "", None),
    "cyrillic": ("Привет мир", "ЁЛКА и йогурт", None),
    "greek": ("Αθήνα news", "", None),
    "no-decomposition": ("Straße closed", "Øresund bridge", None),
    "punctuation": ("C++ and C# compared", "Node.js vs. ASP.NET", None),
    "apostrophe": ("O'Reilly's report", "don't panic", None),
    "mixed": ("abc123 and 123abc", "", None),
}

QUERIES: list[tuple[str, set[str]]] = [
    # phrases, and no phrase from one column into the next
    ('"citing region"', {"phrase"}),
    ('"citing region sources"', set()),
    ('"citing the"*', {"apart"}),
    # AND, OR, NOT, parentheses, precedence
    ("citing region", {"phrase", "reversed", "apart", "across"}),
    ("entry NOT 999", {"entry-1000"}),
    ("ransomware OR transom", {"ransomware", "transom"}),
    ("(acme OR globex) AND breach", {"acme-breach", "globex-breach"}),
    ("acme OR globex breach", {"acme-breach", "globex-breach", "acme-merger"}),
    ("breach NOT (initech OR globex)", {"acme-breach"}),
    ('"patch now" OR (region NOT citing)', {"cve"}),
    ("and or not", set()),
    # whole words and prefixes
    ("ransom", {"ransom"}),
    ("ransom*", {"ransomware", "ransom"}),
    ("RANSOM*", {"ransomware", "ransom"}),
    ("123*", {"mixed", "cve", "cve-scattered"}),
    ("a", {"ransomware", "globex-breach", "hyphen", "snake"}),
    # punctuation splits words on both: indicators are phrases of their parts
    ("CVE-2026-1234", {"cve"}),
    ('"cve 2026 1234"', {"cve"}),
    ("cve 2026 1234", {"cve", "cve-scattered"}),
    ("example.com", {"host"}),
    ("example", {"host", "email"}),
    ("login.example.org/path", {"host"}),
    ("bob.smith@mail.example.net", {"email"}),
    ("smith", {"email"}),
    ("state-sponsored", {"hyphen"}),
    ("known", {"hyphen"}),
    ("2.0.1", {"versions"}),
    ("3.14", {"versions"}),
    ("1e5", {"versions"}),
    ("10.0.0.1", {"ip"}),
    ("c++", {"punctuation"}),
    ("node.js", {"punctuation"}),
    ("net", {"punctuation", "email"}),
    ("O'Reilly", {"apostrophe"}),
    ("don't", {"apostrophe"}),
    ("abc123", {"mixed"}),
    ("123abc", {"mixed"}),
    # "_" and "%" are separators like any punctuation, never wildcards
    ("snake_case", {"snake"}),
    ("a_b", {"snake"}),
    ("100%", {"percent"}),
    ("score", {"symbols"}),
    # case and Latin accents ignored; other scripts keep theirs; no letter is spelled out
    ("cafe", {"accents", "plain", "decomposed"}),
    ("CAFÉ", {"accents", "plain", "decomposed"}),
    ("café*", {"accents", "plain", "decomposed"}),
    ("zur*", {"accents", "plain"}),
    ('"résumé"', {"accents"}),
    ("muller", {"accents"}),
    ("привет", {"cyrillic"}),
    ("ёлка", {"cyrillic"}),
    ("елка", set()),
    ("йогурт", {"cyrillic"}),
    ("иогурт", set()),
    ("ΑΘΉΝΑ", {"greek"}),
    ("αθηνα", set()),
    ("straße", {"no-decomposition"}),
    ("strasse", set()),
    ("øresund", {"no-decomposition"}),
    ("oresund", set()),
    # what FTS5 or to_tsquery would take for syntax is words
    ("title:acme", set()),
    ("NEAR(acme breach)", set()),
    ("acme:", {"acme-breach", "acme-merger"}),
    ("!acme", {"acme-breach", "acme-merger"}),
    ("acme&breach", {"acme-breach"}),
    ("acme|merger", {"acme-merger"}),  # the phrase "acme merger", not acme OR merger
]
MALFORMED = ["_", "%", "%%", '"_"', '"unclosed', "NOT 999", "acme OR", "(acme", "ran*som", "acme:*"]


@dataclass(frozen=True)
class Corpus:
    """The corpus stored in one engine: its database, item ids by name, and the two tasks."""

    db: Database
    ids: dict[str, int]
    tasks: tuple[int, int]

    def names(self, item_ids: list[int]) -> list[str]:
        by_id = {item_id: name for name, item_id in self.ids.items()}
        return [by_id[item_id] for item_id in item_ids]


def _store(url: str) -> Corpus:
    db = Database(url)
    upgrade_to_head(db, None)
    tasks = (
        create_task(db, "World news", "news", "hourly", [FEED]).id,
        create_task(db, "Tech news", "news", "hourly", [FEED + "?tech"]).id,
    )
    now = datetime(2026, 3, 1, tzinfo=UTC)
    rows = {}
    with db.write() as session:
        for n, (name, (title, summary, author)) in enumerate(CORPUS.items()):
            rows[name] = Item(
                task_id=tasks[n % 2], source="news" if n % 3 else "bluesky", dedup_key=name, title=title,
                summary=summary, author=author, collected_at=now + timedelta(seconds=n), origin=FEED,
            )
            session.add(rows[name])
            session.flush()  # one at a time: the ids follow the corpus's order on both engines
    return Corpus(db, {name: row.id for name, row in rows.items()}, tasks)


@pytest.fixture(scope="module")
def engines(
    tmp_path_factory: pytest.TempPathFactory, pg_server: PostgresServer | ExternalServer
) -> Iterator[dict[str, Corpus]]:
    """The corpus in a SQLite file and in a PostgreSQL database, migrated by the app's code."""
    folder: Path = tmp_path_factory.mktemp("parity")
    stored = {"sqlite": _store(f"sqlite:///{folder / 'parity.db'}")}
    try:
        stored["postgresql"] = _store(create_database(pg_server.url))
        yield stored
    finally:
        for corpus in stored.values():
            corpus.db.dispose()


@pytest.mark.parametrize(("search", "expected"), QUERIES)
def test_both_engines_list_the_same_items_newest_first(
    engines: dict[str, Corpus], search: str, expected: set[str]
) -> None:
    listed = {
        engine: corpus.names([item.id for item in list_items(corpus.db, search=search, limit=100)])
        for engine, corpus in engines.items()
    }
    assert listed["postgresql"] == listed["sqlite"]
    assert set(listed["sqlite"]) == expected
    newest_first = sorted(expected, key=lambda name: -engines["sqlite"].ids[name])
    assert listed["sqlite"] == newest_first


@pytest.mark.parametrize(("search", "expected"), QUERIES)
def test_the_window_counts_and_pages_the_same_items(
    engines: dict[str, Corpus], search: str, expected: set[str]
) -> None:
    for corpus in engines.values():
        where = ItemFilter(search=search)
        assert count_items(corpus.db, where) == len(expected)
        assert set(corpus.names([item.id for item in page_items(corpus.db, where, 0, 100)])) == expected


@pytest.mark.parametrize(("search", "expected"), QUERIES[::3])
def test_a_task_or_source_filter_with_a_search_agrees(
    engines: dict[str, Corpus], search: str, expected: set[str]
) -> None:
    found: dict[str, list[set[str]]] = {}
    for engine, corpus in engines.items():
        results = []
        by_task = ItemFilter(task_id=corpus.tasks[1], search=search)
        for where in (by_task, ItemFilter(source="news", search=search)):
            paged = set(corpus.names([item.id for item in page_items(corpus.db, where, 0, 100)]))
            assert count_items(corpus.db, where) == len(paged)
            results.append(paged)
        listed = list_items(corpus.db, task_id=corpus.tasks[1], search=search, limit=100)
        assert set(corpus.names([item.id for item in listed])) == results[0]
        found[engine] = results
    assert found["postgresql"] == found["sqlite"]
    assert all(result <= expected for result in found["sqlite"])


@pytest.mark.parametrize("search", MALFORMED)
def test_a_query_without_words_or_malformed_is_refused_on_both(
    engines: dict[str, Corpus], search: str
) -> None:
    for corpus in engines.values():
        with pytest.raises(QueryError):
            list_items(corpus.db, search=search)
        with pytest.raises(QueryError):
            count_items(corpus.db, ItemFilter(search=search))


def test_watches_match_the_same_items_one_by_one_and_all_at_once(engines: dict[str, Corpus]) -> None:
    # The watch path: a run's matcher asks every query at once (prepare), a backfill one by one.
    searches = [CompiledSearch.of(parse_query(search)) for search, _ in QUERIES]
    for corpus in engines.values():
        everything = set(corpus.ids.values())
        ranges = id_ranges(everything)
        with corpus.db.write() as session:
            one_by_one = [fts_matches_in_ranges(session, search, ranges) for search in searches]
            matcher = matcher_for(session, everything)
            matcher.prepare(searches)
            at_once = [matcher.matches(search) & everything for search in searches]
        assert at_once == one_by_one
        assert [set(corpus.names(sorted(ids))) for ids in at_once] == [expected for _, expected in QUERIES]
