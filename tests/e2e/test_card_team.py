"""The card and the popup of a member of a team, in real headless Chromium: the team line, the cache copied
from the team, and a company a teammate confirmed, with who; against PostgreSQL and the CATS sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from companion.matching import CompanyQuery
from companion.team import admin
from companion.team.site import CatsSite
from tests.e2e.conftest import (
    CARD,
    EXTENSION_ORIGIN,
    E2eCats,
    ExtensionBrowser,
    FixtureSite,
    card_state,
    screenshot,
)
from tests.fixtures.daemon import DaemonFactory
from tests.team.conftest import TeamDb, team_db  # noqa: F401 (the fixture)
from tests.team.test_shared_cache import Team, holds, synced, until

pytestmark = pytest.mark.e2e


async def test_a_members_card_and_popup_show_the_team_and_a_teammates_confirmation(
    extension_browser: ExtensionBrowser,
    fixture_site: FixtureSite,
    e2e_cats: E2eCats,
    daemon_factory: DaemonFactory,
    team_db: TeamDb,  # noqa: F811
    tmp_path: Path,
) -> None:
    cats = e2e_cats.sandbox
    team = Team(team_db, cats, tmp_path / "team")
    await admin.init_team(
        team_db.dsn(), team_db.admin_password, CatsSite(cats.url, None), companion_version="e2e"
    )
    alice_role = await team.add("alice")
    await team.add("bob")
    try:
        alice = await team.companion("alice")
        await until(lambda: synced(alice, cats), "alice synced the team's companies")
        rivermark = e2e_cats.companies["Rivermark Freight Italia S.r.l."]
        await alice.lookup.confirm(CompanyQuery(name="Rivermark Freight S.p.A."), rivermark)

        # Bob is the extension's user: his daemon has no CATS key, so alice syncs for the team.
        home = team.root / "bob"
        bob = await daemon_factory(
            cats_base_url=cats.url,
            config_dir=home / "config",
            data_dir=home / "data",
            extension_origins=(EXTENSION_ORIGIN,),
        )
        await until(lambda: synced(bob.companion, cats), "bob replicated the companies")
        await until(
            holds(lambda: bob.companion.team is not None and bob.companion.team.syncer == alice_role),
            "bob knows who syncs",
        )

        page = await extension_browser.open(fixture_site.profile("loggedin-2019"))
        await card_state(page, "confirmed")
        company = page.locator(f"{CARD} section.company")
        assert await company.locator(".company-name").inner_text() == "Rivermark Freight Italia S.r.l."
        assert f"Confirmed for the team by {alice_role} on" in await company.inner_text()
        assert await company.locator(".team-line").inner_text() == f"Team: {alice_role} syncs"
        assert "copied from the team" in await page.locator(f"{CARD} .footer").inner_text()
        await screenshot(page, "card-team-confirmed")

        popup = await extension_browser.open(extension_browser.page_url("popup/popup.html"))
        await popup.locator("body[data-ready='true']").wait_for()
        assert await popup.locator("#team").is_visible()
        assert await popup.locator("#team-state").inner_text() == "Connected to the team"
        assert f"{alice_role} syncs the team's companies" in await popup.locator("#team-detail").inner_text()
        await popup.set_viewport_size({"width": 340, "height": 640})
        await screenshot(popup, "popup-team", full_page=True)
    finally:
        for opened in reversed(team.opened):
            await opened.close()
