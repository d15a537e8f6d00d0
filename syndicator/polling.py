"""One poll of one source: fetch -> new articles -> deliveries queued for its channels.

The first successful poll of a source records what the feed already holds as seen, and
queues only the ``backfill`` newest items: starting syndicator on a site must not flood its
channels with its archive. Entries the source's filters keep out are recorded as skipped,
with the reason. A feed that fails is polled less and less often until it recovers; a
server's ``Retry-After`` is honoured. Pushed content (WebSub) takes the same path.

A daemon polls thousands of feeds every few minutes, and most have not changed: a poll
costs one read of the source's row, a conditional GET, and one update (docs/benchmarks.md).
Of a feed that has changed, only the items that changed are read again: the poller keeps
each feed's item fingerprints from its last reading (see ``_ReadItems``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.engine import Connection

from syndicator.config import PollingConfig, SourceConfig
from syndicator.delivery import pacing
from syndicator.delivery.pacing import Pace
from syndicator.errors import FeedError
from syndicator.records import DeliveryStatus
from syndicator.secrets import redact
from syndicator.sources.fastparse_model import DIGEST_BYTES
from syndicator.sources.feed import FeedFetch, fetch_feed
from syndicator.sources.filters import EntryFilter
from syndicator.sources.parse import ParsedFeed, parse_feed
from syndicator.store import Database
from syndicator.store.articles import (
    NewArticle,
    SourceState,
    newest_first,
    record_entries,
    record_poll,
    source_row,
    source_state,
)
from syndicator.store.deliveries import NewDeliveries, Schedule, add_deliveries
from syndicator.store.sources import claim_poll

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PollReport:
    source: str
    new_articles: int = 0
    queued: int = 0
    held: int = 0  # new deliveries held for an editor (their channel has hold = true)
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


class _Digests(Container[bytes]):
    """Item fingerprints packed in one bytes object; a set is made only if one is looked up,
    so an unchanged feed (a 304) costs nothing here.
    """

    def __init__(self, packed: bytes = b"") -> None:
        self.packed = packed
        self._set: frozenset[bytes] | None = None

    def __contains__(self, digest: object) -> bool:
        if self._set is None:
            size, packed = DIGEST_BYTES, self.packed
            self._set = frozenset(packed[i : i + size] for i in range(0, len(packed), size))
        return digest in self._set


class _ReadItems:
    """The item fingerprints of each source's last reading, kept while the store agrees.

    They are good for the next poll only if nothing else has recorded the source since: the
    source's ``last_success_at`` and ``etag`` in the store must still be those this process
    wrote with them (another worker's poll, or ours failing to commit, changes or keeps them
    otherwise). Some 400 bytes per source.
    """

    def __init__(self) -> None:
        self._by_source: dict[str, tuple[datetime, str | None, bytes]] = {}

    def known(self, state: SourceState) -> _Digests:
        kept = self._by_source.get(state.name)
        if kept is None or kept[:2] != (state.last_success_at, state.etag):
            return _Digests()
        return _Digests(kept[2])

    def keep(
        self,
        source: str,
        success_at: datetime,
        etag: str | None,
        digests: _Digests | Iterable[bytes],
    ) -> None:
        """Keeps the fingerprints of a reading just recorded (none: forgets the source's)."""
        packed = digests.packed if isinstance(digests, _Digests) else b"".join(sorted(digests))
        if packed:
            self._by_source[source] = (success_at, etag, packed)
        else:
            self._by_source.pop(source, None)

    def forget(self, source: str) -> None:
        self._by_source.pop(source, None)


class Poller:
    """Polls sources one at a time or all at once, within the fetch limits of ``config``."""

    def __init__(
        self,
        db: Database,
        client: httpx.AsyncClient,
        *,
        actor: str,
        clock: Callable[[], datetime],
        config: PollingConfig | None = None,
        paces: Mapping[str, Pace] | None = None,
        leases: bool = False,
        held: Iterable[str] = (),
    ) -> None:
        self.db = db
        self.held = frozenset(held)  # channels whose new deliveries wait for an editor
        self.leases = leases  # take each source's poll lease (a daemon among several workers)
        self.paces = dict(paces or {})  # channel -> its pace: a delay sets when a post is due
        self.client = client
        self.actor = actor
        self.clock = clock
        self.config = config or PollingConfig()
        self._all = asyncio.Semaphore(self.config.max_connections)
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(self.config.max_per_host)
        )
        self._read = _ReadItems()

    def lease(self, source: SourceConfig) -> timedelta:
        """How long a poll lease holds: past this worker's next poll of the source (interval,
        jitter and a slow fetch), so that another worker takes the source over only if this
        one stops polling it.
        """
        config = self.config
        return source.every + config.jitter + config.connect_timeout + config.read_timeout

    async def poll(self, source: SourceConfig, *, force: bool = False) -> PollReport:
        """Poll the source, unless it backs off or another worker holds its poll lease
        (``force``: poll anyway, as ``run --once`` does).
        """
        now = self.clock()
        with self.db.engine.begin() as connection:  # plain SQL: this runs for every source
            state = source_state(connection, source.name, source.feed, now=now)
            until = now + self.lease(source)
            leased = (
                force
                or not self.leases
                or self._holds_lease(state, now)  # extended when the poll is recorded
                or claim_poll(connection, state.id, actor=self.actor, now=now, until=until)
            )
        if not leased:
            log.debug("source %s: another worker polls it", source.name)
            return PollReport(source.name)
        # A scheduled poll may come a little early (jitter): only a real backoff defers it.
        not_before = state.next_poll_at
        if not_before is not None and not_before - now > source.every / 4:
            log.debug("source %s: backing off until %s", source.name, not_before)
            return PollReport(source.name, deferred_until=not_before)
        host = urlsplit(source.feed).hostname or ""
        known = self._read.known(state)
        try:
            async with self._all, self._hosts[host]:
                fetched = await fetch_feed(
                    self.client,
                    source.feed,
                    etag=state.etag,
                    last_modified=state.last_modified,
                    max_bytes=self.config.max_bytes,
                    known=known,
                )
        except FeedError as exc:
            return self._record_failure(source, exc)
        if fetched.not_modified:  # the common case, and the cheapest: one update, by key
            succeeded = self._succeeded(source, fetched.status, self.clock())
            with self.db.engine.begin() as connection:
                record_poll(connection, state.id, **succeeded)
            self._read.keep(source.name, succeeded["last_success_at"], state.etag, known)
            return PollReport(source.name, not_modified=True)
        return self._record(source, fetched, state)

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
        self._read.forget(source.name)  # the next poll reads every item again
        return self._record(source, FeedFetch(False, None, None, None, feed), pushed=True)

    def _record(
        self,
        source: SourceConfig,
        fetched: FeedFetch,
        state: SourceState | None = None,
        *,
        pushed: bool = False,
    ) -> PollReport:
        """Records what was read; ``state`` is the source's as the poll read it, if it did."""
        for problem in fetched.problems:
            log.warning("source %s: %s", source.name, redact(problem))
        now = self.clock()
        with self.db.engine.begin() as connection:
            if state is None:
                state = source_state(connection, source.name, source.feed, now=now)
            report = self._record_success(connection, source, state, fetched, pushed, now)
        if not pushed:
            self._read.keep(source.name, now, fetched.etag, fetched.feed.item_digests)
        if report.new_articles or report.updated:
            log.info(
                "source %s%s: %d new %s, %d %s queued, %d held for an editor, %d skipped, "
                "%d updated",
                source.name,
                " (pushed)" if pushed else "",
                report.new_articles,
                "article" if report.new_articles == 1 else "articles",
                report.queued,
                "delivery" if report.queued == 1 else "deliveries",
                report.held,
                report.skipped,
                report.updated,
            )
        return report

    def _holds_lease(self, state: SourceState, now: datetime) -> bool:
        """This worker's lease on the source runs on: no other worker can take it meanwhile."""
        until = state.poll_lease_until
        return state.poll_claimed_by == self.actor and until is not None and until > now

    def _succeeded(self, source: SourceConfig, status: int | None, now: datetime) -> dict[str, Any]:
        """The source's health after a successful fetch (and this worker's lease, extended)."""
        values: dict[str, Any] = {
            "last_polled_at": now, "last_success_at": now, "last_status": status,
            "last_error": None, "consecutive_failures": 0, "next_poll_at": None,
        }  # fmt: skip
        if self.leases:
            values |= {"poll_claimed_by": self.actor, "poll_lease_until": now + self.lease(source)}
        return values

    def _record_success(
        self,
        connection: Connection,
        source: SourceConfig,
        state: SourceState,
        fetched: FeedFetch,
        pushed: bool,
        now: datetime,
    ) -> PollReport:
        recorded = record_entries(connection, state, fetched.entries, now=now)
        first_poll = state.first_polled_at is None
        values = {"articles_seen": len(recorded.candidates), "first_polled_at": now}
        if not pushed:
            values |= self._succeeded(source, fetched.status, now)
            values |= {"etag": fetched.etag, "last_modified": fetched.last_modified}
        record_poll(connection, state.id, **values)
        made = self._route(connection, source, recorded.candidates, first_poll, now)
        return PollReport(
            source.name,
            new_articles=len(recorded.candidates),
            queued=made[DeliveryStatus.QUEUED],
            held=made[DeliveryStatus.HELD],
            skipped=made[DeliveryStatus.SKIPPED],
            updated=recorded.updated,
            feed=fetched.feed,
        )

    def _route(
        self,
        connection: Connection,
        source: SourceConfig,
        candidates: list[NewArticle],
        first_poll: bool,
        now: datetime,
    ) -> Counter[DeliveryStatus]:
        """Queue what may be posted (held for an editor, on a channel with ``hold = true``);
        record the rest as skipped, each with its reason. The new deliveries, by state.
        """
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
        made: Counter[DeliveryStatus] = Counter()
        for reason, items in reasons.items():
            status = DeliveryStatus.QUEUED if reason is None else DeliveryStatus.SKIPPED
            # Oldest first, so ids (the dispatch order) follow publication order.
            ids = [item.id for item in reversed(newest_first(items))]
            schedule = self._schedule(items, source.channels, now) if reason is None else None
            new = NewDeliveries(
                status, now, self.actor, detail=reason, schedule=schedule, held=self.held
            )
            made += add_deliveries(connection, ids, source.channels, new)
        return made

    def _schedule(
        self, items: list[NewArticle], channels: list[str], now: datetime
    ) -> Schedule | None:
        """When each new delivery may go out, for channels with a delay after publication."""
        delayed = {c: self.paces[c] for c in channels if c in self.paces and self.paces[c].delay}
        if not delayed:
            return None
        published = {item.id: item.entry.published for item in items}

        def due_at(article_id: int, channel: str) -> datetime | None:
            pace = delayed.get(channel)
            if pace is None:
                return None
            return pacing.not_before(pace, published.get(article_id), now)

        return due_at

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
