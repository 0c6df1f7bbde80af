"""Tests of the query language's PostgreSQL form: to_tsquery text with every lexeme quoted."""

from __future__ import annotations

import pytest

from osint_desktop.core.query import And, Not, Or, SearchQuery, Term, parse_query


@pytest.mark.parametrize(
    ("text", "tsquery"),
    [
        ("ransomware", "'ransomware'"),
        ("ransomware hospital", "'ransomware' & 'hospital'"),
        ("ransomware AND hospital", "'ransomware' & 'hospital'"),
        ('"citing region"', "'citing' <-> 'region'"),
        ("acme OR globex", "'acme' | 'globex'"),
        ("entry NOT 999", "'entry' & !'999'"),
        ("ransom*", "'ransom':*"),
        ('"ransom group"*', "'ransom' <-> 'group':*"),
        ("(acme OR globex) AND breach", "('acme' | 'globex') & 'breach'"),
        ("((acme))", "'acme'"),
        ("CVE-2026-1234", "'CVE' <-> '2026' <-> '1234'"),
        ("example.com", "'example' <-> 'com'"),
        ("foo_bar", "'foo' <-> 'bar'"),  # "_" separates words, as in unicode61
        ("bob@mail.example.org", "'bob' <-> 'mail' <-> 'example' <-> 'org'"),
        ("100%", "'100'"),
        ("Café naïve", "'Café' & 'naïve'"),  # folded by the database, as the indexed text is
        ("and or not", "'and' & 'or' & 'not'"),
        ('"OR"', "'OR'"),
    ],
)
def test_queries_compile_to_quoted_tsquery(text: str, tsquery: str) -> None:
    assert parse_query(text).tsquery() == tsquery


def test_compound_operands_are_parenthesised_whatever_the_precedence() -> None:
    assert parse_query("a OR b NOT c").tsquery() == "'a' | ('b' & !'c')"
    assert parse_query("a b OR c d").tsquery() == "('a' & 'b') | ('c' & 'd')"
    assert parse_query("a NOT b NOT c").tsquery() == "('a' & !'b') & !'c'"
    assert parse_query("(a OR b) NOT (c d)").tsquery() == "('a' | 'b') & !('c' & 'd')"
    # A phrase is one operand: never left for <-> and & to sort out between them.
    assert parse_query('"a b" OR c').tsquery() == "('a' <-> 'b') | 'c'"
    assert parse_query('x NOT "a b"*').tsquery() == "'x' & !('a' <-> 'b':*)"


@pytest.mark.parametrize(
    "text",
    [
        "a|b:c*",  # tsquery operators typed: only their letters are words
        "!secret",
        "a<->b",
        "a&b",
        "x:A*",
        "'quoted'",
        "x:A",
        "back\\slash",
    ],
)
def test_nothing_typed_reaches_to_tsquery_as_syntax(text: str) -> None:
    tsquery = parse_query(text).tsquery()
    inside_quotes = tsquery.split("'")[1::2]
    outside = "".join(tsquery.split("'")[0::2])
    assert all(word.isalnum() for word in inside_quotes)
    assert set(outside) <= set(" &|!()<->:*")


def test_a_hand_built_tree_has_quotes_and_backslashes_escaped() -> None:
    query = SearchQuery("x")
    object.__setattr__(query, "tree", Or((Term(("it's",)), Not(Term(("a\\b",), prefix=True), Term(("c",))))))
    assert query.tsquery() == "'it''s' | ('a\\\\b':* & !'c')"


def test_the_tree_and_both_forms_agree() -> None:
    query = parse_query('"a b" (c OR d*) NOT e')
    either = Or((Term(("c",)), Term(("d",), prefix=True)))
    assert query.tree == And((Term(("a", "b")), Not(either, Term(("e",)))))
    assert query.fts5() == '"a b" AND (("c" OR "d"*) NOT "e")'
    assert query.tsquery() == "('a' <-> 'b') & (('c' | 'd':*) & !'e')"
