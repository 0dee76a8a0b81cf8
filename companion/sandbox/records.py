"""Per-resource write shapes (validated with pydantic) and their translation into CATS read shapes.

Records are stored as a JSON document of their read fields plus private keys (`_emails`,
`_phones`, `_custom`, `_work_history`) from which the read-shape objects are derived, so a
sub-record write and the parent's `emails{primary,secondary}` / `phones{...}` never disagree.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationError,
    field_validator,
)

from companion.sandbox.errors import SandboxHttpError, validation_failed
from companion.sandbox.instants import parse_date_only, parse_instant

RECORD_RESOURCES: Final = ("candidates", "contacts", "companies")
SINGULAR: Final = {
    "candidates": "candidate",
    "contacts": "contact",
    "companies": "company",
    "activities": "activity",
}
#: Resources whose emails live in `/{r}/{id}/emails` sub-records.
EMAIL_RESOURCES: Final = frozenset({"candidates", "contacts"})
#: Phone sub-records: documented for candidates and contacts; companies [INFERRED].
PHONE_RESOURCES: Final = frozenset({"candidates", "contacts", "companies"})
STATUS_RESOURCES: Final = frozenset({"contacts", "companies"})

ACTIVITY_TYPES: Final = (
    "email",
    "meeting",
    "call_talked",
    "call_lvm",
    "call_missed",
    "text_message",
    "other",
)
#: Write-side phone `type` (case-insensitive) -> the key it fills in the read-side `phones` object.
PHONE_KEYS: Final = {
    "mobile": "cell",
    "cell": "cell",
    "main": "work",
    "work": "work",
    "home": "home",
    "fax": "other",
    "other": "other",
}
READ_PHONE_KEYS: Final = ("home", "cell", "work", "other")

#: Statuses are fixed per site in the sandbox (real CATS lets an admin configure them).
STATUSES: Final[dict[str, list[dict[str, Any]]]] = {
    "companies": [
        {"id": 130, "title": "Active", "mapping": "active"},
        {"id": 131, "title": "Prospect", "mapping": "prospect"},
        {"id": 132, "title": "Hot", "mapping": "active"},
        {"id": 133, "title": "Inactive", "mapping": "inactive"},
    ],
    "contacts": [
        {"id": 150, "title": "Active", "mapping": "active"},
        {"id": 151, "title": "Cold", "mapping": "inactive"},
        {"id": 152, "title": "Left company", "mapping": "inactive"},
    ],
}
_STATUS_WORKFLOW: Final = {"companies": 40, "contacts": 41}

# --- write shapes ------------------------------------------------------------------------------

Name = Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1)]
Text = StrictStr | None
Id = Annotated[StrictInt, Field(gt=0)]
CountryCode = Annotated[StrictStr, StringConstraints(pattern=r"^[A-Za-z]{2}$")]
Pay = StrictStr | StrictInt | StrictFloat | None


class _Body(BaseModel):
    # Unknown keys are refused: a misspelt field silently ignored is a client bug nobody sees.
    # List defaults are `Field(default_factory=list)`: pydantic deep-copies a plain `[]` default
    # on every validation, which showed up when seeding tens of thousands of records.
    model_config = ConfigDict(extra="forbid")


class AddressIn(_Body):
    street: Text = None
    city: Text = None
    state: Text = None
    postal_code: Text = None


def _email_address(value: str) -> str:
    if "@" not in value:
        raise ValueError("not an email address")
    return value


class EmailIn(_Body):
    email: Name
    is_primary: StrictBool = False

    _address = field_validator("email")(_email_address)


class PhoneIn(_Body):
    number: Name
    extension: Text = None
    type: StrictStr = "other"

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value.lower() not in PHONE_KEYS:
            raise ValueError("must be one of mobile, home, work, fax, main, other")
        return value.lower()


class EmailUpdate(_Body):
    """`PUT /{r}/{id}/emails/{email_id}`: `is_primary` may be left out to keep it as it is."""

    email: Name
    is_primary: StrictBool | None = None

    _address = field_validator("email")(_email_address)


class CustomValueIn(_Body):
    id: StrictInt
    value: Any = None


class _PersonCommon(_Body):
    first_name: Name
    last_name: Name
    title: Text = None
    address: AddressIn | None = None
    country_code: CountryCode | None = None
    social_media_urls: list[StrictStr] | None = None
    is_hot: StrictBool = False
    notes: Text = None
    custom_fields: list[CustomValueIn] = Field(default_factory=list)


class CandidateUpdate(_PersonCommon):
    """`PUT /candidates/{id}`: emails and phones are not part of it (use the sub-records)."""

    middle_name: Text = None
    website: Text = None
    best_time_to_call: Text = None
    current_employer: Text = None
    date_available: Text = None
    current_pay: Pay = None
    desired_pay: Pay = None
    is_willing_to_relocate: StrictBool = False
    key_skills: Text = None
    source: Text = None
    owner_id: Id | None = None
    contact_id: Id | None = None
    is_active: StrictBool = True

    @field_validator("date_available")
    @classmethod
    def _calendar_date(cls, value: str | None) -> str | None:
        if value is not None:
            parse_date_only(value)
        return value


class CandidateCreate(CandidateUpdate):
    emails: list[EmailIn] = Field(default_factory=list)
    phones: list[PhoneIn] = Field(default_factory=list)
    password: StrictStr | None = None
    work_history: list[dict[str, Any]] = Field(default_factory=list)


class ContactWrite(_PersonCommon):
    """Create and update share one shape; unlike candidates, the update accepts emails/phones."""

    owner_id: Id
    company_id: Id
    reports_to_id: Id | None = None
    has_left_company: StrictBool = False
    emails: list[EmailIn] = Field(default_factory=list)
    phones: list[PhoneIn] = Field(default_factory=list)


class CompanyWrite(_Body):
    name: Name
    owner_id: Id
    website: Text = None
    phones: list[PhoneIn] = Field(default_factory=list)
    address: AddressIn | None = None
    country_code: CountryCode | None = None
    entered_by_id: Id | None = None
    social_media_urls: list[StrictStr] | None = None
    notes: Text = None
    is_hot: StrictBool = False
    key_technologies: Text = None
    billing_contact_id: Id | None = None
    custom_fields: list[CustomValueIn] = Field(default_factory=list)
    user_groups: list[StrictInt] = Field(default_factory=list)


class ActivityUpdate(_Body):
    type: StrictStr | None = None
    notes: Text = None
    regarding_id: Id | None = None
    date: Text = None

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str | None) -> str | None:
        if value is not None and value not in ACTIVITY_TYPES:
            raise ValueError(f"must be one of {', '.join(ACTIVITY_TYPES)}")
        return value

    @field_validator("date")
    @classmethod
    def _instant(cls, value: str | None) -> str | None:
        if value is not None:
            parse_instant(value)
        return value


class ActivityCreate(ActivityUpdate):
    type: StrictStr


class StatusChange(_Body):
    status_id: StrictInt
    triggers: list[Any] = Field(default_factory=list)


class CustomValueWrite(_Body):
    value: Any


_M = TypeVar("_M", bound=BaseModel)

WRITE_MODELS: Final[dict[tuple[str, str], type[_Body]]] = {
    ("candidates", "create"): CandidateCreate,
    ("candidates", "update"): CandidateUpdate,
    ("contacts", "create"): ContactWrite,
    ("contacts", "update"): ContactWrite,
    ("companies", "create"): CompanyWrite,
    ("companies", "update"): CompanyWrite,
}


def parse_body(model: type[_M], body: Any) -> _M:
    """Validate a JSON body against a write model; 400 "Validation failed." naming each bad field."""
    if not isinstance(body, dict):
        raise SandboxHttpError(400, "The request body must be a JSON object.")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            path = ".".join(str(part) for part in error["loc"]) or "body"
            errors.setdefault(path, error["msg"])
        raise validation_failed(errors) from None


# --- stored documents --------------------------------------------------------------------------

_EMPTY_ADDRESS: Final = {"street": None, "city": None, "state": None, "postal_code": None}

_DEFAULTS: Final[dict[str, dict[str, Any]]] = {
    "candidates": {
        "first_name": "",
        "middle_name": None,
        "last_name": "",
        "title": None,
        "address": _EMPTY_ADDRESS,
        "country_code": None,
        "social_media_urls": [],
        "website": None,
        "best_time_to_call": None,
        "current_employer": None,
        "date_available": None,
        "current_pay": None,
        "desired_pay": None,
        "is_willing_to_relocate": False,
        "key_skills": None,
        "notes": None,
        "source": None,
        "is_hot": False,
        "is_active": True,
        "is_registered": False,
        "contact_id": None,
        "owner_id": None,
        "entered_by_id": None,
        "consent_status": None,
    },
    "contacts": {
        "first_name": "",
        "last_name": "",
        "title": None,
        "reports_to_id": None,
        "owner_id": None,
        "company_id": None,
        "address": _EMPTY_ADDRESS,
        "country_code": None,
        "social_media_urls": [],
        "is_hot": False,
        "has_left_company": False,
        "notes": None,
        "entered_by_id": None,
        "consent_status": None,
        "status_id": STATUSES["contacts"][0]["id"],
    },
    "companies": {
        "name": "",
        "owner_id": None,
        "website": None,
        "address": _EMPTY_ADDRESS,
        "country_code": None,
        "entered_by_id": None,
        "social_media_urls": [],
        "notes": None,
        "is_hot": False,
        "key_technologies": None,
        "billing_contact_id": None,
        "user_groups": [],
        "status_id": STATUSES["companies"][0]["id"],
    },
}

#: Body keys the store handles itself (they need ids, definitions or other records).
_SPECIAL_KEYS: Final = frozenset({"emails", "phones", "custom_fields", "password", "work_history"})


#: The defaults each document gets its own copy of (the address, lists).
_MUTABLE_DEFAULTS: Final = {
    resource: tuple((key, type(value)) for key, value in defaults.items() if isinstance(value, dict | list))
    for resource, defaults in _DEFAULTS.items()
}


def new_document(resource: str) -> dict[str, Any]:
    doc = dict(_DEFAULTS[resource])
    for key, kind in _MUTABLE_DEFAULTS[resource]:
        doc[key] = kind(doc[key])
    doc.update({"_emails": [], "_phones": [], "_custom": {}, "_work_history": []})
    return doc


def apply_fields(doc: dict[str, Any], model: BaseModel) -> None:
    """Copy the plain fields the body actually contained into the stored document."""
    for key in model.model_fields_set - _SPECIAL_KEYS:
        value = getattr(model, key)
        if key == "address":
            doc["address"] = (
                dict(_EMPTY_ADDRESS)
                if value is None
                else {**doc["address"], **value.model_dump(include=value.model_fields_set)}
            )
        elif key == "country_code":
            doc[key] = value.upper() if value is not None else None
        elif key in ("current_pay", "desired_pay"):
            doc[key] = None if value is None else str(value)
        elif key == "social_media_urls":
            doc[key] = list(value or [])
        else:
            doc[key] = value


def primaries_problem(emails: list[dict[str, Any]]) -> str | None:
    """CATS's rule: when a record has any emails, exactly one of them is primary."""
    if emails and sum(1 for e in emails if e["is_primary"]) != 1:
        return "exactly one email must be primary"
    return None


