"""The settings window in real headless Chromium, against a daemon and the CATS sandbox.

Each test opens the window the way a user does -- through a one-time link -- and drives it with
the keyboard and mouse; screenshots of every section land in artifacts/window/.
"""

from __future__ import annotations

import json
from pathlib import Path

from playwright.async_api import Page, expect

from companion import paths
from companion.sandbox.faults import FaultSettings
from companion.sandbox.quirks import Quirk
from companion.server.daemon import RunningDaemon
from companion.services.sync_scheduler import SyncPolicy
from tests.fixtures.daemon import DaemonFactory
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle
from tests.server.window.conftest import (
    TIMEOUT_MS,
    WindowClientFactory,
    open_window,
    screenshot,
    show_section,
)

#: Where tests/fixtures/daemon.py puts each test's system-wide config folder.
NO_SYNC = SyncPolicy(automatic=False)


def site_dir() -> Path:
    return paths.data_dir().parent / "site-config"


async def connected_daemon(
    daemon_factory: DaemonFactory, sandbox: SandboxHandle, **config: object
) -> RunningDaemon:
    daemon = await daemon_factory(key=sandbox.key, cats_base_url=sandbox.url, sync=NO_SYNC, **config)
    assert daemon.companion.check_task is not None
    await daemon.companion.check_task
    return daemon


async def link(daemon: RunningDaemon, window_client: WindowClientFactory) -> str:
    client = await window_client(daemon)
    return await client.new_link()


def row(page: Page, path: str):  # type: ignore[no-untyped-def]
    return page.locator(f".setting[data-path='{path}']")


async def test_the_one_time_link_opens_the_window_once(
    page: Page, daemon_factory: DaemonFactory, sandbox: SandboxHandle, window_client: WindowClientFactory
) -> None:
    daemon = await connected_daemon(daemon_factory, sandbox)
    url = await link(daemon, window_client)
    await open_window(page, url)
    assert page.url == f"{daemon.url}/window/#" or page.url.startswith(f"{daemon.url}/window/")
    cookies = await page.context.cookies()
    assert [(c["httpOnly"], c["sameSite"], c["secure"], c["path"]) for c in cookies] == [
        (True, "Strict", False, "/")
    ]
    await expect(page.locator("#conn-badge")).to_have_text("Connected")
    await expect(page.locator("#cats-site")).to_have_text("CATS site sandbox")

    again = await page.context.new_page()
    response = await again.goto(url)
    assert response is not None and response.status == 403
    await expect(again.locator("#notice[data-notice='link-expired']")).to_be_visible()
    await expect(again.locator("h1")).to_have_text("This settings link no longer works")
    await screenshot(again, "link-used")


async def test_sign_out_closes_the_session(
    page: Page, daemon: RunningDaemon, window_client: WindowClientFactory
) -> None:
    await open_window(page, await link(daemon, window_client))
    await page.click("#sign-out")
    await expect(page.locator("#notice[data-notice='session-ended']")).to_be_visible()
    assert daemon.state.window.session_count == 1  # only the test client's own session is left


async def test_activating_a_key_shows_the_green_badge_and_a_bad_key_the_reason(
    page: Page, daemon_factory: DaemonFactory, sandbox: SandboxHandle, window_client: WindowClientFactory
) -> None:
    daemon = await daemon_factory(cats_base_url=sandbox.url, sync=NO_SYNC)
    await open_window(page, await link(daemon, window_client))
    badge = page.locator("#conn-badge")
    await expect(badge).to_have_attribute("data-state", "not_configured")

    await page.fill("input[name='api_key']", "not-the-right-key")
    await page.keyboard.press("Enter")
    error = page.locator(".card .field-error")
    await expect(error).to_contain_text("CATS did not accept the key")
    await expect(error).to_contain_text("cats.bad_key")
    await expect(badge).to_have_class("badge badge-bad")
    await screenshot(page, "integrations-bad-key")

    await page.fill("input[name='api_key']", sandbox.api_key)
    await page.click("form button[type='submit']")
    await expect(page.locator("#connection-state")).to_have_text("Connected")
    await expect(badge).to_have_text("Connected")
    await expect(badge).to_have_class("badge badge-ok")
    await expect(page.locator("#cats-site")).to_have_text("CATS site sandbox")
    assert await page.locator("input[name='api_key']").input_value() == ""
    assert sandbox.api_key not in await page.content()
    await screenshot(page, "integrations")


