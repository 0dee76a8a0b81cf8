"""The company cache in SQLite: CATS companies with their match keys, owner and status names, sync state.

Writes take the connection of an open `Database.transaction()`, so a caller can put a page of
companies and the sync checkpoint that records it in one transaction. Reads go through the
`Database` and never wait for a writer (WAL). Bulk writes are one `executemany` per table.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any, Final, Literal

import aiosqlite
from pydantic import BaseModel, ConfigDict, Field

from companion.store.db import Database

IncrementalMode = Literal["unknown", "search", "events"]
FullStage = Literal["idle", "scanning", "removing"]

#: Rows per query when streaming the whole cache (index rebuilds).
STREAM_BATCH: Final = 5000
_ZERO: Final = timedelta(0)
#: SQLite's bound-parameter limit is 32766 since 3.32; stay far below it.
_IN_CHUNK: Final = 500


class CompanyRow(BaseModel):
    """A CATS company as the cache stores it, derived match keys included (see company_records)."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    website: str | None = None
    phones: dict[str, str] = Field(default_factory=dict)
    street: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    owner_id: int | None = None
    status_id: int | None = None
    #: CATS's `billing_contact_id`: the company's key contact.
    billing_contact_id: int | None = None
    notes: str | None = None
    is_hot: bool | None = None
    key_technologies: str | None = None
    social_media_urls: list[str] = Field(default_factory=list)
    #: Custom-field definition id -> value.
    custom_fields: dict[int, Any] = Field(default_factory=dict)
    date_created: datetime | None = None
    date_modified: datetime | None = None
    #: `companion.matching.normalize_name(name)`.
    name_key: str
    #: Registrable domain of the website, None when absent or generic.
    domain: str | None = None
    linkedin_slug: str | None = None


class StoredCompany(CompanyRow):
    """A cached company as read back, with the names of its owner and status when known."""

    synced_at: datetime
    owner_name: str | None = None
    status_title: str | None = None


class MatchKeys(BaseModel):
    """What an in-memory matching index needs of one company."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    domain: str | None
    linkedin_slug: str | None


class UserRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    display_name: str
    username: str | None = None
    email: str | None = None


class StatusRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    title: str
    mapping: str | None = None


class SyncRecord(BaseModel):
    """The persisted sync state: the full scan's checkpoint, the incremental cursor, the last outcome."""

    model_config = ConfigDict(frozen=True)

    last_run_id: int = 0
    full_stage: FullStage = "idle"
    full_run_id: int | None = None
    full_next_href: str | None = None
    full_pages_done: int = 0
    full_pages_total: int | None = None
    full_started_at: datetime | None = None
    full_max_modified: datetime | None = None
    last_full_success_at: datetime | None = None
    last_success_at: datetime | None = None
    incremental_mode: IncrementalMode = "unknown"
    high_water: datetime | None = None
    event_cursor: int | None = None
    events_since: datetime | None = None
    last_error_code: str | None = None
    last_error_message: str | None = None
    last_error_at: datetime | None = None


_SYNC_COLUMNS: Final = frozenset(SyncRecord.model_fields)

#: The columns `_company_values` fills, in its order.
_COLUMNS: Final = (
    "id", "name", "website", "phones", "street", "city", "state", "postal_code", "country_code",
    "owner_id", "status_id", "billing_contact_id", "notes", "is_hot", "key_technologies",
    "social_media_urls", "custom_fields", "date_created", "date_modified", "name_key", "domain",
    "linkedin_slug", "synced_at", "seen_run",
)  # fmt: skip
_BY_NAME_KEY: Final = itemgetter(_COLUMNS.index("name_key"))
_INSERT: Final = f"INSERT INTO companies ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"  # noqa: S608
_UPSERT: Final = (
    _INSERT
    + """
ON CONFLICT (id) DO UPDATE SET
    name = excluded.name, website = excluded.website, phones = excluded.phones,
    street = excluded.street, city = excluded.city, state = excluded.state,
    postal_code = excluded.postal_code, country_code = excluded.country_code,
    owner_id = excluded.owner_id, status_id = excluded.status_id,
    billing_contact_id = excluded.billing_contact_id, notes = excluded.notes,
    is_hot = excluded.is_hot, key_technologies = excluded.key_technologies,
    social_media_urls = excluded.social_media_urls, custom_fields = excluded.custom_fields,
    date_created = excluded.date_created, date_modified = excluded.date_modified,
    name_key = excluded.name_key, domain = excluded.domain, linkedin_slug = excluded.linkedin_slug,
    synced_at = excluded.synced_at,
    -- an incremental write (seen_run 0) must not undo what a full scan recorded
    seen_run = max(companies.seen_run, excluded.seen_run)
"""
)
_SELECT: Final = (
    "SELECT c.*, u.display_name AS owner_name, s.title AS status_title FROM companies c"
    " LEFT JOIN cats_users u ON u.id = c.owner_id LEFT JOIN company_statuses s ON s.id = c.status_id"
)


