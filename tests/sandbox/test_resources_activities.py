"""Activities: create on a record (type checked, date defaulted), list, get, PUT and DELETE."""

from __future__ import annotations

import pytest

from companion.sandbox.records import ACTIVITY_TYPES
from tests.sandbox.conftest import CatsApi


@pytest.mark.parametrize("activity_type", ACTIVITY_TYPES)
async def test_each_documented_type_is_accepted(cats_api: CatsApi, activity_type: str) -> None:
    cand = await cats_api.candidate()
    reply = await cats_api.post(f"candidates/{cand}/activities", {"type": activity_type})
    assert reply.status == 201
    assert reply.headers["Location"].endswith(f"/v3/activities/{reply.headers['Location'].rsplit('/', 1)[1]}")


@pytest.mark.parametrize(
    "body", [{"type": "note"}, {"type": "Meeting"}, {"notes": "no type"}, {"type": None}]
)
async def test_other_types_are_refused_with_validation_failed(
    cats_api: CatsApi, body: dict[str, object]
) -> None:
    cand = await cats_api.candidate()
    reply = await cats_api.post(f"candidates/{cand}/activities", body)
    assert reply.status == 400
    assert reply.body["message"] == "Validation failed."
    assert "type" in reply.body["errors"]
    assert cats_api.store.record_counts()["activities"] == 0


async def test_activity_record_shape_with_date_defaulted_to_now_and_data_item_from_the_path(
    cats_api: CatsApi,
) -> None:
    company = await cats_api.company()
    contact = await cats_api.contact(company)
    aid = await cats_api.create(
        f"contacts/{contact}/activities", {"type": "call_talked", "notes": "Discussed Q3 roles."}
    )
    assert aid == 3300001
    record = (await cats_api.get(f"activities/{aid}")).body
    assert record == {
        "id": aid,
        "data_item": {"id": contact, "type": "contact"},
        "date": "2025-05-01T12:00:00+00:00",
        "regarding_id": None,
        "type": "call_talked",
        "notes": "Discussed Q3 roles.",
        "annotation": "",
        "entered_by_id": cats_api.owner_id,
        "date_created": "2025-05-01T12:00:00+00:00",
        "date_modified": "2025-05-01T12:00:00+00:00",
        "_links": {
            "self": {"href": f"/activities/{aid}"},
            "data_item": {"href": f"/contacts/{contact}"},
            "entered_by": {"href": f"/users/{cats_api.owner_id}"},
        },
        "_embedded": {},
    }


async def test_given_date_is_kept_as_the_same_instant_in_utc_and_regarding_links_a_job(
    cats_api: CatsApi,
) -> None:
    company = await cats_api.company()
    aid = await cats_api.create(
        f"companies/{company}/activities",
        {"type": "meeting", "date": "2025-05-02T14:30:00+02:00", "regarding_id": 77},
    )
    record = (await cats_api.get(f"activities/{aid}")).body
    assert record["date"] == "2025-05-02T12:30:00+00:00"
    assert record["data_item"] == {"id": company, "type": "company"}
    assert record["_links"]["regarding"] == {"href": "/jobs/77"}


async def test_a_bad_date_is_refused(cats_api: CatsApi) -> None:
    cand = await cats_api.candidate()
    reply = await cats_api.post(f"candidates/{cand}/activities", {"type": "other", "date": "tomorrow"})
    assert reply.status == 400
    assert "date" in reply.body["errors"]


async def test_activity_on_an_unknown_record_is_404(cats_api: CatsApi) -> None:
    assert (await cats_api.post("candidates/5/activities", {"type": "other"})).status == 404
    assert (await cats_api.get("contacts/5/activities")).status == 404


async def test_activities_are_listed_per_record_and_site_wide(cats_api: CatsApi) -> None:
    first, second = await cats_api.candidate(), await cats_api.candidate()
    a1 = await cats_api.create(f"candidates/{first}/activities", {"type": "email"})
    a2 = await cats_api.create(f"candidates/{second}/activities", {"type": "email"})
    a3 = await cats_api.create(f"candidates/{first}/activities", {"type": "other"})
    mine = (await cats_api.get(f"candidates/{first}/activities")).body
    assert [a["id"] for a in mine["_embedded"]["activities"]] == [a1, a3]
    assert mine["total"] == 2
    everything = (await cats_api.get("activities", per_page=2)).body
    assert [a["id"] for a in everything["_embedded"]["activities"]] == [a1, a2]
    assert everything["total"] == 3 and "next" in everything["_links"]


async def test_put_changes_the_keys_present_and_delete_removes(cats_api: CatsApi) -> None:
    cand = await cats_api.candidate()
    aid = await cats_api.create(
        f"candidates/{cand}/activities", {"type": "call_lvm", "notes": "Left a message"}
    )
    cats_api.clock.advance(120)
    assert (await cats_api.put(f"activities/{aid}", {"notes": "Called back"})).status == 204
    record = (await cats_api.get(f"activities/{aid}")).body
    assert record["notes"] == "Called back"
    assert record["type"] == "call_lvm"
    assert record["date_modified"] == "2025-05-01T12:02:00+00:00"
    assert (await cats_api.put(f"activities/{aid}", {"type": "note"})).status == 400
    assert (await cats_api.call("PUT", f"activities/{aid}")).status == 400
    assert (await cats_api.delete(f"activities/{aid}")).status == 204
    assert (await cats_api.get(f"activities/{aid}")).status == 404
    assert (await cats_api.put(f"activities/{aid}", {"notes": "x"})).status == 404
