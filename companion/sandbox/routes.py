"""The CATS v3 resource routes of the sandbox: HTTP in, store calls, HAL JSON out.

No auth, content-type, rate-limit or request-id handling here: the harness's middlewares sit in
front. What lives here is request parsing (pagination, bodies, cursors), the HAL collection
shape, `Location` headers and turning `SandboxHttpError` into `{"message": ...}` answers.

Pagination rules: `page` defaults to 1 and `per_page` to 25; `per_page` above 100 is clamped to
100 [INFERRED: CATS caps it]; a `page` or `per_page` below 1 or not an integer answers 400.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Awaitable, Callable
from typing import Any, Final
from urllib.parse import urlencode

from aiohttp import web

from companion.sandbox.errors import DuplicateRecordError, SandboxHttpError
from companion.sandbox.quirks import SMALL_PAGE_MAX, Quirk, quirks_of
from companion.sandbox.store import Page, SandboxStore

PREFIX: Final = "/v3"
DEFAULT_PER_PAGE: Final = 25
MAX_PER_PAGE: Final = 100

_RECORD: Final = "{resource:candidates|contacts|companies}"
_STATUSED: Final = "{resource:contacts|companies}"
_ID: Final = r"{id:\d+}"
_SUB_KIND: Final = "{kind:emails|phones}"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _absolute(request: web.Request, path: str) -> str:
    """CATS sends absolute Locations; ours point at this server's own origin."""
    return f"{request.url.origin()}{path}" if path.startswith("/") else path


