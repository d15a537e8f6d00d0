"""The health of each source, as operators read it (``syndicator sources``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from syndicator.store.schema import SourceRow


@dataclass(frozen=True, slots=True)
class SourceHealth:
    name: str
    feed: str
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_status: int | None
    last_error: str | None
    consecutive_failures: int
    next_poll_at: datetime | None
    articles_seen: int
    websub: str | None  # "active", "pending", "denied", "failed", or None (not pushed)

    def as_json(self) -> dict[str, Any]:
        return {
            key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in asdict(self).items()
        }


def source_health(session: Session, names: list[str] | None = None) -> list[SourceHealth]:
    query = select(SourceRow).order_by(SourceRow.name)
    if names is not None:
        query = query.where(SourceRow.name.in_(names))
    return [
        SourceHealth(
            name=row.name,
            feed=row.feed,
            last_polled_at=row.last_polled_at,
            last_success_at=row.last_success_at,
            last_status=row.last_status,
            last_error=row.last_error,
            consecutive_failures=row.consecutive_failures,
            next_poll_at=row.next_poll_at,
            articles_seen=row.articles_seen,
            websub=(row.websub_state or "").split(":")[0] or None,
        )
        for row in session.scalars(query)
    ]


def claim_poll(
    connection: Connection, source_id: int, *, actor: str, now: datetime, until: datetime
) -> bool:
    """Take the source's poll lease until ``until``, unless another worker holds it.

    A conditional UPDATE: of several workers whose schedules fire for one feed, one polls it;
    the holder takes it again at its next poll, and others only once it has run out.
    """
    free = or_(
        SourceRow.poll_lease_until.is_(None),
        SourceRow.poll_lease_until <= now,
        SourceRow.poll_claimed_by == actor,
    )
    result = connection.execute(
        update(SourceRow)
        .where(SourceRow.id == source_id, free)
        .values(poll_claimed_by=actor, poll_lease_until=until)
    )
    return bool(getattr(result, "rowcount", 0) == 1)
