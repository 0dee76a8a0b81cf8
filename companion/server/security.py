"""The loopback API's security middlewares, in the order they run (outermost first):

0. errors   -- any CompanionError becomes `{"error": {"code", "message"}}` with its http_status;
               aiohttp's own 404/405/413 get stable codes; anything else is logged and answered
               500 `internal` with no traceback or detail in the body.
1. host     -- DNS-rebinding defence. On the TCP listener the Host header must be exactly
               `127.0.0.1:PORT`, `localhost:PORT` or `[::1]:PORT`, PORT being the port the request
               arrived on; on the Unix socket it must be exactly `localhost`. A missing, empty,
               repeated or other Host -> 403 `auth.host`.
2. origin   -- no Origin header (non-browser clients, the native host), or exactly one of the
               configured extension origins (`chrome-extension://<id>`), or on TCP the daemon's
               own origin `http://127.0.0.1:PORT` (the settings window). Anything else, `null`
               included -> 403 `auth.origin`.
3. token    -- `Authorization: Bearer <token>` with the per-install token, compared in constant
               time (hmac.compare_digest). Missing or wrong -> 401 `auth.token`. Required on the
               Unix socket too: the socket's 0600 mode is one wall, the token a second.
               The settings window's alternative, on TCP only and never for /api/native: its
               session cookie (companion.server.window.sessions), accepted only from the window's
               own pages (Sec-Fetch-Site absent, `same-origin` or `none`; an Origin, if any, the
               daemon's own), and on every state-changing method only with the session's
               X-CSRF-Token (constant-time compare) -> else 401 `auth.session` / 403 `auth.csrf`.
               /window/ pages pass without either: they hold no data and check the cookie
               themselves; every datum they show comes from /api/*.
4. safe methods -- GET and HEAD handlers run inside `companion.store.read_only()`, so a database
               write from them raises instead of happening (with `routes.ApiRoutes` refusing
               `@mutating` handlers under GET/HEAD at declaration time). Wrong methods get 405
               from the router, turned into JSON by (0).

Host runs before Origin and the token so that a rebinding page learns nothing, not even whether
its token guess was wrong. docs/security.md explains the threat model.
"""

from __future__ import annotations

import hmac
import logging
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from companion.errors import (
    BadRequestError,
    CompanionError,
    CsrfError,
    ForbiddenHostError,
    ForbiddenOriginError,
    MethodNotAllowedError,
    PayloadTooLargeError,
    RouteNotFoundError,
    SessionEndedError,
    UnauthorizedError,
)
from companion.nmhost.wire import NATIVE_PATH
from companion.server.routes import SAFE_METHODS
from companion.server.window.sessions import (
    COOKIE_NAME,
    CSRF_HEADER,
    WindowSession,
    WindowSessions,
)
from companion.store import read_only

log = logging.getLogger(__name__)

#: The Host a client must send on the Unix socket (what aiohttp's UnixConnector and
#: http.client send for an `http://localhost/...` URL).
UNIX_SOCKET_HOST: Final = "localhost"
BEARER: Final = "bearer"
#: Where the window's pages live (see token_middleware).
WINDOW_PREFIX: Final = "/window/"
#: How a request proved itself: "token" (bearer) or "window" (session cookie + CSRF); set by token_middleware.
AUTH_KIND_KEY: Final = web.RequestKey("companion_auth_kind", str)
#: The WindowSession of a request authenticated by the window's cookie.
WINDOW_SESSION_KEY: Final = web.RequestKey("companion_window_session", WindowSession)
_WINDOW_FETCH_SITES: Final = frozenset({"same-origin", "none"})


@dataclass(frozen=True)
class SecurityPolicy:
    """What the middlewares check against; stored in the app under POLICY_KEY."""

    token: str
    extension_origins: frozenset[str]
    #: The settings window's sessions; None = no window (the cookie is never accepted).
    window: WindowSessions | None = None

    def __repr__(self) -> str:
        # The token is a credential: keep it out of reprs, logs and tracebacks.
        return f"SecurityPolicy(token=<redacted>, extension_origins={sorted(self.extension_origins)!r})"


POLICY_KEY: Final = web.AppKey("companion_security_policy", SecurityPolicy)


def error_body(error: CompanionError) -> dict[str, object]:
    return {"error": error.to_dict()}


