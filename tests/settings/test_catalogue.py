"""The field catalogue against the sandbox: four requests a refresh, cached in a file, stale after its TTL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from companion.cats.client import CatsClient
from companion.errors import CatsAuthError
from companion.secret import ApiKey
from companion.settings.catalogue import Catalogue
from companion.settings.catalogue_store import CatalogueStore
from tests.fixtures.sandbox import SandboxHandle
from tests.settings.helpers import NOW


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def client(sandbox: SandboxHandle) -> AsyncIterator[CatsClient]:
    async with CatsClient(sandbox.url, sandbox.key) as cats:
        yield cats


async def test_a_refresh_costs_one_request_per_record_type_and_one_for_users(
    sandbox: SandboxHandle, client: CatsClient, tmp_path: Path
) -> None:
    store = CatalogueStore(tmp_path / "catalogue.json", clock=Clock())
    await sandbox.control.reset_counters()
    catalogue = await store.refresh(client)
    counters = await sandbox.control.counters()
    assert counters["requests_total"] == 4
    assert catalogue.fetched_at == NOW
    assert {len(catalogue.custom_fields[r]) for r in ("candidates", "contacts", "companies")} == {9}
    assert len(catalogue.users) == 6
    permit = next(f for f in catalogue.fields("candidates") if f.label == "Work permit")
    assert (permit.type, permit.custom, permit.multi) == ("dropdown", True, False)
    assert permit.options == ["Citizen", "Permanent resident", "Needs sponsorship"]
    languages = next(f for f in catalogue.fields("candidates") if f.label == "Languages")
    assert (languages.type, languages.multi) == ("checkboxes", True)


async def test_the_cached_catalogue_is_read_back_without_asking_cats(
    sandbox: SandboxHandle, client: CatsClient, tmp_path: Path
) -> None:
    path = tmp_path / "catalogue.json"
    fetched = await CatalogueStore(path, clock=Clock()).refresh(client)
    await sandbox.control.reset_counters()
    again = CatalogueStore(path, clock=Clock())
    assert again.current == fetched
    assert await again.refresh_if_stale(client) == fetched
    assert (await sandbox.control.counters())["requests_total"] == 0


async def test_a_catalogue_older_than_its_ttl_is_stale_and_refreshed(
    sandbox: SandboxHandle, client: CatsClient, tmp_path: Path
) -> None:
    clock = Clock()
    store = CatalogueStore(tmp_path / "catalogue.json", ttl=timedelta(hours=1), clock=clock)
    assert store.is_stale()
    await store.refresh(client)
    clock.now = NOW + timedelta(minutes=59)
    assert not store.is_stale()
    clock.now = NOW + timedelta(hours=1)
    assert store.is_stale()
    await sandbox.control.reset_counters()
    refreshed = await store.refresh_if_stale(client)
    assert refreshed.fetched_at == clock.now
    assert (await sandbox.control.counters())["requests_total"] == 4


async def test_a_failed_refresh_keeps_the_cached_catalogue(
    sandbox: SandboxHandle, client: CatsClient, tmp_path: Path
) -> None:
    path = tmp_path / "catalogue.json"
    store = CatalogueStore(path, clock=Clock())
    fetched = await store.refresh(client)
    before = path.read_bytes()
    async with CatsClient(sandbox.url, ApiKey("not-the-key")) as wrong:
        with pytest.raises(CatsAuthError):
            await store.refresh(wrong)
    assert store.current == fetched
    assert path.read_bytes() == before


def test_a_damaged_cache_file_is_an_empty_catalogue(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.json"
    path.write_text("{]", encoding="utf-8")
    store = CatalogueStore(path, clock=Clock())
    assert store.current == Catalogue()
    assert store.is_stale()


def test_standard_fields_are_known_before_cats_is_ever_asked() -> None:
    catalogue = Catalogue()
    title = catalogue.field("contacts", "title")
    assert title is not None and (title.label, title.custom) == ("Title", False)
    emails = catalogue.field("candidates", "emails")
    assert emails is not None and emails.multi
    assert catalogue.field("candidates", "custom:88001") is None
    assert [f.ref for f in catalogue.fields("companies")][:3] == ["name", "website", "phone"]
