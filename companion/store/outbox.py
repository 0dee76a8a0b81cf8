"""The outbox (every accepted CATS write and its state) and the sync log (what was sent, what came of it).

An item's life: queued -> sending -> synced, or -> waiting (network, rate budget, a time) -> sending
again, or -> failed (CATS refused it; `retry` queues it again) or cancelled. `in_flight` is set in
its own committed transaction right before a create is sent and cleared with the answer: an item
found with `in_flight` set (a crash, a timeout, a reset) is uncertain, and the worker looks in CATS
before sending it again. Writes take the connection of an open `Database.transaction()`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, Literal

import aiosqlite
from pydantic import BaseModel, ConfigDict

from companion.store.db import Database
from companion.store.people import RecordType, iso, parse_time

ItemKind = Literal["record", "note"]
ItemStatus = Literal["queued", "sending", "waiting", "synced", "failed", "cancelled"]
WaitReason = Literal["network", "rate", "until"]
InFlight = Literal["create", "note"]
PriorityName = Literal["interactive", "background"]
LogOutcome = Literal["ok", "waiting", "failed", "cancelled", "retry"]
#: What the team's person claims decided for a record item (docs/teams.md, "Each person created once"):
#: created under this member's claim; waiting for a teammate's create; joined a teammate's record;
#: the team database could not be reached (created with CATS's duplicate check); the person has no
#: LinkedIn URL or email to claim by (likewise); the teammate's record is no longer in CATS (likewise).
TeamClaimState = Literal["claimed", "waiting", "teammate", "unavailable", "no_keys", "stale"]

PENDING: Final = ("queued", "sending", "waiting")
TERMINAL: Final = ("synced", "failed", "cancelled")


class OutboxItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    person_id: int
    person_key: str
    kind: ItemKind
    record_type: RecordType
    priority: PriorityName
    payload: dict[str, Any]
    campaign_id: int | None
    event_id: str | None
    status: ItemStatus
    wait_reason: WaitReason | None
    not_before: datetime | None
    in_flight: InFlight | None
    attempts: int
    attempt_at: datetime | None
    cats_id: int | None
    error_code: str | None
    error_message: str | None
    created_at: datetime
    updated_at: datetime
    team_claim_id: int | None = None
    team_claim: TeamClaimState | None = None

    @property
    def pending(self) -> bool:
        return self.status in PENDING

    def public(self) -> dict[str, Any]:
        """The wire form a caller follows: id, what it is, its state and, when synced, the CATS id."""
        return {
            "id": self.id,
            "kind": self.kind,
            "person_id": self.person_id,
            "record_type": self.record_type,
            "priority": self.priority,
            "status": self.status,
            "waiting_for": self.wait_reason if self.status == "waiting" else None,
            "not_before": self.not_before.isoformat()
            if self.not_before and self.status == "waiting"
            else None,
            "attempts": self.attempts,
            "cats_id": self.cats_id,
            "campaign_id": self.campaign_id,
            "event_id": self.event_id,
            "error": {"code": self.error_code, "message": self.error_message} if self.error_code else None,
            "summary": self.summary(),
            "team_claim": self.team_claim,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }

    def summary(self) -> str:
        singular = "candidate" if self.record_type == "candidates" else "contact"
        if self.kind == "record":
            return f"{singular} record"
        activity = self.payload.get("activity_type", "note")
        return f"{activity} note on the {singular}"


class LogEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    at: datetime
    outbox_id: int | None
    person_id: int | None
    record_type: RecordType | None
    action: str
    outcome: LogOutcome
    cats_id: int | None
    changed_fields: list[str]
    requests: int
    code: str | None
    message: str | None


def _column_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return value


def _item(row: sqlite3.Row) -> OutboxItem:
    return OutboxItem(
        id=row["id"],
        person_id=row["person_id"],
        person_key=row["person_key"],
        kind=row["kind"],
        record_type=row["record_type"],
        priority=row["priority"],
        payload=json.loads(row["payload"]),
        campaign_id=row["campaign_id"],
        event_id=row["event_id"],
        status=row["status"],
        wait_reason=row["wait_reason"],
        not_before=parse_time(row["not_before"]),
        in_flight=row["in_flight"],
        attempts=row["attempts"],
        attempt_at=parse_time(row["attempt_at"]),
        cats_id=row["cats_id"],
        error_code=row["error_code"],
        error_message=row["error_message"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        team_claim_id=row["team_claim_id"],
        team_claim=row["team_claim"],
    )


class Outbox:
    """The outbox table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def enqueue(
        self,
        conn: aiosqlite.Connection,
        *,
        person_id: int,
        person_key: str,
        kind: ItemKind,
        record_type: RecordType,
        priority: PriorityName,
        payload: dict[str, Any],
        now: datetime,
        campaign_id: int | None = None,
        event_id: str | None = None,
    ) -> int:
        cursor = await conn.execute(
            "INSERT INTO outbox (person_id, person_key, kind, record_type, priority, payload, campaign_id,"
            " event_id, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
            (
                person_id,
                person_key,
                kind,
                record_type,
                priority,
                json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str),
                campaign_id,
                event_id,
                iso(now),
                iso(now),
            ),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    async def get(self, item_id: int) -> OutboxItem | None:
        row = await self.db.fetchone("SELECT * FROM outbox WHERE id = ?", (item_id,))
        return None if row is None else _item(row)

    async def get_many(self, ids: Sequence[int]) -> list[OutboxItem]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = await self.db.fetchall(f"SELECT * FROM outbox WHERE id IN ({marks}) ORDER BY id", tuple(ids))  # noqa: S608
        return [_item(row) for row in rows]

    async def items(
        self,
        *,
        statuses: Sequence[ItemStatus] | None = None,
        person_id: int | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> list[OutboxItem]:
        """Items newest first, optionally only those in `statuses` / of one person."""
        clauses: list[str] = []
        params: list[Any] = []
        if statuses:
            clauses.append(f"status IN ({','.join('?' * len(statuses))})")
            params.extend(statuses)
        if person_id is not None:
            clauses.append("person_id = ?")
            params.append(person_id)
        if before_id is not None:
            clauses.append("id < ?")
            params.append(before_id)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self.db.fetchall(
            f"SELECT * FROM outbox{where} ORDER BY id DESC LIMIT ?",  # noqa: S608
            (*params, limit),
        )
        return [_item(row) for row in rows]

    async def pending(self) -> list[OutboxItem]:
        """Every item still to send, oldest first (the worker orders them per person)."""
        rows = await self.db.fetchall(
            "SELECT * FROM outbox WHERE status IN ('queued', 'sending', 'waiting') ORDER BY id"
        )
        return [_item(row) for row in rows]

    async def records_of_pending_people(self) -> set[tuple[int, str]]:
        """(person_id, record_type) of every CATS record already known for a person with items pending.

        A note can only go once its record is in CATS; the worker reads this once per plan.
        """
        rows = await self.db.fetchall(
            "SELECT person_id, record_type FROM person_records WHERE cats_id IS NOT NULL AND person_id IN"
            " (SELECT person_id FROM outbox WHERE status IN ('queued', 'sending', 'waiting'))"
        )
        return {(int(row["person_id"]), str(row["record_type"])) for row in rows}

    async def counts(self) -> dict[str, int]:
        rows = await self.db.fetchall("SELECT status, count(*) AS n FROM outbox GROUP BY status")
        return {str(row["status"]): int(row["n"]) for row in rows}

    async def noted_events(self, person_id: int, record_type: RecordType) -> set[str]:
        """Event ids that already have a note item (sent or on its way) on this person's record."""
        rows = await self.db.fetchall(
            "SELECT event_id FROM outbox WHERE person_id = ? AND record_type = ? AND kind = 'note'"
            " AND status != 'cancelled' AND event_id IS NOT NULL",
            (person_id, record_type),
        )
        return {str(row["event_id"]) for row in rows}

    async def has_live_record_item(
        self, person_id: int, record_type: RecordType, *, exclude: int | None = None
    ) -> bool:
        """Whether a record item for this person is queued, on its way or synced (not failed or cancelled)."""
        row = await self.db.fetchone(
            "SELECT 1 FROM outbox WHERE person_id = ? AND record_type = ? AND kind = 'record'"
            " AND status IN ('queued', 'sending', 'waiting', 'synced') AND id != ? LIMIT 1",
            (person_id, record_type, exclude if exclude is not None else -1),
        )
        return row is not None

    async def last_synced_record_item(self, person_id: int, record_type: RecordType) -> OutboxItem | None:
        """The person's newest record item that reached CATS: the one to send again if the record goes."""
        row = await self.db.fetchone(
            "SELECT * FROM outbox WHERE person_id = ? AND record_type = ? AND kind = 'record'"
            " AND status = 'synced' ORDER BY id DESC LIMIT 1",
            (person_id, record_type),
        )
        return _item(row) if row is not None else None

    async def claim_held_elsewhere(self, claim_id: int, *, exclude: int) -> bool:
        """Whether another pending item created under the team claim `claim_id` (it is not an orphan)."""
        row = await self.db.fetchone(
            "SELECT 1 FROM outbox WHERE team_claim_id = ? AND team_claim = 'claimed' AND id != ?"
            " AND status IN ('queued', 'sending', 'waiting') LIMIT 1",
            (claim_id, exclude),
        )
        return row is not None

    async def update(
        self, conn: aiosqlite.Connection, item_id: int, *, now: datetime, **changes: Any
    ) -> None:
        """Set columns of one item (status, wait_reason, not_before, in_flight, attempts, ...)."""
        allowed = {
            "status",
            "wait_reason",
            "not_before",
            "in_flight",
            "attempts",
            "attempt_at",
            "cats_id",
            "error_code",
            "error_message",
            "priority",
            "payload",
            "team_claim_id",
            "team_claim",
        }
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"not outbox columns: {sorted(unknown)}")
        values = {k: _column_value(v) for k, v in changes.items()}
        values["updated_at"] = iso(now)
        assignments = ", ".join(f"{column} = ?" for column in values)
        await conn.execute(
            f"UPDATE outbox SET {assignments} WHERE id = ?",  # noqa: S608 -- columns checked above
            (*values.values(), item_id),
        )

    async def recover_interrupted(self, conn: aiosqlite.Connection, *, now: datetime) -> int:
        """Items a stopped worker left in "sending" go back to the queue (their `in_flight` stays)."""
        cursor = await conn.execute(
            "UPDATE outbox SET status = 'queued', updated_at = ? WHERE status = 'sending'", (iso(now),)
        )
        return cursor.rowcount


