"""The dispatcher: due deliveries -> render -> publish -> posting log.

``sending`` is committed before the network is called, so a crash leaves a visible trace
rather than a silent resend. Each channel is worked through in its own task, oldest first;
a channel that is rate-limited or refuses its credentials is paused for the rest of the run
while the others carry on.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

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
from syndicator.records import DeliveryStatus, Post
from syndicator.secrets import redact
from syndicator.store import Database
from syndicator.store.articles import to_article
from syndicator.store.deliveries import Change, claim, due, transition
from syndicator.store.schema import DeliveryRow

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class DispatchReport:
    """What one dispatch run did, by resulting state."""

    outcomes: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def count(self, status: DeliveryStatus) -> int:
        return self.outcomes.get(status.value, 0)

    @property
    def attempted(self) -> int:
        return sum(self.outcomes.values())

    @property
    def problems(self) -> int:
        """Deliveries that did not end ``sent`` in this run."""
        return self.attempted - self.count(DeliveryStatus.SENT)


class Dispatcher:
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
    ) -> None:
        self.db = db
        self.client = client  # for the articles' images
        self.settings = settings
        self.channels = channels
        self.formatter = formatter
        self.actor = actor
        self.clock = clock
        self.policy = policy
        self.paused_until: dict[str, datetime] = {}

    def _due_by_channel(self, now: datetime) -> dict[str, list[int]]:
        with self.db.session() as session:
            rows = due(session, now=now)
        grouped: dict[str, list[int]] = defaultdict(list)
        for delivery_id, channel in rows:
            grouped[channel].append(delivery_id)
        return grouped

    async def run_once(self) -> DispatchReport:
        """Send everything due now, one task per channel."""
        report = DispatchReport()
        waiting = self._due_by_channel(self.clock())
        for channel in sorted(set(waiting) - set(self.channels)):
            log.warning(
                "%d deliveries wait for channel %r, which is not configured; left queued",
                len(waiting[channel]),
                channel,
            )
        await asyncio.gather(
            *(
                self._run_channel(name, ids, report)
                for name, ids in waiting.items()
                if name in self.channels
            )
        )
        return report

    async def _run_channel(self, name: str, ids: list[int], report: DispatchReport) -> None:
        for delivery_id in ids:
            paused = self.paused_until.get(name)
            if paused is not None and paused > self.clock():
                log.info("channel %s paused until %s; %d left queued", name, paused, len(ids))
                return
            status = await self.send(delivery_id)
            if status is not None:
                report.outcomes[status.value] += 1

    async def send(self, delivery_id: int) -> DeliveryStatus | None:
        """Claim, render, publish and record one delivery. None if it was not due any more."""
        with self.db.session() as session:
            row = claim(session, delivery_id, now=self.clock(), actor=self.actor)
            if row is None:
                return None
            article = to_article(row.article)
            channel_name = row.channel
            session.commit()
        channel = self.channels[channel_name]
        config = self.settings.channel(channel_name)
        source = next((s for s in self.settings.sources if s.name == article.source), None)
        if source is None:
            reason = f"source {article.source!r} is not configured any more"
            return self._record(delivery_id, DeliveryStatus.FAILED, Change(detail=reason))
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
            return self._record(delivery_id, DeliveryStatus.FAILED, Change(detail=str(exc)))
        started = time.monotonic()
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
            return self._failed(delivery_id, channel_name, post, exc, started)
        except Exception as exc:  # a bug or a library surprise: the post may exist
            log.exception(
                "unexpected error publishing delivery %d on %s", delivery_id, channel_name
            )
            detail = redact(f"unexpected {type(exc).__name__}: {exc}")
            change = Change(detail=detail, error_kind=ErrorKind.UNCERTAIN.value)
            return self._record(delivery_id, DeliveryStatus.UNCERTAIN, change)
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
            latency_ms=latency,
            text=post.text,
            detail="; ".join([f"published as {receipt.remote_id}", *notes]),
        )
        return self._record(delivery_id, DeliveryStatus.SENT, change)

    def _failed(
        self, delivery_id: int, channel: str, post: Post, exc: PublishError, started: float
    ) -> DeliveryStatus:
        now = self.clock()
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
                self.paused_until[channel] = decision.pause_channel_until
            change = Change(
                detail=exc.message,
                error_kind=exc.kind.value,
                http_status=exc.status,
                latency_ms=int((time.monotonic() - started) * 1000),
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
            redact(exc.message),
            exc.kind.value,
            decision.status.value,
            when,
        )
        return decision.status

    def _record(self, delivery_id: int, status: DeliveryStatus, change: Change) -> DeliveryStatus:
        with self.db.session() as session:
            row = session.get(DeliveryRow, delivery_id)
            assert row is not None
            transition(session, row, status, now=self.clock(), actor=self.actor, change=change)
            session.commit()
        if status is not DeliveryStatus.SENT:
            log.warning("delivery %d: %s: %s", delivery_id, status.value, change.detail)
        return status
