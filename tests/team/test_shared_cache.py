"""The shared company cache: one elected syncer per team, every member replicating into its own SQLite.

Real companions (companion.app.Companion) on the real PostgreSQL cluster and the CATS sandbox over
HTTP; the members' passwords in the test keyring, their team.json in their own config dirs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from companion.app import ClientFactory, Companion, CompanionConfig
from companion.secret import DatabasePassword
from companion.services.sync_scheduler import SyncPolicy
from companion.store.companies import CompanyCache
from companion.team import admin, local
from companion.team.credentials import TeamPasswordStore
from companion.team.link import LinkTuning
from companion.team.site import CatsSite
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle
from tests.team.conftest import MEMBER_PASSWORD, TeamDb

#: Every wait in these tests ends by this many seconds.
BOUND = 20.0
FAST = LinkTuning(poll_interval=1.0, lock_retry=0.2, heartbeat=0.2, backoff_first=0.1, backoff_max=0.5)


def holds(predicate: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return predicate()

    return check


async def until(check: Callable[[], Awaitable[bool]], what: str, bound: float = BOUND) -> float:
    """Seconds until `check()` holds; fails the test after `bound`."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > bound:
            pytest.fail(f"not within {bound} s: {what}")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


@dataclass
class Team:
    db: TeamDb
    cats: SandboxHandle
    root: Path
    members: dict[str, str] = field(default_factory=dict)
    opened: list[Companion] = field(default_factory=list)

    async def add(self, name: str) -> str:
        role = self.db.server.unique(name)
        await admin.add_member(self.db.dsn(), self.db.admin_password, role, DatabasePassword(MEMBER_PASSWORD))
        dsn = self.db.dsn(role)
        TeamPasswordStore().set(dsn, DatabasePassword(MEMBER_PASSWORD))
        [row] = self.db.server.fetch(
            "SELECT team_id::text FROM cats_companion.team", database=self.db.database
        )
        record = local.TeamRecord(
            dsn=dsn.url,
            team_id=row[0],
            cats_base_url=self.cats.url,
            cats_subdomain=None,
            role=role,
            access="member",
            joined_at=datetime.now(UTC),
        )
        local.save(record, self.root / name / "config" / local.TEAM_FILE)
        self.members[name] = role
        return role

    @property
    def site(self) -> CatsSite:
        return CatsSite(self.cats.url, None)

    async def companion(
        self,
        name: str,
        *,
        tuning: LinkTuning = FAST,
        key: bool = True,
        start: bool = True,
        client_factory: ClientFactory | None = None,
        **config: Any,
    ) -> Companion:
        """A member's companion; `config` overrides CompanionConfig fields."""
        home = self.root / name
        settings = CompanionConfig(
            cats_base_url=self.cats.url,
            data_dir=home / "data",
            config_dir=home / "config",
            site_config_dir=home / "site",
            # The first sync at once, then none by itself unless asked: the requests stay countable.
            sync=SyncPolicy(start_delay=0, interval=3600, full_interval=86_400),
            send_outbox=False,
            check_connection=False,
            team_tuning=tuning,
        )
        opened = await Companion.open(
            replace(settings, **config), key=self.cats.key if key else None, client_factory=client_factory
        )
        self.opened.append(opened)
        if start:
            await opened.start()
        return opened

    async def cats_requests(self) -> int:
        return int((await self.cats.control.counters())["requests_total"])


@pytest.fixture
async def team(team_db: TeamDb, sandbox_factory: SandboxFactory, tmp_path: Path) -> AsyncIterator[Team]:
    cats = await sandbox_factory(seed=250, seed_random=0)
    world = Team(team_db, cats, tmp_path)
    await admin.init_team(team_db.dsn(), team_db.admin_password, world.site, companion_version="test")
    yield world
    for opened in reversed(world.opened):
        await opened.close()


async def cached(companion: Companion) -> int:
    return await CompanyCache(companion.db).count()


