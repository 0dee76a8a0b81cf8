"""Pushes, campaigns, events and the outbox in the daemon: wiring, loopback routes and native message types.

    POST /api/push                     push a person (202: the outbox items to follow)
    GET  /api/outbox[?status=a,b&person_id=&limit=]   items, newest first, and counts by status
    GET  /api/outbox/{id}              one item and its sync-log entries
    POST /api/outbox/{id}/retry        queue a failed item again (or a waiting one now)
    POST /api/outbox/{id}/cancel       never send it
    GET  /api/push-log[?limit=]        the sync log, Activity-section shaped (kind "push")
    GET  /api/campaigns[?archived=1]   POST /api/campaigns   PUT /api/campaigns/{id}
    POST /api/campaigns/{id}/archive
    POST /api/events                   record one campaign event
    POST /api/events/import            record a whole file of events, or none of it

Native types: person.push, campaign.list/create/update/archive/add_member, event.record,
event.import, outbox.list/get/retry/cancel, push.log. Every change of an item is published as
`push.state` (the item's public form) on the event hub.
"""

from __future__ import annotations

import json
from typing import Any, Final

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from companion.cats.client import CatsClient
from companion.errors import BadRequestError, KeyMissingError
from companion.protocol import JsonObject
from companion.server.context import CONTEXT_KEY, DaemonContext
from companion.server.native import NativeCall, NativeRegistry
from companion.server.routes import ApiRoutes, mutating
from companion.services.activity_log import push_entries
from companion.services.campaigns import CampaignChange, CampaignCreate
from companion.services.outbox_worker import STATE_EVENT, OutboxWorker, lock_path_for
from companion.services.push import EventRequest, PushRequest, PushService, inputs_from, parse
from companion.store.ids import MAX_ROW_ID
from companion.store.outbox import ItemStatus, OutboxItem

PUSH_PATH: Final = "/api/push"
OUTBOX_PATH: Final = "/api/outbox"
PUSH_LOG_PATH: Final = "/api/push-log"
CAMPAIGNS_PATH: Final = "/api/campaigns"
EVENTS_PATH: Final = "/api/events"
MAX_LIST: Final = 500

# --- wiring ------------------------------------------------------------------------------------------


def attach_push(ctx: DaemonContext) -> PushService:
    """Build the push service and the outbox worker (not started) on `ctx`.

    Pushes are accepted without an API key too: they wait in the outbox. The worker follows
    `ctx.client`, so a key activated or removed later is picked up without a restart.
    """
    if ctx.settings is None:
        raise RuntimeError("the push service needs the settings service")
    inputs = inputs_from(ctx.settings)

    def publish(item: OutboxItem) -> None:
        ctx.events.publish(STATE_EVENT, item.public())

    def queued(items: Any) -> None:
        for item in items:
            publish(item)
        if ctx.outbox is not None:
            ctx.outbox.notify()

    def client() -> CatsClient | None:
        return ctx.client if isinstance(ctx.client, CatsClient) else None

    ctx.push = PushService(ctx.db, inputs, on_queued=queued)
    ctx.outbox = OutboxWorker(ctx.db, client, inputs, publish=publish, lock_path=lock_path_for(ctx.db))
    return ctx.push


def _push(ctx: DaemonContext) -> PushService:
    if ctx.push is None:
        raise KeyMissingError("pushing is not available in this daemon")
    return ctx.push


# --- shared handlers (HTTP and native) ----------------------------------------------------------------


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


async def outbox_view(push: PushService, query: OutboxQuery) -> JsonObject:
    items = await push.outbox.items(
        statuses=query.status, person_id=query.person_id, limit=query.limit, before_id=query.before_id
    )
    return {"items": [item.public() for item in items], "counts": await push.outbox.counts()}


async def item_view(push: PushService, item_id: int) -> JsonObject:
    item = await push.item(item_id)
    log = await push.log.entries(outbox_id=item_id, limit=50)
    return {"item": item.public(), "log": [entry.model_dump(mode="json") for entry in log]}


# --- HTTP ----------------------------------------------------------------------------------------------


def _ctx(request: web.Request) -> DaemonContext:
    return request.app[CONTEXT_KEY]


async def _body(request: web.Request) -> object:
    raw = await request.read()
    try:
        return json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise BadRequestError("the request body must be JSON") from None


