"""What the three emulators share: the record of what they received, faults, rate, control.

An :class:`Emulator` is a plain ASGI app. Calls under ``/__sandbox/`` are control calls (read
the posts and requests it received, clear them, queue faults, set an enforced rate) and are
never faulted; every other call is an API call, which goes through one pipeline::

    read body -> queued fault? -> enforced rate? -> the network's own routes -> log the call

A subclass supplies only what differs between networks: its routes, how it renders a fault
in its own error shape, and which parts of a path or of the parameters are secret. State is
per emulator instance, behind one lock, so two apps in one process never see each other.
"""

from __future__ import annotations

import abc
import contextlib
import enum
import itertools
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import collapse_rfc2231_value
from typing import Any, ClassVar
from urllib.parse import parse_qsl

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, Router
from starlette.types import Message, Receive, Scope, Send

CONTROL_PREFIX = "/__sandbox/"
_MAX_REQUESTS_KEPT = 10_000  # a demo left running must not grow without bound


def iso_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


# --- records ------------------------------------------------------------------------------


class FaultKind(enum.StrEnum):
    RATE_LIMIT = "rate_limit"
    SERVER_ERROR = "server_error"
    EXPIRED_TOKEN = "expired_token"  # noqa: S105 (a fault name, not a password)
    TIMEOUT = "timeout"  # answer late (the call is still carried out)
    DROP = "drop"  # close the connection without an answer (the call is not carried out)


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    retry_after: float = 5.0  # seconds, for RATE_LIMIT
    delay: float = 10.0  # seconds, for TIMEOUT

    @property
    def retry_after_seconds(self) -> int:
        """Networks announce whole seconds; rounding up never invites an early retry."""
        return max(0, math.ceil(self.retry_after))


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Form:
    """Parameters from the query string and the body (body wins), and uploaded files."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)


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


# --- pure counters --------------------------------------------------------------------------


class TokenBucket:
    """An enforced rate: ``burst`` calls at once, refilled at ``per_second``."""

    def __init__(self, per_second: float, burst: int, now: float) -> None:
        self.per_second = per_second
        self.burst = burst
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


# --- state ----------------------------------------------------------------------------------


class SandboxState:
    """Everything one emulator received and was told to do; safe to use from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._posts: dict[str, StoredPost] = {}
        self._requests: deque[RequestRecord] = deque(maxlen=_MAX_REQUESTS_KEPT)
        self._files: dict[str, Upload] = {}
        self._faults: deque[Fault] = deque()
        self._bucket: TokenBucket | None = None
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

    def add_faults(self, fault: Fault, count: int) -> None:
        with self._lock:
            self._faults.extend([fault] * count)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending_faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def set_rate(self, bucket: TokenBucket | None) -> None:
        with self._lock:
            self._bucket = bucket

    def take_rate(self, now: float) -> float:
        with self._lock:
            return 0.0 if self._bucket is None else self._bucket.take(now)

    def use_quota(
        self, key: str, limit: int, seconds: float, now: float, *, consume: bool = True
    ) -> Usage:
        """Counts a call against a fixed window (``consume=False`` only reads it)."""
        with self._lock:
            window = self._windows.setdefault(key, _Window(seconds, now))
            return window.use(limit, now, consume)


# --- request bodies -------------------------------------------------------------------------


