"""CRM search filters: which widget each filterable field gets, and checked filters -> a CATS search body.

Pure (no I/O). The team's `sync.<record>.filterable_fields` setting names the fields; the catalogue
says what each holds, which decides the widget the search page shows and the operators it offers:

    widget    field types                                  operators
    text      text, textarea, emails, phones, urls, country contains, exactly, is_empty
    option    dropdown, radio, checkboxes                  exactly, is_empty        (options listed)
    checkbox  checkbox                                     exactly (true / false)
    date      date, timestamp                              greater_than, less_than, between, is_empty
    number    number, contact (reports_to_id)              exactly, greater_than, less_than, between, is_empty
    user      user (owner_id)                              exactly, is_empty        (users listed)
    company   company (a contact's company_id)             exactly, is_empty        (a company id)

Every filter is checked -- the field must be filterable by the settings and known to the catalogue,
the operator must suit the widget, the value its type (an option among the options, a date as
YYYY-MM-DD...) -- before any request is built, so a bad filter costs no CATS request.

CATS's filter names (REFERENCE.md §11.2): a standard field by its read name (`emails` ->
`emails.primary`, dotted address parts as they are); a custom field as `custom_fields.<id>`
[INFERRED: CATS documents custom fields as filterable but not their filter name]. Dates go to
CATS as given for `date` fields (CATS stores `YYYY-MM-DD`) and as midnight UTC in RFC 3339 for
timestamps.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from companion.errors import BadRequestError
from companion.settings.catalogue import Catalogue, FieldInfo
from companion.settings.fields import FieldType, RecordType, custom_id

Widget = Literal["text", "option", "checkbox", "date", "number", "user", "company"]
Operator = Literal["contains", "exactly", "is_empty", "greater_than", "less_than", "between"]

#: At most this many conditions in one search (the page offers one row per filter).
MAX_FILTERS: Final = 20
MAX_TEXT: Final = 200

WIDGET_FOR_TYPE: Final[dict[str, Widget]] = {
    FieldType.TEXT: "text",
    FieldType.TEXTAREA: "text",
    FieldType.EMAILS: "text",
    FieldType.PHONES: "text",
    FieldType.URLS: "text",
    FieldType.COUNTRY: "text",
    FieldType.DROPDOWN: "option",
    FieldType.RADIO: "option",
    FieldType.CHECKBOXES: "option",
    FieldType.CHECKBOX: "checkbox",
    FieldType.DATE: "date",
    FieldType.TIMESTAMP: "date",
    FieldType.NUMBER: "number",
    FieldType.CONTACT: "number",
    FieldType.USER: "user",
    FieldType.COMPANY: "company",
}

OPERATORS: Final[dict[Widget, tuple[Operator, ...]]] = {
    "text": ("contains", "exactly", "is_empty"),
    "option": ("exactly", "is_empty"),
    "checkbox": ("exactly",),
    "date": ("greater_than", "less_than", "between", "is_empty"),
    "number": ("exactly", "greater_than", "less_than", "between", "is_empty"),
    "user": ("exactly", "is_empty"),
    "company": ("exactly", "is_empty"),
}

#: Standard fields whose filter name differs from the setting's reference.
_CATS_FILTER_NAME: Final = {"emails": "emails.primary"}


class Option(BaseModel):
    model_config = ConfigDict(frozen=True)

    value: str | int
    label: str


class FilterField(BaseModel):
    """One field the search page can filter on, as `crm.fields` describes it."""

    model_config = ConfigDict(frozen=True)

    field: str
    label: str
    widget: Widget
    operators: list[Operator]
    options: list[Option] = Field(default_factory=list)


class Filter(BaseModel):
    """One condition as the search page sends it; `value` is checked against the field's widget."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(max_length=40)
    op: Operator
    value: Any = None


class UnusableField(BaseModel):
    """A filterable field the search page cannot offer, and why (shown under the filters)."""

    model_config = ConfigDict(frozen=True)

    field: str
    reason: str


def cats_filter_name(ref: str) -> str:
    definition_id = custom_id(ref)
    if definition_id is not None:
        return f"custom_fields.{definition_id}"
    return _CATS_FILTER_NAME.get(ref, ref)


def _describe(info: FieldInfo, catalogue: Catalogue) -> FilterField | None:
    widget = WIDGET_FOR_TYPE.get(info.type)
    if widget is None:
        return None
    options: list[Option] = []
    if widget == "option":
        options = [Option(value=o, label=o) for o in info.options]
    elif widget == "user":
        options = [Option(value=u.id, label=u.name) for u in catalogue.users]
    return FilterField(
        field=info.ref, label=info.label, widget=widget, operators=list(OPERATORS[widget]), options=options
    )


