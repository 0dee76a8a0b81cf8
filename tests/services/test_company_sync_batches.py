"""The full scan writes pages several to a transaction; the checkpoint never runs ahead of the rows."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from companion.cats.client import CatsClient
from companion.cats.retry import RetryPolicy
from companion.services.company_sync import CompanySync, SyncOptions
from companion.services.sync_state import SyncProgress
from companion.store import Database
from companion.store.companies import CompanyCache, CompanyRow
from tests.fixtures.sandbox import SandboxFactory

QUICK = RetryPolicy(max_attempts=1)


@pytest.fixture
def cache(db: Database) -> CompanyCache:
    return CompanyCache(db)


async def _scan_writes(
    sandbox_factory: SandboxFactory, cache: CompanyCache, options: SyncOptions
) -> list[tuple[int, int, int]]:
    """(rows written, pages the checkpoint says are stored, companies cached) at each committed write."""
    sandbox = await sandbox_factory(seed=2500, seed_random=7, rate_limit=0)
    writes: list[tuple[int, int, int]] = []

    async def seen(rows: Sequence[CompanyRow], removed: Sequence[int]) -> None:
        record = await cache.sync_record()
        writes.append((len(rows), record.full_pages_done, await cache.count()))

    async with CatsClient(sandbox.url, sandbox.key, retry=QUICK) as cats:
        sync = CompanySync(cats, cache, options=options)
        sync.on_change(seen)
        outcome = await sync.run()
    assert (outcome.pages, outcome.upserted) == (25, 2500)
    return writes


async def test_a_full_scan_writes_its_pages_in_batches_with_the_checkpoint_of_the_last(
    sandbox_factory: SandboxFactory, cache: CompanyCache
) -> None:
    writes = await _scan_writes(sandbox_factory, cache, SyncOptions(scan_batch_pages=10))
    assert writes == [(1000, 10, 1000), (1000, 20, 2000), (500, 25, 2500)]


async def test_with_pages_arriving_slowly_each_page_is_written_without_waiting_for_a_batch(
    sandbox_factory: SandboxFactory, cache: CompanyCache
) -> None:
    # A batch older than scan_batch_seconds is written at once: with 0, every page is.
    writes = await _scan_writes(
        sandbox_factory, cache, SyncOptions(scan_batch_pages=10, scan_batch_seconds=0)
    )
    assert writes == [(100, pages, pages * 100) for pages in range(1, 26)]


async def test_an_error_mid_batch_stores_the_pages_fetched_so_the_resumed_scan_fetches_none_twice(
    sandbox_factory: SandboxFactory, cache: CompanyCache
) -> None:
    sandbox = await sandbox_factory(seed=2500, seed_random=8, rate_limit=0)

    def fail_at_page_14(progress: SyncProgress) -> None:
        if progress.pages_done == 14:
            raise RuntimeError("stopped mid-batch")

    async with CatsClient(sandbox.url, sandbox.key, retry=QUICK) as cats:
        sync = CompanySync(cats, cache, options=SyncOptions(scan_batch_pages=10))
        sync.on_progress(fail_at_page_14)
        with pytest.raises(RuntimeError, match="mid-batch"):
            await sync.run()
        record = await cache.sync_record()
        assert (record.full_stage, record.full_pages_done, await cache.count()) == ("scanning", 14, 1400)

        await sandbox.control.reset_counters()
        outcome = await CompanySync(cats, cache, options=SyncOptions(scan_batch_pages=10)).run()
    counted: dict[str, int] = (await sandbox.control.counters())["requests"]
    assert counted == {"GET /v3/companies": 11}
    assert (outcome.pages, await cache.count()) == (11, 2500)
