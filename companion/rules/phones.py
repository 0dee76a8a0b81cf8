"""Phone numbers: the CATS write shape of a number as collected, and when two spellings are one number.

CATS parses a number correctly only when it starts with the country code (REFERENCE.md §6.3). A
number written internationally (`+31 6 1234 5678`, `0031 6...`) is parsed with Google's
libphonenumber and written as E.164 (`+31612345678`), with its extension split off. A number
without a country code is kept exactly as given: the companion never guesses a country. The
type is `mobile` when libphonenumber knows the number is one, else `other`.

`same_phone` compares digits, ignoring the trunk `0` and the country code's absence, so
`06 12345678` and `+31 6 12345678` are the same number (at least 7 significant digits must agree).
"""

from __future__ import annotations

import re
from typing import Any, Final

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

__all__ = ["phone_write", "same_phone"]

_MIN_SIGNIFICANT: Final = 7
_NON_DIGIT: Final = re.compile(r"\D")
_EXTENSION: Final = re.compile(r"(?i)x|ext|#")


def _international(raw: str) -> str | None:
    text = raw.strip()
    if text.startswith("+"):
        return text
    if text.startswith("00"):
        return "+" + text[2:]
    return None


def phone_write(raw: str) -> dict[str, Any]:
    """`{"number", "type"[, "extension"]}` for one collected number (module docstring)."""
    text = raw.strip()
    international = _international(text)
    if international is not None:
        try:
            parsed = phonenumbers.parse(international, None)
        except NumberParseException:
            parsed = None
        if parsed is not None and phonenumbers.is_possible_number(parsed):
            body: dict[str, Any] = {
                "number": phonenumbers.format_number(parsed, PhoneNumberFormat.E164),
                "type": "mobile" if phonenumbers.number_type(parsed) == PhoneNumberType.MOBILE else "other",
            }
            if parsed.extension:
                body["extension"] = parsed.extension
            return body
    return {"number": text, "type": "other"}


def _significant(number: str) -> str:
    number = _EXTENSION.split(number)[0]
    return _NON_DIGIT.sub("", number).lstrip("0")


def same_phone(a: str, b: str) -> bool:
    """Whether two spellings are one number (module docstring)."""
    left, right = _significant(a), _significant(b)
    if not left or not right:
        return a.strip() == b.strip()
    short, long = sorted((left, right), key=len)
    return len(short) >= _MIN_SIGNIFICANT and long.endswith(short)
