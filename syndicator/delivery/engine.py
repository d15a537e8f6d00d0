"""The dispatcher: claim -> render -> publish -> record, one channel per task.

``sending`` is committed (with a lease) before the network is called, so a crash leaves a
visible trace rather than a silent resend. A channel that is rate-limited or refuses its
credentials is paused in the database, for every worker, while the others carry on.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import httpx

from syndicator.channels import Channel
from syndicator.config import Settings
from syndicator.delivery.images import ImageError, fetch_image
from syndicator.delivery.retry import DEFAULT_POLICY, RetryPolicy, after_failure
from syndicator.errors import (
    ErrorKind,
    FormattingError,
    PermanentError,
    PublishError,
    TemplateError,
)
from syndicator.formatting import Formatter
from syndicator.records import Article, DeliveryStatus, Post
from syndicator.secrets import redact
from syndicator.store import Database
from syndicator.store.channels import (
    Claimed,
    Idle,
    NotYet,
    Outcome,
    claim_next,
    ensure_channels,
    learn,
    learn_sent,
)
from syndicator.store.deliveries import Change, due, record_sent, transition
from syndicator.store.schema import DeliveryRow

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# A channel's next post is claimed (and rendered) up to this long before its spacing ends,
# so that neither adds to the gap; short, since a crash then leaves it ``uncertain``.
CLAIM_AHEAD = timedelta(milliseconds=50)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class DispatchReport:
    """What one dispatch run did, by resulting state, and what it left waiting and why."""

    outcomes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    held: dict[str, NotYet] = field(default_factory=dict)  # channel -> what holds it

    def count(self, status: DeliveryStatus) -> int:
        return self.outcomes.get(status.value, 0)

    @property
    def attempted(self) -> int:
        return sum(self.outcomes.values())

    @property
    def problems(self) -> int:
        """Deliveries that did not end ``sent`` in this run."""
        return self.attempted - self.count(DeliveryStatus.SENT)


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed delivery, read in the claim's transaction: what sending it needs."""

    delivery_id: int
    channel: str
    article: Article
    slot: datetime  # the moment its channel's pace lets it go out


Sleep = Callable[[float], Awaitable[None]]


