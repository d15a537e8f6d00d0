"""The sandbox: the three emulators behind one root, as ``syndicator sandbox`` serves them.

Each emulator sits where its client library's real API root maps to::

    https://api.telegram.org    -> <root>/telegram  (python-telegram-bot: <root>/telegram/bot)
    https://api.twitter.com     -> <root>/x         (tweepy, through api_session)
    https://graph.facebook.com  -> <root>/facebook  (facebook-sdk, through api_session)

``GET /`` names them and their control URLs. Everything lives in the returned app (its
``state.emulators``), so two apps are independent, and the app can itself be mounted inside
another Starlette app (the demo adds its feed that way). :class:`SandboxControl` drives one
emulator's control routes over HTTP, for tests and tools.
"""

from __future__ import annotations

from typing import Any

import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from syndicator.sandbox.base import CONTROL_PREFIX, Emulator
from syndicator.sandbox.credentials import DEMO_CREDENTIALS, SandboxCredentials
from syndicator.sandbox.facebook import FacebookEmulator
from syndicator.sandbox.telegram import TelegramEmulator
from syndicator.sandbox.twitter import XEmulator

# mount name -> (network, the real root it stands in for, what a client is given)
_NETWORKS = {
    "telegram": ("Telegram Bot API", "https://api.telegram.org", "/bot"),
    "x": ("X API v2", "https://api.twitter.com", ""),
    "facebook": ("Facebook Graph API", "https://graph.facebook.com", ""),
}


def build_sandbox_app(credentials: SandboxCredentials = DEMO_CREDENTIALS) -> Starlette:
    """A fresh sandbox with its own state, accepting ``credentials`` only."""
    emulators: dict[str, Emulator] = {
        "telegram": TelegramEmulator(credentials),
        "x": XEmulator(credentials),
        "facebook": FacebookEmulator(credentials),
    }

    async def index(request: Request) -> Response:
        # root_path is where this app is mounted, when it is mounted inside another app.
        root = f"{request.url.scheme}://{request.url.netloc}{request.scope.get('root_path', '')}"
        return JSONResponse(
            {
                "emulators": {
                    name: {
                        "network": network,
                        "stands_for": real_root,
                        "base_url": f"{root}/{name}{client_suffix}",
                        "posts": f"{root}/{name}{CONTROL_PREFIX}posts",
                        "requests": f"{root}/{name}{CONTROL_PREFIX}requests",
                        "faults": f"{root}/{name}{CONTROL_PREFIX}faults",
                        "rate": f"{root}/{name}{CONTROL_PREFIX}rate",
                    }
                    for name, (network, real_root, client_suffix) in _NETWORKS.items()
                }
            }
        )

    routes: list[BaseRoute] = [Route("/", index, methods=["GET"])]
    routes += [Mount(f"/{name}", app=emulator) for name, emulator in emulators.items()]
    app = Starlette(routes=routes)
    app.state.emulators = emulators
    app.state.credentials = credentials
    return app


class SandboxControl:
    """Reads and steers one emulator (``telegram``, ``x`` or ``facebook``) over HTTP."""

    def __init__(self, root_url: str, emulator: str, timeout: float = 10.0) -> None:
        self.url = f"{root_url.rstrip('/')}/{emulator}{CONTROL_PREFIX}"
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = requests.request(method, self.url + path, json=body, timeout=self.timeout)
        response.raise_for_status()
        return response.json()

    def posts(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "posts")["posts"])

    def requests(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "requests")["requests"])

    def clear(self) -> None:
        self._call("DELETE", "posts")

    def fault(
        self,
        fault: str,
        count: int = 1,
        *,
        retry_after: float | None = None,
        delay: float | None = None,
    ) -> None:
        body: dict[str, Any] = {"fault": fault, "count": count}
        if retry_after is not None:
            body["retry_after"] = retry_after
        if delay is not None:
            body["delay"] = delay
        self._call("POST", "faults", body)

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def rate(self, per_second: float, burst: int = 1, path: str | None = None) -> None:
        """Enforce a rate on every API call, or only on calls whose path contains ``path``."""
        body: dict[str, object] = {"per_second": per_second, "burst": burst}
        if path is not None:
            body["path"] = path
        self._call("POST", "rate", body)

    def clear_rate(self) -> None:
        self._call("DELETE", "rate")
