"""ASGI plumbing of the emulators: paths below a mount, reading a body twice, waiting, dropping.

Starlette covers routing and responses; what it does not cover is what the fault pipeline of
:class:`~syndicator.sandbox.base.Emulator` needs: the body read before routing and handed on
again, a wait that ends early when the client gives up, and a connection closed unanswered.
"""

from __future__ import annotations

import contextlib
from typing import Any

import anyio
from starlette.types import Receive, Scope, Send


def route_path(scope: Scope) -> str:
    """The path below the point where the emulator is mounted."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A receive channel that hands the already-read body over again."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Any:
        return pending.pop() if pending else await receive()

    return replayed


async def wait_or_disconnect(receive: Receive, delay: float) -> None:
    """Sleeps ``delay`` seconds, or less if the client gives up (then nobody is waiting)."""
    with anyio.move_on_after(delay):
        while (await receive())["type"] != "http.disconnect":
            pass


async def drop_connection(send: Send) -> None:
    """Ends the exchange with no answer, as a network that drops a connection does.

    ASGI has no message for "close without answering". Starting a response with a header no
    server may send makes the server refuse it before writing a byte; having started a
    response it cannot finish, the server must close the connection, so the client reads
    nothing at all.
    """
    with contextlib.suppress(Exception):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-drop", b"\n")]})
