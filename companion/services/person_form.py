"""What the extension's person panel shows: the push form per record type, and whether the person is in CATS.

`person_form` (no CATS request, except one `GET /site` per install while the subdomain of record
links is unknown): for Candidate and Contact, the fields to show -- the names CATS requires, then
the team's displayed fields, then mandatory fields not displayed (so they can be filled) -- each
with its catalogue type, the widget the panel draws, its options, whether it is mandatory, and the
value the team's field mapping would push (`companion.rules.wanted_values`), so the panel never
re-implements the mapping. A Contact's company comes pre-filled from the company cache (the
user's confirmed choice or alias first).

`person_status`: what the companion knows locally -- the records it pushed (CATS ids, with links)
and the person's latest outbox items -- and, only when asked (`check_cats`, the panel's "Check
CATS" button), a search in CATS in the rules' order (email, LinkedIn URL, name and company),
stopping at the first real hit: never automatically, since CATS allows ~500 requests an hour.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from companion.cats.budget import Priority
from companion.cats.client import CatsClient
from companion.errors import CatsError, ContactCompanyAmbiguousError, FieldValuesInvalidError
from companion.rules.payload import CATS_REQUIRED, wanted_values
from companion.rules.person import Person, RecordType
from companion.services.cats_site import cached_subdomain, record_url, site_subdomain
from companion.services.resolve import choose_company, find_record
from companion.settings.catalogue import Catalogue, FieldInfo
from companion.settings.fields import RECORD_TYPES, FieldType
from companion.settings.models import Settings
from companion.store.companies import CompanyCache
from companion.store.db import Database
from companion.store.outbox import Outbox
from companion.store.people import PeopleStore

PanelWidget = Literal[
    "text",
    "textarea",
    "number",
    "date",
    "checkbox",
    "dropdown",
    "radio",
    "checkboxes",
    "user",
    "list",
    "company",
]

WIDGET_FOR_TYPE: Final[dict[str, PanelWidget]] = {
    FieldType.TEXT: "text",
    FieldType.TEXTAREA: "textarea",
    FieldType.NUMBER: "number",
    FieldType.DATE: "date",
    FieldType.CHECKBOX: "checkbox",
    FieldType.DROPDOWN: "dropdown",
    FieldType.RADIO: "radio",
    FieldType.CHECKBOXES: "checkboxes",
    FieldType.USER: "user",
    FieldType.EMAILS: "list",
    FieldType.PHONES: "list",
    FieldType.URLS: "list",
    FieldType.COUNTRY: "text",
    FieldType.COMPANY: "company",
    FieldType.CONTACT: "number",
}
#: How many of the person's latest outbox items the panel shows.
RECENT_ITEMS: Final = 10
#: Seconds the form waits for CATS to name its site before it goes without links.
SITE_TIMEOUT: Final = 3.0


class FormOption(BaseModel):
    model_config = ConfigDict(frozen=True)

    value: str | int
    label: str


class FormField(BaseModel):
    model_config = ConfigDict(frozen=True)

    field: str
    label: str
    type: str
    widget: PanelWidget
    options: list[FormOption] = Field(default_factory=list)
    mandatory: bool
    #: What the push would send without the user's edits (a list for list widgets), or None.
    value: Any = None
    #: A word about the value (a company's name beside its id).
    hint: str | None = None


class RecordForm(BaseModel):
    record_type: RecordType
    fields: list[FormField]
    #: Mandatory fields the catalogue does not know (a custom field gone from CATS): no push can fill them.
    unknown_mandatory: list[str]


class PersonForm(BaseModel):
    default_record_type: RecordType
    forms: dict[RecordType, RecordForm]
    #: The CATS site's subdomain for links to records, when known.
    site: str | None


class KnownRecord(BaseModel):
    record_type: RecordType
    cats_id: int
    url: str | None
    #: created / merged / adopted by a push, or found by a CATS search just now.
    how: str


class PersonStatus(BaseModel):
    #: The companion's own id for this person (from an earlier push), or None.
    person_id: int | None
    records: list[KnownRecord]
    #: The person's latest outbox items, newest first, in the outbox's public form.
    items: list[dict[str, Any]]
    #: Whether CATS itself was searched for this answer.
    checked_cats: bool


def _form_field(info: FieldInfo, catalogue: Catalogue, mandatory: bool, value: Any) -> FormField:
    widget = WIDGET_FOR_TYPE.get(info.type, "text")
    if widget == "user":
        options = [FormOption(value=u.id, label=u.name) for u in catalogue.users]
    else:
        options = [FormOption(value=o, label=o) for o in info.options]
    return FormField(
        field=info.ref,
        label=info.label,
        type=info.type,
        widget=widget,
        options=options,
        mandatory=mandatory,
        value=value,
    )


async def _company(db: Database, person: Person, chosen: int | None) -> tuple[int | None, str | None]:
    try:
        choice = await choose_company(db, person, chosen_id=chosen)
    except ContactCompanyAmbiguousError:
        return None, "several CATS companies fit: choose one in the company section"
    if choice is None:
        return None, None
    company = await CompanyCache(db).get(choice.company_id)
    return choice.company_id, company.name if company is not None else None


async def record_form(
    db: Database,
    person: Person,
    record_type: RecordType,
    settings: Settings,
    catalogue: Catalogue,
    *,
    company_id: int | None = None,
) -> RecordForm:
    sync = settings.sync.for_record(record_type)
    mandatory = list(dict.fromkeys([*CATS_REQUIRED[record_type], *sync.mandatory_fields]))
    refs = list(dict.fromkeys([*CATS_REQUIRED[record_type], *sync.displayed_fields, *mandatory]))
    hint: str | None = None
    if record_type == "contacts":
        company_id, hint = await _company(db, person, company_id)
    try:
        wanted = wanted_values(person, record_type, settings, catalogue, company_id=company_id)
    except FieldValuesInvalidError:
        # Values typed for fields this record type lacks: the form shows the mapping's values.
        wanted = wanted_values(
            person.model_copy(update={"field_values": {}}),
            record_type,
            settings,
            catalogue,
            company_id=company_id,
        )
    fields: list[FormField] = []
    unknown: list[str] = []
    for ref in refs:
        info = catalogue.field(record_type, ref)
        if info is None:
            if ref in mandatory:
                unknown.append(ref)
            continue
        found = wanted.get(ref)
        field = _form_field(info, catalogue, ref in mandatory, found.value if found is not None else None)
        if ref == "company_id" and hint is not None:
            field = field.model_copy(update={"hint": hint})
        fields.append(field)
    return RecordForm(record_type=record_type, fields=fields, unknown_mandatory=unknown)


async def person_form(
    db: Database,
    person: Person,
    settings: Settings,
    catalogue: Catalogue,
    *,
    base_url: str,
    company_id: int | None = None,
    default_record_type: RecordType = "candidates",
    client: CatsClient | None = None,
) -> PersonForm:
    """The form for both record types. With `client`, a site subdomain nobody cached yet is learnt."""
    forms = {
        record_type: await record_form(db, person, record_type, settings, catalogue, company_id=company_id)
        for record_type in RECORD_TYPES
    }
    site = await cached_subdomain(db, base_url)
    if site is None and client is not None:
        site = await learn_site(db, client)
    return PersonForm(default_record_type=default_record_type, forms=forms, site=site)


async def learn_site(db: Database, client: CatsClient) -> str | None:
    """One `GET /site` per install, so that pushed records get their link; never delays the form for long.

    The daemon's start-up check may not have stored the subdomain (an older daemon, CATS was down):
    the first form asks. Offline or slow CATS just means no links yet.
    """
    try:
        async with asyncio.timeout(SITE_TIMEOUT):
            return await site_subdomain(db, client)
    except (CatsError, TimeoutError):
        return None


async def person_status(
    db: Database,
    person: Person,
    *,
    base_url: str,
    client: CatsClient | None = None,
    record_type: RecordType | None = None,
    company_id: int | None = None,
) -> PersonStatus:
    """Local knowledge, plus a CATS search for `record_type` when `client` is given (the user asked)."""
    # A user who asked to search CATS may spend the one `GET /site` the links need, once per install.
    subdomain = await (site_subdomain(db, client) if client is not None else cached_subdomain(db, base_url))
    people = PeopleStore(db)
    stored = await people.person_by_key(person.identity_key())
    records: list[KnownRecord] = []
    items: list[dict[str, Any]] = []
    if stored is not None:
        for kind in RECORD_TYPES:
            record = await people.record(stored.id, kind)
            if record is not None and record.cats_id is not None:
                records.append(
                    KnownRecord(
                        record_type=kind,
                        cats_id=record.cats_id,
                        url=record_url(subdomain, kind, record.cats_id),
                        how=record.how or "created",
                    )
                )
        items = [item.public() for item in await Outbox(db).items(person_id=stored.id, limit=RECENT_ITEMS)]
    checked = False
    if (
        client is not None
        and record_type is not None
        and not any(r.record_type == record_type for r in records)
    ):
        checked = True
        if record_type == "contacts" and company_id is None:
            company_id, _ = await _company(db, person, None)
        lookup = await find_record(
            client, person, record_type, company_id=company_id, priority=Priority.INTERACTIVE
        )
        if lookup.found is not None:
            records.append(
                KnownRecord(
                    record_type=record_type,
                    cats_id=lookup.found,
                    url=record_url(subdomain, record_type, lookup.found),
                    how="found",
                )
            )
    return PersonStatus(
        person_id=stored.id if stored is not None else None,
        records=records,
        items=items,
        checked_cats=checked,
    )


__all__ = [
    "FormField",
    "FormOption",
    "KnownRecord",
    "PersonForm",
    "PersonStatus",
    "RecordForm",
    "person_form",
    "person_status",
    "record_form",
]
