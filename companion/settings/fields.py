"""References to CATS fields (`title`, `address.city`, `custom:88001`) and the standard fields of each record.

A field reference is how every setting names a CATS field: a standard field by its write name
(a dotted name for the parts of `address`), a custom field as `custom:<definition id>`. The tables
below are the standard fields a setting may name, with the kind of value CATS stores in each;
custom fields come from CATS itself (companion.settings.catalogue).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import AfterValidator

#: The records a person can become in CATS.
RecordType = Literal["candidates", "contacts"]
RECORD_TYPES: Final[tuple[RecordType, ...]] = ("candidates", "contacts")
#: Every resource with custom fields the companion reads.
CatalogueResource = Literal["candidates", "contacts", "companies"]
CATALOGUE_RESOURCES: Final[tuple[CatalogueResource, ...]] = ("candidates", "contacts", "companies")

CUSTOM_PREFIX: Final = "custom:"
_CUSTOM: Final = re.compile(r"custom:([1-9][0-9]{0,17})")
_REF: Final = re.compile(r"custom:[1-9][0-9]{0,17}|[a-z][a-z_]*(\.[a-z][a-z_]*)?")


class FieldType(StrEnum):
    """What a field holds: CATS's nine custom-field types plus the shapes of standard fields."""

    TEXT = "text"
    TEXTAREA = "textarea"
    CHECKBOX = "checkbox"
    DATE = "date"
    DROPDOWN = "dropdown"
    RADIO = "radio"
    CHECKBOXES = "checkboxes"
    USER = "user"
    NUMBER = "number"
    #: Standard-only shapes.
    EMAILS = "emails"
    PHONES = "phones"
    URLS = "urls"
    COUNTRY = "country"
    COMPANY = "company"
    CONTACT = "contact"
    STATUS = "status"
    ADDRESS = "address"
    TIMESTAMP = "timestamp"


#: Field types that hold several values, so several variables may feed one of them.
MULTI_VALUED: Final = frozenset({FieldType.EMAILS, FieldType.PHONES, FieldType.URLS, FieldType.CHECKBOXES})
#: Standard field types a variable of ours can be mapped into. The others (owner, flags, dates)
#: are set by other settings or by the user in the extension, never from a scraped profile.
MAPPABLE_STANDARD: Final = frozenset(
    {
        FieldType.TEXT,
        FieldType.TEXTAREA,
        FieldType.EMAILS,
        FieldType.PHONES,
        FieldType.URLS,
        FieldType.COMPANY,
    }
)


@dataclass(frozen=True)
class StandardField:
    ref: str
    label: str
    type: FieldType


def _fields(*rows: tuple[str, str, FieldType]) -> dict[str, StandardField]:
    return {ref: StandardField(ref, label, kind) for ref, label, kind in rows}


_ADDRESS: Final = (
    ("address.street", "Street", FieldType.TEXT),
    ("address.city", "City", FieldType.TEXT),
    ("address.state", "State / region", FieldType.TEXT),
    ("address.postal_code", "Postal code", FieldType.TEXT),
    ("country_code", "Country (ISO code)", FieldType.COUNTRY),
)

