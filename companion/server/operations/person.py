"""The person panel's operations: the push form and what the companion (or CATS) knows of the person.

    person.form   {person, company_id?}                           -> PersonForm   (no CATS search)
    person.status {person, check_cats?, record_type?, company_id?} -> PersonStatus (CATS only with check_cats)

`person` is the rules' Person (companion.rules.person), as `person.push` takes it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from companion.rules.person import Person, RecordType
from companion.server.operations.base import Call
from companion.services.person_form import PersonForm, PersonStatus, person_form, person_status
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


async def form(call: Call, params: FormParams) -> PersonForm:
    """The push form for Candidate and Contact: fields, widgets, options, mandatory marks, mapped values."""
    companion = call.companion
    settings, catalogue = companion.rules_inputs()
    return await person_form(
        companion.db,
        params.person,
        settings,
        catalogue,
        base_url=companion.cats_base_url,
        company_id=params.company_id,
        client=companion.client,
    )


async def status(call: Call, params: StatusParams) -> PersonStatus:
    """The person's CATS records the companion knows of; searches CATS only with check_cats."""
    companion = call.companion
    client = companion.require_client("to check CATS") if params.check_cats else None
    return await person_status(
        companion.db,
        params.person,
        base_url=companion.cats_base_url,
        client=client,
        record_type=params.record_type,
        company_id=params.company_id,
    )
