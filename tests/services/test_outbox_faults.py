"""The outbox worker against a misbehaving CATS (the sandbox's fault injection, an unplugged network): it
waits, resumes, adopts uncertain creates instead of repeating them, and stops on refusals until retried."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from yarl import URL

from companion.cats.retry import RetryPolicy
from companion.errors import OutboxStateError
from companion.rules.person import Person
from companion.services.activity_log import push_entries
from companion.services.campaigns import CampaignCreate
from companion.services.push import EventRequest, PushRequest
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle
from tests.services.pushenv import OWNER, PushEnv, Unpluggable, ada, at, make_env, settings_with


@pytest.fixture
async def sandbox2(sandbox_factory: SandboxFactory) -> SandboxHandle:
    return await sandbox_factory(seed=2, seed_random=3, rate_limit=0)


@pytest.fixture
async def env(sandbox2: SandboxHandle, tmp_path: Path) -> AsyncIterator[PushEnv]:
    built, close = await make_env(sandbox2, tmp_path, request_timeout=1.0)
    yield built
    await close()


def person(n: int) -> Person:
    return ada(first_name=f"Ada{n}", emails=[f"ada{n}@engines.example"], linkedin=None)


async def test_a_create_reset_after_it_landed_is_adopted_not_repeated(env: PushEnv) -> None:
    await env.sandbox.control.set_faults(
        script=[{"kind": "reset_after", "method": "POST", "path": "/v3/candidates"}]
    )
    accepted = await env.service.push(PushRequest(person=ada()))
    assert await env.worker.drain() == {"synced": 1}
    assert len(env.candidates_named("Ada", "Lovelace")) == 1
    # The create, then one search by email that finds it: never a second create.
    assert await env.requests() == {"POST /v3/candidates": 1, "POST /v3/candidates/search": 1}
    item = await env.service.item(accepted.items[0]["id"])
    assert item.in_flight is None and item.cats_id == env.candidates_named("Ada", "Lovelace")[0]["id"]
    actions = [entry.action for entry in reversed(await env.service.log.entries())]
    assert actions == ["wait for until", "adopted"]


async def test_a_create_that_hung_and_never_landed_is_looked_up_then_sent_once(env: PushEnv) -> None:
    await env.sandbox.control.set_faults(
        script=[{"kind": "hang", "method": "POST", "path": "/v3/candidates"}], hang_seconds=3
    )
    await env.service.push(PushRequest(person=ada()))
    assert await env.worker.drain() == {"synced": 1}
    assert len(env.candidates_named("Ada", "Lovelace")) == 1
    assert await env.requests() == {"POST /v3/candidates": 2, "POST /v3/candidates/search": 1}


async def test_an_existing_record_is_never_taken_for_an_uncertain_create_with_do_not_merge(
    env: PushEnv,
) -> None:
    env.settings = settings_with(**{"general.do_not_merge": True})
    older = env.sandbox.store.create_record(
        "candidates",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "emails": [{"email": "ada@engines.example", "is_primary": True}],
        },
    )
    # The older record was created "an hour ago": searching must not adopt it.
    env.clock.t += 3600
    await env.sandbox.control.set_faults(
        script=[{"kind": "hang", "method": "POST", "path": "/v3/candidates"}], hang_seconds=3
    )
    await env.service.push(PushRequest(person=ada()))
    await env.worker.drain()
    ids = sorted(record["id"] for record in env.candidates_named("Ada", "Lovelace"))
    assert len(ids) == 2 and ids[0] == older


async def test_a_note_reset_after_it_landed_is_found_among_the_activities_and_not_repeated(
    env: PushEnv,
) -> None:
    campaign = await env.service.campaigns.create(CampaignCreate(name="Q3", sync_trigger="on_add"))
    await env.service.record_event(
        EventRequest(campaign_id=campaign.id, person=ada(), type="added", at=at(0))
    )
    await env.worker.drain()
    await env.sandbox.control.reset_counters()
    await env.sandbox.control.set_faults(
        script=[{"kind": "reset_after", "method": "POST", "path": "/v3/candidates/*/activities"}]
    )
    await env.service.record_event(
        EventRequest(campaign_id=campaign.id, person=ada(), type="outreach", outreach="call", at=at(3))
    )
    assert await env.worker.drain() == {"synced": 2}
    [record] = env.candidates_named("Ada", "Lovelace")
    assert len(env.activities("candidates", record["id"])) == 1
    assert await env.requests() == {
        "POST /v3/candidates/{id}/activities": 1,
        "POST /v3/activities/search": 1,
    }


async def test_429_storms_wait_as_cats_says_and_every_item_lands_once(
    sandbox2: SandboxHandle, tmp_path: Path
) -> None:
    env, close = await make_env(sandbox2, tmp_path, retry=RetryPolicy(max_attempts=1))
    try:
        await env.sandbox.control.set_faults(script=[{"kind": "429"}] * 6, retry_after_seconds=30)
        for n in range(3):
            await env.service.push(PushRequest(person=person(n)))
        assert await env.worker.drain() == {"synced": 3}
        counters = await env.sandbox.control.counters()
        assert counters["faults"] == {"429": 6}
        assert counters["requests"] == {"POST /v3/candidates": 9}
        for n in range(3):
            assert len(env.candidates_named(f"Ada{n}", "Lovelace")) == 1
        # Each 429 paused the worker for CATS's Retry-After, on the worker's clock.
        assert env.clock.slept.count(30.0) >= 6
        waits = [e for e in await env.service.log.entries() if e.outcome == "waiting"]
        assert len(waits) == 6 and {e.code for e in waits} == {"cats.rate_limited"}
    finally:
        await close()


async def test_offline_items_wait_for_the_network_and_resume_when_cats_is_back(
    sandbox2: SandboxHandle, tmp_path: Path
) -> None:
    link = Unpluggable(URL(sandbox2.url).port or 0)
    await link.plug()
    env, close = await make_env(sandbox2, tmp_path, url=link.url, retry=RetryPolicy(max_attempts=1))
    try:
        await link.unplug()
        accepted = await env.service.push(PushRequest(person=ada()))
        step = await env.worker.step()
        assert step.processed == 1
        item = await env.service.item(accepted.items[0]["id"])
        assert (item.status, item.wait_reason, item.error_code) == ("waiting", "network", "cats.network")
        first_wait = item.not_before
        # Still offline: the worker waits longer each time (bounded), without failing the item.
        env.clock.t = first_wait.timestamp() + 1 if first_wait else env.clock.t
        await env.worker.step()
        item = await env.service.item(item.id)
        assert item.status == "waiting" and item.not_before and first_wait
        assert item.not_before - first_wait > timedelta(seconds=2)
        assert await env.total_requests() == 0

        await link.plug()
        assert await env.worker.drain() == {"synced": 1}
        assert len(env.candidates_named("Ada", "Lovelace")) == 1
    finally:
        await close()
        await link.unplug()


async def test_a_refusal_stops_the_item_with_cats_message_until_it_is_fixed_and_retried(env: PushEnv) -> None:
    env.settings = settings_with(**{"sync.candidates.default_owner_id": 99999})
    accepted = await env.service.push(PushRequest(person=ada()))
    assert await env.worker.drain() == {"failed": 1}
    item = await env.service.item(accepted.items[0]["id"])
    assert item.error_code == "cats.validation"
    assert item.error_message and "owner" in item.error_message.lower()
    assert item.in_flight is None  # CATS refused: nothing can have been created
    assert env.candidates_named("Ada", "Lovelace") == []
    [failed] = await push_entries(env.db)
    assert (failed["kind"], failed["status"], failed["title"]) == (
        "push",
        "failed",
        "Push of Ada Lovelace failed",
    )
    assert failed["retry"] == {"method": "POST", "path": f"/api/outbox/{item.id}/retry", "label": "Retry"}

    env.settings = settings_with(**{"sync.candidates.default_owner_id": OWNER})
    retried = await env.service.retry(item.id)
    assert retried.status == "queued"
    assert await env.worker.drain() == {"synced": 1}
    [record] = env.candidates_named("Ada", "Lovelace")
    assert record["owner_id"] == OWNER
    with pytest.raises(OutboxStateError):
        await env.service.retry(item.id)  # synced: nothing to retry
    created, queued_again, failed_before = await push_entries(env.db)
    assert created["title"].startswith("Created candidate Ada Lovelace") and created["status"] == "ok"
    assert queued_again["outcome"] == "retry" and failed_before["retry"] is None


async def test_a_cancelled_item_is_never_sent_and_a_synced_one_cannot_be_cancelled(env: PushEnv) -> None:
    first = await env.service.push(PushRequest(person=person(1)))
    second = await env.service.push(PushRequest(person=person(2)))
    cancelled = await env.service.cancel(first.items[0]["id"])
    assert cancelled.status == "cancelled"
    await env.worker.drain()
    assert env.candidates_named("Ada1", "Lovelace") == []
    with pytest.raises(OutboxStateError):
        await env.service.cancel(second.items[0]["id"])


async def test_what_a_user_clicks_goes_before_campaign_automation(env: PushEnv) -> None:
    campaign = await env.service.campaigns.create(CampaignCreate(name="Bulk", sync_trigger="on_add"))
    for n in range(3):
        await env.service.record_event(EventRequest(campaign_id=campaign.id, person=person(n), type="added"))
    clicked = await env.service.push(PushRequest(person=person(9)))
    await env.worker.step()
    synced = [item for item in env.published if item.status == "synced"]
    assert synced[0].id == clicked.items[0]["id"]


async def test_notes_wait_while_their_record_cannot_be_created_and_then_use_its_id(env: PushEnv) -> None:
    campaign = await env.service.campaigns.create(CampaignCreate(name="Q3"))  # on_reply
    await env.service.record_event(
        EventRequest(campaign_id=campaign.id, person=ada(), type="added", at=at(0))
    )
    await env.service.record_event(
        EventRequest(campaign_id=campaign.id, person=ada(), type="outreach", outreach="inmail", at=at(1))
    )
    await env.sandbox.control.set_faults(script=[{"kind": "503", "method": "POST", "path": "/v3/candidates"}])
    replied = await env.service.record_event(
        EventRequest(campaign_id=campaign.id, person=ada(), type="replied", at=at(2))
    )
    record_item, *notes = replied.items
    assert (await env.worker.step()).processed == 1
    waiting = await env.service.item(record_item["id"])
    assert (waiting.status, waiting.wait_reason, waiting.error_code) == (
        "waiting",
        "until",
        "cats.unavailable",
    )
    # Nothing else may go while the record waits: the notes need its id.
    idle = await env.worker.step()
    assert (idle.processed, idle.next_due) == (0, waiting.not_before)
    assert await env.requests() == {"POST /v3/candidates": 1}

    assert await env.worker.drain() == {"synced": 3}
    [record] = env.candidates_named("Ada", "Lovelace")
    for note in notes:
        assert (await env.service.item(note["id"])).cats_id is not None
    assert len(env.activities("candidates", record["id"])) == 2
