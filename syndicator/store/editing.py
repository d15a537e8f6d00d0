"""What an editor may do to a delivery: hold, release, cancel, settle an uncertain one, retry.

Each action is one transition from the states it allows, logged like any other (through
:func:`~syndicator.store.deliveries.transition`) with the editor as actor (``editor:<name>``).
A worker may claim the same delivery at the same moment, so the change is a compare-and-set
on the status (``UPDATE ... WHERE id = ? AND status IN (...)``): on PostgreSQL it waits for a
claim in progress (``FOR UPDATE SKIP LOCKED`` there) and then finds the row no longer
allowed; on SQLite writers take turns. An editor who loses that race is told what the
delivery became, and nothing is changed.

Each action runs in a transaction of its own and commits it, so that one refused id never
undoes another's change. ``editor`` is the editor's name; a name that cannot be an actor
(empty, with spaces, too long) is a ValueError.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from syndicator.errors import SyndicatorError
from syndicator.records import DeliveryStatus
from syndicator.secrets import redact
from syndicator.store.database import Database
from syndicator.store.deliveries import Change, take, transition
from syndicator.store.schema import DeliveryRow

S = DeliveryStatus
ACTOR_PREFIX = "editor:"
_ACTOR_MAX = 64  # delivery_events.actor is VARCHAR(64)
_NAME = re.compile(r"^[^\s\x00-\x1f\x7f]+$")

# Which states each action starts from.
HOLDABLE = frozenset({S.QUEUED, S.WAITING})
RELEASABLE = frozenset({S.HELD})
CANCELLABLE = frozenset({S.QUEUED, S.WAITING, S.HELD, S.UNCERTAIN})
SETTLEABLE = frozenset({S.UNCERTAIN})
RETRYABLE = frozenset({S.FAILED})


class EditError(SyndicatorError):
    """An editor's change that was not made; ``str()`` is the one line to show them."""

    def __init__(self, delivery_id: int, reason: str) -> None:
        self.delivery_id = delivery_id
        self.reason = reason
        super().__init__(f"delivery {delivery_id}: {reason}")


class UnknownDelivery(EditError):
    """No delivery has this id."""


class NotAllowed(EditError):
    """The delivery's state does not allow the action."""

    def __init__(self, delivery_id: int, status: DeliveryStatus, reason: str) -> None:
        self.status = status
        super().__init__(delivery_id, reason)


class ChangedMeanwhile(EditError):
    """The delivery changed (a worker claimed it, the sweeper settled it) while the editor
    acted; nothing was changed."""

    def __init__(self, delivery_id: int, seen: DeliveryStatus, now: DeliveryStatus) -> None:
        self.seen = seen
        self.status = now
        super().__init__(
            delivery_id,
            f"changed while you acted: it was {seen}, it is now {now}; nothing was changed",
        )


@dataclass(frozen=True, slots=True)
class Edited:
    """A change an editor made: which delivery, from which state to which, and what it means."""

    delivery_id: int
    channel: str
    before: DeliveryStatus
    after: DeliveryStatus
    note: str


def editor_actor(name: str) -> str:
    """The posting log's actor for an editor: ``editor:<name>``; a bad name is a ValueError."""
    name = name.strip()
    if not name or not _NAME.match(name):
        raise ValueError(f"not an editor name: {name!r} (one word, no spaces)")
    actor = ACTOR_PREFIX + name
    if len(actor) > _ACTOR_MAX:
        raise ValueError(
            f"editor name too long: at most {_ACTOR_MAX - len(ACTOR_PREFIX)} characters"
        )
    return actor


class _Keep(Enum):
    """Marks "leave it as it is" where None means "clear it"."""

    KEEP = "keep"


KEEP = _Keep.KEEP


