"""Accepting pushes and campaign events: the cause and the outbox items it leads to, in one transaction.

* A manual push (`push`) stores the person and queues their record's create-or-update at
  interactive priority; if the person is a campaign member whose earlier events were kept for
  backfill, their notes are queued after it (the rules' `decide_push`).
* A campaign event (`record_event`, `import_events`) is stored with the member, the rules'
  `decide` says whether the record is created now and which notes are added, and those items are
  queued at background priority. An event id already recorded is acknowledged and changes nothing,
  so an outreach tool can send an event again safely.
* Everything the rules refuse (mandatory fields empty, invalid values, a Contact without company
  or owner) is refused BEFORE anything is written: the transaction rolls back, nothing is queued.
  The record body is built once at acceptance only to check it: the worker builds it again from
  the person's latest data and the settings in force when it sends, so a fix reaches CATS on retry.
* A Contact's company is resolved here, from local knowledge (companion.services.resolve). When
  none fits and the setting `sync.contacts.missing_company` is "create", the item carries the
  company to create and the worker creates it first (the body is checked with a stand-in id).
* An import file is validated entry by entry first, then applied in ONE transaction: an entry
  that cannot be applied rolls back the whole file, and the error names the entry.

Callers follow each item by its id (companion.store.outbox states). `retry` and `cancel` act on
one item. After each commit `on_queued` is told which items changed, so the daemon can wake the
worker and publish `push.state`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Final, TypeVar

import aiosqlite
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from companion.cats.budget import Priority
from companion.errors import (
    BadRequestError,
    CampaignArchivedError,
    CompanionError,
    ContactCompanyMissingError,
    EventImportInvalidError,
    NotCampaignMemberError,
    OutboxItemNotFoundError,
    OutboxStateError,
    PersonNotFoundError,
    describe_validation,
)
from companion.rules.notes import NoteSpec
from companion.rules.payload import build_write
from companion.rules.person import (
    CampaignEvent,
    EventType,
    OutreachType,
    Person,
    PersonSyncState,
    RecordType,
)
from companion.rules.triggers import Decision, decide, decide_push
from companion.services.campaigns import CampaignService, rules_of
from companion.services.resolve import choose_company
from companion.settings.catalogue import Catalogue
from companion.settings.models import Settings
from companion.settings.service import SettingsService
from companion.store.db import Database
from companion.store.ids import MAX_ROW_ID
from companion.store.outbox import Outbox, OutboxItem, PriorityName, SyncLog
from companion.store.people import Campaign, Member, PeopleStore, StoredEvent

#: The company id the record body is checked with when the worker is to create the company first.
_STAND_IN_COMPANY: Final = 1
#: Events in one import file; bigger files are refused (split them).
MAX_IMPORT_EVENTS: Final = 10_000

EventId = Annotated[str, Field(min_length=1, max_length=200)]


@dataclass(frozen=True)
class RulesInputs:
    """The settings and field catalogue in force, read afresh for each acceptance and each send."""

    settings: Settings
    catalogue: Catalogue


InputsSource = Callable[[], RulesInputs]


def inputs_from(service: SettingsService) -> InputsSource:
    def read() -> RulesInputs:
        return RulesInputs(service.effective.settings, service.catalogue.current)

    return read


def _utcnow() -> datetime:
    return datetime.now(UTC)


# --- requests ------------------------------------------------------------------------------------


class PushRequest(BaseModel):
    """A manual push of one person (the extension's "Push to CATS")."""

    model_config = ConfigDict(extra="forbid")

    person: Person
    record_type: RecordType = "candidates"
    #: The local person this updates (as returned by an earlier push); else found by identity.
    person_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    #: For a Contact: the CATS company the user chose (wins over the cache's match).
    company_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)


