"""The CATS users and company statuses shared through the team database, beside the companies.

The syncer publishes the lists its full scan read; every member replicates them into its own SQLite,
so a card on any member shows the owner's and the status's names and CATS is asked once for the team.
The world of test_shared_cache.py (real companions, the real PostgreSQL cluster, the CATS sandbox over
HTTP); who may write is checked with plain asyncpg connections as each role.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from companion.app import Companion
from companion.matching.models import CompanyQuery
from companion.services.team_companies import TeamCompanies
from companion.store.companies import CompanyCache, CompanyRow, StatusRow, StoredCompany, UserRow
from companion.store.db import Database
from companion.team import company_log, lookup_log
from tests.team import test_shared_cache
from tests.team.test_shared_cache import Team, holds, ids, synced, until

#: The world of test_shared_cache.py, as a fixture of this module too.
team = test_shared_cache.team
READ_AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
USERS = [{"id": 3, "display_name": "Ada Owner", "username": "ada", "email": None}]
STATUSES = [{"id": 2, "title": "Prospect", "mapping": None}]


async def user_names(companion: Companion) -> dict[int, str]:
    return await CompanyCache(companion.db).user_names()


async def status_titles(companion: Companion) -> dict[int, str]:
    return await CompanyCache(companion.db).status_titles()


async def has_the_lists_of(member: Companion, source: Companion) -> bool:
    names = await user_names(source)
    titles = await status_titles(source)
    return (
        bool(names and titles) and await user_names(member) == names and await status_titles(member) == titles
    )


async def owned_with_status(companion: Companion) -> StoredCompany:
    """A cached company that has both an owner and a status."""
    stored = await CompanyCache(companion.db).get_many(await ids(companion))
    return next(c for c in stored if c.owner_id is not None and c.status_id is not None)


async def the_syncer_ran(team: Team) -> Companion:
    """Alice alone, elected, her first full scan done (and its lists published with its marks)."""
    alice = await team.companion("alice")
    await until(holds(lambda: alice.team is not None and alice.team.is_syncer), "alice elected")
    await until(lambda: synced(alice, team.cats), "alice synced")
    await until(holds(lambda: alice.sync is not None and alice.sync.runs_ended >= 1), "alice's run ended")
    return alice


async def a_follower_with_the_lists(team: Team) -> tuple[Companion, Companion, int]:
    """Alice syncing, bob (no CATS key) following with her users and statuses; bob's lists' version."""
    await team.add("alice")
    await team.add("bob")
    alice = await the_syncer_ran(team)
    bob = await team.companion("bob", key=False)
    await until(lambda: has_the_lists_of(bob, alice), "bob has the users and statuses")
    assert bob.team_companies is not None and bob.team_companies.lookups_applied
    return alice, bob, bob.team_companies.lookups_applied


def shared_rows(team: Team) -> dict[str, int]:
    rows = team.db.server.fetch(
        "SELECT kind, jsonb_array_length(items) AS n FROM cats_companion.cats_lookups",
        database=team.db.database,
    )
    return {str(row["kind"]): int(row["n"]) for row in rows}


# --- the members' companions ---------------------------------------------------------------------------


async def test_a_member_that_does_not_sync_shows_the_owners_and_statuses_names(team: Team) -> None:
    await team.add("alice")
    await team.add("bob")
    alice = await the_syncer_ran(team)
    before = await team.cats_requests()

    bob = await team.companion("bob")
    await until(lambda: synced(bob, team.cats), "bob replicated the companies")
    await until(lambda: has_the_lists_of(bob, alice), "bob replicated the users and statuses")

    assert bob.team is not None and not bob.team.is_syncer
    assert bob.sync is not None and bob.sync.runs_ended == 0
    assert await team.cats_requests() == before
    company = await owned_with_status(bob)
    assert company.owner_id is not None and company.status_id is not None
    owner = (await user_names(alice))[company.owner_id]
    status = (await status_titles(alice))[company.status_id]
    assert (company.owner_name, company.status_title) == (owner, status)
    # The card: the lookup's displayed fields name the owner and the status, not their ids.
    result = bob.lookup.lookup(CompanyQuery(name=company.name))
    assert result.match is not None and result.match.company_id == company.id
    shown = {field.key: (field.value, field.ref_id) for field in result.company}
    assert shown["owner"] == (owner, company.owner_id)
    assert shown["status"] == (status, company.status_id)
    assert f"CATS user {company.owner_id}" not in str(shown)


async def test_a_member_joining_late_gets_the_users_and_statuses_at_once(team: Team) -> None:
    await team.add("alice")
    alice = await the_syncer_ran(team)
    await team.add("carol")
    before = await team.cats_requests()

    carol = await team.companion("carol", key=False)
    took = await until(lambda: has_the_lists_of(carol, alice), "carol has the users and statuses")

    assert await team.cats_requests() == before
    assert carol.team_companies is not None and carol.team_companies.lookups_applied
    assert shared_rows(team) == {
        "users": len(await user_names(alice)),
        "statuses": len(await status_titles(alice)),
    }
    print(f"\nusers and statuses on a member joining late: {took * 1000:.0f} ms after it opened")


async def test_users_and_statuses_changed_in_cats_reach_every_member_after_the_next_full_scan(
    team: Team,
) -> None:
    alice, bob, version = await a_follower_with_the_lists(team)

    hired = team.cats.store.create_user(username="grace", first_name="Grace", last_name="Hopper")
    assert alice.sync is not None and alice.sync.request(full=True)
    await until(holds(lambda: alice.sync is not None and alice.sync.runs_ended >= 2), "alice's full scan")
    await until(lambda: has_the_lists_of(bob, alice), "bob has the new lists")

    assert (await user_names(bob))[hired] == "Grace Hopper"
    assert bob.team_companies is not None and (bob.team_companies.lookups_applied or 0) > version


async def test_incremental_runs_leave_the_shared_lists_alone(team: Team) -> None:
    await team.add("alice")
    alice = await the_syncer_ran(team)
    [(version, written_at)] = team.db.server.fetch(
        "SELECT max(version), max(written_at) FROM cats_companion.cats_lookups", database=team.db.database
    )

    assert alice.sync is not None and alice.sync.request()
    await until(holds(lambda: alice.sync is not None and alice.sync.runs_ended >= 2), "an incremental run")

    [(after, written_after)] = team.db.server.fetch(
        "SELECT max(version), max(written_at) FROM cats_companion.cats_lookups", database=team.db.database
    )
    assert (after, written_after) == (version, written_at)


async def test_a_restarted_member_keeps_the_users_and_statuses_and_their_version(team: Team) -> None:
    alice, bob, version = await a_follower_with_the_lists(team)
    await bob.close()

    again = await team.companion("bob", key=False, start=False)

    assert again.team_companies is not None and again.team_companies.lookups_applied == version
    assert await has_the_lists_of(again, alice)


async def test_a_team_whose_scans_predate_sharing_gets_the_syncers_lists_without_a_new_full_scan(
    team: Team,
) -> None:
    await team.add("alice")
    await team.add("bob")
    alice = await the_syncer_ran(team)

    async def the_team_has_her_finished_scan() -> bool:
        # Published after her run (not awaited by it): closed before, she would scan again when elected.
        [(finished,)] = team.db.server.fetch(
            "SELECT marks->>'last_full_success_at' FROM cats_companion.company_sync_marks",
            database=team.db.database,
        )
        return finished is not None

    await until(the_team_has_her_finished_scan, "the team has alice's marks")
    # A team database migrated after its syncer's last full scan: no lists shared yet.
    await alice.close()
    team.db.server.sql("DELETE FROM cats_companion.cats_lookups", database=team.db.database)
    again = await team.companion("alice")
    await until(holds(lambda: again.team is not None and again.team.is_syncer), "alice elected again")
    bob = await team.companion("bob", key=False)

    await until(lambda: has_the_lists_of(bob, again), "bob has alice's lists")
    assert again.sync is not None
    await until(holds(lambda: again.sync is not None and again.sync.runs_ended >= 1), "alice's run ended")
    assert (await CompanyCache(again.db).sync_record()).last_run_id == 1  # no second full scan


# --- who may write ---------------------------------------------------------------------------------------


async def test_a_member_cannot_write_the_shared_users_and_statuses(
    members: tuple[asyncpg.Connection, asyncpg.Connection],
) -> None:
    alice, bob = members
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="elected company syncer"):
        await lookup_log.publish(bob, {"users": USERS}, READ_AT)
    assert await company_log.try_lock(alice)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="elected company syncer"):
        await lookup_log.publish(bob, {"users": USERS}, READ_AT)
    assert await lookup_log.changed_after(bob, 0) == []


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO cats_companion.cats_lookups (kind, items, read_at, version)"
        " VALUES ('users', '[]', now(), 9)",
        "UPDATE cats_companion.cats_lookups SET items = '[]'",
        "DELETE FROM cats_companion.cats_lookups",
        "SELECT nextval('cats_companion.lookup_version')",
    ],
)
async def test_not_even_the_lock_holder_writes_the_shared_lists_directly(
    members: tuple[asyncpg.Connection, asyncpg.Connection], statement: str
) -> None:
    alice, bob = members
    assert await company_log.try_lock(alice)
    for conn in (alice, bob):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)


async def test_the_lock_holder_replaces_each_list_whole_under_a_new_version(
    members: tuple[asyncpg.Connection, asyncpg.Connection],
) -> None:
    alice, bob = members
    assert await company_log.try_lock(alice)
    first = await lookup_log.publish(alice, {"users": USERS, "statuses": STATUSES}, READ_AT)
    assert await lookup_log.read_at(bob) == READ_AT
    later = READ_AT + timedelta(days=1)
    renamed = [{**USERS[0], "display_name": "Ada Lovelace"}, {"id": 4, "display_name": "New Hire"}]
    second = await lookup_log.publish(alice, {"users": renamed}, later)

    assert second > first
    [users] = await lookup_log.changed_after(bob, first)
    assert (users.kind, users.items, users.read_at, users.version) == ("users", renamed, later, second)
    assert [(found.kind, found.items) for found in await lookup_log.changed_after(bob, 0)] == [
        ("statuses", STATUSES),
        ("users", renamed),
    ]
    assert await lookup_log.read_at(bob) == READ_AT  # the older list's
    assert await lookup_log.changed_after(bob, second) == []


@pytest.mark.parametrize(
    "lookups",
    [
        {"users": [{"display_name": "No Id"}]},
        {"users": [{"id": "3", "display_name": "Text Id"}]},
        {"users": {"id": 3}},
        {"statuses": ["Prospect"]},
        {"pipelines": [{"id": 1}]},
        {"users": USERS, "groups": []},
    ],
)
async def test_a_publish_of_malformed_lists_is_refused_and_changes_nothing(
    members: tuple[asyncpg.Connection, asyncpg.Connection], lookups: dict[str, object]
) -> None:
    alice, bob = members
    assert await company_log.try_lock(alice)
    version = await lookup_log.publish(alice, {"statuses": STATUSES}, READ_AT)

    with pytest.raises(asyncpg.InvalidParameterValueError):
        await alice.fetchval(
            "SELECT cats_companion.publish_lookups($1::jsonb, $2::timestamptz)", json.dumps(lookups), READ_AT
        )

    assert [(found.kind, found.version) for found in await lookup_log.changed_after(bob, 0)] == [
        ("statuses", version)
    ]


async def test_a_syncer_whose_clock_runs_behind_the_last_ones_still_shares_the_lists_it_read(
    db: Database, members: tuple[asyncpg.Connection, asyncpg.Connection]
) -> None:
    alice, bob = members
    # Bob synced before, his clock an hour ahead of alice's; then his companion stopped.
    assert await company_log.try_lock(bob)
    await lookup_log.publish(bob, {"users": USERS, "statuses": STATUSES}, READ_AT + timedelta(hours=1))
    await company_log.unlock(bob)

    async def no_index(rows: Sequence[CompanyRow], removed: Sequence[int]) -> None:
        return None

    cache = CompanyCache(db)
    shared = TeamCompanies(cache, no_index)
    await shared.load()
    assert await company_log.try_lock(alice)
    await shared.elected(alice, asyncio.Lock())
    assert await cache.user_names() == {3: "Ada Owner"}
    # Alice's full scan reads the lists again, at a time her clock puts before bob's reading.
    async with db.transaction() as tx:
        await cache.replace_users(tx, [UserRow(id=3, display_name="Ada Lovelace")], synced_at=READ_AT)
        await cache.replace_statuses(tx, [StatusRow(id=2, title="Prospect")], synced_at=READ_AT)

    await shared.publish((), ())

    found = {lookup.kind: lookup for lookup in await lookup_log.changed_after(bob, 0)}
    assert found["users"].items == [
        {"id": 3, "display_name": "Ada Lovelace", "username": None, "email": None}
    ]
    assert found["users"].read_at == found["statuses"].read_at == READ_AT
    assert shared.lookups_applied == found["users"].version
