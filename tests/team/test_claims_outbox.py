"""Each person created once across the team: the outbox worker claims a person before creating them.

Real companions (companion.app.Companion, their outbox workers running) on the real PostgreSQL
cluster and one CATS sandbox over HTTP, which counts the requests: two members pushing the same
people at once, the loser waiting for the winner's record and merging into it without a create,
a claim left by a crash resumed, the database unreachable (the create goes ahead, flagged), a push
accepted offline claimed on reconnecting, a claim abandoned after CATS refused the create.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from yarl import URL

from companion import cli, paths
from companion.app import ClientFactory, Companion, CompanionConfig
from companion.cats.client import CatsClient
from companion.keystore import KeyringKeyStore
from companion.rules.claim_keys import person_claim_keys
from companion.rules.person import Person
from companion.secret import ApiKey, DatabasePassword
from companion.services.campaigns import CampaignCreate
from companion.services.events import Subscription
from companion.services.push import EventRequest, PushRequest
from companion.store import open_database
from companion.store.db import DB_FILE_NAME
from companion.store.outbox import Outbox, OutboxItem, SyncLog
from companion.team import admin, local
from companion.team.claims import PersonClaims
from companion.team.claims_link import ClaimsTuning
from companion.team.connection import connect
from tests.fixtures.sandbox import SandboxFactory
from tests.services.pushenv import Unpluggable, candidates_named
from tests.team.conftest import MEMBER_PASSWORD, TeamDb
from tests.team.test_shared_cache import Team, until

#: Short bounds, so a test of the database going away does not wait the daemon's seconds.
QUICK_CLAIMS = ClaimsTuning(connect_timeout=2.0, operation_timeout=3.0, retry_after=0.3)


@pytest.fixture
async def team(team_db: TeamDb, sandbox_factory: SandboxFactory, tmp_path: Path) -> AsyncIterator[Team]:
    # No rate limit and two seeded companies: the request counts are exact and the syncs short.
    cats = await sandbox_factory(seed=2, seed_random=3, rate_limit=0)
    world = Team(team_db, cats, tmp_path)
    await admin.init_team(team_db.dsn(), team_db.admin_password, world.site, companion_version="test")
    yield world
    for opened in reversed(world.opened):
        await opened.close()


async def member(
    team: Team, name: str, *, send: bool = True, client_factory: ClientFactory | None = None
) -> Companion:
    """`name`'s companion in the team, its outbox worker sending unless `send` is False."""
    if name not in team.members:
        await team.add(name)
    return await team.companion(
        name, client_factory=client_factory, send_outbox=send, team_claims_tuning=QUICK_CLAIMS
    )


def person(first: str, last: str, linkedin: str, **changes: Any) -> Person:
    data: dict[str, Any] = {
        "first_name": first,
        "last_name": last,
        "title": "Data Engineer",
        "current_company": "Analytical Engines",
        "linkedin": linkedin,
        "source": "Companion",
    }
    data.update(changes)
    return Person.model_validate(data)


def ada(linkedin: str = "https://www.linkedin.com/in/ada-lovelace", **changes: Any) -> Person:
    return person("Ada", "Lovelace", linkedin, **changes)


def candidates(team: Team, first: str, last: str) -> list[dict[str, Any]]:
    return candidates_named(team.cats, first, last)


def notes_on(team: Team, cats_id: int) -> list[str]:
    return sorted(
        str(a["notes"]) for a in team.cats.store.list_record_activities("candidates", cats_id, 1, 100).items
    )


async def creates(team: Team) -> int:
    requests: dict[str, int] = (await team.cats.control.counters())["requests"]
    return requests.get("POST /v3/candidates", 0)


async def creates_are(team: Team, count: int) -> bool:
    return await creates(team) == count


async def requests_of(team: Team) -> dict[str, int]:
    counted: dict[str, int] = (await team.cats.control.counters())["requests"]
    return counted


async def items(companion: Companion) -> list[OutboxItem]:
    return await companion.push.outbox.items()


async def record_item(companion: Companion) -> OutboxItem:
    [item] = [item for item in await items(companion) if item.kind == "record"]
    return item


async def all_synced(companion: Companion, count: int) -> bool:
    return await companion.push.outbox.counts() == {"synced": count}


