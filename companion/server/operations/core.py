"""The daemon's own operations: hello, ping, status, and a one-time link to the settings window."""

from __future__ import annotations

from pydantic import BaseModel

from companion.nmhost.wire import PROTOCOL_VERSION
from companion.protocol import JsonObject, NoParams
from companion.server.operations.base import Call


class PingParams(BaseModel):
    echo: str | None = None


async def hello(call: Call, params: NoParams) -> JsonObject:
    """Protocol and daemon versions and the message types this daemon serves."""
    return {
        "protocol": PROTOCOL_VERSION,
        "daemon_version": call.companion.version,
        "types": call.operations.names(),
        "caller": call.caller,
    }


async def ping(call: Call, params: PingParams) -> JsonObject:
    """Answers at once; `echo` is returned as given."""
    return {"pong": True, "echo": params.echo}


async def status(call: Call, params: NoParams) -> JsonObject:
    """Version, uptime, CATS connection and rate budget (GET /api/status serves the same)."""
    return call.companion.status()


async def window_link(call: Call, params: NoParams) -> JsonObject:
    """A one-time link to the settings window, valid for a minute; `admin`: whether it opens in admin mode."""
    return {
        "url": call.server.window_link(),
        "expires_in": call.server.window.link_ttl,
        "admin": call.companion.settings.admin,
    }
