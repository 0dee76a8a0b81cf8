"""GET /api/status: the daemon's version, uptime, last known CATS connection state and rate budget."""

from __future__ import annotations

from aiohttp import web

from companion.server.context import CONTEXT_KEY, DaemonContext
from companion.server.routes import ApiRoutes

STATUS_PATH = "/api/status"


async def get_status(request: web.Request) -> web.Response:
    return web.json_response(status_data(request.app[CONTEXT_KEY]))


def status_data(ctx: DaemonContext) -> dict[str, object]:
    """The status document (also the native protocol's `status` message)."""
    connection = ctx.monitor.status
    budget = ctx.client.budget.snapshot().model_dump(mode="json") if ctx.client is not None else None
    return {
        "version": ctx.version,
        "uptime_seconds": round(ctx.uptime_seconds(), 3),
        "cats": {
            "base_url": ctx.cats_base_url,
            "state": connection.state,
            "detail": connection.detail,
            "site": connection.site,
            "checked_at": connection.checked_at.isoformat() if connection.checked_at else None,
        },
        "rate_budget": budget,
    }


def register(routes: ApiRoutes) -> None:
    routes.add("GET", STATUS_PATH, get_status)
