"""Seeding speed, and the shortcuts that make it fast leaving the store exactly as before."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from companion.sandbox.errors import DuplicateRecordError
from companion.sandbox.instants import format_instant
from companion.sandbox.store import SandboxStore

NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
PHONE = {"number": "+44 113 000 0000", "type": "main"}


class SettableClock:
    """The store's clock, set by the test to the instant the next write should read."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _all_events(store: SandboxStore) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    cursor: int | None = 0
    for _ in range(1000):  # bounded: 25 a page
        page = store.events_after(starting_after_id=cursor)
        events.extend(page.items)
        cursor = page.last_id
        if not page.has_more:
            return events
    raise AssertionError("the event stream never ended")


def test_ids_a_refused_write_took_are_not_handed_out_again_in_the_same_run() -> None:
    store = SandboxStore(clock=lambda: NOW)
    owner = store.create_user(username="o", first_name="O", last_name="O")
    with store.bulk():
        first = store.create_record("companies", {"name": "Acme", "owner_id": owner, "phones": [PHONE]})
        with pytest.raises(DuplicateRecordError):
            store.create_record(
                "companies", {"name": "ACME", "owner_id": owner, "phones": [PHONE]}, check_duplicate=True
            )
        second = store.create_record("companies", {"name": "Globex", "owner_id": owner, "phones": [PHONE]})
    assert second == first + 1
    first_phone = store.list_subrecords("companies", first, "phones")[0]["id"]
    # The refused write validated its phone, and so took an id, before the duplicate was found.
    assert store.list_subrecords("companies", second, "phones")[0]["id"] == first_phone + 2
    store.close()


def test_a_file_keeps_the_counters_its_committed_writes_left(tmp_path: Path) -> None:
    """Counter rows are written once per transaction, as if written per id: refused writes leave none."""
    path = str(tmp_path / "sandbox.db")
    store = SandboxStore(path, clock=lambda: NOW)
    owner = store.create_user(username="o", first_name="O", last_name="O")
    with store.bulk():
        kept = store.create_record("companies", {"name": "Acme", "owner_id": owner, "phones": [PHONE]})
        with pytest.raises(DuplicateRecordError):
            store.create_record(
                "companies", {"name": "acme", "owner_id": owner, "phones": [PHONE]}, check_duplicate=True
            )
    kept_phone = store.list_subrecords("companies", kept, "phones")[0]["id"]
    with pytest.raises(RuntimeError), store.bulk():
        store.create_record("companies", {"name": "Lost", "owner_id": owner, "phones": [PHONE]})
        raise RuntimeError("seeding interrupted")
    store.close()

    reopened = SandboxStore(path, clock=lambda: NOW)
    after = reopened.create_record("companies", {"name": "After", "owner_id": owner, "phones": [PHONE]})
    assert after == kept + 1
    assert reopened.list_subrecords("companies", after, "phones")[0]["id"] == kept_phone + 1
    reopened.close()


def test_events_show_each_record_as_it_was_when_written_even_after_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "sandbox.db")
    clock = SettableClock()
    store = SandboxStore(path, clock=clock)
    owner = store.create_user(username="o", first_name="O", last_name="O")
    company = store.create_record("companies", {"name": "Northwind", "owner_id": owner})
    clock.now += timedelta(minutes=1)
    store.update_record("companies", company, {"name": "Northwind Group", "owner_id": owner})
    clock.now += timedelta(minutes=1)
    store.change_status("companies", company, {"status_id": 131})
    activity = store.create_activity("companies", company, {"type": "call_talked", "notes": "first"})
    store.update_activity(activity, {"notes": "second"})
    latest_company = store.get_record("companies", company)
    latest_activity = store.get_activity(activity)
    store.close()

    reopened = SandboxStore(path, clock=clock)
    events = _all_events(reopened)
    assert [e["event"] for e in events] == [
        "company.created",
        "company.updated",
        "company.status_changed",
        "activity.created",
        "activity.updated",
    ]
    created, updated, status, logged, edited = (e["_embedded"] for e in events)
    assert (created["company"]["name"], created["company"]["status_id"]) == ("Northwind", 130)
    assert created["company"]["date_modified"] == "2025-05-01T12:00:00+00:00"
    assert (updated["company"]["name"], updated["company"]["status_id"]) == ("Northwind Group", 130)
    assert updated["company"]["date_modified"] == "2025-05-01T12:01:00+00:00"
    assert status["company"] == latest_company
    assert status["company"]["_embedded"]["status"]["title"] == "Prospect"
    assert logged["activity"]["notes"] == "first"
    assert edited["activity"] == latest_activity
    reopened.close()