class EventRequest(BaseModel):
    """One campaign event, from the extension, the local API, the CLI or an import file.

    The campaign by id or by (live) name; the person by local id and/or their data. An `added`
    event makes the person a member ("sync as" `record_type`); any other needs them to be one.
    """

    model_config = ConfigDict(extra="forbid")

    id: EventId | None = None
    campaign_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    campaign: str | None = Field(default=None, min_length=1, max_length=200)
    person_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    person: Person | None = None
    type: EventType
    outreach: OutreachType | None = None
    #: When it happened; default now.
    at: AwareDatetime | None = None
    text: str | None = Field(default=None, max_length=20_000)
    #: "Sync as", for an `added` event; default the campaign's, else Candidate.
    record_type: RecordType | None = None
    #: For a Contact: the CATS company the user chose.
    company_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)

    @model_validator(mode="after")
    def _names_campaign_and_person(self) -> EventRequest:
        if (self.campaign_id is None) == (self.campaign is None):
            raise ValueError("name the campaign by exactly one of campaign_id and campaign")
        if self.person_id is None and self.person is None:
            raise ValueError("name the person by person_id or give their data in person")
        if self.type is EventType.OUTREACH and self.outreach is None:
            raise ValueError("an outreach event needs its outreach type")
        if self.type is not EventType.OUTREACH and self.outreach is not None:
            raise ValueError("only outreach events have an outreach type")
        return self


class Accepted(BaseModel):
    """What a push or event led to: the person, and each outbox item queued, to follow by id."""

    model_config = ConfigDict(frozen=True)

    person_id: int
    event_id: str | None = None
    #: False when the event id was already recorded: nothing was done this time.
    recorded: bool = True
    #: Whether the record's create/update was queued.
    sync: bool
    reason: str
    items: list[dict[str, Any]]


class ImportResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    events: int
    recorded: int
    already_recorded: int
    items: int
    results: list[Accepted]


