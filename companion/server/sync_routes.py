"""The company sync inside the daemon: its scheduler wired to the connection monitor and event hub, and its
routes, GET /api/sync (state) and POST /api/sync (sync now)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

from companion.cats.client import CatsClient
from companion.errors import BadRequestError, CompanionError, KeyMissingError
from companion.server.connection import state_for
from companion.server.context import CONTEXT_KEY, DaemonContext
from companion.server.routes import ApiRoutes, mutating
from companion.services.company_sync import CompanySync, SyncOutcome
from companion.services.sync_scheduler import SyncPolicy, SyncScheduler
from companion.services.sync_state import SyncProgress, SyncState, build_state
from companion.store.companies import CompanyCache

SYNC_PATH: Final = "/api/sync"
#: Published on ctx.events after every page a sync stores.
PROGRESS_EVENT: Final = "sync.progress"


def attach_sync(
    ctx: DaemonContext, client: CatsClient, policy: SyncPolicy | Callable[[], SyncPolicy]
) -> SyncScheduler:
    """Build the daemon's sync scheduler (not started) and set it as `ctx.sync`.

    Failures that say something about the connection (CATS unreachable, key refused) go to the
    ConnectionMonitor; a later success clears them. Progress is published as `sync.progress`.
    """
    engine = CompanySync(client, CompanyCache(ctx.db))

    def publish(progress: SyncProgress) -> None:
        ctx.events.publish(
            PROGRESS_EVENT,
            {
                "phase": progress.phase,
                "pages_done": progress.pages_done,
                "pages_total": progress.pages_total,
                "companies_done": progress.companies_done,
            },
        )

    def on_error(error: CompanionError) -> None:
        if state_for(error) in ("unreachable", "bad_key"):
            ctx.monitor.record_error(error)

    def on_success(_: SyncOutcome) -> None:
        if ctx.monitor.status.state in ("unreachable", "bad_key"):
            ctx.monitor.record_connected("CATS answered the company sync")

    engine.on_progress(publish)
    ctx.sync = SyncScheduler(engine, policy, on_error=on_error, on_success=on_success)
    return ctx.sync


class SyncRequest(BaseModel):
    """POST /api/sync's optional body."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    #: A full scan (which also removes companies deleted in CATS) instead of an incremental sync.
    full: bool = False


async def current_state(request: web.Request) -> SyncState:
    ctx = request.app[CONTEXT_KEY]
    if ctx.sync is not None:
        return await ctx.sync.state()
    # No API key, so no scheduler: the cache is still there and readable.
    return await build_state(CompanyCache(ctx.db), now=datetime.now(UTC), configured=False)


async def get_sync(request: web.Request) -> web.Response:
    return web.json_response((await current_state(request)).model_dump(mode="json"))


@mutating
async def post_sync(request: web.Request) -> web.Response:
    """Start a sync now: 202 with `started: true`, or 200 with `started: false` when one is running."""
    raw = await request.read()
    try:
        wanted = SyncRequest.model_validate_json(raw) if raw.strip() else SyncRequest()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        raise BadRequestError(f"invalid sync request: {problems}") from None
    ctx = request.app[CONTEXT_KEY]
    if ctx.sync is None:
        raise KeyMissingError(f"no CATS API key for {ctx.cats_base_url}; run `cats-companion key set` first")
    started = ctx.sync.request(full=wanted.full)
    state = await ctx.sync.state()
    body = {"started": started, "state": state.model_dump(mode="json")}
    if not started:
        body["reason"] = "a company sync is already running; follow it with GET /api/sync"
    return web.json_response(body, status=202 if started else 200)


def register(routes: ApiRoutes) -> None:
    routes.add("GET", SYNC_PATH, get_sync)
    routes.add("POST", SYNC_PATH, post_sync)