def new_company(cats: SandboxHandle, name: str) -> int:
    """A company created in CATS (by someone else), with an owner of its own."""
    owner = cats.store.create_user(username=name.split()[0].lower(), first_name=name, last_name="Owner")
    return cats.store.create_record("companies", {"name": name, "owner_id": owner})


def cats_ids(cats: SandboxHandle) -> int:
    return int(cats.store.record_counts()["companies"])


def syncer_of(*companions: Companion) -> Companion:
    elected = [c for c in companions if c.team is not None and c.team.is_syncer]
    assert len(elected) == 1, [c.team.is_syncer for c in companions if c.team is not None]
    return elected[0]


async def synced(companion: Companion, cats: SandboxHandle) -> bool:
    return await cached(companion) == cats_ids(cats)


async def test_of_two_members_one_syncs_and_cats_sees_the_requests_of_one_companion_alone(
    team: Team, sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    # Alone: the same data in a sandbox of its own, a companion without a team.
    solo_cats = await sandbox_factory(seed=250, seed_random=0)
    solo = await Companion.open(
        CompanionConfig(
            cats_base_url=solo_cats.url,
            data_dir=tmp_path / "solo",
            config_dir=tmp_path / "solo-config",
            site_config_dir=tmp_path / "solo-site",
            sync=SyncPolicy(start_delay=0, interval=3600, full_interval=86_400),
            send_outbox=False,
            check_connection=False,
        ),
        key=solo_cats.key,
    )
    team.opened.append(solo)
    await solo.start()
    assert solo.sync is not None
    await until(lambda: synced(solo, solo_cats), "the solo companion synced")
    await until(holds(lambda: solo.sync is not None and solo.sync.runs_ended >= 1), "its run ended")
    alone = int((await solo_cats.control.counters())["requests_total"])

    await team.add("alice")
    await team.add("bob")
    alice, bob = await team.companion("alice"), await team.companion("bob")
    await until(lambda: synced(alice, team.cats), "alice has every company")
    await until(lambda: synced(bob, team.cats), "bob has every company")
    syncer = syncer_of(alice, bob)
    other = bob if syncer is alice else alice
    assert syncer.sync is not None and other.sync is not None
    await until(holds(lambda: syncer.sync is not None and syncer.sync.runs_ended >= 1), "run ended")
    # Long enough for the other to have tried the lock many times (lock_retry 0.2 s) and synced, had it.
    await asyncio.sleep(1.0)

    assert await team.cats_requests() == alone > 0
    assert other.sync.runs_ended == 0
    # "Sync now" on the other member is refused (the sync.start operation answers with this reason).
    assert syncer.sync_elsewhere() is None
    reason = other.sync_elsewhere()
    assert reason is not None and repr(syncer.team.record.role) in reason  # type: ignore[union-attr]
    status = other.status()["team"]
    assert isinstance(status, dict)
    assert status["state"] == "connected" and status["syncer"] == syncer.team.record.role  # type: ignore[union-attr]
    assert status["is_syncer"] is False and status["role"] == other.team.record.role  # type: ignore[union-attr]
    replication = status["replication"]
    assert isinstance(replication, dict) and replication["lag_changes"] == 0
    print(f"\nCATS requests: one companion alone {alone}, a team of two {await team.cats_requests()}")


async def test_when_the_syncer_stops_the_other_member_takes_over_within_a_bounded_time(team: Team) -> None:
    await team.add("alice")
    await team.add("bob")
    alice = await team.companion("alice")
    await until(holds(lambda: alice.team is not None and alice.team.is_syncer), "alice elected")
    await until(lambda: synced(alice, team.cats), "alice synced")
    bob = await team.companion("bob")
    await until(lambda: synced(bob, team.cats), "bob replicated")
    assert bob.team is not None and not bob.team.is_syncer

    async def has_the_team_marks() -> bool:
        # Alice's finished scan, published after her run and replicated with the rows it covers.
        return (await CompanyCache(bob.db).sync_record()).last_full_success_at is not None

    await until(has_the_team_marks, "bob has the team's sync marks")
    await alice.close()
    took = await until(holds(lambda: bob.team is not None and bob.team.is_syncer), "bob elected")

    assert took < 2.0  # lock_retry 0.2 s: the lock is free as soon as alice's session ends
    print(f"\nfailover after a clean close: {took * 1000:.0f} ms")
    # Bob continues the team's sync from its marks: an incremental run, not a new full scan.
    assert bob.sync is not None
    before = await team.cats_requests()
    await until(holds(lambda: bob.sync is not None and bob.sync.runs_ended >= 1), "bob's run")
    record = await CompanyCache(bob.db).sync_record()
    assert record.last_full_success_at is not None and record.last_run_id == 0
    assert await team.cats_requests() - before < 5


async def test_a_syncer_whose_session_is_killed_hands_over_and_rejoins_as_a_follower(team: Team) -> None:
    await team.add("alice")
    await team.add("bob")
    alice = await team.companion("alice")
    await until(holds(lambda: alice.team is not None and alice.team.is_syncer), "alice elected")
    bob = await team.companion("bob")
    await until(lambda: synced(bob, team.cats), "bob replicated")

    # Alice's laptop drops off the network: her sessions die and she cannot come back for a while
    # (her role may open no session; not NOLOGIN, which is how a removed member is told apart),
    # so she cannot take the lock again before bob tries.
    server = team.db.server
    server.sql(f'ALTER ROLE "{team.members["alice"]}" CONNECTION LIMIT 0')
    try:
        server.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", team.members["alice"]
        )
        took = await until(holds(lambda: bob.team is not None and bob.team.is_syncer), "bob elected")
        print(f"\nfailover after the syncer's session was killed: {took * 1000:.0f} ms")
        assert took < 2.0
        await until(holds(lambda: alice.team is not None and not alice.team.is_syncer), "alice deposed")
        await until(holds(lambda: alice.team is not None and alice.team.state == "offline"), "alice offline")
        assert alice.team is not None and alice.team.reason and "alice" in alice.team.reason
    finally:
        server.sql(f'ALTER ROLE "{team.members["alice"]}" CONNECTION LIMIT -1')
    await until(holds(lambda: alice.team is not None and alice.team.state == "connected"), "alice is back")
    assert alice.team is not None and not alice.team.is_syncer
    # Alice follows bob now: a company bob syncs reaches her.
    new_id = new_company(team.cats, "Handover Labs")
    await until(holds(lambda: bob.sync is not None and bob.sync.runs_ended >= 1), "bob's first run")
    assert bob.sync is not None and bob.sync.request()
    await until(lambda: has(alice, new_id), "alice got bob's company")


