"""The search language against SQLite's real full-text index: exactly the right items, or a QueryError."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from osint_desktop.app.context import AppContext
from osint_desktop.app.tasks import create_task
from osint_desktop.core.db.models import Item
from osint_desktop.core.db.paging import ItemFilter, count_items, page_items
from osint_desktop.core.db.queries import list_items
from osint_desktop.core.query import QueryError

FEED = "https://feeds.example.org/world.xml"
# name: (title, summary, author)
ITEMS = {
    "phrase": ("Analysts citing region officials", "", None),
    "reversed": ("Region citing analysts", "", None),
    "apart": ("Citing the region", "", None),
    "entry-999": ("Entry 999 leaked", "", None),
    "entry-1000": ("Entry 1000 leaked", "", None),
    "ransomware": ("Ransomware hits a port", "", None),
    "ransom": ("Ransom paid", "", None),
    "transom": ("Transom window", "", None),
    "acme-breach": ("Acme breach disclosed", "", None),
    "globex-breach": ("Quarterly report", "Globex confirms a breach", None),
    "acme-merger": ("Acme merger", "", None),
    "initech-breach": ("Initech breach", "", None),
    "accents": ("Café résumé", "", None),
    "cve": ("Patch now", "Fixes CVE-2026-1234 in the parser", None),
    "cve-scattered": ("CVE round-up", "2026 saw 1234 bugs", None),
    "author": ("Weekly digest", "", "Dana Müller"),
}


@pytest.fixture
def ids(ctx: AppContext) -> dict[str, int]:
    task = create_task(ctx.db, "World news", "news", "hourly", [FEED])
    now = datetime.now(UTC)
    rows = {}
    with ctx.db.write() as session:
        for n, (name, (title, summary, author)) in enumerate(ITEMS.items()):
            rows[name] = Item(task_id=task.id, source="news", dedup_key=name, title=title, summary=summary,
                              author=author, collected_at=now + timedelta(seconds=n), origin=FEED)
            session.add(rows[name])
        session.flush()
        return {name: row.id for name, row in rows.items()}


def found(ctx: AppContext, ids: dict[str, int], search: str) -> set[str]:
    names = {item_id: name for name, item_id in ids.items()}
    listed = {names[item.id] for item in list_items(ctx.db, search=search, limit=100)}
    # The window pages the full-text index directly: it must agree with list_items.
    paged = {names[item.id] for item in page_items(ctx.db, ItemFilter(search=search), 0, 100)}
    assert paged == listed
    assert count_items(ctx.db, ItemFilter(search=search)) == len(listed)
    return listed


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ('"citing region"', {"phrase"}),
        ("citing region", {"phrase", "reversed", "apart"}),
        ("entry NOT 999", {"entry-1000"}),
        ("entry", {"entry-999", "entry-1000"}),
        ("ransomware OR transom", {"ransomware", "transom"}),
        ("ransom", {"ransom"}),  # a word is a whole word
        ("ransom*", {"ransomware", "ransom"}),
        ("RANSOM*", {"ransomware", "ransom"}),
        ("(acme OR globex) AND breach", {"acme-breach", "globex-breach"}),
        ("(acme OR globex) breach", {"acme-breach", "globex-breach"}),
        ("acme OR globex breach", {"acme-breach", "globex-breach", "acme-merger"}),
        ("breach NOT (initech OR globex)", {"acme-breach"}),
        ("acme OR breach NOT initech", {"acme-breach", "globex-breach", "acme-merger"}),
        ("cafe resume", {"accents"}),
        ("CAFÉ", {"accents"}),
        ("résumé", {"accents"}),
        ("CVE-2026-1234", {"cve"}),
        ('"cve 2026 1234"', {"cve"}),
        ("muller", {"author"}),
        ("and or not", set()),  # lowercase: ordinary words, in no item
        ("title:acme", set()),  # no column filter: the phrase "title acme"
        ("NEAR(acme breach)", set()),  # no NEAR group: the word NEAR too
    ],
)
def test_search_returns_exactly_the_matching_items(
    ctx: AppContext, ids: dict[str, int], search: str, expected: set[str]
) -> None:
    assert found(ctx, ids, search) == expected


@pytest.mark.parametrize("search", ['"citing region', "NOT 999", "acme OR", "(acme", "*", "ran*som", "a ) b"])
def test_a_malformed_search_raises_instead_of_finding_nothing(
    ctx: AppContext, ids: dict[str, int], search: str
) -> None:
    with pytest.raises(QueryError):
        list_items(ctx.db, search=search)
    with pytest.raises(QueryError):
        count_items(ctx.db, ItemFilter(search=search))
    with pytest.raises(QueryError):  # through item_query: a task filter is not the index alone
        page_items(ctx.db, ItemFilter(task_id=1, search=search), 0, 10)
