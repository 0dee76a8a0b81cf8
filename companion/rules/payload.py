"""The person -> CATS create body: field mapping, displayed-field values, validation, mandatory fields.

How each field's value is found (`wanted_values`):

1. The field mapping (`settings.mapping.<record type>`): a string variable fills its one field; a
   list variable fills each of its targets; a social URL its field. Several variables may feed one
   field: a multi-valued field (emails, phones, social_media_urls, a checkboxes custom field) gets
   all their values, de-duplicated; a single-valued field keeps the first variable (in the order of
   companion.settings.variables) that has a value. A list going into a single text is joined with
   its mapping's joiner (no joiner: only the first entry fits). `first_name`/`last_name` come from
   `Person.names()` (split from the full name when missing).
2. `person.field_values` (what the user typed into displayed fields) override the mapping field by
   field; a blank value there clears the mapped one.
3. Contacts' `company_id` is never mapped from a name: it is the `company_id` argument (the caller
   resolved the company through the company cache), unless the user chose one in `field_values`.
   The owner is `field_values["owner_id"]`, else the `owner_id` argument, else the setting
   `sync.<record type>.default_owner_id`.

Then `build_write`, in this order, each step refusing the whole push with nothing changed:
mandatory fields (the settings' plus those CATS requires: first and last name) ->
`MandatoryFieldsMissingError` listing every missing field with its label; values CATS would refuse
(companion.rules.values: options, numbers, dates, users...; a custom field CATS no longer has) ->
`FieldValuesInvalidError` naming every field; a Contact without company ->
`ContactCompanyMissingError`; without owner -> `OwnerMissingError`. Scraped values going into a
checkboxes custom field keep only the options they match instead of failing; a user's values
must all be valid. The body is finally validated by the CATS write models
(companion.cats.models), so it is exactly what `POST /{candidates|contacts}` accepts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Final

from pydantic import ValidationError

from companion.cats.models import CandidateWrite, ContactWrite
from companion.errors import (
    ContactCompanyMissingError,
    FieldValuesInvalidError,
    MandatoryFieldsMissingError,
    OwnerMissingError,
)
from companion.rules.person import Person, RecordType, is_email
from companion.rules.phones import phone_write
from companion.rules.search import SearchStep, pick_existing, search_plan, search_steps
from companion.rules.urls import canonical_url, url_identity
from companion.rules.values import ValueProblem, convert, is_blank
from companion.settings.catalogue import Catalogue, FieldInfo
from companion.settings.fields import STANDARD_FIELDS, FieldType, check_person_field, custom_id
from companion.settings.mapping import ListMapping
from companion.settings.models import Settings
from companion.settings.variables import Variable

__all__ = [
    "CATS_REQUIRED",
    "SearchStep",
    "Wanted",
    "build_write",
    "field_label",
    "missing_mandatory",
    "pick_existing",
    "search_plan",
    "search_steps",
    "wanted_values",
]

#: Fields CATS refuses a create without, whatever the settings say (REFERENCE.md §6.3, §7.2);
#: a Contact's company and owner have errors of their own.
CATS_REQUIRED: Final[dict[RecordType, tuple[str, ...]]] = {
    "candidates": ("first_name", "last_name"),
    "contacts": ("first_name", "last_name"),
}
_MULTI: Final = frozenset({FieldType.EMAILS, FieldType.PHONES, FieldType.URLS, FieldType.CHECKBOXES})
_OWNER_SETTING: Final = "sync.{}.default_owner_id"


@dataclass(frozen=True)
class Wanted:
    """A field's value before conversion, and whether the user typed it (then it must be valid)."""

    value: Any
    from_user: bool


def field_label(catalogue: Catalogue, record_type: RecordType, ref: str) -> str:
    """The label users know a field by ("First name", a custom field's name), else the reference."""
    info = catalogue.field(record_type, ref)
    return info.label if info is not None else ref


def _person_value(person: Person, variable: Variable) -> Any:
    if variable.key == "first_name":
        return person.names()[0]
    if variable.key == "last_name":
        return person.names()[1]
    return getattr(person, variable.key)


def _single(value: Any, mapping_entry: object) -> Any:
    """A list variable's values as the one value of a single-valued field (module docstring)."""
    if isinstance(value, list):
        joiner = mapping_entry.joiner if isinstance(mapping_entry, ListMapping) else None
        return joiner.join(value) if joiner is not None else value[0]
    return value