def hold(
    db: Database, delivery_id: int, *, now: datetime, editor: str, reason: str | None = None
) -> Edited:
    """queued or waiting -> held: no worker claims it until an editor releases it."""
    actor = editor_actor(editor)

    def apply(session: Session, row: DeliveryRow, before: DeliveryStatus) -> str:
        detail = _with_reason("held by an editor", reason)
        transition(session, row, S.HELD, now=now, actor=actor, change=Change(detail=detail))
        row.error, row.error_kind = redact(detail), None  # shown beside the state in the log
        return "held; it will not be sent until released"

    return _edit(db, delivery_id, HOLDABLE, "held", apply, now=now)


def release(
    db: Database,
    delivery_id: int,
    *,
    now: datetime,
    editor: str,
    not_before: datetime | _Keep | None = KEEP,
) -> Edited:
    """held -> queued. ``not_before``: KEEP leaves the delivery's scheduled time as it is (a
    channel's ``delay``), None clears it, a time sets it."""
    actor = editor_actor(editor)

    def apply(session: Session, row: DeliveryRow, before: DeliveryStatus) -> str:
        if not isinstance(not_before, _Keep):
            row.not_before = not_before
        when = row.not_before if row.not_before is not None and row.not_before > now else None
        detail = "released by an editor" + (f", not before {when.isoformat()}" if when else "")
        transition(session, row, S.QUEUED, now=now, actor=actor, change=Change(detail=detail))
        row.error = row.error_kind = None
        return f"queued; due {when.isoformat()}" if when else "queued; it goes out at the pace"

    return _edit(db, delivery_id, RELEASABLE, "released", apply, now=now)


def cancel(
    db: Database, delivery_id: int, *, now: datetime, editor: str, reason: str | None = None
) -> Edited:
    """queued, waiting, held or uncertain -> cancelled: never sent (an uncertain post that
    did reach the network stays there)."""
    actor = editor_actor(editor)

    def apply(session: Session, row: DeliveryRow, before: DeliveryStatus) -> str:
        detail = _with_reason("cancelled by an editor", reason)
        transition(session, row, S.CANCELLED, now=now, actor=actor, change=Change(detail=detail))
        row.error, row.error_kind = redact(detail), None
        if before is S.UNCERTAIN:
            return "cancelled; if the network has the post, it stays there"
        return "cancelled; it will not be sent"

    return _edit(db, delivery_id, CANCELLABLE, "cancelled", apply, now=now)


def settle_posted(
    db: Database, delivery_id: int, *, now: datetime, editor: str, post: str
) -> Edited:
    """uncertain -> sent: the editor found the post (its URL or id). Its slot stays counted."""
    remote_id, remote_url = parse_post(post)
    actor = editor_actor(editor)

    def apply(session: Session, row: DeliveryRow, before: DeliveryStatus) -> str:
        change = Change(
            detail=f"an editor found it on the network as {remote_id}",
            remote_id=remote_id,
            remote_url=remote_url,
        )
        transition(session, row, S.SENT, now=now, actor=actor, change=change)
        return f"sent, as {remote_url or remote_id}"

    return _edit(db, delivery_id, SETTLEABLE, "settled", apply, now=now)


def settle_not_posted(db: Database, delivery_id: int, *, now: datetime, editor: str) -> Edited:
    """uncertain -> queued: the editor saw the network does not have it; it is sent again."""
    actor = editor_actor(editor)

    def apply(session: Session, row: DeliveryRow, before: DeliveryStatus) -> str:
        detail = "an editor found it is not on the network; requeued"
        transition(session, row, S.QUEUED, now=now, actor=actor, change=Change(detail=detail))
        row.error = row.error_kind = None
        return "queued again: it will be posted once more"

    return _edit(db, delivery_id, SETTLEABLE, "settled", apply, now=now)


def settle_failed(
    db: Database, delivery_id: int, *, now: datetime, editor: str, reason: str
) -> Edited:
    """uncertain -> failed, with the editor's reason: not on the network, not to be sent."""
    if not reason.strip():
        raise ValueError("a failed delivery needs a reason")
    actor = editor_actor(editor)

    def apply(session: Session, row: DeliveryRow, before: DeliveryStatus) -> str:
        transition(session, row, S.FAILED, now=now, actor=actor, change=Change(detail=reason))
        return "failed; it will not be sent"

    return _edit(db, delivery_id, SETTLEABLE, "settled", apply, now=now)


