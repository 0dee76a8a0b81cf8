"""The CRM search: `crm.fields` (the filters the team allows) and `crm.search` (one CATS request per page).

Registered as native messages by companion.server.crm_messages:

    crm.fields {record_type}
        -> {record_type, fields: [{field, label, widget, operators, options}], unusable: [{field, reason}],
            columns: [{key, label}]}                                          (no CATS request)
    crm.search {record_type, filters: [{field, op, value}], query?, page, per_page?}
        -> {record_type, page, per_page, total, pages, has_next, columns, rows: [{id, name, url, cells}],
            site_known}

A search page is exactly one CATS request, at interactive priority: `POST /{r}/search?page=&per_page=`
with an `and` group of the filters (companion.services.crm_filters checks them first: a filter on a
field the team did not make filterable, or with a value its widget cannot hold, is refused before
any request), `GET /{r}/search?query=` for free text alone, `GET /{r}` for neither. The rows carry
the team's displayed fields as columns and a link to the record in the CATS web UI; the
subdomain those links need is cached (companion.services.cats_site), so only the first search of
an install that the daemon's start-up check did not prime spends a second request on `GET /site`.
"""

from __future__ import annotations

import math
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from companion.cats.budget import Priority
from companion.cats.client import CatsClient
from companion.cats.pages import parse_page
from companion.cats.record_urls import parse_id
from companion.services.cats_site import record_url, site_subdomain
from companion.services.crm_filters import (
    MAX_FILTERS,
    Filter,
    FilterField,
    UnusableField,
    build_filter_body,
    filter_fields,
)
from companion.settings.catalogue import Catalogue
from companion.settings.fields import FieldType, RecordType, custom_id
from companion.settings.models import Settings
from companion.store.companies import CompanyCache
from companion.store.db import Database

DEFAULT_PER_PAGE: Final = 25
MAX_PER_PAGE: Final = 100
MAX_QUERY: Final = 200
#: How far a user may page; deeper than this, a filter is the better tool.
MAX_PAGE: Final = 1000


class FieldsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_type: RecordType


class SearchParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_type: RecordType
    filters: list[Filter] = Field(default_factory=list, max_length=MAX_FILTERS)
    query: str | None = Field(default=None, max_length=MAX_QUERY)
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    per_page: int = Field(default=DEFAULT_PER_PAGE, ge=1, le=MAX_PER_PAGE)


