"""The team policy in the daemon: an admin edits it in the settings window, every member's companion
applies it, a member's window cannot write it, and a member started with the database down keeps
the cached locks.

Real companions (companion.app.Companion) served by the real aiohttp app (pytest-aiohttp's test
server on 127.0.0.1), signed in to the settings window through a one-time link like a browser, on
the session's PostgreSQL cluster; passwords in the test keyring, team.json in each user's config dir.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pytest
from playwright.async_api import Page, expect
from pytest_aiohttp import AiohttpClient
from yarl import URL

from companion.app import Companion, CompanionConfig
from companion.errors import SettingsLockedError
from companion.secret import DatabasePassword
from companion.server.app import create_app
from companion.server.state import ServerState
from companion.server.window.sessions import COOKIE_NAME, CSRF_HEADER
from companion.services.sync_scheduler import SyncPolicy
from companion.team import admin, local
from companion.team.credentials import TeamPasswordStore
from companion.team.link import LinkTuning
from companion.team.policy import CACHE_FILE, read_policy, write_policy
from companion.team.roles import roles_for
from tests.fixtures.daemon import DAEMON_TOKEN
from tests.server.window.conftest import (  # noqa: F401 (browser, page: its headless Chromium fixtures)
    TIMEOUT_MS,
    browser,
    open_window,
    page,
    screenshot,
    show_section,
)
from tests.team.conftest import ADMIN_PASSWORD, MEMBER_PASSWORD, SITE, TeamDb

TRIGGER = "sync.candidates.campaign_sync_trigger"
WARNING = "general.company_warning_level"
#: Every wait in these tests ends by this many seconds.
BOUND = 15.0
FAST = LinkTuning(poll_interval=1.0, lock_retry=0.2, heartbeat=0.2, backoff_first=0.1, backoff_max=0.5)


def document(trigger: str = "never", *, locked: tuple[str, ...] = (TRIGGER,)) -> dict[str, Any]:
    return {"version": 1, "defaults": {TRIGGER: trigger}, "locked": list(locked)}


async def until(check: Callable[[], bool], what: str) -> None:
    """Wait until `check()` holds; fails the test after BOUND seconds (the states looked at have no event)."""
    deadline = time.monotonic() + BOUND
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {BOUND} s: {what}")
        await asyncio.sleep(0.02)


def config_in(home: Path) -> CompanionConfig:
    """A companion of the team's CATS site, without a key (no CATS request), its files under `home`."""
    return CompanionConfig(
        cats_base_url=SITE.base_url,
        data_dir=home / "data",
        config_dir=home / "config",
        site_config_dir=home / "site",
        sync=SyncPolicy(automatic=False),
        send_outbox=False,
        check_connection=False,
        team_tuning=FAST,
    )


@dataclass
class Window:
    """The settings window of one companion: its session cookie and CSRF token, as the browser holds them."""

    companion: Companion
    client: Any
    state: ServerState
    cookie: str = ""
    csrf: str = ""

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Cookie": f"{COOKIE_NAME}={self.cookie}", CSRF_HEADER: self.csrf}
        async with self.client.request(method, path, json=body, headers=headers) as response:
            return response.status, json.loads(await response.text())

    async def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, data = await self.call(method, path, body)
        assert status == 200, (status, data)
        return data


