"""Polling as a feed's owner would judge it: polite, resilient, and honest about health."""

from __future__ import annotations

import asyncio
import inspect
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from syndicator.config import PollingConfig, SourceConfig
from syndicator.polling import Poller, PollReport, next_poll_after_failure
from syndicator.sources.feed import http_client
from syndicator.store import Database
from syndicator.store.schema import DeliveryRow
from syndicator.store.sources import source_health
from tests.support import NewsSite


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def site() -> Iterator[NewsSite]:
    with NewsSite() as news_site:
        yield news_site


def source(feed: str, name: str = "agency", **options: object) -> SourceConfig:
    fields: dict[str, object] = {
        "name": name,
        "feed": feed,
        "every": "2m",
        "attribution": "Agency",
        "channels": ["telegram"],
        "backfill": 100,
    }
    fields.update(options)
    return SourceConfig.model_validate(fields)


def poll(
    database: Database,
    clock: Clock,
    *sources: SourceConfig,
    config: PollingConfig | None = None,
    held: Iterable[str] = (),
) -> list[PollReport]:
    async def go() -> list[PollReport]:
        async with http_client() as client:
            poller = Poller(database, client, actor="test", clock=clock, config=config, held=held)
            return list(await asyncio.gather(*(poller.poll(s) for s in sources)))

    return asyncio.run(go())


def test_an_unchanged_feed_costs_one_conditional_get_and_no_new_work(
    sqlite_database: Database, site: NewsSite
) -> None:
    site.add("Tram line approved")
    clock = Clock()
    (first,) = poll(sqlite_database, clock, source(site.feed_url))
    (second,) = poll(sqlite_database, clock, source(site.feed_url))
    assert (first.new_articles, first.queued) == (1, 1)
    assert second.not_modified and site.conditional_hits == 1


def test_a_failing_feed_backs_off_and_recovers_by_itself(
    sqlite_database: Database, site: NewsSite
) -> None:
    clock, feed = Clock(), source(site.feed_url)
    site.fail_with = (500, {})
    intervals = []
    for _ in range(4):
        (report,) = poll(sqlite_database, clock, feed)
        assert report.error == "HTTP 500 Internal Server Error"
        assert report.deferred_until is not None
        intervals.append(report.deferred_until - clock.now)
        (deferred,) = poll(sqlite_database, clock, feed)  # too early: not even fetched
        assert deferred.deferred_until == report.deferred_until
        clock.advance(intervals[-1])
    assert intervals == [timedelta(minutes=m) for m in (2, 4, 8, 16)]
    assert site.requests == 4

    site.fail_with = None
    site.add("Bridge reopens")
    (recovered,) = poll(sqlite_database, clock, feed)
    assert recovered.error is None and recovered.queued == 1
    with sqlite_database.session() as session:
        (health,) = source_health(session)
    assert health.consecutive_failures == 0 and health.last_error is None
    assert health.last_status == 200 and health.articles_seen == 1
    assert health.last_success_at == clock.now and health.next_poll_at is None


def test_backoff_is_capped() -> None:
    now = datetime(2026, 11, 28, tzinfo=UTC)
    later = next_poll_after_failure(
        now=now,
        every=timedelta(minutes=5),
        failures=20,
        max_backoff=timedelta(hours=6),
        retry_after=None,
    )
    assert later - now == timedelta(hours=6)


def test_retry_after_from_the_feed_server_is_honoured(
    sqlite_database: Database, site: NewsSite
) -> None:
    clock = Clock()
    site.fail_with = (429, {"Retry-After": "3600"})
    (report,) = poll(sqlite_database, clock, source(site.feed_url))
    assert report.error is not None and "retry after 3600 s" in report.error
    assert report.deferred_until == clock.now + timedelta(hours=1)
    with sqlite_database.session() as session:
        (health,) = source_health(session)
    assert health.last_status == 429 and health.consecutive_failures == 1