def _flatten(values: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for value in values:
        flat.extend(value if isinstance(value, list) else [value])
    return flat


def wanted_values(
    person: Person,
    record_type: RecordType,
    settings: Settings,
    catalogue: Catalogue,
    *,
    company_id: int | None = None,
    owner_id: int | None = None,
) -> dict[str, Wanted]:
    """Every field the push would write, by field reference, before conversion (module docstring).

    Raises FieldValuesInvalidError when `field_values` names a field the record type does not have.
    """
    mapping = settings.mapping.for_record(record_type)
    gathered: dict[str, list[tuple[Variable, Any]]] = defaultdict(list)
    for variable, ref in mapping.assignments():
        value = _person_value(person, variable)
        if not is_blank(value):
            gathered[ref].append((variable, value))

    wanted: dict[str, Wanted] = {}
    for ref, pairs in gathered.items():
        info = catalogue.field(record_type, ref)
        if info is not None and info.type == FieldType.COMPANY:
            continue  # a company name is resolved by the caller: see `company_id`
        if info is not None and info.type in _MULTI:
            wanted[ref] = Wanted(_flatten([value for _variable, value in pairs]), from_user=False)
        else:
            variable, value = pairs[0]
            wanted[ref] = Wanted(_single(value, getattr(mapping, variable.key)), from_user=False)

    if company_id is not None and "company_id" in STANDARD_FIELDS[record_type]:
        wanted["company_id"] = Wanted(company_id, from_user=False)
    default_owner = settings.sync.for_record(record_type).default_owner_id
    owner = owner_id if owner_id is not None else default_owner
    if owner is not None:
        wanted["owner_id"] = Wanted(owner, from_user=False)

    unknown: list[dict[str, str]] = []
    for ref, value in person.field_values.items():
        try:
            check_person_field(record_type, ref)
        except ValueError as exc:
            unknown.append({"field": ref, "label": ref, "message": str(exc)})
            continue
        if is_blank(value):
            wanted.pop(ref, None)
        else:
            wanted[ref] = Wanted(value, from_user=True)
    if unknown:
        raise FieldValuesInvalidError(_message("Cannot push: unknown fields", unknown), fields=unknown)
    return wanted


def _message(prefix: str, problems: list[dict[str, str]]) -> str:
    return f"{prefix}: " + "; ".join(f"{p['label']}: {p['message']}" for p in problems)


def _split_text_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
    if isinstance(value, list | tuple):
        return list(value)
    raise ValueProblem("expects a list")


def _emails(value: Any) -> list[str]:
    emails: list[str] = []
    for item in _split_text_list(value):
        if not isinstance(item, str) or not is_email(item.strip()):
            raise ValueProblem(f"not an email address: {item!r}")
        if item.strip().casefold() not in {email.casefold() for email in emails}:
            emails.append(item.strip())
    return emails


def _phones(value: Any) -> list[dict[str, Any]]:
    phones: list[dict[str, Any]] = []
    for item in _split_text_list(value) if not isinstance(value, str) else [value]:
        if not isinstance(item, str) or not item.strip():
            raise ValueProblem(f"not a phone number: {item!r}")
        phone = phone_write(item)
        if phone["number"] not in {existing["number"] for existing in phones}:
            phones.append(phone)
    return phones


def _urls(value: Any) -> list[str]:
    urls: list[str] = []
    seen: set[str] = set()
    for item in _split_text_list(value) if not isinstance(value, str) else [value]:
        if not isinstance(item, str) or not item.strip() or any(c.isspace() for c in item.strip()):
            raise ValueProblem(f"not a URL: {item!r}")
        identity = url_identity(item)
        if identity not in seen:
            seen.add(identity)
            urls.append(canonical_url(item))
    return urls


def _convert_one(info: FieldInfo | None, wanted: Wanted, catalogue: Catalogue, ref: str) -> Any:
    if info is None:
        if catalogue.loaded:
            raise ValueProblem(
                f"CATS has no custom field {ref} (any more): refresh the field catalogue or change the "
                "mapping and displayed fields"
            )
        # Never fetched: nothing to check against, CATS validates the value itself.
        return wanted.value
    if info.type == FieldType.EMAILS:
        return _emails(wanted.value)
    if info.type == FieldType.PHONES:
        return _phones(wanted.value)
    if info.type == FieldType.URLS:
        return _urls(wanted.value)
    return convert(
        info.type,
        wanted.value,
        options=info.options,
        catalogue=catalogue,
        lenient_options=not wanted.from_user,
    )


@dataclass(frozen=True)
class _Converted:
    values: dict[str, Any]
    problems: list[dict[str, str]]


def _convert_all(wanted: dict[str, Wanted], record_type: RecordType, catalogue: Catalogue) -> _Converted:
    values: dict[str, Any] = {}
    problems: list[dict[str, str]] = []
    for ref, item in wanted.items():
        info = catalogue.field(record_type, ref)
        try:
            value = _convert_one(info, item, catalogue, ref)
        except ValueProblem as exc:
            problems.append(
                {"field": ref, "label": field_label(catalogue, record_type, ref), "message": str(exc)}
            )
            continue
        if not is_blank(value):
            values[ref] = value
    return _Converted(values, problems)


def _mandatory(settings: Settings, record_type: RecordType) -> list[str]:
    refs = list(CATS_REQUIRED[record_type])
    refs += [ref for ref in settings.sync.for_record(record_type).mandatory_fields if ref not in refs]
    return refs


def _missing(
    person: Person,
    record_type: RecordType,
    settings: Settings,
    converted: _Converted,
    *,
    lenient_company: bool,
) -> list[str]:
    invalid = {problem["field"] for problem in converted.problems}
    missing: list[str] = []
    for ref in _mandatory(settings, record_type):
        if ref in converted.values or ref in invalid:
            continue  # an invalid value is reported as invalid, not as missing
        if ref == "company_id" and lenient_company and _names_a_company(person):
            continue
        missing.append(ref)
    return missing


def _names_a_company(person: Person) -> bool:
    return bool(person.current_company or person.company_website or person.company_linkedin)


def missing_mandatory(
    person: Person,
    record_type: RecordType,
    settings: Settings,
    catalogue: Catalogue,
    *,
    company_id: int | None = None,
    owner_id: int | None = None,
) -> list[str]:
    """The mandatory field references the push would leave empty, in the settings' order.

    For checking before a push is queued: a Contact's `company_id` counts as present when given or
    when the person names a company the caller will resolve (`build_write` then needs the id).
    A field whose value is invalid is not "missing" (`build_write` reports it as invalid).
    """
    wanted = wanted_values(person, record_type, settings, catalogue, company_id=company_id, owner_id=owner_id)
    converted = _convert_all(wanted, record_type, catalogue)
    return _missing(person, record_type, settings, converted, lenient_company=company_id is None)


def _raise_missing(refs: list[str], record_type: RecordType, catalogue: Catalogue) -> None:
    fields = [{"field": ref, "label": field_label(catalogue, record_type, ref)} for ref in refs]
    labels = ", ".join(field["label"] for field in fields)
    raise MandatoryFieldsMissingError(
        f"Cannot push this {record_type[:-1]}: mandatory fields are empty: {labels}", fields=fields
    )


def _assemble(values: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    custom_fields: list[dict[str, Any]] = []
    for ref, value in values.items():
        definition_id = custom_id(ref)
        if definition_id is not None:
            custom_fields.append({"id": definition_id, "value": value})
        elif ref.startswith("address."):
            body.setdefault("address", {})[ref.split(".", 1)[1]] = value
        elif ref == "emails":
            body["emails"] = [{"email": email, "is_primary": index == 0} for index, email in enumerate(value)]
        else:
            body[ref] = value
    if custom_fields:
        body["custom_fields"] = sorted(custom_fields, key=lambda row: row["id"])
    return body


def build_write(
    person: Person,
    record_type: RecordType,
    settings: Settings,
    catalogue: Catalogue,
    *,
    company_id: int | None,
    owner_id: int | None,
) -> dict[str, Any]:
    """The exact body of `POST /{record_type}` for `person`, or a PushRefusedError (module docstring)."""
    wanted = wanted_values(person, record_type, settings, catalogue, company_id=company_id, owner_id=owner_id)
    converted = _convert_all(wanted, record_type, catalogue)
    missing = _missing(person, record_type, settings, converted, lenient_company=False)
    if missing:
        _raise_missing(missing, record_type, catalogue)
    if converted.problems:
        raise FieldValuesInvalidError(
            _message("Cannot push: CATS would refuse these values", converted.problems),
            fields=converted.problems,
        )
    values = converted.values
    if record_type == "contacts":
        if "company_id" not in values:
            raise ContactCompanyMissingError(
                "Cannot push this contact: no CATS company was found or chosen for "
                f"{person.current_company or 'their company'}; choose one, or let the companion create "
                "missing companies (setting sync.contacts.missing_company)"
            )
        if "owner_id" not in values:
            setting = _OWNER_SETTING.format(record_type)
            raise OwnerMissingError(
                f"Cannot push this contact: CATS needs an owner; set a default owner ({setting})",
                setting=setting,
            )
    model = CandidateWrite if record_type == "candidates" else ContactWrite
    try:
        return model.model_validate(_assemble(values)).to_body()
    except ValidationError as exc:
        # The converters should have caught every bad value; report a miss as the user's field.
        problems = [
            {
                "field": ".".join(str(part) for part in error["loc"][:1]),
                "label": ".".join(str(part) for part in error["loc"]),
                "message": error["msg"],
            }
            for error in exc.errors()
        ]
        raise FieldValuesInvalidError(
            _message("Cannot push: CATS would refuse these values", problems), fields=problems
        ) from None
