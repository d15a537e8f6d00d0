"""An editor's changes to deliveries, on SQLite and PostgreSQL: each allowed only from the
states that make sense, each a posting-log row with the editor as actor, none able to undo a
worker's claim made at the same moment."""

from __future__ import annotations

import threading
from collections.abc import Container
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from syndicator.delivery.pacing import Pace
from syndicator.records import DeliveryStatus, FeedEntry
from syndicator.store import Database
from syndicator.store.articles import record_entries, source_row
from syndicator.store.channels import Claimed, Idle, claim_next, count_sent, ensure_channels
from syndicator.store.deliveries import (
    HELD_NOTE,
    Change,
    NewDeliveries,
    Schedule,
    add_deliveries,
    claim,
    create_deliveries,
    transition,
)
from syndicator.store.editing import (
    ChangedMeanwhile,
    NotAllowed,
    UnknownDelivery,
    cancel,
    editor_actor,
    hold,
    parse_post,
    release,
    retry,
    settle_failed,
    settle_not_posted,
    settle_posted,
)
from syndicator.store.schema import DeliveryEventRow, DeliveryRow
from tests.support import wait_for

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
ANA = "ana"
PACE = Pace(min_spacing=timedelta(0))


def deliveries(
    database: Database,
    count: int = 1,
    channels: tuple[str, ...] = ("tg",),
    *,
    schedule: Schedule | None = None,
    held: Container[str] = (),
) -> list[int]:
    """``count`` new articles queued on ``channels``; their delivery ids."""
    with database.session() as session:
        source = source_row(session, "site", "https://news.example.com/feed", now=NOW)
        start = session.scalar(select(DeliveryRow.id).order_by(DeliveryRow.id.desc())) or 0
        entries = [
            FeedEntry(guid=f"g{start + n}", url=f"https://news.example.com/{start + n}",
                      title=f"Story {start + n}")
            for n in range(count)
        ]  # fmt: skip
        ids = [c.id for c in record_entries(session, source, entries, now=NOW).candidates]
        new = NewDeliveries(DeliveryStatus.QUEUED, NOW, "poller:1", schedule=schedule, held=held)
        rows = create_deliveries(session, ids, channels, new)
        ensure_channels(session, channels, now=NOW)
        session.commit()
        return [row.id for row in rows]


def put(database: Database, delivery_id: int, status: DeliveryStatus) -> None:
    """Claim the delivery (as a worker) and leave it in ``status``."""
    with database.session() as session:
        row = claim(session, delivery_id, now=NOW, actor="host:7", lease=timedelta(minutes=2))
        assert row is not None
        if status is not DeliveryStatus.SENDING:
            change = Change(detail=f"now {status}", error_kind="transient")
            transition(session, row, status, now=NOW, actor="host:7", change=change)
        session.commit()


def row_of(database: Database, delivery_id: int) -> DeliveryRow:
    with database.session() as session:
        row = session.get(DeliveryRow, delivery_id)
        assert row is not None
        return row


def last_event(database: Database, delivery_id: int) -> DeliveryEventRow:
    with database.session() as session:
        query = (
            select(DeliveryEventRow)
            .where(DeliveryEventRow.delivery_id == delivery_id)
            .order_by(DeliveryEventRow.id.desc())
        )
        return session.scalars(query).first()  # type: ignore[return-value]


def claim_for(database: Database, channel: str = "tg") -> object:
    with database.session() as session:
        result = claim_next(
            session, channel, PACE, now=LATER, actor="host:9", lease=timedelta(minutes=2)
        )
        return result.delivery_id if isinstance(result, Claimed) else result


def test_a_held_delivery_is_never_claimed_until_it_is_released(database: Database) -> None:
    (delivery,) = deliveries(database)
    edited = hold(database, delivery, now=NOW, editor=ANA, reason="check the headline")
    assert (edited.before, edited.after, edited.channel) == ("queued", "held", "tg")
    event = last_event(database, delivery)
    assert (event.status, event.actor, event.attempt) == ("held", "editor:ana", 0)
    assert event.detail == "held by an editor: check the headline"
    assert isinstance(claim_for(database), Idle)

    released = release(database, delivery, now=LATER, editor="bo")
    assert (released.before, released.after) == ("held", "queued")
    assert (last_event(database, delivery).actor, row_of(database, delivery).error) == (
        "editor:bo", None,
    )  # fmt: skip
    assert claim_for(database) == delivery


