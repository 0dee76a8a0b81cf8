"""End-to-end fixtures: the CATS sandbox, the daemon, the fixture pages, headless Chromium with the extension.

    async def test_x(extension_browser, fixture_site, companion):
        page = await extension_browser.open(fixture_site.profile("public-2024"))
        await card_state(page, "match")

Everything runs for real (../shared/chromium-e2e.md): the sandbox and the daemon on 127.0.0.1 in
this test's event loop (Playwright's async API shares it, which avoids the sync-API loop trap),
the native host installed into a fresh Chromium profile with `cats-companion install-host
--user-data-dir`, and the test build of the extension (extension_build.py) loaded unpacked with
its fixed id. Chrome starts the host, the host finds the daemon through the runtime file under
this test's CATS_COMPANION_HOME, and autostart is off so that no stray daemon outlives a test.
Every wait is bounded; screenshots go to artifacts/e2e/.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest
from aiohttp import web
from playwright.async_api import BrowserContext, Page, Worker, async_playwright

from companion.bench.browser import CHROMIUM, CHROMIUM_ARGS
from companion.nmhost.config import AUTOSTART_ENV, EXTENSION_ID
from companion.server.daemon import RunningDaemon
from companion.services.sync_scheduler import SyncPolicy
from tests.e2e.extension_build import build_test_extension
from tests.fixtures.daemon import DaemonFactory
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle

EXTENSION_ORIGIN: Final = f"chrome-extension://{EXTENSION_ID}"
#: Every Playwright wait is bounded by this (milliseconds).
TIMEOUT_MS: Final = 15_000
ROOT: Final = Path(__file__).resolve().parents[2]
ARTIFACTS: Final = ROOT / "artifacts" / "e2e"
PAGES_DIR: Final = ROOT / "tests" / "fixtures" / "pages"
VIEWPORT: Final = {"width": 1280, "height": 860}
#: The card's host element (extension/content/card.js HOST_ID).
CARD: Final = "#cats-companion-card"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: real headless Chromium with the extension, native host and daemon"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)
            # Chromium start-up plus a daemon and a sync: more than the suite's default 60 s on a busy CI.
            item.add_marker(pytest.mark.timeout(120))


# --- CATS: the sandbox with the companies the fixture pages name ---------------------------------------


@dataclass
class E2eCats:
    sandbox: SandboxHandle
    owner_id: int
    #: CATS company ids by name.
    companies: dict[str, int]


#: Companies arranged for the fixture pages: an exact-name match with a look-alike (public-2024),
#: and a company spelled differently from the profile, for the picker (loggedin-2019).
E2E_COMPANIES: Final = (
    ("Northwind Analytics GmbH", "https://www.northwind-analytics.de", "+49 30 555 0100"),
    ("Northwind Analytics", "https://northwind-analytics.com", None),
    ("Rivermark Freight Italia S.r.l.", "https://www.rivermark-freight.it", "+39 02 555 0199"),
    ("Maven AGI", "https://www.mavenagi.com", None),
)


@pytest.fixture
async def e2e_cats(sandbox_factory: SandboxFactory) -> E2eCats:
    """A sandbox with some seeded companies plus E2E_COMPANIES, owned by a named recruiter."""
    sandbox = await sandbox_factory(seed=20, seed_random=0)
    store = sandbox.store
    owner = store.create_user(username="dana.smith", first_name="Dana", last_name="Smith", title="Recruiter")
    companies = {}
    for name, website, phone in E2E_COMPANIES:
        body: dict[str, Any] = {"name": name, "owner_id": owner, "website": website}
        if phone:
            body["phones"] = [{"number": phone, "type": "main"}]
        companies[name] = store.create_record("companies", body)
    return E2eCats(sandbox, owner, companies)


@pytest.fixture
async def companion(daemon_factory: DaemonFactory, e2e_cats: E2eCats) -> RunningDaemon:
    """The daemon against the sandbox, its company cache synced once, the CATS connection checked."""
    daemon = await daemon_factory(
        key=e2e_cats.sandbox.key,
        cats_base_url=e2e_cats.sandbox.url,
        extension_origins=(EXTENSION_ORIGIN,),
        sync=SyncPolicy(automatic=False),
    )
    sync = daemon.companion.sync
    assert sync is not None, "a daemon with a key has a sync scheduler"
    assert sync.request(full=True)
    async with asyncio.timeout(30):
        await sync.wait_for_run(0)
        if daemon.companion.check_task is not None:
            await daemon.companion.check_task
    return daemon


# --- the fixture pages --------------------------------------------------------------------------------


@dataclass
class FixtureSite:
    url: str

    def profile(self, page: str) -> str:
        """The address of tests/fixtures/pages/<page>.html, shaped like a profile: /in/<page>/."""
        return f"{self.url}/in/{page}/"


_PAGE_NAME = re.compile(r"^[a-z0-9-]+$")


@pytest.fixture
async def fixture_site() -> AsyncIterator[FixtureSite]:
    """The saved profile pages on 127.0.0.1 (a random port) under /in/<page>/."""

    async def profile(request: web.Request) -> web.StreamResponse:
        name = request.match_info["page"]
        path = PAGES_DIR / f"{name}.html"
        if not _PAGE_NAME.match(name) or not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Content-Type": "text/html; charset=utf-8"})

    app = web.Application()
    app.router.add_get("/in/{page}/", profile)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = next(address[1] for address in runner.addresses if isinstance(address, tuple))
    try:
        yield FixtureSite(f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()


# --- Chromium with the extension and the native host ---------------------------------------------------


@dataclass
class ExtensionBrowser:
    context: BrowserContext
    worker: Worker
    extension_id: str
    profile_dir: Path
    errors: list[str]

    def page_url(self, path: str) -> str:
        return f"chrome-extension://{self.extension_id}/{path}"

    async def open(self, url: str) -> Page:
        page = await self.context.new_page()
        page.on("pageerror", lambda error: self.errors.append(f"{url}: {error}"))
        await page.goto(url)
        return page

    async def stop_service_worker(self) -> None:
        """Stop the extension's worker as Chrome does when idle (Playwright keeps it awake otherwise)."""
        page = await self.context.new_page()
        try:
            cdp = await self.context.new_cdp_session(page)
            await cdp.send("ServiceWorker.enable")
            await cdp.send("ServiceWorker.stopAllWorkers")
            await cdp.detach()
        finally:
            await page.close()