@dataclass
class Team:
    db: TeamDb
    root: Path
    aiohttp_client: AiohttpClient
    team_id: str = ""
    opened: list[Companion] = field(default_factory=list)

    def join(self, name: str, role: str, password: str, access: Literal["admin", "member"]) -> None:
        """What `cats-companion team join` leaves: the password in the keyring, team.json in config/."""
        dsn = self.db.dsn(role)
        TeamPasswordStore().set(dsn, DatabasePassword(password))
        record = local.TeamRecord(
            dsn=dsn.url,
            team_id=self.team_id,
            cats_base_url=SITE.base_url,
            cats_subdomain=SITE.subdomain,
            role=role,
            access=access,
            joined_at=datetime.now(UTC),
        )
        local.save(record, self.root / name / "config" / local.TEAM_FILE)

    async def add_member(self, name: str) -> str:
        role = self.db.server.unique(name)
        await admin.add_member(self.db.dsn(), self.db.admin_password, role, DatabasePassword(MEMBER_PASSWORD))
        self.join(name, role, MEMBER_PASSWORD, "member")
        return role

    def add_admin(self, name: str) -> str:
        """A second admin: a login role in the team's admin group (what a managed database's owner grants)."""
        role = self.db.server.create_role(ADMIN_PASSWORD, stem=name)
        self.db.server.sql(f'GRANT "{roles_for(self.db.database).admin}" TO "{role}"')
        self.join(name, role, ADMIN_PASSWORD, "admin")
        return role

    async def companion(self, name: str) -> Companion:
        opened = await Companion.open(config_in(self.root / name), key=None)
        self.opened.append(opened)
        return opened

    async def window(self, name: str) -> Window:
        """`name`'s companion served by the daemon's app (which starts it), its settings window signed in."""
        companion = await self.companion(name)
        state = ServerState(token=DAEMON_TOKEN)
        client = await self.aiohttp_client(create_app(companion, state))
        state.http_port = client.server.port
        window = Window(companion, client, state)
        link = URL(state.window_link())
        async with client.get(link.path_qs, allow_redirects=False) as response:
            assert response.status == 303, await response.text()
            window.cookie = response.cookies[COOKIE_NAME].value
        window.csrf = (await window.ok("GET", "/api/window/session"))["csrf_token"]
        return window


@pytest.fixture
async def team(team_db: TeamDb, tmp_path: Path, aiohttp_client: AiohttpClient) -> AsyncIterator[Team]:
    outcome = await admin.init_team(team_db.dsn(), team_db.admin_password, SITE, companion_version="test")
    world = Team(team_db, tmp_path, aiohttp_client, outcome.team.team_id)
    # The admin who created the team joins it from their own companion.
    world.join("admin", team_db.admin, ADMIN_PASSWORD, "admin")
    yield world
    for opened in reversed(world.opened):
        await opened.close()


def policy_revision(companion: Companion) -> int | None:
    """The key path the team bench polls: status → team → policy → revision."""
    revision = companion.status()["team"]["policy"]["revision"]  # type: ignore[index]
    assert revision is None or isinstance(revision, int)
    return revision


def following(companion: Companion) -> Callable[[], bool]:
    return lambda: companion.team_status()["policy"]["state"] == "following"  # type: ignore[index]