def test_a_waiting_delivery_can_be_held_but_not_one_on_its_way_or_out(database: Database) -> None:
    waiting, sending, sent = deliveries(database, 3)
    put(database, waiting, DeliveryStatus.WAITING)
    assert hold(database, waiting, now=LATER, editor=ANA).after == "held"
    put(database, sending, DeliveryStatus.SENDING)
    with pytest.raises(NotAllowed) as refused:
        hold(database, sending, now=LATER, editor=ANA)
    assert str(refused.value) == (
        f"delivery {sending}: is sending (a worker is sending it now; wait for the network's "
        "answer); only queued or waiting deliveries can be held"
    )
    put(database, sent, DeliveryStatus.SENT)
    with pytest.raises(NotAllowed, match=r"is sent .*only queued or waiting"):
        hold(database, sent, now=LATER, editor=ANA)
    assert [row_of(database, i).status for i in (sending, sent)] == ["sending", "sent"]


def test_an_unknown_id_or_editor_is_refused(database: Database) -> None:
    deliveries(database)
    with pytest.raises(UnknownDelivery, match=r"^delivery 999: no such delivery$"):
        cancel(database, 999, now=NOW, editor=ANA)
    with pytest.raises(ValueError, match="not an editor name"):  # nor an unnamed editor
        cancel(database, 1, now=NOW, editor=" ")


def test_release_keeps_a_scheduled_time_unless_told_otherwise(database: Database) -> None:
    kept, moved, cleared = deliveries(database, 3, schedule=lambda _a, _c: LATER)
    for delivery in (kept, moved, cleared):
        hold(database, delivery, now=NOW, editor=ANA)
    release(database, kept, now=NOW, editor=ANA)
    release(database, moved, now=NOW, editor=ANA, not_before=LATER + timedelta(hours=1))
    release(database, cleared, now=NOW, editor=ANA, not_before=None)
    assert [row_of(database, i).not_before for i in (kept, moved, cleared)] == [
        LATER, LATER + timedelta(hours=1), None,
    ]  # fmt: skip
    assert (
        last_event(database, kept).detail
        == f"released by an editor, not before {LATER.isoformat()}"
    )


@pytest.mark.parametrize("status", ["queued", "waiting", "held", "uncertain"])
def test_cancel_withdraws_a_delivery_with_the_reason_in_the_log(
    database: Database, status: str
) -> None:
    (delivery,) = deliveries(database)
    if status == "held":
        hold(database, delivery, now=NOW, editor=ANA)
    elif status != "queued":
        put(database, delivery, DeliveryStatus(status))
    edited = cancel(database, delivery, now=LATER, editor=ANA, reason="story withdrawn")
    assert (edited.before, edited.after) == (status, "cancelled")
    row = row_of(database, delivery)
    assert (row.status, row.error, row.lease_until) == (
        "cancelled", "cancelled by an editor: story withdrawn", None,
    )  # fmt: skip
    event = last_event(database, delivery)
    assert (event.status, event.actor, event.detail) == (
        "cancelled", "editor:ana", "cancelled by an editor: story withdrawn",
    )  # fmt: skip
    assert isinstance(claim_for(database), Idle)
    with pytest.raises(NotAllowed, match="is cancelled; only"):
        release(database, delivery, now=LATER, editor=ANA)


def test_an_uncertain_post_found_by_an_editor_is_sent_and_its_slot_still_counts(
    database: Database,
) -> None:
    (delivery,) = deliveries(database)
    put(database, delivery, DeliveryStatus.UNCERTAIN)
    edited = settle_posted(
        database, delivery, now=LATER, editor=ANA, post="https://t.me/eurasianews/42"
    )
    assert (edited.before, edited.after) == ("uncertain", "sent")
    row = row_of(database, delivery)
    assert (row.remote_id, row.remote_url, row.sent_at) == (
        "42",
        "https://t.me/eurasianews/42",
        NOW,
    )
    event = last_event(database, delivery)
    assert (event.status, event.actor, event.remote_id, event.attempt) == (
        "sent", "editor:ana", "42", 1,
    )  # fmt: skip
    with database.session() as session:
        assert count_sent(session, "tg", NOW - timedelta(hours=1)) == 1


def test_an_uncertain_post_not_on_the_network_is_queued_to_be_sent_again(
    database: Database,
) -> None:
    (delivery,) = deliveries(database)
    put(database, delivery, DeliveryStatus.UNCERTAIN)
    edited = settle_not_posted(database, delivery, now=LATER, editor=ANA)
    assert edited.after == "queued" and "posted once more" in edited.note
    row = row_of(database, delivery)
    assert (row.sent_at, row.lease_until, row.error) == (None, None, None)
    assert claim_for(database) == delivery


def test_an_uncertain_post_can_be_settled_as_failed_with_a_reason(database: Database) -> None:
    (delivery,) = deliveries(database)
    put(database, delivery, DeliveryStatus.UNCERTAIN)
    settle_failed(database, delivery, now=LATER, editor=ANA, reason="channel deleted")
    row = row_of(database, delivery)
    assert (row.status, row.error) == ("failed", "channel deleted")
    with pytest.raises(NotAllowed, match="only uncertain deliveries can be settled"):
        settle_not_posted(database, delivery, now=LATER, editor=ANA)


