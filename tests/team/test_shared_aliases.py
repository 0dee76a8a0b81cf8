"""Shared company aliases: a company one member confirms is confirmed on every member's lookup, with who
and when, until it is undone (by its member, or by an admin for anyone's).

Real companions on the real PostgreSQL cluster and the CATS sandbox over HTTP, as in
test_shared_cache.py (whose world this reuses); the admin's undo goes through the loopback HTTP API
the settings window calls.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg
import pytest
from pytest_aiohttp import AiohttpServer

from companion.app import Companion
from companion.errors import TeamPrivilegeError
from companion.matching import CompanyQuery
from companion.server.app import create_app
from companion.server.state import ServerState
from companion.services.aliases import alias_keys
from companion.team import alias_log, local
from companion.team.credentials import TeamPasswordStore
from companion.tray import team_summary
from tests.fixtures.daemon import DAEMON_TOKEN, auth_headers
from tests.team.conftest import ADMIN_PASSWORD, MEMBER_PASSWORD
from tests.team.test_shared_cache import Team, holds, ids, synced, team, until  # noqa: F401

#: A company name no cached company resembles: only a confirmation can match it.
PROFILE = CompanyQuery(name="Quillon Vantage Holdings")
[KEY] = alias_keys(PROFILE)


async def joined_as_admin(team: Team) -> str:  # noqa: F811 (the fixture's name)
    """The team's admin joins with a companion of their own (their login role, access admin)."""
    dsn = team.db.dsn()
    TeamPasswordStore().set(dsn, team.db.admin_password)
    [row] = team.db.server.fetch("SELECT team_id::text FROM cats_companion.team", database=team.db.database)
    record = local.TeamRecord(
        dsn=dsn.url,
        team_id=row[0],
        cats_base_url=team.cats.url,
        cats_subdomain=None,
        role=team.db.admin,
        access="admin",
        joined_at=datetime.now(UTC),
    )
    local.save(record, team.root / "chief" / "config" / local.TEAM_FILE)
    return team.db.admin


def confirmed_by(companion: Companion) -> str | None:
    result = companion.lookup.lookup(PROFILE)
    return result.confirmed_by if result.confirmed else None


async def a_cached_company(companion: Companion) -> int:
    return min(await ids(companion))


async def two_members_synced(team: Team) -> tuple[str, Companion, Companion, int]:  # noqa: F811
    """Alice and bob in the team, both with every company: (alice's role, alice, bob, a company)."""
    alice_role = await team.add("alice")
    await team.add("bob")
    alice, bob = await team.companion("alice"), await team.companion("bob")
    await until(lambda: synced(alice, team.cats), "alice has every company")
    await until(lambda: synced(bob, team.cats), "bob has every company")
    return alice_role, alice, bob, await a_cached_company(alice)


async def alice_confirmed(team: Team) -> tuple[str, Companion, Companion, int]:  # noqa: F811
    """As two_members_synced, with alice's confirmation of PROFILE in bob's lookup."""
    alice_role, alice, bob, company = await two_members_synced(team)
    await alice.lookup.confirm(PROFILE, company)
    await until(holds(lambda: confirmed_by(bob) == alice_role), "bob uses alice's confirmation")
    return alice_role, alice, bob, company


async def test_a_company_one_member_confirms_matches_on_the_others_lookup_with_who_and_when(
    team: Team,  # noqa: F811
) -> None:
    alice_role, alice, bob, company = await two_members_synced(team)
    assert not bob.lookup.lookup(PROFILE).confirmed

    before = datetime.now(UTC)
    started = time.monotonic()
    await alice.lookup.confirm(PROFILE, company)
    await until(holds(lambda: confirmed_by(bob) == alice_role), "bob's lookup uses alice's confirmation")

    result = bob.lookup.lookup(PROFILE)
    assert result.match is not None and result.match.company_id == company
    assert result.confirmed_at is not None and before - timedelta(seconds=1) <= result.confirmed_at
    # Alice's own lookup says the same once the team's answer came back to her.
    await until(holds(lambda: confirmed_by(alice) == alice_role), "alice's alias is stamped by the team")
    for member in (alice, bob):
        aliases = member.status()["team"]["aliases"]  # type: ignore[index]
        assert aliases["pending"] == 0 and aliases["lag_changes"] == 0
    # The tray's status line says who syncs.
    syncer = alice if alice.team is not None and alice.team.is_syncer else bob
    other = bob if syncer is alice else alice
    assert team_summary(syncer.team_status()) == "team connected, this companion syncs"
    assert team_summary(other.team_status()) == f"team connected, {syncer.team.record.role} syncs"  # type: ignore[union-attr]
    print(f"\nalice's confirmation to bob's lookup: {(time.monotonic() - started) * 1000:.0f} ms")