class Dispatcher:
    """Claims, sends and records deliveries, one channel at a time per task.

    The pace (spacing, caps, quiet hours, pauses) is read from and reserved in the database
    by each claim (:mod:`syndicator.store.channels`), so it holds across workers.
    """

    def __init__(
        self,
        db: Database,
        settings: Settings,
        channels: Mapping[str, Channel],
        formatter: Formatter,
        client: httpx.AsyncClient,
        *,
        actor: str,
        clock: Clock = utcnow,
        policy: RetryPolicy = DEFAULT_POLICY,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.db = db
        self.client = client  # for the articles' images
        self.settings = settings
        self.channels = channels
        self.formatter = formatter
        self.actor = actor
        self.clock = clock
        self.policy = policy
        self.sleep = sleep
        self._paces = {c.name: c.pace() for c in settings.channels}
        # By name, once: a newsroom's config may hold thousands of sources.
        self._sources = {s.name: s for s in settings.sources}
        self._configs = {c.name: c for c in settings.channels}
        self._ready = False

    def lease(self, channel: str) -> timedelta:
        """How long a claim holds: the configured lease, but always past the HTTP timeouts."""
        timeout = self._configs[channel].timeout
        return max(self.settings.daemon.lease, timeout * 3)

    def _ensure(self) -> None:
        if self._ready:
            return
        with self.db.session() as session:
            ensure_channels(session, self.channels, now=self.clock())
            session.commit()
        self._ready = True

    def _unconfigured(self, now: datetime) -> None:
        with self.db.session() as session:
            rows = due(session, now=now)
        waiting: dict[str, int] = defaultdict(int)
        for _, channel in rows:
            if channel not in self.channels:
                waiting[channel] += 1
        for channel, count in sorted(waiting.items()):
            log.warning(
                "%d deliveries wait for channel %r, which is not configured; left queued",
                count,
                channel,
            )

    def claim(self, name: str) -> Job | NotYet | Idle:
        """Claim the channel's next delivery if its pace allows (one short transaction)."""
        self._ensure()
        pace = self._paces[name]
        with self.db.session() as session:
            lease, ahead = self.lease(name), min(CLAIM_AHEAD, pace.min_spacing)
            now = self.clock()
            result = claim_next(session, name, pace, now=now, actor=self.actor, lease=lease,
                                ahead=ahead)  # fmt: skip
            if not isinstance(result, Claimed):
                return result
            return Job(result.delivery_id, name, result.article, result.slot)

    async def run_once(self) -> DispatchReport:
        """Send everything due now, one task per channel; spacing is waited out, but caps,
        quiet hours, pauses and retry times are not: those deliveries are left and reported.
        """
        report = DispatchReport()
        await asyncio.to_thread(self._unconfigured, self.clock())
        await asyncio.gather(*(self.drain(name, report) for name in self.channels))
        return report

    async def drain(self, name: str, report: DispatchReport) -> None:
        """Send the channel's due deliveries one after another, waiting out the spacing."""
        while True:
            result = await asyncio.to_thread(self.claim, name)
            if isinstance(result, Job):
                status = await self.send(result)
                report.outcomes[status.value] += 1
                continue
            if isinstance(result, NotYet) and result.why in ("spacing", "in flight"):
                await self.sleep(self.until_claim(result))  # moments: waited out
                continue
            if isinstance(result, NotYet):
                report.held[name] = result  # a cap, quiet hours, a pause: not waited for
            return

    def until_claim(self, held: NotYet) -> float:
        """Seconds to wait before claiming again: a spacing is claimed a moment ahead."""
        ahead = CLAIM_AHEAD if held.why == "spacing" else timedelta(0)
        return max(0.0, (held.until - ahead - self.clock()).total_seconds())

    async def step(self, name: str) -> Job | NotYet | Idle:
        """Claim and send at most one delivery of the channel; what the claim found."""
        result = await asyncio.to_thread(self.claim, name)
        if isinstance(result, Job):
            await self.send(result)
        return result

    async def send(self, job: Job) -> DeliveryStatus:
        """Render, publish and record one claimed delivery."""
        delivery_id, channel_name, article = job.delivery_id, job.channel, job.article
        channel = self.channels[channel_name]
        config = self._configs[channel_name]
        source = self._sources.get(article.source)
        if source is None:
            reason = f"source {article.source!r} is not configured any more"
            return await asyncio.to_thread(
                self._record,
                delivery_id,
                channel_name,
                DeliveryStatus.FAILED,
                Change(detail=reason),
            )
        render = functools.partial(
            self.formatter.render, config, article, attribution=source.attribution
        )
        photo, notes = None, []
        if config.images and article.image_url and channel.supports_photos:
            try:
                photo = await fetch_image(self.client, article.image_url)
            except ImageError as exc:
                notes.append(f"posted as text: {exc}")
        try:
            try:
                post = render(photo=photo is not None)
            except (FormattingError, TemplateError) as exc:
                if photo is None:
                    raise
                notes.append(f"posted as text: no caption fits: {exc}")
                photo, post = None, render()
        except (FormattingError, TemplateError) as exc:
            return await asyncio.to_thread(
                self._record,
                delivery_id,
                channel_name,
                DeliveryStatus.FAILED,
                Change(detail=str(exc)),
            )
        wait = (job.slot - self.clock()).total_seconds()
        if wait > 0:  # claimed a moment ahead of its slot: rendered, now it goes out on time
            await self.sleep(wait)
        started, left_at = time.monotonic(), self.clock()
        try:
            try:
                receipt = await channel.publish(replace(post, photo=photo))
            except PermanentError as exc:
                if photo is None:
                    raise
                # The network refused the photo post: the article still goes out, as text.
                notes.append(f"posted as text: the photo was refused: {exc.message}")
                post = render()
                receipt = await channel.publish(post)
        except PublishError as exc:
            answered_at = self.clock()
            return await asyncio.to_thread(
                self._failed, delivery_id, channel_name, post, exc, started, answered_at
            )
        except Exception as exc:  # a bug or a library surprise: the post may exist
            log.exception(
                "unexpected error publishing delivery %d on %s", delivery_id, channel_name
            )
            detail = redact(f"unexpected {type(exc).__name__}: {exc}")
            change = Change(detail=detail, error_kind=ErrorKind.UNCERTAIN.value)
            return await asyncio.to_thread(
                self._record, delivery_id, channel_name, DeliveryStatus.UNCERTAIN, change
            )
        # The spacing runs from when the network most likely took the post: half-way through
        # the round trip (one post is in flight per channel, so the next leaves after this
        # answer; a whole round trip on every gap would cost 5% of the rate at 5 posts/s).
        answered_at = left_at + (self.clock() - left_at) / 2
        for note in notes:
            log.warning("delivery %d on %s: %s", delivery_id, channel_name, redact(note))
        latency = int((time.monotonic() - started) * 1000)
        log.info(
            "sent %r to %s: %s",
            article.title,
            channel_name,
            receipt.remote_url or receipt.remote_id,
        )
        change = Change(
            remote_id=receipt.remote_id,
            remote_url=receipt.remote_url,
            http_status=receipt.http_status,
            latency_ms=latency,
            text=post.text,
            detail="; ".join([f"published as {receipt.remote_id}", *notes]),
        )
        return await asyncio.to_thread(
            self._record, delivery_id, channel_name, DeliveryStatus.SENT, change, answered_at
        )

    def _failed(
        self,
        delivery_id: int,
        channel: str,
        post: Post,
        exc: PublishError,
        started: float,
        answered_at: datetime,
    ) -> DeliveryStatus:
        latency = int((time.monotonic() - started) * 1000)
        now = self.clock()
        message = redact(exc.message)
        with self.db.session() as session:
            row = session.get(DeliveryRow, delivery_id)
            assert row is not None
            decision = after_failure(
                exc.kind,
                attempt=row.attempts,
                now=now,
                retry_after=getattr(exc, "retry_after", None),
                policy=self.policy,
                rand=random.random(),
            )
            if not decision.counts_attempt:
                row.attempts -= 1
            if decision.pause_channel_until is not None:
                auth = exc.kind is ErrorKind.AUTH
                reason = f"{'credentials refused' if auth else 'rate limited'}: {message}"
                outcome = Outcome(
                    pause_until=decision.pause_channel_until,
                    pause_reason=reason,
                    rate_limited=exc.kind is ErrorKind.RATE_LIMITED,
                    auth_error=message if auth else None,
                    answered_at=answered_at,
                )
                learn(session, channel, outcome, now=now)
            else:
                learn(session, channel, Outcome(answered_at=answered_at), now=now)
            change = Change(
                detail=exc.message,
                error_kind=exc.kind.value,
                http_status=exc.status,
                error_code=exc.code,
                latency_ms=latency,
                next_attempt_at=decision.next_attempt_at,
                text=post.text,
            )
            transition(session, row, decision.status, now=now, actor=self.actor, change=change)
            session.commit()
        when = f", next try {decision.next_attempt_at:%H:%M:%S}" if decision.next_attempt_at else ""
        log.warning(
            "delivery %d on %s: %s (%s) -> %s%s",
            delivery_id,
            channel,
            message,
            exc.kind.value,
            decision.status.value,
            when,
        )
        return decision.status

    def _record(
        self,
        delivery_id: int,
        channel: str,
        status: DeliveryStatus,
        change: Change,
        answered_at: datetime | None = None,
    ) -> DeliveryStatus:
        now = self.clock()
        if status is DeliveryStatus.SENT:
            with self.db.session() as session:  # the common case: statements made once
                connection = session.connection()
                record_sent(connection, delivery_id, now=now, actor=self.actor, change=change)
                learn_sent(session, channel, now=now, answered_at=answered_at or now)
                session.commit()
            return status
        with self.db.session() as session:
            row = session.get(DeliveryRow, delivery_id)
            assert row is not None
            transition(session, row, status, now=now, actor=self.actor, change=change)
            session.commit()
        log.warning("delivery %d: %s: %s", delivery_id, status.value, change.detail)
        return status