class SyncLog:
    """The sync_log table: one entry per outcome of an outbox item."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self,
        conn: aiosqlite.Connection,
        *,
        now: datetime,
        item: OutboxItem | None,
        action: str,
        outcome: LogOutcome,
        cats_id: int | None = None,
        changed_fields: Sequence[str] = (),
        requests: int = 0,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        await conn.execute(
            "INSERT INTO sync_log (at, outbox_id, person_id, record_type, action, outcome, cats_id,"
            " changed_fields, requests, code, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                iso(now),
                item.id if item else None,
                item.person_id if item else None,
                item.record_type if item else None,
                action,
                outcome,
                cats_id,
                json.dumps(list(changed_fields)),
                requests,
                code,
                message,
            ),
        )

    async def entries(self, *, limit: int = 100, outbox_id: int | None = None) -> list[LogEntry]:
        """Newest first."""
        where, params = ("WHERE outbox_id = ?", (outbox_id,)) if outbox_id is not None else ("", ())
        rows = await self.db.fetchall(
            f"SELECT * FROM sync_log {where} ORDER BY id DESC LIMIT ?",  # noqa: S608
            (*params, limit),
        )
        return [
            LogEntry(
                id=row["id"],
                at=datetime.fromisoformat(row["at"]),
                outbox_id=row["outbox_id"],
                person_id=row["person_id"],
                record_type=row["record_type"],
                action=row["action"],
                outcome=row["outcome"],
                cats_id=row["cats_id"],
                changed_fields=json.loads(row["changed_fields"]),
                requests=row["requests"],
                code=row["code"],
                message=row["message"],
            )
            for row in rows
        ]
