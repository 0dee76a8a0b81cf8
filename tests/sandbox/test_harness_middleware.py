"""The sandbox's request pipeline as a CATS client meets it: 415, 401, request ids, content type."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest
from multidict import CIMultiDict
from yarl import URL

from companion.sandbox.app import DEMO_API_KEY
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle


@pytest.fixture
async def empty(sandbox_factory: SandboxFactory) -> SandboxHandle:
    return await sandbox_factory(rate_limit=0)


async def _call(
    handle: SandboxHandle,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
) -> tuple[int, CIMultiDict[str], bytes]:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, handle.url_for(path), headers=headers or {}, data=data) as response,
    ):
        return response.status, CIMultiDict(response.headers), await response.read()


async def test_request_without_token_is_refused_with_cats_message(empty: SandboxHandle) -> None:
    status, headers, body = await _call(empty, "GET", "companies")
    assert status == 401
    assert body == b'{"message": "Invalid credentials."}'
    assert headers["Content-Type"] == "application/json; charset=utf-8"


@pytest.mark.parametrize(
    "authorization",
    [
        "Token wrong-key",
        f"Bearer {DEMO_API_KEY}",
        DEMO_API_KEY,
        "Token",
        f"Token {DEMO_API_KEY}x",
        "Token caf\u00e9",
    ],
)
async def test_wrong_or_differently_sent_token_is_refused(empty: SandboxHandle, authorization: str) -> None:
    status, _, body = await _call(empty, "GET", "companies", headers={"Authorization": authorization})
    assert (status, body) == (401, b'{"message": "Invalid credentials."}')


async def test_token_scheme_is_case_insensitive_as_http_defines(empty: SandboxHandle) -> None:
    status, _, _ = await _call(empty, "GET", "companies", headers={"Authorization": f"token {DEMO_API_KEY}"})
    assert status == 200


async def test_auth_is_checked_before_routing(empty: SandboxHandle) -> None:
    status, _, _ = await _call(empty, "GET", "users/current")
    assert status == 401
    status, _, body = await _call(empty, "GET", "users/current", headers=empty.headers)
    assert status == 404
    assert b"message" in body


async def test_paths_outside_v3_need_the_token_too(empty: SandboxHandle) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{empty.running.origin}/anything") as response:
        assert response.status == 401


async def test_configured_api_key_replaces_the_demo_key(sandbox_factory: SandboxFactory) -> None:
    handle = await sandbox_factory(api_key="team-key-123")
    status, _, _ = await _call(handle, "GET", "companies", headers={"Authorization": f"Token {DEMO_API_KEY}"})
    assert status == 401
    status, _, _ = await _call(handle, "GET", "companies", headers={"Authorization": "Token team-key-123"})
    assert status == 200


async def test_non_json_body_gets_415_even_with_a_bad_token(empty: SandboxHandle) -> None:
    status, headers, body = await _call(
        empty,
        "POST",
        "companies",
        headers={"Content-Type": "multipart/form-data; boundary=x", "Authorization": "Token nope"},
        data=b"--x--",
    )
    assert (status, body) == (415, b'{"message": "Unsupported Content-Type."}')
    assert "X-Request-Id" in headers


async def test_json_body_with_charset_or_vendor_type_is_accepted(empty: SandboxHandle) -> None:
    for content_type in ("application/json; charset=utf-8", "application/hal+json"):
        status, _, _ = await _call(
            empty,
            "POST",
            "candidates",
            headers={**empty.headers, "Content-Type": content_type},
            data=b'{"first_name": "Ada", "last_name": "Lovelace"}',
        )
        assert status == 201, content_type


async def test_body_without_content_type_is_taken_as_json(empty: SandboxHandle) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            empty.url_for("candidates"),
            headers=empty.headers,
            data=b'{"first_name": "Ada", "last_name": "Lovelace"}',
            skip_auto_headers=["Content-Type"],
        ) as response,
    ):
        assert response.status == 201


async def test_request_without_body_needs_no_content_type(empty: SandboxHandle) -> None:
    status, _, _ = await _call(
        empty, "GET", "companies", headers={**empty.headers, "Content-Type": "text/plain"}
    )
    assert status == 200


async def test_upload_paths_take_octet_stream_but_not_multipart(empty: SandboxHandle) -> None:
    multipart = {**empty.headers, "Content-Type": "multipart/form-data; boundary=x"}
    status, _, _ = await _call(empty, "POST", "attachments/parse", headers=multipart, data=b"--x--")
    assert status == 415
    octet = {**empty.headers, "Content-Type": "application/octet-stream"}
    status, _, _ = await _call(empty, "POST", "candidates/1/attachments", headers=octet, data=b"%PDF")
    assert status != 415


async def test_every_answer_carries_a_fresh_request_id(empty: SandboxHandle) -> None:
    seen = set()
    for headers in ({}, empty.headers):
        for path in ("companies", "no/such/path"):
            _, response_headers, _ = await _call(empty, "GET", path, headers=headers)
            seen.add(str(uuid.UUID(response_headers["X-Request-Id"])))
    assert len(seen) == 4


async def test_every_cats_answer_is_json_utf8_even_when_empty(empty: SandboxHandle) -> None:
    status, headers, _ = await _call(
        empty,
        "POST",
        "candidates",
        headers={**empty.headers, "Content-Type": "application/json"},
        data=b'{"first_name": "Ada", "last_name": "Lovelace"}',
    )
    assert status == 201
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    status, headers, _ = await _call(empty, "PATCH", "companies/1", headers=empty.headers)
    assert status in (404, 405)
    assert headers["Content-Type"] == "application/json; charset=utf-8"


async def test_control_api_is_not_subject_to_cats_rules(empty: SandboxHandle) -> None:
    # No CATS token, a non-JSON content type: still the control API's own answer.
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{empty.control_url}/counters", headers={**empty.control_headers, "Content-Type": "text/plain"}
        ) as response,
    ):
        assert response.status == 200
        assert "X-Rate-Limit-Limit" not in response.headers
        assert "X-Request-Id" in response.headers


async def test_a_client_killed_mid_body_creates_nothing_and_logs_no_traceback(
    empty: SandboxHandle, caplog: pytest.LogCaptureFixture
) -> None:
    url = URL(empty.url)
    before = empty.store.record_counts()["companies"]
    _reader, writer = await asyncio.open_connection(url.host, url.port)
    writer.write(
        b"POST /v3/companies HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Authorization: Token {empty.api_key}\r\nContent-Length: 500\r\n\r\n".encode()
        + b'{"name": "Half'
    )
    await writer.drain()
    writer.transport.abort()
    # Let the server notice the reset and finish the request's task.
    async with aiohttp.ClientSession(headers=empty.headers) as http:
        for _ in range(3):
            async with http.get(empty.url_for("companies")) as response:
                assert response.status == 200
            await asyncio.sleep(0.05)
    assert empty.store.record_counts()["companies"] == before
    assert not [r for r in caplog.records if r.levelno >= 40], [r.getMessage() for r in caplog.records]
