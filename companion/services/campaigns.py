"""Campaigns kept by the companion: create, rename, change their overrides, archive, list.

A campaign may override the sync trigger and the record type new members sync as; None keeps the
settings' value (the trigger) or Candidate (the record type). Names are unique among live
campaigns, compared without case; archiving frees the name and stops new members and events.
Members and events are recorded by companion.services.push, which also writes the outbox items
they lead to.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from companion.errors import (
    BadRequestError,
    CampaignArchivedError,
    CampaignNameTakenError,
    CampaignNotFoundError,
)
from companion.rules.person import CampaignRules
from companion.store.db import Database
from companion.store.people import Campaign, NameTakenError, PeopleStore, RecordType, SyncTriggerName

CampaignName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: CampaignName
    sync_trigger: SyncTriggerName | None = None
    record_type: RecordType | None = None


class CampaignChange(BaseModel):
    """Fields to change; an override set to null goes back to the settings' value."""

    model_config = ConfigDict(extra="forbid")

    name: CampaignName | None = None
    sync_trigger: SyncTriggerName | None = None
    record_type: RecordType | None = None


class CampaignView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    sync_trigger: SyncTriggerName | None
    record_type: RecordType | None
    archived: bool
    archived_at: datetime | None
    members: int = Field(ge=0)
    created_at: datetime
    updated_at: datetime


def rules_of(campaign: Campaign) -> CampaignRules:
    """What the campaign overrides, in the rules' terms."""
    return CampaignRules(
        sync_trigger=campaign.sync_trigger, record_type=campaign.record_type, name=campaign.name
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


class CampaignService:
    def __init__(self, db: Database, *, now: Callable[[], datetime] = _utcnow) -> None:
        self._db = db
        self._people = PeopleStore(db)
        self._now = now

    async def create(self, request: CampaignCreate) -> CampaignView:
        async with self._db.transaction() as conn:
            try:
                campaign_id = await self._people.create_campaign(
                    conn,
                    name=request.name,
                    sync_trigger=request.sync_trigger,
                    record_type=request.record_type,
                    now=self._now(),
                )
            except NameTakenError:
                raise CampaignNameTakenError(f"a campaign named {request.name!r} already exists") from None
        return await self.view(campaign_id)

    async def change(self, campaign_id: int, change: CampaignChange) -> CampaignView:
        """Rename and/or set the overrides; only the fields present in the request change."""
        campaign = await self.get(campaign_id)
        if campaign.archived:
            raise CampaignArchivedError(f"the campaign {campaign.name!r} is archived")
        changes: dict[str, Any] = change.model_dump(exclude_unset=True)
        if changes.get("name", "") is None:
            raise BadRequestError("a campaign's name cannot be empty")
        if changes:
            async with self._db.transaction() as conn:
                try:
                    await self._people.update_campaign(conn, campaign_id, changes, now=self._now())
                except NameTakenError:
                    raise CampaignNameTakenError(f"a campaign named {change.name!r} already exists") from None
        return await self.view(campaign_id)

    async def archive(self, campaign_id: int) -> CampaignView:
        campaign = await self.get(campaign_id)
        if not campaign.archived:
            async with self._db.transaction() as conn:
                await self._people.update_campaign(
                    conn, campaign_id, {"archived_at": self._now()}, now=self._now()
                )
        return await self.view(campaign_id)

    async def get(self, campaign_id: int) -> Campaign:
        campaign = await self._people.campaign(campaign_id)
        if campaign is None:
            raise CampaignNotFoundError(f"there is no campaign {campaign_id}")
        return campaign

    async def by_name(self, name: str) -> Campaign:
        """The live campaign with this name (case does not matter)."""
        wanted = name.strip().casefold()
        for campaign in await self._people.campaigns():
            if campaign.name.casefold() == wanted:
                return campaign
        raise CampaignNotFoundError(f"there is no live campaign named {name!r}")

    async def view(self, campaign_id: int) -> CampaignView:
        campaign = await self.get(campaign_id)
        counts = await self._people.member_counts()
        return _view(campaign, counts.get(campaign.id, 0))

    async def list(self, *, include_archived: bool = False) -> list[CampaignView]:
        counts = await self._people.member_counts()
        campaigns = await self._people.campaigns(include_archived=include_archived)
        return [_view(campaign, counts.get(campaign.id, 0)) for campaign in campaigns]


def _view(campaign: Campaign, members: int) -> CampaignView:
    return CampaignView(
        id=campaign.id,
        name=campaign.name,
        sync_trigger=campaign.sync_trigger,
        record_type=campaign.record_type,
        archived=campaign.archived,
        archived_at=campaign.archived_at,
        members=members,
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
    )
