"""Which links go to the browser, and which link texts name another site than the one they lead to."""

from __future__ import annotations

import pytest

from osint_desktop.core.links import is_web_link, misleading_text, shown_host


@pytest.mark.parametrize(
    ("url", "web"),
    [
        ("https://example.org/a", True),
        ("HTTP://Example.org", True),
        ("javascript:alert(1)", False),
        ("file:///etc/passwd", False),
        ("mailto:desk@example.org", False),
        ("data:text/html,<b>x</b>", False),
        ("http://", False),
        ("", False),
        (None, False),
    ],
)
def test_only_web_addresses_with_a_host_go_to_the_browser(url: str | None, web: bool) -> None:
    assert is_web_link(url) is web


@pytest.mark.parametrize(
    ("text", "host"),
    [
        ("https://bank.example/login", "bank.example"),
        ("www.Bank.example", "bank.example"),
        ("bank.example/login?x=1", "bank.example"),
        ("<https://bank.example>", "bank.example"),
        ("Read more", None),
        ("the report", None),
        ("v1.2", None),
        ("", None),
    ],
)
def test_the_site_a_text_names(text: str, host: str | None) -> None:
    assert shown_host(text) == host


@pytest.mark.parametrize(
    ("text", "href", "shown"),
    [
        ("https://bank.example/login", "https://evil.example/login", "bank.example"),
        ("bank.example", "https://bank.example.evil.example/", "bank.example"),
        ("www.bank.example", "https://bank.example/x", None),
        ("bank.example", "https://login.bank.example/", None),
        ("https://news.example/a", "https://NEWS.example/b", None),
        ("b\u00fccher.example", "https://xn--bcher-kva.example/", None),
        ("Read the advisory", "https://evil.example/", None),
        ("report.pdf", "https://files.example/a/report.pdf", None),
        ("report.pdf", "https://files.example/other", "report.pdf"),
    ],
)
def test_a_text_that_shows_another_site_is_misleading(text: str, href: str, shown: str | None) -> None:
    assert misleading_text(text, href) == shown
