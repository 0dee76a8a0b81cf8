"""Person claims against the real server: one winner per person every time, the loser gets the CATS id."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from companion.errors import (
    TeamClaimReleasedError,
    TeamClaimTakenOverError,
    TeamClaimTimeoutError,
    TeamError,
    TeamPrivilegeError,
    TeamUnavailableError,
)
from companion.rules.claim_keys import email_claim_key, is_claim_key, linkedin_claim_key
from companion.secret import DatabasePassword
from companion.team import admin
from companion.team.claims import Claim, PersonClaims
from companion.team.connection import connect
from tests.team.conftest import ADMIN_PASSWORD, MEMBER_PASSWORD, SITE, TeamDb

#: Rounds of the races: each is two members claiming one new person at the same moment.
RACE_ROUNDS = 300
TAKEOVER_ROUNDS = 50


@dataclass
class Team:
    db: TeamDb
    alice: str
    bob: str
    carol: str

    def sql(self, statement: str, *args: Any) -> str:
        """As the superuser (the test's hand on the server: expiring a lease is time passing)."""
        return self.db.server.sql(statement, *args, database=self.db.database)

    def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        return self.db.server.fetch(query, *args, database=self.db.database)


@pytest.fixture
async def team(team_db: TeamDb) -> Team:
    await admin.init_team(team_db.dsn(), team_db.admin_password, SITE, companion_version="1")
    names = []
    for stem in ("alice", "bob", "carol"):
        name = team_db.server.unique(stem)
        await admin.add_member(team_db.dsn(), team_db.admin_password, name, DatabasePassword(MEMBER_PASSWORD))
        names.append(name)
    return Team(team_db, *names)


@contextlib.asynccontextmanager
async def claims_of(team: Team, user: str, **options: float) -> AsyncIterator[PersonClaims]:
    password = DatabasePassword(ADMIN_PASSWORD if user == team.db.admin else MEMBER_PASSWORD)
    async with connect(team.db.dsn(user), password) as conn:
        yield PersonClaims(conn, team.db.dsn(user), password, **options)


@pytest.fixture
async def alice(team: Team) -> AsyncIterator[PersonClaims]:
    async with claims_of(team, team.alice) as claims:
        yield claims


@pytest.fixture
async def bob(team: Team) -> AsyncIterator[PersonClaims]:
    async with claims_of(team, team.bob) as claims:
        yield claims


@pytest.fixture
async def carol(team: Team) -> AsyncIterator[PersonClaims]:
    async with claims_of(team, team.carol) as claims:
        yield claims


@pytest.fixture
async def bob_sql(team: Team) -> AsyncIterator[asyncpg.Connection]:
    """Bob's credentials straight through asyncpg: what PostgreSQL itself lets a member do."""
    conn = await asyncpg.connect(team.db.server.dsn(team.bob, team.db.database), password=MEMBER_PASSWORD)
    yield conn
    await conn.close(timeout=5)


def url(text: str) -> str:
    key = linkedin_claim_key(text)
    assert key is not None
    return key


def email(text: str) -> str:
    key = email_claim_key(text)
    assert key is not None
    return key


def expire(team: Team, claim: Claim) -> None:
    team.sql(
        "UPDATE cats_companion.person_claims SET lease_until = now() - interval '1 second'"
        " WHERE claim_id = $1",
        claim.claim_id,
    )


# --- the race --------------------------------------------------------------------------------------


async def test_two_members_claiming_one_profile_by_different_urls_win_exactly_once_every_round(
    team: Team, alice: PersonClaims, bob: PersonClaims
) -> None:
    double_wins = no_wins = 0
    for round_ in range(RACE_ROUNDS):
        ours = [url(f"https://uk.linkedin.com/in/Ada-{round_}/?trk=public_profile")]
        theirs = [url(f"www.linkedin.com/in/ada-{round_}/details/skills/")]
        first, second = (alice, bob) if round_ % 2 else (bob, alice)
        one, two = await asyncio.gather(first.claim(ours, "candidates"), second.claim(theirs, "candidates"))

        double_wins += one.won and two.won
        no_wins += not (one.won or two.won)
        winner, loser = (one, two) if one.won else (two, one)
        assert loser.claim.claim_id == winner.claim.claim_id and loser.claim.state == "claimed"

    assert (double_wins, no_wins) == (0, 0)
    held = team.fetch(
        "SELECT count(*) AS keys, count(DISTINCT claim_id) AS claims FROM cats_companion.person_claim_keys"
    )
    assert (held[0]["keys"], held[0]["claims"]) == (RACE_ROUNDS, RACE_ROUNDS)
    # The losers' claims were rolled back whole: no claim row without its keys.
    assert team.fetch("SELECT count(*) AS n FROM cats_companion.person_claims")[0]["n"] == RACE_ROUNDS


async def test_two_members_racing_with_overlapping_url_and_email_keys_win_exactly_once(
    team: Team, alice: PersonClaims, bob: PersonClaims
) -> None:
    for round_ in range(RACE_ROUNDS // 3):
        ours = [url(f"m.linkedin.com/in/grace-{round_}"), email(f"Grace{round_}@Navy.mil")]
        theirs = [email(f"grace{round_}@navy.MIL"), url(f"https://www.linkedin.com/in/GRACE-{round_}?trk=x")]
        one, two = await asyncio.gather(alice.claim(ours, "contacts"), bob.claim(theirs, "contacts"))

        assert one.won != two.won
        winner = one if one.won else two
        assert set(winner.claim.keys) == set(ours)


async def test_taking_over_one_expired_claim_is_won_by_exactly_one_member(
    team: Team, alice: PersonClaims, bob: PersonClaims, carol: PersonClaims
) -> None:
    for round_ in range(TAKEOVER_ROUNDS):
        keys = [url(f"linkedin.com/in/stale-{round_}")]
        dead = await carol.claim(keys, "candidates")
        expire(team, dead.claim)

        one, two = await asyncio.gather(alice.claim(keys, "candidates"), bob.claim(keys, "candidates"))

        assert one.won != two.won
        assert dead.claim.claim_id not in {one.claim.claim_id, two.claim.claim_id}


# --- keys and collisions ---------------------------------------------------------------------------


async def test_a_claim_carrying_url_and_email_collides_with_a_claim_by_email_alone(
    alice: PersonClaims, bob: PersonClaims, carol: PersonClaims
) -> None:
    by_email = await alice.claim([email("ada@example.com")], "candidates")

    both = await bob.claim([url("uk.linkedin.com/in/ada/?trk=1"), email("ADA@example.com")], "candidates")
    by_url_later = await carol.claim([url("https://www.linkedin.com/in/Ada")], "candidates")

    assert by_email.won and not both.won and both.claim.claim_id == by_email.claim.claim_id
    # The loser taught the winner's claim the URL, so a member who only knows the URL loses too.
    assert both.claim.keys == ("email:ada@example.com", "linkedin:linkedin.com/in/ada")
    assert not by_url_later.won and by_url_later.claim.claim_id == by_email.claim.claim_id


async def test_a_person_claimed_twice_under_separate_keys_is_reported_with_both_holders(
    alice: PersonClaims, bob: PersonClaims, carol: PersonClaims
) -> None:
    by_email = await alice.claim([email("ada@example.com")], "candidates")
    by_url = await bob.claim([url("linkedin.com/in/ada")], "candidates")

    both = await carol.claim([email("ada@example.com"), url("linkedin.com/in/ada")], "candidates")

    assert by_email.won and by_url.won and not both.won
    assert {both.claim.claim_id, *(other.claim_id for other in both.others)} == {
        by_email.claim.claim_id,
        by_url.claim.claim_id,
    }


async def test_a_candidate_and_a_contact_are_claimed_separately(
    alice: PersonClaims, bob: PersonClaims
) -> None:
    keys = [url("linkedin.com/in/ada")]

    candidate = await alice.claim(keys, "candidates")
    contact = await bob.claim(keys, "contacts")

    assert candidate.won and contact.won


async def test_a_claim_refuses_keys_that_are_not_normalised_and_stores_only_normalised_ones(
    team: Team, alice: PersonClaims
) -> None:
    for raw in (
        ["https://www.linkedin.com/in/ada"],
        ["linkedin:linkedin.com/in/Ada"],
        ["email:Ada@x.io"],
        [],
    ):
        with pytest.raises(ValueError, match="identity key"):
            await alice.claim(raw, "candidates")
    await alice.claim([url("HTTP://UK.LinkedIn.com/in/%C3%89LENE/?trk=a"), email(" Ada@X.io ")], "candidates")

    stored = [row["key"] for row in team.fetch("SELECT key FROM cats_companion.person_claim_keys")]

    assert sorted(stored) == ["email:ada@x.io", "linkedin:linkedin.com/in/\u00e9lene"]
    assert all(is_claim_key(key) for key in stored)


async def test_the_database_itself_refuses_a_key_that_is_not_normalised(
    team: Team, bob_sql: asyncpg.Connection, bob: PersonClaims
) -> None:
    own = await bob.claim([url("linkedin.com/in/bob")], "candidates")

    for raw in (
        "linkedin:https://www.linkedin.com/in/x",
        "email:Bob@x.io",
        "linkedin:linkedin.com/in/x/",
        "x",
    ):
        with pytest.raises(asyncpg.CheckViolationError):
            await bob_sql.execute(
                "INSERT INTO cats_companion.person_claim_keys (record_type, key, claim_id)"
                " VALUES ('candidates', $1, $2)",
                raw,
                own.claim.claim_id,
            )


# --- the winner's CATS id --------------------------------------------------------------------------


async def test_the_loser_is_woken_by_notify_with_the_winners_cats_id_long_before_the_poll(
    team: Team, alice: PersonClaims
) -> None:
    won = await alice.claim([url("linkedin.com/in/ada")], "candidates")
    async with claims_of(team, team.bob, poll_interval=30.0) as bob:
        lost = await bob.claim([url("www.linkedin.com/in/ADA/")], "candidates")

        async def create_after_a_moment() -> bool:
            await asyncio.sleep(0.2)
            return await alice.record_created(won.claim, 4242)

        started = time.monotonic()
        cats_id, held = await asyncio.gather(bob.wait_for_cats_id(lost.claim, 10.0), create_after_a_moment())
        waited = time.monotonic() - started

    assert (cats_id, held) == (4242, True) and waited < 5.0
    again = await alice.claim([url("linkedin.com/in/ada")], "candidates")
    assert not again.won and (again.claim.state, again.claim.cats_id) == ("created", 4242)


async def test_without_notify_the_loser_still_gets_the_cats_id_by_polling(
    team: Team, alice: PersonClaims
) -> None:
    won = await alice.claim([email("ada@example.com")], "candidates")
    team.sql("ALTER TABLE cats_companion.person_claims DISABLE TRIGGER person_claim_notify")
    async with claims_of(team, team.bob, poll_interval=0.2) as bob:
        lost = await bob.claim([email("ada@example.com")], "candidates")

        async def create_after_a_moment() -> bool:
            await asyncio.sleep(0.3)
            return await alice.record_created(won.claim, 77)

        cats_id, _ = await asyncio.gather(bob.wait_for_cats_id(lost.claim, 10.0), create_after_a_moment())

    assert cats_id == 77


async def test_a_winner_that_never_records_times_the_wait_out(alice: PersonClaims, bob: PersonClaims) -> None:
    await alice.claim([url("linkedin.com/in/ada")], "candidates")
    lost = await bob.claim([url("linkedin.com/in/ada")], "candidates")

    started = time.monotonic()
    with pytest.raises(TeamClaimTimeoutError, match="did not record the CATS id"):
        await bob.wait_for_cats_id(lost.claim, 0.3)

    assert time.monotonic() - started < 3.0


async def test_a_winner_whose_lease_runs_out_releases_the_waiter_who_then_wins(
    team: Team, bob: PersonClaims
) -> None:
    keys = [url("linkedin.com/in/ada")]
    async with claims_of(team, team.alice, lease=0.5) as alice:
        await alice.claim(keys, "candidates")
        lost = await bob.claim(keys, "candidates")

        with pytest.raises(TeamClaimReleasedError, match="ran out of its lease"):
            await bob.wait_for_cats_id(lost.claim, 10.0)
        retaken = await bob.claim(keys, "candidates")

    assert retaken.won


# --- abandon and the lease -------------------------------------------------------------------------


async def test_abandoning_wakes_the_waiter_and_lets_another_member_claim(
    alice: PersonClaims, bob: PersonClaims
) -> None:
    keys = [url("linkedin.com/in/ada"), email("ada@example.com")]
    won = await alice.claim(keys, "candidates")
    lost = await bob.claim(keys, "candidates")

    waiting = asyncio.ensure_future(bob.wait_for_cats_id(lost.claim, 10.0))
    await asyncio.sleep(0.1)
    await alice.abandon(won.claim)
    with pytest.raises(TeamClaimReleasedError, match="abandoned"):
        await waiting
    again = await bob.claim(keys, "candidates")

    assert again.won and again.claim.claimed_by != won.claim.claimed_by


async def test_an_expired_lease_is_taken_over_and_its_member_is_told_so(
    team: Team, alice: PersonClaims, bob: PersonClaims
) -> None:
    keys = [url("linkedin.com/in/ada")]
    stale = await alice.claim(keys, "candidates")
    expire(team, stale.claim)

    taken = await bob.claim(keys, "candidates")

    assert taken.won
    with pytest.raises(TeamClaimTakenOverError, match="do not create it"):
        await alice.renew(stale.claim)
    # A member that created anyway records it, and learns CATS may now hold a twin.
    assert await alice.record_created(stale.claim, 9) is False


async def test_a_live_lease_is_not_taken_over_and_renewing_keeps_it_live(
    team: Team, alice: PersonClaims, bob: PersonClaims
) -> None:
    keys = [url("linkedin.com/in/ada")]
    won = await alice.claim(keys, "candidates")
    team.sql(
        "UPDATE cats_companion.person_claims SET lease_until = now() + interval '2 seconds'"
        " WHERE claim_id = $1",
        won.claim.claim_id,
    )

    renewed = await alice.renew(won.claim)
    lost = await bob.claim(keys, "candidates")

    assert renewed.lease_until > team.fetch("SELECT now() + interval '60 seconds' AS t")[0]["t"]
    assert not lost.won and lost.claim.claim_id == won.claim.claim_id


async def test_recording_a_created_claim_is_final(alice: PersonClaims) -> None:
    won = await alice.claim([url("linkedin.com/in/ada")], "candidates")
    await alice.record_created(won.claim, 5)

    assert await alice.record_created(won.claim, 5) is True
    with pytest.raises(TeamError, match="already created with CATS id 5"):
        await alice.record_created(won.claim, 6)
    with pytest.raises(TeamError, match="is not abandoned"):
        await alice.abandon(won.claim)


async def test_what_the_creator_wrote_is_read_back_by_a_teammate_with_the_cats_id(
    alice: PersonClaims, bob: PersonClaims
) -> None:
    won = await alice.claim([url("linkedin.com/in/ada")], "candidates")
    await alice.record_created(won.claim, 5, {"first_name": "0a1b", "title": "2c3d"})

    lost = await bob.claim([url("linkedin.com/in/ada")], "candidates")

    assert not lost.won and lost.claim.cats_id == 5
    assert lost.claim.written == {"first_name": "0a1b", "title": "2c3d"}
    assert (await bob.get(won.claim.claim_id)) == lost.claim


async def test_what_the_creator_wrote_is_no_longer_read_an_hour_after_the_create(
    team: Team, alice: PersonClaims, bob: PersonClaims
) -> None:
    won = await alice.claim([url("linkedin.com/in/ada")], "candidates")
    await alice.record_created(won.claim, 5, {"first_name": "0a1b"})
    # An hour passing: the trigger stamps every update with now(), so the test's superuser skips it.
    team.sql("ALTER TABLE cats_companion.person_claims DISABLE TRIGGER person_claim_check")
    team.sql(
        "UPDATE cats_companion.person_claims SET updated_at = now() - interval '61 minutes'"
        " WHERE claim_id = $1",
        won.claim.claim_id,
    )
    team.sql("ALTER TABLE cats_companion.person_claims ENABLE TRIGGER person_claim_check")

    lost = await bob.claim([url("linkedin.com/in/ada")], "candidates")

    assert lost.claim.cats_id == 5 and lost.claim.written is None


async def test_what_a_create_wrote_is_recorded_once_and_never_changed(
    alice: PersonClaims, bob_sql: asyncpg.Connection, team: Team
) -> None:
    won = await alice.claim([url("linkedin.com/in/ada")], "candidates")
    await alice.record_created(won.claim, 5, {"first_name": "0a1b"})
    # Recording the same id again (a retry) keeps the first fingerprint.
    await alice.record_created(won.claim, 5, {"first_name": "ffff"})
    assert (await alice.get(won.claim.claim_id)).written == {"first_name": "0a1b"}  # type: ignore[union-attr]

    # Even its own member cannot rewrite it afterwards, whatever client it uses.
    alice_sql = await asyncpg.connect(
        team.db.server.dsn(team.alice, team.db.database), password=MEMBER_PASSWORD
    )
    try:
        with pytest.raises(asyncpg.CheckViolationError, match="written with its CATS id, once"):
            await alice_sql.execute(
                "UPDATE cats_companion.person_claims SET written = '{}'::jsonb WHERE claim_id = $1",
                won.claim.claim_id,
            )
    finally:
        await alice_sql.close(timeout=5)
    # And another member's UPDATE does not even see the row.
    status = await bob_sql.execute(
        "UPDATE cats_companion.person_claims SET written = '{}'::jsonb WHERE claim_id = $1",
        won.claim.claim_id,
    )
    assert status == "UPDATE 0"
    assert [row["written"] for row in team.fetch("SELECT written FROM cats_companion.person_claims")] == [
        '{"first_name": "0a1b"}'
    ]


# --- what a member may do --------------------------------------------------------------------------


async def test_a_member_cannot_record_a_cats_id_on_another_members_claim(
    team: Team, alice: PersonClaims, bob: PersonClaims, bob_sql: asyncpg.Connection
) -> None:
    won = await alice.claim([url("linkedin.com/in/ada")], "candidates")

    with pytest.raises(TeamPrivilegeError, match="may not change it"):
        await bob.record_created(won.claim, 13)
    # Straight through asyncpg: row-level security hides Alice's claim from Bob's UPDATE.
    status = await bob_sql.execute(
        "UPDATE cats_companion.person_claims SET state = 'created', cats_id = 13 WHERE claim_id = $1",
        won.claim.claim_id,
    )

    assert status == "UPDATE 0"
    row = team.fetch("SELECT state, cats_id FROM cats_companion.person_claims")[0]
    assert (row["state"], row["cats_id"]) == ("claimed", None)


@pytest.mark.parametrize(
    "statement",
    [
        # In another member's name: the insert policy's WITH CHECK.
        "INSERT INTO cats_companion.person_claims (record_type, claimed_by, lease_until)"
        " VALUES ('candidates', $1, now() + interval '1 minute')",
        # Who claimed is out of reach of UPDATE (column grant), and so are the claim's times.
        "UPDATE cats_companion.person_claims SET claimed_by = $1",
        "UPDATE cats_companion.person_claims SET claimed_at = now() - interval '1 day' WHERE $1 <> ''",
        "DELETE FROM cats_companion.person_claims WHERE claimed_by = $1",
        "TRUNCATE cats_companion.person_claim_keys, cats_companion.person_claims",
    ],
)
async def test_postgresql_refuses_a_member_writing_claims_in_another_members_name(
    team: Team, alice: PersonClaims, bob_sql: asyncpg.Connection, statement: str
) -> None:
    await alice.claim([url("linkedin.com/in/ada")], "candidates")

    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await bob_sql.execute(statement, *([team.alice] if "$1" in statement else []))

    rows = team.fetch("SELECT claimed_by, state FROM cats_companion.person_claims")
    assert [(row["claimed_by"], row["state"]) for row in rows] == [(team.alice, "claimed")]


async def test_a_member_cannot_free_or_steal_the_keys_of_a_live_claim(
    team: Team, alice: PersonClaims, bob_sql: asyncpg.Connection
) -> None:
    won = await alice.claim([url("linkedin.com/in/ada")], "candidates")

    deleted = await bob_sql.execute("DELETE FROM cats_companion.person_claim_keys")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await bob_sql.execute(
            "UPDATE cats_companion.person_claim_keys SET claim_id = claim_id WHERE claim_id = $1",
            won.claim.claim_id,
        )

    assert deleted == "DELETE 0"
    assert (
        team.fetch("SELECT claim_id FROM cats_companion.person_claim_keys")[0]["claim_id"]
        == won.claim.claim_id
    )


async def test_the_admin_can_do_everything_but_fake_a_claims_history(team: Team, alice: PersonClaims) -> None:
    won = await alice.claim([url("linkedin.com/in/ada")], "candidates")
    async with claims_of(team, team.db.admin) as admin_claims:
        lost = await admin_claims.claim([url("linkedin.com/in/ada")], "candidates")
        own = await admin_claims.claim([url("linkedin.com/in/admins-own")], "contacts")
    conn = await asyncpg.connect(team.db.server.dsn(team.db.admin, team.db.database), password=ADMIN_PASSWORD)
    try:
        abandoned = await conn.execute(
            "UPDATE cats_companion.person_claims SET state = 'abandoned' WHERE claim_id = $1",
            won.claim.claim_id,
        )
        with pytest.raises(asyncpg.CheckViolationError, match="never change"):
            await conn.execute(
                "UPDATE cats_companion.person_claims SET claimed_by = 'someone' WHERE claim_id = $1",
                won.claim.claim_id,
            )
        freed = await conn.execute("DELETE FROM cats_companion.person_claim_keys")
    finally:
        await conn.close(timeout=5)

    assert not lost.won and own.won and own.claim.claimed_by == team.db.admin
    assert (abandoned, freed) == ("UPDATE 1", "DELETE 2")


# --- failures --------------------------------------------------------------------------------------


async def test_a_lost_connection_is_a_team_error_without_the_password(
    team: Team, alice: PersonClaims
) -> None:
    team.sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND datname = $2",
        team.alice,
        team.db.database,
    )

    with pytest.raises(TeamUnavailableError) as failed:
        await alice.claim([url("linkedin.com/in/ada")], "candidates")

    assert MEMBER_PASSWORD not in failed.value.message and failed.value.__cause__ is None


async def test_a_member_cannot_attach_a_key_to_a_dead_claim(
    team: Team, alice: PersonClaims, bob_sql: asyncpg.Connection
) -> None:
    won = await alice.claim([url("linkedin.com/in/ada")], "candidates")
    await alice.abandon(won.claim)

    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await bob_sql.execute(
            "INSERT INTO cats_companion.person_claim_keys (record_type, key, claim_id)"
            " VALUES ('candidates', 'email:ada@example.com', $1)",
            won.claim.claim_id,
        )

    assert team.fetch("SELECT count(*) AS n FROM cats_companion.person_claim_keys")[0]["n"] == 0


async def test_waiting_on_a_claim_already_created_returns_its_cats_id_at_once(
    alice: PersonClaims, bob: PersonClaims
) -> None:
    won = await alice.claim([email("ada@example.com")], "contacts")
    await alice.record_created(won.claim, 31)
    lost = await bob.claim([email("ada@example.com")], "contacts")

    started = time.monotonic()
    assert await bob.wait_for_cats_id(lost.claim, 5.0) == 31
    assert time.monotonic() - started < 1.0 and lost.claim.cats_id == 31