async def test_an_admins_edit_in_the_window_is_in_force_on_a_members_companion(team: Team) -> None:
    await team.add_member("alice")
    admin_window = await team.window("admin")
    alice = await team.window("alice")
    await until(following(alice.companion), "alice's companion follows the team database")

    loaded = await admin_window.ok("GET", "/api/team/policy")
    assert loaded["editable"] is True and loaded["policy"] == {"version": 1, "defaults": {}, "locked": []}
    saved = await admin_window.ok(
        "PUT", "/api/team/policy", {"policy": document("never"), "revision": loaded["revision"]}
    )
    revision = saved["revision"]
    assert revision == loaded["revision"] + 1 and saved["changed_by"] == team.db.admin

    await until(lambda: (policy_revision(alice.companion) or 0) >= revision, "alice applied the edit")
    view = await alice.ok("GET", "/api/settings")
    assert view["settings"][TRIGGER] == {"value": "never", "source": "team", "locked": True}
    assert view["team_policy"]["revision"] == revision and view["team_policy"]["locked"] == [TRIGGER]
    # The window's team state: joined, connected, the policy's revision and when it was applied.
    status = await alice.ok("GET", "/api/status")
    team_state = status["team"]
    assert team_state["joined"] is True and team_state["access"] == "member"
    assert team_state["policy"]["revision"] == revision and team_state["policy"]["origin"] == "database"
    assert team_state["policy"]["changed_by"] == team.db.admin
    assert datetime.fromisoformat(team_state["policy"]["applied_at"]) <= datetime.now(UTC)

    # A user value on the setting the team database locks is refused; nothing is written.
    status_code, refused = await alice.call("PATCH", "/api/settings", {TRIGGER: "on_add"})
    assert status_code == 403 and refused["error"]["code"] == "settings.locked"
    assert refused["error"]["paths"] == [TRIGGER]
    assert not (team.root / "alice" / "config" / "settings.json").exists()
    # An unlocked one is the member's to choose.
    chosen = await alice.ok("PATCH", "/api/settings", {WARNING: "exact"})
    assert chosen["settings"][WARNING]["source"] == "user"

    # Figures, not asserts: from the admin's save in the window to the value in force on alice's companion.
    seconds = []
    for trigger in ["on_add", "when_interested", "never"] * 4:
        started = time.monotonic()
        saved = await admin_window.ok(
            "PUT", "/api/team/policy", {"policy": document(trigger), "revision": saved["revision"]}
        )
        revision = saved["revision"]
        await until(lambda r=revision: policy_revision(alice.companion) == r, "alice applied it")
        seconds.append(time.monotonic() - started)
        assert alice.companion.settings.effective.describe()[TRIGGER]["value"] == trigger
    seconds.sort()
    print(
        f"\nwindow save -> member applied, {len(seconds)} edits: "
        f"median {1000 * seconds[len(seconds) // 2]:.0f} ms, max {1000 * seconds[-1]:.0f} ms"
    )


async def test_two_admins_editing_the_same_revision_the_second_gets_a_conflict_and_nothing_changes(
    team: Team,
) -> None:
    team.add_admin("bea")
    first, second = await team.window("admin"), await team.window("bea")
    start = (await first.ok("GET", "/api/team/policy"))["revision"]
    assert (await second.ok("GET", "/api/team/policy"))["revision"] == start

    await first.ok("PUT", "/api/team/policy", {"policy": document("never"), "revision": start})
    status, refused = await second.call(
        "PUT", "/api/team/policy", {"policy": document("on_add", locked=()), "revision": start}
    )

    assert status == 409
    error = refused["error"]
    assert error["code"] == "policy.conflict"
    assert error["changed_by"] == team.db.admin and error["revision"] == start + 1
    assert f"changed by {team.db.admin}" in error["message"] and "nothing was changed" in error["message"]
    now = await read_policy(team.db.dsn(), team.db.admin_password)
    assert (now.revision, now.document) == (start + 1, document("never"))
    # Reloading gives the second admin the current policy to edit again.
    reloaded = await second.ok("GET", "/api/team/policy")
    assert (reloaded["revision"], reloaded["policy"]) == (start + 1, document("never"))


async def test_an_invalid_policy_is_refused_naming_the_setting_and_nothing_changes(team: Team) -> None:
    window = await team.window("admin")
    start = (await window.ok("GET", "/api/team/policy"))["revision"]
    bad = {"version": 1, "defaults": {WARNING: "loudest"}, "locked": []}
    status, refused = await window.call("PUT", "/api/team/policy", {"policy": bad, "revision": start})
    assert status == 400 and refused["error"]["code"] == "policy.invalid"
    assert WARNING in refused["error"]["message"]
    assert (await read_policy(team.db.dsn(), team.db.admin_password)).revision == start


