"""The search query language (words, "phrases", AND/OR/NOT, prefix*, parentheses) and indicator regexes.

A query is parsed once into a small tree; fts5() writes it out for SQLite's full-text index
with every term quoted, so nothing typed can reach FTS5 as syntax (column filters, NEAR, ^),
and tsquery() for PostgreSQL's the same way (no &, |, !, <->, :* or weights from the user).
Pure Python and light to import: the command line validates --search before anything else,
so the regex package (indicator expressions) loads only when one is compiled.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import regex

QUERY_HELP = """\
Words match whole words, in any case, accents ignored: ransomware hospital
Every word must match (AND is implied); OR takes either: ransomware OR extortion
NOT leaves out what follows it, after what to keep: ransomware NOT test
"Quotes" match an exact phrase: "citing region"
A * at the end of a word matches its beginning: ransom* finds ransomware
Parentheses group: (acme OR globex) breach
AND, OR and NOT are operators only in capitals. NOT binds tightest, then AND,
then OR: a OR b NOT c means a OR (b NOT c)
Punctuation inside a word makes a phrase of it: "CVE 2026 1234" for CVE-2026-1234"""

MAX_TERMS = 64
MAX_DEPTH = 16

# The characters SQLite's unicode61 tokenizer keeps in a token: letters and numbers ([^\W_]),
# private use, and the combining accents it strips (U+0300-U+036F); everything else separates
# tokens. Splitting the query the same way makes terms() and highlighting agree with the index
# (checked code point by code point against SQLite 3.40: only characters unassigned in its
# Unicode tables, which it keeps in tokens, differ).
_TOKEN_CHAR = r"(?:[^\W_]|[\u0300-\u036f\ue000-\uf8ff\U000f0000-\U0010fffd])"
_WORD = re.compile(_TOKEN_CHAR + "+")
_LEXEME = re.compile(
    r'(?P<space>\s+)|(?P<open>\()|(?P<close>\))'
    r'|(?P<phrase>"(?P<inner>[^"]*)(?P<closed>")?(?P<star>\*)?)'
    r'|(?P<bare>[^\s()"]+)'
)
_OPERATORS = ("AND", "OR", "NOT")


class QueryError(ValueError):
    """A search query or regular expression that cannot be used, with a message for the user."""


@dataclass(frozen=True)
class Term:
    """A word, or a phrase of words in a row; with prefix, the last word may continue."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class And:
    """Every part matches."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """At least one part matches."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """What include matches, minus what exclude matches."""

    include: Node
    exclude: Node


Node = Term | And | Or | Not


@dataclass(frozen=True)
class _Token:
    kind: str  # "term", "AND", "OR", "NOT", "(" or ")"
    position: int  # 1-based, for messages
    term: Term | None = None


@dataclass(frozen=True)
class SearchQuery:
    """A valid query: constructing one from malformed text raises QueryError."""

    text: str
    tree: Node = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tree", _Parser(_tokens(self.text)).parse())

    def fts5(self) -> str:
        """The SQLite FTS5 MATCH expression: terms quoted, operators and parentheses explicit."""
        return _fts5(self.tree)

    def tsquery(self) -> str:
        """PostgreSQL's to_tsquery text: lexemes quoted, operators and parentheses explicit.

        Folding (case, accents) is left to the database, which folds the indexed text the
        same way (migration 0008): the words here are the ones typed.
        """
        return _tsquery(self.tree)

    def terms(self) -> tuple[str, ...]:
        """The words, phrases and prefixes (without "*") that a match contains, none under a NOT."""
        return tuple(dict.fromkeys(" ".join(term.words) for term in _positive_terms(self.tree)))

    def highlight_spans(self, text: str) -> list[tuple[int, int]]:
        """Where this query's positive terms occur in text; unlike terms(), prefixes stay prefixes."""
        return _spans(text, list(dict.fromkeys(_positive_terms(self.tree))))


def parse_query(text: str) -> SearchQuery:
    """The query typed; raises QueryError saying what is wrong and where."""
    return SearchQuery(text)


def _tokens(text: str) -> list[_Token]:
    if not text.strip():
        raise QueryError("the query is empty")
    tokens: list[_Token] = []
    for lexeme in _LEXEME.finditer(text):
        position = lexeme.start() + 1
        if lexeme["open"]:
            tokens.append(_Token("(", position))
        elif lexeme["close"]:
            tokens.append(_Token(")", position))
        elif lexeme["phrase"]:
            if lexeme["closed"] is None:
                raise QueryError(
                    f'unbalanced quote: the phrase starting at character {position} has no closing "'
                )
            words = tuple(_WORD.findall(lexeme["inner"]))
            if not words:
                raise QueryError(f"the phrase at character {position} has no letters or digits to search for")
            tokens.append(_Token("term", position, Term(words, lexeme["star"] is not None)))
        elif lexeme["bare"]:
            tokens.append(_bare_token(lexeme["bare"], position))
    terms = sum(token.kind == "term" for token in tokens)
    if terms > MAX_TERMS:
        raise QueryError(f"too many terms: {terms} words, phrases or prefixes, at most {MAX_TERMS}")
    return tokens


