"""When a channel may post next: spacing, hourly/daily/monthly caps, quiet hours, slow-down.

Pure decisions with ``now`` passed in. The counts and times they read live in the database
(the channel's row and its sent deliveries), so every worker reaches the same answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_SLOWDOWN = 16.0  # after repeated 429s a channel posts at most 16x more slowly
WINDOWS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


@dataclass(frozen=True, slots=True)
class Pace:
    """A channel's pacing rules (from its configuration)."""

    min_spacing: timedelta = timedelta(0)
    max_per_hour: int | None = None
    max_per_day: int | None = None
    max_per_month: int | None = None
    quiet_hours: tuple[time, time] | None = None  # local start and end; may cross midnight
    timezone: str = "UTC"
    delay: timedelta = timedelta(0)  # after the article's publication


@dataclass(frozen=True, slots=True)
class History:
    """What the channel has done, as the store tells it."""

    last_sent_at: datetime | None = None
    recent_sends: Sequence[datetime] = ()  # newest first; enough to judge the hourly/daily caps
    sent_this_month: int = 0
    slowdown: float = 1.0  # >1 after the network answered 429


def quiet_until(pace: Pace, now: datetime) -> datetime | None:
    """The end of the quiet hours ``now`` falls in, or None if it is not quiet now."""
    if pace.quiet_hours is None:
        return None
    zone = ZoneInfo(pace.timezone)
    local = now.astimezone(zone)
    start, end = pace.quiet_hours
    clock = local.time()
    inside = start <= clock < end if start <= end else clock >= start or clock < end
    if not inside:
        return None
    end_day = local.date()
    if start > end and clock >= start:  # quiet from the evening into the next morning
        end_day += timedelta(days=1)
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(UTC)


def month_start(now: datetime) -> datetime:
    """The start of the (UTC) month ``now`` is in: the monthly cap counts from there."""
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(now: datetime) -> datetime:
    return (month_start(now) + timedelta(days=32)).replace(day=1)


def earliest_send(pace: Pace, history: History, now: datetime) -> datetime:
    """The first moment the channel may post again (``now`` if it may post at once)."""
    candidates = [now]
    if history.last_sent_at is not None:
        candidates.append(history.last_sent_at + pace.min_spacing * history.slowdown)
    for cap, window in ((pace.max_per_hour, WINDOWS["hour"]), (pace.max_per_day, WINDOWS["day"])):
        if cap is None:
            continue
        in_window = [sent for sent in history.recent_sends if sent > now - window]
        if len(in_window) >= cap:
            candidates.append(in_window[cap - 1] + window)  # when the oldest counted one leaves
    if pace.max_per_month is not None and history.sent_this_month >= pace.max_per_month:
        candidates.append(next_month(now))
    earliest = max(candidates)
    quiet = quiet_until(pace, earliest)
    return quiet if quiet is not None else earliest


def not_before(pace: Pace, published: datetime | None, created: datetime) -> datetime:
    """When a new delivery becomes due: after the configured delay from publication."""
    if pace.delay <= timedelta(0):
        return created
    base = published if published is not None and published <= created else created
    return max(created, base + pace.delay)


def slowed(slowdown: float) -> float:
    """The slow-down after a 429: twice as slow, up to MAX_SLOWDOWN."""
    return min(MAX_SLOWDOWN, max(1.0, slowdown) * 2)


RECOVERY = 0.9  # each successful post takes a tenth off the slow-down


def recovered(slowdown: float) -> float:
    """After a successful post the channel speeds up again, a step at a time."""
    return max(1.0, slowdown * RECOVERY)
