"""An admin removes a member, against the real server: no more login or rights, sessions ended,
live claims released, history kept; every refusal changes nothing. Also `team members`' listing."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import asyncpg
import pytest

from companion.errors import (
    TeamAuthError,
    TeamError,
    TeamPrivilegeError,
    TeamRemovalRefusedError,
    TeamRemovedError,
    TeamUnknownMemberError,
)
from companion.secret import DatabasePassword
from companion.team import admin, company_log, membership, removal, roster
from tests.team.conftest import ADMIN_PASSWORD, MEMBER_PASSWORD, SITE, TeamDb, connect_as
from tests.team.test_permissions import add

#: Every wait here ends by this many seconds.
BOUND = 10.0
CLAIMS_CHANNEL = "cats_companion_person_claims"


@dataclass
class Team:
    db: TeamDb
    alice: str
    bob: str

    def row(self, role: str) -> asyncpg.Record:
        [found] = self.db.server.fetch(
            "SELECT m.*, r.rolcanlogin FROM cats_companion.members m"
            " LEFT JOIN pg_roles r ON r.rolname = m.role_name WHERE m.role_name = $1",
            role,
            database=self.db.database,
        )
        return found

    def groups_of(self, role: str) -> set[str]:
        rows = self.db.server.fetch(
            "SELECT g.rolname FROM pg_auth_members am JOIN pg_roles g ON g.oid = am.roleid"
            " JOIN pg_roles r ON r.oid = am.member WHERE r.rolname = $1",
            role,
        )
        return {str(row[0]) for row in rows}

    async def remove(
        self, role: str, *, by: str | None = None, password: str = ADMIN_PASSWORD
    ) -> removal.Removal:
        return await removal.remove_member(self.db.dsn(by), DatabasePassword(password), role)


@pytest.fixture
async def team(team_db: TeamDb) -> Team:
    """An initialised team (its admin owns the database) with two members, Alice and Bob."""
    await admin.init_team(team_db.dsn(), team_db.admin_password, SITE, companion_version="1")
    return Team(team_db, await add(team_db, "alice"), await add(team_db, "bob"))


async def claim(conn: asyncpg.Connection, key: str) -> int:
    """A live person claim of one key, made as a member's client would (the member's own credentials)."""
    async with conn.transaction():
        claim_id = await conn.fetchval(
            "INSERT INTO cats_companion.person_claims (record_type, lease_until)"
            " VALUES ('candidates', now() + interval '10 minutes') RETURNING claim_id"
        )
        await conn.execute(
            "INSERT INTO cats_companion.person_claim_keys (record_type, key, claim_id)"
            " VALUES ('candidates', $1, $2)",
            key,
            claim_id,
        )
    return int(claim_id)


def unchanged(team: Team) -> tuple[object, ...]:
    """What a refused removal must leave as it was: Alice's row, login and groups."""
    row = team.row(team.alice)
    return (row["removed_at"], row["rolcanlogin"], team.groups_of(team.alice))


async def test_removed_member_cannot_connect_any_more(team: Team) -> None:
    done = await team.remove(team.alice)

    assert done.newly_removed and done.role_name == team.alice and done.display_name == "Alice"
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError, match="not permitted to log in"):
        await connect_as(team.db, team.alice)
    # The companion's own words for it, which only the right password earns: a wrong one is told
    # what any wrong password is, so a removal says nothing to someone guessing.
    with pytest.raises(TeamRemovedError, match="removed from the team"):
        await membership.look(team.db.dsn(team.alice), DatabasePassword(MEMBER_PASSWORD))
    with pytest.raises(TeamAuthError) as wrong:
        await membership.look(team.db.dsn(team.alice), DatabasePassword("not-her-pa55word-1"))
    assert not isinstance(wrong.value, TeamRemovedError)
    # Whatever client: no login, and no group left that could give the role a right.
    assert team.row(team.alice)["rolcanlogin"] is False
    assert team.groups_of(team.alice) == set()
    # Bob is untouched.
    bob = await connect_as(team.db, team.bob)
    await bob.close()


async def test_removed_members_open_session_is_ended(team: Team) -> None:
    alice = await connect_as(team.db, team.alice)
    other_db = team.db.server.create_database()
    team.db.server.sql(f'GRANT CONNECT ON DATABASE "{other_db}" TO "{team.alice}"')
    elsewhere = await asyncpg.connect(team.db.server.dsn(team.alice, other_db), password=MEMBER_PASSWORD)
    # Alice's companion is the team's syncer: her session holds the lock.
    assert await company_log.try_lock(alice)
    bob = await connect_as(team.db, team.bob)
    try:
        assert not await company_log.try_lock(bob)

        done = await team.remove(team.alice)

        # Ended before remove_member returned, in every database of the cluster.
        assert (done.sessions_ended, done.sessions_left, done.sessions_problem) == (2, 0, None)
        for conn in (alice, elsewhere):
            with pytest.raises((asyncpg.InterfaceError, asyncpg.ConnectionDoesNotExistError)):
                async with asyncio.timeout(BOUND):
                    await conn.fetchval("SELECT 1")
        # Her lock went with her session: a teammate takes over the sync at once.
        assert await company_log.try_lock(bob)
        # The admin held her role only for the length of one transaction.
        assert team.groups_of(team.db.admin) == {f"cats_companion_{team.db.database}_admin"}
    finally:
        for conn in (alice, elsewhere, bob):
            conn.terminate()


