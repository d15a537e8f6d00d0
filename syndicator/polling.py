"""One poll of one source: fetch -> new articles -> deliveries queued for its channels.

The first successful poll of a source records what the feed already holds as seen, and
queues only the ``backfill`` newest items: starting syndicator on a site must not flood its
channels with its archive. Entries the source's filters keep out are recorded as skipped,
with the reason. A feed that fails is polled less and less often until it recovers; a
server's ``Retry-After`` is honoured. Pushed content (WebSub) takes the same path.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy.orm import Session

from syndicator.config import PollingConfig, SourceConfig
from syndicator.errors import FeedError
from syndicator.records import DeliveryStatus
from syndicator.secrets import redact
from syndicator.sources.feed import FeedFetch, fetch_feed
from syndicator.sources.filters import EntryFilter
from syndicator.sources.parse import ParsedFeed, parse_feed
from syndicator.store import Database
from syndicator.store.articles import NewArticle, newest_first, record_entries, source_row
from syndicator.store.deliveries import create_deliveries
from syndicator.store.schema import SourceRow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PollReport:
    source: str
    new_articles: int = 0
    queued: int = 0
    skipped: int = 0
    updated: int = 0
    not_modified: bool = False
    error: str | None = None
    deferred_until: datetime | None = None  # not polled: backing off until then
    feed: ParsedFeed | None = None  # what was read (hub and self links for WebSub)


def next_poll_after_failure(
    *,
    now: datetime,
    every: timedelta,
    failures: int,
    max_backoff: timedelta,
    retry_after: float | None,
) -> datetime:
    """Exponential backoff from the source's own interval, capped; ``Retry-After`` wins if later."""
    wait: timedelta = min(every * 2 ** min(failures, 30), max(max_backoff, every))
    if retry_after is not None:
        wait = max(wait, timedelta(seconds=retry_after))
    return now + wait


