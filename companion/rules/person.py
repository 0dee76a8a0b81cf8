"""The person being pushed, the campaign events about them, and their sync state: the inputs of every rule.

`Person` is what the extension collected about someone, corrected by the user, under the keys of
companion.settings.variables, plus `field_values`: what the user typed into the displayed fields,
keyed by field reference (`title`, `address.city`, `custom:88004`). Input is tidied on the way in
(blank strings are None, list entries trimmed and de-duplicated, URLs given a scheme) and refused
when it can never be pushed (an address without `@`, a person with no name, email or profile URL).

Names: when `first_name` or `last_name` is missing, `names()` takes it from `full_name` by one simple
rule -- anything after the first comma is dropped (", PhD"), the LAST word is the last name and
the words before it the first name ("Ada King Lovelace" -> "Ada King" / "Lovelace"); a single word
is only a first name. Given names are never replaced.

Identity (`identity_key`): the person's normalised LinkedIn URL, else their first email
(case-folded), else name plus normalised company, else the profile URL; names and emails the user
typed into those fields count too. It is computed from what
is known now, so a caller keeping a person's outbox in order stores the key it first computed.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from companion.matching.normalize import normalize_name
from companion.rules.urls import canonical_url, linkedin_identity, url_identity
from companion.settings.fields import FieldRef, RecordType
from companion.settings.models import SyncTrigger

__all__ = [
    "CampaignEvent",
    "CampaignRules",
    "EventType",
    "OutreachType",
    "Person",
    "PersonSyncState",
    "RecordType",
    "is_email",
    "split_full_name",
]

_EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_LIST_FIELDS: Final = ("emails", "phones", "skills", "languages", "education")
_URL_FIELDS: Final = (
    "linkedin",
    "twitter",
    "github",
    "facebook",
    "website",
    "profile_url",
    "company_website",
    "company_linkedin",
)
#: Entries a list variable may hold; a scraper gone wrong must not fill a CATS record with thousands.
MAX_LIST_ITEMS: Final = 50


def is_email(text: str) -> bool:
    """A light check (something@domain.tld, no spaces): CATS and the mail server judge the rest."""
    return _EMAIL.match(text) is not None


def split_full_name(full_name: str) -> tuple[str | None, str | None]:
    """(first, last) by the module's rule: "Jane Q. Doe, PhD" -> ("Jane Q.", "Doe"); "Cher" -> first only."""
    words = full_name.split(",", 1)[0].split()
    if not words:
        return None, None
    if len(words) == 1:
        return words[0], None
    return " ".join(words[:-1]), words[-1]


def _dedupe(values: list[str], *, fold: bool) -> list[str]:
    seen: set[str] = set()
    kept: list[str] = []
    for value in values:
        key = value.casefold() if fold else value
        if key not in seen:
            seen.add(key)
            kept.append(value)
    return kept