async def test_a_members_window_cannot_write_the_team_policy_postgresql_refuses(team: Team) -> None:
    alice_role = await team.add_member("alice")
    alice = await team.window("alice")
    loaded = await alice.ok("GET", "/api/team/policy")
    # Team.json says member: the window does not offer the editor; PostgreSQL refuses if asked anyway.
    assert loaded["editable"] is False

    status, refused = await alice.call(
        "PUT", "/api/team/policy", {"policy": document("never"), "revision": loaded["revision"]}
    )

    assert status == 403 and refused["error"]["code"] == "team.privileges"
    assert repr(alice_role) in refused["error"]["message"]
    assert (await read_policy(team.db.dsn(), team.db.admin_password)).revision == loaded["revision"]
    assert MEMBER_PASSWORD not in json.dumps(refused)


async def test_the_team_policy_is_written_from_the_settings_window_only(team: Team) -> None:
    window = await team.window("admin")
    start = (await window.ok("GET", "/api/team/policy"))["revision"]
    # The daemon's token (the CLI, the native host) is not a person at the settings window.
    async with window.client.put(
        "/api/team/policy",
        json={"policy": document("never"), "revision": start},
        headers={"Authorization": f"Bearer {DAEMON_TOKEN}"},
    ) as response:
        assert response.status == 401
        assert (await response.json())["error"]["code"] == "auth.token"
    assert (await read_policy(team.db.dsn(), team.db.admin_password)).revision == start


async def test_a_member_started_with_the_database_down_keeps_the_cached_locks(team: Team) -> None:
    await team.add_member("alice")
    alice = await team.companion("alice")
    await alice.start()
    await until(following(alice), "alice's companion follows the team database")
    current = await read_policy(team.db.dsn(), team.db.admin_password)
    row = await write_policy(
        team.db.dsn(), team.db.admin_password, document("never"), expected_revision=current.revision
    )
    await until(lambda: policy_revision(alice) == row.revision, "alice applied it")
    await alice.close()
    assert (team.root / "alice" / "data" / CACHE_FILE).exists()

    team.db.server.stop()
    try:
        again = await team.companion("alice")
        # Before anything runs: the cached policy is in force from the first read of the settings.
        assert again.settings.effective.describe()[TRIGGER] == {
            "value": "never",
            "source": "team",
            "locked": True,
        }
        await again.start()
        await until(lambda: again.team_status()["policy"]["reason"] is not None, "the database is away")
        policy = again.team_status()["policy"]
        assert isinstance(policy, dict)
        assert (policy["revision"], policy["origin"], policy["state"]) == (row.revision, "cache", "offline")
        assert policy["locked"] == [TRIGGER]
        with pytest.raises(SettingsLockedError):
            again.settings.patch({TRIGGER: "on_add"})
    finally:
        team.db.server.start()
    await until(following(again), "back with the database")


async def test_with_the_database_down_the_window_says_so_and_the_editor_cannot_load(team: Team) -> None:
    window = await team.window("admin")
    await until(following(window.companion), "the admin's companion follows the team database")
    team.db.server.stop()
    try:
        await until(lambda: window.companion.team_status()["state"] == "offline", "the link is offline")
        await until(lambda: not window.companion.team_policy.connected, "the follower lost the database")  # type: ignore[union-attr]
        status, refused = await window.call("GET", "/api/team/policy")
        team_state = (await window.ok("GET", "/api/status"))["team"]
    finally:
        team.db.server.start()
    assert status == 503 and refused["error"]["code"] == "team.unavailable"
    assert ADMIN_PASSWORD not in json.dumps(refused)
    assert team_state["state"] == "offline" and team_state["reason"]
    assert team_state["policy"]["state"] == "offline" and team_state["policy"]["revision"] == 0


async def test_a_companion_in_no_team_reports_no_team_policy(tmp_path: Path) -> None:
    # The bench's key path exists outside a team too, with no revision.
    companion = await Companion.open(config_in(tmp_path), key=None)
    try:
        status = companion.status()
    finally:
        await companion.close()
    team_state = status["team"]
    assert isinstance(team_state, dict) and team_state["joined"] is False
    assert team_state["policy"] == {
        "revision": None,
        "applied_at": None,
        "origin": None,
        "state": "none",
        "reason": None,
    }


