"""The field catalogue cached in a file: fetched from CATS by `refresh()`, read back at start-up.

Custom-field definitions and users change rarely, so they are fetched together by `refresh()`
with the fewest requests CATS allows -- one `GET /{r}/custom_fields` per record type (candidates,
contacts, companies; one page of 100 each) and one `GET /users`: four in all -- and kept in
`catalogue.json` in the data dir. The cache is "stale" after `ttl`; nothing refreshes it behind the
user's back from a read: the daemon's POST /api/catalogue/refresh (or `refresh_if_stale`) does.
The catalogue itself (what the rules read) is the pure companion.settings.catalogue.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

from pydantic import ValidationError

from companion.cats.budget import Priority
from companion.cats.models import CustomFieldDefinition, UserRead
from companion.settings.catalogue import Catalogue, CatalogueUser, CustomField
from companion.settings.fields import CATALOGUE_RESOURCES, CatalogueResource
from companion.settings.storage import atomic_write_json

log = logging.getLogger(__name__)

CATALOGUE_FILE: Final = "catalogue.json"
#: Definitions change rarely and every request counts (500 an hour); a day-old catalogue is fine
#: for the settings window, and "Refresh" is one click away.
DEFAULT_TTL: Final = timedelta(hours=12)


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
