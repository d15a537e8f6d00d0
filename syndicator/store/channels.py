"""Each channel's pace in the database, and the claim that respects it.

Several workers may send for one channel; the channel's spacing and caps hold only if they
all read and reserve the same state. A claim is one short transaction: lock the channel's
row (PostgreSQL ``FOR UPDATE``; SQLite has one writer at a time and a compare-and-set on the
last slot instead), check the pause and the pace, take the oldest due delivery (``FOR UPDATE
SKIP LOCKED``), reserve the slot and mark the delivery ``sending``, then commit, before the
network is called.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from syndicator.delivery.pacing import (
    RECOVERY,
    WINDOWS,
    History,
    Pace,
    earliest_send,
    month_start,
    recovered,
    slowed,
)
from syndicator.records import Article, DeliveryStatus
from syndicator.store.articles import load_article
from syndicator.store.deliveries import DUE, is_due
from syndicator.store.schema import Base, ChannelRow, DeliveryRow

_CHANNELS: Table = Base.metadata.tables["channels"]
_DELIVERIES: Table = Base.metadata.tables["deliveries"]
_EVENTS: Table = Base.metadata.tables["delivery_events"]
_C = _CHANNELS.c
_D = _DELIVERIES.c
# What a claim reads of the channel's row.
_PACE = (_C.id, _C.last_sent_at, _C.slowdown, _C.paused_until, _C.pause_reason)
# States whose slot counts towards the caps: the post is out, or may be.
_COUNTED = (DeliveryStatus.SENT.value, DeliveryStatus.SENDING.value, DeliveryStatus.UNCERTAIN.value)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this worker now sends: it is ``sending``, its slot reserved, committed."""

    delivery_id: int
    article: Article  # read in the claim's transaction: no second one
    attempt: int
    slot: datetime  # when it may go out: now, or within ``ahead`` of now


@dataclass(frozen=True, slots=True)
class NotYet:
    """The channel has due work but may not post before ``until``; ``why`` says what holds it.

    ``why`` is "spacing" (a short wait between posts), "in flight" (another worker's post on
    the channel has not been answered yet), "cap", "quiet hours" or "paused".
    """

    until: datetime
    why: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Idle:
    """Nothing due on the channel; ``next_due`` is when something scheduled becomes due."""

    next_due: datetime | None


ClaimResult = Claimed | NotYet | Idle


def ensure_channels(session: Session, names: Iterable[str], *, now: datetime) -> None:
    """A row per configured channel (existing ones are left as they are)."""
    rows = [{"name": name, "slowdown": 1.0, "updated_at": now} for name in names]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    session.execute(module.insert(ChannelRow).on_conflict_do_nothing(), rows)


def _channel(session: Session, name: str, *, lock: bool) -> ChannelRow:
    query = select(ChannelRow).where(ChannelRow.name == name)
    if lock:
        query = query.with_for_update()
    row = session.scalars(query.execution_options(populate_existing=True)).one_or_none()
    if row is None:
        raise LookupError(f"channel {name!r} has no row; call ensure_channels first")
    return row


def _history(
    session: Session,
    name: str,
    last_sent_at: datetime | None,
    slowdown: float,
    pace: Pace,
    now: datetime,
) -> History:
    """What the pacing needs to know: the last slot, and sends in the cap windows."""
    recent: list[datetime] = []
    caps = [cap for cap in (pace.max_per_hour, pace.max_per_day) if cap is not None]
    if caps:
        query = (
            select(_D.sent_at)
            .where(_sent_since(name, now - WINDOWS["day"]))
            .order_by(_D.sent_at.desc())
            .limit(max(caps))
        )
        recent = [sent for sent in session.scalars(query) if sent is not None]
    this_month = 0
    if pace.max_per_month is not None:
        this_month = count_sent(session, name, month_start(now))
    return History(
        last_sent_at=last_sent_at,
        recent_sends=recent,
        sent_this_month=this_month,
        slowdown=slowdown,
    )


