"""Pushes through the running daemon: the native protocol accepts them, the background worker sends them
to the sandbox, `push.state` events follow each item, and the sync log says what it did."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from companion.server.daemon import RunningDaemon
from tests.fixtures.daemon import DaemonFactory, auth_headers
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle

PERSON = {
    "first_name": "Grace",
    "last_name": "Hopper",
    "title": "Rear Admiral",
    "emails": ["grace@navy.example"],
}


@pytest.fixture
async def sandbox(sandbox_factory: SandboxFactory) -> SandboxHandle:
    return await sandbox_factory(seed=2, seed_random=3, rate_limit=0)


@pytest.fixture
async def daemon(daemon_factory: DaemonFactory, sandbox: SandboxHandle) -> RunningDaemon:
    return await daemon_factory(key=sandbox.key, cats_base_url=sandbox.url, check_connection=False)


@pytest.fixture
async def http(daemon: RunningDaemon) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=daemon.url, headers=auth_headers(daemon.token)) as session:
        yield session


async def call(http: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with http.request(method, path, json=body) as response:
        return response.status, await response.json()


async def native(http: aiohttp.ClientSession, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """The reply envelope of one native message."""
    status, reply = await call(http, "POST", "/api/native", {"id": 1, "type": kind, "params": params})
    assert status == 200
    return dict(reply)


async def answer(http: aiohttp.ClientSession, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    reply = await native(http, kind, params)
    assert reply["ok"], reply
    return dict(reply["data"])


async def until_synced(http: aiohttp.ClientSession, item_id: int) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            body = await answer(http, "outbox.get", {"id": item_id})
            if body["item"]["status"] in ("synced", "failed"):
                return body
            await asyncio.sleep(0.02)


async def test_a_push_is_sent_by_the_worker_and_followed_to_its_cats_id(
    daemon: RunningDaemon, http: aiohttp.ClientSession, sandbox: SandboxHandle
) -> None:
    with daemon.companion.events.subscribe() as events:
        accepted = await answer(http, "person.push", {"person": PERSON})
        [item] = accepted["items"]
        assert (item["kind"], item["status"], item["priority"]) == ("record", "queued", "interactive")
        done = await until_synced(http, item["id"])
        seen: list[dict[str, Any]] = []
        while not events.ended and len(seen) < 3:
            line = await asyncio.wait_for(events.next(), 5)
            assert line is not None
            seen.append(json.loads(line))
    [record] = sandbox.store.search_records(
        "candidates", filter={"field": "emails.primary", "filter": "exactly", "value": "grace@navy.example"}
    ).items
    assert done["item"]["cats_id"] == record["id"]
    assert [(e["event"], e["data"]["status"]) for e in seen] == [
        ("push.state", "queued"),
        ("push.state", "sending"),
        ("push.state", "synced"),
    ]
    assert [entry["action"] for entry in done["log"]] == ["created"]
    log = await answer(http, "push.log", {})
    [entry] = log["entries"]
    assert entry["kind"] == "push" and entry["status"] == "ok"
    assert entry["title"] == f"Created candidate Grace Hopper in CATS (CATS candidate {record['id']})"


async def test_a_refused_push_names_the_missing_fields_and_queues_nothing(
    http: aiohttp.ClientSession,
) -> None:
    reply = await native(http, "person.push", {"person": {"emails": ["x@y.example"]}})
    assert reply["ok"] is False and reply["error"]["code"] == "push.mandatory_missing"
    assert {f["field"] for f in reply["error"]["fields"]} == {"first_name", "last_name"}
    outbox = await answer(http, "outbox.list", {})
    assert (outbox["items"], outbox["counts"]) == ([], {})


async def test_malformed_requests_are_refused_as_invalid(http: aiohttp.ClientSession) -> None:
    for kind, params in (
        ("person.push", {"person": PERSON, "record_type": "companies"}),
        ("event.record", {"campaign": "x", "type": "outreach", "person": PERSON}),
        ("campaign.create", {"name": ""}),
        ("outbox.list", {"status": ["lost"]}),
    ):
        reply = await native(http, kind, params)
        assert reply["ok"] is False and reply["error"]["code"] == "request.invalid", kind


async def test_campaigns_and_events_over_the_native_protocol(
    http: aiohttp.ClientSession, sandbox: SandboxHandle
) -> None:
    campaign = await answer(http, "campaign.create", {"name": "Navy", "sync_trigger": "on_reply"})
    added = await answer(http, "campaign.add_member", {"campaign_id": campaign["id"], "person": PERSON})
    assert not added["sync"]
    replied = await answer(
        http,
        "event.record",
        {"campaign_id": campaign["id"], "person_id": added["person_id"], "type": "replied", "text": "Yes"},
    )
    assert replied["sync"] and [i["kind"] for i in replied["items"]] == ["record", "note"]
    for item in replied["items"]:
        assert (await until_synced(http, item["id"]))["item"]["status"] == "synced"
    listed = await answer(http, "outbox.list", {"status": ["synced"]})
    assert listed["counts"] == {"synced": 2}
    assert (await answer(http, "campaign.list", {}))["campaigns"][0]["members"] == 1
    reply = await native(http, "outbox.retry", {"id": 1})
    assert reply["error"]["code"] == "outbox.state"


async def test_the_settings_window_retries_a_push_over_http(http: aiohttp.ClientSession) -> None:
    # The window's activity log links each failed push to POST /api/outbox/{id}/retry (the outbox.retry
    # operation over HTTP): a synced item cannot be retried, and the answer says so.
    accepted = await answer(http, "person.push", {"person": PERSON})
    [item] = accepted["items"]
    await until_synced(http, item["id"])
    status, body = await call(http, "POST", f"/api/outbox/{item['id']}/retry", {})
    assert status == 409 and body["error"]["code"] == "outbox.state"
    status, body = await call(http, "POST", "/api/outbox/0/retry", {})
    assert status == 400 and body["error"]["code"] == "request.invalid"


async def test_the_worker_waits_without_a_key_and_pushes_are_still_accepted(
    daemon_factory: DaemonFactory,
) -> None:
    daemon = await daemon_factory()  # no API key
    async with aiohttp.ClientSession(base_url=daemon.url, headers=auth_headers(daemon.token)) as http:
        accepted = await answer(http, "person.push", {"person": PERSON})
        await asyncio.sleep(0.1)
        body = await answer(http, "outbox.get", {"id": accepted["items"][0]["id"]})
        assert body["item"]["status"] == "queued"


async def test_the_settings_windows_activity_log_lists_a_push_with_its_cats_record(
    http: aiohttp.ClientSession, sandbox: SandboxHandle
) -> None:
    accepted = await answer(http, "person.push", {"person": PERSON})
    [item] = accepted["items"]
    done = await until_synced(http, item["id"])
    status, activity = await call(http, "GET", "/api/activity")
    assert status == 200
    assert activity["sources"] == ["company_sync", "push"]
    [entry] = [entry for entry in activity["entries"] if entry["kind"] == "push"]
    expected = ("ok", item["id"], done["item"]["cats_id"])
    assert (entry["status"], entry["outbox_id"], entry["cats_id"]) == expected
    assert "Grace Hopper" in entry["title"]
