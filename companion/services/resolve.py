"""Finding things before writing them: a Contact's company, a person's existing record, a create or note that
may already have landed.

* Company (local, no request): the company the user chose, else a confirmed alias (LinkedIn company
  page, normalised name, domain of the company website or work email: the keys a confirmation
  stores), else an exact match in the company cache on the same keys, in that order. A key that
  fits several cached companies is ambiguous and refused with the candidates, so the user picks one.
* Existing record: the rules' search steps in order (email, LinkedIn URL, name with company), one
  `POST /{r}/search` each, stopping at the first hit the rules accept as this person. A filter
  this CATS account refuses (400 "That filter cannot be used on this field") is skipped, not
  fatal, and not tried again by the same worker.
* An uncertain create: the same searches, keeping only records created after the attempt began
  (less `CLOCK_SKEW`), so a record that existed before is never mistaken for ours.
* An uncertain note: one `POST /activities/search` for the record's activities of that type and
  date, then the same text.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal

from companion.cats.budget import Priority
from companion.cats.client import CatsClient
from companion.cats.models import ActivityRead
from companion.cats.record_urls import parse_id
from companion.errors import (
    CatsDuplicateError,
    CatsUncertainWriteError,
    CatsValidationError,
    ContactCompanyAmbiguousError,
)
from companion.matching import CompanyQuery
from companion.rules.notes import NoteSpec
from companion.rules.person import Person, RecordType
from companion.rules.search import pick_existing, search_steps
from companion.services.aliases import alias_keys
from companion.store.aliases import AliasKind
from companion.store.db import Database
from companion.store.lookup_reader import CacheReader, MatchRow

#: How far CATS's clock may be behind ours when we ask "created after the attempt?".
CLOCK_SKEW: Final = timedelta(minutes=5)
#: A note's date as CATS stores it may lose sub-second precision.
_NOTE_DATE_TOLERANCE: Final = timedelta(seconds=1)

CompanySource = Literal["chosen", "alias", "linkedin", "domain", "name"]
_SINGULAR: Final = {"candidates": "candidate", "contacts": "contact"}


@dataclass(frozen=True)
class CompanyChoice:
    company_id: int
    source: CompanySource


def company_query(person: Person) -> CompanyQuery | None:
    """The person's company as the company lookup sees it, or None when the person names none."""
    email = person.emails[0] if person.emails else None
    if not (person.current_company or person.company_website or person.company_linkedin or email):
        return None
    return CompanyQuery(
        name=person.current_company,
        website=person.company_website,
        email=email,
        linkedin_url=person.company_linkedin,
    )


async def choose_company(db: Database, person: Person, *, chosen_id: int | None) -> CompanyChoice | None:
    """The Contact's CATS company from local knowledge only (module docstring); None when nothing fits.

    Raises ContactCompanyAmbiguousError when the only fits are several companies for one key.
    """
    if chosen_id is not None:
        return CompanyChoice(chosen_id, "chosen")
    query = company_query(person)
    # The same keys a confirmation stores (companion.services.aliases), strongest first.
    keys = alias_keys(query) if query is not None else []
    if not keys:
        return None
    # Through the lookup's own reader queries (one snapshot, on a connection of its own, in a worker
    # thread so the event loop never waits on opening it): the lookup and the push read aliases and
    # keys the same way. Only the decision differs: a write takes a key only when it fits one company.
    return await asyncio.to_thread(_choose_in_cache, db.path, keys)


def _choose_in_cache(path: Path, keys: list[tuple[AliasKind, str]]) -> CompanyChoice | None:
    with contextlib.closing(CacheReader(path)) as reader, reader.snapshot():
        return _choose_by_keys(reader, keys)


def _choose_by_keys(reader: CacheReader, keys: Sequence[tuple[AliasKind, str]]) -> CompanyChoice | None:
    """A confirmed alias, else the first key (strongest first) that fits exactly one cached company."""
    confirmed = reader.confirmed_company(keys)
    if confirmed is not None:
        return CompanyChoice(confirmed, "alias")
    ambiguous: list[MatchRow] = []
    for kind, key in keys:
        found = reader.by_key(kind, key)
        if len(found) == 1:
            return CompanyChoice(found[0][0], kind)
        if len(found) > 1 and not ambiguous:
            ambiguous = found
    if ambiguous:
        names = ", ".join(f"{name} ({company_id})" for company_id, name, *_ in ambiguous[:5])
        raise ContactCompanyAmbiguousError(
            f"several CATS companies fit this contact's company: {names}; choose one",
            candidates=[{"id": company_id, "name": name} for company_id, name, *_ in ambiguous[:20]],
        )
    return None


def _created_at(record: dict[str, Any]) -> datetime | None:
    raw = record.get("date_created")
    if not isinstance(raw, str) or not raw:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True)