async def test_a_syncer_that_falls_silent_loses_the_lock_once_its_session_idles_out(team: Team) -> None:
    await team.add("alice")
    await team.add("bob")
    quiet = LinkTuning(
        poll_interval=1.0, lock_retry=0.2, heartbeat=0.2, silent_session=1, backoff_first=0.1, backoff_max=0.5
    )
    alice = await team.companion("alice", tuning=quiet)
    await until(holds(lambda: alice.team is not None and alice.team.is_syncer), "alice elected")
    bob = await team.companion("bob")
    await until(lambda: synced(bob, team.cats), "bob replicated")
    shared = alice.team_companies
    assert shared is not None

    # Alice's companion hangs: nothing more goes over its elected connection (the heartbeat waits
    # for the connection's guard, as it does behind a publish), but the connection stays open.
    async with shared.guard:
        took = await until(holds(lambda: bob.team is not None and bob.team.is_syncer), "bob elected")
    print(f"\nfailover from a silent syncer (idle_session_timeout 1 s): {took * 1000:.0f} ms")

    assert took < 5.0
    await until(holds(lambda: alice.team is not None and not alice.team.is_syncer), "alice deposed")


async def test_a_syncer_whose_cats_key_is_removed_resigns_and_another_member_syncs(team: Team) -> None:
    await team.add("alice")
    await team.add("bob")
    alice = await team.companion("alice")
    await until(holds(lambda: alice.team is not None and alice.team.is_syncer), "alice elected")
    bob = await team.companion("bob")
    await until(lambda: synced(bob, team.cats), "bob replicated")

    await alice.use_client(None)

    await until(holds(lambda: bob.team is not None and bob.team.is_syncer), "bob elected")
    await asyncio.sleep(0.5)  # several of alice's lock retries: without a key she does not try
    assert alice.team is not None and not alice.team.is_syncer and alice.team.state == "connected"
    new_id = new_company(team.cats, "Keyless Handover Co")
    await until(holds(lambda: bob.sync is not None and not bob.sync.running), "bob is idle")
    assert bob.sync is not None and bob.sync.request()
    await until(lambda: has(alice, new_id), "alice replicates bob's sync")


