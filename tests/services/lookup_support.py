"""Building a company cache for lookup tests: real SQLite, rows written the way the sync writes them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from companion.matching import company_domain, linkedin_company_slug, normalize_name
from companion.services.company_lookup import CompanyLookupService, settings_source
from companion.settings.catalogue_store import CatalogueStore
from companion.settings.service import SettingsService
from companion.store import Database
from companion.store.companies import CompanyCache, CompanyRow, StatusRow, UserRow

SYNCED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OWNER = UserRow(id=4001, display_name="Dana Whitfield", username="dana")
ACCOUNT_MANAGER = UserRow(id=4002, display_name="Sam Okafor", username="sam")
ACTIVE = StatusRow(id=130, title="Active", mapping="active")
#: The companies' custom fields as the field catalogue holds them.
CUSTOM_FIELDS: list[dict[str, Any]] = [
    {"id": 88005, "name": "Industry", "type": "dropdown", "options": ["Manufacturing", "Retail"]},
    {"id": 88007, "name": "Regions", "type": "checkboxes", "options": ["EMEA", "APAC"]},
    {"id": 88008, "name": "Account manager", "type": "user"},
    {"id": 88010, "name": "Key account", "type": "checkbox"},
]


class Clock:
    """An injectable clock that tests move by hand."""

    def __init__(self, now: datetime = SYNCED_AT + timedelta(minutes=5)) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def company(company_id: int, name: str, website: str | None = None, **fields: Any) -> CompanyRow:
    """A cache row with its match keys derived as companion.services.company_records derives them."""
    social = fields.pop("social_media_urls", [])
    slug = next((s for url in (website or "", *social) if (s := linkedin_company_slug(url))), None)
    return CompanyRow(
        id=company_id,
        name=name,
        website=website,
        social_media_urls=social,
        name_key=normalize_name(name),
        domain=company_domain(website) if website else None,
        linkedin_slug=slug,
        **fields,
    )


def settings_service(home: Path) -> SettingsService:
    """Real settings files under `home`, with a field catalogue that knows the companies' custom fields."""
    catalogue = home / "catalogue.json"
    catalogue.write_text(
        json.dumps(
            {
                "version": 1,
                "fetched_at": SYNCED_AT.isoformat(),
                "custom_fields": {"candidates": [], "contacts": [], "companies": CUSTOM_FIELDS},
                "users": [],
            }
        ),
        encoding="utf-8",
    )
    return SettingsService(
        config_dir=home / "config", site_dir=home / "site", catalogue=CatalogueStore(catalogue), environ={}
    )


async def write(
    db: Database,
    service: CompanyLookupService | None,
    rows: Sequence[CompanyRow],
    removed: Sequence[int] = (),
) -> None:
    """Store rows and delete ids in one transaction, then run the change hook, as CompanySync does."""
    cache = CompanyCache(db)
    async with db.transaction() as conn:
        if rows:
            await cache.upsert(conn, rows, synced_at=SYNCED_AT)
        if removed:
            await cache.delete(conn, removed)
    if service is not None:
        await service.apply_changes(rows, removed)


async def mark_synced(db: Database, at: datetime = SYNCED_AT) -> None:
    cache = CompanyCache(db)
    async with db.transaction() as conn:
        await cache.replace_users(conn, [OWNER, ACCOUNT_MANAGER], synced_at=at)
        await cache.replace_statuses(conn, [ACTIVE], synced_at=at)
        await cache.save_sync(conn, last_success_at=at, last_full_success_at=at)


async def open_service(db: Database, settings: SettingsService, clock: Clock) -> CompanyLookupService:
    return await CompanyLookupService.open(db, settings=settings_source(settings), now=clock)
