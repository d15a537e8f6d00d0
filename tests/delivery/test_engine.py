"""The delivery engine against the emulators: states and log, errors by kind, pacing."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from syndicator.delivery.retry import RetryPolicy
from syndicator.store.deliveries import Schedule
from tests.delivery.conftest import RigFactory
from tests.support import NETWORKS


def test_each_delivery_goes_out_once_and_every_step_is_in_the_log(rig: RigFactory) -> None:
    r = rig()
    r.queue(3)
    report = r.run()
    assert report.attempted == 9
    assert report.problems == 0
    for network in NETWORKS:
        assert len(r.sandbox.posts(network)) == 3
        assert r.statuses(network) == ["sent"] * 3
    for delivery in r.deliveries():
        assert delivery.sent_at is not None and delivery.lease_until is None
        assert delivery.claimed_by is None
        queued, sending, sent = r.events(delivery.id)
        assert (queued.status, queued.actor, queued.attempt) == ("queued", "test", 0)
        assert (sending.status, sending.actor, sending.attempt) == ("sending", "worker-1:1", 1)
        assert (sent.status, sent.actor, sent.attempt) == ("sent", "worker-1:1", 1)
        assert sent.remote_id == delivery.remote_id and sent.latency_ms is not None
    assert r.run().attempted == 0  # nothing is sent twice


def test_a_rate_limit_pauses_only_that_channel_and_slows_it_down(rig: RigFactory) -> None:
    r = rig()
    r.queue(3)
    r.sandbox.inject("telegram", {"fault": "rate_limit", "retry_after": 42})
    report = r.run()
    assert len(r.sandbox.posts("x")) == 3 and len(r.sandbox.posts("facebook")) == 3
    assert r.sandbox.posts("telegram") == []
    assert r.statuses("telegram") == ["waiting", "queued", "queued"]
    first = r.deliveries("telegram")[0]
    assert first.attempts == 0  # a rate limit does not use up an attempt
    assert first.error_kind == "rate_limited"
    last = r.events(first.id)[-1]
    assert (last.status, last.http_status, last.error_kind) == ("waiting", 429, "rate_limited")
    held = report.held["telegram"]
    assert held.why == "paused" and "rate limited" in (held.detail or "")
    channel = r.channel_row("telegram")
    assert channel.paused_until is not None
    assert abs((channel.paused_until - r.clock()).total_seconds() - 42) < 2
    assert channel.slowdown == 2.0

    r.clock.advance(timedelta(seconds=30))
    assert r.run().attempted == 0  # still paused, for every worker: the pause is stored

    r.clock.advance(timedelta(seconds=15))
    assert r.run().problems == 0
    assert r.statuses("telegram") == ["sent"] * 3
    assert 1.0 <= r.channel_row("telegram").slowdown < 2.0  # recovering step by step


def test_a_server_error_backs_off_with_jitter_then_fails_after_the_last_attempt(
    rig: RigFactory,
) -> None:
    policy = RetryPolicy(max_attempts=3, backoff_base=timedelta(seconds=10))
    r = rig(policy=policy)
    (x_id,) = r.queue(1, ("x",))
    r.sandbox.inject("x", {"fault": "server_error", "count": 5})
    waits = []
    for _ in range(3):
        report = r.run()
        assert report.attempted == 1
        (row,) = r.deliveries("x")
        if row.next_attempt_at is not None:
            waits.append((row.next_attempt_at - r.clock()).total_seconds())
            r.clock.advance(row.next_attempt_at - r.clock())
    (row,) = r.deliveries("x")
    assert row.status == "failed" and row.attempts == 3
    assert row.error_kind == "transient" and "500" in (row.error or "")
    assert 8 <= waits[0] <= 12 and 16 <= waits[1] <= 24  # doubled, +/- 20% jitter
    statuses = [(e.status, e.attempt) for e in r.events(x_id)]
    assert statuses == [
        ("queued", 0), ("sending", 1), ("waiting", 1), ("sending", 2), ("waiting", 2),
        ("sending", 3), ("failed", 3),
    ]  # fmt: skip


def test_a_permanent_refusal_fails_at_once_with_the_networks_message(rig: RigFactory) -> None:
    r = rig()
    r.queue(2, ("facebook",))
    r.sandbox.inject("facebook", {"fault": "bad_request", "message": "This post is a duplicate"})
    report = r.run()
    first, second = r.deliveries("facebook")
    assert first.status == "failed" and first.attempts == 1
    assert "This post is a duplicate" in (first.error or "")
    event = r.events(first.id)[-1]
    assert (event.error_kind, event.error_code) == ("permanent", "100")  # the Graph API's code
    assert second.status == "sent"  # the channel goes on
    assert report.problems == 1


def test_an_expired_token_flags_the_channel_and_a_later_probe_clears_it(rig: RigFactory) -> None:
    r = rig()
    r.queue(3)
    r.sandbox.inject("facebook", {"fault": "expired_token"})
    r.run()
    assert r.statuses("facebook") == ["waiting", "queued", "queued"]
    assert r.deliveries("facebook")[0].attempts == 0  # waiting, not burning attempts
    flagged = r.channel_row("facebook")
    assert flagged.auth_failed_at is not None and "190" in (flagged.auth_error or "")
    assert flagged.paused_until is not None and flagged.paused_until > r.clock()
    assert r.statuses("x") == ["sent"] * 3 and r.statuses("telegram") == ["sent"] * 3

    r.clock.advance(timedelta(minutes=16))
    r.run()
    assert r.statuses("facebook") == ["sent"] * 3
    cleared = r.channel_row("facebook")
    assert cleared.auth_failed_at is None and cleared.auth_error is None


def test_spacing_is_waited_out_between_posts(rig: RigFactory) -> None:
    r = rig(x={"min_spacing": "10s"})
    r.queue(4, ("x",))
    start = r.clock()
    assert r.run().problems == 0
    sent = [row.sent_at for row in r.deliveries("x") if row.sent_at is not None]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(sent)]
    assert gaps == [10.0, 10.0, 10.0]
    assert r.clock() - start == timedelta(seconds=30)


def test_a_burst_over_the_hourly_cap_is_spread_oldest_first_and_never_dropped(
    rig: RigFactory,
) -> None:
    r = rig(telegram={"max_per_hour": 10})
    ids = r.queue(40, ("telegram",))
    hours = 0
    while True:
        report = r.run()
        if "telegram" in report.held:
            assert report.held["telegram"].why == "cap"
        if report.attempted == 0:
            break
        assert report.attempted == 10
        hours += 1
        r.clock.advance(timedelta(hours=1))
    assert hours == 4
    rows = r.deliveries("telegram")
    assert [row.id for row in sorted(rows, key=lambda row: row.sent_at or r.clock())] == ids
    texts = [post["text"] for post in r.sandbox.posts("telegram")]
    assert len(texts) == 40
    assert [int(t.split("Story number ")[1].split()[0].strip("<>/b")) for t in texts] == list(
        range(1, 41)
    )


def test_daily_and_monthly_caps_hold_deliveries(rig: RigFactory) -> None:
    r = rig(x={"max_per_month": 2}, facebook={"max_per_day": 1})
    r.queue(3, ("x", "facebook"))
    report = r.run()
    assert r.statuses("x") == ["sent", "sent", "queued"]
    assert r.statuses("facebook") == ["sent", "queued", "queued"]
    assert report.held["x"].why == "cap" and report.held["facebook"].why == "cap"
    assert report.held["x"].until.day == 1  # the first of next month
    r.clock.advance(timedelta(days=1, seconds=1))
    r.run()
    assert r.statuses("facebook") == ["sent", "sent", "queued"]


def test_quiet_hours_in_the_channels_time_zone_hold_posts_until_morning(rig: RigFactory) -> None:
    r = rig(telegram={"quiet_hours": "23:00-07:00", "timezone": "Asia/Baku"})  # UTC+4
    r.clock.now = datetime(2026, 11, 28, 20, 30, tzinfo=UTC)  # 00:30 in Baku
    r.queue(2, ("telegram",))
    report = r.run()
    assert r.statuses("telegram") == ["queued", "queued"]
    held = report.held["telegram"]
    assert held.why == "quiet hours" and held.until == datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    r.clock.now = held.until
    r.run()
    assert r.statuses("telegram") == ["sent", "sent"]


def test_not_before_holds_a_scheduled_or_delayed_post(rig: RigFactory) -> None:
    r = rig()
    later = r.clock() + timedelta(minutes=10)

    def at(article_id: int, channel: str) -> datetime | None:
        return later if channel == "x" else None

    schedule: Schedule = at
    r.queue(1, ("x", "telegram"), schedule=schedule)
    r.run()
    assert r.statuses("x") == ["queued"] and r.statuses("telegram") == ["sent"]
    r.clock.now = later
    r.run()
    assert r.statuses("x") == ["sent"]
