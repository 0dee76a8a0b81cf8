"""The sandbox's request pipeline in front of the CATS routes: ids, counting, 415, auth, rate limit, faults.

The order is what live CATS shows (REFERENCE.md sections 1, 3, 4): the content type is checked
before the token (a multipart upload with a bad token still gets 415), the token before routing
(an unknown path with a bad token gets 401, not 404), and only authenticated answers carry the
rate-limit headers. Every answer, the control API's too, gets an ``X-Request-Id`` UUID and a ``Date``
header read from the sandbox's own clock (``/_sandbox/clock``), as CATS's follows CATS's clock: a client
that judges time by CATS's answers then sees the time tests moved it to.

Paths under ``/_sandbox/`` are the control API's: the CATS rules skip them and the control
API's own guard (``companion.sandbox.control``) protects them instead.
"""

from __future__ import annotations

import hmac
import re
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from companion.sandbox.faults import FaultInjector, FaultKind
from companion.sandbox.ratelimit import RollingWindowLimiter

CONTROL_PREFIX = "/_sandbox"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"

#: Uploads take the raw file as the body (REFERENCE.md section 14); every other body is JSON.
_BINARY_UPLOAD_PATH = re.compile(
    r"^/v3/(?:(?:candidates|contacts|companies|jobs)/\d+/attachments|candidates/\d+/resumes|attachments/parse)/?$"
)
_BINARY_CONTENT_TYPES = frozenset({"application/octet-stream"})
_WORD = re.compile(r"^[A-Za-z_]+$")

_SERVER_ERROR_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head>"
    "<body><h1>Internal Server Error</h1><p>The server encountered an unexpected condition.</p>"
    "</body></html>\n"
)


def is_control_path(path: str) -> bool:
    return path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")


def json_message(status: int, message: str, *, headers: Mapping[str, str] | None = None) -> web.Response:
    """The error body CATS uses everywhere: ``{"message": "..."}``."""
    return web.json_response({"message": message}, status=status, headers=headers)


def constant_time_equal(given: str, expected: str) -> bool:
    # surrogateescape: a header with undecodable bytes must compare unequal, not raise.
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8"))


def route_template(request: web.Request) -> str:
    """``GET /v3/companies/{id}``: how counters name a request without one entry per id.

    Routes may match the resource type with a variable (``/v3/{resource}/{id}``); a variable
    whose value is a plain word is written out, so counters tell companies from contacts,
    while ids (and anything else) stay placeholders.
    """
    resource = request.match_info.route.resource
    if resource is None:
        return f"{request.method} (no route)"
    template = resource.canonical
    for name, value in request.match_info.items():
        if _WORD.match(value):
            template = template.replace(f"{{{name}}}", value)
    return f"{request.method} {template}"


class Counters:
    """What the sandbox has seen since start or the last reset, for ``GET /_sandbox/counters``."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()

    def reset(self) -> None:
        self.requests.clear()
        self.statuses.clear()

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests_total": self.total,
            "requests": dict(sorted(self.requests.items())),
            "responses": dict(sorted(self.statuses.items())),
            "rate_limited": self.statuses["429"],
        }


def _error_from_exception(exc: web.HTTPException) -> web.Response:
    headers = {k: v for k, v in exc.headers.items() if k.lower() not in {"content-type", "content-length"}}
    if exc.status < 400:
        return web.Response(status=exc.status, headers=headers)
    return json_message(exc.status, exc.reason, headers=headers)


@web.middleware
async def stamp(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Next to outermost: a fresh ``X-Request-Id`` and the JSON content type on every answer."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = _error_from_exception(exc)
    except ConnectionResetError:
        # The client went away while sending its body (a killed process): nothing was done, and
        # nobody is left to answer, so no traceback in the log either.
        response = json_message(400, "The client disconnected before its request was complete.")
    if not response.prepared:
        response.headers["X-Request-Id"] = str(uuid.uuid4())
        if "Content-Type" not in response.headers:
            response.headers["Content-Type"] = JSON_CONTENT_TYPE
    return response


def dated(clock: Callable[[], datetime]) -> Middleware:
    """Outermost: the ``Date`` header from the sandbox's clock (aiohttp would write the machine's own)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if not response.prepared:
            response.headers["Date"] = http_date(clock())
        return response

    return middleware


def http_date(moment: datetime) -> str:
    """``Sun, 06 Dec 2026 02:42:38 GMT``: whole seconds, truncated, as HTTP servers stamp it."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def counting(counters: Counters) -> Middleware:
    """Counts CATS requests by route template and answers by status (a 429 from any source)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_control_path(request.path):
            return await handler(request)
        counters.requests[route_template(request)] += 1
        try:
            response = await handler(request)
        except Exception:
            counters.statuses["500"] += 1
            raise
        counters.statuses[str(response.status)] += 1
        return response

    return middleware


