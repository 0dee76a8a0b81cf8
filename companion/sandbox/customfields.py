"""Custom-field definitions (all nine CATS field types) and validation of the values records carry.

Value encodings are [INFERRED] in the reference; the sandbox's choices, which it both accepts and
returns:

* ``text``, ``textarea``: a string.
* ``checkbox``: a JSON boolean.
* ``date``: a ``YYYY-MM-DD`` string.
* ``dropdown``, ``radio``: one selection label, exactly as defined (case-sensitive).
* ``checkboxes``: a list of selection labels; a comma-separated string of labels is accepted
  too and is returned as a list.
* ``user``: the id (integer) of an existing user.
* ``number``: a JSON number; a numeric string is accepted and returned as a number.
* ``null`` clears a value of any type; cleared values are not listed on the record.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final

from companion.sandbox.instants import parse_date_only

FIELD_TYPES: Final = (
    "text",
    "textarea",
    "checkbox",
    "date",
    "dropdown",
    "radio",
    "checkboxes",
    "user",
    "number",
)
#: Types whose values must come from the definition's `field.selections`.
SELECTION_TYPES: Final = frozenset({"dropdown", "radio", "checkboxes"})

#: Resource path -> `data_item_type` as CATS writes it on definitions.
DATA_ITEM_TYPES: Final = {"candidates": "candidate", "contacts": "contact", "companies": "company"}


def definition_problem(resource: str, name: str, field_type: str, selections: list[str] | None) -> str | None:
    """Why a definition cannot be created, or None when it can."""
    if resource not in DATA_ITEM_TYPES:
        return f"custom fields exist for {', '.join(DATA_ITEM_TYPES)}, not {resource!r}"
    if not isinstance(name, str) or not name.strip():
        return "a custom field needs a name"
    if field_type not in FIELD_TYPES:
        return f"field type must be one of {', '.join(FIELD_TYPES)}"
    if field_type in SELECTION_TYPES:
        if not selections:
            return f"a {field_type} field needs selections"
        labels = [label.strip() if isinstance(label, str) else "" for label in selections]
        if not all(labels):
            return "selection labels must be non-empty strings"
        if len(set(labels)) != len(labels):
            return "selection labels must be unique"
    elif selections:
        return f"a {field_type} field has no selections"
    return None


def build_definition(
    resource: str,
    field_id: int,
    *,
    name: str,
    field_type: str,
    selections: list[tuple[int, str]],
    comment: str,
) -> dict[str, Any]:
    """The read shape `{id, data_item_type, name, comment, field: {type, selections?}, _links}`."""
    field: dict[str, Any] = {"type": field_type}
    if field_type in SELECTION_TYPES:
        field["selections"] = [{"id": sid, "label": label} for sid, label in selections]
    return {
        "id": field_id,
        "data_item_type": DATA_ITEM_TYPES[resource],
        "name": name.strip(),
        "comment": comment,
        "field": field,
        "_links": {"self": {"href": f"/{resource}/custom_fields/{field_id}"}},
    }


def _labels(definition: dict[str, Any]) -> list[str]:
    return [s["label"] for s in definition["field"].get("selections", [])]


def coerce_value(definition: dict[str, Any], value: Any, user_exists: Callable[[int], bool]) -> Any:
    """The stored form of `value` for this definition; ValueError (a readable reason) when invalid."""
    if value is None:
        return None
    field_type = definition["field"]["type"]
    if field_type in ("text", "textarea"):
        if not isinstance(value, str):
            raise ValueError("expected a string")
        return value
    if field_type == "checkbox":
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value
    if field_type == "date":
        if not isinstance(value, str):
            raise ValueError("expected a date as YYYY-MM-DD")
        parse_date_only(value)
        return value
    if field_type in ("dropdown", "radio"):
        if not isinstance(value, str) or value not in _labels(definition):
            raise ValueError(f"expected one of {', '.join(_labels(definition))}")
        return value
    if field_type == "checkboxes":
        return _coerce_checkboxes(definition, value)
    if field_type == "user":
        if isinstance(value, bool) or not isinstance(value, int) or not user_exists(value):
            raise ValueError("expected the id of an existing user")
        return value
    return _coerce_number(value)


def _coerce_checkboxes(definition: dict[str, Any], value: Any) -> list[str]:
    if isinstance(value, str):
        items: list[Any] = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, list):
        items = value
    else:
        raise ValueError("expected a list of selection labels")
    allowed = _labels(definition)
    chosen: list[str] = []
    for item in items:
        if not isinstance(item, str) or item not in allowed:
            raise ValueError(f"every item must be one of {', '.join(allowed)}")
        if item not in chosen:
            chosen.append(item)
    return chosen


def _coerce_number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise ValueError("expected a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise ValueError("expected a number") from None
        if math.isfinite(number):
            return int(number) if number.is_integer() and "." not in value else number
    raise ValueError("expected a number")
