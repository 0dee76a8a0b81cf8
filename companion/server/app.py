"""The daemon's aiohttp application factory: middlewares in their documented order, then the routes."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from companion.server import (
    activity,
    lookup_routes,
    native,
    push_routes,
    security,
    settings_routes,
    status,
    sync_routes,
    window,
)
from companion.server.context import CONTEXT_KEY, DaemonContext
from companion.server.routes import ApiRoutes

#: Requests to the companion are small JSON messages; anything bigger is refused with 413.
MAX_REQUEST_BYTES: Final = 1024 * 1024


def build_routes() -> ApiRoutes:
    routes = ApiRoutes()
    status.register(routes)
    native.register(routes)
    sync_routes.register(routes)
    settings_routes.register(routes)
    window.register(routes)
    activity.register(routes)
    lookup_routes.register(routes)
    push_routes.register(routes)
    return routes


def create_app(ctx: DaemonContext, *, routes: ApiRoutes | None = None) -> web.Application:
    """The loopback API for `ctx`. `routes` replaces the standard set (tests of the middlewares)."""
    app = web.Application(middlewares=security.middlewares(), client_max_size=MAX_REQUEST_BYTES)
    app[CONTEXT_KEY] = ctx
    app[security.POLICY_KEY] = security.SecurityPolicy(
        token=ctx.token, extension_origins=frozenset(ctx.extension_origins), window=ctx.window
    )
    (routes if routes is not None else build_routes()).install(app)
    # Open native sessions are tracked so that stopping the daemon ends them at once.
    native.install(app)
    if routes is None:
        window.install(app)
    app.on_response_prepare.append(security.add_security_headers)
    return app