async def test_an_admin_edits_the_team_policy_in_the_window_and_a_conflict_offers_a_reload(
    team: Team,
    page: Page,  # noqa: F811 (the fixture imported above)
) -> None:
    await team.add_member("alice")
    admin_window = await team.window("admin")
    alice = await team.companion("alice")
    await alice.start()
    await until(following(admin_window.companion), "the admin's companion follows the team database")

    await open_window(page, admin_window.state.window_link())
    await expect(page.locator("#team-badge")).to_have_text("Team connected")
    await show_section(page, "team")
    await expect(page.locator("#team-joined")).to_have_attribute("data-joined", "true")
    await expect(page.locator("#team-role")).to_contain_text("(admin)")
    await expect(page.locator("#team-db-revision")).to_have_text("0")
    # No site policy editor: this admin of the team is not in the machine's admin mode.
    assert await page.locator("#site-policy").count() == 0

    section = page.locator("#team-db-policy")
    await section.locator("select").select_option(TRIGGER)
    await section.locator("input[type='checkbox']").last.check()
    await section.get_by_role("button", name="Add as team default").click()
    await expect(page.locator("#toast")).to_have_text("Added to the team policy")
    await expect(page.locator("#team-db-revision")).to_have_text("1")
    # The window's own companion has it in force too (its state card says which revision it applied).
    await expect(page.locator("#team-policy-revision")).to_have_text("revision 1")
    await expect(page.locator("#team-policy-table tbody tr")).to_have_count(1)
    await until(lambda: policy_revision(alice) == 1, "alice applied the admin's edit")
    assert alice.settings.effective.describe()[TRIGGER]["locked"] is True

    # Another admin changes it behind this window's back: the next edit here is refused, told by whom.
    await write_policy(team.db.dsn(), team.db.admin_password, document("on_add"), expected_revision=1)
    await page.locator("#team-policy-table tbody tr").get_by_role("button").click()
    refused = page.locator("#team-policy-refused")
    await expect(refused).to_have_attribute("data-code", "policy.conflict", timeout=TIMEOUT_MS)
    await expect(refused).to_contain_text(f"changed by {team.db.admin}")
    await screenshot(page, "team-policy-conflict")
    assert (await read_policy(team.db.dsn(), team.db.admin_password)).document == document("on_add")
    await refused.get_by_role("button", name="Load the current policy").click()
    await expect(page.locator("#team-db-revision")).to_have_text("2")
    await expect(page.locator("#team-policy-table tbody tr[data-path] code.value")).to_have_text('"on_add"')
    await screenshot(page, "team-policy")


async def test_a_member_whose_record_claims_admin_is_refused_by_postgresql_and_the_window_says_so(
    team: Team,
    page: Page,  # noqa: F811 (the fixture imported above)
) -> None:
    role = await team.add_member("mallory")
    # A team.json edited by hand: the window offers the editor, the database still decides.
    team.join("mallory", role, MEMBER_PASSWORD, "admin")
    window = await team.window("mallory")
    await until(following(window.companion), "mallory's companion follows the team database")

    await open_window(page, window.state.window_link())
    await show_section(page, "team")
    section = page.locator("#team-db-policy")
    await section.locator("select").select_option(WARNING)
    await section.get_by_role("button", name="Add as team default").click()

    refused = page.locator("#team-policy-refused")
    await expect(refused).to_have_attribute("data-code", "team.privileges", timeout=TIMEOUT_MS)
    await expect(refused).to_contain_text("The team database refused the change.")
    await expect(refused).to_contain_text("Only the team's admins change the team policy")
    await expect(refused).to_contain_text(role)
    await expect(page.locator("#team-db-revision")).to_have_text("0")
    await screenshot(page, "team-policy-refused")
    assert (await read_policy(team.db.dsn(), team.db.admin_password)).revision == 0