async def test_an_admins_undo_through_the_settings_api_stops_every_members_lookup_using_it(
    team: Team,  # noqa: F811
    aiohttp_server: AiohttpServer,
) -> None:
    alice_role = await team.add("alice")
    await team.add("bob")
    chief_role = await joined_as_admin(team)
    alice, bob = await team.companion("alice"), await team.companion("bob")
    chief = await team.companion("chief", key=False)
    await until(lambda: synced(bob, team.cats), "bob has every company")
    await until(lambda: synced(chief, team.cats), "the admin has every company")
    company = await a_cached_company(alice)
    await alice.lookup.confirm(PROFILE, company)
    await until(holds(lambda: confirmed_by(bob) == alice_role), "bob uses alice's confirmation")

    server = await aiohttp_server(create_app(chief, ServerState(token=DAEMON_TOKEN)))
    base = f"http://127.0.0.1:{server.port}"
    async with aiohttp.ClientSession(headers=auth_headers()) as session:
        async with session.get(f"{base}/api/team/aliases") as response:
            assert response.status == 200
            listed = (await response.json())["aliases"]
        [shared] = [a for a in listed if (a["kind"], a["key"]) == KEY]
        assert (shared["company_id"], shared["confirmed_by"], shared["undone_by"]) == (
            company,
            alice_role,
            None,
        )
        assert shared["company_name"]

        undo = {"kind": shared["kind"], "key": shared["key"], "company_id": company}
        async with session.post(f"{base}/api/team/aliases/undo", json=undo) as response:
            assert response.status == 200 and await response.json() == {"undone": True}
        # On return the admin's own companion no longer uses it; the members follow.
        assert not chief.lookup.lookup(PROFILE).confirmed
        await until(holds(lambda: not bob.lookup.lookup(PROFILE).confirmed), "bob stops using it")
        await until(holds(lambda: not alice.lookup.lookup(PROFILE).confirmed), "alice stops using it")

        async with session.get(f"{base}/api/team/aliases", params={"include_undone": "true"}) as response:
            [undone] = [a for a in (await response.json())["aliases"] if (a["kind"], a["key"]) == KEY]
        assert undone["undone_by"] == chief_role and undone["undone_at"]
        async with session.post(f"{base}/api/team/aliases/undo", json=undo) as response:
            assert await response.json() == {"undone": False}


async def test_a_member_cannot_undo_another_members_confirmation_for_the_team(
    team: Team,  # noqa: F811
) -> None:
    alice_role, alice, bob, company = await alice_confirmed(team)
    assert bob.team_aliases is not None and alice.team_aliases is not None

    with pytest.raises(TeamPrivilegeError, match="only an admin"):
        await bob.team_aliases.undo(*KEY, company)  # type: ignore[arg-type]
    # Bob unconfirming on his own companion hides it there; the team refuses the undo, so alice
    # (and everyone else) keeps it.
    assert await bob.lookup.unconfirm(PROFILE) >= 1
    await until(holds(lambda: bob.team_aliases is not None and bob.team_aliases.refused >= 1), "refused")
    assert not bob.lookup.lookup(PROFILE).confirmed
    assert confirmed_by(alice) == alice_role
    [listed] = await alice.team_aliases.shared(10, include_undone=True)
    assert (listed.confirmed_by, listed.undone_by) == (alice_role, None)

    # Alice may undo her own; it leaves her lookup too.
    await alice.lookup.unconfirm(PROFILE)
    await until(lambda: _undone_by(alice, alice_role), "the team recorded alice's own undo")


async def _undone_by(companion: Companion, role: str) -> bool:
    assert companion.team_aliases is not None
    found = await companion.team_aliases.shared(10, include_undone=True)
    return any(a.undone_by == role for a in found)


