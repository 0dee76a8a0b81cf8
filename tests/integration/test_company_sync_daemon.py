"""The sync inside the daemon: scheduler rules, GET/POST /api/sync, and what the connection monitor learns."""

from __future__ import annotations

import asyncio
import json
import socket
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from companion.app import CACHE_STATE_EVENT
from companion.errors import BudgetReservedError, CatsNetworkError
from companion.sandbox.app import start_sandbox
from companion.secret import ApiKey
from companion.server.daemon import RunningDaemon
from companion.services.events import Subscription
from companion.services.sync_scheduler import SyncPolicy, retry_delay
from tests.fixtures.daemon import DaemonFactory, auth_headers
from tests.fixtures.sandbox import SandboxHandle

MANUAL = SyncPolicy(automatic=False)


def test_failures_back_off_by_doubling_up_to_the_cap() -> None:
    policy = SyncPolicy(interval=600, max_backoff=3600)
    offline = CatsNetworkError("no route")
    assert [retry_delay(policy, n, offline) for n in (1, 2, 3, 4, 9)] == [600, 1200, 2400, 3600, 3600]


def test_a_budget_refusal_waits_exactly_until_the_budget_allows() -> None:
    refused = BudgetReservedError("reserve", retry_after=1234.0, status=None)
    assert retry_delay(SyncPolicy(), 5, refused) == 1234.0


def test_a_policy_with_a_zero_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        SyncPolicy(interval=0)


async def call(daemon: RunningDaemon, method: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession(headers=auth_headers(daemon.token)) as http,
        http.request(method, f"{daemon.url}/api/sync", json=body) as response,
    ):
        payload: dict[str, Any] = await response.json()
        return response.status, payload


async def until_idle(daemon: RunningDaemon) -> dict[str, Any]:
    async with asyncio.timeout(20):
        while True:
            _, state = await call(daemon, "GET")
            if not state["running"]:
                return state
            await asyncio.sleep(0.02)


async def test_sync_now_runs_once_and_a_second_request_is_told_it_is_running(
    daemon_factory: DaemonFactory, sandbox: SandboxHandle
) -> None:
    daemon = await daemon_factory(
        key=sandbox.key, cats_base_url=sandbox.url, sync=MANUAL, check_connection=False
    )
    status, state = await call(daemon, "GET")
    assert status == 200
    assert (state["configured"], state["running"], state["companies_in_cache"]) == (True, False, 0)
    assert state["next_run_at"] is None  # manual policy: nothing scheduled

    await sandbox.control.reset_counters()
    status, first = await call(daemon, "POST", {"full": False})
    assert (status, first["started"], first["state"]["running"]) == (202, True, True)
    status, second = await call(daemon, "POST")
    assert (status, second["started"]) == (200, False)
    assert "already running" in second["reason"]

    state = await until_idle(daemon)
    assert state["companies_in_cache"] == 20
    assert state["last_error"] is None and state["last_success_at"] is not None
    assert state["cache_age_seconds"] < 60
    counters = await sandbox.control.counters()
    assert counters["requests"]["GET /v3/companies"] == 1  # one sync, not two


async def test_a_bad_sync_request_is_refused_and_starts_nothing(
    daemon_factory: DaemonFactory, sandbox: SandboxHandle
) -> None:
    daemon = await daemon_factory(
        key=sandbox.key, cats_base_url=sandbox.url, sync=MANUAL, check_connection=False
    )
    await sandbox.control.reset_counters()
    status, answer = await call(daemon, "POST", {"full": "yes", "extra": 1})
    assert status == 400 and answer["error"]["code"] == "request.invalid"
    assert (await call(daemon, "GET"))[1]["running"] is False
    assert (await sandbox.control.counters())["requests_total"] == 0


async def test_without_a_key_the_state_is_readable_and_sync_now_says_why_not(daemon: RunningDaemon) -> None:
    status, state = await call(daemon, "GET")
    assert (status, state["configured"], state["running"]) == (200, False, False)
    status, answer = await call(daemon, "POST")
    assert status == 409 and answer["error"]["code"] == "key.missing"


