"""The company sync against the CATS sandbox over HTTP: full, resumed, incremental (search and events),
deletions, offline and the budget rule. Request counts come from the sandbox's own counters."""

from __future__ import annotations

import asyncio
import math
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from companion.cats.budget import RateBudget
from companion.cats.client import CatsClient
from companion.cats.retry import RetryPolicy
from companion.errors import BudgetReservedError, CatsNetworkError
from companion.matching import normalize_name
from companion.services.company_sync import CompanySync
from companion.services.sync_state import SyncProgress, build_state
from companion.store import Database
from companion.store.companies import CompanyCache
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle

QUICK = RetryPolicy(max_attempts=1)
OWNER = 4001


@pytest.fixture
def cache(db: Database) -> CompanyCache:
    return CompanyCache(db)


@pytest.fixture
async def client(sandbox_250: SandboxHandle) -> AsyncIterator[CatsClient]:
    async with CatsClient(sandbox_250.url, sandbox_250.key, retry=QUICK) as cats:
        yield cats


@pytest.fixture
async def sandbox_250(sandbox_factory: SandboxFactory) -> SandboxHandle:
    return await ready(await sandbox_factory(seed=250, seed_random=1, rate_limit=0))


async def ready(sandbox: SandboxHandle) -> SandboxHandle:
    """Make one company the newest, a minute after the seed.

    Seeding stamps every company with the same second; a real account has few companies in its
    newest second, and the high-water mark (which re-reads that second) should be tested that way.
    """
    await sandbox.control.advance_clock(60)
    newest = sandbox.store.get_record("companies", 9001)
    sandbox.store.update_record("companies", 9001, {"name": newest["name"], "owner_id": newest["owner_id"]})
    await sandbox.control.reset_counters()
    return sandbox


def now() -> datetime:
    return datetime.now(UTC)


async def requests(sandbox: SandboxHandle) -> dict[str, int]:
    counted: dict[str, int] = (await sandbox.control.counters())["requests"]
    return counted


def company_ids(sandbox: SandboxHandle) -> set[int]:
    ids: set[int] = set()
    page = 1
    while True:
        items = sandbox.store.list_records("companies", page, 100).items
        ids.update(item["id"] for item in items)
        if len(items) < 100:
            return ids
        page += 1


async def cached_ids(cache: CompanyCache) -> set[int]:
    return {company_id for batch in [b async for b in cache.names()] for company_id, _ in batch}


# --- full scan ---------------------------------------------------------------------------------------


async def test_a_full_sync_caches_every_company_in_one_request_per_page(
    sandbox_250: SandboxHandle, client: CatsClient, cache: CompanyCache
) -> None:
    outcome = await CompanySync(client, cache).run()
    assert (outcome.phase, outcome.pages, outcome.upserted, outcome.removed) == ("full", 3, 250, 0)
    assert await cached_ids(cache) == company_ids(sandbox_250)
    assert await requests(sandbox_250) == {
        "GET /v3/companies": math.ceil(250 / 100),
        "GET /v3/companies/statuses": 1,
        "GET /v3/users": 1,
    }
    state = await build_state(cache, now=now(), configured=True)
    assert (state.companies_in_cache, state.running, state.last_error) == (250, False, None)
    assert state.last_success_at is not None and state.last_full_success_at == state.last_success_at


async def test_cached_companies_carry_the_card_fields_names_and_match_keys(
    sandbox_250: SandboxHandle, client: CatsClient, cache: CompanyCache
) -> None:
    await CompanySync(client, cache).run()
    record = sandbox_250.store.get_record("companies", 9001)
    stored = await cache.get(9001)
    assert stored is not None
    assert stored.name == record["name"]
    assert stored.website == record["website"]
    assert stored.city == record["address"]["city"]
    assert stored.owner_id == record["owner_id"]
    assert stored.owner_name is not None and stored.owner_name != str(record["owner_id"])
    assert stored.status_title in {"Active", "Prospect", "Hot", "Inactive"}
    assert stored.custom_fields == {row["id"]: row["value"] for row in record["_embedded"]["custom_fields"]}
    assert stored.name_key == normalize_name(record["name"]) != ""
    assert stored.domain is not None and stored.domain in record["website"]
    assert 9001 in [c.id for c in await cache.by_domain(stored.domain)]