@dataclass
class _Outcome:
    person_id: int
    event_id: str | None
    recorded: bool
    sync: bool
    reason: str
    item_ids: list[int]


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: object) -> M:
    """`model` from `data` (a request body, CLI flags), or BadRequestError naming the first problems."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequestError(f"invalid request: {describe_validation(exc, whole='entry')}") from None


def display_name(person: Person) -> str:
    first, last = person.names()
    name = " ".join(part for part in (first, last) if part)
    return name or (person.emails[0] if person.emails else person.linkedin or person.profile_url or "?")


class PushService:
    """Accepts pushes and events into the outbox (module docstring)."""

    def __init__(
        self,
        db: Database,
        inputs: InputsSource,
        *,
        now: Callable[[], datetime] = _utcnow,
        on_queued: Callable[[Sequence[OutboxItem]], None] | None = None,
    ) -> None:
        self._db = db
        self._inputs = inputs
        self._now = now
        self._on_queued = on_queued
        self.people = PeopleStore(db)
        self.outbox = Outbox(db)
        self.log = SyncLog(db)
        self.campaigns = CampaignService(db, now=now)

    # --- manual pushes ---------------------------------------------------------------------------

    async def push(self, request: PushRequest, *, priority: Priority = Priority.INTERACTIVE) -> Accepted:
        inputs = self._inputs()
        async with self._db.transaction() as conn:
            outcome = await self._push(conn, inputs, request, priority)
        return (await self._finish([outcome]))[0]

    async def _push(
        self, conn: aiosqlite.Connection, inputs: RulesInputs, request: PushRequest, priority: Priority
    ) -> _Outcome:
        person, record_type = request.person, request.record_type
        payload = await self._record_payload(person, record_type, inputs, chosen_company=request.company_id)
        payload["reason"] = "manual push"
        person_id = await self._save_person(conn, person, request.person_id)
        key = person.identity_key()
        item_ids = [
            await self.outbox.enqueue(
                conn,
                person_id=person_id,
                person_key=key,
                kind="record",
                record_type=record_type,
                priority=priority.value,
                payload=payload,
                now=self._now(),
            )
        ]
        # Campaign events kept while the person was not synced are backfilled now (the rules say which).
        for member in await self.people.memberships(person_id):
            if member.record_type != record_type:
                continue
            campaign = await self.campaigns.get(member.campaign_id)
            state = await self._state(member, exclude_record_item=item_ids[0])
            decision = decide_push(inputs.settings, rules_of(campaign), state)
            item_ids += await self._enqueue_notes(
                conn, member, key, decision, priority=priority.value, campaign_id=campaign.id
            )
            await self.people.set_member_state(
                conn, member.campaign_id, person_id, decision.state_after.model_dump(mode="json")
            )
        return _Outcome(person_id, None, True, True, "manual push", item_ids)

    # --- campaign members and events -------------------------------------------------------------

    async def record_event(self, request: EventRequest, *, source: str = "api") -> Accepted:
        inputs = self._inputs()
        async with self._db.transaction() as conn:
            outcome = await self._event(conn, inputs, request, source)
        return (await self._finish([outcome]))[0]

    async def import_events(self, document: object, *, source: str = "import") -> ImportResult:
        """Apply a whole file of events, or none of it (module docstring)."""
        entries = document.get("events") if isinstance(document, dict) else document
        if not isinstance(entries, list):
            raise EventImportInvalidError(
                'an import is a JSON list of events, or an object {"events": [...]}', entry=None
            )
        if len(entries) > MAX_IMPORT_EVENTS:
            raise EventImportInvalidError(
                f"an import holds at most {MAX_IMPORT_EVENTS} events; split the file", entry=None
            )
        requests: list[EventRequest] = []
        for index, raw in enumerate(entries):
            try:
                requests.append(EventRequest.model_validate(raw))
            except ValidationError as exc:
                raise EventImportInvalidError(
                    f"entry {index} is not a valid event ({describe_validation(exc, whole='entry')}); "
                    "nothing was imported",
                    entry=index,
                ) from None
        inputs = self._inputs()
        outcomes: list[_Outcome] = []
        async with self._db.transaction() as conn:
            for index, request in enumerate(requests):
                try:
                    outcomes.append(await self._event(conn, inputs, request, source))
                except CompanionError as exc:
                    raise EventImportInvalidError(
                        f"entry {index} cannot be applied: {exc.message} ({exc.code}); nothing was imported",
                        entry=index,
                    ) from None
        results = await self._finish(outcomes)
        return ImportResult(
            events=len(results),
            recorded=sum(result.recorded for result in results),
            already_recorded=sum(not result.recorded for result in results),
            items=sum(len(result.items) for result in results),
            results=results,
        )

    async def _event(
        self, conn: aiosqlite.Connection, inputs: RulesInputs, request: EventRequest, source: str
    ) -> _Outcome:
        campaign = await self._campaign(request)
        if campaign.archived:
            raise CampaignArchivedError(f"the campaign {campaign.name!r} is archived: it takes no events")
        try:
            event = CampaignEvent(
                id=request.id or uuid.uuid4().hex,
                type=request.type,
                outreach=request.outreach,
                at=request.at or self._now(),
                text=request.text,
            )
        except ValidationError as exc:
            raise BadRequestError(f"invalid event: {describe_validation(exc, whole='entry')}") from None
        already = await self.people.event(event.id)
        if already is not None:
            return _Outcome(already.person_id, event.id, False, False, "this event was already recorded", [])

        person_id, person = await self._event_person(conn, request)
        member = await self.people.member(campaign.id, person_id)
        if event.type is EventType.ADDED:
            chosen = request.record_type or (member.record_type if member else None)
            record_type = rules_of(campaign).effective_record_type(chosen)
            await self.people.add_member(conn, campaign.id, person_id, record_type, now=self._now())
            member = await self.people.member(campaign.id, person_id)
        if member is None:
            raise NotCampaignMemberError(
                f"{display_name(person)} is not a member of the campaign {campaign.name!r}; "
                "record an 'added' event first"
            )
        now = self._now()
        await self.people.add_event(
            conn,
            StoredEvent(
                id=event.id,
                campaign_id=campaign.id,
                person_id=person_id,
                type=event.type.value,
                outreach=event.outreach.value if event.outreach else None,
                at=event.at,
                text=event.text,
                source=source,
                recorded_at=now,
            ),
        )
        settings = inputs.settings
        decision = decide(settings, rules_of(campaign), await self._state(member), event)
        key = person.identity_key()
        item_ids: list[int] = []
        if decision.sync_now:
            payload = await self._record_payload(
                person, member.record_type, inputs, chosen_company=request.company_id
            )
            payload["reason"] = decision.reason
            item_ids.append(
                await self.outbox.enqueue(
                    conn,
                    person_id=person_id,
                    person_key=key,
                    kind="record",
                    record_type=member.record_type,
                    priority=Priority.BACKGROUND.value,
                    payload=payload,
                    now=now,
                    campaign_id=campaign.id,
                    event_id=event.id,
                )
            )
        item_ids += await self._enqueue_notes(
            conn, member, key, decision, priority=Priority.BACKGROUND.value, campaign_id=campaign.id
        )
        await self.people.set_member_state(
            conn, campaign.id, person_id, decision.state_after.model_dump(mode="json")
        )
        return _Outcome(person_id, event.id, True, decision.sync_now, decision.reason, item_ids)

    async def _campaign(self, request: EventRequest) -> Campaign:
        if request.campaign_id is not None:
            return await self.campaigns.get(request.campaign_id)
        assert request.campaign is not None
        return await self.campaigns.by_name(request.campaign)

    async def _event_person(self, conn: aiosqlite.Connection, request: EventRequest) -> tuple[int, Person]:
        """The event's person: by id (their data updated when given), else by identity key."""
        if request.person_id is not None:
            stored = await self.people.person(request.person_id)
            if stored is None:
                raise PersonNotFoundError(f"there is no person {request.person_id}")
            if request.person is None:
                return stored.id, Person.model_validate(stored.data)
        assert request.person is not None
        if request.type is not EventType.ADDED and request.person_id is None:
            known = await self.people.person_by_key(request.person.identity_key())
            if known is None:
                raise NotCampaignMemberError(
                    f"{display_name(request.person)} is not known here; record an 'added' event first"
                )
        person_id = await self._save_person(conn, request.person, request.person_id)
        return person_id, request.person

    # --- outbox management -------------------------------------------------------------------------

    async def item(self, item_id: int) -> OutboxItem:
        item = await self.outbox.get(item_id)
        if item is None:
            raise OutboxItemNotFoundError(f"there is no outbox item {item_id}")
        return item

    async def retry(self, item_id: int) -> OutboxItem:
        """Queue a failed item again (after fixing what CATS refused), or send a waiting one now."""
        item = await self.item(item_id)
        if item.status not in ("failed", "waiting"):
            raise OutboxStateError(
                f"outbox item {item_id} is {item.status}; only failed or waiting items are retried"
            )
        async with self._db.transaction() as conn:
            await self.outbox.update(
                conn,
                item_id,
                now=self._now(),
                status="queued",
                wait_reason=None,
                not_before=None,
                error_code=None,
                error_message=None,
            )
            await self.log.add(conn, now=self._now(), item=item, action="retry", outcome="retry")
        return (await self._changed([item_id]))[0]

    async def cancel(self, item_id: int) -> OutboxItem:
        """Never send this item. Refused while it is being sent, or when a create may already be in CATS."""
        item = await self.item(item_id)
        if item.status not in ("queued", "waiting", "failed"):
            raise OutboxStateError(f"outbox item {item_id} is {item.status}; it cannot be cancelled")
        if item.in_flight is not None:
            raise OutboxStateError(
                f"outbox item {item_id} may already have reached CATS (its last send got no answer); "
                "it is being checked and cannot be cancelled until then"
            )
        async with self._db.transaction() as conn:
            await self.outbox.update(conn, item_id, now=self._now(), status="cancelled", wait_reason=None)
            await self.log.add(conn, now=self._now(), item=item, action="cancel", outcome="cancelled")
        return (await self._changed([item_id]))[0]

    # --- shared steps ------------------------------------------------------------------------------

    async def _record_payload(
        self, person: Person, record_type: RecordType, inputs: RulesInputs, *, chosen_company: int | None
    ) -> dict[str, Any]:
        """Check the push can be written (raising the rules' refusals) and what the worker needs for it."""
        payload: dict[str, Any] = {"company_id": None}
        company_id: int | None = None
        if record_type == "contacts":
            choice = await choose_company(self._db, person, chosen_id=chosen_company or _chosen(person))
            if choice is not None:
                company_id = choice.company_id
                payload.update(company_id=company_id, company_source=choice.source)
            elif inputs.settings.sync.contacts.missing_company == "create":
                if not person.current_company:
                    raise ContactCompanyMissingError(
                        "Cannot push this contact: they have no company to find or create in CATS"
                    )
                payload["create_company"] = {
                    "name": person.current_company,
                    "website": person.company_website,
                }
        unresolved = record_type == "contacts" and company_id is None and "create_company" not in payload
        # Without a company id yet, the rest of the body is checked with a stand-in one.
        build_write(
            person,
            record_type,
            inputs.settings,
            inputs.catalogue,
            company_id=company_id if company_id is not None else _STAND_IN_COMPANY,
            owner_id=None,
        )
        if unresolved:
            named = person.current_company or person.company_website or person.company_linkedin
            raise ContactCompanyMissingError(
                f"Cannot push this contact: no CATS company was found for {named!r}; choose it in the "
                "extension, or let the companion create missing companies (setting "
                "sync.contacts.missing_company)"
                if named
                else "Cannot push this contact: they have no company; choose their CATS company"
            )
        return payload

    async def _save_person(self, conn: aiosqlite.Connection, person: Person, person_id: int | None) -> int:
        if person_id is not None and await self.people.person(person_id) is None:
            raise PersonNotFoundError(f"there is no person {person_id}")
        return await self.people.upsert_person(
            conn,
            identity_key=person.identity_key(),
            display_name=display_name(person),
            data=person.model_dump(mode="json"),
            now=self._now(),
            person_id=person_id,
        )

    async def _state(self, member: Member, *, exclude_record_item: int | None = None) -> PersonSyncState:
        """The member's state for the rules: what was stored, with the record and notes as they are now."""
        stored = (
            PersonSyncState.model_validate(member.state)
            if member.state
            else PersonSyncState(record_type=member.record_type)
        )
        record = await self.people.record(member.person_id, member.record_type)
        cats_id = record.cats_id if record is not None else None
        live = await self.outbox.has_live_record_item(
            member.person_id, member.record_type, exclude=exclude_record_item
        )
        noted = await self.outbox.noted_events(member.person_id, member.record_type)
        return stored.model_copy(
            update={
                "record_type": member.record_type,
                "cats_id": cats_id,
                # A create already queued delivers the record: the person counts as synced.
                "synced": cats_id is not None or live,
                "notes_sent": stored.notes_sent | noted,
            }
        )

    async def _enqueue_notes(
        self,
        conn: aiosqlite.Connection,
        member: Member,
        key: str,
        decision: Decision,
        *,
        priority: PriorityName,
        campaign_id: int,
    ) -> list[int]:
        noted = await self.outbox.noted_events(member.person_id, member.record_type)
        ids: list[int] = []
        notes: list[NoteSpec] = [*decision.backfill, *decision.notes_now]
        for note in notes:
            if note.event_id in noted:
                continue
            noted.add(note.event_id)
            ids.append(
                await self.outbox.enqueue(
                    conn,
                    person_id=member.person_id,
                    person_key=key,
                    kind="note",
                    record_type=member.record_type,
                    priority=priority,
                    payload=note.model_dump(mode="json"),
                    now=self._now(),
                    campaign_id=campaign_id,
                    event_id=note.event_id,
                )
            )
        return ids

    async def _finish(self, outcomes: list[_Outcome]) -> list[Accepted]:
        changed = await self._changed([item_id for outcome in outcomes for item_id in outcome.item_ids])
        by_id = {item.id: item for item in changed}
        return [
            Accepted(
                person_id=outcome.person_id,
                event_id=outcome.event_id,
                recorded=outcome.recorded,
                sync=outcome.sync,
                reason=outcome.reason,
                items=[by_id[item_id].public() for item_id in outcome.item_ids],
            )
            for outcome in outcomes
        ]

    async def _changed(self, item_ids: list[int]) -> list[OutboxItem]:
        items = await self.outbox.get_many(item_ids)
        if items and self._on_queued is not None:
            self._on_queued(items)
        return items


def _chosen(person: Person) -> int | None:
    """A company the user picked in the displayed fields (`field_values["company_id"]`)."""
    value = person.field_values.get("company_id")
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ROW_ID:
        return value
    return None
