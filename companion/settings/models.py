"""Every setting of the companion as a validated pydantic model, with defaults that work against a fresh CATS.

The tree (each leaf is one setting, addressed by its dotted path):

    general   do_not_merge, displayed_company_info, company_warning_level, notes_upon.<outreach>.*
    sync      candidates.* / contacts.*: trigger, notes rule, displayed / mandatory / protected /
              filterable fields, default owner; contacts.missing_company
    mapping   candidates.<variable> / contacts.<variable> (companion.settings.mapping)
    cache     incremental_interval_minutes, full_scan_interval_hours

The CATS API key is not a setting: it lives in the OS keyring (companion.keystore).
"""

from __future__ import annotations

from typing import ClassVar, Final, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from companion.settings.base import Section, Value
from companion.settings.fields import FieldRef, RecordType, check_company_field, check_person_field
from companion.settings.mapping import (
    CandidateMapping,
    ContactMapping,
    RecordMapping,
    default_candidate_mapping,
    default_contact_mapping,
)

#: The activity types CATS documents (REFERENCE.md §13.2). Some live accounts refuse `meeting`,
#: which is why no default uses it.
ActivityTypeName = Literal[
    "email", "meeting", "call_talked", "call_lvm", "call_missed", "text_message", "other"
]
CompanyWarningLevel = Literal["off", "exact", "similar"]
SyncTrigger = Literal["on_add", "on_reply", "when_interested", "never"]
MissingCompany = Literal["refuse", "create"]

OUTREACH_TYPES: Final = (
    "email_sent",
    "linkedin_connection_request",
    "linkedin_message",
    "inmail",
    "call",
    "text_message",
    "reply_received",
    "interested",
    "meeting_booked",
)


def _unique(values: list[str], what: str) -> list[str]:
    repeated = sorted({value for value in values if values.count(value) > 1})
    if repeated:
        raise ValueError(f"each {what} may appear once; repeated: {', '.join(repeated)}")
    return values


# --- general -------------------------------------------------------------------------------------


class NoteRule(Section):
    """Whether an outreach of one type becomes a note in CATS, and as which activity type."""

    create_note: bool = True
    activity_type: ActivityTypeName = "other"


def _rule(activity_type: ActivityTypeName) -> NoteRule:
    return NoteRule(create_note=True, activity_type=activity_type)


class NotesUpon(Section):
    email_sent: NoteRule = _rule("email")
    linkedin_connection_request: NoteRule = _rule("other")
    linkedin_message: NoteRule = _rule("other")
    inmail: NoteRule = _rule("other")
    call: NoteRule = _rule("call_talked")
    text_message: NoteRule = _rule("text_message")
    reply_received: NoteRule = _rule("other")
    interested: NoteRule = _rule("other")
    # `meeting` is documented but some live accounts refuse it: `other` always works.
    meeting_booked: NoteRule = _rule("other")


class GeneralSettings(Section):
    do_not_merge: bool = Field(
        default=False,
        description="Always create a new CATS record, even when the person exists (duplicates on purpose)",
    )
    displayed_company_info: list[str] = Field(
        default_factory=lambda: ["name", "website", "phone", "address", "owner", "status", "key_contact"],
        max_length=40,
        description="Company fields the extension shows, in order: standard keys or custom:<id>",
    )
    company_warning_level: CompanyWarningLevel = Field(
        default="similar",
        description="off; exact duplicates only; duplicates and similarly named companies",
    )
    notes_upon: NotesUpon = NotesUpon()

    @field_validator("displayed_company_info")
    @classmethod
    def _company_fields(cls, refs: list[str]) -> list[str]:
        for ref in refs:
            check_company_field(ref)
        return _unique(refs, "company field")


# --- sync ----------------------------------------------------------------------------------------


class ProtectedField(Value):
    """A field never overwritten on an existing record; with `only_fill_when_blank`, written when empty."""

    field: FieldRef
    only_fill_when_blank: bool = False