async def test_a_confirmation_made_while_the_database_is_down_works_at_once_and_reaches_the_team_later(
    team: Team,  # noqa: F811
) -> None:
    alice_role, alice, bob, company = await two_members_synced(team)

    server, database = team.db.server, team.db.database
    server.sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
    try:
        server.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", database)
        await until(holds(lambda: alice.team is not None and alice.team.state == "offline"), "offline")

        result = await alice.lookup.confirm(PROFILE, company)
        assert result.confirmed and result.match is not None and result.match.company_id == company
        assert result.confirmed_by is None  # confirmed here; the team has not stamped it yet
        status = alice.status()["team"]
        assert status["aliases"]["pending"] >= 1  # type: ignore[index]
        assert MEMBER_PASSWORD not in str(status) and ADMIN_PASSWORD not in str(status)
        assert team_summary(alice.team_status()) == "team offline"
        assert not bob.lookup.lookup(PROFILE).confirmed
    finally:
        server.sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')

    await until(holds(lambda: confirmed_by(bob) == alice_role), "bob gets it once alice is back")
    await until(holds(lambda: confirmed_by(alice) == alice_role), "alice's alias stamped by the team")
    assert alice.status()["team"]["aliases"]["pending"] == 0  # type: ignore[index]


async def test_a_restarted_member_keeps_the_teams_aliases_and_resumes_after_the_last_change(
    team: Team,  # noqa: F811
) -> None:
    alice_role, _, bob, _ = await alice_confirmed(team)
    assert bob.team_aliases is not None
    applied = bob.team_aliases.applied
    await bob.close()
    team.opened.remove(bob)

    # Offline at start (not started): the alias is in bob's SQLite already.
    again = await team.companion("bob", start=False)
    assert confirmed_by(again) == alice_role
    assert again.team_aliases is not None and again.team_aliases.applied == applied


async def test_a_member_joining_late_gets_every_alias_of_the_team(team: Team) -> None:  # noqa: F811
    alice_role = await team.add("alice")
    await team.add("bob")
    alice = await team.companion("alice")
    await until(lambda: synced(alice, team.cats), "alice has every company")
    companies = await ids(alice)
    count = 2000
    conn = await asyncpg.connect(team.db.server.dsn(alice_role, team.db.database), password=MEMBER_PASSWORD)
    try:
        for n in range(count):
            await alias_log.confirm(
                conn, "name", f"late joiner {n}", companies[n % len(companies)], datetime.now(UTC)
            )
    finally:
        await conn.close()

    started = time.monotonic()
    bob = await team.companion("bob", key=False)
    await until(
        # Until the head is read too: it is read once the last batch is applied.
        holds(
            lambda: (
                bob.team_aliases is not None
                and bob.team_aliases.replicated >= count
                and bob.team_aliases.head is not None
            )
        ),
        "bob has all",
    )
    took = time.monotonic() - started
    found = bob.lookup.lookup(CompanyQuery(name="Late Joiner 1999"))
    assert found.confirmed_by == alice_role and found.match is not None
    assert found.match.company_id == companies[1999 % len(companies)]
    assert bob.status()["team"]["aliases"]["lag_changes"] == 0  # type: ignore[index]
    print(f"\na member joining late replicated {count} aliases in {took * 1000:.0f} ms (start included)")


async def test_an_alias_a_member_on_an_older_normaliser_shared_matches_on_todays_lookup(
    team: Team,  # noqa: F811
) -> None:
    alice_role, _, bob, company = await two_members_synced(team)
    # Alice's companion is one release behind: its normaliser kept "Holdings" in the key.
    older_key = "quillon vantage holdings"
    assert older_key != KEY[1]
    conn = await asyncpg.connect(team.db.server.dsn(alice_role, team.db.database), password=MEMBER_PASSWORD)
    try:
        await alias_log.confirm(conn, "name", older_key, company, datetime.now(UTC))
    finally:
        await conn.close()
    await until(holds(lambda: confirmed_by(bob) == alice_role), "bob's lookup uses alice's older key")
    result = bob.lookup.lookup(PROFILE)
    assert result.match is not None and result.match.company_id == company
