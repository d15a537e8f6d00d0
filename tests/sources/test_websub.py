"""WebSub: subscribing at a real local hub, verifying intent, renewing, receiving signed pushes."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from starlette.types import ASGIApp, Receive, Scope, Send

from syndicator.config import WebSubConfig
from syndicator.listener import build_listener
from syndicator.serving import ThreadedServer
from syndicator.sources.feed import http_client
from syndicator.sources.websub import WebSub, key_id, load_master_key, topic_secret
from syndicator.store import Database
from syndicator.store import subscriptions as subs
from syndicator.store.articles import source_row
from syndicator.store.schema import SourceRow
from tests.support_hub import LocalHub, eventually

SOURCE = "daily"
TOPIC = "https://news.example.com/feed.atom"
KEY = b"a master key for the tests, 32 b"
BODY = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>The Daily Example</title>
<entry><id>urn:1</id><title>Pushed at once</title><link href="https://news.example.com/1"/>
</entry></feed>"""
DAY = timedelta(days=1)


class Listener:
    """The daemon's listener on 127.0.0.1; a test plugs in the app of the moment."""

    def __init__(self) -> None:
        self.app: ASGIApp = build_listener()
        self.server = ThreadedServer(self)
        self.url = self.server.url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


@dataclass
class Pushes:
    """What reached ``on_push``; ``failing`` makes ingestion raise."""

    received: list[tuple[str, bytes, str | None]] = field(default_factory=list)
    failing: bool = False

    async def __call__(self, source: str, body: bytes, content_type: str | None) -> None:
        if self.failing:
            raise RuntimeError("the store is unavailable")
        self.received.append((source, body, content_type))


# One listener and one hub for the module: starting and stopping servers is the slow part.
@pytest.fixture(scope="module")
def served_listener() -> Iterator[Listener]:
    served = Listener()
    with served.server:
        yield served


@pytest.fixture(scope="module")
def served_hub() -> Iterator[LocalHub]:
    with LocalHub() as local:
        yield local


@pytest.fixture
def listener(served_listener: Listener) -> Listener:
    served_listener.app = build_listener()
    return served_listener


@pytest.fixture
def hub(served_hub: LocalHub) -> LocalHub:
    served_hub.reset()
    return served_hub


@pytest.fixture
def db(sqlite_database: Database) -> Database:
    with sqlite_database.session() as session:
        source_row(session, SOURCE, TOPIC, now=datetime.now(UTC))
        session.commit()
    return sqlite_database


@asynccontextmanager
async def subscriber(
    db: Database, listener: Listener, pushes: Pushes | None = None, *, key: bytes = KEY
) -> AsyncIterator[WebSub]:
    """A WebSub subscriber whose callbacks the listener serves."""
    config = WebSubConfig(callback_base=listener.url, lease=DAY)
    async with http_client() as client:
        websub = WebSub(db, client, config, pushes or Pushes(), key)
        listener.app = build_listener(websub.routes())
        yield websub


def state(db: Database) -> subs.Subscription:
    with db.session() as session:
        current = subs.load(session, SOURCE)
    assert current is not None
    return current


def is_active(db: Database) -> Callable[[], bool]:
    return lambda: state(db).status is subs.WebSubStatus.ACTIVE


def run(scenario: Callable[[], Coroutine[None, None, None]]) -> None:
    asyncio.run(scenario())


async def subscribe(websub: WebSub, db: Database, hub: LocalHub) -> None:
    await websub.ensure(SOURCE, hub.url, TOPIC, datetime.now(UTC))
    await eventually(is_active(db), what="the subscription to be verified")
    await eventually(lambda: bool(hub.subscribed(TOPIC)), what="the hub to count us in")


