"""The sandbox's control API under ``/_sandbox/`` (counters, faults, clock, rate, seeding) and its client.

It is for tests and demos, never part of the CATS surface: it lives outside ``/v3``, the CATS
token does not open it, and it needs its own ``X-Sandbox-Control`` header. Bodies are validated
with pydantic; a bad body gets 400 with a message naming the field and changes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from types import TracebackType
from typing import Annotated, Any, Protocol, Self, TypeVar

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import to_jsonable_python

from companion.sandbox.faults import FaultInjector, FaultSettings
from companion.sandbox.middleware import Counters, constant_time_equal, is_control_path, json_message
from companion.sandbox.ratelimit import RollingWindowLimiter, SandboxClock
from companion.sandbox.seed import SeedSummary

CONTROL_HEADER = "X-Sandbox-Control"
#: The most one `POST /_sandbox/seed` may add; seeding blocks the sandbox while it runs.
MAX_SEED_COMPANIES = 50_000

_Body = TypeVar("_Body", bound=BaseModel)


class _CountsRecords(Protocol):
    def record_counts(self) -> dict[str, int]: ...


class ClockAdvance(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: Annotated[float, Field(ge=0, le=10 * 365 * 86_400, allow_inf_nan=False)]


class RateLimitUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: Annotated[int, Field(ge=0, le=1_000_000)]


class SeedRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    companies: Annotated[int, Field(ge=0, le=MAX_SEED_COMPANIES)]
    random_seed: int = 0


class _BadBody(Exception):
    pass


def control_guard(token: str) -> Middleware:
    """401 for any ``/_sandbox`` request without the control token (the CATS token is not enough)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_control_path(request.path) and not constant_time_equal(
            request.headers.get(CONTROL_HEADER, ""), token
        ):
            return json_message(401, f"Invalid or missing {CONTROL_HEADER} token.")
        return await handler(request)

    return middleware


async def _parse(request: web.Request, model: type[_Body]) -> _Body:
    raw = await request.read()
    if not raw.strip():
        raise _BadBody("a JSON body is required")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        raise _BadBody(problems) from None


