"""The event hub (bounded fan-out, lagging subscribers dropped) and the NDJSON event stream."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from pydantic import BaseModel
from pytest_aiohttp import AiohttpClient

from companion.app import Companion
from companion.errors import MessageTooLargeError
from companion.server.app import create_app
from companion.server.daemon import RunningDaemon
from companion.server.state import ServerState
from companion.services.events import EventHub
from tests.fixtures.daemon import DAEMON_TOKEN, auth_headers

pytestmark = pytest.mark.timeout(30)


def decode(line: bytes | None) -> Any:
    assert line is not None
    return json.loads(line)


async def test_every_subscriber_gets_each_event_once() -> None:
    hub = EventHub()
    with hub.subscribe() as first, hub.subscribe() as second:
        assert hub.publish("sync.progress", {"pages_done": 1}) == 2
        for subscription in (first, second):
            assert decode(await subscription.next()) == {"event": "sync.progress", "data": {"pages_done": 1}}
    assert hub.subscriber_count == 0


async def test_models_are_published_as_json() -> None:
    class PushState(BaseModel):
        push_id: int
        state: str

    hub = EventHub()
    with hub.subscribe() as subscription:
        hub.publish("push.state", PushState(push_id=3, state="synced"))
        assert decode(await subscription.next())["data"] == {"push_id": 3, "state": "synced"}


async def test_a_subscriber_that_falls_behind_is_dropped_with_a_lagged_notice() -> None:
    hub = EventHub(max_queued=3)
    with hub.subscribe() as slow, hub.subscribe() as fast:
        for i in range(3):
            hub.publish("sync.progress", {"i": i})
            await fast.next()
        hub.publish("sync.progress", {"i": 3})  # slow's queue is full: it is dropped
        assert decode(await slow.next()) == {"event": "stream.lagged", "data": {"dropped": 3}}
        assert await slow.next() is None
        assert hub.publish("sync.progress", {"i": 4}) == 1
        assert decode(await fast.next())["data"] == {"i": 3}


async def test_closing_the_hub_ends_every_subscription() -> None:
    hub = EventHub()
    with hub.subscribe() as subscription:
        hub.close()
        assert await subscription.next() is None
    with hub.subscribe() as late:
        assert await late.next() is None


def test_bad_names_and_oversized_events_are_refused() -> None:
    hub = EventHub()
    with pytest.raises(ValueError, match="name"):
        hub.publish("Sync Progress", {})
    with pytest.raises(MessageTooLargeError):
        hub.publish("sync.progress", {"blob": "x" * (1024 * 1024)})


async def read_event(response: aiohttp.ClientResponse) -> Any:
    async with asyncio.timeout(5):
        return json.loads(await response.content.readline())


async def test_the_event_stream_opens_then_carries_published_events(daemon: RunningDaemon) -> None:
    async with (
        aiohttp.ClientSession(headers=auth_headers(daemon.token)) as session,
        session.get(f"{daemon.url}/api/native/events") as response,
    ):
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("application/x-ndjson")
        assert (await read_event(response))["event"] == "stream.open"
        assert daemon.companion.events.subscriber_count == 1
        daemon.companion.events.publish("push.state", {"push_id": 1, "state": "queued"})
        assert await read_event(response) == {
            "event": "push.state",
            "data": {"push_id": 1, "state": "queued"},
        }


async def test_an_idle_stream_sends_heartbeats(companion: Companion, aiohttp_client: AiohttpClient) -> None:
    app = create_app(companion, ServerState(token=DAEMON_TOKEN), heartbeat_seconds=0.05)
    client = await aiohttp_client(app)
    async with client.get("/api/native/events", headers=auth_headers(DAEMON_TOKEN)) as response:
        assert (await read_event(response))["event"] == "stream.open"
        assert (await read_event(response))["event"] == "stream.heartbeat"
        assert (await read_event(response))["event"] == "stream.heartbeat"


async def test_stopping_the_daemon_ends_open_streams_promptly(daemon: RunningDaemon) -> None:
    async with (
        aiohttp.ClientSession(headers=auth_headers(daemon.token)) as session,
        session.get(f"{daemon.url}/api/native/events") as response,
    ):
        await read_event(response)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await daemon.close()
        assert loop.time() - started < 2.0  # not the 5 s shutdown timeout
        async with asyncio.timeout(5):
            rest = await response.content.read()
        assert rest == b""