async def has(companion: Companion, company_id: int) -> bool:
    return await CompanyCache(companion.db).get(company_id) is not None


async def test_a_member_joining_late_catches_up_from_change_zero_without_asking_cats(team: Team) -> None:
    await team.add("alice")
    alice = await team.companion("alice")
    await until(lambda: synced(alice, team.cats), "alice synced")
    await team.add("carol")
    before = await team.cats_requests()

    carol = await team.companion("carol")
    await until(lambda: synced(carol, team.cats), "carol caught up")

    assert await team.cats_requests() == before
    shared = carol.team_companies
    assert shared is not None
    await until(
        holds(lambda: bool(shared.applied) and shared.applied == carol.team.head), "carol at the head"
    )  # type: ignore[union-attr]
    assert sorted(await ids(carol)) == sorted(await ids(alice))
    [company] = await CompanyCache(carol.db).get_many([max(await ids(carol))])
    assert carol.lookup.search(company.name).companies[0].id == company.id
    assert carol.sync is not None and carol.sync.runs_ended == 0


async def test_a_company_deleted_in_cats_leaves_the_other_members_cache_and_lookup(team: Team) -> None:
    await team.add("alice")
    await team.add("bob")
    alice = await team.companion("alice")
    await until(holds(lambda: alice.team is not None and alice.team.is_syncer), "alice elected")
    bob = await team.companion("bob")
    await until(lambda: synced(bob, team.cats), "bob replicated")
    [gone] = await CompanyCache(bob.db).get_many([min(await ids(bob))])
    assert bob.lookup.search(gone.name).companies[0].id == gone.id

    team.cats.store.delete_record("companies", gone.id)
    assert alice.sync is not None and alice.sync.request(full=True)
    await until(lambda: not_has(bob, gone.id), "the deletion reached bob")
    # The index follows the SQLite commit by its hook, a moment later on the same loop.
    await until(
        holds(lambda: all(hit.id != gone.id for hit in bob.lookup.search(gone.name).companies)),
        "the deletion reached bob's lookup",
    )
    assert await cached(bob) == cats_ids(team.cats)


async def ids(companion: Companion) -> list[int]:
    return [row.id for row in await CompanyCache(companion.db).get_many(list(range(1, 100_000)))]


async def not_has(companion: Companion, company_id: int) -> bool:
    return not await has(companion, company_id)


