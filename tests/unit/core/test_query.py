"""Tests of the search query language: parsing, its FTS5 form, errors, terms, highlighting, regexes."""

from __future__ import annotations

import time

import pytest

from osint_desktop.core.query import (
    MAX_TERMS,
    QUERY_HELP,
    And,
    Not,
    Or,
    QueryError,
    SearchQuery,
    Term,
    compile_regex,
    highlight_spans,
    parse_query,
    regex_matches,
)


@pytest.mark.parametrize(
    ("text", "fts5"),
    [
        ("ransomware", '"ransomware"'),
        ("ransomware hospital", '"ransomware" AND "hospital"'),
        ("ransomware AND hospital", '"ransomware" AND "hospital"'),
        ('"citing region"', '"citing region"'),
        ("acme OR globex", '"acme" OR "globex"'),
        ("entry NOT 999", '"entry" NOT "999"'),
        ("ransom*", '"ransom"*'),
        ('"ransom group"*', '"ransom group"*'),
        ("(acme OR globex) AND breach", '("acme" OR "globex") AND "breach"'),
        ("(acme OR globex) breach", '("acme" OR "globex") AND "breach"'),
        ("((acme))", '"acme"'),
        ("CVE-2026-1234", '"CVE 2026 1234"'),
        ("example.com", '"example com"'),
        ("foo_bar", '"foo bar"'),  # unicode61 splits at "_" too
        ("Café naïve", '"Café" AND "naïve"'),
        ("and or not", '"and" AND "or" AND "not"'),  # operators only in capitals
        ('"OR"', '"OR"'),
        ('"AND NOT"', '"AND NOT"'),
        ('"a "b', '"a" AND "b"'),
    ],
)
def test_queries_compile_to_quoted_fts5(text: str, fts5: str) -> None:
    assert parse_query(text).fts5() == fts5


def test_precedence_is_not_then_and_then_or() -> None:
    a, b, c, d = (Term((word,)) for word in "abcd")
    assert parse_query("a OR b NOT c").tree == Or((a, Not(b, c)))
    assert parse_query("a b NOT c d").tree == And((a, Not(b, c), d))
    assert parse_query("a b OR c d").tree == Or((And((a, b)), And((c, d))))
    assert parse_query("a NOT b NOT c").tree == Not(Not(a, b), c)
    assert parse_query("(a OR b) NOT (c d)").tree == Not(Or((a, b)), And((c, d)))
    assert parse_query("a OR b NOT c").fts5() == '"a" OR ("b" NOT "c")'
    assert parse_query("(a OR b) NOT (c d)").fts5() == '("a" OR "b") NOT ("c" AND "d")'


def test_terms_keep_what_was_typed() -> None:
    assert parse_query('ransom* "Citing, region" CVE-2026-1234').tree == And((
        Term(("ransom",), prefix=True),
        Term(("Citing", "region")),
        Term(("CVE", "2026", "1234")),
    ))


@pytest.mark.parametrize(
    ("text", "fts5"),
    [
        ("title:foo", '"title foo"'),  # a column filter is two words in a row
        ("NEAR(a b)", '"NEAR" AND ("a" AND "b")'),
        ("^x", '"x"'),  # no start-of-column anchor
        ('"a"b', '"a" AND "b"'),
        ('"a"" OR b"', '"a" AND "OR b"'),
        ("a + b", None),
        ("{title summary}: x", '"title" AND "summary" AND "x"'),
        ("- x", None),
        ("x*:y", None),
    ],
)
def test_nothing_typed_reaches_fts5_as_syntax(text: str, fts5: str | None) -> None:
    try:
        query = parse_query(text)
    except QueryError:
        assert fts5 is None
        return
    assert query.fts5() == fts5
    # Outside quoted strings only operators, parentheses and prefix stars remain.
    unquoted = "".join(query.fts5().split('"')[::2])
    assert set(unquoted) <= set(" ()*ANDORT")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the query is empty"),
        ("   ", "the query is empty"),
        ('ransom "citing region', 'unbalanced quote: the phrase starting at character 8 has no closing "'),
        ("NOT x", "NOT needs something before it to exclude from: write 'ransomware NOT test'"),
        (
            "a OR NOT b",
            "NOT needs something before it to exclude from: write 'ransomware NOT test' "
            "(the NOT at character 6)",
        ),
        ("(NOT a) b", "NOT needs something before it to exclude from: write 'ransomware NOT test' (the NOT"),
        ("a AND NOT b", '"AND NOT" at character 3: NOT alone means "and not": write \'ransomware NOT test\''),
        ("a NOT NOT b", 'two operators in a row: "NOT NOT" at character 3'),
        ("a OR AND b", 'two operators in a row: "OR AND" at character 3'),
        ("ab (cd OR e", 'missing ")" for the "(" at character 4'),
        ("((a) b", 'missing ")" for the "(" at character 1'),
        ("a) b", '")" at character 2 has no "(" before it'),
        ("a b c OR", "OR at character 7 has nothing after it"),
        ("(a OR) b", "OR at character 4 has nothing after it"),
        ("a AND", "AND at character 3 has nothing after it"),
        ("a NOT", "NOT at character 3 has nothing after it"),
        ("OR a", "OR at character 1 has nothing before it"),
        ("(AND a)", "AND at character 2 has nothing before it"),
        ("a () b", "the parentheses at character 3 have nothing inside"),
        ("*", '"*" must end a word (e.g. ransom*): the one at character 1 does not'),
        ("x *ransom", '"*" must end a word (e.g. ransom*): the one at character 3 does not'),
        ("ran*som", '"*" must end a word (e.g. ransom*): the one at character 4 does not'),
        ("ransom**", '"*" must end a word (e.g. ransom*): the one at character 7 does not'),
        ("c++*", '"*" must end a word (e.g. ransom*): the one at character 4 does not'),
        ("a - b", '"-" at character 3 has no letters or digits to search for'),
        ('a "!?"', "the phrase at character 3 has no letters or digits to search for"),
        ('a ""', "the phrase at character 3 has no letters or digits to search for"),
        (" ".join(["w"] * (MAX_TERMS + 1)), f"too many terms: {MAX_TERMS + 1} words, phrases or prefixes"),
        ("(" * 17 + "a" + ")" * 17, "too many parentheses inside each other: at most 16"),
    ],
)
def test_malformed_queries_say_what_and_where(text: str, message: str) -> None:
    with pytest.raises(QueryError) as raised:
        parse_query(text)
    assert str(raised.value).startswith(message)
    assert isinstance(raised.value, ValueError)


