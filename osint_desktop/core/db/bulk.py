"""Conflict-skipping bulk inserts that say which rows they stored, fast on SQLite."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from osint_desktop.core.db.models import Base

# Rows per statement elsewhere (PostgreSQL); SQLite's are bounded by its variable limit.
CHUNK_ROWS = 500
# SQLITE_MAX_VARIABLE_NUMBER: 32766 since SQLite 3.32, 999 before.
_SQLITE_VARIABLES = 32766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999


def insert_returning(
    session: Session,
    model: type[Base],
    rows: Sequence[Mapping[str, Any]],
    conflict: Sequence[str],
    returning: Sequence[str],
) -> list[tuple[Any, ...]]:
    """INSERT … ON CONFLICT (conflict) DO NOTHING RETURNING (returning): one tuple per row stored.

    Every row must have the same keys. On SQLite the rows go through the session's own
    connection (same transaction) as multi-row VALUES statements whose parameters are
    converted by the columns' own SQLAlchemy bind processors, so what is stored is exactly
    what an ORM insert stores; SQLAlchemy's per-row statement machinery cost more than
    SQLite's work (0.56 s of CPU for a run's 10,000 items). Elsewhere it is SQLAlchemy's
    own insert.
    """
    if not rows:
        return []
    table = cast(Table, model.__table__)
    dialect = session.get_bind().dialect
    if dialect.name != "sqlite":
        from sqlalchemy.dialects import postgresql

        statement = (
            postgresql.insert(table)
            .on_conflict_do_nothing(index_elements=list(conflict))
            .returning(*(table.c[name] for name in returning))
        )
        stored: list[tuple[Any, ...]] = []
        for start in range(0, len(rows), CHUNK_ROWS):
            chunk = list(rows[start : start + CHUNK_ROWS])
            stored.extend(tuple(row) for row in session.execute(statement, chunk))
        return stored
    return _sqlite_insert_returning(session, table, rows, conflict, returning)


def _sqlite_insert_returning(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    conflict: Sequence[str],
    returning: Sequence[str],
) -> list[tuple[Any, ...]]:
    dialect = session.get_bind().dialect
    names = list(rows[0])
    defaults = _scalar_defaults(table, names)
    columns = [*names, *defaults]
    # The dialect's own type (SQLite's DATETIME, not the generic one), as SQLAlchemy binds it.
    processors: list[Callable[[Any], Any] | None] = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
    ]
    quote = dialect.identifier_preparer.quote
    head = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in columns)}) VALUES "
    )
    tail = (
        f" ON CONFLICT ({', '.join(quote(name) for name in conflict)}) DO NOTHING"
        f" RETURNING {', '.join(quote(name) for name in returning)}"
    )
    one_row = "(" + ", ".join("?" * len(columns)) + ")"
    # A few hundred rows a statement: much longer ones were slower to prepare than to run.
    per_statement = max(1, min(250, _SQLITE_VARIABLES // len(columns)))
    fixed = list(defaults.values())
    # A run's items share a few capture dicts (one per page fetched): each is serialized once.
    memo: dict[tuple[int, int], Any] = {}

    def convert(index: int, value: Any) -> Any:
        process = processors[index]
        if process is None:
            return value
        if not isinstance(value, (dict, list)) and value is not None:
            return process(value)
        key = (index, id(value))
        if key not in memo:
            memo[key] = process(value)
        return memo[key]

    raw = session.connection().connection.driver_connection
    assert raw is not None
    cursor = raw.cursor()
    stored: list[tuple[Any, ...]] = []
    try:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            params: list[Any] = []
            for row in chunk:
                if row.keys() != rows[0].keys():
                    raise ValueError("every row of a bulk insert must have the same columns")
                values = [row[name] for name in names] + fixed
                # Each processor gets None too, as SQLAlchemy's do (JSON writes None as 'null').
                params.extend(convert(index, value) for index, value in enumerate(values))
            cursor.execute(head + ", ".join([one_row] * len(chunk)) + tail, params)
            stored.extend(tuple(row) for row in cursor.fetchall())
    finally:
        cursor.close()
    return stored


def _scalar_defaults(table: Table, names: Sequence[str]) -> dict[str, Any]:
    """The Python-side defaults an ORM insert would add for the columns the rows leave out.

    A callable default (a timestamp) must be given in the rows: it is not guessed here.
    """
    defaults: dict[str, Any] = {}
    for column in table.columns:
        if column.name in names or column.default is None:
            continue
        if not column.default.is_scalar:
            raise ValueError(f"bulk insert into {table.name}: give {column.name} (its default is computed)")
        defaults[column.name] = column.default.arg  # type: ignore[attr-defined]
    return defaults