def test_subscription_is_verified_and_active_for_the_lease(
    db: Database, listener: Listener, hub: LocalHub
) -> None:
    async def scenario() -> None:
        async with subscriber(db, listener) as websub:
            before = datetime.now(UTC)
            await subscribe(websub, db, hub)
        [request] = hub.requests_for("subscribe")
        assert request["hub.callback"] == f"{listener.url}/websub/{SOURCE}"
        assert request["hub.topic"] == TOPIC
        assert request["hub.lease_seconds"] == str(int(DAY.total_seconds()))
        assert 0 < len(request["hub.secret"].encode()) < 200
        assert [v.echoed for v in hub.verifications] == [True]
        current = state(db)
        assert current.hub == hub.url and current.topic == TOPIC and current.error is None
        assert current.lease_until is not None
        assert before + DAY <= current.lease_until <= datetime.now(UTC) + DAY

    run(scenario)


def test_secret_is_never_stored(db: Database, listener: Listener, hub: LocalHub) -> None:
    async def scenario() -> None:
        async with subscriber(db, listener) as websub:
            await subscribe(websub, db, hub)
        secret = hub.requests_for("subscribe")[0]["hub.secret"]
        with db.session() as session:
            row = session.scalars(select(SourceRow)).one()
            stored = [str(getattr(row, column.key)) for column in SourceRow.__table__.columns]
        assert not any(secret in value for value in stored)

    run(scenario)


@pytest.mark.parametrize("method", ["sha1", "sha256", "sha384", "sha512"])
def test_signed_push_reaches_on_push_at_once_with_the_exact_body(
    db: Database, listener: Listener, hub: LocalHub, method: str
) -> None:
    pushes = Pushes()

    async def scenario() -> None:
        async with subscriber(db, listener, pushes) as websub:
            await subscribe(websub, db, hub)
            statuses = await asyncio.to_thread(hub.publish, TOPIC, BODY, method=method)
            # Handed on before the hub had its answer: no waiting for the next poll.
            assert statuses == [200]
            assert pushes.received == [(SOURCE, BODY, "application/atom+xml")]

    run(scenario)


