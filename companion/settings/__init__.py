"""Every setting of the companion: models, user file, team policy with locks, mapping, field catalogue."""

from __future__ import annotations

from companion.settings.base import Problem, SettingsWarning, Source
from companion.settings.catalogue import Catalogue, CatalogueStore
from companion.settings.effective import Effective
from companion.settings.models import Settings
from companion.settings.service import SettingsService

__all__ = [
    "Catalogue",
    "CatalogueStore",
    "Effective",
    "Problem",
    "Settings",
    "SettingsService",
    "SettingsWarning",
    "Source",
]
