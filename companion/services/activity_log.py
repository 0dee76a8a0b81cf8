"""The push sync log as the user reads it: what was sent to CATS for whom, what changed, and the outcome.

The worker writes one sync_log row per outcome of an outbox item (companion.store.outbox.SyncLog).
`push_entries` turns the newest rows into entries of the same shape as the settings window's
Activity section (companion.server.window.activity: kind, status, at, title, detail, code, retry) with
kind "push", plus the item, the person, the CATS id and the changed fields. A failed item offers
its retry (`POST /api/outbox/{id}/retry`) while it is still failed.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from companion.store.db import Database
from companion.store.outbox import LogEntry, Outbox, SyncLog
from companion.store.people import PeopleStore

ENTRY_KIND: Final = "push"
EntryStatus = Literal["running", "ok", "failed"]

_SINGULAR: Final = {"candidates": "candidate", "contacts": "contact"}
_STATUS: Final[dict[str, EntryStatus]] = {
    "ok": "ok",
    "failed": "failed",
    "waiting": "running",
    "retry": "running",
    "cancelled": "ok",
}


def retry_path(item_id: int) -> str:
    return f"/api/outbox/{item_id}/retry"


def _title(entry: LogEntry, name: str) -> str:
    what = _SINGULAR.get(entry.record_type or "", "record")
    cats = f" (CATS {what} {entry.cats_id})" if entry.cats_id is not None else ""
    titles = {
        "created": f"Created {what} {name} in CATS{cats}",
        "adopted": f"Created {what} {name} in CATS{cats}",
        "updated": f"Updated {what} {name} in CATS{cats}",
        "unchanged": f"{name} is up to date in CATS{cats}",
        "note": f"Added a note to {what} {name}",
        "note adopted": f"Added a note to {what} {name}",
        "retry": f"Queued the push of {name} again",
        "cancel": f"Cancelled a push of {name}",
    }
    if entry.action in titles:
        return titles[entry.action]
    if entry.outcome == "failed":
        return f"Push of {name} failed"
    if entry.outcome == "waiting":
        return f"Push of {name} is waiting ({entry.action.removeprefix('wait for ')})"
    return f"{entry.action} for {name}"


def _detail(entry: LogEntry) -> str:
    parts: list[str] = []
    if entry.changed_fields:
        parts.append("changed: " + ", ".join(entry.changed_fields))
    if entry.message:
        parts.append(entry.message)
    if entry.requests:
        parts.append(f"{entry.requests} CATS request{'s' if entry.requests != 1 else ''}")
    return "; ".join(parts)


async def push_entries(db: Database, *, limit: int = 50) -> list[dict[str, Any]]:
    """The newest push log entries, newest first, in the Activity section's shape."""
    entries = await SyncLog(db).entries(limit=limit)
    person_ids = sorted({entry.person_id for entry in entries if entry.person_id is not None})
    names = await PeopleStore(db).display_names(person_ids)
    still_failed = {
        item.id
        for item in await Outbox(db).get_many(
            sorted({e.outbox_id for e in entries if e.outbox_id is not None and e.outcome == "failed"})
        )
        if item.status == "failed"
    }
    shaped: list[dict[str, Any]] = []
    for entry in entries:
        name = names.get(entry.person_id or -1, "someone")
        retry = None
        if entry.outcome == "failed" and entry.outbox_id in still_failed and entry.outbox_id is not None:
            retry = {"method": "POST", "path": retry_path(entry.outbox_id), "label": "Retry"}
        shaped.append(
            {
                "kind": ENTRY_KIND,
                "status": _STATUS[entry.outcome],
                "outcome": entry.outcome,
                "at": entry.at.isoformat(),
                "title": _title(entry, name),
                "detail": _detail(entry),
                "code": entry.code,
                "retry": retry,
                "outbox_id": entry.outbox_id,
                "person_id": entry.person_id,
                "record_type": entry.record_type,
                "cats_id": entry.cats_id,
                "changed_fields": entry.changed_fields,
                "requests": entry.requests,
            }
        )
    return shaped
