"""POST /api/native: envelope validation, dispatch by type, error mapping, read-only types, reply size."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from companion.protocol import NoParams
from companion.server.daemon import RunningDaemon
from companion.server.operations import Call, Operation, Operations
from companion.store.meta import get_meta
from tests.fixtures.daemon import DaemonFactory, auth_headers
from tests.server.native.messages import WITH_TEST_OPERATIONS

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def test_daemon(daemon_factory: DaemonFactory, monkeypatch: pytest.MonkeyPatch) -> RunningDaemon:
    """A daemon serving the built-in types plus tests/nmhost/messages.py's, as a feature module adds them."""
    return await daemon_factory(operations=WITH_TEST_OPERATIONS)


@pytest.fixture
async def session(test_daemon: RunningDaemon) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=test_daemon.url, headers=auth_headers(test_daemon.token)) as s:
        yield s


async def call(session: aiohttp.ClientSession, body: Any, **headers: str) -> Any:
    kwargs: dict[str, Any] = {"data": body} if isinstance(body, bytes) else {"json": body}
    async with session.post("/api/native", headers=headers, **kwargs) as response:
        assert response.status == 200
        return await response.json()


async def test_hello_names_the_protocol_the_daemon_and_every_type(session: aiohttp.ClientSession) -> None:
    reply = await call(
        session, {"id": 1, "type": "hello", "v": 1}, **{"X-Companion-Caller": "chrome-extension://x/"}
    )
    assert reply["id"] == 1 and reply["ok"] is True
    assert reply["data"]["protocol"] == 1
    assert reply["data"]["caller"] == "chrome-extension://x/"
    assert {"hello", "ping", "status", "test.slow"} <= set(reply["data"]["types"])


async def test_status_carries_the_same_data_as_the_status_endpoint(session: aiohttp.ClientSession) -> None:
    reply = await call(session, {"id": "s", "type": "status"})
    async with session.get("/api/status") as response:
        direct = await response.json()
    assert reply["data"]["cats"] == direct["cats"]
    assert reply["data"]["version"] == direct["version"]


async def test_ping_echoes(session: aiohttp.ClientSession) -> None:
    assert await call(session, {"id": 2, "type": "ping", "params": {"echo": "hi"}}) == {
        "id": 2,
        "ok": True,
        "data": {"pong": True, "echo": "hi"},
    }


@pytest.mark.parametrize(
    ("body", "expected_id", "fragment"),
    [
        (b"\xff", None, "UTF-8"),
        (b"{", None, "not valid JSON"),
        (b'"hello"', None, "JSON object"),
        ({"type": "ping"}, None, "id"),
        ({"id": 3}, 3, "type"),
        ({"id": 4, "type": "Not A Name"}, 4, "type"),
        ({"id": 5, "type": "ping", "extra": 1}, 5, "extra"),
        ({"id": 6, "type": "ping", "params": []}, 6, "params"),
    ],
)
async def test_a_malformed_envelope_is_request_invalid_with_the_id_when_readable(
    session: aiohttp.ClientSession, body: Any, expected_id: Any, fragment: str
) -> None:
    reply = await call(session, body)
    assert reply["id"] == expected_id and reply["ok"] is False
    assert reply["error"]["code"] == "request.invalid"
    assert fragment in reply["error"]["message"]


async def test_an_unknown_type_is_named_in_the_error(session: aiohttp.ClientSession) -> None:
    reply = await call(session, {"id": 7, "type": "company.teleport"})
    assert reply["error"] == {
        "code": "request.unknown_type",
        "message": "unknown message type 'company.teleport'",
    }


async def test_another_protocol_version_is_refused(session: aiohttp.ClientSession) -> None:
    reply = await call(session, {"id": 8, "type": "ping", "v": 2})
    assert reply["error"]["code"] == "request.unsupported_version"


async def test_invalid_params_say_which_field_and_why(session: aiohttp.ClientSession) -> None:
    reply = await call(session, {"id": 9, "type": "test.slow", "params": {"seconds": "soon"}})
    assert reply["error"]["code"] == "request.invalid"
    assert "seconds" in reply["error"]["message"] and "soon" not in reply["error"]["message"]
    reply = await call(session, {"id": 10, "type": "hello", "params": {"unexpected": True}})
    assert reply["error"]["code"] == "request.invalid" and "unexpected" in reply["error"]["message"]


async def test_a_companion_error_keeps_its_code(session: aiohttp.ClientSession) -> None:
    reply = await call(session, {"id": 11, "type": "test.fail", "params": {"kind": "companion"}})
    assert reply["error"] == {"code": "cats.not_found", "message": "no candidate 42 in CATS"}


async def test_an_unexpected_failure_is_internal_and_reveals_nothing(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    reply = await call(session, {"id": 12, "type": "test.fail", "params": {"kind": "unexpected"}})
    assert reply["id"] == 12 and reply["error"]["code"] == "internal"
    assert "secret" not in reply["error"]["message"]
    assert "test.fail" in caplog.text


async def test_a_type_that_does_not_declare_writes_cannot_write(
    session: aiohttp.ClientSession, test_daemon: RunningDaemon
) -> None:
    refused = await call(session, {"id": 13, "type": "test.write_readonly", "params": {"value": "a"}})
    assert refused["error"]["code"] == "store.read_only"
    assert await get_meta(test_daemon.companion.db, "test") is None
    allowed = await call(session, {"id": 14, "type": "test.write", "params": {"value": "b"}})
    assert allowed["ok"] is True
    assert await get_meta(test_daemon.companion.db, "test") == "b"


async def test_a_reply_over_one_mebibyte_is_replaced_by_message_too_large(
    session: aiohttp.ClientSession,
) -> None:
    reply = await call(session, {"id": 15, "type": "test.big", "params": {"size": 1024 * 1024}})
    assert reply["id"] == 15 and reply["error"]["code"] == "message.too_large"
    fits = await call(session, {"id": 16, "type": "test.big", "params": {"size": 1000}})
    assert fits["ok"] is True


async def test_a_body_over_the_limit_is_refused_before_dispatch(session: aiohttp.ClientSession) -> None:
    async with session.post("/api/native", data=b"x" * (1024 * 1024 + 1)) as response:
        assert response.status == 413
        assert (await response.json())["error"]["code"] == "request.too_large"


async def test_the_native_endpoint_needs_the_token(test_daemon: RunningDaemon) -> None:
    async with (
        aiohttp.ClientSession() as anonymous,
        anonymous.post(f"{test_daemon.url}/api/native", json={"id": 1, "type": "ping"}) as response,
    ):
        assert response.status == 401


def test_declaring_an_operation_twice_or_with_a_bad_name_is_refused() -> None:
    async def handler(call: Call, params: NoParams) -> dict[str, Any]:
        return {}

    table = Operations([Operation("a.b", handler, NoParams)])
    with pytest.raises(ValueError, match="twice"):
        table.extended([Operation("a.b", handler, NoParams)])
    with pytest.raises(ValueError, match="name"):
        Operation("A-B", handler, NoParams)
    assert table.names() == ["a.b"] and "a.b" in table and len(table) == 1
