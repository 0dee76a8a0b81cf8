"""Profile layouts the parser once read wrongly, as the card shows them in real headless Chromium."""

from __future__ import annotations

import pytest

from companion.server.daemon import RunningDaemon
from tests.e2e.conftest import CARD, ExtensionBrowser, FixtureSite, card_state, screenshot

pytestmark = pytest.mark.e2e


async def test_a_person_between_jobs_gets_no_invented_company_and_the_card_says_so(
    extension_browser: ExtensionBrowser, fixture_site: FixtureSite, companion: RunningDaemon
) -> None:
    page = await extension_browser.open(fixture_site.profile("loggedin-2024-between-jobs"))
    # Every job on the profile has ended: no company is looked up (not the headline's stale
    # "Corvid Cloud" either), and the card says so instead of inventing one.
    await card_state(page, "no-company")
    person = await page.locator(f"{CARD} .person-line").inner_text()
    assert person == "Dmitri Volkov · no current job on the profile"
    heading = await page.locator(f"{CARD} section.company .company-name").inner_text()
    assert heading == "No current company on this profile"
    await screenshot(page, "card-between-jobs")


async def test_a_single_role_with_a_media_attachment_shows_its_own_title_and_company(
    extension_browser: ExtensionBrowser, fixture_site: FixtureSite, companion: RunningDaemon
) -> None:
    page = await extension_browser.open(fixture_site.profile("loggedin-2024-media"))
    person_line = page.locator(f"{CARD} .person-line")
    await person_line.wait_for()
    assert (
        await person_line.inner_text() == "Ingrid Solberg · Senior Product Manager at Tidewater Payments AS"
    )
