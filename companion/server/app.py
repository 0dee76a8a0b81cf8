"""The daemon's aiohttp application factory: middlewares in their documented order, then one routes table.

The app serves one Companion (companion.app): it starts the Companion's background work when the app
starts and closes the Companion when the app is cleaned up (aiohttp's cleanup_ctx), after open
native sessions and event streams have been ended (on_shutdown).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Final

from aiohttp import web

from companion.app import Companion
from companion.server import security
from companion.server.http_operations import operation_route
from companion.server.native import endpoint
from companion.server.native.dispatch import Dispatcher
from companion.server.operations import TABLE, Operations
from companion.server.routes import (
    RETRY_PATH,
    STATUS_PATH,
    SYNC_PATH,
    TEAM_ALIAS_UNDO_PATH,
    TEAM_ALIASES_PATH,
    TEAM_POLICY_PATH,
    ApiRoutes,
)
from companion.server.state import COMPANION_KEY, STATE_KEY, ServerState
from companion.server.window import activity, pages, settings

#: Requests to the companion are small JSON messages; anything bigger is refused with 413.
MAX_REQUEST_BYTES: Final = 1024 * 1024


def _started(result: Any) -> int:
    # 202: a sync was started and runs on; 200: one was already running, nothing new started.
    return 202 if result["started"] else 200


def build_routes(operations: Operations = TABLE) -> ApiRoutes:
    """Every HTTP route: the native protocol's endpoints, then what the settings window and the CLI call."""
    routes = ApiRoutes()
    endpoint.register(routes)
    # Operations the CLI and the settings window call over HTTP; everything else is a native message.
    routes.add("GET", STATUS_PATH, operation_route(operations, "status"))
    routes.add("GET", SYNC_PATH, operation_route(operations, "sync.state"))
    routes.add("POST", SYNC_PATH, operation_route(operations, "sync.start", status=_started))
    routes.add("POST", RETRY_PATH, operation_route(operations, "outbox.retry"))
    routes.add("GET", TEAM_POLICY_PATH, operation_route(operations, "team.policy.get"))
    routes.add("PUT", TEAM_POLICY_PATH, operation_route(operations, "team.policy.put"))
    routes.add("GET", TEAM_ALIASES_PATH, operation_route(operations, "team.aliases"))
    routes.add("POST", TEAM_ALIAS_UNDO_PATH, operation_route(operations, "team.alias_undo"))
    # The settings window's own API.
    pages.register(routes)
    settings.register(routes)
    activity.register(routes)
    return routes


def create_app(
    companion: Companion,
    state: ServerState,
    *,
    operations: Operations = TABLE,
    routes: ApiRoutes | None = None,
    heartbeat_seconds: float = endpoint.HEARTBEAT_SECONDS,
) -> web.Application:
    """The loopback API serving `companion`. `routes` replaces the standard set (tests of the middlewares)."""
    app = web.Application(middlewares=security.middlewares(), client_max_size=MAX_REQUEST_BYTES)
    app[COMPANION_KEY] = companion
    app[STATE_KEY] = state
    app[security.POLICY_KEY] = security.SecurityPolicy(
        token=state.token, extension_origins=frozenset(state.extension_origins), window=state.window
    )
    (routes if routes is not None else build_routes(operations)).install(app)
    # Open native sessions and event streams are ended first when the app stops.
    endpoint.install(app, Dispatcher(operations, companion, state), heartbeat_seconds=heartbeat_seconds)
    if routes is None:
        pages.install(app)
    app.on_response_prepare.append(security.add_security_headers)
    app.cleanup_ctx.append(_run_companion)
    return app


async def _run_companion(app: web.Application) -> AsyncIterator[None]:
    companion = app[COMPANION_KEY]
    await companion.start()
    yield
    await companion.close()


__all__ = ["MAX_REQUEST_BYTES", "build_routes", "create_app"]