#: Writable standard fields of each record type (REFERENCE.md §6.3, §7.2).
STANDARD_FIELDS: Final[dict[RecordType, dict[str, StandardField]]] = {
    "candidates": _fields(
        ("first_name", "First name", FieldType.TEXT),
        ("middle_name", "Middle name", FieldType.TEXT),
        ("last_name", "Last name", FieldType.TEXT),
        ("title", "Title", FieldType.TEXT),
        ("emails", "Emails", FieldType.EMAILS),
        ("phones", "Phones", FieldType.PHONES),
        *_ADDRESS,
        ("social_media_urls", "Social media URLs", FieldType.URLS),
        ("website", "Website", FieldType.TEXT),
        ("current_employer", "Current employer", FieldType.TEXT),
        ("key_skills", "Key skills", FieldType.TEXT),
        ("notes", "Notes", FieldType.TEXTAREA),
        ("source", "Source", FieldType.TEXT),
        ("best_time_to_call", "Best time to call", FieldType.TEXT),
        ("date_available", "Date available", FieldType.DATE),
        ("current_pay", "Current pay", FieldType.TEXT),
        ("desired_pay", "Desired pay", FieldType.TEXT),
        ("is_willing_to_relocate", "Willing to relocate", FieldType.CHECKBOX),
        ("is_hot", "Hot", FieldType.CHECKBOX),
        ("is_active", "Active", FieldType.CHECKBOX),
        ("owner_id", "Owner", FieldType.USER),
    ),
    "contacts": _fields(
        ("first_name", "First name", FieldType.TEXT),
        ("last_name", "Last name", FieldType.TEXT),
        ("title", "Title", FieldType.TEXT),
        ("emails", "Emails", FieldType.EMAILS),
        ("phones", "Phones", FieldType.PHONES),
        *_ADDRESS,
        ("social_media_urls", "Social media URLs", FieldType.URLS),
        ("company_id", "Company", FieldType.COMPANY),
        ("reports_to_id", "Reports to", FieldType.CONTACT),
        ("has_left_company", "Has left the company", FieldType.CHECKBOX),
        ("notes", "Notes", FieldType.TEXTAREA),
        ("is_hot", "Hot", FieldType.CHECKBOX),
        ("owner_id", "Owner", FieldType.USER),
    ),
}

#: The company fields the extension can show beside a profile (REFERENCE.md §8.1), by display key.
COMPANY_FIELDS: Final[dict[str, StandardField]] = _fields(
    ("name", "Name", FieldType.TEXT),
    ("website", "Website", FieldType.TEXT),
    ("phone", "Phone", FieldType.PHONES),
    ("address", "Address", FieldType.ADDRESS),
    ("country_code", "Country", FieldType.COUNTRY),
    ("owner", "Owner", FieldType.USER),
    ("status", "Status", FieldType.STATUS),
    ("key_contact", "Key contact", FieldType.CONTACT),
    ("notes", "Notes", FieldType.TEXTAREA),
    ("is_hot", "Hot", FieldType.CHECKBOX),
    ("key_technologies", "Key technologies", FieldType.TEXT),
    ("social_media_urls", "Social media URLs", FieldType.URLS),
    ("date_created", "Created", FieldType.TIMESTAMP),
    ("date_modified", "Last modified", FieldType.TIMESTAMP),
)


def _check_syntax(ref: str) -> str:
    if not _REF.fullmatch(ref):
        raise ValueError(
            f"{ref!r} is not a field reference: use a standard field name such as 'title' or "
            "'address.city', or 'custom:<definition id>' for a custom field"
        )
    return ref


#: A syntactically valid field reference (whether the field exists depends on the record type).
FieldRef = Annotated[str, AfterValidator(_check_syntax)]


def custom_id(ref: str) -> int | None:
    """The definition id of `custom:<id>`, or None for a standard field."""
    match = _CUSTOM.fullmatch(ref)
    return int(match.group(1)) if match else None


def custom_ref(definition_id: int) -> str:
    return f"{CUSTOM_PREFIX}{definition_id}"


def check_person_field(record_type: RecordType, ref: str) -> str:
    """`ref` if it names a standard field of `record_type` or any custom field, else ValueError."""
    if custom_id(ref) is None and ref not in STANDARD_FIELDS[record_type]:
        known = ", ".join(STANDARD_FIELDS[record_type])
        raise ValueError(f"{ref!r} is not a standard {record_type[:-1]} field (known: {known})")
    return ref


def check_company_field(ref: str) -> str:
    if custom_id(ref) is None and ref not in COMPANY_FIELDS:
        raise ValueError(f"{ref!r} is not a company field (known: {', '.join(COMPANY_FIELDS)})")
    return ref