def _bare_token(bare: str, position: int) -> _Token:
    if bare in _OPERATORS:
        return _Token(bare, position)
    body = bare[:-1] if bare.endswith("*") else bare
    star = body.find("*")
    if star >= 0 or (body != bare and not _WORD.fullmatch(body[-1:])):
        where = position + (star if star >= 0 else len(body))
        raise QueryError(f'"*" must end a word (e.g. ransom*): the one at character {where} does not')
    # unicode61 splits at punctuation, so CVE-2026-1234 is indexed as three tokens in a row.
    words = tuple(_WORD.findall(body))
    if not words:
        raise QueryError(f'"{bare}" at character {position} has no letters or digits to search for')
    return _Token("term", position, Term(words, body != bare))


class _Parser:
    """Recursive descent over the tokens; precedence NOT > AND > OR, as in FTS5.

    Each rule gets the token just before its first operand (an operator or "(", None at the
    start), so a missing operand is reported against what is waiting for it.
    """

    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._next = 0

    def parse(self) -> Node:
        tree = self._or(None, 0)
        stray = self._peek()
        if stray is not None:  # only a ")" can stop the rules early
            raise QueryError(f'")" at character {stray.position} has no "(" before it')
        return tree

    def _peek(self) -> _Token | None:
        return self._tokens[self._next] if self._next < len(self._tokens) else None

    def _take(self) -> _Token:
        token = self._tokens[self._next]
        self._next += 1
        return token

    def _or(self, before: _Token | None, depth: int) -> Node:
        parts = [self._and(before, depth)]
        while (token := self._peek()) is not None and token.kind == "OR":
            parts.append(self._and(self._take(), depth))
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def _and(self, before: _Token | None, depth: int) -> Node:
        parts = [self._not(before, depth)]
        while (token := self._peek()) is not None and token.kind not in ("OR", ")"):
            # Adjacent terms are an implied AND: only an explicit one is waiting for the next.
            parts.append(self._not(self._take() if token.kind == "AND" else None, depth))
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def _not(self, before: _Token | None, depth: int) -> Node:
        tree = self._operand(before, depth)
        while (token := self._peek()) is not None and token.kind == "NOT":
            tree = Not(tree, self._operand(self._take(), depth))
        return tree

    def _operand(self, before: _Token | None, depth: int) -> Node:
        token = self._peek()
        after = f"{before.kind} at character {before.position} has nothing after it" if before else ""
        if token is None:
            raise QueryError(after or "the query is empty")
        if token.kind == "NOT" and before is not None and before.kind == "AND":
            raise QueryError(
                f'"AND NOT" at character {before.position}: NOT alone means "and not": '
                "write 'ransomware NOT test'"
            )
        if token.kind == "NOT" and (before is None or before.kind != "NOT"):
            where = f" (the NOT at character {token.position})" if token.position > 1 else ""
            raise QueryError(
                f"NOT needs something before it to exclude from: write 'ransomware NOT test'{where}"
            )
        if token.kind in _OPERATORS:
            if before is not None and before.kind in _OPERATORS:
                raise QueryError(
                    f'two operators in a row: "{before.kind} {token.kind}" at character {before.position}'
                )
            raise QueryError(f"{token.kind} at character {token.position} has nothing before it")
        if token.kind == ")":
            if before is not None and before.kind == "(":
                raise QueryError(f'the parentheses at character {before.position} have nothing inside')
            if before is not None:
                raise QueryError(after)
            raise QueryError(f'")" at character {token.position} has no "(" before it')
        self._take()
        if token.term is not None:
            return token.term
        if depth >= MAX_DEPTH:
            raise QueryError(f"too many parentheses inside each other: at most {MAX_DEPTH}")
        inside = self._or(token, depth + 1)
        if self._peek() is None:  # the rules stop only at the end or at a ")"
            raise QueryError(f'missing ")" for the "(" at character {token.position}')
        self._take()
        return inside


def _fts5(tree: Node) -> str:
    if isinstance(tree, Term):
        # Doubling quotes is FTS5's escape; words hold none, but a tree may be built by hand.
        quoted = " ".join(word.replace('"', '""') for word in tree.words)
        return f'"{quoted}"' + ("*" if tree.prefix else "")
    if isinstance(tree, Not):
        return f"{_fts5_operand(tree.include)} NOT {_fts5_operand(tree.exclude)}"
    operator = " AND " if isinstance(tree, And) else " OR "
    return operator.join(_fts5_operand(part) for part in tree.parts)


def _fts5_operand(tree: Node) -> str:
    # Every compound operand in parentheses: the output never depends on FTS5's precedence.
    return _fts5(tree) if isinstance(tree, Term) else f"({_fts5(tree)})"