class Column(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    label: str


class FieldsResult(BaseModel):
    record_type: RecordType
    fields: list[FilterField]
    unusable: list[UnusableField]
    columns: list[Column]


class Row(BaseModel):
    id: int
    name: str
    #: The record in the CATS web UI; None while the site's subdomain is unknown.
    url: str | None
    #: Column key -> the value as text ("" when empty).
    cells: dict[str, str]


class SearchResult(BaseModel):
    record_type: RecordType
    page: int
    per_page: int
    #: Matching records in all pages, as CATS counts them (None when CATS did not say).
    total: int | None
    pages: int | None
    has_next: bool
    columns: list[Column]
    rows: list[Row]
    site_known: bool


def columns_for(record_type: RecordType, settings: Settings, catalogue: Catalogue) -> list[Column]:
    """The displayed fields of `record_type` that can be shown, in settings order."""
    columns = []
    for ref in settings.sync.for_record(record_type).displayed_fields:
        info = catalogue.field(record_type, ref)
        if info is not None:
            columns.append(Column(key=ref, label=info.label))
    return columns


def describe_fields(record_type: RecordType, settings: Settings, catalogue: Catalogue) -> FieldsResult:
    filterable = list(settings.sync.for_record(record_type).filterable_fields)
    usable, unusable = filter_fields(record_type, filterable, catalogue)
    return FieldsResult(
        record_type=record_type,
        fields=usable,
        unusable=unusable,
        columns=columns_for(record_type, settings, catalogue),
    )


def _request(params: SearchParams, body: dict[str, Any] | None) -> tuple[str, str, dict[str, str]]:
    """(method, path, query) of the one request for this page."""
    query = {"page": str(params.page), "per_page": str(params.per_page)}
    text = params.query.strip() if params.query else ""
    if text:
        query["query"] = text
    if body is not None:
        return "POST", f"/{params.record_type}/search", query
    if text:
        return "GET", f"/{params.record_type}/search", query
    return "GET", f"/{params.record_type}", query


async def search(
    params: SearchParams,
    *,
    client: CatsClient,
    db: Database,
    settings: Settings,
    catalogue: Catalogue,
) -> SearchResult:
    """One page of records matching `params`; the filters are checked before anything is sent."""
    sync = settings.sync.for_record(params.record_type)
    body = build_filter_body(params.record_type, params.filters, list(sync.filterable_fields), catalogue)
    method, path, query = _request(params, body)
    response = await client.request(method, path, params=query, json_body=body, priority=Priority.INTERACTIVE)
    page = parse_page(response.body, params.record_type)
    columns = columns_for(params.record_type, settings, catalogue)
    cells = await _Formatter.load(db, catalogue, params.record_type, page.items)
    subdomain = await site_subdomain(db, client)
    rows = []
    for item in page.items:
        try:
            record_id = parse_id(item.get("id"))
        except ValueError:
            continue
        rows.append(
            Row(
                id=record_id,
                name=_name(item),
                url=record_url(subdomain, params.record_type, record_id),
                cells={column.key: cells.text(item, column.key) for column in columns},
            )
        )
    pages = math.ceil(page.total / params.per_page) if page.total is not None else None
    return SearchResult(
        record_type=params.record_type,
        page=params.page,
        per_page=params.per_page,
        total=page.total,
        pages=pages,
        has_next=page.next_href is not None,
        columns=columns,
        rows=rows,
        site_known=subdomain is not None,
    )


def _name(item: dict[str, Any]) -> str:
    parts = [item.get("first_name"), item.get("last_name")]
    name = " ".join(str(p).strip() for p in parts if isinstance(p, str) and p.strip())
    return name or f"#{item.get('id')}"


def _dig(item: dict[str, Any], ref: str) -> Any:
    value: Any = item
    for part in ref.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class _Formatter:
    """Turns read-shape values into the text of a result cell; owner and company names come from caches."""

    def __init__(
        self, catalogue: Catalogue, record_type: RecordType, users: dict[int, str], companies: dict[int, str]
    ) -> None:
        self.catalogue = catalogue
        self.record_type = record_type
        self.users = users
        self.companies = companies

    @classmethod
    async def load(
        cls, db: Database, catalogue: Catalogue, record_type: RecordType, items: list[dict[str, Any]]
    ) -> _Formatter:
        cache = CompanyCache(db)
        users = await cache.user_names()
        users.update({user.id: user.name for user in catalogue.users})
        # Some accounts send ids as strings: read them as `_named` does, or the names go missing.
        ids = sorted({cid for item in items if (cid := _company_id(item)) is not None})
        companies = {company.id: company.name for company in await cache.get_many(ids)} if ids else {}
        return cls(catalogue, record_type, users, companies)

    def text(self, item: dict[str, Any], ref: str) -> str:
        info = self.catalogue.field(self.record_type, ref)
        kind = info.type if info is not None else FieldType.TEXT
        definition_id = custom_id(ref)
        if definition_id is not None:
            value = _custom_value(item, definition_id)
        elif ref == "emails":
            emails = item.get("emails")
            value = [v for v in emails.values() if v] if isinstance(emails, dict) else emails
        elif ref == "phones":
            phones = item.get("phones")
            value = [v for v in phones.values() if v] if isinstance(phones, dict) else phones
        else:
            value = _dig(item, ref)
        return self._render(kind, value)

    def _render(self, kind: str, value: Any) -> str:
        if value is None or value == "" or value == []:
            return ""
        if isinstance(value, list):
            return ", ".join(self._render(kind, v) for v in value if v not in (None, ""))
        if kind == FieldType.CHECKBOX:
            return "Yes" if value in (True, 1, "1", "true", "Yes") else "No"
        if kind == FieldType.USER:
            return self._named(self.users, value)
        if kind == FieldType.COMPANY:
            return self._named(self.companies, value)
        if isinstance(value, dict):
            return ", ".join(str(v) for v in value.values() if v not in (None, ""))
        return str(value)

    @staticmethod
    def _named(names: dict[int, str], value: Any) -> str:
        try:
            key = parse_id(value)
        except ValueError:
            return str(value)
        return names.get(key, f"#{key}")


def _company_id(item: dict[str, Any]) -> int | None:
    try:
        return parse_id(item.get("company_id"))
    except ValueError:
        return None


def _custom_value(item: dict[str, Any], definition_id: int) -> Any:
    embedded = item.get("_embedded")
    rows = embedded.get("custom_fields") if isinstance(embedded, dict) else None
    if not isinstance(rows, list):
        return None
    for row in rows:
        if isinstance(row, dict) and row.get("id") == definition_id:
            return row.get("value")
    return None


__all__ = [
    "Column",
    "FieldsParams",
    "FieldsResult",
    "Row",
    "SearchParams",
    "SearchResult",
    "columns_for",
    "describe_fields",
    "search",
]
