"""Pushing people to the CATS sandbox over HTTP through the push service and the outbox worker: create, merge,
protected fields, mandatory refusal, do-not-merge, contact companies. Request counts come from the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from companion.errors import (
    ContactCompanyAmbiguousError,
    ContactCompanyMissingError,
    MandatoryFieldsMissingError,
)
from companion.services.push import PushRequest
from companion.store.aliases import AliasStore
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle
from tests.services.pushenv import OWNER, PushEnv, ada, make_env, settings_with


@pytest.fixture
async def sandbox2(sandbox_factory: SandboxFactory) -> SandboxHandle:
    """Two seeded companies (and users 4001...), no rate limit: request counts are exact."""
    return await sandbox_factory(seed=2, seed_random=3, rate_limit=0)


@pytest.fixture
async def env(sandbox2: SandboxHandle, tmp_path: Path) -> AsyncIterator[PushEnv]:
    built, close = await make_env(sandbox2, tmp_path)
    yield built
    await close()


async def test_a_new_candidate_is_created_with_one_request_and_its_id_is_kept(env: PushEnv) -> None:
    accepted = await env.service.push(PushRequest(person=ada()))
    assert [item["status"] for item in accepted.items] == ["queued"]
    counts = await env.worker.drain()
    assert counts == {"synced": 1}
    assert await env.requests() == {"POST /v3/candidates": 1}
    [record] = env.candidates_named("Ada", "Lovelace")
    item = await env.service.item(accepted.items[0]["id"])
    assert item.status == "synced" and item.cats_id == record["id"]
    assert record["emails"]["primary"] == "ada@engines.example"
    assert record["title"] == "Data Engineer"
    stored = await env.service.people.record(accepted.person_id, "candidates")
    assert stored is not None and stored.cats_id == record["id"] and stored.how == "created"
    assert [p.status for p in env.published] == ["queued", "sending", "synced"]


async def test_a_person_already_in_cats_is_merged_with_at_most_three_requests_and_no_duplicate(
    env: PushEnv,
) -> None:
    existing = env.sandbox.store.create_record(
        "candidates",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "title": "Analyst",
            "emails": [{"email": "ada@engines.example", "is_primary": True}],
            "key_skills": "Python",
        },
    )
    await env.service.push(PushRequest(person=ada()))
    assert await env.worker.drain() == {"synced": 1}
    # The create with check_duplicate=true answers "duplicate" with the existing record's Location.
    assert await env.requests() == {
        "POST /v3/candidates": 1,
        "GET /v3/candidates/{id}": 1,
        "PUT /v3/candidates/{id}": 1,
    }
    [record] = env.candidates_named("Ada", "Lovelace")
    assert record["id"] == existing
    assert record["title"] == "Data Engineer"
    assert record["key_skills"] == "Python"  # untouched fields are not blanked
    [entry, *_] = await env.service.log.entries()
    assert entry.action == "updated" and "title" in entry.changed_fields


async def test_a_merge_with_nothing_new_sends_no_put(env: PushEnv) -> None:
    await env.service.push(PushRequest(person=ada()))
    await env.worker.drain()
    await env.sandbox.control.reset_counters()
    await env.service.push(PushRequest(person=ada()))
    assert await env.worker.drain() == {"synced": 2}
    # The companion knows the record now: GET, nothing to change, no PUT.
    assert await env.requests() == {"GET /v3/candidates/{id}": 1}
    [entry, *_] = await env.service.log.entries()
    assert entry.action == "unchanged"


async def test_protected_fields_are_never_overwritten_and_only_if_blank_fills_empty_ones(
    env: PushEnv,
) -> None:
    env.settings = settings_with(
        **{
            "sync.candidates.protected_fields": [
                {"field": "title", "only_fill_when_blank": False},
                {"field": "source", "only_fill_when_blank": True},
                {"field": "key_skills", "only_fill_when_blank": True},
            ]
        }
    )
    env.sandbox.store.create_record(
        "candidates",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "title": "Countess",
            "source": "Referral",
            "emails": [{"email": "ada@engines.example", "is_primary": True}],
        },
    )
    await env.service.push(PushRequest(person=ada(skills=["Python", "Math"], source="Companion")))
    assert await env.worker.drain() == {"synced": 1}
    [record] = env.candidates_named("Ada", "Lovelace")
    assert record["title"] == "Countess"  # protected
    assert record["source"] == "Referral"  # only when blank, and it was not
    assert record["key_skills"] == "Python, Math"  # only when blank, and it was


async def test_mandatory_fields_missing_are_refused_before_anything_is_queued_or_sent(env: PushEnv) -> None:
    env.settings = settings_with(**{"sync.candidates.mandatory_fields": ["first_name", "last_name", "title"]})
    with pytest.raises(MandatoryFieldsMissingError) as refused:
        await env.service.push(PushRequest(person=ada(title=None)))
    assert refused.value.fields == [{"field": "title", "label": "Title"}]
    assert "Title" in refused.value.message
    assert await env.service.outbox.counts() == {}
    assert await env.service.people.person_by_key(ada().identity_key()) is None
    assert await env.worker.drain() == {}
    assert await env.total_requests() == 0


async def test_do_not_merge_creates_a_second_record_even_when_one_exists(env: PushEnv) -> None:
    env.settings = settings_with(**{"general.do_not_merge": True})
    env.sandbox.store.create_record(
        "candidates",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "emails": [{"email": "ada@engines.example", "is_primary": True}],
        },
    )
    await env.service.push(PushRequest(person=ada()))
    assert await env.worker.drain() == {"synced": 1}
    assert await env.requests() == {"POST /v3/candidates": 1}
    assert len(env.candidates_named("Ada", "Lovelace")) == 2


async def test_a_contact_takes_the_company_the_user_confirmed_as_alias_first(env: PushEnv) -> None:
    env.settings = settings_with(**{"sync.contacts.default_owner_id": OWNER})
    companies = env.sandbox.store.list_records("companies", 1, 10).items
    first, second = companies[0]["id"], companies[1]["id"]
    await _cache_companies(env, companies)
    # The cache would match the name to the first company; the user confirmed the second.
    await AliasStore(env.db).confirm([("name", "acme widgets")], second, confirmed_at=datetime.now(UTC))
    person = ada(current_company="ACME Widgets", emails=["ada@acme-widgets.example"], linkedin=None)
    await _rename(env, first, "ACME Widgets")
    await env.service.push(PushRequest(person=person, record_type="contacts"))
    assert await env.worker.drain() == {"synced": 1}
    [contact] = env.sandbox.store.search_records(
        "contacts",
        filter={"field": "emails.primary", "filter": "exactly", "value": "ada@acme-widgets.example"},
    ).items
    assert contact["company_id"] == second


async def test_a_contact_without_a_known_company_is_refused_clearly_by_default(env: PushEnv) -> None:
    env.settings = settings_with(**{"sync.contacts.default_owner_id": OWNER})
    person = ada(current_company="Nowhere Ltd", emails=["ada@nowhere.example"])
    with pytest.raises(ContactCompanyMissingError) as refused:
        await env.service.push(PushRequest(person=person, record_type="contacts"))
    assert "Nowhere Ltd" in refused.value.message
    assert await env.service.outbox.counts() == {}


async def test_a_contact_whose_company_is_missing_gets_it_created_when_the_setting_says_so(
    env: PushEnv,
) -> None:
    env.settings = settings_with(
        **{"sync.contacts.default_owner_id": OWNER, "sync.contacts.missing_company": "create"}
    )
    person = ada(current_company="Nowhere Ltd", emails=["ada@nowhere.example"])
    await env.service.push(PushRequest(person=person, record_type="contacts"))
    assert await env.worker.drain() == {"synced": 1}
    assert await env.requests() == {"POST /v3/companies": 1, "POST /v3/contacts": 1}
    [company] = env.sandbox.store.search_records(
        "companies", filter={"field": "name", "filter": "exactly", "value": "Nowhere Ltd"}
    ).items
    [contact] = env.sandbox.store.search_records(
        "contacts", filter={"field": "emails.primary", "filter": "exactly", "value": "ada@nowhere.example"}
    ).items
    assert contact["company_id"] == company["id"]
    assert contact["owner_id"] == OWNER


async def test_a_contact_name_that_fits_several_cached_companies_is_refused_with_the_candidates(
    env: PushEnv,
) -> None:
    env.settings = settings_with(**{"sync.contacts.default_owner_id": OWNER})
    companies = env.sandbox.store.list_records("companies", 1, 10).items
    for company in companies[:2]:
        await _rename(env, company["id"], "Twin Corp")
    await _cache_companies(env, env.sandbox.store.list_records("companies", 1, 10).items)
    with pytest.raises(ContactCompanyAmbiguousError) as refused:
        await env.service.push(
            PushRequest(person=ada(current_company="Twin Corp", emails=[]), record_type="contacts")
        )
    assert {c["id"] for c in refused.value.candidates} == {companies[0]["id"], companies[1]["id"]}


async def _rename(env: PushEnv, company_id: int, name: str) -> None:
    record = env.sandbox.store.get_record("companies", company_id)
    env.sandbox.store.update_record("companies", company_id, {"name": name, "owner_id": record["owner_id"]})
    await _cache_companies(env, [env.sandbox.store.get_record("companies", company_id)])


async def _cache_companies(env: PushEnv, records: list[dict[str, object]]) -> None:
    from companion.services.company_records import company_rows
    from companion.store.companies import CompanyCache

    cache = CompanyCache(env.db)
    async with env.db.transaction() as conn:
        await cache.upsert(conn, company_rows(records), synced_at=datetime(2025, 1, 1, tzinfo=UTC))
