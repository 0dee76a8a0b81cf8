"""A key activated while the daemon runs brings the company sync with it; the cache settings set its pace."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from companion.cats_url import configured_url
from companion.keystore import DEFAULT_BASE_URL
from companion.sandbox.quirks import Quirk
from companion.server.daemon import RunningDaemon
from tests.fixtures.daemon import DaemonFactory, auth_headers
from tests.fixtures.keyring import MemoryKeyring
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle


@pytest.fixture
async def keyless(
    daemon_factory: DaemonFactory, sandbox: SandboxHandle, memory_keyring: MemoryKeyring
) -> RunningDaemon:
    # sync=None: the schedule comes from the settings, as in a real daemon.
    return await daemon_factory(cats_base_url=sandbox.url, sync=None)


@pytest.fixture
async def http(keyless: RunningDaemon) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=keyless.url, headers=auth_headers(keyless.token)) as session:
        yield session


async def test_a_key_activated_at_run_time_starts_the_company_sync(
    keyless: RunningDaemon, http: aiohttp.ClientSession, sandbox: SandboxHandle
) -> None:
    assert keyless.companion.sync is None
    async with http.post("/api/sync", json={}) as response:
        assert (await response.json())["error"]["code"] == "key.missing"
    async with http.post("/api/connection", json={"api_key": sandbox.api_key}) as response:
        assert response.status == 200
    assert keyless.companion.sync is not None
    # The cache was never synced: the first sync starts at once, nobody has to ask for it.
    async with asyncio.timeout(20):
        while True:
            async with http.get("/api/sync") as response:
                state = await response.json()
            if state.get("last_success_at") and not state.get("running"):
                break
            await asyncio.sleep(0.05)
    assert state["companies_in_cache"] == sandbox.store.record_counts()["companies"]
    # The site's subdomain is kept for record links, and the status names the site.
    async with http.get("/api/status") as response:
        assert (await response.json())["cats"]["site"]


async def test_disconnecting_stops_the_sync(
    keyless: RunningDaemon, http: aiohttp.ClientSession, sandbox: SandboxHandle
) -> None:
    async with http.post("/api/connection", json={"api_key": sandbox.api_key}) as response:
        assert response.status == 200
    async with http.delete("/api/connection") as response:
        assert response.status == 200
    assert keyless.companion.sync is None
    assert keyless.companion.client is None


async def test_the_sync_schedule_follows_the_cache_settings(
    keyless: RunningDaemon, http: aiohttp.ClientSession, sandbox: SandboxHandle
) -> None:
    async with http.post("/api/connection", json={"api_key": sandbox.api_key}) as response:
        assert response.status == 200
    assert keyless.companion.sync is not None
    assert keyless.companion.sync.policy.interval == 10 * 60
    changes = {"cache.incremental_interval_minutes": 3, "cache.full_scan_interval_hours": 6}
    async with http.patch("/api/settings", json=changes) as response:
        assert response.status == 200
    assert (keyless.companion.sync.policy.interval, keyless.companion.sync.policy.full_interval) == (
        180,
        6 * 3600,
    )


async def test_a_key_activated_in_the_window_keeps_its_cats_url_for_daemons_started_later(
    keyless: RunningDaemon, http: aiohttp.ClientSession, sandbox: SandboxHandle
) -> None:
    config_dir = keyless.companion.config.config_dir
    assert configured_url(config_dir) == DEFAULT_BASE_URL
    async with http.post("/api/connection", json={"api_key": sandbox.api_key}) as response:
        assert response.status == 200
    # What `serve` without --cats-url (the native host's on-demand daemon) reads.
    assert configured_url(config_dir) == sandbox.url


async def test_a_key_activated_at_run_time_probes_the_account_once_read_only_and_follows_it(
    daemon_factory: DaemonFactory, sandbox_factory: SandboxFactory, memory_keyring: MemoryKeyring
) -> None:
    quirky = await sandbox_factory(
        seed=60, quirks=frozenset({Quirk.PER_PAGE_MAX_50, Quirk.DATE_FILTER_UNSUPPORTED})
    )
    daemon = await daemon_factory(cats_base_url=quirky.url, probe_on_activation=True)
    companies = quirky.store.record_counts()["companies"]
    async with aiohttp.ClientSession(base_url=daemon.url, headers=auth_headers(daemon.token)) as http:
        async with http.post("/api/connection", json={"api_key": quirky.api_key}) as response:
            assert response.status == 200
        task = daemon.companion.probe_task
        assert task is not None
        await asyncio.wait_for(task, 20)
        profile = daemon.companion.profile
        assert profile is not None
        assert (profile.per_page_max, profile.date_modified_filter) == (50, False)
        assert profile.duplicate_status is None  # read-only: nothing was written
        assert quirky.store.record_counts()["companies"] == companies
        client = daemon.companion.client
        assert client is not None and client.per_page == 50
        # Activated again: the account has a profile, so no second probe.
        daemon.companion.probe_task = None
        async with http.post("/api/connection", json={"api_key": quirky.api_key}) as response:
            assert response.status == 200
        assert daemon.companion.probe_task is None
        assert daemon.companion.client is not None and daemon.companion.client.per_page == 50
