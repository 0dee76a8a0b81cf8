"""The company fields a recruiter sees beside a profile, chosen and ordered by "Displayed company info".

Each field comes with a human label and a display value: the owner's and status's names rather than their
ids, an address on one line, phones with their kind, custom fields under the name their definition has in
CATS (the field catalogue) with values shown by type (checkbox -> Yes/No, user -> the user's name, ...).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from companion.settings.catalogue import CustomField
from companion.settings.fields import COMPANY_FIELDS, FieldType, custom_id
from companion.store.lookup_reader import CompanyDetails

#: Looks up CATS users' display names by id (the cached users table).
UserNames = Callable[[Sequence[int]], Mapping[int, str]]


class DisplayedField(BaseModel):
    """One line of the company card."""

    model_config = ConfigDict(frozen=True)

    #: The setting's reference: a standard key ("owner") or "custom:<definition id>".
    key: str
    label: str
    #: What to show; None when the company has no value.
    value: str | None
    #: The CATS id behind the value, to link to: the owner's user id, the status id, the key contact's id.
    ref_id: int | None = None


def _text(value: object) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def _yes_no(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return "Yes" if value.strip().lower() in {"1", "true", "yes", "on", "checked"} else "No"
    return "Yes" if value else "No"


def _timestamp(text: str | None) -> str | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _json(text: str, empty: Any) -> Any:
    try:
        return json.loads(text) if text else empty
    except ValueError:
        return empty


def format_address(details: CompanyDetails) -> str | None:
    """ "1 Main St, Leeds, LS1 1AA, GB": the parts CATS has, in postal order, on one line."""
    region = " ".join(part for part in (details.state, details.postal_code) if part)
    parts = [details.street, details.city, region, details.country_code]
    return ", ".join(part for part in parts if part) or None


def format_phones(phones: Mapping[str, object]) -> str | None:
    """ "+44 113 496 0000 (work); +44 7700 900123 (cell)"."""
    shown = [f"{number} ({kind})" for kind, number in phones.items() if _text(number)]
    return "; ".join(shown) or None


def _standard(ref: str, details: CompanyDetails) -> tuple[str | None, int | None]:
    """The display value of a standard company field, and the id it refers to."""
    match ref:
        case "name":
            return details.name, None
        case "website":
            return details.website, None
        case "phone":
            return format_phones(_json(details.phones, {})), None
        case "address":
            return format_address(details), None
        case "country_code":
            return details.country_code, None
        case "owner":
            if details.owner_id is None:
                return None, None
            return details.owner_name or f"CATS user {details.owner_id}", details.owner_id
        case "status":
            if details.status_id is None:
                return None, None
            return details.status_title or f"Status {details.status_id}", details.status_id
        case "key_contact":
            # Contacts are not cached: the extension links to the contact by id.
            contact = details.billing_contact_id
            return (None, None) if contact is None else (f"CATS contact {contact}", contact)
        case "notes":
            return details.notes, None
        case "is_hot":
            return _yes_no(details.is_hot), None
        case "key_technologies":
            return details.key_technologies, None
        case "social_media_urls":
            urls = [url for url in _json(details.social_media_urls, []) if isinstance(url, str) and url]
            return ", ".join(urls) or None, None
        case "date_created":
            return _timestamp(details.date_created), None
        case "date_modified":
            return _timestamp(details.date_modified), None
    return None, None


def _custom_value(
    value: object, definition: CustomField | None, user_names: UserNames
) -> tuple[str | None, int | None]:
    kind = definition.type if definition is not None else None
    if kind == FieldType.CHECKBOX:
        return _yes_no(value), None
    if kind == FieldType.USER:
        try:
            user_id = int(str(value))
        except ValueError:
            return _text(value), None
        return user_names([user_id]).get(user_id, f"CATS user {user_id}"), user_id
    if isinstance(value, list):
        return ", ".join(text for item in value if (text := _text(item))) or None, None
    return _text(value), None


def displayed_fields(
    details: CompanyDetails,
    refs: Sequence[str],
    custom_definitions: Mapping[int, CustomField],
    user_names: UserNames,
) -> list[DisplayedField]:
    """The fields `refs` names, in that order (unknown standard keys are skipped: settings validate them)."""
    custom_values: dict[str, object] | None = None
    fields: list[DisplayedField] = []
    for ref in refs:
        definition_id = custom_id(ref)
        if definition_id is None:
            standard = COMPANY_FIELDS.get(ref)
            if standard is None:
                continue
            value, ref_id = _standard(ref, details)
            fields.append(DisplayedField(key=ref, label=standard.label, value=_text(value), ref_id=ref_id))
            continue
        if custom_values is None:
            loaded = _json(details.custom_fields, {})
            custom_values = loaded if isinstance(loaded, dict) else {}
        definition = custom_definitions.get(definition_id)
        value, ref_id = _custom_value(custom_values.get(str(definition_id)), definition, user_names)
        label = definition.name if definition is not None else f"Custom field {definition_id}"
        fields.append(DisplayedField(key=ref, label=label, value=value, ref_id=ref_id))
    return fields