async def test_changed_settings_are_saved_and_still_there_after_a_reload(
    page: Page, daemon: RunningDaemon, window_client: WindowClientFactory
) -> None:
    await open_window(page, await link(daemon, window_client))
    await show_section(page, "general")
    await page.check("#section [data-path='general.do_not_merge'] input[role='switch']")
    await page.check("#section input[name='warning-level'][value='exact']")
    await page.select_option("#section [data-path='general.notes_upon.call'] select", "call_lvm")
    await page.click("text=Save changes")
    await expect(page.locator("#toast")).to_have_text("Saved 3 settings")
    await expect(row(page, "general.do_not_merge").locator(".chip-user")).to_have_text("Your choice")

    await page.reload()
    await page.wait_for_selector("body[data-ready='true']")
    await expect(page.locator("#section[data-section='general']")).to_be_visible()
    assert await page.is_checked("[data-path='general.do_not_merge'] input[role='switch']")
    assert await page.is_checked("input[name='warning-level'][value='exact']")
    assert await page.locator("[data-path='general.notes_upon.call'] select").input_value() == "call_lvm"
    assert daemon.companion.settings is not None
    saved = json.loads(daemon.companion.settings.user_path.read_text())
    assert "call_lvm" in json.dumps(saved) and "exact" in json.dumps(saved)


async def test_company_info_is_reordered_with_the_keyboard(
    page: Page, daemon: RunningDaemon, window_client: WindowClientFactory
) -> None:
    await open_window(page, await link(daemon, window_client))
    await show_section(page, "general")
    await page.focus("[aria-label='Move Website up']")
    await page.keyboard.press("Enter")
    await page.click("[aria-label='Remove Key contact']")
    await page.click("text=Save changes")
    await expect(page.locator("#toast")).to_have_text("Saved 1 setting")
    assert daemon.companion.settings is not None
    shown = daemon.companion.settings.effective.settings.general.displayed_company_info
    assert shown[:2] == ["website", "name"] and "key_contact" not in shown


async def test_an_invalid_value_is_explained_next_to_its_setting(
    page: Page, daemon: RunningDaemon, window_client: WindowClientFactory
) -> None:
    await open_window(page, await link(daemon, window_client))
    await show_section(page, "sync")
    mandatory = row(page, "sync.candidates.mandatory_fields")
    await mandatory.get_by_label("Middle name").check()
    await page.click("text=Save changes")
    error = mandatory.locator(".field-error")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("'middle_name' is mandatory")
    await expect(page.locator(".form-actions .form-error")).to_contain_text("Nothing was changed")
    assert daemon.companion.settings is not None
    assert not daemon.companion.settings.user_path.exists()
    await screenshot(page, "sync-invalid")


async def test_a_locked_setting_is_read_only_and_refused_by_the_api(
    page: Page, daemon_factory: DaemonFactory, window_client: WindowClientFactory
) -> None:
    site = site_dir()
    site.mkdir(parents=True, exist_ok=True)
    policy = {"version": 1, "defaults": {"general.do_not_merge": True}, "locked": ["general.do_not_merge"]}
    (site / "policy.json").write_text(json.dumps(policy))
    daemon = await daemon_factory()
    await open_window(page, await link(daemon, window_client))
    await show_section(page, "general")
    locked = row(page, "general.do_not_merge")
    switch = locked.locator("input[role='switch']")
    await expect(switch).to_be_disabled()
    await expect(switch).to_be_checked()
    lock = locked.locator(".lock-tip")
    await expect(lock).to_have_attribute("title", "Locked by your team's policy")
    await expect(lock).to_have_attribute("aria-label", "Locked by your team's policy")
    await lock.focus()
    await screenshot(page, "general-locked")
    assert await page.locator(".lock-btn").count() == 0  # no lock buttons outside admin mode
    assert await page.locator("#nav-team").is_hidden()

    answer = await page.evaluate(
        """async () => {
            const session = await (await fetch('/api/window/session')).json();
            const response = await fetch('/api/settings', {
                method: 'PATCH',
                headers: {'Content-Type': 'application/json', 'X-CSRF-Token': session.csrf_token},
                body: JSON.stringify({'general.do_not_merge': false, 'general.company_warning_level': 'off'}),
            });
            return {status: response.status, body: await response.json()};
        }"""
    )
    assert answer["status"] == 403
    assert answer["body"]["error"]["code"] == "settings.locked"
    assert answer["body"]["error"]["paths"] == ["general.do_not_merge"]
    assert daemon.companion.settings is not None
    assert not daemon.companion.settings.user_path.exists()
    assert daemon.companion.settings.effective.settings.general.company_warning_level == "similar"


