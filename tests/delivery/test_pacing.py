"""Pacing decisions: when a channel may post next."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from syndicator.delivery.pacing import (
    MAX_SLOWDOWN,
    History,
    Pace,
    earliest_send,
    next_month,
    not_before,
    quiet_until,
    recovered,
    slowed,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_a_channel_with_no_rules_may_post_at_once() -> None:
    assert earliest_send(Pace(), History(last_sent_at=NOW), NOW) == NOW


def test_posts_keep_the_minimum_spacing() -> None:
    pace = Pace(min_spacing=timedelta(seconds=30))
    history = History(last_sent_at=NOW - timedelta(seconds=10))
    assert earliest_send(pace, history, NOW) == NOW + timedelta(seconds=20)


def test_after_429s_the_spacing_grows_and_later_shrinks_back() -> None:
    pace = Pace(min_spacing=timedelta(seconds=10))
    slowdown = slowed(slowed(1.0))
    history = History(last_sent_at=NOW, slowdown=slowdown)
    assert earliest_send(pace, history, NOW) == NOW + timedelta(seconds=40)
    for _ in range(50):
        slowdown = slowed(slowdown)
    assert slowdown == MAX_SLOWDOWN
    for _ in range(100):
        slowdown = recovered(slowdown)
    assert slowdown == 1.0


def test_the_hourly_cap_waits_for_the_oldest_post_to_leave_the_window() -> None:
    pace = Pace(max_per_hour=3)
    sends = [NOW - timedelta(minutes=m) for m in (5, 20, 50)]  # newest first
    assert earliest_send(pace, History(recent_sends=sends), NOW) == sends[2] + timedelta(hours=1)
    fewer = History(recent_sends=sends[:2])
    assert earliest_send(pace, fewer, NOW) == NOW


def test_the_daily_cap_counts_the_last_24_hours() -> None:
    pace = Pace(max_per_day=2)
    sends = [NOW - timedelta(hours=h) for h in (1, 23, 30)]
    assert earliest_send(pace, History(recent_sends=sends), NOW) == sends[1] + timedelta(days=1)


def test_a_monthly_cap_waits_for_the_next_month() -> None:
    pace = Pace(max_per_month=500)
    history = History(sent_this_month=500)
    assert earliest_send(pace, history, NOW) == datetime(2026, 12, 1, tzinfo=UTC)
    assert next_month(datetime(2026, 12, 31, 23, 0, tzinfo=UTC)) == datetime(2027, 1, 1, tzinfo=UTC)


def test_quiet_hours_across_midnight_in_the_newsrooms_timezone() -> None:
    pace = Pace(quiet_hours=(time(23, 0), time(7, 0)), timezone="Asia/Baku")  # UTC+4
    late = datetime(2026, 11, 28, 20, 30, tzinfo=UTC)  # 00:30 in Baku
    assert quiet_until(pace, late) == datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    evening = datetime(2026, 11, 28, 19, 30, tzinfo=UTC)  # 23:30 in Baku
    assert quiet_until(pace, evening) == datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    assert quiet_until(pace, datetime(2026, 11, 28, 8, 0, tzinfo=UTC)) is None  # noon in Baku
    assert earliest_send(pace, History(), late) == datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


def test_quiet_hours_within_one_day() -> None:
    pace = Pace(quiet_hours=(time(12, 0), time(13, 0)))
    assert quiet_until(pace, NOW) == NOW + timedelta(hours=1)
    assert quiet_until(pace, NOW - timedelta(minutes=1)) is None


def test_a_delay_after_publication() -> None:
    pace = Pace(delay=timedelta(minutes=10))
    published = NOW - timedelta(minutes=3)
    assert not_before(pace, published, NOW) == NOW + timedelta(minutes=7)
    assert not_before(pace, NOW - timedelta(hours=1), NOW) == NOW  # already long enough
    assert not_before(Pace(), published, NOW) == NOW


def test_a_channels_spacing_can_be_written_in_milliseconds() -> None:
    from syndicator.config import parse_duration

    assert parse_duration("150ms") == timedelta(milliseconds=150)
    assert parse_duration("1s500ms") == timedelta(seconds=1.5)
