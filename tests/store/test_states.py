"""Every delivery state is reachable, and each change is a posting-log row with its actor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from syndicator.records import DeliveryStatus
from syndicator.store import Database
from syndicator.store.deliveries import Change, claim, transition
from syndicator.store.schema import DeliveryEventRow, DeliveryRow
from tests.store.test_store import queued_delivery

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
# What the claim's lease and slot become in each state a claimed delivery can move to.
AFTER_SENDING = {
    DeliveryStatus.SENT: ("kept", None),
    DeliveryStatus.UNCERTAIN: ("kept", "kept"),  # the sweeper looks once the lease is over
    DeliveryStatus.WAITING: (None, None),
    DeliveryStatus.FAILED: (None, None),
    DeliveryStatus.QUEUED: (None, None),
    DeliveryStatus.HELD: (None, None),
    DeliveryStatus.CANCELLED: (None, None),
    DeliveryStatus.SKIPPED: (None, None),
}


@pytest.mark.parametrize("status", list(AFTER_SENDING), ids=str)
def test_each_state_is_reachable_from_sending_and_logged(
    database: Database, status: DeliveryStatus
) -> None:
    with database.session() as session:
        delivery = queued_delivery(session)
        session.commit()
        row = claim(session, delivery.id, now=NOW, actor="host:1", lease=timedelta(minutes=2))
        assert row is not None and row.status == "sending"
        later = NOW + timedelta(seconds=3)
        change = Change(detail=f"to {status}", http_status=418, error_code="E1", latency_ms=7)
        transition(session, row, status, now=later, actor="editor:ana", change=change)
        session.commit()
        slot, lease = AFTER_SENDING[status]
        assert row.sent_at == (NOW if slot == "kept" else None)
        assert row.lease_until == (NOW + timedelta(minutes=2) if lease == "kept" else None)
        assert row.claimed_by is None
        events = list(
            session.scalars(
                select(DeliveryEventRow)
                .where(DeliveryEventRow.delivery_id == delivery.id)
                .order_by(DeliveryEventRow.id)
            )
        )
    assert [(e.status, e.actor, e.attempt) for e in events] == [
        ("queued", "t", 0), ("sending", "host:1", 1), (status.value, "editor:ana", 1),
    ]  # fmt: skip
    last = events[-1]
    assert (last.created_at, last.detail, last.http_status, last.error_code, last.latency_ms) == (
        NOW + timedelta(seconds=3), f"to {status}", 418, "E1", 7,
    )  # fmt: skip
    with database.session() as session:
        stored = session.get(DeliveryRow, delivery.id)
        assert stored is not None and stored.status == status.value
