"""The outbox and sync-log repository on a real SQLite file: states, ordering, the one-note-per-event rule,
recovery of items a stopped worker was sending."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from companion.store import Database
from companion.store.outbox import Outbox, SyncLog
from companion.store.people import PeopleStore

NOW = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def outbox(db: Database) -> Outbox:
    return Outbox(db)


async def person(db: Database) -> int:
    async with db.transaction() as conn:
        return await PeopleStore(db).upsert_person(
            conn, identity_key="email:a@x.example", display_name="A", data={}, now=NOW
        )


async def enqueue(db: Database, outbox: Outbox, person_id: int, kind: str = "record", **extra: object) -> int:
    async with db.transaction() as conn:
        return await outbox.enqueue(
            conn,
            person_id=person_id,
            person_key="email:a@x.example",
            kind=kind,  # type: ignore[arg-type]
            record_type="candidates",
            priority="background",
            payload={"company_id": None},
            now=NOW,
            **extra,  # type: ignore[arg-type]
        )


async def test_an_item_is_queued_with_its_payload_and_its_public_form_says_what_to_follow(
    db: Database, outbox: Outbox
) -> None:
    item_id = await enqueue(db, outbox, await person(db))
    item = await outbox.get(item_id)
    assert item is not None
    assert (item.status, item.kind, item.payload, item.attempts) == (
        "queued",
        "record",
        {"company_id": None},
        0,
    )
    public = item.public()
    assert public["status"] == "queued" and public["waiting_for"] is None and public["error"] is None
    assert public["summary"] == "candidate record"


async def test_waiting_and_failed_states_carry_their_reason_and_time(db: Database, outbox: Outbox) -> None:
    item_id = await enqueue(db, outbox, await person(db))
    until = NOW + timedelta(seconds=30)
    async with db.transaction() as conn:
        await outbox.update(
            conn,
            item_id,
            now=NOW,
            status="waiting",
            wait_reason="rate",
            not_before=until,
            error_code="cats.rate_limited",
        )
    waiting = await outbox.get(item_id)
    assert waiting is not None and waiting.public()["waiting_for"] == "rate"
    assert waiting.public()["not_before"] == until.isoformat()
    async with db.transaction() as conn:
        await outbox.update(
            conn, item_id, now=NOW, status="failed", error_code="cats.validation", error_message="No."
        )
    failed = await outbox.get(item_id)
    assert failed is not None and failed.public()["error"] == {"code": "cats.validation", "message": "No."}
    with pytest.raises(ValueError, match="not outbox columns"):
        async with db.transaction() as conn:
            await outbox.update(conn, item_id, now=NOW, person_id=3)


async def test_an_event_becomes_at_most_one_live_note_on_a_record(db: Database, outbox: Outbox) -> None:
    person_id = await person(db)
    first = await enqueue(db, outbox, person_id, kind="note", event_id="e1")
    with pytest.raises(sqlite3.IntegrityError):
        await enqueue(db, outbox, person_id, kind="note", event_id="e1")
    assert await outbox.noted_events(person_id, "candidates") == {"e1"}
    async with db.transaction() as conn:
        await outbox.update(conn, first, now=NOW, status="cancelled")
    assert await outbox.noted_events(person_id, "candidates") == set()
    await enqueue(db, outbox, person_id, kind="note", event_id="e1")  # a cancelled note frees its event


async def test_items_list_newest_first_filtered_and_pending_lists_oldest_first(
    db: Database, outbox: Outbox
) -> None:
    person_id = await person(db)
    ids = [await enqueue(db, outbox, person_id) for _ in range(4)]
    async with db.transaction() as conn:
        await outbox.update(conn, ids[1], now=NOW, status="synced", cats_id=5)
        await outbox.update(conn, ids[2], now=NOW, status="failed")
    assert [i.id for i in await outbox.items()] == ids[::-1]
    assert [i.id for i in await outbox.items(statuses=["failed", "synced"])] == [ids[2], ids[1]]
    assert [i.id for i in await outbox.items(limit=2, before_id=ids[3])] == [ids[2], ids[1]]
    assert [i.id for i in await outbox.pending()] == [ids[0], ids[3]]
    assert await outbox.counts() == {"queued": 2, "synced": 1, "failed": 1}
    assert await outbox.has_live_record_item(person_id, "candidates")
    assert not await outbox.has_live_record_item(person_id, "contacts")


async def test_items_a_stopped_worker_was_sending_are_queued_again_and_stay_in_flight(
    db: Database, outbox: Outbox
) -> None:
    item_id = await enqueue(db, outbox, await person(db))
    async with db.transaction() as conn:
        await outbox.update(conn, item_id, now=NOW, status="sending", in_flight="create", attempt_at=NOW)
    async with db.transaction() as conn:
        assert await outbox.recover_interrupted(conn, now=NOW) == 1
    item = await outbox.get(item_id)
    assert item is not None and (item.status, item.in_flight, item.attempt_at) == ("queued", "create", NOW)


async def test_the_sync_log_keeps_what_was_sent_and_what_changed_newest_first(
    db: Database, outbox: Outbox
) -> None:
    item_id = await enqueue(db, outbox, await person(db))
    item = await outbox.get(item_id)
    log = SyncLog(db)
    async with db.transaction() as conn:
        await log.add(
            conn, now=NOW, item=item, action="wait for rate", outcome="waiting", code="cats.rate_limited"
        )
        await log.add(
            conn,
            now=NOW,
            item=item,
            action="updated",
            outcome="ok",
            cats_id=7,
            changed_fields=["title"],
            requests=3,
        )
    newest, oldest = await log.entries(outbox_id=item_id)
    assert (newest.action, newest.changed_fields, newest.requests, newest.cats_id) == (
        "updated",
        ["title"],
        3,
        7,
    )
    assert oldest.code == "cats.rate_limited"


async def test_the_records_known_in_cats_are_listed_only_for_people_with_items_still_to_send(
    db: Database, outbox: Outbox
) -> None:
    people = PeopleStore(db)
    async with db.transaction() as conn:
        waiting, done = [
            await people.upsert_person(
                conn, identity_key=f"email:{name}@x.example", display_name=name, data={}, now=NOW
            )
            for name in ("waiting", "done")
        ]
        await people.set_record(conn, waiting, "candidates", cats_id=7, how="created", now=NOW)
        await people.set_record(conn, waiting, "contacts", cats_id=None, how=None, now=NOW)  # not in CATS yet
        await people.set_record(conn, done, "candidates", cats_id=8, how="created", now=NOW)
    await enqueue(db, outbox, waiting, kind="note")
    finished = await enqueue(db, outbox, done)
    async with db.transaction() as conn:
        await outbox.update(conn, finished, now=NOW, status="synced")
    assert await outbox.records_of_pending_people() == {(waiting, "candidates")}
