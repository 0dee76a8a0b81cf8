"""Exactly once across a crash: `cats-companion outbox send` killed with SIGKILL in the middle of a batch,
then run again; afterwards the sandbox's own store holds exactly one record and one note per person."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from companion import paths
from companion.keystore import SERVICE_NAME, normalize_base_url
from companion.services.campaigns import CampaignCreate
from companion.services.push import EventRequest, PushService, RulesInputs
from companion.settings.catalogue import Catalogue
from companion.settings.models import Settings
from companion.store import open_database
from companion.store.db import DB_FILE_NAME
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle
from tests.services.keyring_file import CLASS_PATH, FILE_ENV, write_keyring_file
from tests.services.pushenv import ada

REPO = Path(__file__).resolve().parents[2]
PEOPLE = 24
EXISTING = 6


def _email(n: int) -> str:
    return f"crash{n}@engines.example"


async def _queue_batch(sandbox: SandboxHandle) -> None:
    """Every person joins an on-add campaign and gets one outreach: a record item and a note item each."""
    for n in range(EXISTING):
        sandbox.store.create_record(
            "candidates",
            {
                "first_name": f"Crash{n}",
                "last_name": "Test",
                "emails": [{"email": _email(n), "is_primary": True}],
            },
        )
    db = await open_database(paths.data_dir() / DB_FILE_NAME)
    try:
        inputs = RulesInputs(Settings(), Catalogue())
        service = PushService(db, lambda: inputs)
        campaign = await service.campaigns.create(CampaignCreate(name="Crash", sync_trigger="on_add"))
        for n in range(PEOPLE):
            person = ada(first_name=f"Crash{n}", last_name="Test", emails=[_email(n)], linkedin=None)
            await service.record_event(EventRequest(campaign_id=campaign.id, person=person, type="added"))
            await service.record_event(
                EventRequest(
                    campaign_id=campaign.id,
                    person=person,
                    type="outreach",
                    outreach="inmail",
                    text=f"hello {n}",
                )
            )
        assert await service.outbox.counts() == {"queued": 2 * PEOPLE}
    finally:
        await db.close()


@pytest.fixture
async def sandbox(sandbox_factory: SandboxFactory) -> SandboxHandle:
    return await sandbox_factory(seed=2, seed_random=5, rate_limit=0)


@pytest.fixture
def env(sandbox: SandboxHandle, tmp_path: Path) -> dict[str, str]:
    keyring_file = write_keyring_file(
        tmp_path / "keyring.json", SERVICE_NAME, normalize_base_url(sandbox.url), sandbox.api_key
    )
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PYTHON_KEYRING_BACKEND": CLASS_PATH,
        FILE_ENV: str(keyring_file),
    }


async def _send(sandbox: SandboxHandle, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "companion",
        "outbox",
        "send",
        "--cats-url",
        sandbox.url,
        "--max-wait",
        "30",
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


@pytest.fixture
async def killed_proc() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    procs: list[asyncio.subprocess.Process] = []
    yield procs
    for proc in procs:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.mark.timeout(120)
async def test_a_batch_killed_mid_way_reaches_cats_exactly_once_after_a_restart(
    sandbox: SandboxHandle, env: dict[str, str], killed_proc: list[asyncio.subprocess.Process]
) -> None:
    seeded = sandbox.store.record_counts()["candidates"]
    await _queue_batch(sandbox)
    # Slow answers so the kill lands inside requests; some creates land without their answer.
    await sandbox.control.set_faults(
        probabilities={"slow": 0.7, "reset_after": 0.08}, slow_seconds=0.05, random_seed=11
    )
    proc = await _send(sandbox, env)
    killed_proc.append(proc)
    async with asyncio.timeout(60):
        # The other process writes CATS: nothing to wait on but the sandbox's own store.
        while sandbox.store.record_counts()["candidates"] < seeded + EXISTING + PEOPLE // 3:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    mid_way = sandbox.store.record_counts()["candidates"]
    assert mid_way < seeded + PEOPLE  # killed in the middle, not after the end

    restarted = await _send(sandbox, env)
    killed_proc.append(restarted)
    async with asyncio.timeout(90):
        out, err = await restarted.communicate()
    assert restarted.returncode == 0, err.decode()
    assert f"{2 * PEOPLE} synced" in out.decode()

    for n in range(PEOPLE):
        hits = sandbox.store.search_records(
            "candidates", filter={"field": "emails.primary", "filter": "exactly", "value": _email(n)}
        ).items
        assert len(hits) == 1, f"person {n} has {len(hits)} records"
        notes = [
            a
            for a in sandbox.store.list_record_activities("candidates", hits[0]["id"], 1, 100).items
            if a["notes"].endswith(f": hello {n}")
        ]
        assert len(notes) == 1, f"person {n} has {len(notes)} notes"
    # The existing people were merged into, the others created once: no record anywhere else.
    assert sandbox.store.record_counts()["candidates"] == seeded + PEOPLE
