"""Candidates, contacts and companies: create, read, update, delete, and the write->read translation."""

from __future__ import annotations

import re

import pytest

from tests.sandbox.conftest import CatsApi

LOCATION = re.compile(r"^http://127\.0\.0\.1:\d+/v3/(candidates|contacts|companies)/(\d+)$")


async def test_create_answers_201_with_empty_body_and_absolute_location(cats_api: CatsApi) -> None:
    reply = await cats_api.post("companies", {"name": "Northwind Ltd", "owner_id": cats_api.owner_id})
    assert reply.status == 201
    assert reply.text == ""
    match = LOCATION.match(reply.headers["Location"])
    assert match is not None and match.group(1) == "companies"
    assert int(match.group(2)) == 9001  # companies start at a realistic id


@pytest.mark.parametrize(
    ("resource", "first_id"), [("candidates", 700001), ("contacts", 55001), ("companies", 9001)]
)
async def test_ids_are_per_resource_integers_starting_at_realistic_numbers(
    cats_api: CatsApi, resource: str, first_id: int
) -> None:
    company = await cats_api.company() if resource != "companies" else None
    if resource == "candidates":
        rid = await cats_api.candidate()
    elif resource == "contacts":
        assert company is not None
        rid = await cats_api.contact(company)
    else:
        rid = await cats_api.company()
    assert rid == first_id
    reply = await cats_api.get(f"{resource}/{rid}")
    assert reply.body["id"] == rid
    assert reply.body["_links"]["self"] == {"href": f"/{resource}/{rid}"}


async def test_company_record_has_the_documented_read_fields(cats_api: CatsApi) -> None:
    body = {
        "name": "Northwind Ltd",
        "owner_id": cats_api.owner_id,
        "website": "https://northwind.example",
        "phones": [{"number": "+441130000000", "type": "Main"}, {"number": "+441130000001", "type": "fax"}],
        "address": {"street": "1 Main St", "city": "Leeds", "state": "", "postal_code": "LS1 1AA"},
        "country_code": "gb",
        "notes": "Key account",
        "is_hot": True,
        "key_technologies": "Python",
        "social_media_urls": ["https://linkedin.example/northwind"],
    }
    cid = await cats_api.create("companies", body)
    record = (await cats_api.get(f"companies/{cid}")).body
    assert record["name"] == "Northwind Ltd"
    assert record["website"] == "https://northwind.example"
    assert record["phones"] == {"home": None, "cell": None, "work": "+441130000000", "other": "+441130000001"}
    assert record["address"] == body["address"]
    assert record["country_code"] == "GB"
    assert record["owner_id"] == cats_api.owner_id
    assert record["entered_by_id"] == cats_api.owner_id
    assert record["is_hot"] is True
    assert record["key_technologies"] == "Python"
    assert record["billing_contact_id"] is None
    assert record["status_id"] == 130
    assert record["social_media_urls"] == ["https://linkedin.example/northwind"]
    assert record["date_created"] == record["date_modified"] == "2025-05-01T12:00:00+00:00"
    assert record["_links"]["owner"] == {"href": f"/users/{cats_api.owner_id}"}
    assert record["_embedded"]["custom_fields"] == []


async def test_emails_and_phones_are_translated_from_write_arrays_to_read_objects(cats_api: CatsApi) -> None:
    cid = await cats_api.candidate(
        emails=[{"email": "ada@example.org", "is_primary": True}, {"email": "ada@work.example"}],
        phones=[
            {"number": "+31612345678", "type": "Mobile"},
            {"number": "+31301234567", "type": "home"},
            {"number": "+31307654321", "type": "WORK", "extension": "12"},
        ],
    )
    record = (await cats_api.get(f"candidates/{cid}")).body
    assert record["emails"] == {"primary": "ada@example.org", "secondary": "ada@work.example"}
    assert record["phones"] == {
        "home": "+31301234567",
        "cell": "+31612345678",
        "work": "+31307654321",
        "other": None,
    }
    assert [e["email"] for e in record["_embedded"]["emails"]] == ["ada@example.org", "ada@work.example"]
    assert record["_embedded"]["phones"][2]["extension"] == "12"


