"""Synchronous read-only queries of the company cache, for the lookup hot path.

A lookup makes half a dozen small queries on indexed columns. Through aiosqlite each costs a thread hop
(~60 µs) and waits behind whatever the writer connection is doing (a sync storing a page); on a connection
of its own, used synchronously from the event loop, each costs 5-30 µs and WAL lets it read while the
writer writes. So the lookup service holds one `CacheReader`: a stdlib `sqlite3` connection that can
only read (`PRAGMA query_only`), used by one thread at a time.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from companion.errors import StoreError
from companion.store.aliases import ALIAS_COLUMNS, Alias, AliasKind, alias_from_row
from companion.store.db import BUSY_TIMEOUT_MS

#: (id, name, domain, linkedin_slug): what matching needs of a company.
MatchRow = tuple[int, str, str | None, str | None]

#: SQLite's bound-parameter limit is far above this; lookups ask for a handful of ids.
_IN_CHUNK: Final = 500


@dataclass(frozen=True, slots=True)
class CompanyDetails:
    """Every cached field of one company, as stored (JSON columns still text), with owner and status names."""

    id: int
    name: str
    website: str | None
    phones: str
    street: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    country_code: str | None
    owner_id: int | None
    owner_name: str | None
    status_id: int | None
    status_title: str | None
    billing_contact_id: int | None
    notes: str | None
    is_hot: int | None
    key_technologies: str | None
    social_media_urls: str
    custom_fields: str
    date_created: str | None
    date_modified: str | None


_DETAILS: Final = (
    "SELECT c.id, c.name, c.website, c.phones, c.street, c.city, c.state, c.postal_code, c.country_code,"
    " c.owner_id, u.display_name, c.status_id, s.title, c.billing_contact_id, c.notes, c.is_hot,"
    " c.key_technologies, c.social_media_urls, c.custom_fields, c.date_created, c.date_modified"
    " FROM companies c LEFT JOIN cats_users u ON u.id = c.owner_id"
    " LEFT JOIN company_statuses s ON s.id = c.status_id WHERE c.id = ?"
)


@dataclass(frozen=True, slots=True)
class PrefixRow:
    """A company as a picker lists it."""

    id: int
    name: str
    name_key: str
    website: str | None
    city: str | None
    country_code: str | None


@dataclass(frozen=True, slots=True)
class CacheStatus:
    """When the cache was last synced, and whether it holds any company."""

    last_success_at: datetime | None
    empty: bool


# One statement: a lookup reads this on every call, and each statement is a round through SQLite.
_STATE: Final = (
    "SELECT (SELECT last_success_at FROM company_sync_state WHERE id = 1),"
    " NOT EXISTS (SELECT 1 FROM companies)"
)


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class CacheReader:
    """Read-only queries on the company cache of the database at `path`."""

    def __init__(self, path: Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        try:
            # check_same_thread=False: built in a worker thread (the index load), then used by the event
            # loop's thread; never by two threads at once.
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the company cache {path}: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError(f"cannot read the company cache {path}: {exc}") from exc
        self._conn = conn
        self.path = path

    def close(self) -> None:
        self._conn.close()

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """One read transaction: every query inside sees the cache as of one commit."""
        if self._conn.in_transaction:
            yield  # already inside one (nested use)
            return
        self._conn.execute("BEGIN")
        try:
            yield
        finally:
            self._conn.execute("COMMIT")

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        """The rows as plain tuples (no row factory: the hot path indexes them by position)."""
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the company cache: {exc}") from exc

    # --- matching ---------------------------------------------------------------------------------

    def match_row(self, company_id: int) -> MatchRow | None:
        rows = self._rows("SELECT id, name, domain, linkedin_slug FROM companies WHERE id = ?", (company_id,))
        return rows[0] if rows else None

    def match_rows(self, ids: Sequence[int]) -> dict[int, MatchRow]:
        found: dict[int, MatchRow] = {}
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            marks = ", ".join("?" * len(chunk))
            sql = f"SELECT id, name, domain, linkedin_slug FROM companies WHERE id IN ({marks})"  # noqa: S608
            for row in self._rows(sql, chunk):
                found[row[0]] = row
        return found

    def by_domain(self, domain: str) -> list[MatchRow]:
        return self._rows(
            "SELECT id, name, domain, linkedin_slug FROM companies WHERE domain = ? ORDER BY id", (domain,)
        )

    def by_linkedin_slug(self, slug: str) -> list[MatchRow]:
        return self._rows(
            "SELECT id, name, domain, linkedin_slug FROM companies WHERE linkedin_slug = ? ORDER BY id",
            (slug,),
        )

    def by_name_key(self, key: str) -> list[MatchRow]:
        if not key:
            return []  # every name without letters or digits shares the empty key: it identifies nothing
        return self._rows(
            "SELECT id, name, domain, linkedin_slug FROM companies WHERE name_key = ? ORDER BY id", (key,)
        )

    def by_key(self, kind: AliasKind, key: str) -> list[MatchRow]:
        """The companies with this LinkedIn slug, registrable domain or name key (the kinds of an alias)."""
        if kind == "linkedin":
            return self.by_linkedin_slug(key)
        if kind == "domain":
            return self.by_domain(key)
        return self.by_name_key(key)

    def name_keys(self, *, batch: int = 10_000) -> Iterator[list[tuple[int, str]]]:
        """Every cached (id, name_key) in id order, `batch` at a time (to build the in-memory index)."""
        try:
            cursor = self._conn.execute("SELECT id, name_key FROM companies ORDER BY id")
            while rows := cursor.fetchmany(batch):
                yield rows
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the company cache: {exc}") from exc

    # --- display ----------------------------------------------------------------------------------

    def details(self, company_id: int) -> CompanyDetails | None:
        rows = self._rows(_DETAILS, (company_id,))
        return CompanyDetails(*rows[0]) if rows else None

    def user_names(self, ids: Sequence[int]) -> dict[int, str]:
        if not ids:
            return {}
        marks = ", ".join("?" * len(ids))
        rows = self._rows(f"SELECT id, display_name FROM cats_users WHERE id IN ({marks})", ids)  # noqa: S608
        return {int(row[0]): str(row[1]) for row in rows}

    # --- pickers ----------------------------------------------------------------------------------

    def key_prefix(self, prefix: str, limit: int) -> list[PrefixRow]:
        """Companies whose name key starts with `prefix` (not empty), in key order, at most `limit`."""
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        rows = self._rows(
            "SELECT id, name, name_key, website, city, country_code FROM companies"
            " WHERE name_key >= ? AND name_key < ? ORDER BY name_key, id LIMIT ?",
            (prefix, upper, limit),
        )
        return [PrefixRow(*row) for row in rows]

    def key_equals(self, key: str, limit: int) -> list[PrefixRow]:
        rows = self._rows(
            "SELECT id, name, name_key, website, city, country_code FROM companies"
            " WHERE name_key = ? ORDER BY id LIMIT ?",
            (key, limit),
        )
        return [PrefixRow(*row) for row in rows]

    # --- freshness --------------------------------------------------------------------------------

    def status(self) -> CacheStatus:
        last_success, empty = self._rows(_STATE)[0]
        return CacheStatus(_parse(last_success), bool(empty))

    # --- aliases ----------------------------------------------------------------------------------

    def aliases(self, keys: Sequence[tuple[AliasKind, str]]) -> list[Alias]:
        """The confirmed aliases of these (kind, key) pairs, whatever company they point at."""
        if not keys:
            return []
        where = " OR ".join("(kind = ? AND key = ?)" for _ in keys)
        params = [part for pair in keys for part in pair]
        rows = self._rows(
            f"SELECT {ALIAS_COLUMNS} FROM company_aliases WHERE {where}",  # noqa: S608
            params,
        )
        return [alias_from_row(row) for row in rows]

    def confirmed_company(self, keys: Sequence[tuple[AliasKind, str]]) -> int | None:
        """The company a recruiter confirmed for the strongest of `keys` that has an alias, or None.

        `keys` strongest first, as companion.services.aliases.alias_keys gives them. Both the lookup
        and the push's choice of a Contact's company ask this, so they agree on what was confirmed.
        An alias to a company no longer in the cache (deleted from CATS) confirms nothing.
        """
        alias = self.confirmed_alias(keys)
        return None if alias is None else alias.company_id

    def confirmed_alias(self, keys: Sequence[tuple[AliasKind, str]]) -> Alias | None:
        """The alias `confirmed_company` goes by (with who confirmed it, in a team, and when), or None."""
        confirmed = {(alias.kind, alias.key): alias for alias in self.aliases(keys)}
        for pair in keys:
            alias = confirmed.get(pair)
            if alias is not None and self.match_row(alias.company_id) is not None:
                return alias
        return None
