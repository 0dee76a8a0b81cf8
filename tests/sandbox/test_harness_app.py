"""The app factory, its configuration, the runner, and the shared `sandbox` fixture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from companion.sandbox.app import DEMO_API_KEY, SandboxConfig, start_sandbox
from companion.secret import ApiKey
from tests.fixtures.sandbox import DEFAULT_SEED_COMPANIES, SandboxFactory, SandboxHandle


@pytest.mark.parametrize(
    "fields",
    [
        {"api_key": ""},
        {"api_key": "has space"},
        {"rate_limit": -1},
        {"duplicate_status": 201},
        {"duplicate_status": 500},
        {"seed": -3},
        {"control_token": ""},
        {"faults": {"probabilities": {"500": 3}}},
        {"colour": "blue"},
    ],
)
def test_invalid_config_is_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SandboxConfig(**fields)


def test_config_repr_shows_neither_key_nor_control_token() -> None:
    config = SandboxConfig(api_key="team-key-123", control_token="ctl-secret")
    assert "team-key-123" not in repr(config)
    assert "ctl-secret" not in repr(config)


def test_each_config_gets_its_own_random_control_token() -> None:
    assert SandboxConfig().control_token != SandboxConfig().control_token


async def test_started_sandbox_listens_on_loopback_and_reports_its_urls() -> None:
    running = await start_sandbox(SandboxConfig())
    try:
        assert running.url.startswith("http://127.0.0.1:") and running.url.endswith("/v3")
        assert running.control_url == running.url.removesuffix("/v3") + "/_sandbox"
        assert running.api_key == DEMO_API_KEY
        assert running.store.record_counts()["companies"] == 0
    finally:
        await running.close()


async def test_closing_twice_is_harmless() -> None:
    running = await start_sandbox(SandboxConfig())
    await running.close()
    await running.close()


async def test_database_file_keeps_data_and_is_seeded_only_once(tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.db")
    first = await start_sandbox(SandboxConfig(db_path=db, seed=4))
    try:
        companies = first.store.record_counts()["companies"]
    finally:
        await first.close()
    assert companies == 4
    second = await start_sandbox(SandboxConfig(db_path=db, seed=4))
    try:
        assert second.store.record_counts()["companies"] == 4
    finally:
        await second.close()


async def test_duplicate_status_reaches_the_store(sandbox_factory: SandboxFactory) -> None:
    handle = await sandbox_factory(duplicate_status=422, seed=1)
    company = handle.store.list_records("companies", 1, 1).items[0]
    async with (
        handle.session() as http,
        http.post(
            handle.url_for("companies"),
            params={"check_duplicate": "true"},
            json={"name": company["name"], "owner_id": company["owner_id"]},
        ) as response,
    ):
        assert response.status == 422


async def test_default_fixture_is_seeded_and_ready(sandbox: SandboxHandle) -> None:
    assert sandbox.store.record_counts()["companies"] == DEFAULT_SEED_COMPANIES
    assert isinstance(sandbox.key, ApiKey) and sandbox.key.reveal() == sandbox.api_key
    async with (
        sandbox.session() as http,
        http.get(sandbox.url_for("/companies"), params={"per_page": 5}) as response,
    ):
        body = await response.json()
    assert response.status == 200
    assert body["total"] == DEFAULT_SEED_COMPANIES
    assert (await sandbox.control.counters())["requests"] == {"GET /v3/companies": 1}


async def test_factory_sandboxes_are_independent(sandbox_factory: SandboxFactory) -> None:
    one = await sandbox_factory(seed=2)
    two = await sandbox_factory()
    assert one.url != two.url
    assert (one.store.record_counts()["companies"], two.store.record_counts()["companies"]) == (2, 0)
    assert one.control_token != two.control_token
