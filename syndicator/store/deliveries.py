"""Deliveries and their posting log.

A delivery changes state only through :func:`transition`, which writes the log row in the
same transaction, so the log cannot miss a change. :func:`claim` is a compare-and-set: of two
workers that try to send the same delivery, one wins.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Table,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached

from syndicator.records import DeliveryStatus
from syndicator.secrets import redact
from syndicator.store.articles import Db, dialect_of
from syndicator.store.schema import ArticleRow, Base, DeliveryEventRow, DeliveryRow

DUE = (DeliveryStatus.QUEUED.value, DeliveryStatus.WAITING.value)
HELD_NOTE = "held for an editor (the channel has hold = true)"
_EVENTS: Table = Base.metadata.tables["delivery_events"]
_DELIVERIES: Table = Base.metadata.tables["deliveries"]
# The columns a new delivery leaves empty: set on the ORM object, so that none is unloaded.
_UNSET = dict.fromkeys(
    ("next_attempt_at", "remote_id", "remote_url", "error_kind", "text", "claimed_by",
     "lease_until", "sent_at")
)  # fmt: skip
# When a new delivery of an article (id) on a channel (name) may go out; None: at once.
Schedule = Callable[[int, str], datetime | None]
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
    error_code: str | None = None  # the network's own error code, as text


@dataclass(frozen=True, slots=True)
class NewDeliveries:
    """What the deliveries about to be made are, for ``create_deliveries`` and
    ``add_deliveries`` alike: one description, so that the two cannot drift apart.
    """

    status: DeliveryStatus
    now: datetime
    actor: str  # who makes them, in the posting log
    detail: str | None = None  # the log row's detail; a skipped one also shows it as its error
    schedule: Schedule | None = None  # when each may go out; None: at once
    held: Container[str] = ()  # channels with ``hold = true``: held for an editor, not queued


def create_deliveries(
    session: Session, article_ids: Iterable[int], channels: Sequence[str], new: NewDeliveries
) -> list[DeliveryRow]:
    """One delivery per article and channel (those that exist already are left alone).

    The new deliveries come back as ORM objects of the session, in article and channel order.
    """
    made = _insert(session, article_ids, channels, new)
    rows = []
    for delivery_id, values in made:
        row = DeliveryRow(id=delivery_id, **values, **_UNSET)
        make_transient_to_detached(row)  # as if loaded: no flush, no query to read it back
        session.add(row)
        rows.append(row)
    return rows


def add_deliveries(
    db: Db, article_ids: Iterable[int], channels: Sequence[str], new: NewDeliveries
) -> Counter[DeliveryStatus]:
    """``create_deliveries`` for the poller, which only counts them (by the state each was
    made in: a queued one may be held for an editor): no ORM objects.
    """
    made = _insert(db, article_ids, channels, new)
    return Counter(DeliveryStatus(values["status"]) for _, values in made)


def _insert(
    db: Db, article_ids: Iterable[int], channels: Sequence[str], new: NewDeliveries
) -> list[tuple[int, dict[str, Any]]]:
    """One INSERT that skips the (article, channel) pairs that have a delivery and says which
    it made, then their posting-log rows: (id, columns) of each new delivery, in order.
    A queued delivery on a ``held`` channel (``hold = true``) is ``held`` for an editor instead.
    """
    status, now, detail, schedule = new.status, new.now, new.detail, new.schedule
    error = detail if status is DeliveryStatus.SKIPPED else None  # shown beside the state
    on_hold = DeliveryStatus.HELD if status is DeliveryStatus.QUEUED else status
    states = {c: (on_hold if c in new.held else status).value for c in channels}
    wanted = [
        {"article_id": article_id, "channel": channel, "status": states[channel], "attempts": 0,
         "error": error, "created_at": now, "updated_at": now,
         "not_before": schedule(article_id, channel) if schedule else None}
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
            [{"delivery_id": delivery_id, "created_at": now, "status": v["status"],
              "actor": new.actor, "attempt": 0,
              "detail": HELD_NOTE if v["status"] != status.value else detail}
             for delivery_id, v in made],
        )  # fmt: skip
    return made


def is_due(now: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    """Queued or waiting, and neither its retry time nor its scheduled time is still ahead."""
    c = _DELIVERIES.c
    return and_(
        c.status.in_(DUE),
        or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now),
        or_(c.not_before.is_(None), c.not_before <= now),
    )


def event_row(row: DeliveryRow, *, now: datetime, actor: str, change: Change) -> DeliveryEventRow:
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
        error_code=change.error_code,
        latency_ms=change.latency_ms,
    )


def due(session: Session, *, now: datetime, limit: int | None = None) -> list[tuple[int, str]]:
    """(delivery id, channel) of the deliveries that may be sent now, oldest first."""
    query = (
        select(DeliveryRow.id, DeliveryRow.channel)
        .where(is_due(now))
        .order_by(DeliveryRow.id)
        .limit(limit)
    )
    return [(delivery_id, channel) for delivery_id, channel in session.execute(query)]


def claim(
    session: Session,
    delivery_id: int,
    *,
    now: datetime,
    actor: str,
    lease: timedelta = timedelta(minutes=5),
) -> DeliveryRow | None:
    """Move a due delivery to ``sending`` (and count the attempt), or None if another got it.

    The claim holds until ``now + lease``; a delivery still ``sending`` after that is the
    sweeper's (the worker died or hung).
    """
    result = session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id, is_due(now))
        .values(
            status=DeliveryStatus.SENDING.value,
            attempts=DeliveryRow.attempts + 1,
            updated_at=now,
            claimed_by=actor,
            lease_until=now + lease,
            sent_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return None
    row = session.get(DeliveryRow, delivery_id, populate_existing=True)
    assert row is not None
    session.add(event_row(row, now=now, actor=actor, change=Change()))
    return row


def take(
    session: Session, delivery_id: int, states: Iterable[DeliveryStatus], *, now: datetime
) -> bool:
    """Compare-and-set: whether this session took the delivery while it was in one of
    ``states`` (so that no other worker or editor moves it out of them meanwhile)."""
    result = session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id, DeliveryRow.status.in_([s.value for s in states]))
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


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
    if status is not DeliveryStatus.SENDING:
        row.claimed_by = None
    if status not in (DeliveryStatus.SENDING, DeliveryStatus.UNCERTAIN):
        row.lease_until = None  # an uncertain one keeps it: the sweeper looks after it ends
    if status not in (DeliveryStatus.SENT, DeliveryStatus.SENDING, DeliveryStatus.UNCERTAIN):
        row.sent_at = None  # the slot it took does not count: nothing went out
    if status is DeliveryStatus.SENT:
        row.sent_at = row.sent_at or now
        row.remote_id, row.remote_url = change.remote_id, change.remote_url
        row.error = row.error_kind = None
    elif change.error_kind is not None or status is DeliveryStatus.FAILED:
        row.error, row.error_kind = detail, change.error_kind
    session.add(event_row(row, now=now, actor=actor, change=replace(change, detail=detail)))


_SENT = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("delivery_id"))
    .values(
        status=DeliveryStatus.SENT.value,
        updated_at=bindparam("now"),
        next_attempt_at=None,
        text=bindparam("text"),
        claimed_by=None,
        lease_until=None,
        sent_at=func.coalesce(_DELIVERIES.c.sent_at, bindparam("now")),
        remote_id=bindparam("remote_id"),
        remote_url=bindparam("remote_url"),
        error=None,
        error_kind=None,
    )
    .returning(_DELIVERIES.c.attempts)
)
_LOG_SENT = insert(_EVENTS).values(
    delivery_id=bindparam("delivery_id"),
    created_at=bindparam("now"),
    status=DeliveryStatus.SENT.value,
    actor=bindparam("actor"),
    attempt=bindparam("attempt"),
    detail=bindparam("detail"),
    remote_id=bindparam("remote_id"),
    http_status=bindparam("http_status"),
    latency_ms=bindparam("latency_ms"),
)


def record_sent(db: Db, delivery_id: int, *, now: datetime, actor: str, change: Change) -> None:
    """:func:`transition` to ``sent``, the engine's most common change, as two statements
    made once (no ORM objects); the posting-log row goes in the same transaction all the same.
    """
    values = {"delivery_id": delivery_id, "now": now, "actor": actor, "text": change.text,
              "remote_id": change.remote_id, "remote_url": change.remote_url,
              "detail": redact(change.detail) if change.detail else None,
              "http_status": change.http_status, "latency_ms": change.latency_ms}  # fmt: skip
    attempt = db.execute(_SENT, values).scalar_one()
    db.execute(_LOG_SENT, values | {"attempt": attempt})


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
    actor: str | None = None  # who made the last change: a worker (host:pid) or an editor


def log_entries(
    session: Session,
    *,
    channel: str | None = None,
    status: str | None = None,
    limit: int = 50,
) -> list[LogEntry]:
    """Deliveries, most recently changed first, each with who changed it last."""
    last_actor = (
        select(DeliveryEventRow.actor)
        .where(DeliveryEventRow.delivery_id == DeliveryRow.id)
        .order_by(DeliveryEventRow.id.desc())
        .limit(1)
        .correlate(DeliveryRow)
        .scalar_subquery()
    )
    query = (
        select(DeliveryRow, ArticleRow, last_actor)
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
            actor=actor,
        )
        for d, a, actor in session.execute(query)
    ]


def events(session: Session, delivery_ids: Sequence[int]) -> list[DeliveryEventRow]:
    """The posting-log rows of these deliveries, newest first."""
    query = (
        select(DeliveryEventRow)
        .where(DeliveryEventRow.delivery_id.in_(delivery_ids))
        .order_by(DeliveryEventRow.id.desc())
    )
    return list(session.scalars(query))