class Poller:
    def __init__(
        self,
        db: Database,
        client: httpx.AsyncClient,
        *,
        actor: str,
        clock: Callable[[], datetime],
        config: PollingConfig | None = None,
    ) -> None:
        self.db = db
        self.client = client
        self.actor = actor
        self.clock = clock
        self.config = config or PollingConfig()
        self._all = asyncio.Semaphore(self.config.max_connections)
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(self.config.max_per_host)
        )

    async def poll(self, source: SourceConfig) -> PollReport:
        now = self.clock()
        with self.db.session() as session:
            row = source_row(session, source.name, source.feed, now=now)
            etag, last_modified, not_before = row.etag, row.last_modified, row.next_poll_at
            session.commit()
        # A scheduled poll may come a little early (jitter): only a real backoff defers it.
        if not_before is not None and not_before - now > source.every / 4:
            log.debug("source %s: backing off until %s", source.name, not_before)
            return PollReport(source.name, deferred_until=not_before)
        host = urlsplit(source.feed).hostname or ""
        try:
            async with self._all, self._hosts[host]:
                fetched = await fetch_feed(
                    self.client,
                    source.feed,
                    etag=etag,
                    last_modified=last_modified,
                    max_bytes=self.config.max_bytes,
                )
        except FeedError as exc:
            return self._record_failure(source, exc)
        return self._record(source, fetched)

    async def ingest_push(
        self, source: SourceConfig, content: bytes, content_type: str | None
    ) -> PollReport:
        """Content a WebSub hub pushed for ``source``: ingested at once, like a poll's."""
        try:
            feed = await asyncio.to_thread(
                parse_feed, content, base_url=source.feed, content_type=content_type
            )
        except FeedError as exc:
            log.warning("source %s: pushed content unreadable: %s", source.name, exc.reason)
            return PollReport(source.name, error=exc.reason)
        return self._record(source, FeedFetch(False, None, None, None, feed), pushed=True)

    def _record(
        self, source: SourceConfig, fetched: FeedFetch, *, pushed: bool = False
    ) -> PollReport:
        for problem in fetched.problems:
            log.warning("source %s: %s", source.name, redact(problem))
        with self.db.session() as session:
            row = source_row(session, source.name, source.feed, now=self.clock())
            report = self._record_success(session, source, row, fetched, pushed)
            session.commit()
        if report.new_articles or report.updated:
            log.info(
                "source %s%s: %d new %s, %d %s queued, %d skipped, %d updated",
                source.name,
                " (pushed)" if pushed else "",
                report.new_articles,
                "article" if report.new_articles == 1 else "articles",
                report.queued,
                "delivery" if report.queued == 1 else "deliveries",
                report.skipped,
                report.updated,
            )
        return report

    def _record_success(
        self,
        session: Session,
        source: SourceConfig,
        row: SourceRow,
        fetched: FeedFetch,
        pushed: bool,
    ) -> PollReport:
        now = self.clock()
        if not pushed:
            row.last_polled_at = row.last_success_at = now
            row.last_status, row.last_error = fetched.status, None
            row.consecutive_failures, row.next_poll_at = 0, None
        if fetched.not_modified:
            return PollReport(source.name, not_modified=True)
        if not pushed:
            row.etag, row.last_modified = fetched.etag, fetched.last_modified
        recorded = record_entries(session, row, fetched.entries, now=now)
        row.articles_seen += len(recorded.candidates)
        first_poll = row.first_polled_at is None
        if first_poll:
            row.first_polled_at = now
        queued, skipped = self._route(session, source, recorded.candidates, first_poll, now)
        return PollReport(
            source.name,
            new_articles=len(recorded.candidates),
            queued=queued,
            skipped=skipped,
            updated=recorded.updated,
            feed=fetched.feed,
        )

    def _route(
        self,
        session: Session,
        source: SourceConfig,
        candidates: list[NewArticle],
        first_poll: bool,
        now: datetime,
    ) -> tuple[int, int]:
        """Queue what may be posted; record the rest as skipped, each with its reason."""
        entry_filter = EntryFilter.of(source)
        backfill = set()
        if first_poll:
            backfill = {id(item) for item in newest_first(candidates)[: source.backfill]}
        reasons: dict[str | None, list[NewArticle]] = defaultdict(list)
        for item in candidates:
            reason = entry_filter.rejection(item.entry, now)
            if reason is None and first_poll and id(item) not in backfill:
                reason = f"already in the feed at the first poll (backfill = {source.backfill})"
            reasons[reason].append(item)
        queued = skipped = 0
        for reason, items in reasons.items():
            status = DeliveryStatus.QUEUED if reason is None else DeliveryStatus.SKIPPED
            # Oldest first, so ids (the dispatch order) follow publication order.
            ids = [item.row.id for item in reversed(newest_first(items))]
            made = len(
                create_deliveries(
                    session,
                    ids,
                    source.channels,
                    status=status,
                    now=now,
                    actor=self.actor,
                    detail=reason,
                )
            )
            if reason is None:
                queued += made
            else:
                skipped += made
        return queued, skipped

    def _record_failure(self, source: SourceConfig, exc: FeedError) -> PollReport:
        reason = redact(exc.reason)
        now = self.clock()
        with self.db.session() as session:
            row = source_row(session, source.name, source.feed, now=now)
            row.last_polled_at = now
            row.last_status = exc.status
            row.last_error = reason
            row.consecutive_failures += 1
            row.next_poll_at = next_poll_after_failure(
                now=now,
                every=source.every,
                failures=row.consecutive_failures - 1,
                max_backoff=self.config.max_backoff,
                retry_after=exc.retry_after,
            )
            failures, until = row.consecutive_failures, row.next_poll_at
            session.commit()
        log.warning(
            "source %s: %s (failure %d in a row; next try %s)",
            source.name,
            redact(str(exc)),
            failures,
            f"{until:%H:%M:%S}",
        )
        return PollReport(source.name, error=reason, deferred_until=until)
