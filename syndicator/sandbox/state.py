"""What one emulator holds: its posts, the calls it received, uploaded files, ids, quota use.

Everything lives in one :class:`SandboxState` per emulator, behind one lock, so two apps in
one process never see each other.
The control routes show the posts and requests and clear them; a clear also forgets files
and quota use, but ids keep counting up so a cleared emulator never repeats one.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from syndicator.sandbox.faults import FaultKind
from syndicator.sandbox.forms import Upload

_MAX_REQUESTS_KEPT = 10_000  # a demo left running must not grow without bound


def iso_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


@dataclass(frozen=True)
class StoredPost:
    """A post as the emulator keeps it; ``private`` is the network's own state, not shown."""

    id: str
    target: str
    text: str
    kind: str
    created_at: float
    params: dict[str, Any]
    link: str | None = None
    image: str | None = None
    html: str | None = None
    private: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "target": self.target,
            "text": self.text,
            "html": self.html,
            "link": self.link,
            "image": self.image,
            "kind": self.kind,
            "created_at": iso_time(self.created_at),
            "params": self.params,
        }


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str  # secrets masked
    status: int | None  # None: no answer was sent (a dropped connection)
    time: float
    fault: FaultKind | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "time": iso_time(self.time),
            "fault": None if self.fault is None else str(self.fault),
        }


@dataclass(frozen=True)
class Usage:
    """One fixed window of a network's call quota, as seen by one call."""

    allowed: bool
    limit: int
    used: int
    reset_at: float

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


class _Window:
    def __init__(self, seconds: float, now: float) -> None:
        self.seconds = seconds
        self.started = now
        self.used = 0

    def use(self, limit: int, now: float, consume: bool) -> Usage:
        if now >= self.started + self.seconds:
            self.started, self.used = now, 0
        allowed = self.used < limit
        if allowed and consume:
            self.used += 1
        return Usage(allowed, limit, self.used, self.started + self.seconds)


class SandboxState:
    """Everything one emulator received and published; safe to use from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._posts: dict[str, StoredPost] = {}
        self._requests: deque[RequestRecord] = deque(maxlen=_MAX_REQUESTS_KEPT)
        self._files: dict[str, Upload] = {}
        self._windows: dict[str, _Window] = {}
        self._counters: dict[str, itertools.count[int]] = {}

    def next_id(self, series: str = "", start: int = 1) -> int:
        """The next number of a series; ids never repeat, even after a clear."""
        with self._lock:
            counter = self._counters.setdefault(series, itertools.count(start))
            return next(counter)

    def add_post(self, post: StoredPost) -> None:
        with self._lock:
            self._posts[post.id] = post

    def replace_post(self, post: StoredPost) -> None:
        with self._lock:
            if post.id in self._posts:
                self._posts[post.id] = post

    def remove_post(self, post_id: str) -> StoredPost | None:
        with self._lock:
            return self._posts.pop(post_id, None)

    def get_post(self, post_id: str) -> StoredPost | None:
        with self._lock:
            return self._posts.get(post_id)

    def posts(self) -> list[StoredPost]:
        """Every post still published, oldest first."""
        with self._lock:
            return list(self._posts.values())

    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    def record(self, request: RequestRecord) -> None:
        with self._lock:
            self._requests.append(request)

    def add_file(self, upload: Upload) -> str:
        name = f"f{self.next_id('file')}"
        with self._lock:
            self._files[name] = upload
        return name

    def get_file(self, name: str) -> Upload | None:
        with self._lock:
            return self._files.get(name)

    def clear(self) -> None:
        """Forgets posts, requests, files and quota use (ids keep counting up)."""
        with self._lock:
            self._posts.clear()
            self._requests.clear()
            self._files.clear()
            self._windows.clear()

    def use_quota(
        self, key: str, limit: int, seconds: float, now: float, *, consume: bool = True
    ) -> Usage:
        """Counts a call against a fixed window (``consume=False`` only reads it)."""
        with self._lock:
            window = self._windows.setdefault(key, _Window(seconds, now))
            return window.use(limit, now, consume)
