"""Every setting refuses bad values with a message naming it; the built-in settings work out of the box."""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest

from companion.errors import SettingsInvalidError
from companion.settings import tree
from companion.settings.fields import STANDARD_FIELDS, custom_id
from companion.settings.mapping import RecordMapping
from companion.settings.models import OUTREACH_TYPES, Settings
from companion.settings.variables import VARIABLES, VariableKind

_STRING_VARS = "|".join(v.key for v in VARIABLES if v.kind is not VariableKind.LIST)

#: For each setting (fnmatch pattern of its path): values that must be refused.
BAD_VALUES: dict[str, list[Any]] = {
    "general.do_not_merge": ["yes", 1, None],
    "general.displayed_company_info": [["nope"], ["name", "name"], "name", ["custom:0"], ["custom:x"]],
    "general.company_warning_level": ["loud", None, "EXACT"],
    "general.notes_upon.*.create_note": ["true", None, 0],
    "general.notes_upon.*.activity_type": ["note", "EMAIL", None],
    "sync.*.campaign_sync_trigger": ["sometimes", "", None],
    "sync.*.only_notes_for_synced": ["no", 1],
    "sync.*.displayed_fields": [["bogus"], ["title", "title"], "title", [3]],
    "sync.*.mandatory_fields": [["bogus"], ["has_left_company"], ["first_name", "first_name"]],
    "sync.*.protected_fields": [
        [{"field": "bogus"}],
        ["title"],
        [{"field": "title", "color": "red"}],
        [{"field": "title"}, {"field": "title", "only_fill_when_blank": True}],
        [{"field": "title", "only_fill_when_blank": "yes"}],
    ],
    "sync.*.filterable_fields": [["custom:abc"], ["Title"]],
    "sync.*.default_owner_id": [0, -4, "4001", True, 4001.0],
    "sync.contacts.missing_company": ["ignore", None],
    "mapping.*.skills.targets": [["bogus"], "key_skills", ["notes", "notes"], ["owner_id"]],
    "mapping.*.emails.targets": [["is_hot"]],
    "mapping.*.phones.targets": [["date_available"]],
    "mapping.*.languages.targets": [[1]],
    "mapping.*.education.targets": [["custom:"]],
    "mapping.*.*.joiner": ["", 7, "x" * 17],
    "cache.incremental_interval_minutes": [0, 1441, "10", 10.5, None],
    "cache.full_scan_interval_hours": [0, 721, "24", True],
}
#: String and social variables: never a non-mappable or unknown field.
for _key in _STRING_VARS.split("|"):
    BAD_VALUES[f"mapping.*.{_key}"] = ["owner_id", "bogus_field", 5, ["title"]]


def _bad_values(path: str) -> list[Any]:
    found = [values for pattern, values in BAD_VALUES.items() if fnmatch.fnmatchcase(path, pattern)]
    return [value for values in found for value in values]


def _cases() -> list[tuple[str, Any]]:
    return [(path, value) for path in tree.leaf_paths() for value in _bad_values(path)]


def test_every_setting_has_bad_values_to_refuse() -> None:
    untested = [path for path in tree.leaf_paths() if not _bad_values(path)]
    assert untested == []


@pytest.mark.parametrize(("path", "value"), _cases(), ids=lambda v: str(v)[:40])
def test_a_bad_value_is_refused_naming_the_setting(path: str, value: Any) -> None:
    if path == "sync.candidates.mandatory_fields" and value == ["has_left_company"]:
        value = ["is_hot"]  # candidates have no has_left_company; is_hot is theirs but nothing fills it
    with pytest.raises(SettingsInvalidError) as caught:
        tree.build({path: value})
    assert [detail["path"] for detail in caught.value.details] == [path]
    assert caught.value.message.startswith(f"{path}: ")


def test_the_built_in_settings_are_valid_and_complete() -> None:
    settings = Settings()
    assert tree.build({}) == settings
    assert settings.general.do_not_merge is False
    assert settings.general.company_warning_level == "similar"
    assert settings.sync.contacts.missing_company == "refuse"
    assert settings.cache.incremental_interval_minutes == 10
    assert settings.cache.full_scan_interval_hours == 24