def claims_in(team: Team) -> list[tuple[str, str, int | None]]:
    """Every claim in the team database: (member, state, CATS id), oldest first."""
    rows = team.db.server.fetch(
        "SELECT claimed_by, state, cats_id FROM cats_companion.person_claims ORDER BY claim_id",
        database=team.db.database,
    )
    return [(str(row[0]), str(row[1]), row[2]) for row in rows]


async def campaign(companion: Companion) -> int:
    """A campaign that syncs its members as soon as they are added."""
    view = await companion.push.campaigns.create(CampaignCreate(name="Q3 data", sync_trigger="on_add"))
    return view.id


async def added_and_emailed(companion: Companion, campaign_id: int, who: Person, text: str) -> None:
    """`who` added to the campaign and an email sent to them: a record item and a note item."""
    base = {"campaign_id": campaign_id, "person": who.model_dump()}
    await companion.push.record_event(EventRequest.model_validate({**base, "type": "added"}))
    sent = {**base, "type": "outreach", "outreach": "email_sent", "text": text}
    await companion.push.record_event(EventRequest.model_validate(sent))


async def test_two_members_pushing_the_same_people_at_once_by_other_urls_create_each_once_with_every_note(
    team: Team,
) -> None:
    people = [
        ("Ada", "Lovelace", "ada-lovelace"),
        ("Grace", "Hopper", "grace-hopper"),
        ("Alan", "Turing", "alan-turing"),
    ]
    alice = await member(team, "alice", send=False)
    bob = await member(team, "bob", send=False)
    alice_campaign, bob_campaign = await campaign(alice), await campaign(bob)
    for first, last, slug in people:
        plain = person(first, last, f"https://www.linkedin.com/in/{slug}")
        await added_and_emailed(alice, alice_campaign, plain, f"Alice wrote to {first}")
        # The same member page as a country subdomain, capitals and a tracking query.
        spelled = person(first, last, f"https://uk.linkedin.com/in/{slug.upper()}/?trk=public")
        await added_and_emailed(bob, bob_campaign, spelled, f"Bob wrote to {first}")
    # Both workers at the same moment: each person is claimed by both members at once.
    alice.outbox.start()
    bob.outbox.start()
    await until(lambda: all_synced(alice, 6), "alice's pushes synced", bound=60)
    await until(lambda: all_synced(bob, 6), "bob's pushes synced", bound=60)

    assert await creates(team) == len(people)
    for first, last, _ in people:
        [record] = candidates(team, first, last)
        assert notes_on(team, record["id"]) == sorted(
            [
                f"Email sent (campaign: Q3 data): Alice wrote to {first}",
                f"Email sent (campaign: Q3 data): Bob wrote to {first}",
            ]
        )
    records = [item for c in (alice, bob) for item in await items(c) if item.kind == "record"]
    assert sorted(item.team_claim or "" for item in records) == ["claimed"] * 3 + ["teammate"] * 3
    assert [state for _, state, _ in claims_in(team)] == ["created"] * 3


async def test_the_member_that_loses_the_claim_waits_then_merges_into_the_winners_record_without_a_create(
    team: Team,
) -> None:
    alice = await member(team, "alice")
    bob = await member(team, "bob")
    # Alice's create is slow: Bob's push comes while her claim is live and her record not yet in CATS.
    await team.cats.control.set_faults(
        script=[{"kind": "slow", "method": "POST", "path": "/v3/candidates"}], slow_seconds=1.5
    )
    await alice.push.push(PushRequest(person=ada(title="Data Engineer")))
    await until(lambda: claimed(alice), "alice claimed Ada and is creating her")
    # Her create reached CATS (the sandbox counts a request on arrival) and is answered slowly.
    await until(lambda: creates_are(team, 1), "alice's create reached CATS")
    before = await requests_of(team)
    await bob.push.push(
        PushRequest(
            person=ada(
                "https://de.linkedin.com/in/Ada-Lovelace/", title="Chief Analyst", phones=["+44 20 7946 0000"]
            )
        )
    )
    await until(lambda: all_synced(alice, 1), "alice's record created")
    await until(lambda: all_synced(bob, 1), "bob's push merged")

    [record] = candidates(team, "Ada", "Lovelace")
    won, lost = await record_item(alice), await record_item(bob)
    assert (won.team_claim, won.cats_id) == ("claimed", record["id"])
    assert (lost.team_claim, lost.cats_id) == ("teammate", record["id"])
    assert record["title"] == "Chief Analyst"  # Bob's value, merged by the usual rules
    after = await requests_of(team)
    spent = {path: n - before.get(path, 0) for path, n in after.items() if n != before.get(path, 0)}
    # Bob's GET and PUT (and his phone); Bob never sent a create.
    assert "POST /v3/candidates" not in spent and await creates(team) == 1
    assert spent.get("GET /v3/candidates/{id}") == 1 and spent.get("PUT /v3/candidates/{id}") == 1
    entries = await SyncLog(bob.db).entries()
    assert [e.action for e in reversed(entries)][:2] == ["wait for teammate", "updated"]
    assert claims_in(team) == [(team.members["alice"], "created", record["id"])]


