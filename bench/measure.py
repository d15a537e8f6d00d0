"""The two measured runs, each in a fresh child process so that each one's peak RSS is its own.

``poll_cycle`` is the syndicator process: the daemon's configuration for every source in the
store, one shared ``http_client``, one ``Poller``, and one ``Poller.poll`` per polled source,
all at once as the daemon's ``poll_all`` does; first a first poll, then the measured cycles.
``naive_baseline`` is ``feedparser.parse(url)`` of each feed in turn, without validators.
CPU is the process's own (all its threads; the feed server is another process); peak RSS is
the child's own high-water mark (see ``_peak_rss_mib``).
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from prepare import POLL_EVERY, PRIMED_AT, Store, polling_config, source_configs

from syndicator.logs import setup_logging
from syndicator.polling import Poller, PollReport
from syndicator.sources.feed import http_client


@dataclass(frozen=True, slots=True)
class Run:
    """What one measured run did and what it cost (of several cycles, the median one)."""

    feeds: int
    cpu_s: float
    wall_s: float
    peak_rss_mib: float
    outcomes: dict[str, int] = field(default_factory=dict)
    cpu_per_cycle: tuple[float, ...] = ()  # every measured cycle's CPU seconds, in order

    @property
    def cpu_ms_per_feed(self) -> float:
        return self.cpu_s * 1000 / self.feeds

    @property
    def feeds_per_s(self) -> float:
        return self.feeds / self.wall_s


def _peak_rss_mib() -> float:
    """This process's peak RSS since it started.

    On Linux ``ru_maxrss`` carries over the parent's peak through fork and exec, so a child
    started by a parent that has filled the store would report the parent's peak; VmHWM in
    /proc is the high-water mark of this process's own memory.
    """
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(kib) / 1024


class _Clock:
    """The daemon's clock, moved on by hand: the previous poll, then one interval later."""

    def __init__(self) -> None:
        self.now = PRIMED_AT

    def __call__(self) -> datetime:
        return self.now


def poll_cycle(
    store: Store,
    port: int,
    phase: Any,
    sources_in_store: int,
    polled: list[int],
    warm_up: list[int],
    cycles: int,
    per_host: int | None,
    time_limit: float,
    log_file: str,
    profile: str | None,
    out: Connection,
) -> None:
    """Child process: a daemon's first poll of every feed, then ``cycles`` measured cycles.

    The first poll fills the store (ETags, articles, deliveries) and leaves the poller as a
    daemon that has been running leaves it; each measured cycle comes one interval later,
    when the changed feeds have moved on once more. The daemon's logging (INFO, redacted)
    goes to ``log_file``: writing it is part of the cost. With ``profile``, the measured cycles
    run under cProfile and its statistics are written there (the figures then include its
    overhead).
    """
    sys.stderr = open(log_file, "a", encoding="utf-8")  # noqa: SIM115 -- the child's own stderr
    setup_logging("INFO")
    db = store.open()
    sources = source_configs(sources_in_store, port)  # what the daemon holds for all of them
    clock = _Clock()
    config = polling_config(per_host)
    profiler = cProfile.Profile() if profile else None

    async def run() -> list[tuple[float, float, dict[str, int]]]:
        async with http_client(max_connections=config.max_connections) as client:
            poller = Poller(db, client, actor="bench", clock=clock, config=config, leases=True)

            async def poll(number: int) -> _Outcome:
                # As the daemon's poll jobs do, keep what the report says, not what it holds.
                return _Outcome.of(await poller.poll(sources[number]))

            first = await asyncio.gather(*(poll(n) for n in polled + warm_up))
            errors = [outcome.error for outcome in first if outcome.error]
            if errors:
                raise RuntimeError(f"the first poll failed: {errors[:3]}")
            measured = []
            for cycle in range(cycles):
                phase.value = cycle + 2  # the feeds move on, and so does time
                clock.now = PRIMED_AT + (cycle + 1) * POLL_EVERY
                if cycle == 0:  # caches and imports warm, as in a daemon that has run a while
                    for number in warm_up:
                        await poller.poll(sources[number])
                gc.collect()
                if profiler:
                    profiler.enable()
                cpu, wall = time.process_time(), time.perf_counter()
                reports = await asyncio.gather(*(poll(n) for n in polled))
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                if profiler:
                    profiler.disable()
                measured.append((cpu, wall, _outcomes(reports)))
        return measured

    try:
        measured = asyncio.run(asyncio.wait_for(run(), time_limit))
    finally:
        db.dispose()
    if profiler and profile:
        profiler.dump_stats(profile)
    cpu, wall, outcomes = sorted(measured, key=lambda each: each[0])[len(measured) // 2]
    each = tuple(cpu for cpu, _, _ in measured)
    out.send(Run(len(polled), cpu, wall, _peak_rss_mib(), outcomes, each))


@dataclass(frozen=True, slots=True)
class _Outcome:
    """A ``PollReport`` without the entries it carries."""

    error: str | None
    not_modified: bool
    new_articles: int
    updated: int
    queued: int
    unchanged: int
    recovered: bool

    @classmethod
    def of(cls, report: PollReport) -> _Outcome:
        feed = report.feed
        recovered = any("not well-formed" in p for p in feed.problems) if feed else False
        return cls(report.error, report.not_modified, report.new_articles, report.updated,
                   report.queued, feed.unchanged if feed else 0, recovered)  # fmt: skip


def _outcomes(reports: list[_Outcome]) -> dict[str, int]:
    outcomes: Counter[str] = Counter()
    for report in reports:
        outcomes["not modified (304)"] += report.not_modified
        outcomes["changed"] += not report.not_modified and report.error is None
        outcomes["errors"] += report.error is not None
        outcomes["new articles"] += report.new_articles
        outcomes["updated articles"] += report.updated
        outcomes["deliveries queued"] += report.queued
        outcomes["items left unread (unchanged)"] += report.unchanged
        outcomes["recovered by feedparser"] += report.recovered
    return dict(outcomes)


def naive_baseline(urls: list[str], time_limit: float, out: Connection) -> None:
    """Child process: ``feedparser.parse(url)`` of every feed in turn, measured."""
    import feedparser

    feedparser.parse(urls[0])  # imports and first-use caches warm, as for the poll cycle
    deadline = time.monotonic() + time_limit
    entries = done = 0
    cpu, wall = time.process_time(), time.perf_counter()
    for url in urls:
        entries += len(feedparser.parse(url).entries)
        done += 1
        if time.monotonic() > deadline:
            break
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    out.send(Run(done, cpu, wall, _peak_rss_mib(), {"entries read": entries}))