def test_fetches_to_one_host_are_limited(sqlite_database: Database, site: NewsSite) -> None:
    site.delay = 0.3
    feeds = [source(f"{site.server.url}/feed-{n}.xml", name=f"feed-{n}") for n in range(8)]
    poll(sqlite_database, Clock(), *feeds, config=PollingConfig(max_per_host=2))
    assert site.requests == 8 and site.busiest == 2


def test_a_feed_larger_than_the_cap_is_refused(sqlite_database: Database, site: NewsSite) -> None:
    for n in range(40):
        site.add(f"Story {n}", summary="x" * 1000)
    (report,) = poll(
        sqlite_database, Clock(), source(site.feed_url), config=PollingConfig(max_bytes=16 * 1024)
    )
    assert report.error == "response larger than 16 KiB"


def test_filtered_entries_are_recorded_as_skipped_with_the_reason(
    sqlite_database: Database, site: NewsSite
) -> None:
    clock = Clock()
    site.add("Match report: derby ends 2-2", categories=("Sport",))
    site.add("Parliament passes the budget", categories=("Politics",))
    site.add("Sponsored: the best phone deals", categories=("Politics",))
    site.add("Old story resurfaces", published=clock.now - timedelta(days=3))
    feed = source(
        site.feed_url,
        exclude_categories=["sport"],
        exclude=["/^sponsored:/"],
        max_age="2d",
    )
    (report,) = poll(sqlite_database, clock, feed)
    assert (report.queued, report.skipped) == (1, 3)
    with sqlite_database.session() as session:
        rows = session.scalars(select(DeliveryRow).order_by(DeliveryRow.id)).all()
        reasons = {row.article.title: (row.status, row.error) for row in rows}
    assert reasons["Parliament passes the budget"] == ("queued", None)
    assert reasons["Match report: derby ends 2-2"] == (
        "skipped",
        "filtered: category 'sport' is excluded",
    )
    assert reasons["Sponsored: the best phone deals"] == (
        "skipped",
        "filtered: mentions '/^sponsored:/', which is excluded",
    )
    status, reason = reasons["Old story resurfaces"]
    assert status == "skipped" and reason is not None
    assert reason.startswith("filtered: published 3.0 days ago, older than max_age")


def test_the_poll_report_tells_posts_held_for_an_editor_from_those_queued(
    sqlite_database: Database, site: NewsSite, caplog: pytest.LogCaptureFixture
) -> None:
    site.add("Parliament passes the budget")
    site.add("Tram line approved")
    site.add("Sponsored: the best phone deals")
    feed = source(site.feed_url, channels=["telegram", "x"], exclude=["/^sponsored:/"])
    with caplog.at_level("INFO", logger="syndicator.polling"):
        (report,) = poll(sqlite_database, Clock(), feed, held=["x"])
    assert (report.new_articles, report.queued, report.held, report.skipped) == (3, 2, 2, 2)
    assert (
        "source agency: 3 new articles, 2 deliveries queued, 2 held for an editor, 2 skipped,"
        " 0 updated" in caplog.messages
    )
    with sqlite_database.session() as session:
        made = Counter(
            (channel, status)
            for channel, status in session.execute(select(DeliveryRow.channel, DeliveryRow.status))
        )
    assert made == {("telegram", "queued"): 2, ("x", "held"): 2,
                    ("telegram", "skipped"): 1, ("x", "skipped"): 1}  # fmt: skip


def test_the_same_story_in_two_feeds_is_queued_once_per_channel(
    sqlite_database: Database, tmp_path: Path
) -> None:
    clock = Clock()
    with NewsSite() as agency, NewsSite() as partner:
        agency.add("Tram line approved")
        partner.add("Tram line approved")  # same host and slug: the same article URL
        reports = poll(
            sqlite_database,
            clock,
            source(agency.feed_url, name="agency", channels=["telegram", "x"]),
            source(partner.feed_url, name="partner", channels=["telegram", "facebook"]),
        )
    with sqlite_database.session() as session:
        deliveries = sorted(session.scalars(select(DeliveryRow.channel)).all())
    assert deliveries == ["facebook", "telegram", "x"]
    assert sum(r.queued for r in reports) == 3


