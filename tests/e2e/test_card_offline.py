"""With CATS stopped, the card in real Chromium says offline (since when, why) and recovers by itself."""

from __future__ import annotations

import asyncio

import pytest

from companion.sandbox.app import start_sandbox
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
