"""Campaign events through the push service and the worker, against the sandbox: sync triggers, a note per
outreach type, backfill, "only notes for synced records", manual pushes and JSON imports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from companion.errors import (
    CampaignArchivedError,
    CampaignNameTakenError,
    EventImportInvalidError,
    NotCampaignMemberError,
)
from companion.services.campaigns import CampaignChange, CampaignCreate
from companion.services.push import EventRequest, PushRequest
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle
from tests.services.pushenv import PushEnv, ada, at, make_env, settings_with


@pytest.fixture
async def env(sandbox_factory: SandboxFactory, tmp_path: Path) -> AsyncIterator[PushEnv]:
    sandbox: SandboxHandle = await sandbox_factory(seed=2, seed_random=3, rate_limit=0)
    built, close = await make_env(sandbox, tmp_path)
    yield built
    await close()


async def campaign(env: PushEnv, name: str = "Q3 data", **overrides: Any) -> int:
    view = await env.service.campaigns.create(CampaignCreate(name=name, **overrides))
    return view.id


def event(campaign_id: int, kind: str, minutes: int, **fields: Any) -> EventRequest:
    data: dict[str, Any] = {"campaign_id": campaign_id, "person": ada().model_dump(), "at": at(minutes)}
    if kind in ("added", "replied", "interested", "not_interested", "meeting_booked"):
        data["type"] = kind
    else:
        data.update(type="outreach", outreach=kind)
    data.update(fields)
    return EventRequest.model_validate(data)


def notes_in_cats(env: PushEnv) -> list[dict[str, Any]]:
    [record] = env.candidates_named("Ada", "Lovelace")
    return env.activities("candidates", record["id"])


OUTREACH_NOTES = [
    ("email_sent", "email", "Email sent"),
    ("linkedin_connection_request", "other", "LinkedIn connection request sent"),
    ("linkedin_message", "other", "LinkedIn message sent"),
    ("inmail", "other", "InMail sent"),
    ("call", "call_talked", "Call"),
    ("text_message", "text_message", "Text message sent"),
]


@pytest.mark.parametrize(("outreach", "activity_type", "label"), OUTREACH_NOTES)
async def test_each_outreach_type_becomes_a_note_of_its_activity_type_dated_when_it_happened(
    env: PushEnv, outreach: str, activity_type: str, label: str
) -> None:
    campaign_id = await campaign(env, sync_trigger="on_add")
    await env.service.record_event(event(campaign_id, "added", 0))
    accepted = await env.service.record_event(event(campaign_id, outreach, 5, text="Hi Ada"))
    assert [item["kind"] for item in accepted.items] == ["note"]
    assert await env.worker.drain() == {"synced": 2}
    [note] = notes_in_cats(env)
    assert note["type"] == activity_type
    assert note["notes"] == f"{label} (campaign: Q3 data): Hi Ada"
    assert datetime.fromisoformat(note["date"]) == at(5)


async def test_a_note_for_a_record_deleted_in_cats_creates_the_person_again_and_lands_on_the_new_record(
    env: PushEnv,
) -> None:
    campaign_id = await campaign(env, sync_trigger="on_add")
    await env.service.record_event(event(campaign_id, "added", 0))
    await env.service.record_event(event(campaign_id, "email_sent", 5, text="Hi Ada"))
    assert await env.worker.drain() == {"synced": 2}
    [gone] = env.candidates_named("Ada", "Lovelace")
    env.sandbox.store.delete_record("candidates", gone["id"])

    await env.service.record_event(event(campaign_id, "call", 10, text="Called Ada"))

    assert await env.worker.drain() == {"synced": 3}
    [again] = env.candidates_named("Ada", "Lovelace")
    assert again["id"] != gone["id"]
    assert [note["notes"] for note in notes_in_cats(env)] == ["Call (campaign: Q3 data): Called Ada"]
    record = await env.service.people.record(1, "candidates")
    assert record is not None and record.cats_id == again["id"]


async def test_a_note_rule_turned_off_makes_no_note(env: PushEnv) -> None:
    env.settings = settings_with(**{"general.notes_upon.call.create_note": False})
    campaign_id = await campaign(env, sync_trigger="on_add")
    await env.service.record_event(event(campaign_id, "added", 0))
    accepted = await env.service.record_event(event(campaign_id, "call", 5))
    assert accepted.items == []
    await env.worker.drain()
    assert notes_in_cats(env) == []


async def test_on_reply_keeps_earlier_outreach_and_backfills_it_when_the_record_is_created(
    env: PushEnv,
) -> None:
    campaign_id = await campaign(env)  # the default trigger: on_reply
    for request in (event(campaign_id, "added", 0), event(campaign_id, "email_sent", 1, text="Hello")):
        accepted = await env.service.record_event(request)
        assert accepted.items == [] and not accepted.sync
    await env.service.record_event(event(campaign_id, "linkedin_message", 2))
    assert await env.worker.drain() == {}
    assert env.candidates_named("Ada", "Lovelace") == []

    replied = await env.service.record_event(event(campaign_id, "replied", 3, text="Sounds good"))
    assert replied.sync
    assert [item["kind"] for item in replied.items] == ["record", "note", "note", "note"]
    assert await env.worker.drain() == {"synced": 4}
    notes = notes_in_cats(env)
    assert [(n["type"], datetime.fromisoformat(n["date"])) for n in notes] == [
        ("email", at(1)),
        ("other", at(2)),
        ("other", at(3)),
    ]
    assert notes[2]["notes"].startswith("Reply received") and notes[2]["notes"].endswith(": Sounds good")
    # One create, then the three notes: no search, no extra request.
    assert await env.requests() == {"POST /v3/candidates": 1, "POST /v3/candidates/{id}/activities": 3}


async def test_only_notes_for_synced_records_drops_events_from_before_the_sync(env: PushEnv) -> None:
    env.settings = settings_with(**{"sync.candidates.only_notes_for_synced": True})
    campaign_id = await campaign(env)
    await env.service.record_event(event(campaign_id, "added", 0))
    await env.service.record_event(event(campaign_id, "email_sent", 1))
    await env.service.record_event(event(campaign_id, "replied", 2))
    await env.worker.drain()
    assert [n["notes"].split(" (")[0] for n in notes_in_cats(env)] == ["Reply received"]
    await env.service.record_event(event(campaign_id, "call", 3))
    await env.worker.drain()
    assert [n["type"] for n in notes_in_cats(env)] == ["other", "call_talked"]


async def test_when_interested_waits_for_interest_and_not_interested_never_syncs(env: PushEnv) -> None:
    campaign_id = await campaign(env, sync_trigger="when_interested")
    await env.service.record_event(event(campaign_id, "added", 0))
    assert not (await env.service.record_event(event(campaign_id, "replied", 1))).sync
    assert not (await env.service.record_event(event(campaign_id, "not_interested", 2))).sync
    assert (await env.service.record_event(event(campaign_id, "meeting_booked", 3))).sync
    await env.worker.drain()
    assert len(env.candidates_named("Ada", "Lovelace")) == 1


async def test_the_same_event_sent_twice_is_recorded_once_and_noted_once(env: PushEnv) -> None:
    campaign_id = await campaign(env, sync_trigger="on_add")
    await env.service.record_event(event(campaign_id, "added", 0))
    first = await env.service.record_event(event(campaign_id, "email_sent", 1, id="tool-42"))
    again = await env.service.record_event(event(campaign_id, "email_sent", 1, id="tool-42"))
    assert first.recorded and len(first.items) == 1
    assert not again.recorded and again.items == []
    await env.worker.drain()
    assert len(notes_in_cats(env)) == 1


async def test_with_trigger_never_only_a_manual_push_syncs_and_it_backfills_kept_events(env: PushEnv) -> None:
    campaign_id = await campaign(env, sync_trigger="never")
    await env.service.record_event(event(campaign_id, "added", 0))
    await env.service.record_event(event(campaign_id, "interested", 1))
    assert await env.worker.drain() == {}
    pushed = await env.service.push(PushRequest(person=ada()))
    assert [item["kind"] for item in pushed.items] == ["record", "note"]
    assert pushed.items[0]["priority"] == "interactive"
    await env.worker.drain()
    [note] = notes_in_cats(env)
    assert note["notes"].startswith("Marked as interested")


async def test_events_for_someone_never_added_are_refused(env: PushEnv) -> None:
    campaign_id = await campaign(env)
    with pytest.raises(NotCampaignMemberError):
        await env.service.record_event(event(campaign_id, "email_sent", 1))
    assert await env.service.outbox.counts() == {}


async def test_campaigns_are_created_renamed_overridden_archived_and_listed(env: PushEnv) -> None:
    first = await campaign(env, "Data")
    with pytest.raises(CampaignNameTakenError):
        await campaign(env, "data")
    renamed = await env.service.campaigns.change(first, CampaignChange(name="Data Q3", sync_trigger="never"))
    assert (renamed.name, renamed.sync_trigger, renamed.record_type) == ("Data Q3", "never", None)
    await env.service.record_event(
        event(first, "added", 0, record_type="contacts", person=ada().model_dump())
    )
    archived = await env.service.campaigns.archive(first)
    assert archived.archived and archived.members == 1
    assert [c.name for c in await env.service.campaigns.list()] == []
    assert [c.name for c in await env.service.campaigns.list(include_archived=True)] == ["Data Q3"]
    with pytest.raises(CampaignArchivedError):
        await env.service.record_event(event(first, "email_sent", 1))
    await campaign(env, "Data Q3")  # an archived campaign frees its name


async def test_an_import_applies_every_event_in_order(env: PushEnv) -> None:
    campaign_id = await campaign(env, "Q3 data", sync_trigger="on_add")
    person = ada().model_dump(mode="json")
    document = {
        "events": [
            {"campaign": "Q3 data", "person": person, "type": "added", "at": at(0).isoformat()},
            {
                "id": "e-1",
                "campaign_id": campaign_id,
                "person": person,
                "type": "outreach",
                "outreach": "inmail",
                "at": at(1).isoformat(),
            },
        ]
    }
    result = await env.service.import_events(document)
    assert (result.events, result.recorded, result.items) == (2, 2, 2)
    await env.worker.drain()
    assert [n["notes"] for n in notes_in_cats(env)] == ["InMail sent (campaign: Q3 data)"]
    again = await env.service.import_events(document)
    assert again.already_recorded == 1 and again.items == 0


async def test_an_import_with_one_bad_entry_changes_nothing_and_names_the_entry(env: PushEnv) -> None:
    env.settings = settings_with(**{"sync.candidates.mandatory_fields": ["first_name", "last_name", "title"]})
    campaign_id = await campaign(env, sync_trigger="on_add")
    good = {"campaign_id": campaign_id, "person": ada().model_dump(mode="json"), "type": "added"}
    untitled = {
        "campaign_id": campaign_id,
        "person": ada(title=None, emails=["b@x.example"], linkedin=None, first_name="Bo").model_dump(
            mode="json"
        ),
        "type": "added",
    }
    with pytest.raises(EventImportInvalidError) as refused:
        await env.service.import_events([good, untitled])
    assert refused.value.entry == 1
    assert "push.mandatory_missing" in refused.value.message and "Title" in refused.value.message
    with pytest.raises(EventImportInvalidError) as malformed:
        await env.service.import_events([good, {"campaign_id": campaign_id, "type": "shouted"}])
    assert malformed.value.entry == 1
    assert await env.service.outbox.counts() == {}
    assert await env.service.people.person_by_key(ada().identity_key()) is None
