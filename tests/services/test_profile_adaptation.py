"""The companion following a probed account profile, end to end against the sandbox in each quirk:
company sync (full and incremental), pushes with notes, merges with protected fields, a duplicate hit
answered 200 -- nothing lost, nothing doubled."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from companion.cats.budget import Priority, RateBudget
from companion.cats.client import CatsClient
from companion.cats.retry import RetryPolicy
from companion.errors import CatsDuplicateError
from companion.rules.notes import NoteSpec
from companion.sandbox.quirks import Quirk
from companion.services.account_probe import probe_account
from companion.services.campaigns import CampaignCreate
from companion.services.company_records import company_row
from companion.services.company_sync import CompanySync
from companion.services.crm_search import SearchParams
from companion.services.crm_search import search as crm_search
from companion.services.push import EventRequest, PushRequest
from companion.services.resolve import find_note
from companion.settings.catalogue import Catalogue
from companion.settings.models import Settings
from companion.store import Database
from companion.store.companies import CompanyCache
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle
from tests.services.pushenv import OWNER, ada, at, make_env, settings_with
from tests.services.test_company_sync import cached_ids, company_ids, ready

QUIRKS = [None, *Quirk]


def _ids(quirk: Quirk | None) -> str:
    return quirk.value if quirk else "default"


def _quirks(quirk: Quirk | None) -> frozenset[Quirk]:
    return frozenset([quirk] if quirk else [])


@pytest.mark.parametrize("quirk", QUIRKS, ids=_ids)
async def test_full_and_incremental_company_sync_follow_the_profile_in_each_quirk(
    sandbox_factory: SandboxFactory, db: Database, quirk: Quirk | None
) -> None:
    sandbox = await ready(await sandbox_factory(seed=160, seed_random=4, quirks=_quirks(quirk)))
    profile = (await probe_account(sandbox.url, sandbox.key)).answers
    async with CatsClient(sandbox.url, sandbox.key, retry=RetryPolicy(max_attempts=1)) as cats:
        profile.apply_to(cats)
        cache = CompanyCache(db)
        sync = CompanySync(cats, cache)
        sync.date_filter = profile.date_modified_filter
        await sync.run()
        assert await cached_ids(cache) == company_ids(sandbox)

        await sandbox.control.advance_clock(120)
        store = sandbox.store
        store.update_record("companies", 9005, {"name": "Renamed Holdings BV", "owner_id": OWNER})
        created = store.create_record("companies", {"name": "Brand New Widgets GmbH", "owner_id": OWNER})
        store.delete_record("companies", 9007)
        await sandbox.control.reset_counters()
        outcome = await sync.run()
        counters = await sandbox.control.counters()
        # The profile spares the refused search: no 400 at all.
        assert "400" not in counters["responses"]
        assert outcome.mode == ("events" if quirk is Quirk.DATE_FILTER_UNSUPPORTED else "search")
        renamed = await cache.get(9005)
        assert renamed is not None and renamed.name == "Renamed Holdings BV"
        assert await cache.get(created) is not None

        store.delete_record("companies", 9008)
        await sync.run(full=True)
        assert await cached_ids(cache) == company_ids(sandbox)
        if quirk is Quirk.PER_PAGE_MAX_50:
            assert cats.per_page == 50
            assert all("per_page=50" in key or "per_page" not in key for key in counters["requests"])


@pytest.mark.parametrize("quirk", QUIRKS, ids=_ids)
async def test_pushes_merges_and_notes_reach_cats_once_in_each_quirk(
    sandbox_factory: SandboxFactory, tmp_path: Path, quirk: Quirk | None
) -> None:
    sandbox: SandboxHandle = await sandbox_factory(seed=2, seed_random=3, quirks=_quirks(quirk))
    profile = (await probe_account(sandbox.url, sandbox.key, write_probes=True)).answers
    env, close = await make_env(sandbox, tmp_path)
    try:
        profile.apply_to(env.client)
        env.settings = settings_with(
            **{
                "sync.candidates.protected_fields": [
                    {"field": "title", "only_fill_when_blank": False},
                    {"field": "key_skills", "only_fill_when_blank": True},
                ],
                "sync.contacts.default_owner_id": OWNER,
            }
        )
        existing = sandbox.store.create_record(
            "candidates",
            {
                "first_name": "Ada",
                "last_name": "Lovelace",
                "title": "Countess",
                "notes": "Met at the Royal Society",
                "emails": [{"email": "ada@engines.example", "is_primary": True}],
                "owner_id": OWNER,
            },
        )
        await env.service.push(PushRequest(person=ada(skills=["Python"])))
        assert await env.worker.drain() == {"synced": 1}
        [record] = env.candidates_named("Ada", "Lovelace")
        assert record["id"] == existing  # a duplicate hit is linked, never a second record
        assert record["title"] == "Countess"  # protected
        assert record["key_skills"] == "Python"  # filled while blank
        assert record["notes"] == "Met at the Royal Society"  # a PUT never loses what it did not send
        [entry, *_] = await env.service.log.entries()
        assert entry.action == "updated"

        # A new person as a Contact, and a note through a campaign: each once.
        company = sandbox.store.list_records("companies", 1, 1).items[0]
        grace = ada(
            first_name="Grace",
            last_name="Hopper",
            emails=["grace@navy.example"],
            linkedin="https://www.linkedin.com/in/grace-hopper",
        )
        grace = grace.model_copy(update={"current_company": company["name"]})
        await env.service.push(
            PushRequest(person=grace, record_type="contacts", company_id=int(company["id"]))
        )
        campaign = await env.service.campaigns.create(CampaignCreate(name="Q3", sync_trigger="on_add"))
        data: dict[str, Any] = {"campaign_id": campaign.id, "person": ada().model_dump(), "at": at(0)}
        await env.service.record_event(EventRequest.model_validate({**data, "type": "added"}))
        await env.service.record_event(
            EventRequest.model_validate({**data, "type": "outreach", "outreach": "email_sent", "text": "Hi"})
        )
        counts = await env.worker.drain()
        assert set(counts) == {"synced"}
        contacts = sandbox.store.search_records(
            "contacts", filter={"field": "last_name", "filter": "exactly", "value": "Hopper"}, per_page=10
        ).items
        assert len(contacts) == 1
        notes = env.activities("candidates", existing)
        assert [n["notes"] for n in notes] == ["Email sent (campaign: Q3): Hi"]
        assert len(env.candidates_named("Ada", "Lovelace")) == 1
    finally:
        await close()


async def test_a_duplicate_answered_200_is_a_duplicate_not_a_create(sandbox_factory: SandboxFactory) -> None:
    sandbox = await sandbox_factory(seed=2, quirks=frozenset({Quirk.DUPLICATE_200}))
    body = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "emails": [{"email": "a@x.example", "is_primary": True}],
    }
    first = sandbox.store.create_record("candidates", {**body, "owner_id": OWNER})
    async with CatsClient(sandbox.url, sandbox.key) as cats:
        with pytest.raises(CatsDuplicateError) as hit:
            await cats.create_record("candidates", {**body, "owner_id": OWNER}, check_duplicate=True)
    assert hit.value.existing_id == first


async def test_a_profiled_rate_limit_is_the_budget_until_a_header_says_otherwise(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = await sandbox_factory(seed=2, quirks=frozenset({Quirk.LIMIT_1500}))
    profile = (await probe_account(sandbox.url, sandbox.key)).answers
    assert profile.rate_limit == 1500
    async with CatsClient(sandbox.url, sandbox.key, budget=RateBudget()) as cats:
        assert cats.budget.snapshot().limit == 500
        profile.apply_to(cats)
        assert cats.budget.snapshot().limit == 1500
        await cats.check_connection()
        assert cats.budget.snapshot().limit == 1500


@pytest.mark.parametrize("quirk", [None, Quirk.IDS_AS_STRINGS], ids=_ids)
async def test_a_note_already_in_cats_is_found_whether_its_id_is_a_number_or_a_string(
    sandbox_factory: SandboxFactory, quirk: Quirk | None
) -> None:
    sandbox = await sandbox_factory(seed=2, quirks=_quirks(quirk))
    when = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    record = sandbox.store.create_record(
        "candidates", {"first_name": "Ada", "last_name": "L", "owner_id": OWNER}
    )
    note = sandbox.store.create_activity(
        "candidates", record, {"type": "email", "notes": "Hi Ada", "date": when.isoformat()}
    )
    spec = NoteSpec(event_id="e1", kind="email_sent", activity_type="email", notes="Hi Ada", date=when)
    async with CatsClient(sandbox.url, sandbox.key) as cats:
        # Found, so an uncertain note is never written a second time.
        assert await find_note(cats, "candidates", record, spec, priority=Priority.INTERACTIVE) == note


async def test_crm_search_names_the_company_when_ids_come_as_strings(
    sandbox_factory: SandboxFactory, db: Database
) -> None:
    sandbox = await sandbox_factory(seed=5, quirks=frozenset({Quirk.IDS_AS_STRINGS}))
    settings = Settings.model_validate({"sync": {"contacts": {"displayed_fields": ["company_id"]}}})
    contact = sandbox.store.list_records("contacts", 1, 1).items[0]
    row = company_row(sandbox.store.get_record("companies", contact["company_id"]))
    assert row is not None
    async with db.transaction() as conn:
        await CompanyCache(db).upsert(conn, [row], synced_at=datetime(2026, 1, 1, tzinfo=UTC))
    async with CatsClient(sandbox.url, sandbox.key) as cats:
        result = await crm_search(
            SearchParams(record_type="contacts", per_page=1),
            client=cats,
            db=db,
            settings=settings,
            catalogue=Catalogue(),
        )
    assert result.rows[0].cells == {"company_id": row.name}
