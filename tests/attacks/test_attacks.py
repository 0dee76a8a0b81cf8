"""The attack table: one row per attack on the loopback server, the settings window and the native host.

Each row names the defence that stops it and fails if that defence is removed: the attack is made
with everything else right (a valid token, a live window session...), so only that defence stands
between the attacker and a changed setting, a new session or a relayed message. Every row also
checks that nothing changed: the database, every file under the companion's home and the site
config dir, the keyring and the window's sessions.

State-changing routes and GET routes are enumerated from the application the daemon serves, so a
route added later is attacked by the CSRF and safe-GET rows without anyone editing this file.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import stat
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest
from aiohttp import web

from companion import paths
from companion.app import Companion, static_key_source
from companion.errors import ConfigError
from companion.nmhost.host import EXIT_FORBIDDEN, main
from companion.nmhost.wire import EVENTS_PATH, NATIVE_PATH, SESSION_PATH
from companion.server.app import build_routes, create_app
from companion.server.daemon import RunningDaemon
from companion.server.routes import SAFE_METHODS, ApiRoutes, RouteDeclarationError, mutating
from companion.server.state import COMPANION_KEY
from companion.server.window.sessions import COOKIE_NAME, CSRF_HEADER
from companion.store.meta import set_meta
from tests.fixtures.daemon import DAEMON_TOKEN, EXTENSION_ORIGIN, DaemonFactory
from tests.fixtures.keyring import MemoryKeyring
from tests.fuzz.support import file_state, snapshot_db
from tests.nmhost.frames import OUR_ORIGIN, frame, host_env, parse_frames
from tests.server.rawhttp import RawResponse, raw_request, raw_unix_request

pytestmark = pytest.mark.timeout(60)

OTHER_EXTENSION: Final = "chrome-extension://ponmlkjihgfedcbaponmlkjihgfedcba"
#: A change every attack on the settings tries to make.
CHANGE: Final = json.dumps({"general.do_not_merge": True})


# --- the attacker's tools ------------------------------------------------------------------------------


def with_body(headers: list[tuple[str, str]], body: str) -> list[tuple[str, str]]:
    return [*headers, ("Content-Type", "application/json"), ("Content-Length", str(len(body.encode())))]


async def send(
    daemon: RunningDaemon, method: str, path: str, headers: list[tuple[str, str]], body: str | None = None
) -> RawResponse:
    """A request with exactly these headers (and the body, which raw_request cannot send, appended)."""
    if body is None:
        return await raw_request(daemon.port, method, path, headers)
    lines = [
        f"{method} {path} HTTP/1.1",
        *(f"{n}: {v}" for n, v in with_body(headers, body)),
        "Connection: close",
    ]
    async with asyncio.timeout(5):
        reader, writer = await asyncio.open_connection("127.0.0.1", daemon.port)
        try:
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body.encode())
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
            await writer.wait_closed()
    head, _, content = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = {line.partition(":")[0].strip().lower(): line.partition(":")[2].strip() for line in header_lines}
    return RawResponse(int(status_line.split()[1]), parsed, content)


def code_of(response: RawResponse) -> str | None:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


# --- what must not change --------------------------------------------------------------------------------


@dataclass
class Env:
    daemon: RunningDaemon
    keyring: MemoryKeyring
    factory: DaemonFactory
    tmp_path: Path
    cookie: str = ""
    csrf: str = ""

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.daemon.port}"

    def token_headers(self, token: str = DAEMON_TOKEN) -> list[tuple[str, str]]:
        return [("Host", self.host), ("Authorization", f"Bearer {token}")]

    def window_headers(self, csrf: str | None) -> list[tuple[str, str]]:
        headers = [("Host", self.host), ("Cookie", f"{COOKIE_NAME}={self.cookie}")]
        return headers if csrf is None else [*headers, (CSRF_HEADER, csrf)]

    async def sign_in(self) -> None:
        """Open the settings window as the user does: a one-time link, its cookie, then the CSRF token."""
        link = (await send(self.daemon, "POST", "/api/window/link", self.token_headers(), "{}")).json()["url"]
        opened = await raw_request(
            self.daemon.port, "GET", link.split(self.host, 1)[1], [("Host", self.host)]
        )
        assert opened.status == 303, opened
        self.cookie = opened.headers["set-cookie"].split(";", 1)[0].split("=", 1)[1]
        session = await raw_request(self.daemon.port, "GET", "/api/window/session", self.window_headers(None))
        self.csrf = session.json()["csrf_token"]

    def state(self) -> dict[str, Any]:
        """Everything an attack might change."""
        home = paths.data_dir().parent
        files = {
            str(p.relative_to(home)): file_state(p)
            for p in sorted(home.rglob("*"))
            if p.is_file() and not p.name.endswith(("-wal", "-shm", ".db")) and not p.is_socket()
        }
        return {
            "db": snapshot_db(self.daemon.companion.db.path),
            "files": files,
            "keyring": dict(self.keyring.passwords),
            "sessions": self.daemon.state.window.session_count,
        }


Attack = Callable[[Env], Awaitable[None]]


@dataclass(frozen=True)
class Row:
    name: str
    #: The defence that stops the attack (where to look, and what to remove to see the row fail).
    defence: str
    attack: Attack


def concrete(path: str) -> str:
    """A route's path with its parameters filled in (`/api/outbox/{id}/retry` -> `/api/outbox/1/retry`)."""
    return re.sub(r"\{[^}]+\}", "1", path)