async def test_a_teammate_pushing_the_same_details_joins_the_record_without_reading_it_back(
    team: Team,
) -> None:
    alice = await member(team, "alice")
    bob = await member(team, "bob")
    alice_campaign, bob_campaign = await campaign(alice), await campaign(bob)
    await added_and_emailed(alice, alice_campaign, ada(), "Alice wrote to Ada")
    await until(lambda: all_synced(alice, 2), "alice's pushes synced")
    before = await requests_of(team)

    # The same profile in Bob's browser: another spelling of the URL, the same details.
    await added_and_emailed(
        bob, bob_campaign, ada("https://uk.linkedin.com/in/ada-lovelace/?trk=public"), "Bob wrote to Ada"
    )
    await until(lambda: all_synced(bob, 2), "bob's pushes synced")

    after = await requests_of(team)
    spent = {path: n - before.get(path, 0) for path, n in after.items() if n != before.get(path, 0)}
    # Only Bob's note: no create, and neither the GET nor a PUT of a merge that could change nothing.
    assert spent == {"POST /v3/candidates/{id}/activities": 1}
    [record] = candidates(team, "Ada", "Lovelace")
    assert notes_on(team, record["id"]) == [
        "Email sent (campaign: Q3 data): Alice wrote to Ada",
        "Email sent (campaign: Q3 data): Bob wrote to Ada",
    ]
    joined = await record_item(bob)
    assert (joined.team_claim, joined.cats_id) == ("teammate", record["id"])
    [entry] = [e for e in await SyncLog(bob.db).entries() if e.action == "unchanged"]
    assert "same details" in (entry.message or "")


async def drained(subscription: Subscription) -> list[dict[str, Any]]:
    """The events queued on `subscription` so far."""
    found = []
    while True:
        try:
            async with asyncio.timeout(0.2):
                encoded = await subscription.next()
        except TimeoutError:
            return found
        if encoded is None:
            return found
        found.append(json.loads(encoded))


async def claimed(companion: Companion) -> bool:
    found = [item for item in await items(companion) if item.kind == "record"]
    return bool(found) and found[0].team_claim == "claimed" and found[0].in_flight == "create"


async def test_a_claim_left_by_a_crash_between_its_commit_and_the_items_is_resumed_not_waited_on(
    team: Team,
) -> None:
    role = await team.add("alice")
    # The worker claimed Ada and stopped before its item recorded the claim.
    async with connect(team.db.dsn(role), DatabasePassword(MEMBER_PASSWORD)) as conn:
        left = await PersonClaims(conn, team.db.dsn(role)).claim(person_claim_keys(ada()), "candidates")
    assert left.won
    alice = await member(team, "alice")
    await alice.push.push(PushRequest(person=ada()))
    await until(lambda: all_synced(alice, 1), "alice's record created")

    [record] = candidates(team, "Ada", "Lovelace")
    item = await record_item(alice)
    assert (item.team_claim, item.team_claim_id, item.cats_id) == (
        "claimed",
        left.claim.claim_id,
        record["id"],
    )
    assert claims_in(team) == [(role, "created", record["id"])]
    assert "wait for teammate" not in [e.action for e in await SyncLog(alice.db).entries()]
    assert await creates(team) == 1


