"""The window's security over real HTTP: links, the cookie, CSRF, idle expiry, origins and safe GETs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aiohttp
import pytest

from companion.server.app import build_routes
from companion.server.daemon import RunningDaemon
from companion.server.routes import SAFE_METHODS
from companion.server.window.pages import CONTENT_SECURITY_POLICY
from companion.server.window.sessions import COOKIE_NAME, CSRF_HEADER
from companion.web import WEB_DIR
from tests.fixtures.daemon import EXTENSION_ORIGIN, DaemonFactory, auth_headers, dispatch
from tests.server.window.conftest import WindowClientFactory


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def settings_file(daemon: RunningDaemon) -> Path:
    assert daemon.companion.settings is not None
    return daemon.companion.settings.user_path


async def test_a_link_is_made_only_with_the_daemon_token(daemon: RunningDaemon) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{daemon.url}/api/window/link") as response:
            assert response.status == 401
        async with http.post(f"{daemon.url}/api/window/link", headers=auth_headers()) as response:
            assert response.status == 200
            body = await response.json()
    assert re.fullmatch(rf"{daemon.url}/window/open\?t=[A-Za-z0-9_-]{{22}}", body["url"])
    assert body["expires_in"] == 60.0 and body["admin"] is False


async def test_a_window_session_cannot_make_more_links(
    daemon: RunningDaemon, window_client: WindowClientFactory
) -> None:
    client = await window_client(daemon)
    status, body = await client.raw("POST", "/api/window/link", {})
    assert status == 401 and body["error"]["code"] == "auth.token"


async def test_the_link_sets_a_strict_httponly_cookie_and_redirects_to_the_window(
    daemon: RunningDaemon,
) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        async with http.post(f"{daemon.url}/api/window/link", headers=auth_headers()) as response:
            link = (await response.json())["url"]
        async with http.get(link, allow_redirects=False) as response:
            assert response.status == 303
            assert response.headers["Location"] == "/window/"
            header = response.headers["Set-Cookie"]
    attributes = [part.strip().lower() for part in header.split(";")]
    assert attributes[0].startswith(f"{COOKIE_NAME}=")
    assert "httponly" in attributes
    assert "samesite=strict" in attributes
    assert "path=/" in attributes
    assert "secure" not in attributes
    assert not any(part.startswith(("domain=", "expires=", "max-age=")) for part in attributes)


async def test_a_used_link_shows_how_to_get_a_new_one(daemon: RunningDaemon) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        async with http.post(f"{daemon.url}/api/window/link", headers=auth_headers()) as response:
            link = (await response.json())["url"]
        async with http.get(link, allow_redirects=False) as response:
            assert response.status == 303
        async with http.get(link, allow_redirects=False) as response:
            assert response.status == 403
            assert "Set-Cookie" not in response.headers
            page = await response.text()
    assert response.content_type == "text/html"
    assert "cats-companion settings" in page and "Open settings" in page


async def test_an_expired_or_wrong_link_gives_no_session(daemon: RunningDaemon) -> None:
    clock = Clock()
    daemon.state.window.clock = clock
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        async with http.post(f"{daemon.url}/api/window/link", headers=auth_headers()) as response:
            link = (await response.json())["url"]
        clock.now += 60.0
        for url in (link, f"{daemon.url}/window/open?t=guess", f"{daemon.url}/window/open"):
            async with http.get(url, allow_redirects=False) as response:
                assert response.status == 403
                assert "Set-Cookie" not in response.headers
    assert daemon.state.window.session_count == 0


async def test_the_cookie_reads_settings_but_changes_need_the_csrf_token(
    daemon: RunningDaemon, window_client: WindowClientFactory
) -> None:
    client = await window_client(daemon)
    status, view = await client.raw("GET", "/api/settings", csrf=None)
    assert status == 200 and view["values"]["general"]["do_not_merge"] is False
    change = {"general.do_not_merge": True}
    for csrf in (None, "", "wrong-token", client.csrf[:-1]):
        status, body = await client.raw("PATCH", "/api/settings", change, csrf=csrf)
        assert status == 403, csrf
        assert body["error"]["code"] == "auth.csrf"
    assert not settings_file(daemon).exists()
    assert daemon.companion.settings is not None
    assert daemon.companion.settings.effective.settings.general.do_not_merge is False
    status, view = await client.raw("PATCH", "/api/settings", change)
    assert status == 200 and view["values"]["general"]["do_not_merge"] is True
    assert json.loads(settings_file(daemon).read_text())


async def test_another_session_csrf_token_does_not_work(
    daemon: RunningDaemon, window_client: WindowClientFactory
) -> None:
    first = await window_client(daemon)
    second = await window_client(daemon)
    status, body = await first.raw("PATCH", "/api/settings", {"general.do_not_merge": True}, csrf=second.csrf)
    assert status == 403 and body["error"]["code"] == "auth.csrf"
    assert not settings_file(daemon).exists()


async def test_a_session_ends_when_idle(daemon: RunningDaemon, window_client: WindowClientFactory) -> None:
    clock = Clock()
    daemon.state.window.clock = clock
    client = await window_client(daemon)
    clock.now += daemon.state.window.idle_timeout - 1
    assert (await client.raw("GET", "/api/status"))[0] == 200
    clock.now += daemon.state.window.idle_timeout - 1
    assert (await client.raw("GET", "/api/status"))[0] == 200
    clock.now += daemon.state.window.idle_timeout
    status, body = await client.raw("GET", "/api/status")
    assert status == 401 and body["error"]["code"] == "auth.session"
    status, page = await client.raw("GET", "/window/")
    assert status == 401 and "signed out" in page


async def test_sign_out_ends_the_session_and_clears_the_cookie(
    daemon: RunningDaemon, window_client: WindowClientFactory
) -> None:
    client = await window_client(daemon)
    async with client.http.delete(f"{daemon.url}/api/window/session", headers=client.headers()) as response:
        assert response.status == 200
        cleared = response.cookies[COOKIE_NAME]
    assert cleared.value == "" and cleared["max-age"] == "0"
    status, body = await client.raw("GET", "/api/settings")
    assert status == 401 and body["error"]["code"] == "auth.session"


async def test_sign_out_needs_the_csrf_token(
    daemon: RunningDaemon, window_client: WindowClientFactory
) -> None:
    client = await window_client(daemon)
    status, body = await client.raw("DELETE", "/api/window/session", csrf=None)
    assert status == 403 and body["error"]["code"] == "auth.csrf"
    assert (await client.raw("GET", "/api/settings"))[0] == 200


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"Origin": "http://127.0.0.1:1"}, "auth.origin"),
        ({"Origin": "null"}, "auth.origin"),
        ({"Origin": "http://evil.example"}, "auth.origin"),
        ({"Origin": EXTENSION_ORIGIN}, "auth.session"),
        ({"Sec-Fetch-Site": "same-site"}, "auth.session"),
        ({"Sec-Fetch-Site": "cross-site"}, "auth.session"),
    ],
)
async def test_the_cookie_works_only_from_the_window_itself(
    daemon: RunningDaemon, window_client: WindowClientFactory, headers: dict[str, str], code: str
) -> None:
    client = await window_client(daemon)
    status, body = await client.raw("PATCH", "/api/settings", {"general.do_not_merge": True}, **headers)
    assert status in (401, 403) and body["error"]["code"] == code
    status, body = await client.raw("GET", "/api/settings", **headers)
    assert body["error"]["code"] == code
    assert not settings_file(daemon).exists()


async def test_the_window_own_origin_is_accepted(
    daemon: RunningDaemon, window_client: WindowClientFactory
) -> None:
    client = await window_client(daemon)
    own = {"Origin": daemon.url, "Sec-Fetch-Site": "same-origin"}
    status, _ = await client.raw("PATCH", "/api/settings", {"general.do_not_merge": True}, **own)
    assert status == 200


async def test_a_foreign_host_is_refused_even_with_a_session(
    daemon: RunningDaemon, window_client: WindowClientFactory
) -> None:
    client = await window_client(daemon)
    status, body = await client.raw("GET", "/api/settings", Host=f"attacker.example:{daemon.port}")
    assert status == 403 and body["error"]["code"] == "auth.host"


async def test_the_cookie_is_not_accepted_for_the_native_protocol(
    daemon: RunningDaemon, window_client: WindowClientFactory
) -> None:
    client = await window_client(daemon)
    status, body = await client.raw("POST", "/api/native", {"v": 1, "id": 1, "type": "ping"})
    assert status == 401 and body["error"]["code"] == "auth.token"


async def test_the_native_protocol_makes_window_links(daemon: RunningDaemon) -> None:
    envelope = {"v": 1, "id": 7, "type": "window.link", "params": {}}
    reply = await dispatch(daemon, json.dumps(envelope).encode(), EXTENSION_ORIGIN + "/")
    assert reply["ok"], reply
    link = reply["data"]["url"]
    assert link.startswith(f"{daemon.url}/window/open?t=")
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http,
        http.get(link, allow_redirects=False) as response,
    ):
        assert response.status == 303


async def test_get_requests_change_nothing(daemon: RunningDaemon, window_client: WindowClientFactory) -> None:
    client = await window_client(daemon)
    window = daemon.state.window
    before = (window.session_count, settings_file(daemon).exists(), client.csrf)
    paths = [route.path for route in build_routes().routes if route.method in SAFE_METHODS]
    paths += ["/window/", "/window/static/app.css", "/window/static/js/main.js"]
    for _ in range(2):
        for path in paths:
            for method in ("GET", "HEAD"):
                status, _ = await client.raw(method, path)
                assert status < 500, (method, path)
    session = await client.request("GET", "/api/window/session")
    assert (window.session_count, settings_file(daemon).exists(), session["csrf_token"]) == before
    # A link spent by GET is the one exception, and only for its own code (see companion.server.window.pages).
    code = (await client.new_link()).rsplit("=", 1)[1]
    status, _ = await client.raw("GET", f"/window/open?t={code}x")
    assert status == 403 and window.session_count == before[0]


async def test_window_pages_carry_a_strict_content_security_policy(daemon: RunningDaemon) -> None:
    async with aiohttp.ClientSession() as http:
        for path in ("/window/", "/window/open?t=x", "/window/static/app.css"):
            async with http.get(f"{daemon.url}{path}") as response:
                assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
                assert response.headers["X-Frame-Options"] == "DENY"
                assert response.headers["Cache-Control"] == "no-store"
    assert (
        "'unsafe-inline'" not in CONTENT_SECURITY_POLICY and "default-src 'none'" in CONTENT_SECURITY_POLICY
    )


def test_the_pages_use_no_inline_script_style_or_external_resource() -> None:
    files = [p for p in WEB_DIR.rglob("*") if p.suffix in {".html", ".css", ".js", ".svg"}]
    assert len(files) > 10
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text), path
        assert "@import" not in text and "@font-face" not in text, path
        if path.suffix == ".html":
            assert not re.search(r"<script(?![^>]*\bsrc=)", text), path
            assert not re.search(r"\son[a-z]+=", text), path
            assert not re.search(r"\sstyle=", text), path
            assert "<style" not in text, path
        if path.suffix == ".js":
            assert "innerHTML" not in text and "eval(" not in text, path


async def test_the_window_unknown_static_file_is_a_404(daemon: RunningDaemon) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{daemon.url}/window/static/../index.html") as response:
            assert response.status in (403, 404)
        async with http.get(f"{daemon.url}/window/static/nope.js") as response:
            assert response.status == 404


async def test_admin_mode_shows_in_the_link_answer(daemon_factory: DaemonFactory, tmp_path: Path) -> None:
    daemon = await daemon_factory(admin=True, site_config_dir=tmp_path / "site")
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{daemon.url}/api/window/link", headers=auth_headers()) as response,
    ):
        assert (await response.json())["admin"] is True


async def test_the_bearer_token_still_works_without_a_cookie(daemon: RunningDaemon) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.patch(
            f"{daemon.url}/api/settings", json={"general.do_not_merge": True}, headers=auth_headers()
        ) as response:
            assert response.status == 200
        async with http.get(f"{daemon.url}/api/window/session", headers=auth_headers()) as response:
            assert response.status == 400
        async with http.patch(
            f"{daemon.url}/api/settings",
            json={"general.do_not_merge": False},
            headers={"Cookie": f"{COOKIE_NAME}=forged", CSRF_HEADER: "x"},
        ) as response:
            assert response.status == 401
            assert (await response.json())["error"]["code"] == "auth.session"
