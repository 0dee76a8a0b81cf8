"""CATS records as pydantic models: the READ shapes CATS returns and the WRITE shapes it accepts.

The two differ (REFERENCE.md §6.3, §9, §12): on read, `emails` is `{primary, secondary}`, `phones`
an object keyed by kind and custom-field values sit in `_embedded.custom_fields[{id, value}]`; on
write, `emails` is `[{email, is_primary}]`, `phones` `[{number, extension, type}]` and the values
go in `custom_fields[{id, value}]`. Read models accept unknown keys and nulls anywhere CATS might
send them; write models refuse unknown keys and serialise only the fields that were set, so a PUT
never blanks a field it did not mean to touch.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from companion.cats.record_urls import parse_id

# --- lenient scalar types for reading ------------------------------------------------------------


def _lenient_id(value: object) -> object:
    # Webhook samples show ids as strings ("123456789"); anything else is left to pydantic to refuse.
    if value is None or value == "":
        return None
    try:
        return parse_id(value)
    except ValueError:
        return value


def _blank_to_none(value: object) -> object:
    return None if value == "" or value == [] else value


def _number_to_text(value: object) -> object:
    # Pay fields are strings in CATS's samples; an account may well send bare numbers.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _null_to_empty_list(value: object) -> object:
    return [] if value is None else value


def _null_to_empty_dict(value: object) -> object:
    # CATS is PHP underneath: an empty object sometimes arrives as [].
    return {} if value is None or value == [] else value


CatsId = Annotated[int, BeforeValidator(_lenient_id)]
OptionalId = Annotated[int | None, BeforeValidator(_lenient_id)]
Timestamp = Annotated[datetime | None, BeforeValidator(_blank_to_none)]
Text = Annotated[str | None, BeforeValidator(_number_to_text)]
TextList = Annotated[list[str], BeforeValidator(_null_to_empty_list)]
AnyList = Annotated[list[Any], BeforeValidator(_null_to_empty_list)]
Links = Annotated[dict[str, Any], BeforeValidator(_null_to_empty_dict)]
PhoneMap = Annotated[dict[str, Text], BeforeValidator(_null_to_empty_dict)]


class _Read(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


# --- enumerations --------------------------------------------------------------------------------


class PhoneType(StrEnum):
    MOBILE = "mobile"
    HOME = "home"
    WORK = "work"
    FAX = "fax"
    MAIN = "main"
    OTHER = "other"


class ActivityType(StrEnum):
    """The seven documented activity types. Live accounts may refuse some (REFERENCE.md §13.2)."""

    EMAIL = "email"
    MEETING = "meeting"
    CALL_TALKED = "call_talked"
    CALL_LVM = "call_lvm"
    CALL_MISSED = "call_missed"
    TEXT_MESSAGE = "text_message"
    OTHER = "other"


class CustomFieldType(StrEnum):
    TEXT = "text"
    TEXTAREA = "textarea"
    CHECKBOX = "checkbox"
    DATE = "date"
    DROPDOWN = "dropdown"
    RADIO = "radio"
    CHECKBOXES = "checkboxes"
    USER = "user"
    NUMBER = "number"


#: The field types whose values must be one of `field.selections`.
OPTION_FIELD_TYPES: Final = frozenset(
    {CustomFieldType.DROPDOWN, CustomFieldType.RADIO, CustomFieldType.CHECKBOXES}
)

#: Read-shape phone keys to the phone type they are written back as.
_PHONE_KEY_TO_TYPE: Final = {
    "cell": PhoneType.MOBILE,
    "mobile": PhoneType.MOBILE,
    "home": PhoneType.HOME,
    "work": PhoneType.WORK,
    "main": PhoneType.MAIN,
    "fax": PhoneType.FAX,
    "other": PhoneType.OTHER,
}


# --- read shapes ---------------------------------------------------------------------------------


class Address(_Read):
    street: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: Text = None


class Emails(_Read):
    """Read shape of a record's emails."""

    primary: str | None = None
    secondary: str | None = None


class CustomFieldValue(_Read):
    """One value on a record; `id` is the custom-field DEFINITION's id (CATS sends no name)."""

    id: CatsId
    value: Any = None
    links: Links = Field(default_factory=dict, alias="_links")


class RecordEmbedded(_Read):
    custom_fields: Annotated[list[CustomFieldValue], BeforeValidator(_null_to_empty_list)] = Field(
        default_factory=list
    )


Embedded = Annotated[RecordEmbedded, BeforeValidator(_null_to_empty_dict)]
OptionalAddress = Annotated[Address | None, BeforeValidator(_blank_to_none)]
EmailsField = Annotated[Emails, BeforeValidator(_null_to_empty_dict)]