async def test_an_admin_locks_a_setting_and_exports_the_policy(
    page: Page,
    daemon_factory: DaemonFactory,
    sandbox: SandboxHandle,
    window_client: WindowClientFactory,
    tmp_path: Path,
) -> None:
    daemon = await connected_daemon(daemon_factory, sandbox, admin=True)
    await open_window(page, await link(daemon, window_client))
    await expect(page.locator("#admin-pill")).to_be_visible()
    await show_section(page, "sync")
    await page.select_option("[data-path='sync.candidates.campaign_sync_trigger'] select", "when_interested")
    await page.click("text=Save changes")
    await expect(page.locator("#toast")).to_have_text("Saved 1 setting")
    lock = page.locator("[data-lock-path='sync.candidates.campaign_sync_trigger']")
    await expect(lock).to_have_attribute("aria-pressed", "false")
    await lock.click()
    await expect(page.locator("#toast")).to_have_text("Locked for your team")
    lock = page.locator("[data-lock-path='sync.candidates.campaign_sync_trigger']")
    await expect(lock).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("[data-path='sync.candidates.campaign_sync_trigger'] select")).to_be_disabled()

    installed = json.loads((site_dir() / "policy.json").read_text())
    assert installed["locked"] == ["sync.candidates.campaign_sync_trigger"]
    assert installed["defaults"] == {"sync.candidates.campaign_sync_trigger": "when_interested"}

    await show_section(page, "team")
    await expect(page.locator("#locked-count")).to_have_text("1")
    await expect(page.locator("#policy-table tbody tr")).to_have_count(1)
    async with page.expect_download(timeout=TIMEOUT_MS) as download_info:
        await page.click("#export-policy")
    download = await download_info.value
    assert download.suggested_filename == "policy.json"
    saved = tmp_path / "exported.json"
    await download.save_as(saved)
    assert json.loads(saved.read_text()) == installed
    await screenshot(page, "team")


async def test_a_mapping_that_cannot_work_shows_its_warning_inline(
    page: Page, daemon: RunningDaemon, window_client: WindowClientFactory
) -> None:
    await open_window(page, await link(daemon, window_client))
    await show_section(page, "mapping")
    headline = row(page, "mapping.candidates.headline")
    await expect(headline.locator(".warning")).to_have_count(0)
    await headline.locator("select").select_option("title")
    await page.click("text=Save changes")
    await expect(page.locator("#toast")).to_have_text("Saved 1 setting")
    for path in ("mapping.candidates.headline", "mapping.candidates.title"):
        warning = row(page, path).locator(".warning[data-kind='shared_field']")
        await expect(warning).to_contain_text("Job title and Headline go into")
    skills = row(page, "mapping.candidates.skills")
    await skills.get_by_label("No joiner").check()
    await page.click("text=Save changes")
    await expect(skills.locator(".warning[data-kind='list_without_joiner']")).to_be_visible()
    await screenshot(page, "mapping")
    await page.click("#tab-contacts")
    await expect(page.locator("#tab-contacts")).to_have_attribute("aria-selected", "true")
    await page.keyboard.press("ArrowLeft")
    await expect(page.locator("#tab-candidates")).to_be_focused()


async def test_sync_now_shows_progress_and_fills_the_cache(
    page: Page,
    daemon_factory: DaemonFactory,
    sandbox_factory: SandboxFactory,
    window_client: WindowClientFactory,
) -> None:
    sandbox = await sandbox_factory(seed=250, seed_random=1)
    daemon = await connected_daemon(daemon_factory, sandbox)
    await open_window(page, await link(daemon, window_client))
    await show_section(page, "cache")
    await expect(page.locator("#companies-in-cache")).to_have_text("0")
    # Slow enough for the window to see the run in progress (the UI polls every 0.7 s).
    await sandbox.control.set_faults(FaultSettings(probabilities={"slow": 1.0}, slow_seconds=0.5))
    await page.click("#sync-now")
    await expect(page.locator("#sync-progress[data-running='true']")).to_be_visible()
    await expect(page.locator("#sync-status")).to_contain_text("Full scan")
    await screenshot(page, "cache-syncing")
    await expect(page.locator("#companies-in-cache")).to_have_text("250", timeout=20_000)
    await expect(page.locator("#sync-progress")).to_have_attribute("data-running", "false")
    await expect(page.locator("#cache-age")).not_to_have_text("never synced")
    await sandbox.control.clear_faults()
    await screenshot(page, "cache")

    await show_section(page, "activity")
    entry = page.locator("#activity-list li[data-status='ok']").first
    await expect(entry).to_contain_text("Company cache synced")
    await expect(entry).to_contain_text("250 companies")
    await screenshot(page, "activity")

    await show_section(page, "budget")
    used = int(await page.locator("#budget-used").inner_text())
    remaining = int(await page.locator("#budget-remaining").inner_text())
    assert used >= 3 and used + remaining == daemon.companion.client.budget.snapshot().limit  # type: ignore[union-attr]
    await screenshot(page, "budget")


