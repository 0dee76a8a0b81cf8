"""Push operations: people to CATS, campaigns and their events, and the outbox that carries them.

Every change of an outbox item is published as `push.state` (the item's public form) on the event
hub, by the Companion's wiring (companion.app).
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from companion.protocol import JsonObject
from companion.server.operations.base import Call
from companion.services.activity_log import push_entries
from companion.services.campaigns import CampaignChange, CampaignCreate
from companion.services.push import EventRequest, PushRequest, parse
from companion.store.ids import MAX_ROW_ID
from companion.store.outbox import ItemStatus

#: The most items or log entries one answer lists.
MAX_LIST: Final = 500


class OutboxQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: list[ItemStatus] | None = None
    person_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    limit: int = Field(default=100, ge=1, le=MAX_LIST)
    before_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)


class ItemRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int = Field(ge=1, le=MAX_ROW_ID)


class CampaignUpdate(CampaignChange):
    id: int = Field(ge=1, le=MAX_ROW_ID)


class CampaignListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_archived: bool = False


class LogQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=MAX_LIST)


class MemberRequest(BaseModel):
    """campaign.add_member: an `added` event, named for what it does."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, min_length=1, max_length=200)
    campaign_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    campaign: str | None = None
    person_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    person: dict[str, Any] | None = None
    record_type: str | None = None
    company_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    at: str | None = None

    def as_event(self) -> EventRequest:
        data = self.model_dump(exclude_none=True)
        return parse(EventRequest, {**data, "type": "added"})


class ImportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[Any]


def _source(call: Call) -> str:
    # The native host names the extension that started it; the CLI's client names no caller.
    return "extension" if call.caller is not None and call.caller.startswith("chrome-extension://") else "cli"


async def person_push(call: Call, params: PushRequest) -> JsonObject:
    """Push a person to CATS now (interactive priority): the outbox items to follow."""
    return (await call.companion.push.push(params)).model_dump(mode="json")


async def campaign_list(call: Call, params: CampaignListQuery) -> JsonObject:
    """The campaigns kept by the companion, with their member counts."""
    campaigns = await call.companion.push.campaigns.list(include_archived=params.include_archived)
    return {"campaigns": [c.model_dump(mode="json") for c in campaigns]}


async def campaign_create(call: Call, params: CampaignCreate) -> JsonObject:
    """Create a campaign (optionally overriding the sync trigger and record type)."""
    return (await call.companion.push.campaigns.create(params)).model_dump(mode="json")


async def campaign_update(call: Call, params: CampaignUpdate) -> JsonObject:
    """Rename a campaign or change its overrides."""
    change = CampaignChange.model_validate(params.model_dump(exclude={"id"}, exclude_unset=True))
    return (await call.companion.push.campaigns.change(params.id, change)).model_dump(mode="json")


async def campaign_archive(call: Call, params: ItemRef) -> JsonObject:
    """Archive a campaign: it takes no new members or events."""
    return (await call.companion.push.campaigns.archive(params.id)).model_dump(mode="json")


async def campaign_add_member(call: Call, params: MemberRequest) -> JsonObject:
    """Add a person to a campaign ("sync as" Candidate or Contact)."""
    accepted = await call.companion.push.record_event(params.as_event(), source=_source(call))
    return accepted.model_dump(mode="json")


async def event_record(call: Call, params: EventRequest) -> JsonObject:
    """Record a campaign event (outreach, reply, interest, meeting); notes and syncs follow the settings."""
    return (await call.companion.push.record_event(params, source=_source(call))).model_dump(mode="json")


async def event_import(call: Call, params: ImportRequest) -> JsonObject:
    """Record a list of events, all or none."""
    return (await call.companion.push.import_events(params.events)).model_dump(mode="json")


async def outbox_list(call: Call, params: OutboxQuery) -> JsonObject:
    """Outbox items, newest first, with counts by status."""
    outbox = call.companion.push.outbox
    items = await outbox.items(
        statuses=params.status, person_id=params.person_id, limit=params.limit, before_id=params.before_id
    )
    return {"items": [item.public() for item in items], "counts": await outbox.counts()}


async def outbox_get(call: Call, params: ItemRef) -> JsonObject:
    """One outbox item and its sync-log entries."""
    push = call.companion.push
    item = await push.item(params.id)
    log = await push.log.entries(outbox_id=params.id, limit=50)
    return {"item": item.public(), "log": [entry.model_dump(mode="json") for entry in log]}


async def outbox_retry(call: Call, params: ItemRef) -> JsonObject:
    """Queue a failed item again once what CATS refused is fixed."""
    return {"item": (await call.companion.push.retry(params.id)).public()}


async def outbox_cancel(call: Call, params: ItemRef) -> JsonObject:
    """Never send an item."""
    return {"item": (await call.companion.push.cancel(params.id)).public()}


async def push_log(call: Call, params: LogQuery) -> JsonObject:
    """The push sync log, newest first."""
    return {"entries": await push_entries(call.companion.db, limit=params.limit)}
