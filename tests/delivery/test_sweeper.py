"""Deliveries whose sender stopped: settled by looking on the network, never resent blindly;
and two workers sharing one PostgreSQL store."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from datetime import timedelta

import httpx

from syndicator.delivery.engine import Dispatcher, Job, utcnow
from syndicator.formatting import Formatter
from syndicator.store import Database
from tests.delivery.conftest import ROOT, Clock, Rig, RigFactory, make_settings
from tests.support import Sandbox, wait_for


async def claim_and_maybe_publish(r: Rig, plan: list[tuple[str, bool]]) -> None:
    """Like a worker killed mid-send: claims each channel's next delivery and publishes it
    (or not) without ever recording the answer."""
    dispatcher, channels = r.dispatcher("doomed:9")
    try:
        for name, publish in plan:
            job = dispatcher.claim(name)
            assert isinstance(job, Job)
            if publish:
                config = r.settings.channel(name)
                post = dispatcher.formatter.render(config, job.article, attribution="EurasiaNews")
                await channels[name].publish(post)
    finally:
        for channel in channels.values():
            await channel.close()
        await dispatcher.client.aclose()


def test_the_sweeper_settles_x_and_facebook_by_looking_and_leaves_telegram_to_an_editor(
    rig: RigFactory,
) -> None:
    r = rig()
    r.queue(1)  # story 1 on every channel: published before the worker died
    r.queue(1, ("x", "facebook"))  # story 2: a later worker died before the call
    asyncio.run(claim_and_maybe_publish(r, [("x", True), ("facebook", True), ("telegram", True)]))
    assert asyncio.run(r.sweep()).expired == 0  # the leases still hold: nobody steps in
    r.clock.advance(timedelta(seconds=31))
    report = asyncio.run(r.sweep())
    assert (report.expired, report.found, report.requeued, report.left) == (3, 2, 0, 1)

    asyncio.run(claim_and_maybe_publish(r, [("x", False), ("facebook", False)]))
    r.clock.advance(timedelta(seconds=31))
    report = asyncio.run(r.sweep())
    assert (report.expired, report.found, report.requeued, report.left) == (2, 0, 2, 1)

    for network in ("x", "facebook"):
        found, lost = r.deliveries(network)
        (post,) = r.sandbox.posts(network)
        assert found.status == "sent" and found.remote_id == str(post["id"])
        assert lost.status == "queued" and lost.sent_at is None
        trail = [(e.status, e.actor) for e in r.events(lost.id)]
        assert trail[-2:] == [("uncertain", "sweeper:1"), ("queued", "sweeper:1")]
        assert r.events(lost.id)[-1].detail == "not found on the network; requeued"
        assert "lease of doomed:9 ran out" in (r.events(found.id)[-2].detail or "")
    (telegram,) = r.deliveries("telegram")
    assert telegram.status == "uncertain"

    r.run()  # the requeued ones go out; nothing goes out twice
    for network in ("x", "facebook"):
        assert r.statuses(network) == ["sent", "sent"]
        assert len(r.sandbox.posts(network)) == 2
    assert len(r.sandbox.posts("telegram")) == 1 and r.statuses("telegram") == ["uncertain"]


def test_a_lost_answer_is_uncertain_then_found_after_the_lease(rig: RigFactory) -> None:
    r = rig(x={"timeout": "1s"})
    r.queue(1, ("x",))
    r.sandbox.inject("x", {"fault": "timeout", "delay": 1.5, "path": "/2/tweets"})
    report = r.run()
    (row,) = r.deliveries("x")
    assert row.status == "uncertain" and report.problems == 1
    wait_for(lambda: len(r.sandbox.posts("x")) == 1, timeout=10, what="the late post")
    assert asyncio.run(r.sweep()).found == 0  # within its lease: the call may still be running
    r.clock.advance(timedelta(seconds=31))
    assert asyncio.run(r.sweep()).found == 1
    (row,) = r.deliveries("x")
    assert row.status == "sent" and row.remote_id == str(r.sandbox.posts("x")[0]["id"])
    assert r.run().attempted == 0 and len(r.sandbox.posts("x")) == 1


def test_two_dispatchers_on_postgresql_never_send_twice_and_keep_the_spacing(
    postgres_database: Database, sandbox: Sandbox
) -> None:
    settings = make_settings(
        sandbox.url, x={"min_spacing": "0.15s"}, telegram={"min_spacing": "0s"}
    )
    r = Rig(postgres_database, sandbox, Clock(), settings)
    r.queue(16, ("x", "telegram"))

    async def both() -> None:
        async with httpx.AsyncClient() as client:
            formatter = Formatter(
                ROOT / "templates", sources=["eurasia-news"], channels=settings.channels
            )
            workers = []
            for actor in ("worker-a:1", "worker-b:2"):
                channels = r.channels()
                dispatcher = Dispatcher(
                    postgres_database, settings, channels, formatter, client, actor=actor,
                    clock=utcnow,
                )  # fmt: skip
                workers.append((dispatcher, channels))
            await asyncio.gather(*(d.run_once() for d, _ in workers))
            for _, channels in workers:
                for channel in channels.values():
                    await channel.close()

    asyncio.run(both())
    for network in ("x", "telegram"):
        texts = Counter(str(p["text"]).split("\n")[0] for p in sandbox.posts(network))
        assert len(texts) == 16 and set(texts.values()) == {1}, texts
        assert r.statuses(network) == ["sent"] * 16
    slots = sorted(row.sent_at for row in r.deliveries("x") if row.sent_at is not None)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(slots)]
    assert min(gaps) >= 0.149, gaps
    actors = {e.actor for row in r.deliveries() for e in r.events(row.id) if e.status == "sent"}
    assert actors == {"worker-a:1", "worker-b:2"}  # both did part of the work