def served_routes(daemon: RunningDaemon) -> list[tuple[str, str]]:
    """(method, path) of every route the daemon's application serves, from the same factory it used."""
    app = create_app(daemon.companion, daemon.state)
    found = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        if path is None:
            continue
        if "prefix" in info:  # the window's static files
            path = f"{path}/app.css"
        found.add((route.method, concrete(str(path))))
    return sorted(found)


# --- loopback server -------------------------------------------------------------------------------------


async def foreign_host(env: Env) -> None:
    before = env.state()
    for host in (
        "evil.example",
        f"evil.example:{env.daemon.port}",
        f"127.0.0.1.evil.example:{env.daemon.port}",
    ):
        headers = [("Host", host), ("Authorization", f"Bearer {DAEMON_TOKEN}")]
        for method, path, body in (("GET", "/api/status", None), ("PATCH", "/api/settings", CHANGE)):
            response = await send(env.daemon, method, path, headers, body)
            assert (response.status, code_of(response)) == (403, "auth.host"), (host, path)
    assert env.state() == before


async def empty_host(env: Env) -> None:
    before = env.state()
    response = await send(
        env.daemon, "PATCH", "/api/settings", [("Host", ""), *env.token_headers()[1:]], CHANGE
    )
    assert (response.status, code_of(response)) == (403, "auth.host")
    assert env.state() == before


async def foreign_host_on_the_socket(env: Env) -> None:
    assert env.daemon.socket_path is not None
    response = await raw_unix_request(
        env.daemon.socket_path,
        "GET",
        "/api/status",
        [("Host", "evil.example"), ("Authorization", f"Bearer {DAEMON_TOKEN}")],
    )
    assert (response.status, code_of(response)) == (403, "auth.host")


async def foreign_origin(env: Env) -> None:
    before = env.state()
    for origin in ("http://evil.example", OTHER_EXTENSION, f"http://127.0.0.1:{env.daemon.port + 1}"):
        response = await send(
            env.daemon, "PATCH", "/api/settings", [*env.token_headers(), ("Origin", origin)], CHANGE
        )
        assert (response.status, code_of(response)) == (403, "auth.origin"), origin
    assert env.state() == before


async def null_origin(env: Env) -> None:
    before = env.state()
    response = await send(
        env.daemon, "PATCH", "/api/settings", [*env.token_headers(), ("Origin", "null")], CHANGE
    )
    assert (response.status, code_of(response)) == (403, "auth.origin")
    native = json.dumps({"id": 1, "type": "window.link"})
    response = await send(
        env.daemon, "POST", "/api/native", [*env.token_headers(), ("Origin", "null")], native
    )
    assert (response.status, code_of(response)) == (403, "auth.origin")
    assert env.state() == before


async def missing_token(env: Env) -> None:
    before = env.state()
    for method, path, body in (
        ("PATCH", "/api/settings", CHANGE),
        ("POST", "/api/native", json.dumps({"id": 1, "type": "window.link"})),
        ("GET", "/api/settings", None),
    ):
        response = await send(
            env.daemon, method, path, [("Host", env.host), ("Origin", EXTENSION_ORIGIN)], body
        )
        assert (response.status, code_of(response)) == (401, "auth.token"), path
    assert env.state() == before


