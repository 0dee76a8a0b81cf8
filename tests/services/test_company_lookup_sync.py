"""Lookups against a cache filled by the real sync from the CATS sandbox: kept current by the change hook,
and answering with CATS gone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from companion.cats.client import CatsClient
from companion.cats.retry import RetryPolicy
from companion.matching import CompanyQuery, MatchBasis
from companion.services.company_lookup import CompanyLookupService
from companion.services.company_sync import CompanySync
from companion.store import Database
from companion.store.aliases import AliasStore
from companion.store.companies import CompanyCache
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle
from tests.services.lookup_support import Clock, open_service, settings_service

QUICK = RetryPolicy(max_attempts=1)
OWNER = 4001


@pytest.fixture
async def service(db: Database, tmp_path: Path) -> AsyncIterator[CompanyLookupService]:
    lookup = await open_service(db, settings_service(tmp_path), Clock())
    yield lookup
    lookup.close()


async def events_sandbox(sandbox_factory: SandboxFactory) -> SandboxHandle:
    """A sandbox whose CATS refuses date searches, so incremental syncs read events (and see deletions)."""
    sandbox = await sandbox_factory(
        seed=120, seed_random=7, rate_limit=0, unfilterable=frozenset({"companies.date_modified"})
    )
    return sandbox


async def test_the_index_follows_a_sync_that_adds_renames_and_deletes_companies(
    sandbox_factory: SandboxFactory, db: Database, service: CompanyLookupService
) -> None:
    sandbox = await events_sandbox(sandbox_factory)
    store = sandbox.store
    original = store.get_record("companies", 9005)["name"]
    async with CatsClient(sandbox.url, sandbox.key, retry=QUICK) as cats:
        sync = CompanySync(cats, CompanyCache(db))
        sync.on_change(service.apply_changes)
        await sync.run()
        assert len(service.index) == 120
        found = service.lookup(CompanyQuery(name=original))
        assert found.match is not None and found.match.company_id == 9005

        await sandbox.control.advance_clock(120)
        store.update_record("companies", 9005, {"name": "Quorbly Renamed Holdings BV", "owner_id": OWNER})
        created = store.create_record("companies", {"name": "Zentrifex Widgets GmbH", "owner_id": OWNER})
        deleted_name = store.get_record("companies", 9007)["name"]
        await service.confirm(CompanyQuery(name="Some Alias For Nine Thousand Seven"), 9007)
        store.delete_record("companies", 9007)
        outcome = await sync.run()
        assert outcome.mode == "events"

    renamed = service.lookup(CompanyQuery(name="Quorbly Renamed Holdings"))
    assert renamed.match is not None and renamed.match.company_id == 9005
    assert renamed.match.basis is MatchBasis.EXACT_NAME
    old = service.lookup(CompanyQuery(name=original))
    assert 9005 not in {old.match.company_id if old.match else None} | {
        company_id for warning in old.warnings for company_id in warning.company_ids
    }
    new = service.lookup(CompanyQuery(name="Zentrifex Widgets Ltd"))
    assert new.match is not None and new.match.company_id == created
    gone = service.lookup(CompanyQuery(name=deleted_name))
    assert 9007 not in {gone.match.company_id if gone.match else None}
    assert 9007 not in service.index
    assert await AliasStore(db).for_company(9007) == []
    assert len(service.index) == 120


async def test_lookups_and_searches_answer_from_the_cache_with_cats_unreachable(
    sandbox_factory: SandboxFactory, db: Database, service: CompanyLookupService
) -> None:
    sandbox = await sandbox_factory(seed=40, seed_random=3, rate_limit=0)
    record = sandbox.store.get_record("companies", 9010)
    async with CatsClient(sandbox.url, sandbox.key, retry=QUICK) as cats:
        sync = CompanySync(cats, CompanyCache(db))
        sync.on_change(service.apply_changes)
        await sync.run()
    await sandbox.control.reset_counters()
    online = service.lookup(CompanyQuery(name=record["name"], website=record["website"]))
    assert (await sandbox.control.counters())["requests_total"] == 0  # lookups never ask CATS

    await sandbox.control.close()
    await sandbox.running.close()
    offline = service.lookup(CompanyQuery(name=record["name"], website=record["website"]))
    assert offline == online
    assert offline.match is not None and offline.match.company_id == 9010
    assert offline.cache.state == "ready"
    owner = next(field for field in offline.company if field.key == "owner")
    assert (
        owner.value is not None
        and owner.value != str(record["owner_id"])
        and owner.ref_id == record["owner_id"]
    )
    hits = service.search(record["name"][:4], limit=50).companies
    assert 9010 in {hit.id for hit in hits}
