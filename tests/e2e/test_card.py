"""The company card, the popup and the options page in real headless Chromium, via the host and the daemon."""

from __future__ import annotations

import asyncio

import pytest

from companion.matching import CompanyQuery
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


async def test_card_shows_the_matched_company_with_its_fields_and_a_look_alike_warning(
    extension_browser: ExtensionBrowser, fixture_site: FixtureSite, companion: RunningDaemon
) -> None:
    page = await extension_browser.open(fixture_site.profile("public-2024"))
    await card_state(page, "match")
    company = page.locator(f"{CARD} section.company")
    assert await company.locator(".company-name").inner_text() == "Northwind Analytics GmbH"
    assert await company.locator(".badge").inner_text() == "Likely match"
    fields = await company.locator(".fields").inner_text()
    # "Displayed company info", in its order, with the owner's name rather than an id.
    assert (
        fields.index("northwind-analytics.de") < fields.index("+49 30 555 0100") < fields.index("Dana Smith")
    )
    warning = await company.locator(".warnings").inner_text()
    assert "Northwind Analytics" in warning
    person = await page.locator(f"{CARD} .person-line").inner_text()
    assert person.startswith("Lena Fischer")
    footer = await page.locator(f"{CARD} .footer").inner_text()
    assert "Cache synced" in footer
    await screenshot(page, "card-match-with-warning")


async def test_picking_a_company_confirms_it_and_a_reload_shows_it_confirmed(
    extension_browser: ExtensionBrowser,
    fixture_site: FixtureSite,
    companion: RunningDaemon,
    e2e_cats: E2eCats,
) -> None:
    page = await extension_browser.open(fixture_site.profile("loggedin-2019"))
    await page.locator(
        f"{CARD} section.company[data-state='no-match'], {CARD} section.company[data-state='match']"
    ).wait_for()
    await page.locator(f"{CARD} button.choose").click()
    search = page.locator(f"{CARD} .picker input")
    await search.fill("Rivermark")
    wanted = e2e_cats.companies["Rivermark Freight Italia S.r.l."]
    option = page.locator(f"{CARD} .option[data-company-id='{wanted}']")
    await option.wait_for()
    await screenshot(page, "card-picker")
    # Keyboard: the first hit is active; Enter chooses it.
    assert await page.locator(f"{CARD} .option").first.get_attribute("data-company-id") == str(wanted)
    await search.press("Enter")
    await card_state(page, "confirmed")
    assert await page.locator(f"{CARD} .company-name").inner_text() == "Rivermark Freight Italia S.r.l."
    assert await page.locator(f"{CARD} .badge").inner_text() == "Confirmed"

    # The daemon remembered it as an alias of the profile's company...
    lookup = companion.companion.lookup
    assert lookup is not None
    remembered = lookup.lookup(CompanyQuery(name="Rivermark Freight S.p.A."))
    assert remembered.match is not None and remembered.match.company_id == wanted and remembered.confirmed

    # ...so the next visit shows it confirmed straight away.
    await page.reload()
    await card_state(page, "confirmed")
    await screenshot(page, "card-confirmed")


async def test_the_card_keeps_working_after_chrome_stops_the_service_worker(
    extension_browser: ExtensionBrowser, fixture_site: FixtureSite, companion: RunningDaemon
) -> None:
    page = await extension_browser.open(fixture_site.profile("public-2024"))
    await card_state(page, "match")
    started = await extension_browser.worker.evaluate("companion.state().phase")
    assert started == "connected"

    await extension_browser.stop_service_worker()
    # A new worker instance starts on the next message; it knows nothing of the old port.
    await page.reload()
    await card_state(page, "match")
    assert await extension_browser.worker.evaluate("companion.state().phase") == "connected"

    # The picker, which sends more messages through the new worker, works too.
    await page.locator(f"{CARD} button.choose").click()
    await page.locator(f"{CARD} .picker input").fill("Northwind")
    await page.locator(f"{CARD} .option").first.wait_for()
    assert await page.locator(f"{CARD} .option").count() >= 2


async def test_the_card_is_collapsible_from_the_keyboard_and_leaves_the_page_alone(
    extension_browser: ExtensionBrowser, fixture_site: FixtureSite, companion: RunningDaemon
) -> None:
    page = await extension_browser.open(fixture_site.profile("loggedin-2024"))
    await card_state(page, "match")
    # The page's own layout is untouched: only our host element is added, outside <body>.
    assert await page.evaluate("document.body.querySelectorAll('#cats-companion-card').length") == 0
    toggle = page.locator(f"{CARD} button.toggle")
    await toggle.focus()
    await page.keyboard.press("Enter")
    assert await toggle.get_attribute("aria-expanded") == "false"
    assert not await page.locator(f"{CARD} .body").is_visible()
    await page.keyboard.press("Enter")
    assert await toggle.get_attribute("aria-expanded") == "true"
    assert await page.locator(f"{CARD} section.company").is_visible()


async def test_the_card_says_when_the_companion_is_not_running(
    extension_browser: ExtensionBrowser, fixture_site: FixtureSite, companion: RunningDaemon
) -> None:
    await companion.close()
    page = await extension_browser.open(fixture_site.profile("public-2024"))
    await card_state(page, "error")
    problem = page.locator(f"{CARD} section.company .notice")
    assert await problem.get_attribute("data-code") == "daemon.unavailable"
    assert "not running" in await problem.inner_text()
    await screenshot(page, "card-companion-not-running")


async def test_popup_shows_a_green_connection_the_cache_age_and_the_api_budget(
    extension_browser: ExtensionBrowser, companion: RunningDaemon
) -> None:
    page = await extension_browser.open(extension_browser.page_url("popup/popup.html"))
    await page.locator("body[data-ready='true']").wait_for()
    assert await page.locator("#connection").get_attribute("data-tone") == "ok"
    assert await page.locator("#connection-title").inner_text() == "Connected to CATS"
    assert "companies" in await page.locator("#cache").inner_text()
    budget = await page.locator("#budget-label").inner_text()
    assert "requests left this hour" in budget

    await page.locator("#lookup-input").fill("Northwind Analytics GmbH")
    await page.locator("#lookup-form button").click()
    result = page.locator("#lookup-result .result")
    await result.wait_for()
    assert await result.get_attribute("data-state") == "match"
    await page.set_viewport_size({"width": 340, "height": 560})
    await screenshot(page, "popup", full_page=True)


async def test_popup_says_red_what_to_do_when_the_companion_is_not_running(
    extension_browser: ExtensionBrowser,
) -> None:
    page = await extension_browser.open(extension_browser.page_url("popup/popup.html"))
    await page.locator("body[data-ready='true']").wait_for()
    assert await page.locator("#connection").get_attribute("data-tone") == "bad"
    assert await page.locator("#connection-title").inner_text() == "The companion is not running"
    # How to fix it is said once, whether the host's message or our hint says it.
    assert (await page.locator("#connection").inner_text()).count("cats-companion serve") == 1


async def test_options_page_opens_the_settings_window_with_a_one_time_link(
    extension_browser: ExtensionBrowser, companion: RunningDaemon
) -> None:
    page = await extension_browser.open(extension_browser.page_url("options/options.html"))
    async with asyncio.timeout(TIMEOUT_MS / 1000):
        await page.wait_for_url(f"{companion.url}/window/**")
    # The link was spent: the window's session cookie is set, and the window itself loads.
    assert page.url.startswith(f"{companion.url}/window/")
