"""The sweeper: settles deliveries whose sender stopped, without ever posting twice blindly.

A delivery still ``sending`` after its lease belongs to a worker that died or hung: it
becomes ``uncertain``, since the network may or may not have the post. Where the network
lets us look (``Channel.can_find``: X's recent posts, a Facebook Page's feed), an uncertain
delivery whose lease has passed is looked up by its link: found, it is ``sent`` with the
post's id; not found, it is queued again. Elsewhere (Telegram) it stays ``uncertain`` for an
editor. The lease is longer than any HTTP timeout, so the original call is over by then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from syndicator.channels import Channel
from syndicator.config import Settings
from syndicator.errors import PublishError
from syndicator.formatting.links import add_utm
from syndicator.records import DeliveryStatus, Receipt
from syndicator.secrets import redact
from syndicator.store import Database
from syndicator.store.deliveries import Change, take, transition
from syndicator.store.schema import ArticleRow, DeliveryRow

log = logging.getLogger(__name__)

# A post's time on the network may be a little earlier than our claim's (clocks differ).
CLOCK_SLACK = timedelta(minutes=2)


@dataclass
class SweepReport:
    expired: int = 0  # sending -> uncertain
    found: int = 0  # uncertain -> sent
    requeued: int = 0  # uncertain -> queued
    left: int = 0  # uncertain, for an editor (or the network could not be asked)


@dataclass(frozen=True, slots=True)
class _Lost:
    delivery_id: int
    channel: str
    link: str
    since: datetime


class Sweeper:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        channels: Mapping[str, Channel],
        *,
        actor: str,
        clock: Callable[[], datetime],
    ) -> None:
        self.db = db
        self.settings = settings
        self.channels = channels
        self.actor = actor
        self.clock = clock

    async def sweep(self) -> SweepReport:
        """Expire the leases that ran out, then settle what can be looked up."""
        report = SweepReport()
        report.expired = await asyncio.to_thread(self.expire)
        for lost in await asyncio.to_thread(self._lost):
            channel = self.channels.get(lost.channel)
            if channel is None or not channel.can_find:
                report.left += 1
                continue
            try:
                receipt = await channel.find(lost.link, lost.since)
            except PublishError as exc:
                log.warning(
                    "delivery %d on %s is uncertain and could not be looked up: %s",
                    lost.delivery_id,
                    lost.channel,
                    redact(exc.message),
                )
                report.left += 1
                continue
            settled = await asyncio.to_thread(self._settle, lost, receipt)
            if settled and receipt is not None:
                report.found += 1
            elif settled:
                report.requeued += 1
        return report

    def expire(self) -> int:
        """``sending`` past its lease -> ``uncertain``, logged with this worker as the actor."""
        now = self.clock()
        expired = 0
        with self.db.session() as session:
            query = select(DeliveryRow).where(
                DeliveryRow.status == DeliveryStatus.SENDING.value,
                DeliveryRow.lease_until < now,
            )
            for row in session.scalars(query).all():
                holder = row.claimed_by or "a worker"
                if not _take(session, row, DeliveryStatus.SENDING, now):
                    continue
                detail = f"lease of {holder} ran out while sending; the network may have the post"
                change = Change(detail=detail, error_kind="uncertain")
                transition(session, row, DeliveryStatus.UNCERTAIN, now=now, actor=self.actor,
                           change=change)  # fmt: skip
                expired += 1
                log.warning("delivery %d on %s: %s", row.id, row.channel, detail)
            session.commit()
        return expired

    def _lost(self) -> list[_Lost]:
        """Uncertain deliveries past their lease, on configured channels, with their links."""
        now = self.clock()
        with self.db.session() as session:
            query = (
                select(DeliveryRow, ArticleRow.url)
                .join(ArticleRow, ArticleRow.id == DeliveryRow.article_id)
                .where(
                    DeliveryRow.status == DeliveryStatus.UNCERTAIN.value,
                    DeliveryRow.lease_until < now,
                )
                .order_by(DeliveryRow.id)
            )
            lost = []
            for row, url in session.execute(query):
                if row.channel not in self.channels:
                    continue
                utm = self.settings.channel(row.channel).utm
                since = (row.sent_at or row.created_at) - CLOCK_SLACK
                lost.append(_Lost(row.id, row.channel, add_utm(url, utm), since))
        return lost

    def _settle(self, lost: _Lost, receipt: Receipt | None) -> bool:
        now = self.clock()
        with self.db.session() as session:
            row = session.get(DeliveryRow, lost.delivery_id)
            if row is None or not _take(session, row, DeliveryStatus.UNCERTAIN, now):
                return False  # another worker settled it
            if receipt is not None:
                change = Change(
                    detail=f"found on the network as {receipt.remote_id}",
                    remote_id=receipt.remote_id,
                    remote_url=receipt.remote_url,
                )
                transition(session, row, DeliveryStatus.SENT, now=now, actor=self.actor,
                           change=change)  # fmt: skip
            else:
                change = Change(detail="not found on the network; requeued")
                transition(session, row, DeliveryStatus.QUEUED, now=now, actor=self.actor,
                           change=change)  # fmt: skip
                row.error = row.error_kind = None
            session.commit()
        log.info(
            "delivery %d on %s: %s",
            lost.delivery_id,
            lost.channel,
            "found on the network: sent" if receipt else "not found on the network: requeued",
        )
        return True


def _take(session: Session, row: DeliveryRow, status: DeliveryStatus, now: datetime) -> bool:
    """Only one worker moves a delivery out of ``status``; ``row`` is read again if this one."""
    if not take(session, row.id, (status,), now=now):
        return False
    session.refresh(row)
    return True