@web.middleware
async def require_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """415 for a body that is not JSON; a missing Content-Type counts as JSON, as CATS assumes."""
    if is_control_path(request.path) or not request.body_exists:
        return await handler(request)
    raw = request.headers.get("Content-Type")
    if raw is None:
        return await handler(request)
    media_type = raw.split(";", 1)[0].strip().lower()
    acceptable = media_type == "application/json" or media_type.endswith("+json")
    if _BINARY_UPLOAD_PATH.match(request.path):
        acceptable = media_type in _BINARY_CONTENT_TYPES
    if not acceptable:
        return json_message(415, "Unsupported Content-Type.")
    return await handler(request)


def authenticate(api_key: str, *, bearer_accepted: bool = False) -> Middleware:
    """401 unless ``Authorization: Token <api key>``; runs before routing, so unknown paths 401 too.

    `bearer_accepted` (the ``bearer-accepted`` quirk) takes ``Bearer <api key>`` as well.
    """
    schemes = {"token", "bearer"} if bearer_accepted else {"token"}

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_control_path(request.path):
            return await handler(request)
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        # Only the Token scheme by default: whether CATS accepts Bearer is unknown, and clients
        # must not come to depend on it here.
        if scheme.lower() not in schemes or not constant_time_equal(credentials.strip(), api_key):
            return json_message(401, "Invalid credentials.")
        return await handler(request)

    return middleware


def rate_limit(limiter: RollingWindowLimiter) -> Middleware:
    """The rolling-hour budget: headers on every authenticated answer, 429 once it is spent."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_control_path(request.path) or not limiter.enabled:
            return await handler(request)
        decision = limiter.acquire()
        if decision.allowed:
            response = await handler(request)
        else:
            response = json_message(
                429,
                "Rate limit exceeded. Try again later.",
                headers={"Retry-After": str(decision.retry_after)},
            )
        if not response.prepared:
            response.headers["X-Rate-Limit-Limit"] = str(decision.limit)
            response.headers["X-Rate-Limit-Remaining"] = str(decision.remaining)
        return response

    return middleware


def inject_faults(faults: FaultInjector) -> Middleware:
    """Plays the fault chosen for this request (see `companion.sandbox.faults`)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_control_path(request.path):
            return await handler(request)
        fault = faults.choose(request.method, request.path)
        if fault is None:
            return await handler(request)
        settings = faults.settings
        if fault is FaultKind.RATE_LIMITED:
            return json_message(
                429,
                "Rate limit exceeded. Try again later.",
                headers={"Retry-After": str(settings.retry_after_seconds)},
            )
        if fault is FaultKind.SERVER_ERROR:
            return web.Response(status=500, text=_SERVER_ERROR_PAGE, content_type="text/html")
        if fault is FaultKind.UNAVAILABLE:
            return json_message(503, "Service temporarily unavailable.")
        if fault is FaultKind.HANG:
            # Not processed: after the hang the client (if still there) learns it failed.
            await faults.delay(settings.hang_seconds)
            return json_message(504, "Gateway timeout.")
        if fault is FaultKind.SLOW:
            await faults.delay(settings.slow_seconds)
            return await handler(request)
        response = await handler(request)
        # RESET_AFTER: the work is done; dropping the connection now means the answer is never
        # written. aiohttp treats the failed write as a client disconnect, which it logs at
        # debug level only.
        if request.transport is not None:
            request.transport.abort()
        return response

    return middleware


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Innermost: the router's 404/405 (and any HTTPException a route raises) as CATS-style JSON.

    Innermost so the outer rules (rate-limit headers, counters) see an ordinary response.
    """
    try:
        return await handler(request)
    except web.HTTPException as exc:
        return _error_from_exception(exc)


def cats_middlewares(
    *,
    api_key: str,
    limiter: RollingWindowLimiter,
    faults: FaultInjector,
    counters: Counters,
    control_guard: Middleware,
    clock: Callable[[], datetime],
    bearer_accepted: bool = False,
) -> list[Middleware]:
    """The whole pipeline, outermost first."""
    return [
        dated(clock),
        stamp,
        control_guard,
        counting(counters),
        require_json,
        authenticate(api_key, bearer_accepted=bearer_accepted),
        rate_limit(limiter),
        inject_faults(faults),
        json_errors,
    ]
