"""Deliveries and their posting log.

A delivery changes state only through :func:`transition`, which writes the log row in the
same transaction, so the log cannot miss a change. :func:`claim` is a compare-and-set: of two
workers that try to send the same delivery, one wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached

from syndicator.records import DeliveryStatus
from syndicator.secrets import redact
from syndicator.store.articles import Db, dialect_of
from syndicator.store.schema import ArticleRow, Base, DeliveryEventRow, DeliveryRow

DUE = (DeliveryStatus.QUEUED.value, DeliveryStatus.WAITING.value)
_EVENTS: Table = Base.metadata.tables["delivery_events"]
_DELIVERIES: Table = Base.metadata.tables["deliveries"]
# The columns a new delivery leaves empty: set on the ORM object, so that none is unloaded.
_UNSET = dict.fromkeys(("next_attempt_at", "remote_id", "remote_url", "error_kind", "text"))
# New deliveries, minus the (article, channel) pairs that have one: INSERT ... ON CONFLICT DO
# NOTHING RETURNING, one statement for all of them ("insertmanyvalues").
_NEW_DELIVERIES = {
    name: dialect.insert(_DELIVERIES)
    .on_conflict_do_nothing()
    .returning(_DELIVERIES.c.id, _DELIVERIES.c.article_id, _DELIVERIES.c.channel)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}


@dataclass(frozen=True, slots=True)
class Change:
    """What a state change records, besides the new state."""

    detail: str | None = None
    remote_id: str | None = None
    remote_url: str | None = None
    error_kind: str | None = None
    http_status: int | None = None
    latency_ms: int | None = None
    next_attempt_at: datetime | None = None
    text: str | None = None


def create_deliveries(
    session: Session,
    article_ids: Iterable[int],
    channels: Sequence[str],
    *,
    status: DeliveryStatus,
    now: datetime,
    actor: str,
    detail: str | None = None,
) -> list[DeliveryRow]:
    """One delivery per article and channel (those that exist already are left alone).

    The new deliveries come back as ORM objects of the session, in article and channel order.
    """
    made = _insert(session, article_ids, channels, status, now, actor, detail)
    rows = []
    for delivery_id, values in made:
        row = DeliveryRow(id=delivery_id, **values, **_UNSET)
        make_transient_to_detached(row)  # as if loaded: no flush, no query to read it back
        session.add(row)
        rows.append(row)
    return rows


def add_deliveries(
    db: Db,
    article_ids: Iterable[int],
    channels: Sequence[str],
    *,
    status: DeliveryStatus,
    now: datetime,
    actor: str,
    detail: str | None = None,
) -> int:
    """``create_deliveries`` for the poller, which only counts them: no ORM objects."""
    return len(_insert(db, article_ids, channels, status, now, actor, detail))


def _insert(
    db: Db,
    article_ids: Iterable[int],
    channels: Sequence[str],
    status: DeliveryStatus,
    now: datetime,
    actor: str,
    detail: str | None,
) -> list[tuple[int, dict[str, Any]]]:
    """One INSERT that skips the (article, channel) pairs that have a delivery and says which
    it made, then their posting-log rows: (id, columns) of each new delivery, in order.
    """
    error = detail if status is DeliveryStatus.SKIPPED else None  # shown beside the state
    wanted = [
        {"article_id": article_id, "channel": channel, "status": status.value, "attempts": 0,
         "error": error, "created_at": now, "updated_at": now}
        for article_id in dict.fromkeys(article_ids)
        for channel in dict.fromkeys(channels)
    ]  # fmt: skip
    if not wanted:
        return []
    statement = _NEW_DELIVERIES.get(dialect_of(db), _NEW_DELIVERIES["sqlite"])
    ids = {(a, c): delivery_id for delivery_id, a, c in db.execute(statement, wanted)}
    made = [(ids[v["article_id"], v["channel"]], v) for v in wanted
            if (v["article_id"], v["channel"]) in ids]  # fmt: skip
    if made:
        db.execute(
            insert(_EVENTS),
            [{"delivery_id": delivery_id, "created_at": now, "status": status.value,
              "actor": actor, "attempt": 0, "detail": detail} for delivery_id, _ in made],
        )  # fmt: skip
    return made


def _is_due(now: datetime) -> ColumnElement[bool]:
    return and_(
        DeliveryRow.status.in_(DUE),
        or_(DeliveryRow.next_attempt_at.is_(None), DeliveryRow.next_attempt_at <= now),
    )


def _event(row: DeliveryRow, *, now: datetime, actor: str, change: Change) -> DeliveryEventRow:
    """The posting-log row for the state ``row`` has just taken."""
    return DeliveryEventRow(
        delivery_id=row.id,
        created_at=now,
        status=row.status,
        actor=actor,
        attempt=row.attempts,
        detail=change.detail,
        remote_id=change.remote_id,
        error_kind=change.error_kind,
        http_status=change.http_status,
        latency_ms=change.latency_ms,
    )


def due(session: Session, *, now: datetime, limit: int | None = None) -> list[tuple[int, str]]:
    """(delivery id, channel) of the deliveries that may be sent now, oldest first."""
    query = (
        select(DeliveryRow.id, DeliveryRow.channel)
        .where(_is_due(now))
        .order_by(DeliveryRow.id)
        .limit(limit)
    )
    return [(delivery_id, channel) for delivery_id, channel in session.execute(query)]


def claim(session: Session, delivery_id: int, *, now: datetime, actor: str) -> DeliveryRow | None:
    """Move a due delivery to ``sending`` (and count the attempt), or None if another got it."""
    result = session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id, _is_due(now))
        .values(
            status=DeliveryStatus.SENDING.value,
            attempts=DeliveryRow.attempts + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return None
    row = session.get(DeliveryRow, delivery_id, populate_existing=True)
    assert row is not None
    session.add(_event(row, now=now, actor=actor, change=Change()))
    return row


def transition(
    session: Session,
    row: DeliveryRow,
    status: DeliveryStatus,
    *,
    now: datetime,
    actor: str,
    change: Change = Change(),
) -> None:
    """Set a delivery's new state and append the matching posting-log row."""
    detail = redact(change.detail) if change.detail else None
    row.status = status.value
    row.updated_at = now
    row.next_attempt_at = change.next_attempt_at
    if change.text is not None:
        row.text = change.text
    if status is DeliveryStatus.SENT:
        row.remote_id, row.remote_url = change.remote_id, change.remote_url
        row.error = row.error_kind = None
    elif change.error_kind is not None or status is DeliveryStatus.FAILED:
        row.error, row.error_kind = detail, change.error_kind
    session.add(_event(row, now=now, actor=actor, change=replace(change, detail=detail)))


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One delivery as the posting log shows it."""

    delivery_id: int
    article_id: int
    article_url: str
    article_title: str
    source: str
    channel: str
    status: str
    attempts: int
    remote_id: str | None
    remote_url: str | None
    error: str | None
    error_kind: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime


def log_entries(
    session: Session,
    *,
    channel: str | None = None,
    status: str | None = None,
    limit: int = 50,
) -> list[LogEntry]:
    """Deliveries, most recently changed first."""
    query = (
        select(DeliveryRow, ArticleRow)
        .join(ArticleRow, ArticleRow.id == DeliveryRow.article_id)
        .order_by(DeliveryRow.updated_at.desc(), DeliveryRow.id.desc())
        .limit(limit)
    )
    if channel:
        query = query.where(DeliveryRow.channel == channel)
    if status:
        query = query.where(DeliveryRow.status == status)
    return [
        LogEntry(
            delivery_id=d.id,
            article_id=a.id,
            article_url=a.url,
            article_title=a.title,
            source=a.source.name,
            channel=d.channel,
            status=d.status,
            attempts=d.attempts,
            remote_id=d.remote_id,
            remote_url=d.remote_url,
            error=d.error,
            error_kind=d.error_kind,
            next_attempt_at=d.next_attempt_at,
            created_at=d.created_at,
            updated_at=d.updated_at,
        )
        for d, a in session.execute(query)
    ]


def events(session: Session, delivery_ids: Sequence[int]) -> list[DeliveryEventRow]:
    """The posting-log rows of these deliveries, newest first."""
    query = (
        select(DeliveryEventRow)
        .where(DeliveryEventRow.delivery_id.in_(delivery_ids))
        .order_by(DeliveryEventRow.id.desc())
    )
    return list(session.scalars(query))