def polls(
    database: Database, clock: Clock, feed: SourceConfig, *changes: Callable[[], object]
) -> list[PollReport]:
    """Polls ``feed`` with one poller, as a daemon does: first, then after each change."""

    async def go() -> list[PollReport]:
        async with http_client() as client:
            poller = Poller(database, client, actor="test", clock=clock)
            reports = [await poller.poll(feed)]
            for change in changes:
                done = change()
                if inspect.isawaitable(done):
                    await done
                clock.advance(timedelta(minutes=2))
                reports.append(await poller.poll(feed))
            return reports

    return asyncio.run(go())


@pytest.mark.parametrize("malformed", [False, True], ids=["well-formed", "malformed"])
def test_of_a_changed_feed_only_the_changed_items_are_read_again(
    sqlite_database: Database, site: NewsSite, malformed: bool
) -> None:
    """A malformed feed (feedparser reads it) too: its known items are cut out of it."""
    if malformed:
        site.channel_title = "Eurasia News & Views"  # a bare ampersand
    for title in ("Tram line approved", "Bridge reopens", "Budget passed"):
        site.add(title)
    clock = Clock()

    def retitle() -> None:
        site.stories[0].title = "Tram line approved, 31 votes to 9"

    first, unchanged, added, corrected = polls(
        sqlite_database, clock, source(site.feed_url), lambda: None,
        lambda: site.add("Harbour strike ends"), retitle,
    )  # fmt: skip
    assert first.feed is not None and first.feed.unchanged == 0 and first.new_articles == 3
    assert unchanged.not_modified
    assert added.feed is not None and (added.feed.unchanged, added.new_articles) == (3, 1)
    assert [e.title for e in added.feed.entries] == ["Harbour strike ends"]
    assert corrected.feed is not None and corrected.feed.unchanged == 3
    assert (corrected.new_articles, corrected.updated) == (0, 1)
    recovered = [p for p in first.feed.problems if "not well-formed" in p]
    assert bool(recovered) == malformed


def test_after_another_worker_has_polled_a_feed_every_item_is_read_again(
    sqlite_database: Database, site: NewsSite
) -> None:
    site.add("Tram line approved")
    clock = Clock()

    async def another_worker_polls() -> None:
        site.add("Bridge reopens")
        async with http_client() as client:  # a poller of its own, as in another process
            other = Poller(sqlite_database, client, actor="worker-2", clock=clock)
            assert (await other.poll(source(site.feed_url))).new_articles == 1
        site.add("Budget passed")

    first, after = polls(sqlite_database, clock, source(site.feed_url), another_worker_polls)
    assert first.new_articles == 1
    assert after.feed is not None and after.feed.unchanged == 0  # its notes are not ours
    assert after.feed.entries[0].title == "Budget passed"
    assert after.new_articles == 1  # the store knows the rest all the same


def test_a_feed_is_polled_by_one_worker_at_a_time_and_taken_over_when_its_lease_runs_out(
    database: Database, site: NewsSite
) -> None:
    site.add("Tram line approved")
    clock, feed = Clock(), source(site.feed_url)

    def poll_as(actor: str) -> None:
        async def go() -> None:
            async with http_client() as client:
                poller = Poller(database, client, actor=actor, clock=clock, leases=True)
                await poller.poll(feed)

        asyncio.run(go())

    async def lease_length() -> timedelta:
        async with http_client() as client:
            return Poller(database, client, actor="any", clock=clock).lease(feed)

    lease = asyncio.run(lease_length())
    assert lease > feed.every  # the holder's next scheduled poll comes before it runs out

    poll_as("worker-a")
    poll_as("worker-b")  # A's lease runs: B leaves the feed alone
    assert site.requests == 1
    for _ in range(3):  # A polls on schedule; each poll extends its lease
        clock.advance(feed.every)
        poll_as("worker-a")
        poll_as("worker-b")
    assert site.requests == 4

    clock.advance(lease + timedelta(seconds=1))  # A has stopped: its lease runs out
    poll_as("worker-b")
    assert site.requests == 5
    clock.advance(feed.every)
    poll_as("worker-a")  # back again, A finds B holding the feed now
    assert site.requests == 5