def _answers_errors(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except SandboxHttpError as exc:
            headers = {
                name: _absolute(request, value) if name.lower() == "location" else value
                for name, value in exc.headers.items()
            }
            return web.json_response(exc.body(), status=exc.status, headers=headers)

    return wrapped


def _int_param(request: web.Request, name: str, default: int | None = None) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SandboxHttpError(400, f"{name} must be an integer.") from None


def _paging(request: web.Request) -> tuple[int, int]:
    page = _int_param(request, "page", 1)
    per_page = _int_param(request, "per_page", DEFAULT_PER_PAGE)
    assert page is not None and per_page is not None
    if page < 1:
        raise SandboxHttpError(400, "page must be 1 or more.")
    if per_page < 1:
        raise SandboxHttpError(400, "per_page must be between 1 and 100.")
    cap = SMALL_PAGE_MAX if Quirk.PER_PAGE_MAX_50 in quirks_of(request.app) else MAX_PER_PAGE
    return page, min(per_page, cap)


def _path_id(request: web.Request, name: str = "id") -> int:
    return int(request.match_info[name])


def _collection(
    path: str, plural: str, page: Page, page_no: int, per_page: int, extra: dict[str, str] | None = None
) -> dict[str, Any]:
    """A HAL collection: `next` only when a later page has items; `prev`/`first`/`last` too."""

    def href(number: int) -> dict[str, str]:
        return {"href": f"{path}?{urlencode({**(extra or {}), 'page': number, 'per_page': per_page})}"}

    last = max(1, math.ceil(page.total / per_page))
    links = {"self": href(page_no), "first": href(1), "last": href(last)}
    if page_no > 1:
        links["prev"] = href(min(page_no - 1, last))
    if page_no < last:
        links["next"] = href(page_no + 1)
    return {"count": len(page.items), "total": page.total, "_links": links, "_embedded": {plural: page.items}}


def _whole(path: str, plural: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """A small collection served in one page (sub-records, statuses, a record's custom values)."""
    return {
        "count": len(items),
        "total": len(items),
        "_links": {"self": {"href": path}},
        "_embedded": {plural: items},
    }


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        raise SandboxHttpError(400, "A JSON request body is required.")
    try:
        return json.loads(raw)
    except ValueError:
        raise SandboxHttpError(400, "The request body is not valid JSON.") from None


def _created(request: web.Request, path: str) -> web.Response:
    return web.Response(status=201, headers={"Location": _absolute(request, f"{PREFIX}{path}")})


def _no_content() -> web.Response:
    return web.Response(status=204)


def _whole_number(value: float | None) -> float | int | None:
    return int(value) if value is not None and value.is_integer() else value


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").strip().lower() in ("true", "1")


class _CatsApi:
    """Handlers over one store; each reads the request, calls the store once, shapes the answer."""

    def __init__(self, store: SandboxStore) -> None:
        self.store = store

    # records
    async def list_records(self, request: web.Request) -> web.Response:
        resource = request.match_info["resource"]
        page_no, per_page = _paging(request)
        page = self.store.list_records(resource, page_no, per_page)
        return web.json_response(_collection(f"/{resource}", resource, page, page_no, per_page))

    async def get_record(self, request: web.Request) -> web.Response:
        return web.json_response(self.store.get_record(request.match_info["resource"], _path_id(request)))

    async def create_record(self, request: web.Request) -> web.Response:
        resource = request.match_info["resource"]
        try:
            rid = self.store.create_record(
                resource, await _body(request), check_duplicate=_flag(request, "check_duplicate")
            )
        except DuplicateRecordError as exc:
            if Quirk.DUPLICATE_200 not in quirks_of(request.app):
                raise
            # The duplicate-200 quirk: the hit answers 200 with the existing record itself.
            location = _absolute(request, f"{PREFIX}/{resource}/{exc.existing_id}")
            return web.json_response(
                self.store.get_record(resource, exc.existing_id), headers={"Location": location}
            )
        return _created(request, f"/{resource}/{rid}")

    async def update_record(self, request: web.Request) -> web.Response:
        resource, rid = request.match_info["resource"], _path_id(request)
        self.store.get_record(resource, rid)  # an unknown id is a 404 whatever the body says
        self.store.update_record(resource, rid, await _body(request))
        return _no_content()

    async def delete_record(self, request: web.Request) -> web.Response:
        self.store.delete_record(request.match_info["resource"], _path_id(request))
        return _no_content()

    # search
    async def search_get(self, request: web.Request) -> web.Response:
        return await self._search_get(request, request.match_info["resource"])

    async def search_post(self, request: web.Request) -> web.Response:
        return await self._search_post(request, request.match_info["resource"])

    async def _search_get(self, request: web.Request, resource: str) -> web.Response:
        query = request.query.get("query", "").strip()
        if not query:
            raise SandboxHttpError(400, "The query parameter is required.")
        page_no, per_page = _paging(request)
        page = self.store.search_records(resource, query=query, page=page_no, per_page=per_page)
        return web.json_response(
            _collection(f"/{resource}/search", resource, page, page_no, per_page, {"query": query})
        )

    async def _search_post(self, request: web.Request, resource: str) -> web.Response:
        page_no, per_page = _paging(request)
        query = request.query.get("query", "").strip() or None
        page = self.store.search_records(
            resource, query=query, filter=await _body(request), page=page_no, per_page=per_page
        )
        extra = {"query": query} if query else None
        return web.json_response(_collection(f"/{resource}/search", resource, page, page_no, per_page, extra))

    # custom fields
    async def list_custom_fields(self, request: web.Request) -> web.Response:
        resource = request.match_info["resource"]
        page_no, per_page = _paging(request)
        page = self.store.list_custom_fields(resource, page_no, per_page)
        return web.json_response(
            _collection(f"/{resource}/custom_fields", "custom_fields", page, page_no, per_page)
        )

    async def get_custom_field(self, request: web.Request) -> web.Response:
        return web.json_response(
            self.store.get_custom_field(request.match_info["resource"], _path_id(request, "field_id"))
        )

    async def list_custom_values(self, request: web.Request) -> web.Response:
        resource, rid = request.match_info["resource"], _path_id(request)
        values = self.store.list_custom_values(resource, rid)
        return web.json_response(_whole(f"/{resource}/{rid}/custom_fields", "custom_fields", values))

    async def get_custom_value(self, request: web.Request) -> web.Response:
        return web.json_response(
            self.store.get_custom_value(
                request.match_info["resource"], _path_id(request), _path_id(request, "field_id")
            )
        )

    async def set_custom_value(self, request: web.Request) -> web.Response:
        resource, rid, field_id = (
            request.match_info["resource"],
            _path_id(request),
            _path_id(request, "field_id"),
        )
        self.store.get_custom_value(resource, rid, field_id)
        self.store.set_custom_value(resource, rid, field_id, await _body(request))
        return _no_content()

    # email and phone sub-records
    async def list_subrecords(self, request: web.Request) -> web.Response:
        resource, rid, kind = request.match_info["resource"], _path_id(request), request.match_info["kind"]
        items = self.store.list_subrecords(resource, rid, kind)
        return web.json_response(_whole(f"/{resource}/{rid}/{kind}", kind, items))

    async def get_subrecord(self, request: web.Request) -> web.Response:
        return web.json_response(
            self.store.get_subrecord(
                request.match_info["resource"],
                _path_id(request),
                request.match_info["kind"],
                _path_id(request, "sub_id"),
            )
        )

    async def create_subrecord(self, request: web.Request) -> web.Response:
        resource, rid, kind = request.match_info["resource"], _path_id(request), request.match_info["kind"]
        self.store.list_subrecords(resource, rid, kind)
        sub_id = self.store.create_subrecord(resource, rid, kind, await _body(request))
        return _created(request, f"/{resource}/{rid}/{kind}/{sub_id}")

    async def update_subrecord(self, request: web.Request) -> web.Response:
        resource, rid, kind = request.match_info["resource"], _path_id(request), request.match_info["kind"]
        sub_id = _path_id(request, "sub_id")
        self.store.get_subrecord(resource, rid, kind, sub_id)
        self.store.update_subrecord(resource, rid, kind, sub_id, await _body(request))
        return _no_content()

    async def delete_subrecord(self, request: web.Request) -> web.Response:
        self.store.delete_subrecord(
            request.match_info["resource"],
            _path_id(request),
            request.match_info["kind"],
            _path_id(request, "sub_id"),
        )
        return _no_content()

    # statuses
    async def list_statuses(self, request: web.Request) -> web.Response:
        resource = request.match_info["resource"]
        return web.json_response(
            _whole(f"/{resource}/statuses", "statuses", self.store.list_statuses(resource))
        )

    async def get_status(self, request: web.Request) -> web.Response:
        return web.json_response(self.store.get_status(request.match_info["resource"], _path_id(request)))

    async def change_status(self, request: web.Request) -> web.Response:
        resource, rid = request.match_info["resource"], _path_id(request)
        self.store.get_record(resource, rid)
        self.store.change_status(resource, rid, await _body(request))
        return _no_content()

    # activities
    async def list_record_activities(self, request: web.Request) -> web.Response:
        resource, rid = request.match_info["resource"], _path_id(request)
        page_no, per_page = _paging(request)
        page = self.store.list_record_activities(resource, rid, page_no, per_page)
        return web.json_response(
            _collection(f"/{resource}/{rid}/activities", "activities", page, page_no, per_page)
        )

    async def create_activity(self, request: web.Request) -> web.Response:
        resource, rid = request.match_info["resource"], _path_id(request)
        self.store.get_record(resource, rid)
        aid = self.store.create_activity(resource, rid, await _body(request))
        return _created(request, f"/activities/{aid}")

    async def list_activities(self, request: web.Request) -> web.Response:
        page_no, per_page = _paging(request)
        page = self.store.list_activities(page_no, per_page)
        return web.json_response(_collection("/activities", "activities", page, page_no, per_page))

    async def get_activity(self, request: web.Request) -> web.Response:
        return web.json_response(self.store.get_activity(_path_id(request)))

    async def update_activity(self, request: web.Request) -> web.Response:
        aid = _path_id(request)
        self.store.get_activity(aid)
        self.store.update_activity(aid, await _body(request))
        return _no_content()

    async def delete_activity(self, request: web.Request) -> web.Response:
        self.store.delete_activity(_path_id(request))
        return _no_content()

    async def search_activities_get(self, request: web.Request) -> web.Response:
        return await self._search_get(request, "activities")

    async def search_activities_post(self, request: web.Request) -> web.Response:
        return await self._search_post(request, "activities")

    # users, site, events
    async def list_users(self, request: web.Request) -> web.Response:
        page_no, per_page = _paging(request)
        return web.json_response(
            _collection("/users", "users", self.store.list_users(page_no, per_page), page_no, per_page)
        )

    async def get_user(self, request: web.Request) -> web.Response:
        return web.json_response(self.store.get_user(_path_id(request)))

    async def site(self, request: web.Request) -> web.Response:
        return web.json_response(self.store.site())

    async def events(self, request: web.Request) -> web.Response:
        after_id = _int_param(request, "starting_after_id")
        raw_ts = request.query.get("starting_after_timestamp", "").strip()
        after_ts: float | None = None
        if raw_ts:
            try:
                after_ts = float(raw_ts)
            except ValueError:
                raise SandboxHttpError(400, "starting_after_timestamp must be a unix timestamp.") from None
            if not math.isfinite(after_ts):
                raise SandboxHttpError(400, "starting_after_timestamp must be a unix timestamp.")
        if after_id is None and after_ts is None:
            raise SandboxHttpError(400, "starting_after_id or starting_after_timestamp is required.")
        page = self.store.events_after(starting_after_id=after_id, starting_after_timestamp=after_ts)
        cursor = (
            {"starting_after_id": after_id} if after_id is not None else {"starting_after_timestamp": raw_ts}
        )
        links: dict[str, Any] = {"self": {"href": f"/events?{urlencode(cursor)}"}}
        if page.has_more and page.last_id is not None:
            links["next"] = {"href": f"/events?{urlencode({'starting_after_id': page.last_id})}"}
        return web.json_response(
            {
                "count": len(page.items),
                "starting_after_id": after_id,
                "starting_after_timestamp": _whole_number(after_ts) if after_id is None else None,
                "last_id": page.last_id,
                "_links": links,
                "_embedded": {"events": page.items},
            }
        )

    async def not_found(self, request: web.Request) -> web.Response:
        raise SandboxHttpError(404, "Not found.")


def add_cats_routes(app: web.Application, store: SandboxStore) -> None:
    """Register every CATS resource route under the /v3 prefix (e.g. GET /v3/companies)."""
    api = _CatsApi(store)
    routes: list[tuple[str, str, Handler]] = [
        ("GET", f"/{_RECORD}", api.list_records),
        ("POST", f"/{_RECORD}", api.create_record),
        ("GET", f"/{_RECORD}/search", api.search_get),
        ("POST", f"/{_RECORD}/search", api.search_post),
        ("GET", f"/{_RECORD}/custom_fields", api.list_custom_fields),
        ("GET", f"/{_RECORD}/custom_fields/{{field_id:\\d+}}", api.get_custom_field),
        ("GET", f"/{_STATUSED}/statuses", api.list_statuses),
        ("GET", f"/{_STATUSED}/statuses/{_ID}", api.get_status),
        ("GET", f"/{_RECORD}/{_ID}", api.get_record),
        ("PUT", f"/{_RECORD}/{_ID}", api.update_record),
        ("DELETE", f"/{_RECORD}/{_ID}", api.delete_record),
        ("POST", f"/{_STATUSED}/{_ID}/status", api.change_status),
        ("GET", f"/{_RECORD}/{_ID}/custom_fields", api.list_custom_values),
        ("GET", f"/{_RECORD}/{_ID}/custom_fields/{{field_id:\\d+}}", api.get_custom_value),
        ("PUT", f"/{_RECORD}/{_ID}/custom_fields/{{field_id:\\d+}}", api.set_custom_value),
        ("GET", f"/{_RECORD}/{_ID}/activities", api.list_record_activities),
        ("POST", f"/{_RECORD}/{_ID}/activities", api.create_activity),
        ("GET", f"/{_RECORD}/{_ID}/{_SUB_KIND}", api.list_subrecords),
        ("POST", f"/{_RECORD}/{_ID}/{_SUB_KIND}", api.create_subrecord),
        ("GET", f"/{_RECORD}/{_ID}/{_SUB_KIND}/{{sub_id:\\d+}}", api.get_subrecord),
        ("PUT", f"/{_RECORD}/{_ID}/{_SUB_KIND}/{{sub_id:\\d+}}", api.update_subrecord),
        ("DELETE", f"/{_RECORD}/{_ID}/{_SUB_KIND}/{{sub_id:\\d+}}", api.delete_subrecord),
        ("GET", "/activities", api.list_activities),
        ("GET", "/activities/search", api.search_activities_get),
        ("POST", "/activities/search", api.search_activities_post),
        ("GET", f"/activities/{_ID}", api.get_activity),
        ("PUT", f"/activities/{_ID}", api.update_activity),
        ("DELETE", f"/activities/{_ID}", api.delete_activity),
        ("GET", "/users", api.list_users),
        ("GET", f"/users/{_ID}", api.get_user),
        ("GET", "/site", api.site),
        ("GET", "/events", api.events),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, f"{PREFIX}{path}", _answers_errors(handler))
    # Anything else under /v3 (unknown paths, PATCH, ...) answers CATS-style JSON, not aiohttp's text.
    app.router.add_route("*", f"{PREFIX}/{{tail:.*}}", _answers_errors(api.not_found))
