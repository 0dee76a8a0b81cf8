"""The campaigns/people/members/events repository on a real SQLite file (migration 0003)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from companion.store import Database
from companion.store.people import NameTakenError, PeopleStore, StoredEvent

NOW = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def people(db: Database) -> PeopleStore:
    return PeopleStore(db)


async def add_person(
    db: Database, people: PeopleStore, key: str = "email:ada@x.example", **data: object
) -> int:
    async with db.transaction() as conn:
        return await people.upsert_person(
            conn, identity_key=key, display_name="Ada", data={"first_name": "Ada", **data}, now=NOW
        )


async def test_live_campaign_names_are_unique_without_case_and_archiving_frees_them(
    db: Database, people: PeopleStore
) -> None:
    async with db.transaction() as conn:
        first = await people.create_campaign(
            conn, name="Q3 Data", sync_trigger=None, record_type=None, now=NOW
        )
    with pytest.raises(NameTakenError):
        async with db.transaction() as conn:
            await people.create_campaign(
                conn, name="q3 data", sync_trigger="never", record_type=None, now=NOW
            )
    async with db.transaction() as conn:
        await people.update_campaign(conn, first, {"archived_at": NOW}, now=NOW)
        second = await people.create_campaign(
            conn, name="q3 data", sync_trigger="on_add", record_type="contacts", now=NOW
        )
    assert [c.id for c in await people.campaigns()] == [second]
    archived = await people.campaign(first)
    assert archived is not None and archived.archived and archived.archived_at == NOW
    with pytest.raises(ValueError, match="not campaign columns"):
        async with db.transaction() as conn:
            await people.update_campaign(conn, second, {"id": 5}, now=NOW)


async def test_a_person_is_updated_by_identity_or_id_and_keeps_the_key_first_computed(
    db: Database, people: PeopleStore
) -> None:
    person_id = await add_person(db, people, title="Analyst")
    again = await add_person(db, people, title="Engineer")
    assert again == person_id
    async with db.transaction() as conn:
        same = await people.upsert_person(
            conn,
            identity_key="linkedin:linkedin.com/in/ada",
            display_name="Ada L",
            data={"first_name": "Ada", "linkedin": "https://linkedin.com/in/ada"},
            now=NOW + timedelta(minutes=1),
            person_id=person_id,
        )
    assert same == person_id
    stored = await people.person(person_id)
    assert stored is not None
    assert stored.identity_key == "email:ada@x.example"
    assert stored.display_name == "Ada L" and stored.data["linkedin"] == "https://linkedin.com/in/ada"
    assert await people.person_by_key("linkedin:linkedin.com/in/ada") is None


async def test_the_cats_record_of_each_type_is_kept_and_can_be_forgotten(
    db: Database, people: PeopleStore
) -> None:
    person_id = await add_person(db, people)
    assert await people.record(person_id, "candidates") is None
    async with db.transaction() as conn:
        await people.set_record(conn, person_id, "candidates", cats_id=700001, how="created", now=NOW)
    record = await people.record(person_id, "candidates")
    assert record is not None and (record.cats_id, record.how, record.synced_at) == (700001, "created", NOW)
    assert await people.record(person_id, "contacts") is None
    async with db.transaction() as conn:
        await people.set_record(conn, person_id, "candidates", cats_id=None, how=None, now=NOW)
    forgotten = await people.record(person_id, "candidates")
    assert forgotten is not None and forgotten.cats_id is None and forgotten.synced_at is None


async def test_members_keep_their_sync_as_and_state_and_events_are_recorded_once_in_order(
    db: Database, people: PeopleStore
) -> None:
    person_id = await add_person(db, people)
    async with db.transaction() as conn:
        campaign = await people.create_campaign(conn, name="C", sync_trigger=None, record_type=None, now=NOW)
        await people.add_member(conn, campaign, person_id, "contacts", now=NOW)
        await people.set_member_state(conn, campaign, person_id, {"replied": True})
    member = await people.member(campaign, person_id)
    assert member is not None and member.record_type == "contacts" and member.state == {"replied": True}
    assert await people.member_counts() == {campaign: 1}

    def event(event_id: str, minutes: int) -> StoredEvent:
        return StoredEvent(
            id=event_id,
            campaign_id=campaign,
            person_id=person_id,
            type="outreach",
            outreach="call",
            at=NOW + timedelta(minutes=minutes),
            text=None,
            source="cli",
            recorded_at=NOW,
        )

    async with db.transaction() as conn:
        assert await people.add_event(conn, event("b", 5))
        assert await people.add_event(conn, event("a", 1))
        assert not await people.add_event(conn, event("b", 9))
    assert [e.id for e in await people.events(campaign, person_id)] == ["b", "a"]
    recorded = await people.event("b")
    assert recorded is not None and recorded.at == NOW + timedelta(minutes=5)


async def test_display_names_are_read_for_the_people_asked_about_only(
    db: Database, people: PeopleStore
) -> None:
    ada = await add_person(db, people)
    async with db.transaction() as conn:
        grace = await people.upsert_person(
            conn, identity_key="email:grace@x.example", display_name="Grace Hopper", data={}, now=NOW
        )
    assert await people.display_names([ada, grace, 999]) == {ada: "Ada", grace: "Grace Hopper"}
    assert await people.display_names([grace]) == {grace: "Grace Hopper"}
    assert await people.display_names([]) == {}