class ControlApi:
    """The handlers, bound to the parts of one running sandbox."""

    def __init__(
        self,
        *,
        store: _CountsRecords,
        clock: SandboxClock,
        limiter: RollingWindowLimiter,
        faults: FaultInjector,
        counters: Counters,
        seeder: Callable[[int, int], SeedSummary],
    ) -> None:
        self._store = store
        self._clock = clock
        self._limiter = limiter
        self._faults = faults
        self._counters = counters
        self._seeder = seeder

    def register(self, app: web.Application) -> None:
        p = "/_sandbox"
        app.router.add_get(f"{p}/counters", self.counters)
        app.router.add_post(f"{p}/counters/reset", self.reset_counters)
        app.router.add_get(f"{p}/faults", self.get_faults)
        app.router.add_put(f"{p}/faults", self.put_faults)
        app.router.add_get(f"{p}/clock", self.get_clock)
        app.router.add_post(f"{p}/clock/advance", self.advance_clock)
        app.router.add_get(f"{p}/rate-limit", self.get_rate_limit)
        app.router.add_put(f"{p}/rate-limit", self.put_rate_limit)
        app.router.add_post(f"{p}/rate-limit/reset", self.reset_rate_limit)
        app.router.add_post(f"{p}/seed", self.seed)

    async def counters(self, request: web.Request) -> web.Response:
        body = self._counters.snapshot()
        body["faults"] = dict(sorted(self._faults.injected.items()))
        body["records"] = self._store.record_counts()
        return web.json_response(body)

    async def reset_counters(self, request: web.Request) -> web.Response:
        self._counters.reset()
        self._faults.injected.clear()
        return await self.counters(request)

    async def get_faults(self, request: web.Request) -> web.Response:
        return web.json_response(self._faults.settings.model_dump(mode="json"))

    async def put_faults(self, request: web.Request) -> web.Response:
        try:
            settings = await _parse(request, FaultSettings)
        except _BadBody as exc:
            return json_message(400, f"Invalid fault settings: {exc}")
        self._faults.configure(settings)
        return await self.get_faults(request)

    def _clock_body(self) -> dict[str, Any]:
        return {"now": self._clock.now().isoformat(), "offset_seconds": self._clock.offset_seconds}

    async def get_clock(self, request: web.Request) -> web.Response:
        return web.json_response(self._clock_body())

    async def advance_clock(self, request: web.Request) -> web.Response:
        try:
            advance = await _parse(request, ClockAdvance)
        except _BadBody as exc:
            return json_message(400, f"Invalid clock advance: {exc}")
        self._clock.advance(advance.seconds)
        return web.json_response(self._clock_body())

    def _rate_body(self) -> dict[str, Any]:
        decision = self._limiter.peek()
        return {
            "limit": self._limiter.limit,
            "used": self._limiter.used(),
            "remaining": decision.remaining,
            "retry_after": decision.retry_after,
        }

    async def get_rate_limit(self, request: web.Request) -> web.Response:
        return web.json_response(self._rate_body())

    async def put_rate_limit(self, request: web.Request) -> web.Response:
        try:
            update = await _parse(request, RateLimitUpdate)
        except _BadBody as exc:
            return json_message(400, f"Invalid rate limit: {exc}")
        self._limiter.set_limit(update.limit)
        return web.json_response(self._rate_body())

    async def reset_rate_limit(self, request: web.Request) -> web.Response:
        self._limiter.reset()
        return web.json_response(self._rate_body())

    async def seed(self, request: web.Request) -> web.Response:
        try:
            wanted = await _parse(request, SeedRequest)
        except _BadBody as exc:
            return json_message(400, f"Invalid seed request: {exc}")
        summary = self._seeder(wanted.companies, wanted.random_seed)
        return web.json_response(dataclasses.asdict(summary))


class ControlError(Exception):
    """The control API refused a call; `status` and the sandbox's message say why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class SandboxControl:
    """A small client for the control API, for tests and the demo.

    Usage: ``async with SandboxControl(url, token) as control: await control.counters()``.
    """

    def __init__(self, control_url: str, token: str) -> None:
        self._base = control_url.rstrip("/")
        self._token = token
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers={CONTROL_HEADER: self._token}, timeout=aiohttp.ClientTimeout(total=120)
            )
        async with self._session.request(method, f"{self._base}/{path}", json=body) as response:
            payload = await response.json(content_type=None)
            if response.status >= 400:
                raise ControlError(response.status, str(payload.get("message", payload)))
            return payload

    async def counters(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", "counters")
        return result

    async def reset_counters(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("POST", "counters/reset")
        return result

    async def faults(self) -> FaultSettings:
        return FaultSettings.model_validate(await self._call("GET", "faults"))

    async def set_faults(self, settings: FaultSettings | None = None, **fields: Any) -> FaultSettings:
        """Replace the fault settings: pass a `FaultSettings` or its fields as keywords."""
        body = settings.model_dump(mode="json") if settings is not None else to_jsonable_python(fields)
        return FaultSettings.model_validate(await self._call("PUT", "faults", body))

    async def clear_faults(self) -> FaultSettings:
        return await self.set_faults(FaultSettings())

    async def advance_clock(self, seconds: float) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("POST", "clock/advance", {"seconds": seconds})
        return result

    async def rate_limit(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", "rate-limit")
        return result

    async def set_rate_limit(self, limit: int) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("PUT", "rate-limit", {"limit": limit})
        return result

    async def reset_rate_limit(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("POST", "rate-limit/reset")
        return result

    async def seed(self, companies: int, random_seed: int = 0) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "POST", "seed", {"companies": companies, "random_seed": random_seed}
        )
        return result