async def test_with_the_team_database_unreachable_the_create_goes_ahead_and_the_item_says_so(
    team: Team,
) -> None:
    server, database = team.db.server, team.db.database
    alice = await member(team, "alice")
    server.sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
    try:
        server.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", database)
        with alice.events.subscribe() as subscription:
            await alice.push.push(PushRequest(person=ada()))
            await until(lambda: all_synced(alice, 1), "alice's record created without the team", bound=30)
            claims_status = alice.status()["team"]["claims"]  # type: ignore[index]
            published = [
                event["data"] for event in await drained(subscription) if event["event"] == "push.state"
            ]
    finally:
        server.sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
    [record] = candidates(team, "Ada", "Lovelace")
    item = await record_item(alice)
    assert (item.status, item.cats_id, item.team_claim) == ("synced", record["id"], "unavailable")
    assert item.public()["team_claim"] == "unavailable"
    # The card learns it from the item's push.state events.
    assert (published[-1]["status"], published[-1]["team_claim"]) == ("synced", "unavailable")
    assert MEMBER_PASSWORD not in str(item.public())
    assert claims_in(team) == []
    # The status said the claims were unavailable, and why, while the database refused connections.
    assert claims_status["state"] == "offline" and claims_status["reason"]
    assert MEMBER_PASSWORD not in str(claims_status)


async def test_a_push_accepted_offline_is_claimed_when_the_companion_reconnects(team: Team) -> None:
    server, database = team.db.server, team.db.database
    # Alice's CATS goes through a link that can be unplugged (her laptop offline).
    link = Unpluggable(URL(team.cats.url).port or 0)
    await link.plug()

    def offline_able(_url: str, key: ApiKey) -> CatsClient:
        return CatsClient(link.url, key, timeout=5.0)

    alice = await member(team, "alice", client_factory=offline_able)
    await link.unplug()
    server.sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
    try:
        server.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", database)
        await alice.push.push(PushRequest(person=ada()))
        await until(lambda: waits_for_network(alice), "alice's push waits for the network")
    finally:
        server.sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        await link.plug()
    await until(lambda: all_synced(alice, 1), "alice's push sent once back online", bound=60)

    [record] = candidates(team, "Ada", "Lovelace")
    item = await record_item(alice)
    assert (item.team_claim, item.cats_id) == ("claimed", record["id"])
    assert claims_in(team) == [(team.members["alice"], "created", record["id"])]
    # A teammate pushing her later joins that record: the claim holds its CATS id.
    bob = await member(team, "bob")
    await bob.push.push(PushRequest(person=ada("https://linkedin.com/in/ada-lovelace?trk=x")))
    await until(lambda: all_synced(bob, 1), "bob's push merged")
    assert (await record_item(bob)).cats_id == record["id"]
    assert await creates(team) == 1


async def waits_for_network(companion: Companion) -> bool:
    found = await items(companion)
    return bool(found) and found[0].status == "waiting" and found[0].wait_reason == "network"


async def test_a_claim_abandoned_after_cats_refused_the_create_lets_the_waiting_member_create(
    team: Team,
) -> None:
    alice = await member(team, "alice")
    bob = await member(team, "bob")
    # Alice's settings name an owner CATS does not know: her create is refused for good.
    alice.settings.patch({"sync.candidates.default_owner_id": 99_999})
    await team.cats.control.set_faults(
        script=[{"kind": "slow", "method": "POST", "path": "/v3/candidates"}], slow_seconds=1.5
    )
    await alice.push.push(PushRequest(person=ada()))
    await until(lambda: claimed(alice), "alice claimed Ada")
    await bob.push.push(PushRequest(person=ada("https://m.linkedin.com/in/ada-lovelace/details/skills/")))
    await until(lambda: bob_waits(bob), "bob waits for alice's claim")
    # The status says so while it lasts (the settings window and the tray show it).
    await until(lambda: claims_status_is(bob, waiting_for_teammate=1, state="connected"), "bob's status")
    await until(lambda: all_synced(bob, 1), "bob created Ada once alice gave up")
    await until(lambda: claims_status_is(bob, waiting_for_teammate=0), "bob's status once created")

    failed = await record_item(alice)
    assert (failed.status, failed.error_code) == ("failed", "cats.validation")
    [record] = candidates(team, "Ada", "Lovelace")
    assert (await record_item(bob)).team_claim == "claimed"
    assert claims_in(team) == [
        (team.members["alice"], "abandoned", None),
        (team.members["bob"], "created", record["id"]),
    ]
    assert await creates(team) == 2  # alice's refused attempt, bob's create


async def claims_status_is(companion: Companion, **expected: object) -> bool:
    """`status.team.claims` has these values now."""
    claims = companion.status()["team"]["claims"]  # type: ignore[index]
    return all(claims[key] == value for key, value in expected.items())


async def bob_waits(companion: Companion) -> bool:
    found = await items(companion)
    return bool(found) and found[0].team_claim == "waiting"


