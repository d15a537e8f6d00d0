"""Running an ASGI app (the emulators, the demo feed) with uvicorn on a local socket.

The socket is bound before uvicorn starts, so port 0 gives a free port whose number is known
at once; ``ServedApp`` runs inside the caller's event loop (the daemon), ``ThreadedServer``
in a thread of its own (tests, ``syndicator sandbox``).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio then sets TCP_NODELAY on accepted connections.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def bind_preferred(host: str, port: int) -> socket.socket:
    """Bind ``port`` if it is free, else any free port: the demo should start regardless."""
    try:
        return bind(host, port)
    except OSError:
        return bind(host, 0)


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to its host process.

    uvicorn would take SIGINT/SIGTERM for itself and stop serving at once; the daemon must
    first finish the posts under way (which may be talking to this very server).
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _server(app: ASGIApp) -> uvicorn.Server:
    # No uvicorn logging config and no access log: request paths can hold a bot token.
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
    return _Server(config)


async def serve_until(app: ASGIApp, sock: socket.socket, stop: asyncio.Event) -> None:
    """Serve ``app`` on ``sock`` until ``stop`` is set."""
    served = ServedApp(app, sock)
    await served.start()
    try:
        await stop.wait()
    finally:
        await served.stop()


class ServedApp:
    """An app served by a task in the running event loop."""

    def __init__(self, app: ASGIApp, sock: socket.socket) -> None:
        self.sock = sock
        self.url = _url(sock)
        self._server = _server(app)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(sockets=[self.sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
        self.sock.close()


class ThreadedServer:
    """An app served from a background thread; a context manager."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sock = bind(host, port)
        self.url = _url(self.sock)
        self._server = _server(app)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve(sockets=[self.sock])),
            name=f"server {self.url}",
            daemon=True,
        )

    def start(self) -> ThreadedServer:
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"server at {self.url} did not start")
            threading.Event().wait(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.sock.close()

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
