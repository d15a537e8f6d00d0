"""A dispatcher wired to the three emulators over real HTTP, with a clock the test moves."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from syndicator.channels import Channel, build_channel
from syndicator.config import Settings, settings_from_mapping
from syndicator.delivery.engine import Dispatcher, DispatchReport
from syndicator.delivery.retry import DEFAULT_POLICY, RetryPolicy
from syndicator.delivery.sweeper import Sweeper, SweepReport
from syndicator.demo import demo_secrets
from syndicator.formatting import Formatter
from syndicator.records import DeliveryStatus, FeedEntry
from syndicator.sandbox import DEMO_CREDENTIALS
from syndicator.store import Database
from syndicator.store.articles import record_entries, source_row
from syndicator.store.deliveries import NewDeliveries, Schedule, create_deliveries
from syndicator.store.schema import ChannelRow, DeliveryEventRow, DeliveryRow
from tests.support import NETWORKS, Sandbox

ROOT = Path(__file__).resolve().parent.parent.parent
SITE = "https://www.eurasia-news.com"


class Clock:
    """Starts at the real time (the emulators date posts by it) and moves only when told."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta

    async def sleep(self, seconds: float) -> None:
        """The dispatcher's wait for the spacing: time passes at once."""
        self.now += timedelta(seconds=seconds)
        await asyncio.sleep(0)


@dataclass
class Rig:
    """The store, the settings and the emulators a test dispatches through."""

    db: Database
    sandbox: Sandbox
    clock: Clock
    settings: Settings
    policy: RetryPolicy = DEFAULT_POLICY
    stories: int = 0
    actors: list[str] = field(default_factory=list)

    def queue(
        self,
        count: int,
        channels: tuple[str, ...] = NETWORKS,
        *,
        schedule: Schedule | None = None,
        published: datetime | None = None,
    ) -> list[int]:
        """``count`` new articles, each queued on ``channels``; their delivery ids, in order."""
        now = self.clock()
        entries = []
        for _ in range(count):
            self.stories += 1
            n = self.stories
            entries.append(
                FeedEntry(
                    guid=f"{SITE}/news/{n:04d}-story",
                    url=f"{SITE}/news/{n:04d}-story",
                    title=f"Story number {n}",
                    summary="A short summary of the story.",
                    published=published or now,
                )
            )
        with self.db.session() as session:
            source = source_row(session, "eurasia-news", f"{SITE}/feed.xml", now=now)
            recorded = record_entries(session, source, entries, now=now)
            ids = [c.id for c in recorded.candidates]
            new = NewDeliveries(DeliveryStatus.QUEUED, now, "test", schedule=schedule)
            rows = create_deliveries(session, ids, channels, new)
            made = [row.id for row in rows]
            session.commit()
        return made

    def channels(self) -> dict[str, Channel]:
        secrets = demo_secrets()
        return {c.name: build_channel(c, dict(secrets[c.name])) for c in self.settings.channels}

    async def dispatch(self, actor: str = "worker-1:1") -> DispatchReport:
        dispatcher, channels = self.dispatcher(actor)
        try:
            return await dispatcher.run_once()
        finally:
            for channel in channels.values():
                await channel.close()
            await dispatcher.client.aclose()

    def dispatcher(self, actor: str = "worker-1:1") -> tuple[Dispatcher, dict[str, Channel]]:
        channels = self.channels()
        formatter = Formatter(
            ROOT / "templates", sources=["eurasia-news"], channels=self.settings.channels
        )
        dispatcher = Dispatcher(
            self.db, self.settings, channels, formatter, httpx.AsyncClient(), actor=actor,
            clock=self.clock, policy=self.policy, sleep=self.clock.sleep,
        )  # fmt: skip
        return dispatcher, channels

    async def sweep(self, actor: str = "sweeper:1") -> SweepReport:
        channels = self.channels()
        try:
            sweeper = Sweeper(self.db, self.settings, channels, actor=actor, clock=self.clock)
            return await sweeper.sweep()
        finally:
            for channel in channels.values():
                await channel.close()

    def run(self, actor: str = "worker-1:1") -> DispatchReport:
        return asyncio.run(self.dispatch(actor))

    def deliveries(self, channel: str | None = None) -> list[DeliveryRow]:
        with self.db.session() as session:
            query = select(DeliveryRow).order_by(DeliveryRow.id)
            if channel is not None:
                query = query.where(DeliveryRow.channel == channel)
            return list(session.scalars(query))

    def statuses(self, channel: str) -> list[str]:
        return [row.status for row in self.deliveries(channel)]

    def events(self, delivery_id: int) -> list[DeliveryEventRow]:
        with self.db.session() as session:
            query = select(DeliveryEventRow).where(DeliveryEventRow.delivery_id == delivery_id)
            return list(session.scalars(query.order_by(DeliveryEventRow.id)))

    def channel_row(self, name: str) -> ChannelRow:
        with self.db.session() as session:
            row = session.scalars(select(ChannelRow).where(ChannelRow.name == name)).one()
            return row


def make_settings(sandbox_url: str, **options: dict[str, Any]) -> Settings:
    """The three emulated channels, unspaced unless ``options`` (per channel) say otherwise."""
    base: dict[str, dict[str, Any]] = {
        "telegram": {"type": "telegram", "chat_id": "@eurasianews"},
        "x": {"type": "twitter"},
        "facebook": {"type": "facebook", "page_id": DEMO_CREDENTIALS.facebook_page_id},
    }
    channels = [
        {"name": name, "api_base_url": f"{sandbox_url}/{name}", "min_spacing": "0s",
         "timeout": "5s", **fields, **options.get(name, {})}
        for name, fields in base.items()
    ]  # fmt: skip
    return settings_from_mapping(
        {
            "templates_dir": str(ROOT / "templates"),
            "daemon": {"lease": "30s"},
            "sources": [
                {
                    "name": "eurasia-news",
                    "feed": f"{SITE}/feed.xml",
                    "attribution": "EurasiaNews",
                    "channels": list(NETWORKS),
                }
            ],
            "channels": channels,
        },
        "test",
    )


@pytest.fixture(scope="module")
def emulators() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(emulators: Sandbox) -> Iterator[Sandbox]:
    """The emulators, emptied (posts, faults, enforced rate) for each test."""
    for network in NETWORKS:
        emulators.reset(network)
        httpx.delete(f"{emulators.url}/{network}/__sandbox/rate", timeout=10)
    yield emulators


RigFactory = Callable[..., Rig]


@pytest.fixture
def rig(database: Database, sandbox: Sandbox) -> RigFactory:
    """Makes a Rig on the test's database (SQLite and PostgreSQL) with per-channel options."""

    def make(policy: RetryPolicy = DEFAULT_POLICY, **options: dict[str, Any]) -> Rig:
        settings = make_settings(sandbox.url, **options)
        return Rig(database, sandbox, Clock(), settings, policy)

    return make
