"""The daemon's native-protocol endpoints: POST /api/native, the native session, and the event stream.

`POST /api/native` takes one request envelope (companion.protocol.Request) and always answers
200 with a reply envelope, `{"id", "ok": true, "data"}` or `{"id", "ok": false, "error"}`;
only the security middlewares answer otherwise. `POST /api/native/session` is the host's long-lived
form of the same: a stream of request frames in, reply frames out, each answered by the same
`dispatch_bytes` (companion.server.native_session). `GET /api/native/events` streams the event hub
as newline-delimited JSON, with a heartbeat line when idle so the host notices a dead daemon.

Adding a message type is one line in a feature module's `register_messages(registry)`:

    def register_messages(registry: NativeRegistry) -> None:
        registry.add("company.lookup", lookup, params=LookupParams)

and one line naming that module in MESSAGE_MODULES below.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web
from pydantic import BaseModel, ValidationError

from companion.errors import (
    BadRequestError,
    CompanionError,
    MessageTooLargeError,
    UnknownMessageTypeError,
    UnsupportedVersionError,
)
from companion.nmhost.wire import (
    CALLER_HEADER,
    EVENTS_PATH,
    HEARTBEAT_EVENT,
    MAX_ID_LENGTH,
    MAX_OUTGOING_BYTES,
    NATIVE_PATH,
    PROTOCOL_VERSION,
    SESSION_PATH,
    STREAM_OPEN_EVENT,
)
from companion.protocol import (
    JsonObject,
    MessageRegistry,
    NoParams,
    Request,
    encode,
    encode_ok_reply,
    error_reply,
    event_message,
)
from companion.server import status
from companion.server.context import CONTEXT_KEY, DaemonContext
from companion.server.events import EventHub
from companion.server.native_session import MAX_IN_FLIGHT, NativeSession, NativeSessions
from companion.server.routes import ApiRoutes, mutating
from companion.store import read_only

log = logging.getLogger(__name__)

#: Modules that each expose `register_messages(registry: NativeRegistry) -> None`.
MESSAGE_MODULES: tuple[str, ...] = (
    "companion.server.crm_messages",
    "companion.server.panel_messages",
    "companion.server.lookup_routes",
    "companion.server.push_routes",
    "companion.server.window",
)

#: Seconds between heartbeat lines on an idle event stream (the host gives up after three).
HEARTBEAT_SECONDS: Final = 15.0
#: Frames of one session answered at once (read at each session's start, so tests can lower it).
SESSION_IN_FLIGHT = MAX_IN_FLIGHT
#: The app's open native sessions (`install`), ended when the daemon stops.
SESSIONS_KEY: Final = web.AppKey("companion_native_sessions", NativeSessions)


@dataclass(frozen=True)
class NativeCall:
    """What a message handler gets besides its params."""

    ctx: DaemonContext
    #: The extension origin the host was started for (`chrome-extension://<id>/`), if it said.
    caller: str | None
    request_id: int | str
    #: The registry this call was dispatched from (what `hello` lists).
    registry: NativeRegistry = field(repr=False)

    @property
    def events(self) -> EventHub:
        return self.ctx.events


NativeRegistry = MessageRegistry[NativeCall]


class PingParams(BaseModel):
    echo: str | None = None


async def _hello(call: NativeCall, params: NoParams) -> JsonObject:
    """Protocol and daemon versions and the message types this daemon serves."""
    return {
        "protocol": PROTOCOL_VERSION,
        "daemon_version": call.ctx.version,
        "types": call.registry.names(),
        "caller": call.caller,
    }


async def _ping(call: NativeCall, params: PingParams) -> JsonObject:
    """Answers at once; `echo` is returned as given."""
    return {"pong": True, "echo": params.echo}


async def _status(call: NativeCall, params: NoParams) -> JsonObject:
    """The same data as GET /api/status: version, uptime, CATS connection and rate budget."""
    return status.status_data(call.ctx)


def build_registry(modules: Sequence[str] | None = None) -> NativeRegistry:
    """The built-in types (hello, ping, status) plus those of every module in `modules` (MESSAGE_MODULES)."""
    registry = NativeRegistry()
    registry.add("hello", _hello, params=NoParams)
    registry.add("ping", _ping, params=PingParams)
    registry.add("status", _status, params=NoParams)
    for name in MESSAGE_MODULES if modules is None else modules:
        importlib.import_module(name).register_messages(registry)
    return registry


async def dispatch(
    registry: NativeRegistry, ctx: DaemonContext, body: bytes, caller: str | None
) -> JsonObject:
    """One request envelope in, one reply envelope out; never raises."""
    reply: JsonObject = json.loads(await dispatch_bytes(registry, ctx, body, caller))
    return reply


async def dispatch_bytes(
    registry: NativeRegistry, ctx: DaemonContext, body: bytes, caller: str | None
) -> bytes:
    """One request envelope in, its reply envelope out as sent on the wire (encoded once); never raises."""
    raw, message_id, problem = _parse(body)
    if problem is not None:
        return encode(error_reply(message_id, problem))
    try:
        request = Request.model_validate(raw)
    except ValidationError as exc:
        return encode(error_reply(message_id, BadRequestError(f"invalid request envelope: {_describe(exc)}")))
    if request.v != PROTOCOL_VERSION:
        return encode(
            error_reply(
                request.id,
                UnsupportedVersionError(
                    f"protocol version {request.v} is not supported; this daemon speaks {PROTOCOL_VERSION}"
                ),
            )
        )
    spec = registry.get(request.type)
    if spec is None:
        return encode(
            error_reply(request.id, UnknownMessageTypeError(f"unknown message type {request.type!r}"))
        )
    try:
        params = spec.params.model_validate(request.params)
    except ValidationError as exc:
        return encode(
            error_reply(request.id, BadRequestError(f"invalid params for {request.type}: {_describe(exc)}"))
        )
    call = NativeCall(ctx=ctx, caller=caller, request_id=request.id, registry=registry)
    try:
        if spec.mutates:
            result = await spec.handler(call, params)
        else:
            with read_only(f"the message type {request.type} does not change anything"):
                result = await spec.handler(call, params)
        reply = encode_ok_reply(request.id, result)
    except CompanionError as exc:
        return encode(error_reply(request.id, exc))
    except Exception:
        # The reply says nothing about the cause: it could hold personal data or worse.
        log.exception("unexpected error handling a %s message", request.type)
        return encode(
            error_reply(request.id, CompanionError("internal error; the daemon's log has the details"))
        )
    if len(reply) > MAX_OUTGOING_BYTES:
        return encode(
            error_reply(
                request.id,
                MessageTooLargeError(
                    f"the reply to {request.type} would be {len(reply)} bytes, over the "
                    f"{MAX_OUTGOING_BYTES} Chrome accepts; ask for a smaller page"
                ),
            )
        )
    return reply


def _parse(body: bytes) -> tuple[Any, int | str | None, CompanionError | None]:
    """The decoded JSON, the request id if one can be read, and the problem if it is not an object."""
    try:
        raw = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        return None, None, BadRequestError("the request is not valid UTF-8")
    except json.JSONDecodeError as exc:
        return None, None, BadRequestError(f"the request is not valid JSON ({exc.msg} at position {exc.pos})")
    if not isinstance(raw, dict):
        return raw, None, BadRequestError(f"a request must be a JSON object, not {type(raw).__name__}")
    return raw, readable_id(raw.get("id")), None


def readable_id(value: object) -> int | str | None:
    """The id to echo in an error reply: only an id the caller could have meant (int or short string)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH:
        return value
    return None


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "request"
        parts.append(f"{where}: {error['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def register(
    routes: ApiRoutes,
    *,
    registry: NativeRegistry | None = None,
    heartbeat_seconds: float = HEARTBEAT_SECONDS,
) -> NativeRegistry:
    """Add POST /api/native, POST /api/native/session and GET /api/native/events.

    Returns the registry they dispatch to.
    """
    messages = registry if registry is not None else build_registry()

    @mutating
    async def post_native(request: web.Request) -> web.Response:
        ctx = request.app[CONTEXT_KEY]
        body = await request.read()
        reply = await dispatch_bytes(messages, ctx, body, request.headers.get(CALLER_HEADER))
        return web.Response(body=reply, content_type="application/json")

    # Mutating as POST /api/native is: each frame's type decides, inside dispatch_bytes.
    @mutating
    async def post_session(request: web.Request) -> web.StreamResponse:
        return await serve_session(request, messages)

    async def get_events(request: web.Request) -> web.StreamResponse:
        return await stream_events(request, heartbeat_seconds)

    routes.add("POST", NATIVE_PATH, post_native)
    routes.add("POST", SESSION_PATH, post_session)
    routes.add("GET", EVENTS_PATH, get_events)
    return messages