class _Record(_Read):
    id: CatsId
    links: Links = Field(default_factory=dict, alias="_links")
    embedded: Embedded = Field(default_factory=RecordEmbedded, alias="_embedded")
    date_created: Timestamp = None
    date_modified: Timestamp = None

    @property
    def custom_fields(self) -> list[CustomFieldValue]:
        return self.embedded.custom_fields

    def custom_field_values(self) -> dict[int, Any]:
        """Definition id -> value."""
        return {row.id: row.value for row in self.embedded.custom_fields}

    def _writable_custom_fields(self) -> list[CustomFieldWrite] | None:
        rows = [
            CustomFieldWrite(id=row.id, value=row.value)
            for row in self.custom_fields
            if row.value is not None
        ]
        return rows or None


def _phones_to_write(phones: dict[str, str | None]) -> list[PhoneWrite] | None:
    rows = [
        PhoneWrite(number=number, type=_PHONE_KEY_TO_TYPE.get(key.lower(), PhoneType.OTHER))
        for key, number in phones.items()
        if number
    ]
    return rows or None


def _emails_to_write(emails: Emails) -> list[EmailWrite] | None:
    rows: list[EmailWrite] = []
    if emails.primary:
        rows.append(EmailWrite(email=emails.primary, is_primary=True))
    if emails.secondary:
        # Without a primary CATS would refuse the list, so the only address becomes the primary.
        rows.append(EmailWrite(email=emails.secondary, is_primary=not rows))
    return rows or None


