"""Confirmed name aliases across a normaliser change: re-keyed from the confirmed name, or from the old key
of an alias saved before the name was kept, so a confirmation keeps matching after an upgrade."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from companion.matching import CompanyQuery, normalize_name
from companion.services.company_lookup import ALIAS_KEY_VERSION_META, refresh_name_keys
from companion.services.team_aliases import local_key
from companion.store import Database, open_database
from companion.store.aliases import AliasStore, TeamAliasChange
from companion.store.meta import set_meta
from companion.store.migrations import bundled_migrations
from tests.services.lookup_support import Clock, company, mark_synced, open_service, settings_service, write

ACME = company(1, "Acme Corporation", "https://www.acme.com")
NORTHWIND = company(3, "Northwind Traders")
CONFIRMED_AT = "2026-11-30T09:00:00+00:00"


async def _lookup_confirms(db: Database, tmp_path: Path, name: str) -> int | None:
    service = await open_service(db, settings_service(tmp_path), Clock())
    try:
        result = service.lookup(CompanyQuery(name=name))
        return result.match.company_id if result.confirmed and result.match is not None else None
    finally:
        service.close()


async def _key_of(db: Database, company_id: int) -> list[str]:
    rows = await db.fetchall(
        "SELECT key FROM company_aliases WHERE kind = 'name' AND company_id = ? ORDER BY key", (company_id,)
    )
    return [str(row[0]) for row in rows]


async def test_an_alias_saved_by_the_previous_schema_still_matches_after_the_normaliser_changed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "companion.db"
    # The database as the release before kept it: no confirmed name, and keys of the older normaliser
    # (which kept "Holdings", "Group" and a leading "The").
    old = await open_database(path, migrations=bundled_migrations()[:-1])
    try:
        await write(old, None, [ACME, NORTHWIND])
        await mark_synced(old)
        async with old.transaction() as conn:
            await conn.executemany(
                "INSERT INTO company_aliases (kind, key, company_id, confirmed_at) VALUES ('name', ?, ?, ?)",
                [("acme holdings", 1, CONFIRMED_AT), ("the northwind group", 3, CONFIRMED_AT)],
            )
    finally:
        await old.close()

    db = await open_database(path)
    try:
        await refresh_name_keys(db)
        assert await _key_of(db, 1) == ["acme"]
        assert await _lookup_confirms(db, tmp_path, "Acme Holdings") == 1
        assert await _lookup_confirms(db, tmp_path, "The Northwind Group") == 3
    finally:
        await db.close()


async def test_an_alias_is_rekeyed_from_the_name_it_was_confirmed_for(db: Database, tmp_path: Path) -> None:
    await write(db, None, [ACME, NORTHWIND])
    await mark_synced(db)
    service = await open_service(db, settings_service(tmp_path), Clock())
    try:
        await service.confirm(CompanyQuery(name="Northwind Traders - We're hiring!"), 3)
    finally:
        service.close()
    # As an older normaliser would have keyed it (the tagline flattened into words): only the kept
    # name can give today's key back.
    async with db.transaction() as conn:
        await conn.execute("UPDATE company_aliases SET key = 'northwind traders we re hiring'")
    await set_meta(db, ALIAS_KEY_VERSION_META, "1")
    assert await _key_of(db, 3) != [normalize_name("Northwind Traders - We're hiring!")]

    # Opening the lookup service re-keys, as the daemon's start does.
    assert await _lookup_confirms(db, tmp_path, "Northwind Traders - We're hiring!") == 3
    assert await _key_of(db, 3) == [normalize_name("Northwind Traders - We're hiring!")]


async def test_two_aliases_meeting_on_one_key_leave_it_to_the_newer_confirmation(db: Database) -> None:
    await write(db, None, [ACME, NORTHWIND])
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO company_aliases (kind, key, company_id, confirmed_at) VALUES ('name', ?, ?, ?)",
            [("acme holdings", 1, CONFIRMED_AT), ("acme group", 3, "2026-12-01T09:00:00+00:00")],
        )
    assert await AliasStore(db).rekey_names(normalize_name) == 1
    assert await _key_of(db, 3) == ["acme"]
    assert await _key_of(db, 1) == ["acme holdings"]  # the older one keeps its old key
    assert await AliasStore(db).rekey_names(normalize_name) == 0  # idempotent


async def test_a_queued_team_confirmation_is_sent_with_todays_key(db: Database) -> None:
    store = AliasStore(db)
    await store.confirm([("name", "acme holdings")], 1, confirmed_at=datetime.now(UTC), share=True)
    await store.rekey_names(normalize_name)
    [entry] = await store.outbox()
    assert entry.key == "acme"


async def test_a_team_alias_keyed_by_an_older_normaliser_is_applied_under_todays_key(
    db: Database, tmp_path: Path
) -> None:
    await write(db, None, [ACME, NORTHWIND])
    await mark_synced(db)
    change = TeamAliasChange(
        kind="name",
        key=local_key("name", "acme holdings"),
        company_id=1,
        confirmed_by="alice",
        confirmed_at=datetime.now(UTC),
        undone=False,
    )
    await AliasStore(db).apply_team([change], position=("team.aliases.change_no", "1"))
    assert await _lookup_confirms(db, tmp_path, "Acme Holdings Inc") == 1
    assert local_key("domain", "acme.com") == "acme.com"
