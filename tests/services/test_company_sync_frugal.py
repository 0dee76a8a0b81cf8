"""What an incremental company sync costs, and that the high-water mark passes a second shared by thousands
of companies without losing one changed in that second, whatever this machine's clock says.

The sandbox runs on a frozen clock that only the tests move (its `Date` header follows it), so "the same
second" is exact. Request counts come from the sandbox's own counters and are printed for the record.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from companion.cats.client import CatsClient
from companion.cats.retry import RetryPolicy
from companion.matching import CompanyQuery
from companion.services.company_lookup import CompanyLookupService
from companion.services.company_sync import CompanySync
from companion.store import Database
from companion.store.companies import CompanyCache
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle
from tests.services.lookup_support import Clock, open_service, settings_service

QUICK = RetryPolicy(max_attempts=1)
OWNER = 4001
#: The sandbox's time while a test does not move it: the bulk import below happens at this second.
IMPORTED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = 3600


@pytest.fixture
async def bulk_imported(sandbox_factory: SandboxFactory) -> SandboxHandle:
    """2,000 companies from one bulk import: every one has the same `date_modified`."""
    return await sandbox_factory(seed=2000, seed_random=11, rate_limit=0, clock=lambda: IMPORTED_AT)


@pytest.fixture
async def lookup(db: Database, tmp_path: Path) -> AsyncIterator[CompanyLookupService]:
    service = await open_service(db, settings_service(tmp_path), Clock())
    yield service
    service.close()


async def requests_of(sandbox: SandboxHandle, sync: CompanySync, label: str) -> int:
    """Run one sync and return the CATS requests it sent (printed: the figures the README quotes)."""
    await sandbox.control.reset_counters()
    outcome = await sync.run()
    counted: int = (await sandbox.control.counters())["requests_total"]
    print(f"{label}: {outcome.phase}/{outcome.mode}, {counted} CATS requests, {outcome.upserted} companies")
    assert outcome.requests == counted  # what `cats-companion sync` reports is what CATS saw
    return counted


def skewed(offset: timedelta) -> Callable[[], datetime]:
    return lambda: datetime.now(UTC) + offset


def rename(sandbox: SandboxHandle, company_id: int, name: str) -> None:
    sandbox.store.update_record("companies", company_id, {"name": name, "owner_id": OWNER})


async def test_an_idle_sync_an_hour_after_a_bulk_import_costs_one_request(
    bulk_imported: SandboxHandle, db: Database
) -> None:
    # The import finished a minute before the companion's first sync.
    await bulk_imported.control.advance_clock(60)
    async with CatsClient(bulk_imported.url, bulk_imported.key, retry=QUICK) as cats:
        sync = CompanySync(cats, CompanyCache(db))
        full = await requests_of(bulk_imported, sync, "first sync")
        assert full == 2 + 20  # statuses, users and 20 pages of 100
        for hour in range(1, 4):
            await bulk_imported.control.advance_clock(HOUR)
            assert await requests_of(bulk_imported, sync, f"idle sync, hour {hour}") <= 2
    mark = (await CompanyCache(db).sync_record()).high_water
    assert mark is not None and mark >= IMPORTED_AT  # the shared second is behind the mark


async def test_three_changed_companies_cost_one_request_and_the_lookup_finds_their_new_names_at_once(
    bulk_imported: SandboxHandle, db: Database, lookup: CompanyLookupService
) -> None:
    await bulk_imported.control.advance_clock(60)
    async with CatsClient(bulk_imported.url, bulk_imported.key, retry=QUICK) as cats:
        sync = CompanySync(cats, CompanyCache(db))
        sync.on_change(lookup.apply_changes)
        await sync.run()
        await bulk_imported.control.advance_clock(HOUR)
        await requests_of(bulk_imported, sync, "idle sync")
        await bulk_imported.control.advance_clock(600)
        renamed = {
            9011: "Quillfeather Analytics BV",
            9512: "Brontide Logistics GmbH",
            10999: "Zephyrine Labs",
        }
        for company_id, name in renamed.items():
            rename(bulk_imported, company_id, name)
        assert await requests_of(bulk_imported, sync, "sync after 3 changes") <= 3
    for company_id, name in renamed.items():
        found = lookup.lookup(CompanyQuery(name=name))
        assert found.match is not None and found.match.company_id == company_id


async def test_a_company_changed_in_the_second_the_sync_read_still_arrives(
    bulk_imported: SandboxHandle, db: Database
) -> None:
    async with CatsClient(bulk_imported.url, bulk_imported.key, retry=QUICK) as cats:
        sync = CompanySync(cats, CompanyCache(db))
        # The first sync reads the import in its own second; a company is renamed in that same second,
        # after the sync read it: its date_modified is the one the cache already holds.
        await sync.run()
        rename(bulk_imported, 9500, "Same Second Renamed Ltd")
        assert (
            bulk_imported.store.get_record("companies", 9500)["date_modified"] == "2026-03-02T09:00:00+00:00"
        )
        await bulk_imported.control.advance_clock(HOUR)
        # The import's second is read again (20 pages), after one request that tells CATS's clock now.
        assert await requests_of(bulk_imported, sync, "sync after a same-second change") == 1 + 20
        stored = await CompanyCache(db).get(9500)
        assert stored is not None and stored.name == "Same Second Renamed Ltd"
        mark = (await CompanyCache(db).sync_record()).high_water
        assert mark is not None and mark > IMPORTED_AT

        # A change made in the second that sync read arrives too, and the import is not read again.
        rename(bulk_imported, 9600, "Second Same Second Ltd")
        await bulk_imported.control.advance_clock(HOUR)
        assert await requests_of(bulk_imported, sync, "next sync") <= 2
        stored = await CompanyCache(db).get(9600)
        assert stored is not None and stored.name == "Second Same Second Ltd"
        await bulk_imported.control.advance_clock(HOUR)
        assert await requests_of(bulk_imported, sync, "idle sync after that") <= 2


@pytest.mark.parametrize("offset", [timedelta(minutes=10), timedelta(minutes=-10)], ids=["ahead", "behind"])
async def test_a_laptop_clock_off_by_ten_minutes_loses_no_change(
    bulk_imported: SandboxHandle, db: Database, offset: timedelta
) -> None:
    await bulk_imported.control.advance_clock(60)
    async with CatsClient(bulk_imported.url, bulk_imported.key, retry=QUICK) as cats:
        sync = CompanySync(cats, CompanyCache(db), now=skewed(offset))
        await sync.run()
        rename(bulk_imported, 9700, "Skewed Clock Renamed AG")  # in the second the sync ended
        await bulk_imported.control.advance_clock(5)
        rename(bulk_imported, 9701, "A Few Seconds Later SA")
        await bulk_imported.control.advance_clock(HOUR)
        await sync.run()
        rename(bulk_imported, 9702, "After The Idle Sync Oy")
        await bulk_imported.control.advance_clock(1)
        await sync.run()
    cache = CompanyCache(db)
    for company_id, name in {
        9700: "Skewed Clock Renamed AG",
        9701: "A Few Seconds Later SA",
        9702: "After The Idle Sync Oy",
    }.items():
        stored = await cache.get(company_id)
        assert stored is not None and stored.name == name
