"""What to do after a failed publish: pure decisions, with ``now`` passed in.

Rate limits and auth failures do not use up attempts (the post was never judged); transient
failures back off exponentially with jitter until ``max_attempts``; permanent ones fail at
once; an uncertain outcome is never retried blindly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from syndicator.errors import ErrorKind
from syndicator.records import DeliveryStatus


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_base: timedelta = timedelta(seconds=30)
    backoff_cap: timedelta = timedelta(minutes=30)
    jitter: float = 0.2  # +/- this fraction of the backoff
    auth_pause: timedelta = timedelta(minutes=15)


DEFAULT_POLICY = RetryPolicy()


@dataclass(frozen=True, slots=True)
class Decision:
    status: DeliveryStatus
    next_attempt_at: datetime | None = None
    pause_channel_until: datetime | None = None
    counts_attempt: bool = True


def backoff(attempt: int, policy: RetryPolicy, rand: float) -> timedelta:
    """The wait after the ``attempt``-th transient failure; ``rand`` in [0, 1) spreads it."""
    base: timedelta = min(policy.backoff_base * 2 ** max(0, attempt - 1), policy.backoff_cap)
    return base * (1 + policy.jitter * (2 * rand - 1))


def after_failure(
    kind: ErrorKind,
    *,
    attempt: int,
    now: datetime,
    retry_after: float | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
    rand: float = 0.5,
) -> Decision:
    if kind is ErrorKind.RATE_LIMITED:
        until = now + timedelta(seconds=max(1.0, retry_after or 0.0))
        return Decision(DeliveryStatus.WAITING, until, until, counts_attempt=False)
    if kind is ErrorKind.AUTH:
        until = now + policy.auth_pause
        return Decision(DeliveryStatus.WAITING, until, until, counts_attempt=False)
    if kind is ErrorKind.PERMANENT:
        return Decision(DeliveryStatus.FAILED)
    if kind is ErrorKind.UNCERTAIN:
        return Decision(DeliveryStatus.UNCERTAIN)
    if attempt >= policy.max_attempts:
        return Decision(DeliveryStatus.FAILED)
    return Decision(DeliveryStatus.WAITING, now + backoff(attempt, policy, rand))
