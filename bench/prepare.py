"""The benchmark's store and the daemon's configuration for it.

Every source the daemon knows has a row. The sources the benchmark polls get theirs from
the real code, in the measured process, by a first poll (see ``measure.poll_cycle``); the
others get rows and articles written here in bulk: they are there for the size of the tables
and of the daemon's configuration, not to be polled.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy
from sqlalchemy import insert
from sqlalchemy.engine import make_url

from syndicator.config import PollingConfig, SourceConfig
from syndicator.store import Database
from syndicator.store.schema import ArticleRow, SourceRow

CHANNELS = ["telegram", "twitter", "facebook"]
PRIMED_AT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
POLL_EVERY = timedelta(minutes=5)  # each measured cycle: one interval after the one before


@dataclass(frozen=True, slots=True)
class Store:
    """How a process reaches the benchmark's database (picklable, for the child processes)."""

    url: str
    schema: str | None = None  # PostgreSQL: the schema made for this run

    def open(self) -> Database:
        if self.schema is None:
            return Database(self.url)
        return Database(self.url, connect_args={"options": f"-csearch_path={self.schema}"})


def check_local(url: str) -> None:
    """The benchmark talks to 127.0.0.1 only: a database elsewhere is refused."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return
    if parsed.host != "127.0.0.1":
        raise SystemExit(f"--database-url must point at 127.0.0.1, not {parsed.host!r}")


@contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    """A schema of its own for this run, dropped afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(url)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield schema
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def source_configs(count: int, port: int) -> list[SourceConfig]:
    """The daemon's configuration: one source per feed the server has."""
    return [
        SourceConfig(
            name=f"feed-{number:05d}",
            feed=f"http://127.0.0.1:{port}/feeds/{number}.xml",
            attribution=f"News {number}",
            channels=CHANNELS,
        )
        for number in range(count)
    ]


def polling_config(per_host: int | None) -> PollingConfig:
    """The daemon's polling settings: its defaults, or ``per_host`` fetches at once.

    Every feed is on one host here, so the per-host limit (default 4) is what bounds how many
    fetches run at once; in the wild, with many hosts, ``max_connections`` (default 64) does.
    """
    if per_host is None:
        return PollingConfig()
    return PollingConfig(max_connections=max(per_host, 64), max_per_host=per_host)


def fill_idle(db: Database, sources: list[SourceConfig], articles_each: int) -> None:
    """Rows for sources that are not polled in this run, each with some articles, in bulk."""
    when = PRIMED_AT - timedelta(days=1)
    with db.engine.begin() as connection:
        connection.execute(
            insert(SourceRow),
            [
                {"name": s.name, "feed": s.feed, "consecutive_failures": 0, "created_at": when,
                 "first_polled_at": when, "last_polled_at": when, "last_success_at": when,
                 "last_status": 200, "etag": f'"idle-{i}"', "articles_seen": articles_each}
                for i, s in enumerate(sources)
            ],
        )  # fmt: skip
        ids = dict(connection.execute(sqlalchemy.select(SourceRow.name, SourceRow.id)).all())
    batch: list[dict[str, Any]] = []
    for source in sources:
        source_id = ids[source.name]
        for n in range(articles_each):
            url = f"https://idle-{source_id}.example/news/{n}"
            batch.append(
                {"source_id": source_id, "guid": url, "url": url, "url_key": url,
                 "title": f"Idle story {n} of source {source_id}",
                 "summary": "An article from a source this run does not poll. " * 4,
                 "published_at": when, "categories": ["News"], "created_at": when}
            )  # fmt: skip
        if len(batch) >= 20_000:
            _insert_articles(db, batch)
            batch = []
    _insert_articles(db, batch)


def _insert_articles(db: Database, batch: list[dict[str, Any]]) -> None:
    if batch:
        with db.engine.begin() as connection:
            connection.execute(insert(ArticleRow), batch)
