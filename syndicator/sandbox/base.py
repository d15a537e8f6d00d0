"""What the three emulators share: the pipeline of an API call, and the control routes.

An :class:`Emulator` is a plain ASGI app. Calls under ``/__sandbox/`` are control calls (read
the posts and requests it received, clear them, queue faults, set an enforced rate) and are
never faulted; every other call is an API call, which goes through one pipeline::

    read body -> queued fault? -> enforced rate? -> the network's own routes -> log the call

A subclass supplies only what differs between networks: its routes, how it renders a fault
in its own error shape, and which parts of a path or of the parameters are secret. What an
emulator holds is in :mod:`~syndicator.sandbox.state`, what it was told to inflict in
:mod:`~syndicator.sandbox.faults`, both per emulator instance.
"""

from __future__ import annotations

import abc
import json
import time
from collections.abc import Callable
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, Router
from starlette.types import Message, Receive, Scope, Send

from syndicator.sandbox.asgi import (
    drop_connection,
    read_body,
    replay,
    route_path,
    wait_or_disconnect,
)
from syndicator.sandbox.faults import Fault, FaultKind, FaultPlan, TokenBucket
from syndicator.sandbox.forms import Form, Upload
from syndicator.sandbox.state import RequestRecord, SandboxState

CONTROL_PREFIX = "/__sandbox/"


class Emulator(abc.ABC):
    """One network's emulator. Subclasses add routes and their network's error shapes."""

    #: parameter names never shown in ``params`` (they hold credentials)
    secret_params: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.state = SandboxState()
        self.faults = FaultPlan()
        self._api = Router(routes=self.api_routes(), default=self._not_found)
        self._control = Router(routes=self._control_routes())

    @abc.abstractmethod
    def api_routes(self) -> list[BaseRoute]: ...

    @abc.abstractmethod
    def fault_response(self, fault: Fault) -> Response:
        """The network's answer for a rate_limit, server_error, expired_token or bad_request."""

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
        body = await read_body(receive)
        replayed = replay(body, receive)
        fault = self.faults.take(route_path(scope))
        statuses: list[int] = []

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
            await send(message)

        try:
            if fault is not None and fault.kind is FaultKind.DROP:
                await drop_connection(send)
            elif fault is not None and fault.kind is not FaultKind.TIMEOUT:
                await self.fault_response(fault)(scope, replayed, recording_send)
            else:
                if fault is not None:
                    await wait_or_disconnect(receive, fault.delay)
                wait = self.faults.take_rate(route_path(scope), self.clock())
                if wait > 0:
                    limited = Fault(FaultKind.RATE_LIMIT, retry_after=wait)
                    await self.fault_response(limited)(scope, replayed, recording_send)
                else:
                    await self._api(scope, replayed, recording_send)
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
        return JSONResponse({"faults": [f.to_json() for f in self.faults.pending()]})

    async def _add_faults(self, request: Request) -> Response:
        try:
            data = await _json_object(request)
            fault = Fault(
                FaultKind(str(data.get("fault"))),
                retry_after=_number(data, "retry_after", 5.0),
                delay=_number(data, "delay", 10.0),
                message=str(data["message"]) if data.get("message") else None,
                path=str(data["path"]) if data.get("path") else None,
            )
            count = int(_number(data, "count", 1, minimum=1))
        except ValueError as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        self.faults.add(fault, count)
        return JSONResponse({"queued": count, **fault.to_json()})

    async def _clear_faults(self, request: Request) -> Response:
        self.faults.clear()
        return JSONResponse({"faults": []})

    async def _set_rate(self, request: Request) -> Response:
        try:
            data = await _json_object(request)
            per_second = _number(data, "per_second", None, minimum=1e-9)
            burst = int(_number(data, "burst", 1, minimum=1))
            path = data.get("path")
            if path is not None and not isinstance(path, str):
                raise ValueError("'path' must be a string")
        except ValueError as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        self.faults.set_rate(TokenBucket(per_second, burst, self.clock(), path or None))
        return JSONResponse({"per_second": per_second, "burst": burst, "path": path or None})

    async def _clear_rate(self, request: Request) -> Response:
        self.faults.set_rate(None)
        return JSONResponse({"per_second": None})

    async def _get_file(self, request: Request) -> Response:
        upload = self.state.get_file(request.path_params["name"])
        if upload is None:
            return JSONResponse({"error": "no such file"}, status_code=404)
        return Response(upload.data, media_type=upload.content_type)


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


__all__ = ["CONTROL_PREFIX", "Emulator"]
