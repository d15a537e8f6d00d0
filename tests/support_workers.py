"""Helpers of the black-box delivery tests: paced configurations, emulator load, results.

The crash and worker tests drive ``syndicator run`` processes and judge them only by what
the emulators received and what the store says; these helpers write their configuration,
slow the emulators' answers down, and read both sides back.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy
from sqlalchemy.engine import make_url

from tests.support import NETWORKS, Sandbox, write_config

# What the emulators see of one post: the article's slug anywhere in what they received.
_SLUG = re.compile(r"/news/(\d{4}-story)")
# The API path each network's post goes to, for faults aimed at posting (X's look-ups go
# elsewhere; Facebook's read the page feed at the same path).
SEND_PATHS = {"telegram": "sendMessage", "x": "/2/tweets", "facebook": "/feed"}
# Delivery states a delivery may end in when nothing more will happen to it by itself.
SETTLED = frozenset({"sent", "failed", "uncertain", "skipped", "cancelled", "held"})


def paced_config(
    directory: Path,
    *,
    feed: str,
    sandbox: str,
    backfill: int,
    every: str = "60s",
    min_spacing: str = "0s",
    database_url: str | None = None,
    timeout: str = "10s",
    daemon_extra: str = "",
) -> Path:
    """A configuration for one feed posted to the three emulators, one channel per network.

    Each channel is paced by ``min_spacing``; the first poll happens at once, the next ones
    ``every`` later (by default a minute: what gets sent is the backfill), without jitter.
    """
    return write_config(
        directory,
        feed=feed,
        sandbox=sandbox,
        backfill=backfill,
        every=every,
        pacing=f'min_spacing = "{min_spacing}"\ntimeout = "{timeout}"',
        database_url=database_url,
        daemon_options=daemon_extra,
        polling_options='jitter = "0s"',
    )


def slow_down(sandbox: Sandbox, seconds: float, calls: int = 5000) -> None:
    """Every network takes ``seconds`` to answer each post (the post is made either way).

    A ``timeout`` fault holds the request that long before carrying it out; queued for many
    calls and aimed at the posting method, it is a steady latency that kills can land in.
    """
    for network in NETWORKS:
        fault = {"fault": "timeout", "delay": seconds, "path": SEND_PATHS[network]}
        response = httpx.post(
            f"{sandbox.url}/{network}/__sandbox/faults", json={**fault, "count": calls}, timeout=10
        )
        response.raise_for_status()


def pending_faults(sandbox: Sandbox, network: str) -> int:
    response = httpx.get(f"{sandbox.url}/{network}/__sandbox/faults", timeout=10)
    response.raise_for_status()
    return len(response.json()["faults"])


@dataclass(frozen=True)
class Received:
    """One post an emulator received: which article it carries, and when it arrived."""

    slug: str
    post_id: str
    at: datetime


def received(sandbox: Sandbox, network: str) -> list[Received]:
    """The emulator's posts in the order it received them, each with its article's slug."""
    found = []
    for post in sandbox.posts(network):
        slugs = set(_SLUG.findall(json.dumps(post)))
        assert len(slugs) == 1, f"{network} post {post['id']} names {sorted(slugs)}"
        at = datetime.fromisoformat(post["created_at"])
        found.append(Received(slugs.pop(), str(post["id"]), at))
    return sorted(found, key=lambda r: r.at)


def duplicates(posts: list[Received]) -> dict[str, int]:
    """Articles an emulator received more than once, with how often."""
    return {slug: n for slug, n in Counter(p.slug for p in posts).items() if n > 1}


def gaps(times: list[datetime]) -> list[float]:
    """Seconds between consecutive moments."""
    return [(b - a).total_seconds() for a, b in itertools.pairwise(times)]


@dataclass(frozen=True)
class StoredDelivery:
    slug: str
    channel: str
    status: str
    remote_id: str | None


class Store:
    """Reads what ``syndicator run`` processes wrote to their database (never writes)."""

    def __init__(self, url: str) -> None:
        self.engine = sqlalchemy.create_engine(url)

    def deliveries(self) -> list[StoredDelivery]:
        query = sqlalchemy.text(
            "SELECT a.url, d.channel, d.status, d.remote_id FROM deliveries d "
            "JOIN articles a ON a.id = d.article_id"
        )
        try:
            with self.engine.connect() as connection:
                rows = connection.execute(query).all()
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.ProgrammingError):
            return []  # not made yet: the first worker is still migrating it
        return [
            StoredDelivery(_slug(url), channel, status, rid) for url, channel, status, rid in rows
        ]

    def statuses(self) -> Counter[str]:
        return Counter(d.status for d in self.deliveries())

    def senders(self) -> dict[str, int]:
        """Posts sent by each worker (the posting log's actor of each ``sent`` row)."""
        query = sqlalchemy.text(
            "SELECT actor, count(*) FROM delivery_events WHERE status = 'sent' GROUP BY actor"
        )
        with self.engine.connect() as connection:
            return {str(actor): int(n) for actor, n in connection.execute(query)}

    def ever(self, status: str) -> int:
        """How many deliveries the posting log shows in ``status`` at some time."""
        query = sqlalchemy.text(
            "SELECT count(DISTINCT delivery_id) FROM delivery_events WHERE status = :status"
        )
        with self.engine.connect() as connection:
            return int(connection.execute(query, {"status": status}).scalar_one())

    def dispose(self) -> None:
        self.engine.dispose()


def _slug(url: str) -> str:
    found = _SLUG.search(url)
    assert found is not None, url
    return found.group(1)


def _as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def by_channel(deliveries: list[StoredDelivery]) -> dict[str, dict[str, StoredDelivery]]:
    """channel -> slug -> delivery."""
    grouped: dict[str, dict[str, StoredDelivery]] = defaultdict(dict)
    for delivery in deliveries:
        grouped[delivery.channel][delivery.slug] = delivery
    return grouped


def with_search_path(url: str, schema: str) -> str:
    """A PostgreSQL URL whose connections work in ``schema`` (as a worker's config gives it)."""
    parsed = make_url(url)
    return parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )
