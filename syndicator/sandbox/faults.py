"""What a tester can inflict on an emulator's API calls: queued faults and an enforced rate.

Both are set through the control routes and apply to every network alike; each network only
renders them in its own error shape (:meth:`~syndicator.sandbox.base.Emulator.fault_response`).
Queued faults are taken one per API call, in order; the enforced rate is a token bucket every
API call draws from. Clearing the emulator's posts leaves both in place.
"""

from __future__ import annotations

import enum
import math
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any


class FaultKind(enum.StrEnum):
    RATE_LIMIT = "rate_limit"
    SERVER_ERROR = "server_error"
    EXPIRED_TOKEN = "expired_token"  # noqa: S105 (a fault name, not a password)
    BAD_REQUEST = "bad_request"  # refuse the call as invalid (a permanent refusal)
    TIMEOUT = "timeout"  # answer late (the call is still carried out)
    DROP = "drop"  # close the connection without an answer (the call is not carried out)


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    retry_after: float = 5.0  # seconds, for RATE_LIMIT
    delay: float = 10.0  # seconds, for TIMEOUT
    message: str | None = None  # the refusal's wording, for BAD_REQUEST (else the network's usual)
    path: str | None = None  # only calls whose path contains this (e.g. "sendPhoto"); else any

    def applies_to(self, path: str) -> bool:
        return self.path is None or self.path.lower() in path.lower()

    @property
    def retry_after_seconds(self) -> int:
        """Networks announce whole seconds; rounding up never invites an early retry."""
        return max(0, math.ceil(self.retry_after))

    def to_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"fault": str(self.kind)}
        shown |= {"retry_after": self.retry_after, "delay": self.delay, "message": self.message}
        shown |= {"path": self.path}
        return shown


class TokenBucket:
    """An enforced rate: ``burst`` calls at once, refilled at ``per_second``."""

    def __init__(self, per_second: float, burst: int, now: float, path: str | None = None) -> None:
        self.per_second = per_second
        self.burst = burst
        self.path = path  # only calls whose path contains this count (e.g. "sendMessage")
        self._tokens = float(burst)
        self._updated = now

    def take(self, now: float) -> float:
        """Takes a token: 0.0 if there was one, else the seconds until there will be."""
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.per_second)
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.per_second


class FaultPlan:
    """The faults queued for the next API calls and the enforced rate; safe from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: deque[Fault] = deque()
        self._bucket: TokenBucket | None = None

    def add(self, fault: Fault, count: int) -> None:
        with self._lock:
            self._faults.extend([fault] * count)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, path: str) -> Fault | None:
        """The first queued fault meant for a call to ``path``, taken off the queue."""
        with self._lock:
            for fault in self._faults:
                if fault.applies_to(path):
                    self._faults.remove(fault)
                    return fault
            return None

    def set_rate(self, bucket: TokenBucket | None) -> None:
        with self._lock:
            self._bucket = bucket

    def take_rate(self, path: str, now: float) -> float:
        """0.0 if the call to ``path`` may go ahead now, else the seconds until it could."""
        with self._lock:
            bucket = self._bucket
            if bucket is None or (bucket.path and bucket.path.lower() not in path.lower()):
                return 0.0
            return bucket.take(now)