class RecordSync(Section):
    """How people become records of one type; subclasses fix the record type and the defaults."""

    record_type: ClassVar[RecordType]

    campaign_sync_trigger: SyncTrigger = Field(
        default="on_reply", description="When a campaign member is created or updated in CATS"
    )
    only_notes_for_synced: bool = Field(
        default=False, description="Only add outreach notes to people already synced to CATS"
    )
    displayed_fields: list[FieldRef] = Field(default_factory=list, max_length=60)
    mandatory_fields: list[FieldRef] = Field(default_factory=list, max_length=60)
    protected_fields: list[ProtectedField] = Field(default_factory=list, max_length=60)
    filterable_fields: list[FieldRef] = Field(default_factory=list, max_length=60)
    default_owner_id: int | None = Field(default=None, ge=1, description="CATS user id for new records")

    @field_validator("displayed_fields", "mandatory_fields", "filterable_fields")
    @classmethod
    def _known_fields(cls, refs: list[str]) -> list[str]:
        for ref in refs:
            check_person_field(cls.record_type, ref)
        return _unique(refs, "field")

    @field_validator("protected_fields")
    @classmethod
    def _known_protected(cls, rules: list[ProtectedField]) -> list[ProtectedField]:
        for rule in rules:
            check_person_field(cls.record_type, rule.field)
        _unique([rule.field for rule in rules], "protected field")
        return rules


class CandidateSync(RecordSync):
    record_type: ClassVar[RecordType] = "candidates"

    displayed_fields: list[FieldRef] = Field(
        default_factory=lambda: ["emails", "phones", "title", "current_employer", "address.city", "source"],
        max_length=60,
    )
    mandatory_fields: list[FieldRef] = Field(
        default_factory=lambda: ["first_name", "last_name"], max_length=60
    )
    protected_fields: list[ProtectedField] = Field(
        default_factory=lambda: [ProtectedField(field="source", only_fill_when_blank=True)], max_length=60
    )
    filterable_fields: list[FieldRef] = Field(
        default_factory=lambda: ["title", "current_employer", "address.city", "key_skills", "owner_id"],
        max_length=60,
    )


class ContactSync(RecordSync):
    record_type: ClassVar[RecordType] = "contacts"

    displayed_fields: list[FieldRef] = Field(
        default_factory=lambda: ["emails", "phones", "title", "company_id"], max_length=60
    )
    mandatory_fields: list[FieldRef] = Field(
        default_factory=lambda: ["first_name", "last_name", "company_id"], max_length=60
    )
    filterable_fields: list[FieldRef] = Field(
        default_factory=lambda: ["title", "company_id", "address.city", "owner_id"], max_length=60
    )
    missing_company: MissingCompany = Field(
        default="refuse",
        description="When the contact's company is not in CATS: refuse the push, or create it",
    )


class SyncSettings(Section):
    candidates: CandidateSync = CandidateSync()
    contacts: ContactSync = ContactSync()

    def for_record(self, record_type: RecordType) -> RecordSync:
        return self.candidates if record_type == "candidates" else self.contacts


# --- mapping and cache -----------------------------------------------------------------------------


class MappingSettings(Section):
    candidates: CandidateMapping = Field(default_factory=default_candidate_mapping)
    contacts: ContactMapping = Field(default_factory=default_contact_mapping)

    def for_record(self, record_type: RecordType) -> RecordMapping:
        return self.candidates if record_type == "candidates" else self.contacts


class CacheSettings(Section):
    """How often the company cache asks CATS for changes (read by the company-cache sync)."""

    incremental_interval_minutes: int = Field(default=10, ge=1, le=1440)
    full_scan_interval_hours: int = Field(default=24, ge=1, le=720)


# --- the whole ------------------------------------------------------------------------------------


class Settings(Section):
    general: GeneralSettings = GeneralSettings()
    sync: SyncSettings = SyncSettings()
    mapping: MappingSettings = MappingSettings()
    cache: CacheSettings = CacheSettings()

    @model_validator(mode="after")
    def _mandatory_fields_can_be_filled(self) -> Settings:
        for record_type in ("candidates", "contacts"):
            sync = self.sync.for_record(record_type)
            filled = self.mapping.for_record(record_type).filled_fields() | set(sync.displayed_fields)
            unfillable = [ref for ref in sync.mandatory_fields if ref not in filled]
            if unfillable:
                subject = " and ".join(repr(ref) for ref in unfillable)
                verb = "are" if len(unfillable) > 1 else "is"
                reason = (
                    f"{subject} {verb} mandatory, but no variable is mapped to it and it is not a displayed "
                    "field, so a push could never fill it: map a variable to it or display it"
                )
                # A model-level error has no location of its own: `path` names the setting.
                raise PydanticCustomError(
                    "mandatory_unfillable",
                    "{reason}",
                    {"reason": reason, "path": f"sync.{record_type}.mandatory_fields"},
                )
        return self