def test_a_failed_delivery_is_retried_with_fresh_attempts(database: Database) -> None:
    (delivery,) = deliveries(database)
    put(database, delivery, DeliveryStatus.FAILED)
    edited = retry(database, delivery, now=LATER, editor=ANA)
    assert (edited.before, edited.after) == ("failed", "queued")
    row = row_of(database, delivery)
    assert (row.attempts, row.error, row.error_kind) == (0, None, None)
    assert last_event(database, delivery).detail == "retried by an editor after 1 attempt"
    assert claim_for(database) == delivery


def test_new_deliveries_on_a_channel_that_holds_wait_for_an_editor(database: Database) -> None:
    held, queued = deliveries(database, 1, ("tg", "x"), held={"tg"})
    assert [row_of(database, i).status for i in (held, queued)] == ["held", "queued"]
    assert (last_event(database, held).status, last_event(database, held).detail) == (
        "held", HELD_NOTE,
    )  # fmt: skip
    assert last_event(database, queued).detail is None
    with database.session() as session:  # the poller's path, and a skipped one is not held
        source = source_row(session, "site", "https://news.example.com/feed", now=NOW)
        entry = FeedEntry(guid="p", url="https://news.example.com/p", title="Polled")
        (article,) = record_entries(session, source, [entry], now=NOW).candidates
        new = NewDeliveries(DeliveryStatus.QUEUED, NOW, "poller:1", held={"tg"})
        made = add_deliveries(session.connection(), [article.id], ["tg", "x"], new)
        session.commit()
        statuses = dict(
            session.execute(
                select(DeliveryRow.channel, DeliveryRow.status).where(
                    DeliveryRow.article_id == article.id
                )
            ).all()
        )
    assert made == {DeliveryStatus.HELD: 1, DeliveryStatus.QUEUED: 1}
    assert statuses == {"tg": "held", "x": "queued"}
    assert isinstance(claim_for(database, "tg"), Idle)


def test_editor_names_and_post_references_are_checked() -> None:
    assert editor_actor(" ana ") == "editor:ana"
    for bad in ("", "two words", "x" * 58):
        with pytest.raises(ValueError):
            editor_actor(bad)
    assert parse_post("https://x.com/i/web/status/1890") == (
        "1890",
        "https://x.com/i/web/status/1890",
    )
    assert parse_post("https://www.facebook.com/111_222/") == (
        "111_222", "https://www.facebook.com/111_222/",
    )  # fmt: skip
    assert parse_post("42") == ("42", None)
    with pytest.raises(ValueError):
        parse_post("https://t.me/")


@pytest.mark.postgres
def test_an_editor_who_races_a_worker_is_told_and_changes_nothing(
    postgres_database: Database,
) -> None:
    """The worker's claim holds the row; the editor's compare-and-set waits, then finds it
    sending: nothing is held, and the editor hears why."""
    database = postgres_database
    (delivery,) = deliveries(database)
    worker = database.session()
    try:
        worker_pid = worker.scalar(text("SELECT pg_backend_pid()"))
        claimed = claim(worker, delivery, now=NOW, actor="host:7", lease=timedelta(minutes=2))
        assert claimed is not None  # not committed yet: the row is locked
        outcome: dict[str, object] = {}

        def edit() -> None:
            try:
                outcome["edited"] = hold(database, delivery, now=NOW, editor=ANA)
            except Exception as exc:
                outcome["error"] = exc

        editor = threading.Thread(target=edit)
        editor.start()
        blocked = text(
            "SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"
        )
        with database.engine.connect() as probe:
            wait_for(
                lambda: probe.scalar(blocked, {"pid": worker_pid}) == 1,
                timeout=10,
                what="the editor waiting for the worker's row lock",
            )
        worker.commit()
        editor.join(timeout=10)
    finally:
        worker.close()
    error = outcome.get("error")
    assert isinstance(error, ChangedMeanwhile), outcome
    assert str(error) == (
        f"delivery {delivery}: changed while you acted: it was queued, it is now sending; "
        "nothing was changed"
    )
    assert row_of(database, delivery).status == "sending"
    assert last_event(database, delivery).actor == "host:7"


@pytest.mark.postgres
def test_a_worker_skips_a_delivery_an_editor_is_changing(postgres_database: Database) -> None:
    """While the editor's compare-and-set holds the row, a worker's claim passes it over."""
    database = postgres_database
    first, second = deliveries(database, 2)
    with database.session() as editor:
        editor.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id == first, DeliveryRow.status.in_(["queued", "waiting"]))
            .values(updated_at=NOW)
        )  # the compare-and-set of ``hold``, its transaction still open
        assert claim_for(database) == second
        editor.rollback()
