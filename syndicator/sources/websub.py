"""WebSub (W3C): feeds pushed to us by their hub the moment they change.

After each poll the poller calls :meth:`WebSub.ensure` with the hub and topic the feed
advertises; it subscribes, renews before the lease ends, and leaves a hub the feed no longer
names. The hub then verifies our intent with a GET to ``{callback_base}/websub/{source}`` and
pushes the feed's new content there with a POST signed with the secret we gave it. Polling
goes on regardless: WebSub only makes news arrive sooner, so no hub failure is ever raised.

Secrets are never stored: each topic's is HMAC-SHA256(master key, topic). The master key
comes from ``SYNDICATOR_WEBSUB_SECRET`` or is drawn at start-up; the state column records a
short key id, so after a restart with a new key every subscription is made again.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from syndicator.config import WebSubConfig
from syndicator.secrets import REDACTOR, redact
from syndicator.sources.feed import MAX_BYTES
from syndicator.store import Database
from syndicator.store import subscriptions as subs
from syndicator.store.subscriptions import Subscription, WebSubStatus

log = logging.getLogger(__name__)

SECRET_ENV = "SYNDICATOR_WEBSUB_SECRET"  # noqa: S105 - a variable name, not a secret
VERIFY_WAIT = timedelta(minutes=15)  # ask again if the hub has not verified by then
RETRY_FIRST, RETRY_MAX = timedelta(minutes=5), timedelta(hours=6)
MAX_LEASE = timedelta(days=365)
SIGNATURE_METHODS = frozenset({"sha1", "sha256", "sha384", "sha512"})

OnPush = Callable[[str, bytes, str | None], Awaitable[None]]


def load_master_key(environ: Mapping[str, str] = os.environ) -> bytes:
    """The key every subscription's secret derives from: configured, or new for this process."""
    configured = environ.get(SECRET_ENV)
    if configured:
        REDACTOR.add(configured)
        return configured.encode()
    return secrets.token_bytes(32)


def key_id(master_key: bytes) -> str:
    """A short name for the master key, safe to store: it does not reveal the key."""
    return hashlib.sha256(b"syndicator websub key id\0" + master_key).hexdigest()[:8]


def topic_secret(master_key: bytes, topic: str) -> str:
    """The ``hub.secret`` for one topic: 64 hex characters, under the spec's 200 bytes."""
    return hmac.new(master_key, topic.encode(), hashlib.sha256).hexdigest()


def signature_ok(header: str | None, body: bytes, secret: str) -> bool:
    """Whether ``X-Hub-Signature`` (``method=hex``) is the HMAC of ``body`` with ``secret``."""
    method, _, given = (header or "").strip().partition("=")
    method, given = method.strip().lower(), given.strip().lower()
    if method not in SIGNATURE_METHODS or not given or not given.isascii():
        return False
    expected = hmac.new(secret.encode(), body, method).hexdigest()
    return hmac.compare_digest(expected, given)


def renewal_margin(lease: timedelta) -> timedelta:
    """How long before the lease ends we renew: a tenth of it, at least an hour, at most half."""
    return min(max(lease / 10, timedelta(hours=1)), lease / 2)


@dataclass(frozen=True, slots=True)
class Plan:
    """What ``ensure`` does: leave an old (hub, topic), subscribe, and the state to record."""

    leave: tuple[str, str] | None
    subscribe: bool
    state: str | None


def plan(
    current: Subscription,
    hub: str | None,
    topic: str,
    key: str,
    now: datetime,
    margin: timedelta,
    not_before: datetime | None,
) -> Plan:
    """Decide, without I/O, what one source's subscription needs now."""
    same = (current.hub, current.topic) == (hub, topic)
    live = current.status in (WebSubStatus.PENDING, WebSubStatus.ACTIVE)
    leave = None
    if live and not same and current.hub and current.topic:
        leave = (current.hub, current.topic)
    if hub is None:
        return Plan(leave, False, None)
    active = same and current.status is WebSubStatus.ACTIVE and current.key_id == key
    if active and current.lease_until is not None and current.lease_until - now > margin:
        return Plan(leave, False, current.state)
    if same and not_before is not None and now < not_before:  # waiting: verification, backoff
        return Plan(leave, False, current.state)
    # Renewing keeps "active": the lease runs until the hub verifies the new one.
    return Plan(leave, True, current.state if active else subs.state(WebSubStatus.PENDING, key))