def error_response(error: CompanionError, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(error_body(error), status=error.http_status, headers=headers)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except CompanionError as exc:
        return error_response(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _http_exception_response(exc)
    except Exception:
        # The body says nothing about the cause: it could hold personal data or worse.
        log.exception("unexpected error serving %s %s", request.method, request.path)
        return error_response(CompanionError("internal error; the daemon's log has the details"))


def _http_exception_response(exc: web.HTTPException) -> web.Response:
    error: CompanionError
    headers: dict[str, str] = {}
    if exc.status == 404:
        error = RouteNotFoundError("no such endpoint")
    elif exc.status == 405:
        error = MethodNotAllowedError(f"method not allowed; allowed: {exc.headers.get(hdrs.ALLOW, '')}")
        headers[hdrs.ALLOW] = exc.headers.get(hdrs.ALLOW, "")
    elif exc.status == 413:
        error = PayloadTooLargeError("request body too large")
    elif exc.status < 500:
        error = BadRequestError(exc.reason)
    else:
        error = CompanionError("internal error; the daemon's log has the details")
    response = error_response(error, headers)
    if exc.status < 500:
        # Keep aiohttp's precise 4xx status (e.g. 415) even when the code is the generic one.
        response.set_status(exc.status)
    return response


@web.middleware
async def host_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    values = request.headers.getall(hdrs.HOST, [])
    allowed = _allowed_hosts(request)
    if len(values) != 1 or values[0].lower() not in allowed:
        raise ForbiddenHostError("this address is not served here (Host header refused)")
    return await handler(request)


@web.middleware
async def origin_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    values = request.headers.getall(hdrs.ORIGIN, [])
    if values:
        allowed = set(request.app[POLICY_KEY].extension_origins)
        port = _local_port(request)
        if port is not None:
            allowed.add(f"http://127.0.0.1:{port}")
        if len(values) != 1 or values[0] not in allowed:
            raise ForbiddenOriginError("requests from this origin are not allowed")
    return await handler(request)


@web.middleware
async def token_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(WINDOW_PREFIX) or request.path == WINDOW_PREFIX.rstrip("/"):
        return await handler(request)
    values = request.headers.getall(hdrs.AUTHORIZATION, [])
    if not values:
        if COOKIE_NAME in request.cookies:
            request[WINDOW_SESSION_KEY] = _window_session(request)
            request[AUTH_KIND_KEY] = "window"
            return await handler(request)
        raise UnauthorizedError("missing token: send Authorization: Bearer <token>")
    scheme, _, presented = values[0].partition(" ")
    expected = request.app[POLICY_KEY].token
    if len(values) != 1 or scheme.lower() != BEARER or not _same_secret(presented, expected):
        raise UnauthorizedError("wrong token")
    request[AUTH_KIND_KEY] = "token"
    return await handler(request)


def _window_session(request: web.Request) -> WindowSession:
    """The live window session the cookie names, checked as the module docstring says; raises otherwise."""
    sessions = request.app[POLICY_KEY].window
    port = _local_port(request)
    if sessions is None or port is None or request.path.startswith(NATIVE_PATH):
        raise UnauthorizedError("missing token: send Authorization: Bearer <token>")
    fetch_site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get(hdrs.ORIGIN)
    if (fetch_site is not None and fetch_site not in _WINDOW_FETCH_SITES) or (
        origin is not None and origin != f"http://127.0.0.1:{port}"
    ):
        # Another port of 127.0.0.1 is "same-site", so SameSite=Strict alone would let its pages send
        # the cookie; only the window's own pages may use it.
        raise SessionEndedError("the settings window's session is only usable from the window itself")
    session = sessions.find(request.cookies[COOKIE_NAME])
    if session is None:
        raise SessionEndedError(
            "the settings window's session has ended; run `cats-companion settings` for a new link"
        )
    if request.method not in SAFE_METHODS and not session.csrf_matches(request.headers.get(CSRF_HEADER)):
        raise CsrfError(f"missing or wrong {CSRF_HEADER}: reload the settings window and try again")
    return session


@web.middleware
async def safe_method_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in SAFE_METHODS:
        with read_only(f"{request.method} {request.path} is a read-only request"):
            return await handler(request)
    return await handler(request)


def middlewares() -> tuple[Middleware, ...]:
    """The middlewares in their documented order, for `web.Application(middlewares=...)`."""
    return (errors_middleware, host_middleware, origin_middleware, token_middleware, safe_method_middleware)


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: API answers are private and never to be sniffed or cached."""
    response.headers[hdrs.CACHE_CONTROL] = "no-store"
    response.headers[hdrs.X_CONTENT_TYPE_OPTIONS] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"


def _same_secret(presented: str, expected: str) -> bool:
    # compare_digest on bytes: str arguments must be ASCII, and a header may not be.
    return hmac.compare_digest(presented.encode("utf-8", "surrogateescape"), expected.encode("utf-8"))


def _allowed_hosts(request: web.Request) -> Iterable[str]:
    if _is_unix_socket(request):
        return (UNIX_SOCKET_HOST,)
    port = _local_port(request)
    if port is None:
        return ()
    return (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}")


def _is_unix_socket(request: web.Request) -> bool:
    sock = request.transport.get_extra_info("socket") if request.transport else None
    return sock is not None and getattr(socket, "AF_UNIX", None) == sock.family


def _local_port(request: web.Request) -> int | None:
    """The TCP port this request arrived on (None on the Unix socket)."""
    if request.transport is None or _is_unix_socket(request):
        return None
    sockname = request.transport.get_extra_info("sockname")
    if isinstance(sockname, tuple) and len(sockname) >= 2 and isinstance(sockname[1], int):
        return sockname[1]
    return None