async def test_the_database_going_away_mid_replication_loses_nothing_and_resumes(team: Team) -> None:
    await team.add("alice")
    await team.add("bob")
    # CATS answers slowly, so the syncer's scan and its publishing are under way while the cuts come.
    await team.cats.control.set_faults(probabilities={"slow": 1.0}, slow_seconds=0.25)
    alice, bob = await team.companion("alice"), await team.companion("bob")

    # Cut every session of the team database, again and again, while they sync and replicate.
    for _ in range(8):
        await asyncio.sleep(0.25)
        team.db.server.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()",
            database=team.db.database,
        )
    await team.cats.control.clear_faults()

    await until(lambda: synced(alice, team.cats), "alice has every company", bound=60)
    await until(lambda: synced(bob, team.cats), "bob has every company", bound=60)
    assert alice.team is not None and bob.team is not None
    assert alice.team.disconnects >= 1 and bob.team.disconnects >= 1
    await until(holds(lambda: bob.team is not None and bob.team.state == "connected"), "reconnected")
    assert sorted(await ids(bob)) == sorted(await ids(alice))
    shared = team.db.server.fetch(
        "SELECT count(*) FROM cats_companion.companies WHERE data IS NOT NULL", database=team.db.database
    )
    assert shared[0][0] == cats_ids(team.cats)
    # A change after the outage arrives too: replication resumed where it stopped.
    syncer = syncer_of(alice, bob)
    other = bob if syncer is alice else alice
    new_id = new_company(team.cats, "After The Outage GmbH")
    await until(holds(lambda: syncer.sync is not None and not syncer.sync.running), "the syncer is idle")
    assert syncer.sync is not None and syncer.sync.request()
    await until(lambda: has(other, new_id), "the new company replicated")


async def test_lookups_on_a_member_answer_from_sqlite_while_the_database_is_down(team: Team) -> None:
    await team.add("alice")
    await team.add("bob")
    alice = await team.companion("alice")
    await until(lambda: synced(alice, team.cats), "alice synced")
    bob = await team.companion("bob", key=False)
    await until(lambda: synced(bob, team.cats), "bob replicated")
    [company] = await CompanyCache(bob.db).get_many([min(await ids(bob))])

    server, database = team.db.server, team.db.database
    server.sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
    try:
        server.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", database)
        await until(holds(lambda: bob.team is not None and bob.team.state == "offline"), "offline")

        assert bob.lookup.search(company.name).companies[0].id == company.id
        status = bob.status()["team"]
        assert isinstance(status, dict) and status["state"] == "offline" and status["reason"]
        assert MEMBER_PASSWORD not in str(status)
    finally:
        server.sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
    await until(holds(lambda: bob.team is not None and bob.team.state == "connected"), "back")


async def test_notify_wakes_replication_long_before_the_poll_interval(team: Team) -> None:
    await team.add("alice")
    await team.add("bob")
    alice = await team.companion("alice")
    await until(holds(lambda: alice.team is not None and alice.team.is_syncer), "alice elected")
    await until(lambda: synced(alice, team.cats), "alice synced")
    slow = LinkTuning(
        poll_interval=600.0, lock_retry=600.0, heartbeat=1.0, backoff_first=0.1, backoff_max=0.5
    )
    bob = await team.companion("bob", tuning=slow)
    await until(lambda: synced(bob, team.cats), "bob caught up when it connected")

    new_id = new_company(team.cats, "Prompt Delivery Ltd")
    await until(holds(lambda: alice.sync is not None and not alice.sync.running), "alice is idle")
    assert alice.sync is not None
    runs = alice.sync.runs_ended
    assert alice.sync.request()
    await until(holds(lambda: alice.sync is not None and alice.sync.runs_ended > runs), "alice ran")
    took = await until(lambda: has(bob, new_id), "bob got the new company", bound=10.0)

    assert took < 2.0
    print(f"\nNOTIFY to applied on the other member: {took * 1000:.0f} ms (poll interval 600 s)")


async def test_a_daemon_for_another_cats_site_stays_out_of_the_team_and_says_why(
    team: Team, sandbox_factory: SandboxFactory
) -> None:
    await team.add("alice")
    other_site = await sandbox_factory(seed=3, seed_random=1)
    home = team.root / "alice"
    config = CompanionConfig(
        cats_base_url=other_site.url,
        data_dir=home / "data",
        config_dir=home / "config",
        site_config_dir=home / "site",
        sync=SyncPolicy(automatic=False),
        send_outbox=False,
        check_connection=False,
        team_tuning=FAST,
    )
    stray = await Companion.open(config, key=other_site.key)
    team.opened.append(stray)
    await stray.start()

    assert stray.team is None
    status = stray.status()["team"]
    assert isinstance(status, dict) and status["joined"] is False
    assert "a team shares one CATS site" in str(status["reason"])
    assert (
        team.db.server.fetch("SELECT count(*) FROM cats_companion.companies", database=team.db.database)[0][0]
        == 0
    )


