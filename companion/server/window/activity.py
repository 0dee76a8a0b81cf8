"""GET /api/activity: the settings window's activity log, newest first, from what the daemon records.

Two records feed it: the company sync (its persisted state: the last success, the last full scan,
the last failure with its code and reason, and the run in progress) and the push sync log (what
was pushed for whom, which fields changed, failures with CATS's reason; see
companion.services.activity_log). Each entry says what happened, when, and for a failure how to
retry it (`retry`: the method and path to call).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from companion.server.routes import SYNC_PATH, ApiRoutes
from companion.server.state import COMPANION_KEY
from companion.services.activity_log import push_entries
from companion.services.sync_state import SyncState

ACTIVITY_PATH: Final = "/api/activity"

EntryKind = Literal["company_sync", "push"]
EntryStatus = Literal["running", "ok", "failed"]


class Retry(BaseModel):
    model_config = ConfigDict(frozen=True)

    method: Literal["POST"]
    path: str
    label: str


class ActivityEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: EntryKind
    status: EntryStatus
    #: When it happened (for a running entry: now); None when unknown.
    at: datetime | None
    title: str
    detail: str
    #: For a failure: its stable code from companion.errors.
    code: str | None = None
    retry: Retry | None = None
    # Push entries only: the outbox item, the person, the CATS record and what changed in it.
    outbox_id: int | None = None
    person_id: int | None = None
    record_type: str | None = None
    cats_id: int | None = None
    changed_fields: list[str] | None = None
    requests: int | None = None


class Activity(BaseModel):
    model_config = ConfigDict(frozen=True)

    entries: list[ActivityEntry]
    #: Which records feed the log (the window says what it is showing).
    sources: list[str]


def _pages(state: SyncState) -> str:
    if state.pages_total:
        return f"page {state.pages_done} of {state.pages_total}"
    return f"{state.pages_done} page{'s' if state.pages_done != 1 else ''}"


def newest_first(entries: list[ActivityEntry]) -> list[ActivityEntry]:
    """Running entries first, then the rest newest first."""
    running = [entry for entry in entries if entry.status == "running"]
    rest = sorted(
        (entry for entry in entries if entry.status != "running"),
        key=lambda entry: entry.at or datetime.min.replace(tzinfo=UTC),
        reverse=True,
    )
    return running + rest


def sync_entries(state: SyncState, *, now: datetime) -> list[ActivityEntry]:
    """The company sync's entries, newest first."""
    entries: list[ActivityEntry] = []
    if state.running:
        phase = "full scan" if state.phase == "full" else "incremental sync"
        entries.append(
            ActivityEntry(
                kind="company_sync",
                status="running",
                at=now,
                title=f"Company {phase} running",
                detail=f"{_pages(state)}, {state.companies_done} companies stored so far",
            )
        )
    if state.last_error is not None:
        entries.append(
            ActivityEntry(
                kind="company_sync",
                status="failed",
                at=state.last_error.at,
                title="Company sync failed",
                detail=state.last_error.message,
                code=state.last_error.code,
                retry=None if state.running else Retry(method="POST", path=SYNC_PATH, label="Retry the sync"),
            )
        )
    if state.last_success_at is not None:
        entries.append(
            ActivityEntry(
                kind="company_sync",
                status="ok",
                at=state.last_success_at,
                title="Company cache synced",
                detail=f"{state.companies_in_cache} companies in the cache",
            )
        )
    if state.last_full_success_at is not None and state.last_full_success_at != state.last_success_at:
        entries.append(
            ActivityEntry(
                kind="company_sync",
                status="ok",
                at=state.last_full_success_at,
                title="Full company scan finished",
                detail="companies deleted in CATS were removed from the cache",
            )
        )
    return newest_first(entries)


async def get_activity(request: web.Request) -> web.Response:
    companion = request.app[COMPANION_KEY]
    entries = sync_entries(await companion.sync_state(), now=datetime.now(UTC))
    pushes = await push_entries(companion.db)
    entries += [ActivityEntry.model_validate(entry) for entry in pushes]
    activity = Activity(entries=newest_first(entries), sources=["company_sync", "push"])
    return web.json_response(activity.model_dump(mode="json"))


def register(routes: ApiRoutes) -> None:
    routes.add("GET", ACTIVITY_PATH, get_activity)
