"""Small builders shared by the rules tests: settings from dotted paths, a catalogue, events, people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from companion.rules.person import CampaignEvent, EventType, OutreachType
from companion.settings.catalogue import Catalogue, CatalogueUser, CustomField
from companion.settings.models import Settings

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
#: A moment after every event the tests make (they are at most a few hours after T0).
LATER = T0 + timedelta(days=30)

#: One custom field of every type CATS has, on candidates; ids chosen to read well in failures.
CUSTOM_TEXT = CustomField(id=88001, name="Languages spoken", type="text")
CUSTOM_TEXTAREA = CustomField(id=88002, name="Recruiter remarks", type="textarea")
CUSTOM_CHECKBOX = CustomField(id=88003, name="Open to remote", type="checkbox")
CUSTOM_DATE = CustomField(id=88004, name="Available from", type="date")
CUSTOM_DROPDOWN = CustomField(
    id=88005, name="Work permit", type="dropdown", options=["Citizen", "Needs sponsorship"]
)
CUSTOM_RADIO = CustomField(id=88006, name="Contract type", type="radio", options=["Permanent", "Contract"])
CUSTOM_CHECKBOXES = CustomField(
    id=88007, name="Tech stack", type="checkboxes", options=["Python", "SQL", "Go", "Rust"]
)
CUSTOM_USER = CustomField(id=88008, name="Sourcer", type="user")
CUSTOM_NUMBER = CustomField(id=88009, name="Years of experience", type="number")
CONTACT_TEXT = CustomField(id=99001, name="Assistant", type="text")

OWNER = 4001
OTHER_USER = 4002


def catalogue(**overrides: Any) -> Catalogue:
    """A catalogue as fetched from CATS: every custom field type on candidates, two users."""
    fields: dict[str, Any] = {
        "fetched_at": T0,
        "custom_fields": {
            "candidates": [
                CUSTOM_TEXT,
                CUSTOM_TEXTAREA,
                CUSTOM_CHECKBOX,
                CUSTOM_DATE,
                CUSTOM_DROPDOWN,
                CUSTOM_RADIO,
                CUSTOM_CHECKBOXES,
                CUSTOM_USER,
                CUSTOM_NUMBER,
            ],
            "contacts": [CONTACT_TEXT],
            "companies": [],
        },
        "users": [CatalogueUser(id=OWNER, name="Ann Owner"), CatalogueUser(id=OTHER_USER, name="Bo Sourcer")],
    }
    fields.update(overrides)
    return Catalogue(**fields)


def settings(**paths: Any) -> Settings:
    """The default settings with the given leaves changed; keys are dotted paths with `__` for dots.

    settings(sync__candidates__campaign_sync_trigger="never")
    """
    tree: dict[str, Any] = Settings().model_dump(mode="json")
    for key, value in paths.items():
        node = tree
        *parents, leaf = key.split("__")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return Settings.model_validate(tree)


def event(
    event_id: str,
    kind: str,
    *,
    outreach: str | None = None,
    hours: int = 0,
    text: str | None = None,
) -> CampaignEvent:
    """A campaign event `hours` after T0; `kind` is an EventType value, or an OutreachType value."""
    if kind in {outreach_type.value for outreach_type in OutreachType}:
        return CampaignEvent(
            id=event_id,
            type=EventType.OUTREACH,
            outreach=OutreachType(kind),
            at=T0 + timedelta(hours=hours),
            text=text,
        )
    return CampaignEvent(
        id=event_id,
        type=EventType(kind),
        outreach=OutreachType(outreach) if outreach else None,
        at=T0 + timedelta(hours=hours),
        text=text,
    )
