"""Reddit through RSS: subreddit and subreddit-search pages of a news task become their feeds."""

from __future__ import annotations

import pytest

from osint_desktop.core.sources.registry import provider_for, validate_targets
from osint_desktop.core.vocabulary import Source


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("https://www.reddit.com/r/osint/", "https://www.reddit.com/r/osint/.rss"),
        ("https://reddit.com/r/netsec", "https://www.reddit.com/r/netsec/.rss"),
        ("https://old.reddit.com/r/netsec/", "https://www.reddit.com/r/netsec/.rss"),
        (
            "https://www.reddit.com/r/netsec/search?q=ransomware+cve&restrict_sr=1",
            "https://www.reddit.com/r/netsec/search.rss?q=ransomware+cve&restrict_sr=1&sort=new",
        ),
        # A sort the user chose is kept.
        (
            "https://www.reddit.com/r/osint/search/?q=geolocation&sort=top",
            "https://www.reddit.com/r/osint/search.rss?q=geolocation&sort=top",
        ),
        # Already a feed, another Reddit page, another site: as typed.
        ("https://www.reddit.com/r/osint/.rss", "https://www.reddit.com/r/osint/.rss"),
        ("https://www.reddit.com/r/osint/comments/abc/title/", "https://www.reddit.com/r/osint/comments/abc/title/"),
        ("https://www.reddit.com/r/osint/search?sort=new", "https://www.reddit.com/r/osint/search?sort=new"),
        ("https://example.org/r/osint/", "https://example.org/r/osint/"),
    ],
)
def test_subreddit_pages_become_their_rss_form(typed: str, stored: str) -> None:
    assert provider_for(Source.NEWS).validate_target(typed) == stored


def test_a_news_task_stores_the_feed_once() -> None:
    assert validate_targets(
        "news", ["https://www.reddit.com/r/osint/", "https://www.reddit.com/r/osint/.rss"]
    ) == ["https://www.reddit.com/r/osint/.rss"]
