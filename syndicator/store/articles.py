"""Sources and articles: recording what a poll found, once per story.

Polling is the hot path of a daemon with thousands of sources, so what runs on every poll
is plain SQL through SQLAlchemy Core, by primary or unique key: one read of the source's
state before the fetch, one update after it (``record_poll``), and for a feed that changed,
one query per key kind for its entries and one insert for what is new (``record_entries``).
ORM objects are made only where something is created for the first time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Table, Update, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from syndicator.records import Article, FeedEntry
from syndicator.sources.urls import normalise_url
from syndicator.store.schema import Base, SourceRow

Db = Connection | Session  # where the statements run: either takes Core statements alike

_SOURCES: Table = Base.metadata.tables["sources"]
_ARTICLES: Table = Base.metadata.tables["articles"]
_EVENTS: Table = Base.metadata.tables["article_events"]
# The per-poll queries, built once: SQLAlchemy then reuses their compiled form every time.
_STATE = select(
    _SOURCES.c.id, _SOURCES.c.feed, _SOURCES.c.etag, _SOURCES.c.last_modified,
    _SOURCES.c.next_poll_at, _SOURCES.c.first_polled_at, _SOURCES.c.last_success_at,
    _SOURCES.c.poll_claimed_by, _SOURCES.c.poll_lease_until,
).where(_SOURCES.c.name == bindparam("name"))  # fmt: skip
_NEW_SOURCE = {
    name: dialect.insert(_SOURCES).on_conflict_do_nothing()
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_POLL_UPDATES: dict[frozenset[str], Update] = {}
_BY_GUID = select(
    _ARTICLES.c.id, _ARTICLES.c.guid, _ARTICLES.c.title, _ARTICLES.c.url, _ARTICLES.c.url_key
).where(
    _ARTICLES.c.source_id == bindparam("source"),
    _ARTICLES.c.guid.in_(bindparam("guids", expanding=True)),
)
_KEY_TAKEN = select(_ARTICLES.c.id).where(_ARTICLES.c.url_key == bindparam("key"))
_UPDATE = (
    update(_ARTICLES)
    .where(_ARTICLES.c.id == bindparam("b_id"))
    .values(
        title=bindparam("b_title"),
        url=bindparam("b_url"),
        url_key=bindparam("b_url_key"),
        updated_at=bindparam("b_updated_at", type_=_ARTICLES.c.updated_at.type),
    )
)
# New articles, skipping any that another worker stored meanwhile; sent as one multi-row
# INSERT ... RETURNING by SQLAlchemy ("insertmanyvalues"), batched under SQLite's limits.
_INSERT_NEW = {
    name: dialect.insert(_ARTICLES)
    .on_conflict_do_nothing()
    .returning(_ARTICLES.c.id, _ARTICLES.c.guid)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_BY_KEY = select(_ARTICLES.c.id, _ARTICLES.c.url_key, _ARTICLES.c.source_id).where(
    _ARTICLES.c.url_key.in_(bindparam("keys", expanding=True))
)


def dialect_of(db: Db) -> str:
    """The database's dialect name, for the INSERT ... ON CONFLICT that suits it."""
    return db.dialect.name if isinstance(db, Connection) else db.get_bind().dialect.name


