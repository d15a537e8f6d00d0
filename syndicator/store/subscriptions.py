"""A source's WebSub subscription: the hub and topic it uses, its state, lease and last error.

The columns live on the ``sources`` row. ``websub_state`` is one of ``pending:<key id>``
(asked, not yet verified), ``active:<key id>`` (the hub verified it), ``denied`` or
``failed``; the key id names the secret's master key, never the secret itself, so a restart
with another key shows which subscriptions must be made again. The updates a hub's answer
causes are compare-and-set on the topic, so a late answer about an old topic changes nothing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from syndicator.secrets import redact
from syndicator.store.schema import SourceRow

_MAX_ERROR_CHARS = 500


class WebSubStatus(enum.Enum):
    PENDING = "pending"
    ACTIVE = "active"
    DENIED = "denied"
    FAILED = "failed"


def state(status: WebSubStatus, key_id: str | None = None) -> str:
    """The column value: ``status`` or ``status:key_id``."""
    return f"{status.value}:{key_id}" if key_id else status.value


@dataclass(frozen=True, slots=True)
class Subscription:
    """A snapshot of one source's WebSub columns."""

    hub: str | None = None
    topic: str | None = None
    state: str | None = None
    lease_until: datetime | None = None
    error: str | None = None

    @property
    def status(self) -> WebSubStatus | None:
        if not self.state:
            return None
        try:
            return WebSubStatus(self.state.partition(":")[0])
        except ValueError:
            return None

    @property
    def key_id(self) -> str | None:
        if not self.state:
            return None
        return self.state.partition(":")[2] or None


NONE = Subscription()


def load(session: Session, source: str) -> Subscription | None:
    """The source's subscription, or None if the source has no row."""
    row = session.scalar(select(SourceRow).where(SourceRow.name == source))
    if row is None:
        return None
    return Subscription(
        row.hub_url, row.websub_topic, row.websub_state, row.websub_lease_until, row.websub_error
    )


def record_target(session: Session, source: str, hub: str | None, topic: str | None) -> None:
    """The hub and topic the feed advertises now."""
    _update(session, source, None, hub_url=hub, websub_topic=topic)


def set_state(session: Session, source: str, new_state: str | None) -> None:
    """The state we put the subscription in, as we are about to ask the hub for it."""
    _update(session, source, None, websub_state=new_state)


def forget(session: Session, source: str, hub: str | None, topic: str | None) -> None:
    """No subscription: WebSub is not used for this source (any more)."""
    _update(
        session,
        source,
        None,
        hub_url=hub,
        websub_topic=topic,
        websub_state=None,
        websub_lease_until=None,
        websub_error=None,
    )


def activate(session: Session, source: str, topic: str, key_id: str, lease_until: datetime) -> bool:
    """The hub verified our subscription to ``topic``; False if we do not want that topic."""
    return _update(
        session,
        source,
        topic,
        websub_state=state(WebSubStatus.ACTIVE, key_id),
        websub_lease_until=lease_until,
        websub_error=None,
    )


def deny(session: Session, source: str, topic: str, reason: str) -> bool:
    """The hub refused our subscription to ``topic``."""
    return _update(
        session,
        source,
        topic,
        websub_state=WebSubStatus.DENIED.value,
        websub_error=_clip(f"the hub denied the subscription: {reason}"),
    )


def record_answer(session: Session, source: str, error: str | None) -> None:
    """How the hub answered our subscription request: accepted (None) or ``error``.

    A refused request marks a pending subscription as failed; an active one stays active when
    its renewal fails, since its lease still runs. A denial the hub already sent is kept.
    """
    row = session.scalar(select(SourceRow).where(SourceRow.name == source))
    if row is None or row.websub_state == WebSubStatus.DENIED.value:
        return
    row.websub_error = _clip(error) if error else None
    pending = (row.websub_state or "").startswith(f"{WebSubStatus.PENDING.value}:")
    if error and pending:
        row.websub_state = WebSubStatus.FAILED.value


def _update(session: Session, source: str, topic: str | None, **values: Any) -> bool:
    """Set ``values`` on the source's row (only while it wants ``topic``, when one is given)."""
    statement = update(SourceRow).where(SourceRow.name == source)
    if topic is not None:
        statement = statement.where(SourceRow.websub_topic == topic, SourceRow.hub_url.is_not(None))
    result = session.execute(statement.values(**values))
    return bool(getattr(result, "rowcount", 0) == 1)


def _clip(text: str) -> str:
    text = redact(text)
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 1] + "…"