class Person(BaseModel):
    """What the extension collected about one person, as corrected by the user."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    title: str | None = None
    headline: str | None = None
    current_company: str | None = None
    location: str | None = None
    summary: str | None = None
    source: str | None = None
    emails: list[str] = Field(default_factory=list)
    phones: list[str] = Field(default_factory=list)
    skills: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    education: list[str] = Field(default_factory=list)
    linkedin: str | None = None
    twitter: str | None = None
    github: str | None = None
    facebook: str | None = None
    website: str | None = None
    #: The page the person was seen on.
    profile_url: str | None = None
    #: To resolve a Contact's company through the company cache.
    company_website: str | None = None
    company_linkedin: str | None = None
    #: Values the user filled for displayed fields, keyed by field reference; they override the mapping.
    field_values: dict[FieldRef, Any] = Field(default_factory=dict)

    @field_validator("*", mode="after")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator(*_LIST_FIELDS, mode="after")
    @classmethod
    def _tidy_list(cls, values: list[str]) -> list[str]:
        kept = _dedupe([value.strip() for value in values if value.strip()], fold=True)
        if len(kept) > MAX_LIST_ITEMS:
            raise ValueError(f"at most {MAX_LIST_ITEMS} entries, got {len(kept)}")
        return kept

    @field_validator("emails", mode="after")
    @classmethod
    def _valid_emails(cls, emails: list[str]) -> list[str]:
        bad = [email for email in emails if not is_email(email)]
        if bad:
            raise ValueError(f"not an email address: {', '.join(repr(email) for email in bad)}")
        return emails

    @field_validator(*_URL_FIELDS, mode="after")
    @classmethod
    def _valid_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if any(char.isspace() for char in value):
            raise ValueError(f"not a URL (it contains spaces): {value!r}")
        return canonical_url(value)

    @model_validator(mode="after")
    def _identifiable(self) -> Person:
        named = any(self.pushed_names()) or self.all_emails()
        if not (named or self.linkedin or self.profile_url):
            raise ValueError("a person needs a name, an email address or a profile URL")
        return self

    def names(self) -> tuple[str | None, str | None]:
        """(first, last): the given ones, the missing ones taken from `full_name` (module docstring)."""
        first, last = self.first_name, self.last_name
        if (first is None or last is None) and self.full_name:
            split_first, split_last = split_full_name(self.full_name)
            first = first or split_first
            last = last or split_last
        return first, last

    def _typed_text(self, ref: str) -> str | None:
        value = self.field_values.get(ref)
        return (value.strip() or None) if isinstance(value, str) else None

    def pushed_names(self) -> tuple[str | None, str | None]:
        """(first, last) as a push writes them: what the user typed in those fields, else `names()`."""
        first, last = self.names()
        return self._typed_text("first_name") or first, self._typed_text("last_name") or last

    def all_emails(self) -> list[str]:
        """Every address known: the collected ones, then those typed in the emails field; no repeats."""
        typed = self.field_values.get("emails")
        if isinstance(typed, str):
            typed = typed.replace(";", ",").split(",")
        found = [*self.emails, *(item.strip() for item in typed or [] if isinstance(item, str))]
        emails: list[str] = []
        for email in found:
            if is_email(email) and email.casefold() not in {known.casefold() for known in emails}:
                emails.append(email)
        return emails

    def linkedin_url(self) -> str | None:
        """The LinkedIn member page: `linkedin` when it is one, else a LinkedIn `profile_url`."""
        for url in (self.linkedin, self.profile_url):
            if url and linkedin_identity(url) is not None:
                return url
        return None

    def linkedin_key(self) -> str | None:
        """The normalised LinkedIn member URL (`linkedin.com/in/ada-l`), see companion.rules.urls."""
        url = self.linkedin_url()
        return linkedin_identity(url) if url is not None else None

    def identity_key(self) -> str:
        """A stable key for "the same person" (module docstring); never empty."""
        linkedin = self.linkedin_key()
        if linkedin is not None:
            return f"linkedin:{linkedin}"
        emails = self.all_emails()
        if emails:
            return f"email:{emails[0].casefold()}"
        first, last = self.pushed_names()
        name = " ".join(part for part in (first, last) if part).casefold()
        if name:
            company = normalize_name(self.current_company or "")
            return f"name:{name}|{company}"
        # The model validator guarantees one of these is set.
        url = self.linkedin or self.profile_url or ""
        return f"url:{url_identity(url)}"


class OutreachType(StrEnum):
    EMAIL_SENT = "email_sent"
    LINKEDIN_CONNECTION_REQUEST = "linkedin_connection_request"
    LINKEDIN_MESSAGE = "linkedin_message"
    INMAIL = "inmail"
    CALL = "call"
    TEXT_MESSAGE = "text_message"


class EventType(StrEnum):
    ADDED = "added"
    OUTREACH = "outreach"
    REPLIED = "replied"
    INTERESTED = "interested"
    NOT_INTERESTED = "not_interested"
    MEETING_BOOKED = "meeting_booked"


class CampaignEvent(BaseModel):
    """One thing that happened to a campaign member; `outreach` is set exactly when `type` is outreach."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=200)
    type: EventType
    outreach: OutreachType | None = None
    #: When it happened (timezone-aware): the date of its note in CATS.
    at: AwareDatetime
    #: The message sent or received, or the user's note about it.
    text: str | None = None

    @model_validator(mode="after")
    def _outreach_matches_type(self) -> CampaignEvent:
        if self.type is EventType.OUTREACH and self.outreach is None:
            raise ValueError("an outreach event needs its outreach type")
        if self.type is not EventType.OUTREACH and self.outreach is not None:
            raise ValueError(f"only outreach events have an outreach type, not {self.type.value!r} events")
        return self


class PersonSyncState(BaseModel):
    """Where one campaign member stands with CATS, as the caller stored it after the previous decision.

    `synced` means the record exists in CATS or its create/update has been accepted into the outbox
    (which delivers it exactly once); `cats_id` is known once the create has landed.
    """

    model_config = ConfigDict(extra="forbid")

    record_type: RecordType = "candidates"
    cats_id: int | None = Field(default=None, ge=1)
    synced: bool = False
    #: When the person was first synced (see companion.rules.triggers); None if unknown.
    synced_at: AwareDatetime | None = None
    replied: bool = False
    interested: bool = False
    #: Earlier events not yet turned into notes (kept while the person is not synced).
    events_so_far: list[CampaignEvent] = Field(default_factory=list)
    #: Ids of the events already noted in CATS (or queued as notes).
    notes_sent: set[str] = Field(default_factory=set)


class CampaignRules(BaseModel):
    """What a campaign overrides of the settings; None keeps the settings' value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sync_trigger: SyncTrigger | None = None
    record_type: RecordType | None = None
    #: Shown in the notes of its events ("LinkedIn message sent (campaign: Q3 data): ...").
    name: str | None = None

    def effective_record_type(self, chosen: RecordType | None = None) -> RecordType:
        """How a new member syncs: the per-person choice, else the campaign's, else Candidate."""
        return chosen or self.record_type or "candidates"