def iso(moment: datetime | None) -> str | None:
    """A timestamp as the cache stores it: RFC 3339 in UTC, so text order is time order."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    elif moment.utcoffset() != _ZERO:
        moment = moment.astimezone(UTC)
    return moment.isoformat()


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _json(value: dict[Any, Any] | list[Any], empty: str) -> str:
    # Most companies have no phones, social links or custom values: skip the encoder for those.
    return json.dumps(value, ensure_ascii=False) if value else empty


def _company_values(row: CompanyRow, synced_at: str, run_id: int) -> tuple[Any, ...]:
    custom = row.custom_fields
    return (
        row.id,
        row.name,
        row.website,
        _json(row.phones, "{}"),
        row.street,
        row.city,
        row.state,
        row.postal_code,
        row.country_code,
        row.owner_id,
        row.status_id,
        row.billing_contact_id,
        row.notes,
        None if row.is_hot is None else int(row.is_hot),
        row.key_technologies,
        _json(row.social_media_urls, "[]"),
        _json({str(k): v for k, v in custom.items()} if custom else {}, "{}"),
        iso(row.date_created),
        iso(row.date_modified),
        row.name_key,
        row.domain,
        row.linkedin_slug,
        synced_at,
        run_id,
    )


def _stored(row: aiosqlite.Row) -> StoredCompany:
    is_hot = row["is_hot"]
    return StoredCompany(
        id=row["id"],
        name=row["name"],
        website=row["website"],
        phones=json.loads(row["phones"]),
        street=row["street"],
        city=row["city"],
        state=row["state"],
        postal_code=row["postal_code"],
        country_code=row["country_code"],
        owner_id=row["owner_id"],
        status_id=row["status_id"],
        billing_contact_id=row["billing_contact_id"],
        notes=row["notes"],
        is_hot=None if is_hot is None else bool(is_hot),
        key_technologies=row["key_technologies"],
        social_media_urls=json.loads(row["social_media_urls"]),
        custom_fields={int(k): v for k, v in json.loads(row["custom_fields"]).items()},
        date_created=_parse(row["date_created"]),
        date_modified=_parse(row["date_modified"]),
        name_key=row["name_key"],
        domain=row["domain"],
        linkedin_slug=row["linkedin_slug"],
        synced_at=datetime.fromisoformat(row["synced_at"]),
        owner_name=row["owner_name"],
        status_title=row["status_title"],
    )


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield ids[start : start + _IN_CHUNK]


class CompanyCache:
    """The company cache of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- writes: inside the caller's transaction --------------------------------------------------

    async def upsert(
        self, conn: aiosqlite.Connection, rows: Sequence[CompanyRow], *, synced_at: datetime, run_id: int = 0
    ) -> None:
        """Insert or replace `rows`; `run_id` marks them seen by that full scan (0: an incremental write)."""
        stamp = iso(synced_at)
        assert stamp is not None
        values = [_company_values(row, stamp, run_id) for row in rows]
        # In name-key order: the name-key index then takes a batch's keys page after page instead of at
        # random places all over it, which at a million companies is most of a write's cost (measured
        # 38k -> 45k rows/s for SQLite alone; the rows themselves go in by id whatever the order).
        values.sort(key=_BY_NAME_KEY)
        await conn.executemany(_UPSERT, values)

    async def delete(self, conn: aiosqlite.Connection, ids: Sequence[int]) -> int:
        """Forget companies deleted in CATS; returns how many were cached."""
        removed = 0
        for chunk in _chunks(list(ids)):
            cursor = await conn.execute(
                f"DELETE FROM companies WHERE id IN ({', '.join('?' * len(chunk))})",  # noqa: S608
                tuple(chunk),
            )
            removed += cursor.rowcount
        return removed

    async def replace_users(
        self, conn: aiosqlite.Connection, users: Sequence[UserRow], *, synced_at: datetime
    ) -> None:
        stamp = iso(synced_at)
        await conn.execute("DELETE FROM cats_users")
        await conn.executemany(
            "INSERT INTO cats_users (id, display_name, username, email, synced_at) VALUES (?, ?, ?, ?, ?)",
            [(u.id, u.display_name, u.username, u.email, stamp) for u in users],
        )

    async def replace_statuses(
        self, conn: aiosqlite.Connection, statuses: Sequence[StatusRow], *, synced_at: datetime
    ) -> None:
        stamp = iso(synced_at)
        await conn.execute("DELETE FROM company_statuses")
        await conn.executemany(
            "INSERT INTO company_statuses (id, title, mapping, synced_at) VALUES (?, ?, ?, ?)",
            [(s.id, s.title, s.mapping, stamp) for s in statuses],
        )

    async def save_sync(self, conn: aiosqlite.Connection, **changes: Any) -> None:
        """Update fields of the persisted SyncRecord (names as in SyncRecord; datetimes are stored UTC)."""
        unknown = set(changes) - _SYNC_COLUMNS
        if unknown:
            raise ValueError(f"not sync state fields: {sorted(unknown)}")
        if not changes:
            return
        values = [iso(v) if isinstance(v, datetime) else v for v in changes.values()]
        assignments = ", ".join(f"{name} = ?" for name in changes)
        # The names were checked against SyncRecord's fields above.
        await conn.execute(f"UPDATE company_sync_state SET {assignments} WHERE id = 1", values)  # noqa: S608

    # --- reads ----------------------------------------------------------------------------------

    async def sync_record(self) -> SyncRecord:
        row = await self.db.fetchone("SELECT * FROM company_sync_state WHERE id = 1")
        if row is None:
            return SyncRecord()
        return SyncRecord.model_validate({name: row[name] for name in SyncRecord.model_fields})

    async def get(self, company_id: int) -> StoredCompany | None:
        row = await self.db.fetchone(f"{_SELECT} WHERE c.id = ?", (company_id,))
        return None if row is None else _stored(row)

    async def get_many(self, ids: Sequence[int]) -> list[StoredCompany]:
        found: list[StoredCompany] = []
        for chunk in _chunks(list(ids)):
            rows = await self.db.fetchall(
                f"{_SELECT} WHERE c.id IN ({', '.join('?' * len(chunk))}) ORDER BY c.id", tuple(chunk)
            )
            found.extend(_stored(row) for row in rows)
        return found

    async def by_domain(self, domain: str) -> list[StoredCompany]:
        rows = await self.db.fetchall(f"{_SELECT} WHERE c.domain = ? ORDER BY c.id", (domain,))
        return [_stored(row) for row in rows]

    async def by_name_key(self, name_key: str) -> list[StoredCompany]:
        if not name_key:
            # Every name without letters or digits shares the empty key: it identifies nothing.
            return []
        rows = await self.db.fetchall(f"{_SELECT} WHERE c.name_key = ? ORDER BY c.id", (name_key,))
        return [_stored(row) for row in rows]

    async def by_linkedin_slug(self, slug: str) -> list[StoredCompany]:
        rows = await self.db.fetchall(f"{_SELECT} WHERE c.linkedin_slug = ? ORDER BY c.id", (slug,))
        return [_stored(row) for row in rows]

    async def rekey_names(self, key: Callable[[str], str], *, batch: int = STREAM_BATCH) -> int:
        """Recompute every cached company's name key as `key(name)`; returns how many keys changed.

        For a new normaliser: keys written by an older one would no longer meet the queries' keys.
        Each batch is its own transaction, and running it again after a stop finishes the job.
        """
        changed = 0
        async for rows in self._stream("SELECT id, name, name_key FROM companies", batch):
            updates = [(fresh, int(row[0])) for row in rows if (fresh := key(str(row[1]))) != row[2]]
            if updates:
                async with self.db.transaction() as conn:
                    await conn.executemany("UPDATE companies SET name_key = ? WHERE id = ?", updates)
            changed += len(updates)
        return changed

    async def names(self, *, batch: int = STREAM_BATCH) -> AsyncIterator[list[tuple[int, str]]]:
        """Every cached (id, name), in id order, `batch` at a time (for index rebuilds)."""
        async for rows in self._stream("SELECT id, name FROM companies", batch):
            yield [(int(row[0]), str(row[1])) for row in rows]

    async def match_keys(self, *, batch: int = STREAM_BATCH) -> AsyncIterator[list[MatchKeys]]:
        """Every cached company's id, name, domain and LinkedIn slug, in id order, `batch` at a time."""
        async for rows in self._stream("SELECT id, name, domain, linkedin_slug FROM companies", batch):
            yield [MatchKeys(id=r[0], name=r[1], domain=r[2], linkedin_slug=r[3]) for r in rows]

    async def _stream(self, select: str, batch: int) -> AsyncIterator[list[aiosqlite.Row]]:
        # Keyset paging: no long-lived cursor holds a read snapshot open between batches.
        after = -1
        while True:
            rows = await self.db.fetchall(f"{select} WHERE id > ? ORDER BY id LIMIT ?", (after, batch))
            if not rows:
                return
            yield rows
            after = int(rows[-1][0])

    async def ids_not_seen(self, run_id: int) -> list[int]:
        rows = await self.db.fetchall("SELECT id FROM companies WHERE seen_run < ? ORDER BY id", (run_id,))
        return [int(row[0]) for row in rows]

    async def count(self) -> int:
        row = await self.db.fetchone("SELECT count(*) FROM companies")
        return int(row[0]) if row is not None else 0

    async def count_modified_after(self, moment: datetime, *, limit: int) -> int:
        """Cached companies whose date_modified is after `moment`, counted up to `limit` (a bounded scan)."""
        row = await self.db.fetchone(
            "SELECT count(*) FROM (SELECT 1 FROM companies WHERE date_modified > ? LIMIT ?)",
            (iso(moment), limit),
        )
        return int(row[0]) if row is not None else 0

    async def user_names(self) -> dict[int, str]:
        rows = await self.db.fetchall("SELECT id, display_name FROM cats_users")
        return {int(row[0]): str(row[1]) for row in rows}

    async def status_titles(self) -> dict[int, str]:
        rows = await self.db.fetchall("SELECT id, title FROM company_statuses")
        return {int(row[0]): str(row[1]) for row in rows}

    async def users(self) -> list[UserRow]:
        rows = await self.db.fetchall("SELECT id, display_name, username, email FROM cats_users ORDER BY id")
        return [UserRow(id=row[0], display_name=row[1], username=row[2], email=row[3]) for row in rows]

    async def statuses(self) -> list[StatusRow]:
        rows = await self.db.fetchall("SELECT id, title, mapping FROM company_statuses ORDER BY id")
        return [StatusRow(id=row[0], title=row[1], mapping=row[2]) for row in rows]

    async def lookups_synced_at(self) -> datetime | None:
        """When the cached users and statuses were read (the older list); None when neither is cached."""
        row = await self.db.fetchone(
            "SELECT min(synced_at) FROM (SELECT synced_at FROM cats_users"
            " UNION ALL SELECT synced_at FROM company_statuses)"
        )
        return _parse(row[0]) if row is not None else None

    async def cache_age(self, now: datetime) -> float | None:
        """Seconds since the last successful sync, None when the cache was never synced."""
        last = (await self.sync_record()).last_success_at
        return None if last is None else max(0.0, (now - last).total_seconds())