class Lookup:
    """What a search for the person's record found (None: nothing) and how many searches it cost."""

    found: int | None
    searches: int


async def find_record(
    client: CatsClient,
    person: Person,
    record_type: RecordType,
    *,
    company_id: int | None,
    priority: Priority,
    created_since: datetime | None = None,
    refused_fields: set[str] | None = None,
) -> Lookup:
    """The person's record in CATS, searching in the rules' order and stopping at the first real hit.

    Hits are judged by the rules' `pick_existing` (an equal email, LinkedIn identity, or name and
    company). With `created_since`, only a record created at or after that moment (less
    CLOCK_SKEW) counts. `refused_fields` remembers filter fields this account refused with 400,
    so their steps are not paid for again; the set is updated in place.
    """
    refused = refused_fields if refused_fields is not None else set()
    searches = 0
    for step in search_steps(person, record_type, company_id=company_id):
        if refused.intersection(step.fields):
            continue
        searches += 1
        try:
            hits = [hit async for hit in client.search(record_type, step.body, priority=priority)]
        except CatsValidationError:
            # This account cannot filter on one of the step's fields: the next step may do.
            refused.update(step.fields)
            continue
        if created_since is not None:
            floor = created_since - CLOCK_SKEW
            hits = [hit for hit in hits if (created := _created_at(hit)) is not None and created >= floor]
        found = pick_existing(person, record_type, hits, company_id=company_id)
        if found is not None or created_since is not None:
            # With `created_since` the first answered step is conclusive: our create carried exactly
            # what it searches for, so had it landed this step would have found it.
            return Lookup(found, searches)
    return Lookup(None, searches)


def _same_note(activity: dict[str, Any], record_type: RecordType, record_id: int, spec: NoteSpec) -> bool:
    try:
        read = ActivityRead.model_validate(activity)
    except ValueError:
        return False
    if read.data_item is None or read.data_item.id != record_id:
        return False
    if read.data_item.type != _SINGULAR[record_type] or str(read.type) != spec.activity_type:
        return False
    if read.date is None or abs(read.date - spec.date) > _NOTE_DATE_TOLERANCE:
        return False
    return (read.notes or "").strip() == spec.notes.strip()


async def find_note(
    client: CatsClient, record_type: RecordType, record_id: int, spec: NoteSpec, *, priority: Priority
) -> int | None:
    """The id of an activity on the record with the note's type, date and text, if one exists."""
    window = [
        (spec.date - _NOTE_DATE_TOLERANCE).isoformat(),
        (spec.date + _NOTE_DATE_TOLERANCE).isoformat(),
    ]
    body = {
        "and": [
            {"field": "data_item.id", "filter": "exactly", "value": record_id},
            {"field": "type", "filter": "exactly", "value": spec.activity_type},
            {"field": "date", "filter": "between", "value": window},
        ]
    }
    try:
        hits = [hit async for hit in client.search("activities", body, priority=priority)]
    except CatsValidationError:
        # The account cannot filter activities like that: read the record's own list instead.
        hits = [
            hit async for hit in client.iterate(f"/{record_type}/{record_id}/activities", priority=priority)
        ]
    for hit in hits:
        if _same_note(hit, record_type, record_id, spec):
            hit_id = _hit_id(hit)
            if hit_id is not None:
                return hit_id
    return None


def _hit_id(hit: dict[str, Any]) -> int | None:
    """A search hit's id, sent as a number or (by some accounts) as a numeric string."""
    try:
        return parse_id(hit.get("id"))
    except ValueError:
        return None


async def create_company(
    client: CatsClient, *, name: str, owner_id: int, website: str | None, priority: Priority
) -> int:
    """Create the Contact's company, or take the existing one when CATS says it is a duplicate.

    Sent with check_duplicate=true, so sending it again after an uncertain answer cannot make a
    second company: CATS answers "duplicate" instead, with the company it has.
    """
    body: dict[str, Any] = {"name": name, "owner_id": owner_id}
    if website:
        body["website"] = website
    for _ in range(2):
        try:
            return await client.create_record("companies", body, check_duplicate=True, priority=priority)
        except CatsDuplicateError as duplicate:
            if duplicate.existing_id is not None:
                return duplicate.existing_id
            hits = [
                hit
                async for hit in client.search(
                    "companies", {"field": "name", "filter": "exactly", "value": name}, priority=priority
                )
            ]
            ids = [hit_id for hit in hits if (hit_id := _hit_id(hit)) is not None]
            if ids:
                return min(ids)
            raise
        except CatsUncertainWriteError:
            continue  # the repeat answers "duplicate" if the first one landed
    raise CatsUncertainWriteError(f"could not learn whether the company {name!r} was created in CATS")