async def wrong_token(env: Env) -> None:
    before = env.state()
    for token in ("wrong", DAEMON_TOKEN[:-1], DAEMON_TOKEN + "x", DAEMON_TOKEN.upper()):
        response = await send(env.daemon, "PATCH", "/api/settings", env.token_headers(token), CHANGE)
        assert (response.status, code_of(response)) == (401, "auth.token"), token
    assert env.state() == before


async def missing_token_on_the_socket(env: Env) -> None:
    # The socket's 0600 mode is one wall; the token is the second.
    assert env.daemon.socket_path is not None
    response = await raw_unix_request(env.daemon.socket_path, "GET", "/api/settings", [("Host", "localhost")])
    assert (response.status, code_of(response)) == (401, "auth.token")


async def csrf_on_every_state_changing_route(env: Env) -> None:
    await env.sign_in()
    before = env.state()
    changing = [(m, p) for m, p in served_routes(env.daemon) if m not in SAFE_METHODS and m != "*"]
    assert ("PATCH", "/api/settings") in changing and ("DELETE", "/api/window/session") in changing
    for method, path in changing:
        # The native protocol (request and session) never takes the cookie (its own row); every other
        # route wants the CSRF token.
        refusal = (401, "auth.token") if path.startswith(NATIVE_PATH) else (403, "auth.csrf")
        for csrf in (None, "", "wrong-csrf-token", env.csrf[:-1]):
            response = await send(env.daemon, method, path, env.window_headers(csrf), "{}")
            assert (response.status, code_of(response)) == refusal, (method, path, csrf)
    assert env.state() == before


async def window_cookie_from_another_local_page(env: Env) -> None:
    # Another port of 127.0.0.1 is same-site: SameSite=Strict alone would let its pages send the cookie.
    await env.sign_in()
    before = env.state()
    for extra in (("Sec-Fetch-Site", "same-site"), ("Sec-Fetch-Site", "cross-site")):
        response = await send(
            env.daemon, "PATCH", "/api/settings", [*env.window_headers(env.csrf), extra], CHANGE
        )
        assert (response.status, code_of(response)) == (401, "auth.session"), extra
    assert env.state() == before


async def window_cookie_on_the_native_protocol(env: Env) -> None:
    await env.sign_in()
    before = env.state()
    body = json.dumps({"id": 1, "type": "window.link"})
    response = await send(env.daemon, "POST", "/api/native", env.window_headers(env.csrf), body)
    assert (response.status, code_of(response)) == (401, "auth.token")
    response = await send(env.daemon, "POST", SESSION_PATH, env.window_headers(env.csrf), body)
    assert (response.status, code_of(response)) == (401, "auth.token")
    assert env.state() == before