def _sent_since(name: str, since: datetime) -> ColumnElement[bool]:
    return and_(
        DeliveryRow.channel == name,
        DeliveryRow.sent_at > since,
        DeliveryRow.status.in_(_COUNTED),
    )


def count_sent(session: Session, name: str, since: datetime) -> int:
    query = select(func.count()).select_from(DeliveryRow).where(_sent_since(name, since))
    return int(session.scalar(query) or 0)


def _unchanged(last_sent_at: datetime | None) -> ColumnElement[bool]:
    """The channel's last slot is still the one the claim read."""
    column = _C.last_sent_at
    return column.is_(None) if last_sent_at is None else column == last_sent_at


def _why(pace: Pace, past: History, now: datetime, until: datetime) -> str:
    """Which rule holds the channel until ``until``."""
    if past.last_sent_at is not None:
        spaced = past.last_sent_at + pace.min_spacing * past.slowdown
        if until <= spaced:
            return "spacing"
    without_quiet = earliest_send(replace(pace, quiet_hours=None), past, now)
    return "cap" if without_quiet >= until else "quiet hours"


def next_due(session: Session, name: str, now: datetime) -> datetime | None:
    """When the channel's next queued or waiting delivery becomes due (None: none is)."""
    retry, scheduled = _D.next_attempt_at, _D.not_before
    due_at = case(
        (retry.is_(None), scheduled),
        (scheduled.is_(None), retry),
        (retry > scheduled, retry),
        else_=scheduled,
    )
    query = select(func.min(due_at)).where(_D.channel == name, _D.status.in_(DUE))
    found = session.execute(query).scalar()
    if found is None:
        return None
    if isinstance(found, str):  # SQLite's MIN over an expression loses the column's type
        found = datetime.fromisoformat(found)
    return max(found if found.tzinfo else found.replace(tzinfo=UTC), now)


def _due_now() -> ColumnElement[bool]:
    return and_(_D.channel == bindparam("name"), is_due(bindparam("now")))


# A claim's statements, made once: a claim is on every delivery's path (docs/architecture.md).
_READ_PACE = select(*_PACE).where(_C.name == bindparam("name"))
_READ_PACE_LOCKED = _READ_PACE.with_for_update()  # PostgreSQL: workers take turns
_SENDING = _DELIVERIES.alias("sending")
# A post of the channel on its way: claimed, its lease running, no answer recorded yet.
_IN_FLIGHT = exists().where(
    _SENDING.c.channel == bindparam("name"),
    _SENDING.c.status == DeliveryStatus.SENDING.value,
    _SENDING.c.lease_until > bindparam("now"),
)
# The oldest due delivery, and whether another post of the channel is in flight: one read.
_OLDEST_DUE = (
    select(_D.id, _IN_FLIGHT.label("in_flight")).where(_due_now()).order_by(_D.id).limit(1)
)
_OLDEST_DUE_SKIP_LOCKED = _OLDEST_DUE.with_for_update(of=_DELIVERIES, skip_locked=True)
IN_FLIGHT_RECHECK = timedelta(milliseconds=100)
_TAKE_SLOT = {  # compare-and-set on the last slot: first slot ever, or the one read
    first: update(_CHANNELS)
    .where(
        _C.id == bindparam("channel_id"),
        _C.last_sent_at.is_(None) if first else _C.last_sent_at == bindparam("seen"),
    )
    .values(last_sent_at=bindparam("now"), updated_at=bindparam("now"))
    for first in (True, False)
}
_CLAIM = (
    update(_DELIVERIES)
    .where(_D.id == bindparam("delivery_id"), is_due(bindparam("now")))
    .values(
        status=DeliveryStatus.SENDING.value,
        attempts=_D.attempts + 1,
        updated_at=bindparam("now"),
        claimed_by=bindparam("actor"),
        lease_until=bindparam("lease_until"),
        sent_at=bindparam("slot"),
    )
    .returning(_D.attempts, _D.article_id)
)
# Logged at its slot: a delivery claimed a moment ahead starts sending then, not before.
_LOG_CLAIM = insert(_EVENTS).values(
    delivery_id=bindparam("delivery_id"),
    created_at=bindparam("slot"),
    status=DeliveryStatus.SENDING.value,
    actor=bindparam("actor"),
    attempt=bindparam("attempt"),
)


