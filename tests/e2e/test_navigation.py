"""The card across LinkedIn's in-app navigation (pushState, no page load), in real headless Chromium.

The pages are served as https://www.linkedin.com/... by Playwright's request interception (nothing
leaves the machine), so the shipped manifest's own `https://*.linkedin.com/*` match decides where
the content script runs: on the loopback fixture site the test build matches every path, which
would hide a content script missing from non-profile pages.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Final
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, Route

from companion.server.daemon import RunningDaemon
from tests.e2e.conftest import CARD, PAGES_DIR, ExtensionBrowser, card_state, screenshot

pytestmark = pytest.mark.e2e

LINKEDIN: Final = "https://www.linkedin.com"
FEED: Final = f"{LINKEDIN}/feed/"
_PROFILE_PATH: Final = re.compile(r"^/in/([a-z0-9-]+)/$")

# What a single-page app does on a link click: push the new address, then render the new page in
# place. The head keeps its other nodes; the title, the page's styles and what the extraction reads
# there (JSON-LD, canonical, og:) change, and the body is swapped, so the card's host element on
# <html> stays where it is.
_NAVIGATE_IN_APP: Final = """([path, html]) => {
  const next = new DOMParser().parseFromString(html, "text/html");
  history.pushState({}, "", path);
  const perPage = 'style, script[type="application/ld+json"], link[rel="canonical"], meta[property^="og:"]';
  for (const node of document.head.querySelectorAll(perPage)) node.remove();
  document.head.append(...next.head.querySelectorAll(perPage));
  document.title = next.title;
  document.body.replaceWith(next.body);
}"""


def _page_html(name: str) -> str:
    return (PAGES_DIR / f"{name}.html").read_text(encoding="utf-8")


@pytest.fixture
async def linkedin(extension_browser: ExtensionBrowser) -> AsyncIterator[ExtensionBrowser]:
    """The browser with www.linkedin.com answered locally: /feed/ and /in/<fixture page>/."""

    async def answer(route: Route) -> None:
        path = urlsplit(route.request.url).path
        match = _PROFILE_PATH.match(path)
        name = "feed" if path == "/feed/" else match.group(1) if match else None
        if name is None or not (PAGES_DIR / f"{name}.html").is_file():
            await route.fulfill(status=404, content_type="text/plain", body="not a fixture page")
            return
        await route.fulfill(status=200, content_type="text/html; charset=utf-8", body=_page_html(name))

    await extension_browser.context.route(f"{LINKEDIN}/**", answer)
    yield extension_browser
    await extension_browser.context.unroute(f"{LINKEDIN}/**")


async def navigate_in_app(page: Page, path: str, fixture: str) -> None:
    await page.evaluate(_NAVIGATE_IN_APP, [path, _page_html(fixture)])


async def mark_document(page: Page) -> None:
    """Tag the page's window: the tag survives in-app navigation and is lost on any reload."""
    await page.evaluate("window.catsNoReload = true")


async def assert_not_reloaded(page: Page) -> None:
    assert await page.evaluate("window.catsNoReload === true"), "the page was reloaded"


async def test_a_profile_opened_from_the_feed_without_a_page_load_gets_the_card(
    linkedin: ExtensionBrowser, companion: RunningDaemon
) -> None:
    page = await linkedin.open(FEED)
    await mark_document(page)
    assert await page.locator(CARD).count() == 0

    await navigate_in_app(page, "/in/loggedin-2024/", "loggedin-2024")
    await card_state(page, "match")
    assert (
        await page.locator(f"{CARD} .person-line").inner_text()
        == "Aisha Rahman · Head of Talent at Maven AGI"
    )
    assert await page.locator(f"{CARD} .company-name").inner_text() == "Maven AGI"
    await assert_not_reloaded(page)
    assert page.url == f"{LINKEDIN}/in/loggedin-2024/"
    await screenshot(page, "navigation-feed-to-profile")


async def test_leaving_a_profile_in_app_hides_the_card_and_the_next_profile_shows_it_again(
    linkedin: ExtensionBrowser, companion: RunningDaemon
) -> None:
    page = await linkedin.open(f"{LINKEDIN}/in/loggedin-2024/")
    await card_state(page, "match")
    await mark_document(page)

    await navigate_in_app(page, "/feed/", "feed")
    card = page.locator(CARD)
    await card.wait_for(state="hidden")
    # Hidden by the extension, not swept away with the old page's body.
    assert await card.count() == 1
    await screenshot(page, "navigation-profile-to-feed")

    await navigate_in_app(page, "/in/public-2024/", "public-2024")
    await card.wait_for(state="visible")
    await card_state(page, "match")
    assert (await page.locator(f"{CARD} .person-line").inner_text()).startswith("Lena Fischer")
    assert await page.locator(f"{CARD} .company-name").inner_text() == "Northwind Analytics GmbH"
    await assert_not_reloaded(page)