def _int(request: web.Request, name: str) -> int:
    raw = request.match_info.get(name) or request.query.get(name) or ""
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_ROW_ID:
        raise BadRequestError(f"{name} must be a whole number from 1 to {MAX_ROW_ID}")
    return int(raw)


def _query(request: web.Request) -> OutboxQuery:
    data: dict[str, Any] = {}
    if "status" in request.query:
        data["status"] = [s for s in request.query["status"].split(",") if s]
    for name in ("person_id", "limit", "before_id"):
        if name in request.query:
            data[name] = request.query[name]
    return parse(OutboxQuery, data)


@mutating
async def post_push(request: web.Request) -> web.Response:
    accepted = await _push(_ctx(request)).push(parse(PushRequest, await _body(request)))
    return web.json_response(accepted.model_dump(mode="json"), status=202)


async def get_outbox(request: web.Request) -> web.Response:
    return web.json_response(await outbox_view(_push(_ctx(request)), _query(request)))


async def get_item(request: web.Request) -> web.Response:
    return web.json_response(await item_view(_push(_ctx(request)), _int(request, "id")))


@mutating
async def post_retry(request: web.Request) -> web.Response:
    item = await _push(_ctx(request)).retry(_int(request, "id"))
    return web.json_response({"item": item.public()})


@mutating
async def post_cancel(request: web.Request) -> web.Response:
    item = await _push(_ctx(request)).cancel(_int(request, "id"))
    return web.json_response({"item": item.public()})


async def get_push_log(request: web.Request) -> web.Response:
    query = parse(LogQuery, dict(request.query))
    return web.json_response({"entries": await push_entries(_ctx(request).db, limit=query.limit)})


async def get_campaigns(request: web.Request) -> web.Response:
    archived = request.query.get("archived", "") in ("1", "true", "yes")
    campaigns = await _push(_ctx(request)).campaigns.list(include_archived=archived)
    return web.json_response({"campaigns": [c.model_dump(mode="json") for c in campaigns]})


@mutating
async def post_campaign(request: web.Request) -> web.Response:
    view = await _push(_ctx(request)).campaigns.create(parse(CampaignCreate, await _body(request)))
    return web.json_response(view.model_dump(mode="json"), status=201)


@mutating
async def put_campaign(request: web.Request) -> web.Response:
    change = parse(CampaignChange, await _body(request))
    view = await _push(_ctx(request)).campaigns.change(_int(request, "id"), change)
    return web.json_response(view.model_dump(mode="json"))


@mutating
async def post_archive(request: web.Request) -> web.Response:
    view = await _push(_ctx(request)).campaigns.archive(_int(request, "id"))
    return web.json_response(view.model_dump(mode="json"))


@mutating
async def post_event(request: web.Request) -> web.Response:
    accepted = await _push(_ctx(request)).record_event(parse(EventRequest, await _body(request)))
    return web.json_response(accepted.model_dump(mode="json"), status=202)


@mutating
async def post_import(request: web.Request) -> web.Response:
    result = await _push(_ctx(request)).import_events(await _body(request))
    return web.json_response(result.model_dump(mode="json"), status=202)


def register(routes: ApiRoutes) -> None:
    routes.add("POST", PUSH_PATH, post_push)
    routes.add("GET", OUTBOX_PATH, get_outbox)
    routes.add("GET", f"{OUTBOX_PATH}/{{id}}", get_item)
    routes.add("POST", f"{OUTBOX_PATH}/{{id}}/retry", post_retry)
    routes.add("POST", f"{OUTBOX_PATH}/{{id}}/cancel", post_cancel)
    routes.add("GET", PUSH_LOG_PATH, get_push_log)
    routes.add("GET", CAMPAIGNS_PATH, get_campaigns)
    routes.add("POST", CAMPAIGNS_PATH, post_campaign)
    routes.add("PUT", f"{CAMPAIGNS_PATH}/{{id}}", put_campaign)
    routes.add("POST", f"{CAMPAIGNS_PATH}/{{id}}/archive", post_archive)
    routes.add("POST", EVENTS_PATH, post_event)
    routes.add("POST", f"{EVENTS_PATH}/import", post_import)


# --- native messages ---------------------------------------------------------------------------------