# --- read shapes -------------------------------------------------------------------------------


def _href(path: str) -> dict[str, str]:
    return {"href": path}


def read_fields(resource: str, rid: int, doc: dict[str, Any], created: str, modified: str) -> dict[str, Any]:
    """The record's data fields as CATS returns them (no `_links`/`_embedded`): what filters see."""
    fields: dict[str, Any] = {"id": rid}
    for key, value in doc.items():
        if not key.startswith("_"):
            fields[key] = value
    if resource in EMAIL_RESOURCES:
        emails = doc["_emails"]
        primary = next((e["email"] for e in emails if e["is_primary"]), None)
        secondary = next((e["email"] for e in emails if not e["is_primary"]), None)
        fields["emails"] = {"primary": primary, "secondary": secondary}
    if resource in PHONE_RESOURCES:
        phones: dict[str, str | None] = dict.fromkeys(READ_PHONE_KEYS)
        for phone in doc["_phones"]:
            key = PHONE_KEYS[phone["type"]]
            if phones[key] is None:
                phones[key] = phone["number"]
        fields["phones"] = phones
    fields["date_created"] = created
    fields["date_modified"] = modified
    return fields


def custom_value_row(resource: str, rid: int, field_id: int, value: Any) -> dict[str, Any]:
    return {
        "id": field_id,
        "value": value,
        "_links": {
            "self": _href(f"/{resource}/{rid}/custom_fields/{field_id}"),
            "custom_field": _href(f"/{resource}/custom_fields/{field_id}"),
        },
    }