async def test_a_companion_without_a_team_creates_as_before_and_its_items_carry_no_claim(team: Team) -> None:
    solo = await team.companion("solo", send_outbox=True)  # never added: no team.json
    await solo.push.push(PushRequest(person=ada()))
    await until(lambda: all_synced(solo, 1), "created")
    assert (await record_item(solo)).public()["team_claim"] is None
    assert solo.team_claims is None


async def test_with_do_not_merge_a_member_joins_a_teammates_record_as_it_is_and_only_adds_its_note(
    team: Team,
) -> None:
    alice = await member(team, "alice")
    await alice.push.push(PushRequest(person=ada(title="Data Engineer")))
    await until(lambda: all_synced(alice, 1), "alice created Ada")
    [record] = candidates(team, "Ada", "Lovelace")
    bob = await member(team, "bob", send=False)
    bob.settings.patch({"general.do_not_merge": True})
    bobs = ada("https://www.linkedin.com/in/ADA-LOVELACE?trk=feed", title="Chief Analyst")
    await added_and_emailed(bob, await campaign(bob), bobs, "Bob wrote to Ada")
    before = await requests_of(team)
    bob.outbox.start()
    await until(lambda: all_synced(bob, 2), "bob's record and note synced")

    after = await requests_of(team)
    spent = {path: n - before.get(path, 0) for path, n in after.items() if n != before.get(path, 0)}
    # No create (a second record is the duplicate the claim prevents), no GET, no PUT: the note only.
    assert spent == {"POST /v3/candidates/{id}/activities": 1}
    [joined] = candidates(team, "Ada", "Lovelace")
    assert joined["id"] == record["id"] and joined["title"] == "Data Engineer"
    assert notes_on(team, record["id"]) == ["Email sent (campaign: Q3 data): Bob wrote to Ada"]
    item = await record_item(bob)
    assert (item.team_claim, item.cats_id) == ("teammate", record["id"])
    assert [e.action for e in await SyncLog(bob.db).entries()][-1] == "joined"


async def created_by_alice_then_deleted(team: Team) -> dict[str, Any]:
    """Ada created by Alice's companion (her claim holds the CATS id), then deleted in CATS."""
    alice = await member(team, "alice")
    await alice.push.push(PushRequest(person=ada()))
    await until(lambda: all_synced(alice, 1), "alice created Ada")
    [gone] = candidates(team, "Ada", "Lovelace")
    team.cats.store.delete_record("candidates", gone["id"])
    return gone


async def test_a_teammates_record_deleted_in_cats_is_created_again_not_joined_forever(
    team: Team,
) -> None:
    gone = await created_by_alice_then_deleted(team)
    bob = await member(team, "bob")
    # Bob's details are Alice's: he joins her record without reading it back, and his note, meeting
    # the deleted record, sends the person again.
    await added_and_emailed(bob, await campaign(bob), ada(), "Bob wrote to Ada")
    await until(lambda: all_synced(bob, 2), "bob created Ada again", bound=30)

    [again] = candidates(team, "Ada", "Lovelace")
    item = await record_item(bob)
    assert again["id"] != gone["id"]
    assert (item.team_claim, item.cats_id) == ("stale", again["id"])
    assert notes_on(team, again["id"]) == ["Email sent (campaign: Q3 data): Bob wrote to Ada"]


async def test_a_teammates_record_deleted_in_cats_is_found_out_by_a_push_with_other_details(
    team: Team,
) -> None:
    gone = await created_by_alice_then_deleted(team)
    bob = await member(team, "bob")
    # A detail Alice did not write: Bob reads her record to merge it, and finds it gone.
    await bob.push.push(PushRequest(person=ada(title="Chief Analyst")))
    await until(lambda: all_synced(bob, 1), "bob created Ada again", bound=30)

    [again] = candidates(team, "Ada", "Lovelace")
    item = await record_item(bob)
    assert again["id"] != gone["id"] and again["title"] == "Chief Analyst"
    assert (item.team_claim, item.cats_id) == ("stale", again["id"])


