"""Phone numbers: E.164 when written with a country code, kept as given otherwise, same-number checks."""

from __future__ import annotations

from typing import Any

import pytest

from companion.cats.models import PhoneWrite
from companion.rules.phones import phone_write, same_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+31 6 1234 5678", {"number": "+31612345678", "type": "mobile"}),
        ("0031 20 123 4567", {"number": "+31201234567", "type": "other"}),
        ("+44 (0)20 7946 0958", {"number": "+442079460958", "type": "other"}),
        ("+1 650-253-0000 ext. 12", {"number": "+16502530000", "type": "other", "extension": "12"}),
        # No country code: never guessed, kept exactly.
        ("(020) 123 4567", {"number": "(020) 123 4567", "type": "other"}),
        ("06-12345678", {"number": "06-12345678", "type": "other"}),
        # Not a number libphonenumber can place: kept as given.
        ("+999 12", {"number": "+999 12", "type": "other"}),
    ],
)
def test_phone_write(raw: str, expected: dict[str, Any]) -> None:
    body = phone_write(raw)

    assert body == expected
    PhoneWrite.model_validate(body)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("+31612345678", "+31 6 1234 5678", True),
        ("06 12345678", "+31612345678", True),
        ("+31612345678 x12", "+31612345678", True),
        ("+31612345678", "+31612345679", False),
        ("12345", "+3112345", False),  # too short to tell
        ("n/a", "n/a", True),
        ("n/a", "unknown", False),
    ],
)
def test_same_phone(a: str, b: str, same: bool) -> None:
    assert same_phone(a, b) is same
    assert same_phone(b, a) is same