@pytest.mark.parametrize(
    "emails",
    [
        [{"email": "a@example.org"}, {"email": "b@example.org"}],
        [{"email": "a@example.org", "is_primary": True}, {"email": "b@example.org", "is_primary": True}],
    ],
)
async def test_emails_without_exactly_one_primary_are_refused(
    cats_api: CatsApi, emails: list[object]
) -> None:
    reply = await cats_api.post("candidates", {"first_name": "A", "last_name": "B", "emails": emails})
    assert reply.status == 400
    assert reply.body["message"] == "Validation failed."
    assert "emails" in reply.body["errors"]
    assert cats_api.store.record_counts()["candidates"] == 0


async def test_unknown_phone_type_is_refused(cats_api: CatsApi) -> None:
    reply = await cats_api.post(
        "candidates", {"first_name": "A", "last_name": "B", "phones": [{"number": "+1", "type": "pager"}]}
    )
    assert reply.status == 400
    assert "phones.0.type" in reply.body["errors"]


@pytest.mark.parametrize(
    ("resource", "body", "missing"),
    [
        ("candidates", {"first_name": "Ada"}, "last_name"),
        ("candidates", {"first_name": "  ", "last_name": "L"}, "first_name"),
        ("contacts", {"first_name": "A", "last_name": "B", "company_id": 1}, "owner_id"),
        ("contacts", {"first_name": "A", "last_name": "B", "owner_id": 1}, "company_id"),
        ("companies", {"name": "X"}, "owner_id"),
        ("companies", {"owner_id": 1}, "name"),
    ],
)
async def test_create_without_a_required_field_is_refused_naming_it(
    cats_api: CatsApi, resource: str, body: dict[str, object], missing: str
) -> None:
    reply = await cats_api.post(resource, body)
    assert reply.status == 400
    assert reply.body["message"] == "Validation failed."
    assert missing in reply.body["errors"]
    assert cats_api.store.record_counts()[resource] == 0


async def test_company_owner_must_be_an_existing_user(cats_api: CatsApi) -> None:
    reply = await cats_api.post("companies", {"name": "X", "owner_id": 999})
    assert reply.status == 400
    assert "owner_id" in reply.body["errors"]


async def test_contact_company_must_exist(cats_api: CatsApi) -> None:
    reply = await cats_api.post(
        "contacts", {"first_name": "A", "last_name": "B", "owner_id": cats_api.owner_id, "company_id": 9999}
    )
    assert reply.status == 400
    assert "company_id" in reply.body["errors"]
    assert cats_api.store.record_counts()["contacts"] == 0


async def test_unknown_body_fields_and_wrong_types_are_refused(cats_api: CatsApi) -> None:
    reply = await cats_api.post("candidates", {"first_name": "A", "last_name": "B", "firstname": "typo"})
    assert reply.status == 400
    assert "firstname" in reply.body["errors"]
    reply = await cats_api.post("companies", {"name": "A", "owner_id": str(cats_api.owner_id)})
    assert reply.status == 400
    assert "owner_id" in reply.body["errors"]


async def test_invalid_json_or_a_non_object_body_is_refused(cats_api: CatsApi) -> None:
    reply = await cats_api.call("POST", "companies", data="{not json")
    assert reply.status == 400
    assert reply.body["message"] == "The request body is not valid JSON."
    reply = await cats_api.post("companies", [{"name": "X"}])
    assert reply.status == 400
    assert cats_api.store.record_counts()["companies"] == 0


async def test_get_unknown_id_is_404_with_a_json_message(cats_api: CatsApi) -> None:
    for resource in ("candidates", "contacts", "companies"):
        reply = await cats_api.get(f"{resource}/123")
        assert reply.status == 404
        assert set(reply.body) == {"message"}


