"""Scale-out, black-box: several ``syndicator run`` workers share one PostgreSQL database.

300 deliveries (100 articles on three channels, one per network) are queued at once, once
every worker is up. Each network must receive each post exactly once, each channel's
spacing must hold across the workers (judged by when the emulators received the posts), and
more than one worker must have sent. The single-process case runs the same checks on SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from syndicator.store import Database
from tests.support import NETWORKS, NewsSite, Running, Sandbox, daemon, sandbox_env, wait_for
from tests.support_workers import (
    Store,
    duplicates,
    gaps,
    paced_config,
    received,
    with_search_path,
)

ARTICLES = 100
SPACING = 0.2  # seconds between two posts to one channel
# What the way to the network (rendering, the client library, HTTP; several processes on few
# cores: 10-135 ms from claim to arrival, measured) may take off the time between posts as
# the network sees them: much of one gap, little of several.
JITTER = 0.15
WINDOW = 5  # posts: any five in a row span at least 4 spacings, give or take JITTER


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, int]]:
    """(database URL, number of workers): one on SQLite, three on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'syndicator.db'}", 1
        return
    database = request.getfixturevalue("postgres_database")  # fails, not skips, under CI
    assert isinstance(database, Database)
    with database.engine.connect() as connection:
        schema = connection.exec_driver_sql("SELECT current_schema()").scalar()
    assert isinstance(schema, str) and schema.startswith("t_")
    yield with_search_path(database.url, schema), 3


def test_workers_post_each_article_once_per_network_and_keep_each_channels_spacing(
    tmp_path: Path, site: NewsSite, sandbox: Sandbox, backend: tuple[str, int]
) -> None:
    url, workers = backend
    config = paced_config(
        tmp_path,
        feed=site.feed_url,
        sandbox=sandbox.url,
        backfill=ARTICLES,  # the articles come after the first poll; if not, still posted
        every="1s",
        min_spacing=f"{SPACING}s",
        database_url=url,
    )
    store = Store(url)
    try:
        with ExitStack() as stack:
            running = [_start(stack, config, tmp_path / f"worker-{n}") for n in range(workers)]
            try:
                # Every worker up and polling first, so that all of them can take a share.
                wait_for(
                    lambda: all("running as" in worker.output() for worker in running),
                    what="the workers to start",
                )
                slugs = {site.add(f"Story {n} for the workers").slug for n in range(ARTICLES)}
                wait_for(
                    lambda: all(len(sandbox.posts(n)) >= ARTICLES for n in NETWORKS),
                    timeout=30 + 3 * ARTICLES * SPACING,
                    what=f"{ARTICLES} posts on every network",
                )
                wait_for(
                    lambda: store.statuses() == {"sent": 3 * ARTICLES},
                    timeout=15,
                    what="every delivery recorded as sent",
                )
            finally:
                for n, worker in enumerate(running):
                    print(f"--- worker {n}\n{worker.output()[-2000:]}")
            assert all(worker.alive() for worker in running)
        senders = store.senders()
    finally:
        store.dispose()

    for network in NETWORKS:
        posts = received(sandbox, network)
        assert duplicates(posts) == {}, f"{network} received posts twice"
        assert {p.slug for p in posts} == slugs and len(posts) == ARTICLES, network
        # What the emulator saw, give or take the way there.
        seen = gaps([p.at for p in posts])
        tight = [round(g, 3) for g in seen if g < SPACING - JITTER]
        assert tight == [], f"{network}: posts received closer than {SPACING}s: {tight}"
        spans = [sum(seen[i : i + WINDOW - 1]) for i in range(len(seen) - WINDOW + 2)]
        short = [round(s, 3) for s in spans if s < (WINDOW - 1) * SPACING - JITTER]
        assert short == [], f"{network}: {WINDOW} posts in a row faster than the pace: {short}"
        print(f"{network}: closest posts {min(seen):.3f} s apart")
    assert sum(senders.values()) == 3 * ARTICLES
    if workers > 1:
        assert len(senders) > 1, f"only one worker sent: {senders}"


def _start(stack: ExitStack, config: Path, directory: Path) -> Running:
    directory.mkdir()
    return stack.enter_context(
        daemon("run", "--config", str(config), env=sandbox_env(), cwd=directory)
    )
