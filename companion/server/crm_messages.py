"""Native message types of the CRM search page: `crm.fields` and `crm.search` (services.crm_search)."""

from __future__ import annotations

from companion.cats.client import CatsClient
from companion.errors import CatsError, KeyMissingError
from companion.server.connection import state_for
from companion.server.native import NativeCall, NativeRegistry
from companion.services.crm_filters import build_filter_body
from companion.services.crm_search import (
    FieldsParams,
    FieldsResult,
    SearchParams,
    SearchResult,
    describe_fields,
    search,
)
from companion.settings.catalogue import Catalogue
from companion.settings.models import Settings


def _settings(call: NativeCall) -> tuple[Settings, Catalogue]:
    service = call.ctx.settings
    if service is None:
        return Settings(), Catalogue()
    return service.effective.settings, service.catalogue.current


async def crm_fields(call: NativeCall, params: FieldsParams) -> FieldsResult:
    """The team's filterable fields of a record type, with their widget, operators and options."""
    settings, catalogue = _settings(call)
    return describe_fields(params.record_type, settings, catalogue)


async def crm_search(call: NativeCall, params: SearchParams) -> SearchResult:
    """One page of CATS candidates or contacts matching the filters (one CATS request)."""
    settings, catalogue = _settings(call)
    # Checked before the key: a bad filter is the caller's to fix whatever the connection.
    sync = settings.sync.for_record(params.record_type)
    build_filter_body(params.record_type, params.filters, list(sync.filterable_fields), catalogue)
    client = call.ctx.client
    if not isinstance(client, CatsClient):
        raise KeyMissingError(
            f"no CATS API key for {call.ctx.cats_base_url}; add one in the settings window to search CATS"
        )
    try:
        return await search(params, client=client, db=call.ctx.db, settings=settings, catalogue=catalogue)
    except CatsError as exc:
        if state_for(exc) != "unknown":
            # The popup's connection light should say what this search learnt about CATS.
            call.ctx.monitor.record_error(exc)
        raise


def register_messages(registry: NativeRegistry) -> None:
    registry.add("crm.fields", crm_fields, params=FieldsParams)
    # Writes only the cached site subdomain (the first time it is learnt), but that is a write.
    registry.add("crm.search", crm_search, params=SearchParams, mutates=True)


__all__ = ["crm_fields", "crm_search", "register_messages"]
