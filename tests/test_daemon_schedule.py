"""The daemon's schedule: every source polled at its interval, never all at the same second."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from syndicator.config import settings_from_mapping
from syndicator.daemon import Daemon
from syndicator.formatting import Formatter
from syndicator.store import Database

ROOT = Path(__file__).resolve().parent.parent


def test_many_sources_do_not_all_fire_in_the_same_second(sqlite_database: Database) -> None:
    settings = settings_from_mapping(
        {
            "polling": {"jitter": "30s"},
            "sources": [
                {
                    "name": f"site-{n}",
                    "feed": f"https://site-{n}.example.com/rss",
                    "every": "2m",
                    "attribution": "Site",
                    "channels": ["x"],
                }
                for n in range(20)
            ],
            "channels": [{"name": "x", "type": "twitter"}],
        },
        "test",
    )
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

    async def jobs() -> list[tuple[str, float, float]]:
        async with httpx.AsyncClient() as client:
            daemon = Daemon(settings, sqlite_database, {}, Formatter(ROOT / "templates"), client)
            scheduler = AsyncIOScheduler(timezone=UTC)
            daemon.schedule(scheduler, now)
            return [
                (job.id, (job.next_run_time - now).total_seconds(), job.trigger.jitter or 0)
                for job in scheduler.get_jobs()
            ]

    scheduled = [job for job in asyncio.run(jobs()) if job[0].startswith("poll:")]
    assert len(scheduled) == 20
    first_seconds = {int(offset) for _, offset, _ in scheduled}
    assert len(first_seconds) > 5  # spread over the 30 s jitter window
    assert all(0 <= offset <= 30 for _, offset, _ in scheduled)
    assert {jitter for _, _, jitter in scheduled} == {30}  # and every later run too