async def test_put_applies_only_the_keys_present_and_bumps_date_modified(cats_api: CatsApi) -> None:
    cid = await cats_api.company(website="https://a.example", notes="keep me", is_hot=True)
    cats_api.clock.advance(3600)
    reply = await cats_api.put(
        f"companies/{cid}", {"name": "Renamed", "owner_id": cats_api.owner_id, "website": "https://b.example"}
    )
    assert reply.status == 204
    assert reply.text == ""
    record = (await cats_api.get(f"companies/{cid}")).body
    assert record["name"] == "Renamed"
    assert record["website"] == "https://b.example"
    assert record["notes"] == "keep me"
    assert record["is_hot"] is True
    assert record["date_created"] == "2025-05-01T12:00:00+00:00"
    assert record["date_modified"] == "2025-05-01T13:00:00+00:00"


async def test_put_merges_address_keys_and_null_clears_a_field(cats_api: CatsApi) -> None:
    cid = await cats_api.company(address={"city": "Leeds", "postal_code": "LS1"}, website="https://a.example")
    await cats_api.put(
        f"companies/{cid}",
        {"name": "N", "owner_id": cats_api.owner_id, "address": {"street": "1 Main St"}, "website": None},
    )
    record = (await cats_api.get(f"companies/{cid}")).body
    assert record["address"] == {"street": "1 Main St", "city": "Leeds", "state": None, "postal_code": "LS1"}
    assert record["website"] is None


async def test_put_requires_the_same_required_fields_and_changes_nothing_when_refused(
    cats_api: CatsApi,
) -> None:
    cid = await cats_api.company(name="Original")
    reply = await cats_api.put(f"companies/{cid}", {"website": "https://x.example"})
    assert reply.status == 400
    assert {"name", "owner_id"} <= set(reply.body["errors"])
    record = (await cats_api.get(f"companies/{cid}")).body
    assert record["name"] == "Original"
    assert record["website"] is None


async def test_put_without_a_body_is_refused(cats_api: CatsApi) -> None:
    cid = await cats_api.company()
    reply = await cats_api.call("PUT", f"companies/{cid}")
    assert reply.status == 400
    assert reply.body["message"] == "A JSON request body is required."


async def test_put_on_an_unknown_id_is_404(cats_api: CatsApi) -> None:
    reply = await cats_api.put("companies/4242", {"name": "X", "owner_id": cats_api.owner_id})
    assert reply.status == 404


async def test_candidate_put_refuses_emails_and_phones_which_belong_to_sub_records(cats_api: CatsApi) -> None:
    cid = await cats_api.candidate(first_name="Ada", last_name="L")
    reply = await cats_api.put(
        f"candidates/{cid}",
        {"first_name": "Ada", "last_name": "L", "emails": [{"email": "a@b.example", "is_primary": True}]},
    )
    assert reply.status == 400
    assert "emails" in reply.body["errors"]


async def test_contact_put_replaces_emails_and_phones(cats_api: CatsApi) -> None:
    company = await cats_api.company()
    cid = await cats_api.contact(company, emails=[{"email": "old@example.org", "is_primary": True}])
    reply = await cats_api.put(
        f"contacts/{cid}",
        {
            "first_name": "A",
            "last_name": "B",
            "owner_id": cats_api.owner_id,
            "company_id": company,
            "emails": [{"email": "new@example.org", "is_primary": True}],
            "phones": [{"number": "+1555", "type": "work"}],
        },
    )
    assert reply.status == 204
    record = (await cats_api.get(f"contacts/{cid}")).body
    assert record["emails"] == {"primary": "new@example.org", "secondary": None}
    assert record["phones"]["work"] == "+1555"


async def test_delete_answers_204_and_the_record_is_gone(cats_api: CatsApi) -> None:
    cid = await cats_api.company()
    reply = await cats_api.delete(f"companies/{cid}")
    assert reply.status == 204
    assert (await cats_api.get(f"companies/{cid}")).status == 404
    assert (await cats_api.delete(f"companies/{cid}")).status == 404
    assert (await cats_api.get("companies")).body["total"] == 0