async def test_outbox_send_without_a_daemon_claims_too_and_joins_a_teammates_record(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    bob = await member(team, "bob")
    await bob.push.push(PushRequest(person=ada()))
    await until(lambda: all_synced(bob, 1), "bob created Ada")
    [record] = candidates(team, "Ada", "Lovelace")
    # Alice's daemon (this user's default places) queued Ada and stopped before sending.
    await team.add("alice")
    paths.config_dir().mkdir(parents=True, exist_ok=True)
    shutil.copy(team.root / "alice" / "config" / local.TEAM_FILE, paths.config_dir() / local.TEAM_FILE)
    alice = await Companion.open(
        CompanionConfig(cats_base_url=team.cats.url, send_outbox=False, check_connection=False),
        key=team.cats.key,
    )
    team.opened.append(alice)
    await alice.push.push(PushRequest(person=ada("https://uk.linkedin.com/in/ada-lovelace/")))
    await alice.close()
    KeyringKeyStore().set(team.cats.url, team.cats.key)

    status = await asyncio.to_thread(cli.main, ["outbox", "send", "--cats-url", team.cats.url, "--json"])
    assert status == 0, capsys.readouterr().err
    db = await open_database(paths.data_dir() / DB_FILE_NAME)
    try:
        [item] = await Outbox(db).items()
    finally:
        await db.close()
    assert (item.status, item.team_claim, item.cats_id) == ("synced", "teammate", record["id"])
    assert await creates(team) == 1


async def test_an_uncertain_create_keeps_its_claim_until_adopted_and_the_waiting_member_joins_that_record(
    team: Team,
) -> None:
    alice = await member(team, "alice")
    bob = await member(team, "bob")
    # Alice's create is carried out by CATS, and the connection drops before she hears so.
    await team.cats.control.set_faults(
        script=[{"kind": "reset_after", "method": "POST", "path": "/v3/candidates"}]
    )
    await alice.push.push(PushRequest(person=ada()))
    await until(lambda: uncertain(alice), "alice's create is uncertain")
    await bob.push.push(PushRequest(person=ada("https://www.linkedin.com/in/ada-lovelace/?trk=people")))
    await until(lambda: all_synced(alice, 1), "alice adopted her record")
    await until(lambda: all_synced(bob, 1), "bob joined it")

    [record] = candidates(team, "Ada", "Lovelace")
    adopted, joined = await record_item(alice), await record_item(bob)
    assert (adopted.team_claim, adopted.cats_id) == ("claimed", record["id"])
    assert (joined.team_claim, joined.cats_id) == ("teammate", record["id"])
    [latest, *_] = await SyncLog(alice.db).entries()
    assert latest.action == "adopted"
    assert claims_in(team) == [(team.members["alice"], "created", record["id"])]
    assert await creates(team) == 1


async def uncertain(companion: Companion) -> bool:
    found = await items(companion)
    return bool(found) and found[0].status == "waiting" and found[0].in_flight == "create"


async def test_three_members_pushing_eight_people_at_once_create_each_once_and_lose_no_note(
    team: Team,
) -> None:
    names = [("Ada", "Lovelace"), ("Grace", "Hopper"), ("Alan", "Turing"), ("Edsger", "Dijkstra")]
    names += [("Barbara", "Liskov"), ("Donald", "Knuth"), ("Frances", "Allen"), ("John", "Backus")]
    spellings = [
        "https://www.linkedin.com/in/{slug}",
        "https://uk.linkedin.com/in/{slug}/?trk=public_profile",
        "https://m.linkedin.com/in/{slug}/details/experience/",
    ]
    members = [await member(team, who, send=False) for who in ("alice", "bob", "carol")]
    for companion, spelling in zip(members, spellings, strict=True):
        campaign_id = await campaign(companion)
        role = companion.team.record.role if companion.team else ""
        # Each member in another order, so every member wins some people and waits for others.
        order = names[members.index(companion) :] + names[: members.index(companion)]
        for first, last in order:
            slug = f"{first}-{last}".lower()
            who = person(first, last, spelling.format(slug=slug))
            await added_and_emailed(companion, campaign_id, who, f"{role} wrote to {first}")
    for companion in members:
        companion.outbox.start()
    for companion in members:
        await until(lambda c=companion: all_synced(c, 2 * len(names)), "every push synced", bound=90)

    assert await creates(team) == len(names)
    for first, last in names:
        [record] = candidates(team, first, last)
        assert len(notes_on(team, record["id"])) == len(members)
    assert [state for _, state, _ in claims_in(team)] == ["created"] * len(names)
    waits = [e for c in members for e in await SyncLog(c.db).entries() if e.action == "wait for teammate"]
    print(
        f"\n{len(names)} people pushed by {len(members)} members at once: {await creates(team)} creates, "
        f"{len(waits)} waits for a teammate"
    )