async def test_the_scheduler_syncs_by_itself_after_the_start_delay(
    daemon_factory: DaemonFactory, sandbox: SandboxHandle
) -> None:
    policy = SyncPolicy(start_delay=0, interval=3600)
    daemon = await daemon_factory(
        key=sandbox.key, cats_base_url=sandbox.url, sync=policy, check_connection=False
    )
    assert daemon.companion.sync is not None
    async with asyncio.timeout(20):
        await daemon.companion.sync.wait_for_run(0)
    state = await until_idle(daemon)
    assert state["companies_in_cache"] == 20
    assert state["next_run_at"] is not None


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_an_unreachable_cats_is_reported_to_the_sync_state_and_the_connection_monitor(
    daemon_factory: DaemonFactory,
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v3"
    daemon = await daemon_factory(
        key=ApiKey("some-key"), cats_base_url=url, sync=MANUAL, check_connection=False
    )
    assert (await call(daemon, "POST"))[0] == 202
    state = await until_idle(daemon)
    assert state["last_error"]["code"] == "cats.network"
    assert state["companies_in_cache"] == 0
    assert daemon.companion.monitor.status.state == "unreachable"
    assert "cats.network" in daemon.companion.monitor.status.detail


async def test_a_sync_in_progress_is_cancelled_cleanly_when_the_daemon_stops(
    daemon_factory: DaemonFactory, sandbox: SandboxHandle
) -> None:
    daemon = await daemon_factory(
        key=sandbox.key, cats_base_url=sandbox.url, sync=MANUAL, check_connection=False
    )
    await sandbox.control.set_faults(probabilities={"slow": 1.0}, slow_seconds=5)
    assert (await call(daemon, "POST"))[0] == 202
    await asyncio.sleep(0.05)
    async with asyncio.timeout(5):
        await daemon.close()
    assert daemon.companion.sync is not None and not daemon.companion.sync.engine.running


async def test_a_companion_with_a_key_and_an_empty_cache_syncs_at_once_and_a_synced_one_waits(
    daemon_factory: DaemonFactory, sandbox: SandboxHandle
) -> None:
    # The default policy: the first run waits 30 s after start-up, unless the cache was never synced.
    first = await daemon_factory(key=sandbox.key, cats_base_url=sandbox.url, sync=SyncPolicy())
    async with asyncio.timeout(15):
        while True:
            _, state = await call(first, "GET")
            if state["last_success_at"] is not None and not state["running"]:
                break
            await asyncio.sleep(0.02)
    assert state["companies_in_cache"] == 20
    await first.close()

    await sandbox.control.reset_counters()
    again = await daemon_factory(key=sandbox.key, cats_base_url=sandbox.url, sync=SyncPolicy())
    _, state = await call(again, "GET")
    assert not state["running"] and state["next_run_at"] is not None
    assert (await sandbox.control.counters())["requests"].get("GET /v3/companies") is None


async def lookup_cache(daemon: RunningDaemon, name: str) -> dict[str, Any]:
    """The `cache` part of a `company.lookup` answer, through the daemon's native endpoint."""
    message = {"id": 1, "type": "company.lookup", "params": {"name": name}, "v": 1}
    async with (
        aiohttp.ClientSession(headers=auth_headers(daemon.token)) as http,
        http.post(f"{daemon.url}/api/native", json=message) as response,
    ):
        reply: dict[str, Any] = await response.json()
    assert reply["ok"] is True, reply
    cache: dict[str, Any] = reply["data"]["cache"]
    return cache


async def status_cache(daemon: RunningDaemon) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession(headers=auth_headers(daemon.token)) as http,
        http.get(f"{daemon.url}/api/status") as response,
    ):
        body: dict[str, Any] = await response.json()
    cache: dict[str, Any] = body["cache"]
    return cache


async def sync_once(daemon: RunningDaemon) -> dict[str, Any]:
    status, _ = await call(daemon, "POST", {"full": False})
    assert status == 202
    return await until_idle(daemon)


async def cache_event(events: Subscription) -> dict[str, Any]:
    """The next cache.state event (the sync that sends it is asked for before)."""
    async with asyncio.timeout(10):
        while True:
            raw = await events.next()
            assert raw is not None, "the event stream ended"
            message = json.loads(raw)
            if message["event"] == CACHE_STATE_EVENT:
                data: dict[str, Any] = message["data"]
                return data


async def test_with_cats_unreachable_lookups_say_offline_as_of_when_and_why_and_recover_by_themselves(
    daemon_factory: DaemonFactory, sandbox: SandboxHandle
) -> None:
    daemon = await daemon_factory(
        key=sandbox.key, cats_base_url=sandbox.url, sync=MANUAL, check_connection=False
    )
    synced = await sync_once(daemon)
    name = sandbox.store.get_record("companies", 9001)["name"]
    ready = await lookup_cache(daemon, name)
    assert (ready["state"], ready["offline_reason"], ready["message"]) == ("ready", None, None)

    port = int(sandbox.url.split(":")[2].split("/")[0])
    config = sandbox.running.config
    await sandbox.running.close()
    with daemon.companion.events.subscribe() as events:
        failed = await sync_once(daemon)
        # Told to the extension as it happens: the card and the popup follow without asking.
        told = await cache_event(events)
    assert (told["state"], told["offline_reason"]) == ("offline", "network")
    assert failed["last_error"]["code"] == "cats.network"
    offline = await lookup_cache(daemon, name)
    assert (offline["state"], offline["offline_reason"]) == ("offline", "network")
    as_of = datetime.fromisoformat(synced["last_success_at"]).astimezone(UTC)
    assert (
        offline["message"] == f"Offline: companies as of {as_of:%Y-%m-%d %H:%M} UTC (CATS cannot be reached)."
    )
    assert offline["companies"] == 20  # still answering from the cache
    assert (await status_cache(daemon))["state"] == "offline"

    # CATS answers again at the same address: the next sync puts everything back, with nobody's help.
    back = await start_sandbox(config, port=port)
    try:
        with daemon.companion.events.subscribe() as events:
            await sync_once(daemon)
            told = await cache_event(events)
        assert (told["state"], told["offline_reason"]) == ("ready", None)
        assert (await lookup_cache(daemon, name))["state"] == "ready"
        assert (await status_cache(daemon))["offline_reason"] is None
    finally:
        await back.close()


async def test_a_sync_stopped_by_the_rate_limit_says_offline_rate_limited_until_one_succeeds(
    daemon_factory: DaemonFactory, sandbox: SandboxHandle
) -> None:
    daemon = await daemon_factory(
        key=sandbox.key, cats_base_url=sandbox.url, sync=MANUAL, check_connection=False
    )
    await sync_once(daemon)
    used = (await sandbox.control.rate_limit())["used"]
    await sandbox.control.set_rate_limit(used)  # the hour's budget is spent
    failed = await sync_once(daemon)
    assert failed["last_error"]["code"] in ("cats.rate_limited", "cats.budget_reserved")
    name = sandbox.store.get_record("companies", 9001)["name"]
    cache = await lookup_cache(daemon, name)
    assert (cache["state"], cache["offline_reason"]) == ("offline", "rate_limited")
    assert "the hourly CATS request budget is spent" in cache["message"]
