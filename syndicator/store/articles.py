"""Sources and articles: recording what a poll found, once per story."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from syndicator.records import Article, FeedEntry
from syndicator.sources.urls import normalise_url
from syndicator.store.schema import ArticleEventRow, ArticleRow, SourceRow


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
    """An article this source has not offered before: new, or first seen in another source."""

    row: ArticleRow
    entry: FeedEntry
    position: int  # where the feed listed it: 0 is first


@dataclass(frozen=True, slots=True)
class Recorded:
    candidates: list[NewArticle]  # to be considered for this source's channels
    inserted: int  # of which new to the store
    updated: int  # known entries whose title or link changed


def record_entries(
    session: Session, source: SourceRow, entries: Sequence[FeedEntry], *, now: datetime
) -> Recorded:
    """Record what a feed holds; each story is one article however many sources carry it.

    An entry is the same article as a stored one if this source gave it the same guid, or if
    any source gave it the same normalised URL. A known guid with a new title or link is an
    update of the article (an event), never a new article.
    """
    keyed = [(entry, url_key(entry.url)) for entry in entries]
    guids = {entry.guid for entry, _ in keyed}
    keys = {key for _, key in keyed}
    by_guid = {
        row.guid: row
        for row in session.scalars(
            select(ArticleRow).where(ArticleRow.source_id == source.id, ArticleRow.guid.in_(guids))
        )
    }
    by_key = {
        row.url_key: row
        for row in session.scalars(select(ArticleRow).where(ArticleRow.url_key.in_(keys)))
    }
    offered = _offered_by(
        session, source, [r.id for r in by_key.values() if r.source_id != source.id]
    )
    candidates: list[NewArticle] = []
    fresh: list[NewArticle] = []
    updated = 0
    for position, (entry, key) in enumerate(keyed):
        known = by_guid.get(entry.guid)
        if known is not None:
            updated += _note_update(session, source, known, entry, key, now)
            continue
        known = by_key.get(key)
        if known is not None:
            if known.source_id != source.id and known.id not in offered:
                offered.add(known.id)
                session.add(_event(known, source, now, "also_in_source", f"also in {source.name}"))
                candidates.append(NewArticle(known, entry, position))
            continue
        row = _new_row(source, entry, key, now)
        by_guid[entry.guid] = by_key[key] = row
        fresh.append(NewArticle(row, entry, position))
    inserted = _insert(session, fresh)
    candidates.extend(inserted)
    candidates.sort(key=lambda item: item.position)
    session.flush()
    return Recorded(candidates, len(inserted), updated)


def _offered_by(session: Session, source: SourceRow, article_ids: list[int]) -> set[int]:
    """Of these articles from other sources, those this source has already offered."""
    if not article_ids:
        return set()
    query = select(ArticleEventRow.article_id).where(
        ArticleEventRow.article_id.in_(article_ids),
        ArticleEventRow.source_id == source.id,
        ArticleEventRow.kind == "also_in_source",
    )
    return set(session.scalars(query))


def _note_update(
    session: Session, source: SourceRow, row: ArticleRow, entry: FeedEntry, key: str, now: datetime
) -> int:
    changes = []
    if entry.title != row.title:
        changes.append(f"title {row.title!r} -> {entry.title!r}")
        row.title = entry.title
    if entry.url != row.url:
        changes.append(f"link {row.url} -> {entry.url}")
        row.url = entry.url
        taken = session.scalar(select(ArticleRow.id).where(ArticleRow.url_key == key))
        if taken is None:
            row.url_key = key
    if not changes:
        return 0
    row.updated_at = now
    session.add(_event(row, source, now, "updated", "; ".join(changes)))
    return 1


def _event(
    row: ArticleRow, source: SourceRow, now: datetime, kind: str, detail: str
) -> ArticleEventRow:
    return ArticleEventRow(
        article_id=row.id, source_id=source.id, created_at=now, kind=kind, detail=detail
    )


def _new_row(source: SourceRow, entry: FeedEntry, key: str, now: datetime) -> ArticleRow:
    return ArticleRow(
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


def _insert(session: Session, fresh: list[NewArticle]) -> list[NewArticle]:
    """Insert all at once; if another worker stored one of them meanwhile, one by one.

    Returns those this call inserted.
    """
    if not fresh:
        return []
    try:
        with session.begin_nested():
            session.add_all(item.row for item in fresh)
            session.flush()
        return fresh
    except IntegrityError:
        pass
    inserted = []
    for item in fresh:
        try:
            with session.begin_nested():
                session.add(item.row)
                session.flush()
            inserted.append(item)
        except IntegrityError:
            continue
    return inserted


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
