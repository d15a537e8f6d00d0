"""Claims against the channel's pace in the store, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from alembic.config import Config
from sqlalchemy import select, text

from syndicator.delivery.pacing import Pace
from syndicator.records import DeliveryStatus, FeedEntry
from syndicator.store import Database
from syndicator.store.articles import record_entries, source_row
from syndicator.store.channels import (
    Claimed,
    Idle,
    NotYet,
    channel_states,
    claim_next,
    ensure_channels,
    learn_sent,
)
from syndicator.store.database import MIGRATIONS
from syndicator.store.deliveries import Change, NewDeliveries, create_deliveries, record_sent
from syndicator.store.schema import ChannelRow, DeliveryEventRow, DeliveryRow

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)


def queue(database: Database, count: int, channel: str = "x") -> list[int]:
    with database.session() as session:
        source = source_row(session, "site", "https://news.example.com/feed", now=NOW)
        entries = [
            FeedEntry(guid=f"g{n}", url=f"https://news.example.com/{n}", title=f"Story {n}")
            for n in range(count)
        ]
        ids = [c.id for c in record_entries(session, source, entries, now=NOW).candidates]
        rows = create_deliveries(
            session, ids, [channel], NewDeliveries(DeliveryStatus.QUEUED, NOW, "t")
        )
        ensure_channels(session, [channel], now=NOW)
        session.commit()
        return [row.id for row in rows]


def claim(database: Database, pace: Pace, now: datetime, actor: str = "w1") -> object:
    with database.session() as session:
        result = claim_next(session, "x", pace, now=now, actor=actor, lease=LEASE)
        return result.delivery_id if isinstance(result, Claimed) else result


def answered(database: Database, delivery_id: int, at: datetime) -> None:
    """The network answered: the delivery is sent, and the spacing runs from the answer."""
    with database.session() as session:
        record_sent(session.connection(), delivery_id, now=at, actor="w1",
                    change=Change(remote_id="1"))  # fmt: skip
        learn_sent(session, "x", now=at, answered_at=at)
        session.commit()


def test_claims_take_the_oldest_due_delivery_and_keep_the_spacing(database: Database) -> None:
    ids = queue(database, 3)
    pace = Pace(min_spacing=timedelta(seconds=10))
    assert claim(database, pace, NOW) == ids[0]
    with database.session() as session:
        first = session.get(DeliveryRow, ids[0])
        assert first is not None and first.status == "sending"
        assert (first.claimed_by, first.lease_until) == ("w1", NOW + LEASE)
    answered(database, ids[0], NOW + timedelta(seconds=1))
    held = claim(database, pace, NOW + timedelta(seconds=4), actor="w2")
    assert held == NotYet(NOW + timedelta(seconds=11), "spacing")
    assert claim(database, pace, NOW + timedelta(seconds=11), actor="w2") == ids[1]
    with database.session() as session:
        channel = session.scalars(select(ChannelRow)).one()
        assert channel.last_sent_at == NOW + timedelta(seconds=11)


def test_no_worker_claims_while_another_workers_post_is_unanswered(database: Database) -> None:
    ids = queue(database, 2)
    pace = Pace(min_spacing=timedelta(seconds=1))
    assert claim(database, pace, NOW) == ids[0]
    later = NOW + timedelta(seconds=5)  # long past the spacing, but no answer yet
    held = claim(database, pace, later, actor="w2")
    assert isinstance(held, NotYet) and held.why == "in flight"
    answered(database, ids[0], later)
    assert claim(database, pace, later + timedelta(seconds=1), actor="w2") == ids[1]


def test_a_post_whose_lease_ran_out_holds_the_channel_no_longer(database: Database) -> None:
    ids = queue(database, 2)
    pace = Pace(min_spacing=timedelta(seconds=1))
    assert claim(database, pace, NOW) == ids[0]  # and its worker died: the sweeper's case
    assert claim(database, pace, NOW + LEASE + timedelta(seconds=1), actor="w2") == ids[1]


def test_a_claim_counts_sends_against_the_hourly_cap_and_says_so(database: Database) -> None:
    ids = queue(database, 3)
    pace = Pace(max_per_hour=2)
    claim(database, pace, NOW)
    answered(database, ids[0], NOW)
    claim(database, pace, NOW + timedelta(minutes=1))  # still sending: counted all the same
    held = claim(database, pace, NOW + timedelta(minutes=2) + LEASE)
    assert held == NotYet(NOW + timedelta(hours=1), "cap")
    with database.session() as session:
        (state,) = channel_states(session, ["x"], now=NOW + timedelta(minutes=2))
    assert (state.sent_last_hour, state.sending, state.queued) == (2, 1, 1)


def test_nothing_due_reports_when_the_next_one_will_be(database: Database) -> None:
    (delivery_id,) = queue(database, 1)
    later = NOW + timedelta(minutes=5)
    with database.session() as session:
        row = session.get(DeliveryRow, delivery_id)
        assert row is not None
        row.not_before = later
        session.commit()
    assert claim(database, Pace(), NOW) == Idle(later)
    assert claim(database, Pace(), later) == delivery_id
    assert claim(database, Pace(), later) == Idle(None)


def test_a_paused_channel_claims_nothing(database: Database) -> None:
    queue(database, 1)
    with database.session() as session:
        channel = session.scalars(select(ChannelRow)).one()
        channel.paused_until, channel.pause_reason = NOW + timedelta(minutes=1), "rate limited"
        session.commit()
    assert claim(database, Pace(), NOW) == NotYet(
        NOW + timedelta(minutes=1), "paused", "rate limited"
    )


def test_upgrading_a_0002_database_with_data_keeps_it(database: Database) -> None:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO sources (id, name, feed, consecutive_failures, created_at, "
                "articles_seen) VALUES (1, 'site', 'https://a.example/feed', 0, :now, 1)"
            ),
            {"now": NOW.replace(tzinfo=None)},
        )
        connection.execute(
            text(
                "INSERT INTO articles (id, source_id, guid, url, url_key, title, summary, "
                "categories, created_at) VALUES (1, 1, 'g', 'https://a.example/1', "
                "'a.example/1', 'T', '', '[]', :now)"
            ),
            {"now": NOW.replace(tzinfo=None)},
        )
        connection.execute(
            text(
                "INSERT INTO deliveries (id, article_id, channel, status, attempts, created_at, "
                "updated_at) VALUES (1, 1, 'x', 'sent', 1, :now, :now), "
                "(2, 1, 'tg', 'queued', 0, :now, :now)"
            ),
            {"now": NOW.replace(tzinfo=None)},
        )
    database.upgrade()
    assert database.is_up_to_date()
    with database.session() as session:
        sent = session.get(DeliveryRow, 1)
        queued = session.get(DeliveryRow, 2)
        assert sent is not None and queued is not None
        assert sent.sent_at == NOW and queued.sent_at is None  # old sends count to the caps
        assert queued.status == "queued" and queued.not_before is None
        ensure_channels(session, ["x"], now=NOW)
        session.commit()
    assert claim(database, Pace(), NOW) == Idle(None)  # x's only delivery is sent


def test_a_spacing_about_to_end_is_claimed_for_the_slot_at_its_end(database: Database) -> None:
    ids = queue(database, 2)
    pace = Pace(min_spacing=timedelta(seconds=10))
    assert claim(database, pace, NOW) == ids[0]
    answered(database, ids[0], NOW)
    soon = NOW + timedelta(seconds=9, milliseconds=970)
    with database.session() as session:
        result = claim_next(
            session, "x", pace, now=soon, actor="w", lease=LEASE, ahead=timedelta(seconds=0.05)
        )
    assert isinstance(result, Claimed) and result.delivery_id == ids[1]
    assert result.slot == NOW + timedelta(seconds=10)
    with database.session() as session:
        row = session.get(DeliveryRow, ids[1])
        assert row is not None and row.sent_at == result.slot
        logged = session.scalars(
            select(DeliveryEventRow.created_at).where(
                DeliveryEventRow.delivery_id == ids[1], DeliveryEventRow.status == "sending"
            )
        ).one()
        assert logged == result.slot  # it starts sending at its slot


def test_the_next_due_time_is_the_later_of_the_retry_and_the_schedule(
    database: Database,
) -> None:
    (delivery_id,) = queue(database, 1)
    scheduled = NOW + timedelta(minutes=10)
    with database.session() as session:
        row = session.get(DeliveryRow, delivery_id)
        assert row is not None
        row.status, row.next_attempt_at = "waiting", NOW + timedelta(minutes=1)
        row.not_before = scheduled
        session.commit()
    assert claim(database, Pace(), NOW + timedelta(minutes=2)) == Idle(scheduled)
