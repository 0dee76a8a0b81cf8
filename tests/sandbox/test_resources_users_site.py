"""Users (read-only), the site, and company/contact statuses."""

from __future__ import annotations

import pytest

from companion.sandbox.errors import SandboxHttpError
from tests.sandbox.conftest import CatsApi


async def test_users_are_listed_and_fetched(cats_api: CatsApi) -> None:
    second = cats_api.store.create_user(
        username="sam", first_name="Sam", last_name="Sourcer", access_level="add_edit"
    )
    listed = (await cats_api.get("users")).body
    assert listed["total"] == 2
    assert [u["id"] for u in listed["_embedded"]["users"]] == [cats_api.owner_id, second]
    user = (await cats_api.get(f"users/{second}")).body
    assert user == {
        "id": second,
        "username": "sam",
        "first_name": "Sam",
        "last_name": "Sourcer",
        "title": "",
        "access_level": "add_edit",
        "_links": {"self": {"href": f"/users/{second}"}},
    }
    assert (await cats_api.get("users/1")).status == 404


async def test_users_are_read_only_over_http(cats_api: CatsApi) -> None:
    reply = await cats_api.post("users", {"username": "x"})
    assert reply.status == 404
    assert (await cats_api.delete(f"users/{cats_api.owner_id}")).status == 404
    assert cats_api.store.record_counts()["users"] == 1


def test_usernames_are_unique_and_names_required(cats_api: CatsApi) -> None:
    for kwargs in (
        {"username": "owner", "first_name": "A", "last_name": "B"},
        {"username": "new", "first_name": "", "last_name": "B"},
    ):
        with pytest.raises(SandboxHttpError) as caught:
            cats_api.store.create_user(**kwargs)
        assert caught.value.status == 400
    assert cats_api.store.record_counts()["users"] == 1


async def test_site_answers_id_mode_subdomain_and_default_company(cats_api: CatsApi) -> None:
    site = (await cats_api.get("site")).body
    assert set(site) == {"id", "mode", "subdomain", "default_company_id"}
    assert site["default_company_id"] is None
    own = await cats_api.company(name="Our Agency")
    cats_api.store.configure_site(subdomain="acme", default_company_id=own)
    assert (await cats_api.get("site")).body["default_company_id"] == own
    assert (await cats_api.get("site")).body["subdomain"] == "acme"
    with pytest.raises(SandboxHttpError):
        cats_api.store.configure_site(default_company_id=1)


@pytest.mark.parametrize("resource", ["companies", "contacts"])
async def test_statuses_are_listed_and_fetched(cats_api: CatsApi, resource: str) -> None:
    listed = (await cats_api.get(f"{resource}/statuses")).body
    statuses = listed["_embedded"]["statuses"]
    assert listed["total"] == len(statuses) >= 2
    first = statuses[0]
    assert set(first) >= {"id", "title", "mapping", "prerequisites", "triggers", "_links"}
    assert (await cats_api.get(f"{resource}/statuses/{first['id']}")).body == first
    assert (await cats_api.get(f"{resource}/statuses/1")).status == 404


async def test_status_change_sets_status_id_and_refuses_unknown_statuses(cats_api: CatsApi) -> None:
    company = await cats_api.company()
    statuses = (await cats_api.get("companies/statuses")).body["_embedded"]["statuses"]
    target = statuses[-1]["id"]
    assert (await cats_api.post(f"companies/{company}/status", {"status_id": target})).status == 204
    record = (await cats_api.get(f"companies/{company}")).body
    assert record["status_id"] == target
    assert record["_embedded"]["status"]["id"] == target
    reply = await cats_api.post(f"companies/{company}/status", {"status_id": 1})
    assert reply.status == 400
    assert (await cats_api.get(f"companies/{company}")).body["status_id"] == target
    assert (await cats_api.post("companies/1/status", {"status_id": target})).status == 404
    assert (await cats_api.get("candidates/statuses")).status == 404
