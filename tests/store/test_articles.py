"""One article per story, whichever feed carries it, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from syndicator.records import FeedEntry
from syndicator.store import Database
from syndicator.store.articles import (
    _insert,
    record_entries,
    record_poll,
    source_row,
    source_state,
)
from syndicator.store.schema import ArticleEventRow, ArticleRow, SourceRow

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def story(guid: str, url: str, title: str = "Tram line approved") -> FeedEntry:
    return FeedEntry(guid=guid, url=url, title=title, published=NOW - timedelta(hours=1))


def test_the_same_story_from_two_sources_is_one_article_offered_once(database: Database) -> None:
    with database.session() as session:
        agency = source_row(session, "agency", "https://agency.example.com/rss", now=NOW)
        partner = source_row(session, "partner", "https://partner.example.com/rss", now=NOW)
        first = record_entries(
            session, agency, [story("a-1", "https://news.example.com/tram")], now=NOW
        )
        copied = story("p-77", "https://news.example.com/tram?utm_source=partner&fbclid=x")
        second = record_entries(session, partner, [copied], now=NOW)
        again = record_entries(session, partner, [copied], now=NOW)
        session.commit()
        articles = session.scalars(select(ArticleRow)).all()
        kinds = session.scalars(select(ArticleEventRow.kind)).all()
    assert len(articles) == 1
    assert [c.id for c in first.candidates] == [c.id for c in second.candidates]
    assert (first.inserted, second.inserted) == (1, 0)
    assert again.candidates == []  # offered to the partner's channels once, not every poll
    assert kinds == ["also_in_source"]


def test_a_known_guid_with_a_new_title_is_an_update_not_a_new_article(
    database: Database,
) -> None:
    with database.session() as session:
        agency = source_row(session, "agency", "https://agency.example.com/rss", now=NOW)
        record_entries(session, agency, [story("a-1", "https://news.example.com/tram")], now=NOW)
        later = NOW + timedelta(minutes=5)
        changed = story("a-1", "https://news.example.com/tram-v2", title="Tram line approved 31-9")
        result = record_entries(session, agency, [changed], now=later)
        session.commit()
        (article,) = session.scalars(select(ArticleRow)).all()
        (event,) = session.scalars(select(ArticleEventRow)).all()
    assert result.candidates == [] and result.updated == 1
    assert (article.title, article.url, article.updated_at) == (
        "Tram line approved 31-9",
        "https://news.example.com/tram-v2",
        later,
    )
    assert event.kind == "updated"
    assert "'Tram line approved' -> 'Tram line approved 31-9'" in (event.detail or "")
    assert "https://news.example.com/tram -> https://news.example.com/tram-v2" in (
        event.detail or ""
    )


def test_an_article_stored_meanwhile_by_another_worker_is_not_inserted_twice(
    database: Database,
) -> None:
    with database.session() as session:
        agency = source_row(session, "agency", "https://agency.example.com/rss", now=NOW)
        session.commit()
        taken = story("a-1", "https://news.example.com/tram")
        fresh = story("a-2", "https://news.example.com/bridge", title="Bridge opens")
        # Another worker commits the tram story between our read and our insert.
        with database.session() as other:
            other.add(
                ArticleRow(source_id=agency.id, guid=taken.guid, url=taken.url,
                           url_key=taken.url, title=taken.title, summary="", categories=[],
                           created_at=NOW)
            )  # fmt: skip
            other.commit()
        inserted = _insert(session, agency, [(0, taken, taken.url), (1, fresh, fresh.url)], NOW)
        session.commit()
        titles = sorted(session.scalars(select(ArticleRow.title)).all())
    assert [item.entry.guid for item in inserted] == ["a-2"]
    assert titles == ["Bridge opens", "Tram line approved"]


def test_a_source_is_made_on_first_sight_and_forgets_its_validators_when_its_feed_moves(
    database: Database,
) -> None:
    with database.engine.begin() as connection:
        first = source_state(connection, "agency", "https://agency.example.com/rss", now=NOW)
        record_poll(connection, first.id, etag='"v1"', last_modified="Sat, 28 Nov 2026")
        same = source_state(connection, "agency", "https://agency.example.com/rss", now=NOW)
        moved = source_state(connection, "agency", "https://agency.example.com/atom", now=NOW)
    assert first.id == same.id == moved.id
    assert (first.etag, same.etag, same.last_modified) == (None, '"v1"', "Sat, 28 Nov 2026")
    assert (moved.etag, moved.last_modified) == (None, None)


def test_the_first_poll_time_is_kept_and_articles_seen_add_up(database: Database) -> None:
    later = NOW + timedelta(minutes=5)
    with database.engine.begin() as connection:
        source = source_state(connection, "agency", "https://agency.example.com/rss", now=NOW)
        record_poll(connection, source.id, first_polled_at=NOW, articles_seen=3)
        record_poll(connection, source.id, first_polled_at=later, articles_seen=2)
        again = source_state(connection, "agency", "https://agency.example.com/rss", now=later)
    with database.session() as session:
        row = session.get(SourceRow, source.id)
        assert row is not None
        assert (row.first_polled_at, row.articles_seen) == (NOW, 5)
    assert again.first_polled_at == NOW and again.first_polled_at.tzinfo is not None
