"""Pushes through the running daemon: the loopback API and the native protocol accept them, the background
worker sends them to the sandbox, `push.state` events follow each item, and the sync log says what it did."""

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


async def until_synced(http: aiohttp.ClientSession, item_id: int) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            status, body = await call(http, "GET", f"/api/outbox/{item_id}")
            assert status == 200
            if body["item"]["status"] in ("synced", "failed"):
                return dict(body)
            await asyncio.sleep(0.02)


async def test_a_push_over_the_loopback_api_is_sent_by_the_worker_and_followed_to_its_cats_id(
    daemon: RunningDaemon, http: aiohttp.ClientSession, sandbox: SandboxHandle
) -> None:
    with daemon.ctx.events.subscribe() as events:
        status, accepted = await call(http, "POST", "/api/push", {"person": PERSON})
        assert status == 202
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
    status, log = await call(http, "GET", "/api/push-log")
    [entry] = log["entries"]
    assert entry["kind"] == "push" and entry["status"] == "ok"
    assert entry["title"] == f"Created candidate Grace Hopper in CATS (CATS candidate {record['id']})"


async def test_a_refused_push_answers_422_with_the_missing_fields_and_queues_nothing(
    http: aiohttp.ClientSession,
) -> None:
    status, body = await call(http, "POST", "/api/push", {"person": {"emails": ["x@y.example"]}})
    assert status == 422
    assert body["error"]["code"] == "push.mandatory_missing"
    assert {f["field"] for f in body["error"]["fields"]} == {"first_name", "last_name"}
    status, outbox = await call(http, "GET", "/api/outbox")
    assert (status, outbox["items"], outbox["counts"]) == (200, [], {})


async def test_malformed_requests_are_refused_with_400(http: aiohttp.ClientSession) -> None:
    for path, body in (
        ("/api/push", {"person": PERSON, "record_type": "companies"}),
        ("/api/events", {"campaign": "x", "type": "outreach", "person": PERSON}),
        ("/api/campaigns", {"name": ""}),
    ):
        status, answer = await call(http, "POST", path, body)
        assert status == 400, path
        assert answer["error"]["code"] == "request.invalid"
    status, _ = await call(http, "GET", "/api/outbox?status=lost")
    assert status == 400


async def test_campaigns_and_events_over_the_native_protocol(
    http: aiohttp.ClientSession, sandbox: SandboxHandle
) -> None:
    async def native(kind: str, params: dict[str, Any]) -> dict[str, Any]:
        status, reply = await call(http, "POST", "/api/native", {"id": 1, "type": kind, "params": params})
        assert status == 200
        assert reply["ok"], reply
        return dict(reply["data"])

    campaign = await native("campaign.create", {"name": "Navy", "sync_trigger": "on_reply"})
    added = await native("campaign.add_member", {"campaign_id": campaign["id"], "person": PERSON})
    assert not added["sync"]
    replied = await native(
        "event.record",
        {"campaign_id": campaign["id"], "person_id": added["person_id"], "type": "replied", "text": "Yes"},
    )
    assert replied["sync"] and [i["kind"] for i in replied["items"]] == ["record", "note"]
    for item in replied["items"]:
        assert (await until_synced(http, item["id"]))["item"]["status"] == "synced"
    listed = await native("outbox.list", {"status": ["synced"]})
    assert listed["counts"] == {"synced": 2}
    assert (await native("campaign.list", {}))["campaigns"][0]["members"] == 1
    _, reply = await call(http, "POST", "/api/native", {"id": 2, "type": "outbox.retry", "params": {"id": 1}})
    assert reply["error"]["code"] == "outbox.state"


async def test_the_worker_waits_without_a_key_and_pushes_are_still_accepted(
    daemon_factory: DaemonFactory,
) -> None:
    daemon = await daemon_factory()  # no API key
    async with aiohttp.ClientSession(base_url=daemon.url, headers=auth_headers(daemon.token)) as http:
        status, accepted = await call(http, "POST", "/api/push", {"person": PERSON})
        assert status == 202
        await asyncio.sleep(0.1)
        status, body = await call(http, "GET", f"/api/outbox/{accepted['items'][0]['id']}")
        assert body["item"]["status"] == "queued"


async def test_the_settings_windows_activity_log_lists_a_push_with_its_cats_record(
    http: aiohttp.ClientSession, sandbox: SandboxHandle
) -> None:
    _, accepted = await call(http, "POST", "/api/push", {"person": PERSON})
    [item] = accepted["items"]
    done = await until_synced(http, item["id"])
    status, activity = await call(http, "GET", "/api/activity")
    assert status == 200
    assert activity["sources"] == ["company_sync", "push"]
    [entry] = [entry for entry in activity["entries"] if entry["kind"] == "push"]
    expected = ("ok", item["id"], done["item"]["cats_id"])
    assert (entry["status"], entry["outbox_id"], entry["cats_id"]) == expected
    assert "Grace Hopper" in entry["title"]
