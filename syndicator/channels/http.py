"""The one seam between the requests-based client libraries and the network.

tweepy and facebook-sdk hard-code their API hosts and send through a ``requests.Session``.
Mounting :class:`ApiHostAdapter` on that session for the real host lets ``api_base_url``
carry their calls to another root (a proxy, the built-in emulators) without touching the
libraries, and gives every call a timeout (tweepy sets none).

Authentication is applied before the transport runs, so an OAuth 1.0a signature still covers
the real host's URL, exactly what a forwarding proxy would need.
"""

from __future__ import annotations

from collections.abc import Mapping

import requests
from requests.adapters import HTTPAdapter

DEFAULT_TIMEOUT = (5.0, 30.0)  # connect, read (seconds)


class ApiHostAdapter(HTTPAdapter):
    """Sends requests for ``real_root`` to ``base_url`` instead (when given), with a timeout."""

    def __init__(
        self,
        real_root: str,
        base_url: str | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(max_retries=0)
        self.real_root = real_root.rstrip("/")
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeout = timeout

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        url = request.url or ""
        if self.base_url is not None and url.startswith(self.real_root):
            request.url = self.base_url + url[len(self.real_root) :]
        return super().send(
            request,
            stream=stream,
            timeout=timeout if timeout is not None else self.timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


def api_session(
    real_root: str, base_url: str | None = None, *, read_timeout: float = DEFAULT_TIMEOUT[1]
) -> requests.Session:
    """A session whose calls to ``real_root`` go to ``base_url`` (if set), with timeouts."""
    session = requests.Session()
    timeout = (min(DEFAULT_TIMEOUT[0], read_timeout), read_timeout)
    session.mount(real_root.rstrip("/") + "/", ApiHostAdapter(real_root, base_url, timeout))
    return session
