"""`POST /api/native/session` on a real daemon over its Unix socket: frames in, replies out, concurrently.

These also prove that aiohttp lets a handler stream its response while it is still reading the
request body: every reply here arrives before the client has ended its request stream.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest

from companion.server.daemon import RunningDaemon
from companion.server.native import endpoint
from tests.fixtures.daemon import EXTENSION_ORIGIN, DaemonFactory
from tests.nmhost.session_client import LENGTH, RawSession, session_headers
from tests.server.native.messages import WITH_TEST_OPERATIONS, gate

pytestmark = [
    pytest.mark.timeout(30),
    pytest.mark.skipif(os.name != "posix", reason="the daemon's Unix socket is a POSIX feature"),
]


@pytest.fixture
async def test_daemon(daemon_factory: DaemonFactory) -> RunningDaemon:
    return await daemon_factory(operations=WITH_TEST_OPERATIONS)


@pytest.fixture
async def session(test_daemon: RunningDaemon) -> AsyncIterator[RawSession]:
    assert test_daemon.socket_path is not None
    opened = await RawSession.open(test_daemon.socket_path)
    yield opened
    await opened.close()


async def test_a_session_answers_many_interleaved_requests_each_with_its_id(session: RawSession) -> None:
    assert session.status == 200
    ids = [*range(40), *(f"s-{i}" for i in range(40))]
    await session.send(*({"id": i, "type": "ping", "params": {"echo": str(i)}} for i in ids[:40]))
    await session.send(*({"id": i, "type": "ping", "params": {"echo": i}} for i in ids[40:]))
    replies = [await session.receive() for _ in ids]
    assert sorted(map(str, (r["id"] for r in replies))) == sorted(map(str, ids))
    assert all(r["ok"] and r["data"]["echo"] == str(r["id"]) for r in replies)
    # The stream ends cleanly once the request stream does.
    await session.end()
    assert await session.receive_all() == []


async def test_a_slow_message_does_not_hold_up_a_quick_one(session: RawSession) -> None:
    await session.send({"id": "slow", "type": "test.hold", "params": {"gate": "slow-vs-quick"}})
    await session.send({"id": "quick", "type": "ping"})
    assert (await session.receive())["id"] == "quick"
    gate("slow-vs-quick").set()
    assert await session.receive() == {"id": "slow", "ok": True, "data": {"released": "slow-vs-quick"}}


async def test_every_rule_of_post_native_holds_for_each_frame(session: RawSession) -> None:
    await session.send(b"{not json", {"id": 1, "type": "nope.nothing"})
    await session.send({"id": 2, "type": "test.write_readonly", "params": {"value": "x"}})
    await session.send({"id": 3, "type": "test.big", "params": {"size": 2 * 1024 * 1024}})
    await session.send({"id": 4, "type": "test.fail", "params": {"kind": "unexpected"}})
    await session.send({"id": 5, "type": "ping", "v": 2}, {"id": 6, "type": "hello"})
    replies = {reply["id"]: reply for reply in [await session.receive() for _ in range(7)]}
    assert replies[None]["error"]["code"] == "request.invalid"
    assert replies[1]["error"]["code"] == "request.unknown_type"
    assert replies[2]["error"]["code"] == "store.read_only"
    assert replies[3]["error"]["code"] == "message.too_large"
    assert replies[4]["error"] == {
        "code": "internal",
        "message": "internal error; the daemon's log has the details",
    }
    assert replies[5]["error"]["code"] == "request.unsupported_version"
    assert replies[6]["data"]["caller"] == "tests"
    # A malformed frame is answered and the session carries on.
    assert (await _ping(session, 7))["ok"] is True


async def _ping(session: RawSession, message_id: int) -> dict[str, object]:
    await session.send({"id": message_id, "type": "ping"})
    reply: dict[str, object] = await session.receive()
    return reply


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        (session_headers(token="wrong-token-0123456789abcdefghijklmnopqrstuvwxyz"), 401, "auth.token"),
        ([("Host", "localhost"), ("X-Companion-Caller", "tests")], 401, "auth.token"),
        (session_headers(host="evil.example"), 403, "auth.host"),
        ([*session_headers(), ("Origin", "https://evil.example")], 403, "auth.origin"),
        ([*session_headers(), ("Origin", "null")], 403, "auth.origin"),
    ],
    ids=["wrong token", "no token", "bad Host", "bad Origin", "null Origin"],
)
async def test_a_session_is_refused_at_open_as_any_request_would_be(
    test_daemon: RawSession, headers: list[tuple[str, str]], status: int, code: str
) -> None:
    assert isinstance(test_daemon, RunningDaemon) and test_daemon.socket_path is not None
    refused = await RawSession.open(test_daemon.socket_path, headers)
    try:
        assert refused.status == status
        assert (await refused.error_body())["error"]["code"] == code
    finally:
        await refused.close()


async def test_the_extensions_origin_may_open_a_session(test_daemon: RunningDaemon) -> None:
    assert test_daemon.socket_path is not None
    opened = await RawSession.open(
        test_daemon.socket_path, [*session_headers(), ("Origin", EXTENSION_ORIGIN)]
    )
    try:
        assert opened.status == 200
        assert (await _ping(opened, 1))["ok"] is True
    finally:
        await opened.close()


async def test_an_oversized_frame_ends_only_its_own_session(
    test_daemon: RunningDaemon, session: RawSession
) -> None:
    assert test_daemon.socket_path is not None
    other = await RawSession.open(test_daemon.socket_path)
    try:
        # Only the length: the daemon must not wait for (or buffer) two megabytes.
        await other.send_raw(LENGTH.pack(2 * 1024 * 1024))
        assert await other.receive_all() == [
            {
                "id": None,
                "ok": False,
                "error": {
                    "code": "request.too_large",
                    "message": "a 2097152-byte message is over the 1048576-byte limit",
                },
            }
        ]
    finally:
        await other.close()
    assert (await _ping(session, 1))["ok"] is True


async def test_a_stream_that_ends_inside_a_frame_ends_only_its_own_session(
    test_daemon: RunningDaemon, session: RawSession
) -> None:
    assert test_daemon.socket_path is not None
    other = await RawSession.open(test_daemon.socket_path)
    try:
        await other.send({"id": 1, "type": "ping"})
        await other.send_raw(LENGTH.pack(100) + b'{"id": 2, "ty')
        await other.end()
        replies = await other.receive_all()
    finally:
        await other.close()
    by_id = {reply["id"]: reply for reply in replies}
    assert len(replies) == 2
    # What was read whole is still answered; the broken frame gets an error without an id.
    assert by_id[1] == {"id": 1, "ok": True, "data": {"pong": True, "echo": None}}
    assert by_id[None]["error"]["code"] == "request.invalid"
    assert "13 of 100 bytes" in by_id[None]["error"]["message"]
    assert (await _ping(session, 1))["ok"] is True


async def test_a_host_that_vanishes_mid_session_leaves_the_daemon_serving(
    test_daemon: RunningDaemon, session: RawSession
) -> None:
    assert test_daemon.socket_path is not None
    other = await RawSession.open(test_daemon.socket_path)
    await other.send({"id": 1, "type": "test.hold", "params": {"gate": "vanish"}})
    await other.send_raw(LENGTH.pack(50) + b"{")
    await other.close()
    gate("vanish").set()
    assert (await _ping(session, 2))["ok"] is True


async def test_a_session_stops_reading_while_its_limit_of_frames_is_in_flight(
    test_daemon: RunningDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(endpoint, "SESSION_IN_FLIGHT", 2)
    assert test_daemon.socket_path is not None
    held = await RawSession.open(test_daemon.socket_path)
    try:
        for i in range(3):
            await held.send({"id": i, "type": "test.hold", "params": {"gate": f"limit-{i}"}})
        await held.send({"id": "quick", "type": "ping"})
        # Two are in the daemon; the third and the ping wait unread behind them.
        with pytest.raises(TimeoutError):
            await held.receive(seconds=0.3)
        gate("limit-1").set()
        assert (await held.receive())["id"] == 1
        # That slot went to the third frame, held too: the ping still waits.
        with pytest.raises(TimeoutError):
            await held.receive(seconds=0.3)
        gate("limit-0").set()
        assert (await held.receive())["id"] == 0
        assert (await held.receive())["id"] == "quick"
        gate("limit-2").set()
        assert (await held.receive())["id"] == 2
    finally:
        await held.close()


async def test_stopping_the_daemon_ends_its_sessions_at_once(test_daemon: RunningDaemon) -> None:
    assert test_daemon.socket_path is not None
    opened = await RawSession.open(test_daemon.socket_path)
    await opened.send({"id": 1, "type": "test.hold", "params": {"gate": "never-opened"}})
    await opened.send({"id": 2, "type": "ping"})
    assert (await opened.receive())["id"] == 2
    loop = asyncio.get_running_loop()
    started = loop.time()
    await test_daemon.close()
    # Well under the daemon's shutdown timeout (5 s): the session was stopped, not waited for.
    assert loop.time() - started < 2
    assert await opened.receive_all() == []
    await opened.close()
