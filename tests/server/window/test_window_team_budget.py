"""The settings window's API budget in a team, in real headless Chromium: the team's figures, who spent them.

A daemon whose user joined a team on the session's PostgreSQL cluster, against the CATS sandbox;
another member's requests are logged to the team's ledger with that member's own credentials.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import asyncpg
from playwright.async_api import Page, expect

from companion import paths
from companion.secret import DatabasePassword
from companion.team import admin, local, rate_ledger
from companion.team.credentials import TeamPasswordStore
from companion.team.site import CatsSite
from tests.fixtures.daemon import DaemonFactory
from tests.fixtures.postgres import PostgresServer
from tests.fixtures.sandbox import SandboxHandle
from tests.server.window.conftest import WindowClientFactory, open_window, screenshot, show_section
from tests.team.conftest import ADMIN_PASSWORD, MEMBER_PASSWORD, TeamDb

BOUND = 20.0


async def add_member(team: TeamDb, stem: str, display_name: str) -> str:
    role = team.server.unique(stem)
    await admin.add_member(
        team.dsn(), team.admin_password, role, DatabasePassword(MEMBER_PASSWORD), display_name=display_name
    )
    return role


async def test_the_budget_section_shows_the_teams_figures_and_each_members_spend(
    page: Page,
    postgres: PostgresServer,
    daemon_factory: DaemonFactory,
    sandbox: SandboxHandle,
    window_client: WindowClientFactory,
) -> None:
    owner = postgres.create_role(ADMIN_PASSWORD, stem="admin", attributes="CREATEROLE")
    team = TeamDb(postgres, postgres.create_database(owner=owner), owner)
    await admin.init_team(team.dsn(), team.admin_password, CatsSite(sandbox.url, None), companion_version="t")
    alice = await add_member(team, "alice", "Alice Smith")
    bob = await add_member(team, "bob", "Bob Jones")
    # This user is alice: her team record and password, where the daemon looks for them.
    TeamPasswordStore().set(team.dsn(alice), DatabasePassword(MEMBER_PASSWORD))
    [row] = postgres.fetch("SELECT team_id::text FROM cats_companion.team", database=team.database)
    record = local.TeamRecord(
        dsn=team.dsn(alice).url,
        team_id=row[0],
        cats_base_url=sandbox.url,
        cats_subdomain=None,
        role=alice,
        access="member",
        joined_at=datetime.now(UTC),
    )
    local.save(record, paths.config_dir() / local.TEAM_FILE)
    daemon = await daemon_factory(key=sandbox.key, cats_base_url=sandbox.url)
    companion = daemon.companion
    assert companion.check_task is not None and companion.team_budget is not None
    await companion.check_task  # alice's one interactive request: the connection check
    shared = companion.team_budget
    await asyncio.sleep(0.2)
    # Since then bob's companion sent four background requests and one interactive.
    conn = await asyncpg.connect(postgres.dsn(bob, team.database), password=MEMBER_PASSWORD)
    try:
        now = float(await conn.fetchval("SELECT extract(epoch FROM now())::float8"))
        sent = [(now - 0.05 + i / 100, "background") for i in range(4)] + [(now, "interactive")]
        await rate_ledger.record(conn, uuid.uuid4(), sent, None)
    finally:
        await conn.close()
    started = time.monotonic()
    while {s.name for s in shared.spend} != {"Alice Smith", "Bob Jones"}:
        assert time.monotonic() - started < BOUND, "alice's request did not reach the team's ledger"
        await asyncio.sleep(0.1)

    await open_window(page, await (await window_client(daemon)).new_link())
    await show_section(page, "budget")
    table = page.locator("#budget-team-members")
    await expect(table.locator("tbody tr")).to_have_count(2)
    assert await table.locator("tbody tr").all_inner_texts() == ["Bob Jones\t1\t4\t5", "Alice Smith\t1\t0\t1"]
    await expect(page.locator("#budget-team")).to_contain_text("Counted with the team")
    # The meter is the account's: CATS's figure at alice's request, and bob's five sent since.
    used = int(await page.locator("#budget-used").inner_text())
    assert used == 1 + 5
    await screenshot(page, "budget-team")
