"""The user's settings file: read back as written, 0600, atomic, versioned; a bad file is a problem."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from companion.errors import SettingsInvalidError
from companion.settings.storage import (
    CURRENT_VERSION,
    atomic_write_json,
    parse_document,
    read_user_file,
    write_user_values,
)


def test_a_missing_file_means_no_choices_and_no_problem(tmp_path: Path) -> None:
    found = read_user_file(tmp_path / "settings.json")
    assert (found.values, found.problem, found.exists) == (None, None, False)


def test_values_written_are_read_back_in_a_private_versioned_file(tmp_path: Path) -> None:
    path = tmp_path / "config" / "settings.json"
    write_user_values(path, {"general.do_not_merge": True, "mapping.contacts.title": None})
    assert read_user_file(path).values == {"general.do_not_merge": True, "mapping.contacts.title": None}
    assert json.loads(path.read_text())["version"] == CURRENT_VERSION
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["settings.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    write_user_values(path, {"general.do_not_merge": True})
    before = path.read_bytes()
    with pytest.raises(TypeError):
        atomic_write_json(path, {"values": {"x": object()}}, mode=0o600)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["settings.json"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "is not valid JSON (line 1, column 2"),
        ("[1, 2]", "must be a JSON object"),
        ('{"version": 1, "values": {}, "extra": 1}', "unknown top-level keys 'extra'"),
        ('{"values": {}}', "needs a whole-number 'version'"),
        ('{"version": "1", "values": {}}', "needs a whole-number 'version'"),
        ('{"version": 99, "values": {}}', "is version 99, written by a newer companion"),
        ('{"version": 0, "values": {}}', "has version 0, which this companion cannot read"),
        ('{"version": 1, "values": ["general.do_not_merge"]}', "'values' must be an object"),
    ],
)
def test_a_bad_file_is_reported_and_not_applied(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(text, encoding="utf-8")
    found = read_user_file(path)
    assert found.values is None
    assert found.problem is not None
    assert found.problem.code == "settings.invalid"
    assert expected in found.problem.message
    assert str(path) in found.problem.message
    assert found.problem.file == str(path)


def test_an_older_file_is_migrated_step_by_step_on_read() -> None:
    def v1_to_v2(values: dict[str, Any]) -> dict[str, Any]:
        renamed = dict(values)
        if "general.merge" in renamed:
            renamed["general.do_not_merge"] = not renamed.pop("general.merge")
        return renamed

    document = {"version": 1, "values": {"general.merge": True}}
    assert parse_document(document, 2, {1: v1_to_v2}) == {"general.do_not_merge": False}
    with pytest.raises(SettingsInvalidError, match="cannot read"):
        parse_document(document, 2, {})
