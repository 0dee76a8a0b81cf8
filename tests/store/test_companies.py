"""The company cache repository: bulk upserts, lookups by match key, removals, sync state, WAL readers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from companion.store import Database, open_database
from companion.store.companies import CompanyCache, CompanyRow, StatusRow, UserRow

NOW = datetime(2025, 3, 2, 10, 0, tzinfo=UTC)


def row(company_id: int, name: str = "Northwind Ltd", **fields: object) -> CompanyRow:
    values: dict[str, object] = {"name": name, "name_key": name.lower().removesuffix(" ltd")}
    values.update(fields)
    return CompanyRow.model_validate({"id": company_id, **values})


@pytest.fixture
def cache(db: Database) -> CompanyCache:
    return CompanyCache(db)


async def store(cache: CompanyCache, rows: list[CompanyRow], *, run_id: int = 0) -> None:
    async with cache.db.transaction() as conn:
        await cache.upsert(conn, rows, synced_at=NOW, run_id=run_id)


async def test_a_stored_company_reads_back_with_every_field(cache: CompanyCache) -> None:
    company = row(
        9001,
        website="https://northwind.example",
        phones={"work": "+44 113 000"},
        street="1 Main St",
        city="Leeds",
        state=None,
        postal_code="LS1 1AA",
        country_code="GB",
        owner_id=4001,
        status_id=130,
        billing_contact_id=7,
        notes="Prefers remote",
        is_hot=False,
        key_technologies="Rust",
        social_media_urls=["https://www.linkedin.com/company/northwind"],
        custom_fields={88002: "Gold", 88007: ["APAC", "LATAM"]},
        date_created=datetime(2024, 11, 2, 9, tzinfo=UTC),
        date_modified=datetime(2025, 3, 2, 5, 11, 12, tzinfo=timezone(timedelta(hours=-5))),
        domain="northwind.example",
        linkedin_slug="northwind",
    )
    await store(cache, [company])
    stored = await cache.get(9001)
    assert stored is not None
    assert stored.model_dump(include=set(CompanyRow.model_fields)) == company.model_dump()
    assert stored.synced_at == NOW
    # No users or statuses cached yet: the ids are there, the names are not.
    assert stored.owner_name is None and stored.status_title is None


async def test_owner_and_status_names_come_from_the_cached_users_and_statuses(cache: CompanyCache) -> None:
    await store(cache, [row(9001, owner_id=4001, status_id=130)])
    async with cache.db.transaction() as conn:
        await cache.replace_users(conn, [UserRow(id=4001, display_name="Emma Visser")], synced_at=NOW)
        await cache.replace_statuses(conn, [StatusRow(id=130, title="Active")], synced_at=NOW)
    stored = await cache.get(9001)
    assert stored is not None
    assert (stored.owner_name, stored.status_title) == ("Emma Visser", "Active")
    assert await cache.user_names() == {4001: "Emma Visser"}
    assert await cache.status_titles() == {130: "Active"}


async def test_the_cached_users_and_statuses_read_back_whole_with_when_they_were_read(
    cache: CompanyCache,
) -> None:
    assert await cache.lookups_synced_at() is None
    users = [
        UserRow(id=4002, display_name="Li Wei", username="li", email="li@example.com"),
        UserRow(id=4001, display_name="Emma Visser"),
    ]
    statuses = [StatusRow(id=130, title="Active", mapping="active")]
    read = NOW.astimezone(timezone(timedelta(hours=2)))
    async with cache.db.transaction() as conn:
        await cache.replace_users(conn, users, synced_at=read)
        await cache.replace_statuses(conn, statuses, synced_at=read)

    assert await cache.users() == sorted(users, key=lambda user: user.id)
    assert await cache.statuses() == statuses
    assert await cache.lookups_synced_at() == NOW


async def test_upsert_replaces_a_company_and_recomputes_its_keys(cache: CompanyCache) -> None:
    await store(cache, [row(9001, "Northwind Ltd", domain="northwind.example")])
    await store(cache, [row(9001, "Southwind Ltd", domain="southwind.example")])
    assert await cache.count() == 1
    assert await cache.by_domain("northwind.example") == []
    assert [c.name for c in await cache.by_domain("southwind.example")] == ["Southwind Ltd"]
    assert [c.id for c in await cache.by_name_key("southwind")] == [9001]


async def test_lookups_by_domain_name_key_and_linkedin_slug_use_their_columns(cache: CompanyCache) -> None:
    await store(
        cache,
        [
            row(1, "Acme Ltd", domain="acme.com", linkedin_slug="acme"),
            row(2, "Acme Ltd", domain="acme.co.uk"),
            row(3, "Other Ltd", domain="acme.com"),
        ],
    )
    assert [c.id for c in await cache.by_domain("acme.com")] == [1, 3]
    assert [c.id for c in await cache.by_name_key("acme")] == [1, 2]
    assert [c.id for c in await cache.by_linkedin_slug("acme")] == [1]
    assert await cache.by_name_key("") == []
    plans = await cache.db.fetchall("EXPLAIN QUERY PLAN SELECT id FROM companies WHERE domain = ?", ("x",))
    assert "companies_by_domain" in " ".join(str(p["detail"]) for p in plans)


async def test_delete_forgets_companies_and_counts_only_cached_ones(cache: CompanyCache) -> None:
    await store(cache, [row(i) for i in range(1, 6)])
    async with cache.db.transaction() as conn:
        removed = await cache.delete(conn, [2, 4, 99])
    assert removed == 2
    assert [c.id for c in await cache.get_many([1, 2, 3, 4, 5])] == [1, 3, 5]


async def test_an_incremental_write_keeps_the_run_that_last_saw_a_company(cache: CompanyCache) -> None:
    await store(cache, [row(1), row(2)], run_id=7)
    await store(cache, [row(2, "Renamed Ltd"), row(3)])  # incremental: run 0
    assert await cache.ids_not_seen(7) == [3]
    assert await cache.ids_not_seen(8) == [1, 2, 3]


async def test_names_and_match_keys_stream_the_whole_cache_in_batches(cache: CompanyCache) -> None:
    await store(cache, [row(i, f"Company {i}", domain=f"c{i}.com") for i in range(1, 12)])
    batches = [batch async for batch in cache.names(batch=5)]
    assert [len(b) for b in batches] == [5, 5, 1]
    assert batches[0][0] == (1, "Company 1")
    keys = [k for batch in [b async for b in cache.match_keys(batch=4)] for k in batch]
    assert [(k.id, k.domain) for k in keys][:2] == [(1, "c1.com"), (2, "c2.com")]
    assert len(keys) == 11


async def test_sync_state_round_trips_and_refuses_unknown_fields(cache: CompanyCache) -> None:
    assert (await cache.sync_record()).full_stage == "idle"
    async with cache.db.transaction() as conn:
        await cache.save_sync(
            conn, full_stage="scanning", full_next_href="/companies?page=3", last_success_at=NOW
        )
    record = await cache.sync_record()
    assert (record.full_stage, record.full_next_href, record.last_success_at) == (
        "scanning",
        "/companies?page=3",
        NOW,
    )
    assert await cache.cache_age(NOW + timedelta(minutes=5)) == 300
    with pytest.raises(ValueError, match="not sync state fields"):
        async with cache.db.transaction() as conn:
            await cache.save_sync(conn, full_stage="idle", password="x")
    # The refused update changed nothing.
    assert (await cache.sync_record()).full_stage == "scanning"


async def test_a_failed_page_transaction_leaves_neither_rows_nor_checkpoint(cache: CompanyCache) -> None:
    with pytest.raises(RuntimeError):
        async with cache.db.transaction() as conn:
            await cache.upsert(conn, [row(1)], synced_at=NOW, run_id=1)
            await cache.save_sync(conn, full_pages_done=1)
            raise RuntimeError("killed mid-page")
    assert await cache.count() == 0
    assert (await cache.sync_record()).full_pages_done == 0


async def test_readers_are_not_blocked_by_an_open_page_transaction(db: Database, tmp_path: Path) -> None:
    cache = CompanyCache(db)
    await store(cache, [row(1)])
    # Another process (the CLI, a second daemon connection) reading the same file.
    reader = CompanyCache(await open_database(tmp_path / "companion.db"))
    try:
        async with db.transaction() as conn:
            await cache.upsert(conn, [row(i) for i in range(2, 102)], synced_at=NOW)
            # WAL: the reader answers at once, from the last committed state.
            assert await asyncio.wait_for(reader.count(), timeout=1.0) == 1
            assert await asyncio.wait_for(reader.get(1), timeout=1.0) is not None
        assert await reader.count() == 101
    finally:
        await reader.db.close()
