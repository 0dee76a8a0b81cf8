"""Warnings about settings that are valid but cannot work as meant against this CATS account.

Checked against the field catalogue (custom fields and users as CATS last reported them), so they
are advice shown beside the settings, never a reason to refuse a change: CATS can change under
settings that were fine when they were made.
"""

from __future__ import annotations

from collections.abc import Iterator

from companion.settings.base import SettingsWarning
from companion.settings.catalogue import Catalogue
from companion.settings.fields import RECORD_TYPES, CatalogueResource, custom_id
from companion.settings.mapping import mapping_warnings
from companion.settings.models import Settings
from companion.settings.tree import flatten


def settings_warnings(settings: Settings, catalogue: Catalogue) -> list[SettingsWarning]:
    warnings: list[SettingsWarning] = []
    for record_type in RECORD_TYPES:
        mapping = settings.mapping.for_record(record_type)
        warnings.extend(mapping_warnings(mapping, catalogue, prefix=f"mapping.{record_type}"))
        sync = settings.sync.for_record(record_type)
        prefix = f"sync.{record_type}"
        refs = {
            "displayed_fields": sync.displayed_fields,
            "mandatory_fields": sync.mandatory_fields,
            "protected_fields": [rule.field for rule in sync.protected_fields],
            "filterable_fields": sync.filterable_fields,
        }
        for name, listed in refs.items():
            warnings.extend(_missing_custom(catalogue, record_type, f"{prefix}.{name}", listed))
        warnings.extend(_owner(catalogue, record_type, sync.default_owner_id, f"{prefix}.default_owner_id"))
    warnings.extend(
        _missing_custom(
            catalogue, "companies", "general.displayed_company_info", settings.general.displayed_company_info
        )
    )
    if not catalogue.loaded and _uses_custom_fields(settings):
        warnings.append(
            SettingsWarning(
                path="mapping",
                kind="catalogue_not_loaded",
                message=(
                    "The field catalogue has not been fetched from CATS yet, so custom fields "
                    "are not checked; refresh it"
                ),
            )
        )
    return warnings


def _missing_custom(
    catalogue: Catalogue, resource: CatalogueResource, path: str, refs: list[str]
) -> list[SettingsWarning]:
    if not catalogue.loaded:
        return []
    return [
        SettingsWarning(
            path=path,
            kind="missing_custom_field",
            message=f"custom field {ref} no longer exists in CATS for {resource}",
        )
        for ref in refs
        if (definition_id := custom_id(ref)) is not None
        and catalogue.custom_field(resource, definition_id) is None
    ]


def _owner(catalogue: Catalogue, record_type: str, owner_id: int | None, path: str) -> list[SettingsWarning]:
    if owner_id is None:
        if record_type == "contacts":
            return [
                SettingsWarning(
                    path=path,
                    kind="no_owner",
                    message="CATS needs an owner for every new contact: choose a default owner",
                )
            ]
        return []
    if catalogue.loaded and not catalogue.has_user(owner_id):
        return [SettingsWarning(path=path, kind="missing_user", message=f"CATS has no user {owner_id}")]
    return []


def _uses_custom_fields(settings: Settings) -> bool:
    return any(
        custom_id(text) is not None for value in flatten(settings).values() for text in _strings(value)
    )


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
