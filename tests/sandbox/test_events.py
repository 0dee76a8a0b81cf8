"""The event stream: one event per write, their shape, and cursor paging 25 at a time."""

from __future__ import annotations

from typing import Any

from tests.sandbox.conftest import CatsApi


async def _all_events(cats_api: CatsApi) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = (await cats_api.get("events", starting_after_id=0)).body["_embedded"][
        "events"
    ]
    return events


async def test_company_create_update_delete_each_append_an_event(cats_api: CatsApi) -> None:
    company = await cats_api.company(name="Northwind Ltd")
    cats_api.clock.advance(10)
    await cats_api.put(f"companies/{company}", {"name": "Northwind Group", "owner_id": cats_api.owner_id})
    await cats_api.delete(f"companies/{company}")
    created, updated, deleted = await _all_events(cats_api)
    assert [e["event"] for e in (created, updated, deleted)] == [
        "company.created",
        "company.updated",
        "company.deleted",
    ]
    assert updated["company_id"] == company
    assert updated["date"] == "2025-05-01T12:00:10+00:00"
    assert updated["_links"] == {"company": {"href": f"/companies/{company}"}}
    assert updated["_embedded"]["company"]["name"] == "Northwind Group"
    assert updated["_embedded"]["company"]["date_modified"] == "2025-05-01T12:00:10+00:00"
    assert created["_embedded"]["company"]["name"] == "Northwind Ltd"
    assert "_embedded" not in deleted
    assert created["id"] < updated["id"] < deleted["id"]


async def test_every_resource_kind_reports_its_writes(cats_api: CatsApi) -> None:
    company = await cats_api.company()
    contact = await cats_api.contact(company)
    candidate = await cats_api.candidate()
    activity = await cats_api.create(f"candidates/{candidate}/activities", {"type": "other"})
    await cats_api.put(f"activities/{activity}", {"notes": "x"})
    await cats_api.delete(f"activities/{activity}")
    await cats_api.post(f"contacts/{contact}/status", {"status_id": 151})
    await cats_api.post(f"candidates/{candidate}/emails", {"email": "a@example.org", "is_primary": True})
    events = await _all_events(cats_api)
    assert [e["event"] for e in events] == [
        "company.created",
        "contact.created",
        "candidate.created",
        "activity.created",
        "activity.updated",
        "activity.deleted",
        "contact.status_changed",
        "candidate.updated",
    ]
    assert events[3]["activity_id"] == activity
    assert events[3]["_embedded"]["activity"]["type"] == "other"
    assert events[6]["_embedded"]["contact"]["status_id"] == 151
    assert events[7]["_embedded"]["candidate"]["emails"]["primary"] == "a@example.org"


async def test_a_refused_write_appends_no_event(cats_api: CatsApi) -> None:
    await cats_api.post("companies", {"name": "No owner"})
    await cats_api.post("companies/search", {"field": "name", "filter": "exactly", "value": "x"})
    assert await _all_events(cats_api) == []


async def test_events_page_25_at_a_time_strictly_after_the_id_cursor(cats_api: CatsApi) -> None:
    with cats_api.store.bulk():
        for i in range(30):
            cats_api.store.create_record("companies", {"name": f"Co {i}", "owner_id": cats_api.owner_id})
    first = (await cats_api.get("events", starting_after_id=0)).body
    assert first["count"] == 25
    assert first["starting_after_id"] == 0
    ids = [e["id"] for e in first["_embedded"]["events"]]
    assert ids == sorted(ids) and first["last_id"] == ids[-1]
    assert first["_links"]["next"] == {"href": f"/events?starting_after_id={ids[-1]}"}
    second = (await cats_api.get("events", starting_after_id=first["last_id"])).body
    assert second["count"] == 5
    assert second["_embedded"]["events"][0]["id"] == ids[-1] + 1
    assert "next" not in second["_links"]
    empty = (await cats_api.get("events", starting_after_id=second["last_id"])).body
    assert empty["count"] == 0
    assert empty["last_id"] == second["last_id"]


async def test_exactly_25_remaining_events_have_no_next_link(cats_api: CatsApi) -> None:
    with cats_api.store.bulk():
        for i in range(25):
            cats_api.store.create_record("companies", {"name": f"Co {i}", "owner_id": cats_api.owner_id})
    page = (await cats_api.get("events", starting_after_id=0)).body
    assert page["count"] == 25
    assert "next" not in page["_links"]


async def test_timestamp_cursor_returns_events_strictly_after_that_second(cats_api: CatsApi) -> None:
    await cats_api.company(name="Before")
    cats_api.clock.advance(60)
    await cats_api.company(name="After")
    cutoff = int(cats_api.clock.now.timestamp()) - 30
    page = (await cats_api.get("events", starting_after_timestamp=cutoff)).body
    assert [e["_embedded"]["company"]["name"] for e in page["_embedded"]["events"]] == ["After"]
    assert page["starting_after_timestamp"] == cutoff
    assert page["starting_after_id"] is None


async def test_a_cursor_is_required_and_must_be_a_number(cats_api: CatsApi) -> None:
    assert (await cats_api.get("events")).status == 400
    assert (await cats_api.get("events", starting_after_id="abc")).status == 400
    assert (await cats_api.get("events", starting_after_timestamp="noon")).status == 400
