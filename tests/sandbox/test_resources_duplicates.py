"""`check_duplicate=true`: criteria per resource, the configurable status, the existing record's Location."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.conftest import CatsApi

ADA: dict[str, Any] = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "emails": [{"email": "ada@example.org", "is_primary": True}],
    "phones": [{"number": "+31 6 1234 5678", "type": "mobile"}],
    "address": {"street": "Kade 1", "city": "Utrecht", "state": "UT", "postal_code": "3511AA"},
}


async def test_company_with_the_same_name_is_a_duplicate_answered_409_with_location(
    cats_api: CatsApi,
) -> None:
    existing = await cats_api.company(name="Northwind Ltd")
    reply = await cats_api.post(
        "companies", {"name": "  northwind LTD ", "owner_id": cats_api.owner_id}, check_duplicate="true"
    )
    assert reply.status == 409
    assert reply.body == {"message": "Duplicate record found."}
    assert reply.headers["Location"].endswith(f"/v3/companies/{existing}")
    assert reply.headers["Location"].startswith("http://127.0.0.1:")
    assert cats_api.store.record_counts()["companies"] == 1


async def test_similar_but_different_company_names_are_not_duplicates(cats_api: CatsApi) -> None:
    await cats_api.company(name="Cisco Systems, Inc")
    reply = await cats_api.post(
        "companies", {"name": "Cisco Systems Inc", "owner_id": cats_api.owner_id}, check_duplicate="true"
    )
    assert reply.status == 201


async def test_without_the_flag_a_duplicate_is_created(cats_api: CatsApi) -> None:
    await cats_api.company(name="Northwind Ltd")
    for params in ({}, {"check_duplicate": "false"}):
        reply = await cats_api.post(
            "companies", {"name": "Northwind Ltd", "owner_id": cats_api.owner_id}, **params
        )
        assert reply.status == 201
    assert cats_api.store.record_counts()["companies"] == 3


async def test_duplicate_status_is_configurable(cats_api: CatsApi) -> None:
    cats_api.store.duplicate_status = 422
    await cats_api.company(name="Northwind Ltd")
    reply = await cats_api.post(
        "companies", {"name": "Northwind Ltd", "owner_id": cats_api.owner_id}, check_duplicate="true"
    )
    assert reply.status == 422
    assert reply.body["message"] == "Duplicate record found."
    with pytest.raises(ValueError):
        cats_api.store.duplicate_status = 200


@pytest.mark.parametrize(
    ("label", "second"),
    [
        (
            "same email, any case",
            {
                "first_name": "X",
                "last_name": "Y",
                "emails": [{"email": "ADA@example.org", "is_primary": True}],
            },
        ),
        (
            "first+last+zip",
            {"first_name": "ada", "last_name": "LOVELACE", "address": {"postal_code": "3511 aa"}},
        ),
        (
            "first+street+city+zip",
            {
                "first_name": "Ada",
                "last_name": "Byron",
                "address": {"street": "Kade 1", "city": "Utrecht", "postal_code": "3511AA"},
            },
        ),
        (
            "first+street+city+state",
            {
                "first_name": "Ada",
                "last_name": "Byron",
                "address": {"street": "kade 1", "city": "utrecht", "state": "ut"},
            },
        ),
        (
            "first+last+phone",
            {
                "first_name": "Ada",
                "last_name": "Lovelace",
                "phones": [{"number": "+31612345678", "type": "home"}],
            },
        ),
    ],
)
async def test_candidate_duplicate_criteria(cats_api: CatsApi, label: str, second: dict[str, Any]) -> None:
    existing = await cats_api.create("candidates", ADA)
    reply = await cats_api.post("candidates", second, check_duplicate="true")
    assert reply.status == 409, label
    assert reply.headers["Location"].endswith(f"/candidates/{existing}")


@pytest.mark.parametrize(
    ("label", "second"),
    [
        ("same name only", {"first_name": "Ada", "last_name": "Lovelace"}),
        (
            "street without a digit does not count",
            {
                "first_name": "Ada",
                "last_name": "Byron",
                "address": {"street": "Kade", "city": "Utrecht", "state": "UT"},
            },
        ),
        (
            "other first name at the same address",
            {"first_name": "Bob", "last_name": "Byron", "address": ADA["address"]},
        ),
        (
            "same phone, other name",
            {
                "first_name": "Bob",
                "last_name": "Lovelace",
                "phones": [{"number": "+31612345678", "type": "mobile"}],
            },
        ),
    ],
)
async def test_candidates_that_do_not_meet_a_criterion_are_created(
    cats_api: CatsApi, label: str, second: dict[str, Any]
) -> None:
    await cats_api.create("candidates", {**ADA, "address": {**ADA["address"], "street": "Kade 1"}})
    reply = await cats_api.post("candidates", second, check_duplicate="true")
    assert reply.status == 201, label


async def test_contact_same_email_or_same_name_at_the_same_company_is_a_duplicate(cats_api: CatsApi) -> None:
    acme, other = await cats_api.company(), await cats_api.company()
    existing = await cats_api.contact(
        acme,
        first_name="Grace",
        last_name="Hopper",
        emails=[{"email": "grace@acme.example", "is_primary": True}],
    )
    base = {"owner_id": cats_api.owner_id}
    same_name = {**base, "first_name": "grace", "last_name": "hopper", "company_id": acme}
    same_email = {
        **base,
        "first_name": "G",
        "last_name": "H",
        "company_id": other,
        "emails": [{"email": "Grace@Acme.example", "is_primary": True}],
    }
    for body in (same_name, same_email):
        reply = await cats_api.post("contacts", body, check_duplicate="true")
        assert reply.status == 409
        assert reply.headers["Location"].endswith(f"/contacts/{existing}")
    elsewhere = {**base, "first_name": "Grace", "last_name": "Hopper", "company_id": other}
    assert (await cats_api.post("contacts", elsewhere, check_duplicate="true")).status == 201


async def test_a_deleted_record_is_no_longer_a_duplicate(cats_api: CatsApi) -> None:
    existing = await cats_api.company(name="Gone Ltd")
    await cats_api.delete(f"companies/{existing}")
    reply = await cats_api.post(
        "companies", {"name": "Gone Ltd", "owner_id": cats_api.owner_id}, check_duplicate="true"
    )
    assert reply.status == 201


async def test_a_renamed_record_is_matched_by_its_new_name(cats_api: CatsApi) -> None:
    existing = await cats_api.company(name="Old Name")
    await cats_api.put(f"companies/{existing}", {"name": "New Name", "owner_id": cats_api.owner_id})
    old = await cats_api.post(
        "companies", {"name": "Old Name", "owner_id": cats_api.owner_id}, check_duplicate="true"
    )
    assert old.status == 201
    new = await cats_api.post(
        "companies", {"name": "New Name", "owner_id": cats_api.owner_id}, check_duplicate="true"
    )
    assert new.status == 409