async def state_change_by_get(env: Env) -> None:
    await env.sign_in()
    # The daemon's own GET routes, with either credential: nothing changes.
    # The event stream is endless by design (a subscription, no state): every other GET is read to its end.
    readable = [p for m, p in served_routes(env.daemon) if m in SAFE_METHODS and p != EVENTS_PATH]
    assert "/api/settings" in readable and "/api/sync" in readable
    before = env.state()
    for path in readable:
        for method in ("GET", "HEAD"):
            for headers in (env.token_headers(), env.window_headers(None)):
                response = await send(env.daemon, method, path, headers)
                assert response.status < 500, (method, path, response.body[:200])
    assert env.state() == before
    # And the safety net under them: a GET handler that tries to write is stopped by the server.
    with pytest.raises(RouteDeclarationError):
        ApiRoutes().add("GET", "/api/planted", declared_writer)
    routes = build_routes()
    routes.add("GET", "/api/planted", planted_writer)
    # A second Companion on the daemon's own database: this app starts and closes it, not the daemon's.
    other = await Companion.open(env.daemon.companion.config, key_source=static_key_source(None))
    runner = web.AppRunner(create_app(other, env.daemon.state, routes=routes), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        headers = [("Host", f"127.0.0.1:{port}"), ("Authorization", f"Bearer {DAEMON_TOKEN}")]
        response = await raw_request(port, "GET", "/api/planted", headers)
        assert (response.status, code_of(response)) == (500, "store.read_only")
    finally:
        await runner.cleanup()
    assert env.state() == before


async def planted_writer(request: web.Request) -> web.Response:
    """A buggy GET handler, as a future change might add one: it writes to the database."""
    await set_meta(request.app[COMPANION_KEY].db, "planted", "by a GET")
    return web.json_response({"wrote": True})


@mutating
async def declared_writer(request: web.Request) -> web.Response:
    """A writer honestly marked @mutating: it may never be declared under GET."""
    return await planted_writer(request)


async def stolen_link_used_twice(env: Env) -> None:
    link = (await send(env.daemon, "POST", "/api/window/link", env.token_headers(), "{}")).json()["url"]
    target = link.split(env.host, 1)[1]
    first = await raw_request(env.daemon.port, "GET", target, [("Host", env.host)])
    assert first.status == 303 and "set-cookie" in first.headers
    before = env.state()
    again = await raw_request(env.daemon.port, "GET", target, [("Host", env.host)])
    assert again.status == 403 and "set-cookie" not in again.headers
    assert env.state() == before


# --- native host ------------------------------------------------------------------------------------------


def run_host(origin: str, env_vars: dict[str, str] | None = None) -> tuple[int, list[Any]]:
    """The host as Chrome starts it for `origin`, asked for a settings-window link (it needs the daemon)."""
    out = io.BytesIO()
    stdin = io.BytesIO(frame({"id": 1, "type": "window.link"}))
    code = main(["cats-companion-host", origin], stdin=stdin, stdout=out, env=host_env(**(env_vars or {})))
    return code, parse_frames(out.getvalue())


async def host_reply(
    origin: str = OUR_ORIGIN, env_vars: dict[str, str] | None = None
) -> tuple[int, list[Any]]:
    return await asyncio.to_thread(run_host, origin, env_vars)


async def caller_not_allowed(env: Env) -> None:
    code, replies = await host_reply()
    assert code == 0 and replies[0]["ok"] is True  # the allowed caller reaches the daemon
    before = env.state()
    for origin in (OTHER_EXTENSION + "/", "chrome-extension://evil/", "https://evil.example/", ""):
        code, replies = await host_reply(origin)
        assert code == EXIT_FORBIDDEN, origin
        assert [(r["id"], r["error"]["code"]) for r in replies] == [(None, "auth.origin")]
    assert env.state() == before


def refused_for_trust(replies: list[Any], what: str) -> None:
    [reply] = replies
    assert reply["ok"] is False and reply["error"]["code"] == "daemon.unavailable", reply
    assert f"{what} cannot be trusted" in reply["error"]["message"], reply


async def runtime_dir_others_can_use(env: Env) -> None:
    run_dir = env.daemon.run_dir
    for mode in (0o755, 0o770, 0o777):
        run_dir.chmod(mode)
        try:
            _, replies = await host_reply()
        finally:
            run_dir.chmod(0o700)
        refused_for_trust(replies, "runtime directory")


async def runtime_dir_of_another_user(env: Env) -> None:
    real = os.geteuid()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "geteuid", lambda: real + 1000)  # the OS edge: who owns what
        _, replies = await host_reply()
    refused_for_trust(replies, "runtime directory")


async def runtime_dir_through_a_symlink(env: Env) -> None:
    # Another "home" whose run dir is a symlink to the daemon's: the link itself is not trusted.
    home = env.tmp_path / "linked-home"
    home.mkdir()
    (home / "run").symlink_to(env.daemon.run_dir, target_is_directory=True)
    _, replies = await host_reply(env_vars={"CATS_COMPANION_HOME": str(home)})
    refused_for_trust(replies, "runtime directory")


async def socket_others_can_use(env: Env) -> None:
    sock = env.daemon.socket_path
    assert sock is not None
    for mode in (0o660, 0o666):
        sock.chmod(mode)
        try:
            _, replies = await host_reply()
        finally:
            sock.chmod(0o600)
        refused_for_trust(replies, "socket")


async def daemon_runtime_files_are_private(env: Env) -> None:
    # A runtime dir left open to everyone is taken back before the token is written into it.
    shared = env.tmp_path / "shared-run"
    shared.mkdir()
    shared.chmod(0o777)
    other = await env.factory(
        runtime_dir=shared, data_dir=env.tmp_path / "data2", config_dir=env.tmp_path / "cfg2"
    )
    assert other.socket_path is not None
    modes = {
        "dir": stat.S_IMODE(shared.stat().st_mode),
        "socket": stat.S_IMODE(other.socket_path.stat().st_mode),
        "daemon.json": stat.S_IMODE(other.runtime_file.stat().st_mode),
    }
    assert modes == {"dir": 0o700, "socket": 0o600, "daemon.json": 0o600}


