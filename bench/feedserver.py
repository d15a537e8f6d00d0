"""The feed server for the polling benchmark: a process of its own, so its CPU is not counted.

A small HTTP/1.1 server on asyncio (keep-alive, GET only) that serves feed ``n`` at
``/feeds/<n>.xml``. Which version a feed is at comes from the phase, a number shared with the
benchmark: in phase 1 every feed is at version 1 (the poll that fills the store); in phase
``p`` the feeds marked as changed are at version ``p`` and the others still at version 1, so
that a conditional GET with their ETag is answered 304. Every body is made before the server
says it is ready (some 100 KB each), so that serving one costs the server next to nothing
and it leaves the other core to the process being measured.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from feedgen import Served, feed

_REQUEST_LINE = re.compile(rb"GET (/feeds/(\d+)\.xml)\S* HTTP/1\.[01]")


class Mix:
    """Which feeds there are, which changed since the previous poll, which are malformed."""

    def __init__(
        self, count: int, phases: int, changed: frozenset[int], malformed: frozenset[int]
    ) -> None:
        self.count = count
        self.phases = phases
        self.changed = changed
        self.malformed = malformed
        self._bodies: dict[tuple[int, int], Served] = {}

    def make_all(self) -> None:
        """Makes every body any phase will serve."""
        for number in range(self.count):
            for phase in range(1, self.phases + 1):
                version = self.version(number, phase)
                if (number, version) not in self._bodies:
                    malformed = number in self.malformed
                    self._bodies[number, version] = feed(number, version, malformed=malformed)

    def version(self, number: int, phase: int) -> int:
        return phase if number in self.changed else 1

    def served(self, number: int, phase: int) -> Served | None:
        return self._bodies.get((number, self.version(number, phase)))


class _Connection(asyncio.Protocol):
    def __init__(self, answer: Callable[[bytes, dict[bytes, bytes]], bytes]) -> None:
        self._answer = answer
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        assert self._transport is not None
        self._buffer += data
        while b"\r\n\r\n" in self._buffer:
            head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
            request_line, *lines = head.split(b"\r\n")
            headers = {}
            for line in lines:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            self._transport.write(self._answer(request_line, headers))
            if headers.get(b"connection", b"").lower() == b"close":
                self._transport.close()
                return


def _response(status: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{name}: {value}" for name, value in headers.items())]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def answerer(mix: Mix, phase: Any) -> Callable[[bytes, dict[bytes, bytes]], bytes]:
    """The server's whole logic: request line and headers in, response bytes out."""

    def answer(request_line: bytes, headers: dict[bytes, bytes]) -> bytes:
        matched = _REQUEST_LINE.match(request_line)
        if matched is None:
            return _response("404 Not Found", {"Content-Type": "text/plain"}, b"no such feed")
        number, current = int(matched.group(2)), phase.value
        served = mix.served(number, current)
        if served is None:
            return _response("404 Not Found", {"Content-Type": "text/plain"}, b"no such feed")
        etag, last_modified = served.etag, served.last_modified
        if headers.get(b"if-none-match", b"").decode("latin-1") == etag:
            return _response("304 Not Modified", {"ETag": etag, "Last-Modified": last_modified})
        validators = {"ETag": etag, "Last-Modified": last_modified}
        return _response("200 OK", {"Content-Type": served.content_type, **validators}, served.body)

    return answer


def serve(mix: Mix, phase: Any, ready: Connection) -> None:
    """Runs in the server process until it is terminated; sends its port through ``ready``."""

    mix.make_all()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        answer = answerer(mix, phase)
        server = await loop.create_server(lambda: _Connection(answer), "127.0.0.1", 0, backlog=1024)
        ready.send(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())