async def _person_push(call: NativeCall, params: PushRequest) -> JsonObject:
    """Push a person to CATS now (interactive priority): the outbox items to follow."""
    return (await _push(call.ctx).push(params)).model_dump(mode="json")


async def _campaign_list(call: NativeCall, params: CampaignListQuery) -> JsonObject:
    """The campaigns kept by the companion, with their member counts."""
    campaigns = await _push(call.ctx).campaigns.list(include_archived=params.include_archived)
    return {"campaigns": [c.model_dump(mode="json") for c in campaigns]}


async def _campaign_create(call: NativeCall, params: CampaignCreate) -> JsonObject:
    """Create a campaign (optionally overriding the sync trigger and record type)."""
    return (await _push(call.ctx).campaigns.create(params)).model_dump(mode="json")


async def _campaign_update(call: NativeCall, params: CampaignUpdate) -> JsonObject:
    """Rename a campaign or change its overrides."""
    change = CampaignChange.model_validate(params.model_dump(exclude={"id"}, exclude_unset=True))
    return (await _push(call.ctx).campaigns.change(params.id, change)).model_dump(mode="json")


async def _campaign_archive(call: NativeCall, params: ItemRef) -> JsonObject:
    """Archive a campaign: it takes no new members or events."""
    return (await _push(call.ctx).campaigns.archive(params.id)).model_dump(mode="json")


async def _campaign_add_member(call: NativeCall, params: MemberRequest) -> JsonObject:
    """Add a person to a campaign ("sync as" Candidate or Contact)."""
    accepted = await _push(call.ctx).record_event(params.as_event(), source="extension")
    return accepted.model_dump(mode="json")


async def _event_record(call: NativeCall, params: EventRequest) -> JsonObject:
    """Record a campaign event (outreach, reply, interest, meeting); notes and syncs follow the settings."""
    return (await _push(call.ctx).record_event(params, source="extension")).model_dump(mode="json")


async def _event_import(call: NativeCall, params: ImportRequest) -> JsonObject:
    """Record a list of events, all or none."""
    return (await _push(call.ctx).import_events(params.events)).model_dump(mode="json")


async def _outbox_list(call: NativeCall, params: OutboxQuery) -> JsonObject:
    """Outbox items, newest first, with counts by status."""
    return await outbox_view(_push(call.ctx), params)


async def _outbox_get(call: NativeCall, params: ItemRef) -> JsonObject:
    """One outbox item and its sync-log entries."""
    return await item_view(_push(call.ctx), params.id)


async def _outbox_retry(call: NativeCall, params: ItemRef) -> JsonObject:
    """Queue a failed item again once what CATS refused is fixed."""
    return {"item": (await _push(call.ctx).retry(params.id)).public()}


async def _outbox_cancel(call: NativeCall, params: ItemRef) -> JsonObject:
    """Never send an item."""
    return {"item": (await _push(call.ctx).cancel(params.id)).public()}


async def _push_log(call: NativeCall, params: LogQuery) -> JsonObject:
    """The push sync log, newest first."""
    return {"entries": await push_entries(call.ctx.db, limit=params.limit)}


def register_messages(registry: NativeRegistry) -> None:
    registry.add("person.push", _person_push, params=PushRequest, mutates=True)
    registry.add("campaign.list", _campaign_list, params=CampaignListQuery)
    registry.add("campaign.create", _campaign_create, params=CampaignCreate, mutates=True)
    registry.add("campaign.update", _campaign_update, params=CampaignUpdate, mutates=True)
    registry.add("campaign.archive", _campaign_archive, params=ItemRef, mutates=True)
    registry.add("campaign.add_member", _campaign_add_member, params=MemberRequest, mutates=True)
    registry.add("event.record", _event_record, params=EventRequest, mutates=True)
    registry.add("event.import", _event_import, params=ImportRequest, mutates=True)
    registry.add("outbox.list", _outbox_list, params=OutboxQuery)
    registry.add("outbox.get", _outbox_get, params=ItemRef)
    registry.add("outbox.retry", _outbox_retry, params=ItemRef, mutates=True)
    registry.add("outbox.cancel", _outbox_cancel, params=ItemRef, mutates=True)
    registry.add("push.log", _push_log, params=LogQuery)


__all__ = ["attach_push", "register", "register_messages"]
