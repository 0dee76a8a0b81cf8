"""Field values in CATS's encoding: every field type, the corrections made, and the refusals."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from companion.rules.values import ValueProblem, convert, is_blank
from tests.rules.builders import OWNER, catalogue

OPTIONS = ["Citizen", "Needs sponsorship"]


@pytest.mark.parametrize(
    ("field_type", "value", "expected"),
    [
        ("text", "  Senior ", "Senior"),
        ("text", 42, "42"),
        ("textarea", "line 1\nline 2", "line 1\nline 2"),
        ("checkbox", True, True),
        ("checkbox", "Yes", True),
        ("checkbox", "off", False),
        ("checkbox", 0, False),
        ("date", "2026-06-01", "2026-06-01"),
        ("date", "2026-06-01T10:00:00+02:00", "2026-06-01"),
        ("date", date(2026, 6, 1), "2026-06-01"),
        ("date", datetime(2026, 6, 1, 23, 0), "2026-06-01"),
        ("number", 7, 7),
        ("number", "7", 7),
        ("number", "7.5", 7.5),
        ("number", 8.0, 8),
        ("dropdown", "Citizen", "Citizen"),
        ("dropdown", "needs SPONSORSHIP", "Needs sponsorship"),
        ("radio", "citizen", "Citizen"),
        ("checkboxes", ["citizen", "Needs sponsorship", "Citizen"], ["Citizen", "Needs sponsorship"]),
        ("checkboxes", "Citizen, needs sponsorship", ["Citizen", "Needs sponsorship"]),
        ("user", OWNER, OWNER),
        ("user", str(OWNER), OWNER),
        ("company", "17", 17),
        ("contact", 5, 5),
        ("country", " nl", "NL"),
        ("a type CATS adds later", {"x": 1}, {"x": 1}),
    ],
)
def test_values_are_converted_to_cats_encoding(field_type: str, value: Any, expected: Any) -> None:
    assert convert(field_type, value, options=OPTIONS, catalogue=catalogue()) == expected


@pytest.mark.parametrize(
    ("field_type", "value", "message"),
    [
        ("text", True, "expects text"),
        ("text", ["a"], "expects text"),
        ("checkbox", "maybe", "expects yes or no"),
        ("date", "01/06/2026", "YYYY-MM-DD"),
        ("date", "2026-02-30", "YYYY-MM-DD"),
        ("number", "seven", "expects a number"),
        ("number", True, "expects a number"),
        ("number", float("nan"), "finite"),
        ("dropdown", "Tourist", "'Tourist' is not one of its options (Citizen, Needs sponsorship)"),
        ("checkboxes", ["Citizen", "Tourist"], "'Tourist' is not one of its options"),
        ("checkboxes", 3, "expects a list of options"),
        ("user", 999, "user 999 is not a CATS user"),
        ("user", "abc", "expects the id of a CATS user"),
        ("company", 0, "expects the id of a CATS company"),
        ("country", "NLD", "two-letter ISO country code"),
    ],
)
def test_values_cats_would_refuse_are_refused(field_type: str, value: Any, message: str) -> None:
    with pytest.raises(ValueProblem, match=message.replace("(", r"\(").replace(")", r"\)")):
        convert(field_type, value, options=OPTIONS, catalogue=catalogue())


def test_lenient_options_keep_only_the_valid_ones() -> None:
    value = convert("checkboxes", ["Python", "go", "Cobol"], options=["Python", "Go"], lenient_options=True)

    assert value == ["Python", "Go"]


def test_options_unknown_to_the_catalogue_are_left_to_cats() -> None:
    assert convert("dropdown", "Anything", options=[]) == "Anything"


def test_users_are_not_checked_without_a_user_list() -> None:
    assert convert("user", 999, catalogue=catalogue(users=[])) == 999


@pytest.mark.parametrize(
    ("value", "blank"),
    [(None, True), ("  ", True), ([], True), ({}, True), (0, False), (False, False), ("x", False)],
)
def test_is_blank(value: Any, blank: bool) -> None:
    assert is_blank(value) is blank