def parse_form(content_type: str, body: bytes, query: str = "") -> Form:
    """Reads urlencoded, multipart and JSON bodies alike (JSON values that are not strings
    become JSON text, the way PTB sends them in a form)."""
    fields = dict(parse_qsl(query, keep_blank_values=True))
    files: dict[str, Upload] = {}
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/x-www-form-urlencoded":
        fields.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif media_type == "multipart/form-data":
        _read_multipart(content_type, body, fields, files)
    elif media_type == "application/json" and body:
        with contextlib.suppress(ValueError):
            data = json.loads(body)
            if isinstance(data, dict):
                fields.update(
                    {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
                )
    return Form(fields, files)


def _read_multipart(
    content_type: str, body: bytes, fields: dict[str, str], files: dict[str, Upload]
) -> None:
    # The standard library's MIME parser reads form-data too; starlette's needs an extra
    # package (python-multipart) that syndicator does not otherwise depend on.
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(EmailMessage, policy=policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        return
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name is None:
            continue
        name = collapse_rfc2231_value(name)
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        filename = part.get_filename()
        if filename is None:
            fields[name] = data.decode(part.get_content_charset() or "utf-8", "replace")
        else:
            files[name] = Upload(filename, part.get_content_type(), data)


# --- the ASGI app ---------------------------------------------------------------------------


class Emulator(abc.ABC):
    """One network's emulator. Subclasses add routes and their network's error shapes."""

    #: parameter names never shown in ``params`` (they hold credentials)
    secret_params: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.state = SandboxState()
        self._api = Router(routes=self.api_routes(), default=self._not_found)
        self._control = Router(routes=self._control_routes())

    @abc.abstractmethod
    def api_routes(self) -> list[BaseRoute]: ...

    @abc.abstractmethod
    def fault_response(self, fault: Fault) -> Response:
        """The network's answer for a rate_limit, server_error or expired_token fault."""

    @abc.abstractmethod
    def not_found_response(self) -> Response: ...

    def mask_path(self, path: str) -> str:
        """The path as the request log keeps it; override where a path carries a secret."""
        return path

    def public_params(self, form: Form | dict[str, Any]) -> dict[str, Any]:
        """Received parameters minus secrets; an upload is described, not kept inline."""
        if isinstance(form, dict):
            return {k: v for k, v in form.items() if k not in self.secret_params}
        params: dict[str, Any] = {
            k: v for k, v in form.fields.items() if k not in self.secret_params
        }
        for name, upload in form.files.items():
            params[name] = {
                "filename": upload.filename,
                "content_type": upload.content_type,
                "size": len(upload.data),
            }
        return params

    def file_url(self, request: Request, upload: Upload) -> str:
        """Keeps an uploaded file and gives the URL it can be read back from."""
        name = self.state.add_file(upload)
        root = request.scope.get("root_path", "")
        return f"{request.url.scheme}://{request.url.netloc}{root}{CONTROL_PREFIX}files/{name}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if route_path(scope).startswith(CONTROL_PREFIX):
            await self._control(scope, receive, send)
        else:
            await self._serve_api(scope, receive, send)

    async def _serve_api(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive)
        replay = _replay(body, receive)
        fault = self.state.take_fault()
        statuses: list[int] = []

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
            await send(message)

        try:
            if fault is not None and fault.kind is FaultKind.DROP:
                await _drop_connection(send)
            elif fault is not None and fault.kind is not FaultKind.TIMEOUT:
                await self.fault_response(fault)(scope, replay, recording_send)
            else:
                if fault is not None:
                    await _wait_or_disconnect(receive, fault.delay)
                wait = self.state.take_rate(self.clock())
                if wait > 0:
                    limited = Fault(FaultKind.RATE_LIMIT, retry_after=wait)
                    await self.fault_response(limited)(scope, replay, recording_send)
                else:
                    await self._api(scope, replay, recording_send)
        finally:
            self.state.record(
                RequestRecord(
                    method=scope["method"],
                    path=self.mask_path(scope["path"]),
                    status=statuses[0] if statuses else None,
                    time=self.clock(),
                    fault=None if fault is None else fault.kind,
                )
            )

    async def _not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.not_found_response()(scope, receive, send)

    # --- control routes ---------------------------------------------------------------------

    def _control_routes(self) -> list[BaseRoute]:
        p = CONTROL_PREFIX
        return [
            Route(p + "posts", self._list_posts, methods=["GET"]),
            Route(p + "posts", self._clear, methods=["DELETE"]),
            Route(p + "requests", self._list_requests, methods=["GET"]),
            Route(p + "faults", self._list_faults, methods=["GET"]),
            Route(p + "faults", self._add_faults, methods=["POST"]),
            Route(p + "faults", self._clear_faults, methods=["DELETE"]),
            Route(p + "rate", self._set_rate, methods=["POST"]),
            Route(p + "rate", self._clear_rate, methods=["DELETE"]),
            Route(p + "files/{name}", self._get_file, methods=["GET"]),
        ]

    async def _list_posts(self, request: Request) -> Response:
        return JSONResponse({"posts": [post.to_json() for post in self.state.posts()]})

    async def _clear(self, request: Request) -> Response:
        self.state.clear()
        return JSONResponse({"cleared": True})

    async def _list_requests(self, request: Request) -> Response:
        return JSONResponse({"requests": [r.to_json() for r in self.state.requests()]})

    async def _list_faults(self, request: Request) -> Response:
        return JSONResponse({"faults": [_fault_json(f) for f in self.state.pending_faults()]})

    async def _add_faults(self, request: Request) -> Response:
        try:
            data = await _json_object(request)
            fault = Fault(
                FaultKind(str(data.get("fault"))),
                retry_after=_number(data, "retry_after", 5.0),
                delay=_number(data, "delay", 10.0),
            )
            count = int(_number(data, "count", 1, minimum=1))
        except ValueError as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        self.state.add_faults(fault, count)
        return JSONResponse({"queued": count, **_fault_json(fault)})

    async def _clear_faults(self, request: Request) -> Response:
        self.state.clear_faults()
        return JSONResponse({"faults": []})

    async def _set_rate(self, request: Request) -> Response:
        try:
            data = await _json_object(request)
            per_second = _number(data, "per_second", None, minimum=1e-9)
            burst = int(_number(data, "burst", 1, minimum=1))
        except ValueError as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        self.state.set_rate(TokenBucket(per_second, burst, self.clock()))
        return JSONResponse({"per_second": per_second, "burst": burst})

    async def _clear_rate(self, request: Request) -> Response:
        self.state.set_rate(None)
        return JSONResponse({"per_second": None})

    async def _get_file(self, request: Request) -> Response:
        upload = self.state.get_file(request.path_params["name"])
        if upload is None:
            return JSONResponse({"error": "no such file"}, status_code=404)
        return Response(upload.data, media_type=upload.content_type)


def _fault_json(fault: Fault) -> dict[str, Any]:
    return {"fault": str(fault.kind), "retry_after": fault.retry_after, "delay": fault.delay}


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError:
        raise ValueError("body must be a JSON object") from None
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data


def _number(
    data: dict[str, Any], key: str, default: float | None, *, minimum: float = 0.0
) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number")
    if value < minimum:
        raise ValueError(f"{key} must be at least {minimum:g}")
    return float(value)


# --- ASGI plumbing --------------------------------------------------------------------------


def route_path(scope: Scope) -> str:
    """The path below the point where the emulator is mounted."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive channel that hands the already-read body over again."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Any:
        return pending.pop() if pending else await receive()

    return replay


async def _wait_or_disconnect(receive: Receive, delay: float) -> None:
    """Sleeps ``delay`` seconds, or less if the client gives up (then nobody is waiting)."""
    with anyio.move_on_after(delay):
        while (await receive())["type"] != "http.disconnect":
            pass


async def _drop_connection(send: Send) -> None:
    """Ends the exchange with no answer, as a network that drops a connection does.

    ASGI has no message for "close without answering". Starting a response with a header no
    server may send makes the server refuse it before writing a byte; having started a
    response it cannot finish, the server must close the connection, so the client reads
    nothing at all.
    """
    with contextlib.suppress(Exception):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-drop", b"\n")]})


__all__ = [
    "CONTROL_PREFIX",
    "Emulator",
    "Fault",
    "FaultKind",
    "Form",
    "StoredPost",
    "Upload",
    "Usage",
    "iso_time",
    "parse_form",
]
