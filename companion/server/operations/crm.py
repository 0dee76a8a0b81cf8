"""The CRM search page's operations: the team's filterable fields, and one page of CATS records."""

from __future__ import annotations

from companion.errors import CatsError
from companion.server.operations.base import Call
from companion.services.crm_filters import build_filter_body
from companion.services.crm_search import (
    FieldsParams,
    FieldsResult,
    SearchParams,
    SearchResult,
    describe_fields,
    search,
)


async def fields(call: Call, params: FieldsParams) -> FieldsResult:
    """The team's filterable fields of a record type, with their widget, operators and options."""
    settings, catalogue = call.companion.rules_inputs()
    return describe_fields(params.record_type, settings, catalogue)


async def crm_search(call: Call, params: SearchParams) -> SearchResult:
    """One page of CATS candidates or contacts matching the filters (one CATS request)."""
    companion = call.companion
    settings, catalogue = companion.rules_inputs()
    # Checked before the key: a bad filter is the caller's to fix whatever the connection.
    sync = settings.sync.for_record(params.record_type)
    build_filter_body(params.record_type, params.filters, list(sync.filterable_fields), catalogue)
    client = companion.require_client("to search CATS")
    try:
        return await search(params, client=client, db=companion.db, settings=settings, catalogue=catalogue)
    except CatsError as exc:
        # The popup's connection light should say what this search learnt about CATS.
        companion.note_cats_error(exc)
        raise