async def test_a_companion_without_team_json_reports_no_team_and_syncs_as_before(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    solo = await Companion.open(
        CompanionConfig(
            cats_base_url=sandbox.url,
            data_dir=tmp_path / "data",
            config_dir=tmp_path / "config",
            site_config_dir=tmp_path / "site",
            sync=SyncPolicy(start_delay=0, interval=3600),
            send_outbox=False,
            check_connection=False,
        ),
        key=sandbox.key,
    )
    try:
        await solo.start()
        await until(lambda: synced(solo, sandbox), "synced alone")
        assert solo.team is None
        team_state = solo.status()["team"]
        assert isinstance(team_state, dict)
        assert team_state["joined"] is False and team_state["state"] == "not_joined"
        assert team_state["reason"] is None and team_state["policy"]["revision"] is None  # type: ignore[index]
    finally:
        await solo.close()


async def test_a_restarted_member_resumes_after_its_last_applied_change(team: Team) -> None:
    await team.add("alice")
    await team.add("bob")
    alice = await team.companion("alice")
    await until(holds(lambda: alice.team is not None and alice.team.is_syncer), "alice elected")
    bob = await team.companion("bob", key=False)
    await until(lambda: synced(bob, team.cats), "bob replicated")
    assert bob.team_companies is not None
    await until(holds(lambda: bool(bob.team_companies and bob.team_companies.applied)), "bob recorded it")
    stopped_at = bob.team_companies.applied
    await bob.close()

    new_id = new_company(team.cats, "While Bob Slept Inc")
    await until(holds(lambda: alice.sync is not None and not alice.sync.running), "alice is idle")
    assert alice.sync is not None and alice.sync.request()
    await until(lambda: has(alice, new_id), "alice synced the new company")

    again = await team.companion("bob", key=False, start=False)
    shared = again.team_companies
    assert shared is not None
    # Read from its own SQLite at open: the catch-up starts there, not from change 0.
    assert shared.applied == stopped_at
    await again.start()
    await until(lambda: has(again, new_id), "bob got what he missed")
    await until(holds(lambda: (shared.applied or 0) > stopped_at), "bob recorded it")
    assert await cached(again) == cats_ids(team.cats)
    seen = team.db.server.fetch(
        "SELECT last_seen_at, companion_version FROM cats_companion.members WHERE role_name = $1",
        team.members["bob"],
        database=team.db.database,
    )
    assert seen[0]["last_seen_at"] is not None and seen[0]["companion_version"] == again.version


async def test_a_member_waiting_for_the_lock_keeps_its_session_alive_under_the_idle_timeout(
    team: Team,
) -> None:
    await team.add("alice")
    await team.add("bob")
    alice = await team.companion("alice")
    await until(holds(lambda: alice.team is not None and alice.team.is_syncer), "alice elected")
    waiting = LinkTuning(
        poll_interval=1.0, lock_retry=3.0, heartbeat=0.2, silent_session=1, backoff_first=0.1, backoff_max=0.5
    )
    bob = await team.companion("bob", tuning=waiting)
    await until(lambda: synced(bob, team.cats), "bob replicated")

    def sessions() -> set[object]:
        rows = team.db.server.fetch(
            "SELECT backend_start FROM pg_stat_activity WHERE usename = $1", team.members["bob"]
        )
        return {row[0] for row in rows}

    # The link's two (the team policy rides on its follower's) and the one the claims and the team rate
    # budget share (the budget opens it at once): every session this member's companion holds.
    await until(holds(lambda: len(sessions()) == 3), "bob's three sessions")
    before = sessions()
    await asyncio.sleep(3.5)  # longer than both the idle timeout and one lock retry

    assert sessions() == before
    assert bob.team is not None and bob.team.disconnects == 0 and not bob.team.is_syncer
