"""Builds and runs the CATS sandbox: its configuration, the aiohttp app, and a runner on a loopback port.

Used by ``cats-companion sandbox``, by the ``sandbox`` pytest fixture and by the demo.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Final

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from companion.sandbox.control import ControlApi, control_guard
from companion.sandbox.faults import FaultInjector, FaultSettings
from companion.sandbox.middleware import Counters, cats_middlewares
from companion.sandbox.quirks import (
    DATE_FILTERS,
    QUIRKS_KEY,
    RAISED_LIMIT,
    Quirk,
    ids_as_strings,
)
from companion.sandbox.ratelimit import DEFAULT_LIMIT, RollingWindowLimiter, SandboxClock
from companion.sandbox.routes import add_cats_routes
from companion.sandbox.search import refuse_filters
from companion.sandbox.seed import SeedSummary, seed
from companion.sandbox.store import SandboxStore

#: The sandbox's default API key. Not a secret: the README and the demo name it.
DEMO_API_KEY: Final = "cats-sandbox-demo-key"

#: Seconds a shutdown waits for requests still running (hung ones are released at once anyway).
_SHUTDOWN_TIMEOUT: Final = 5.0


def _new_control_token() -> str:
    return secrets.token_urlsafe(18)


class SandboxConfig(BaseModel):
    """Everything a sandbox is started with. Invalid values raise pydantic's ValidationError."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    #: The token clients send as ``Authorization: Token <api_key>``.
    api_key: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S+$", repr=False)] = DEMO_API_KEY
    #: Requests per rolling hour; 0 turns rate limiting (and its headers) off.
    rate_limit: Annotated[int, Field(ge=0)] = DEFAULT_LIMIT
    #: Status of a ``check_duplicate=true`` hit (CATS's own is unknown).
    duplicate_status: Annotated[int, Field(ge=400, le=499)] = 409
    #: SQLite file to keep data across restarts; None keeps everything in memory.
    db_path: str | None = None
    #: Companies to seed at start (only into a store that holds no company yet).
    seed: Annotated[int, Field(ge=0)] = 0
    #: Random seed of the generated data: the same value gives the same data.
    seed_random: int = 0
    #: The ``X-Sandbox-Control`` token of the control API; a fresh random one by default.
    control_token: Annotated[str, Field(min_length=1, pattern=r"^\S+$", repr=False)] = Field(
        default_factory=_new_control_token
    )
    faults: FaultSettings = FaultSettings()
    #: Base clock (tests freeze it); the control API can move the sandbox's time forward from it.
    clock: Callable[[], datetime] | None = None
    #: Filter fields `POST /{r}/search` refuses with 400 although the sandbox supports them, as
    #: "resource.field" (e.g. "companies.date_modified", which CATS may not allow [INFERRED]).
    unfilterable: frozenset[str] = frozenset()
    #: Switchable differences from the reference a real account may show (`companion.sandbox.quirks`).
    quirks: frozenset[Quirk] = frozenset()

    def effective_rate_limit(self) -> int:
        """`limit-1500` raises the default limit (an explicit other one, or 0 = off, is kept)."""
        if Quirk.LIMIT_1500 in self.quirks and self.rate_limit == DEFAULT_LIMIT:
            return RAISED_LIMIT
        return self.rate_limit


@dataclass(frozen=True)
class SandboxParts:
    """The live pieces of one sandbox app, for its runner and for tests."""

    config: SandboxConfig
    store: SandboxStore
    clock: SandboxClock
    limiter: RollingWindowLimiter
    faults: FaultInjector
    counters: Counters


SANDBOX_PARTS: Final = web.AppKey("sandbox_parts", SandboxParts)


def create_sandbox_app(config: SandboxConfig) -> web.Application:
    """The whole sandbox as an aiohttp app: middlewares, CATS routes under /v3, control API."""
    clock = SandboxClock(config.clock)
    store = SandboxStore(config.db_path, duplicate_status=config.duplicate_status, clock=clock.now)
    store.put_clears_omitted = Quirk.PUT_CLEARS_OMITTED in config.quirks
    parts = SandboxParts(
        config=config,
        store=store,
        clock=clock,
        limiter=RollingWindowLimiter(config.effective_rate_limit(), clock=clock.timestamp),
        faults=FaultInjector(config.faults),
        counters=Counters(),
    )

    def seeder(companies: int, random_seed: int) -> SeedSummary:
        return seed(store, companies=companies, random_seed=random_seed, now=clock.now())

    try:
        if config.seed and store.record_counts()["companies"] == 0:
            seeder(config.seed, config.seed_random)
    except BaseException:
        store.close()
        raise

    middlewares = cats_middlewares(
        api_key=config.api_key,
        limiter=parts.limiter,
        faults=parts.faults,
        counters=parts.counters,
        control_guard=control_guard(config.control_token),
        clock=clock.now,
        bearer_accepted=Quirk.BEARER_ACCEPTED in config.quirks,
    )
    unfilterable = config.unfilterable
    if Quirk.DATE_FILTER_UNSUPPORTED in config.quirks:
        unfilterable = unfilterable | DATE_FILTERS
    if unfilterable:
        middlewares.append(refuse_filters(unfilterable))
    if Quirk.IDS_AS_STRINGS in config.quirks:
        middlewares.append(ids_as_strings())
    app = web.Application(middlewares=middlewares)
    app[SANDBOX_PARTS] = parts
    app[QUIRKS_KEY] = config.quirks
    add_cats_routes(app, store)
    ControlApi(
        store=store,
        clock=clock,
        limiter=parts.limiter,
        faults=parts.faults,
        counters=parts.counters,
        seeder=seeder,
    ).register(app)

    async def release_delays(_: web.Application) -> None:
        parts.faults.release()

    async def close_store(_: web.Application) -> None:
        store.close()

    app.on_shutdown.append(release_delays)
    app.on_cleanup.append(close_store)
    return app


@dataclass
class RunningSandbox:
    """A sandbox serving on a loopback port; `close()` stops it and closes its store."""

    app: web.Application
    runner: web.AppRunner
    #: Origin, e.g. ``http://127.0.0.1:41234``.
    origin: str

    @property
    def parts(self) -> SandboxParts:
        return self.app[SANDBOX_PARTS]

    @property
    def config(self) -> SandboxConfig:
        return self.parts.config

    @property
    def store(self) -> SandboxStore:
        return self.parts.store

    @property
    def url(self) -> str:
        """The CATS API base URL, e.g. ``http://127.0.0.1:41234/v3``."""
        return f"{self.origin}/v3"

    @property
    def control_url(self) -> str:
        return f"{self.origin}/_sandbox"

    @property
    def api_key(self) -> str:
        return self.config.api_key

    @property
    def control_token(self) -> str:
        return self.config.control_token

    async def close(self) -> None:
        await self.runner.cleanup()


async def start_sandbox(config: SandboxConfig, host: str = "127.0.0.1", port: int = 0) -> RunningSandbox:
    """Serve a new sandbox on `host`:`port` (0 picks a free port) and return once it listens."""
    app = create_sandbox_app(config)
    # No access log: the sandbox is quiet by default, and a log line per request would drown
    # the test output.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
    except BaseException:
        await runner.cleanup()
        raise
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    return RunningSandbox(app=app, runner=runner, origin=f"http://{shown}:{bound_port}")
