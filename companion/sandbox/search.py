"""Search: free-text queries and the structured filters of `POST /{r}/search`, compiled to predicates.

Filters run over a record's read fields (`emails.primary`, `address.city`, `data_item.id`, ...).
Rules the sandbox follows (each [DOC*]/[CODE] in REFERENCE §11 unless noted):

* Operators: `exactly` (strings case-insensitive, numbers numerically), `contains` (matches when
  ANY whitespace-separated token of the value occurs in the field, case-insensitive, as live CATS
  tokenises), `is_empty` (value `true`/`false`; omitted means `true`), `greater_than`,
  `less_than`, `between` (a two-element array, inclusive). Dates compare as instants, whatever
  their offset. A null field never matches a comparison.
* Groups: `{"and": [...]}`, `{"or": [...]}`, nested freely; `{"not": <condition or group>}` (or a
  list, meaning none of them) [CODE]. Group keys are accepted in any case [INFERRED].
* Each field allows only the operators of `FILTERABLE`; anything else answers 400
  "That filter cannot be used on this field".
* Free text (`?query=`): every whitespace-separated token must occur (case-insensitive) in one of
  the resource's text fields [INFERRED]; a `query` given with a filter narrows it further.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from companion.sandbox.errors import SandboxHttpError
from companion.sandbox.instants import parse_instant

Predicate = Callable[[dict[str, Any]], bool]
Kind = Literal["number", "text", "date", "enum"]

NOT_ALLOWED: Final = "That filter cannot be used on this field"


@dataclass(frozen=True)
class FieldRule:
    kind: Kind
    operators: frozenset[str]


_NUMBER = FieldRule("number", frozenset({"exactly", "greater_than", "less_than", "between", "is_empty"}))
_TEXT = FieldRule("text", frozenset({"contains", "exactly", "is_empty"}))
_DATE = FieldRule("date", frozenset({"greater_than", "less_than", "between", "is_empty"}))
_ENUM = FieldRule("enum", frozenset({"exactly", "is_empty"}))
# social_media_urls is [INFERRED] filterable: the companion finds a person by their LinkedIn URL
# with `contains`, and falls back to other searches when an account refuses it.
_URLS = FieldRule("text", frozenset({"contains", "is_empty"}))
# date_created/date_modified on the three record types are [INFERRED] in the reference; the
# companion's incremental sync depends on date_modified, so the sandbox allows them.
_DATES: Final = {"date_created": _DATE, "date_modified": _DATE}

FILTERABLE: Final[dict[str, dict[str, FieldRule]]] = {
    "candidates": {
        "id": _NUMBER,
        **dict.fromkeys(("first_name", "middle_name", "last_name", "title", "emails.primary"), _TEXT),
        "social_media_urls": _URLS,
        # [INFERRED]: the reference's field tables are cut off ("more not visible"); live clients
        # filter candidates by city and owner, and the team's default filterable fields use these.
        **dict.fromkeys(("current_employer", "key_skills", "address.city", "address.state"), _TEXT),
        "owner_id": _NUMBER,
        **_DATES,
    },
    "contacts": {
        "id": _NUMBER,
        "reports_to_id": _NUMBER,
        # company_id and owner_id are [INFERRED] ("very likely"); listing a company's contacts needs it.
        "company_id": _NUMBER,
        "owner_id": _NUMBER,
        **dict.fromkeys(
            (
                "first_name",
                "last_name",
                "title",
                "emails.primary",
                "emails.secondary",
                "address.street",
                "address.city",
                "address.state",
                "country_code",
                "address.postal_code",
            ),
            _TEXT,
        ),
        "social_media_urls": _URLS,
        **_DATES,
    },
    "companies": {
        "id": _NUMBER,
        "owner_id": _NUMBER,
        **dict.fromkeys(
            ("name", "website", "address.street", "address.city", "address.state", "address.postal_code"),
            _TEXT,
        ),
        **_DATES,
    },
    "activities": {
        **dict.fromkeys(("id", "data_item.id", "regarding_id", "entered_by_id"), _NUMBER),
        "data_item.type": _ENUM,
        "type": _ENUM,
        "date": _DATE,
        "notes": _TEXT,
    },
}

#: Fields the free-text `query` looks in.
TEXT_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "candidates": (
        "first_name",
        "middle_name",
        "last_name",
        "title",
        "emails.primary",
        "emails.secondary",
        "current_employer",
        "key_skills",
    ),
    "contacts": ("first_name", "last_name", "title", "emails.primary", "emails.secondary"),
    "companies": ("name", "website", "key_technologies"),
    "activities": ("notes",),
}


def _get(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _bad_value(field: str, why: str) -> SandboxHttpError:
    return SandboxHttpError(400, f"Invalid filter value for {field}: {why}.")


def _number(field: str, value: Any) -> float:
    if isinstance(value, bool):
        raise _bad_value(field, "expected a number")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise _bad_value(field, "expected a number")


def _instant(field: str, value: Any) -> datetime:
    try:
        return parse_instant(value)
    except (ValueError, TypeError):
        raise _bad_value(field, "expected an RFC 3339 date") from None


def _comparable(rule: FieldRule, field: str, value: Any) -> float | datetime:
    return _instant(field, value) if rule.kind == "date" else _number(field, value)


def _record_comparable(rule: FieldRule, raw: Any) -> float | datetime | None:
    if raw is None or raw == "":
        return None
    try:
        if rule.kind == "date":
            return parse_instant(raw)
        return float(raw)
    except (ValueError, TypeError):
        return None


def _condition(resource: str, node: dict[str, Any]) -> Predicate:
    field, operator = node.get("field"), node.get("filter")
    if not isinstance(field, str) or not isinstance(operator, str):
        raise SandboxHttpError(400, "A filter condition needs a field and a filter.")
    rule = FILTERABLE[resource].get(field)
    if rule is None or operator not in rule.operators:
        raise SandboxHttpError(400, NOT_ALLOWED)
    value = node.get("value", True if operator == "is_empty" else None)

    if operator == "is_empty":
        if not isinstance(value, bool):
            raise _bad_value(field, "is_empty takes true or false")
        wanted = value
        return lambda record: (_get(record, field) in (None, "", [])) == wanted

    if operator == "contains":
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise _bad_value(field, "expected text")
        tokens = [token.casefold() for token in str(value).split()]
        if not tokens:
            raise _bad_value(field, "expected text")

        def contains(record: dict[str, Any]) -> bool:
            raw = _get(record, field)
            items = raw if isinstance(raw, list) else [] if raw is None else [raw]
            text = " ".join(str(item) for item in items).casefold()
            return any(token in text for token in tokens)

        return contains

    if operator == "exactly":
        if rule.kind == "number":
            target = _number(field, value)
            return lambda record: _record_comparable(rule, _get(record, field)) == target
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise _bad_value(field, "expected text")
        folded = str(value).casefold()

        def exactly(record: dict[str, Any]) -> bool:
            raw = _get(record, field)
            return raw is not None and str(raw).casefold() == folded

        return exactly

    if operator == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise _bad_value(field, "between takes a two-element array")
        low, high = (_comparable(rule, field, bound) for bound in value)

        def between(record: dict[str, Any]) -> bool:
            mine = _record_comparable(rule, _get(record, field))
            return mine is not None and low <= mine <= high  # type: ignore[operator]

        return between

    bound = _comparable(rule, field, value)
    greater = operator == "greater_than"

    def compare(record: dict[str, Any]) -> bool:
        mine = _record_comparable(rule, _get(record, field))
        if mine is None:
            return False
        return mine > bound if greater else mine < bound  # type: ignore[operator]

    return compare


def compile_filter(resource: str, node: Any, *, depth: int = 0) -> Predicate:
    """Turn a filter body into a predicate over read fields; 400 for anything malformed."""
    if depth > 20:
        raise SandboxHttpError(400, "The filter is nested too deeply.")
    if not isinstance(node, dict) or not node:
        raise SandboxHttpError(400, "A filter must be a condition object or an and/or/not group.")
    if "field" in node or "filter" in node:
        return _condition(resource, node)
    if len(node) != 1:
        raise SandboxHttpError(400, "A filter group has exactly one key: and, or or not.")
    ((key, children),) = node.items()
    key = key.lower()
    if key == "not":
        inner = children if isinstance(children, list) else [children]
        if not inner:
            raise SandboxHttpError(400, "A not group needs a condition.")
        compiled = [compile_filter(resource, child, depth=depth + 1) for child in inner]
        return lambda record: not any(predicate(record) for predicate in compiled)
    if key not in ("and", "or"):
        raise SandboxHttpError(400, f"Unknown filter group {key!r}; use and, or or not.")
    if not isinstance(children, list) or not children:
        raise SandboxHttpError(400, f"An {key} group holds a non-empty array of filters.")
    parts = [compile_filter(resource, child, depth=depth + 1) for child in children]
    if key == "and":
        return lambda record: all(predicate(record) for predicate in parts)
    return lambda record: any(predicate(record) for predicate in parts)


#: Fields held in the records table's own columns: filters on only these need no document.
COLUMN_FIELDS: Final = frozenset({"id", "date_created", "date_modified"})


def referenced_fields(node: Any) -> set[str]:
    """Every field a (validated) filter reads."""
    if isinstance(node, list):
        return set().union(*(referenced_fields(child) for child in node))
    if not isinstance(node, dict):
        return set()
    if "field" in node:
        return {node["field"]}
    return set().union(*(referenced_fields(child) for child in node.values()))


def free_text(resource: str, query: str) -> Predicate:
    """Every token of `query` must occur in one of the resource's text fields."""
    tokens = [token.casefold() for token in query.split()]
    fields = TEXT_FIELDS[resource]

    def matches(record: dict[str, Any]) -> bool:
        text = " ".join(str(v) for v in (_get(record, f) for f in fields) if v is not None).casefold()
        return all(token in text for token in tokens)

    return matches


def refuse_filters(unfilterable: Collection[str]) -> Middleware:
    """Answer 400 NOT_ALLOWED to a `POST /v3/{r}/search` whose filter uses one of `unfilterable`.

    `unfilterable` holds "resource.field" names. This is how tests play a CATS account on which a
    field the sandbox normally allows (companies' `date_modified`, say) cannot be filtered.
    """
    refused = frozenset(unfilterable)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        parts = request.path.strip("/").split("/")
        if request.method == "POST" and len(parts) == 3 and parts[0] == "v3" and parts[2] == "search":
            try:
                node = json.loads(await request.read() or b"null")
            except ValueError:
                node = None  # the route answers malformed bodies itself
            if any(f"{parts[1]}.{field}" in refused for field in referenced_fields(node)):
                return web.json_response({"message": NOT_ALLOWED}, status=400)
        return await handler(request)

    return middleware