async def test_ids_are_not_reused_after_a_delete(cats_api: CatsApi) -> None:
    first = await cats_api.company()
    await cats_api.delete(f"companies/{first}")
    assert await cats_api.company() == first + 1


async def test_billing_contact_must_be_a_contact_of_that_company(cats_api: CatsApi) -> None:
    mine, other = await cats_api.company(), await cats_api.company()
    my_contact, their_contact = await cats_api.contact(mine), await cats_api.contact(other)
    reply = await cats_api.put(
        f"companies/{mine}",
        {"name": "Mine", "owner_id": cats_api.owner_id, "billing_contact_id": their_contact},
    )
    assert reply.status == 400
    assert "billing_contact_id" in reply.body["errors"]
    reply = await cats_api.put(
        f"companies/{mine}", {"name": "Mine", "owner_id": cats_api.owner_id, "billing_contact_id": my_contact}
    )
    assert reply.status == 204
    record = (await cats_api.get(f"companies/{mine}")).body
    assert record["billing_contact_id"] == my_contact
    assert record["_links"]["billing_contact"] == {"href": f"/contacts/{my_contact}"}


async def test_contact_record_links_its_company_owner_and_status(cats_api: CatsApi) -> None:
    company = await cats_api.company()
    cid = await cats_api.contact(company, title="CTO", has_left_company=False)
    record = (await cats_api.get(f"contacts/{cid}")).body
    assert record["company_id"] == company
    assert record["title"] == "CTO"
    assert record["emails"] == {"primary": None, "secondary": None}
    assert record["_links"]["company"] == {"href": f"/companies/{company}"}
    assert record["_links"]["status"] == {"href": f"/contacts/statuses/{record['status_id']}"}
    assert record["_embedded"]["status"]["id"] == record["status_id"]


async def test_contact_cannot_report_to_an_unknown_contact(cats_api: CatsApi) -> None:
    company = await cats_api.company()
    reply = await cats_api.post(
        "contacts",
        {
            "first_name": "A",
            "last_name": "B",
            "owner_id": cats_api.owner_id,
            "company_id": company,
            "reports_to_id": 1,
        },
    )
    assert reply.status == 400
    assert "reports_to_id" in reply.body["errors"]


async def test_candidate_defaults_and_portal_password_is_never_stored(cats_api: CatsApi) -> None:
    cid = await cats_api.candidate(password="hunter2", date_available="2025-06-01", current_pay=60000)
    record = (await cats_api.get(f"candidates/{cid}")).body
    assert record["is_registered"] is True
    assert record["is_active"] is True
    assert record["owner_id"] == cats_api.owner_id  # defaults to the site's first user
    assert record["current_pay"] == "60000"
    assert record["date_available"] == "2025-06-01"
    assert "hunter2" not in str(record)
    assert "password" not in record


async def test_candidate_date_available_must_be_a_calendar_date(cats_api: CatsApi) -> None:
    reply = await cats_api.post("candidates", {"first_name": "A", "last_name": "B", "date_available": "June"})
    assert reply.status == 400
    assert "date_available" in reply.body["errors"]


async def test_a_contact_cannot_report_to_itself(cats_api: CatsApi) -> None:
    company = await cats_api.company()
    cid = await cats_api.contact(company)
    body = {
        "first_name": "A",
        "last_name": "B",
        "owner_id": cats_api.owner_id,
        "company_id": company,
        "reports_to_id": cid,
    }
    reply = await cats_api.put(f"contacts/{cid}", body)
    assert reply.status == 400
    assert "reports_to_id" in reply.body["errors"]


async def test_candidate_work_history_is_embedded_on_read(cats_api: CatsApi) -> None:
    history = [
        {"title": "Engineer", "employer": {"linked": False, "name": "Analytical Engines"}, "is_current": True}
    ]
    cid = await cats_api.candidate(work_history=history)
    assert (await cats_api.get(f"candidates/{cid}")).body["_embedded"]["work_history"] == history