async def test_removed_members_live_claim_is_released_for_teammates(team: Team) -> None:
    alice, bob = await connect_as(team.db, team.alice), await connect_as(team.db, team.bob)
    woken: asyncio.Queue[str] = asyncio.Queue()
    try:
        live = await claim(alice, "linkedin:linkedin.com/in/jane-doe")
        created = await claim(alice, "email:john@example.com")
        await alice.execute(
            "UPDATE cats_companion.person_claims SET state = 'created', cats_id = 77 WHERE claim_id = $1",
            created,
        )
        await bob.add_listener(CLAIMS_CHANNEL, lambda _c, _p, _ch, payload: woken.put_nowait(payload))
        # While Alice holds it, Bob cannot have the person.
        with pytest.raises(asyncpg.UniqueViolationError):
            await claim(bob, "linkedin:linkedin.com/in/jane-doe")

        done = await team.remove(team.alice)

        assert done.claims_released == 1
        # Bob, waiting on her claim, hears at once that it was released...
        async with asyncio.timeout(BOUND):
            assert await woken.get() == str(live)
        states = dict(
            await bob.fetch(
                "SELECT claim_id, state FROM cats_companion.person_claims WHERE claimed_by = $1", team.alice
            )
        )
        assert states == {live: "abandoned", created: "created"}
        # ... and claims the person himself, long before her lease (10 minutes) would have ended.
        mine = await claim(bob, "linkedin:linkedin.com/in/jane-doe")
        assert mine != live
        # The person she created stays hers: it is in CATS.
        with pytest.raises(asyncpg.UniqueViolationError):
            await claim(bob, "email:john@example.com")
    finally:
        await alice.close()
        await bob.close()


async def test_removed_members_history_keeps_their_name(team: Team) -> None:
    alice = await connect_as(team.db, team.alice)
    await alice.fetchval("SELECT cats_companion.confirm_company_alias('name', 'acme', 42, now())")
    await alice.execute(
        "INSERT INTO cats_companion.rate_requests (origin, sent_at, priority)"
        " VALUES ($1, now(), 'interactive')",
        uuid.uuid4(),
    )
    created = await claim(alice, "email:jane@example.com")
    await alice.execute(
        "UPDATE cats_companion.person_claims SET state = 'created', cats_id = 5 WHERE claim_id = $1", created
    )
    await alice.close()

    done = await team.remove(team.alice)

    named = team.db.server.fetch(
        "SELECT (SELECT confirmed_by FROM cats_companion.company_aliases),"
        " (SELECT member FROM cats_companion.rate_requests),"
        " (SELECT claimed_by FROM cats_companion.person_claims WHERE claim_id = $1)",
        created,
        database=team.db.database,
    )[0]
    assert tuple(named) == (team.alice, team.alice, team.alice)
    row = team.row(team.alice)
    assert (row["display_name"], row["removed_by"], row["removed_at"]) == (
        "Alice",
        team.db.admin,
        done.removed_at,
    )
    # The server stamps the removal, and it is final, for admins too: the name stays hers.
    admin_conn = await asyncpg.connect(team.db.dsn().url, password=ADMIN_PASSWORD)
    try:
        with pytest.raises(asyncpg.CheckViolationError, match="removal is final"):
            await admin_conn.execute(
                "UPDATE cats_companion.members SET removed_at = NULL, removed_by = NULL WHERE role_name = $1",
                team.alice,
            )
    finally:
        await admin_conn.close()
    # Her name is never given to someone new, even once a superuser dropped her role by hand.
    with pytest.raises(TeamPrivilegeError, match=r"was a member of the team, removed .*: pick another"):
        await admin.add_member(
            team.db.dsn(), team.db.admin_password, team.alice, DatabasePassword(MEMBER_PASSWORD)
        )
    team.db.server.sql(f'DROP ROLE "{team.alice}"')
    with pytest.raises(TeamPrivilegeError, match="was a member of the team"):
        await admin.add_member(
            team.db.dsn(), team.db.admin_password, team.alice, DatabasePassword(MEMBER_PASSWORD)
        )
    assert not team.db.server.fetch("SELECT 1 FROM pg_roles WHERE rolname = $1", team.alice)
    _, listed = await roster.list_members(team.db.dsn(), team.db.admin_password)
    gone = [m for m in listed if m.role_name == team.alice]
    assert [(m.role_exists, m.can_login, m.access) for m in gone] == [(False, False, "none")]