def claim_next(
    session: Session,
    name: str,
    pace: Pace,
    *,
    now: datetime,
    actor: str,
    lease: timedelta,
    ahead: timedelta = timedelta(0),
) -> ClaimResult:
    """Claim the channel's oldest due delivery if its pace allows; commits either way.

    ``ahead``: a spacing that ends within it is claimed already, for a slot at its end, so
    that the claim's own time is not added to the gap between posts.
    """
    locking = session.get_bind().dialect.name == "postgresql"
    connection = session.connection()
    try:
        read = _READ_PACE_LOCKED if locking else _READ_PACE
        found = connection.execute(read, {"name": name}).one_or_none()
        if found is None:
            raise LookupError(f"channel {name!r} has no row; call ensure_channels first")
        if found.paused_until is not None and found.paused_until > now:
            return NotYet(found.paused_until, "paused", found.pause_reason)
        oldest = _OLDEST_DUE_SKIP_LOCKED if locking else _OLDEST_DUE
        due_now = connection.execute(oldest, {"name": name, "now": now}).first()
        if due_now is None:
            return Idle(next_due(session, name, now))
        delivery_id = due_now.id
        # One post per channel at a time, whichever worker sends it: the spacing runs from
        # the network's answer, and a slow first request (a client's set-up, a slow network)
        # must not let another worker's next post overtake it.
        if due_now.in_flight:
            return NotYet(now + IN_FLIGHT_RECHECK, "in flight")
        past = _history(session, name, found.last_sent_at, found.slowdown, pace, now)
        earliest = earliest_send(pace, past, now)
        why = _why(pace, past, now, earliest) if earliest > now else "spacing"
        if earliest > now + ahead or (earliest > now and why != "spacing"):
            return NotYet(earliest, why)
        slot_at = max(now, earliest)
        # Reserve the slot: a worker that read the same state (SQLite, several processes)
        # loses the compare-and-set rather than breaking the spacing.
        slot = {"channel_id": found.id, "seen": found.last_sent_at, "now": slot_at}
        taken = connection.execute(_TAKE_SLOT[found.last_sent_at is None], slot)
        if getattr(taken, "rowcount", 0) != 1:
            session.rollback()
            return NotYet(now + timedelta(milliseconds=50), "spacing")
        values = {"delivery_id": delivery_id, "now": now, "actor": actor, "slot": slot_at,
                  "lease_until": slot_at + lease}  # fmt: skip
        claimed = connection.execute(_CLAIM, values).one_or_none()
        if claimed is None:  # another worker took it (SQLite)
            session.rollback()
            return NotYet(now, "spacing")
        connection.execute(_LOG_CLAIM, values | {"attempt": claimed.attempts})
        article = load_article(connection, claimed.article_id)
        session.commit()
        return Claimed(delivery_id, article, claimed.attempts, slot_at)
    finally:
        if session.in_transaction():
            session.rollback()


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a send went, as the channel's pace state must learn it."""

    sent: bool = False
    pause_until: datetime | None = None
    pause_reason: str | None = None
    rate_limited: bool = False
    auth_error: str | None = None  # set: the credentials were refused
    answered_at: datetime | None = None  # the network's answer: the spacing runs from there


def learn(session: Session, name: str, outcome: Outcome, *, now: datetime) -> None:
    """Update the channel's row after a send (in the caller's transaction)."""
    locking = session.get_bind().dialect.name == "postgresql"
    channel = _channel(session, name, lock=locking)
    channel.updated_at = now
    if outcome.answered_at is not None and (
        channel.last_sent_at is None or channel.last_sent_at < outcome.answered_at
    ):
        channel.last_sent_at = outcome.answered_at
    if outcome.sent:
        channel.slowdown = recovered(channel.slowdown)
        channel.auth_failed_at = channel.auth_error = None
    if outcome.rate_limited:
        channel.slowdown = slowed(channel.slowdown)
    if outcome.auth_error is not None:
        channel.auth_failed_at, channel.auth_error = now, outcome.auth_error
    if outcome.pause_until is not None:
        if channel.paused_until is None or channel.paused_until < outcome.pause_until:
            channel.paused_until = outcome.pause_until
        channel.pause_reason = outcome.pause_reason


