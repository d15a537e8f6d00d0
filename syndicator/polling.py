"""One poll of one source: fetch -> new articles -> deliveries queued for its channels.

The first successful poll of a source records what the feed already holds as seen, and
queues only the ``backfill`` newest items: starting syndicator on a site must not flood its
channels with its archive.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy.orm import Session

from syndicator.config import SourceConfig
from syndicator.errors import FeedError
from syndicator.records import DeliveryStatus
from syndicator.secrets import redact
from syndicator.sources.feed import FeedFetch, fetch_feed
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
    not_modified: bool = False
    error: str | None = None


class Poller:
    def __init__(
        self,
        db: Database,
        client: httpx.AsyncClient,
        *,
        actor: str,
        clock: Callable[[], datetime],
    ) -> None:
        self.db = db
        self.client = client
        self.actor = actor
        self.clock = clock

    async def poll(self, source: SourceConfig) -> PollReport:
        with self.db.session() as session:
            row = source_row(session, source.name, source.feed, now=self.clock())
            etag, last_modified = row.etag, row.last_modified
            session.commit()
        try:
            fetched = await fetch_feed(
                self.client, source.feed, etag=etag, last_modified=last_modified
            )
        except FeedError as exc:
            return self._record_failure(source, exc)
        for problem in fetched.problems:
            log.warning("source %s: %s", source.name, redact(problem))
        with self.db.session() as session:
            row = source_row(session, source.name, source.feed, now=self.clock())
            report = self._record_success(session, source, row, fetched)
            session.commit()
        if report.new_articles:
            log.info(
                "source %s: %d new %s, %d %s queued",
                source.name,
                report.new_articles,
                "article" if report.new_articles == 1 else "articles",
                report.queued,
                "delivery" if report.queued == 1 else "deliveries",
            )
        return report

    def _record_success(
        self, session: Session, source: SourceConfig, row: SourceRow, fetched: FeedFetch
    ) -> PollReport:
        now = self.clock()
        first_poll = row.first_polled_at is None
        row.last_polled_at = row.last_success_at = now
        row.last_status, row.last_error, row.consecutive_failures = fetched.status, None, 0
        if fetched.not_modified:
            return PollReport(source.name, not_modified=True)
        row.etag, row.last_modified = fetched.etag, fetched.last_modified
        new = record_entries(session, row, fetched.entries, now=now)
        if first_poll:
            row.first_polled_at = now
            ordered = newest_first(new)
            to_post, seen = ordered[: source.backfill], ordered[source.backfill :]
        else:
            to_post, seen = new, []
        queued = self._queue(session, source, to_post, DeliveryStatus.QUEUED, None, now)
        self._queue(
            session,
            source,
            seen,
            DeliveryStatus.SKIPPED,
            f"already in the feed at the first poll (backfill = {source.backfill})",
            now,
        )
        return PollReport(source.name, new_articles=len(new), queued=queued)

    def _queue(
        self,
        session: Session,
        source: SourceConfig,
        articles: list[NewArticle],
        status: DeliveryStatus,
        detail: str | None,
        now: datetime,
    ) -> int:
        # Oldest first, so ids (the dispatch order) follow publication order.
        ids = [item.row.id for item in reversed(newest_first(articles))]
        rows = create_deliveries(
            session, ids, source.channels, status=status, now=now, actor=self.actor, detail=detail
        )
        return len(rows)

    def _record_failure(self, source: SourceConfig, exc: FeedError) -> PollReport:
        reason = redact(exc.reason)
        with self.db.session() as session:
            row = source_row(session, source.name, source.feed, now=self.clock())
            row.last_polled_at = self.clock()
            row.last_status = exc.status
            row.last_error = reason
            row.consecutive_failures += 1
            failures = row.consecutive_failures
            session.commit()
        log.warning("source %s: %s (failure %d in a row)", source.name, redact(str(exc)), failures)
        return PollReport(source.name, error=reason)
