"""Company-sync operations: the cache's sync state, and a sync started now."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from companion.errors import KeyMissingError
from companion.protocol import JsonObject, NoParams
from companion.server.operations.base import Call
from companion.services.sync_state import SyncState


class SyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    #: A full scan (which also removes companies deleted in CATS) instead of an incremental sync.
    full: bool = False


async def state(call: Call, params: NoParams) -> SyncState:
    """The company cache's sync state: last success, last failure, the run in progress and its progress."""
    return await call.companion.sync_state()


async def start(call: Call, params: SyncRequest) -> JsonObject:
    """Start a company sync now; `started` is false when one is already running or, in a team, another
    member's companion is the syncer (this one replicates its changes; `reason` says so)."""
    companion = call.companion
    if companion.sync is None:
        raise KeyMissingError(
            f"no CATS API key for {companion.cats_base_url}; run `cats-companion key set` first"
        )
    elsewhere = companion.sync_elsewhere()
    if elsewhere is not None:
        # Asking CATS from here too would double the team's requests; the replica follows the syncer.
        state = (await companion.sync_state()).model_dump(mode="json")
        return {"started": False, "state": state, "reason": elsewhere}
    started = companion.sync.request(full=params.full)
    body: JsonObject = {"started": started, "state": (await companion.sync.state()).model_dump(mode="json")}
    if not started:
        body["reason"] = "a company sync is already running; follow it with GET /api/sync"
    return body