async def test_a_failed_sync_is_listed_with_its_reason_and_can_be_retried(
    page: Page, daemon_factory: DaemonFactory, sandbox: SandboxHandle, window_client: WindowClientFactory
) -> None:
    daemon = await connected_daemon(daemon_factory, sandbox)
    await sandbox.control.set_faults(FaultSettings(probabilities={"500": 1.0}))
    assert daemon.companion.sync is not None
    ended = daemon.companion.sync.runs_ended
    assert daemon.companion.sync.request()
    await daemon.companion.sync.wait_for_run(ended)
    await sandbox.control.clear_faults()
    await open_window(page, await link(daemon, window_client))
    await show_section(page, "activity")
    failed = page.locator("#activity-list li[data-status='failed']")
    await expect(failed).to_contain_text("Company sync failed")
    await expect(failed.locator("code")).to_have_text("cats.unavailable")
    await screenshot(page, "activity-failed")
    await failed.get_by_role("button", name="Retry the sync").click()
    await expect(page.locator("#activity-list li[data-status='ok']")).to_contain_text("Company cache synced")


async def test_every_section_renders_and_is_reachable_by_keyboard(
    page: Page, daemon_factory: DaemonFactory, sandbox: SandboxHandle, window_client: WindowClientFactory
) -> None:
    daemon = await connected_daemon(daemon_factory, sandbox, admin=True)
    await open_window(page, await link(daemon, window_client))
    sections = ["integrations", "general", "sync", "mapping", "team", "cache", "activity", "budget"]
    for name in sections:
        await page.focus(f"#nav a[data-section='{name}']")
        await page.keyboard.press("Enter")
        await page.wait_for_selector(f"#section[data-section='{name}'][data-loading='false']")
        await expect(page.locator(f"#nav a[data-section='{name}']")).to_have_attribute("aria-current", "page")
        await expect(page.locator("#section h1")).to_be_focused()
        await expect(page.locator("#section .form-error:visible")).to_have_count(0)
        await screenshot(page, f"section-{name}")
    # Every form control in the window has a name a screen reader can read.
    await show_section(page, "sync")
    unnamed = await page.evaluate(
        """() => [...document.querySelectorAll('#section input, #section select')]
            .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
            .map((el) => el.outerHTML)"""
    )
    assert unnamed == []


async def test_checking_the_cats_account_shows_the_answers_and_asks_before_writing(
    page: Page,
    daemon_factory: DaemonFactory,
    sandbox_factory: SandboxFactory,
    window_client: WindowClientFactory,
) -> None:
    quirky = await sandbox_factory(seed=60, quirks=frozenset({Quirk.PER_PAGE_MAX_50}))
    daemon = await connected_daemon(daemon_factory, quirky)
    await open_window(page, await link(daemon, window_client))
    await show_section(page, "integrations")
    companies = quirky.store.record_counts()["companies"]

    await page.click("#probe-account")
    answers = page.locator("#probe-answers")
    await expect(answers).to_contain_text("largest page (per_page)")
    await expect(answers.locator("tr", has_text="largest page")).to_contain_text("50")
    assert daemon.companion.profile is not None and daemon.companion.profile.duplicate_status is None

    # Write probes are asked for, and confirmed: declined, nothing is sent.
    await quirky.control.reset_counters()
    page.once("dialog", lambda dialog: dialog.dismiss())
    await page.check("input[name='write_probes']")
    await page.click("#probe-account")
    await expect(page.locator("#probe-account")).to_be_enabled()
    assert (await quirky.control.counters())["requests_total"] == 0

    page.once("dialog", lambda dialog: dialog.accept())
    await page.click("#probe-account")
    await expect(answers).to_contain_text("status of a duplicate hit")
    await screenshot(page, "integrations-probe")
    assert daemon.companion.profile is not None and daemon.companion.profile.duplicate_status == 409
    assert quirky.store.record_counts()["companies"] == companies