@pytest.mark.parametrize(
    "signature",
    [None, "sha1=" + "0" * 40, "sha256=not-hex", "md5=0123456789abcdef", "garbage"],
)
def test_push_without_a_valid_signature_is_ignored_but_answered_2xx(
    db: Database,
    listener: Listener,
    hub: LocalHub,
    signature: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pushes = Pushes()

    async def scenario() -> None:
        async with subscriber(db, listener, pushes) as websub:
            await subscribe(websub, db, hub)
            with caplog.at_level(logging.WARNING):
                statuses = await asyncio.to_thread(hub.publish_forged, TOPIC, BODY, signature)
        assert statuses == [200]
        assert pushes.received == []
        assert f"source {SOURCE}: ignored a WebSub push" in caplog.text

    run(scenario)


def test_push_signed_for_another_topic_is_ignored(
    db: Database, listener: Listener, hub: LocalHub
) -> None:
    pushes = Pushes()

    async def scenario() -> None:
        async with subscriber(db, listener, pushes) as websub:
            await subscribe(websub, db, hub)
            other = topic_secret(KEY, "https://elsewhere.example.com/feed")
            signature = "sha1=" + hmac.new(other.encode(), BODY, "sha1").hexdigest()
            statuses = await asyncio.to_thread(hub.publish_forged, TOPIC, BODY, signature)
        assert statuses == [200]
        assert pushes.received == []

    run(scenario)


def test_failed_ingestion_answers_5xx_so_the_hub_may_retry(
    db: Database, listener: Listener, hub: LocalHub, caplog: pytest.LogCaptureFixture
) -> None:
    pushes = Pushes(failing=True)

    async def scenario() -> None:
        async with subscriber(db, listener, pushes) as websub:
            await subscribe(websub, db, hub)
            statuses = await asyncio.to_thread(hub.publish, TOPIC, BODY)
        assert statuses == [500]
        assert f"source {SOURCE}: a WebSub push could not be ingested" in caplog.text

    run(scenario)


def test_verification_for_a_topic_never_asked_for_is_refused(
    db: Database, listener: Listener, hub: LocalHub
) -> None:
    async def scenario() -> None:
        async with subscriber(db, listener) as websub, httpx.AsyncClient() as client:
            await subscribe(websub, db, hub)
            for source, topic, mode in [
                (SOURCE, "https://news.example.com/other.atom", "subscribe"),
                ("nosuchsource", TOPIC, "subscribe"),
                (SOURCE, TOPIC, "unsubscribe"),  # still wanted, never asked to leave
            ]:
                params = {"hub.mode": mode, "hub.topic": topic, "hub.challenge": "xyzzy"}
                params["hub.lease_seconds"] = "60"
                response = await client.get(f"{listener.url}/websub/{source}", params=params)
                assert response.status_code == 404
                assert "xyzzy" not in response.text
        current = state(db)
        assert current.status is subs.WebSubStatus.ACTIVE and current.topic == TOPIC
        assert current.lease_until is not None and current.lease_until > datetime.now(UTC) + DAY / 2

    run(scenario)


def test_push_to_a_source_without_subscription_is_answered_gone(
    db: Database, listener: Listener
) -> None:
    pushes = Pushes()

    async def scenario() -> None:
        async with subscriber(db, listener, pushes), httpx.AsyncClient() as client:
            for source in (SOURCE, "nosuchsource"):
                response = await client.post(f"{listener.url}/websub/{source}", content=BODY)
                assert response.status_code == 410
        assert pushes.received == []

    run(scenario)


def test_hub_error_is_recorded_and_retried_after_a_backoff(
    db: Database, listener: Listener, hub: LocalHub, caplog: pytest.LogCaptureFixture
) -> None:
    hub.answer_status = 500

    async def scenario() -> None:
        async with subscriber(db, listener) as websub:
            now = datetime.now(UTC)
            with caplog.at_level(logging.WARNING):
                await websub.ensure(SOURCE, hub.url, TOPIC, now)  # raises nothing
            failed = state(db)
            assert failed.status is subs.WebSubStatus.FAILED
            assert failed.error is not None and "HTTP 500" in failed.error
            assert f"source {SOURCE}: WebSub hub {hub.url} refused" in caplog.text
            secret = hub.requests[0]["hub.secret"][:12]  # the hub echoed it in its error
            assert secret not in caplog.text and secret not in failed.error

            await websub.ensure(SOURCE, hub.url, TOPIC, now + timedelta(minutes=1))
            assert len(hub.requests) == 1  # backing off

            hub.answer_status = 202
            await websub.ensure(SOURCE, hub.url, TOPIC, now + timedelta(minutes=6))
            assert len(hub.requests) == 2
            await eventually(is_active(db), what="the retried subscription to be verified")
            await eventually(lambda: bool(hub.subscribed(TOPIC)), what="the hub to count us in")
        assert state(db).error is None

    run(scenario)


def test_unreachable_hub_is_recorded_and_not_raised(db: Database, listener: Listener) -> None:
    async def scenario() -> None:
        with ThreadedServer(build_listener()) as gone:
            url = f"{gone.url}/hub"
        async with subscriber(db, listener) as websub:
            await websub.ensure(SOURCE, url, TOPIC, datetime.now(UTC))
        current = state(db)
        assert current.status is subs.WebSubStatus.FAILED
        assert current.error is not None and "hub" in current.error

    run(scenario)


def test_renewal_happens_near_the_lease_end_and_not_before(
    db: Database, listener: Listener, hub: LocalHub
) -> None:
    async def scenario() -> None:
        async with subscriber(db, listener) as websub:
            await subscribe(websub, db, hub)
            lease_until = state(db).lease_until
            assert lease_until is not None
            for early in (timedelta(hours=1), DAY / 2, DAY - timedelta(hours=3)):
                await websub.ensure(SOURCE, hub.url, TOPIC, datetime.now(UTC) + early)
            assert len(hub.requests_for("subscribe")) == 1

            await websub.ensure(SOURCE, hub.url, TOPIC, lease_until - timedelta(minutes=30))
            assert len(hub.requests_for("subscribe")) == 2
            assert state(db).status is subs.WebSubStatus.ACTIVE  # the old lease still runs
            await eventually(lambda: len(hub.verifications) == 2, what="the renewal")
        assert all(v.echoed for v in hub.verifications)

    run(scenario)


def test_feed_moving_to_another_hub_unsubscribes_from_the_old_one(
    db: Database, listener: Listener, hub: LocalHub
) -> None:
    async def scenario() -> None:
        with LocalHub() as new_hub:
            async with subscriber(db, listener) as websub:
                await subscribe(websub, db, hub)
                await websub.ensure(SOURCE, new_hub.url, TOPIC, datetime.now(UTC))
                await eventually(lambda: not hub.subscribed(TOPIC), what="the old hub to let go")
                await eventually(lambda: bool(new_hub.subscribed(TOPIC)), what="the new hub")
            [leave] = hub.requests_for("unsubscribe")
            assert leave["hub.topic"] == TOPIC
            assert hub.verifications[-1].mode == "unsubscribe" and hub.verifications[-1].echoed
        current = state(db)
        assert current.hub == new_hub.url and current.status is subs.WebSubStatus.ACTIVE

    run(scenario)


def test_feed_that_stops_naming_a_hub_is_unsubscribed(
    db: Database, listener: Listener, hub: LocalHub
) -> None:
    async def scenario() -> None:
        async with subscriber(db, listener) as websub:
            await subscribe(websub, db, hub)
            await websub.ensure(SOURCE, None, TOPIC, datetime.now(UTC))
            await eventually(lambda: not hub.subscribed(TOPIC), what="the hub to let go")
        current = state(db)
        assert current.hub is None and current.state is None and current.lease_until is None

    run(scenario)


def test_denial_is_recorded(
    db: Database, listener: Listener, hub: LocalHub, caplog: pytest.LogCaptureFixture
) -> None:
    hub.deny_reason = "this topic is not served here"

    async def scenario() -> None:
        async with subscriber(db, listener) as websub:
            now = datetime.now(UTC)
            await websub.ensure(SOURCE, hub.url, TOPIC, now)
            await eventually(lambda: state(db).status is subs.WebSubStatus.DENIED, what="denial")
            await eventually(lambda: len(hub.verifications) == 1, what="the hub to finish")
            await websub.ensure(SOURCE, hub.url, TOPIC, now + timedelta(hours=1))
        assert len(hub.requests) == 1  # a denial is not argued with at every poll
        error = state(db).error
        assert error is not None and "this topic is not served here" in error
        assert f"source {SOURCE}: WebSub hub denied" in caplog.text

    run(scenario)


def test_restart_with_a_new_key_subscribes_again(
    db: Database, listener: Listener, hub: LocalHub
) -> None:
    async def scenario() -> None:
        async with subscriber(db, listener) as websub:
            await subscribe(websub, db, hub)
            await websub.ensure(SOURCE, hub.url, TOPIC, datetime.now(UTC))
        assert len(hub.requests_for("subscribe")) == 1
        pushes = Pushes()
        async with subscriber(db, listener, pushes, key=b"another key, drawn at start-up") as new:
            await new.ensure(SOURCE, hub.url, TOPIC, datetime.now(UTC))
            await eventually(lambda: len(hub.verifications) == 2, what="the new subscription")
            assert await asyncio.to_thread(hub.publish, TOPIC, BODY) == [200]
        assert len(hub.requests_for("subscribe")) == 2
        assert pushes.received == [(SOURCE, BODY, "application/atom+xml")]

    run(scenario)


def test_without_callback_base_nothing_is_asked_of_the_hub(db: Database, hub: LocalHub) -> None:
    async def scenario() -> None:
        async with http_client() as client:
            websub = WebSub(db, client, WebSubConfig(), Pushes(), KEY)
            await websub.ensure(SOURCE, hub.url, TOPIC, datetime.now(UTC))
        assert hub.requests == []
        assert state(db).hub == hub.url and state(db).state is None

    run(scenario)


def test_master_key_comes_from_the_environment_or_is_new_each_start() -> None:
    configured = {"SYNDICATOR_WEBSUB_SECRET": "a long enough configured secret"}
    assert key_id(load_master_key(configured)) == key_id(load_master_key(configured))
    assert key_id(load_master_key({})) != key_id(load_master_key({}))
    assert "configured" not in key_id(load_master_key(configured))


def test_listener_answers_health_checks(listener: Listener) -> None:
    response = httpx.get(f"{listener.url}/healthz")
    assert response.status_code == 200 and response.json() == {"ok": True}
