"""The settings window's Shared companies section, in real headless Chromium: an admin undoes a company a
member confirmed for the team, against the real PostgreSQL cluster and the CATS sandbox."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.fixtures.daemon import DaemonFactory
from tests.server.window.conftest import (
    WindowClientFactory,
    open_window,
    screenshot,
    show_section,
)
from tests.team.conftest import team_db  # noqa: F401 (the fixture)
from tests.team.test_shared_aliases import KEY, PROFILE, a_cached_company, confirmed_by, joined_as_admin
from tests.team.test_shared_cache import Team, holds, synced, team, until  # noqa: F401 (fixtures)


async def test_an_admin_sees_who_confirmed_a_company_for_the_team_and_undoes_it(
    page: Page,
    daemon_factory: DaemonFactory,
    window_client: WindowClientFactory,
    team: Team,  # noqa: F811
) -> None:
    alice_role = await team.add("alice")
    await joined_as_admin(team)
    alice = await team.companion("alice")
    await until(lambda: synced(alice, team.cats), "alice synced")
    company = await a_cached_company(alice)
    await alice.lookup.confirm(PROFILE, company)

    home = team.root / "chief"
    daemon = await daemon_factory(
        cats_base_url=team.cats.url, config_dir=home / "config", data_dir=home / "data"
    )
    chief = daemon.companion
    await until(holds(lambda: confirmed_by(chief) == alice_role), "the admin's companion has it")

    client = await window_client(daemon)
    await open_window(page, await client.new_link())
    await expect(page.locator("#nav-aliases")).to_be_visible()
    await show_section(page, "aliases")
    row = page.locator(f"#team-aliases tr[data-kind='{KEY[0]}'][data-key='{KEY[1]}']")
    await expect(row).to_contain_text(alice_role)
    await screenshot(page, "shared-companies")

    await row.get_by_role("button", name="Undo").click()
    await expect(page.locator("#toast")).to_contain_text("Undone for the whole team")
    await expect(row).to_have_count(0)
    assert not chief.lookup.lookup(PROFILE).confirmed
    await until(holds(lambda: not alice.lookup.lookup(PROFILE).confirmed), "alice's lookup stops using it")

    await page.check("#show-undone")
    await expect(row).to_have_attribute("data-undone", "true")
    await expect(row).to_contain_text(f"Undone by {team.db.admin}")
