"""All sandbox data in one SQLite database (stdlib sqlite3): records, users, custom fields and events.

Records are JSON documents keyed by (resource, id); what is looked up by value (duplicate
criteria, a record's activities, events by time) has its own indexed table or column. An event
keeps the document its write stored and is rendered when read. Every public write runs in one
savepoint, so a refused write changes nothing, and `bulk()` groups many writes (seeding) into one
transaction; id counters are saved when the outermost write commits.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from pydantic import BaseModel
from pydantic_core import to_json

from companion.sandbox.customfields import build_definition, coerce_value, definition_problem
from companion.sandbox.errors import DuplicateRecordError, SandboxHttpError, not_found, validation_failed
from companion.sandbox.instants import format_instant, parse_instant
from companion.sandbox.records import (
    EMAIL_RESOURCES,
    PHONE_RESOURCES,
    RECORD_RESOURCES,
    SINGULAR,
    STATUS_RESOURCES,
    STATUSES,
    WRITE_MODELS,
    ActivityCreate,
    ActivityUpdate,
    CustomValueIn,
    CustomValueWrite,
    EmailIn,
    EmailUpdate,
    PhoneIn,
    StatusChange,
    apply_fields,
    custom_value_row,
    duplicate_keys,
    email_row,
    find_status,
    new_document,
    parse_body,
    phone_row,
    primaries_problem,
    read_fields,
    render,
    render_activity,
    render_user,
    status_record,
)
from companion.sandbox.search import (
    COLUMN_FIELDS,
    Predicate,
    compile_filter,
    free_text,
    referenced_fields,
)

__all__ = ["EventPage", "Page", "SandboxHttpError", "SandboxStore"]

#: Where each id sequence starts: realistic magnitudes, so nobody mistakes one kind of id for another.
_FIRST_IDS: Final = {
    "users": 4001,
    "candidates": 700001,
    "contacts": 55001,
    "companies": 9001,
    "activities": 3300001,
    "custom_fields": 88001,
    "selections": 1,
    "emails": 610001,
    "phones": 620001,
}
EVENTS_PER_PAGE: Final = 25
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND: Final = timedelta(seconds=1)

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, last_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS custom_fields (id INTEGER PRIMARY KEY, resource TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS custom_fields_by_resource ON custom_fields (resource, id);
CREATE TABLE IF NOT EXISTS records (
    resource TEXT NOT NULL, id INTEGER NOT NULL, parent TEXT, doc TEXT NOT NULL,
    date_created TEXT NOT NULL, date_modified TEXT NOT NULL,
    PRIMARY KEY (resource, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_by_parent ON records (resource, parent, id);
CREATE TABLE IF NOT EXISTS duplicate_keys (
    resource TEXT NOT NULL, key TEXT NOT NULL, record_id INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS duplicate_keys_by_key ON duplicate_keys (resource, key, record_id);
CREATE INDEX IF NOT EXISTS duplicate_keys_by_record ON duplicate_keys (resource, record_id);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, ts REAL NOT NULL, doc TEXT NOT NULL,
    resource TEXT, record TEXT, date_created TEXT, date_modified TEXT
);
CREATE INDEX IF NOT EXISTS events_by_time ON events (ts, id);
CREATE TABLE IF NOT EXISTS site (id INTEGER PRIMARY KEY CHECK (id = 1), doc TEXT NOT NULL);
"""
#: An event's record as it was written (its resource, stored document and dates), rendered when the
#: event is read. Databases from before these columns existed get them added, empty: their events
#: carry the rendered record in `doc` instead.
_EVENT_RECORD_COLUMNS: Final = ("resource", "record", "date_created", "date_modified")


@dataclass(frozen=True)
class Page:
    """One page of a collection: the rendered items and the size of the whole result."""

    items: list[dict[str, Any]]
    total: int


@dataclass(frozen=True)
class EventPage:
    items: list[dict[str, Any]]
    last_id: int | None
    has_more: bool


def _sent(model: BaseModel, key: str, default: Any) -> Any:
    """A field as the body sent it, or `default`."""
    # Never asks a model for a field its shape lacks: pydantic answers that by raising, slowly.
    return getattr(model, key) if key in model.model_fields_set else default


def _dumps(value: Any) -> str:
    """Compact UTF-8 JSON, as `json.dumps(separators=(",", ":"), ensure_ascii=False)` writes it.

    pydantic-core's encoder, three times faster than the standard library's on record documents
    (which dominated seeding), gives the same text for everything a JSON body can hold: only the
    spelling of some float exponents differs (`1e-7` for `1e-07`), and reads back the same.
    """
    return to_json(value).decode()


