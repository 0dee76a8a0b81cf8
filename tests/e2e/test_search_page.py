"""The CRM search page in real Chromium: the team's filterable fields as filters, one CATS request a page."""

from __future__ import annotations

from playwright.async_api import Page

from companion.server.daemon import RunningDaemon
from tests.e2e.conftest import TIMEOUT_MS, E2eCats, ExtensionBrowser, screenshot

ENGINEERS = 30


def add_engineers(cats: E2eCats) -> set[int]:
    """More matching candidates than one page of 25 holds."""
    return {
        cats.sandbox.store.create_record(
            "candidates",
            {"first_name": f"Test{n:02d}", "last_name": "Builder", "title": "Platform Engineer"},
        )
        for n in range(ENGINEERS)
    }


async def open_search(browser: ExtensionBrowser) -> Page:
    page = await browser.open(browser.page_url("search/search.html"))
    await page.locator("body[data-state=ready]").wait_for(timeout=TIMEOUT_MS)
    return page


async def search_requests(cats: E2eCats) -> dict[str, int]:
    counters = await cats.sandbox.control.counters()
    return {
        route: n for route, n in counters["requests"].items() if "search" in route or route.endswith("/site")
    }


async def test_a_filtered_search_pages_through_cats_one_request_per_page(
    extension_browser: ExtensionBrowser, companion: RunningDaemon, e2e_cats: E2eCats
) -> None:
    added = add_engineers(e2e_cats)
    stored = e2e_cats.sandbox.store.list_records("candidates", 1, 200).items
    matching = [c["id"] for c in stored if "engineer" in (c["title"] or "").lower()]
    page = await open_search(extension_browser)
    fields = page.locator("select.field").first
    await page.locator("#add-filter").click()
    assert await fields.input_value() == "title"
    await page.locator("select.op").first.select_option("contains")
    await page.locator(".filter input.value").first.fill("engineer")

    await e2e_cats.sandbox.control.reset_counters()
    await page.locator("#run").click()
    await page.locator("body[data-state=results]").wait_for(timeout=TIMEOUT_MS)
    first_rows = await page.locator("#results tbody tr").count()
    requests = await search_requests(e2e_cats)
    assert requests.pop("POST /v3/candidates/search") == 1
    # Links to CATS need the site's subdomain: asked once per install, if nobody has yet.
    assert requests in ({}, {"GET /v3/site": 1})
    assert first_rows == 25
    assert f"of {len(matching)}" in await page.locator("#page-summary").inner_text()
    link = page.locator("#results tbody tr a").first
    assert (await link.get_attribute("href") or "").startswith(
        "https://sandbox.catsone.com/index.php?m=candidates"
    )
    await screenshot(page, "search-page", full_page=True)

    await e2e_cats.sandbox.control.reset_counters()
    await page.locator("#next:not([disabled])").click()
    await page.locator("#page-summary", has_text="page 2 of 2").wait_for(timeout=TIMEOUT_MS)
    assert await search_requests(e2e_cats) == {"POST /v3/candidates/search": 1}
    assert (await e2e_cats.sandbox.control.counters())["requests_total"] == 1
    second = {
        int(await row.get_attribute("data-record") or 0)
        for row in await page.locator("#results tbody tr").all()
    }
    assert len(second) == len(matching) - 25
    assert second <= set(matching) and second & added
    assert await page.locator("#next").is_disabled()


async def test_a_bad_filter_is_shown_on_its_row_and_costs_no_request(
    extension_browser: ExtensionBrowser, companion: RunningDaemon, e2e_cats: E2eCats
) -> None:
    page = await open_search(extension_browser)
    await page.locator("#add-filter").click()
    await e2e_cats.sandbox.control.reset_counters()
    await page.locator("#run").click()
    await page.locator(".filter .error", has_text="Enter some text").wait_for(timeout=TIMEOUT_MS)
    assert (await e2e_cats.sandbox.control.counters())["requests_total"] == 0


async def test_contacts_offer_their_own_filters(
    extension_browser: ExtensionBrowser, companion: RunningDaemon, e2e_cats: E2eCats
) -> None:
    page = await open_search(extension_browser)
    await page.locator("[data-record-type=contacts]").click()
    await page.locator("[data-record-type=contacts][aria-pressed=true]").wait_for()
    await page.locator("body[data-state=ready]").wait_for(timeout=TIMEOUT_MS)
    await page.locator("#add-filter").click()
    options = await page.locator("select.field").first.locator("option").all_inner_texts()
    assert "Company" in options and "Current employer" not in options
    await page.locator("#run").click()
    await page.locator(".filter .error").wait_for(timeout=TIMEOUT_MS)  # the empty row is refused first
    await page.locator(".filter button.remove").click()
    await page.locator("#run").click()
    await page.locator("body[data-state=results]").wait_for(timeout=TIMEOUT_MS)
    total = e2e_cats.sandbox.store.record_counts()["contacts"]
    assert f"of {total}" in await page.locator("#page-summary").inner_text()
