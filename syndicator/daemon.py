"""The daemon: APScheduler runs a poll job per source and the sweeper; each channel has a
dispatch task of its own, in one event loop.

A channel's task sleeps until its pace lets it post again or its next delivery becomes due,
and wakes at once when a poll here queues something (and every ``dispatch_every``, for what
other workers queued). Stopping (SIGINT/SIGTERM) pauses the scheduler, lets a poll or a send
that is under way finish, then closes the network clients: a post is never cut off half-way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import SecretStr

from syndicator.channels import Channel, build_channel
from syndicator.config import Settings
from syndicator.delivery.engine import Dispatcher, DispatchReport, Job, utcnow
from syndicator.delivery.sweeper import Sweeper, SweepReport
from syndicator.formatting import Formatter
from syndicator.listener import build_listener
from syndicator.polling import Poller, PollReport
from syndicator.secrets import REDACTOR
from syndicator.serving import ServedApp, bind
from syndicator.sources.feed import http_client
from syndicator.sources.websub import WebSub, load_master_key
from syndicator.store import Database
from syndicator.store.channels import Idle, NotYet

log = logging.getLogger(__name__)

DRAIN_TIMEOUT = 60.0  # seconds a stop waits for work under way
MAX_SLEEP = 60.0  # a channel's task looks again at least this often, whatever holds it
MIN_SLEEP = 0.05  # and waits at least this long when it found nothing it could claim


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def default_templates_dir() -> Path:
    """``templates/`` in the working directory, else the checkout's, else the installed copy."""
    candidates = [
        Path("templates"),
        Path(__file__).resolve().parent.parent / "templates",  # a checkout, an editable install
        Path(sys.prefix) / "share" / "syndicator" / "templates",  # pip install .
    ]
    return next((path for path in candidates if path.is_dir()), candidates[0])


