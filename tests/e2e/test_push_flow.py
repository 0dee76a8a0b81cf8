"""The person panel in real Chromium: push as Candidate and as Contact, campaigns and outreach notes,
mandatory fields, and pushing on after Chrome stopped the service worker -- checked in the sandbox's store."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Locator, Page
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

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

PANEL = f"{CARD} [data-panel=person]"


def team_owner(companion: RunningDaemon, cats: E2eCats) -> None:
    """A Contact needs an owner in CATS: the team's default owner, as an admin would set it."""
    settings = companion.companion.settings
    assert settings is not None
    settings.patch({"sync.contacts.default_owner_id": cats.owner_id})


async def open_panel(browser: ExtensionBrowser, site: FixtureSite, page_name: str) -> tuple[Page, Locator]:
    page = await browser.open(site.profile(page_name))
    await card_state(page, "match")
    panel = page.locator(PANEL)
    await panel.locator("[data-action=push]").wait_for(timeout=TIMEOUT_MS)
    return page, panel


async def wait_synced(panel: Locator, kind: str = "record", count: int = 1) -> str:
    """Wait until `count` items of `kind` are synced; returns the newest one's link ('' without one)."""
    synced = panel.locator(f"[data-role=items] li[data-kind={kind}][data-state=synced]")
    try:
        await synced.nth(count - 1).wait_for(timeout=TIMEOUT_MS)
    except PlaywrightTimeoutError:
        # Say what the panel shows instead (a refusal, a failed item...), not just "timeout".
        raise AssertionError(f"no synced {kind} item; the panel says: {await panel.inner_text()}") from None
    link = synced.first.locator("a")
    return (await link.get_attribute("href") or "") if await link.count() else ""


def records_named(cats: E2eCats, resource: str, first: str, last: str) -> list[dict[str, Any]]:
    rows = cats.sandbox.store.list_records(resource, 1, 100).items
    return [r for r in rows if (r["first_name"], r["last_name"]) == (first, last)]


def activities(cats: E2eCats, resource: str, record_id: int) -> list[dict[str, Any]]:
    return list(cats.sandbox.store.list_record_activities(resource, record_id, 1, 100).items)


async def test_push_as_candidate_then_as_contact_creates_both_records(
    extension_browser: ExtensionBrowser,
    fixture_site: FixtureSite,
    companion: RunningDaemon,
    e2e_cats: E2eCats,
) -> None:
    team_owner(companion, e2e_cats)
    page, panel = await open_panel(extension_browser, fixture_site, "public-2024")
    assert await panel.locator("[data-known]").get_attribute("data-known") == "no"
    first_name = panel.locator("[data-field=first_name]")
    last_name = panel.locator("[data-field=last_name]")
    assert (await first_name.input_value(), await last_name.input_value()) == ("Lena", "Fischer")
    await panel.locator("[data-row=first_name] .cc-required").wait_for()

    await panel.locator("[data-action=push]").click()
    link = await wait_synced(panel)
    [candidate] = records_named(e2e_cats, "candidates", "Lena", "Fischer")
    assert link.endswith(f"candidateID={candidate['id']}")
    assert await panel.locator("[data-known=candidates]").count() == 1
    await screenshot(page, "card-panel-candidate")

    await panel.locator("[data-sync-as=contacts]").click()
    company = panel.locator("[data-field=company_id]")
    assert await company.input_value() == str(e2e_cats.companies["Northwind Analytics GmbH"])
    await panel.locator("[data-action=push]").click()
    await wait_synced(panel, count=2)
    [contact] = records_named(e2e_cats, "contacts", "Lena", "Fischer")
    assert contact["company_id"] == e2e_cats.companies["Northwind Analytics GmbH"]
    assert contact["owner_id"] == e2e_cats.owner_id
    assert len(records_named(e2e_cats, "candidates", "Lena", "Fischer")) == 1, "no duplicate candidate"


async def test_campaign_outreach_becomes_a_note_on_the_record(
    extension_browser: ExtensionBrowser,
    fixture_site: FixtureSite,
    companion: RunningDaemon,
    e2e_cats: E2eCats,
) -> None:
    page, panel = await open_panel(extension_browser, fixture_site, "public-2024")
    await panel.locator("[data-action=push]").click()
    await wait_synced(panel)
    [candidate] = records_named(e2e_cats, "candidates", "Lena", "Fischer")

    await panel.locator("[data-role=new-campaign]").fill("Spring data hiring")
    await panel.locator("[data-action=create-campaign]").click()
    await panel.locator("[data-action=add-to-campaign]:not([disabled])").click()
    email = panel.locator("[data-outreach=email_sent]:not([disabled])")
    await email.click()
    await panel.locator("[data-role=message]", has_text="Email recorded").wait_for()
    await wait_synced(panel, kind="note")
    inmail = panel.locator("[data-outreach=inmail]")
    await inmail.click()
    await wait_synced(panel, kind="note", count=2)
    notes = activities(e2e_cats, "candidates", candidate["id"])
    # The settings' defaults: an email is an `email` activity, InMail `other` (notes_upon.*).
    assert sorted(note["type"] for note in notes) == ["email", "other"]
    await screenshot(page, "card-panel-campaign")


async def test_a_mandatory_field_left_empty_is_refused_until_it_is_filled(
    extension_browser: ExtensionBrowser,
    fixture_site: FixtureSite,
    companion: RunningDaemon,
    e2e_cats: E2eCats,
) -> None:
    settings = companion.companion.settings
    assert settings is not None
    settings.patch(
        {
            "sync.candidates.displayed_fields": ["emails", "title", "key_skills"],
            "sync.candidates.mandatory_fields": ["first_name", "last_name", "key_skills"],
        }
    )
    page, panel = await open_panel(extension_browser, fixture_site, "public-2024")
    await e2e_cats.sandbox.control.reset_counters()
    await panel.locator("[data-action=push]").click()
    await panel.locator("[data-error-for=key_skills]", has_text="Required").wait_for()
    await screenshot(page, "card-panel-mandatory")
    outbox = await companion.companion.db.fetchone("SELECT count(*) FROM outbox")
    assert outbox is not None and outbox[0] == 0
    assert (await e2e_cats.sandbox.control.counters())["requests_total"] == 0

    await panel.locator("[data-field=key_skills]").fill("Python, dbt")
    await panel.locator("[data-action=push]").click()
    await wait_synced(panel)
    [candidate] = records_named(e2e_cats, "candidates", "Lena", "Fischer")
    assert candidate["key_skills"] == "Python, dbt"


async def test_pushing_goes_on_after_chrome_stops_the_service_worker(
    extension_browser: ExtensionBrowser,
    fixture_site: FixtureSite,
    companion: RunningDaemon,
    e2e_cats: E2eCats,
) -> None:
    team_owner(companion, e2e_cats)
    _, panel = await open_panel(extension_browser, fixture_site, "public-2024")
    await extension_browser.stop_service_worker()
    await panel.locator("[data-action=push]").click()
    await wait_synced(panel)
    assert len(records_named(e2e_cats, "candidates", "Lena", "Fischer")) == 1

    await extension_browser.stop_service_worker()
    await panel.locator("[data-sync-as=contacts]").click()
    await panel.locator("[data-action=push]").click()
    await wait_synced(panel, count=2)
    assert len(records_named(e2e_cats, "contacts", "Lena", "Fischer")) == 1
