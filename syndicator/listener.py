"""The daemon's HTTP listener: one Starlette app that the parts needing HTTP mount routes on.

WebSub hubs call back here (``syndicator.sources.websub``); the dashboard will live here too.
``GET /healthz`` lets a reverse proxy or an orchestrator see that the daemon is up. The app
carries no state of its own: each route group brings what it needs.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route


async def _healthz(_request: Request) -> Response:
    return JSONResponse({"ok": True})


def build_listener(*route_groups: Sequence[BaseRoute]) -> Starlette:
    """The listener app with ``/healthz`` and every group's routes, in the order given."""
    routes: list[BaseRoute] = [Route("/healthz", _healthz, methods=["GET"])]
    for group in route_groups:
        routes.extend(group)
    return Starlette(routes=routes)
