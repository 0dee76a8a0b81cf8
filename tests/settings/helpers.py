"""Small builders shared by the settings tests: catalogues, policy files, a service on temporary dirs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from companion.settings.catalogue import Catalogue, CatalogueUser, CustomField
from companion.settings.catalogue_store import CatalogueStore
from companion.settings.service import SettingsService
from companion.settings.team_policy import TeamPolicySource

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

#: Custom candidate fields of a made-up account, one per interesting type.
CANDIDATE_TEXT = CustomField(id=101, name="Notice period", type="text")
CANDIDATE_NUMBER = CustomField(id=102, name="Years of experience", type="number")
CANDIDATE_DROPDOWN = CustomField(
    id=103, name="Work permit", type="dropdown", options=["Citizen", "Needs sponsorship"]
)
CANDIDATE_CHECKBOXES = CustomField(id=104, name="Languages", type="checkboxes", options=["English", "Dutch"])
CANDIDATE_RADIO = CustomField(id=105, name="Contract type", type="radio", options=["Permanent", "Contract"])
CANDIDATE_DATE = CustomField(id=106, name="Available from", type="date")
CONTACT_TEXT = CustomField(id=201, name="Assistant", type="text")
COMPANY_TEXT = CustomField(id=301, name="Account code", type="text")


def loaded_catalogue(**overrides: Any) -> Catalogue:
    """A catalogue as fetched from CATS at NOW."""
    fields: dict[str, Any] = {
        "fetched_at": NOW,
        "custom_fields": {
            "candidates": [
                CANDIDATE_TEXT,
                CANDIDATE_NUMBER,
                CANDIDATE_DROPDOWN,
                CANDIDATE_CHECKBOXES,
                CANDIDATE_RADIO,
                CANDIDATE_DATE,
            ],
            "contacts": [CONTACT_TEXT],
            "companies": [COMPANY_TEXT],
        },
        "users": [CatalogueUser(id=4001, name="Ann Owner")],
    }
    fields.update(overrides)
    return Catalogue(**fields)


def write_json(path: Path, document: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def policy(
    defaults: dict[str, Any] | None = None, locked: list[str] | None = None, version: int = 1
) -> dict[str, Any]:
    return {"version": version, "defaults": defaults or {}, "locked": locked or []}


def service(
    tmp_path: Path,
    *,
    environ: dict[str, str] | None = None,
    admin: bool = False,
    team_policy: TeamPolicySource | None = None,
) -> SettingsService:
    """A service whose files all live under tmp_path: config/, site/, data/catalogue.json."""
    return SettingsService(
        config_dir=tmp_path / "config",
        site_dir=tmp_path / "site",
        catalogue=CatalogueStore(tmp_path / "data" / "catalogue.json", clock=lambda: NOW),
        environ=environ or {},
        admin=admin,
        team_policy=team_policy,
    )
