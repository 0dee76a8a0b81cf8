"""Native message types of the person panel: `person.form` and `person.status` (services.person_form).

    person.form   {person, company_id?}                           -> PersonForm   (no CATS search)
    person.status {person, check_cats?, record_type?, company_id?} -> PersonStatus (CATS only with check_cats)

`person` is the rules' Person (companion.rules.person), as `person.push` takes it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from companion.cats.client import CatsClient
from companion.errors import KeyMissingError
from companion.rules.person import Person, RecordType
from companion.server.native import NativeCall, NativeRegistry
from companion.services.person_form import PersonForm, PersonStatus, person_form, person_status
from companion.settings.catalogue import Catalogue
from companion.settings.models import Settings
from companion.store.ids import MAX_ROW_ID


class FormParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person: Person
    company_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)


class StatusParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person: Person
    #: Search CATS (a few requests) for `record_type` when the companion knows no record of it.
    check_cats: bool = False
    record_type: RecordType = "candidates"
    company_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)


def _settings(call: NativeCall) -> tuple[Settings, Catalogue]:
    service = call.ctx.settings
    if service is None:
        return Settings(), Catalogue()
    return service.effective.settings, service.catalogue.current


async def form(call: NativeCall, params: FormParams) -> PersonForm:
    """The push form for Candidate and Contact: fields, widgets, options, mandatory marks, mapped values."""
    settings, catalogue = _settings(call)
    client = call.ctx.client if isinstance(call.ctx.client, CatsClient) else None
    return await person_form(
        call.ctx.db,
        params.person,
        settings,
        catalogue,
        base_url=call.ctx.cats_base_url,
        company_id=params.company_id,
        client=client,
    )


async def status(call: NativeCall, params: StatusParams) -> PersonStatus:
    """The person's CATS records the companion knows of; searches CATS only with check_cats."""
    client: CatsClient | None = None
    if params.check_cats:
        if not isinstance(call.ctx.client, CatsClient):
            raise KeyMissingError(
                f"no CATS API key for {call.ctx.cats_base_url}; add one in the settings window to check CATS"
            )
        client = call.ctx.client
    return await person_status(
        call.ctx.db,
        params.person,
        base_url=call.ctx.cats_base_url,
        client=client,
        record_type=params.record_type,
        company_id=params.company_id,
    )


def register_messages(registry: NativeRegistry) -> None:
    # Writes only the CATS site's subdomain, the first time it is learnt.
    registry.add("person.form", form, params=FormParams, mutates=True)
    # check_cats may cache the site's subdomain: a write.
    registry.add("person.status", status, params=StatusParams, mutates=True)


__all__ = ["FormParams", "StatusParams", "form", "register_messages", "status"]