_RECOVER = (
    update(_CHANNELS)
    .where(_C.name == bindparam("channel_name"))
    .values(
        slowdown=case((_C.slowdown * RECOVERY < 1.0, 1.0), else_=_C.slowdown * RECOVERY),
        last_sent_at=case(
            (_C.last_sent_at < bindparam("answered_at"), bindparam("answered_at")),
            else_=_C.last_sent_at,
        ),
        auth_failed_at=None,
        auth_error=None,
        updated_at=bindparam("now"),
    )
)


def learn_sent(session: Session, name: str, *, now: datetime, answered_at: datetime) -> None:
    """:func:`learn` after a successful post, in one statement made once: the slow-down
    recovers a step (pacing.recovered), an auth flag is cleared (the probe succeeded), and the
    spacing runs from the network's answer (``answered_at``): the next request then reaches
    the network at least the spacing after this one did, however long each took to leave.
    """
    values = {"channel_name": name, "now": now, "answered_at": answered_at}
    session.connection().execute(_RECOVER, values)


@dataclass(frozen=True, slots=True)
class ChannelState:
    """A channel as ``syndicator channels`` shows it."""

    name: str
    paused_until: datetime | None
    pause_reason: str | None
    auth_failed_at: datetime | None
    auth_error: str | None
    slowdown: float
    last_sent_at: datetime | None
    sent_last_hour: int
    sent_last_day: int
    sent_this_month: int
    queued: int
    waiting: int
    uncertain: int
    sending: int
    held: int  # waiting for an editor: no worker sends them until one is released


def channel_states(session: Session, names: Iterable[str], *, now: datetime) -> list[ChannelState]:
    """Pace, health and queue of each named channel (a channel never used shows empty)."""
    names = list(names)
    rows = {
        row.name: row
        for row in session.scalars(select(ChannelRow).where(ChannelRow.name.in_(names)))
    }
    counts: dict[tuple[str, str], int] = {}
    query = (
        select(DeliveryRow.channel, DeliveryRow.status, func.count())
        .where(DeliveryRow.channel.in_(names))
        .where(
            DeliveryRow.status.in_(
                [s.value for s in (DeliveryStatus.QUEUED, DeliveryStatus.WAITING,
                                   DeliveryStatus.UNCERTAIN, DeliveryStatus.SENDING,
                                   DeliveryStatus.HELD)]
            )
        )
        .group_by(DeliveryRow.channel, DeliveryRow.status)
    )  # fmt: skip
    for channel, status, count in session.execute(query):
        counts[channel, status] = int(count)
    since_month = month_start(now)
    states = []
    for name in names:
        row = rows.get(name)
        paused = row is not None and row.paused_until is not None and row.paused_until > now
        states.append(
            ChannelState(
                name=name,
                paused_until=row.paused_until if row and paused else None,
                pause_reason=row.pause_reason if row and paused else None,
                auth_failed_at=row.auth_failed_at if row else None,
                auth_error=row.auth_error if row else None,
                slowdown=row.slowdown if row else 1.0,
                last_sent_at=row.last_sent_at if row else None,
                sent_last_hour=count_sent(session, name, now - WINDOWS["hour"]),
                sent_last_day=count_sent(session, name, now - WINDOWS["day"]),
                sent_this_month=count_sent(session, name, since_month),
                queued=counts.get((name, "queued"), 0),
                waiting=counts.get((name, "waiting"), 0),
                uncertain=counts.get((name, "uncertain"), 0),
                sending=counts.get((name, "sending"), 0),
                held=counts.get((name, "held"), 0),
            )
        )
    return states


__all__ = [
    "ChannelState",
    "ClaimResult",
    "Claimed",
    "Idle",
    "NotYet",
    "Outcome",
    "channel_states",
    "claim_next",
    "ensure_channels",
    "learn",
]