def install_host(profile_dir: Path) -> None:
    """`cats-companion install-host --user-data-dir DIR`, as a user would run it (under this test's home)."""
    result = subprocess.run(
        [sys.executable, "-m", "companion", "install-host", "--user-data-dir", str(profile_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (profile_dir / "NativeMessagingHosts" / "com.cats_companion.host.json").is_file()


@pytest.fixture
async def extension_browser(tmp_path: Path) -> AsyncIterator[ExtensionBrowser]:
    """Headless Chromium with the test build of the extension and the native host installed."""
    extension = build_test_extension(tmp_path / "extension")
    profile_dir = tmp_path / "chromium-profile"
    profile_dir.mkdir()
    install_host(profile_dir)
    # The host inherits the browser's environment: this test's CATS_COMPANION_HOME (where it finds
    # the daemon's runtime file), and no autostart, so only the test's own daemon ever answers.
    env: dict[str, str | float | bool] = {**os.environ, AUTOSTART_ENV: "0"}
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(profile_dir),
            executable_path=CHROMIUM,
            headless=True,
            args=[
                f"--disable-extensions-except={extension}",
                f"--load-extension={extension}",
                *CHROMIUM_ARGS,
            ],
            ignore_default_args=["--disable-extensions"],
            env=env,
            viewport=VIEWPORT,  # type: ignore[arg-type]
            timeout=TIMEOUT_MS,
        )
        context.set_default_timeout(TIMEOUT_MS)
        try:
            prefix = f"chrome-extension://{EXTENSION_ID}/"
            worker = next((w for w in context.service_workers if w.url.startswith(prefix)), None)
            if worker is None:
                worker = await context.wait_for_event(
                    "serviceworker", predicate=lambda w: w.url.startswith(prefix), timeout=TIMEOUT_MS
                )
            browser = ExtensionBrowser(context, worker, EXTENSION_ID, profile_dir, [])
            yield browser
        finally:
            await context.close()
    # A script error in the extension's pages is a bug even when the test's own checks passed.
    assert not browser.errors, browser.errors


# --- helpers for tests --------------------------------------------------------------------------------


async def card_state(page: Page, state: str) -> None:
    """Wait until the card's company section shows `state` (loading, match, confirmed, no-match, error...)."""
    await page.locator(f'{CARD} section.company[data-state="{state}"]').wait_for(timeout=TIMEOUT_MS)


async def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Save artifacts/e2e/<name>.png and check it is a real picture."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    assert path.stat().st_size > 5_000
    return path