def install(app: web.Application) -> NativeSessions:
    """Keep track of `app`'s native sessions so that its shutdown ends them at once.

    Without it an open session holds the daemon's stop until aiohttp's shutdown timeout.
    """
    sessions = NativeSessions()
    app[SESSIONS_KEY] = sessions

    async def end_sessions(_app: web.Application) -> None:
        sessions.close()

    app.on_shutdown.append(end_sessions)
    return sessions


async def serve_session(request: web.Request, messages: NativeRegistry) -> web.StreamResponse:
    """One native session: answered 200 at once, then a reply frame for each request frame read."""
    ctx = request.app[CONTEXT_KEY]
    caller = request.headers.get(CALLER_HEADER)
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    response.enable_chunked_encoding()
    # The connection is the session's: it is not reused for another request once the session ends.
    response.force_close()
    await response.prepare(request)

    async def dispatch_frame(body: bytes) -> bytes:
        return await dispatch_bytes(messages, ctx, body, caller)

    session = NativeSession(request.content, response, dispatch_frame, max_in_flight=SESSION_IN_FLIGHT)
    sessions = request.app.get(SESSIONS_KEY)
    log.debug("native session opened for %s", caller or "an unnamed caller")
    with sessions.track(session) if sessions is not None else contextlib.nullcontext(session):
        await session.run()
    return response


async def stream_events(request: web.Request, heartbeat_seconds: float) -> web.StreamResponse:
    """NDJSON: `stream.open`, then each published event, with `stream.heartbeat` lines when idle."""
    ctx = request.app[CONTEXT_KEY]
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson; charset=utf-8"})
    response.enable_chunked_encoding()
    caller = request.headers.get(CALLER_HEADER)
    with ctx.events.subscribe() as subscription:
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


__all__ = [
    "MESSAGE_MODULES",
    "NativeCall",
    "NativeRegistry",
    "build_registry",
    "dispatch",
    "dispatch_bytes",
    "install",
    "register",
    "serve_session",
]