def email_row(resource: str, rid: int, email: dict[str, Any]) -> dict[str, Any]:
    return {
        **email,
        "_links": {
            "self": _href(f"/{resource}/{rid}/emails/{email['id']}"),
            SINGULAR[resource]: _href(f"/{resource}/{rid}"),
        },
    }


def phone_row(resource: str, rid: int, phone: dict[str, Any]) -> dict[str, Any]:
    return {
        **phone,
        "_links": {
            "self": _href(f"/{resource}/{rid}/phones/{phone['id']}"),
            SINGULAR[resource]: _href(f"/{resource}/{rid}"),
        },
        "_embedded": {},
    }


def status_record(resource: str, status: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": status["id"],
        "workflow_id": _STATUS_WORKFLOW[resource],
        "title": status["title"],
        "mapping": status["mapping"],
        "prerequisites": [],
        "triggers": [],
        "_links": {"self": _href(f"/{resource}/statuses/{status['id']}")},
    }


def find_status(resource: str, status_id: int) -> dict[str, Any] | None:
    return next((s for s in STATUSES.get(resource, []) if s["id"] == status_id), None)


def render(resource: str, rid: int, doc: dict[str, Any], created: str, modified: str) -> dict[str, Any]:
    """The full read shape of a candidate, contact or company (GET, list item, event `_embedded`)."""
    record = read_fields(resource, rid, doc, created, modified)
    base = f"/{resource}/{rid}"
    links: dict[str, Any] = {
        "self": _href(base),
        "custom_fields": _href(f"{base}/custom_fields"),
        "activities": _href(f"{base}/activities"),
    }
    embedded: dict[str, Any] = {
        "custom_fields": [
            custom_value_row(resource, rid, int(fid), value)
            for fid, value in sorted(doc["_custom"].items(), key=lambda kv: int(kv[0]))
        ],
    }
    if resource in EMAIL_RESOURCES:
        links["emails"] = _href(f"{base}/emails")
        embedded["emails"] = [email_row(resource, rid, e) for e in doc["_emails"]]
    if resource in PHONE_RESOURCES:
        links["phones"] = _href(f"{base}/phones")
        embedded["phones"] = [phone_row(resource, rid, p) for p in doc["_phones"]]
    for key, target in (
        ("owner_id", "/users"),
        ("entered_by_id", "/users"),
        ("company_id", "/companies"),
        ("reports_to_id", "/contacts"),
        ("contact_id", "/contacts"),
        ("billing_contact_id", "/contacts"),
    ):
        if record.get(key) is not None:
            links[key.removesuffix("_id")] = _href(f"{target}/{record[key]}")
    if resource in STATUS_RESOURCES:
        status = find_status(resource, record["status_id"])
        links["status"] = _href(f"/{resource}/statuses/{record['status_id']}")
        if status is not None:
            embedded["status"] = status_record(resource, status)
    if resource == "candidates":
        embedded["work_history"] = doc["_work_history"]
    record["_links"] = links
    record["_embedded"] = embedded
    return record