async def daemon_refuses_a_runtime_dir_it_cannot_own(env: Env) -> None:
    target = env.tmp_path / "real-run"
    target.mkdir(mode=0o700)
    link = env.tmp_path / "link-run"
    link.symlink_to(target, target_is_directory=True)
    with pytest.raises(ConfigError, match="not a plain directory"):
        await env.factory(runtime_dir=link, data_dir=env.tmp_path / "d3", config_dir=env.tmp_path / "c3")
    real = os.getuid()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "getuid", lambda: real + 1000)  # the OS edge: who owns what
        with pytest.raises(ConfigError, match="belongs to another user"):
            await env.factory(
                runtime_dir=target, data_dir=env.tmp_path / "d4", config_dir=env.tmp_path / "c4"
            )
    assert not (target / "daemon.json").exists()


ROWS: Final = [
    Row("dns-rebinding: foreign Host", "security.host_middleware", foreign_host),
    Row("empty Host", "security.host_middleware", empty_host),
    Row("foreign Host on the Unix socket", "security.host_middleware", foreign_host_on_the_socket),
    Row("foreign Origin", "security.origin_middleware", foreign_origin),
    Row("null Origin", "security.origin_middleware", null_origin),
    Row("missing token", "security.token_middleware", missing_token),
    Row("wrong token", "security.token_middleware (constant-time compare)", wrong_token),
    Row("missing token on the Unix socket", "security.token_middleware", missing_token_on_the_socket),
    Row(
        "CSRF on every state-changing route",
        "WindowSession.csrf_matches in token_middleware",
        csrf_on_every_state_changing_route,
    ),
    Row(
        "window cookie from another local page",
        "Sec-Fetch-Site/Origin check of _window_session",
        window_cookie_from_another_local_page,
    ),
    Row(
        "window cookie on the native protocol",
        "_window_session refuses NATIVE_PATH",
        window_cookie_on_the_native_protocol,
    ),
    Row("state change by GET", "security.safe_method_middleware + routes._check", state_change_by_get),
    Row("stolen one-time link used twice", "WindowSessions.redeem spends the code", stolen_link_used_twice),
    Row(
        "native host: caller origin not allowed", "nmhost.host.main allowed_origins check", caller_not_allowed
    ),
    Row(
        "native host: runtime dir others can use",
        "nmhost.locations.private_dir_problem",
        runtime_dir_others_can_use,
    ),
    Row(
        "native host: runtime dir of another user",
        "nmhost.locations.private_dir_problem",
        runtime_dir_of_another_user,
    ),
    Row(
        "native host: runtime dir through a symlink",
        "nmhost.locations.private_dir_problem",
        runtime_dir_through_a_symlink,
    ),
    Row(
        "native host: socket others can use", "nmhost.locations.private_socket_problem", socket_others_can_use
    ),
    Row(
        "daemon: runtime files private",
        "paths.private_dir chmod, daemon._listen_unix chmod, files.write_private_file",
        daemon_runtime_files_are_private,
    ),
    Row("daemon: runtime dir it cannot own", "paths.private_dir", daemon_refuses_a_runtime_dir_it_cannot_own),
]


@pytest.mark.skipif(os.name != "posix", reason="Unix sockets, modes and owners are POSIX")
@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
async def test_attack_is_refused_and_changes_nothing(
    row: Row,
    daemon: RunningDaemon,
    memory_keyring: MemoryKeyring,
    daemon_factory: DaemonFactory,
    tmp_path: Path,
) -> None:
    await row.attack(Env(daemon, memory_keyring, daemon_factory, tmp_path))


def test_every_defence_of_the_issue_has_a_row() -> None:
    named = " | ".join(row.name for row in ROWS)
    for attack in (
        "foreign Host",
        "empty Host",
        "foreign Origin",
        "null Origin",
        "missing token",
        "wrong token",
        "CSRF on every state-changing route",
        "state change by GET",
        "stolen one-time link used twice",
        "caller origin not allowed",
        "runtime dir others can use",
        "socket others can use",
    ):
        assert attack in named, attack
