"""Campaigns, people, the CATS record each person has, campaign members and their events, in SQLite.

Writes take the connection of an open `Database.transaction()`, so a service can write a cause
(a person, a member, an event) and the outbox items it leads to in one transaction. Reads go
through the `Database`. A person's data is stored as the JSON the rules' `Person` model dumps;
this layer does not interpret it (the store sits below the rules).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final, Literal

import aiosqlite
from pydantic import BaseModel, ConfigDict

from companion.store.db import Database

RecordType = Literal["candidates", "contacts"]
SyncTriggerName = Literal["on_add", "on_reply", "when_interested", "never"]
RecordHow = Literal["created", "merged", "adopted"]

_EVENT_COLUMNS: Final = "id, campaign_id, person_id, type, outreach, at, text, source, recorded_at"


def iso(moment: datetime) -> str:
    """How every timestamp is stored: RFC 3339 in UTC."""
    return moment.astimezone(UTC).isoformat()


def parse_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


class Campaign(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    sync_trigger: SyncTriggerName | None
    record_type: RecordType | None
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


class StoredPerson(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    identity_key: str
    display_name: str
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class PersonRecord(BaseModel):
    """The person's record of one type: the CATS id once known."""

    model_config = ConfigDict(frozen=True)

    person_id: int
    record_type: RecordType
    cats_id: int | None
    how: RecordHow | None
    synced_at: datetime | None


class Member(BaseModel):
    model_config = ConfigDict(frozen=True)

    campaign_id: int
    person_id: int
    record_type: RecordType
    added_at: datetime
    #: The rules' PersonSyncState after the latest decision, as JSON ({} before the first).
    state: dict[str, Any]


def _member(row: sqlite3.Row) -> Member:
    return Member(
        campaign_id=row["campaign_id"],
        person_id=row["person_id"],
        record_type=row["record_type"],
        added_at=datetime.fromisoformat(row["added_at"]),
        state=json.loads(row["state"]),
    )


class StoredEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    campaign_id: int
    person_id: int
    type: str
    outreach: str | None
    at: datetime
    text: str | None
    #: Where it came from: "extension", "api", "cli", "import".
    source: str
    recorded_at: datetime


class NameTakenError(Exception):
    """A live campaign already has this name (the service turns it into a CompanionError)."""


