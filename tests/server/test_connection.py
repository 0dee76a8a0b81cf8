"""What each error says about the CATS connection, as GET /api/status will show it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from companion.app import Companion, CompanionConfig
from companion.errors import (
    CatsAuthError,
    CatsBadResponseError,
    CatsForbiddenError,
    CatsNetworkError,
    CatsRateLimitedError,
    CatsUnavailableError,
    CompanionError,
    KeyMissingError,
    KeyringLockedError,
    KeyringUnavailableError,
)
from companion.rules.person import Person
from companion.secret import ApiKey
from companion.services.connection import CatsState, ConnectionMonitor
from companion.services.push import PushRequest
from companion.services.sync_scheduler import SyncPolicy
from tests.fixtures.sandbox import SandboxHandle

NOON = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("error", "state"),
    [
        (KeyMissingError("no key"), "not_configured"),
        (KeyringUnavailableError("no keyring"), "not_configured"),
        (KeyringLockedError("locked"), "keyring_locked"),
        (CatsAuthError("refused", status=401), "bad_key"),
        (CatsForbiddenError("read-only user", status=403), "bad_key"),
        (CatsNetworkError("connection refused"), "unreachable"),
        (CatsUnavailableError("503", status=503), "unreachable"),
        (CatsRateLimitedError("slow down", retry_after=30), "unknown"),
        (CatsBadResponseError("not JSON", status=200), "unknown"),
    ],
)
def test_an_error_sets_the_state_it_reveals(error: CompanionError, state: CatsState) -> None:
    monitor = ConnectionMonitor(clock=lambda: NOON)
    monitor.record_error(error)
    assert monitor.status.state == state
    assert monitor.status.detail == f"{error.code}: {error.message}"
    assert monitor.status.checked_at == NOON


def test_nothing_is_known_before_the_first_report_and_the_latest_report_wins() -> None:
    monitor = ConnectionMonitor(clock=lambda: NOON)
    assert (monitor.status.state, monitor.status.checked_at) == ("unknown", None)
    monitor.record_error(CatsNetworkError("offline"))
    monitor.record_connected("connected to the CATS site 'acme'")
    assert monitor.status.state == "connected"
    assert monitor.status.detail == "connected to the CATS site 'acme'"


def test_a_connection_names_its_site_and_a_later_success_keeps_it() -> None:
    monitor = ConnectionMonitor()
    monitor.record_connected("connected to the CATS site 'acme'", site="acme")
    assert monitor.status.site == "acme"
    monitor.record_connected("CATS answered the company sync")
    assert monitor.status.site == "acme"
    monitor.record_not_configured("disconnected")
    assert monitor.status.site is None


def test_each_answer_from_cats_moves_the_connected_time_on_and_keeps_what_was_said() -> None:
    now = [NOON]
    monitor = ConnectionMonitor(clock=lambda: now[0])
    monitor.record_connected("connected to the CATS site 'acme'", site="acme")
    now[0] = NOON + timedelta(minutes=10)
    monitor.record_answered("CATS answered the company sync")
    status = monitor.status
    assert (status.state, status.detail, status.site, status.checked_at) == (
        "connected",
        "connected to the CATS site 'acme'",
        "acme",
        NOON + timedelta(minutes=10),
    )
    monitor.record_error(CatsNetworkError("offline"))
    monitor.record_answered("CATS answered the company sync")
    assert (monitor.status.state, monitor.status.detail) == ("connected", "CATS answered the company sync")


async def test_a_locked_keyring_says_so_and_the_stored_key_is_used_once_it_is_unlocked(
    tmp_path: Path, sandbox: SandboxHandle
) -> None:
    unlocked = asyncio.Event()

    def keyring(base_url: str) -> ApiKey | None:
        if not unlocked.is_set():
            raise KeyringLockedError("Could not read the keyring: it is locked and was not unlocked")
        return sandbox.key if base_url == sandbox.url else None

    config = CompanionConfig(
        cats_base_url=sandbox.url,
        data_dir=tmp_path / "data",
        config_dir=tmp_path / "config",
        team_file=tmp_path / "no-team.json",
        send_outbox=False,
        sync=SyncPolicy(automatic=False),
        keyring_retry_seconds=0.05,
    )
    companion = await Companion.open(config, key_source=keyring)
    try:
        await companion.start()
        cats = companion.status()["cats"]
        assert isinstance(cats, dict)
        assert cats["state"] == "keyring_locked"
        assert "key.keyring_locked" in cats["detail"]
        assert companion.client is None

        unlocked.set()
        assert companion.unlock_task is not None
        await asyncio.wait_for(companion.unlock_task, 10)
        assert companion.client is not None
        assert companion.monitor.status.state == "connected"
    finally:
        await companion.close()


async def test_a_push_that_cats_answers_keeps_the_connection_fresh_without_any_sync(
    tmp_path: Path, sandbox: SandboxHandle
) -> None:
    # A team member whose teammate syncs: its only requests are its own pushes.
    config = CompanionConfig(
        cats_base_url=sandbox.url,
        data_dir=tmp_path / "data",
        config_dir=tmp_path / "config",
        team_file=tmp_path / "no-team.json",
        sync=SyncPolicy(automatic=False),
    )
    now = [NOON]
    companion = await Companion.open(config, key_source=lambda _url: sandbox.key)
    companion.monitor = ConnectionMonitor(clock=lambda: now[0])
    try:
        await companion.start()
        assert companion.check_task is not None
        await asyncio.wait_for(companion.check_task, 10)
        assert (companion.monitor.status.state, companion.monitor.status.checked_at) == ("connected", NOON)
        site = companion.monitor.status.site
        now[0] = NOON + timedelta(hours=2)

        await companion.push.push(PushRequest(person=Person(first_name="Ada", last_name="Lovelace")))
        for _ in range(200):
            if await companion.push.outbox.counts() == {"synced": 1}:
                break
            await asyncio.sleep(0.05)

        status = companion.monitor.status
        assert (status.state, status.checked_at, status.site) == (
            "connected",
            NOON + timedelta(hours=2),
            site,
        )
    finally:
        await companion.close()
