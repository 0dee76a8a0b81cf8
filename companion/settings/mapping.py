"""Field mapping: which CATS field each of our variables goes into, the defaults, and the warnings.

A string or social variable names one CATS field (or None: not sent); a list variable names zero or
more fields plus the joiner used when a target holds a single text. The models refuse what can
never be right (a field the record type does not have, a standard field no variable can fill, such
as `owner_id`); `mapping_warnings` flags what is valid but cannot work as meant against this CATS
account -- checked against the field catalogue, so it changes when CATS does.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, ClassVar, Final

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from companion.settings.base import Section, SettingsWarning
from companion.settings.catalogue import Catalogue, FieldInfo
from companion.settings.fields import (
    MAPPABLE_STANDARD,
    STANDARD_FIELDS,
    FieldRef,
    FieldType,
    RecordType,
    check_person_field,
    custom_id,
)
from companion.settings.variables import VARIABLES, ValueKind, Variable, VariableKind

MAX_JOINER: Final = 16


class ListMapping(Section):
    """Where a list variable goes: each target gets every value (joined with `joiner` in a text field)."""

    targets: list[FieldRef] = Field(default_factory=list, max_length=10)
    joiner: str | None = Field(
        default=", ",
        description="Put between values written into a single text field; null = no joining",
    )

    @field_validator("targets")
    @classmethod
    def _unique(cls, targets: list[str]) -> list[str]:
        repeated = sorted({ref for ref in targets if targets.count(ref) > 1})
        if repeated:
            raise ValueError(f"each field may appear once; repeated: {', '.join(repeated)}")
        return targets

    @field_validator("joiner")
    @classmethod
    def _joiner(cls, joiner: str | None) -> str | None:
        if joiner is not None and not 1 <= len(joiner) <= MAX_JOINER:
            raise ValueError(f"the joiner must be 1 to {MAX_JOINER} characters, or null for none")
        return joiner


class RecordMapping(Section):
    """One field per variable of companion.settings.variables (a test keeps the two in step)."""

    record_type: ClassVar[RecordType]

    # string variables: exactly one CATS field, or None
    first_name: FieldRef | None
    last_name: FieldRef | None
    full_name: FieldRef | None
    title: FieldRef | None
    headline: FieldRef | None
    current_company: FieldRef | None
    location: FieldRef | None
    summary: FieldRef | None
    source: FieldRef | None
    # list variables: one or more CATS fields
    emails: ListMapping
    phones: ListMapping
    skills: ListMapping
    languages: ListMapping
    education: ListMapping
    # social URL variables: one CATS field each
    linkedin: FieldRef | None
    twitter: FieldRef | None
    github: FieldRef | None
    facebook: FieldRef | None
    website: FieldRef | None

    @field_validator("*")
    @classmethod
    def _targets_exist(cls, value: object) -> object:
        if isinstance(value, str):
            _check_target(cls.record_type, value)
        elif isinstance(value, ListMapping):
            try:
                for ref in value.targets:
                    _check_target(cls.record_type, ref)
            except ValueError as exc:
                # Only here is the record type known; `leaf` points the error at the list's targets.
                raise PydanticCustomError(
                    "field_ref", "{reason}", {"reason": str(exc), "leaf": "targets"}
                ) from None
        return value

    def assignments(self) -> list[tuple[Variable, str]]:
        """(variable, target field) for every mapped target, in the variables' order."""
        pairs: list[tuple[Variable, str]] = []
        for variable in VARIABLES:
            value = getattr(self, variable.key)
            if isinstance(value, ListMapping):
                pairs.extend((variable, ref) for ref in value.targets)
            elif value is not None:
                pairs.append((variable, value))
        return pairs

    def filled_fields(self) -> frozenset[str]:
        """The CATS fields some variable writes."""
        return frozenset(ref for _variable, ref in self.assignments())


class CandidateMapping(RecordMapping):
    record_type: ClassVar[RecordType] = "candidates"


class ContactMapping(RecordMapping):
    record_type: ClassVar[RecordType] = "contacts"


def _check_target(record_type: RecordType, ref: str) -> None:
    check_person_field(record_type, ref)
    if custom_id(ref) is None:
        standard = STANDARD_FIELDS[record_type][ref]
        if standard.type not in MAPPABLE_STANDARD:
            raise ValueError(
                f"{ref!r} ({standard.label}) cannot be filled from a profile; map text, emails, "
                "phones, URLs or the company, or a custom field"
            )


def _joined(targets: list[str], joiner: str | None = ", ") -> dict[str, Any]:
    return {"targets": targets, "joiner": joiner}


_SOCIAL_URLS: Final = "social_media_urls"