def _present(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


class CandidateRead(_Record):
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    emails: EmailsField = Field(default_factory=Emails)
    phones: PhoneMap = Field(default_factory=dict)
    address: OptionalAddress = None
    country_code: str | None = None
    social_media_urls: TextList = Field(default_factory=list)
    website: str | None = None
    best_time_to_call: str | None = None
    current_employer: str | None = None
    date_available: str | None = None
    current_pay: Text = None
    desired_pay: Text = None
    is_willing_to_relocate: bool | None = None
    key_skills: str | None = None
    notes: str | None = None
    source: str | None = None
    is_hot: bool | None = None
    is_active: bool | None = None
    is_registered: bool | None = None
    contact_id: OptionalId = None
    owner_id: OptionalId = None
    entered_by_id: OptionalId = None
    consent_status: Any = None

    def to_update(self) -> CandidateUpdate:
        """The writable part of this record, for a read-modify-write PUT (null fields are left out)."""
        return CandidateUpdate.model_validate(
            _present(
                first_name=self.first_name,
                last_name=self.last_name,
                middle_name=self.middle_name,
                title=self.title,
                address=_address_to_write(self.address),
                country_code=self.country_code,
                social_media_urls=self.social_media_urls or None,
                website=self.website,
                best_time_to_call=self.best_time_to_call,
                current_employer=self.current_employer,
                date_available=self.date_available or None,
                current_pay=self.current_pay,
                desired_pay=self.desired_pay,
                is_willing_to_relocate=self.is_willing_to_relocate,
                key_skills=self.key_skills,
                notes=self.notes,
                source=self.source,
                owner_id=self.owner_id,
                is_active=self.is_active,
                is_hot=self.is_hot,
                custom_fields=self._writable_custom_fields(),
            )
        )


class ContactRead(_Record):
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    reports_to_id: OptionalId = None
    owner_id: OptionalId = None
    company_id: OptionalId = None
    emails: EmailsField = Field(default_factory=Emails)
    phones: PhoneMap = Field(default_factory=dict)
    address: OptionalAddress = None
    country_code: str | None = None
    social_media_urls: TextList = Field(default_factory=list)
    is_hot: bool | None = None
    has_left_company: bool | None = None
    notes: str | None = None
    entered_by_id: OptionalId = None
    consent_status: Any = None
    status_id: OptionalId = None

    def to_update(self) -> ContactWrite:
        """The writable part of this record, for a read-modify-write PUT (null fields are left out)."""
        return ContactWrite.model_validate(
            _present(
                first_name=self.first_name,
                last_name=self.last_name,
                owner_id=self.owner_id,
                company_id=self.company_id,
                title=self.title,
                reports_to_id=self.reports_to_id,
                has_left_company=self.has_left_company,
                emails=_emails_to_write(self.emails),
                phones=_phones_to_write(self.phones),
                address=_address_to_write(self.address),
                country_code=self.country_code,
                social_media_urls=self.social_media_urls or None,
                is_hot=self.is_hot,
                notes=self.notes,
                custom_fields=self._writable_custom_fields(),
            )
        )


class CompanyRead(_Record):
    name: str | None = None
    owner_id: OptionalId = None
    website: str | None = None
    #: Not in CATS's documented read sample; a keyed object like contacts' when present [INFERRED].
    phones: PhoneMap = Field(default_factory=dict)
    address: OptionalAddress = None
    country_code: str | None = None
    entered_by_id: OptionalId = None
    social_media_urls: TextList = Field(default_factory=list)
    notes: str | None = None
    is_hot: bool | None = None
    key_technologies: str | None = None
    billing_contact_id: OptionalId = None
    user_groups: AnyList = Field(default_factory=list)
    status_id: OptionalId = None

    def to_update(self) -> CompanyWrite:
        """The writable part of this record, for a read-modify-write PUT (null fields are left out)."""
        return CompanyWrite.model_validate(
            _present(
                name=self.name,
                owner_id=self.owner_id,
                website=self.website,
                phones=_phones_to_write(self.phones),
                address=_address_to_write(self.address),
                country_code=self.country_code,
                social_media_urls=self.social_media_urls or None,
                notes=self.notes,
                is_hot=self.is_hot,
                key_technologies=self.key_technologies,
                billing_contact_id=self.billing_contact_id,
                custom_fields=self._writable_custom_fields(),
            )
        )


class _CacheRead(BaseModel):
    # Unknown keys are dropped, not kept: the cache reads a handful of fields of every company.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _CacheAddress(_CacheRead):
    street: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: Text = None


class _CacheCustomValue(_CacheRead):
    id: CatsId
    value: Any = None


class _CacheEmbedded(_CacheRead):
    custom_fields: Annotated[list[_CacheCustomValue], BeforeValidator(_null_to_empty_list)] = Field(
        default_factory=list
    )


class CompanyCacheRead(_CacheRead):
    """The fields of a CATS company that the company cache keeps, read exactly as `CompanyRead` reads them.

    A full sync reads every company of the account: this shape leaves out the links, the embedded phones
    and status and every unknown key, which `CompanyRead` validates and keeps (about a third of its time).
    """

    id: CatsId
    name: str | None = None
    owner_id: OptionalId = None
    website: str | None = None
    phones: PhoneMap = Field(default_factory=dict)
    address: Annotated[_CacheAddress | None, BeforeValidator(_blank_to_none)] = None
    country_code: str | None = None
    social_media_urls: TextList = Field(default_factory=list)
    notes: str | None = None
    is_hot: bool | None = None
    key_technologies: str | None = None
    billing_contact_id: OptionalId = None
    status_id: OptionalId = None
    date_created: Timestamp = None
    date_modified: Timestamp = None
    embedded: Annotated[_CacheEmbedded, BeforeValidator(_null_to_empty_dict)] = Field(
        default_factory=_CacheEmbedded, alias="_embedded"
    )

    @property
    def custom_fields(self) -> list[_CacheCustomValue]:
        return self.embedded.custom_fields


class DataItem(_Read):
    """What an activity is attached to."""

    id: CatsId
    type: str


class ActivityRead(_Record):
    data_item: DataItem | None = None
    date: Timestamp = None
    regarding_id: OptionalId = None
    type: Annotated[ActivityType | str | None, Field(union_mode="left_to_right")] = None
    notes: str | None = None
    annotation: str | None = None
    entered_by_id: OptionalId = None


def _selection(value: object) -> object:
    if isinstance(value, str):
        return {"label": value}
    if isinstance(value, dict) and "label" not in value:
        # Where CATS keeps the options is not documented; accept the likely spellings.
        for key in ("name", "title", "value"):
            if isinstance(value.get(key), str):
                return {**value, "label": value[key]}
    return value


class Selection(_Read):
    """One option of a dropdown, radio or checkboxes field."""

    id: OptionalId = None
    label: str


class FieldSpec(_Read):
    #: A known type becomes the enum; a type CATS adds later stays readable as plain text.
    type: Annotated[CustomFieldType | str, Field(union_mode="left_to_right")]
    selections: Annotated[
        list[Annotated[Selection, BeforeValidator(_selection)]], BeforeValidator(_null_to_empty_list)
    ] = Field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        return [selection.label for selection in self.selections]


class CustomFieldDefinition(_Read):
    id: CatsId
    data_item_type: str | None = None
    name: str
    comment: str | None = None
    field: FieldSpec
    links: Links = Field(default_factory=dict, alias="_links")


class UserRead(_Read):
    id: CatsId
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    access_level: str | None = None
    email: str | None = None
    links: Links = Field(default_factory=dict, alias="_links")

    @property
    def display_name(self) -> str:
        name = " ".join(part for part in (self.first_name, self.last_name) if part)
        return name or self.username or f"user {self.id}"


class SiteRead(_Read):
    id: OptionalId = None
    mode: str | None = None
    subdomain: str | None = None
    default_company_id: OptionalId = None


# --- write shapes --------------------------------------------------------------------------------

Required = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def _upper(value: str | None) -> str | None:
    return value.upper() if value is not None else None


CountryCode = Annotated[
    str | None, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z]{2}$"), AfterValidator(_upper)
]


