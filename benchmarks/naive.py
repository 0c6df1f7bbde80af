"""The naive way to collect feeds: one at a time, requests.get, feedparser.parse, one ORM commit per entry."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import feedparser
import requests
from sqlalchemy import String, Text, create_engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class _Base(DeclarativeBase):
    """Declarative base of the naive schema."""


class NaiveItem(_Base):
    """A feed entry, unique by guid: the table a first script would write."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str] = mapped_column(String(1024), unique=True)
    feed_url: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    content: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    published: Mapped[str | None] = mapped_column(Text)


@dataclass(frozen=True)
class NaiveResult:
    """What the naive crawl did."""

    seconds: float
    stored: int
    duplicates: int
    rows: int


def naive_crawl(urls: Sequence[str], db_path: Path) -> NaiveResult:
    """Fetch, parse and store each feed in turn, committing every entry on its own."""
    started = time.perf_counter()
    engine = create_engine(f"sqlite:///{db_path}")
    _Base.metadata.create_all(engine)
    stored = duplicates = 0
    with Session(engine) as session:
        for url in urls:
            response = requests.get(url, timeout=30)
            response.raise_for_status()
            parsed = feedparser.parse(response.content)
            for entry in parsed.entries:
                content = entry.get("content")
                session.add(
                    NaiveItem(
                        guid=entry.get("id") or entry.get("link"),
                        feed_url=url,
                        title=entry.get("title", ""),
                        link=entry.get("link"),
                        summary=entry.get("summary", ""),
                        content=content[0].value if content else None,
                        author=entry.get("author"),
                        published=entry.get("published"),
                    )
                )
                try:
                    session.commit()
                    stored += 1
                except IntegrityError:
                    session.rollback()
                    duplicates += 1
    seconds = time.perf_counter() - started
    with Session(engine) as session:
        rows = int(session.scalar(select(func.count(NaiveItem.id))) or 0)
    engine.dispose()
    return NaiveResult(seconds, stored, duplicates, rows)