async def test_a_big_full_sync_stays_one_request_per_page(
    sandbox_factory: SandboxFactory, cache: CompanyCache
) -> None:
    sandbox = await sandbox_factory(seed=2500, seed_random=2, rate_limit=0)
    await sandbox.control.reset_counters()
    seen: list[tuple[int, int | None]] = []
    async with CatsClient(sandbox.url, sandbox.key, retry=QUICK) as cats:
        sync = CompanySync(cats, cache)
        sync.on_progress(lambda p: seen.append((p.pages_done, p.pages_total)))
        outcome = await sync.run()
    assert outcome.upserted == 2500 and await cache.count() == 2500
    assert (await requests(sandbox))["GET /v3/companies"] == 25
    assert seen[-1] == (25, 25)
    assert [done for done, _ in seen[1:]] == list(range(1, 26))


async def test_a_stopped_full_sync_resumes_after_its_last_stored_page(
    sandbox_factory: SandboxFactory, cache: CompanyCache
) -> None:
    sandbox = await sandbox_factory(seed=1000, seed_random=3, rate_limit=0)
    async with CatsClient(sandbox.url, sandbox.key, retry=QUICK) as cats:
        sync = CompanySync(cats, cache)
        task = asyncio.create_task(sync.run())

        def kill_after_four_pages(progress: SyncProgress) -> None:
            if progress.pages_done == 4:
                task.cancel()

        sync.on_progress(kill_after_four_pages)
        with pytest.raises(asyncio.CancelledError):
            await task
        record = await cache.sync_record()
        assert (record.full_stage, record.full_pages_done) == ("scanning", 4)
        assert await cache.count() == 400
        state = await build_state(cache, now=now(), configured=True)
        assert state.full_scan_pending and state.pages_done == 4 and not state.running

        await sandbox.control.reset_counters()
        outcome = await CompanySync(cats, cache).run()
    # Pages 5-10 only; the users and statuses of this run were already stored.
    assert await requests(sandbox) == {"GET /v3/companies": 6}
    assert (outcome.pages, outcome.removed) == (6, 0)
    assert await cached_ids(cache) == company_ids(sandbox)
    assert (await cache.sync_record()).full_stage == "idle"


async def test_the_periodic_full_scan_removes_companies_deleted_in_cats(
    sandbox_250: SandboxHandle, client: CatsClient, cache: CompanyCache
) -> None:
    sync = CompanySync(client, cache)
    await sync.run()
    sandbox_250.store.delete_record("companies", 9002)
    sandbox_250.store.delete_record("companies", 9100)
    await sandbox_250.control.reset_counters()
    outcome = await sync.run(full_interval=0)
    assert (outcome.phase, outcome.removed) == ("full", 2)
    assert await cached_ids(cache) == company_ids(sandbox_250)
    # The two unseen companies were checked with CATS in one search before removal.
    assert (await requests(sandbox_250))["POST /v3/companies/search"] == 1


async def test_an_unseen_company_that_cats_still_has_is_kept(
    sandbox_250: SandboxHandle, client: CatsClient, cache: CompanyCache, db: Database
) -> None:
    sync = CompanySync(client, cache)
    await sync.run()
    # As if offset paging had skipped it: the finished scan did not see 9003.
    await db.conn.execute("UPDATE companies SET seen_run = 0 WHERE id = 9003")
    async with db.transaction() as conn:
        await cache.save_sync(conn, full_stage="removing", full_run_id=1)
    outcome = await sync.run()
    assert outcome.removed == 0
    assert await cache.get(9003) is not None


# --- incremental ---------------------------------------------------------------------------------------


async def test_incremental_sync_by_date_search_brings_changes_in_one_request(
    sandbox_250: SandboxHandle, client: CatsClient, cache: CompanyCache
) -> None:
    sync = CompanySync(client, cache)
    await sync.run()
    await sandbox_250.control.advance_clock(120)
    store = sandbox_250.store
    store.update_record("companies", 9005, {"name": "Renamed Holdings BV", "owner_id": OWNER})
    created = store.create_record("companies", {"name": "Brand New Widgets GmbH", "owner_id": OWNER})
    await sandbox_250.control.reset_counters()

    outcome = await sync.run()
    assert (outcome.phase, outcome.mode, outcome.pages) == ("incremental", "search", 1)
    assert await requests(sandbox_250) == {"POST /v3/companies/search": 1}
    renamed = await cache.get(9005)
    assert renamed is not None and renamed.name == "Renamed Holdings BV"
    assert renamed.name_key == normalize_name("Renamed Holdings BV") == "renamed"
    assert await cache.get(created) is not None
    assert (await cache.sync_record()).incremental_mode == "search"

    # Nothing changed since: still one request. What changed from the second of the last answer CATS
    # gave before that run (the two above, and 9001 when `ready` renamed it in that second) is read
    # once more: that run could not know those seconds were over (test_company_sync_frugal.py has
    # the costs on a clock that only the test moves).
    await sandbox_250.control.reset_counters()
    again = await sync.run()
    assert await requests(sandbox_250) == {"POST /v3/companies/search": 1}
    assert again.upserted <= 3


