"""The CATS field catalogue: standard fields plus the account's custom fields and users, as values.

Pure (no file, no request): the rules and the settings checks read a `Catalogue`. Where it comes
from -- four requests to CATS, cached in `catalogue.json` -- is companion.settings.catalogue_store.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from companion.settings.fields import (
    CATALOGUE_RESOURCES,
    COMPANY_FIELDS,
    MULTI_VALUED,
    STANDARD_FIELDS,
    CatalogueResource,
    FieldType,
    custom_id,
    custom_ref,
)


class CatalogueUser(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    name: str
    username: str | None = None
    access_level: str | None = None


class CustomField(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    name: str
    #: One of CATS's nine types; a type CATS adds later is kept as its text.
    type: str
    options: list[str] = Field(default_factory=list)
    comment: str | None = None


class FieldInfo(BaseModel):
    """One field as the settings window and the mapping checks see it."""

    model_config = ConfigDict(frozen=True)

    ref: str
    label: str
    type: str
    multi: bool
    custom: bool
    options: list[str] = Field(default_factory=list)


def _no_custom_fields() -> dict[CatalogueResource, list[CustomField]]:
    return {resource: [] for resource in CATALOGUE_RESOURCES}


class Catalogue(BaseModel):
    """What CATS told us at `fetched_at` (None: never asked), on top of the standard fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    fetched_at: datetime | None = None
    custom_fields: dict[CatalogueResource, list[CustomField]] = Field(default_factory=_no_custom_fields)
    users: list[CatalogueUser] = Field(default_factory=list)

    @property
    def loaded(self) -> bool:
        return self.fetched_at is not None

    def custom_field(self, resource: CatalogueResource, definition_id: int) -> CustomField | None:
        return next((f for f in self.custom_fields.get(resource, []) if f.id == definition_id), None)

    def field(self, resource: CatalogueResource, ref: str) -> FieldInfo | None:
        """The field `ref` names, or None when it is unknown (a custom field not (or no longer) in CATS)."""
        definition_id = custom_id(ref)
        if definition_id is not None:
            custom = self.custom_field(resource, definition_id)
            return _custom_info(custom) if custom is not None else None
        standard = COMPANY_FIELDS if resource == "companies" else STANDARD_FIELDS[resource]
        found = standard.get(ref)
        if found is None:
            return None
        return FieldInfo(
            ref=found.ref, label=found.label, type=found.type, multi=found.type in MULTI_VALUED, custom=False
        )

    def fields(self, resource: CatalogueResource) -> list[FieldInfo]:
        standard = COMPANY_FIELDS if resource == "companies" else STANDARD_FIELDS[resource]
        infos = [info for ref in standard if (info := self.field(resource, ref)) is not None]
        return infos + [_custom_info(custom) for custom in self.custom_fields.get(resource, [])]

    def has_user(self, user_id: int) -> bool:
        return any(user.id == user_id for user in self.users)

    def describe(self, *, now: datetime, ttl: timedelta) -> dict[str, Any]:
        """The wire form: every field per resource, the users, and whether it is time to refresh."""
        return {
            "fetched_at": self.fetched_at.isoformat() if self.fetched_at else None,
            "stale": self.is_stale(now=now, ttl=ttl),
            "fields": {
                resource: [info.model_dump(mode="json") for info in self.fields(resource)]
                for resource in CATALOGUE_RESOURCES
            },
            "users": [user.model_dump(mode="json") for user in self.users],
        }

    def summary(self, *, now: datetime, ttl: timedelta) -> dict[str, Any]:
        return {
            "fetched_at": self.fetched_at.isoformat() if self.fetched_at else None,
            "stale": self.is_stale(now=now, ttl=ttl),
            "custom_fields": {
                resource: len(self.custom_fields.get(resource, [])) for resource in CATALOGUE_RESOURCES
            },
            "users": len(self.users),
        }

    def is_stale(self, *, now: datetime, ttl: timedelta) -> bool:
        return self.fetched_at is None or now - self.fetched_at >= ttl


def _custom_info(custom: CustomField) -> FieldInfo:
    return FieldInfo(
        ref=custom_ref(custom.id),
        label=custom.name,
        type=custom.type,
        multi=custom.type == FieldType.CHECKBOXES,
        custom=True,
        options=list(custom.options),
    )