class Daemon:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        channels: Mapping[str, Channel],
        formatter: Formatter,
        client: httpx.AsyncClient,
        *,
        actor: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.channels = channels
        self.actor = actor or worker_id()
        self.clock = clock
        paces = {channel.name: channel.pace() for channel in settings.channels}
        self.poller = Poller(
            db,
            client,
            actor=self.actor,
            clock=clock,
            config=settings.polling,
            paces=paces,
            leases=True,
            held=[channel.name for channel in settings.channels if channel.hold],
        )
        self.dispatcher = Dispatcher(
            db, settings, channels, formatter, client, actor=self.actor, clock=clock
        )
        self.sweeper = Sweeper(db, settings, channels, actor=self.actor, clock=clock)
        self._dispatch_lock = asyncio.Lock()
        self._wake: dict[str, asyncio.Event] = {}
        self._stopping = False
        self._inflight: set[asyncio.Future[object]] = set()
        self._scheduler: AsyncIOScheduler | None = None
        self.websub: WebSub | None = None  # set when [websub] callback_base is configured

    async def poll_all(self, *, force: bool = False) -> list[PollReport]:
        polls = (self.poller.poll(s, force=force) for s in self.settings.sources)
        return list(await asyncio.gather(*polls))

    async def dispatch(self) -> DispatchReport:
        async with self._dispatch_lock:
            return await self.dispatcher.run_once()

    async def sweep(self) -> SweepReport:
        report = await self.sweeper.sweep()
        if report.requeued:
            self.wake_dispatcher()
        return report

    async def run_once(self) -> DispatchReport:
        """Settle what a stopped run left, poll every source once and send everything due."""
        await self.sweep()
        await self.poll_all(force=True)
        return await self.dispatch()

    def _tracked(self, job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        """Run ``job`` as a task the stop can wait for, even if the scheduler lets go of it."""

        async def run() -> None:
            task = asyncio.ensure_future(job())
            self._inflight.add(task)
            task.add_done_callback(self._finished)
            with contextlib.suppress(Exception):
                await asyncio.shield(task)

        return run

    def _finished(self, task: asyncio.Task[object]) -> None:
        self._inflight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "scheduled job failed; it runs again at its next time",
                exc_info=task.exception(),
            )

    def _poll_job(self, index: int) -> Callable[[], Awaitable[None]]:
        source = self.settings.sources[index]

        async def poll() -> None:
            report = await self.poller.poll(source)
            if report.queued:
                self.wake_dispatcher()
            if self.websub is not None and report.feed is not None:
                topic = report.feed.self_url or source.feed
                await self.websub.ensure(source.name, report.feed.hub, topic, datetime.now(UTC))

        return poll

    async def on_push(self, source_name: str, content: bytes, content_type: str | None) -> None:
        """A hub pushed new content for a source: ingest it now, send it at once."""
        source = next((s for s in self.settings.sources if s.name == source_name), None)
        if source is None:
            log.warning("push for source %r, which is not configured; ignored", source_name)
            return
        report = await self.poller.ingest_push(source, content, content_type)
        if report.queued:
            self.wake_dispatcher()

    def wake_dispatcher(self) -> None:
        """New deliveries were queued: every channel's task looks at once."""
        for wake in self._wake.values():
            wake.set()

    async def _channel_loop(self, name: str) -> None:
        """Send the channel's deliveries as its pace allows, until the daemon stops."""
        wake = self._wake[name]
        idle = self.settings.daemon.dispatch_every.total_seconds()
        while not self._stopping:
            wake.clear()
            try:
                result = await self.dispatcher.step(name)
            except Exception:
                log.exception("channel %s: dispatch failed; trying again in %.0fs", name, idle)
                result = None
            if isinstance(result, Job):
                continue
            now = self.clock()
            if isinstance(result, NotYet):  # the pace, a pause: known from the database
                pause = self.dispatcher.until_claim(result)
            elif isinstance(result, Idle) and result.next_due is not None:
                # At least a moment: a due one may be another worker's claim under way.
                pause = max(MIN_SLEEP, min(idle, (result.next_due - now).total_seconds()))
            else:  # nothing due: look again for what other workers queue
                pause = idle
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=max(0.0, min(pause, MAX_SLEEP)))

    def schedule(self, scheduler: AsyncIOScheduler, now: datetime) -> None:
        """One poll job per source, spread by jitter so sources do not fire together."""
        jitter = self.settings.polling.jitter.total_seconds()
        for i, source in enumerate(self.settings.sources):
            first = random.uniform(0, min(jitter, source.every.total_seconds()))
            scheduler.add_job(
                self._tracked(self._poll_job(i)),
                IntervalTrigger(
                    seconds=source.every.total_seconds(), timezone=UTC, jitter=int(jitter) or None
                ),
                id=f"poll:{source.name}",
                name=f"poll {source.name}",
                next_run_time=now + timedelta(seconds=first),
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        scheduler.add_job(
            self._tracked(self.sweep),
            IntervalTrigger(seconds=self.settings.daemon.sweep_every.total_seconds()),
            id="sweep",
            name="sweep",
            next_run_time=now,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set."""
        scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler = scheduler
        self.schedule(scheduler, datetime.now(UTC))
        listener = await self._start_listener()
        try:
            await self.sweep()  # what a stopped worker left, before anything is sent
        except Exception:
            log.exception("the start-up sweep failed; the scheduled sweeps try again")
        self._stopping = False
        self._wake = {name: asyncio.Event() for name in self.channels}
        senders = [
            asyncio.create_task(self._channel_loop(name), name=f"dispatch {name}")
            for name in self.channels
        ]
        scheduler.start()
        log.info(
            "running as %s: %d sources, %d channels",
            self.actor,
            len(self.settings.sources),
            len(self.channels),
        )
        try:
            await stop.wait()
        finally:
            scheduler.pause()
            self._stopping = True
            self.wake_dispatcher()
            if senders:
                await asyncio.wait(senders, timeout=DRAIN_TIMEOUT)
            if self._inflight:
                log.info("stopping: waiting for %d jobs under way", len(self._inflight))
                await asyncio.wait(set(self._inflight), timeout=DRAIN_TIMEOUT)
            scheduler.shutdown(wait=False)
            self._scheduler = None
            if listener is not None:
                await listener.stop()
            log.info("stopped")

    async def _start_listener(self) -> ServedApp | None:
        """The HTTP listener, when something needs one (WebSub callbacks)."""
        if self.websub is None:
            return None
        http = self.settings.http
        listener = ServedApp(build_listener(self.websub.routes()), bind(http.host, http.port))
        await listener.start()
        log.info(
            "listening on %s for WebSub callbacks (hubs call %s)",
            listener.url,
            self.websub.callback("<source>"),
        )
        return listener


def install_stop_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


async def open_daemon(
    stack: AsyncExitStack,
    settings: Settings,
    secrets: Mapping[str, Mapping[str, SecretStr]],
) -> Daemon:
    """Everything the daemon needs, opened on ``stack`` (closed with it)."""
    for values in secrets.values():
        REDACTOR.add(*(secret.get_secret_value() for secret in values.values()))
    db = Database(settings.database_url)
    stack.callback(db.dispose)
    await asyncio.to_thread(db.upgrade)
    formatter = Formatter(
        settings.templates_dir or default_templates_dir(),
        sources=[source.name for source in settings.sources],
        channels=settings.channels,
    )
    channels = {c.name: build_channel(c, dict(secrets[c.name])) for c in settings.channels}
    for channel in channels.values():
        stack.push_async_callback(channel.close)
    polling = settings.polling
    client = await stack.enter_async_context(
        http_client(
            connect_timeout=polling.connect_timeout.total_seconds(),
            read_timeout=polling.read_timeout.total_seconds(),
            max_connections=polling.max_connections,
        )
    )
    log.info("database %s is up to date", db.display_url)
    daemon = Daemon(settings, db, channels, formatter, client)
    if settings.websub.callback_base:
        daemon.websub = WebSub(db, client, settings.websub, daemon.on_push, load_master_key())
    return daemon