_SAVE_COUNTER: Final = (
    "INSERT INTO counters (name, last_id) VALUES (?, ?) "
    "ON CONFLICT (name) DO UPDATE SET last_id = excluded.last_id"
)


class SandboxStore:
    """All sandbox data, in SQLite: ':memory:' by default, or a file (--db PATH) kept across restarts."""

    def __init__(
        self,
        db_path: str | None = None,
        *,
        duplicate_status: int = 409,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.duplicate_status = duplicate_status
        #: The put-clears-omitted quirk: a PUT resets every writable field its body leaves out.
        self.put_clears_omitted = False
        self._clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        # The harness may call the store from a worker thread (seeding) while the event loop
        # serves requests: one lock serialises every use of the one connection.
        self._lock = threading.RLock()
        self._db = sqlite3.connect(db_path or ":memory:", check_same_thread=False, isolation_level=None)
        if db_path and db_path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        event_columns = {row[1] for row in self._db.execute("PRAGMA table_info(events)")}
        for column in _EVENT_RECORD_COLUMNS:
            if column not in event_columns:
                self._db.execute(f"ALTER TABLE events ADD COLUMN {column} TEXT")
        self._savepoints = 0
        # Per open savepoint, innermost last: sequence -> the last id it handed out. Counter rows
        # are written once, when the outermost write commits, instead of once per id.
        self._allocated: list[dict[str, int]] = []
        self._formatted: tuple[int | None, str] = (None, "")
        self._counters: dict[str, int] = dict(
            self._db.execute("SELECT name, last_id FROM counters").fetchall()
        )
        self._user_ids: set[int] = {row[0] for row in self._db.execute("SELECT id FROM users")}
        self._definitions: dict[str, dict[int, dict[str, Any]]] = {r: {} for r in RECORD_RESOURCES}
        for fid, resource, doc in self._db.execute("SELECT id, resource, doc FROM custom_fields"):
            self._definitions[resource][fid] = json.loads(doc)

    @property
    def duplicate_status(self) -> int:
        """Status of a `check_duplicate=true` hit (CATS's own is unknown; 409 by default)."""
        return self._duplicate_status

    @duplicate_status.setter
    def duplicate_status(self, status: int) -> None:
        if not 400 <= status <= 499:
            raise ValueError("the duplicate status must be a 4xx code")
        self._duplicate_status = status

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- plumbing ---------------------------------------------------------------------------

    @contextmanager
    def bulk(self) -> Iterator[None]:
        """Run many writes in one transaction (seeding 10,000 records commits once)."""
        with self._write():
            yield

    @contextmanager
    def _write(self) -> Iterator[None]:
        with self._lock:
            self._savepoints += 1
            name = f"w{self._savepoints}"
            self._db.execute(f"SAVEPOINT {name}")
            allocated: dict[str, int] = {}
            self._allocated.append(allocated)
            try:
                try:
                    yield
                finally:
                    self._allocated.pop()
                # A refused write's ids stay used in memory but its counter rows are rolled back,
                # exactly as when every id was written at once: only committed writes pass theirs on.
                if self._allocated:
                    self._allocated[-1].update(allocated)
                elif allocated:
                    self._db.executemany(_SAVE_COUNTER, allocated.items())
            except BaseException:
                self._db.execute(f"ROLLBACK TO {name}")
                self._db.execute(f"RELEASE {name}")
                raise
            else:
                self._db.execute(f"RELEASE {name}")
            finally:
                self._savepoints -= 1

    def _now(self) -> str:
        return self._format(self._clock())

    def _format(self, moment: datetime) -> str:
        """`format_instant(moment)`, reusing the text of the last whole second formatted."""
        # A write reads the clock several times within one second, and formatting costs more than
        # the rest of a read. An aware instant's text depends only on its whole second (exact
        # integer arithmetic, whatever its zone); a naive one is formatted every time.
        if moment.utcoffset() is None:
            return format_instant(moment)
        second = (moment - _EPOCH) // _SECOND
        if second != self._formatted[0]:
            self._formatted = (second, format_instant(moment))
        return self._formatted[1]

    def _next_id(self, sequence: str) -> int:
        # Ids are never reused, even after a delete or a rolled-back write (CATS's are not either).
        next_id = self._counters.get(sequence, _FIRST_IDS[sequence] - 1) + 1
        self._counters[sequence] = next_id
        self._allocated[-1][sequence] = next_id
        return next_id

    def _default_user(self) -> int | None:
        """The user writes are attributed to when a body names none: the site's first user."""
        return min(self._user_ids) if self._user_ids else None

    @staticmethod
    def _check_resource(resource: str, allowed: frozenset[str] | tuple[str, ...] = RECORD_RESOURCES) -> None:
        if resource not in allowed:
            raise not_found(f"Resource {resource!r}")

    def record_counts(self) -> dict[str, int]:
        with self._lock:
            counts = dict.fromkeys(("candidates", "contacts", "companies", "activities"), 0)
            counts.update(
                self._db.execute("SELECT resource, count(*) FROM records GROUP BY resource").fetchall()
            )
            for table in ("users", "custom_fields", "events"):
                counts[table] = self._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            return counts

    # --- users ------------------------------------------------------------------------------

    def create_user(
        self,
        *,
        username: str,
        first_name: str,
        last_name: str,
        title: str = "",
        access_level: str = "administrator",
    ) -> int:
        errors = {
            key: "must be a non-empty string"
            for key, value in (
                ("username", username),
                ("first_name", first_name),
                ("last_name", last_name),
                ("access_level", access_level),
            )
            if not isinstance(value, str) or not value.strip()
        }
        if not isinstance(title, str):
            errors["title"] = "must be a string"
        if errors:
            raise validation_failed(errors)
        doc = {
            "username": username.strip(),
            "first_name": first_name.strip(),
            "last_name": last_name.strip(),
            "title": title,
            "access_level": access_level.strip(),
        }
        with self._write():
            if self._db.execute("SELECT 1 FROM users WHERE username = ?", (doc["username"],)).fetchone():
                raise validation_failed({"username": "is already taken"})
            uid = self._next_id("users")
            self._db.execute(
                "INSERT INTO users (id, username, doc) VALUES (?, ?, ?)", (uid, doc["username"], _dumps(doc))
            )
            self._user_ids.add(uid)
        return uid

    def list_users(self, page: int, per_page: int) -> Page:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, doc FROM users ORDER BY id LIMIT ? OFFSET ?", (per_page, (page - 1) * per_page)
            ).fetchall()
            return Page([render_user(uid, json.loads(doc)) for uid, doc in rows], len(self._user_ids))

    def get_user(self, user_id: int) -> dict[str, Any]:
        with self._lock:
            row = self._db.execute("SELECT doc FROM users WHERE id = ?", (user_id,)).fetchone()
        if row is None:
            raise not_found(f"User {user_id}")
        return render_user(user_id, json.loads(row[0]))

    # --- site -------------------------------------------------------------------------------

    def site(self) -> dict[str, Any]:
        with self._lock:
            row = self._db.execute("SELECT doc FROM site WHERE id = 1").fetchone()
        settings = json.loads(row[0]) if row else {}
        return {
            "id": 1,
            "mode": settings.get("mode", "live"),
            "subdomain": settings.get("subdomain", "sandbox"),
            "default_company_id": settings.get("default_company_id"),
        }

    def configure_site(self, *, subdomain: str = "sandbox", default_company_id: int | None = None) -> None:
        """Set what `GET /site` answers (CATS keeps an "own" company per site: default_company_id)."""
        with self._write():
            if default_company_id is not None and self._row("companies", default_company_id) is None:
                raise validation_failed({"default_company_id": "no such company"})
            doc = {"mode": "live", "subdomain": subdomain, "default_company_id": default_company_id}
            self._db.execute("INSERT OR REPLACE INTO site (id, doc) VALUES (1, ?)", (_dumps(doc),))

    # --- custom field definitions -------------------------------------------------------------

    def create_custom_field(
        self,
        resource: str,
        *,
        name: str,
        field_type: str,
        selections: list[str] | None = None,
        comment: str = "",
    ) -> int:
        problem = definition_problem(resource, name, field_type, selections)
        if problem is None and not isinstance(comment, str):
            problem = "the comment must be a string"
        if problem is not None:
            raise validation_failed({"custom_field": problem})
        with self._write():
            fid = self._next_id("custom_fields")
            labelled = [(self._next_id("selections"), label.strip()) for label in selections or []]
            definition = build_definition(
                resource, fid, name=name, field_type=field_type, selections=labelled, comment=comment
            )
            self._db.execute(
                "INSERT INTO custom_fields (id, resource, doc) VALUES (?, ?, ?)",
                (fid, resource, _dumps(definition)),
            )
        self._definitions[resource][fid] = definition
        return fid

    def list_custom_fields(self, resource: str, page: int, per_page: int) -> Page:
        self._check_resource(resource)
        definitions = [self._definitions[resource][fid] for fid in sorted(self._definitions[resource])]
        start = (page - 1) * per_page
        return Page(definitions[start : start + per_page], len(definitions))

    def get_custom_field(self, resource: str, field_id: int) -> dict[str, Any]:
        self._check_resource(resource)
        definition = self._definitions[resource].get(field_id)
        if definition is None:
            raise not_found(f"Custom field {field_id}")
        return definition

    # --- records: rows and validation ---------------------------------------------------------

    def _row(self, resource: str, rid: int) -> tuple[dict[str, Any], str, str] | None:
        row = self._db.execute(
            "SELECT doc, date_created, date_modified FROM records WHERE resource = ? AND id = ?",
            (resource, rid),
        ).fetchone()
        return None if row is None else (json.loads(row[0]), row[1], row[2])

    def _require(self, resource: str, rid: int) -> tuple[dict[str, Any], str, str]:
        row = self._row(resource, rid)
        if row is None:
            raise not_found(f"{SINGULAR[resource].capitalize()} {rid}")
        return row

    def _exists(self, resource: str, rid: int) -> bool:
        return (
            self._db.execute(
                "SELECT 1 FROM records WHERE resource = ? AND id = ?", (resource, rid)
            ).fetchone()
            is not None
        )

    def _check_references(
        self, resource: str, rid: int | None, doc: dict[str, Any], present: set[str]
    ) -> dict[str, str]:
        """Ids in a body must name records that exist (and fit): checked only for keys sent."""
        errors: dict[str, str] = {}
        for key in ("owner_id", "entered_by_id"):
            if key in present and doc.get(key) is not None and doc[key] not in self._user_ids:
                errors[key] = "must be the id of an existing user"
        if "company_id" in present and not self._exists("companies", doc["company_id"]):
            errors["company_id"] = "must be the id of an existing company"
        for key in ("reports_to_id", "contact_id"):
            if key in present and doc.get(key) is not None:
                if not self._exists("contacts", doc[key]):
                    errors[key] = "must be the id of an existing contact"
                elif resource == "contacts" and doc[key] == rid:
                    errors[key] = "a contact cannot report to itself"
        if "billing_contact_id" in present and doc.get("billing_contact_id") is not None:
            contact = self._row("contacts", doc["billing_contact_id"])
            if contact is None or rid is None or contact[0]["company_id"] != rid:
                errors["billing_contact_id"] = "must be a contact of this company"
        return errors

    def _coerce_custom_values(
        self, resource: str, values: list[CustomValueIn], errors: dict[str, str]
    ) -> dict[int, Any]:
        coerced: dict[int, Any] = {}
        for item in values:
            definition = self._definitions[resource].get(item.id)
            if definition is None:
                errors[f"custom_fields.{item.id}"] = f"no custom field {item.id} exists for {resource}"
                continue
            try:
                coerced[item.id] = coerce_value(definition, item.value, self._user_ids.__contains__)
            except ValueError as exc:
                errors[f"custom_fields.{item.id}"] = f"{definition['name']}: {exc}"
        return coerced

    def _sub_rows(self, kind: str, items: list[dict[str, Any]], now: str) -> list[dict[str, Any]]:
        return [
            {"id": self._next_id(kind), **item, "date_created": now, "date_modified": now} for item in items
        ]

    def _apply_body(self, resource: str, rid: int | None, doc: dict[str, Any], body: Any, mode: str) -> None:
        """Validate `body` and apply it to `doc` in place; raises 400 (nothing written yet)."""
        model = parse_body(WRITE_MODELS[(resource, mode)], body)
        present = set(model.model_fields_set)
        apply_fields(doc, model)
        if mode == "create":
            for key in ("owner_id", "entered_by_id"):
                if key in doc and doc[key] is None:
                    doc[key] = doc.get("owner_id") or self._default_user()
        errors = self._check_references(resource, rid, doc, present)
        custom = self._coerce_custom_values(resource, _sent(model, "custom_fields", []), errors)
        emails = [email.model_dump() for email in _sent(model, "emails", [])]
        if "emails" in present and (problem := primaries_problem(emails)):
            errors["emails"] = problem
        if errors:
            raise validation_failed(errors)
        now = self._now()
        if "emails" in present:
            doc["_emails"] = self._sub_rows("emails", emails, now)
        if "phones" in present:
            phones = [phone.model_dump() for phone in _sent(model, "phones", [])]
            doc["_phones"] = self._sub_rows("phones", phones, now)
        for fid, value in custom.items():
            if value is None:
                doc["_custom"].pop(str(fid), None)
            else:
                doc["_custom"][str(fid)] = value
        if "password" in present:
            # Only the fact is kept: the sandbox never stores a portal password.
            doc["is_registered"] = _sent(model, "password", None) is not None
        if "work_history" in present:
            doc["_work_history"] = _sent(model, "work_history", [])

    def _save(
        self, resource: str, rid: int, doc: dict[str, Any], created: str, modified: str, *, new: bool
    ) -> str:
        """Write `doc` and its duplicate keys; returns the document as stored, for the event."""
        stored = _dumps(doc)
        if new:
            self._db.execute(
                "INSERT INTO records (resource, id, doc, date_created, date_modified) VALUES (?, ?, ?, ?, ?)",
                (resource, rid, stored, created, modified),
            )
        else:
            self._db.execute(
                "UPDATE records SET doc = ?, date_modified = ? WHERE resource = ? AND id = ?",
                (stored, modified, resource, rid),
            )
            self._db.execute(
                "DELETE FROM duplicate_keys WHERE resource = ? AND record_id = ?", (resource, rid)
            )
        # The keys read only plain fields, which a document holds as they are read.
        keys = duplicate_keys(resource, doc, doc)
        self._db.executemany(
            "INSERT INTO duplicate_keys (resource, key, record_id) VALUES (?, ?, ?)",
            [(resource, key, rid) for key in keys],
        )
        return stored

    def _emit(self, action: str, resource: str, rid: int, written: tuple[str, str, str] | None) -> None:
        """Append to the event stream (`GET /events`); `.deleted` events carry no record [INFERRED].

        `written` is the record just written: (stored document, date_created, date_modified).
        Events keep that document, already encoded for the record's own row, and render it when
        read (`_event_item`): encoding every rendered record here made writes several times slower.
        """
        singular = SINGULAR[resource]
        moment = self._clock()
        event: dict[str, Any] = {
            "event": f"{singular}.{action}",
            f"{singular}_id": rid,
            "date": self._format(moment),
            "_links": {singular: {"href": f"/{resource}/{rid}"}},
        }
        stored, created, modified = written if written is not None else (None, None, None)
        self._db.execute(
            "INSERT INTO events (ts, doc, resource, record, date_created, date_modified) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (moment.timestamp(), _dumps(event), resource, stored, created, modified),
        )

    def _touch(
        self, resource: str, rid: int, doc: dict[str, Any], created: str, action: str = "updated"
    ) -> None:
        now = self._now()
        stored = self._save(resource, rid, doc, created, now, new=False)
        self._emit(action, resource, rid, (stored, created, now))

    # --- records: CRUD ------------------------------------------------------------------------

    def create_record(self, resource: str, body: dict[str, Any], *, check_duplicate: bool = False) -> int:
        """Create a candidate, contact or company from a CATS write-shape body; returns its id."""
        self._check_resource(resource)
        with self._write():
            doc = new_document(resource)
            self._apply_body(resource, None, doc, body, "create")
            now = self._now()
            if check_duplicate:
                keys = duplicate_keys(resource, doc, doc)
                existing = self._find_duplicate(resource, keys)
                if existing is not None:
                    raise DuplicateRecordError(self._duplicate_status, resource, existing)
            rid = self._next_id(resource)
            stored = self._save(resource, rid, doc, now, now, new=True)
            self._emit("created", resource, rid, (stored, now, now))
        return rid

    def _find_duplicate(self, resource: str, keys: set[str]) -> int | None:
        if not keys:
            return None
        marks = ",".join("?" * len(keys))
        row = self._db.execute(
            f"SELECT min(record_id) FROM duplicate_keys WHERE resource = ? AND key IN ({marks})",  # noqa: S608
            (resource, *keys),
        ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def get_record(self, resource: str, rid: int) -> dict[str, Any]:
        self._check_resource(resource)
        with self._lock:
            doc, created, modified = self._require(resource, rid)
        return render(resource, rid, doc, created, modified)

    def list_records(self, resource: str, page: int, per_page: int) -> Page:
        self._check_resource(resource)
        with self._lock:
            total = self._db.execute(
                "SELECT count(*) FROM records WHERE resource = ?", (resource,)
            ).fetchone()[0]
            rows = self._db.execute(
                "SELECT id, doc, date_created, date_modified FROM records WHERE resource = ? "
                "ORDER BY id LIMIT ? OFFSET ?",
                (resource, per_page, (page - 1) * per_page),
            ).fetchall()
        return Page([render(resource, rid, json.loads(doc), c, m) for rid, doc, c, m in rows], total)

    def update_record(self, resource: str, rid: int, body: dict[str, Any]) -> None:
        """PUT: the required fields again, then only the keys present are applied."""
        self._check_resource(resource)
        with self._write():
            doc, created, _ = self._require(resource, rid)
            if self.put_clears_omitted:
                blank = new_document(resource)
                for key in WRITE_MODELS[(resource, "update")].model_fields:
                    if key in blank and key in doc and not (isinstance(body, dict) and key in body):
                        doc[key] = blank[key]
            self._apply_body(resource, rid, doc, body, "update")
            self._touch(resource, rid, doc, created)

    def delete_record(self, resource: str, rid: int) -> None:
        self._check_resource(resource)
        with self._write():
            self._require(resource, rid)
            self._db.execute("DELETE FROM records WHERE resource = ? AND id = ?", (resource, rid))
            self._db.execute(
                "DELETE FROM duplicate_keys WHERE resource = ? AND record_id = ?", (resource, rid)
            )
            self._emit("deleted", resource, rid, None)

    def search_records(
        self,
        resource: str,
        *,
        query: str | None = None,
        filter: Any = None,
        page: int = 1,
        per_page: int = 25,
    ) -> Page:
        """Records (or activities) matching a free-text query and/or a structured filter, ascending id."""
        self._check_resource(resource, (*RECORD_RESOURCES, "activities"))
        predicates: list[Predicate] = []
        if filter is not None:
            predicates.append(compile_filter(resource, filter))
        if query is not None:
            predicates.append(free_text(resource, query))
        # Incremental syncs filter on date_modified alone: those read no documents but the page's.
        columns_only = query is None and referenced_fields(filter) <= COLUMN_FIELDS
        column = "NULL" if columns_only else "doc"
        with self._lock:
            rows = self._db.execute(
                f"SELECT id, {column}, date_created, date_modified FROM records "  # noqa: S608
                "WHERE resource = ? ORDER BY id",
                (resource,),
            ).fetchall()
            matches: list[int] = []
            for rid, raw, created, modified in rows:
                if columns_only:
                    fields: dict[str, Any] = {"id": rid, "date_created": created, "date_modified": modified}
                elif resource == "activities":
                    fields = render_activity(rid, json.loads(raw), created, modified)
                else:
                    fields = read_fields(resource, rid, json.loads(raw), created, modified)
                if all(predicate(fields) for predicate in predicates):
                    matches.append(rid)
            start = (page - 1) * per_page
            chosen = [(rid, *self._require(resource, rid)) for rid in matches[start : start + per_page]]
        if resource == "activities":
            return Page([render_activity(*row) for row in chosen], len(matches))
        return Page([render(resource, *row) for row in chosen], len(matches))

    # --- email and phone sub-records ----------------------------------------------------------

    def _sub_parent(self, resource: str, rid: int, kind: str) -> tuple[dict[str, Any], str, str]:
        supported = EMAIL_RESOURCES if kind == "emails" else PHONE_RESOURCES
        self._check_resource(resource, supported)
        return self._require(resource, rid)

    @staticmethod
    def _find_sub(doc: dict[str, Any], kind: str, sub_id: int) -> dict[str, Any]:
        for item in doc[f"_{kind}"]:
            if item["id"] == sub_id:
                return item  # type: ignore[no-any-return]
        raise not_found(f"{kind[:-1].capitalize()} {sub_id}")

    @staticmethod
    def _row_of(resource: str, rid: int, kind: str, item: dict[str, Any]) -> dict[str, Any]:
        return email_row(resource, rid, item) if kind == "emails" else phone_row(resource, rid, item)

    def list_subrecords(self, resource: str, rid: int, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            doc, _, _ = self._sub_parent(resource, rid, kind)
        return [self._row_of(resource, rid, kind, item) for item in doc[f"_{kind}"]]

    def get_subrecord(self, resource: str, rid: int, kind: str, sub_id: int) -> dict[str, Any]:
        with self._lock:
            doc, _, _ = self._sub_parent(resource, rid, kind)
        return self._row_of(resource, rid, kind, self._find_sub(doc, kind, sub_id))

    def create_subrecord(self, resource: str, rid: int, kind: str, body: Any) -> int:
        """POST an email or phone; a new primary email demotes the old one, the first must be primary."""
        with self._write():
            doc, created, _ = self._sub_parent(resource, rid, kind)
            item = parse_body(EmailIn if kind == "emails" else PhoneIn, body).model_dump()
            items: list[dict[str, Any]] = doc[f"_{kind}"]
            if kind == "emails":
                if item["is_primary"]:
                    for other in items:
                        other["is_primary"] = False
                elif not items:
                    raise validation_failed({"is_primary": "the first email must be primary"})
            now = self._now()
            sub_id = self._next_id(kind)
            items.append({"id": sub_id, **item, "date_created": now, "date_modified": now})
            self._touch(resource, rid, doc, created)
        return sub_id

    def update_subrecord(self, resource: str, rid: int, kind: str, sub_id: int, body: Any) -> None:
        with self._write():
            doc, created, _ = self._sub_parent(resource, rid, kind)
            item = self._find_sub(doc, kind, sub_id)
            if kind == "emails":
                change = parse_body(EmailUpdate, body)
                if change.is_primary is False and item["is_primary"]:
                    raise validation_failed({"is_primary": "exactly one email must be primary"})
                if change.is_primary:
                    for other in doc["_emails"]:
                        other["is_primary"] = False
                    item["is_primary"] = True
                item["email"] = change.email
            else:
                item.update(parse_body(PhoneIn, body).model_dump())
            item["date_modified"] = self._now()
            self._touch(resource, rid, doc, created)

    def delete_subrecord(self, resource: str, rid: int, kind: str, sub_id: int) -> None:
        """DELETE an email or phone; deleting the primary email promotes the oldest remaining one."""
        with self._write():
            doc, created, _ = self._sub_parent(resource, rid, kind)
            item = self._find_sub(doc, kind, sub_id)
            doc[f"_{kind}"].remove(item)
            if kind == "emails" and item["is_primary"] and doc["_emails"]:
                doc["_emails"][0]["is_primary"] = True
            self._touch(resource, rid, doc, created)

    # --- custom field values ------------------------------------------------------------------

    def list_custom_values(self, resource: str, rid: int) -> list[dict[str, Any]]:
        record = self.get_record(resource, rid)
        return list(record["_embedded"]["custom_fields"])

    def get_custom_value(self, resource: str, rid: int, field_id: int) -> dict[str, Any]:
        self._check_resource(resource)
        with self._lock:
            doc, _, _ = self._require(resource, rid)
        self.get_custom_field(resource, field_id)
        return {
            **custom_value_row(resource, rid, field_id, doc["_custom"].get(str(field_id))),
            "_embedded": {},
        }

    def set_custom_value(self, resource: str, rid: int, field_id: int, body: Any) -> None:
        """PUT `{"value": ...}`: validated by the definition's type (see customfields.py); null clears."""
        self._check_resource(resource)
        with self._write():
            doc, created, _ = self._require(resource, rid)
            definition = self.get_custom_field(resource, field_id)
            value = parse_body(CustomValueWrite, body).value
            try:
                stored = coerce_value(definition, value, self._user_ids.__contains__)
            except ValueError as exc:
                raise validation_failed(
                    {f"custom_fields.{field_id}": f"{definition['name']}: {exc}"}
                ) from None
            if stored is None:
                doc["_custom"].pop(str(field_id), None)
            else:
                doc["_custom"][str(field_id)] = stored
            self._touch(resource, rid, doc, created)

    # --- statuses -----------------------------------------------------------------------------

    def list_statuses(self, resource: str) -> list[dict[str, Any]]:
        self._check_resource(resource, STATUS_RESOURCES)
        return [status_record(resource, status) for status in STATUSES[resource]]

    def get_status(self, resource: str, status_id: int) -> dict[str, Any]:
        self._check_resource(resource, STATUS_RESOURCES)
        status = find_status(resource, status_id)
        if status is None:
            raise not_found(f"Status {status_id}")
        return status_record(resource, status)

    def change_status(self, resource: str, rid: int, body: Any) -> None:
        """POST `/{r}/{id}/status {"status_id"}`: a `.status_changed` event, not `.updated`."""
        self._check_resource(resource, STATUS_RESOURCES)
        with self._write():
            doc, created, _ = self._require(resource, rid)
            change = parse_body(StatusChange, body)
            if find_status(resource, change.status_id) is None:
                raise validation_failed({"status_id": f"no status {change.status_id} exists for {resource}"})
            doc["status_id"] = change.status_id
            self._touch(resource, rid, doc, created, action="status_changed")

    # --- activities ---------------------------------------------------------------------------

    def create_activity(self, resource: str, record_id: int, body: dict[str, Any]) -> int:
        """Log an activity on a record; the data item comes from the path, `date` defaults to now."""
        self._check_resource(resource)
        with self._write():
            self._require(resource, record_id)
            model = parse_body(ActivityCreate, body)
            now = self._now()
            doc = {
                "data_item": {"id": record_id, "type": SINGULAR[resource]},
                "date": format_instant(parse_instant(model.date)) if model.date else now,
                "regarding_id": model.regarding_id,
                "type": model.type,
                "notes": model.notes if model.notes is not None else "",
                "annotation": "",
                "entered_by_id": self._default_user(),
            }
            aid = self._next_id("activities")
            stored = _dumps(doc)
            self._db.execute(
                "INSERT INTO records (resource, id, parent, doc, date_created, date_modified) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                ("activities", aid, f"{resource}/{record_id}", stored, now, now),
            )
            self._emit("created", "activities", aid, (stored, now, now))
        return aid

    def list_record_activities(self, resource: str, record_id: int, page: int, per_page: int) -> Page:
        self._check_resource(resource)
        parent = f"{resource}/{record_id}"
        with self._lock:
            self._require(resource, record_id)
            total = self._db.execute(
                "SELECT count(*) FROM records WHERE resource = 'activities' AND parent = ?", (parent,)
            ).fetchone()[0]
            rows = self._db.execute(
                "SELECT id, doc, date_created, date_modified FROM records WHERE resource = 'activities' "
                "AND parent = ? ORDER BY id LIMIT ? OFFSET ?",
                (parent, per_page, (page - 1) * per_page),
            ).fetchall()
        return Page([render_activity(aid, json.loads(doc), c, m) for aid, doc, c, m in rows], total)

    def list_activities(self, page: int, per_page: int) -> Page:
        with self._lock:
            total = self._db.execute("SELECT count(*) FROM records WHERE resource = 'activities'").fetchone()[
                0
            ]
            rows = self._db.execute(
                "SELECT id, doc, date_created, date_modified FROM records WHERE resource = 'activities' "
                "ORDER BY id LIMIT ? OFFSET ?",
                (per_page, (page - 1) * per_page),
            ).fetchall()
        return Page([render_activity(aid, json.loads(doc), c, m) for aid, doc, c, m in rows], total)

    def get_activity(self, activity_id: int) -> dict[str, Any]:
        with self._lock:
            doc, created, modified = self._require("activities", activity_id)
        return render_activity(activity_id, doc, created, modified)

    def update_activity(self, activity_id: int, body: Any) -> None:
        """PUT: applies the keys present (type, notes, date, regarding_id)."""
        with self._write():
            doc, created, _ = self._require("activities", activity_id)
            model = parse_body(ActivityUpdate, body)
            for key in model.model_fields_set:
                value = getattr(model, key)
                if key == "type" and value is None:
                    raise validation_failed({"type": "may not be null"})
                if key == "date":
                    value = format_instant(parse_instant(value)) if value is not None else doc["date"]
                elif key == "notes" and value is None:
                    value = ""
                doc[key] = value
            now = self._now()
            stored = _dumps(doc)
            self._db.execute(
                "UPDATE records SET doc = ?, date_modified = ? WHERE resource = 'activities' AND id = ?",
                (stored, now, activity_id),
            )
            self._emit("updated", "activities", activity_id, (stored, created, now))

    def delete_activity(self, activity_id: int) -> None:
        with self._write():
            self._require("activities", activity_id)
            self._db.execute("DELETE FROM records WHERE resource = 'activities' AND id = ?", (activity_id,))
            self._emit("deleted", "activities", activity_id, None)

    # --- events -------------------------------------------------------------------------------

    def events_after(
        self,
        *,
        starting_after_id: int | None = None,
        starting_after_timestamp: float | None = None,
        limit: int = EVENTS_PER_PAGE,
    ) -> EventPage:
        """Up to `limit` events strictly after the cursor (the id cursor wins when both are given)."""
        columns = "id, doc, resource, record, date_created, date_modified"
        with self._lock:
            if starting_after_id is not None:
                rows = self._db.execute(
                    f"SELECT {columns} FROM events WHERE id > ? ORDER BY id LIMIT ?",  # noqa: S608
                    (starting_after_id, limit + 1),
                ).fetchall()
            else:
                rows = self._db.execute(
                    f"SELECT {columns} FROM events WHERE ts > ? ORDER BY id LIMIT ?",  # noqa: S608
                    (starting_after_timestamp or 0.0, limit + 1),
                ).fetchall()
        items = [_event_item(*row) for row in rows[:limit]]
        last_id = items[-1]["id"] if items else starting_after_id
        return EventPage(items, last_id, len(rows) > limit)


def _event_item(
    eid: int, doc: str, resource: str | None, record: str | None, created: str | None, modified: str | None
) -> dict[str, Any]:
    """An event as `GET /events` lists it, with the record as it was written, rendered now."""
    item: dict[str, Any] = {"id": eid, **json.loads(doc)}
    if resource is not None and record is not None and created is not None and modified is not None:
        # Rendering is a pure function of what was stored, so this is the record as it was then.
        singular = SINGULAR[resource]
        stored, rid = json.loads(record), item[f"{singular}_id"]
        item["_embedded"] = {
            singular: render_activity(rid, stored, created, modified)
            if resource == "activities"
            else render(resource, rid, stored, created, modified)
        }
    return item