def _tsquery(tree: Node) -> str:
    if isinstance(tree, Term):
        lexemes = [_tsquery_lexeme(word) for word in tree.words]
        if tree.prefix:
            lexemes[-1] += ":*"
        return " <-> ".join(lexemes)
    if isinstance(tree, Not):
        return f"{_tsquery_operand(tree.include)} & !{_tsquery_operand(tree.exclude)}"
    operator = " & " if isinstance(tree, And) else " | "
    return operator.join(_tsquery_operand(part) for part in tree.parts)


def _tsquery_lexeme(word: str) -> str:
    # Quoted, so to_tsquery takes nothing in a word for syntax; inside quotes a backslash and
    # a quote are doubled. Words hold neither, but a tree may be built by hand.
    escaped = word.replace("\\", "\\\\").replace("'", "''")
    return f"'{escaped}'"


def _tsquery_operand(tree: Node) -> str:
    # As for FTS5, every compound operand in parentheses, phrases too (<-> binds tighter than
    # & in PostgreSQL, but the output should not lean on that).
    if isinstance(tree, Term) and len(tree.words) == 1:
        return _tsquery(tree)
    return f"({_tsquery(tree)})"


def _positive_terms(tree: Node) -> Iterator[Term]:
    if isinstance(tree, Term):
        yield tree
    elif isinstance(tree, Not):
        yield from _positive_terms(tree.include)
    else:
        for part in tree.parts:
            yield from _positive_terms(part)


def highlight_spans(text: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    """Where terms occur in text, as sorted, merged (start, end) character spans.

    A term is a word (whole words only), words in a row (a phrase, across any spaces or
    punctuation) or a word ending in "*" (a prefix: the whole word it begins is spanned).
    Case and Latin accents are ignored, as the full-text index ignores them.
    """
    parsed = []
    for term in terms:
        body = term.strip()
        words = tuple(_WORD.findall(body.rstrip("*")))
        if words:
            parsed.append(Term(words, body.endswith("*")))
    return _spans(text, parsed)


def _spans(text: str, terms: Sequence[Term]) -> list[tuple[int, int]]:
    # The text's words once, found as the index finds them and folded as it folds them; a
    # phrase is then words at consecutive positions, whatever separates them in the text.
    words = [(match.start(), match.end(), _fold(match.group())) for match in _WORD.finditer(text)]
    at: dict[str, list[int]] = {}
    for index, (_, _, word) in enumerate(words):
        at.setdefault(word, []).append(index)
    found: list[tuple[int, int]] = []
    for term in terms:
        wanted = [piece for word in term.words for piece in _WORD.findall(_fold(word))]
        if not wanted:
            continue
        last = len(wanted) - 1
        if last == 0 and term.prefix:
            firsts = sorted(i for word, indexes in at.items() if word.startswith(wanted[0]) for i in indexes)
        else:
            firsts = at.get(wanted[0], [])
        for first in firsts:
            if first + last >= len(words) or any(words[first + k][2] != wanted[k] for k in range(1, last)):
                continue
            final = words[first + last][2]
            if last and not (final.startswith(wanted[last]) if term.prefix else final == wanted[last]):
                continue
            found.append((words[first][0], words[first + last][1]))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


@lru_cache(maxsize=4096)
def _fold(text: str) -> str:
    # unicode61 with remove_diacritics 2: lower case, accents stripped from Latin letters
    # (é -> e, but Greek ἀ and Cyrillic й keep theirs), combining accents dropped.
    if text.isascii():
        return text.lower()
    folded = []
    for char in text.lower():
        decomposed = unicodedata.normalize("NFD", char)
        if _is_latin(decomposed[0]) or _is_accent(char):
            char = "".join(piece for piece in decomposed if not _is_accent(piece))
        folded.append(char)
    return "".join(folded)


def _is_latin(char: str) -> bool:
    code = ord(char)
    return code < 0x250 or 0x1E00 <= code <= 0x1EFF


def _is_accent(char: str) -> bool:
    return 0x300 <= ord(char) <= 0x36F


def compile_regex(pattern: str) -> regex.Pattern[str]:
    """An indicator's regular expression, case-insensitive; raises QueryError saying what is wrong."""
    import regex  # here, not at the top: most command lines never compile one

    if not pattern:
        raise QueryError("the regular expression is empty")
    try:
        return regex.compile(pattern, regex.IGNORECASE)
    except regex.error as exc:
        raise QueryError(f"regular expression: {exc}") from None


def regex_matches(pattern: str | regex.Pattern[str], text: str, timeout_s: float = 0.25) -> bool | None:
    """Whether the expression occurs in text; None when it ran out of time (the caller logs it).

    A str is compiled first, with compile_regex (QueryError if malformed): callers matching
    many texts pass the compiled pattern. The timeout is there because a pattern that
    backtracks catastrophically, such as (a|aa)+$ on a long run of a's, would otherwise hang
    a collection run on one hostile post.
    """
    compiled = compile_regex(pattern) if isinstance(pattern, str) else pattern
    try:
        return compiled.search(text, timeout=timeout_s) is not None
    except TimeoutError:
        return None