def test_the_built_in_settings_name_only_standard_fields() -> None:
    values = tree.flatten(Settings())
    texts = [str(value) for value in values.values()]
    assert not any("custom:" in text for text in texts)


@pytest.mark.parametrize("outreach", OUTREACH_TYPES)
def test_every_outreach_type_creates_a_note_of_a_documented_type_by_default(outreach: str) -> None:
    rule = getattr(Settings().general.notes_upon, outreach)
    assert rule.create_note is True
    assert rule.activity_type in {"email", "call_talked", "text_message", "other"}


def test_outreach_types_map_to_their_obvious_activity_types() -> None:
    notes = Settings().general.notes_upon
    assert notes.email_sent.activity_type == "email"
    assert notes.call.activity_type == "call_talked"
    assert notes.text_message.activity_type == "text_message"
    assert notes.inmail.activity_type == "other"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("general.displayed_company_info", ["name", "custom:301", "date_modified"]),
        ("general.displayed_company_info", []),
        ("general.company_warning_level", "off"),
        ("general.notes_upon.meeting_booked.activity_type", "meeting"),
        ("sync.candidates.campaign_sync_trigger", "when_interested"),
        ("sync.contacts.default_owner_id", 4001),
        ("sync.contacts.missing_company", "create"),
        ("sync.candidates.protected_fields", [{"field": "custom:101", "only_fill_when_blank": True}]),
        ("sync.candidates.filterable_fields", ["custom:103", "source"]),
        ("mapping.candidates.headline", "custom:101"),
        ("mapping.contacts.linkedin", "notes"),
        ("mapping.candidates.skills.targets", ["key_skills", "custom:104"]),
        ("mapping.candidates.skills.joiner", "\n"),
        ("cache.incremental_interval_minutes", 1440),
    ],
)
def test_a_good_value_is_accepted_as_given(path: str, value: Any) -> None:
    assert tree.flatten(tree.build({path: value}))[path] == value


def test_a_mandatory_field_filled_by_a_mapping_or_displayed_is_accepted() -> None:
    settings = tree.build(
        {
            "sync.candidates.mandatory_fields": ["first_name", "custom:101", "desired_pay"],
            "mapping.candidates.headline": "custom:101",
            "sync.candidates.displayed_fields": ["desired_pay"],
        }
    )
    assert settings.sync.candidates.mandatory_fields == ["first_name", "custom:101", "desired_pay"]


def test_a_mandatory_field_that_nothing_fills_is_an_error_that_says_how_to_fix_it() -> None:
    with pytest.raises(SettingsInvalidError) as caught:
        tree.build({"mapping.contacts.current_company": None, "sync.contacts.displayed_fields": ["emails"]})
    detail = caught.value.details[0]
    assert detail["path"] == "sync.contacts.mandatory_fields"
    assert "'company_id' is mandatory" in detail["message"]
    assert "map a variable to it or display it" in detail["message"]


def test_settings_are_strict_and_refuse_unknown_keys() -> None:
    with pytest.raises(ValueError, match="Extra inputs"):
        Settings.model_validate({"general": {"do_not_merge": False, "colour": "blue"}})


def test_the_mapping_model_has_one_setting_per_variable_of_the_right_kind() -> None:
    fields = RecordMapping.model_fields
    assert list(fields) == [variable.key for variable in VARIABLES]
    for variable in VARIABLES:
        annotation = str(fields[variable.key].annotation)
        assert ("ListMapping" in annotation) == (variable.kind is VariableKind.LIST), variable.key


def test_default_mappings_fill_the_fields_cats_requires() -> None:
    settings = Settings()
    for record_type in ("candidates", "contacts"):
        filled = settings.mapping.for_record(record_type).filled_fields()
        assert {"first_name", "last_name", "emails", "phones"} <= filled
        assert all(custom_id(ref) is None and ref in STANDARD_FIELDS[record_type] for ref in filled)
    assert "company_id" in settings.mapping.contacts.filled_fields()
