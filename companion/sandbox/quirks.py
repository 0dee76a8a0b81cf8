"""The sandbox's switchable quirks: ways a real CATS account may differ from the reference, played on demand.

REFERENCE.md leaves some behaviours open (a duplicate hit's status, whether PUT clears omitted
fields, ...). Each quirk makes the sandbox answer one of them the other way, so the companion's
probe (`cats-companion cats probe`) and its adaptations are tested end to end against both. The
default (no quirk) is the sandbox as it always was.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from enum import StrEnum
from typing import Any, Final

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware


class Quirk(StrEnum):
    #: `POST /{r}/search` with a `date_modified` filter answers 400 (companies, contacts, candidates).
    DATE_FILTER_UNSUPPORTED = "date-filter-unsupported"
    #: `Authorization: Bearer <key>` works as well as `Token <key>`.
    BEARER_ACCEPTED = "bearer-accepted"
    #: A `check_duplicate=true` hit answers 200 with the existing record (and its Location).
    DUPLICATE_200 = "duplicate-200"
    #: PUT resets every writable field the body leaves out.
    PUT_CLEARS_OMITTED = "put-clears-omitted"
    #: Every id in a JSON body is a string ("id": "9001").
    IDS_AS_STRINGS = "ids-as-strings"
    #: `per_page` above 50 is clamped to 50.
    PER_PAGE_MAX_50 = "per-page-max-50"
    #: The account allows 1,500 requests an hour (with matching rate headers).
    LIMIT_1500 = "limit-1500"


#: The `date_modified` filters the date-filter quirk refuses, as "resource.field".
DATE_FILTERS: Final = frozenset(f"{r}.date_modified" for r in ("companies", "contacts", "candidates"))
#: The account's hourly limit under `limit-1500`.
RAISED_LIMIT: Final = 1500
#: The page-size cap under `per-page-max-50`.
SMALL_PAGE_MAX: Final = 50

QUIRKS_KEY: Final = web.AppKey("sandbox_quirks", frozenset)


def parse_quirks(text: str) -> frozenset[Quirk]:
    """`"duplicate-200,limit-1500"` → the quirks; ValueError naming the choices for an unknown one."""
    chosen: set[Quirk] = set()
    for part in text.split(","):
        name = part.strip()
        if not name:
            continue
        try:
            chosen.add(Quirk(name))
        except ValueError:
            choices = ", ".join(q.value for q in Quirk)
            raise ValueError(f"unknown quirk {name!r} (choose from {choices})") from None
    return frozenset(chosen)


def quirks_of(app: web.Application) -> frozenset[Quirk]:
    return app.get(QUIRKS_KEY, frozenset())


def _stringify_ids(node: Any, key: str | None = None) -> Any:
    if isinstance(node, dict):
        return {k: _stringify_ids(v, k) for k, v in node.items()}
    if isinstance(node, list):
        return [_stringify_ids(item, key) for item in node]
    is_id = key is not None and (key == "id" or key.endswith("_id"))
    if is_id and isinstance(node, int) and not isinstance(node, bool):
        return str(node)
    return node


def ids_as_strings() -> Middleware:
    """Rewrites every JSON answer under /v3 so ids (`id`, `*_id`) are strings."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if (
            isinstance(response, web.Response)
            and request.path.startswith("/v3/")
            and response.body is not None
            and response.content_type == "application/json"
        ):
            raw = response.body
            if isinstance(raw, bytes | bytearray) and raw.strip():
                try:
                    node = json.loads(raw)
                except ValueError:
                    return response
                response.body = json.dumps(_stringify_ids(node)).encode()
        return response

    return middleware


def describe(quirks: Iterable[Quirk]) -> str:
    names = sorted(q.value for q in quirks)
    return ", ".join(names) if names else "none"