#: Out of the box: standard fields only, so a push works against a fresh CATS account.
DEFAULT_MAPPINGS: Final[dict[RecordType, dict[str, Any]]] = {
    "candidates": {
        "first_name": "first_name",
        "last_name": "last_name",
        "full_name": None,
        "title": "title",
        "headline": None,
        "current_company": "current_employer",
        "location": "address.city",
        "summary": None,
        "source": "source",
        "emails": _joined(["emails"], None),
        "phones": _joined(["phones"], None),
        "skills": _joined(["key_skills"]),
        "languages": _joined([]),
        "education": _joined([]),
        "linkedin": _SOCIAL_URLS,
        "twitter": _SOCIAL_URLS,
        "github": _SOCIAL_URLS,
        "facebook": _SOCIAL_URLS,
        "website": "website",
    },
    "contacts": {
        "first_name": "first_name",
        "last_name": "last_name",
        "full_name": None,
        "title": "title",
        "headline": None,
        # The company name is resolved to a CATS company through the company cache.
        "current_company": "company_id",
        "location": "address.city",
        "summary": None,
        # Contacts have no `source` field in CATS.
        "source": None,
        "emails": _joined(["emails"], None),
        "phones": _joined(["phones"], None),
        "skills": _joined([]),
        "languages": _joined([]),
        "education": _joined([]),
        "linkedin": _SOCIAL_URLS,
        "twitter": _SOCIAL_URLS,
        "github": _SOCIAL_URLS,
        "facebook": _SOCIAL_URLS,
        "website": _SOCIAL_URLS,
    },
}


def default_candidate_mapping() -> CandidateMapping:
    return CandidateMapping.model_validate(DEFAULT_MAPPINGS["candidates"])


def default_contact_mapping() -> ContactMapping:
    return ContactMapping.model_validate(DEFAULT_MAPPINGS["contacts"])


# --- warnings ------------------------------------------------------------------------------------


def mapping_warnings(mapping: RecordMapping, catalogue: Catalogue, *, prefix: str) -> list[SettingsWarning]:
    """Every mapping of `mapping` (whose setting paths start with `prefix`) that cannot work as meant."""
    warnings: list[SettingsWarning] = []
    single_valued: dict[str, list[Variable]] = defaultdict(list)
    for variable, ref in mapping.assignments():
        path = _path(prefix, variable)
        info = catalogue.field(mapping.record_type, ref)
        if info is None:
            if catalogue.loaded:
                warnings.append(
                    SettingsWarning(
                        path=path,
                        kind="missing_custom_field",
                        message=f"{variable.label} goes into custom field {ref}, which CATS no longer has",
                    )
                )
            continue
        joiner = getattr(mapping, variable.key).joiner if variable.kind is VariableKind.LIST else None
        warnings.extend(_fit(variable, info, joiner, path))
        if not info.multi:
            single_valued[ref].append(variable)
    for ref, variables in single_valued.items():
        if len(variables) < 2:
            continue
        names = " and ".join(variable.label for variable in variables)
        label = _label(catalogue.field(mapping.record_type, ref), ref)
        for variable in variables:
            warnings.append(
                SettingsWarning(
                    path=_path(prefix, variable),
                    kind="shared_field",
                    message=f"{names} go into {label}, which holds a single value: only one can be kept",
                )
            )
    return warnings


def _path(prefix: str, variable: Variable) -> str:
    suffix = ".targets" if variable.kind is VariableKind.LIST else ""
    return f"{prefix}.{variable.key}{suffix}"


def _label(info: FieldInfo | None, ref: str) -> str:
    return f"'{info.label}' ({ref})" if info is not None else ref


#: The value kind each multi-valued standard type takes.
_VALUE_FOR: Final = {
    FieldType.EMAILS: ValueKind.EMAIL,
    FieldType.PHONES: ValueKind.PHONE,
    FieldType.URLS: ValueKind.URL,
}


def _fit(variable: Variable, info: FieldInfo, joiner: str | None, path: str) -> list[SettingsWarning]:
    """Why `variable` cannot go into the field `info` as is (empty when it can)."""
    label = _label(info, info.ref)
    is_list = variable.kind is VariableKind.LIST

    def warn(kind: str, message: str) -> list[SettingsWarning]:
        return [SettingsWarning(path=path, kind=kind, message=message)]

    if info.type in (FieldType.TEXT, FieldType.TEXTAREA):
        if is_list and joiner is None:
            return warn(
                "list_without_joiner",
                f"{variable.label} is a list but {label} holds a single text and no joiner is set; "
                "set a joiner such as ', ' so every value fits",
            )
        return []
    if info.type in _VALUE_FOR:
        expected = _VALUE_FOR[FieldType(info.type)]
        if variable.value is not expected:
            return warn("type_mismatch", f"{label} holds {expected.value}s; {variable.label} is not one")
        return []
    if info.type == FieldType.COMPANY:
        if is_list or variable.value is not ValueKind.TEXT:
            return warn("type_mismatch", f"{label} needs one company name; {variable.label} is not one")
        return []
    if info.type in (FieldType.DROPDOWN, FieldType.RADIO):
        if is_list:
            return warn("type_mismatch", f"{label} takes one option; {variable.label} is a list")
        return warn("options_may_not_match", _options_message(variable, info, label))
    if info.type == FieldType.CHECKBOXES:
        return warn("options_may_not_match", _options_message(variable, info, label))
    return warn(
        "type_mismatch", f"{label} is a {info.type} field; {variable.label} ({variable.kind}) cannot fill it"
    )


def _options_message(variable: Variable, info: FieldInfo, label: str) -> str:
    options = ", ".join(info.options) or "none defined"
    return (
        f"{label} accepts only its options ({options}); a value of {variable.label} that is not "
        "exactly one of them will be refused by CATS"
    )