class WebSub:
    """The subscriber: subscriptions kept in the store, callbacks served by :meth:`routes`."""

    def __init__(
        self,
        db: Database,
        client: httpx.AsyncClient,
        config: WebSubConfig,
        on_push: OnPush,
        master_key: bytes,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db, self.client, self.config = db, client, config
        self.on_push, self.clock = on_push, clock
        self._master_key, self.key_id = master_key, key_id(master_key)
        self._not_before: dict[str, datetime] = {}  # by source: no request to the hub before
        self._failures: dict[str, int] = {}  # by source: hub errors in a row
        self._leaving: set[tuple[str, str]] = set()  # (source, topic) we asked to unsubscribe

    def callback(self, source: str) -> str:
        return f"{self.config.callback_base}/websub/{quote(source, safe='')}"

    async def ensure(self, source: str, hub: str | None, topic: str, now: datetime) -> None:
        """Bring the source's subscription in line with what its feed advertises."""
        with self.db.session() as session:
            current = subs.load(session, source)
            if current is None:
                return  # the poller creates the row; nothing to keep in step yet
            if self.config.callback_base is None:  # WebSub is off: note the hub, no more
                subs.forget(session, source, hub, topic)
                session.commit()
                return
            margin = renewal_margin(self.config.lease)
            todo = plan(current, hub, topic, self.key_id, now, margin, self._not_before.get(source))
            if hub is None:
                subs.forget(session, source, None, topic)
            else:
                subs.record_target(session, source, hub, topic)
                if todo.state != current.state:  # else leave it: a hub may be verifying now
                    subs.set_state(session, source, todo.state)
            session.commit()
        if todo.leave is not None:
            await self._unsubscribe(source, *todo.leave)
        if todo.subscribe and hub is not None:
            await self._subscribe(source, hub, topic, now)

    async def _subscribe(self, source: str, hub: str, topic: str, now: datetime) -> None:
        secret = topic_secret(self._master_key, topic)
        REDACTOR.add(secret)  # should a hub echo it back in an error
        # Before asking: the hub may verify before it even answers.
        self._not_before[source] = now + VERIFY_WAIT
        lease = str(int(self.config.lease.total_seconds()))
        form = {"hub.lease_seconds": lease, "hub.secret": secret}
        error = await self._ask(hub, "subscribe", source, topic, form)
        with self.db.session() as session:
            subs.record_answer(session, source, error)
            session.commit()
        if error is None:
            self._failures.pop(source, None)
            log.info("source %s: asked WebSub hub %s to push %s", source, hub, topic)
            return
        failures = self._failures[source] = self._failures.get(source, 0) + 1
        wait = min(RETRY_FIRST * 2 ** (failures - 1), RETRY_MAX)
        self._not_before[source] = now + wait
        log.warning(
            "source %s: WebSub hub %s refused the subscription: %s (asking again in %d min)",
            source,
            hub,
            error,
            wait // timedelta(minutes=1),
        )

    async def _unsubscribe(self, source: str, hub: str, topic: str) -> None:
        self._leaving.add((source, topic))
        error = await self._ask(hub, "unsubscribe", source, topic, {})
        if error is None:
            log.info("source %s: left WebSub hub %s for %s", source, hub, topic)
        else:  # the old lease simply runs out
            self._leaving.discard((source, topic))
            log.warning("source %s: could not leave WebSub hub %s: %s", source, hub, error)

    async def _ask(
        self, hub: str, mode: str, source: str, topic: str, extra: dict[str, str]
    ) -> str | None:
        """POST a (un)subscription request to the hub; the reason it failed, or None."""
        form = {"hub.mode": mode, "hub.callback": self.callback(source), "hub.topic": topic}
        try:
            response = await self.client.post(hub, data={**form, **extra})
        except httpx.TimeoutException:
            return "timed out waiting for the hub"
        except httpx.HTTPError as e:
            return redact(f"no answer from the hub: {type(e).__name__}: {e}")
        if 200 <= response.status_code < 300:
            return None
        said = redact(" ".join(response.text.split()))[:200]  # cut after: no half secrets
        reason = f"HTTP {response.status_code} {response.reason_phrase}".strip()
        return f"{reason}: {said}" if said else reason

    def routes(self) -> list[BaseRoute]:
        """The callback routes, for the daemon's listener."""
        return [Route("/websub/{source}", self._callback, methods=["GET", "POST"])]

    async def _callback(self, request: Request) -> Response:
        source = request.path_params["source"]
        if request.method == "POST":
            return await self._receive(request, source)
        return self._verify(request, source)

    def _verify(self, request: Request, source: str) -> Response:
        """Answer the hub's verification of intent, or record its denial."""
        params = request.query_params
        mode, topic = params.get("hub.mode", ""), params.get("hub.topic", "")
        challenge = params.get("hub.challenge", "")
        with self.db.session() as session:
            if mode == "denied" and topic:
                reason = params.get("hub.reason") or "no reason given"
                agreed = subs.deny(session, source, topic, reason)
                if agreed:
                    self._not_before[source] = self.clock() + max(self.config.lease, RETRY_MAX)
                    log.warning("source %s: WebSub hub denied the subscription", source)
            elif mode == "subscribe" and topic and challenge:
                lease = _seconds(params.get("hub.lease_seconds")) or self.config.lease
                until = self.clock() + lease
                agreed = subs.activate(session, source, topic, self.key_id, until)
                if agreed:
                    self._not_before.pop(source, None)
                    log.info("source %s: WebSub subscription active until %s", source, until)
            elif mode == "unsubscribe" and topic and challenge:
                agreed = self._unwanted(session, source, topic)
            else:
                agreed = False
            session.commit()
        if not agreed:
            log.info("source %s: refused a WebSub %r verification we did not ask for", source, mode)
            return Response("no such subscription request", status_code=404)
        return PlainTextResponse(challenge)

    def _unwanted(self, session: Session, source: str, topic: str) -> bool:
        """Whether we agree to stop receiving ``topic``: we asked, or no longer want it."""
        if (source, topic) in self._leaving:
            self._leaving.discard((source, topic))
            return True
        current = subs.load(session, source)
        return current is not None and (current.hub is None or current.topic != topic)

    async def _receive(self, request: Request, source: str) -> Response:
        """A push: ingested at once if signed with our secret, else ignored (still 2xx)."""
        with self.db.session() as session:
            current = subs.load(session, source)
        if current is None or current.hub is None or not current.topic or not current.state:
            return Response("no subscription here", status_code=410)  # the hub may drop it
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BYTES:
                return Response("content larger than 10 MiB", status_code=413)
        secret = topic_secret(self._master_key, current.topic)
        if not signature_ok(request.headers.get("X-Hub-Signature"), bytes(body), secret):
            # The spec: answer as for a good push, so a forger learns nothing; drop the body.
            why = "with a wrong" if "X-Hub-Signature" in request.headers else "without a"
            log.warning("source %s: ignored a WebSub push %s signature", source, why)
            return Response(status_code=200)
        try:
            await self.on_push(source, bytes(body), request.headers.get("Content-Type"))
        except Exception:
            # Our failure, not the hub's: a 5xx lets it retry; polling is the safety net.
            log.exception("source %s: a WebSub push could not be ingested", source)
            return Response("could not ingest the content", status_code=500)
        log.info("source %s: WebSub push of %d bytes ingested", source, len(body))
        return Response(status_code=200)


def _seconds(text: str | None) -> timedelta | None:
    """A lease the hub granted, within reason: renewing a year-long lease early costs nothing."""
    digits = (text or "").lstrip("0")
    if not digits or not (digits.isascii() and digits.isdigit()):
        return None
    return MAX_LEASE if len(digits) > 12 else min(timedelta(seconds=int(digits)), MAX_LEASE)
