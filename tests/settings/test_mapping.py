"""Mapping warnings: each kind of mapping that is valid but cannot work against this CATS account."""

from __future__ import annotations

from typing import Any

from companion.settings import tree
from companion.settings.base import SettingsWarning
from companion.settings.catalogue import Catalogue
from companion.settings.checks import settings_warnings
from companion.settings.mapping import mapping_warnings
from tests.settings.helpers import loaded_catalogue


def _warnings(values: dict[str, Any], catalogue: Catalogue | None = None) -> list[SettingsWarning]:
    settings = tree.build(values)
    return mapping_warnings(
        settings.mapping.candidates, catalogue or loaded_catalogue(), prefix="mapping.candidates"
    )


def _kinds(warnings: list[SettingsWarning]) -> list[tuple[str, str]]:
    return [(w.path, w.kind) for w in warnings]


def test_the_default_mappings_raise_no_warning() -> None:
    settings = tree.build({})
    for record_type in ("candidates", "contacts"):
        mapping = settings.mapping.for_record(record_type)
        assert mapping_warnings(mapping, loaded_catalogue(), prefix=f"mapping.{record_type}") == []


def test_a_list_into_a_single_text_field_without_a_joiner_is_flagged() -> None:
    warnings = _warnings({"mapping.candidates.skills.joiner": None})
    assert _kinds(warnings) == [("mapping.candidates.skills.targets", "list_without_joiner")]
    assert "Key skills" in warnings[0].message
    assert _warnings({"mapping.candidates.languages.targets": ["custom:101"]}) == []


def test_a_list_into_a_number_field_is_a_type_mismatch() -> None:
    warnings = _warnings({"mapping.candidates.languages.targets": ["custom:102"]})
    assert _kinds(warnings) == [("mapping.candidates.languages.targets", "type_mismatch")]
    assert "number" in warnings[0].message


def test_a_string_into_a_date_field_is_a_type_mismatch() -> None:
    assert _kinds(_warnings({"mapping.candidates.summary": "custom:106"})) == [
        ("mapping.candidates.summary", "type_mismatch")
    ]


def test_a_string_into_a_dropdown_warns_that_its_options_may_not_match() -> None:
    [warning] = _warnings({"mapping.candidates.headline": "custom:103"})
    assert (warning.path, warning.kind) == ("mapping.candidates.headline", "options_may_not_match")
    assert "Citizen, Needs sponsorship" in warning.message


def test_a_list_into_a_single_choice_field_is_a_mismatch_and_into_checkboxes_may_not_match() -> None:
    assert _kinds(_warnings({"mapping.candidates.languages.targets": ["custom:105"]})) == [
        ("mapping.candidates.languages.targets", "type_mismatch")
    ]
    assert _kinds(_warnings({"mapping.candidates.languages.targets": ["custom:104"]})) == [
        ("mapping.candidates.languages.targets", "options_may_not_match")
    ]


def test_a_value_of_the_wrong_kind_into_emails_phones_or_urls_is_a_mismatch() -> None:
    warnings = _warnings(
        {
            "mapping.candidates.linkedin": "emails",
            "mapping.candidates.phones.targets": ["social_media_urls"],
            "mapping.candidates.headline": "phones",
        }
    )
    assert sorted(_kinds(warnings)) == [
        ("mapping.candidates.headline", "type_mismatch"),
        ("mapping.candidates.linkedin", "type_mismatch"),
        ("mapping.candidates.phones.targets", "type_mismatch"),
    ]


def test_two_variables_into_one_single_valued_field_are_both_flagged() -> None:
    warnings = _warnings({"mapping.candidates.headline": "title"})
    assert _kinds(warnings) == [
        ("mapping.candidates.title", "shared_field"),
        ("mapping.candidates.headline", "shared_field"),
    ]
    assert "Job title and Headline" in warnings[0].message


def test_several_urls_into_the_multi_valued_social_field_are_fine() -> None:
    assert _warnings({"mapping.candidates.website": "social_media_urls"}) == []


def test_a_mapping_to_a_custom_field_cats_no_longer_has_is_flagged_once_the_catalogue_is_loaded() -> None:
    values = {"mapping.candidates.headline": "custom:999"}
    assert _kinds(_warnings(values)) == [("mapping.candidates.headline", "missing_custom_field")]
    assert _warnings(values, Catalogue()) == []


def test_settings_warnings_cover_sync_fields_owners_and_an_unloaded_catalogue() -> None:
    settings = tree.build(
        {
            "sync.candidates.filterable_fields": ["custom:888"],
            "sync.candidates.default_owner_id": 4999,
            "sync.contacts.default_owner_id": 4001,
            "general.displayed_company_info": ["name", "custom:301", "custom:302"],
        }
    )
    assert _kinds(settings_warnings(settings, loaded_catalogue())) == [
        ("sync.candidates.filterable_fields", "missing_custom_field"),
        ("sync.candidates.default_owner_id", "missing_user"),
        ("general.displayed_company_info", "missing_custom_field"),
    ]
    assert _kinds(settings_warnings(settings, Catalogue())) == [("mapping", "catalogue_not_loaded")]


def test_contacts_without_a_default_owner_are_flagged() -> None:
    assert _kinds(settings_warnings(tree.build({}), loaded_catalogue())) == [
        ("sync.contacts.default_owner_id", "no_owner")
    ]
