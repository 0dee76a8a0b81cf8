"""One field's value in the encoding CATS accepts, checked against the field's type and options.

Encodings (REFERENCE.md §12 leaves them [INFERRED]; these are the sandbox's, which the companion
writes): text as a string; `checkbox` a JSON boolean (also from "yes"/"no", "true"/"false",
"1"/"0", "on"/"off"); `date` a `YYYY-MM-DD` string; `dropdown`/`radio` one option label spelled
exactly as CATS defines it (a value differing only in case is corrected to the label);
`checkboxes` a list of labels (from a list or a comma-separated string); `user` and record
references an integer id; `number` a JSON number; a country an upper-case ISO alpha-2 code.

`convert` raises `ValueProblem` with a message naming what is wrong; with `lenient_options` a
checkboxes value keeps only its valid options instead (used for scraped lists: a person's skills
fill the options they match). A type CATS adds later is passed through unchanged.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any, Final

from companion.settings.catalogue import Catalogue
from companion.settings.fields import FieldType

__all__ = ["ValueProblem", "convert", "is_blank"]

_TRUE: Final = frozenset({"true", "yes", "y", "1", "on"})
_FALSE: Final = frozenset({"false", "no", "n", "0", "off"})
_COUNTRY: Final = re.compile(r"^[A-Za-z]{2}$")
_NUMBER: Final = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


class ValueProblem(ValueError):
    """A value the field cannot take; the message says why, for the user."""


def is_blank(value: object) -> bool:
    """None, an empty or whitespace-only string, or an empty list/dict: no value at all."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | dict | set):
        return len(value) == 0
    return False


def _text(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueProblem("expects text")
    return str(value).strip()


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        folded = value.strip().casefold()
        if folded in _TRUE:
            return True
        if folded in _FALSE:
            return False
    raise ValueProblem("expects yes or no")


def _date(value: object) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 10 and text[10] in "T ":
            text = text[:10]  # a full timestamp: its date is meant
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            pass
    raise ValueProblem("expects a date as YYYY-MM-DD")


def _number(value: object) -> int | float:
    if isinstance(value, bool):
        raise ValueProblem("expects a number")
    number: float
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        number = value
    elif isinstance(value, str) and _NUMBER.match(value.strip()):
        number = float(value.strip())
    else:
        raise ValueProblem("expects a number")
    if not math.isfinite(number):
        raise ValueProblem("expects a finite number")
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _id(value: object, what: str) -> int:
    if isinstance(value, bool):
        raise ValueProblem(f"expects the id of a CATS {what}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise ValueProblem(f"expects the id of a CATS {what}")
    if number < 1:
        raise ValueProblem(f"expects the id of a CATS {what}")
    return number


def _option(value: object, options: list[str]) -> str:
    text = _text(value)
    if not options or text in options:
        # Without known options (an old catalogue) CATS itself is the judge.
        return text
    folded = [option for option in options if option.casefold() == text.casefold()]
    if len(folded) == 1:
        return folded[0]
    raise ValueProblem(f"{text!r} is not one of its options ({', '.join(options)})")


def _options(value: object, options: list[str], *, lenient: bool) -> list[str]:
    if isinstance(value, str):
        items: list[object] = [part for part in value.split(",") if part.strip()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise ValueProblem("expects a list of options")
    chosen: list[str] = []
    for item in items:
        try:
            label = _option(item, options)
        except ValueProblem:
            if lenient:
                continue
            raise
        if label not in chosen:
            chosen.append(label)
    return chosen


def convert(
    field_type: str,
    value: object,
    *,
    options: list[str] | None = None,
    catalogue: Catalogue | None = None,
    lenient_options: bool = False,
) -> Any:
    """`value` in CATS's encoding for a field of `field_type`; raises ValueProblem when it cannot be."""
    kind = field_type
    if kind in (FieldType.TEXT, FieldType.TEXTAREA):
        return _text(value)
    if kind == FieldType.CHECKBOX:
        return _bool(value)
    if kind == FieldType.DATE:
        return _date(value)
    if kind == FieldType.NUMBER:
        return _number(value)
    if kind in (FieldType.DROPDOWN, FieldType.RADIO):
        return _option(value, options or [])
    if kind == FieldType.CHECKBOXES:
        return _options(value, options or [], lenient=lenient_options)
    if kind == FieldType.USER:
        user_id = _id(value, "user")
        if catalogue is not None and catalogue.users and not catalogue.has_user(user_id):
            raise ValueProblem(f"user {user_id} is not a CATS user of this account")
        return user_id
    if kind == FieldType.COMPANY:
        return _id(value, "company")
    if kind == FieldType.CONTACT:
        return _id(value, "contact")
    if kind == FieldType.COUNTRY:
        text = _text(value)
        if not _COUNTRY.match(text):
            raise ValueProblem("expects a two-letter ISO country code such as NL")
        return text.upper()
    # A field type CATS adds later: sent as given, CATS validates it.
    return value
