"""The store's promises, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from syndicator.records import DeliveryStatus, FeedEntry
from syndicator.store import Database
from syndicator.store.articles import newest_first, record_entries, source_row
from syndicator.store.deliveries import (
    Change,
    NewDeliveries,
    add_deliveries,
    claim,
    create_deliveries,
    due,
    log_entries,
    transition,
)
from syndicator.store.schema import ArticleRow, Base, DeliveryEventRow, DeliveryRow

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
QUEUED = NewDeliveries(DeliveryStatus.QUEUED, NOW, "t")


def entry(n: int, **changes: object) -> FeedEntry:
    fields: dict[str, object] = {
        "guid": f"guid-{n}",
        "url": f"https://news.example.com/story-{n}",
        "title": f"Story {n}",
        "published": NOW - timedelta(hours=n),
    }
    fields.update(changes)
    return FeedEntry(**fields)  # type: ignore[arg-type]


def queued_delivery(session: Session, channel: str = "tg") -> DeliveryRow:
    """A source, one article and its delivery to ``channel``, queued."""
    source = source_row(session, "site", "https://news.example.com/feed", now=NOW)
    (article,) = record_entries(session, source, [entry(1)], now=NOW).candidates
    (delivery,) = create_deliveries(session, [article.id], [channel], QUEUED)
    return delivery


def test_migrations_create_exactly_the_models_schema(database: Database) -> None:
    assert database.is_up_to_date()
    with database.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_upgrade_twice_is_harmless(database: Database) -> None:
    database.upgrade()
    assert database.is_up_to_date()


def test_an_entry_is_recorded_once_by_guid_and_by_normalised_url(database: Database) -> None:
    with database.session() as session:
        source = source_row(session, "site", "https://news.example.com/feed", now=NOW)
        first = record_entries(session, source, [entry(1), entry(2)], now=NOW).candidates
        again = record_entries(
            session,
            source,
            [
                entry(1),  # same guid
                entry(9, url="HTTPS://News.Example.com/story-2/?utm_source=rss#top"),  # same URL
                entry(3),
            ],
            now=NOW,
        ).candidates
        session.commit()
        titles = session.scalars(select(ArticleRow.title).order_by(ArticleRow.id)).all()
    assert [a.entry.title for a in first] == ["Story 1", "Story 2"]
    assert [a.entry.title for a in again] == ["Story 3"]
    assert titles == ["Story 1", "Story 2", "Story 3"]


def test_duplicates_within_one_feed_count_once(database: Database) -> None:
    with database.session() as session:
        source = source_row(session, "site", "https://news.example.com/feed", now=NOW)
        new = record_entries(session, source, [entry(1), entry(1)], now=NOW).candidates
        session.commit()
    assert len(new) == 1


def test_the_database_refuses_a_second_article_with_the_same_guid(database: Database) -> None:
    with database.session() as session:
        source = source_row(session, "site", "https://news.example.com/feed", now=NOW)
        record_entries(session, source, [entry(1)], now=NOW)
        session.commit()
        session.add(
            ArticleRow(
                source_id=source.id,
                guid="guid-1",
                url="https://elsewhere.example.com/",
                url_key="https://elsewhere.example.com/",
                title="copy",
                summary="",
                categories=[],
                created_at=NOW,
            )
        )
        with pytest.raises(IntegrityError):
            session.commit()


def test_the_database_refuses_a_second_delivery_for_an_article_and_channel(
    database: Database,
) -> None:
    with database.session() as session:
        source = source_row(session, "site", "https://news.example.com/feed", now=NOW)
        (article,) = record_entries(session, source, [entry(1)], now=NOW).candidates
        create_deliveries(session, [article.id], ["tg"], QUEUED)
        session.commit()
        session.add(
            DeliveryRow(
                article_id=article.id,
                channel="tg",
                status="queued",
                attempts=0,
                created_at=NOW,
                updated_at=NOW,
            )
        )
        with pytest.raises(IntegrityError):
            session.commit()


def test_creating_deliveries_again_adds_nothing(database: Database) -> None:
    with database.session() as session:
        source = source_row(session, "site", "https://news.example.com/feed", now=NOW)
        (article,) = record_entries(session, source, [entry(1)], now=NOW).candidates
        made = create_deliveries(session, [article.id], ["tg", "x"], QUEUED)
        again = create_deliveries(session, [article.id], ["tg", "x", "fb"], QUEUED)
        session.commit()
    assert [d.channel for d in made] == ["tg", "x"]
    assert [d.channel for d in again] == ["fb"]


def test_only_one_of_two_claims_wins(database: Database) -> None:
    with database.session() as session:
        delivery = queued_delivery(session)
        session.commit()
        delivery_id = delivery.id
    with database.session() as first, database.session() as second:
        won = claim(first, delivery_id, now=NOW, actor="worker-1")
        first.commit()
        lost = claim(second, delivery_id, now=NOW, actor="worker-2")
        second.commit()
    assert won is not None and won.status == "sending" and won.attempts == 1
    assert lost is None


def test_every_state_change_is_a_posting_log_row(database: Database) -> None:
    with database.session() as session:
        delivery = queued_delivery(session)
        session.commit()
        row = claim(session, delivery.id, now=NOW, actor="w")
        assert row is not None
        later = NOW + timedelta(minutes=1)
        transition(
            session,
            row,
            DeliveryStatus.WAITING,
            now=NOW,
            actor="w",
            change=Change(detail="HTTP 500", error_kind="transient", next_attempt_at=later),
        )
        session.commit()
        assert due(session, now=NOW) == []
        assert due(session, now=later) == [(delivery.id, "tg")]
        row = claim(session, delivery.id, now=later, actor="w")
        assert row is not None
        transition(
            session,
            row,
            DeliveryStatus.SENT,
            now=later,
            actor="w",
            change=Change(remote_id="42", remote_url="https://t.me/news/42"),
        )
        session.commit()
        states = session.scalars(
            select(DeliveryEventRow.status).order_by(DeliveryEventRow.id)
        ).all()
        attempts = session.scalars(
            select(DeliveryEventRow.attempt).order_by(DeliveryEventRow.id)
        ).all()
        (shown,) = log_entries(session)
    assert states == ["queued", "sending", "waiting", "sending", "sent"]
    assert attempts == [0, 1, 1, 2, 2]
    assert (shown.status, shown.remote_id, shown.error) == ("sent", "42", None)


def test_the_log_filters_by_channel_and_status_newest_first(database: Database) -> None:
    with database.session() as session:
        source = source_row(session, "site", "https://news.example.com/feed", now=NOW)
        articles = record_entries(session, source, [entry(1), entry(2)], now=NOW).candidates
        ids = [a.id for a in articles]
        rows = create_deliveries(session, ids, ["tg", "x"], QUEUED)
        for n, row in enumerate(rows):
            row.updated_at = NOW + timedelta(seconds=n)
        transition(
            session,
            rows[3],
            DeliveryStatus.FAILED,
            now=NOW + timedelta(minutes=5),
            actor="t",
            change=Change(detail="refused", error_kind="permanent"),
        )
        session.commit()
        everything = log_entries(session)
        on_x = log_entries(session, channel="x")
        failed = log_entries(session, status="failed")
    assert [e.delivery_id for e in everything] == [r.id for r in reversed(rows)]
    assert {e.channel for e in on_x} == {"x"}
    assert [(e.article_title, e.error) for e in failed] == [("Story 2", "refused")]


def test_newest_first_uses_published_time_over_feed_order(database: Database) -> None:
    with database.session() as session:
        source = source_row(session, "site", "https://news.example.com/feed", now=NOW)
        new = record_entries(session, source, [entry(3), entry(1), entry(2)], now=NOW).candidates
        session.commit()
    assert [a.entry.title for a in newest_first(new)] == ["Story 1", "Story 2", "Story 3"]


def test_secrets_in_an_error_never_reach_the_database(database: Database) -> None:
    from syndicator.secrets import REDACTOR

    token = "123456:SECRET-token-value-for-this-test"
    REDACTOR.add(token)
    with database.session() as session:
        row = queued_delivery(session)
        transition(
            session,
            row,
            DeliveryStatus.FAILED,
            now=NOW,
            actor="t",
            change=Change(detail=f"POST /bot{token}/sendMessage failed", error_kind="permanent"),
        )
        session.commit()
        stored = session.scalars(select(DeliveryEventRow.detail)).all()
        (shown,) = log_entries(session)
    assert all(token not in (d or "") for d in stored)
    assert shown.error is not None and token not in shown.error and "[REDACTED]" in shown.error


def test_deliveries_made_again_are_neither_doubled_nor_logged_twice(database: Database) -> None:
    skipped = NewDeliveries(DeliveryStatus.SKIPPED, NOW, "poller", detail="why")
    with database.session() as session:
        source = source_row(session, "site", "https://news.example.com/feed", now=NOW)
        ids = [
            a.id for a in record_entries(session, source, [entry(1), entry(2)], now=NOW).candidates
        ]
        made = add_deliveries(session, ids, ["tg", "x"], skipped)
        again = add_deliveries(session, [*ids, ids[0]], ["tg", "x", "fb"], skipped)
        session.commit()
        rows = session.scalars(select(DeliveryRow).order_by(DeliveryRow.id)).all()
        logged = session.scalars(select(DeliveryEventRow.detail)).all()
    assert (made, again) == ({DeliveryStatus.SKIPPED: 4}, {DeliveryStatus.SKIPPED: 2})
    assert [(r.channel, r.status, r.error) for r in rows[:2]] == [
        ("tg", "skipped", "why"),
        ("x", "skipped", "why"),
    ]
    assert len(logged) == 6 and set(logged) == {"why"}


def test_new_deliveries_come_back_ready_to_use_without_another_query(database: Database) -> None:
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    with database.session() as session:
        source = source_row(session, "site", "https://news.example.com/feed", now=NOW)
        (article,) = record_entries(session, source, [entry(1)], now=NOW).candidates
        event.listen(database.engine, "before_cursor_execute", seen)
        try:
            (row,) = create_deliveries(session, [article.id], ["tg"], QUEUED)
            statements.clear()
            shown = (row.id, row.status, row.attempts, row.next_attempt_at, row.remote_id, row.text)
        finally:
            event.remove(database.engine, "before_cursor_execute", seen)
        session.commit()
    assert shown == (row.id, "queued", 0, None, None, None) and statements == []