async def test_member_cannot_remove_anyone(team: Team) -> None:
    before = unchanged(team)

    with pytest.raises(TeamPrivilegeError, match="only the team's admins remove members"):
        await team.remove(team.alice, by=team.bob, password=MEMBER_PASSWORD)
    # Nor by writing the columns with their own credentials: no grant on them.
    bob = await connect_as(team.db, team.bob)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await bob.execute(
                "UPDATE cats_companion.members SET removed_at = now(), removed_by = 'x' WHERE role_name = $1",
                team.bob,
            )
    finally:
        await bob.close()

    assert unchanged(team) == before


async def test_last_admin_cannot_be_removed(team: Team) -> None:
    # A superuser outside the team's admin group: removing the admin would leave the team without one.
    root = team.db.server.create_role(ADMIN_PASSWORD, stem="root", attributes="SUPERUSER")
    before = team.row(team.db.admin)

    with pytest.raises(TeamRemovalRefusedError, match="last admin"):
        await team.remove(team.db.admin, by=root)
    with pytest.raises(TeamRemovalRefusedError, match="is you"):
        await team.remove(team.db.admin)

    assert team.row(team.db.admin) == before


async def second_admin(team: Team) -> str:
    """Another admin of the team, added by the first with `team add-member --admin`."""
    second = team.db.server.unique("admin2")
    await admin.add_member(
        team.db.dsn(), team.db.admin_password, second, DatabasePassword(ADMIN_PASSWORD), as_admin=True
    )
    return second


async def test_an_admin_is_removed_by_another_admin(team: Team) -> None:
    second = await second_admin(team)

    await team.remove(team.db.admin, by=second)

    # The first admin owns the database, which DROP ROLE would refuse; NOLOGIN is always possible.
    assert team.row(team.db.admin)["rolcanlogin"] is False
    assert team.groups_of(team.db.admin) == set()
    _, listed = await roster.list_members(team.db.dsn(second), team.db.admin_password)
    assert [(m.role_name, m.access, m.removed_by) for m in listed] == [
        (second, "admin", None),
        (team.alice, "member", None),
        (team.bob, "member", None),
        (team.db.admin, "none", second),
    ]


async def test_two_admins_removing_each_other_at_once_leave_the_team_one_admin(team: Team) -> None:
    second = await second_admin(team)

    outcomes = await asyncio.gather(
        team.remove(second),
        team.remove(team.db.admin, by=second),
        return_exceptions=True,
    )

    # They took turns: the first removed the other, whose own removal was then refused (or its
    # session ended with the rest of that admin's sessions). Never both.
    done = [o for o in outcomes if isinstance(o, removal.Removal)]
    assert len(done) == 1, outcomes
    assert all(isinstance(o, removal.Removal | TeamError) for o in outcomes), outcomes
    rows = team.db.server.fetch(
        "SELECT role_name, removed_at IS NULL AS kept FROM cats_companion.members"
        " WHERE role_name = ANY($1::text[])",
        [team.db.admin, second],
        database=team.db.database,
    )
    assert sorted(bool(row["kept"]) for row in rows) == [False, True]


async def test_an_unknown_name_is_refused_and_changes_nothing(team: Team) -> None:
    before = unchanged(team)
    outsider = team.db.server.create_role(MEMBER_PASSWORD, stem="outsider")

    for name in ("nobody_here", outsider):
        with pytest.raises(TeamUnknownMemberError, match="not a member of the team"):
            await team.remove(name)

    assert unchanged(team) == before
    assert team.db.server.fetch("SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", outsider)[0][0] is True


async def test_removing_a_removed_member_again_changes_nothing_and_says_when(team: Team) -> None:
    first = await team.remove(team.alice)

    again = await team.remove(team.alice)

    assert not again.newly_removed
    assert (again.removed_at, again.claims_released, again.sessions_ended) == (first.removed_at, 0, 0)


async def test_team_members_lists_admins_and_members(team: Team) -> None:
    await membership.join_team(
        team.db.dsn(team.bob), DatabasePassword(MEMBER_PASSWORD), SITE, companion_version="1"
    )
    await team.remove(team.alice)

    # Bob, a member, may list them as well as the admin.
    info, listed = await roster.list_members(team.db.dsn(team.bob), DatabasePassword(MEMBER_PASSWORD))

    assert info.team_id
    seen = [(m.role_name, m.display_name, m.access, m.can_login, m.removed_by) for m in listed]
    assert seen == [
        (team.db.admin, "", "admin", True, None),
        (team.bob, "Bob", "member", True, None),
        (team.alice, "Alice", "none", False, team.db.admin),
    ]
    bob = listed[1]
    assert bob.added_by == team.db.admin and bob.joined_at is not None and bob.added_at <= bob.joined_at
    assert all(m.role_exists for m in listed)
