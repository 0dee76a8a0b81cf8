"""Company lookups over the loopback API and the native protocol: every answer comes from the cache only.

    POST   /api/companies/lookup    {name?, website?, email?, linkedin_url?}: match, look-alikes, card, age
    GET    /api/companies/search    ?q=<prefix>&limit=<1-50>: companies for a picker
    POST   /api/companies/confirm   {..the query.., company_id}: "this profile's company is CATS company N"
    DELETE /api/companies/confirm   {..the query.., company_id?}: forget that confirmation

Native message types: `company.lookup`, `company.search` (read-only), `company.confirm`,
`company.unconfirm` (they write). Lookups are POSTs only because the query has a body; they run where
database writes raise, like a GET.
"""

from __future__ import annotations

from typing import Any, Final, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from companion.errors import BadRequestError, StoreError
from companion.matching import CompanyQuery
from companion.protocol import JsonObject
from companion.server.context import CONTEXT_KEY, DaemonContext
from companion.server.native import NativeCall, NativeRegistry
from companion.server.routes import ApiRoutes, mutating
from companion.services.company_lookup import (
    MAX_SEARCH_LIMIT,
    CompanyLookupService,
    LookupResult,
    SearchResult,
)
from companion.store import read_only
from companion.store.ids import MAX_ROW_ID

LOOKUP_PATH: Final = "/api/companies/lookup"
SEARCH_PATH: Final = "/api/companies/search"
CONFIRM_PATH: Final = "/api/companies/confirm"


class LookupParams(BaseModel):
    """The company seen on a profile: any of its name, website, e-mail address and LinkedIn page."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: str | None = Field(default=None, max_length=500)
    website: str | None = Field(default=None, max_length=2000)
    email: str | None = Field(default=None, max_length=320)
    linkedin_url: str | None = Field(default=None, max_length=2000)

    def query(self) -> CompanyQuery:
        try:
            return CompanyQuery(
                name=self.name, website=self.website, email=self.email, linkedin_url=self.linkedin_url
            )
        except ValidationError:
            raise BadRequestError(
                "a company lookup needs a name, website, e-mail address or LinkedIn company URL"
            ) from None


class ConfirmParams(LookupParams):
    company_id: int = Field(ge=1, le=MAX_ROW_ID, strict=True)


class UnconfirmParams(LookupParams):
    #: Only forget confirmations to this company (any, when absent).
    company_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID, strict=True)


class SearchParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    q: str = Field(max_length=500)
    limit: int = Field(default=10, ge=1, le=MAX_SEARCH_LIMIT)


def _service(ctx: DaemonContext) -> CompanyLookupService:
    if ctx.lookup is None:
        raise StoreError("the company cache is not open in this daemon")
    return ctx.lookup


def _problems(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(part) for part in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


P = TypeVar("P", bound=BaseModel)


async def _body(request: web.Request, model: type[P]) -> P:
    raw = await request.read()
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        raise BadRequestError(f"invalid request: {_problems(exc)}") from None


# --- the service calls, shared by both transports -------------------------------------------------------
# They answer models: the native protocol serialises them straight to JSON (protocol.encode_ok_reply),
# which is a visible part of a lookup's round trip when done as model_dump + json.dumps.


def lookup(ctx: DaemonContext, params: LookupParams) -> LookupResult:
    return _service(ctx).lookup(params.query())


def search(ctx: DaemonContext, params: SearchParams) -> SearchResult:
    return _service(ctx).search(params.q, params.limit)


async def confirm(ctx: DaemonContext, params: ConfirmParams) -> LookupResult:
    return await _service(ctx).confirm(params.query(), params.company_id)


async def unconfirm(ctx: DaemonContext, params: UnconfirmParams) -> JsonObject:
    removed = await _service(ctx).unconfirm(params.query(), params.company_id)
    return {"removed": removed}


# --- loopback HTTP ------------------------------------------------------------------------------------


async def post_lookup(request: web.Request) -> web.Response:
    params = await _body(request, LookupParams)
    with read_only("a company lookup changes nothing"):
        data = lookup(request.app[CONTEXT_KEY], params).model_dump(mode="json")
    return web.json_response(data)


async def get_search(request: web.Request) -> web.Response:
    raw: dict[str, Any] = dict(request.query)
    try:
        params = SearchParams.model_validate(raw)
    except ValidationError as exc:
        raise BadRequestError(f"invalid search: {_problems(exc)}") from None
    return web.json_response(search(request.app[CONTEXT_KEY], params).model_dump(mode="json"))


@mutating
async def post_confirm(request: web.Request) -> web.Response:
    params = await _body(request, ConfirmParams)
    result = await confirm(request.app[CONTEXT_KEY], params)
    return web.json_response(result.model_dump(mode="json"))


@mutating
async def delete_confirm(request: web.Request) -> web.Response:
    params = await _body(request, UnconfirmParams)
    return web.json_response(await unconfirm(request.app[CONTEXT_KEY], params))


def register(routes: ApiRoutes) -> None:
    routes.add("POST", LOOKUP_PATH, post_lookup)
    routes.add("GET", SEARCH_PATH, get_search)
    routes.add("POST", CONFIRM_PATH, post_confirm)
    routes.add("DELETE", CONFIRM_PATH, delete_confirm)


# --- native messaging ---------------------------------------------------------------------------------


async def _native_lookup(call: NativeCall, params: LookupParams) -> LookupResult:
    """The CATS company a profile's company is, its look-alikes, its card fields and the cache's age."""
    return lookup(call.ctx, params)


async def _native_search(call: NativeCall, params: SearchParams) -> SearchResult:
    """Cached companies whose name starts with `q`, for company pickers."""
    return search(call.ctx, params)


async def _native_confirm(call: NativeCall, params: ConfirmParams) -> LookupResult:
    """Remember that the profile's company is CATS company `company_id`; answers the new lookup."""
    return await confirm(call.ctx, params)


async def _native_unconfirm(call: NativeCall, params: UnconfirmParams) -> JsonObject:
    """Forget a confirmation made with `company.confirm`."""
    return await unconfirm(call.ctx, params)


def register_messages(registry: NativeRegistry) -> None:
    registry.add("company.lookup", _native_lookup, params=LookupParams)
    registry.add("company.search", _native_search, params=SearchParams)
    registry.add("company.confirm", _native_confirm, params=ConfirmParams, mutates=True)
    registry.add("company.unconfirm", _native_unconfirm, params=UnconfirmParams, mutates=True)
