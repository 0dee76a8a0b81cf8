"""The host as Chrome runs it (a child process with pipes) against a real daemon on its real Unix socket."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from companion.errors import DaemonTimeoutError
from companion.nmhost import locations
from companion.nmhost.link import Channel, DaemonLocator
from companion.server.daemon import RunningDaemon
from tests.fixtures.daemon import DaemonFactory
from tests.nmhost.frames import OUR_ORIGIN, HostProcess, host_env, parse_frames
from tests.server.native.messages import WITH_TEST_OPERATIONS

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(os.name != "posix", reason="the daemon's Unix socket is a POSIX feature"),
]
OTHER_TOKEN = "another-daemon-token-0123456789abcdefghijklmnopqrstuvwxyz"


@pytest.fixture
async def daemon(daemon_factory: DaemonFactory) -> RunningDaemon:
    """This file's daemon also serves the tests' own message types (tests/nmhost/messages.py)."""
    return await daemon_factory(operations=WITH_TEST_OPERATIONS)


@pytest.fixture
async def host() -> AsyncIterator[HostProcess]:
    process = await HostProcess.start(host_env())
    yield process
    process.kill()
    await process.process.wait()


async def eventually(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait for state another process changes (the host subscribing to events): polling is the way."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_requests_and_errors_round_trip_through_the_host(
    daemon_factory: DaemonFactory, host: HostProcess
) -> None:
    await daemon_factory(operations=WITH_TEST_OPERATIONS)
    hello = await host.request({"id": 1, "type": "hello", "v": 1})
    assert hello["ok"] is True and hello["data"]["caller"] == OUR_ORIGIN
    status = await host.request({"id": "two", "type": "status"})
    assert status["id"] == "two" and status["data"]["cats"]["state"] == "not_configured"
    unknown = await host.request({"id": 3, "type": "nope.nothing"})
    assert unknown["error"]["code"] == "request.unknown_type"
    too_big = await host.request({"id": 4, "type": "test.big", "params": {"size": 2 * 1024 * 1024}})
    assert too_big["error"]["code"] == "message.too_large"
    code, rest = await host.close()
    assert (code, rest) == (0, b"")
    assert len(parse_frames(bytes(host.received))) == 4


async def test_events_reach_the_browser_but_heartbeats_do_not(
    daemon_factory: DaemonFactory, host: HostProcess
) -> None:
    daemon = await daemon_factory(operations=WITH_TEST_OPERATIONS)
    await host.request({"id": 1, "type": "hello"})
    await eventually(lambda: daemon.companion.events.subscriber_count == 1)
    daemon.companion.events.publish("sync.progress", {"pages_done": 2, "pages_total": 9})
    assert await host.receive() == {"event": "sync.progress", "data": {"pages_done": 2, "pages_total": 9}}
    # Published by a message handler, while that message's reply is on its way too.
    await host.send(
        {"id": 2, "type": "test.publish", "params": {"name": "push.state", "data": {"state": "x"}}}
    )
    frames = [await host.receive(), await host.receive()]
    assert {"event": "push.state", "data": {"state": "x"}} in frames
    assert {"id": 2, "ok": True, "data": {"reached": 1}} in frames


async def test_a_slow_message_does_not_hold_up_a_quick_one(
    daemon_factory: DaemonFactory, host: HostProcess
) -> None:
    await daemon_factory(operations=WITH_TEST_OPERATIONS)
    await host.request({"id": 0, "type": "ping"})
    await host.send({"id": "slow", "type": "test.slow", "params": {"seconds": 1.0}})
    await host.send({"id": "quick", "type": "ping"})
    assert (await host.receive())["id"] == "quick"
    assert (await host.receive())["id"] == "slow"


async def test_the_daemon_going_away_gives_error_replies_then_the_host_reconnects(
    daemon_factory: DaemonFactory, host: HostProcess
) -> None:
    first = await daemon_factory(operations=WITH_TEST_OPERATIONS)
    assert (await host.request({"id": 1, "type": "ping"}))["ok"] is True
    await eventually(lambda: first.companion.events.subscriber_count == 1)
    # Two requests the daemon is still working on when it stops: each gets an error reply.
    for held in ("held-1", "held-2"):
        await host.send({"id": held, "type": "test.hold", "params": {"gate": f"never-{held}"}})
    await host.send({"id": "quick", "type": "ping"})
    assert (await host.receive())["id"] == "quick"
    await first.close()
    pending = [await host.receive(), await host.receive()]
    assert sorted(reply["id"] for reply in pending) == ["held-1", "held-2"]
    assert {reply["error"]["code"] for reply in pending} == {"daemon.unavailable"}
    loop = asyncio.get_running_loop()
    started = loop.time()
    gone = await host.request({"id": 2, "type": "ping"})
    assert gone["id"] == 2 and gone["error"]["code"] == "daemon.unavailable"
    assert loop.time() - started < 5
    # A new daemon, with a new token: the host reads daemon.json again and carries on.
    second = await daemon_factory(token=OTHER_TOKEN, operations=WITH_TEST_OPERATIONS)
    back = await host.request({"id": 3, "type": "ping"})
    assert back == {"id": 3, "ok": True, "data": {"pong": True, "echo": None}}
    await eventually(lambda: second.companion.events.subscriber_count == 1)
    second.companion.events.publish("sync.progress", {"again": True})
    assert await host.receive() == {"event": "sync.progress", "data": {"again": True}}


async def test_without_a_daemon_every_message_gets_daemon_unavailable(host: HostProcess) -> None:
    for i in range(3):
        reply = await host.request({"id": i, "type": "ping"})
        assert reply["error"]["code"] == "daemon.unavailable"
        assert "cats-companion serve" in reply["error"]["message"]
    assert (await host.close())[0] == 0


async def test_a_daemon_that_does_not_answer_in_time_is_a_timeout(daemon: RunningDaemon) -> None:
    env = host_env()
    locator = DaemonLocator(locations.runtime_dir(env), locations.log_dir(env), autostart=False)
    channel = Channel(locator, OUR_ORIGIN, timeout=0.3)
    body = b'{"id": 1, "type": "test.slow", "params": {"seconds": 3}}'
    try:
        with pytest.raises(DaemonTimeoutError):
            await asyncio.to_thread(channel.post, "/api/native", body)
        status, reply = await asyncio.to_thread(channel.post, "/api/native", b'{"id": 2, "type": "ping"}')
        assert status == 200 and b'"pong":true' in reply
    finally:
        channel.close()


async def test_the_host_logs_to_its_file_only_when_asked(daemon: RunningDaemon) -> None:
    log_file = os.path.join(locations.log_dir(host_env()), "host.log")
    quiet = await HostProcess.start(host_env())
    await quiet.request({"id": 1, "type": "ping"})
    await quiet.close()
    assert not await asyncio.to_thread(os.path.exists, log_file)
    chatty = await HostProcess.start(host_env(CATS_COMPANION_HOST_LOG="1"))
    await chatty.request({"id": 1, "type": "ping"})
    await chatty.close()
    text = await asyncio.to_thread(Path(log_file).read_text, encoding="utf-8")
    assert "started for chrome-extension://" in text
    assert daemon.token not in text