def test_events_stored_before_record_snapshots_existed_are_still_listed(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old_event = {
        "event": "company.created",
        "company_id": 9001,
        "date": "2025-04-01T08:00:00+00:00",
        "_links": {"company": {"href": "/companies/9001"}},
        "_embedded": {"company": {"id": 9001, "name": "Written by an older sandbox"}},
    }
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, ts REAL NOT NULL, doc TEXT NOT NULL)")
        old.execute("INSERT INTO events (ts, doc) VALUES (?, ?)", (1743494400.0, json.dumps(old_event)))
    old.close()

    store = SandboxStore(str(path), clock=lambda: NOW)
    owner = store.create_user(username="o", first_name="O", last_name="O")
    company = store.create_record("companies", {"name": "Written now", "owner_id": owner})
    first, second = _all_events(store)
    assert first == {"id": 1, **old_event}
    assert second["_embedded"]["company"] == store.get_record("companies", company)
    store.close()


@pytest.mark.parametrize(
    "instants",
    [
        pytest.param(
            [datetime(2025, 5, 1, 12, 0, 0, 999_999, UTC), datetime(2025, 5, 1, 12, 0, 1, tzinfo=UTC)],
            id="either-side-of-a-second",
        ),
        pytest.param(
            [
                datetime(2024, 10, 27, 2, 30, tzinfo=ZoneInfo("Europe/Paris")),
                datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Paris")),
            ],
            id="same-wall-time-either-side-of-a-dst-change",
        ),
        pytest.param(
            [datetime(2025, 5, 1, 12, 0, tzinfo=UTC), datetime(2025, 5, 1, 12, 0)],
            id="aware-then-naive",
        ),
        pytest.param(
            [
                datetime(2025, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=5))),
                datetime(2025, 5, 1, 7, 0, 0, 500_000, UTC),
            ],
            id="the-same-second-in-two-zones",
        ),
        pytest.param(
            [datetime(1969, 12, 31, 23, 59, 59, 500_000, UTC), datetime(1970, 1, 1, 0, 0, 0, 500_000, UTC)],
            id="before-and-after-the-epoch",
        ),
    ],
)
def test_every_write_is_dated_by_its_own_clock_reading(instants: list[datetime]) -> None:
    clock = SettableClock(instants[0])
    store = SandboxStore(clock=clock)
    owner = store.create_user(username="o", first_name="O", last_name="O")
    for instant in instants:
        clock.now = instant
        company = store.create_record("companies", {"name": f"At {instant!r}", "owner_id": owner})
        assert store.get_record("companies", company)["date_created"] == format_instant(instant)
        assert _all_events(store)[-1]["date"] == format_instant(instant)
    store.close()


def test_documents_keep_text_and_numbers_exactly() -> None:
    store = SandboxStore(clock=lambda: NOW)
    owner = store.create_user(username="o", first_name="O", last_name="O")
    field = store.create_custom_field("companies", name="Score", field_type="number")
    name = 'Zoë & Söhne — 東京 "quoted" \\ \u2028 tab\there 🙂'
    for value in (1e-07, 0.1, 1e16, -2.5, 2**70):
        company = store.create_record(
            "companies",
            {"name": name, "owner_id": owner, "custom_fields": [{"id": field, "value": value}]},
        )
        record = store.get_record("companies", company)
        assert record["name"] == name
        assert record["_embedded"]["custom_fields"][0]["value"] == value
        assert _all_events(store)[-1]["_embedded"]["company"] == record
    store.close()
