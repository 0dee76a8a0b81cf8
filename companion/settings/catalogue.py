"""The CATS field catalogue: standard fields plus the account's custom fields and users, cached in a file.

Custom-field definitions and users change rarely, so they are fetched together by `refresh()`
with the fewest requests CATS allows -- one `GET /{r}/custom_fields` per record type (candidates,
contacts, companies; one page of 100 each) and one `GET /users`: four in all -- and kept in
`catalogue.json` in the data dir. The cache is "stale" after `ttl`; nothing refreshes it behind the
user's back from a read: the daemon's POST /api/catalogue/refresh (or `refresh_if_stale`) does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from companion.cats.budget import Priority
from companion.cats.models import CustomFieldDefinition, UserRead
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
from companion.settings.storage import atomic_write_json

log = logging.getLogger(__name__)

CATALOGUE_FILE: Final = "catalogue.json"
#: Definitions change rarely and every request counts (500 an hour); a day-old catalogue is fine
#: for the settings window, and "Refresh" is one click away.
DEFAULT_TTL: Final = timedelta(hours=12)


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


@runtime_checkable
class CatalogueClient(Protocol):
    """The part of CatsClient a refresh uses."""

    async def list_custom_fields(
        self, resource: str, *, priority: Priority = Priority.BACKGROUND
    ) -> list[CustomFieldDefinition]: ...

    async def list_users(self, *, priority: Priority = Priority.BACKGROUND) -> list[UserRead]: ...


def _from_definition(definition: CustomFieldDefinition) -> CustomField:
    return CustomField(
        id=definition.id,
        name=definition.name,
        type=str(definition.field.type),
        options=definition.field.labels,
        comment=definition.comment,
    )


def _from_user(user: UserRead) -> CatalogueUser:
    return CatalogueUser(
        id=user.id, name=user.display_name, username=user.username, access_level=user.access_level
    )


class CatalogueStore:
    """The cached catalogue in `path`; a missing or unreadable file is an empty (stale) catalogue."""

    def __init__(
        self,
        path: Path,
        *,
        ttl: timedelta = DEFAULT_TTL,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.path = path
        self.ttl = ttl
        self._clock = clock
        self._current = self._read()

    @property
    def current(self) -> Catalogue:
        return self._current

    def now(self) -> datetime:
        return self._clock()

    def is_stale(self) -> bool:
        return self._current.is_stale(now=self._clock(), ttl=self.ttl)

    async def refresh(
        self, client: CatalogueClient, *, priority: Priority = Priority.INTERACTIVE
    ) -> Catalogue:
        """Ask CATS (four requests); on any error the cached catalogue stays as it was."""
        # One after the other rather than together: if CATS refuses the first, the rest are not spent.
        custom: dict[CatalogueResource, list[CustomField]] = {}
        for resource in CATALOGUE_RESOURCES:
            definitions = await client.list_custom_fields(resource, priority=priority)
            custom[resource] = [_from_definition(d) for d in definitions]
        users = [_from_user(user) for user in await client.list_users(priority=priority)]
        catalogue = Catalogue(fetched_at=self._clock(), custom_fields=custom, users=users)
        atomic_write_json(self.path, catalogue.model_dump(mode="json"), mode=0o600)
        self._current = catalogue
        return catalogue

    async def refresh_if_stale(
        self, client: CatalogueClient, *, priority: Priority = Priority.BACKGROUND
    ) -> Catalogue:
        if self.is_stale():
            return await self.refresh(client, priority=priority)
        return self._current

    def _read(self) -> Catalogue:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Catalogue()
        except OSError as exc:
            log.warning(
                "cannot read the field catalogue cache %s (%s); it will be fetched again", self.path, exc
            )
            return Catalogue()
        try:
            return Catalogue.model_validate(json.loads(text))
        except (ValueError, ValidationError):
            # A cache: a damaged copy is simply fetched again.
            log.warning("the field catalogue cache %s is damaged; it will be fetched again", self.path)
            return Catalogue()
