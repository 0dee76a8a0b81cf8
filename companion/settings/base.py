"""The building blocks every settings model shares: sections, and the problem and warning records.

A `Section` groups settings; each of its fields that is not itself a Section is ONE setting,
addressed by its dotted path (`sync.candidates.campaign_sync_trigger`) in the user's file, the
team policy, locks and the API.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A group of settings: strict (no silent "10" -> 10), no unknown keys, immutable once built."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Value(BaseModel):
    """A structured value of one setting (e.g. one protected field with its option)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


#: Where an effective value came from.
Source = Literal["builtin", "team", "user"]


class Problem(BaseModel):
    """Something in the user's file or the team policy that could not be applied, and why."""

    model_config = ConfigDict(frozen=True)

    #: A stable code from companion.errors (settings.invalid, policy.invalid, ...).
    code: str
    message: str
    #: The file the problem is in, when it is in one.
    file: str | None = None
    #: The setting concerned, when it is one setting.
    path: str | None = None


class SettingsWarning(BaseModel):
    """A valid setting that cannot work as meant against this CATS account (shown, never enforced)."""

    model_config = ConfigDict(frozen=True)

    path: str
    #: One of: list_without_joiner, type_mismatch, options_may_not_match, shared_field,
    #: missing_custom_field, missing_user, no_owner, catalogue_not_loaded.
    kind: str
    message: str