def retry(db: Database, delivery_id: int, *, now: datetime, editor: str) -> Edited:
    """failed -> queued, with its attempts counted afresh: an editor fixed the cause."""
    actor = editor_actor(editor)

    def apply(session: Session, row: DeliveryRow, before: DeliveryStatus) -> str:
        tried = row.attempts
        row.attempts = 0  # a fresh set of attempts: transient failures may back off again
        detail = f"retried by an editor after {tried} attempt{'s' if tried != 1 else ''}"
        transition(session, row, S.QUEUED, now=now, actor=actor, change=Change(detail=detail))
        row.error = row.error_kind = None
        return "queued again; it goes out at the pace"

    return _edit(db, delivery_id, RETRYABLE, "retried", apply, now=now)


def parse_post(post: str) -> tuple[str, str | None]:
    """(remote id, remote URL) from what an editor copied: a post's URL (its id is the last
    segment of the path: t.me/<chat>/<id>, x.com/<user>/status/<id>, facebook.com/<id>) or
    the id itself."""
    text = post.strip()
    if not text:
        raise ValueError("the post's URL or id is empty")
    if re.match(r"^https?://", text, re.IGNORECASE):
        segments = [s for s in urlsplit(text).path.split("/") if s]
        if not segments:
            raise ValueError(f"no post id in {text!r}: give the post's own URL or its id")
        return segments[-1], text
    if any(c.isspace() for c in text):
        raise ValueError(f"not a post id: {text!r}")
    return text, None


Apply = Callable[[Session, DeliveryRow, DeliveryStatus], str]


def _edit(
    db: Database,
    delivery_id: int,
    allowed: Collection[DeliveryStatus],
    done: str,
    apply: Apply,
    *,
    now: datetime,
) -> Edited:
    """Check, compare-and-set, transition, commit; or raise what stopped it."""
    with db.session() as session:
        seen = _status(session, delivery_id)
        if seen is None:
            raise UnknownDelivery(delivery_id, "no such delivery")
        if seen not in allowed:
            raise NotAllowed(delivery_id, seen, _refusal(seen, allowed, done))
        # A read snapshot of SQLite cannot become a write once another process has committed:
        # the compare-and-set starts a transaction of its own.
        session.rollback()
        if not take(session, delivery_id, allowed, now=now):
            session.rollback()
            after = _status(session, delivery_id)
            if after is None:
                raise UnknownDelivery(delivery_id, "deleted while you acted")
            raise ChangedMeanwhile(delivery_id, seen, after)
        row = session.get(DeliveryRow, delivery_id, populate_existing=True)
        assert row is not None
        before = S(row.status)
        note = apply(session, row, before)
        session.commit()
        return Edited(delivery_id, row.channel, before, S(row.status), note)


def _status(session: Session, delivery_id: int) -> DeliveryStatus | None:
    found = session.scalar(select(DeliveryRow.status).where(DeliveryRow.id == delivery_id))
    return None if found is None else S(found)


def _refusal(status: DeliveryStatus, allowed: Collection[DeliveryStatus], done: str) -> str:
    states = " or ".join(s.value for s in sorted(allowed, key=list(S).index))
    why = {
        S.SENDING: " (a worker is sending it now; wait for the network's answer)",
        S.SENT: " (it is on the network already)",
    }.get(status, "")
    return f"is {status}{why}; only {states} deliveries can be {done}"


def _with_reason(what: str, reason: str | None) -> str:
    reason = (reason or "").strip()
    return f"{what}: {reason}" if reason else what


__all__ = [
    "KEEP",
    "ChangedMeanwhile",
    "EditError",
    "Edited",
    "NotAllowed",
    "UnknownDelivery",
    "cancel",
    "editor_actor",
    "hold",
    "parse_post",
    "release",
    "retry",
    "settle_failed",
    "settle_not_posted",
    "settle_posted",
]