class _Write(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    def to_body(self) -> dict[str, Any]:
        """The JSON body CATS expects: only the fields that were set, in CATS's write shape."""
        return self.model_dump(mode="json", exclude_unset=True)


class EmailWrite(_Write):
    email: Required
    is_primary: bool


class PhoneWrite(_Write):
    #: Must start with the country code (`+31...`) or CATS parses it wrongly.
    number: Required
    extension: str | None = None
    type: PhoneType

    @field_validator("type", mode="before")
    @classmethod
    def _lower_type(cls, value: object) -> object:
        # CATS's own examples write "Mobile" and "Main".
        return value.strip().lower() if isinstance(value, str) else value


class AddressWrite(_Write):
    street: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None


def _address_to_write(address: Address | None) -> AddressWrite | None:
    if address is None:
        return None
    fields = _present(
        street=address.street, city=address.city, state=address.state, postal_code=address.postal_code
    )
    return AddressWrite(**fields) if fields else None


class CustomFieldWrite(_Write):
    """A value for custom-field definition `id` (text, bool, number, ISO date, user id or list of labels)."""

    id: int
    value: Any


class CustomFieldValueWrite(_Write):
    """Body of `PUT /{r}/{id}/custom_fields/{field_id}`."""

    value: Any


class _PersonWrite(_Write):
    emails: list[EmailWrite] | None = None
    phones: list[PhoneWrite] | None = None

    @field_validator("emails")
    @classmethod
    def _one_primary(cls, emails: list[EmailWrite] | None) -> list[EmailWrite] | None:
        if emails and sum(email.is_primary for email in emails) != 1:
            raise ValueError("exactly one email must be primary")
        return emails


class CandidateUpdate(_Write):
    """Body of `PUT /candidates/{id}`.

    CATS documents no `emails`/`phones` here (the sandbox refuses them): those change through the
    `/candidates/{id}/emails` and `/phones` sub-records.
    """

    first_name: Required
    last_name: Required
    middle_name: str | None = None
    title: str | None = None
    address: AddressWrite | None = None
    country_code: CountryCode = None
    social_media_urls: list[str] | None = None
    website: str | None = None
    best_time_to_call: str | None = None
    current_employer: str | None = None
    date_available: date | None = None
    current_pay: str | None = None
    desired_pay: str | None = None
    is_willing_to_relocate: bool | None = None
    key_skills: str | None = None
    notes: str | None = None
    source: str | None = None
    owner_id: int | None = None
    is_active: bool | None = None
    is_hot: bool | None = None
    custom_fields: list[CustomFieldWrite] | None = None
    work_history: list[dict[str, Any]] | None = None


class CandidateWrite(CandidateUpdate, _PersonWrite):
    """Body of `POST /candidates`: the update fields plus emails and phones."""


class ContactWrite(_PersonWrite):
    """Body of `POST /contacts` and `PUT /contacts/{id}`: a contact always has an owner and a company."""

    first_name: Required
    last_name: Required
    owner_id: int
    company_id: int
    title: str | None = None
    reports_to_id: int | None = None
    has_left_company: bool | None = None
    address: AddressWrite | None = None
    country_code: CountryCode = None
    social_media_urls: list[str] | None = None
    is_hot: bool | None = None
    notes: str | None = None
    custom_fields: list[CustomFieldWrite] | None = None


class CompanyWrite(_Write):
    """Body of `POST /companies` and `PUT /companies/{id}`."""

    name: Required
    owner_id: int
    website: str | None = None
    phones: list[PhoneWrite] | None = None
    address: AddressWrite | None = None
    country_code: CountryCode = None
    entered_by_id: int | None = None
    social_media_urls: list[str] | None = None
    notes: str | None = None
    is_hot: bool | None = None
    key_technologies: str | None = None
    billing_contact_id: int | None = None
    custom_fields: list[CustomFieldWrite] | None = None
    user_groups: list[int] | None = None


class ActivityWrite(_Write):
    """Body of `POST /{candidates|contacts|companies}/{id}/activities`; the record is given by the path."""

    type: ActivityType
    notes: str | None = None
    #: A job order the activity is about; None means a general activity.
    regarding_id: int | None = None
    date: AwareDatetime | None = None


WriteModel = (
    CandidateWrite | CandidateUpdate | ContactWrite | CompanyWrite | ActivityWrite | CustomFieldValueWrite
)