def _campaign(row: sqlite3.Row) -> Campaign:
    return Campaign(
        id=row["id"],
        name=row["name"],
        sync_trigger=row["sync_trigger"],
        record_type=row["record_type"],
        archived_at=parse_time(row["archived_at"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
    )


def _person(row: sqlite3.Row) -> StoredPerson:
    return StoredPerson(
        id=row["id"],
        identity_key=row["identity_key"],
        display_name=row["display_name"],
        data=json.loads(row["data"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
    )


def _event(row: sqlite3.Row) -> StoredEvent:
    return StoredEvent(
        id=row["id"],
        campaign_id=row["campaign_id"],
        person_id=row["person_id"],
        type=row["type"],
        outreach=row["outreach"],
        at=datetime.fromisoformat(row["at"]),
        text=row["text"],
        source=row["source"],
        recorded_at=datetime.fromisoformat(row["recorded_at"]),
    )


class PeopleStore:
    """The repository of campaigns, people, their CATS records, members and events."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- campaigns ---------------------------------------------------------------------------------

    async def create_campaign(
        self,
        conn: aiosqlite.Connection,
        *,
        name: str,
        sync_trigger: SyncTriggerName | None,
        record_type: RecordType | None,
        now: datetime,
    ) -> int:
        try:
            cursor = await conn.execute(
                "INSERT INTO campaigns (name, sync_trigger, record_type, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (name, sync_trigger, record_type, iso(now), iso(now)),
            )
        except sqlite3.IntegrityError as exc:
            raise NameTakenError(name) from exc
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    async def update_campaign(
        self, conn: aiosqlite.Connection, campaign_id: int, changes: dict[str, Any], *, now: datetime
    ) -> None:
        """Set the given columns (name, sync_trigger, record_type, archived_at) of one campaign."""
        allowed = {"name", "sync_trigger", "record_type", "archived_at"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"not campaign columns: {sorted(unknown)}")
        values = {k: iso(v) if isinstance(v, datetime) else v for k, v in changes.items()}
        values["updated_at"] = iso(now)
        assignments = ", ".join(f"{column} = ?" for column in values)
        try:
            await conn.execute(
                f"UPDATE campaigns SET {assignments} WHERE id = ?",  # noqa: S608 -- columns checked above
                (*values.values(), campaign_id),
            )
        except sqlite3.IntegrityError as exc:
            raise NameTakenError(str(changes.get("name"))) from exc

    async def campaign(self, campaign_id: int) -> Campaign | None:
        row = await self.db.fetchone("SELECT * FROM campaigns WHERE id = ?", (campaign_id,))
        return None if row is None else _campaign(row)

    async def campaigns(self, *, include_archived: bool = False) -> list[Campaign]:
        where = "" if include_archived else " WHERE archived_at IS NULL"
        rows = await self.db.fetchall(f"SELECT * FROM campaigns{where} ORDER BY id")  # noqa: S608
        return [_campaign(row) for row in rows]

    async def member_counts(self) -> dict[int, int]:
        rows = await self.db.fetchall(
            "SELECT campaign_id, count(*) AS n FROM campaign_members GROUP BY campaign_id"
        )
        return {int(row["campaign_id"]): int(row["n"]) for row in rows}

    # --- people ------------------------------------------------------------------------------------

    async def upsert_person(
        self,
        conn: aiosqlite.Connection,
        *,
        identity_key: str,
        display_name: str,
        data: dict[str, Any],
        now: datetime,
        person_id: int | None = None,
    ) -> int:
        """Store a person's latest data; returns their id.

        `person_id` names the person to update (their data may now compute another identity key, e.g.
        a LinkedIn URL was added); otherwise the person with the same identity key is updated, or one
        is added.
        """
        text = json.dumps(data, ensure_ascii=False, sort_keys=True)
        if person_id is None:
            row = await self.db.fetchone("SELECT id FROM people WHERE identity_key = ?", (identity_key,))
            person_id = None if row is None else int(row["id"])
        if person_id is None:
            cursor = await conn.execute(
                "INSERT INTO people (identity_key, display_name, data, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (identity_key, display_name, text, iso(now), iso(now)),
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid
        # The key first computed stays: it names the person whose outbox is kept in order, even
        # when later data (a LinkedIn URL added) would compute another.
        await conn.execute(
            "UPDATE people SET display_name = ?, data = ?, updated_at = ? WHERE id = ?",
            (display_name, text, iso(now), person_id),
        )
        return person_id

    async def person(self, person_id: int) -> StoredPerson | None:
        row = await self.db.fetchone("SELECT * FROM people WHERE id = ?", (person_id,))
        return None if row is None else _person(row)

    async def display_names(self, person_ids: Sequence[int]) -> dict[int, str]:
        """The display name of each of these people (one query: callers ask for a page's worth)."""
        if not person_ids:
            return {}
        marks = ",".join("?" * len(person_ids))
        sql = f"SELECT id, display_name FROM people WHERE id IN ({marks})"  # noqa: S608
        rows = await self.db.fetchall(sql, person_ids)
        return {int(row["id"]): str(row["display_name"]) for row in rows}

    async def person_by_key(self, identity_key: str) -> StoredPerson | None:
        row = await self.db.fetchone("SELECT * FROM people WHERE identity_key = ?", (identity_key,))
        return None if row is None else _person(row)

    # --- the person's CATS records ----------------------------------------------------------------

    async def record(self, person_id: int, record_type: RecordType) -> PersonRecord | None:
        row = await self.db.fetchone(
            "SELECT * FROM person_records WHERE person_id = ? AND record_type = ?", (person_id, record_type)
        )
        if row is None:
            return None
        return PersonRecord(
            person_id=row["person_id"],
            record_type=row["record_type"],
            cats_id=row["cats_id"],
            how=row["how"],
            synced_at=parse_time(row["synced_at"]),
        )

    async def set_record(
        self,
        conn: aiosqlite.Connection,
        person_id: int,
        record_type: RecordType,
        *,
        cats_id: int | None,
        how: RecordHow | None,
        now: datetime,
    ) -> None:
        await conn.execute(
            "INSERT INTO person_records (person_id, record_type, cats_id, how, synced_at)"
            " VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (person_id, record_type) DO UPDATE SET"
            " cats_id = excluded.cats_id, how = excluded.how, synced_at = excluded.synced_at",
            (person_id, record_type, cats_id, how, iso(now) if cats_id is not None else None),
        )

    # --- members and events -----------------------------------------------------------------------

    async def member(self, campaign_id: int, person_id: int) -> Member | None:
        row = await self.db.fetchone(
            "SELECT * FROM campaign_members WHERE campaign_id = ? AND person_id = ?", (campaign_id, person_id)
        )
        return None if row is None else _member(row)

    async def memberships(self, person_id: int) -> list[Member]:
        rows = await self.db.fetchall(
            "SELECT * FROM campaign_members WHERE person_id = ? ORDER BY campaign_id", (person_id,)
        )
        return [_member(row) for row in rows]

    async def add_member(
        self,
        conn: aiosqlite.Connection,
        campaign_id: int,
        person_id: int,
        record_type: RecordType,
        *,
        now: datetime,
    ) -> None:
        await conn.execute(
            "INSERT INTO campaign_members (campaign_id, person_id, record_type, added_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (campaign_id, person_id) DO UPDATE SET record_type = excluded.record_type",
            (campaign_id, person_id, record_type, iso(now)),
        )

    async def members(self, campaign_id: int) -> list[Member]:
        rows = await self.db.fetchall(
            "SELECT * FROM campaign_members WHERE campaign_id = ? ORDER BY added_at, person_id",
            (campaign_id,),
        )
        return [_member(row) for row in rows]

    async def set_member_state(
        self, conn: aiosqlite.Connection, campaign_id: int, person_id: int, state: dict[str, Any]
    ) -> None:
        await conn.execute(
            "UPDATE campaign_members SET state = ? WHERE campaign_id = ? AND person_id = ?",
            (json.dumps(state, ensure_ascii=False, sort_keys=True), campaign_id, person_id),
        )

    async def add_event(self, conn: aiosqlite.Connection, event: StoredEvent) -> bool:
        """Record an event; False (and nothing written) when an event with its id is already recorded."""
        cursor = await conn.execute(
            f"INSERT INTO campaign_events ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608
            " ON CONFLICT (id) DO NOTHING",
            (
                event.id,
                event.campaign_id,
                event.person_id,
                event.type,
                event.outreach,
                iso(event.at),
                event.text,
                event.source,
                iso(event.recorded_at),
            ),
        )
        return cursor.rowcount == 1

    async def event(self, event_id: str) -> StoredEvent | None:
        row = await self.db.fetchone("SELECT * FROM campaign_events WHERE id = ?", (event_id,))
        return None if row is None else _event(row)

    async def events(self, campaign_id: int, person_id: int) -> list[StoredEvent]:
        """A member's events in the order they were recorded."""
        rows = await self.db.fetchall(
            "SELECT * FROM campaign_events WHERE campaign_id = ? AND person_id = ? ORDER BY rowid",
            (campaign_id, person_id),
        )
        return [_event(row) for row in rows]
