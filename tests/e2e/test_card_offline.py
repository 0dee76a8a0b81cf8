"""In real Chromium: with CATS stopped the card says offline (since when, why) and recovers by itself;
with the keyring locked the popup says so and how to unlock it."""

from __future__ import annotations

import asyncio

import pytest

from companion.errors import KeyringLockedError
from companion.sandbox.app import start_sandbox
from companion.secret import ApiKey
from companion.server.daemon import RunningDaemon
from tests.e2e.conftest import (
    CARD,
    TIMEOUT_MS,
    E2eCats,
    ExtensionBrowser,
    FixtureSite,
    card_state,
    screenshot,
)
from tests.fixtures.daemon import DaemonFactory

pytestmark = pytest.mark.e2e


async def sync_once(daemon: RunningDaemon) -> None:
    sync = daemon.companion.sync
    assert sync is not None
    runs = sync.runs_ended
    assert sync.request(full=False)
    async with asyncio.timeout(30):
        await sync.wait_for_run(runs)


async def test_with_cats_stopped_the_card_says_offline_since_when_and_why_and_recovers_by_itself(
    extension_browser: ExtensionBrowser,
    fixture_site: FixtureSite,
    companion: RunningDaemon,
    e2e_cats: E2eCats,
) -> None:
    page = await extension_browser.open(fixture_site.profile("public-2024"))
    await card_state(page, "match")
    dot = page.locator(f"{CARD} .dot")
    await page.locator(f'{CARD} .dot[data-state="connected"]').wait_for(timeout=TIMEOUT_MS)
    assert await dot.get_attribute("data-tone") == "ok"

    sandbox = e2e_cats.sandbox
    port = int(sandbox.url.split(":")[2].split("/")[0])
    config = sandbox.running.config
    await sandbox.running.close()
    await sync_once(companion)  # fails: CATS cannot be reached

    # The card follows the daemon's cache.state event: nobody reloads the page.
    await page.locator(f'{CARD} .dot[data-state="offline"]').wait_for(timeout=TIMEOUT_MS)
    assert await dot.get_attribute("data-tone") == "warn"
    label = await dot.get_attribute("aria-label")
    assert label is not None and label.startswith("Offline — companies as of ")
    assert label.endswith("UTC (CATS cannot be reached)")
    footer = await page.locator(f"{CARD} .footer").inner_text()
    assert footer == f"{label}."
    # Still answering from the cache.
    assert (
        await page.locator(f"{CARD} section.company .company-name").inner_text() == "Northwind Analytics GmbH"
    )
    await screenshot(page, "card-offline")

    back = await start_sandbox(config, port=port)
    try:
        await sync_once(companion)
        await page.locator(f'{CARD} .dot[data-state="connected"]').wait_for(timeout=TIMEOUT_MS)
        assert await dot.get_attribute("data-tone") == "ok"
        assert "Cache synced" in await page.locator(f"{CARD} .footer").inner_text()
    finally:
        await back.close()


async def test_with_the_keyring_locked_the_popup_says_so_and_how_to_unlock_it(
    extension_browser: ExtensionBrowser, daemon_factory: DaemonFactory
) -> None:
    def locked(base_url: str) -> ApiKey | None:
        raise KeyringLockedError("Could not read the keyring: it is locked and was not unlocked")

    await daemon_factory(key_source=locked)
    page = await extension_browser.open(extension_browser.page_url("popup/popup.html"))
    await page.locator("body[data-ready='true']").wait_for()
    assert await page.locator("#connection").get_attribute("data-tone") == "bad"
    assert await page.locator("#connection-title").inner_text() == "The keyring is locked"
    fix = await page.locator("#connection-fix").inner_text()
    assert fix.startswith("Unlock it:")
    assert "add the key" not in (await page.locator("#connection").inner_text())
    assert await page.locator("#budget-label").inner_text() == "The keyring is locked: nothing is spent."
    await screenshot(page, "popup-keyring-locked", full_page=True)
