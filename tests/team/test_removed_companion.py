"""A removed member's companion: it says it was removed (not an endless reconnect) and goes on alone.

Real companions on the real PostgreSQL cluster and the CATS sandbox over HTTP (the world of
tests/team/test_shared_cache.py); the team's admin removes a member with `remove_member`.
"""

from __future__ import annotations

import time

from companion.app import Companion
from companion.secret import DatabasePassword
from companion.store.companies import CompanyCache
from companion.team import removal
from tests.team.test_shared_cache import Team, holds, new_company, synced, team, until  # noqa: F401 (fixture)


async def remove(team: Team, role: str) -> removal.Removal:  # noqa: F811
    return await removal.remove_member(team.db.dsn(), DatabasePassword(team.db.admin_password.reveal()), role)


def removed(companion: Companion) -> bool:
    return companion.team is not None and companion.team.state == "removed"


async def has_company(companion: Companion, company_id: int) -> bool:
    return await CompanyCache(companion.db).get(company_id) is not None


async def test_removed_syncers_companion_says_so_and_syncs_alone_while_a_teammate_takes_over(
    team: Team,  # noqa: F811
) -> None:
    alice_role = await team.add("alice")
    await team.add("bob")
    alice = await team.companion("alice")
    await until(holds(lambda: alice.team is not None and alice.team.is_syncer), "alice elected")
    await until(lambda: synced(alice, team.cats), "alice synced")
    await until(holds(lambda: alice.sync is not None and alice.sync.runs_ended >= 1), "alice's run ended")
    bob = await team.companion("bob")
    await until(lambda: synced(bob, team.cats), "bob replicated")
    assert alice.team is not None and bob.team is not None
    # Created in CATS now, after alice's run: only a sync of her own can bring it to her from here on.
    added = new_company(team.cats, "Initech After Removal")

    started = time.monotonic()
    done = await remove(team, alice_role)
    took = time.monotonic() - started

    assert done.sessions_ended >= 2  # her follower, elector and claims sessions, as many as were open
    told = took + await until(holds(lambda: removed(alice)), "alice's companion knows it was removed")
    status = alice.status()["team"]
    assert isinstance(status, dict) and status["state"] == "removed"
    assert "was removed from the team" in str(status["reason"]) and status["claims"] is None
    # No endless reconnect: both of the link's loops end.
    await until(holds(lambda: alice.team is not None and not alice.team.running), "the link's loops ended")
    # Her session held the syncer lock: Bob takes over.
    elected = took + await until(holds(lambda: bob.team is not None and bob.team.is_syncer), "bob elected")
    print(
        f"\nremove_member {took * 1000:.0f} ms ({done.sessions_ended} sessions ended); from its start: "
        f"the removed companion says so {told * 1000:.0f} ms, the teammate syncs {elected * 1000:.0f} ms"
    )
    # Alice goes on alone: her own CATS sync (nobody else's to wait for), her cache not "offline".
    assert alice.sync_elsewhere() is None and alice.cache_offline() is None
    await until(lambda: has_company(alice, added), "alice synced the new company herself")
    assert alice.team.state == "removed" and alice.team_claims is None and alice.team_budget is None


async def test_a_companion_started_after_its_removal_says_so_at_once_and_syncs_alone(
    team: Team,  # noqa: F811
) -> None:
    alice_role = await team.add("alice")
    await remove(team, alice_role)

    alice = await team.companion("alice")

    await until(holds(lambda: removed(alice)), "alice's companion knows it was removed")
    assert alice.team is not None and "cats-companion team leave" in str(alice.team.reason)
    await until(lambda: synced(alice, team.cats), "alice synced every company from CATS herself")
    assert alice.team.is_syncer is False and alice.team.state == "removed"
    await alice.close()
    assert alice.team.state == "removed"