def render_activity(aid: int, doc: dict[str, Any], created: str, modified: str) -> dict[str, Any]:
    record: dict[str, Any] = {"id": aid, **doc, "date_created": created, "date_modified": modified}
    item = doc["data_item"]
    links: dict[str, Any] = {
        "self": _href(f"/activities/{aid}"),
        "data_item": _href(f"/{_PLURAL[item['type']]}/{item['id']}"),
    }
    if doc.get("entered_by_id") is not None:
        links["entered_by"] = _href(f"/users/{doc['entered_by_id']}")
    if doc.get("regarding_id") is not None:
        links["regarding"] = _href(f"/jobs/{doc['regarding_id']}")
    record["_links"] = links
    record["_embedded"] = {}
    return record


_PLURAL: Final = {singular: plural for plural, singular in SINGULAR.items()}


def render_user(uid: int, doc: dict[str, Any]) -> dict[str, Any]:
    return {"id": uid, **doc, "_links": {"self": _href(f"/users/{uid}")}}


# --- duplicate criteria ------------------------------------------------------------------------

_LETTER_AND_DIGIT: Final = re.compile(r"(?=.*[^\W\d_])(?=.*\d)")


def _norm(value: Any) -> str:
    return " ".join(str(value).split()).casefold() if value is not None else ""


def duplicate_keys(resource: str, fields: dict[str, Any], doc: dict[str, Any]) -> set[str]:
    """Keys two records share exactly when CATS would call them duplicates (REFERENCE §10).

    Candidates: same email; or first+last name+zip; or first name+street+city+zip; or first
    name+street+city+state (streets only count with a letter and a digit); or first+last
    name+phone. Contacts: same email, or same first+last name at the same company. Companies:
    same name, case-insensitive, ignoring surrounding whitespace.
    """
    if resource == "companies":
        return {"name:" + str(fields["name"]).strip().casefold()}
    keys = {"email:" + e["email"].strip().casefold() for e in doc["_emails"]}
    first, last = _norm(fields["first_name"]), _norm(fields["last_name"])
    if resource == "contacts":
        keys.add(f"name_company:{first}|{last}|{fields['company_id']}")
        return keys
    address = fields["address"]
    postal = _norm(address.get("postal_code")).replace(" ", "")
    street, city, state = (
        _norm(address.get("street")),
        _norm(address.get("city")),
        _norm(address.get("state")),
    )
    if postal:
        keys.add(f"name_zip:{first}|{last}|{postal}")
    if street and _LETTER_AND_DIGIT.match(street) and city:
        if postal:
            keys.add(f"street_zip:{first}|{street}|{city}|{postal}")
        if state:
            keys.add(f"street_state:{first}|{street}|{city}|{state}")
    for phone in doc["_phones"]:
        digits = "".join(ch for ch in phone["number"] if ch.isdigit())
        if digits:
            keys.add(f"name_phone:{first}|{last}|{digits}")
    return keys