async def test_without_date_search_the_sync_polls_events_and_applies_deletions(
    sandbox_factory: SandboxFactory, cache: CompanyCache
) -> None:
    sandbox = await ready(
        await sandbox_factory(
            seed=250, seed_random=4, rate_limit=0, unfilterable=frozenset({"companies.date_modified"})
        )
    )
    async with CatsClient(sandbox.url, sandbox.key, retry=QUICK) as cats:
        sync = CompanySync(cats, cache)
        await sync.run()
        await sandbox.control.advance_clock(120)
        store = sandbox.store
        store.update_record("companies", 9005, {"name": "Renamed Holdings BV", "owner_id": OWNER})
        created = store.create_record("companies", {"name": "Brand New Widgets GmbH", "owner_id": OWNER})
        store.delete_record("companies", 9007)
        await sandbox.control.reset_counters()

        outcome = await sync.run()
        assert (outcome.mode, outcome.removed) == ("events", 1)
        # The probe (refused once, then remembered) and one page of events.
        assert await requests(sandbox) == {"POST /v3/companies/search": 1, "GET /v3/events": 1}
        assert await cache.get(9007) is None
        assert await cache.get(created) is not None
        renamed = await cache.get(9005)
        assert renamed is not None and renamed.name == "Renamed Holdings BV"
        assert (await cache.sync_record()).incremental_mode == "events"

        store.delete_record("companies", 9008)
        await sandbox.control.reset_counters()
        await sync.run()
        # No second probe: the event cursor continues where it stopped.
        assert await requests(sandbox) == {"GET /v3/events": 1}
        assert await cache.get(9008) is None
        assert await cached_ids(cache) == company_ids(sandbox)


async def test_an_event_without_the_record_reads_the_company(
    sandbox_factory: SandboxFactory, cache: CompanyCache, db: Database
) -> None:
    sandbox = await ready(await sandbox_factory(seed=20, rate_limit=0))
    async with CatsClient(sandbox.url, sandbox.key, retry=QUICK) as cats:
        sync = CompanySync(cats, cache)
        await sync.run()
        changes = await sync._company_changes(
            [
                {"event": "company.updated", "company_id": 9004},
                {"event": "company.updated", "_links": {"company": {"href": "/companies/999999"}}},
                {"event": "contact.updated", "contact_id": 5},
            ]
        )
    rows, gone = changes
    assert [r.id for r in rows] == [9004]
    # Deleted since the event: CATS answers 404, so it is a deletion.
    assert gone == [999999]


# --- failures --------------------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_offline_the_error_is_recorded_and_the_cache_stays_readable(
    sandbox_250: SandboxHandle, client: CatsClient, cache: CompanyCache
) -> None:
    await CompanySync(client, cache).run()
    before = await cache.get(9010)
    async with CatsClient(f"http://127.0.0.1:{closed_port()}/v3", sandbox_250.key, retry=QUICK) as offline:
        with pytest.raises(CatsNetworkError):
            await CompanySync(offline, cache).run(full=True)
    state = await build_state(cache, now=now(), configured=True)
    assert state.last_error is not None and state.last_error.code == "cats.network"
    assert state.companies_in_cache == 250 and not state.running
    assert await cache.get(9010) == before
    # The next successful run clears the error.
    await CompanySync(client, cache).run()
    assert (await build_state(cache, now=now(), configured=True)).last_error is None


async def test_with_only_the_reserve_left_the_sync_stops_and_interactive_requests_go_through(
    sandbox_factory: SandboxFactory, cache: CompanyCache
) -> None:
    sandbox = await sandbox_factory(seed=1000, seed_random=5, rate_limit=0)
    await sandbox.control.reset_counters()
    # 10 an hour, half kept for interactive work: background work may send 5.
    budget = RateBudget(limit=10, reserve_fraction=0.5, max_wait=0)
    async with CatsClient(sandbox.url, sandbox.key, retry=QUICK, budget=budget) as cats:
        with pytest.raises(BudgetReservedError):
            await CompanySync(cats, cache).run()
        state = await build_state(cache, now=now(), configured=True)
        assert state.last_error is not None and state.last_error.code == "cats.budget_reserved"
        assert (state.full_scan_pending, state.pages_done, state.companies_in_cache) == (True, 3, 300)
        assert await requests(sandbox) == {
            "GET /v3/companies/statuses": 1,
            "GET /v3/users": 1,
            "GET /v3/companies": 3,
        }
        company = await cats.get_record("companies", 9001)
    assert company["id"] == 9001
    assert (await requests(sandbox))["GET /v3/companies/{id}"] == 1
