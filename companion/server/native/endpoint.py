"""The daemon's native-protocol endpoints: POST /api/native, the native session, and the event stream.

`POST /api/native` takes one request envelope (companion.protocol.Request) and always answers
200 with a reply envelope, `{"id", "ok": true, "data"}` or `{"id", "ok": false, "error"}`;
only the security middlewares answer otherwise. `POST /api/native/session` is the host's long-lived
form of the same: a stream of request frames in, reply frames out, each answered by the same
dispatcher (companion.server.native.dispatch). `GET /api/native/events` streams the event hub as
newline-delimited JSON, with a heartbeat line when idle so the host notices a dead daemon.

The message types are the rows of the operations table (companion.server.operations).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

from aiohttp import web

from companion.nmhost.wire import (
    CALLER_HEADER,
    EVENTS_PATH,
    HEARTBEAT_EVENT,
    NATIVE_PATH,
    PROTOCOL_VERSION,
    SESSION_PATH,
    STREAM_OPEN_EVENT,
)
from companion.protocol import encode, event_message
from companion.server.native.dispatch import Dispatcher
from companion.server.native.session import MAX_IN_FLIGHT, NativeSession, NativeSessions
from companion.server.routes import ApiRoutes, mutating
from companion.server.state import COMPANION_KEY

log = logging.getLogger(__name__)

#: Seconds between heartbeat lines on an idle event stream (the host gives up after three).
HEARTBEAT_SECONDS: Final = 15.0
#: Frames of one session answered at once (read at each session's start, so tests can lower it).
SESSION_IN_FLIGHT = MAX_IN_FLIGHT
#: The app's dispatcher and open native sessions (`install`), ended when the daemon stops.
DISPATCHER_KEY: Final = web.AppKey("companion_native_dispatcher", Dispatcher)
SESSIONS_KEY: Final = web.AppKey("companion_native_sessions", NativeSessions)


@mutating
async def post_native(request: web.Request) -> web.Response:
    body = await request.read()
    reply = await request.app[DISPATCHER_KEY].dispatch_bytes(body, request.headers.get(CALLER_HEADER))
    return web.Response(body=reply, content_type="application/json")


# Mutating as POST /api/native is: each frame's type decides, inside the dispatcher.
@mutating
async def post_session(request: web.Request) -> web.StreamResponse:
    """One native session: answered 200 at once, then a reply frame for each request frame read."""
    dispatcher = request.app[DISPATCHER_KEY]
    caller = request.headers.get(CALLER_HEADER)
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    response.enable_chunked_encoding()
    # The connection is the session's: it is not reused for another request once the session ends.
    response.force_close()
    await response.prepare(request)

    async def dispatch_frame(body: bytes) -> bytes:
        return await dispatcher.dispatch_bytes(body, caller)

    session = NativeSession(request.content, response, dispatch_frame, max_in_flight=SESSION_IN_FLIGHT)
    log.debug("native session opened for %s", caller or "an unnamed caller")
    with request.app[SESSIONS_KEY].track(session):
        await session.run()
    return response


async def get_events(request: web.Request) -> web.StreamResponse:
    """NDJSON: `stream.open`, then each published event, with `stream.heartbeat` lines when idle."""
    events = request.app[COMPANION_KEY].events
    heartbeat_seconds = request.app[HEARTBEAT_KEY]
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson; charset=utf-8"})
    response.enable_chunked_encoding()
    caller = request.headers.get(CALLER_HEADER)
    with events.subscribe() as subscription:
        await response.prepare(request)
        log.debug("event stream opened for %s", caller or "an unnamed caller")
        heartbeat = encode(event_message(HEARTBEAT_EVENT, {})) + b"\n"
        with contextlib.suppress(ConnectionError):
            await response.write(
                encode(event_message(STREAM_OPEN_EVENT, {"protocol": PROTOCOL_VERSION})) + b"\n"
            )
            while True:
                try:
                    async with asyncio.timeout(heartbeat_seconds):
                        line = await subscription.next()
                except TimeoutError:
                    await response.write(heartbeat)
                    continue
                if line is None:
                    break
                await response.write(line + b"\n")
    with contextlib.suppress(ConnectionError, asyncio.CancelledError):
        await response.write_eof()
    return response


HEARTBEAT_KEY: Final = web.AppKey("companion_native_heartbeat", float)


def register(routes: ApiRoutes) -> None:
    """Add POST /api/native, POST /api/native/session and GET /api/native/events."""
    routes.add("POST", NATIVE_PATH, post_native)
    routes.add("POST", SESSION_PATH, post_session)
    routes.add("GET", EVENTS_PATH, get_events)


def install(
    app: web.Application, dispatcher: Dispatcher, *, heartbeat_seconds: float = HEARTBEAT_SECONDS
) -> None:
    """Give `app` its dispatcher, and end its open sessions and event streams as soon as it shuts down.

    Without that an open session or stream would hold the daemon's stop until aiohttp's shutdown timeout.
    """
    sessions = NativeSessions()
    app[DISPATCHER_KEY] = dispatcher
    app[SESSIONS_KEY] = sessions
    app[HEARTBEAT_KEY] = heartbeat_seconds

    async def end_streams(_app: web.Application) -> None:
        sessions.close()
        dispatcher.companion.events.close()

    app.on_shutdown.append(end_streams)


__all__ = ["DISPATCHER_KEY", "HEARTBEAT_SECONDS", "install", "register"]