def filter_fields(
    record_type: RecordType, filterable: list[str], catalogue: Catalogue
) -> tuple[list[FilterField], list[UnusableField]]:
    """The filterable fields (in settings order) the page can offer, and those it cannot with the reason."""
    usable: list[FilterField] = []
    unusable: list[UnusableField] = []
    for ref in filterable:
        info = catalogue.field(record_type, ref)
        if info is None:
            reason = (
                "this custom field is not in the field catalogue; refresh it in the settings window"
                if custom_id(ref) is not None
                else f"not a {record_type[:-1]} field"
            )
            unusable.append(UnusableField(field=ref, reason=reason))
            continue
        described = _describe(info, catalogue)
        if described is None:
            unusable.append(
                UnusableField(field=ref, reason=f"a {info.type} field cannot be used as a filter")
            )
        else:
            usable.append(described)
    return usable, unusable


def _refuse(field: FilterField | str, why: str) -> BadRequestError:
    name = field.label if isinstance(field, FilterField) else repr(field)
    return BadRequestError(f"filter on {name}: {why}")


def _text(field: FilterField, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _refuse(field, "enter some text")
    if len(value) > MAX_TEXT:
        raise _refuse(field, f"at most {MAX_TEXT} characters")
    return value.strip()


def _number(field: FilterField, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _refuse(field, "enter a number")
    return value


def _date(field: FilterField, value: Any, timestamp: bool) -> str:
    if not isinstance(value, str):
        raise _refuse(field, "enter a date as YYYY-MM-DD")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise _refuse(field, f"{value!r} is not a date (YYYY-MM-DD)") from None
    # Timestamps (date_created...) compare as instants; CATS wants RFC 3339 for those.
    return f"{day.isoformat()}T00:00:00+00:00" if timestamp else day.isoformat()


def _scalar(field: FilterField, value: Any, timestamp: bool) -> Any:
    match field.widget:
        case "text":
            return _text(field, value)
        case "option":
            text = _text(field, value)
            allowed = [str(o.value) for o in field.options]
            if allowed and text not in allowed:
                raise _refuse(field, f"{text!r} is not one of its options ({', '.join(allowed)})")
            return text
        case "checkbox":
            if not isinstance(value, bool):
                raise _refuse(field, "choose yes or no")
            return value
        case "date":
            return _date(field, value, timestamp)
        case "number":
            return _number(field, value)
        case "user" | "company":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise _refuse(field, f"choose a {field.widget}")
            if field.widget == "user" and field.options and value not in {o.value for o in field.options}:
                raise _refuse(field, f"there is no CATS user {value}")
            return value
    raise _refuse(field, "unsupported widget")  # pragma: no cover - Widget is a closed Literal


def condition(field: FilterField, field_type: str, flt: Filter) -> dict[str, Any]:
    """One checked filter as a CATS condition `{field, filter, value}`."""
    if flt.op not in field.operators:
        allowed = ", ".join(field.operators)
        raise _refuse(field, f"the operator {flt.op!r} does not apply (use one of: {allowed})")
    name = cats_filter_name(field.field)
    if flt.op == "is_empty":
        empty = True if flt.value is None else flt.value
        if not isinstance(empty, bool):
            raise _refuse(field, "is_empty takes true or false")
        return {"field": name, "filter": "is_empty", "value": empty}
    timestamp = field_type == FieldType.TIMESTAMP
    if flt.op == "between":
        if not isinstance(flt.value, list) or len(flt.value) != 2:
            raise _refuse(field, "between takes two values: from and to")
        low, high = (_scalar(field, v, timestamp) for v in flt.value)
        if low > high:
            raise _refuse(field, "the first value of between must not be after the second")
        return {"field": name, "filter": "between", "value": [low, high]}
    return {"field": name, "filter": flt.op, "value": _scalar(field, flt.value, timestamp)}


def build_filter_body(
    record_type: RecordType, filters: list[Filter], filterable: list[str], catalogue: Catalogue
) -> dict[str, Any] | None:
    """The body of `POST /{r}/search` (an `and` group), None without filters; BadRequestError on a bad one."""
    if len(filters) > MAX_FILTERS:
        raise BadRequestError(f"at most {MAX_FILTERS} filters in one search, not {len(filters)}")
    if not filters:
        return None
    usable, _ = filter_fields(record_type, filterable, catalogue)
    by_ref = {f.field: f for f in usable}
    conditions: list[dict[str, Any]] = []
    for flt in filters:
        field = by_ref.get(flt.field)
        if field is None:
            if flt.field in filterable:
                raise _refuse(flt.field, "this field cannot be used as a filter now (see the field list)")
            raise _refuse(
                flt.field, f"not one of the team's filterable {record_type[:-1]} fields ({', '.join(by_ref)})"
            )
        info = catalogue.field(record_type, flt.field)
        assert info is not None  # filter_fields only keeps fields the catalogue knows
        conditions.append(condition(field, info.type, flt))
    return {"and": conditions}


__all__ = [
    "MAX_FILTERS",
    "OPERATORS",
    "Filter",
    "FilterField",
    "Operator",
    "Option",
    "UnusableField",
    "Widget",
    "build_filter_body",
    "cats_filter_name",
    "condition",
    "filter_fields",
]
