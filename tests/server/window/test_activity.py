"""GET /api/activity: the company sync's history as the window's activity log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp

from companion.sandbox.faults import FaultSettings
from companion.server.daemon import RunningDaemon
from companion.server.window.activity import sync_entries
from companion.services.sync_scheduler import SyncPolicy
from companion.services.sync_state import SyncErrorInfo, SyncState
from tests.fixtures.daemon import DaemonFactory, auth_headers
from tests.fixtures.sandbox import SandboxHandle

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def state(**fields: object) -> SyncState:
    return SyncState.model_validate(
        {"configured": True, "running": False, "companies_in_cache": 40, **fields}
    )


def test_a_never_synced_cache_has_no_activity() -> None:
    assert sync_entries(state(), now=NOW) == []


def test_entries_come_newest_first_with_the_running_one_on_top() -> None:
    entries = sync_entries(
        state(
            running=True,
            phase="incremental",
            pages_done=1,
            companies_done=12,
            last_success_at=NOW - timedelta(hours=1),
            last_full_success_at=NOW - timedelta(hours=5),
            last_error=SyncErrorInfo(
                code="cats.network", message="CATS could not be reached", at=NOW - timedelta(minutes=30)
            ),
        ),
        now=NOW,
    )
    assert [(e.status, e.title) for e in entries] == [
        ("running", "Company incremental sync running"),
        ("failed", "Company sync failed"),
        ("ok", "Company cache synced"),
        ("ok", "Full company scan finished"),
    ]
    assert entries[0].detail == "1 page, 12 companies stored so far"
    # No retry offered while a run is going on.
    assert entries[1].retry is None and entries[1].code == "cats.network"


def test_a_failure_offers_a_retry_of_the_sync() -> None:
    (entry,) = sync_entries(
        state(last_error=SyncErrorInfo(code="cats.unavailable", message="CATS answered 500", at=NOW)), now=NOW
    )
    assert entry.retry is not None and (entry.retry.method, entry.retry.path) == ("POST", "/api/sync")
    assert entry.detail == "CATS answered 500"


def test_a_full_scan_that_was_the_last_sync_is_listed_once() -> None:
    entries = sync_entries(state(last_success_at=NOW, last_full_success_at=NOW), now=NOW)
    assert [e.title for e in entries] == ["Company cache synced"]
    assert entries[0].detail == "40 companies in the cache"


async def test_the_api_lists_a_real_sync_and_its_failure(
    daemon_factory: DaemonFactory, sandbox: SandboxHandle
) -> None:
    daemon: RunningDaemon = await daemon_factory(
        key=sandbox.key, cats_base_url=sandbox.url, sync=SyncPolicy(automatic=False)
    )
    assert daemon.companion.sync is not None
    async with aiohttp.ClientSession(base_url=daemon.url, headers=auth_headers()) as http:
        async with http.get("/api/activity") as response:
            assert (await response.json()) == {"entries": [], "sources": ["company_sync", "push"]}
        for faults in (FaultSettings(), FaultSettings(probabilities={"503": 1.0})):
            await sandbox.control.set_faults(faults)
            ended = daemon.companion.sync.runs_ended
            assert daemon.companion.sync.request()
            await daemon.companion.sync.wait_for_run(ended)
        async with http.get("/api/activity") as response:
            body = await response.json()
    statuses = [(entry["status"], entry["code"]) for entry in body["entries"]]
    assert statuses == [("failed", "cats.unavailable"), ("ok", None)]
    assert body["entries"][1]["detail"] == "20 companies in the cache"
