"""Email and phone sub-records of candidates and contacts, and the parent's read objects kept in step."""

from __future__ import annotations

from tests.sandbox.conftest import CatsApi


async def test_email_sub_records_list_get_create_update_delete(cats_api: CatsApi) -> None:
    cid = await cats_api.candidate(emails=[{"email": "ada@example.org", "is_primary": True}])
    listed = (await cats_api.get(f"candidates/{cid}/emails")).body
    assert listed["count"] == listed["total"] == 1
    (first,) = listed["_embedded"]["emails"]
    assert first["email"] == "ada@example.org" and first["is_primary"] is True
    assert first["_links"]["self"] == {"href": f"/candidates/{cid}/emails/{first['id']}"}

    created = await cats_api.post(
        f"candidates/{cid}/emails", {"email": "ada@work.example", "is_primary": False}
    )
    assert created.status == 201
    new_id = int(created.headers["Location"].rsplit("/", 1)[1])
    assert created.headers["Location"].endswith(f"/v3/candidates/{cid}/emails/{new_id}")
    one = (await cats_api.get(f"candidates/{cid}/emails/{new_id}")).body
    assert set(one) >= {"id", "email", "is_primary", "date_created", "date_modified", "_links"}

    assert (
        await cats_api.put(f"candidates/{cid}/emails/{new_id}", {"email": "ada@new.example"})
    ).status == 204
    assert (await cats_api.get(f"candidates/{cid}")).body["emails"] == {
        "primary": "ada@example.org",
        "secondary": "ada@new.example",
    }

    assert (await cats_api.delete(f"candidates/{cid}/emails/{new_id}")).status == 204
    assert (await cats_api.get(f"candidates/{cid}/emails/{new_id}")).status == 404
    assert (await cats_api.get(f"candidates/{cid}")).body["emails"]["secondary"] is None


async def test_a_new_primary_email_demotes_the_old_one(cats_api: CatsApi) -> None:
    cid = await cats_api.candidate(emails=[{"email": "old@example.org", "is_primary": True}])
    await cats_api.post(f"candidates/{cid}/emails", {"email": "new@example.org", "is_primary": True})
    record = (await cats_api.get(f"candidates/{cid}")).body
    assert record["emails"] == {"primary": "new@example.org", "secondary": "old@example.org"}
    assert sum(e["is_primary"] for e in record["_embedded"]["emails"]) == 1


async def test_the_first_email_must_be_primary(cats_api: CatsApi) -> None:
    cid = await cats_api.candidate()
    reply = await cats_api.post(f"candidates/{cid}/emails", {"email": "a@example.org", "is_primary": False})
    assert reply.status == 400
    assert reply.body["message"] == "Validation failed."
    assert (await cats_api.get(f"candidates/{cid}/emails")).body["total"] == 0


async def test_the_primary_email_cannot_be_unmarked_but_deleting_it_promotes_the_next(
    cats_api: CatsApi,
) -> None:
    cid = await cats_api.candidate(
        emails=[{"email": "a@example.org", "is_primary": True}, {"email": "b@example.org"}]
    )
    emails = (await cats_api.get(f"candidates/{cid}/emails")).body["_embedded"]["emails"]
    primary = emails[0]["id"]
    reply = await cats_api.put(
        f"candidates/{cid}/emails/{primary}", {"email": "a@example.org", "is_primary": False}
    )
    assert reply.status == 400
    await cats_api.delete(f"candidates/{cid}/emails/{primary}")
    assert (await cats_api.get(f"candidates/{cid}")).body["emails"] == {
        "primary": "b@example.org",
        "secondary": None,
    }


async def test_phone_sub_records_keep_the_parent_phones_object_in_step(cats_api: CatsApi) -> None:
    company = await cats_api.company()
    cid = await cats_api.contact(company)
    created = await cats_api.post(
        f"contacts/{cid}/phones", {"number": "+15550001", "type": "Mobile", "extension": ""}
    )
    assert created.status == 201
    phone_id = int(created.headers["Location"].rsplit("/", 1)[1])
    assert (await cats_api.get(f"contacts/{cid}")).body["phones"]["cell"] == "+15550001"
    phone = (await cats_api.get(f"contacts/{cid}/phones/{phone_id}")).body
    assert phone["type"] == "mobile" and phone["number"] == "+15550001"
    assert (
        await cats_api.put(f"contacts/{cid}/phones/{phone_id}", {"number": "+15550002", "type": "fax"})
    ).status == 204
    assert (await cats_api.get(f"contacts/{cid}")).body["phones"] == {
        "home": None,
        "cell": None,
        "work": None,
        "other": "+15550002",
    }
    assert (await cats_api.delete(f"contacts/{cid}/phones/{phone_id}")).status == 204
    assert (await cats_api.get(f"contacts/{cid}/phones")).body["total"] == 0


async def test_a_sub_record_write_bumps_the_parent_date_modified(cats_api: CatsApi) -> None:
    cid = await cats_api.candidate()
    cats_api.clock.advance(60)
    await cats_api.post(f"candidates/{cid}/phones", {"number": "+1", "type": "home"})
    assert (await cats_api.get(f"candidates/{cid}")).body["date_modified"] == "2025-05-01T12:01:00+00:00"


async def test_invalid_sub_record_bodies_are_refused(cats_api: CatsApi) -> None:
    cid = await cats_api.candidate()
    for path, body in (
        (f"candidates/{cid}/emails", {"email": "not-an-address", "is_primary": True}),
        (f"candidates/{cid}/phones", {"number": "+1", "type": "pager"}),
        (f"candidates/{cid}/phones", {"type": "home"}),
    ):
        reply = await cats_api.post(path, body)
        assert reply.status == 400, body
    assert (await cats_api.get(f"candidates/{cid}")).body["_embedded"]["phones"] == []


async def test_sub_records_of_unknown_parents_or_ids_are_404(cats_api: CatsApi) -> None:
    cid = await cats_api.candidate()
    assert (await cats_api.get("candidates/1/emails")).status == 404
    assert (await cats_api.post("candidates/1/phones", {"number": "+1", "type": "home"})).status == 404
    assert (await cats_api.get(f"candidates/{cid}/emails/5")).status == 404
    assert (await cats_api.delete(f"candidates/{cid}/phones/5")).status == 404


async def test_companies_have_phone_sub_records_but_no_emails(cats_api: CatsApi) -> None:
    company = await cats_api.company(phones=[{"number": "+3120", "type": "main"}])
    assert (await cats_api.get(f"companies/{company}/phones")).body["total"] == 1
    assert (await cats_api.get(f"companies/{company}/emails")).status == 404
