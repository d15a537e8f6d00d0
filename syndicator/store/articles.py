"""Sources and articles: recording what a poll found, once per guid and per normalised URL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from syndicator.records import Article, FeedEntry
from syndicator.sources.urls import normalise_url
from syndicator.store.schema import ArticleRow, SourceRow


def source_row(session: Session, name: str, feed: str, *, now: datetime) -> SourceRow:
    """The source's row, created on first sight; its feed location follows the config."""
    row = session.scalar(select(SourceRow).where(SourceRow.name == name))
    if row is None:
        row = SourceRow(name=name, feed=feed, consecutive_failures=0, created_at=now)
        session.add(row)
        session.flush()
    elif row.feed != feed:
        # A new feed location: its validators belong to the old one.
        row.feed, row.etag, row.last_modified = feed, None, None
    return row


def url_key(url: str) -> str:
    try:
        return normalise_url(url)
    except ValueError:
        return url


@dataclass(frozen=True, slots=True)
class NewArticle:
    row: ArticleRow
    entry: FeedEntry
    position: int  # where the feed listed it: 0 is first


def record_entries(
    session: Session, source: SourceRow, entries: Sequence[FeedEntry], *, now: datetime
) -> list[NewArticle]:
    """Insert the entries not yet known for this source (by guid or normalised URL).

    Returns the new articles in feed order. Duplicates within one feed count once.
    """
    keyed = [(entry, url_key(entry.url)) for entry in entries]
    guids = {entry.guid for entry, _ in keyed}
    keys = {key for _, key in keyed}
    known = session.execute(
        select(ArticleRow.guid, ArticleRow.url_key).where(
            ArticleRow.source_id == source.id,
            or_(ArticleRow.guid.in_(guids), ArticleRow.url_key.in_(keys)),
        )
    ).all()
    seen_guids = {guid for guid, _ in known}
    seen_keys = {key for _, key in known}
    new: list[NewArticle] = []
    for position, (entry, key) in enumerate(keyed):
        if entry.guid in seen_guids or key in seen_keys:
            continue
        seen_guids.add(entry.guid)
        seen_keys.add(key)
        row = ArticleRow(
            source_id=source.id,
            guid=entry.guid,
            url=entry.url,
            url_key=key,
            title=entry.title,
            summary=entry.summary,
            published_at=entry.published,
            categories=list(entry.categories),
            image_url=entry.image_url,
            author=entry.author,
            created_at=now,
        )
        session.add(row)
        new.append(NewArticle(row, entry, position))
    session.flush()
    return new


def newest_first(articles: Sequence[NewArticle]) -> list[NewArticle]:
    """By published time when the feed gives one, else by feed order (feeds list newest first)."""

    def key(item: NewArticle) -> tuple[float, int]:
        published = item.entry.published
        return (-published.timestamp() if published else 0.0, item.position)

    if all(item.entry.published for item in articles):
        return sorted(articles, key=key)
    return sorted(articles, key=lambda item: item.position)


def to_article(row: ArticleRow) -> Article:
    return Article(
        id=row.id,
        source=row.source.name,
        guid=row.guid,
        url=row.url,
        title=row.title,
        summary=row.summary,
        published=row.published_at,
        categories=tuple(row.categories or ()),
        image_url=row.image_url,
        author=row.author,
    )
