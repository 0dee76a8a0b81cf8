"""Setting paths: leaves, section paths standing for their leaves, unknown paths, readable errors."""

from __future__ import annotations

import pytest

from companion.errors import SettingsInvalidError, SettingsUnknownError
from companion.settings import tree
from companion.settings.models import Settings


def test_every_leaf_path_is_unique_and_sections_are_not_leaves() -> None:
    leaves = tree.leaf_paths()
    assert len(leaves) == len(set(leaves))
    assert "sync.candidates.campaign_sync_trigger" in leaves
    assert "mapping.contacts.title" in leaves
    assert "mapping.candidates.skills.joiner" in leaves
    assert "general.notes_upon.call.activity_type" in leaves
    assert "mapping.contacts" in tree.section_paths()
    assert not set(leaves) & tree.section_paths()


def test_a_section_path_with_an_object_stands_for_its_leaves() -> None:
    leaves = tree.expand({"general.notes_upon.call": {"create_note": False, "activity_type": "call_lvm"}})
    assert leaves == {
        "general.notes_upon.call.create_note": False,
        "general.notes_upon.call.activity_type": "call_lvm",
    }


def test_every_unknown_path_is_named_at_once() -> None:
    with pytest.raises(SettingsUnknownError) as caught:
        tree.expand({"general.colour": "blue", "general.do_not_merge": True, "sync.candidates": {"speed": 3}})
    assert caught.value.paths == ["general.colour", "sync.candidates.speed"]
    assert caught.value.to_dict()["paths"] == ["general.colour", "sync.candidates.speed"]


def test_a_section_path_with_a_plain_value_is_invalid() -> None:
    with pytest.raises(SettingsInvalidError, match="group of settings"):
        tree.expand({"mapping.contacts": "title"})


def test_leaves_under_a_section_are_all_its_settings() -> None:
    assert tree.leaves_under("mapping.candidates.skills") == [
        "mapping.candidates.skills.targets",
        "mapping.candidates.skills.joiner",
    ]
    with pytest.raises(SettingsUnknownError):
        tree.leaves_under("mapping.candidates.favourite_colour")


def test_flatten_then_build_gives_the_same_settings() -> None:
    settings = tree.build({"general.do_not_merge": True, "mapping.contacts.title": None})
    assert tree.build(tree.flatten(settings)) == settings
    assert tree.builtin_values() == tree.flatten(Settings())


def test_errors_are_rewritten_in_plain_words_with_the_value_given() -> None:
    with pytest.raises(SettingsInvalidError) as caught:
        tree.build({"general.company_warning_level": "loud", "cache.full_scan_interval_hours": 0})
    messages = {detail["path"]: detail["message"] for detail in caught.value.details}
    assert messages["general.company_warning_level"] == "must be 'off', 'exact' or 'similar' (got 'loud')"
    assert messages["cache.full_scan_interval_hours"] == "must be greater than or equal to 1 (got 0)"


def test_an_error_inside_a_structured_value_names_the_setting_and_the_item() -> None:
    with pytest.raises(SettingsInvalidError) as caught:
        tree.build({"sync.candidates.protected_fields": [{"field": "title", "colour": "red"}]})
    assert caught.value.details == [
        {"path": "sync.candidates.protected_fields", "message": "0.colour: is not a known key here"}
    ]