def test_the_limits_are_inclusive() -> None:
    assert len(parse_query(" OR ".join(["w"] * MAX_TERMS)).tree.parts) == MAX_TERMS  # type: ignore[union-attr]
    assert parse_query("(" * 16 + "a" + ")" * 16).tree == Term(("a",))


def test_a_search_query_is_valid_or_not_made() -> None:
    assert SearchQuery("a OR b") == parse_query("a OR b")
    with pytest.raises(QueryError):
        SearchQuery("a OR")


def test_terms_are_what_a_match_contains() -> None:
    query = parse_query('(ransom* OR "citing region") NOT test CVE-2026-1234 ransom* (x NOT (y OR z))')
    assert query.terms() == ("ransom", "citing region", "CVE 2026 1234", "x")


def test_help_documents_every_operator() -> None:
    for piece in ('"', "AND", "OR", "NOT", "*", "(", "CVE-2026-1234"):
        assert piece in QUERY_HELP
    assert "then OR" in QUERY_HELP  # the precedence is stated


def _marked(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in reversed(spans):
        text = text[:start] + "[" + text[start:end] + "]" + text[end:]
    return text


@pytest.mark.parametrize(
    ("text", "terms", "marked"),
    [
        ("Ransomware hits a ransom payer", ["ransom"], "Ransomware hits a [ransom] payer"),
        ("Ransomware hits a ransom payer", ["ransom*"], "[Ransomware] hits a [ransom] payer"),
        ("the citing, region and region citing", ["citing region"], "the [citing, region] and region citing"),
        ("Patch CVE-2026-1234 now", ["CVE 2026 1234"], "Patch [CVE-2026-1234] now"),
        ("Patch CVE-2026-1234 now", ["cve-2026-1234"], "Patch [CVE-2026-1234] now"),
        ("Un café naïve ÉTÉ", ["cafe", "naive", "été"], "Un [café] [naïve] [ÉTÉ]"),
        ("Un cafe\u0301 x", ["café"], "Un [cafe\u0301] x"),  # the combining accent is in the span
        ("İstanbul port", ["istanbul"], "[İstanbul] port"),
        ("acme acme-corp", ["acme", "acme corp"], "[acme] [acme-corp]"),  # overlapping spans merge
        ("nothing here", ["absent", "", "!!"], "nothing here"),
    ],
)
def test_highlight_spans(text: str, terms: list[str], marked: str) -> None:
    assert _marked(text, highlight_spans(text, terms)) == marked


def test_a_query_highlights_its_positive_terms_with_prefixes() -> None:
    query = parse_query('ransom* "citing region" NOT hospital')
    text = "Ransomware citing region, hospital"
    assert _marked(text, query.highlight_spans(text)) == "[Ransomware] [citing region], hospital"
    assert _marked(text, highlight_spans(text, query.terms())) == "Ransomware [citing region], hospital"


def test_compile_regex_is_case_insensitive() -> None:
    pattern = compile_regex(r"CVE-\d{4}-\d+")
    assert pattern.search("see cve-2026-1234") is not None
    assert regex_matches(pattern, "see cve-2026-1234") is True
    assert regex_matches(r"\bapt\d+\b", "apt29 again") is True
    assert regex_matches(r"\bapt\d+\b", "aptitude") is False


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("(abc", "regular expression: missing ) at position 4"),
        ("[a-", "regular expression: unterminated character set at position 3"),
        ("a{2,1}", "regular expression: min repeat greater than max repeat at position 2"),
        ("", "the regular expression is empty"),
    ],
)
def test_bad_regexes_say_why(pattern: str, message: str) -> None:
    with pytest.raises(QueryError) as raised:
        compile_regex(pattern)
    assert str(raised.value) == message
    with pytest.raises(QueryError):
        regex_matches(pattern, "text")


def test_a_catastrophic_regex_times_out_instead_of_hanging() -> None:
    # regex defuses the textbook (a+)+$ itself; alternatives of a and aa it cannot.
    started = time.monotonic()
    assert regex_matches(r"(a|aa)+$", "a" * 40 + "b", timeout_s=0.1) is None
    assert time.monotonic() - started < 2
    assert regex_matches(r"(a+)+$", "a" * 30 + "b") is False
