"""The loopback API's security middlewares, request by request over a real socket."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from companion.server.daemon import RunningDaemon
from tests.fixtures.daemon import DAEMON_TOKEN, EXTENSION_ORIGIN
from tests.server.rawhttp import RawResponse, raw_request

STATUS = "/api/status"
OTHER_EXTENSION = "chrome-extension://ponmlkjihgfedcbaponmlkjihgfedcba"


def other_port(port: int) -> int:
    return port + 1 if port < 65535 else port - 1


def host_value(template: str, daemon: RunningDaemon) -> str:
    return template.format(port=daemon.port, other=other_port(daemon.port))


async def get_status(
    daemon: RunningDaemon,
    *,
    host: str | None,
    token: str | None = DAEMON_TOKEN,
    extra: Sequence[tuple[str, str]] = (),
) -> RawResponse:
    headers: list[tuple[str, str]] = []
    if host is not None:
        headers.append(("Host", host))
    if token is not None:
        headers.append(("Authorization", f"Bearer {token}"))
    headers.extend(extra)
    return await raw_request(daemon.port, "GET", STATUS, headers)


# --- 1. Host -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "evil.com",
        "evil.com:{port}",
        "127.0.0.1.evil.com",
        "127.0.0.1.evil.com:{port}",
        "localhost:{other}",
        "127.0.0.1:{other}",
        "127.0.0.1",
        "localhost",
        "0.0.0.0:{port}",
        "",
    ],
)
async def test_foreign_host_is_refused(daemon: RunningDaemon, host: str) -> None:
    response = await get_status(daemon, host=host_value(host, daemon))
    assert response.status == 403
    assert response.json() == {
        "error": {"code": "auth.host", "message": "this address is not served here (Host header refused)"}
    }


async def test_missing_host_is_refused(daemon: RunningDaemon) -> None:
    # HTTP/1.0 may omit Host, so aiohttp's parser lets it through to our middleware.
    response = await raw_request(
        daemon.port, "GET", STATUS, [("Authorization", f"Bearer {DAEMON_TOKEN}")], version="1.0"
    )
    assert response.status == 403
    assert response.json()["error"]["code"] == "auth.host"


async def test_missing_host_in_http_1_1_is_refused_by_the_parser(daemon: RunningDaemon) -> None:
    response = await get_status(daemon, host=None)
    assert response.status == 400
    assert b"version" not in response.body


async def test_host_is_checked_before_the_token(daemon: RunningDaemon) -> None:
    # A rebinding page must not even learn whether its token guess was right.
    response = await get_status(daemon, host="evil.com", token=None)
    assert response.status == 403
    assert response.json()["error"]["code"] == "auth.host"


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}"])
async def test_loopback_hosts_with_our_port_are_served(daemon: RunningDaemon, host: str) -> None:
    response = await get_status(daemon, host=host_value(host, daemon))
    assert response.status == 200
    assert response.json()["version"]


# --- 2. Origin ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    [
        OTHER_EXTENSION,
        "null",
        "http://evil.com",
        "http://127.0.0.1:{other}",
        "http://localhost:{port}",
        "https://127.0.0.1:{port}",
        EXTENSION_ORIGIN + "/",
        "",
    ],
)
async def test_foreign_origin_is_refused(daemon: RunningDaemon, origin: str) -> None:
    response = await get_status(
        daemon, host=f"127.0.0.1:{daemon.port}", extra=[("Origin", host_value(origin, daemon))]
    )
    assert response.status == 403
    assert response.json()["error"]["code"] == "auth.origin"


async def test_two_origin_headers_are_refused(daemon: RunningDaemon) -> None:
    response = await get_status(
        daemon,
        host=f"127.0.0.1:{daemon.port}",
        extra=[("Origin", EXTENSION_ORIGIN), ("Origin", EXTENSION_ORIGIN)],
    )
    assert response.status == 403


async def test_origin_is_checked_before_the_token(daemon: RunningDaemon) -> None:
    response = await get_status(
        daemon, host=f"127.0.0.1:{daemon.port}", token=None, extra=[("Origin", "http://evil.com")]
    )
    assert response.status == 403


@pytest.mark.parametrize("origin", [None, EXTENSION_ORIGIN, "http://127.0.0.1:{port}"])
async def test_no_origin_our_extension_and_our_own_page_are_served(
    daemon: RunningDaemon, origin: str | None
) -> None:
    extra = [] if origin is None else [("Origin", host_value(origin, daemon))]
    response = await get_status(daemon, host=f"localhost:{daemon.port}", extra=extra)
    assert response.status == 200


# --- 3. Token ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer wrong-token",
        f"Bearer {DAEMON_TOKEN[:-1]}",
        f"Bearer {DAEMON_TOKEN}x",
        f"Bearer {DAEMON_TOKEN.upper()}",
        f"Token {DAEMON_TOKEN}",
        f"Basic {DAEMON_TOKEN}",
        DAEMON_TOKEN,
        f"Bearer  {DAEMON_TOKEN}",
    ],
    ids=[
        "missing",
        "empty",
        "scheme-only",
        "scheme-space",
        "wrong",
        "prefix-of-correct",
        "correct-plus-one",
        "different-case",
        "token-scheme",
        "basic-scheme",
        "no-scheme",
        "two-spaces",
    ],
)
async def test_missing_or_wrong_token_is_refused(daemon: RunningDaemon, authorization: str | None) -> None:
    extra = [] if authorization is None else [("Authorization", authorization)]
    response = await get_status(daemon, host=f"127.0.0.1:{daemon.port}", token=None, extra=extra)
    assert response.status == 401
    assert response.json()["error"]["code"] == "auth.token"
    assert DAEMON_TOKEN not in response.body.decode()


async def test_two_authorization_headers_are_refused(daemon: RunningDaemon) -> None:
    response = await get_status(
        daemon, host=f"127.0.0.1:{daemon.port}", extra=[("Authorization", "Bearer wrong")]
    )
    assert response.status == 401


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
async def test_right_token_is_served(daemon: RunningDaemon, scheme: str) -> None:
    response = await get_status(
        daemon,
        host=f"127.0.0.1:{daemon.port}",
        token=None,
        extra=[("Authorization", f"{scheme} {DAEMON_TOKEN}")],
    )
    assert response.status == 200


# --- response hygiene ---------------------------------------------------------------------------


async def test_answers_are_not_cached_or_sniffed(daemon: RunningDaemon) -> None:
    for response in (
        await get_status(daemon, host=f"127.0.0.1:{daemon.port}"),
        await get_status(daemon, host="evil.com"),
    ):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-type"].startswith("application/json")
