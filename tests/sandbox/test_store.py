"""The store itself: persistence in a file, atomic writes, bulk seeding speed, counts and thread use."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from companion.sandbox.errors import SandboxHttpError
from companion.sandbox.store import SandboxStore


def _store_with_owner(path: str | None = None) -> tuple[SandboxStore, int]:
    store = SandboxStore(path, clock=lambda: datetime(2025, 5, 1, 12, 0, tzinfo=UTC))
    owner = store.create_user(username="owner", first_name="Olive", last_name="Owner")
    return store, owner


def test_record_counts_cover_every_kind(tmp_path: Path) -> None:
    store, owner = _store_with_owner()
    company = store.create_record("companies", {"name": "A", "owner_id": owner})
    store.create_record(
        "contacts", {"first_name": "C", "last_name": "D", "owner_id": owner, "company_id": company}
    )
    store.create_activity("companies", company, {"type": "other"})
    store.create_custom_field("companies", name="Tier", field_type="text")
    assert store.record_counts() == {
        "candidates": 0,
        "contacts": 1,
        "companies": 1,
        "activities": 1,
        "users": 1,
        "custom_fields": 1,
        "events": 3,
    }
    store.close()


def test_a_file_database_persists_records_and_id_sequences_across_restarts(tmp_path: Path) -> None:
    path = str(tmp_path / "sandbox.db")
    store, owner = _store_with_owner(path)
    field = store.create_custom_field("companies", name="Tier", field_type="dropdown", selections=["Gold"])
    first = store.create_record(
        "companies", {"name": "Kept", "owner_id": owner, "custom_fields": [{"id": field, "value": "Gold"}]}
    )
    gone = store.create_record("companies", {"name": "Gone", "owner_id": owner})
    store.delete_record("companies", gone)
    store.close()

    reopened = SandboxStore(path)
    assert reopened.get_record("companies", first)["name"] == "Kept"
    assert reopened.get_custom_field("companies", field)["name"] == "Tier"
    # definitions and users survive too, so writes keep validating against them
    third = reopened.create_record(
        "companies", {"name": "New", "owner_id": owner, "custom_fields": [{"id": field, "value": "Gold"}]}
    )
    assert third == gone + 1
    assert reopened.record_counts()["events"] == 4
    reopened.close()


def test_a_refused_write_changes_nothing_even_inside_a_bulk_block() -> None:
    store, owner = _store_with_owner()
    with store.bulk():
        good = store.create_record("companies", {"name": "Good", "owner_id": owner})
        with pytest.raises(SandboxHttpError):
            store.create_record(
                "contacts", {"first_name": "A", "last_name": "B", "owner_id": owner, "company_id": 1}
            )
        with pytest.raises(SandboxHttpError):
            store.update_record("companies", good, {"name": "", "owner_id": owner})
    assert store.get_record("companies", good)["name"] == "Good"
    assert store.record_counts()["contacts"] == 0
    assert store.record_counts()["events"] == 1
    store.close()


def test_an_exception_escaping_a_bulk_block_rolls_all_of_it_back() -> None:
    store, owner = _store_with_owner()
    with pytest.raises(RuntimeError), store.bulk():
        store.create_record("companies", {"name": "A", "owner_id": owner})
        raise RuntimeError("seeding interrupted")
    assert store.record_counts()["companies"] == 0
    store.close()


def test_ten_thousand_companies_written_in_one_bulk_are_all_kept(tmp_path: Path) -> None:
    store, owner = _store_with_owner(str(tmp_path / "seed.db"))
    field = store.create_custom_field("companies", name="Tier", field_type="dropdown", selections=["A", "B"])
    with store.bulk():
        for i in range(10_000):
            store.create_record(
                "companies",
                {
                    "name": f"Company {i}",
                    "owner_id": owner,
                    "website": f"https://c{i}.example",
                    "phones": [{"number": "+441130000000", "type": "main"}],
                    "address": {"city": "Leeds", "postal_code": "LS1 1AA"},
                    "custom_fields": [{"id": field, "value": "A"}],
                },
            )
    assert store.record_counts()["companies"] == 10_000
    store.close()


def test_naive_clock_readings_are_taken_as_utc() -> None:
    store = SandboxStore(clock=lambda: datetime(2025, 1, 2, 3, 4, 5, 678))
    owner = store.create_user(username="u", first_name="U", last_name="U")
    company = store.create_record("companies", {"name": "A", "owner_id": owner})
    assert store.get_record("companies", company)["date_created"] == "2025-01-02T03:04:05+00:00"
    store.close()


def test_the_store_can_be_written_from_another_thread_while_read_here() -> None:
    store, owner = _store_with_owner()
    failures: list[BaseException] = []

    def writer() -> None:
        try:
            for i in range(300):
                store.create_record("companies", {"name": f"T{i}", "owner_id": owner})
        except BaseException as exc:  # reported below
            failures.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    for _ in range(200):
        store.list_records("companies", 1, 10)
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert failures == []
    assert store.record_counts()["companies"] == 300
    store.close()


def test_unknown_resources_are_refused() -> None:
    store, _ = _store_with_owner()
    with pytest.raises(SandboxHttpError) as caught:
        store.create_record("jobs", {"title": "x"})
    assert caught.value.status == 404
    store.close()