class Source(Protocol):
    """A source as ``record_entries`` needs it: a ``SourceRow`` or a ``SourceState``."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...


@dataclass(frozen=True, slots=True)
class SourceState:
    """What a poll needs to know about its source before it fetches."""

    id: int
    name: str
    etag: str | None
    last_modified: str | None
    next_poll_at: datetime | None
    first_polled_at: datetime | None
    last_success_at: datetime | None
    poll_claimed_by: str | None = None  # the worker holding the poll lease, and until when
    poll_lease_until: datetime | None = None


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


def source_state(db: Db, name: str, feed: str, *, now: datetime) -> SourceState:
    """The source's polling state, read by its unique name; the row is made on first sight.

    A source whose feed location has changed (in the config) forgets its validators.
    """
    found = db.execute(_STATE, {"name": name}).first()
    if found is None:
        row = {"name": name, "feed": feed, "consecutive_failures": 0, "articles_seen": 0,
               "created_at": now}  # fmt: skip
        db.execute(_NEW_SOURCE.get(dialect_of(db), _NEW_SOURCE["sqlite"]), row)
        found = db.execute(_STATE, {"name": name}).one()
    if found.feed != feed:
        c = _SOURCES.c
        changed = {"feed": feed, "etag": None, "last_modified": None}
        db.execute(update(_SOURCES).where(c.id == found.id).values(changed))
        found = db.execute(_STATE, {"name": name}).one()
    return SourceState(found.id, name, found.etag, found.last_modified, found.next_poll_at,
                       found.first_polled_at, found.last_success_at, found.poll_claimed_by,
                       found.poll_lease_until)  # fmt: skip


def record_poll(db: Db, source_id: int, **values: Any) -> None:
    """Set columns of the source's row; ``articles_seen`` is added to what is there, and
    ``first_polled_at`` is set only if it is not set yet. One UPDATE by primary key, of a
    form made once for each set of columns (a poll sets one of a few sets).
    """
    columns = frozenset(values)
    statement = _POLL_UPDATES.get(columns)
    if statement is None:
        statement = _POLL_UPDATES[columns] = _poll_update(columns)
    db.execute(statement, {"source_id": source_id, **{f"v_{k}": v for k, v in values.items()}})


def _poll_update(columns: frozenset[str]) -> Update:
    """The UPDATE of these columns of a source, its values as bound parameters."""
    c = _SOURCES.c
    values: dict[str, Any] = {name: bindparam(f"v_{name}", type_=c[name].type) for name in columns}
    if "articles_seen" in values:
        values["articles_seen"] = c.articles_seen + values["articles_seen"]
    if "first_polled_at" in values:
        values["first_polled_at"] = func.coalesce(c.first_polled_at, values["first_polled_at"])
    return update(_SOURCES).where(c.id == bindparam("source_id")).values(values)


def url_key(url: str) -> str:
    try:
        return normalise_url(url)
    except ValueError:
        return url


@dataclass(frozen=True, slots=True)
class NewArticle:
    """An article this source has not offered before: new, or first seen in another source."""

    id: int  # the article's row
    entry: FeedEntry
    position: int  # where the feed listed it: 0 is first


@dataclass(frozen=True, slots=True)
class Recorded:
    candidates: list[NewArticle]  # to be considered for this source's channels
    inserted: int  # of which new to the store
    updated: int  # known entries whose title or link changed


def record_entries(
    db: Db, source: Source, entries: Sequence[FeedEntry], *, now: datetime
) -> Recorded:
    """Record what a feed holds; each story is one article however many sources carry it.

    An entry is the same article as a stored one if this source gave it the same guid, or if
    any source gave it the same normalised URL. A known guid with a new title or link is an
    update of the article (an event), never a new article.
    """
    guids = list({entry.guid for entry in entries})
    by_guid = {row.guid: row for row in db.execute(_BY_GUID, {"source": source.id, "guids": guids})}
    events: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    unknown: list[tuple[int, FeedEntry, str]] = []  # not known by guid: looked up by URL
    for position, entry in enumerate(entries):
        known = by_guid.get(entry.guid)
        if known is None:
            unknown.append((position, entry, url_key(entry.url)))
        elif entry.title != known.title or entry.url != known.url:
            updates.append(_update(db, known, entry, now))
            events.append(_event(known.id, source, now, "updated", updates[-1].pop("detail")))
    if updates:
        db.execute(_UPDATE, updates)
    updated = len(updates)
    if not unknown:
        if events:
            db.execute(insert(_EVENTS), events)
        return Recorded([], 0, updated)
    keys = list({key for _, _, key in unknown})
    by_key = {row.url_key: row for row in db.execute(_BY_KEY, {"keys": keys})}
    offered = _offered_by(db, source, [r.id for r in by_key.values() if r.source_id != source.id])
    candidates: list[NewArticle] = []
    fresh: dict[str, tuple[int, FeedEntry, str]] = {}  # by guid, in feed order
    taken = set(by_key)
    for position, entry, key in unknown:
        stored = by_key.get(key)
        if stored is not None:
            if stored.source_id != source.id and stored.id not in offered:
                offered.add(stored.id)
                events.append(
                    _event(stored.id, source, now, "also_in_source", f"also in {source.name}")
                )
                candidates.append(NewArticle(stored.id, entry, position))
        elif entry.guid not in fresh and key not in taken:
            taken.add(key)
            fresh[entry.guid] = (position, entry, key)
    if events:
        db.execute(insert(_EVENTS), events)
    inserted = _insert(db, source, list(fresh.values()), now)
    candidates.extend(inserted)
    candidates.sort(key=lambda item: item.position)
    return Recorded(candidates, len(inserted), updated)


def _offered_by(db: Db, source: Source, article_ids: list[int]) -> set[int]:
    """Of these articles from other sources, those this source has already offered."""
    if not article_ids:
        return set()
    e = _EVENTS.c
    query = select(e.article_id).where(
        e.article_id.in_(article_ids), e.source_id == source.id, e.kind == "also_in_source"
    )
    return set(db.scalars(query))


def _update(db: Db, known: Any, entry: FeedEntry, now: datetime) -> dict[str, Any]:
    """The new title and link of a known article, and a ``detail`` saying what changed.

    The article keeps its URL key if the new link's key is another article's already.
    """
    changes = []
    if entry.title != known.title:
        changes.append(f"title {known.title!r} -> {entry.title!r}")
    key = known.url_key
    if entry.url != known.url:
        changes.append(f"link {known.url} -> {entry.url}")
        new_key = url_key(entry.url)
        if db.execute(_KEY_TAKEN, {"key": new_key}).first() is None:
            key = new_key
    return {"b_id": known.id, "b_title": entry.title, "b_url": entry.url, "b_url_key": key,
            "b_updated_at": now, "detail": "; ".join(changes)}  # fmt: skip


def _event(
    article_id: int, source: Source, now: datetime, kind: str, detail: str
) -> dict[str, Any]:
    return {"article_id": article_id, "source_id": source.id, "created_at": now, "kind": kind,
            "detail": detail}  # fmt: skip


def _row(source: Source, entry: FeedEntry, key: str, now: datetime) -> dict[str, Any]:
    return {
        "source_id": source.id,
        "guid": entry.guid,
        "url": entry.url,
        "url_key": key,
        "title": entry.title,
        "summary": entry.summary,
        "published_at": entry.published,
        "categories": list(entry.categories),
        "image_url": entry.image_url,
        "author": entry.author,
        "created_at": now,
    }


def _insert(
    db: Db, source: Source, fresh: list[tuple[int, FeedEntry, str]], now: datetime
) -> list[NewArticle]:
    """Insert the new articles in one statement, skipping any that another worker stored
    meanwhile (the unique guid and URL keys decide); returns those this call inserted.
    """
    if not fresh:
        return []
    statement = _INSERT_NEW.get(dialect_of(db), _INSERT_NEW["sqlite"])
    rows = [_row(source, entry, key, now) for _, entry, key in fresh]
    ids = {guid: article_id for article_id, guid in db.execute(statement, rows)}
    return [NewArticle(ids[entry.guid], entry, position) for position, entry, _ in fresh
            if entry.guid in ids]  # fmt: skip


def newest_first(articles: Sequence[NewArticle]) -> list[NewArticle]:
    """By published time when the feed gives one, else by feed order (feeds list newest first)."""

    def key(item: NewArticle) -> tuple[float, int]:
        published = item.entry.published
        return (-published.timestamp() if published else 0.0, item.position)

    if all(item.entry.published for item in articles):
        return sorted(articles, key=key)
    return sorted(articles, key=lambda item: item.position)


_ARTICLE_BY_ID = (
    select(
        _ARTICLES.c.id, _SOURCES.c.name, _ARTICLES.c.guid, _ARTICLES.c.url, _ARTICLES.c.title,
        _ARTICLES.c.summary, _ARTICLES.c.published_at, _ARTICLES.c.categories,
        _ARTICLES.c.image_url, _ARTICLES.c.author,
    )
    .join_from(_ARTICLES, _SOURCES, _SOURCES.c.id == _ARTICLES.c.source_id)
    .where(_ARTICLES.c.id == bindparam("article_id"))
)  # fmt: skip


def load_article(db: Db, article_id: int) -> Article:
    """An article as the formatter reads it, in one query by key (no ORM objects); raises
    LookupError if there is none."""
    row = db.execute(_ARTICLE_BY_ID, {"article_id": article_id}).first()
    if row is None:
        raise LookupError(f"no article with id {article_id}")
    return Article(
        id=row.id,
        source=row.name,
        guid=row.guid,
        url=row.url,
        title=row.title,
        summary=row.summary,
        published=row.published_at,
        categories=tuple(row.categories or ()),
        image_url=row.image_url,
        author=row.author,
    )
