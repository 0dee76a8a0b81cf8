"""Fixtures of the settings-window tests: a signed-in HTTP client, headless Chromium and screenshots.

    async def test_x(window_client):
        client = await window_client(daemon)        # signed in through a one-time link
        await client.patch("/api/settings", {...})  # sends the cookie and the CSRF token

Browser tests use Playwright's async API with Debian's Chromium (../shared/chromium-e2e.md) and
save screenshots under artifacts/window/ at the repository root.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Final

import aiohttp
import pytest
from playwright.async_api import Browser, Page, ViewportSize, async_playwright

from companion.bench.browser import CHROMIUM, CHROMIUM_ARGS
from companion.server.daemon import RunningDaemon
from companion.server.window.sessions import COOKIE_NAME, CSRF_HEADER
from tests.fixtures.daemon import auth_headers

#: Every Playwright wait is bounded by this (milliseconds).
TIMEOUT_MS: Final = 10_000
ARTIFACTS: Final = Path(__file__).resolve().parents[3] / "artifacts" / "window"
VIEWPORT: Final = ViewportSize(width=1280, height=860)


class WindowClient:
    """An HTTP client of the daemon that signed in like the window does: cookie plus CSRF token."""

    def __init__(self, daemon: RunningDaemon, session: aiohttp.ClientSession) -> None:
        self.daemon = daemon
        self.http = session
        self.csrf = ""
        self.cookie = ""

    @property
    def origin(self) -> str:
        return self.daemon.url

    async def new_link(self) -> str:
        async with self.http.post(
            f"{self.daemon.url}/api/window/link", headers=auth_headers(self.daemon.token)
        ) as response:
            assert response.status == 200, await response.text()
            url: str = (await response.json())["url"]
            return url

    async def sign_in(self) -> None:
        link = await self.new_link()
        async with self.http.get(link, allow_redirects=False) as response:
            assert response.status == 303, await response.text()
            self.cookie = response.cookies[COOKIE_NAME].value
        session = await self.request("GET", "/api/window/session")
        self.csrf = session["csrf_token"]

    def headers(self, *, csrf: str | None = "default", **extra: str) -> dict[str, str]:
        headers = {"Cookie": f"{COOKIE_NAME}={self.cookie}", **extra}
        chosen = self.csrf if csrf == "default" else csrf
        if chosen is not None:
            headers[CSRF_HEADER] = chosen
        return headers

    async def raw(
        self, method: str, path: str, body: Any = None, *, csrf: str | None = "default", **extra: str
    ) -> tuple[int, Any]:
        async with self.http.request(
            method,
            f"{self.daemon.url}{path}",
            json=body,
            headers=self.headers(csrf=csrf, **extra),
            allow_redirects=False,
        ) as response:
            text = await response.text()
            data: Any = await response.json() if response.content_type == "application/json" else text
            return response.status, data

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        status, data = await self.raw(method, path, body)
        assert status < 300, (status, data)
        return data


WindowClientFactory = Callable[[RunningDaemon], Awaitable[WindowClient]]


@pytest.fixture
async def window_client() -> AsyncIterator[WindowClientFactory]:
    # No cookie jar: each request carries exactly the cookie the test chooses.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:

        async def make(daemon: RunningDaemon) -> WindowClient:
            client = WindowClient(daemon, http)
            await client.sign_in()
            return client

        yield make


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS), timeout=TIMEOUT_MS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    opened = await context.new_page()
    opened.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield opened
    finally:
        await context.close()
    # A script error in the window is a bug even when the test's own checks passed.
    assert not errors, errors


async def open_window(page: Page, link: str) -> None:
    await page.goto(link)
    await page.wait_for_selector("body[data-ready='true']")


async def show_section(page: Page, name: str) -> None:
    await page.click(f"#nav a[data-section='{name}']")
    await page.wait_for_selector(f"#section[data-section='{name}'][data-loading='false']")


async def screenshot(page: Page, name: str) -> Path:
    """The whole page as artifacts/window/<name>.png (the viewport grown to fit, so nothing overlaps)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = await page.evaluate("document.documentElement.scrollHeight")
    await page.set_viewport_size(
        ViewportSize(width=VIEWPORT["width"], height=max(VIEWPORT["height"], int(height)))
    )
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path))
    await page.set_viewport_size(VIEWPORT)
    assert path.stat().st_size > 10_000
    return path
