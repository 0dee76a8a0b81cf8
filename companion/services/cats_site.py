"""The CATS site's subdomain, cached in the database, and the links to records in the CATS web UI.

Links to records need the account's subdomain (`GET /site`, REFERENCE.md §14):
`https://{subdomain}.catsone.com/index.php?m=candidates&a=show&candidateID={id}`. The subdomain
never changes for an account, so it is asked for once per API address and kept in the `meta`
table; whoever has already called `GET /site` (the daemon's start-up connection check) can hand
it over with `remember_subdomain` so that no request is spent on it at all.
"""

from __future__ import annotations

import json
import re
from typing import Final

from companion.cats.client import CatsClient
from companion.settings.fields import RecordType
from companion.store.db import Database
from companion.store.meta import get_meta, set_meta

META_KEY: Final = "cats.site"
#: A DNS label: anything else from CATS is not put into a link.
_SUBDOMAIN: Final = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_SHOW: Final[dict[RecordType, tuple[str, str]]] = {
    "candidates": ("candidates", "candidateID"),
    "contacts": ("contacts", "contactID"),
}


def record_url(subdomain: str | None, record_type: RecordType, record_id: int) -> str | None:
    """The record's page in the CATS web UI, or None while the subdomain is unknown (or unusable)."""
    if subdomain is None or not _SUBDOMAIN.match(subdomain):
        return None
    module, id_param = _SHOW[record_type]
    return f"https://{subdomain}.catsone.com/index.php?m={module}&a=show&{id_param}={int(record_id)}"


async def cached_subdomain(db: Database, base_url: str) -> str | None:
    """The subdomain stored for this API address (another account's is ignored)."""
    raw = await get_meta(db, META_KEY)
    if raw is None:
        return None
    try:
        stored = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(stored, dict) or stored.get("base_url") != base_url:
        return None
    subdomain = stored.get("subdomain")
    return subdomain if isinstance(subdomain, str) and _SUBDOMAIN.match(subdomain) else None


async def remember_subdomain(db: Database, base_url: str, subdomain: str | None) -> None:
    if subdomain is None or not _SUBDOMAIN.match(subdomain.lower()):
        return
    await set_meta(db, META_KEY, json.dumps({"base_url": base_url, "subdomain": subdomain.lower()}))


async def site_subdomain(db: Database, client: CatsClient) -> str | None:
    """The cached subdomain, else one `GET /site` (stored for every later call)."""
    found = await cached_subdomain(db, client.base_url)
    if found is not None:
        return found
    info = await client.check_connection()
    await remember_subdomain(db, client.base_url, info.subdomain)
    return await cached_subdomain(db, client.base_url)


__all__ = ["cached_subdomain", "record_url", "remember_subdomain", "site_subdomain"]
